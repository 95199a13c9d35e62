"""Model-agnostic numerics: constrained minimisation, least squares, root finding, dtype policy.

A solver never imports a model: it works on plain functions of pytrees.
"""

from .constrained import MinimizeResult, lbfgs_minimize, minimize_constrained, with_gradient
from .dtype import require_x64
from .least_squares import CompiledLeastSquares, LeastSquaresRun, multistart_least_squares
from .roots import RootResult, bisect_monotone, bracketed_secant, newton_root, newton_with_jacobian

__all__ = [
    "MinimizeResult",
    "minimize_constrained",
    "lbfgs_minimize",
    "with_gradient",
    "CompiledLeastSquares",
    "LeastSquaresRun",
    "multistart_least_squares",
    "RootResult",
    "newton_root",
    "newton_with_jacobian",
    "bisect_monotone",
    "bracketed_secant",
    "require_x64",
]
