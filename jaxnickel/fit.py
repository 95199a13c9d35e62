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

Compiled programs.  The Levenberg-Marquardt run and the residuals-plus-Jacobian at the
optimum are compiled once per *structure* of a fit and cached in the process
(:func:`_gap_programs`): the k-grid, the cutoff, the free parameters (in order), the
names of the fixed ones, the data's row layout (which rows belong to which sheet at
which of the distinct temperatures), ``max_steps`` and ``progress``.  Every number --
data (gaps, sigmas, angles, temperatures), fixed values and start values -- is an
argument of the compiled programs, so a second fit of data of the same layout, with
other values or other starts, traces and compiles nothing.  :data:`TRACE_COUNTS` counts
the traces (tests read it).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
import warnings
from collections import Counter
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .provenance import atomic_write_text, clean_json, provenance
from .results import RESULTS, describe, raise_or_warn
from .solvers import require_x64
from .solvers.least_squares import (
    CompiledLeastSquares,
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
from .triplon.solution import _gap_at, fermi_surface_points
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
    kx, ky = fermi_surface_points(sol.params.bands, th)  # one Fermi-surface search for both parts
    gap, gap_im = _gap_at(coeffs, kx[sheet], ky[sheet]), _gap_at(coeffs_im, kx[sheet], ky[sheet])
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


def row_layout(data) -> tuple[tuple, np.ndarray]:
    """The static structure of gap data: ``(layout, temperatures)``.

    ``temperatures``: the distinct temperatures of the rows (ascending, eV);
    ``layout[j] = (rows_alpha, rows_beta)``: the indices (tuples of ints) of the rows of
    sheet 0 and 1 at ``temperatures[j]`` (unassigned rows are in neither).  Hashable: it
    is part of the key of the compiled fit programs, the temperatures are not.
    """
    t = np.asarray(data.temperature)
    sheet = np.asarray(data.sheet)
    temps = np.unique(t)
    layout = tuple(tuple(tuple(int(i) for i in np.nonzero((sheet == b) & (t == T))[0]) for b in (0, 1)) for T in temps)
    return layout, temps


def _predict_rows(values: dict, temps, theta, layout: tuple, n: int, grid: int, cutoff: str):
    """Gap magnitudes of ``n`` rows laid out as ``layout`` (:func:`row_layout`) and the solve flags.

    ``temps`` (one per layout entry, eV) and ``theta`` (one per row) may be traced.
    """
    out = jnp.zeros(n)
    flags = []
    for j, rows_by_sheet in enumerate(layout):
        sol = solve_jax(build_params(values, grid, temps[j], cutoff), grid, "fixed-point", channel="s")
        flags.append(sol.converged)
        for b, rows in enumerate(rows_by_sheet):
            if rows:
                idx = np.asarray(rows)
                out = out.at[idx].set(sheet_gap_magnitudes(sol, b, theta[idx]))
    return out, jnp.stack(flags)


def predict_gaps(values: dict, data, grid: int, cutoff: str = "sharp", *, with_flags: bool = False):
    """Model gap magnitudes (eV) for the rows of ``data`` with an assigned sheet.

    ``with_flags``: also return whether the gap equation converged at each distinct
    temperature of the data (a boolean array).
    """
    layout, temps = row_layout(data)
    out, flags = _predict_rows(
        values, jnp.asarray(temps), jnp.asarray(np.asarray(data.theta)), layout, len(data.gap), grid, cutoff
    )
    return (out, flags) if with_flags else out


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


#: how often each cached fit program was traced in this process, by program name (read by the tests:
#: a second fit of the same structure adds nothing)
TRACE_COUNTS: Counter = Counter()

#: fit structures whose compiled programs are kept per fitter (least recently used dropped;
#: :func:`clear_program_cache` drops all)
PROGRAM_CACHE_SIZE = 8


def trace_counter(name: str):
    """An ``on_trace`` for :class:`~jaxnickel.solvers.least_squares.CompiledLeastSquares`: counts ``name``
    in :data:`TRACE_COUNTS`."""

    def count() -> None:
        TRACE_COUNTS[name] += 1

    return count


def _gap_values(free: tuple, base: dict, x, transform: bool) -> dict:
    """Parameter values: ``base`` plus the free ones from ``x`` (unconstrained ``z`` when ``transform``)."""
    v = dict(base)
    for i, name in enumerate(free):
        v[name] = clip_to_range(name, _from_z(name, x[i])) if transform else x[i]
    return v


@functools.lru_cache(maxsize=PROGRAM_CACHE_SIZE)
def _gap_model(grid: int, cutoff: str, free: tuple, layout: tuple):
    """``r_phys(p, args) -> (residuals, solve flags)`` and the jitted residuals + Jacobian at the optimum.

    ``args``: ``{"base", "temps", "theta", "y", "sig"}`` (fixed values, the data's distinct
    temperatures, the rows' angles, gaps and sigmas), all traced.
    """

    def weighted(values, args):
        pred, solved = _predict_rows(values, args["temps"], args["theta"], layout, len(args["y"]), grid, cutoff)
        return (pred - args["y"]) / args["sig"], solved

    def r_z(z, args):
        # a trial step into a region where the model has no Fermi surface / no gap gives
        # NaN; the compiled run turns it into a large finite residual
        return weighted(_gap_values(free, args["base"], z, True), args)[0]

    def r_phys(p, args):
        return weighted(_gap_values(free, args["base"], p, False), args)

    @jax.jit  # one compiled program (eagerly, each primitive of the solver chain compiles on its own)
    def residuals_and_jacobian(p, args):
        TRACE_COUNTS["gap fit: Jacobian"] += 1
        r, solved = r_phys(p, args)
        return r, solved, jax.jacfwd(lambda q: r_phys(q, args)[0])(p)

    return r_z, residuals_and_jacobian


@functools.lru_cache(maxsize=PROGRAM_CACHE_SIZE)
def _gap_programs(grid: int, cutoff: str, free: tuple, layout: tuple, max_steps: int, progress: bool):
    """The compiled programs of a gap fit of one structure: ``(CompiledLeastSquares, residuals_and_jacobian)``."""
    r_z, residuals_and_jacobian = _gap_model(grid, cutoff, free, layout)
    lm = CompiledLeastSquares(
        r_z,
        max_steps=max_steps,
        rtol=1e-10,
        atol=1e-10,
        progress=progress,
        on_trace=trace_counter("gap fit: Levenberg-Marquardt"),
    )
    return lm, residuals_and_jacobian


def clear_program_cache() -> None:
    """Forget the compiled programs of :func:`fit_gaps` (the next fit traces and compiles anew)."""
    _gap_programs.cache_clear()
    _gap_model.cache_clear()


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
    layout, temps = row_layout(sub)
    # every number is an argument of the cached programs; the structure is their key
    args = {"base": base, "temps": jnp.asarray(temps), "theta": jnp.asarray(np.asarray(sub.theta)), "y": y, "sig": sig}
    lm, residuals_and_jacobian = _gap_programs(grid, cutoff, tuple(free), layout, max_steps, bool(progress))

    z_first = np.array([_to_z(n, float(start.get(n, fixed.get(n, values0[n])))) for n in free])
    z0s = perturbed_starts(z_first, [FIT_PARAMETERS[n][1] for n in free], starts, seed)
    run = multistart_least_squares(lm, z0s, args, label="gap fit")
    z, chi2, ok = run.z, run.chi2, run.converged
    p_best = {n: float(_from_z(n, z[i])) for i, n in enumerate(free)}

    # Jacobian in the physical parameters at the optimum
    p_vec = jnp.asarray([p_best[n] for n in free])
    r_best, solved, J = residuals_and_jacobian(p_vec, args)
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
