"""The microscopic MixD+V ladder, Eq. (1) of paper 000: exact diagonalisation and DMRG.

* :mod:`jaxnickel.exact.basis`: leg bases with per-leg particle number and ``S^z`` blocks;
* :mod:`jaxnickel.exact.ed`: the Hamiltonian in a sector (sparse / matrix-free), Lanczos
  ground states, ``N_sc``, ``N_cc``, energies and binding energies (Eq. 10);
* :mod:`jaxnickel.exact.dmrg`: DMRG of the same Hamiltonian through TeNPy (optional extra
  ``jaxnickel[dmrg]``);
* :mod:`jaxnickel.exact.reference`: the shipped DMRG data of the L = 30 ladder and the
  comparison with the mean-field theory (Figs. 3-5).

These are NumPy/SciPy codes (no JAX): the many-body problem is the independent check of
the mean-field functional, not something to differentiate.
"""

from .ed import (
    MAX_DIMENSION,
    ExactResult,
    LadderGroundState,
    LadderModel,
    Sector,
    binding_energy,
    default_sector,
    exact_ladder,
    ground_state,
    hole_split,
)

__all__ = [
    "MAX_DIMENSION",
    "ExactResult",
    "LadderGroundState",
    "LadderModel",
    "Sector",
    "binding_energy",
    "default_sector",
    "exact_ladder",
    "ground_state",
    "hole_split",
]
