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

from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..results import RESULTS, classify, raise_or_warn
from ..solvers import lbfgs_minimize, newton_root, newton_with_jacobian, require_x64, with_gradient
from ..solvers.dtype import require_float64_params
from .kpoints import ZONES, describe_reduction, point_set, shell_size, wedge_alone
from .pairing import (
    BAND_INDICES,
    D_CHANNEL,
    S_CHANNEL,
    _coefficients_from_pair_amplitudes,
    _combine,
    channel_eigenvalues,
    coefficient_map,
    coefficient_map_complex,
    coefficient_map_complex_jacobian,
    coefficient_map_jacobian,
    complex_moments_and_grams,
    condensation_free_energy,
    condensation_free_energy_and_gap_gradient,
    free_energy_and_map,
    free_energy_of_coefficients_complex,
    free_energy_value_and_gradient,
    free_energy_value_and_gradient_complex,
    gap_map_complex,
    gaps_from_coefficients,
    gaps_from_coefficients_complex,
    pair_amplitude,
    pair_amplitude_derivative,
)
from .params import TriplonParams, validate_params
from .stability import stability

if TYPE_CHECKING:
    from .solution import TriplonSolution

__all__ = ["solve", "solve_jax", "gap_vs_temperature", "METHODS", "CHANNELS", "CHANNEL_NAMES", "ConvergenceWarning"]

METHODS = ("gradient", "fixed-point")
CHANNELS = ("auto", "s", "d")
#: values of ``TriplonSolution.channel``
CHANNEL_NAMES = ("normal", "s+-", "d", "s+id")

#: the gap components ``(1, eta, eta^2)`` of each real channel (``S_CHANNEL``: s+-, A1g;
#: ``D_CHANNEL``: d, B1g), the parity of its solve on the wedge alone (:func:`~jaxnickel.triplon.kpoints.wedge_alone`)
_CHANNEL_PARITY = {ch: np.isin(np.arange(3), idx).astype(float) for ch, idx in (("s", S_CHANNEL), ("d", D_CHANNEL))}

# eV, seed amplitude scan: 9 amplitudes a factor 5.2 apart (NumPy float64: nothing is
# computed by JAX at import, before float64 is on)
_AMPLITUDES = np.logspace(-6, np.log10(0.5), 25)[::3]


class ConvergenceWarning(RuntimeWarning):
    """A triplon solve stopped without meeting its tolerance."""


def _seed(direction, p, grid):
    """Amplitude along ``direction`` (6-vector) near the free-energy minimum, from above.

    A log scan of 9 amplitudes (1e-6 .. 0.5 eV, a factor 5.2 apart), one after another
    (``lax.map`` keeps the memory at O(N)); the start is the scan point *above* the
    minimum.  Newton on the gap equation (the fixed point) converges monotonically from
    above (``Delta -> Delta / (1 + ln(Delta/Delta_0))`` in weak coupling) but overshoots
    from more than a factor e below; the gradient method's preconditioned L-BFGS
    (:func:`_preconditioned_lbfgs`) needs 9-12 steps from there, as from the minimum of a
    25-point scan, which cost 16 more passes.
    """
    # on the full grid: a subsampled grid misses the weak-coupling minimum (the gap is
    # then below the subgrid's energy resolution) and seeds the normal state
    fs = jax.lax.map(lambda s: _free_energy_of(s * direction, p, grid), _AMPLITUDES)
    i = jnp.minimum(jnp.argmin(fs) + 1, _AMPLITUDES.size - 1)
    return jnp.asarray(_AMPLITUDES)[i] * direction


def _free_energy_of(c, p, grid):
    da, db = gaps_from_coefficients(c, grid)
    return condensation_free_energy(da, db, p, grid)


def _run_fixed_point(c0, p, grid, tol, max_steps, adjoint="implicit"):
    """Newton on ``c - M(c) = 0`` in the 6 gap coefficients.

    ``adjoint="implicit"``: the analytic Jacobian (:func:`~jaxnickel.triplon.pairing.coefficient_map_jacobian`,
    one pass per step) and implicit differentiation; ``"unrolled"``: optimistix' Newton
    with forward-mode Jacobians, differentiated through its steps (the test reference).
    On the wedge alone (one mirror parity, ``grid.parity``) the map's other components are 0,
    so Newton keeps them at 0.
    """
    if adjoint == "implicit":

        def value_and_jac(c):
            M, J = coefficient_map_jacobian(c, p, grid)
            return c - M, jnp.eye(c.shape[0], dtype=J.dtype) - J

        r = newton_with_jacobian(value_and_jac, c0, rtol=tol, atol=tol, max_steps=max_steps)
        return r.x, r.steps

    def res(c, args):
        return c - coefficient_map(c, *args)

    r = newton_root(res, c0, (p, grid), rtol=tol, atol=tol, max_steps=max_steps, adjoint=adjoint)
    return r.x, r.steps


def _coefficients_of_rhs(da, db, p, grid):
    """Coefficients of the right-hand side of (14) at gaps ``(da, db)`` (the gap map's span)."""
    _, chi_a = pair_amplitude(da, grid.xi_alpha, p.T)
    _, chi_b = pair_amplitude(db, grid.xi_beta, p.T)
    return _coefficients_from_pair_amplitudes(chi_a, chi_b, p, grid)


def _gram_hessian(r, p, grid):
    """``2 blockdiag(D_alpha, D_beta)`` (12 x 12, order of ``r``) at the 12 coefficients ``r``.

    The single-band part of the free energy's Hessian in the coefficients (:func:`~jaxnickel.triplon.stability.stationary_hessian`
    without the coupling blocks): positive semi-definite, one pass.  The real branches use
    its top-left 6 x 6 block (the real parts).
    """
    _, Da, _, Db = complex_moments_and_grams(r, p, grid)
    ia, ib = BAND_INDICES
    H = jnp.zeros((12, 12), dtype=Da.dtype)
    return H.at[jnp.ix_(ia, ia)].set(2.0 * Da).at[jnp.ix_(ib, ib)].set(2.0 * Db)


def _preconditioned_lbfgs(value, value_and_grad, x0, hess0, tol, max_steps):
    """optax L-BFGS of ``1e3 * value`` (meV per cell) in ``y = L^T x``, ``L L^T = 1e3 hess0``.

    ``value(x)`` and ``value_and_grad(x) -> (f, df/dx)`` in eV per cell (the closed-form
    gradient; :func:`~jaxnickel.solvers.with_gradient`).
    ``hess0``: the Gram part of the Hessian at the start (:func:`_gram_hessian`), whose
    scales span orders of magnitude between the bands and the powers of ``eta``; in ``y``
    the curvature is ~1 and L-BFGS needs ~15 steps instead of ~40 at 1024^2 (a Cholesky
    that fails, e.g. a degenerate basis, falls back to ``y = x``).  The stopping rule is the
    unscaled one, ``max |df/dx| <= tol`` (meV per cell per eV).  Returns ``(x, steps)``.
    """
    m = x0.shape[0]
    eye = jnp.eye(m, dtype=x0.dtype)
    H = 1e3 * hess0
    L = jnp.linalg.cholesky(H + 1e-12 * jnp.trace(H) / m * eye)
    L = jnp.where(jnp.all(jnp.isfinite(L)) & (jnp.min(jnp.abs(jnp.diag(L))) > 0), L, eye)

    def to_x(y):
        return jax.scipy.linalg.solve_triangular(L.T, y, lower=False)

    def vg(y):
        f, g = value_and_grad(to_x(y))
        return 1e3 * f, jax.scipy.linalg.solve_triangular(L, 1e3 * g, lower=True)

    fun = with_gradient(lambda y: 1e3 * value(to_x(y)), vg)
    y, steps = lbfgs_minimize(fun, L.T @ x0, tol=tol, max_steps=max_steps, norm=lambda gy: jnp.max(jnp.abs(L @ gy)))
    return to_x(y), steps


def _run_gradient(c0, p, grid, tol, max_steps, span_grid=None):
    """L-BFGS (optax) on the free energy: in the span of the pairing basis, then k-resolved.

    Stage 1 minimises the functional over the 6 real gap coefficients (``Delta_b = u^b .
    c_b``; ~10 steps of ~1.5 ms at 1024^2, preconditioned by the Gram matrices,
    :func:`_preconditioned_lbfgs`, with the closed-form gradient of
    :func:`~jaxnickel.triplon.pairing.free_energy_value_and_gradient`).  Every solution of (14) lies in that span (its
    right-hand side does), and the k-resolved gradient is ``(2/N) (d chi/d Delta)_k
    (Delta_k + H_k)`` with ``H_k`` in the span too, so the span's minimum is a stationary
    point of the k-resolved functional.  Stage 2 minimises over the k-resolved gaps
    ``Delta_k`` of the shell from there (the design card's formulation): it checks the
    k-resolved gradient (closed form, :func:`~jaxnickel.triplon.pairing.condensation_free_energy_and_gap_gradient`)
    and takes L-BFGS steps only where it is above ``tol`` (typically none; each step costs ~10 ms of optimiser work on 230k variables at 1024^2, which is why
    stage 1 comes first).  Returns the coefficients of the right-hand side of (14) at the
    minimiser and the steps of both stages.

    ``span_grid`` (a real channel): stage 1 sums over it (the wedge alone, one mirror
    parity: :func:`~jaxnickel.triplon.kpoints.wedge_alone`; the gradient has that parity's
    coefficients only, the others stay 0); stage 2 checks on ``grid``.
    """
    gs = grid if span_grid is None else span_grid
    m = jnp.tile(gs.parity, 2)
    # the Gram part in the parity's coefficients (the others: a unit block, never moved)
    H0 = _gram_hessian(jnp.concatenate([c0, jnp.zeros_like(c0)]), p, gs)[:6, :6] * jnp.outer(m, m)
    H0 = H0 + jnp.diag((1.0 - m) * jnp.trace(H0) / jnp.maximum(jnp.sum(m), 1.0))
    # the gradient in closed form from the same pass (free_energy_value_and_gradient)
    x1, steps1 = _preconditioned_lbfgs(
        lambda c: _free_energy_of(c, p, gs), lambda c: free_energy_value_and_gradient(c, p, gs), c0, H0, tol, max_steps
    )
    c1 = jnp.where(jnp.all(jnp.isfinite(x1)), x1, c0)
    da0, db0 = gaps_from_coefficients(c1, grid)
    w = grid.weight

    def scale(d, xi):
        # curvature of n_cells * f in Delta_k: weight_k * 2 d chi_k / d Delta_k (weight-0 padding: 1)
        dchi = pair_amplitude_derivative(d, xi, p.T)[1]
        return jnp.where(w > 0, jax.lax.rsqrt(jnp.maximum(2.0 * w * dchi, 1e-300)), 1.0)

    sa = scale(da0, grid.xi_alpha)
    sb = scale(db0, grid.xi_beta)

    def value_and_grad(x):
        f, ga, gb = condensation_free_energy_and_gap_gradient(x["a"] * sa, x["b"] * sb, p, grid)
        return grid.n_cells * f, {"a": grid.n_cells * ga * sa, "b": grid.n_cells * gb * sb}

    # the k-resolved gradient in closed form (condensation_free_energy_and_gap_gradient)
    fun = with_gradient(
        lambda x: grid.n_cells * condensation_free_energy(x["a"] * sa, x["b"] * sb, p, grid), value_and_grad
    )

    # In these variables the wedge is an isometric image of the symmetric subspace of the
    # full zone (x_k = sqrt(weight_k) y_k), so L-BFGS takes the full-zone steps; the
    # stopping norm is the full zone's max-norm, max_k |g_k| / sqrt(weight_k).
    inv_sqrt_w = jnp.where(w > 0, jax.lax.rsqrt(jnp.where(w > 0, w, 1.0)), 0.0)

    def norm(g):
        return jnp.maximum(jnp.max(jnp.abs(g["a"]) * inv_sqrt_w), jnp.max(jnp.abs(g["b"]) * inv_sqrt_w))

    # The check at the span's minimum: the k-resolved gradient and the right-hand side of
    # (14) from one pass.  Typically it meets the tolerance and stage 2 takes no step; the
    # L-BFGS branch (its 2 x 20 copies of the 230k variables at 1024^2) runs only if not,
    # and the conditional carries only the 6 coefficients out.
    _, ga0, gb0, rhs0 = condensation_free_energy_and_gap_gradient(da0, db0, p, grid, with_rhs=True)
    g0 = norm({"a": grid.n_cells * ga0 * sa, "b": grid.n_cells * gb0 * sb})

    def descend(_):
        x, steps2 = lbfgs_minimize(fun, {"a": da0 / sa, "b": db0 / sb}, tol=tol, max_steps=max_steps, norm=norm)
        # At T = 0 the functional is flat in Delta_k where xi_k = 0 (chi_k = sign(Delta_k)/2
        # there), so the minimiser fixes the pair amplitudes chi (and the moments) but not
        # Delta_k on the Fermi surface itself.  The gap is the right-hand side of (14) at
        # the minimising chi: one application of the gap map (no iteration).
        return _coefficients_of_rhs(x["a"] * sa, x["b"] * sb, p, grid), steps2

    def stationary(_):
        return rhs0, jnp.zeros_like(steps1)

    c, steps2 = jax.lax.cond((g0 > tol) & jnp.isfinite(g0), descend, stationary, None)
    return c, steps1 + steps2


# --- complex gaps -------------------------------------------------------------------------


def _rotate_phase(r, z0):
    """``c e^{-i arg(z0^dag c)}``: the phase that makes the overlap with ``z0`` real and positive."""
    cr, ci = r[:6], r[6:]
    zr, zi = z0[:6], z0[6:]
    sr = zr @ cr + zi @ ci
    si = zr @ ci - zi @ cr
    nrm = jnp.sqrt(sr * sr + si * si)
    ok = nrm > 0
    cos = jnp.where(ok, sr / jnp.where(ok, nrm, 1.0), 1.0)
    sin = jnp.where(ok, si / jnp.where(ok, nrm, 1.0), 0.0)
    return jnp.concatenate([cr * cos + ci * sin, ci * cos - cr * sin])


def canonical_gauge(r):
    """Fix the global phase: the alpha s-component ``c_alpha0`` real and positive, or, for a
    state without it (d wave), the alpha d-component ``c_alpha1``."""
    scale = jnp.max(jnp.abs(r))
    a0 = jnp.hypot(r[0], r[6])
    use_s = a0 > 1e-9 * scale
    ref = jnp.zeros(12).at[0].set(jnp.where(use_s, 1.0, 0.0)).at[1].set(jnp.where(use_s, 0.0, 1.0))
    return _rotate_phase(r, ref)


def _run_fixed_point_complex(r0, p, grid, tol, max_steps, adjoint="implicit"):
    """Newton on the 12 real coefficients of the gauge-fixed map ``c -> M(c) e^{-i phi}``.

    ``phi = arg(z0^dag M(c))`` with ``z0`` the seed: the map's fixed points with
    ``z0^dag c > 0`` are exactly the solutions of (14) in that gauge, and the rotation
    removes the zero mode of the Jacobian (the global phase), so Newton's linear
    systems stay regular.  A 'rotating' fixed point (``M(c) = e^{i phi} c``,
    ``phi != 0``) is not a solution; the caller's residual on the true map (14)
    catches it.
    """

    if adjoint == "implicit":
        eye = jnp.eye(12, dtype=r0.dtype)

        def value_and_jac(r):
            M, JM = coefficient_map_complex_jacobian(r, p, grid)
            rot = _rotate_phase(M, r0)
            Drot = jax.jacfwd(_rotate_phase)(M, r0)  # 12 x 12 on a 12-vector: no pass over the points
            return r - rot, eye - Drot @ JM

        sol = newton_with_jacobian(value_and_jac, r0, rtol=tol, atol=tol, max_steps=max_steps)
        return sol.x, sol.steps

    def res(r, args):
        return r - _rotate_phase(coefficient_map_complex(r, *args), r0)

    sol = newton_root(res, r0, (p, grid), rtol=tol, atol=tol, max_steps=max_steps, adjoint=adjoint)
    return sol.x, sol.steps


def _run_gradient_complex(r0, p, grid, tol, max_steps):
    """L-BFGS (optax) on the free energy over the 12 real coefficients ``(Re c, Im c)``.

    The complex branches are minimised in the span of the pairing basis, where every
    solution of (14) lies: the gradient there is ``2 D (c - M(c))`` with the positive
    semi-definite Gram matrix ``D`` (:func:`~jaxnickel.triplon.pairing.free_energy_value_and_gradient_complex`,
    closed form, one pass), so its zeros are exactly the solutions of (14); preconditioned
    by ``D`` at the start (:func:`_preconditioned_lbfgs`), 12 variables converge in ~15
    steps at 1024^2 (~40 unpreconditioned; the k-resolved polar coordinates are nearly
    flat in the phase at the Fermi surface, where ``d chi/d|Delta| -> 0``).  The gap is
    then the right-hand side of (14) at the minimiser, as for the real branches.  The
    global phase is a flat direction of the functional; L-BFGS does not move along it.
    """

    x, steps = _preconditioned_lbfgs(
        lambda r: free_energy_of_coefficients_complex(r, p, grid),
        lambda r: free_energy_value_and_gradient_complex(r, p, grid),
        r0,
        _gram_hessian(r0, p, grid),
        tol,
        max_steps,
    )
    return coefficient_map_complex(x, p, grid), steps


def _residual_complex(r, p, grid):
    dar, dai, dbr, dbi = gaps_from_coefficients_complex(r, grid)
    nar, nai, nbr, nbi = gap_map_complex(dar, dai, dbr, dbi, p, grid)
    return jnp.maximum(jnp.max(jnp.hypot(dar - nar, dai - nai)), jnp.max(jnp.hypot(dbr - nbr, dbi - nbi)))


#: relative weights ``theta`` of the complex seeds ``cos(theta) c_s+- + i sin(theta) c_d``
COMPLEX_SEED_ANGLES = (0.25 * 3.141592653589793,)
#: size of the step along an unstable direction, relative to ``max |c|``
_RELAX_STEP = 0.3


def _candidate_real(c, p, g):
    # one pass: the residual max_k |Delta - RHS(14)| is that of the coefficients, c - M(c),
    # spread over the points (the right-hand side lies in the span of u)
    f, M = free_energy_and_map(c, p, g)
    d = c - M
    res = jnp.maximum(jnp.max(jnp.abs(_combine(d[:3], g.u_alpha))), jnp.max(jnp.abs(_combine(d[3:], g.u_beta))))
    return f, jnp.concatenate([c, jnp.zeros(6)]), res


def _candidate_complex(r, p, g):
    return free_energy_of_coefficients_complex(r, p, g), r, _residual_complex(r, p, g)


def _better(new, old, tol, margin=False):
    """A converged state beats an unconverged one; among equals the lower free energy wins.

    ``margin``: the new state must be lower by more than rounding (``1e-10 |F| + 1e-15``
    eV/cell), so that a complex run that returns a real branch does not replace the real
    solve's own result by a copy that differs in the last bits.
    """
    ok_new, ok_old = new[2] <= tol, old[2] <= tol
    gap = (1e-10 * jnp.abs(old[0]) + 1e-15) if margin else 0.0
    return (ok_new & ~ok_old) | ((ok_new == ok_old) & (new[0] < old[0] - gap))


def _pick(cands, tol, best=None, margin=False):
    if best is None:
        best, cands = cands[0], cands[1:]
    for cand in cands:
        b = _better(cand, best, tol, margin)
        best = jax.tree_util.tree_map(lambda new, old, b=b: jnp.where(b, new, old), cand, best)
    return best


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
    complex_search: bool = True,
    zone: str = "wedge",
    shell_points: int | None = None,
) -> TriplonSolution:
    """Pure core of :func:`solve` (no validation or warnings); jit/vmap/grad-able.

    Derivatives of the fixed-point solution with respect to any parameter use the
    implicit function theorem (``adjoint="implicit"``); ``adjoint="unrolled"``
    differentiates through the Newton iterations instead (slow; for tests).  The
    gradient method's L-BFGS loop is not differentiable: use the fixed point.
    ``complex_search=False`` restricts ``channel="auto"`` to the real branches.

    ``zone`` and ``shell_points`` choose the k-point set every sum runs over
    (:func:`~jaxnickel.triplon.kpoints.point_set`): the C4v wedge and its mirror (default;
    exact for every state) or the full grid, and, with the sharp cutoff, only the points
    of the pairing shell padded to ``shell_points`` (static; :func:`~jaxnickel.triplon.kpoints.shell_size`
    gives it for concrete parameters; ``None``: no shell compression).  The gaps of the
    solution are always given on the full ``grid x grid`` mesh; ``solution.reduction``
    says what was summed over.  A shell larger than ``shell_points`` is reported as
    ``model_solve_failed``, never solved on a truncated shell.
    """
    from .solution import build_solution

    require_x64()  # at trace time: float32 cannot hold meV gaps on eV bands
    n = grid
    if zone not in ZONES:
        raise ValueError(f"zone must be one of {ZONES}, got {zone!r}")
    g = point_set(p, n, zone, shell_points)
    lam_s, lam_d, v_s, v_d = channel_eigenvalues(p.T, p, g)
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
    search_complex = channel == "auto" and complex_search
    names = [ch for ch in ("s", "d") if channel in ("auto", ch)]
    directions = [{"s": v_s, "d": v_d}[ch] for ch in names]
    # the real channels keep one mirror parity each: on the wedge alone (half the points;
    # kpoints.wedge_alone)
    parities = jnp.stack([jnp.asarray(_CHANNEL_PARITY[ch]) for ch in names])

    # (sliced inside each channel's loop body, where XLA fuses the slices into the passes:
    # slicing once outside the loop materialises the half set and was ~20 % slower)
    def real_set(parity):
        return wedge_alone(g, parity) if zone == "wedge" else g

    steps_cap = (100 if method == "fixed-point" else 3000) if max_steps is None else max_steps
    if method == "fixed-point":
        run = lambda c0, gr: _run_fixed_point(c0, p, gr, 1e-3 * tol, steps_cap, adjoint)  # noqa: E731
        run_c = lambda r0: _run_fixed_point_complex(r0, p, g, 1e-3 * tol, steps_cap, adjoint)  # noqa: E731
    elif method == "gradient":
        run = lambda c0, gr: _run_gradient(c0, p, g, tol, steps_cap, span_grid=gr)  # noqa: E731
        run_c = lambda r0: _run_gradient_complex(r0, p, g, tol, steps_cap)  # noqa: E731
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")

    def real_branch(c0, gr):
        c, steps = run(c0, gr)
        return _candidate_real(c, p, gr), steps

    # The real channels run one after another in one loop (lax.map): the program holds one
    # copy of the seed scan and of the solve instead of one per channel (half the code to
    # compile, store and load; the CLI loads it from the cache on every run).
    init_complex = None
    if init is not None:
        # warm start (e.g. a temperature ladder); a zero start (normal state) would stay
        # at the trivial root, so it falls back to the best seed
        c_init = init.complex_coefficients if hasattr(init, "complex_coefficients") else jnp.asarray(init)
        if c_init.shape[-1] == 12:
            init_complex = c_init
            c_init = c_init[:6]

        # (a warm start has no definite parity: the whole set, all coefficients)
        def seed_and_f(vq):
            gr = real_set(vq[1])
            c = _seed(vq[0], p, gr)
            return c, _free_energy_of(c, p, gr)  # (a seed has its channel's parity: exact on its set)

        seeds, fs = jax.lax.map(seed_and_f, (jnp.stack(directions), parities))
        best_seed = seeds[jnp.argmin(fs)]
        cand, total_steps = real_branch(jnp.where(jnp.max(jnp.abs(c_init)) > 1e-12, c_init, best_seed), g)
        cands = [cand]
    else:

        def seeded_branch(vq):
            gr = real_set(vq[1])
            return real_branch(_seed(vq[0], p, gr), gr)

        stacked, steps = jax.lax.map(seeded_branch, (jnp.stack(directions), parities))
        cands = [jax.tree_util.tree_map(lambda x, i=i: x[i], stacked) for i in range(len(directions))]
        total_steps = jnp.sum(steps)
    n_real = len(cands)
    if search_complex:
        # s+- + i d seeds from the two real branches (when one is normal the seed is the
        # other real branch and the complex Newton returns it: harmless)
        complex_seeds = []
        if init is None:
            c_s, c_d = cands[0][1][:6], cands[1][1][:6]
            for th in COMPLEX_SEED_ANGLES:
                complex_seeds.append(jnp.concatenate([jnp.cos(th) * c_s, jnp.sin(th) * c_d]))
        for r0 in complex_seeds:
            r, steps = run_c(r0)
            total_steps = total_steps + steps
            cands.append(_candidate_complex(r, p, g))
        if init is not None and init_complex is not None:
            # a complex warm start is followed as such; a real one needs no complex run
            # (the relaxation below still catches an instability towards s+id)
            def run_init(r0):
                r, steps = run_c(r0)
                return _candidate_complex(r, p, g), steps

            def skip(r0):
                return (jnp.asarray(jnp.inf), r0, jnp.asarray(jnp.inf)), jnp.zeros_like(total_steps)

            cand, steps = jax.lax.cond(jnp.max(jnp.abs(init_complex[6:])) > 0, run_init, skip, init_complex)
            total_steps = total_steps + steps
            cands.append(cand)
    # a channel that did not converge but reached a lower free energy than the returned
    # state means the returned state may not be the ground state: non-convergence
    gap_resolution = max(1e-12, 100.0 * tol)
    best = _pick(cands[n_real:], tol, best=_pick(cands[:n_real], tol), margin=True)
    failed = jnp.min(jnp.stack([jnp.where(c[2] <= tol, jnp.inf, c[0]) for c in cands]))

    def finish(best):
        f, r, res = best
        r = canonical_gauge(r)
        scale = jnp.max(jnp.abs(r))
        # a gap the solve cannot tell from zero (below ~100 x its tolerance, 1e-9 eV = 1e-6 meV
        # by default) is the normal state; if the normal state is unstable there, the solve is
        # reported as unresolved below, never as a converged superconductor
        normal = ~(f < 0.0) | ~(scale > gap_resolution)
        r = jnp.where(normal, 0.0, r)
        f = jnp.where(normal, 0.0, f)
        res = jnp.where(normal, 0.0, res)  # Delta = 0 solves (14) exactly: its residual is 0, no pass needed
        return (f, r, res), normal, stability(r, p, g)

    best, normal, stab = finish(best)
    if search_complex:
        # a saddle is never returned as a minimum: follow its unstable direction
        # (e.g. relax s+- along i d) and keep the lower state
        def relax(args):
            best, normal, stab = args
            step = _RELAX_STEP * jnp.max(jnp.abs(best[1])) * stab.softest
            r, steps = run_c(best[1] + step)
            new = _candidate_complex(r, p, g)
            b = _better(new, best, tol, margin=True) & (new[0] < best[0])
            picked = jax.tree_util.tree_map(lambda x, y: jnp.where(b, x, y), new, best)
            out = finish(picked)
            return out, steps

        def keep(args):
            return args, jnp.zeros_like(total_steps)

        (best, normal, stab), extra = jax.lax.cond(stab.unstable & ~normal, relax, keep, (best, normal, stab))
        total_steps = total_steps + extra
    f, r, res = best
    # (lower by more than rounding, the margin of _better: an unconverged run that ends
    # on the returned state itself differs from it only in the last bits)
    unresolved = failed < f - (1e-10 * jnp.abs(f) + 1e-15)
    # the normal state is only an answer where it is stable (linearised kernel < 1)
    lam_max = jnp.maximum(lam_s if channel != "d" else 0.0, lam_d if channel != "s" else 0.0)
    # (a NaN eigenvalue cannot confirm stability: unresolved, too)
    unresolved = unresolved | (normal & ~(lam_max <= 1.0))
    if channel == "auto":
        # in the branch search a saddle is not an answer
        unresolved = unresolved | (~normal & stab.unstable)
    ok = (res <= tol) & ~unresolved & (g.dropped == 0)
    code = classify(ok, res, unresolved=unresolved & (res <= tol))
    code = jnp.where(g.dropped > 0, int(RESULTS.model_solve_failed), code)
    text, k_points = describe_reduction(n, zone, shell_points, warm_start=init is not None)
    return build_solution(
        p,
        n,
        r,
        reduction=text,
        k_points=k_points,
        free_energy=f,
        method=method,
        lambdas=(lam_s, lam_d),
        iterations=total_steps,
        residual=res,
        converged=ok,
        result=code,
        stab=stab,
        normal_stable=normal & (lam_max <= 1.0),
    )


_solve_jit = eqx.filter_jit(solve_jax)


def solution_treedef(params, n, method, zone="wedge", shell_points=None):
    """The pytree structure of :func:`solve_jax`'s solution, built without tracing the solve
    (what a stored :mod:`jax.export` program's output is unflattened into)."""
    from ..runtime import structure_of
    from .solution import TriplonSolution

    reduction, k_points = describe_reduction(n, zone, shell_points)
    return structure_of(TriplonSolution, params=params, grid=n, method=method, reduction=reduction, k_points=k_points)


def _run(params, n, method, kw):
    """The compiled solve; a cold start of the CLI runs a stored :mod:`jax.export` program
    (:func:`jaxnickel.runtime.enable_exported_programs`: no tracing of the branch search on a rerun)."""
    from .. import runtime

    if kw["init"] is not None or runtime._EXPORTS["dir"] is None:
        return _solve_jit(params, n, method, **kw)
    static = {k: v for k, v in kw.items() if k != "init"}
    return runtime.exported_call(
        "triplon-solve",
        lambda p: solve_jax(p, n, method, **static),
        (params,),
        solution_treedef(params, n, method, kw["zone"], kw["shell_points"]),
        dict(static, grid=n, method=method),
    )


_LADDER_PROGRESS = {"update": None}


def _ladder_step_done(T):
    if _LADDER_PROGRESS["update"] is not None:
        _LADDER_PROGRESS["update"](T)


def _ladder(
    p: TriplonParams,
    grid: int,
    temperatures,
    method: str,
    channel: str,
    tol: float,
    progress: bool = False,
    shell_points: int | None = None,
):
    kw = {"channel": channel, "tol": tol, "shell_points": shell_points}

    def step(carry, T):
        sol = solve_jax(p.replace(T=T), grid, method, init=carry, **kw)
        if progress:  # host callback: advances the bar without leaving the compiled scan
            jax.debug.callback(_ladder_step_done, T)
        return sol.complex_coefficients, sol

    first = solve_jax(p.replace(T=temperatures[0]), grid, method, **kw)
    _, sols = jax.lax.scan(step, first.complex_coefficients, temperatures)
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
    progress: bool = False,
    throw: bool = False,
) -> TriplonSolution:
    """``Delta(T)`` along a temperature ladder (eV), one compiled ``lax.scan`` with warm starts.

    Each temperature starts from the previous solution (the first one from the
    seeds), so the ladder follows one branch; where that solution is the normal
    state the next temperature is seeded afresh.  Returns a batched
    :class:`~jaxnickel.triplon.solution.TriplonSolution` (leading axis = temperature);
    check ``channel`` along the ladder to see a change of branch.  ``progress``: a tqdm
    bar on stderr, one step per temperature (:mod:`jaxnickel.progress`).  Each
    temperature carries its ``result``; ``throw=True`` raises
    :class:`jaxnickel.SolveError` if any of them is not successful.
    """
    require_x64()
    validate_params(params, grid)
    require_float64_params(params, "params (TriplonParams)")
    T = jnp.asarray(temperatures, dtype=jnp.result_type(float))
    if T.ndim != 1 or T.size < 1:
        raise ValueError("temperatures must be a non-empty 1-D sequence (eV)")
    if not bool(jnp.all(jnp.isfinite(T))) or bool(jnp.any(T < 0)):
        raise ValueError("temperatures must be finite and >= 0 (eV)")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    from ..progress import bar, callback_updater, compiling

    compiling(("ladder", grid, method, channel, T.shape), f"the temperature ladder ({T.size} steps)", enabled=progress)
    with bar(T.size, "Delta(T) ladder", enabled=progress, unit="T") as pbar:
        _LADDER_PROGRESS["update"] = callback_updater(pbar, postfix="T={:.4g} eV") if progress else None
        try:
            # the shell does not depend on T: one static size serves the whole ladder
            shell_points = shell_size(params, grid)
            out = jax.block_until_ready(_ladder_jit(params, grid, T, method, channel, tol, progress, shell_points))
        finally:
            _LADDER_PROGRESS["update"] = None
    codes = np.asarray(out.result)
    if throw and np.any(codes != 0):
        from ..results import RESULTS, SolveError

        i = int(np.flatnonzero(codes != 0)[0])
        raise SolveError(
            f"Delta(T) ladder: {int(np.sum(codes != 0))} of {codes.size} temperatures failed; the first at "
            f"T = {float(T[i]):.6g} eV: {RESULTS(int(codes[i])).name}",
            RESULTS(int(codes[i])),
        )
    return out


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
    complex_search: bool = True,
    throw: bool = False,
    check_resources: bool = True,
    zone: str = "wedge",
    shell: bool = True,
) -> TriplonSolution:
    """Mean-field state of the two-band model on an ``grid x grid`` k-mesh.

    ``method``: ``"gradient"`` (optax minimisation of the free energy) or
    ``"fixed-point"`` (Newton iteration of Eq. 14); ``channel``: ``"auto"`` (both
    symmetry channels, lowest free energy wins), ``"s"`` (s+-) or ``"d"``; ``init``:
    a previous solution or 6 gap coefficients (warm start, e.g. along a temperature
    ladder); ``tol``: bound on ``max |Delta - RHS(14)|`` in eV.

    Branch search (``channel="auto"``): the real s+- and d branches, the complex
    ``s+- + i d`` seed built from them, and, when the lowest state is a saddle of the
    free energy (a negative Hessian eigenvalue, :mod:`~jaxnickel.triplon.stability`),
    a relaxation along its unstable direction; every converged branch is ranked by
    free energy and the returned state must be a local minimum, else ``converged``
    is False.  ``complex_search=False`` keeps only the real branches (today's real
    search, e.g. to compare).  With ``channel="s"`` or ``"d"`` the solution of that
    channel is returned as it is; ``stable`` says whether it is a minimum.

    ``result`` (:class:`jaxnickel.RESULTS`): ``successful``, ``max_steps_reached``,
    ``nonfinite`` or ``unresolved_branch``; a failed solve warns
    (:class:`ConvergenceWarning`, ``warn=False`` silences it) or, with ``throw=True``,
    raises :class:`jaxnickel.SolveError`.  ``check_resources``: refuse, before
    allocating anything, a grid whose solve needs more memory than is available
    (:mod:`jaxnickel.resources`).

    Work reduction (exact, :mod:`~jaxnickel.triplon.kpoints`): every sum runs over the
    C4v wedge and its mirror (``zone="wedge"``, ~4x fewer points; ``"full"``: all of
    them) and, with the sharp cutoff, over the pairing shell only (``shell=True``);
    ``solution.reduction`` and ``solution.k_points`` say what was summed.
    """
    require_x64()
    validate_params(params, grid)
    require_float64_params(params, "params (TriplonParams)")
    if check_resources:
        from ..resources import check_memory

        check_memory("triplon", method, grid * grid, flag=f"grid={grid}", largest="k-grid")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    if not (isinstance(tol, float | int) and 0 < tol < 1e-3):
        raise ValueError(f"tol must be a number in (0, 1e-3) eV, got {tol!r}")
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    if zone not in ZONES:
        raise ValueError(f"zone must be one of {', '.join(ZONES)}, got {zone!r}")
    kw = dict(
        channel=channel,
        init=init,
        tol=float(tol),
        max_steps=max_steps,
        complex_search=complex_search,
        zone=zone,
        shell_points=shell_size(params, grid, zone) if shell else None,
    )
    sol = _run(params, grid, method, kw)
    raise_or_warn(
        sol.result,
        f"triplon {method} solve did not converge",
        f"residual {float(sol.residual):.3e} eV after {int(sol.iterations)} iterations",
        throw=throw,
        warn=warn,
        category=ConvergenceWarning,
    )
    return sol
