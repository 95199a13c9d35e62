"""Model-agnostic numerics: constrained minimisation, root finding, dtype policy.

A solver never imports a model: it works on plain functions of pytrees.
"""

from .constrained import MinimizeResult, minimize_constrained
from .dtype import require_x64
from .roots import RootResult, bisect_monotone, newton_root

__all__ = [
    "MinimizeResult",
    "minimize_constrained",
    "RootResult",
    "newton_root",
    "bisect_monotone",
    "require_x64",
]
