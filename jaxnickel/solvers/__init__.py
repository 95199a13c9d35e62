"""Model-agnostic numerics: constrained minimisation, root finding, dtype policy.

A solver never imports a model: it works on plain functions of pytrees.
"""

from .constrained import MinimizeResult, minimize_constrained
from .dtype import require_x64
from .roots import RootResult, bisect_monotone, bracketed_secant, newton_root, newton_with_jacobian

__all__ = [
    "MinimizeResult",
    "minimize_constrained",
    "RootResult",
    "newton_root",
    "newton_with_jacobian",
    "bisect_monotone",
    "bracketed_secant",
    "require_x64",
]
