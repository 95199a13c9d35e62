"""Fitting the triplon model to measured gaps by differentiating through the solver.

The model prediction for a data row is the gap magnitude ``|Delta_b(theta)|`` on the
Fermi surface of sheet ``b`` (alpha around Gamma, beta around M, see
:mod:`jaxnickel.triplon.solution`) at the row's angle, or its average over the sheet
(uniform in theta) for rows marked ``avg``; rows with ``unassigned`` sheet are left
out of the fit (reported).  The state is the s+- solution (fixed-point solver,
``channel="s"``) at each distinct temperature of the data.

Gradients.  The Jacobian of the residuals with respect to the free parameters is
forward-mode autodiff through the whole chain: ``n_c -> mu`` (bisection, implicit
function theorem), densities of states -> ``V`` (for ``lambda``), the gap equation
(Newton root of Eq. 14 in coefficient space, optimistix ``ImplicitAdjoint``: the
iteration is never unrolled) and the Fermi-surface points (bisection + one Newton
step, implicit again).  ``tests/test_fit.py`` checks it against central finite
differences of full re-solves and against unrolled differentiation.

Minimiser: Levenberg-Marquardt (optimistix) on an unconstrained vector: positive
parameters as ``log``, non-negative ones through ``softplus``, ``n_c`` through a
logistic map onto (0, 2); several starts (the given start and multiplicative
perturbations of it), lowest chi^2 kept.  Uncertainties and correlations come from
the Jacobian at the optimum, ``cov = (J^T J)^{-1}`` in the physical parameters (data
uncertainties taken at face value; ``chi2/dof`` says whether they are).  A fit with
more free parameters than data, or a Jacobian whose condition number exceeds 1e6
(columns normalised, :func:`jaxnickel.solvers.least_squares.covariance_analysis`), is reported as degenerate with the unconstrained
combination, never silently returned.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .provenance import atomic_write_text, clean_json, provenance
from .results import RESULTS, describe, raise_or_warn
from .solvers import require_x64
from .solvers.least_squares import (
    check_domain,
    covariance_analysis,
    from_unconstrained,
    multistart_least_squares,
    perturbed_starts,
    to_unconstrained,
    uncertainty_report,
)
from .triplon import BandParams, TriplonParams, make_params
from .triplon.bands import dos_fermi, mu_from_density
from .triplon.pairing import cutoff_for_fit
from .triplon.params import CUTOFFS
from .triplon.solution import fermi_surface_gaps
from .triplon.solve import solve_jax

__all__ = [
    "FIT_PARAMETERS",
    "FitResult",
    "fit_gaps",
    "predict_gaps",
    "build_params",
    "DegenerateFitWarning",
    "CoarseGridWarning",
    "CONVERGED_GRID",
    "grid_bias_note",
    "check_fit_value",
    "parameter_range",
]

#: free-parameter names, their default start values and their domain
FIT_PARAMETERS = {
    "lambda": (0.3, "positive"),
    "V": (0.4, "positive"),
    "kappa_a": (0.75, "nonnegative"),
    "kappa_b": (0.75, "nonnegative"),
    "kappa": (0.75, "nonnegative"),
    "omega": (0.3, "positive"),
    "n_c": (0.45, "filling"),
    "mu": (-0.65, "real"),
    "t1": (0.45, "real"),
    "t2": (-0.24, "real"),
    "t3": (0.06, "real"),
    "eps_alpha": (0.4, "real"),
    "eps_beta": (0.1, "real"),
}


#: k-grid from which the fitted gaps are converged to 0.2 % (sharp shell, paper's bands; see :data:`GRID_ERROR`)
CONVERGED_GRID = 256

#: relative error of the Fermi-surface gaps on an ``n x n`` grid against grid 1024 (sharp shell, s+-, the
#: paper's bands with mu and V from the same grid; the larger of lambda = 0.18 and 0.3), measured by
#: ``benchmarks/grid_convergence_fit.py`` (benchmarks/results/grid_convergence_fit.md)
GRID_ERROR = {64: 0.25, 96: 0.092, 128: 0.031, 192: 0.0025, 256: 0.0020, 384: 0.00079, 512: 0.00025}


class DegenerateFitWarning(RuntimeWarning):
    """The data do not constrain every free parameter."""


class CoarseGridWarning(UserWarning):
    """The fit's k-grid is coarser than the one at which the gaps are converged."""


def _to_z(name, v):
    return to_unconstrained(FIT_PARAMETERS[name][1], v)


def _from_z(name, z):
    return from_unconstrained(FIT_PARAMETERS[name][1], z)


def parameter_range(name: str):
    """The supported physical range of a fit parameter (:mod:`jaxnickel.ranges`), or ``None`` (``n_c``)."""
    from .triplon.bands import RANGES as BAND
    from .triplon.params import RANGES

    key = "kappa_a" if name == "kappa" else name
    return RANGES.get(key) or BAND.get(key)


def check_fit_value(name: str, v: float, domains: dict | None = None) -> None:
    """``ValueError`` naming ``name`` unless ``v`` is in its domain and in the model's supported range.

    The same rules as the solvers (:func:`jaxnickel.triplon.validate_params`), applied to
    ``fixed`` and ``start`` values before anything is compiled.
    """
    from .ranges import check_range

    check_domain(name, (domains or FIT_PARAMETERS)[name][1], v)
    r = parameter_range(name)
    if r is not None:
        check_range(name, v, r)


def clip_to_range(name: str, x):
    """``x`` saturated at the supported range (traceable): a Levenberg-Marquardt trial step
    beyond it sees a flat model instead of overflowing arithmetic."""
    r = parameter_range(name)
    if r is None:
        return x
    return jnp.clip(x, -r.hi if r.symmetric else r.lo, r.hi)


def _check_fermi_level(fixed: dict, start: dict, named: set, grid: int) -> None:
    """``lambda`` with a fixed ``mu`` needs both bands at the Fermi level: :func:`make_params` says so."""
    bands = ("t1", "t2", "t3", "eps_alpha", "eps_beta")
    if "mu" not in fixed or "lambda" not in named or any(b in named and b not in fixed for b in bands):
        return
    lam = float(start.get("lambda", fixed.get("lambda", FIT_PARAMETERS["lambda"][0])))
    bp = BandParams(**{b: float(fixed[b]) for b in bands if b in fixed})
    make_params(mu=float(fixed["mu"]), lam=lam, bands=bp, grid=min(grid, 256), check_resources=False)


def build_params(values: dict, grid: int, T: float = 0.0, cutoff: str = "sharp") -> TriplonParams:
    """TriplonParams from a dict of parameter values (traced or not); see :data:`FIT_PARAMETERS`.

    ``kappa`` (when present) ties ``kappa_a = kappa_b = kappa``.
    """
    band = {k: values[k] for k in ("t1", "t2", "t3", "eps_alpha", "eps_beta")}
    bp = BandParams(**band, mu=values.get("mu", 0.0))
    if "mu" not in values:
        bp = bp.replace(mu=mu_from_density(values["n_c"], bp, grid))
    if "V" in values:
        V = values["V"]
    else:
        dos = dos_fermi(bp, grid)
        V = values["lambda"] / jnp.sqrt(dos.N_alpha * dos.N_beta)
    ka, kb = (values["kappa"], values["kappa"]) if "kappa" in values else (values["kappa_a"], values["kappa_b"])
    return TriplonParams(bands=bp, V=V, kappa_a=ka, kappa_b=kb, omega=values["omega"], T=T, cutoff=cutoff)


def sheet_gap_magnitudes(sol, sheet, theta):
    """|Delta| of ``sheet`` (0/1) at angles ``theta`` (radians; NaN = sheet average)."""
    coeffs = sol.coefficients[3 * sheet : 3 * sheet + 3]
    coeffs_im = sol.coefficients_imag[3 * sheet : 3 * sheet + 3]
    # C4v: fold any angle into [0, pi/2] (the gap is symmetric about pi/4 within it)
    th = jnp.mod(jnp.where(jnp.isnan(theta), 0.0, theta), 0.5 * jnp.pi)
    gap, _, _ = fermi_surface_gaps(sol.params, coeffs, sheet, th)
    gap_im, _, _ = fermi_surface_gaps(sol.params, coeffs_im, sheet, th)
    fs_re, fs_im = (
        (sol.delta_alpha_fs, sol.delta_alpha_fs_imag) if sheet == 0 else (sol.delta_beta_fs, sol.delta_beta_fs_imag)
    )
    avg = jnp.mean(_modulus(fs_re, fs_im))
    # |Delta| of a complex (s+id) state: real and imaginary parts in quadrature
    return jnp.where(jnp.isnan(theta), avg, _modulus(gap, gap_im))


def _modulus(re, im):
    """``|re + i im|`` with finite derivatives at a node (``|re|`` exactly for ``im = 0``)."""
    real = im == 0
    safe_im = jnp.where(real, 1.0, im)
    return jnp.where(real, jnp.abs(re), jnp.hypot(re, safe_im))


def predict_gaps(values: dict, data, grid: int, cutoff: str = "sharp", *, with_flags: bool = False):
    """Model gap magnitudes (eV) for the rows of ``data`` with an assigned sheet.

    ``with_flags``: also return whether the gap equation converged at each distinct
    temperature of the data (a boolean array).
    """
    out = jnp.zeros(len(data.gap))
    temps = np.unique(np.asarray(data.temperature))
    sheet = np.asarray(data.sheet)
    flags = []
    for T in temps:
        sol = solve_jax(build_params(values, grid, float(T), cutoff), grid, "fixed-point", channel="s")
        flags.append(sol.converged)
        for b in (0, 1):
            rows = np.nonzero((sheet == b) & (np.asarray(data.temperature) == T))[0]
            if rows.size:
                pred = sheet_gap_magnitudes(sol, b, jnp.asarray(np.asarray(data.theta)[rows]))
                out = out.at[rows].set(pred)
    return (out, jnp.stack(flags)) if with_flags else out


@dataclasses.dataclass
class FitResult:
    """Outcome of :func:`fit_gaps` (energies in eV unless the key says meV).

    ``result``: the name of its :class:`jaxnickel.RESULTS` code (``successful``,
    ``max_steps_reached``, ``degenerate``, ``model_solve_failed``); ``converged`` is
    ``result == "successful"`` and ``message`` is derived from it, so they cannot
    disagree.  ``uncertainties`` is the raw set (the data's sigmas at face value) and
    ``uncertainties_scaled`` the set scaled by ``sqrt(chi2/dof)``;
    ``uncertainty_scaling`` says which is reported and why.  ``provenance``: input
    file and its SHA-256, package version, git revision, date.
    """

    parameters: dict
    uncertainties: dict
    uncertainties_raw: dict
    uncertainties_scaled: dict
    uncertainty_scaling: str
    correlation: dict
    covariance: list
    chi2: float
    dof: int
    converged: bool
    result: str
    degenerate: bool
    n_data: int
    free: list
    fixed: dict
    residuals: list
    model_meV: list
    data_meV: list
    sigma_meV: list
    rows_used: list
    message: str
    starts: int
    grid: int
    singular_values: list
    provenance: dict
    seconds: float
    cutoff: str = "sharp"
    cutoff_note: str | None = None
    grid_note: str | None = None

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")

    def to_dict(self) -> dict:
        """JSON-ready dict (NaN -> None)."""
        d = dataclasses.asdict(self)
        d["reduced_chi2"] = self.reduced_chi2
        return clean_json(d)

    def save(self, path) -> Path:
        """Write :meth:`to_dict` as JSON (to a temporary file renamed into place)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=2))


def grid_bias_note(grid: int, what: str) -> str | None:
    """A warning text when ``grid`` is coarser than :data:`CONVERGED_GRID` (None otherwise)."""
    if grid >= CONVERGED_GRID:
        return None
    coarser = max((g for g in GRID_ERROR if g <= grid), default=None)  # measured grid at or below this one
    if coarser is None:
        size = f"more than {100 * GRID_ERROR[min(GRID_ERROR)]:.2g} %"
    else:
        size = f"about {100 * GRID_ERROR[coarser]:.2g} %"
    return (
        f"grid {grid} is coarser than the converged {CONVERGED_GRID}: the gaps at the paper's point carry a "
        f"discretisation error of {size} (sharp shell, lambda 0.18-0.3, against grid 1024: "
        f"benchmarks/results/grid_convergence_fit.md): a bias of the fitted {what} on top of the statistical "
        "uncertainty"
    )


def fit_gaps(
    data,
    free,
    fixed: dict | None = None,
    *,
    start: dict | None = None,
    grid: int = 128,
    starts: int = 3,
    max_steps: int = 100,
    seed: int = 0,
    cutoff: str = "sharp",
    progress: bool = False,
    throw: bool = False,
    check_resources: bool = True,
) -> FitResult:
    """Weighted least-squares fit of the triplon model to gap data.

    ``data``: a :class:`jaxnickel.data.GapData`; ``free``: names from
    :data:`FIT_PARAMETERS` (``kappa`` ties ``kappa_a = kappa_b``); ``fixed``: values
    for other parameters (defaults: the paper's point); ``start``: start values of free
    parameters; ``starts``: number of starts (the first is ``start``, the others
    multiply each free parameter by a random factor in [0.7, 1.3]).  Give at most one
    of lambda/V, of n_c/mu and of kappa/(kappa_a, kappa_b).  ``cutoff``: of the pairing
    (default the paper's sharp shell); with Omega or a band parameter free the fit uses
    the Lorentzian and says so in ``cutoff_note``
    (:func:`~jaxnickel.triplon.pairing.cutoff_for_fit`).

    Refused before any work (``ValueError``): unknown or doubly given parameters, values
    outside their domain, and fewer data rows than free parameters plus one
    (``dof <= 0``: nothing would test the fit).  ``progress``: tqdm bars on stderr;
    ``throw``: raise :class:`jaxnickel.SolveError` unless ``result`` is successful (default:
    return it and warn).
    """
    require_x64()
    t_start = time.perf_counter()
    free = list(free)
    fixed = dict(fixed or {})
    start = dict(start or {})
    unknown = [n for n in list(free) + list(fixed) + list(start) if n not in FIT_PARAMETERS]
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; allowed: {', '.join(FIT_PARAMETERS)}")
    if not free:
        raise ValueError("free must name at least one parameter")
    if len(set(free)) != len(free) or set(free) & set(fixed):
        raise ValueError("a parameter is listed twice (free and fixed, or twice in free)")
    named = set(free) | set(fixed)
    for a, b in (("lambda", "V"), ("n_c", "mu")):
        if a in named and b in named:
            raise ValueError(f"give {a} or {b}, not both")
    if "kappa" in named and named & {"kappa_a", "kappa_b"}:
        raise ValueError("kappa ties kappa_a = kappa_b: give kappa or kappa_a/kappa_b, not both")
    for k, v in list(fixed.items()) + list(start.items()):
        check_fit_value(k, float(v))
    _check_fermi_level(fixed, start, named, grid)
    if not isinstance(grid, int) or grid < 8:
        raise ValueError(f"grid must be an integer >= 8, got {grid!r}")
    if not isinstance(starts, int) or starts < 1:
        raise ValueError(f"starts must be a positive integer, got {starts!r}")
    if check_resources:  # the primal solve and one forward-mode tangent per free parameter
        from .resources import check_memory

        check_memory("triplon", "fixed-point", grid * grid, flag=f"grid={grid}", largest="k-grid", batch=len(free) + 1)
    if cutoff not in CUTOFFS:
        raise ValueError(f"cutoff must be one of {', '.join(CUTOFFS)}, got {cutoff!r}")
    sheet = np.asarray(data.sheet)
    used = np.nonzero(sheet >= 0)[0]
    if used.size == 0:
        raise ValueError("no data row has an assigned sheet (alpha or beta)")
    n_data = int(used.size)
    dof = n_data - len(free)
    if dof <= 0:
        raise ValueError(
            f"{len(free)} free parameter(s) ({', '.join(free)}) for {n_data} data row(s) with an assigned sheet "
            f"(dof = {dof}): a fit needs more rows than free parameters; fix some (--fix NAME=VALUE, "
            "e.g. the tied kappa instead of kappa_a and kappa_b) or add data rows"
        )
    cutoff, cutoff_note = cutoff_for_fit(cutoff, free)
    if cutoff_note:
        warnings.warn(cutoff_note, UserWarning, stacklevel=2)
    grid_note = grid_bias_note(grid, "parameters")
    if grid_note:
        warnings.warn(grid_note, CoarseGridWarning, stacklevel=2)

    values0 = {k: v[0] for k, v in FIT_PARAMETERS.items()}
    drop = {"V" if ("lambda" in named or "V" not in named) else "lambda"}
    drop |= {"mu" if ("n_c" in named or "mu" not in named) else "n_c"}
    drop |= {"kappa"} if "kappa" not in named else {"kappa_a", "kappa_b"}
    base = {k: jnp.asarray(float(fixed.get(k, values0[k]))) for k in values0 if k not in drop and k not in free}

    sub = data.subset(sheet >= 0)
    y = jnp.asarray(np.asarray(sub.gap))
    sig = jnp.asarray(np.asarray(sub.sigma))

    def values_of(z):
        v = dict(base)
        for i, name in enumerate(free):
            v[name] = clip_to_range(name, _from_z(name, z[i]))
        return v

    def raw_residuals(z):
        # a trial step into a region where the model has no Fermi surface / no gap gives
        # NaN; multistart_least_squares turns it into a large finite residual
        return (predict_gaps(values_of(z), sub, grid, cutoff) - y) / sig

    z_first = np.array([_to_z(n, float(start.get(n, fixed.get(n, values0[n])))) for n in free])
    z0s = perturbed_starts(z_first, [FIT_PARAMETERS[n][1] for n in free], starts, seed)
    run = multistart_least_squares(raw_residuals, z0s, max_steps=max_steps, progress=progress, label="gap fit")
    z, chi2, ok = run.z, run.chi2, run.converged
    p_best = {n: float(_from_z(n, z[i])) for i, n in enumerate(free)}

    # Jacobian in the physical parameters at the optimum
    def r_phys(p):
        v = dict(base)
        v.update({n: p[i] for i, n in enumerate(free)})
        pred, solved = predict_gaps(v, sub, grid, cutoff, with_flags=True)
        return (pred - y) / sig, solved

    @jax.jit  # one compiled program (eagerly, each primitive of the solver chain compiles on its own)
    def residuals_and_jacobian(p):
        r, solved = r_phys(p)
        return r, solved, jax.jacfwd(lambda q: r_phys(q)[0])(p)

    p_vec = jnp.asarray([p_best[n] for n in free])
    r_best, solved, J = residuals_and_jacobian(p_vec)
    r_best, J = np.asarray(r_best), np.asarray(J)
    chi2 = float(np.sum(r_best**2))
    cov = covariance_analysis(J, np.asarray(p_vec), free)
    degenerate, s = cov["degenerate"], cov["singular_values"]
    unc = uncertainty_report(cov["uncertainties"], chi2, dof, sigma_given=True)
    if degenerate:
        code, detail = RESULTS.degenerate, cov["message"]
        warnings.warn(cov["message"], DegenerateFitWarning, stacklevel=2)
    elif not bool(np.all(np.asarray(solved))):
        code, detail = RESULTS.model_solve_failed, "at some temperature of the data"
    elif not ok:
        code, detail = RESULTS.max_steps_reached, f"Levenberg-Marquardt, max_steps = {max_steps}"
    else:
        code, detail = RESULTS.successful, None
    message = describe(code, detail)
    model = r_best * np.asarray(sig) + np.asarray(y)
    result = FitResult(
        parameters=p_best,
        uncertainties={n: float(u) for n, u in zip(free, unc["chosen"], strict=True)},
        uncertainties_raw={n: float(u) for n, u in zip(free, unc["raw"], strict=True)},
        uncertainties_scaled={n: float(u) for n, u in zip(free, unc["scaled"], strict=True)},
        uncertainty_scaling=unc["scaling"],
        correlation=cov["correlation"],
        covariance=np.asarray(cov["covariance"]).tolist(),
        chi2=chi2,
        dof=dof,
        converged=code is RESULTS.successful,
        result=code.name,
        degenerate=bool(degenerate),
        n_data=n_data,
        free=free,
        fixed={k: float(v) for k, v in base.items()},
        residuals=[float(v) for v in r_best],
        model_meV=[1e3 * float(v) for v in model],
        data_meV=[1e3 * float(v) for v in np.asarray(y)],
        sigma_meV=[1e3 * float(v) for v in np.asarray(sig)],
        rows_used=[int(i) for i in used],
        message=message,
        starts=starts,
        grid=grid,
        singular_values=s,
        provenance=provenance(getattr(data, "path", None), getattr(data, "sha256", None)),
        seconds=time.perf_counter() - t_start,
        cutoff=cutoff,
        cutoff_note=cutoff_note,
        grid_note=grid_note,
    )
    if code is not RESULTS.successful:
        raise_or_warn(code, "gap fit", detail, throw=throw, warn=False, category=DegenerateFitWarning)
    return result
