"""Observables of the two-band s+- state: gaps on the Fermi surfaces, ratios, DOS.

Fermi-surface angle (Fig. 2b, 4b).  Each sheet is parametrised by the polar angle
``theta`` around the centre of its pocket: Gamma for a pocket closed around Gamma (the
alpha sheet at the paper's point) and M = (pi, pi) for a pocket closed around M (the
beta sheet at the paper's point is occupied at Gamma and X, so it is a hole pocket
around M).  ``theta = pi/4`` is the zone diagonal (``eta_k = 0``) for both.  Where a
sheet is open (near the Lifshitz point at X) there is no such parametrisation and the
Fermi-surface gaps are NaN.

On the Fermi surface ``xi = 0`` so the cutoff factor is 1 and the gap is
``Delta_b(k_F) = c_b0 + c_b1 eta + c_b2 eta^2`` exactly (continuous k, not a grid
value): :attr:`TriplonSolution.coefficients` holds ``(c_alpha, c_beta)``.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .bands import _fermi_surface_jit, dispersion, form_factors
from .pairing import TriplonGrid
from .params import K_B, TriplonParams

__all__ = ["TriplonSolution", "build_solution", "pocket_centers", "fermi_surface_gaps", "N_THETA"]

#: points of the Fermi-surface angle grid on [0, pi/2] (a quadrant holds everything by C4v)
N_THETA = 91


class TriplonSolution(eqx.Module):
    """Mean-field state of the triplon model (energies in eV, temperature in eV).

    * ``channel``: 0 normal, 1 s+- (A1g), 2 d (B1g) (see ``CHANNEL_NAMES``).
    * ``delta_alpha``, ``delta_beta``: gaps on the k-grid (flattened ``grid x grid``,
      C order), signed; ``coefficients``: ``(c_alpha, c_beta)`` in the basis
      ``w(xi)(1, eta, eta^2)``.
    * ``theta``: Fermi-surface angles on ``[0, pi/2]``; ``delta_alpha_fs``,
      ``delta_beta_fs``: signed gaps there (NaN where the sheet is not a pocket).
    * ``free_energy``: condensation free energy ``f - f_normal`` per unit cell (eV).
    * ``lambda_s``, ``lambda_d``: leading eigenvalues of the linearised kernel at T
      (> 1: the normal state is unstable in that channel).
    * ``converged`` / ``iterations`` / ``residual`` (``max |Delta - RHS of Eq. 14|``, eV).
    """

    params: TriplonParams
    grid: int = eqx.field(static=True)
    method: str = eqx.field(static=True)
    channel: jax.Array
    coefficients: jax.Array
    delta_alpha: jax.Array
    delta_beta: jax.Array
    theta: jax.Array
    delta_alpha_fs: jax.Array
    delta_beta_fs: jax.Array
    kx_alpha_fs: jax.Array
    ky_alpha_fs: jax.Array
    kx_beta_fs: jax.Array
    ky_beta_fs: jax.Array
    free_energy: jax.Array
    lambda_s: jax.Array
    lambda_d: jax.Array
    converged: jax.Array
    iterations: jax.Array
    residual: jax.Array

    def grid_array(self, name: str) -> np.ndarray:
        """A k-resolved field reshaped to ``(grid, grid)`` (``[ix, iy]``, k = 2 pi i / grid)."""
        return np.asarray(getattr(self, name)).reshape(self.grid, self.grid)

    @property
    def channel_name(self) -> str:
        from .solve import CHANNEL_NAMES

        return CHANNEL_NAMES[int(self.channel)]

    def gap_extremes(self) -> dict:
        """Signed extremes of the gap over each Fermi surface (eV)."""
        out = {}
        for b in ("alpha", "beta"):
            d = np.asarray(getattr(self, f"delta_{b}_fs"))
            ok = np.isfinite(d)
            out[f"delta_{b}_max"] = float(d[ok].max()) if ok.any() else float("nan")
            out[f"delta_{b}_min"] = float(d[ok].min()) if ok.any() else float("nan")
        return out

    def summary(self) -> dict:
        """JSON-ready dict: fillings, DOS, lambda, signed gap extremes (meV), ratio, F, convergence."""
        from .bands import dos_fermi, fillings
        from .solve import CHANNEL_NAMES

        bp = self.params.bands
        n_a, n_b = fillings(bp, self.grid)
        dos = dos_fermi(bp, self.grid)
        ext = self.gap_extremes()
        out = {
            "mu": float(bp.mu),
            "n_alpha": float(n_a),
            "n_beta": float(n_b),
            "n_c": float(n_a + n_b),
            **dos.to_dict(),
            "lambda": float(self.params.V * np.sqrt(float(dos.N_alpha) * float(dos.N_beta))),
            "V": float(self.params.V),
            "channel": CHANNEL_NAMES[int(self.channel)],
        }
        for key, val in ext.items():
            out[f"{key}_meV"] = 1e3 * val
        i = (N_THETA - 1) // 2
        out["delta_alpha_diagonal_meV"] = 1e3 * float(np.asarray(self.delta_alpha_fs)[i])
        out["delta_beta_diagonal_meV"] = 1e3 * float(np.asarray(self.delta_beta_fs)[i])
        out["gap_ratio"] = self.gap_ratio if int(self.channel) == 1 else float("nan")
        out["free_energy"] = float(self.free_energy)
        out["free_energy_meV"] = 1e3 * float(self.free_energy)
        out["lambda_s_linearized"] = float(self.lambda_s)
        out["lambda_d_linearized"] = float(self.lambda_d)
        out["converged"] = bool(self.converged)
        out["iterations"] = int(self.iterations)
        out["residual"] = float(self.residual)
        out["method"] = self.method
        out["grid"] = self.grid
        out["params"] = self.params.to_dict()
        return out

    @property
    def gap_ratio(self) -> float:
        """``|Delta_alpha / Delta_beta|`` on the zone diagonal (theta = pi/4, eta = 0), as in Eq. (17).

        Defined for the s+- state only (NaN for the normal and the d state, whose
        gaps vanish on the diagonal).
        """
        if int(self.channel) != 1:
            return float("nan")
        i = (N_THETA - 1) // 2
        return float(abs(np.asarray(self.delta_alpha_fs)[i] / np.asarray(self.delta_beta_fs)[i]))


def _sign_changes(bp, band, start, end, n=256):
    t = jnp.linspace(0.0, 1.0, n)
    kx = start[0] + t * (end[0] - start[0])
    ky = start[1] + t * (end[1] - start[1])
    occ = dispersion(kx, ky, bp)[band] < 0
    return jnp.sum(occ[1:] != occ[:-1])


def pocket_centers(bp):
    """Centre of each band's Fermi pocket: 0 = Gamma, 1 = M, -1 = neither.

    A sheet counts as a pocket around a centre when the centre is occupied
    (Gamma, electron pocket) or empty (M, hole pocket) and the two mirror lines from
    the centre to the zone boundary (towards X and along the diagonal) each cross the
    Fermi surface exactly once.  This excludes the beta band between its Lifshitz
    points (n_c = 0.225 .. 0.292 at the paper's bands), where the sheet is a Gamma
    pocket plus separate pockets at X and Y.
    """
    G, X, M = (0.0, 0.0), (math.pi, 0.0), (math.pi, math.pi)
    out = []
    for b in (0, 1):
        occ_g = dispersion(jnp.asarray(0.0), jnp.asarray(0.0), bp)[b] < 0
        occ_m = dispersion(jnp.asarray(math.pi), jnp.asarray(math.pi), bp)[b] < 0
        around_g = occ_g & (_sign_changes(bp, b, G, X) == 1) & (_sign_changes(bp, b, G, M) == 1)
        around_m = ~occ_m & (_sign_changes(bp, b, M, X) == 1) & (_sign_changes(bp, b, M, G) == 1)
        out.append(jnp.where(around_g, 0, jnp.where(around_m, 1, -1)))
    return out


def fermi_surface_gaps(p, coeffs_b, band, theta):
    """Gap ``c0 + c1 eta + c2 eta^2`` of sheet ``band`` (0/1) at Fermi-surface angles ``theta``.

    Returns ``(gap, kx, ky)``; NaN where the sheet is not a pocket around Gamma or M.
    Shared by the solution, the synthetic data and the fitter.
    """
    center = pocket_centers(p.bands)[band]
    fs_g = _fermi_surface_jit(p.bands, theta, band, 256, 80, "G")
    fs_m = _fermi_surface_jit(p.bands, theta, band, 256, 80, "M")
    kx = jnp.where(center == 0, fs_g["kx"], jnp.where(center == 1, fs_m["kx"], jnp.nan))
    ky = jnp.where(center == 0, fs_g["ky"], jnp.where(center == 1, fs_m["ky"], jnp.nan))
    eta = form_factors(kx, ky)[3]
    gap = coeffs_b[0] + coeffs_b[1] * eta + coeffs_b[2] * eta**2
    return gap, kx, ky


def build_solution(p, n, grid: TriplonGrid, da, db, *, free_energy, method, lambdas, iterations, residual, converged):
    """Assemble a :class:`TriplonSolution` from converged grid gaps ``(da, db)``."""
    # coefficients by projection: the solution lies in span(u^b); least squares is exact
    ca = jnp.linalg.lstsq(grid.u_alpha.T, da)[0]
    cb = jnp.linalg.lstsq(grid.u_beta.T, db)[0]
    scale = jnp.maximum(jnp.max(jnp.abs(da)), jnp.max(jnp.abs(db)))
    is_d = jnp.abs(ca[1]) + jnp.abs(cb[1]) > jnp.abs(ca[0]) + jnp.abs(ca[2]) + jnp.abs(cb[0]) + jnp.abs(cb[2])
    # Delta -> -Delta is a symmetry of the free energy: fix the global sign so that the
    # alpha gap is positive (s+-: c_alpha0 > 0; d: c_alpha1 > 0)
    lead = jnp.where(is_d, ca[1], ca[0])
    sgn = jnp.where(lead < 0, -1.0, 1.0)
    da, db, ca, cb = sgn * da, sgn * db, sgn * ca, sgn * cb
    theta = jnp.linspace(0.0, 0.5 * jnp.pi, N_THETA)
    ga, kxa, kya = fermi_surface_gaps(p, ca, 0, theta)
    gb, kxb, kyb = fermi_surface_gaps(p, cb, 1, theta)
    channel = jnp.where(scale == 0, 0, jnp.where(is_d, 2, 1))
    return TriplonSolution(
        params=p,
        grid=n,
        method=method,
        channel=channel,
        coefficients=jnp.concatenate([ca, cb]),
        delta_alpha=da,
        delta_beta=db,
        theta=theta,
        delta_alpha_fs=ga,
        delta_beta_fs=gb,
        kx_alpha_fs=kxa,
        ky_alpha_fs=kya,
        kx_beta_fs=kxb,
        ky_beta_fs=kyb,
        free_energy=free_energy,
        lambda_s=lambdas[0],
        lambda_d=lambdas[1],
        converged=jnp.asarray(converged),
        iterations=jnp.asarray(iterations),
        residual=jnp.asarray(residual),
    )


def kelvin(T_ev):
    """eV -> K."""
    return T_ev / K_B
