"""Root finding for small systems (the mean-field moment equations).

Thin, uniform wrappers around optimistix: a Newton iteration with a dense
Jacobian (the systems here have a handful of unknowns, each function evaluation
is O(N)) and bisection for monotone scalar equations.  Failures are reported in
the result, never raised, so callers can vmap over seeds and choose.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx

__all__ = ["RootResult", "newton_root", "bisect_monotone"]


class RootResult(eqx.Module):
    x: jax.Array
    converged: jax.Array
    steps: jax.Array
    residual: jax.Array  # max-norm of F at x, recomputed from the final iterate


ADJOINTS = ("implicit", "unrolled")


def newton_root(fn, x0, args=None, *, rtol=1e-13, atol=1e-13, max_steps=100, adjoint="implicit") -> RootResult:
    """Solve ``fn(x, args) = 0`` for a small vector ``x`` by Newton's method.

    ``converged`` is judged from the final residual ``max|fn(x)| <= atol * 100``
    together with optimistix' own result code, not from the step counter.
    ``adjoint="implicit"`` (default) differentiates the root by the implicit function
    theorem (optimistix ``ImplicitAdjoint``: one small linear solve, independent of
    the iterations); ``"unrolled"`` backpropagates through the Newton steps
    (``RecursiveCheckpointAdjoint``), the slow reference used to test the former.
    """
    if adjoint == "implicit":
        adj = optx.ImplicitAdjoint()
    elif adjoint == "unrolled":
        adj = optx.RecursiveCheckpointAdjoint()
    else:
        raise ValueError(f"adjoint must be one of {ADJOINTS}, got {adjoint!r}")
    sol = optx.root_find(
        fn,
        optx.Newton(rtol=rtol, atol=atol),
        x0,
        args=args,
        max_steps=max_steps,
        throw=False,
        adjoint=adj,
    )
    x = sol.value
    res = jnp.max(jnp.abs(fn(x, args)))
    ok = (sol.result == optx.RESULTS.successful) & jnp.isfinite(res) & jnp.all(jnp.isfinite(x))
    ok = ok & (res <= 100.0 * atol)
    return RootResult(x=x, converged=ok, steps=sol.stats["num_steps"], residual=res)


def bisect_monotone(fn, lower, upper, args=None, *, atol=1e-14, max_steps=200):
    """Root of a monotone scalar ``fn(x, args)`` in ``[lower, upper]`` (optimistix Bisection)."""
    sol = optx.root_find(
        fn,
        optx.Bisection(rtol=0.0, atol=atol, flip="detect"),
        0.5 * (lower + upper),
        args=args,
        options={"lower": lower, "upper": upper},
        max_steps=max_steps,
        throw=False,
    )
    return sol.value
