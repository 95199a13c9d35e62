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

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from ..results import RESULTS, classify, describe
from .bands import dispersion, fermi_rays_all, form_factors
from .params import K_B, TriplonParams

__all__ = [
    "TriplonSolution",
    "build_solution",
    "load_solution",
    "pocket_centers",
    "fermi_surface_gaps",
    "N_THETA",
    "FILE_FORMAT",
]

#: units of :meth:`TriplonSolution.summary`: every key whose unit could be mistaken carries it as a
#: suffix (``_eV``, ``_meV``, ``_per_eV``, ``_deg``; the CLI adds ``_kelvin``); band and coupling
#: energies are in eV as on input, gaps and free energies in meV.  ``params`` (the input record,
#: ``TriplonParams.to_dict``, read back by ``from_dict``) keeps its field names: eV, ``T_kelvin`` in K.
SUMMARY_UNITS = {
    "params": "eV (V, omega, T, bands); T_kelvin: K; kappa_a, kappa_b dimensionless",
    "n_alpha, n_beta, n_c": "electrons per Ni",
    "lambda, gap_ratio, lambda_s_linearized, lambda_d_linearized": "dimensionless",
}

#: points of the Fermi-surface angle grid on [0, pi/2] (a quadrant holds everything by C4v)
N_THETA = 91


class TriplonSolution(eqx.Module):
    """Mean-field state of the triplon model (energies in eV, temperature in eV).

    * ``channel``: 0 normal, 1 s+- (A1g), 2 d (B1g), 3 s+id (time-reversal broken:
      a relative phase between the s+- and d components) (see ``CHANNEL_NAMES``).
    * Gauge: the global phase is fixed so that ``c_alpha0`` (or, without an s part,
      ``c_alpha1``) is real and positive; a real state has zero imaginary parts.
    * ``delta_alpha``, ``delta_beta``: gaps on the k-grid (flattened ``grid x grid``,
      C order), real parts, signed; ``delta_alpha_imag``, ``delta_beta_imag`` their
      imaginary parts (properties, built from the coefficients on access: :meth:`grid_gaps`);
      ``coefficients``: real parts of ``(c_alpha, c_beta)`` in the
      basis ``w(xi)(1, eta, eta^2)``, ``coefficients_imag`` the imaginary parts
      (:attr:`complex_coefficients` joins them as 12 reals ``(Re c, Im c)``).
    * ``theta``: Fermi-surface angles on ``[0, pi/2]``; ``delta_alpha_fs``,
      ``delta_beta_fs``: signed gaps there (real parts; NaN where the sheet is not a
      pocket), ``*_fs_imag`` the imaginary parts.
    * ``s_amplitude``, ``d_amplitude``: largest ``|s part|`` (``c0 + c2 eta^2``) and
      ``|d part|`` (``c1 eta``) of the gap on the two Fermi sheets (eV);
      ``relative_phase``: ``arg(c_alpha1 / c_alpha0)`` of the d part relative to the s
      part (rad; ``+-pi/2`` for s+id, NaN unless both parts are present);
      ``time_reversal_broken``: the state is not real in any gauge.
    * ``hessian_min`` (``_real``, ``_imag``): smallest eigenvalue of the free energy's
      Hessian in coefficient space with the gauge mode removed (and of its real and
      imaginary blocks), 1/eV (:mod:`~jaxnickel.triplon.stability`); ``stable``:
      a local minimum (for the normal state: linearised eigenvalues <= 1).
    * ``free_energy``: condensation free energy ``f - f_normal`` per unit cell (eV).
    * ``lambda_s``, ``lambda_d``: leading eigenvalues of the linearised kernel at T
      (> 1: the normal state is unstable in that channel).
    * Shapes (jaxtyping): ``N = grid**2`` k points, ``n_theta = N_THETA`` Fermi-surface
      angles; ``*batch`` is empty for one solve and the scan's shape for a vmapped one.
    * ``converged`` / ``iterations`` / ``residual`` (``max |Delta - RHS of Eq. 14|``, eV);
      ``result``: the code in :class:`jaxnickel.RESULTS` (``converged == (result == 0)``).
    """

    params: TriplonParams
    grid: int = eqx.field(static=True)
    method: str = eqx.field(static=True)
    channel: Int[Array, "*batch"]
    coefficients: Float[Array, "*batch 6"]
    coefficients_imag: Float[Array, "*batch 6"]
    theta: Float[Array, "*batch n_theta"]
    delta_alpha_fs: Float[Array, "*batch n_theta"]
    delta_beta_fs: Float[Array, "*batch n_theta"]
    delta_alpha_fs_imag: Float[Array, "*batch n_theta"]
    delta_beta_fs_imag: Float[Array, "*batch n_theta"]
    kx_alpha_fs: Float[Array, "*batch n_theta"]
    ky_alpha_fs: Float[Array, "*batch n_theta"]
    kx_beta_fs: Float[Array, "*batch n_theta"]
    ky_beta_fs: Float[Array, "*batch n_theta"]
    free_energy: Float[Array, "*batch"]
    lambda_s: Float[Array, "*batch"]
    lambda_d: Float[Array, "*batch"]
    converged: Bool[Array, "*batch"]
    result: Int[Array, "*batch"]
    iterations: Int[Array, "*batch"]
    residual: Float[Array, "*batch"]
    time_reversal_broken: Bool[Array, "*batch"]
    s_amplitude: Float[Array, "*batch"]
    d_amplitude: Float[Array, "*batch"]
    relative_phase: Float[Array, "*batch"]
    hessian_min: Float[Array, "*batch"]
    hessian_min_real: Float[Array, "*batch"]
    hessian_min_imag: Float[Array, "*batch"]
    stable: Bool[Array, "*batch"]
    #: what the solve summed over (:mod:`~jaxnickel.triplon.kpoints`), e.g. the C4v wedge and the pairing shell.
    #: Static (part of the pytree structure): solutions from different point sets do not stack or
    #: ``jnp.where`` into one another; batch solves with one ``shell_points``.
    reduction: str = eqx.field(static=True, default="full zone")
    #: number of k points the solve summed over (after the reduction, incl. padding)
    k_points: int = eqx.field(static=True, default=0)

    def grid_gaps(self) -> jax.Array:
        """``(Re Delta_alpha, Re Delta_beta, Im Delta_alpha, Im Delta_beta)`` on the full grid, ``(*batch, 4, N)`` (eV).

        Not stored: the gaps are ``w_b(xi_b(k)) (c_b0 + c_b1 eta_k + c_b2 eta_k^2)`` exactly, so they
        are built from the 12 coefficients and the bands on access (one fused pass,
        :func:`~jaxnickel.triplon.kpoints.grid_gaps`).  Writing four ``N``-arrays in every solve
        cost more than the solve itself at ``1024^2``; a vmapped scan keeps ``O(1)`` per point.
        """
        return _grid_gaps(self.params, self.grid, self.complex_coefficients)

    delta_alpha = property(lambda self: self.grid_gaps()[..., 0, :], doc="Re of the alpha gap on the k-grid (eV).")
    delta_beta = property(lambda self: self.grid_gaps()[..., 1, :], doc="Re of the beta gap on the k-grid (eV).")
    delta_alpha_imag = property(lambda self: self.grid_gaps()[..., 2, :], doc="Im of the alpha gap on the k-grid (eV).")
    delta_beta_imag = property(lambda self: self.grid_gaps()[..., 3, :], doc="Im of the beta gap on the k-grid (eV).")

    @property
    def complex_coefficients(self) -> jax.Array:
        """The 12 reals ``(Re c, Im c)`` of the gap coefficients (warm start of a complex solve)."""
        return jnp.concatenate([self.coefficients, self.coefficients_imag], axis=-1)

    def abs_gap_fs(self, band: str) -> np.ndarray:
        """``|Delta|`` on the Fermi sheet ``band`` ("alpha" or "beta") at :attr:`theta` (eV)."""
        re = np.asarray(getattr(self, f"delta_{band}_fs"))
        im = np.asarray(getattr(self, f"delta_{band}_fs_imag"))
        return np.hypot(re, im)

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
        for b in ("alpha", "beta"):
            a = self.abs_gap_fs(b)
            ok = np.isfinite(a)
            ext[f"abs_delta_{b}_max"] = float(a[ok].max()) if ok.any() else float("nan")
            ext[f"abs_delta_{b}_min"] = float(a[ok].min()) if ok.any() else float("nan")
        out = {
            "mu_eV": float(bp.mu),
            "n_alpha": float(n_a),
            "n_beta": float(n_b),
            "n_c": float(n_a + n_b),
            **{f"{k}_per_eV": v for k, v in dos.to_dict().items()},
            "lambda": float(self.params.V * np.sqrt(float(dos.N_alpha) * float(dos.N_beta))),
            "V_eV": float(self.params.V),
            "channel": CHANNEL_NAMES[int(self.channel)],
        }
        for key, val in ext.items():
            out[f"{key}_meV"] = 1e3 * val
        i = (N_THETA - 1) // 2
        out["delta_alpha_diagonal_meV"] = 1e3 * float(np.asarray(self.delta_alpha_fs)[i])
        out["delta_beta_diagonal_meV"] = 1e3 * float(np.asarray(self.delta_beta_fs)[i])
        out["gap_ratio"] = self.gap_ratio if int(self.channel) == 1 else float("nan")
        out["time_reversal_broken"] = bool(self.time_reversal_broken)
        out["s_amplitude_meV"] = 1e3 * float(self.s_amplitude)
        out["d_amplitude_meV"] = 1e3 * float(self.d_amplitude)
        out["relative_phase_deg"] = float(np.degrees(float(self.relative_phase)))
        out["hessian_min_per_eV"] = float(self.hessian_min)
        out["hessian_min_real_per_eV"] = float(self.hessian_min_real)
        out["hessian_min_imag_per_eV"] = float(self.hessian_min_imag)
        out["stable"] = bool(self.stable)
        out["free_energy_meV"] = 1e3 * float(self.free_energy)
        out["lambda_s_linearized"] = float(self.lambda_s)
        out["lambda_d_linearized"] = float(self.lambda_d)
        out["converged"] = bool(self.converged)
        out["result"] = RESULTS(int(self.result)).name
        out["message"] = describe(self.result)
        out["iterations"] = int(self.iterations)
        out["residual_eV"] = float(self.residual)
        out["method"] = self.method
        out["grid"] = self.grid
        out["reduction"] = self.reduction
        out["k_points"] = self.k_points
        out["params"] = self.params.to_dict()
        out["units"] = SUMMARY_UNITS
        return out

    def to_xarray(self):
        """The solution as an :class:`xarray.Dataset` with momentum and Fermi-surface coordinates.

        Grid gaps (real and imaginary parts, eV) on dims ``("kx", "ky")`` with
        ``k = 2 pi i / grid``; Fermi-surface gaps and points along ``theta`` (rad, around
        Gamma for alpha, around M for beta); gap coefficients on ``("sheet", "power")``
        (basis ``w(xi) eta^power``); the scalar fields as 0-d variables; attrs: the
        parameters (``params.V``, ``params.bands.t1``, ...), grid, method, state and
        provenance, all netCDF-safe.
        """
        import xarray as xr

        from ..provenance import flat_attrs, provenance

        if np.ndim(self.free_energy) != 0:
            raise ValueError(
                "to_xarray() converts one solution; a batched (vmapped) one is a sweep: use jaxnickel.sweep"
            )
        n = self.grid
        k = 2.0 * np.pi * np.arange(n) / n
        coords = {"kx": k, "ky": k, "theta": np.asarray(self.theta), "sheet": ["alpha", "beta"], "power": [0, 1, 2]}
        data = {}
        gaps = np.asarray(self.grid_gaps())
        for i, name in enumerate(GRID_GAPS):
            data[name] = (("kx", "ky"), gaps[i].reshape(n, n))
        for name in (
            "delta_alpha_fs",
            "delta_beta_fs",
            "delta_alpha_fs_imag",
            "delta_beta_fs_imag",
            "kx_alpha_fs",
            "ky_alpha_fs",
            "kx_beta_fs",
            "ky_beta_fs",
        ):
            data[name] = (("theta",), np.asarray(getattr(self, name)))
        data["coefficients"] = (("sheet", "power"), np.asarray(self.coefficients).reshape(2, 3))
        data["coefficients_imag"] = (("sheet", "power"), np.asarray(self.coefficients_imag).reshape(2, 3))
        for name in (
            "channel",
            "free_energy",
            "lambda_s",
            "lambda_d",
            "converged",
            "result",
            "iterations",
            "residual",
            "time_reversal_broken",
            "s_amplitude",
            "d_amplitude",
            "relative_phase",
            "hessian_min",
            "hessian_min_real",
            "hessian_min_imag",
            "stable",
        ):
            data[name] = ((), np.asarray(getattr(self, name)))
        ds = xr.Dataset(data, coords=coords)
        for name in ("kx", "ky", "theta", "relative_phase"):
            ds[name].attrs["units"] = "rad"
        for name in data:
            if name.startswith(("delta_", "coefficients", "s_amp", "d_amp", "free_energy", "residual")):
                ds[name].attrs["units"] = "eV"
        ds["channel"].attrs["meaning"] = self.channel_name
        ds["result"].attrs["meaning"] = RESULTS(int(self.result)).name
        ds.attrs = flat_attrs(
            {
                "model": "triplon two-band s+- mean field (paper 001)",
                "method": self.method,
                "grid": n,
                "reduction": self.reduction,
                "k_points": self.k_points,
                "channel": self.channel_name,
                "params": self.params.to_dict(),
                **{k: v for k, v in provenance().items() if not k.startswith("input")},
            }
        )
        return ds

    def save(self, path):
        """Write the solution to a ``.npz`` file (format ``FILE_FORMAT``; read with :func:`load_solution`).

        One array per field plus ``__meta__`` (JSON: format, params, grid, method,
        version, git revision, date); written beside the target and renamed into place.
        """
        from ..provenance import atomic_savez, provenance

        meta = {
            "format": FILE_FORMAT,
            "params": self.params.to_dict(),
            "grid": self.grid,
            "method": self.method,
            "reduction": self.reduction,
            "k_points": self.k_points,
            **{k: v for k, v in provenance().items() if not k.startswith("input")},
        }
        arrays = {name: np.asarray(getattr(self, name)) for name in _array_fields()}
        gaps = np.asarray(self.grid_gaps())
        arrays.update({name: gaps[..., i, :] for i, name in enumerate(GRID_GAPS)})  # the file keeps the grid gaps
        return atomic_savez(path, meta, arrays)

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


#: ``.npz`` format of :meth:`TriplonSolution.save`
FILE_FORMAT = "jaxnickel-triplon-solution/1"

#: the k-grid gaps: properties of the solution (built from the coefficients), arrays in its file
GRID_GAPS = ("delta_alpha", "delta_beta", "delta_alpha_imag", "delta_beta_imag")


@functools.partial(jax.jit, static_argnums=1)
def _grid_gaps(p: TriplonParams, n: int, r):
    from .kpoints import grid_gaps

    batch = r.shape[:-1]
    if not batch:
        return grid_gaps(p, n, r)
    size = math.prod(batch)
    flat_p = jax.tree_util.tree_map(lambda x: jnp.reshape(jnp.broadcast_to(x, batch), (size,)), p)
    out = jax.vmap(lambda q, c: grid_gaps(q, n, c))(flat_p, jnp.reshape(r, (size, 12)))
    return jnp.reshape(out, (*batch, 4, n * n))


def _array_fields() -> tuple[str, ...]:
    import dataclasses

    skip = ("params", "grid", "method", "reduction", "k_points")
    return tuple(f.name for f in dataclasses.fields(TriplonSolution) if f.name not in skip)


def load_solution(path) -> TriplonSolution:
    """Load a solution written by :meth:`TriplonSolution.save`."""
    from ..provenance import check_stored_state, read_npz

    meta, data = read_npz(
        path, FILE_FORMAT, "triplon solution", _array_fields() + GRID_GAPS, meta_keys=("params", "grid", "method")
    )
    check_stored_state(
        path, "triplon solution", data, "converged", ("free_energy", "residual", "delta_alpha", "delta_beta")
    )
    fields = {name: jnp.asarray(data[name]) for name in _array_fields()}  # the grid gaps follow from them
    try:
        params = TriplonParams.from_dict(meta["params"])
        grid = int(meta["grid"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: damaged triplon solution file: bad params or grid record ({e})") from None
    # files written before the reduced k-point sets were full-zone solves
    try:
        extra = {
            "reduction": str(meta.get("reduction", f"full zone ({grid * grid} points)")),
            "k_points": int(meta.get("k_points", grid * grid)),
        }
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: damaged triplon solution file: bad reduction record ({e})") from None
    return TriplonSolution(params=params, grid=grid, method=meta["method"], **fields, **extra)


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


def fermi_surface_points(bands, theta):
    """``(kx, ky)``, each ``(2 sheets, len(theta))``: both sheets at Fermi-surface angles ``theta``.

    Each sheet's angle is measured around its pocket's centre (Gamma or M, from
    :func:`~jaxnickel.triplon.bands.pocket_centers`); NaN where the sheet is not a pocket
    around either.  One bisection loop for both sheets and both centres
    (:func:`~jaxnickel.triplon.bands.fermi_rays_all`).
    """
    centers = pocket_centers(bands)
    kf = fermi_rays_all(bands, theta, 256, 80)  # (centre, band, theta)
    c, s = jnp.cos(theta), jnp.sin(theta)
    kxs, kys = [], []
    for b in (0, 1):
        center = centers[b]
        kx_g, ky_g = kf[0, b] * c, kf[0, b] * s
        kx_m, ky_m = math.pi + kf[1, b] * c, math.pi + kf[1, b] * s
        kxs.append(jnp.where(center == 0, kx_g, jnp.where(center == 1, kx_m, jnp.nan)))
        kys.append(jnp.where(center == 0, ky_g, jnp.where(center == 1, ky_m, jnp.nan)))
    return jnp.stack(kxs), jnp.stack(kys)


def _gap_at(coeffs_b, kx, ky):
    eta = form_factors(kx, ky)[3]
    return coeffs_b[0] + coeffs_b[1] * eta + coeffs_b[2] * eta**2


def fermi_surface_gaps(p, coeffs_b, band, theta):
    """Gap ``c0 + c1 eta + c2 eta^2`` of sheet ``band`` (0/1) at Fermi-surface angles ``theta``.

    Returns ``(gap, kx, ky)``; NaN where the sheet is not a pocket around Gamma or M.
    Shared by the solution, the synthetic data and the fitter.
    """
    kx, ky = fermi_surface_points(p.bands, theta)
    return _gap_at(coeffs_b, kx[band], ky[band]), kx[band], ky[band]


#: a state is complex (time-reversal broken) when ``max |Im c| > TRB_TOL max |c|`` in the canonical gauge
TRB_TOL = 1e-6


def build_solution(
    p,
    n,
    r,
    *,
    free_energy,
    method,
    lambdas,
    iterations,
    residual,
    converged,
    stab,
    normal_stable,
    result=None,
    reduction: str = "full zone",
    k_points: int = 0,
):
    """Assemble a :class:`TriplonSolution` from the gap coefficients ``r = (Re c, Im c)``
    (12 reals, canonical gauge: see :func:`~jaxnickel.triplon.solve.canonical_gauge`).

    The k-grid gaps are not stored: :meth:`TriplonSolution.grid_gaps` builds them from ``r``
    on the full ``n x n`` grid whatever set the solve summed over (``reduction`` and
    ``k_points`` record it)."""
    ca, cb, ia, ib = r[0:3], r[3:6], r[6:9], r[9:12]
    scale = jnp.max(jnp.abs(r))
    s_size = jnp.abs(ca[0]) + jnp.abs(ca[2]) + jnp.abs(cb[0]) + jnp.abs(cb[2]) + jnp.abs(ia[0]) + jnp.abs(ia[2])
    s_size = s_size + jnp.abs(ib[0]) + jnp.abs(ib[2])
    d_size = jnp.abs(ca[1]) + jnp.abs(cb[1]) + jnp.abs(ia[1]) + jnp.abs(ib[1])
    is_d = d_size > s_size
    trb = (jnp.max(jnp.abs(r[6:])) > TRB_TOL * scale) & (scale > 0)
    theta = jnp.linspace(0.0, 0.5 * jnp.pi, N_THETA)
    kx, ky = fermi_surface_points(p.bands, theta)  # both sheets, one bisection loop
    kxa, kya, kxb, kyb = kx[0], ky[0], kx[1], ky[1]
    ga, gb = _gap_at(ca, kxa, kya), _gap_at(cb, kxb, kyb)
    gai, gbi = _gap_at(ia, kxa, kya), _gap_at(ib, kxb, kyb)

    def part_max(kx, ky, re, im, idx):
        eta = form_factors(kx, ky)[3]
        pw = jnp.stack([jnp.ones_like(eta), eta, eta**2])
        mask = jnp.zeros(3).at[jnp.asarray(idx)].set(1.0)
        a = jnp.hypot((re * mask) @ pw, (im * mask) @ pw)
        return jnp.max(jnp.where(jnp.isfinite(a), a, 0.0))

    s_amp = jnp.maximum(part_max(kxa, kya, ca, ia, (0, 2)), part_max(kxb, kyb, cb, ib, (0, 2)))
    d_amp = jnp.maximum(part_max(kxa, kya, ca, ia, (1,)), part_max(kxb, kyb, cb, ib, (1,)))
    both = (s_amp > TRB_TOL * scale) & (d_amp > TRB_TOL * scale) & (scale > 0)
    # arg(c_alpha1 conj(c_alpha0))
    xr = ca[1] * ca[0] + ia[1] * ia[0]
    xi = ia[1] * ca[0] - ca[1] * ia[0]
    phase = jnp.where(both, jnp.arctan2(xi, xr), jnp.nan)
    channel = jnp.where(scale == 0, 0, jnp.where(trb, 3, jnp.where(is_d, 2, 1)))
    stable = jnp.where(scale == 0, normal_stable, ~stab.unstable)
    return TriplonSolution(
        params=p,
        grid=n,
        method=method,
        channel=channel,
        coefficients=jnp.concatenate([ca, cb]),
        coefficients_imag=jnp.concatenate([ia, ib]),
        theta=theta,
        delta_alpha_fs=ga,
        delta_beta_fs=gb,
        delta_alpha_fs_imag=gai,
        delta_beta_fs_imag=gbi,
        kx_alpha_fs=kxa,
        ky_alpha_fs=kya,
        kx_beta_fs=kxb,
        ky_beta_fs=kyb,
        free_energy=free_energy,
        lambda_s=lambdas[0],
        lambda_d=lambdas[1],
        converged=jnp.asarray(converged),
        result=jnp.asarray(classify(converged, residual) if result is None else result, dtype=jnp.int32),
        iterations=jnp.asarray(iterations),
        residual=jnp.asarray(residual),
        time_reversal_broken=trb,
        s_amplitude=s_amp,
        d_amplitude=d_amp,
        relative_phase=phase,
        hessian_min=stab.hessian_min,
        hessian_min_real=stab.hessian_min_real,
        hessian_min_imag=stab.hessian_min_imag,
        stable=stable,
        reduction=reduction,
        k_points=int(k_points) if k_points else int(n * n),
    )


def kelvin(T_ev):
    """eV -> K."""
    return T_ev / K_B
