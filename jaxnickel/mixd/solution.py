"""The mean-field ground state and its observables (paper 000, Eqs. 10-12, B11-B13).

:class:`MixDSolution` is an ``equinox.Module`` (a pytree): solves can be
``vmap``-ed and the result still is one object with batched fields.  It is built
from the variational state ``(theta_k, beta, mu_h)`` by :func:`build_solution`,
for either solver, so both are reported through the same formulas.
"""

from __future__ import annotations

import math
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from ..lattice import high_symmetry_points, lattice_from_dict, pair_basis
from ..results import RESULTS, classify, describe
from .energy import bogoliubov, energy_b9, energy_from_sums, hole_number, lagrangian_b9, mean_fields, moments
from .energy import kernel_strength as kernel_strength_of
from .params import MixDParams

__all__ = [
    "MixDSolution",
    "build_solution",
    "build_solution_wedge",
    "build_solution_fixed_point",
    "load_solution",
    "FILE_FORMAT",
    "SCALAR_FIELDS",
]

#: fine grids for the continuous-k quantities (k* search, L -> infinity O_BCS)
FINE_1D = 4096
FINE_2D = 256

FILE_FORMAT = "jaxnickel-mixd-solution/1"

#: the scalar fields of :class:`MixDSolution` (what ``summary()``, scans and sweeps keep)
SCALAR_FIELDS = (
    "energy",
    "energy_minus_background",
    "N_sc",
    "N_cc",
    "sc_minus_2cc_fraction",
    "beta",
    "mu",
    "order_bec",
    "order_bcs",
    "order_bcs_continuum",
    "binding_energy",
    "binding_energy_continuum",
    "delta_at_kmin",
    "delta_at_kmin_continuum",
    "converged",
    "result",
    "iterations",
    "residual",
    "stationarity",
    "hole_number_error",
)
_ARRAYS = ("k", "theta", "delta", "xi", "E", "u", "v", "moments", "k_min", "k_min_continuum", "delta_high_symmetry")
#: the k-resolved fields, in the order of ``MixDSolution.k_fields``
_K_FIELDS = ("theta", "delta", "xi", "E", "u", "v")


class MixDSolution(eqx.Module):
    """Mean-field ground state of the MixD+V model.

    Energies in the units of the couplings.  ``k`` has shape ``(d, N)`` (the
    flattened grid of ``lattice``); k-resolved arrays have shape ``(N,)``.

    * ``energy``: Eq. (B9) at the solution (the multiplier term vanishes);
      ``energy_minus_background``: ``E - J N_sc - (V + J) N_cc`` (Fig. 4 right).
    * ``N_sc = 2 sum_k v_k^2``, ``N_cc = beta^2``; ``sc_minus_2cc_fraction =
      (N_sc - 2 N_cc) / N_h`` (Fig. 3).
    * ``order_bec = sqrt(N_cc / N)`` (Eq. 11), ``order_bcs = <|Delta|/E>`` (Eq. 12);
      ``order_bcs_continuum``: the ``L -> infinity`` integral of Eq. (12) with
      this solution's mean fields (fine grid of 4096 / 256^2 points).
    * ``binding_energy = 2 min_k E_k`` on the grid (Sec. III, Eq. C1) and
      ``binding_energy_continuum`` over continuous k; ``delta_at_kmin`` is
      ``Delta`` at ``k* = argmin E_k`` (Fig. 5); ``k_min`` is k*.
    * ``delta_high_symmetry``: Delta at ``(0, pi)`` in 1D, at ``(G, X, M)`` in 2D.
    * Shapes (jaxtyping): ``N`` k points of the lattice, ``d`` its dimension;
      ``*batch`` is empty for one solve and the scan's shape for a vmapped one.
    * ``converged`` / ``iterations`` / ``residual`` of the method used; ``result``:
      its code in :class:`jaxnickel.RESULTS` (``converged == (result == 0)``);
      ``stationarity``: max-norm of the autodiff gradient of the Lagrangian
      (B9) (``beta`` component divided by sqrt(N)), the same measure for both
      solvers; ``hole_number_error = |2 sum v^2 + 2 beta^2 - N_h|``.
    """

    params: MixDParams
    lattice: object = eqx.field(static=True)
    method: str = eqx.field(static=True)
    #: the k-resolved fields ``(theta, delta, xi, E, u, v)`` on the stored k set: all ``N``
    #: points, or the quarter zone ``K`` of a symmetric (wedge) solution, which the
    #: properties :attr:`theta` ... :attr:`v` unfold to the full grid on access
    k_fields: Float[Array, "*batch 6 K"]
    moments: Float[Array, "*batch n_moments"]
    energy: Float[Array, "*batch"]
    energy_minus_background: Float[Array, "*batch"]
    N_sc: Float[Array, "*batch"]
    N_cc: Float[Array, "*batch"]
    sc_minus_2cc_fraction: Float[Array, "*batch"]
    beta: Float[Array, "*batch"]
    mu: Float[Array, "*batch"]
    order_bec: Float[Array, "*batch"]
    order_bcs: Float[Array, "*batch"]
    order_bcs_continuum: Float[Array, "*batch"]
    binding_energy: Float[Array, "*batch"]
    binding_energy_continuum: Float[Array, "*batch"]
    delta_at_kmin: Float[Array, "*batch"]
    delta_at_kmin_continuum: Float[Array, "*batch"]
    k_min: Float[Array, "*batch d"]
    k_min_continuum: Float[Array, "*batch d"]
    delta_high_symmetry: Float[Array, "*batch n_sym"]
    converged: Bool[Array, "*batch"]
    result: Int[Array, "*batch"]
    iterations: Int[Array, "*batch"]
    residual: Float[Array, "*batch"]
    stationarity: Float[Array, "*batch"]
    hole_number_error: Float[Array, "*batch"]
    #: what the solve summed over: the full zone or the irreducible wedge of a symmetric state
    reduction: str = eqx.field(static=True, default="full zone")
    #: number of k points the solve summed over (0: the full zone of ``lattice``)
    k_points: int = eqx.field(static=True, default=0)

    # ------------------------------------------------------------ helpers
    @property
    def n_sites(self) -> int:
        return self.lattice.n_sites

    def _field(self, i: int):
        f = self.k_fields[..., i, :]
        if f.shape[-1] == self.lattice.n_sites:
            return f
        from .kpoints import unfold

        return unfold(self.lattice, f)

    @property
    def k(self) -> Float[Array, "d N"]:
        """Momenta ``(d, N)`` of the lattice grid (C order of :meth:`~jaxnickel.lattice.Square.momenta`)."""
        return jnp.stack(self.lattice.momenta())

    @property
    def theta(self) -> Float[Array, "*batch N"]:
        """BCS angles ``theta_k`` on the full grid (``v_k = sin(theta_k/2)``)."""
        return self._field(0)

    @property
    def delta(self) -> Float[Array, "*batch N"]:
        """``Delta_k`` of Eq. (B15) on the full grid."""
        return self._field(1)

    @property
    def xi(self) -> Float[Array, "*batch N"]:
        """``xi_k`` of Eq. (B11, corrected) on the full grid."""
        return self._field(2)

    @property
    def E(self) -> Float[Array, "*batch N"]:
        """Quasiparticle energies ``E_k = sqrt(xi_k^2 + Delta_k^2)`` (Eq. B12) on the full grid."""
        return self._field(3)

    @property
    def u(self) -> Float[Array, "*batch N"]:
        """``u_k = cos(theta_k/2)`` on the full grid."""
        return self._field(4)

    @property
    def v(self) -> Float[Array, "*batch N"]:
        """``v_k = sin(theta_k/2)`` on the full grid."""
        return self._field(5)

    @property
    def high_symmetry_labels(self) -> tuple[str, ...]:
        return tuple(high_symmetry_points(self.lattice))

    def grid(self, name: str) -> np.ndarray:
        """A k-resolved array reshaped to the lattice shape (``(L,)`` or ``(Lx, Ly)``)."""
        return np.asarray(getattr(self, name)).reshape(self.lattice.shape)

    def mean_fields_at(self, k: tuple):
        """``(xi, Delta)`` at arbitrary momenta ``k`` (tuple of arrays), same mean fields."""
        b = self.beta / math.sqrt(self.n_sites)
        return mean_fields(b, self.mu, self.moments, self.params, self.lattice, k=k)

    def summary(self) -> dict:
        """JSON-ready dict of scalars, parameters and ``delta_high_symmetry``."""
        out = {name: _py(getattr(self, name)) for name in SCALAR_FIELDS}
        out["delta_high_symmetry"] = {
            lab: float(v)
            for lab, v in zip(self.high_symmetry_labels, np.asarray(self.delta_high_symmetry), strict=True)
        }
        out["k_min"] = [float(v) for v in np.asarray(self.k_min)]
        out["k_min_continuum"] = [float(v) for v in np.asarray(self.k_min_continuum)]
        out["method"] = self.method
        out["params"] = self.params.to_dict()
        out["lattice"] = self.lattice.to_dict()
        out["n_sites"] = self.n_sites
        out["doping"] = float(self.params.n_holes) / self.n_sites
        out["result"] = RESULTS(out["result"]).name
        out["message"] = describe(self.result)
        out["units"] = {
            "energies": "units of the couplings t, J, V (paper 000: V = 1)",
            "k_min": "rad (lattice constant 1)",
            "N_sc, N_cc, n_holes": "numbers of particles on the whole lattice",
        }
        return out

    def to_xarray(self):
        """The solution as an :class:`xarray.Dataset` with momentum coordinates.

        k-resolved fields (``theta, delta, xi, E, u, v``) on dims ``("k",)`` (ladder) or
        ``("kx", "ky")`` (square; ``k = 2 pi n / L``); the scalars of
        :data:`SCALAR_FIELDS` as 0-d variables; ``delta_high_symmetry`` along
        ``high_symmetry_point``; attrs: parameters (``params.t``, ...), lattice, method
        and provenance (version, git revision, date), all netCDF-safe
        (``ds.to_netcdf(path)`` works as it is).
        """
        import xarray as xr

        from ..provenance import flat_attrs, provenance

        if np.ndim(self.energy) != 0:
            raise ValueError(
                "to_xarray() converts one solution; a batched (vmapped) one is a sweep: use jaxnickel.sweep"
            )
        lat = self.lattice
        if lat.dim == 1:
            kdims = ("k",)
            coords = {"k": 2.0 * np.pi * np.arange(lat.L) / lat.L}
        else:
            kdims = ("kx", "ky")
            coords = {"kx": 2.0 * np.pi * np.arange(lat.Lx) / lat.Lx, "ky": 2.0 * np.pi * np.arange(lat.Ly) / lat.Ly}
        coords["high_symmetry_point"] = list(self.high_symmetry_labels)
        data = {name: (kdims, self.grid(name)) for name in ("theta", "delta", "xi", "E", "u", "v")}
        for name in SCALAR_FIELDS:
            data[name] = ((), np.asarray(getattr(self, name)))
        data["delta_high_symmetry"] = (("high_symmetry_point",), np.asarray(self.delta_high_symmetry))
        data["moments"] = (("moment",), np.asarray(self.moments))
        data["k_min"] = (("axis",), np.asarray(self.k_min))
        data["k_min_continuum"] = (("axis",), np.asarray(self.k_min_continuum))
        ds = xr.Dataset(data, coords=coords)
        for name in ("theta", *kdims):
            ds[name].attrs["units"] = "rad"
        ds["result"].attrs["meaning"] = RESULTS(int(self.result)).name
        ds.attrs = flat_attrs(
            {
                "model": "MixD+V two-channel mean field (paper 000)",
                "method": self.method,
                "params": self.params.to_dict(),
                "lattice": lat.to_dict(),
                **{k: v for k, v in provenance().items() if not k.startswith("input")},
            }
        )
        return ds

    def save(self, path) -> Path:
        """Write all fields to a ``.npz`` file (format ``FILE_FORMAT``, see :func:`load_solution`)."""
        path = Path(path)
        meta = {
            "format": FILE_FORMAT,
            "params": self.params.to_dict(),
            "lattice": self.lattice.to_dict(),
            "method": self.method,
            "jaxnickel_version": _version(),
            "git_revision": _git_revision(),
        }
        arrays = {name: np.asarray(getattr(self, name)) for name in SCALAR_FIELDS + _ARRAYS}
        from ..provenance import atomic_savez

        return atomic_savez(path, meta, arrays)


def load_solution(path) -> MixDSolution:
    """Load a solution written by :meth:`MixDSolution.save`.

    The file is a NumPy ``.npz`` archive: one array per field of
    :class:`MixDSolution` plus ``__meta__``, a JSON string with ``format``,
    ``params``, ``lattice``, ``method``, ``jaxnickel_version``, ``git_revision``.
    """
    from ..provenance import check_stored_state, read_npz

    names = [n for n in SCALAR_FIELDS + _ARRAYS if n != "result"]
    meta, data = read_npz(
        path, FILE_FORMAT, "MixD solution", names, optional=("result",), meta_keys=("params", "lattice", "method")
    )
    check_stored_state(path, "MixD solution", data, "converged", ("energy", "residual", "beta", "mu", "delta"))
    fields = {name: jnp.asarray(data[name]) for name in names if name not in _K_FIELDS and name != "k"}
    fields["k_fields"] = jnp.stack([jnp.asarray(data[name]) for name in _K_FIELDS], axis=-2)
    # files written before result codes existed: successful iff converged
    fields["result"] = (
        jnp.asarray(data["result"])
        if "result" in data
        else jnp.asarray(0 if bool(data["converged"]) else int(RESULTS.max_steps_reached), dtype=jnp.int32)
    )
    try:
        params = MixDParams.from_dict(meta["params"])
        lattice = lattice_from_dict(meta["lattice"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: damaged MixD solution file: bad params or lattice record ({e})") from None
    return MixDSolution(params=params, lattice=lattice, method=meta["method"], **fields)


def _py(x):
    a = np.asarray(x)
    if a.dtype == bool:
        return bool(a)
    if np.issubdtype(a.dtype, np.integer):
        return int(a)
    return float(a)


def _version() -> str:
    from .. import __version__

    return __version__


def _git_revision() -> str | None:
    from ..provenance import git_revision

    return git_revision()


# ---------------------------------------------------------------- building


def _fine_grid(lattice):
    if lattice.dim == 1:
        k = 2.0 * jnp.pi * jnp.arange(FINE_1D) / FINE_1D
        return (k,)
    k1 = 2.0 * jnp.pi * jnp.arange(FINE_2D) / FINE_2D
    KX, KY = jnp.meshgrid(k1, k1, indexing="ij")
    return (KX.reshape(-1), KY.reshape(-1))


def _refine_kmin(k0, b, mu, m, params, lattice):
    """Newton steps on ``E_k^2`` from the fine-grid minimum ``k0``: ``(k*, E(k*), Delta(k*))``."""

    def e2(kvec):
        x, dd = mean_fields(b, mu, m, params, lattice, k=tuple(kvec[a][None] for a in range(lattice.dim)))
        return (x**2 + dd**2)[0]

    def newton(kvec, _):
        g = jax.grad(e2)(kvec)
        h = jax.hessian(e2)(kvec)
        # accept a Newton step only when it is a descent step on a convex patch
        step = jnp.linalg.solve(h + 1e-14 * jnp.eye(lattice.dim), g)
        ok = jnp.all(jnp.linalg.eigvalsh(h) > 0) & (jnp.max(jnp.abs(step)) < 2 * jnp.pi / FINE_2D)
        k_new = jnp.where(ok, kvec - step, kvec)
        k_new = jnp.where(e2(k_new) <= e2(kvec), k_new, kvec)
        return k_new, None

    kmin, _ = jax.lax.scan(newton, k0, None, length=8)
    kmin = jnp.mod(kmin, 2.0 * jnp.pi)
    x, dd = mean_fields(b, mu, m, params, lattice, k=tuple(kmin[a][None] for a in range(lattice.dim)))
    return kmin, jnp.sqrt(x[0] ** 2 + dd[0] ** 2), dd[0]


def _continuum_min(b, mu, m, params, lattice):
    """min over continuous k of E_k: fine-grid search, then Newton steps on E_k^2."""
    kf = _fine_grid(lattice)
    xi, d = mean_fields(b, mu, m, params, lattice, k=kf)
    i = jnp.argmin(xi**2 + d**2)
    k0 = jnp.stack([ka[i] for ka in kf])
    kmin, emin, dmin = _refine_kmin(k0, b, mu, m, params, lattice)
    return kmin, emin, dmin, kf, xi, d


def build_solution(
    theta, beta, mu, params: MixDParams, lattice, *, method, converged, iterations, residual, result=None
):
    """Assemble a :class:`MixDSolution` from the variational state ``(theta, beta, mu)``.

    The sign convention ``beta >= 0`` is imposed (the functional is invariant
    under ``(theta, beta) -> (-theta, -beta)``).  ``result``: the code in
    :class:`~jaxnickel.RESULTS` (default: from ``converged`` and ``residual``).
    """
    if result is None:
        result = classify(converged, residual)
    n = lattice.n_sites
    sgn = jnp.where(beta < 0, -1.0, 1.0)
    theta = sgn * theta
    beta = sgn * beta
    k = lattice.momenta()
    basis = pair_basis(k)
    s = jnp.sin(theta)
    m = moments(s, basis)
    b = beta / jnp.sqrt(n)
    xi, delta = mean_fields(b, mu, m, params, lattice, k=k)
    E, _, _ = bogoliubov(xi, delta)
    v = jnp.sin(0.5 * theta)
    u = jnp.cos(0.5 * theta)
    energy = energy_b9(theta, beta, params, lattice)
    n_sc = jnp.sum(2.0 * v**2)
    n_cc = beta**2
    e_bg = params.J * n_sc + (params.V + params.J) * n_cc

    grads = jax.grad(lambda th, be: lagrangian_b9(th, be, mu, params, lattice), argnums=(0, 1))(theta, beta)
    stationarity = jnp.maximum(jnp.max(jnp.abs(grads[0])), jnp.abs(grads[1]) / jnp.sqrt(n))

    i = jnp.argmin(E)
    kmin_c, emin_c, dmin_c, kf, xif, df = _continuum_min(b, mu, m, params, lattice)
    Ef = jnp.sqrt(xif**2 + df**2)
    order_bcs_c = jnp.mean(jnp.where(Ef > 0, jnp.abs(df) / jnp.where(Ef > 0, Ef, 1.0), 0.0))
    hs = high_symmetry_points(lattice)
    khs = tuple(jnp.asarray([pt[a] for pt in hs.values()]) for a in range(lattice.dim))
    _, delta_hs = mean_fields(b, mu, m, params, lattice, k=khs)
    safeE = jnp.where(E > 0, E, 1.0)
    return MixDSolution(
        params=params,
        lattice=lattice,
        method=method,
        k_fields=jnp.stack([theta, delta, xi, E, u, v], axis=-2),
        moments=m,
        energy=energy,
        energy_minus_background=energy - e_bg,
        N_sc=n_sc,
        N_cc=n_cc,
        sc_minus_2cc_fraction=(n_sc - 2.0 * n_cc) / params.n_holes,
        beta=beta,
        mu=jnp.asarray(mu),
        order_bec=jnp.sqrt(n_cc / n),
        order_bcs=jnp.mean(jnp.where(E > 0, jnp.abs(delta) / safeE, 0.0)),
        order_bcs_continuum=order_bcs_c,
        binding_energy=2.0 * E[i],
        binding_energy_continuum=2.0 * emin_c,
        delta_at_kmin=delta[i],
        delta_at_kmin_continuum=dmin_c,
        k_min=jnp.stack([ka[i] for ka in k]),
        k_min_continuum=kmin_c,
        delta_high_symmetry=delta_hs,
        converged=jnp.asarray(converged),
        result=jnp.asarray(result, dtype=jnp.int32),
        iterations=jnp.asarray(iterations),
        residual=jnp.asarray(residual),
        stationarity=stationarity,
        hole_number_error=jnp.abs(hole_number(theta, beta) - params.n_holes),
        reduction=f"full zone ({n} points)",
        k_points=n,
    )


def _fine_lattice(lattice):
    from ..lattice import Ladder, Square

    return Ladder(FINE_1D) if lattice.dim == 1 else Square(FINE_2D)


def _half_angles(theta, s, c):
    """``(u, v) = (cos(theta/2), sin(theta/2))`` from ``sin theta``, ``cos theta`` without
    trigonometry or cancellation: the half-angle root where it is accurate, ``sin theta = 2uv``
    for the other one."""
    upper = c >= 0.0
    root = jnp.sqrt(jnp.where(upper, 0.5 * (1.0 + c), 0.5 * (1.0 - c)))
    signed = jnp.where(theta < 0, -root, root)
    u = jnp.where(upper, root, 0.5 * s / signed)
    v = jnp.where(upper, 0.5 * s / root, signed)
    return u, v


def build_solution_wedge(
    angles,
    beta,
    mu,
    params: MixDParams,
    lattice,
    *,
    method,
    converged,
    iterations,
    residual,
    quarter_angles=None,
    result=None,
):
    """:func:`build_solution` for a symmetric state given on the irreducible wedge.

    ``angles = (theta, sin theta, cos theta)`` at the points of
    :func:`jaxnickel.mixd.kpoints.wedge` (the fixed point has the sine and cosine without
    trigonometry, ``Delta/E`` and ``xi/E``); ``quarter_angles``: the same on
    :func:`~jaxnickel.mixd.kpoints.quarter` (default: gathered from the wedge).  Every sum
    runs over the wedge with its weights and the formulas of :func:`build_solution`; the
    k-resolved fields are stored on the quarter zone (``k_fields``) and unfolded to the full
    grid on access.  ``stationarity`` is the analytic gradient of the Lagrangian (B9),
    ``dL/dtheta_k = xi_k sin(theta_k) - Delta_k cos(theta_k)`` and
    ``dL/dbeta / sqrt(N) = 2 [b (V + J + 2 mu - 4 t <v^2 gamma>) - 2 t <g sin(theta)>]``
    (equal to the autodiff gradient of :func:`build_solution`; tested).  The fine
    continuum grid of the ``L -> infinity`` quantities uses its own wedge.
    """
    from . import kpoints
    from .fixed_point import _wedge_bogoliubov, _wedge_fields

    if result is None:
        result = classify(converged, residual)
    n = lattice.n_sites
    sqrt_n = jnp.sqrt(float(n))
    w = kpoints.wedge(lattice)
    phi, psi = kpoints.forms(w, lattice)
    theta, s, c = angles
    if quarter_angles is None:
        quarter_angles = tuple(kpoints.to_quarter(lattice, a) for a in angles)
    theta_q, s_q, c_q = quarter_angles
    sgn = jnp.where(beta < 0, -1.0, 1.0)  # the convention beta >= 0 (B9 is even in (theta, beta))
    theta, s, theta_q, s_q, beta = sgn * theta, sgn * s, sgn * theta_q, sgn * s_q, sgn * beta
    b = beta / sqrt_n
    wt = w.weight

    def avg(f):
        return jnp.sum(wt * f)

    v2 = 0.5 * (1.0 - c)
    mc = jnp.stack([avg(s * f) for f in psi])
    m = kpoints.embed(lattice, mc)
    z = jnp.concatenate([jnp.stack([b, jnp.asarray(mu, dtype=b.dtype)]), mc])
    xi, delta, gamma, g = _wedge_fields(z, params, lattice, w, phi)
    E, iE, _, _ = _wedge_bogoliubov(xi, delta)
    t = params.t
    U = kernel_strength_of(params)
    n_f = 2.0 * avg(v2)
    v2g = avg(gamma * v2)
    gs = avg(g * s)
    energy = n * energy_from_sums(b, gs, v2g, n_f, m, params, lattice)
    n_sc = n * n_f
    n_cc = beta**2
    e_bg = params.J * n_sc + (params.V + params.J) * n_cc
    # dL/dtheta_k: xi with the Hartree shift of the actual n_f (as the autodiff of Eq. B9)
    xi_l = xi
    if params.hartree:
        xi_l = xi + lattice.coordination * U * (n_f - (params.n_holes / n - 2.0 * b**2))
    g_theta = jnp.max(jnp.where(wt > 0, jnp.abs(xi_l * s - delta * c), 0.0))
    g_beta = 2.0 * jnp.abs(b * ((params.V + params.J + 2.0 * mu) - 4.0 * t * v2g) - 2.0 * t * gs)
    stationarity = jnp.maximum(g_theta, g_beta)

    i = jnp.argmin(jnp.where(wt > 0, E, jnp.inf))
    kmin_c, emin_c, dmin_c, order_bcs_c = _continuum_min_wedge(b, mu, mc, m, params, lattice)
    hs = high_symmetry_points(lattice)
    khs = tuple(jnp.asarray([pt[a] for pt in hs.values()]) for a in range(lattice.dim))
    _, delta_hs = mean_fields(b, mu, m, params, lattice, k=khs)
    # the stored fields, on the quarter zone
    q = kpoints.quarter(lattice)
    xi_q, delta_q, _, _ = _wedge_fields(z, params, lattice, q, kpoints.forms(q, lattice)[0])
    E_q = jnp.sqrt(xi_q * xi_q + delta_q * delta_q)
    u_q, v_q = _half_angles(theta_q, s_q, c_q)
    reduction, k_points = kpoints.describe_zone(lattice, "wedge")
    return MixDSolution(
        params=params,
        lattice=lattice,
        method=method,
        k_fields=jnp.stack([theta_q, delta_q, xi_q, E_q, u_q, v_q], axis=-2),
        moments=m,
        energy=energy,
        energy_minus_background=energy - e_bg,
        N_sc=n_sc,
        N_cc=n_cc,
        sc_minus_2cc_fraction=(n_sc - 2.0 * n_cc) / params.n_holes,
        beta=beta,
        mu=jnp.asarray(mu),
        order_bec=jnp.sqrt(n_cc / n),
        order_bcs=avg(jnp.abs(delta) * iE),
        order_bcs_continuum=order_bcs_c,
        binding_energy=2.0 * E[i],
        binding_energy_continuum=2.0 * emin_c,
        delta_at_kmin=delta[i],
        delta_at_kmin_continuum=dmin_c,
        k_min=kpoints.representative(lattice, w, i),
        k_min_continuum=kmin_c,
        delta_high_symmetry=delta_hs,
        converged=jnp.asarray(converged),
        result=jnp.asarray(result, dtype=jnp.int32),
        iterations=jnp.asarray(iterations),
        residual=jnp.asarray(residual),
        stationarity=stationarity,
        hole_number_error=jnp.abs(n_sc + 2.0 * beta**2 - params.n_holes),
        reduction=reduction,
        k_points=k_points,
    )


def build_solution_fixed_point(x, params: MixDParams, lattice, *, method, converged, iterations, residual):
    """The solution of the wedge fixed point at its mean fields ``x = (b, mu, M_1..M_2d)``.

    ``theta_k = atan2(Delta_k, xi_k)`` of those mean fields, on the wedge (the sums) and on
    the quarter zone (the stored fields); :func:`build_solution_wedge` does the rest.
    """
    from . import kpoints
    from .fixed_point import _wedge_bogoliubov, _wedge_fields

    z = jnp.concatenate([x[:2], kpoints.project(lattice, x[2:])])

    def angles(points):
        xi, delta, _, _ = _wedge_fields(z, params, lattice, points, kpoints.forms(points, lattice)[0])
        E, iE, s, _ = _wedge_bogoliubov(xi, delta)
        return jnp.arctan2(delta, xi), s, jnp.where(E > 0, xi * iE, 1.0)

    return build_solution_wedge(
        angles(kpoints.wedge(lattice)),
        x[0] * jnp.sqrt(float(lattice.n_sites)),
        x[1],
        params,
        lattice,
        method=method,
        converged=converged,
        iterations=iterations,
        residual=residual,
        quarter_angles=angles(kpoints.quarter(lattice)),
    )


def _continuum_min_wedge(b, mu, mc, m, params, lattice):
    """:func:`_continuum_min` and the continuum Eq. (12) on the fine grid's wedge."""
    from . import kpoints
    from .fixed_point import _wedge_bogoliubov, _wedge_fields

    fine = _fine_lattice(lattice)
    square = lattice.dim == 2 and lattice.Lx == lattice.Ly
    wf = kpoints.wedge(fine, c4v=square)
    phi, _ = kpoints.forms(wf, lattice)  # the moments of lattice's state, on the fine points
    z = jnp.concatenate([jnp.stack([b, jnp.asarray(mu, dtype=b.dtype)]), mc])
    xi, d, _, _ = _wedge_fields(z, params, lattice, wf, phi)
    E, iE, _, _ = _wedge_bogoliubov(xi, d)
    order = jnp.sum(wf.weight * jnp.abs(d) * iE)
    i = jnp.argmin(jnp.where(wf.weight > 0, E, jnp.inf))
    k0 = kpoints.representative(fine, wf, i)
    kmin, emin, dmin = _refine_kmin(k0, b, mu, m, params, lattice)
    return kmin, emin, dmin, order
