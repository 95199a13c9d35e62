"""jaxnickel: differentiable mean-field pairing in bilayer nickelates, in JAX.

Models
------
* :mod:`jaxnickel.mixd` -- MixD+V bilayer t-J model, two-channel (sc BCS + cc BEC)
  mean-field theory (Borchia, Lange, Grusdt 2025).
* :mod:`jaxnickel.triplon` -- triplon-mediated two-band interband s+- BCS theory
  (Liu, Khaliullin 2026).
* :mod:`jaxnickel.exact` -- the microscopic MixD+V ladder, Eq. (1) of paper 000: exact
  diagonalisation and DMRG (the check of the mean field).

Tools: :mod:`jaxnickel.sweep` (parameter scans as one compiled program),
:mod:`jaxnickel.fit` / :mod:`jaxnickel.data` (fits to gap data),
:mod:`jaxnickel.plotting`, :mod:`jaxnickel.reproduce` (``jaxnickel reproduce``).

float64: jaxnickel does not change JAX's global configuration; its solvers
raise a clear error unless ``jax.config.update("jax_enable_x64", True)`` (or
``JAX_ENABLE_X64=1``) is set.  The ``jaxnickel`` command sets it itself.
"""

__version__ = "0.1.0"

from . import lattice, mixd, solvers  # noqa: E402
from .lattice import Ladder, Square, make_lattice  # noqa: E402

__all__ = ["__version__", "lattice", "mixd", "solvers", "Ladder", "Square", "make_lattice"]
