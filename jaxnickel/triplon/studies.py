r"""Numerical studies of the triplon model against the paper's analytic results.

Paper 001 (Liu & Khaliullin 2026), Eqs. (16)-(18) and Figs. 3-4.  Every function is
pure: it returns a dict of NumPy arrays (no printing, no files), so the CLI
(``jaxnickel reproduce``), notebooks and tests can share it.  Each scan is one
compiled ``lax.map`` over a batch of parameter points, run one after the other by
default (``batch_size > 1`` vmaps chunks of points; see :func:`_run_batch`); the k-grid
size and the cutoff form are static, every parameter is traced.  Results and their
discussion: ``docs/triplon_results.md``.

* :func:`analytic_comparison` -- numerical diagonal gaps, their ratio and the gap
  anisotropy vs Eqs. (16)-(18), for both cutoff forms, at ``kappa`` and at
  ``kappa = 0`` (no anisotropic feedback), plus the Fermi-surface eigenproblem that
  keeps the feedback Eq. (17) neglects (:func:`fermi_surface_coupling`).
* :func:`ratio_vs_density` -- ``Delta_alpha / Delta_beta`` on the diagonal vs
  ``N_beta / N_alpha`` along an ``n_c`` scan (the content of Fig. 3b), with the
  Lifshitz points of the beta band (:func:`beta_lifshitz_points`) and the points
  where Eq. (18) fails.
* :func:`kappa_phase_diagram` -- ``T_c`` of the s+- (A1g) and d (B1g) channels and the
  ``T = 0`` free energies of both over the ``(kappa_a, kappa_b)`` plane, and the s/d
  boundary from 1-D scans in ``P = kappa_a kappa_b`` and ``S = kappa_a + kappa_b``.
* :func:`gap_ratio_2delta_over_tc` -- ``2 Delta / k_B T_c`` per Fermi sheet.

Conventions.  Gaps are magnitudes in eV.  The "diagonal" gap of a sheet is its value
where the sheet crosses the zone diagonal ``eta_k = 0`` (theta = pi/4), which is
exactly the coefficient ``c_b0`` of :attr:`TriplonSolution.coefficients` (on the
Fermi surface the cutoff factor is 1 and the gap is ``c0 + c1 eta + c2 eta^2``), so it
is defined even where a sheet is not a closed pocket; its anisotropy is ``c_b2 / c_b0``
(Eq. 16 predicts ``(Ntilde_beta/N_beta) kappa^2`` for alpha and
``(Ntilde_alpha/N_alpha) kappa^2`` for beta).  ``lambda = V sqrt(N_alpha N_beta)`` with
the Fermi-level DOS on the same grid (as :func:`~jaxnickel.triplon.params.make_params`).
The solver is the Newton fixed point of Eq. (14) in the 6 gap coefficients
(``method="fixed-point"``), seeded in the requested symmetry channel along its leading
linearised eigenvector with the amplitude scanned on the full grid
(:func:`_full_grid_seed`).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..lattice import Square
from ..solvers import require_x64
from .analytic import delta_weak_coupling, gap_ratio_eq18, gaps_eq17
from .bands import BandParams, dispersion, dos_fermi, dos_vs_density, fermi_surface, fillings, mu_from_density
from .pairing import channel_eigenvalues, condensation_free_energy, gaps_from_coefficients, make_grid
from .params import K_B, TriplonParams, validate_params
from .solution import pocket_centers
from .solve import solve_jax
from .tc import critical_temperatures_jax

__all__ = [
    "BCS_RATIO",
    "analytic_comparison",
    "ratio_vs_density",
    "kappa_phase_diagram",
    "gap_ratio_2delta_over_tc",
    "beta_lifshitz_points",
    "fermi_line_moments",
    "fermi_surface_coupling",
]

#: weak-coupling BCS value of ``2 Delta / k_B T_c = 2 pi exp(-gamma_E)``
BCS_RATIO = 2.0 * math.pi * math.exp(-0.5772156649015329)

# --------------------------------------------------------------------------
# batched solver core


def _stack(ps):
    """Stack a list of :class:`TriplonParams` (same cutoff) into one batched pytree."""
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *ps)


#: seed amplitudes (eV) scanned on the full grid (see :func:`_full_grid_seed`)
_SEED_AMPLITUDES = np.logspace(-6.0, math.log10(0.5), 49)


def _full_grid_seed(p, g, channel):
    """Seed of one channel: its leading linearised eigenvector times the amplitude that
    minimises the free energy along it, scanned on the *full* grid.

    ``solve_jax`` scans the amplitude on a subsampled (<= 64 x 64) grid; at weak coupling
    (gaps below that grid's energy resolution) the scan sees no minimum, the seed drops
    to 1e-6 eV and Newton lands on the normal state although the normal state is
    unstable (docs/triplon_results.md, "Problems found").  Passed as ``init``.
    """
    _, _, v_s, v_d = channel_eigenvalues(p.T, p, g)
    v = v_s if channel == "s" else v_d
    amps = jnp.asarray(_SEED_AMPLITUDES)

    def f(a):
        da, db = gaps_from_coefficients(a * v, g)
        return condensation_free_energy(da, db, p, g)

    return amps[jnp.argmin(jax.lax.map(f, amps))] * v


def _summary(sol, channel):
    lam = sol.lambda_s if channel == "s" else sol.lambda_d
    # a normal state returned where the normal state is unstable in this channel
    # (leading linearised eigenvalue > 1 at T) is a failed solve
    bad_normal = (sol.channel == 0) & (lam > 1.0)
    return {
        "coefficients": sol.coefficients,
        "free_energy": sol.free_energy,
        "channel": sol.channel,
        "converged": sol.converged & ~bad_normal,
        "residual": sol.residual,
        "lambda_linear": lam,
        "delta_alpha_fs": sol.delta_alpha_fs,
        "delta_beta_fs": sol.delta_beta_fs,
    }


@functools.cache
def _batch_core(grid, channels, with_tc, batch_size):
    """One compiled program: ``lax.map`` (vmap in chunks of ``batch_size``) over a batch of params."""

    def one(p):
        kx, ky = Square(grid).momenta()
        g = make_grid(p, kx, ky)
        out = {}
        for ch in channels:
            init = _full_grid_seed(p, g, ch)
            out[ch] = _summary(solve_jax(p, grid, "fixed-point", channel=ch, init=init), ch)
        if with_tc:
            t = critical_temperatures_jax(p, grid)
            out["tc"] = {"tc_s": t.tc_s, "tc_d": t.tc_d, "leading": t.leading}
        return out

    def run(pb):
        return jax.lax.map(one, pb, batch_size=None if batch_size == 1 else batch_size)

    return jax.jit(run)


def _run_batch(ps, grid, channels=("s",), with_tc=False, batch_size=1):
    """Solve every point of the list ``ps`` (one compile per cutoff form); NumPy results.

    ``batch_size = 1`` (default) runs the points one after the other inside one compiled
    ``lax.map``; larger values ``vmap`` chunks of points.  On a 2-core CPU with jaxlib
    0.10.2 some vmapped batches deadlock in XLA (0% CPU, every thread in a futex wait;
    docs/triplon_results.md, "Problems found"), and on a CPU vmap gains nothing here
    (every operation is already vectorised over the k-grid), so the default avoids it.
    """
    for p in ps:
        validate_params(p, grid)
    out = _batch_core(int(grid), tuple(channels), bool(with_tc), int(batch_size))(_stack(ps))
    return jax.tree_util.tree_map(np.asarray, out)


def _diag_gaps(summary):
    """``(|Delta_alpha|, |Delta_beta|, c2/c0 alpha, c2/c0 beta)`` on the zone diagonal."""
    c = summary["coefficients"]
    ca0, ca2, cb0, cb2 = c[..., 0], c[..., 2], c[..., 3], c[..., 5]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(ca0), np.abs(cb0), ca2 / ca0, cb2 / cb0


def _sheet_max(d):
    """Largest ``|Delta|`` over a Fermi sheet (NaN where the sheet is not a pocket)."""
    a = np.abs(d)
    ok = np.isfinite(a).any(axis=-1)
    return np.where(ok, np.nanmax(np.where(np.isfinite(a), a, -np.inf), axis=-1), np.nan)


def _sheet_min(d):
    a = np.abs(d)
    ok = np.isfinite(a).any(axis=-1)
    return np.where(ok, np.nanmin(np.where(np.isfinite(a), a, np.inf), axis=-1), np.nan)


def _bands_at(n_c, bands, grid):
    bp = BandParams() if bands is None else bands
    return bp.replace(mu=mu_from_density(n_c, bp, grid))


# --------------------------------------------------------------------------
# Fermi-surface helpers


def beta_lifshitz_points(bands: BandParams | None = None, grid: int = 512) -> dict:
    r"""Energies and densities where the beta Fermi surface changes topology.

    Along Gamma-X (``ky = 0``, ``c = cos kx``) Eq. (5) is a quadratic in ``c``,
    ``e(c) = -2 t1 (c + 1) - 4 t2 c - 4 t3 c^2 + eps_beta (c - 1)^2``.  X (``c = -1``)
    is a stationary point of the band by symmetry, so ``mu = e_beta(X)`` is always a
    Lifshitz point (band edge of the X pockets at the paper's bands); an interior
    stationary point ``c*`` in (-1, 1) is a saddle (van Hove point) of the 2-D band.
    Returns ``E_X``, ``E_saddle`` (eV, NaN if absent), ``kx_saddle`` and the densities
    ``n_c_X``, ``n_c_saddle`` (per Ni, both bands) at those chemical potentials.
    """
    require_x64()
    bp = BandParams() if bands is None else bands
    t1, t2, t3, eb = (float(np.asarray(getattr(bp, k))) for k in ("t1", "t2", "t3", "eps_beta"))
    denom = 2.0 * eb - 8.0 * t3
    c_star = (2.0 * t1 + 4.0 * t2 + 2.0 * eb) / denom if denom != 0 else float("nan")

    def e(c):
        return -2.0 * t1 * (c + 1.0) - 4.0 * t2 * c - 4.0 * t3 * c * c + eb * (c - 1.0) ** 2

    e_x = e(-1.0)
    has_saddle = math.isfinite(c_star) and -1.0 < c_star < 1.0
    e_s = e(c_star) if has_saddle else float("nan")

    def n_c_at(E):
        if not math.isfinite(E):
            return float("nan")
        na, nb = fillings(bp.replace(mu=E), grid)
        return float(na) + float(nb)

    return {
        "E_X": np.asarray(e_x),
        "E_saddle": np.asarray(e_s),
        "kx_saddle": np.asarray(math.acos(c_star) if has_saddle else float("nan")),
        "n_c_X": np.asarray(n_c_at(e_x)),
        "n_c_saddle": np.asarray(n_c_at(e_s)),
    }


def fermi_line_moments(bands: BandParams, m: int = 2048) -> dict:
    r"""``N_b``, ``Ntilde_b`` and ``N4_b = int d^2k/(2pi)^2 eta^4 delta(xi_b)`` per band.

    Polar Fermi-line integral around each pocket's centre (Gamma or M, see
    :func:`~jaxnickel.triplon.solution.pocket_centers`),
    ``(2 pi)^-2 int dtheta k_F w / |d xi / d r|`` with ``m`` angles (trapezoid rule,
    spectrally accurate for a closed pocket).  NaN for a band whose Fermi surface is
    not a single pocket star-shaped around Gamma or M.  Per spin per unit cell (1/eV),
    the normalisation of :func:`~jaxnickel.triplon.bands.dos_fermi`.
    """
    require_x64()
    th = jnp.arange(m) * 2.0 * jnp.pi / m
    out = {}
    for b, name in enumerate(("alpha", "beta")):
        center = int(pocket_centers(bands)[b])
        if center not in (0, 1):
            for k in ("N", "Ntilde", "N4"):
                out[f"{k}_{name}"] = np.asarray(np.nan)
            continue
        cname = "G" if center == 0 else "M"
        cx, cy = (0.0, 0.0) if center == 0 else (math.pi, math.pi)
        fs = fermi_surface(bands, name, th, center=cname)
        kf = fs["k_F"]
        c, s = jnp.cos(th), jnp.sin(th)
        dxi_dr = jax.jvp(
            lambda r, c=c, s=s, b=b, cx=cx, cy=cy: dispersion(cx + r * c, cy + r * s, bands)[b],
            (kf,),
            (jnp.ones_like(kf),),
        )[1]
        eta2 = (jnp.cos(fs["kx"]) - jnp.cos(fs["ky"])) ** 2
        dens = kf / jnp.abs(dxi_dr) / (2.0 * jnp.pi)
        for k, w in (("N", 1.0), ("Ntilde", eta2), ("N4", eta2**2)):
            out[f"{k}_{name}"] = np.asarray(jnp.mean(w * dens))
    return out


def fermi_surface_coupling(V, kappa2, moments: dict) -> dict:
    r"""The s+- gap equation (15) at logarithmic accuracy *with* the anisotropic feedback.

    Write the gaps on the Fermi surfaces as ``a0 + a2 eta^2`` (alpha) and
    ``b0 + b2 eta^2`` (beta).  Replacing each sum ``sum_p eta_p^{2j} Delta_p / 2 eps_p`` of
    Eq. (15) by its Fermi-surface moment times one common logarithm ``L`` gives
    ``a = L V C M_beta b``, ``b = L V C M_alpha a`` with ``C = diag(1, kappa^2)`` and
    ``M_b = [[N_b, Ntilde_b], [Ntilde_b, N4_b]]``.  Its leading eigenvalue defines the
    coupling that replaces ``lambda`` in ``Delta ~ 2 Omega exp(-1/lambda)``:

        lambda_FS = V sqrt(top eig(C M_beta C M_alpha))   (= lambda at kappa = 0).

    Eq. (16) is this eigenvector with the feedback dropped (``b2 -> 0`` in the alpha
    equation and ``a2 -> 0`` in the beta one).  Returns ``lambda_fs``, the anisotropies
    ``aniso_alpha = a2/a0``, ``aniso_beta = b2/b0`` and the lambda -> 0 limit of the
    diagonal ratio ``ratio_limit = a0/b0 = sqrt((N_beta + Ntilde_beta b2/b0) /
    (N_alpha + Ntilde_alpha a2/a0))`` (Eq. 18's limit is ``sqrt(N_beta/N_alpha)``).
    Arrays broadcast over ``V`` and ``kappa2``.
    """
    V = np.asarray(V, dtype=float)
    k2 = np.asarray(kappa2, dtype=float)
    V, k2 = np.broadcast_arrays(V, k2)

    def M(b):
        return np.array([[moments[f"N_{b}"], moments[f"Ntilde_{b}"]], [moments[f"Ntilde_{b}"], moments[f"N4_{b}"]]])

    Ma, Mb = M("alpha"), M("beta")
    lam = np.empty(V.shape)
    ra = np.empty(V.shape)
    rb = np.empty(V.shape)
    for idx in np.ndindex(V.shape):
        C = np.diag([1.0, k2[idx]])
        X = C @ Mb @ C @ Ma
        w, vec = np.linalg.eig(X)
        i = int(np.argmax(w.real))
        a = vec[:, i].real
        b = C @ Ma @ a
        lam[idx] = V[idx] * math.sqrt(max(w[i].real, 0.0))
        ra[idx] = a[1] / a[0]
        rb[idx] = b[1] / b[0]
    ratio = np.sqrt(
        (moments["N_beta"] + moments["Ntilde_beta"] * rb) / (moments["N_alpha"] + moments["Ntilde_alpha"] * ra)
    )
    return {"lambda_fs": lam, "aniso_alpha": ra, "aniso_beta": rb, "ratio_limit": ratio}


# --------------------------------------------------------------------------
# (a) numerics vs Eqs. (16)-(18) at one density


def analytic_comparison(
    n_c=0.45,
    lams=(0.3, 0.5, 0.6),
    kappa=0.75,
    omega=0.3,
    grid: int = 512,
    *,
    cutoffs=("lorentzian", "sharp"),
    bands: BandParams | None = None,
    batch_size: int = 1,
) -> dict:
    r"""Numerical s+- gaps at ``T = 0`` vs the weak-coupling Eqs. (16)-(18).

    For every cutoff form in ``cutoffs`` (axis 0), ``kappa_a = kappa_b`` in
    ``(kappa, 0)`` (axis 1; ``kappa = 0`` removes the anisotropic feedback) and every
    ``lambda`` in ``lams`` (axis 2) the s+- state is solved on a ``grid x grid`` mesh.

    Returns a dict of arrays (shape ``(n_cutoff, 2, n_lam)`` unless noted):

    * inputs: ``n_c``, ``mu``, ``omega``, ``cutoff`` (n_cutoff,), ``kappa`` (2,),
      ``lam`` (n_lam,), ``V`` (n_lam,); DOS ``N_alpha, N_beta, Ntilde_alpha,
      Ntilde_beta, N4_alpha, N4_beta`` (scalars; ``N4`` from :func:`fermi_line_moments`);
    * numerics: ``delta_alpha``, ``delta_beta`` (diagonal, eV), ``ratio``
      (alpha/beta), ``delta_geo = sqrt(delta_alpha delta_beta)``, ``aniso_alpha``,
      ``aniso_beta`` (``c2/c0``), ``delta_alpha_max``, ``delta_beta_max`` (over the
      sheet), ``lambda_eff = 1/ln(2 Omega / delta_geo)`` (the lambda that
      ``2 Omega e^{-1/lambda}`` would need), ``free_energy``, ``converged``;
    * Eq. (17) (exact root, ``(n_lam,)``): ``eq17_delta_alpha``, ``eq17_delta_beta``,
      ``eq17_ratio``; Eq. (18): ``eq18_ratio`` (n_lam,), ``weak_delta = 2 Omega
      exp(-1/lambda)`` (n_lam,); Eq. (16): ``eq16_aniso_alpha``, ``eq16_aniso_beta``
      (2,) per kappa;
    * with the feedback (:func:`fermi_surface_coupling`, shape ``(2, n_lam)``):
      ``fs_lambda``, ``fs_delta = 2 Omega exp(-1/lambda_FS)``, ``fs_aniso_alpha``,
      ``fs_aniso_beta``, ``fs_ratio_limit``.
    """
    require_x64()
    lams = np.atleast_1d(np.asarray(lams, dtype=float))
    kappas = np.array([float(kappa), 0.0])
    bp = _bands_at(n_c, bands, grid)
    dos = dos_fermi(bp, grid)
    Na, Nb = float(dos.N_alpha), float(dos.N_beta)
    Nta, Ntb = float(dos.Ntilde_alpha), float(dos.Ntilde_beta)
    Vs = lams / math.sqrt(Na * Nb)
    mom = fermi_line_moments(bp)

    keys = ("delta_alpha", "delta_beta", "aniso_alpha", "aniso_beta", "delta_alpha_max", "delta_beta_max")
    res = {k: np.empty((len(cutoffs), 2, len(lams))) for k in (*keys, "free_energy", "converged")}
    for ic, cut in enumerate(cutoffs):
        ps = [
            TriplonParams(bands=bp, V=V, kappa_a=k, kappa_b=k, omega=omega, T=0.0, cutoff=cut)
            for k in kappas
            for V in Vs
        ]
        out = _run_batch(ps, grid, ("s",), batch_size=batch_size)["s"]
        da, db, ra, rb = _diag_gaps(out)
        vals = dict(
            delta_alpha=da,
            delta_beta=db,
            aniso_alpha=ra,
            aniso_beta=rb,
            delta_alpha_max=_sheet_max(out["delta_alpha_fs"]),
            delta_beta_max=_sheet_max(out["delta_beta_fs"]),
            free_energy=out["free_energy"],
            converged=out["converged"],
        )
        for k, v in vals.items():
            res[k][ic] = np.asarray(v, dtype=float).reshape(2, len(lams))
    res["converged"] = res["converged"].astype(bool)
    res["ratio"] = res["delta_alpha"] / res["delta_beta"]
    res["delta_geo"] = np.sqrt(res["delta_alpha"] * res["delta_beta"])
    res["lambda_eff"] = 1.0 / np.log(2.0 * omega / res["delta_geo"])

    eq17 = jax.jit(jax.vmap(gaps_eq17, in_axes=(0, None, None, None)))(jnp.asarray(Vs), Na, Nb, omega)
    e17a, e17b = (np.asarray(x) for x in eq17)
    k2 = kappas**2
    fs = fermi_surface_coupling(Vs[None, :], k2[:, None], mom)
    fs_delta = 2.0 * omega * np.exp(-1.0 / fs["lambda_fs"])
    res.update(
        {
            "n_c": np.asarray(float(n_c)),
            "mu": np.asarray(float(bp.mu)),
            "omega": np.asarray(float(omega)),
            "cutoff": np.asarray(cutoffs),
            "kappa": kappas,
            "lam": lams,
            "V": Vs,
            "N_alpha": np.asarray(Na),
            "N_beta": np.asarray(Nb),
            "Ntilde_alpha": np.asarray(Nta),
            "Ntilde_beta": np.asarray(Ntb),
            "N4_alpha": mom["N4_alpha"],
            "N4_beta": mom["N4_beta"],
            "eq17_delta_alpha": e17a,
            "eq17_delta_beta": e17b,
            "eq17_ratio": e17a / e17b,
            "eq18_ratio": np.asarray(gap_ratio_eq18(Na, Nb, lams)),
            "weak_delta": np.asarray(delta_weak_coupling(omega, lams)),
            "eq16_aniso_alpha": Ntb / Nb * k2,
            "eq16_aniso_beta": Nta / Na * k2,
            "fs_lambda": fs["lambda_fs"],
            "fs_delta": fs_delta,
            "fs_aniso_alpha": fs["aniso_alpha"],
            "fs_aniso_beta": fs["aniso_beta"],
            "fs_ratio_limit": fs["ratio_limit"],
        }
    )
    return res


# --------------------------------------------------------------------------
# (b) gap ratio vs density (Fig. 3b)


def ratio_vs_density(
    n_c_values,
    lams=(0.6, 0.3),
    kappa=0.75,
    grid: int = 512,
    *,
    omega=0.3,
    cutoff: str = "sharp",
    tol: float = 0.1,
    bands: BandParams | None = None,
    batch_size: int = 1,
) -> dict:
    r"""``Delta_alpha / Delta_beta`` on the diagonal vs ``N_beta / N_alpha`` along ``n_c``.

    For each ``n_c`` the chemical potential and the Fermi-level DOS are computed on the
    grid (:func:`~jaxnickel.triplon.bands.dos_vs_density`), ``V = lambda /
    sqrt(N_alpha N_beta)``, and the s+- state is solved at ``T = 0`` with
    ``kappa_a = kappa_b = kappa``.  Shapes: ``(n_lam, n_nc)`` for per-point results,
    ``(n_nc,)`` for band quantities.

    Returns ``n_c, mu, N_alpha, N_beta, N_beta_over_N_alpha, Ntilde_over_N_alpha,
    Ntilde_over_N_beta, beta_center`` (the classification of
    :func:`~jaxnickel.triplon.solution.pocket_centers`: 0 pocket around Gamma, 1 around M,
    -1 neither; between the X band edge and the saddle it reports 1 although the beta
    sheet is a Gamma pocket plus X pockets there), ``lam, V``, the numerical
    ``delta_alpha, delta_beta, ratio, converged``, the analytic ``eq18_ratio``
    (Eq. 18), ``eq17_ratio`` (exact root of Eq. 17), ``sqrt_dos_ratio`` (the
    lambda -> 0 limit ``sqrt(N_beta/N_alpha)``), the relative errors ``err_eq18 =
    eq18/num - 1`` and ``err_eq17``, ``eq18_fails = |err_eq18| > tol``, the beta
    Lifshitz points (``E_X, E_saddle, n_c_X, n_c_saddle`` from
    :func:`beta_lifshitz_points`) and ``lifshitz_distance`` (n_nc,): the distance in
    eV of ``mu`` from the nearer of ``E_X`` and ``E_saddle``.
    """
    require_x64()
    bp0 = BandParams() if bands is None else bands
    n_c = np.atleast_1d(np.asarray(n_c_values, dtype=float))
    lams = np.atleast_1d(np.asarray(lams, dtype=float))
    d = {k: np.asarray(v) for k, v in dos_vs_density(bp0, n_c, grid).items()}
    Na, Nb = d["N_alpha"], d["N_beta"]
    if np.any(Na <= 0) or np.any(Nb <= 0):
        raise ValueError("ratio_vs_density needs both bands at the Fermi level at every n_c")
    V = lams[:, None] / np.sqrt(Na * Nb)[None, :]
    ps = [
        TriplonParams(
            bands=bp0.replace(mu=float(mu)), V=float(V[i, j]), kappa_a=kappa, kappa_b=kappa, omega=omega, cutoff=cutoff
        )
        for i in range(len(lams))
        for j, mu in enumerate(d["mu"])
    ]
    out = _run_batch(ps, grid, ("s",), batch_size=batch_size)["s"]
    da, db, _, _ = _diag_gaps(out)
    shape = (len(lams), len(n_c))
    da, db = da.reshape(shape), db.reshape(shape)
    ratio = da / db
    eq18 = np.asarray(gap_ratio_eq18(Na[None, :], Nb[None, :], lams[:, None]))
    eq17 = np.empty(shape)
    g17 = jax.jit(gaps_eq17)
    for i in range(shape[0]):
        for j in range(shape[1]):
            a, b = g17(V[i, j], Na[j], Nb[j], omega)
            eq17[i, j] = float(a) / float(b)
    lif = beta_lifshitz_points(bp0, grid)
    dist = np.nanmin(np.abs(np.stack([d["mu"] - lif["E_X"], d["mu"] - lif["E_saddle"]])), axis=0)
    centers = np.array([int(pocket_centers(bp0.replace(mu=float(mu)))[1]) for mu in d["mu"]])
    err18 = eq18 / ratio - 1.0
    return {
        "n_c": n_c,
        "mu": d["mu"],
        "N_alpha": Na,
        "N_beta": Nb,
        "N_beta_over_N_alpha": d["N_beta_over_N_alpha"],
        "Ntilde_over_N_alpha": d["Ntilde_over_N_alpha"],
        "Ntilde_over_N_beta": d["Ntilde_over_N_beta"],
        "beta_center": centers,
        "lam": lams,
        "V": V,
        "kappa": np.asarray(float(kappa)),
        "delta_alpha": da,
        "delta_beta": db,
        "ratio": ratio,
        "converged": np.asarray(out["converged"]).reshape(shape),
        "eq18_ratio": eq18,
        "eq17_ratio": eq17,
        "sqrt_dos_ratio": np.sqrt(Nb / Na),
        "err_eq18": err18,
        "err_eq17": eq17 / ratio - 1.0,
        "eq18_fails": np.abs(err18) > tol,
        "lifshitz_distance": dist,
        **{k: lif[k] for k in ("E_X", "E_saddle", "n_c_X", "n_c_saddle")},
    }


# --------------------------------------------------------------------------
# (c) s+- vs d over the (kappa_a, kappa_b) plane


def kappa_phase_diagram(
    kappa_a_values,
    kappa_b_values,
    lam=0.5,
    n_c=0.45,
    grid: int = 256,
    *,
    omega=0.3,
    cutoff: str = "sharp",
    P_values=None,
    S_values=None,
    bands: BandParams | None = None,
    batch_size: int = 1,
) -> dict:
    r"""Which pairing channel wins over the ``(kappa_a, kappa_b)`` plane.

    ``C = diag(1, -(kappa_a + kappa_b), kappa_a kappa_b)`` (Eq. 13 expanded): the s+-
    (A1g) block uses only ``P = kappa_a kappa_b``, the d (B1g) block only
    ``S = kappa_a + kappa_b``, and ``lambda_d(T) = V S sqrt(M^alpha_11 M^beta_11)`` is
    linear in ``S``.  So the whole phase diagram follows from 1-D functions:

    * 2-D map (shape ``(n_a, n_b)``, ``[i, j] = (kappa_a[i], kappa_b[j])``): ``tc_s``,
      ``tc_d`` (eV), ``leading`` (1 s+-, 2 d, 0 none), and at ``T = 0`` the free energies
      ``f_s``, ``f_d`` of the states solved in each channel (0 where the channel has no
      solution) and ``ground`` (1 s+-, 2 d, by the lower free energy);
    * boundary at T_c: for each ``P`` in ``P_values`` (default: 0 ... max P of the
      map), ``S_tc(P) = 1 / lambda_d(T_c^s(P); S = 1)``, the ``S`` above which d has the
      higher T_c (exact up to the T_c bisection);
    * boundary at T = 0: ``S_f0(P)``, where ``f_d(S) = f_s(P)``, by linear
      interpolation of ``f_d`` on ``S_values`` (default: 61 points on [0, 1.5 max S of
      the map]); NaN where it lies outside ``S_values``;
    * the boundary as points of the plane: ``kappa_a = (S + sqrt(S^2 - 4P))/2``,
      ``kappa_b = P / kappa_a`` (``boundary_tc_kappa_a/_b``, ``boundary_f0_kappa_a/_b``);
      NaN where ``S^2 < 4 P`` (then the s+- state wins even at ``kappa_a = kappa_b``).
    * 1-D scans: ``P_values``, ``tc_s_of_P``, ``f_s_of_P``; ``S_values``,
      ``tc_d_of_S``, ``f_d_of_S``; and ``V``, ``mu``.
    """
    require_x64()
    ka = np.atleast_1d(np.asarray(kappa_a_values, dtype=float))
    kb = np.atleast_1d(np.asarray(kappa_b_values, dtype=float))
    bp = _bands_at(n_c, bands, grid)
    dos = dos_fermi(bp, grid)
    V = float(lam) / math.sqrt(float(dos.N_alpha) * float(dos.N_beta))

    def mk(a, b):
        return TriplonParams(bands=bp, V=V, kappa_a=float(a), kappa_b=float(b), omega=omega, T=0.0, cutoff=cutoff)

    # one batch: the 2-D map, then the 1-D scans in P (kappa_a = P, kappa_b = 1: the s+-
    # channel sees only P) and in S (kappa_a = S, kappa_b = 0: the d channel sees only S)
    Pmax = float(np.max(ka[:, None] * kb[None, :]))
    Smax = float(np.max(ka[:, None] + kb[None, :]))
    P = np.linspace(0.0, Pmax, 25) if P_values is None else np.atleast_1d(np.asarray(P_values, dtype=float))
    S = np.linspace(0.0, 1.5 * Smax, 61) if S_values is None else np.atleast_1d(np.asarray(S_values, dtype=float))
    ps = [mk(a, b) for a in ka for b in kb] + [mk(x, 1.0) for x in P] + [mk(x, 0.0) for x in S]
    out = _run_batch(ps, grid, ("s", "d"), with_tc=True, batch_size=batch_size)
    n2 = len(ka) * len(kb)
    iP = slice(n2, n2 + len(P))
    iS = slice(n2 + len(P), None)
    shape = (len(ka), len(kb))
    tc_s = out["tc"]["tc_s"][:n2].reshape(shape)
    tc_d = out["tc"]["tc_d"][:n2].reshape(shape)
    f_s = out["s"]["free_energy"][:n2].reshape(shape)
    f_d = out["d"]["free_energy"][:n2].reshape(shape)
    ground = np.where(np.minimum(f_s, f_d) < 0, np.where(f_d < f_s, 2, 1), 0)
    tc_s_P = out["tc"]["tc_s"][iP]
    f_s_P = out["s"]["free_energy"][iP]
    tc_d_S = out["tc"]["tc_d"][iS]
    f_d_S = out["d"]["free_energy"][iS]

    # T_c boundary: lambda_d is linear in S, so S_tc = 1 / lambda_d(T_c^s; S = 1)
    kx, ky = Square(grid).momenta()
    g = make_grid(mk(1.0, 0.0), kx, ky)
    lam_d1 = jax.jit(jax.vmap(lambda T: channel_eigenvalues(T, mk(1.0, 0.0), g)[1]))(jnp.asarray(tc_s_P))
    S_tc = 1.0 / np.asarray(lam_d1)

    # T = 0 boundary: f_d(S) is non-increasing; interpolate f_d(S) = f_s(P)
    S_f0 = np.full(P.shape, np.nan)
    for i, f in enumerate(f_s_P):
        below = np.nonzero(f_d_S < f)[0]
        if below.size == 0:
            continue
        j = below[0]
        if j == 0:
            S_f0[i] = S[0]
            continue
        f0, f1 = f_d_S[j - 1], f_d_S[j]
        S_f0[i] = S[j - 1] + (f - f0) * (S[j] - S[j - 1]) / (f1 - f0)

    def to_plane(Sb):
        disc = Sb**2 - 4.0 * P
        with np.errstate(invalid="ignore"):
            a = np.where(disc >= 0, 0.5 * (Sb + np.sqrt(np.where(disc >= 0, disc, 0.0))), np.nan)
            b = np.where(a > 0, P / np.where(a > 0, a, 1.0), np.where(disc >= 0, 0.0, np.nan))
        return a, b

    bta, btb = to_plane(S_tc)
    bfa, bfb = to_plane(S_f0)
    return {
        "kappa_a": ka,
        "kappa_b": kb,
        "lam": np.asarray(float(lam)),
        "n_c": np.asarray(float(n_c)),
        "V": np.asarray(V),
        "mu": np.asarray(float(bp.mu)),
        "tc_s": tc_s,
        "tc_d": tc_d,
        "leading": out["tc"]["leading"][:n2].reshape(shape),
        "f_s": f_s,
        "f_d": f_d,
        "ground": ground,
        "converged_s": out["s"]["converged"][:n2].reshape(shape),
        "converged_d": out["d"]["converged"][:n2].reshape(shape),
        "converged_scans": out["s"]["converged"][iP].all() & out["d"]["converged"][iS].all(),
        "P_values": P,
        "tc_s_of_P": tc_s_P,
        "f_s_of_P": f_s_P,
        "S_values": S,
        "tc_d_of_S": tc_d_S,
        "f_d_of_S": f_d_S,
        "S_tc": S_tc,
        "S_f0": S_f0,
        "boundary_tc_kappa_a": bta,
        "boundary_tc_kappa_b": btb,
        "boundary_f0_kappa_a": bfa,
        "boundary_f0_kappa_b": bfb,
    }


# --------------------------------------------------------------------------
# (d) 2 Delta / k_B T_c


def gap_ratio_2delta_over_tc(
    n_c=0.45,
    lams=(0.3, 0.5),
    kappas=(0.75, 0.0),
    omega=0.3,
    grid: int = 512,
    *,
    cutoff: str = "sharp",
    bands: BandParams | None = None,
    batch_size: int = 1,
) -> dict:
    r"""``2 Delta(T=0) / k_B T_c`` per Fermi sheet for the channel with the higher T_c.

    ``kappa_a = kappa_b = kappa`` for each ``kappa`` in ``kappas`` (axis 0) and each
    ``lambda`` in ``lams`` (axis 1).  ``T_c`` from the linearised gap equation
    (:func:`~jaxnickel.triplon.tc.critical_temperatures`), the gaps from the ``T = 0``
    solution in the leading channel.  Returns ``tc`` (eV), ``tc_kelvin``, ``tc_s``,
    ``tc_d``, ``leading`` (1 s+-, 2 d), ``ground`` (the channel of lower free energy at
    T = 0), the gaps ``delta_{alpha,beta}_{max,min,diag}`` (eV; max/min of ``|Delta|``
    over the sheet, diag on the zone diagonal), ``converged`` (of the leading-channel
    solve) and ``ratio_{alpha,beta}_{max,diag}``
    ``= 2 Delta / k_B T_c``, ``ratio_geo_diag`` ``= 2 sqrt(Delta_alpha Delta_beta) / k_B
    T_c`` on the diagonal, and ``bcs = 2 pi e^{-gamma_E} = 3.528``.
    """
    require_x64()
    lams = np.atleast_1d(np.asarray(lams, dtype=float))
    kappas = np.atleast_1d(np.asarray(kappas, dtype=float))
    bp = _bands_at(n_c, bands, grid)
    dos = dos_fermi(bp, grid)
    Vs = lams / math.sqrt(float(dos.N_alpha) * float(dos.N_beta))
    ps = [
        TriplonParams(bands=bp, V=V, kappa_a=k, kappa_b=k, omega=omega, T=0.0, cutoff=cutoff)
        for k in kappas
        for V in Vs
    ]
    out = _run_batch(ps, grid, ("s", "d"), with_tc=True, batch_size=batch_size)
    shape = (len(kappas), len(lams))
    lead = out["tc"]["leading"]
    tc = np.maximum(out["tc"]["tc_s"], out["tc"]["tc_d"])
    pick = lead[:, None] == 2

    def sel(key):
        s, d = out["s"][key], out["d"][key]
        return np.where(pick if s.ndim == 2 else pick[:, 0], d, s)

    coeff = sel("coefficients")
    fa, fb = sel("delta_alpha_fs"), sel("delta_beta_fs")
    da_diag, db_diag = np.abs(coeff[:, 0]), np.abs(coeff[:, 3])
    res = {
        "n_c": np.asarray(float(n_c)),
        "lam": lams,
        "kappa": kappas,
        "V": Vs,
        "tc": tc.reshape(shape),
        "tc_kelvin": (tc / K_B).reshape(shape),
        "tc_s": out["tc"]["tc_s"].reshape(shape),
        "tc_d": out["tc"]["tc_d"].reshape(shape),
        "leading": lead.reshape(shape),
        "ground": np.where(out["d"]["free_energy"] < out["s"]["free_energy"], 2, 1).reshape(shape),
        "delta_alpha_max": _sheet_max(fa).reshape(shape),
        "delta_alpha_min": _sheet_min(fa).reshape(shape),
        "delta_alpha_diag": da_diag.reshape(shape),
        "delta_beta_max": _sheet_max(fb).reshape(shape),
        "delta_beta_min": _sheet_min(fb).reshape(shape),
        "delta_beta_diag": db_diag.reshape(shape),
        "converged": sel("converged").reshape(shape),
        "bcs": np.asarray(BCS_RATIO),
    }
    tcs = res["tc"]
    for b in ("alpha", "beta"):
        for w in ("max", "diag"):
            res[f"ratio_{b}_{w}"] = 2.0 * res[f"delta_{b}_{w}"] / tcs
    res["ratio_geo_diag"] = 2.0 * np.sqrt(res["delta_alpha_diag"] * res["delta_beta_diag"]) / tcs
    return res
