"""Solvers of the two-band s+- gap equation (14): gradient (optax) and fixed point.

``solve(params, grid=512, method=...)`` returns a
:class:`~jaxnickel.triplon.solution.TriplonSolution`; ``solve_jax`` is its pure,
jit/vmap-able core.

* ``"gradient"`` minimises the condensation free energy
  (:func:`~jaxnickel.triplon.pairing.condensation_free_energy`) over the k-resolved
  trial gaps ``(Delta_alpha,k, Delta_beta,k)`` (2 N numbers) with optax L-BFGS;
  the variables are diagonally preconditioned by the curvature ``2 d chi/d Delta`` of
  the seed, so one tolerance works on every grid.  The minimum fixes the pair
  amplitudes ``chi_k``; at ``T = 0`` the functional does not depend on ``Delta_k`` at
  points with ``xi_k = 0`` (there ``chi = sign(Delta)/2``), so the returned gap is the
  right-hand side of (14) evaluated once at the minimiser.
* ``"fixed-point"`` solves Eq. (14) in the 6-dimensional space of gap coefficients
  (:func:`~jaxnickel.triplon.pairing.coefficient_map`) by Newton's method (optimistix,
  Jacobian by forward-mode autodiff), O(N) per step.

Seeds.  ``Delta = 0`` is always a solution.  For each symmetry channel (s+- = A1g,
d = B1g; ``channel="auto"`` tries both) the seed is the leading eigenvector of the
linearised kernel at T scaled to the amplitude that minimises the free energy along
it (a 1-D scan, O(N) per point).  The state of lowest free energy is returned; if no
channel lowers it below the normal state, the normal state (``Delta = 0``) is.

Both methods report ``residual = max_k |Delta - RHS of (14)|`` (eV) on the grid.
"""

from __future__ import annotations

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp

from ..lattice import Square
from ..solvers import minimize_constrained, newton_root, require_x64
from .pairing import (
    channel_eigenvalues,
    coefficient_map,
    condensation_free_energy,
    gap_map,
    gaps_from_coefficients,
    make_grid,
    pair_amplitude,
)
from .params import TriplonParams, validate_params

__all__ = ["solve", "solve_jax", "gap_vs_temperature", "METHODS", "CHANNELS", "CHANNEL_NAMES", "ConvergenceWarning"]

METHODS = ("gradient", "fixed-point")
CHANNELS = ("auto", "s", "d")
#: values of ``TriplonSolution.channel``
CHANNEL_NAMES = ("normal", "s+-", "d")

_AMPLITUDES = jnp.logspace(-6, jnp.log10(0.5), 25)  # eV, seed amplitude scan


class ConvergenceWarning(RuntimeWarning):
    """A triplon solve stopped without meeting its tolerance."""


def _grid(p, n):
    kx, ky = Square(n).momenta()
    return make_grid(p, kx, ky)


def _residual(da, db, p, grid):
    na, nb = gap_map(da, db, p, grid)
    return jnp.maximum(jnp.max(jnp.abs(da - na)), jnp.max(jnp.abs(db - nb)))


def _seed(direction, p, grid, n):
    """Amplitude along ``direction`` (6-vector) that minimises the free energy.

    A 25-point log scan (1e-6 .. 0.5 eV), one amplitude after another (``lax.map``
    keeps the memory at O(N)).
    """
    # on the full grid: a subsampled grid misses the weak-coupling minimum (the gap is
    # then below the subgrid's energy resolution) and seeds the normal state
    fs = jax.lax.map(lambda s: _free_energy_of(s * direction, p, grid), _AMPLITUDES)
    return _AMPLITUDES[jnp.argmin(fs)] * direction


def _free_energy_of(c, p, grid):
    da, db = gaps_from_coefficients(c, grid)
    return condensation_free_energy(da, db, p, grid)


def _run_fixed_point(c0, p, grid, tol, max_steps, adjoint="implicit"):
    def res(c, args):
        return c - coefficient_map(c, *args)

    r = newton_root(res, c0, (p, grid), rtol=tol, atol=tol, max_steps=max_steps, adjoint=adjoint)
    da, db = gaps_from_coefficients(r.x, grid)
    return da, db, r.steps


def _run_gradient(c0, p, grid, tol, max_steps):
    da0, db0 = gaps_from_coefficients(c0, grid)
    n = da0.shape[-1]

    def curvature(d, xi):
        dchi = jax.grad(lambda x: jnp.sum(pair_amplitude(x, xi, p.T)[1]))(d)
        return 2.0 * dchi

    sa = jax.lax.rsqrt(jnp.maximum(curvature(da0, grid.xi_alpha), 1e-300))
    sb = jax.lax.rsqrt(jnp.maximum(curvature(db0, grid.xi_beta), 1e-300))

    def fun(x):
        return n * condensation_free_energy(x["a"] * sa, x["b"] * sb, p, grid)

    res = minimize_constrained(fun, {"a": da0 / sa, "b": db0 / sb}, tol=tol, max_inner=max_steps, max_outer=1)
    # At T = 0 the functional is flat in Delta_k where xi_k = 0 (chi_k = sign(Delta_k)/2
    # there), so the minimiser fixes the pair amplitudes chi (and the moments) but not
    # Delta_k on the Fermi surface itself.  The gap is the right-hand side of (14) at
    # the minimising chi: one application of the gap map (no iteration).
    da, db = gap_map(res.x["a"] * sa, res.x["b"] * sb, p, grid)
    return da, db, res.iterations


def solve_jax(
    p: TriplonParams,
    grid: int = 512,
    method: str = "gradient",
    *,
    channel: str = "auto",
    init=None,
    tol: float = 1e-11,
    max_steps: int | None = None,
    adjoint: str = "implicit",
):
    """Pure core of :func:`solve` (no validation or warnings); jit/vmap/grad-able.

    Derivatives of the fixed-point solution with respect to any parameter use the
    implicit function theorem (``adjoint="implicit"``); ``adjoint="unrolled"``
    differentiates through the Newton iterations instead (slow; for tests).  The
    gradient method's L-BFGS loop is not differentiable: use the fixed point.
    """
    from .solution import build_solution

    n = grid
    g = _grid(p, n)
    lam_s, lam_d, v_s, v_d = channel_eigenvalues(p.T, p, g)
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
    seeds = []
    if channel in ("auto", "s"):
        seeds.append(_seed(v_s, p, g, n))
    if channel in ("auto", "d"):
        seeds.append(_seed(v_d, p, g, n))
    if init is not None:
        # warm start (e.g. a temperature ladder); a zero start (normal state) would stay
        # at the trivial root, so it falls back to the best seed
        c_init = init.coefficients if hasattr(init, "coefficients") else jnp.asarray(init)
        fs = jnp.stack([_free_energy_of(c, p, g) for c in seeds])
        best_seed = jnp.stack(seeds)[jnp.argmin(fs)]
        starts = [jnp.where(jnp.max(jnp.abs(c_init)) > 1e-12, c_init, best_seed)]
    else:
        starts = seeds

    if method == "fixed-point":
        run = lambda c0: _run_fixed_point(c0, p, g, 1e-3 * tol, 100 if max_steps is None else max_steps, adjoint)  # noqa: E731
    elif method == "gradient":
        run = lambda c0: _run_gradient(c0, p, g, tol, 3000 if max_steps is None else max_steps)  # noqa: E731
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")

    best = None
    total_steps = jnp.asarray(0)
    failed_lower = []  # free energies of channels whose solve did not converge
    for c0 in starts:
        da, db, steps = run(c0)
        total_steps = total_steps + steps
        f = condensation_free_energy(da, db, p, g)
        res = _residual(da, db, p, g)
        cand = (f, da, db, res)
        failed_lower.append(jnp.where(res <= tol, jnp.inf, f))
        if best is None:
            best = cand
        else:
            # a converged channel beats an unconverged one; among equals, lower F wins
            ok_new, ok_old = res <= tol, best[3] <= tol
            better = (ok_new & ~ok_old) | ((ok_new == ok_old) & (f < best[0]))
            best = jax.tree_util.tree_map(lambda new, old, b=better: jnp.where(b, new, old), cand, best)
    f, da, db, res = best
    # an unconverged channel that reached a lower free energy than the returned state
    # means the returned state may not be the ground state: report non-convergence
    unresolved = jnp.min(jnp.stack(failed_lower)) < f
    # the normal state wins unless the pairing lowers the free energy
    scale = jnp.maximum(jnp.max(jnp.abs(da)), jnp.max(jnp.abs(db)))
    normal = ~(f < 0.0) | (scale < 1e-12)
    da = jnp.where(normal, 0.0, da)
    db = jnp.where(normal, 0.0, db)
    res = jnp.where(normal, _residual(da, db, p, g), res)
    f = jnp.where(normal, 0.0, f)
    # the normal state is only an answer where it is stable (linearised kernel < 1)
    lam_max = jnp.maximum(lam_s if channel != "d" else 0.0, lam_d if channel != "s" else 0.0)
    unresolved = unresolved | (normal & (lam_max > 1.0))
    return build_solution(
        p,
        n,
        g,
        da,
        db,
        free_energy=f,
        method=method,
        lambdas=(lam_s, lam_d),
        iterations=total_steps,
        residual=res,
        converged=(res <= tol) & ~unresolved,
    )


_solve_jit = eqx.filter_jit(solve_jax)


def _ladder(p: TriplonParams, grid: int, temperatures, method: str, channel: str, tol: float):
    def step(carry, T):
        sol = solve_jax(p.replace(T=T), grid, method, channel=channel, init=carry, tol=tol)
        return sol.coefficients, sol

    first = solve_jax(p.replace(T=temperatures[0]), grid, method, channel=channel, tol=tol)
    _, sols = jax.lax.scan(step, first.coefficients, temperatures)
    return sols


_ladder_jit = eqx.filter_jit(_ladder)


def gap_vs_temperature(
    params: TriplonParams,
    temperatures,
    grid: int = 512,
    method: str = "fixed-point",
    *,
    channel: str = "auto",
    tol: float = 1e-11,
):
    """``Delta(T)`` along a temperature ladder (eV), one compiled ``lax.scan`` with warm starts.

    Each temperature starts from the previous solution (the first one from the
    seeds), so the ladder follows one branch; where that solution is the normal
    state the next temperature is seeded afresh.  Returns a batched
    :class:`~jaxnickel.triplon.solution.TriplonSolution` (leading axis = temperature);
    check ``channel`` along the ladder to see a change of branch.
    """
    require_x64()
    validate_params(params, grid)
    T = jnp.asarray(temperatures, dtype=jnp.result_type(float))
    if T.ndim != 1 or T.size < 1:
        raise ValueError("temperatures must be a non-empty 1-D sequence (eV)")
    if not bool(jnp.all(jnp.isfinite(T))) or bool(jnp.any(T < 0)):
        raise ValueError("temperatures must be finite and >= 0 (eV)")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    return _ladder_jit(params, grid, T, method, channel, tol)


def solve(
    params: TriplonParams,
    grid: int = 512,
    method: str = "gradient",
    *,
    channel: str = "auto",
    init=None,
    tol: float = 1e-11,
    max_steps: int | None = None,
    warn: bool = True,
):
    """Mean-field state of the two-band model on an ``grid x grid`` k-mesh.

    ``method``: ``"gradient"`` (optax minimisation of the free energy) or
    ``"fixed-point"`` (Newton iteration of Eq. 14); ``channel``: ``"auto"`` (both
    symmetry channels, lowest free energy wins), ``"s"`` (s+-) or ``"d"``; ``init``:
    a previous solution or 6 gap coefficients (warm start, e.g. along a temperature
    ladder); ``tol``: bound on ``max |Delta - RHS(14)|`` in eV.
    """
    require_x64()
    validate_params(params, grid)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    if not (isinstance(tol, float | int) and 0 < tol < 1e-3):
        raise ValueError(f"tol must be a number in (0, 1e-3) eV, got {tol!r}")
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    sol = _solve_jit(params, grid, method, channel=channel, init=init, tol=float(tol), max_steps=max_steps)
    if warn and not bool(sol.converged):
        warnings.warn(
            f"triplon {method} solve did not converge: residual {float(sol.residual):.3e} eV "
            f"after {int(sol.iterations)} iterations",
            ConvergenceWarning,
            stacklevel=2,
        )
    return sol
