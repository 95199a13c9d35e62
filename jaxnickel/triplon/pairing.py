r"""Interband pairing of paper 001: free energy, gap equation (14), linearised kernel.

Interaction (Eq. 12, 13) with an explicit energy cutoff
-------------------------------------------------------
``H_BCS = (1/N) sum_kk' V_kk' (A^dag_k B_k' + h.c.)``, ``A^dag_k = alpha^dag_{k up} alpha^dag_{-k dn}``,
``B_k' = beta_{-k' dn} beta_{k' up}``, with the k' sum normalised by the number of
k-points N (so V is intensive and ``lambda = V sqrt(N_alpha N_beta)`` with the DOS per
spin per unit cell) and

    V_kk' = V w_alpha(k) w_beta(k') (1 - kappa_a eta_k eta_k')(1 - kappa_b eta_k eta_k').

The cutoff factor ``w_b(k) = w(xi_bk / Omega)`` (:func:`cutoff_weight`) is either

* ``"sharp"`` (default): ``w = Theta(Omega - |xi|)``, the textbook BCS shell of the
  paper's Eqs. (16)-(18) (``ln(2 Omega/Delta)``).  Not differentiable in Omega or the
  band parameters (the shell edge moves; on a grid the sum is piecewise constant), so
  fits with such a parameter free use the Lorentzian and say so
  (:func:`cutoff_for_fit`).
* ``"lorentzian"``: ``w(x) = (1 + x^2)^{-1/2}``.  Smooth, so the free energy is
  differentiable in every band parameter; its weak-coupling gap is *exactly* that of a
  sharp shell at Omega: ``int_0^inf [w(x)^2 - Theta(1-x)] dx/x = 0``, so
  ``Delta = 2 Omega exp(-1/lambda)`` and ``2 Delta / k_B T_c = 3.528`` as for the sharp
  shell; beyond weak coupling it differs (at lambda = 0.5, kappa = 0.75 it raises
  T_c(s+-) by 12 %, max |Delta_beta| by 50 %: docs/triplon_theory.md).

Separability.  ``V_kk' = V sum_ij u^alpha_i(k) C_ij u^beta_j(k')`` with the basis
``u^b(k) = w_b(k) (1, eta_k, eta_k^2)`` and ``C = diag(1, -(kappa_a + kappa_b),
kappa_a kappa_b)``.  Every k' sum is three moments: O(N), never an N x N kernel.  The
eta-linear part is the d-wave (B1g) channel; ``(1, eta^2)`` is the s+- (A1g) channel.

Free energy.  The Gibbs-Bogoliubov bound ``Omega_trial + <H - H_trial>_trial`` for a
BCS trial state with real gaps ``Delta_bk`` is, per unit cell and relative to the
normal state (:func:`condensation_free_energy`),

    f[Delta] = sum_b < |xi| - E - 2T [ln(1 + e^{-E/T}) - ln(1 + e^{-|xi|/T})] + 2 Delta chi >
               + 2 V sum_ij m^alpha_i C_ij m^beta_j,

``E_bk = sqrt(xi^2 + Delta^2)``, pair amplitude ``chi_bk = Delta_bk tanh(E_bk/2T) / (2 E_bk)``,
moments ``m^b_i = <u^b_i chi_b>``.  Its gradient is
``df/dDelta_alpha,k = (2/N) (d chi_alpha,k/d Delta) [Delta_alpha,k + V u^alpha(k) . C m^beta]``,
so its stationary points are exactly Eq. (14):
``Delta_alpha,k = -(1/N) sum_k' V_kk' Delta_beta,k' tanh(E/2T)/(2E)`` (and alpha <-> beta).
It is an upper bound of the mean-field free energy for every trial gap (hence: minimise
it); ``Delta = 0`` is always stationary, with ``f = 0``.  ``T = 0`` is handled exactly
(the thermal terms vanish, ``tanh -> 1``) without dividing by zero.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .bands import dispersion, form_factors
from .params import TriplonParams

__all__ = [
    "cutoff_weight",
    "cutoff_for_fit",
    "SHELL_MOVING_PARAMETERS",
    "TriplonGrid",
    "make_grid",
    "grid_from_bands",
    "zone_mean",
    "moments",
    "power_moments",
    "coupling_matrix",
    "pair_amplitude",
    "condensation_free_energy",
    "gap_map",
    "gaps_from_coefficients",
    "coefficient_map",
    "coefficient_map_jacobian",
    "pair_amplitude_derivative",
    "linearized_kernel",
    "channel_eigenvalues",
    "condensation_free_energy_complex",
    "free_energy_of_coefficients_complex",
    "free_energy_value_and_gradient",
    "condensation_free_energy_and_gap_gradient",
    "free_energy_value_and_gradient_complex",
    "gap_map_complex",
    "gaps_from_coefficients_complex",
    "coefficient_map_complex",
    "coefficient_map_complex_jacobian",
    "complex_moments_and_grams",
    "S_CHANNEL",
    "D_CHANNEL",
]

#: basis indices of the symmetry channels in (1, eta, eta^2)
S_CHANNEL = (0, 2)  # A1g, s+-
D_CHANNEL = (1,)  # B1g, d


#: fit parameters that move the edge of a sharp shell (derivatives need the smooth cutoff)
SHELL_MOVING_PARAMETERS = ("omega", "n_c", "mu", "t1", "t2", "t3", "eps_alpha", "eps_beta")


def cutoff_for_fit(cutoff: str, free) -> tuple[str, str | None]:
    """``(cutoff used, note)`` of a fit with free parameters ``free``.

    With the sharp shell the derivatives with respect to Omega and the band parameters
    would come only from the shell boundary (on a k-grid the free energy is piecewise
    constant in them: zero derivative), so a fit with any of
    :data:`SHELL_MOVING_PARAMETERS` free uses the smooth Lorentzian cutoff instead and
    returns a note saying so; otherwise the requested cutoff is kept (derivatives in
    lambda/V, kappa, T are exact with either).
    """
    moving = [n for n in free if n in SHELL_MOVING_PARAMETERS]
    if cutoff == "sharp" and moving:
        return "lorentzian", (
            f"free {', '.join(moving)} moves the edge of the sharp shell, where its derivatives are not "
            "defined on a k-grid: this fit uses the smooth Lorentzian cutoff (same weak-coupling gap; "
            "fix these parameters to fit with the sharp shell)"
        )
    return cutoff, None


def cutoff_weight(xi, omega, cutoff: str = "sharp"):
    """Cutoff factor ``w(xi/Omega)`` of the pairing interaction (see module docstring)."""
    if cutoff == "lorentzian":
        return jax.lax.rsqrt(1.0 + (xi / omega) ** 2)
    if cutoff == "sharp":
        return jnp.where(jnp.abs(xi) < omega, 1.0, 0.0)
    raise ValueError(f"cutoff must be 'lorentzian' or 'sharp', got {cutoff!r}")


class TriplonGrid(eqx.Module):
    """Band energies and pairing basis of both bands at a set of k points (flattened).

    Every zone sum is ``(1/n_cells) sum_k weight_k f(k)``: on the full ``n x n`` grid
    ``weight = 1`` and ``n_cells = n^2``; a reduced set (the C4v wedge, the pairing shell:
    :mod:`~jaxnickel.triplon.kpoints`) carries each point's multiplicity as its weight, and
    padding points have weight 0 and ``u = 0``.  ``dropped``: shell points that did not fit
    the set's static size (0 unless a caller gave too small a ``shell_points``).
    """

    xi_alpha: jax.Array
    xi_beta: jax.Array
    u_alpha: jax.Array  # (3, N): w_alpha (1, eta, eta^2)
    u_beta: jax.Array
    eta: jax.Array
    weight: jax.Array
    n_cells: jax.Array
    dropped: jax.Array
    powers: jax.Array  # (5, N): (weight / n_cells) eta^j, j = 0..4 (every zone sum: one matrix product)
    # (3,): the gap components (1, eta, eta^2) whose moments the set's sums give; all ones,
    # except on the C4v wedge alone, which holds one mirror parity (kpoints.wedge_alone)
    parity: jax.Array


def grid_from_bands(p: TriplonParams, xa, xb, eta, weight=None, n_cells=None, dropped=None) -> TriplonGrid:
    """:class:`TriplonGrid` from band energies ``xi_b`` and ``eta`` at the points of a set."""
    powers = jnp.stack([jnp.ones_like(eta), eta, eta**2])
    wa = cutoff_weight(xa, p.omega, p.cutoff)
    wb = cutoff_weight(xb, p.omega, p.cutoff)
    n = eta.shape[-1]
    weight = jnp.ones_like(eta) if weight is None else weight
    n_cells = jnp.asarray(float(n) if n_cells is None else n_cells, dtype=eta.dtype)
    e2 = eta * eta
    return TriplonGrid(
        xi_alpha=xa,
        xi_beta=xb,
        u_alpha=wa * powers,
        u_beta=wb * powers,
        eta=eta,
        weight=weight,
        n_cells=n_cells,
        dropped=jnp.asarray(0 if dropped is None else dropped, dtype=jnp.int32),
        powers=(weight / n_cells) * jnp.concatenate([powers, jnp.stack([e2 * eta, e2 * e2])]),
        parity=jnp.ones(3, dtype=eta.dtype),
    )


def make_grid(p: TriplonParams, kx, ky) -> TriplonGrid:
    """Evaluate Eq. (5) and the basis ``u^b(k)`` at momenta ``(kx, ky)`` (any shape, flattened, weight 1)."""
    kx = jnp.ravel(kx)
    ky = jnp.ravel(ky)
    xa, xb = dispersion(kx, ky, p.bands)
    eta = form_factors(kx, ky)[3]
    return grid_from_bands(p, xa, xb, eta)


def _combine(c, u):
    """``c . u`` per point (``c``: 3 coefficients, ``u``: ``(3, N)``) as pointwise work XLA fuses."""
    return c[0] * u[0] + c[1] * u[1] + c[2] * u[2]


def zone_mean(x, grid: TriplonGrid):
    """``(1/N) sum_k x_k`` over the zone the set ``grid`` stands for (its weights)."""
    return jnp.dot(x, grid.weight) / grid.n_cells


def moments(u, x, grid: TriplonGrid):
    """``(1/N) sum_k u_i(k) x_k`` over the zone (``u``: ``(3, n_points)``)."""
    wx = grid.weight * x
    return jnp.stack([jnp.sum(u[i] * wx) for i in range(u.shape[0])]) / grid.n_cells  # fused sums, no skinny dot


def power_moments(grid: TriplonGrid, *cols):
    """``P_jc = (1/N) sum_k eta_k^j x^c_k`` over the zone, ``j = 0..4``, for each per-point column ``x^c``.

    Every moment, Gram matrix and zone mean of this module is a sum of this form (``u^b =
    w_b (1, eta, eta^2)``: ``<u_i x> = P_i[w x]``, ``<u_i u_j x> = P_{i+j}[w^2 x]``), and all
    of one pass are one ``(5, N) @ (N, n_cols)`` product with the stored ``grid.powers``.
    On the CPU this is ~2x faster than sums fused with the pointwise work (XLA runs those
    reductions as scalar loops: 1.2 against 0.67 ms for a Newton pass at 115k points).
    """
    return grid.powers @ jnp.stack(cols, axis=1)


def _coupling(p: TriplonParams, grid: TriplonGrid):
    """:func:`coupling_matrix` restricted to the components whose moments ``grid`` gives
    (``grid.parity``; a channel on the wedge alone: the other parity's couplings are 0,
    as its moments are on the whole zone)."""
    return coupling_matrix(p) * grid.parity


def coupling_matrix(p: TriplonParams):
    """``V C`` with ``C = diag(1, -(kappa_a + kappa_b), kappa_a kappa_b)`` (Eq. 13 expanded)."""
    return p.V * jnp.diag(jnp.stack([jnp.ones_like(p.kappa_a), -(p.kappa_a + p.kappa_b), p.kappa_a * p.kappa_b]))


def _tanh_half(x):
    """``(expm1(-x), tanh(x/2))`` for ``x >= 0`` from one ``expm1`` (accurate for small ``x``)."""
    em = jnp.expm1(-x)
    return em, -em / (2.0 + em)


def _positive_T(T):
    """``(T > 0, T or 1)``: the predicate of the ``lax.cond`` between the T > 0 and T = 0 forms."""
    Tpos = T > 0
    return Tpos, jnp.where(Tpos, T, 1.0)


def _branch(T, zero_T, finite, zero, *args):
    """``finite(*args, Ts)`` (T > 0) or ``zero(*args, Ts)`` (T = 0), ``Ts = T or 1``.

    ``zero_T=None``: a ``lax.cond`` on ``T > 0`` here; ``True``/``False``: the branch is
    static, because the caller's :func:`_at_temperature` put one ``cond`` around its whole
    pass (a ``cond`` inside a pass splits it into separate loops that write their
    operands to memory).  Under ``vmap`` over T both forms run and one is selected.
    """
    Tpos, Ts = _positive_T(T)
    if zero_T is None:
        return jax.lax.cond(Tpos, finite, zero, *args, Ts)
    return (zero if zero_T else finite)(*args, Ts)


def _at_temperature(body, T, *args):
    """``body(*args, zero_T=T <= 0)`` with one ``lax.cond`` on ``T > 0`` around the whole pass.

    The T = 0 form skips every transcendental function; with the ``cond`` outside, each
    form is one fused pass over the points.
    """
    return jax.lax.cond(T > 0, functools.partial(body, zero_T=False), functools.partial(body, zero_T=True), *args)


def _kernel_g(E, T, zero_T=None):
    """``tanh(E/2T) / (2E)``, finite everywhere: ``1/(4T)`` at E = 0, ``1/(2E)`` at T = 0.

    The T = 0 form skips every transcendental function (:func:`_branch`).
    """

    def finite(E, Ts):
        Epos = E > 0
        Es = jnp.where(Epos, E, 1.0)
        t = _tanh_half(Es / Ts)[1]
        return jnp.where(Epos, t / (2.0 * Es), 1.0 / (4.0 * Ts))

    def zero(E, Ts):
        Epos = E > 0
        return jnp.where(Epos, 0.5 / jnp.where(Epos, E, 1.0), 0.0)

    return _branch(T, zero_T, finite, zero, E)


def _kernel_g_where(E, T):
    """:func:`_kernel_g` without the ``lax.cond`` (both forms evaluated, one selected).

    Used where the kernel sits under autodiff of higher order (the complex branches and
    the stability Hessian): a ``cond`` there is compiled once per derivative, and the
    programs grow more than the saved transcendental functions pay back.
    """
    Tpos, Ts = _positive_T(T)
    Epos = E > 0
    Es = jnp.where(Epos, E, 1.0)
    finite_T = jnp.where(Epos, _tanh_half(Es / Ts)[1] / (2.0 * Es), 1.0 / (4.0 * Ts))
    zero_T = jnp.where(Epos, 0.5 / Es, 0.0)
    return jnp.where(Tpos, finite_T, zero_T)


def _safe_norm(x, y):
    r2 = x * x + y * y
    pos = r2 > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, r2, 1.0)), 0.0)


def pair_amplitude(delta, xi, T, zero_T=None):
    """``(E_k, chi_k)``: quasiparticle energy and ``chi = Delta tanh(E/2T)/(2E)``."""
    E = _safe_norm(xi, delta)
    return E, delta * _kernel_g(E, T, zero_T)


def pair_amplitude_derivative(delta, xi, T, zero_T=None):
    """``(chi_k, d chi_k / d Delta_k)`` in closed form (one pass, no autodiff).

    ``d chi/d Delta = [xi^2 g + Delta^2 sech^2(E/2T)/(4T)] / E^2`` with ``g = tanh(E/2T)/(2E)``;
    ``xi^2 / (2 E^3)`` at T = 0; ``1/(4T)`` at E = 0 (0 at T = 0, as autodiff of the
    guarded :func:`_kernel_g` gives).
    """
    E = _safe_norm(xi, delta)
    Epos = E > 0
    Es = jnp.where(Epos, E, 1.0)

    def finite(delta, xi, Es, Ts):
        t = _tanh_half(Es / Ts)[1]
        g = t / (2.0 * Es)
        d = (xi * xi * g + delta * delta * (1.0 - t * t) / (4.0 * Ts)) / (Es * Es)
        return jnp.where(Epos, g, 1.0 / (4.0 * Ts)), jnp.where(Epos, d, 1.0 / (4.0 * Ts))

    def zero(delta, xi, Es, Ts):
        g = 0.5 / Es
        return jnp.where(Epos, g, 0.0), jnp.where(Epos, xi * xi * g / (Es * Es), 0.0)

    g, d = _branch(T, zero_T, finite, zero, delta, xi, Es)
    return delta * g, d


def _thermal_and_g(E, axi, T, zero_T=None):
    """``(-2T [ln(1+e^{-E/T}) - ln(1+e^{-|xi|/T})], g(E))``; ``(0, 1/(2E))`` at T = 0."""
    Epos = E > 0
    Es = jnp.where(Epos, E, 1.0)

    def finite(Es, axi, Ts):
        em, t = _tanh_half(Es / Ts)
        em0 = _tanh_half(axi / Ts)[0]
        # ln(2 + em) - ln(2 + em0) without cancelling the two logarithms
        thermal = -2.0 * Ts * jnp.log1p((jnp.where(Epos, em, 0.0) - em0) / (2.0 + em0))
        return thermal, jnp.where(Epos, t / (2.0 * Es), 1.0 / (4.0 * Ts))

    def zero(Es, axi, Ts):
        return jnp.zeros_like(Es), jnp.where(Epos, 0.5 / Es, 0.0)

    return _branch(T, zero_T, finite, zero, Es, axi)


def _band_terms(delta, xi, T, zero_T=None):
    """Per-k single-band part of the condensation free energy and the pair amplitude."""
    E = _safe_norm(xi, delta)
    axi = jnp.abs(xi)
    s = axi + E
    kinetic = jnp.where(s > 0, -(delta**2) / jnp.where(s > 0, s, 1.0), 0.0)  # |xi| - E, no cancellation
    thermal, g = _thermal_and_g(E, axi, T, zero_T)
    chi = delta * g
    return kinetic + thermal + 2.0 * delta * chi, chi


def condensation_free_energy(delta_alpha, delta_beta, p: TriplonParams, grid: TriplonGrid):
    """``f[Delta] - f[0]`` per unit cell (eV), the Gibbs-Bogoliubov functional (module docstring)."""
    return _at_temperature(_condensation_free_energy, p.T, delta_alpha, delta_beta, p, grid)


def _free_energy_sums(delta_alpha, delta_beta, p, grid, zero_T):
    """Power sums of one pass: ``P[:, 0]`` of the single-band terms, ``P[:, 1]``/``P[:, 2]`` of ``w chi``."""
    fa, chi_a = _band_terms(delta_alpha, grid.xi_alpha, p.T, zero_T)
    fb, chi_b = _band_terms(delta_beta, grid.xi_beta, p.T, zero_T)
    return power_moments(grid, fa + fb, grid.u_alpha[0] * chi_a, grid.u_beta[0] * chi_b)


def _condensation_free_energy(delta_alpha, delta_beta, p, grid, zero_T):
    P = _free_energy_sums(delta_alpha, delta_beta, p, grid, zero_T)
    return P[0, 0] + 2.0 * P[:3, 1] @ _coupling(p, grid) @ P[:3, 2]


def free_energy_and_map(c, p: TriplonParams, grid: TriplonGrid):
    """``(f[Delta(c)] - f[0], M(c))`` from one pass: the free energy and :func:`coefficient_map`.

    The functional's pair amplitudes are the right-hand side of (14), so the map's
    moments come with the free energy (the residual of a candidate costs no second pass).
    """
    return _at_temperature(_free_energy_and_map, p.T, c, p, grid)


def _free_energy_and_map(c, p, grid, zero_T):
    P = _free_energy_sums(*gaps_from_coefficients(c, grid), p, grid, zero_T)
    VC = _coupling(p, grid)
    f = P[0, 0] + 2.0 * P[:3, 1] @ VC @ P[:3, 2]
    return f, jnp.concatenate([-VC @ P[:3, 2], -VC @ P[:3, 1]])


def gap_map(delta_alpha, delta_beta, p: TriplonParams, grid: TriplonGrid):
    """Right-hand side of Eq. (14) on the grid: ``(Delta_alpha_new, Delta_beta_new)``."""
    _, chi_a = pair_amplitude(delta_alpha, grid.xi_alpha, p.T)
    _, chi_b = pair_amplitude(delta_beta, grid.xi_beta, p.T)
    VC = _coupling(p, grid)
    P = power_moments(grid, grid.u_alpha[0] * chi_a, grid.u_beta[0] * chi_b)[:3]
    return _combine(-(VC @ P[:, 1]), grid.u_alpha), _combine(-(VC @ P[:, 0]), grid.u_beta)


def gaps_from_coefficients(c, grid: TriplonGrid):
    """``Delta_alpha = u^alpha . a``, ``Delta_beta = u^beta . b`` for ``c = (a, b)`` (6 numbers)."""
    return _combine(c[:3], grid.u_alpha), _combine(c[3:], grid.u_beta)


def coefficient_map(c, p: TriplonParams, grid: TriplonGrid):
    """Eq. (14) in the 6-dimensional space of gap coefficients: ``c -> c_new``.

    Every solution of (14) has the form ``Delta_b(k) = u^b(k) . c_b`` (the right-hand
    side lies in that span), so this map has the same fixed points as (14).
    """
    da, db = gaps_from_coefficients(c, grid)
    _, chi_a = pair_amplitude(da, grid.xi_alpha, p.T)
    _, chi_b = pair_amplitude(db, grid.xi_beta, p.T)
    return _coefficients_from_pair_amplitudes(chi_a, chi_b, p, grid)


def _coefficients_from_pair_amplitudes(chi_a, chi_b, p: TriplonParams, grid: TriplonGrid):
    """``(-VC m^beta, -VC m^alpha)``: the gap coefficients of the right-hand side of (14)."""
    VC = _coupling(p, grid)
    P = power_moments(grid, grid.u_alpha[0] * chi_a, grid.u_beta[0] * chi_b)[:3]
    return jnp.concatenate([-VC @ P[:, 1], -VC @ P[:, 0]])


def _hankel3(h):
    """``G_ij = h[i + j]`` (3 x 3) from five power sums."""
    return jnp.stack([h[0:3], h[1:4], h[2:5]])


def coefficient_map_jacobian(c, p: TriplonParams, grid: TriplonGrid):
    """``(M(c), dM/dc)`` of :func:`coefficient_map` in one pass over the points, analytically.

    ``M_alpha = -VC m^beta``, ``m^b = <u^b chi_b>``, so ``dM_alpha/dc_beta = -VC G^beta`` with the
    Gram matrix ``G^b_ij = <u^b_i u^b_j d chi_b/d Delta>`` (:func:`pair_amplitude_derivative`)
    and ``dM_alpha/dc_alpha = 0``: the value and all six Jacobian columns cost one pass
    (forward-mode autodiff costs one pass per column).
    """
    return _at_temperature(_coefficient_map_jacobian, p.T, c, p, grid)


def _coefficient_map_jacobian(c, p, grid, zero_T):
    VC = _coupling(p, grid)
    eta = grid.eta

    def band(cb, u, xi):
        # u = w (1, eta, eta^2): the 3 moments <w eta^i chi> and the 5 distinct Gram entries
        # <w^2 eta^(i+j) dchi> are power sums of two per-point numbers
        w = u[0]
        chi, dchi = pair_amplitude_derivative(w * (cb[0] + eta * (cb[1] + eta * cb[2])), xi, p.T, zero_T)
        return w * chi, w * w * dchi

    P = power_moments(grid, *band(c[:3], grid.u_alpha, grid.xi_alpha), *band(c[3:], grid.u_beta, grid.xi_beta))
    ma, Ga, mb, Gb = P[:3, 0], _hankel3(P[:, 1]), P[:3, 2], _hankel3(P[:, 3])
    z = jnp.zeros((3, 3), dtype=Ga.dtype)
    M = jnp.concatenate([-VC @ mb, -VC @ ma])
    J = jnp.block([[z, -VC @ Gb], [-VC @ Ga, z]])
    return M, J


def condensation_free_energy_and_gap_gradient(
    delta_alpha, delta_beta, p: TriplonParams, grid: TriplonGrid, *, with_rhs: bool = False
):
    """``(f, df/dDelta_alpha, df/dDelta_beta)``: :func:`condensation_free_energy` and its
    k-resolved gradient in closed form.

    ``df/dDelta_k = 2 (weight_k / n_cells) (dchi/dDelta)_k (Delta_k - RHS(14)_k)``: the
    single-band term has ``df_k/dDelta_k = 2 Delta_k dchi_k/dDelta_k`` and the coupling
    term's derivative is ``-2 (dchi/dDelta)_k`` times the right-hand side of (14).  Two
    fused passes (the moments, then the pointwise gradient); no autodiff intermediates.
    ``with_rhs=True`` (static) also returns the 6 coefficients of that right-hand side
    (``(-VC m^beta, -VC m^alpha)``, :func:`coefficient_map` of the pair amplitudes at these
    gaps), which the same moments give for free.
    """
    out = _at_temperature(_condensation_free_energy_and_gap_gradient, p.T, delta_alpha, delta_beta, p, grid)
    return out if with_rhs else out[:3]


def _condensation_free_energy_and_gap_gradient(delta_alpha, delta_beta, p, grid, zero_T):
    P = _free_energy_sums(delta_alpha, delta_beta, p, grid, zero_T)
    VC = _coupling(p, grid)
    f = P[0, 0] + 2.0 * P[:3, 1] @ VC @ P[:3, 2]
    rhs_a, rhs_b = -VC @ P[:3, 2], -VC @ P[:3, 1]

    def grad(d, xi, u, rhs):
        dchi = pair_amplitude_derivative(d, xi, p.T, zero_T)[1]
        return 2.0 * grid.powers[0] * dchi * (d - _combine(rhs, u))

    return (
        f,
        grad(delta_alpha, grid.xi_alpha, grid.u_alpha, rhs_a),
        grad(delta_beta, grid.xi_beta, grid.u_beta, rhs_b),
        jnp.concatenate([rhs_a, rhs_b]),
    )


def free_energy_value_and_gradient(c, p: TriplonParams, grid: TriplonGrid):
    """``(f(c), df/dc)``: :func:`condensation_free_energy` at ``Delta_b = u^b . c_b`` and its gradient, one pass.

    The single-band term obeys ``df_k/dDelta_k = 2 Delta_k dchi_k/dDelta_k`` and the
    coupling ``2 m^alpha . VC m^beta`` has ``dm^b/dc_b = G^b`` (the Gram matrix of
    :func:`coefficient_map_jacobian`), so ``df/dc_b = 2 G^b (c_b - M_b(c))`` with
    ``M(c)`` the right-hand side of (14): zero exactly at its solutions.  Value, moments
    and Grams are the power sums of one pass; reverse-mode autodiff of the functional
    costs 5-20x more at 10^5 points (it stores and re-reads ~40 per-point intermediates).
    On a set of one mirror parity (``grid.parity``, :func:`~jaxnickel.triplon.kpoints.wedge_alone`)
    the gradient has that parity's components only.
    """
    return _at_temperature(_free_energy_value_and_gradient, p.T, c, p, grid)


def _free_energy_value_and_gradient(c, p, grid, zero_T):
    VC = _coupling(p, grid)

    def band(cb, u, xi):
        w = u[0]
        d = _combine(cb, u)
        f, chi = _band_terms(d, xi, p.T, zero_T)
        dchi = pair_amplitude_derivative(d, xi, p.T, zero_T)[1]
        return f, w * chi, w * w * dchi

    fa, xa, ga = band(c[:3], grid.u_alpha, grid.xi_alpha)
    fb, xb, gb = band(c[3:], grid.u_beta, grid.xi_beta)
    P = power_moments(grid, fa + fb, xa, ga, xb, gb)
    ma, Ga, mb, Gb = P[:3, 1], _hankel3(P[:, 2]), P[:3, 3], _hankel3(P[:, 4])
    f = P[0, 0] + 2.0 * ma @ VC @ mb
    grad = 2.0 * jnp.concatenate([Ga @ (c[:3] + VC @ mb), Gb @ (c[3:] + VC @ ma)])
    # on the wedge alone (one mirror parity) the set gives f in that parity's coefficients only
    return f, grad * jnp.tile(grid.parity, 2)


def linearized_kernel(T, p: TriplonParams, grid: TriplonGrid):
    """The 6 x 6 kernel ``K(T)`` of Eq. (14) linearised in Delta (``Delta -> 0``).

    ``K = [[0, -VC M^beta], [-VC M^alpha, 0]]`` with ``M^b_ij = <u_i u_j tanh(xi/2T)/(2 xi)>``.
    A superconducting instability is an eigenvalue ``+1`` of K.
    """
    wa, wb = grid.u_alpha[0], grid.u_beta[0]  # u = w (1, eta, eta^2): M_ij = <w^2 eta^(i+j) g>
    P = power_moments(
        grid, wa * wa * _kernel_g(jnp.abs(grid.xi_alpha), T), wb * wb * _kernel_g(jnp.abs(grid.xi_beta), T)
    )
    Ma, Mb = _hankel3(P[:, 0]), _hankel3(P[:, 1])
    VC = _coupling(p, grid)
    z = jnp.zeros((3, 3))
    return jnp.block([[z, -VC @ Mb], [-VC @ Ma, z]])


def _top_eig_2x2(P):
    """Largest eigenvalue and its eigenvector of a real 2 x 2 matrix with real spectrum.

    Closed form (``jnp.linalg.eig`` has no GPU implementation in JAX).
    """
    p, q, r, s = P[0, 0], P[0, 1], P[1, 0], P[1, 1]
    tr = p + s
    disc = jnp.sqrt(jnp.maximum((p - s) ** 2 + 4.0 * q * r, 0.0))
    lam = 0.5 * (tr + disc)
    v1 = jnp.stack([q, lam - p])
    v2 = jnp.stack([lam - s, r])
    n1 = jnp.linalg.norm(v1)
    n2 = jnp.linalg.norm(v2)
    v = jnp.where(n1 >= n2, v1 / jnp.where(n1 > 0, n1, 1.0), v2 / jnp.where(n2 > 0, n2, 1.0))
    v = jnp.where((n1 == 0) & (n2 == 0), jnp.array([1.0, 0.0]), v)
    return lam, v


def channel_eigenvalues(T, p: TriplonParams, grid: TriplonGrid):
    """Leading positive eigenvalue of the linearised kernel in each channel.

    With ``K = [[0, A], [B, 0]]`` the eigenvalues are ``+- sqrt(eig(A B))``; the
    channels decouple by symmetry (eta is odd under kx <-> ky, 1 and eta^2 are even):
    s+- (A1g) lives on ``(1, eta^2)``, d (B1g) on ``eta``.  Returns
    ``(lambda_s, lambda_d, v_s, v_d)`` with the leading eigenvectors as 6-vectors
    ``(a, b)`` of gap coefficients, normalised, sign fixed by ``a_0 > 0`` (s) and
    ``a_1 > 0`` (d).
    """
    K = linearized_kernel(T, p, grid)
    A = K[:3, 3:]
    B = K[3:, :3]
    si = jnp.asarray(S_CHANNEL)
    As = A[jnp.ix_(si, si)]
    Bs = B[jnp.ix_(si, si)]
    mu_s, a_s = _top_eig_2x2(As @ Bs)
    lam_s = jnp.sqrt(jnp.maximum(mu_s, 0.0))
    b_s = Bs @ a_s / jnp.where(lam_s > 0, lam_s, 1.0)
    v_s = jnp.zeros(6).at[si].set(a_s).at[si + 3].set(b_s)
    lam_d = jnp.sqrt(jnp.maximum(A[1, 1] * B[1, 1], 0.0))
    v_d = jnp.zeros(6).at[1].set(1.0).at[4].set(B[1, 1] / jnp.where(lam_d > 0, lam_d, 1.0))
    v_s = v_s / jnp.linalg.norm(v_s)
    v_d = v_d / jnp.linalg.norm(v_d)
    v_s = v_s * jnp.where(v_s[0] < 0, -1.0, 1.0)
    return lam_s, lam_d, v_s, v_d


# ---------------------------------------------------------------------------------------
# Complex gaps (time-reversal-breaking states such as s+- + i d)
# ---------------------------------------------------------------------------------------
#
# With complex trial gaps ``Delta_bk = Delta'_bk + i Delta''_bk`` the functional keeps
# its form with ``|Delta|``: ``E = sqrt(xi^2 + |Delta|^2)``, ``chi = Delta tanh(E/2T)/(2E)``
# (complex), the single-band part depends on ``|Delta|`` only, and the interaction is
# ``<H_int> = 2 V Re(m^alpha^dag C m^beta)`` with complex moments ``m^b = <u^b chi_b>``
# (u and C are real).  Its stationary points are Eq. (14) with complex gaps; it is
# invariant under one global phase ``Delta_b -> e^{i phi} Delta_b`` (both bands) and
# under complex conjugation (time reversal).  Everything is written with real and
# imaginary parts as separate real arrays (no complex dtype: safe gradients at
# ``Delta = 0``, same kernels on every backend); a state is given by 12 real gap
# coefficients ``r = (Re c, Im c)``, ``c = (c_alpha, c_beta)``.


def _safe_norm3(x, y, z):
    r2 = x * x + y * y + z * z
    pos = r2 > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, r2, 1.0)), 0.0)


def _band_terms_complex(dr, di, xi, T, zero_T=None):
    """Complex-gap version of :func:`_band_terms`: ``(f_k, Re chi_k, Im chi_k)``."""
    E = _safe_norm3(xi, dr, di)
    a2 = dr * dr + di * di
    axi = jnp.abs(xi)
    s = axi + E
    kinetic = jnp.where(s > 0, -a2 / jnp.where(s > 0, s, 1.0), 0.0)
    thermal, g = _thermal_and_g(E, axi, T, zero_T)
    return kinetic + thermal + 2.0 * a2 * g, dr * g, di * g


def condensation_free_energy_complex(dar, dai, dbr, dbi, p: TriplonParams, grid: TriplonGrid):
    """``f[Delta] - f[0]`` per unit cell (eV) for complex gaps ``Delta_b = dbr + i dbi``.

    Equals :func:`condensation_free_energy` when the imaginary parts vanish.  One
    ``lax.cond`` on ``T > 0`` around the pass (:func:`_at_temperature`): the T = 0 form
    computes no transcendental function, in the value and in its derivatives.
    """
    return _at_temperature(_condensation_free_energy_complex, p.T, dar, dai, dbr, dbi, p, grid)


def _condensation_free_energy_complex(dar, dai, dbr, dbi, p, grid, zero_T):
    fa, ar, ai = _band_terms_complex(dar, dai, grid.xi_alpha, p.T, zero_T)
    fb, br, bi = _band_terms_complex(dbr, dbi, grid.xi_beta, p.T, zero_T)
    VC = _coupling(p, grid)
    wa, wb = grid.u_alpha[0], grid.u_beta[0]
    P = power_moments(grid, fa + fb, wa * ar, wa * ai, wb * br, wb * bi)
    return P[0, 0] + 2.0 * (P[:3, 1] @ VC @ P[:3, 3] + P[:3, 2] @ VC @ P[:3, 4])


def gaps_from_coefficients_complex(r, grid: TriplonGrid):
    """``(Re Delta_alpha, Im Delta_alpha, Re Delta_beta, Im Delta_beta)`` on the grid from ``r`` (12 reals)."""
    u_a, u_b = grid.u_alpha, grid.u_beta
    return _combine(r[0:3], u_a), _combine(r[6:9], u_a), _combine(r[3:6], u_b), _combine(r[9:12], u_b)


def free_energy_of_coefficients_complex(r, p: TriplonParams, grid: TriplonGrid):
    """Condensation free energy (eV per cell) of the state with gap coefficients ``r = (Re c, Im c)``."""
    return condensation_free_energy_complex(*gaps_from_coefficients_complex(r, grid), p, grid)


def gap_map_complex(dar, dai, dbr, dbi, p: TriplonParams, grid: TriplonGrid):
    """Right-hand side of Eq. (14) for complex gaps: ``(Re, Im)`` of both new gaps on the grid."""
    Ea = _safe_norm3(grid.xi_alpha, dar, dai)
    Eb = _safe_norm3(grid.xi_beta, dbr, dbi)
    ga, gb = _kernel_g_where(Ea, p.T), _kernel_g_where(Eb, p.T)
    VC = _coupling(p, grid)
    wa, wb = grid.u_alpha[0], grid.u_beta[0]
    P = -VC @ power_moments(grid, wb * dbr * gb, wb * dbi * gb, wa * dar * ga, wa * dai * ga)[:3]
    ua, ub = grid.u_alpha, grid.u_beta
    return _combine(P[:, 0], ua), _combine(P[:, 1], ua), _combine(P[:, 2], ub), _combine(P[:, 3], ub)


def coefficient_map_complex(r, p: TriplonParams, grid: TriplonGrid):
    """Eq. (14) on the 12 real coefficients ``(Re c, Im c)``: ``r -> r_new`` (cf. :func:`coefficient_map`)."""
    dar, dai, dbr, dbi = gaps_from_coefficients_complex(r, grid)
    ga = _kernel_g_where(_safe_norm3(grid.xi_alpha, dar, dai), p.T) * grid.u_alpha[0]
    gb = _kernel_g_where(_safe_norm3(grid.xi_beta, dbr, dbi), p.T) * grid.u_beta[0]
    VC = _coupling(p, grid)
    P = -VC @ power_moments(grid, dar * ga, dai * ga, dbr * gb, dbi * gb)[:3]  # (3, 4)
    return jnp.concatenate([P[:, 2], P[:, 0], P[:, 3], P[:, 1]])


def _g_and_h(E, T, zero_T=None):
    """``(g, h)`` with ``g = tanh(E/2T)/(2E)`` and ``h = g'(E)/E`` (for the complex Jacobian).

    ``h = [sech^2(E/2T)/(4T) - g]/E^2``, ``-1/(2E^3)`` at T = 0; below ``E = 10^-2 T`` its
    series ``-(1/16T^3)(2/3 - 8y^2/15 + 34y^4/105)``, ``y = E/2T`` (the difference cancels
    there).  Only Newton's Jacobian uses ``h``: its accuracy sets the convergence rate,
    never the solution.  ``zero_T``: as in :func:`_branch` (``None``: both forms, one selected).
    """
    Tpos, Ts = _positive_T(T)
    Epos = E > 0
    Es = jnp.where(Epos, E, 1.0)

    def finite():
        x = Es / Ts
        t = _tanh_half(x)[1]
        g_T = jnp.where(Epos, t / (2.0 * Es), 1.0 / (4.0 * Ts))
        y2 = 0.25 * jnp.where(Epos, x * x, 0.0)
        series = -(2.0 / 3.0 - 8.0 * y2 / 15.0 + 34.0 * y2 * y2 / 105.0) / (16.0 * Ts**3)
        direct = ((1.0 - t * t) / (4.0 * Ts) - g_T) / (Es * Es)
        return g_T, jnp.where(jnp.where(Epos, x, 0.0) < 1e-2, series, direct)

    def zero():
        return jnp.where(Epos, 0.5 / Es, 0.0), jnp.where(Epos, -0.5 / (Es * Es * Es), 0.0)

    if zero_T is None:
        (g_T, h_T), (g_0, h_0) = finite(), zero()
        return jnp.where(Tpos, g_T, g_0), jnp.where(Tpos, h_T, h_0)
    return zero() if zero_T else finite()


def coefficient_map_complex_jacobian(r, p: TriplonParams, grid: TriplonGrid):
    """``(M(r), dM/dr)`` of :func:`coefficient_map_complex` in one pass, analytically.

    ``chi_s = Delta_s g(E)`` (s = Re, Im), so ``d chi_s/d Delta_t = g delta_st + Delta_s Delta_t h``
    (:func:`_g_and_h`), and each band's block is three Gram matrices
    ``<u_i u_j d chi_s/d Delta_t>`` (rr, ri, ii); the map couples the bands only.
    """
    VC = _coupling(p, grid)
    ma, Da, mb, Db = complex_moments_and_grams(r, p, grid)
    a_new = -mb @ VC
    b_new = -ma @ VC
    M = jnp.concatenate([a_new[0], b_new[0], a_new[1], b_new[1]])
    # ordering of r and M: (Re a, Re b, Im a, Im b); D blocks are (Re, Im) of one band
    VC2 = jnp.kron(jnp.eye(2), VC)  # acts on (Re, Im) x 3 of the new coefficients
    J = jnp.zeros((12, 12), dtype=Da.dtype)
    J = J.at[jnp.ix_(BAND_INDICES[0], BAND_INDICES[1])].set(-VC2 @ Db)
    J = J.at[jnp.ix_(BAND_INDICES[1], BAND_INDICES[0])].set(-VC2 @ Da)
    return M, J


def free_energy_value_and_gradient_complex(r, p: TriplonParams, grid: TriplonGrid):
    """``(f(r), df/dr)`` of :func:`free_energy_of_coefficients_complex` from one pass, closed form.

    As for the real gaps (:func:`free_energy_value_and_gradient`): ``grad_Delta f_k = 2
    (dchi/dDelta)_k Delta_k`` with the 2 x 2 derivative ``g 1 + h Delta Delta^T``, so the
    gradient in one band's ``(Re c_b, Im c_b)`` is ``2 D_b (c_b - M_b(r))`` with the 6 x 6
    Gram matrix ``D_b`` of :func:`complex_moments_and_grams` and ``M`` the right-hand side
    of (14) (:func:`coefficient_map_complex`).
    """
    return _at_temperature(_free_energy_value_and_gradient_complex, p.T, r, p, grid)


def _free_energy_value_and_gradient_complex(r, p, grid, zero_T):
    def band(cr, ci, u, xi):
        dr, di = _combine(cr, u), _combine(ci, u)
        f, xr, xi_ = _band_terms_complex(dr, di, xi, p.T, zero_T)
        g, h = _g_and_h(_safe_norm3(xi, dr, di), p.T, zero_T)
        w = u[0]
        w2 = w * w
        return f, w * xr, w * xi_, w2 * (g + dr * dr * h), w2 * (dr * di * h), w2 * (g + di * di * h)

    fa, *cols_a = band(r[0:3], r[6:9], grid.u_alpha, grid.xi_alpha)
    fb, *cols_b = band(r[3:6], r[9:12], grid.u_beta, grid.xi_beta)
    P = power_moments(grid, fa + fb, *cols_a, *cols_b)
    VC = _coupling(p, grid)

    def unpack(Q):
        m = jnp.stack([Q[:3, 0], Q[:3, 1]])  # (Re, Im) x 3
        G_rr, G_ri, G_ii = _hankel3(Q[:, 2]), _hankel3(Q[:, 3]), _hankel3(Q[:, 4])
        return m, jnp.block([[G_rr, G_ri], [G_ri, G_ii]])

    ma, Da = unpack(P[:, 1:6])
    mb, Db = unpack(P[:, 6:11])
    f = P[0, 0] + 2.0 * (ma[0] @ VC @ mb[0] + ma[1] @ VC @ mb[1])
    ia, ib = BAND_INDICES
    # c_b - M_b with M_alpha = -VC m_beta (Re, Im stacked as in D_b)
    grad_a = 2.0 * Da @ (r[ia] + (mb @ VC).reshape(-1))
    grad_b = 2.0 * Db @ (r[ib] + (ma @ VC).reshape(-1))
    return f, jnp.zeros(12, dtype=grad_a.dtype).at[ia].set(grad_a).at[ib].set(grad_b)


#: positions of one band's ``(Re c, Im c)`` in the 12 coefficients ``r = (Re c_a, Re c_b, Im c_a, Im c_b)``
BAND_INDICES = (np.array([0, 1, 2, 6, 7, 8]), np.array([3, 4, 5, 9, 10, 11]))  # NumPy: no JAX work at import


def complex_moments_and_grams(r, p: TriplonParams, grid: TriplonGrid):
    """``(m_alpha, D_alpha, m_beta, D_beta)`` at the 12 coefficients ``r``, one pass.

    ``m_b``: complex moments ``<u chi_b>`` as ``(Re, Im) x 3``; ``D_b = d m_b / d (Re c_b, Im c_b)``,
    the 6 x 6 Gram matrix ``<u_i u_j d chi_s / d Delta_t>`` (s, t = Re, Im).
    """
    return _at_temperature(_complex_moments_and_grams, p.T, r, p, grid)


def _complex_moments_and_grams(r, p, grid, zero_T):

    def band(cr, ci, u, xi):
        dr, di = _combine(cr, u), _combine(ci, u)
        E = _safe_norm3(xi, dr, di)
        g, h = _g_and_h(E, p.T, zero_T)
        w = u[0]  # u = w (1, eta, eta^2): moments and Grams are power sums in eta
        w2 = w * w
        return w * dr * g, w * di * g, w2 * (g + dr * dr * h), w2 * (dr * di * h), w2 * (g + di * di * h)

    P = power_moments(
        grid, *band(r[0:3], r[6:9], grid.u_alpha, grid.xi_alpha), *band(r[3:6], r[9:12], grid.u_beta, grid.xi_beta)
    )

    def unpack(Q):
        m = jnp.stack([Q[:3, 0], Q[:3, 1]])
        G_rr, G_ri, G_ii = _hankel3(Q[:, 2]), _hankel3(Q[:, 3]), _hankel3(Q[:, 4])
        return m, jnp.block([[G_rr, G_ri], [G_ri, G_ii]])  # d m / d (c_r, c_i): (2*3) x (2*3)

    ma, Da = unpack(P[:, :5])
    mb, Db = unpack(P[:, 5:])
    return ma, Da, mb, Db
