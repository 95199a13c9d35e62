"""Paper 000: the MixD+V bilayer t-J model's two-channel mean-field theory.

* :mod:`.params` -- couplings (t, J, V, epsilon, N_h) and validation
* :mod:`.energy` -- the variational energy Eq. (B9) and its stationarity conditions
* :mod:`.fixed_point` -- self-consistency (B15), (B17), (B19)
* :mod:`.kpoints` -- the irreducible wedge of the symmetric state (reduced zone sums)
* :mod:`.gradient` -- direct constrained minimisation of (B9)
* :mod:`.solution` -- observables (Eqs. 10-12), save / load
* :mod:`.solve` -- :func:`solve`, the entry point
"""

from . import kpoints
from .energy import energy_b9, hole_number, lagrangian_b9, mean_fields
from .params import DopingWarning, MixDParams, ValidityWarning, validate_params
from .solution import MixDSolution, load_solution
from .solve import METHODS, ConvergenceWarning, solve, solve_jax

__all__ = [
    "kpoints",
    "MixDParams",
    "MixDSolution",
    "ConvergenceWarning",
    "DopingWarning",
    "ValidityWarning",
    "METHODS",
    "solve",
    "solve_jax",
    "load_solution",
    "energy_b9",
    "lagrangian_b9",
    "hole_number",
    "mean_fields",
    "validate_params",
]
