"""Parameters of the triplon-mediated two-band s+- model (paper 001, Eqs. 5, 13, 14).

Energies in eV, temperature ``T`` in eV too (``T_kelvin * K_B``; the CLI takes kelvin).
All fields are traced float64 arrays (so scans over them are one ``vmap``); only the
form of the energy cutoff is static.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..ranges import Range, check_range
from .bands import RANGES as BAND_RANGES
from .bands import BandParams, validate_band_params

__all__ = ["TriplonParams", "make_params", "validate_params", "K_B", "CUTOFFS"]

#: Boltzmann constant in eV / K (CODATA 2018, exact)
K_B = 8.617333262e-5

_STRONG = (
    "the BCS mean field of Eq. (14) is a weak-to-intermediate coupling theory (the paper: lambda <~ 0.5); "
    "beyond this the gap exceeds the bandwidth and the solver cannot be seeded"
)

#: supported range of each pairing parameter, checked by :func:`validate_params` before anything is
#: compiled (see :mod:`jaxnickel.ranges`; the band parameters: :data:`jaxnickel.triplon.bands.RANGES`)
RANGES = {
    "V": Range(0.0, 20.0, "eV", _STRONG, lo_open=True),
    "lambda": Range(0.0, 5.0, "", _STRONG, lo_open=True),
    "kappa_a": Range(
        0.0, 10.0, "", "a Kondo-to-Hund ratio of Eq. (11) is of order 1 (paper: 0..2); beyond 10 the seeds fail"
    ),
    "kappa_b": Range(
        0.0, 10.0, "", "a Kondo-to-Hund ratio of Eq. (11) is of order 1 (paper: 0..2); beyond 10 the seeds fail"
    ),
    "omega": Range(
        0.0,
        10.0,
        "eV",
        "the pairing cutoff is of order J_c ~ 0.3 eV; beyond the bandwidth it holds every state",
        lo_open=True,
    ),
    "T": Range(
        0.0,
        1.0,
        "eV",
        "1 eV = 11605 K is far above every T_c of the model (~1000 K at lambda = 0.5) and smears the whole band",
    ),
}

#: forms of the pairing cutoff: see :func:`jaxnickel.triplon.pairing.cutoff_weight`
CUTOFFS = ("lorentzian", "sharp")


def _f(x):
    return jnp.asarray(x, dtype=jnp.result_type(float))


class TriplonParams(eqx.Module):
    """Band structure (Eq. 5) plus the pairing interaction (Eq. 13) and temperature.

    Attributes
    ----------
    bands : :class:`~jaxnickel.triplon.bands.BandParams` (t1, t2, t3, eps_alpha, eps_beta, mu).
    V : interband coupling of Eq. (13), eV (> 0: repulsive, which gives s+-).
        Alternatively set the dimensionless ``lambda = V sqrt(N_alpha N_beta)`` with
        :func:`jaxnickel.triplon.coupling_from_lambda`.
    kappa_a, kappa_b : Kondo-to-Hund ratios of Eq. (11) (>= 0).
    omega : energy cutoff Omega of the pairing (~ J_c ~ 0.3 eV; > 0).
    T : temperature in eV (>= 0; 0 is handled exactly).
    cutoff : ``"sharp"`` (the paper's shell |xi| < Omega, default) or ``"lorentzian"`` (smooth) (static).
    """

    bands: BandParams
    V: jax.Array
    kappa_a: jax.Array
    kappa_b: jax.Array
    omega: jax.Array
    T: jax.Array
    cutoff: str = eqx.field(static=True, default="sharp")

    def __init__(self, bands=None, V=0.5, kappa_a=0.75, kappa_b=0.75, omega=0.3, T=0.0, cutoff="sharp"):
        self.bands = BandParams() if bands is None else bands
        self.V = _f(V)
        self.kappa_a = _f(kappa_a)
        self.kappa_b = _f(kappa_b)
        self.omega = _f(omega)
        self.T = _f(T)
        self.cutoff = cutoff

    def to_dict(self) -> dict:
        out = {k: float(np.asarray(getattr(self, k))) for k in ("V", "kappa_a", "kappa_b", "omega", "T")}
        out["T_kelvin"] = out["T"] / K_B
        out["cutoff"] = self.cutoff
        out["bands"] = self.bands.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: dict) -> TriplonParams:
        return cls(
            bands=BandParams.from_dict(d["bands"]),
            **{k: d[k] for k in ("V", "kappa_a", "kappa_b", "omega", "T", "cutoff")},
        )

    def replace(self, **changes) -> TriplonParams:
        """A copy with some fields changed (``bands=...`` or any pairing field)."""
        d = {k: getattr(self, k) for k in ("bands", "V", "kappa_a", "kappa_b", "omega", "T", "cutoff")}
        d.update(changes)
        return TriplonParams(**d)


def _concrete(x):
    try:
        return float(np.asarray(x))
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError, TypeError):
        return None


def validate_params(p: TriplonParams, n_grid: int | None = None) -> None:
    """Raise ``ValueError`` naming the parameter and its allowed range (:data:`RANGES`; traced values skipped)."""
    if not isinstance(p, TriplonParams):
        raise ValueError("params must be a jaxnickel.triplon.TriplonParams")
    validate_band_params(p.bands)
    if p.cutoff not in CUTOFFS:
        raise ValueError(f"cutoff must be one of {', '.join(CUTOFFS)}, got {p.cutoff!r}")
    for name in ("V", "kappa_a", "kappa_b", "omega", "T"):
        check_range(name, _concrete(getattr(p, name)), RANGES[name])
    if n_grid is not None:
        if isinstance(n_grid, bool) or not isinstance(n_grid, int | np.integer) or n_grid < 8:
            raise ValueError(f"grid must be an integer >= 8 (k-points per direction), got {n_grid!r}")


def make_params(
    *,
    n_c=None,
    mu=None,
    lam=None,
    V=None,
    kappa_a=0.75,
    kappa_b=0.75,
    omega=0.3,
    T=0.0,
    bands: BandParams | None = None,
    grid: int = 512,
    cutoff: str = "sharp",
    check_resources: bool = True,
) -> TriplonParams:
    """Build :class:`TriplonParams` the way the paper states them.

    Give the filling ``n_c`` (electrons per Ni, both bands) or the chemical potential
    ``mu`` (eV), and the dimensionless coupling ``lam = V sqrt(N_alpha N_beta)`` or
    ``V`` (eV).  ``mu`` from ``n_c`` and the densities of states for ``lam`` are
    computed on a ``grid x grid`` mesh (:func:`~jaxnickel.triplon.bands.mu_from_density`,
    :func:`~jaxnickel.triplon.bands.dos_fermi`).  Defaults: the paper's bands (Fig. 2),
    n_c = 0.45, lambda = 0.5, kappa = 0.75, Omega = 0.3 eV, T = 0.  ``check_resources``:
    refuse a ``grid`` whose solve cannot fit the machine before computing anything on it
    (:mod:`jaxnickel.resources`).
    """
    from .bands import dos_fermi, mu_from_density

    if check_resources and isinstance(grid, int) and grid > 0:
        from ..resources import check_memory

        check_memory("triplon", "fixed-point", grid * grid, flag=f"grid={grid}", largest="k-grid")

    bp = BandParams() if bands is None else bands
    validate_band_params(bp, skip_mu=mu is None)  # before mu is derived from them
    if n_c is not None and mu is not None:
        raise ValueError("give n_c or mu, not both")
    if lam is not None and V is not None:
        raise ValueError("give lambda or V, not both")
    if n_c is None and mu is None:
        n_c = 0.45
    if lam is None and V is None:
        lam = 0.5
    if mu is not None:
        check_range("mu", _concrete(mu), BAND_RANGES["mu"])
        bp = bp.replace(mu=mu)
    else:
        bp = bp.replace(mu=mu_from_density(n_c, bp, grid))
    if lam is not None:
        check_range("lambda", _concrete(lam), RANGES["lambda"])
        dos = dos_fermi(bp, grid)
        na, nb = _concrete(dos.N_alpha), _concrete(dos.N_beta)
        if na is not None and nb is not None and (na <= 0 or nb <= 0):
            raise ValueError(
                f"lambda needs both bands at the Fermi level: mu = {float(bp.mu):g} eV puts it outside band "
                f"{'alpha' if not na > 0 else 'beta'} (N_alpha = {na:.3g}, N_beta = {nb:.3g} per eV), so "
                "lambda = V sqrt(N_alpha N_beta) defines no V: give V instead (in a fit: fix V instead)"
            )
        V = lam / jnp.sqrt(dos.N_alpha * dos.N_beta)
        v = _concrete(V)
        if v is not None and not (v <= RANGES["V"].hi):
            raise ValueError(
                f"lambda = {float(lam):g} needs V = lambda / sqrt(N_alpha N_beta) = {v:.4g} eV "
                f"(N_alpha = {na:.3g}, N_beta = {nb:.3g} per eV), beyond V's supported {RANGES['V'].hi:g} eV: "
                f"{RANGES['V'].why}"
            )
    p = TriplonParams(bands=bp, V=V, kappa_a=kappa_a, kappa_b=kappa_b, omega=omega, T=T, cutoff=cutoff)
    validate_params(p, grid)
    return p
