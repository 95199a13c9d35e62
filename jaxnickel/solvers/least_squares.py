"""Weighted nonlinear least squares for model fits: transforms, multi-start Levenberg-Marquardt, covariance.

Model-agnostic (a fitter supplies a residual function of an unconstrained vector);
used by :mod:`jaxnickel.fit` (gap data) and :mod:`jaxnickel.spectra.fit` (tunnelling
spectra).

* Domains: a parameter is fitted on an unconstrained variable ``z``: ``positive``
  through ``exp``, ``nonnegative`` through ``softplus``, ``filling`` (0, 2) through a
  logistic map, ``real`` as it is.
* :class:`CompiledLeastSquares`: optimistix Levenberg-Marquardt on ``r(z, args)``, the
  residual's Jacobian materialised by forward-mode autodiff (a handful of columns;
  transposing the linearisation of a solver chain buys nothing), jitted with the data
  ``args`` traced, so that a caller that keeps it compiles once per structure.
* :func:`multistart_least_squares`: such a program from several starts, lowest chi^2
  kept; a start that fails fails alone.
* :func:`covariance_analysis`: ``cov = (J^T J)^{-1}`` in the physical parameters, the
  singular values of the column-normalised (unit-free) Jacobian, degeneracy (condition
  number > ``cond_max``, or fewer data than parameters) with the unconstrained
  combination named.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

__all__ = [
    "DOMAINS",
    "to_unconstrained",
    "from_unconstrained",
    "check_domain",
    "LeastSquaresRun",
    "CompiledLeastSquares",
    "multistart_least_squares",
    "perturbed_starts",
    "covariance_analysis",
    "uncertainty_report",
]

DOMAINS = ("positive", "nonnegative", "filling", "real")


def to_unconstrained(domain: str, v: float) -> float:
    """The unconstrained variable of a physical value (inverse of :func:`from_unconstrained`)."""
    if domain == "positive":
        return math.log(v)
    if domain == "nonnegative":
        return v + math.log(-math.expm1(-v)) if v > 0 else -30.0  # inverse softplus
    if domain == "filling":
        return math.log(v / (2.0 - v))
    return v


def from_unconstrained(domain: str, z):
    """Physical value of an unconstrained variable (traceable)."""
    if domain == "positive":
        return jnp.exp(z)
    if domain == "nonnegative":
        return jax.nn.softplus(z)
    if domain == "filling":
        return 2.0 * jax.nn.sigmoid(z)
    return z


def check_domain(name: str, domain: str, v: float) -> None:
    """``ValueError`` naming ``name`` unless ``v`` is finite and inside its domain."""
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if domain == "positive" and v <= 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    if domain == "nonnegative" and v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")
    if domain == "filling" and not 0 < v < 2:
        raise ValueError(f"{name} must be in (0, 2), got {v}")


def perturbed_starts(z_first, domains: Sequence[str], starts: int, seed: int = 0, spread: float = 0.3):
    """``starts`` start vectors: ``z_first`` and multiplicative perturbations in [1-spread, 1+spread]."""
    rng = np.random.default_rng(seed)
    out = [np.asarray(z_first, dtype=float)]
    for _ in range(starts - 1):
        phys = [float(from_unconstrained(d, z)) for d, z in zip(domains, z_first, strict=True)]
        f = rng.uniform(1.0 - spread, 1.0 + spread, len(phys))
        out.append(
            np.array(
                [
                    to_unconstrained(d, max(v * fi, 1e-6) if d != "real" else v * fi)
                    for d, v, fi in zip(domains, phys, f, strict=True)
                ]
            )
        )
    return out


@dataclasses.dataclass
class LeastSquaresRun:
    """Best of several Levenberg-Marquardt runs: ``z``, ``chi2``, ``converged``, ``steps``, per-start chi^2."""

    z: np.ndarray
    chi2: float
    converged: bool
    steps: int
    start_index: int
    chi2_per_start: list


def _forward_jacobian(raw: Callable):
    """Wrap ``raw(z) -> r`` so that its derivative is the materialised forward-mode Jacobian."""

    @jax.custom_jvp
    def vec(z):
        return raw(z)

    @vec.defjvp
    def _jvp(primals, tangents):
        (z,), (dz,) = primals, tangents
        return raw(z), jax.jacfwd(raw)(z) @ dz

    return vec


class CompiledLeastSquares:
    """A Levenberg-Marquardt run of ``residuals(z, args)``, compiled once for all data and starts of one shape.

    optimistix Levenberg-Marquardt (``throw=False``), the Jacobian materialised by
    forward-mode autodiff, non-finite residuals replaced by 1e6 (a trial step into a
    region where the model is undefined is rejected).  The data are a traced argument
    ``args`` (any pytree of arrays), not constants closed over: a caller that builds
    ``residuals`` (and this object) once per fit structure and keeps it gets one compiled
    program for every call whose ``args`` and start have the same shapes.
    ``run(z0, args) -> (z, chi2, converged, steps)`` (``eqx.filter_jit``).  ``on_trace()`` is called
    each time ``run`` is traced (a caller's trace counter).  ``progress``: a
    ``jax.debug.callback`` reports ``chi2`` of each residual evaluation to :attr:`update`
    (set by :func:`multistart_least_squares`).
    """

    def __init__(
        self,
        residuals: Callable,
        *,
        max_steps: int = 100,
        rtol: float = 1e-10,
        atol: float = 1e-10,
        progress: bool = False,
        on_trace: Callable[[], None] | None = None,
    ):
        self.update = None
        self.progress = bool(progress)
        self.announced: set = set()  # argument shapes whose "compiling" line was printed
        solver = optx.LevenbergMarquardt(rtol=rtol, atol=atol)

        def report(chi2):
            if self.update is not None:
                self.update(chi2)

        def run(z0, args):
            if on_trace is not None:
                on_trace()

            def guarded(z):
                r = residuals(z, args)
                r = jnp.where(jnp.isfinite(r), r, 1e6)
                if progress:
                    jax.debug.callback(report, jnp.sum(r**2))
                return r

            vec = _forward_jacobian(guarded)
            sol = optx.least_squares(lambda z, _: vec(z), solver, z0, max_steps=max_steps, throw=False)
            r = vec(sol.value)
            return sol.value, jnp.sum(r**2), sol.result == optx.RESULTS.successful, sol.stats["num_steps"]

        # equinox's jit, not jax.jit: only it turns a runtime error of the model (``eqx.error_if``,
        # e.g. a linear solve on non-finite input) into the EquinoxRuntimeError that fails one start
        self.run = eqx.filter_jit(run)


def _error_message(exc: Exception) -> str:
    """The message given to ``eqx.error_if`` inside an ``EquinoxRuntimeError`` (its first line otherwise)."""
    text = str(exc)
    for line in text.splitlines():
        if "EquinoxRuntimeError: " in line:
            return line.split("EquinoxRuntimeError: ", 1)[1][:200]
    return (text.strip().splitlines() or [type(exc).__name__])[0][:200]


def multistart_least_squares(
    program: CompiledLeastSquares, z_starts: Sequence, args=None, *, label: str = "fit"
) -> LeastSquaresRun:
    """Minimise ``sum r(z, args)^2`` with ``program`` from each start; keep the lowest finite chi^2.

    A start whose model meets a non-finite linear solve (``EquinoxRuntimeError``) fails
    alone; :class:`jaxnickel.SolveError` when every start fails.  With
    ``program.progress``: a tqdm bar per start on stderr counting residual evaluations
    (two per Levenberg-Marquardt step) with the current chi^2 (:mod:`jaxnickel.progress`),
    and a "compiling" line once per program and argument shapes (the first call traces
    and compiles).
    """
    from ..progress import bar, callback_updater, compiling

    progress = program.progress
    leaves, tree = jax.tree_util.tree_flatten(args)
    shapes = (str(tree), np.shape(z_starts[0]), tuple((np.shape(x), str(getattr(x, "dtype", ""))) for x in leaves))
    first_call = shapes not in program.announced
    program.announced.add(shapes)
    best = None
    per_start = []
    failures = []
    n = len(z_starts)
    for i, z0 in enumerate(z_starts):
        if i == 0 and first_call:
            compiling(object(), f"the {label} (model, Jacobian and Levenberg-Marquardt)", enabled=progress)
        with bar(None, f"{label} start {i + 1}/{n}", enabled=progress, unit="eval") as pbar:
            program.update = callback_updater(pbar, postfix="chi2={:.6g}")
            try:
                z, chi2, ok, steps = program.run(jnp.asarray(z0, dtype=float), args)
                chi2 = float(chi2)
            except eqx.EquinoxRuntimeError as exc:
                # a linear solve inside the model met non-finite input (e.g. a trial step that
                # empties a band): this start failed, the others may not
                z, chi2, ok, steps = z0, math.nan, False, 0
                failures.append(_error_message(exc))
            finally:
                program.update = None
            pbar.set_postfix_str(f"chi2={chi2:.6g}, {int(steps)} steps, {'converged' if ok else 'NOT converged'}")
        per_start.append(chi2 if math.isfinite(chi2) else None)
        if math.isfinite(chi2) and (best is None or chi2 < best.chi2):
            best = LeastSquaresRun(np.asarray(z), chi2, bool(ok), int(steps), i, per_start)
    if best is None:
        from ..results import RESULTS, SolveError

        why = f" ({failures[0]})" if failures else ""
        raise SolveError(
            f"every start of the {label} failed: the model gave non-finite residuals{why}; the parameters left "
            "the region where the model is defined (e.g. a Fermi level outside a band): fix or restart them "
            "closer to the data",
            RESULTS.nonfinite,
        )
    best.chi2_per_start = per_start
    return best


def covariance_analysis(J, p, names: Sequence[str], *, cond_max: float = 1e6) -> dict:
    """Uncertainties, correlations and degeneracy from the Jacobian ``J`` (n_data x n_par) at ``p``.

    ``J`` is the Jacobian of the *weighted* residuals ``(model - data)/sigma`` in the
    physical parameters.  Degeneracy is judged on the column-normalised Jacobian (unit
    free: a parameter of size 1e-11, a lock-in scale in A, counts like any other); its
    condition number is ``sqrt((1 + rho)/(1 - rho))`` for two parameters of correlation
    ``rho``, so ``cond_max = 1e6`` flags only combinations the data do not see at all
    (``1 - |rho| < 1e-12``), not merely strong correlations (reported in ``correlation``).
    Returns a dict with ``uncertainties`` (NaN when degenerate), ``correlation``
    (nested dict), ``covariance`` (array), ``singular_values`` (of the normalised
    Jacobian), ``condition``, ``degenerate`` and ``message`` (naming the unconstrained
    combination in relative changes of the parameters when degenerate).
    """
    J = np.asarray(J, dtype=float)
    p = np.asarray(p, dtype=float)
    names = list(names)
    n_data, n_par = J.shape
    norms = np.linalg.norm(J, axis=0)
    Js = J / np.where(norms > 0, norms, 1.0)
    s = np.linalg.svd(Js, compute_uv=False)
    cond = float(s[0] / s[-1]) if len(s) == n_par and s[-1] > 0 and np.all(norms > 0) else float("inf")
    degenerate = n_data < n_par or cond > cond_max
    # (J^T J)^-1 through the normalised columns: a lock-in scale in A next to a
    # dimensionless coupling spans ~25 decades, which a plain pinv of J^T J truncates
    d = 1.0 / np.where(norms > 0, norms, 1.0)
    cov = np.linalg.pinv(Js.T @ Js) * np.outer(d, d)
    unc = np.sqrt(np.clip(np.diag(cov), 0, None))
    safe = np.where(unc > 0, unc, 1.0)
    corr = cov / np.outer(safe, safe)
    message = "ok"
    if degenerate:
        _, _, vt = np.linalg.svd(Js)
        null = vt[-1] / np.where(norms > 0, norms, 1.0)  # direction in the physical parameters
        null = np.where(norms > 0, null, 0.0) + np.where(norms > 0, 0.0, 1.0)  # a parameter with no effect at all
        rel = null / np.where(p != 0, np.abs(p), 1.0)
        rel = rel / np.max(np.abs(rel))
        combo = " ".join(f"{c:+.2f}*{n}" for c, n in zip(rel, names, strict=True) if abs(c) > 0.05)
        message = (
            f"degenerate fit: {n_par} free parameters, {n_data} data points, condition number "
            f"{cond:.3g}; the data do not constrain the combination {combo} (relative changes)"
        )
        unc = np.full(n_par, np.nan)
    return {
        "uncertainties": unc,
        "correlation": {a: {b: float(corr[i, j]) for j, b in enumerate(names)} for i, a in enumerate(names)},
        "covariance": cov,
        "singular_values": [float(v) for v in s],
        "condition": cond,
        "degenerate": bool(degenerate),
        "message": message,
    }


def uncertainty_report(raw, chi2: float, dof: int, sigma_given: bool) -> dict:
    """Raw and ``sqrt(chi2/dof)``-scaled uncertainties, which one is reported, and why.

    ``raw``: ``sqrt(diag (J^T J)^-1)`` with the data's sigmas.  When the sigmas were
    given with the data they are taken at face value (``chosen = raw``; chi2/dof then
    tests them); when they were estimated, the scaled set is the honest one.
    """
    raw = np.asarray(raw, dtype=float)
    factor = math.sqrt(chi2 / dof) if dof > 0 and math.isfinite(chi2) else math.nan
    scaled = raw * factor
    if sigma_given:
        text = (
            f"raw: the data's sigmas taken at face value, (J^T J)^-1 (chi2/dof = {chi2 / dof:.3g}; "
            f"scaled by sqrt(chi2/dof) = {factor:.3g} in uncertainties_scaled)"
        )
    else:
        text = f"scaled by sqrt(chi2/dof) = {factor:.3g}: sigma was estimated, not given"
    return {
        "chosen": raw if sigma_given else scaled,
        "raw": raw,
        "scaled": scaled,
        "factor": factor,
        "scaling": text,
    }
