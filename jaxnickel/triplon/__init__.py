"""Paper 001: triplon-mediated two-band interband s+- pairing (Liu & Khaliullin 2026).

* :mod:`.bands` -- Eq. (5), fillings, densities of states (triangle method), Fermi surfaces
* :mod:`.params` -- band + pairing parameters (V, kappa_a, kappa_b, Omega, T)
* :mod:`.pairing` -- the free energy, the gap equation (14), the linearised kernel
* :mod:`.solve` -- gradient and fixed-point solvers
* :mod:`.solution` -- observables on the Fermi surfaces
* :mod:`.tc` -- T_c per symmetry channel from the linearised gap equation
* :mod:`.analytic` -- the weak-coupling results Eqs. (16)-(18)
"""

from .bands import (
    BandParams,
    band_path,
    dispersion,
    dos_fermi,
    dos_vs_density,
    fermi_surface,
    fillings,
    form_factors,
    mu_from_density,
)
from .params import K_B, TriplonParams, make_params, validate_params
from .solution import TriplonSolution
from .solve import CHANNEL_NAMES, METHODS, ConvergenceWarning, gap_vs_temperature, solve, solve_jax
from .tc import TcResult, critical_temperatures, critical_temperatures_jax

__all__ = [
    "BandParams",
    "TriplonParams",
    "TriplonSolution",
    "K_B",
    "METHODS",
    "CHANNEL_NAMES",
    "ConvergenceWarning",
    "band_path",
    "dispersion",
    "dos_fermi",
    "dos_vs_density",
    "fermi_surface",
    "form_factors",
    "fillings",
    "mu_from_density",
    "solve",
    "gap_vs_temperature",
    "critical_temperatures",
    "critical_temperatures_jax",
    "TcResult",
    "make_params",
    "solve_jax",
    "validate_params",
]
