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

Result codes: every solve and fit returns ``result`` from :class:`RESULTS` and takes
``throw=`` (:mod:`jaxnickel.results`).

Submodules are imported on first use (``import jaxnickel`` does not import JAX; the
command line starts fast).
"""

__version__ = "0.1.0"

import importlib as _importlib

from .results import RESULTS, SolveError  # noqa: E402  (pure Python: no JAX import)

_SUBMODULES = (
    "data",
    "exact",
    "fit",
    "lattice",
    "mixd",
    "plotting",
    "progress",
    "provenance",
    "reproduce",
    "solvers",
    "spectra",
    "sweep",
    "triplon",
)
_FROM_LATTICE = ("Ladder", "Square", "make_lattice")

__all__ = ["__version__", "RESULTS", "SolveError", *_SUBMODULES, *_FROM_LATTICE]


def __getattr__(name):
    if name in _SUBMODULES:
        return _importlib.import_module(f".{name}", __name__)
    if name in _FROM_LATTICE:
        return getattr(_importlib.import_module(".lattice", __name__), name)
    raise AttributeError(f"module 'jaxnickel' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
