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

__all__ = ["RootResult", "newton_root", "newton_with_jacobian", "bisect_monotone", "bracketed_secant"]


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


def newton_with_jacobian(value_and_jac, x0, *, rtol=1e-13, atol=1e-13, max_steps=100, fun=None) -> RootResult:
    """Newton's method for ``F(x) = 0`` with the Jacobian supplied by the caller.

    ``value_and_jac(x) -> (F(x), dF/dx)`` computes both in one pass (the models' residuals
    have analytic Jacobians that cost about one residual evaluation, where forward-mode
    autodiff costs one per column).  Stops when the step is below ``atol + rtol max|x|``
    (optimistix' criterion), on a non-finite iterate, or after ``max_steps``; ``converged``
    as in :func:`newton_root`.  Differentiable with respect to everything ``value_and_jac``
    closes over by the implicit function theorem (:func:`jax.lax.custom_root`: one small
    linear solve whatever the number of iterations; its matrix is rebuilt by forward-mode
    autodiff of ``F`` at the root, one pass per unknown, only when differentiating).  No
    reverse mode through the loop.  ``fun``: ``F`` alone, when the caller has a cheaper
    form of it than ``value_and_jac(x)[0]`` (used for the implicit derivative and the
    final residual).
    """
    if fun is None:

        def fun(x):
            return value_and_jac(x)[0]

    def solve(_f, x_init):
        def cond(state):
            x, step, k, done = state
            return (k < max_steps) & ~done

        def body(state):
            x, _, k, _ = state
            F, J = value_and_jac(x)
            dx = jnp.linalg.solve(J, F)
            x_new = x - dx
            small = jnp.max(jnp.abs(dx)) <= atol + rtol * jnp.max(jnp.abs(x_new))
            bad = ~jnp.all(jnp.isfinite(x_new))
            return x_new, dx, k + 1, small | bad

        init = (x_init, jnp.full_like(x_init, jnp.inf), jnp.asarray(0), jnp.asarray(False))
        x, _, k, _ = jax.lax.while_loop(cond, body, init)
        return x, k.astype(x.dtype)  # a float aux: custom_root differentiates its outputs

    def tangent_solve(g, y):
        return jnp.linalg.solve(jax.jacfwd(g)(y), y)

    x, steps = jax.lax.custom_root(fun, x0, solve, tangent_solve, has_aux=True)
    steps = jax.lax.stop_gradient(steps).astype(jnp.asarray(0).dtype)
    res = jnp.max(jnp.abs(fun(x)))
    ok = jnp.isfinite(res) & jnp.all(jnp.isfinite(x)) & (res <= 100.0 * atol)
    return RootResult(x=x, converged=ok, steps=steps, residual=res)


def bracketed_secant(fn, lower, upper, f_lower, f_upper, *, atol=1e-12, max_steps=100):
    """Roots of ``n`` independent scalar equations ``fn(x)_i = 0`` in brackets, at once.

    ``fn`` maps ``x`` (shape ``(n,)``) to ``(n,)``, component ``i`` depending on ``x_i``
    only (one call evaluates every equation: the caller fuses the passes);
    ``f_lower``/``f_upper``: the values at the bracket ends (opposite signs).  Illinois
    regula falsi: superlinear on smooth functions, never leaves the bracket (a
    secant point outside it, or non-finite, falls back to the midpoint).  Stops when
    every estimate moved by less than ``atol`` or hit an exact zero.  Returns
    ``(x, steps)``; ``x`` is differentiable with respect to everything ``fn`` closes
    over by the implicit function theorem (:func:`jax.lax.custom_root`, diagonal
    Jacobian).
    """

    lower, upper, f_lower, f_upper = (
        jnp.asarray(v, dtype=jnp.result_type(float)) for v in (lower, upper, f_lower, f_upper)
    )

    def solve(f, x0):
        def cond(s):
            return (s["k"] < max_steps) & ~jnp.all(s["done"])

        def body(s):
            lo, hi, flo, fhi = s["lo"], s["hi"], s["flo"], s["fhi"]
            den = fhi - flo
            x = hi - fhi * (hi - lo) / jnp.where(den != 0, den, 1.0)
            inside = jnp.isfinite(x) & (x > lo) & (x < hi) & (den != 0)
            x = jnp.where(inside, x, 0.5 * (lo + hi))
            x = jnp.where(s["done"], s["x"], x)
            fx = f(x)
            left = jnp.sign(fx) == jnp.sign(flo)  # the root is in [x, hi]: x replaces lo
            # Illinois: an end kept twice in a row has its value halved
            new_flo = jnp.where(left, fx, jnp.where(s["side"] == -1, 0.5 * flo, flo))
            new_fhi = jnp.where(left, jnp.where(s["side"] == 1, 0.5 * fhi, fhi), fx)
            done = s["done"] | (jnp.abs(x - s["x"]) < atol) | (fx == 0) | (hi - lo < atol)
            keep = s["done"]
            return {
                "lo": jnp.where(keep, lo, jnp.where(left, x, lo)),
                "hi": jnp.where(keep, hi, jnp.where(left, hi, x)),
                "flo": jnp.where(keep, flo, new_flo),
                "fhi": jnp.where(keep, fhi, new_fhi),
                "side": jnp.where(left, 1, -1).astype(jnp.int32),
                "x": x,
                "done": done,
                "k": s["k"] + 1,
            }

        init = {
            "lo": lower,
            "hi": upper,
            "flo": f_lower,
            "fhi": f_upper,
            "side": jnp.zeros(lower.shape, jnp.int32),
            "x": jnp.full(lower.shape, jnp.inf, lower.dtype),
            "done": jnp.zeros(lower.shape, bool),
            "k": jnp.asarray(0),
        }
        out = jax.lax.while_loop(cond, body, init)
        return out["x"], out["k"].astype(out["x"].dtype)  # a float aux: custom_root differentiates its outputs

    def tangent_solve(g, y):
        return y / g(jnp.ones_like(y))  # the Jacobian is diagonal

    x, steps = jax.lax.custom_root(fn, 0.5 * (lower + upper), solve, tangent_solve, has_aux=True)
    return x, jax.lax.stop_gradient(steps).astype(jnp.asarray(0).dtype)
