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
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .provenance import clean_json
from .solvers import require_x64
from .solvers.least_squares import (
    check_domain,
    covariance_analysis,
    from_unconstrained,
    multistart_least_squares,
    perturbed_starts,
    to_unconstrained,
)
from .triplon import BandParams, TriplonParams
from .triplon.bands import dos_fermi, mu_from_density
from .triplon.pairing import cutoff_for_fit
from .triplon.params import CUTOFFS
from .triplon.solution import fermi_surface_gaps
from .triplon.solve import solve_jax

__all__ = ["FIT_PARAMETERS", "FitResult", "fit_gaps", "predict_gaps", "build_params", "DegenerateFitWarning"]

#: free-parameter names, their default start values and their domain
FIT_PARAMETERS = {
    "lambda": (0.3, "positive"),
    "V": (0.4, "positive"),
    "kappa_a": (0.75, "nonnegative"),
    "kappa_b": (0.75, "nonnegative"),
    "omega": (0.3, "positive"),
    "n_c": (0.45, "filling"),
    "mu": (-0.65, "real"),
    "t1": (0.45, "real"),
    "t2": (-0.24, "real"),
    "t3": (0.06, "real"),
    "eps_alpha": (0.4, "real"),
    "eps_beta": (0.1, "real"),
}


class DegenerateFitWarning(RuntimeWarning):
    """The data do not constrain every free parameter."""


def _to_z(name, v):
    return to_unconstrained(FIT_PARAMETERS[name][1], v)


def _from_z(name, z):
    return from_unconstrained(FIT_PARAMETERS[name][1], z)


def _check_value(name, v):
    check_domain(name, FIT_PARAMETERS[name][1], v)


def build_params(values: dict, grid: int, T: float = 0.0, cutoff: str = "sharp") -> TriplonParams:
    """TriplonParams from a dict of parameter values (traced or not); see :data:`FIT_PARAMETERS`."""
    band = {k: values[k] for k in ("t1", "t2", "t3", "eps_alpha", "eps_beta")}
    bp = BandParams(**band, mu=values.get("mu", 0.0))
    if "mu" not in values:
        bp = bp.replace(mu=mu_from_density(values["n_c"], bp, grid))
    if "V" in values:
        V = values["V"]
    else:
        dos = dos_fermi(bp, grid)
        V = values["lambda"] / jnp.sqrt(dos.N_alpha * dos.N_beta)
    return TriplonParams(
        bands=bp, V=V, kappa_a=values["kappa_a"], kappa_b=values["kappa_b"], omega=values["omega"], T=T, cutoff=cutoff
    )


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


def predict_gaps(values: dict, data, grid: int, cutoff: str = "sharp"):
    """Model gap magnitudes (eV) for the rows of ``data`` with an assigned sheet."""
    out = jnp.zeros(len(data.gap))
    temps = np.unique(np.asarray(data.temperature))
    sheet = np.asarray(data.sheet)
    for T in temps:
        sol = solve_jax(build_params(values, grid, float(T), cutoff), grid, "fixed-point", channel="s")
        for b in (0, 1):
            rows = np.nonzero((sheet == b) & (np.asarray(data.temperature) == T))[0]
            if rows.size:
                pred = sheet_gap_magnitudes(sol, b, jnp.asarray(np.asarray(data.theta)[rows]))
                out = out.at[rows].set(pred)
    return out


@dataclasses.dataclass
class FitResult:
    """Outcome of :func:`fit_gaps` (energies in eV unless the key says meV)."""

    parameters: dict
    uncertainties: dict
    correlation: dict
    chi2: float
    dof: int
    converged: bool
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
    cutoff: str = "sharp"
    cutoff_note: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict (NaN -> None)."""
        d = dataclasses.asdict(self)
        d["reduced_chi2"] = self.chi2 / self.dof if self.dof > 0 else None
        return clean_json(d)

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path


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
) -> FitResult:
    """Weighted least-squares fit of the triplon model to gap data.

    ``data``: a :class:`jaxnickel.data.GapData`; ``free``: names from
    :data:`FIT_PARAMETERS`; ``fixed``: values for other parameters (defaults: the
    paper's point); ``start``: start values of free parameters; ``starts``: number
    of starts (the first is ``start``, the others multiply each free parameter by
    a random factor in [0.7, 1.3]).  Give at most one of lambda/V and of n_c/mu.
    ``cutoff``: of the pairing (default the paper's sharp shell); with Omega or a band
    parameter free the fit uses the Lorentzian and says so in ``cutoff_note``
    (:func:`~jaxnickel.triplon.pairing.cutoff_for_fit`).
    """
    require_x64()
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
    for a, b in (("lambda", "V"), ("n_c", "mu")):
        if a in free + list(fixed) and b in free + list(fixed):
            raise ValueError(f"give {a} or {b}, not both")
    for k, v in list(fixed.items()) + list(start.items()):
        _check_value(k, float(v))
    if not isinstance(grid, int) or grid < 8:
        raise ValueError(f"grid must be an integer >= 8, got {grid!r}")
    if not isinstance(starts, int) or starts < 1:
        raise ValueError(f"starts must be a positive integer, got {starts!r}")
    if cutoff not in CUTOFFS:
        raise ValueError(f"cutoff must be one of {', '.join(CUTOFFS)}, got {cutoff!r}")
    cutoff, cutoff_note = cutoff_for_fit(cutoff, free)
    if cutoff_note:
        warnings.warn(cutoff_note, UserWarning, stacklevel=2)

    names_all = set(free) | set(fixed)
    values0 = {k: v[0] for k, v in FIT_PARAMETERS.items()}
    drop = {"V" if ("lambda" in names_all or "V" not in names_all) else "lambda"}
    drop |= {"mu" if ("n_c" in names_all or "mu" not in names_all) else "n_c"}
    base = {k: jnp.asarray(float(fixed.get(k, values0[k]))) for k in values0 if k not in drop and k not in free}

    sheet = np.asarray(data.sheet)
    used = np.nonzero(sheet >= 0)[0]
    if used.size == 0:
        raise ValueError("no data row has an assigned sheet (alpha or beta)")
    sub = data.subset(sheet >= 0)
    y = jnp.asarray(np.asarray(sub.gap))
    sig = jnp.asarray(np.asarray(sub.sigma))

    def values_of(z):
        v = dict(base)
        for i, name in enumerate(free):
            v[name] = _from_z(name, z[i])
        return v

    def raw_residuals(z):
        # a trial step into a region where the model has no Fermi surface / no gap gives
        # NaN; multistart_least_squares turns it into a large finite residual
        return (predict_gaps(values_of(z), sub, grid, cutoff) - y) / sig

    z_first = np.array([_to_z(n, float(start.get(n, fixed.get(n, values0[n])))) for n in free])
    z0s = perturbed_starts(z_first, [FIT_PARAMETERS[n][1] for n in free], starts, seed)
    run = multistart_least_squares(raw_residuals, z0s, max_steps=max_steps)
    z, chi2, ok = run.z, run.chi2, run.converged
    p_best = {n: float(_from_z(n, z[i])) for i, n in enumerate(free)}

    # Jacobian in the physical parameters at the optimum
    def r_phys(p):
        v = dict(base)
        v.update({n: p[i] for i, n in enumerate(free)})
        return (predict_gaps(v, sub, grid, cutoff) - y) / sig

    @jax.jit  # one compiled program (eagerly, each primitive of the solver chain compiles on its own)
    def residuals_and_jacobian(p):
        return r_phys(p), jax.jacfwd(r_phys)(p)

    p_vec = jnp.asarray([p_best[n] for n in free])
    r_best, J = residuals_and_jacobian(p_vec)
    r_best, J = np.asarray(r_best), np.asarray(J)
    n_data = int(y.size)
    dof = n_data - len(free)
    cov = covariance_analysis(J, np.asarray(p_vec), free)
    degenerate, msg, s = cov["degenerate"] or dof < 0, cov["message"], cov["singular_values"]
    unc, corr = cov["uncertainties"], cov["correlation"]
    if degenerate:
        warnings.warn(msg, DegenerateFitWarning, stacklevel=2)
    model = r_best * np.asarray(sig) + np.asarray(y)
    return FitResult(
        parameters=p_best,
        uncertainties={n: float(u) for n, u in zip(free, unc, strict=True)},
        correlation=corr,
        chi2=chi2,
        dof=dof,
        converged=ok,
        degenerate=bool(degenerate),
        n_data=n_data,
        free=free,
        fixed={k: float(v) for k, v in base.items()},
        residuals=[float(v) for v in r_best],
        model_meV=[1e3 * float(v) for v in model],
        data_meV=[1e3 * float(v) for v in np.asarray(y)],
        sigma_meV=[1e3 * float(v) for v in np.asarray(sig)],
        rows_used=[int(i) for i in used],
        message=msg,
        starts=starts,
        grid=grid,
        singular_values=s,
        cutoff=cutoff,
        cutoff_note=cutoff_note,
    )
