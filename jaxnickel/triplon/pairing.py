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

import equinox as eqx
import jax
import jax.numpy as jnp

from .bands import dispersion, form_factors
from .params import TriplonParams

__all__ = [
    "cutoff_weight",
    "cutoff_for_fit",
    "SHELL_MOVING_PARAMETERS",
    "TriplonGrid",
    "make_grid",
    "coupling_matrix",
    "pair_amplitude",
    "condensation_free_energy",
    "gap_map",
    "gaps_from_coefficients",
    "coefficient_map",
    "linearized_kernel",
    "channel_eigenvalues",
    "condensation_free_energy_complex",
    "free_energy_of_coefficients_complex",
    "gap_map_complex",
    "gaps_from_coefficients_complex",
    "coefficient_map_complex",
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
    """Band energies and pairing basis of both bands on an ``n x n`` k-grid (flattened)."""

    xi_alpha: jax.Array
    xi_beta: jax.Array
    u_alpha: jax.Array  # (3, N): w_alpha (1, eta, eta^2)
    u_beta: jax.Array
    eta: jax.Array


def make_grid(p: TriplonParams, kx, ky) -> TriplonGrid:
    """Evaluate Eq. (5) and the basis ``u^b(k)`` at momenta ``(kx, ky)`` (any shape, flattened)."""
    kx = jnp.ravel(kx)
    ky = jnp.ravel(ky)
    xa, xb = dispersion(kx, ky, p.bands)
    eta = form_factors(kx, ky)[3]
    powers = jnp.stack([jnp.ones_like(eta), eta, eta**2])
    wa = cutoff_weight(xa, p.omega, p.cutoff)
    wb = cutoff_weight(xb, p.omega, p.cutoff)
    return TriplonGrid(xi_alpha=xa, xi_beta=xb, u_alpha=wa * powers, u_beta=wb * powers, eta=eta)


def coupling_matrix(p: TriplonParams):
    """``V C`` with ``C = diag(1, -(kappa_a + kappa_b), kappa_a kappa_b)`` (Eq. 13 expanded)."""
    return p.V * jnp.diag(jnp.stack([jnp.ones_like(p.kappa_a), -(p.kappa_a + p.kappa_b), p.kappa_a * p.kappa_b]))


def _kernel_g(E, T):
    """``tanh(E/2T) / (2E)``, finite everywhere: ``1/(4T)`` at E = 0, ``1/(2E)`` at T = 0."""
    Tpos = T > 0
    Ts = jnp.where(Tpos, T, 1.0)
    Epos = E > 0
    Es = jnp.where(Epos, E, 1.0)
    finite_T = jnp.where(Epos, jnp.tanh(Es / (2.0 * Ts)) / (2.0 * Es), 1.0 / (4.0 * Ts))
    zero_T = jnp.where(Epos, 0.5 / Es, 0.0)
    return jnp.where(Tpos, finite_T, zero_T)


def _safe_norm(x, y):
    r2 = x * x + y * y
    pos = r2 > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, r2, 1.0)), 0.0)


def pair_amplitude(delta, xi, T):
    """``(E_k, chi_k)``: quasiparticle energy and ``chi = Delta tanh(E/2T)/(2E)``."""
    E = _safe_norm(xi, delta)
    return E, delta * _kernel_g(E, T)


def _band_terms(delta, xi, T):
    """Per-k single-band part of the condensation free energy and the pair amplitude."""
    E, chi = pair_amplitude(delta, xi, T)
    axi = jnp.abs(xi)
    s = axi + E
    kinetic = jnp.where(s > 0, -(delta**2) / jnp.where(s > 0, s, 1.0), 0.0)  # |xi| - E, no cancellation
    Tpos = T > 0
    Ts = jnp.where(Tpos, T, 1.0)
    thermal = jnp.where(Tpos, -2.0 * Ts * (jax.nn.softplus(-E / Ts) - jax.nn.softplus(-axi / Ts)), 0.0)
    return kinetic + thermal + 2.0 * delta * chi, chi


def condensation_free_energy(delta_alpha, delta_beta, p: TriplonParams, grid: TriplonGrid):
    """``f[Delta] - f[0]`` per unit cell (eV), the Gibbs-Bogoliubov functional (module docstring)."""
    fa, chi_a = _band_terms(delta_alpha, grid.xi_alpha, p.T)
    fb, chi_b = _band_terms(delta_beta, grid.xi_beta, p.T)
    n = delta_alpha.shape[-1]
    ma = grid.u_alpha @ chi_a / n
    mb = grid.u_beta @ chi_b / n
    return jnp.mean(fa) + jnp.mean(fb) + 2.0 * ma @ coupling_matrix(p) @ mb


def gap_map(delta_alpha, delta_beta, p: TriplonParams, grid: TriplonGrid):
    """Right-hand side of Eq. (14) on the grid: ``(Delta_alpha_new, Delta_beta_new)``."""
    n = delta_alpha.shape[-1]
    _, chi_a = pair_amplitude(delta_alpha, grid.xi_alpha, p.T)
    _, chi_b = pair_amplitude(delta_beta, grid.xi_beta, p.T)
    VC = coupling_matrix(p)
    new_a = -(VC @ (grid.u_beta @ chi_b / n)) @ grid.u_alpha
    new_b = -(VC @ (grid.u_alpha @ chi_a / n)) @ grid.u_beta
    return new_a, new_b


def gaps_from_coefficients(c, grid: TriplonGrid):
    """``Delta_alpha = u^alpha . a``, ``Delta_beta = u^beta . b`` for ``c = (a, b)`` (6 numbers)."""
    return c[:3] @ grid.u_alpha, c[3:] @ grid.u_beta


def coefficient_map(c, p: TriplonParams, grid: TriplonGrid):
    """Eq. (14) in the 6-dimensional space of gap coefficients: ``c -> c_new``.

    Every solution of (14) has the form ``Delta_b(k) = u^b(k) . c_b`` (the right-hand
    side lies in that span), so this map has the same fixed points as (14).
    """
    da, db = gaps_from_coefficients(c, grid)
    n = da.shape[-1]
    _, chi_a = pair_amplitude(da, grid.xi_alpha, p.T)
    _, chi_b = pair_amplitude(db, grid.xi_beta, p.T)
    VC = coupling_matrix(p)
    a_new = -VC @ (grid.u_beta @ chi_b / n)
    b_new = -VC @ (grid.u_alpha @ chi_a / n)
    return jnp.concatenate([a_new, b_new])


def linearized_kernel(T, p: TriplonParams, grid: TriplonGrid):
    """The 6 x 6 kernel ``K(T)`` of Eq. (14) linearised in Delta (``Delta -> 0``).

    ``K = [[0, -VC M^beta], [-VC M^alpha, 0]]`` with ``M^b_ij = <u_i u_j tanh(xi/2T)/(2 xi)>``.
    A superconducting instability is an eigenvalue ``+1`` of K.
    """
    n = grid.xi_alpha.shape[-1]
    ga = _kernel_g(jnp.abs(grid.xi_alpha), T)
    gb = _kernel_g(jnp.abs(grid.xi_beta), T)
    Ma = (grid.u_alpha * ga) @ grid.u_alpha.T / n
    Mb = (grid.u_beta * gb) @ grid.u_beta.T / n
    VC = coupling_matrix(p)
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


def _band_terms_complex(dr, di, xi, T):
    """Complex-gap version of :func:`_band_terms`: ``(f_k, Re chi_k, Im chi_k)``."""
    E = _safe_norm3(xi, dr, di)
    g = _kernel_g(E, T)
    a2 = dr * dr + di * di
    axi = jnp.abs(xi)
    s = axi + E
    kinetic = jnp.where(s > 0, -a2 / jnp.where(s > 0, s, 1.0), 0.0)
    Tpos = T > 0
    Ts = jnp.where(Tpos, T, 1.0)
    thermal = jnp.where(Tpos, -2.0 * Ts * (jax.nn.softplus(-E / Ts) - jax.nn.softplus(-axi / Ts)), 0.0)
    return kinetic + thermal + 2.0 * a2 * g, dr * g, di * g


def condensation_free_energy_complex(dar, dai, dbr, dbi, p: TriplonParams, grid: TriplonGrid):
    """``f[Delta] - f[0]`` per unit cell (eV) for complex gaps ``Delta_b = dbr + i dbi``.

    Equals :func:`condensation_free_energy` when the imaginary parts vanish.
    """
    fa, ar, ai = _band_terms_complex(dar, dai, grid.xi_alpha, p.T)
    fb, br, bi = _band_terms_complex(dbr, dbi, grid.xi_beta, p.T)
    n = dar.shape[-1]
    VC = coupling_matrix(p)
    mar, mai = grid.u_alpha @ ar / n, grid.u_alpha @ ai / n
    mbr, mbi = grid.u_beta @ br / n, grid.u_beta @ bi / n
    return jnp.mean(fa) + jnp.mean(fb) + 2.0 * (mar @ VC @ mbr + mai @ VC @ mbi)


def gaps_from_coefficients_complex(r, grid: TriplonGrid):
    """``(Re Delta_alpha, Im Delta_alpha, Re Delta_beta, Im Delta_beta)`` on the grid from ``r`` (12 reals)."""
    return r[0:3] @ grid.u_alpha, r[6:9] @ grid.u_alpha, r[3:6] @ grid.u_beta, r[9:12] @ grid.u_beta


def free_energy_of_coefficients_complex(r, p: TriplonParams, grid: TriplonGrid):
    """Condensation free energy (eV per cell) of the state with gap coefficients ``r = (Re c, Im c)``."""
    return condensation_free_energy_complex(*gaps_from_coefficients_complex(r, grid), p, grid)


def gap_map_complex(dar, dai, dbr, dbi, p: TriplonParams, grid: TriplonGrid):
    """Right-hand side of Eq. (14) for complex gaps: ``(Re, Im)`` of both new gaps on the grid."""
    n = dar.shape[-1]
    Ea = _safe_norm3(grid.xi_alpha, dar, dai)
    Eb = _safe_norm3(grid.xi_beta, dbr, dbi)
    ga, gb = _kernel_g(Ea, p.T), _kernel_g(Eb, p.T)
    VC = coupling_matrix(p)
    na_r = -(VC @ (grid.u_beta @ (dbr * gb) / n)) @ grid.u_alpha
    na_i = -(VC @ (grid.u_beta @ (dbi * gb) / n)) @ grid.u_alpha
    nb_r = -(VC @ (grid.u_alpha @ (dar * ga) / n)) @ grid.u_beta
    nb_i = -(VC @ (grid.u_alpha @ (dai * ga) / n)) @ grid.u_beta
    return na_r, na_i, nb_r, nb_i


def coefficient_map_complex(r, p: TriplonParams, grid: TriplonGrid):
    """Eq. (14) on the 12 real coefficients ``(Re c, Im c)``: ``r -> r_new`` (cf. :func:`coefficient_map`)."""
    dar, dai, dbr, dbi = gaps_from_coefficients_complex(r, grid)
    n = dar.shape[-1]
    ga = _kernel_g(_safe_norm3(grid.xi_alpha, dar, dai), p.T)
    gb = _kernel_g(_safe_norm3(grid.xi_beta, dbr, dbi), p.T)
    VC = coupling_matrix(p)
    ma = jnp.stack([grid.u_alpha @ (dar * ga), grid.u_alpha @ (dai * ga)]) / n  # (2, 3)
    mb = jnp.stack([grid.u_beta @ (dbr * gb), grid.u_beta @ (dbi * gb)]) / n
    a_new = -mb @ VC  # VC is diagonal (symmetric): rows are (Re, Im)
    b_new = -ma @ VC
    return jnp.concatenate([a_new[0], b_new[0], a_new[1], b_new[1]])
