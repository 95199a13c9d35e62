"""Bad input: clear errors naming the parameter and the allowed range; float64 policy."""

import subprocess
import sys

import pytest

from jaxnickel.lattice import Ladder, Square
from jaxnickel.mixd import DopingWarning, MixDParams, ValidityWarning, solve


@pytest.mark.parametrize(
    "kwargs, lattice, match",
    [
        (dict(J=-1.0), Ladder(30), r"J must be a finite number in \[1e-06, 1e\+06\], got -1"),
        (dict(V=0.0), Ladder(30), r"V must be a finite number in \[1e-06"),
        (dict(t=float("nan")), Ladder(30), r"t must be a finite number in \[1e-06"),
        (dict(t=float("inf")), Ladder(30), r"t must be a finite number in \[1e-06"),
        (dict(n_holes=0.0), Ladder(30), r"n_holes \(N_h\) must be a finite number > 0"),
        (dict(n_holes=-2.0), Ladder(30), r"n_holes"),
        (dict(n_holes=60.0), Ladder(30), r"n_holes \(N_h\) must be < 2 N = 60"),
        (dict(epsilon=1.5), Ladder(30), r"epsilon .* needs a 2D lattice"),
        (dict(epsilon=float("nan")), Square(4), r"epsilon must be a finite number"),
    ],
)
def test_bad_parameters(kwargs, lattice, match):
    p = MixDParams(**{**dict(t=0.1, J=1.0, V=1.0, n_holes=2.0), **kwargs})
    with pytest.raises(ValueError, match=match):
        solve(p, lattice)


def test_bad_method_and_options():
    p = MixDParams(n_holes=2.0)
    with pytest.raises(ValueError, match="method must be one of fixed-point, gradient"):
        solve(p, Ladder(8), "newton")
    with pytest.raises(ValueError, match="tol must be a number in"):
        solve(p, Ladder(8), tol=-1.0)
    with pytest.raises(ValueError, match="max_steps must be a positive integer"):
        solve(p, Ladder(8), max_steps=0)
    with pytest.raises(ValueError, match="seeds must be condensate fractions"):
        solve(p, Ladder(8), seeds=(0.5, 1.5))
    with pytest.raises(ValueError, match="init: expected a vector of shape"):
        solve(p, Ladder(8), init=[0.1, 0.2])


def test_validity_warnings():
    with pytest.warns(DopingWarning, match="outside the validity"):
        solve(MixDParams(t=0.1, J=1.0, V=1.0, n_holes=16.0), Ladder(30))
    with pytest.warns(ValidityWarning, match="t << J, V"):
        solve(MixDParams(t=0.6, J=1.0, V=1.0, n_holes=4.0), Ladder(30))


def test_float32_mode_is_refused_with_a_pointer_to_x64():
    code = (
        "import jax; jax.config.update('jax_enable_x64', False)\n"
        "import jaxnickel as jn\nfrom jaxnickel.mixd import MixDParams, solve\n"
        "try:\n    solve(MixDParams(n_holes=2.0), jn.Ladder(8))\n"
        "except RuntimeError as e:\n    print('refused:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "refused:" in out and "jax_enable_x64" in out


def test_results_are_float64():
    s = solve(MixDParams(t=0.1, J=1.0, V=1.0, n_holes=4.0), Ladder(12))
    assert s.delta.dtype.name == "float64" and s.energy.dtype.name == "float64"
