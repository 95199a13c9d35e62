"""Result codes of every solve and fit: :data:`RESULTS`, ``throw=``, and what the CLI derives from them.

Every solution (:class:`~jaxnickel.mixd.MixDSolution`,
:class:`~jaxnickel.triplon.TriplonSolution`), every fit result and every sweep point
carries ``result``: an integer code of :class:`RESULTS`, as the
equinox / optimistix family returns ``Solution.result``.  Integer codes survive
``jit``, ``vmap`` and ``lax.map`` (a batched solution holds one code per point) and
are stored as they are in ``.npz`` and netCDF files.  ``converged`` is always
``result == RESULTS.successful``, and the CLI's exit code and JSON ``message`` are
derived from ``result``, so the three can never disagree.

``throw=True`` on a solve or fit raises :class:`SolveError` (a ``RuntimeError``)
with the result's message instead of returning a failed result; the default
(``throw=False``) returns it and warns, as before.

>>> from jaxnickel import RESULTS
>>> RESULTS.successful.message
'successful'
>>> RESULTS(1).name
'max_steps_reached'
"""

from __future__ import annotations

import enum

__all__ = ["RESULTS", "SolveError", "classify", "describe", "raise_or_warn", "summary_counts"]


class RESULTS(enum.IntEnum):
    """Outcome of a solve, a fit or a sweep point (``result`` field; :attr:`message` says what it means)."""

    #: the tolerance was met and the state is the answer asked for
    successful = 0
    #: the step limit (``max_steps``) was reached before the tolerance was met
    max_steps_reached = 1
    #: the iteration produced a non-finite value (NaN or inf)
    nonfinite = 2
    #: the tolerance was met, but the state is not confirmed as the lowest local minimum
    unresolved_branch = 3
    #: a fit that does not constrain every free parameter (singular Jacobian, named combination)
    degenerate = 4
    #: a fit whose model solve (the gap equation) did not converge at the fitted parameters
    model_solve_failed = 5
    #: a spectrum fit whose fitted parameters give the normal state (no gap to fit)
    normal_state = 6

    @property
    def message(self) -> str:
        """What the code means, in one sentence (``"successful"`` for success)."""
        return _MESSAGES[self]


_MESSAGES = {
    RESULTS.successful: "successful",
    RESULTS.max_steps_reached: (
        "the solver reached its step limit (max_steps) before meeting its tolerance: raise max_steps, "
        "give a better start (init=), or loosen tol"
    ),
    RESULTS.nonfinite: "the iteration produced a non-finite value (NaN or inf): check the parameters' ranges",
    RESULTS.unresolved_branch: (
        "no branch could be confirmed as the lowest local minimum (a saddle, a normal state that is unstable, "
        "or a lower branch that did not converge)"
    ),
    RESULTS.degenerate: "the fit does not constrain every free parameter (singular Jacobian): fix one of them",
    RESULTS.model_solve_failed: "the model's gap equation did not converge at the fitted parameters",
    RESULTS.normal_state: "the fitted parameters give the normal state: there is no gap for the data to constrain",
}


class SolveError(RuntimeError):
    """Raised by a solve or fit called with ``throw=True`` whose ``result`` is not successful."""

    def __init__(self, message: str, result: RESULTS):
        super().__init__(message)
        self.result = result


def classify(converged, residual, *, unresolved=None):
    """Result code of an iterative solve (traceable: ``jnp.where`` on the flags).

    ``converged``: the tolerance was met (and, for a branch search, the branch is
    resolved); ``residual``: its final residual (non-finite -> ``nonfinite``);
    ``unresolved``: the tolerance was met but the branch is not confirmed.  A solve
    that did not meet its tolerance with a finite residual stopped at its step limit
    (every iteration of the package ends only on its tolerance or its cap).
    """
    import jax.numpy as jnp

    code = jnp.where(jnp.isfinite(residual), int(RESULTS.max_steps_reached), int(RESULTS.nonfinite))
    if unresolved is not None:
        code = jnp.where(unresolved & jnp.isfinite(residual), int(RESULTS.unresolved_branch), code)
    return jnp.where(converged, int(RESULTS.successful), code).astype(jnp.int32)


def describe(result, detail: str | None = None) -> str:
    """The message of a code (an int or :class:`RESULTS`), with a specific ``detail`` appended."""
    r = RESULTS(int(result))
    if detail and r is not RESULTS.successful:
        return f"{r.message} ({detail})" if not detail.startswith(r.message) else detail
    return r.message


def raise_or_warn(result, what: str, detail: str | None, *, throw: bool, warn: bool, category, stacklevel: int = 3):
    """``throw``: raise :class:`SolveError`; else ``warn`` with ``category``; nothing on success."""
    import warnings

    r = RESULTS(int(result))
    if r is RESULTS.successful:
        return
    text = f"{what}: {r.name}: {describe(r, detail)}"
    if throw:
        raise SolveError(text, r)
    if warn:
        warnings.warn(text, category, stacklevel=stacklevel)


def summary_counts(codes) -> dict:
    """``{name: count}`` of the codes of a batch (only codes that occur)."""
    import numpy as np

    a = np.asarray(codes).reshape(-1)
    return {RESULTS(int(c)).name: int(n) for c, n in zip(*np.unique(a, return_counts=True), strict=True)}
