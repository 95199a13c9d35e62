"""The multistart Levenberg-Marquardt driver (jaxnickel.solvers.least_squares) on a toy model."""

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnickel.results import SolveError
from jaxnickel.solvers.least_squares import CompiledLeastSquares, multistart_least_squares

X = np.linspace(0.0, 2.0, 9)


def _residuals(z, args):
    """``a exp(-b x)`` with ``a = exp(z0)``, ``b = z1`` against ``args["y"]``, weighted by ``args["sig"]``."""
    return (jnp.exp(z[0]) * jnp.exp(-z[1] * args["x"]) - args["y"]) / args["sig"]


def _args(a, b):
    return {"x": jnp.asarray(X), "y": jnp.asarray(a * np.exp(-b * X)), "sig": jnp.full(X.shape, 0.1)}


def test_data_are_arguments_one_trace_for_every_call():
    traces = []
    lm = CompiledLeastSquares(_residuals, on_trace=lambda: traces.append(1))
    starts = [np.array([0.0, 0.5]), np.array([0.3, 1.5])]
    for a, b in ((2.0, 1.0), (0.5, 0.3)):
        run = multistart_least_squares(lm, starts, _args(a, b))
        assert run.converged and run.chi2 < 1e-18
        assert math.exp(run.z[0]) == pytest.approx(a, rel=1e-9) and run.z[1] == pytest.approx(b, rel=1e-9)
        assert len(run.chi2_per_start) == 2 and run.chi2 == min(run.chi2_per_start)
    assert len(traces) == 1


def _guarded_line(z, args):
    """``z - args``, raising (as a linear solve on non-finite input does) once ``z > 5``."""
    return eqx.error_if(z - args, z[0] > 5.0, "the model left its domain")


def test_a_failing_start_fails_alone_and_all_failing_is_a_solve_error():
    lm = CompiledLeastSquares(_guarded_line)
    run = multistart_least_squares(lm, [np.array([10.0]), np.array([0.0])], jnp.ones(1))
    assert run.start_index == 1 and run.chi2_per_start[0] is None and run.z[0] == pytest.approx(1.0)
    with pytest.raises(SolveError, match="every start of the toy fit failed.*the model left its domain"):
        multistart_least_squares(lm, [np.array([10.0]), np.array([7.0])], jnp.ones(1), label="toy fit")
