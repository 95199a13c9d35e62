"""Fits of measured tunnelling spectra with the self-consistent two-band s+- model.

The model of a spectrum taken at temperature ``T`` is (:mod:`jaxnickel.triplon.spectra`)

    dI/dV(V) = scale * (1 + background_slope * V) * g(V; Delta(T), gamma, tunnel_ratio, T),

with the gaps ``Delta(T)`` the self-consistent solution of Eq. (14) at that ``T``
(fixed-point solver, pairing channel ``s+-`` by default) for the model parameters
(``lambda`` or ``V``, ``kappa_a``, ``kappa_b`` or the tied ``kappa``, ``omega``, ``n_c``
or ``mu``, band parameters).  A temperature series is fitted jointly: one set of model
parameters and one ``gamma``, ``tunnel_ratio``, ``background_slope``; one ``scale`` per
spectrum (the lock-in normalisation differs between spectra).

Parameters and units (:data:`SPECTRUM_PARAMETERS`): energies of the model in eV as in
:mod:`jaxnickel.fit`; ``gamma`` in meV; ``background_slope`` per mV; ``scale`` in the
data's units.  ``scale``: free (``--free ...,scale``: one per spectrum, named
``scale`` for one spectrum and ``scale_0``, ``scale_1``, ... in temperature order for a
series), fixed (``scale=VALUE``, all spectra), or, when neither, *profiled*: the best
linear scale of each spectrum is computed at every evaluation (variable projection;
the Jacobian includes its dependence on the other parameters, so their uncertainties
account for it).

Noise.  ``sigma`` per point from the file when given ("file"); otherwise from the
spread of repeated sweeps (Nanonis files with several sweeps / both directions: the
pooled standard error of their mean, "repeated sweeps"); otherwise estimated from the
data's point-to-point scatter: ``sigma = 1.4826 MAD(y[i-1] - 2 y[i] + y[i+1]) / sqrt(6)``
(white noise has ``var(second difference) = 6 sigma^2``; the MAD ignores the few
points where the spectrum itself is curved, "second differences").  The result says
which.  Uncertainties are reported raw (``(J^T J)^{-1}`` with those sigmas) and scaled
by ``sqrt(chi2/dof)``; ``uncertainties`` is the scaled set whenever sigma was
estimated (not given in the file), the raw set otherwise, and
``uncertainty_scaling`` says which.

Minimiser, derivatives, degeneracy: :func:`jaxnickel.solvers.least_squares.multistart_least_squares`
with a cached :class:`~jaxnickel.solvers.least_squares.CompiledLeastSquares`
(Levenberg-Marquardt from the given start and perturbations of it; the Jacobian is
forward-mode autodiff through the whole chain, the gap equation implicitly), and
:func:`~jaxnickel.solvers.least_squares.covariance_analysis`.

Compiled programs are cached per fit structure (k-grid, ``n_fs``, cutoff, channel, the
free parameter names, the names of the fixed ones, the scale mode, the number of
spectra, their lengths and energy grids, ``max_steps``, ``progress``); the data, noise,
biases, temperatures, fixed values and start values are arguments, so a second fit of
spectra of the same shapes compiles nothing (:data:`jaxnickel.fit.TRACE_COUNTS`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ..fit import (
    CONVERGED_GRID,
    FIT_PARAMETERS,
    PROGRAM_CACHE_SIZE,
    TRACE_COUNTS,
    CoarseGridWarning,
    DegenerateFitWarning,
    build_params,
    check_fit_value,
    clip_to_range,
    grid_bias_note,
    trace_counter,
)
from ..provenance import clean_json
from ..results import RESULTS, describe, raise_or_warn
from ..solvers import require_x64
from ..solvers.least_squares import (
    CompiledLeastSquares,
    covariance_analysis,
    from_unconstrained,
    multistart_least_squares,
    perturbed_starts,
    to_unconstrained,
    uncertainty_report,
)
from ..triplon.pairing import cutoff_for_fit
from ..triplon.params import CUTOFFS, K_B
from ..triplon.solve import CHANNELS, solve_jax
from ..triplon.spectra import N_FS, check_pockets, conductance, energy_points, fermi_line, fermi_line_gaps

__all__ = [
    "SPECTRUM_PARAMETERS",
    "SpectrumFitResult",
    "CoarseGridWarning",
    "CONVERGED_GRID",
    "fit_spectra",
    "model_spectra",
    "estimate_noise",
]

#: parameters a spectrum fit can free or fix: (default start value, domain)
SPECTRUM_PARAMETERS = {
    **FIT_PARAMETERS,
    "lambda": (0.18, "positive"),
    "gamma": (0.5, "positive"),
    "tunnel_ratio": (1.0, "nonnegative"),
    "scale": (1.0, "positive"),
    "background_slope": (0.0, "real"),
}

_SPECTRAL = ("gamma", "tunnel_ratio", "scale", "background_slope")


def estimate_noise(y) -> float:
    """Noise level of a sampled curve from its second differences (module docstring)."""
    y = np.asarray(y, dtype=float)
    if y.size < 5:
        raise ValueError("at least 5 points are needed to estimate the noise of a spectrum")
    d2 = y[:-2] - 2.0 * y[1:-1] + y[2:]
    mad = np.median(np.abs(d2 - np.median(d2)))
    return float(1.4826 * mad / math.sqrt(6.0))


def _outer_level(bias, y) -> float:
    """Mean of the data in the outer 10 % of the bias range (where g ~ 1): a scale estimate."""
    b = np.abs(np.asarray(bias))
    sel = b >= 0.9 * b.max()
    return float(np.mean(np.asarray(y)[sel]))


@dataclasses.dataclass
class SpectrumFitResult:
    """Outcome of :func:`fit_spectra` (``gamma`` in meV, model energies in eV; see module docstring).

    ``result``: the name of its :class:`jaxnickel.RESULTS` code; ``converged`` is
    ``result == "successful"`` and ``message`` is derived from it.
    """

    parameters: dict
    uncertainties: dict
    uncertainties_raw: dict
    uncertainties_scaled: dict
    uncertainty_scaling: str
    correlations: dict
    covariance: list
    chi2: float
    dof: int
    converged: bool
    result: str
    degenerate: bool
    message: str
    n_data: int
    free: list
    fixed: dict
    scale_mode: str
    spectra: list
    grid: int
    n_fs: int
    cutoff: str
    channel: str
    starts: int
    chi2_per_start: list
    singular_values: list
    provenance: dict
    seconds: float
    cutoff_note: str | None = None
    grid_note: str | None = None

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")

    def to_dict(self) -> dict:
        """JSON-ready dict (non-finite numbers -> ``null``)."""
        d = dataclasses.asdict(self)
        d["reduced_chi2"] = self.reduced_chi2
        return clean_json(d)

    def save(self, path) -> Path:
        """Write :meth:`to_dict` as JSON (to a temporary file renamed into place)."""
        from ..provenance import atomic_write_text

        return atomic_write_text(path, json.dumps(self.to_dict(), indent=2))


def _model_values(values: dict) -> dict:
    """The triplon-model part of a parameter dict (``kappa`` ties ``kappa_a = kappa_b`` in :func:`build_params`)."""
    return {k: val for k, val in values.items() if k not in _SPECTRAL}


def model_spectra(
    values: dict, biases_mV, temperatures_K, *, grid: int, n_fs: int, n_omegas, cutoff: str, channel: str
):
    """Model conductances (no scale / background) for each spectrum: list of ``(g, g_alpha, g_beta)``, and solve flags.

    ``values``: physical parameter values (traced or not) with the keys of
    :func:`jaxnickel.fit.build_params` (``kappa`` allowed) plus ``gamma`` (meV) and
    ``tunnel_ratio``.  Pure JAX: one gap solve per spectrum temperature (``lax.map``,
    one compiled solve; no ``vmap`` of solves), one Fermi line for all.
    """
    bias_eV = [jnp.asarray(1e-3 * np.asarray(bias)) for bias in biases_mV]
    Ts = jnp.asarray(np.asarray(temperatures_K, dtype=float) * K_B)
    return _model_spectra(values, bias_eV, Ts, grid=grid, n_fs=n_fs, n_omegas=n_omegas, cutoff=cutoff, channel=channel)


def _model_spectra(values: dict, bias_eV, Ts, *, grid: int, n_fs: int, n_omegas, cutoff: str, channel: str):
    """:func:`model_spectra` with the biases (eV, one array per spectrum) and temperatures (eV) as arrays (traceable)."""
    mv = _model_values(values)
    p0 = build_params(mv, grid, 0.0)
    p0 = type(p0)(bands=p0.bands, V=p0.V, kappa_a=p0.kappa_a, kappa_b=p0.kappa_b, omega=p0.omega, T=0.0, cutoff=cutoff)

    def one(T):
        sol = solve_jax(p0.replace(T=T), grid, "fixed-point", channel=channel)
        return sol.coefficients, sol.converged

    coeffs, ok = jax.lax.map(one, Ts)
    line = fermi_line(p0.bands, n_fs)
    gamma = 1e-3 * values["gamma"]
    out = []
    for i, bias in enumerate(bias_eV):
        gaps = fermi_line_gaps(coeffs[i], line)
        out.append(conductance(bias, line, gaps, gamma, Ts[i], values["tunnel_ratio"], n_omega=n_omegas[i]))
    return out, ok, coeffs


@functools.lru_cache(maxsize=PROGRAM_CACHE_SIZE)
def _spectrum_model(
    grid: int, n_fs: int, cutoff: str, channel: str, names: tuple, domains: tuple, scale_mode: str, n_omegas: tuple
):
    """``r_z(z, args)`` (residuals of the unconstrained vector) and the jitted program at the optimum.

    ``args``: ``{"base", "bias_eV", "bias_mV", "T", "y", "sig"}`` (+ ``"scale"`` when the
    scale is fixed): fixed values, per-spectrum biases, temperatures (eV), data and noise,
    all traced.  ``at_optimum(p, args) -> (residuals, solve flags, Jacobian, curves, coefficients)``.
    """
    scale_names = [n for n in names if n.startswith("scale")]

    def weighted_residuals(phys: dict, args):
        model, ok, _ = _model_spectra(
            phys, args["bias_eV"], args["T"], grid=grid, n_fs=n_fs, n_omegas=n_omegas, cutoff=cutoff, channel=channel
        )
        res = []
        for i, (g, _, _) in enumerate(model):
            y, sig = args["y"][i], args["sig"][i]
            shape = g * (1.0 + phys["background_slope"] * args["bias_mV"][i])
            if scale_mode == "free":
                sc = phys[scale_names[i]]
            elif scale_mode == "fixed":
                sc = args["scale"]
            else:  # profiled: argmin_s sum ((s m - y)/sigma)^2
                w = 1.0 / sig**2
                sc = jnp.sum(w * shape * y) / jnp.sum(w * shape * shape)
            res.append((sc * shape - y) / sig)
        return jnp.concatenate(res), ok

    def phys_of(p, base, transform: bool):
        v = dict(base)
        for i, n in enumerate(names):
            v[n] = clip_to_range(n, from_unconstrained(domains[i], p[i])) if transform else p[i]
        return v

    def r_z(z, args):
        return weighted_residuals(phys_of(z, args["base"], True), args)[0]

    def r_phys(p, args):
        return weighted_residuals(phys_of(p, args["base"], False), args)

    # residuals, Jacobian, fitted curves and gaps at the optimum: one compiled program
    # (eagerly, every primitive of the solver chain would compile on its own)
    @jax.jit
    def at_optimum(p, args):
        TRACE_COUNTS["spectrum fit: Jacobian"] += 1
        r, ok = r_phys(p, args)
        J = jax.jacfwd(lambda q: r_phys(q, args)[0])(p)
        curves, _, coeffs = _model_spectra(
            phys_of(p, args["base"], False),
            args["bias_eV"],
            args["T"],
            grid=grid,
            n_fs=n_fs,
            n_omegas=n_omegas,
            cutoff=cutoff,
            channel=channel,
        )
        return r, ok, J, curves, coeffs

    return r_z, at_optimum


@functools.lru_cache(maxsize=PROGRAM_CACHE_SIZE)
def _spectrum_programs(
    grid: int,
    n_fs: int,
    cutoff: str,
    channel: str,
    names: tuple,
    domains: tuple,
    scale_mode: str,
    n_omegas: tuple,
    max_steps: int,
    progress: bool,
):
    """The compiled programs of a spectrum fit of one structure: ``(CompiledLeastSquares, at_optimum)``."""
    r_z, at_optimum = _spectrum_model(grid, n_fs, cutoff, channel, names, domains, scale_mode, n_omegas)
    lm = CompiledLeastSquares(
        r_z,
        max_steps=max_steps,
        rtol=1e-8,
        atol=1e-8,
        progress=progress,
        on_trace=trace_counter("spectrum fit: Levenberg-Marquardt"),
    )
    return lm, at_optimum


def clear_program_cache() -> None:
    """Forget the compiled programs of :func:`fit_spectra` (the next fit traces and compiles anew)."""
    _spectrum_programs.cache_clear()
    _spectrum_model.cache_clear()


def _noise(spec):
    if spec.sigma is not None:
        return np.asarray(spec.sigma, dtype=float), "file"
    pooled = (spec.meta or {}).get("pooled_sweep_sigma")
    if pooled is not None and math.isfinite(pooled) and pooled > 0:
        return np.full(len(spec.didv), float(pooled)), "repeated sweeps (pooled standard error of their mean)"
    s = estimate_noise(spec.didv)
    if not s > 0:
        raise ValueError("cannot estimate the noise of a spectrum whose second differences vanish: give sigma")
    return np.full(len(spec.didv), s), "second differences (1.4826 MAD / sqrt 6)"


def fit_spectra(
    data,
    free,
    fixed: dict | None = None,
    *,
    start: dict | None = None,
    temperature_K: float | None = None,
    grid: int = 256,
    n_fs: int = N_FS,
    cutoff: str = "sharp",
    channel: str = "s",
    starts: int = 2,
    max_steps: int = 100,
    seed: int = 0,
    progress: bool = False,
    throw: bool = False,
    check_resources: bool = True,
) -> SpectrumFitResult:
    """Weighted least-squares fit of one spectrum or a temperature series (module docstring).

    ``data``: a :class:`jaxnickel.spectra.io.SpectrumSet` (or a single ``Spectrum``);
    ``free``: names from :data:`SPECTRUM_PARAMETERS`; ``fixed``: values of others
    (defaults: the paper's bands and kappa, ``lambda = 0.18``, ``gamma = 0.5`` meV,
    ``tunnel_ratio = 1``, ``background_slope = 0``); ``start``: start values of free
    parameters; ``temperature_K``: overrides every spectrum's temperature;
    ``channel``: pairing channel of the gap solve (``"s"``: s+-, as :func:`jaxnickel.fit.fit_gaps`);
    ``progress``: tqdm bars on stderr (per start, residual evaluations with chi^2);
    ``throw``: raise :class:`jaxnickel.SolveError` unless ``result`` is successful.
    """
    require_x64()
    t_start = time.perf_counter()
    spectra = tuple(getattr(data, "spectra", (data,)))
    if not spectra:
        raise ValueError("no spectrum to fit")
    free = list(free)
    if len(set(free)) != len(free):
        raise ValueError("a parameter is listed twice in free")
    fixed = dict(fixed or {})
    start = dict(start or {})
    unknown = [n for n in list(free) + list(fixed) + list(start) if n not in SPECTRUM_PARAMETERS]
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; allowed: {', '.join(SPECTRUM_PARAMETERS)}")
    if not free:
        raise ValueError("free must name at least one parameter")
    if set(free) & set(fixed):
        raise ValueError(f"parameter(s) {sorted(set(free) & set(fixed))} both free and fixed")
    named = set(free) | set(fixed)
    for a, b in (("lambda", "V"), ("n_c", "mu")):
        if a in named and b in named:
            raise ValueError(f"give {a} or {b}, not both")
    if "kappa" in named and named & {"kappa_a", "kappa_b"}:
        raise ValueError("kappa ties kappa_a = kappa_b: give kappa or kappa_a/kappa_b, not both")
    for k, v in list(fixed.items()) + list(start.items()):
        check_fit_value(k, float(v), SPECTRUM_PARAMETERS)
    if not isinstance(grid, int) or grid < 8:
        raise ValueError(f"grid must be an integer >= 8, got {grid!r}")
    if not isinstance(starts, int) or starts < 1:
        raise ValueError(f"starts must be a positive integer, got {starts!r}")
    if check_resources:  # the primal solve and one forward-mode tangent per free parameter
        from ..resources import check_memory

        check_memory("triplon", "fixed-point", grid * grid, flag=f"grid={grid}", largest="k-grid", batch=len(free) + 1)
    if cutoff not in CUTOFFS:
        raise ValueError(f"cutoff must be one of {', '.join(CUTOFFS)}, got {cutoff!r}")
    # Omega or a band parameter free: the sharp shell has no derivative there (stated)
    cutoff, cutoff_note = cutoff_for_fit(cutoff, free)
    if cutoff_note:
        warnings.warn(cutoff_note, UserWarning, stacklevel=2)
    grid_note = grid_bias_note(grid, "lambda")
    if grid_note:
        warnings.warn(grid_note, CoarseGridWarning, stacklevel=2)
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")

    # temperatures, data, noise
    temps = []
    for i, s in enumerate(spectra):
        T = temperature_K if temperature_K is not None else s.temperature_K
        if T is None:
            raise ValueError(
                f"spectrum {i} has no temperature (no 'Temperature 1>Temperature 1 (K)' header entry or T_K column): "
                "give --T KELVIN (temperature_K=...)"
            )
        if not (math.isfinite(T) and T >= 0):
            raise ValueError(f"temperature must be a finite number >= 0 K, got {T}")
        temps.append(float(T))
    ys, sigs, sources = [], [], []
    for s in spectra:
        sg, src = _noise(s)
        ys.append(np.asarray(s.didv, dtype=float))
        sigs.append(sg)
        sources.append(src)
    biases = [np.asarray(s.bias_mV, dtype=float) for s in spectra]
    n_spec = len(spectra)

    # parameter vector: model + spectral; scale expands to one per spectrum
    scale_mode = "free" if "scale" in free else ("fixed" if "scale" in fixed else "profiled")
    scale_names = ["scale"] if n_spec == 1 else [f"scale_{i}" for i in range(n_spec)]
    names = [n for n in free if n != "scale"] + (scale_names if scale_mode == "free" else [])
    domains = [SPECTRUM_PARAMETERS["scale" if n.startswith("scale") else n][1] for n in names]
    n_data = int(sum(len(y) for y in ys))
    dof = n_data - len(names)
    if dof <= 0:
        raise ValueError(
            f"{len(names)} free parameters for {n_data} data points (dof = {dof}): free fewer parameters or give more data"
        )

    defaults = {k: v[0] for k, v in SPECTRUM_PARAMETERS.items()}
    drop = {"V" if ("lambda" in named or "V" not in named) else "lambda"}
    drop |= {"mu" if ("n_c" in named or "mu" not in named) else "n_c"}
    drop |= {"kappa"} if "kappa" not in named else {"kappa_a", "kappa_b"}
    drop |= {"scale"}
    base = {k: jnp.asarray(float(fixed.get(k, defaults[k]))) for k in defaults if k not in drop and k not in free}

    def start_value(n):
        if n.startswith("scale"):
            i = 0 if n == "scale" else int(n.split("_")[1])
            return float(start.get("scale", _outer_level(biases[i], ys[i])))
        return float(start.get(n, fixed.get(n, defaults[n])))

    # energy grids: resolve the narrowest of the start gamma and half of it (gamma may shrink)
    g_lo = 0.5 * (start_value("gamma") if "gamma" in free else float(base["gamma"]))

    def omegas_for(gamma_meV):
        return [
            energy_points(1e-3 * b.min(), 1e-3 * b.max(), 1e-3 * gamma_meV, T * K_B)[0]
            for b, T in zip(biases, temps, strict=True)
        ]

    n_omegas = omegas_for(g_lo)

    # every number is an argument of the cached programs; the structure is their key
    args = {
        "base": base,
        "bias_eV": [jnp.asarray(1e-3 * b) for b in biases],
        "bias_mV": [jnp.asarray(b) for b in biases],
        "T": jnp.asarray(np.asarray(temps, dtype=float) * K_B),
        "y": [jnp.asarray(y) for y in ys],
        "sig": [jnp.asarray(sg) for sg in sigs],
    }
    if scale_mode == "fixed":
        args["scale"] = jnp.asarray(float(fixed["scale"]))
    structure = (grid, n_fs, cutoff, channel, tuple(names), tuple(domains), scale_mode)

    z_first = np.array([to_unconstrained(d, start_value(n)) for n, d in zip(names, domains, strict=True)])
    start_bands = build_params(_model_values({**base, **{n: start_value(n) for n in names}}), grid, 0.0).bands
    check_pockets(start_bands, n_fs)
    z0s = perturbed_starts(z_first, domains, starts, seed)

    for attempt in range(2):
        lm, _ = _spectrum_programs(*structure, tuple(n_omegas), max_steps, bool(progress))
        run = multistart_least_squares(
            lm, z0s, args, label=f"spectrum fit ({n_spec} spectra, {n_data} points, grid {grid})"
        )
        best = {n: float(from_unconstrained(d, run.z[i])) for i, (n, d) in enumerate(zip(names, domains, strict=True))}
        g_fit = best["gamma"] if "gamma" in best else float(base["gamma"])
        need = omegas_for(g_fit / 1.5)
        if all(a >= b for a, b in zip(n_omegas, need, strict=True)) or attempt == 1:
            break
        # gamma shrank below what the energy grid resolves: refine and refit from here
        n_omegas = [max(a, b) for a, b in zip(n_omegas, need, strict=True)]
        z0s = [run.z]

    _, at_optimum = _spectrum_model(*structure, tuple(n_omegas))
    p_vec = jnp.asarray([best[n] for n in names])
    r_best, solves_ok, J, model, coeffs_best = at_optimum(p_vec, args)
    full = dict(base)
    full.update(best)
    J = np.asarray(J)
    r_best = np.asarray(r_best)
    chi2 = float(np.sum(r_best**2))
    cov = covariance_analysis(J, np.asarray(p_vec), names)
    degenerate = cov["degenerate"]
    sigma_given = all(src == "file" for src in sources)
    unc = uncertainty_report(cov["uncertainties"], chi2, dof, sigma_given)
    factor = unc["factor"]
    solves_converged = bool(np.all(np.asarray(solves_ok)))
    normal = [i for i, c in enumerate(np.asarray(coeffs_best)) if not np.any(np.abs(c) > 0)]
    if normal:
        code = RESULTS.normal_state
        detail = (
            f"the gap equation gives the normal state (no gap) at the fitted parameters for spectrum(s) {normal} "
            f"(T = {', '.join(f'{temps[i]:g}' for i in normal)} K): the spectrum cannot constrain the pairing there; "
            "start from a larger lambda, or use a finer --grid (coarse grids miss weak-coupling gaps)"
        )
        if degenerate:
            warnings.warn(detail, DegenerateFitWarning, stacklevel=2)
    elif degenerate:
        code, detail = RESULTS.degenerate, cov["message"]
        warnings.warn(detail, DegenerateFitWarning, stacklevel=2)
    elif not solves_converged:
        code, detail = RESULTS.model_solve_failed, "for some temperature of the series"
    elif not run.converged:
        code, detail = RESULTS.max_steps_reached, f"Levenberg-Marquardt, max_steps = {max_steps}"
    else:
        code, detail = RESULTS.successful, None
    message = describe(code, detail)
    converged = code is RESULTS.successful

    # the fitted curves, per spectrum
    coeffs = coeffs_best
    per = []
    offset = 0
    for i, (g, ga, gb) in enumerate(model):
        n = len(ys[i])
        ri = r_best[offset : offset + n]
        offset += n
        shape = np.asarray(g) * (1.0 + float(full["background_slope"]) * biases[i])
        mod = ri * sigs[i] + ys[i]
        sc = float(np.sum(mod * shape) / np.sum(shape * shape))
        c = np.asarray(coeffs[i])
        per.append(
            {
                "T_K": temps[i],
                "n_points": n,
                "scale": sc,
                "sigma": float(np.median(sigs[i])),
                "sigma_source": sources[i],
                "chi2": float(np.sum(ri**2)),
                "n_omega": int(n_omegas[i]),
                "bias_mV": biases[i].tolist(),
                "data": ys[i].tolist(),
                "model": mod.tolist(),
                "residuals": ri.tolist(),
                "conductance": np.asarray(g).tolist(),
                "conductance_alpha": np.asarray(ga).tolist(),
                "conductance_beta": np.asarray(gb).tolist(),
                "gap_coefficients_meV": (1e3 * c).tolist(),
                "delta_alpha_diagonal_meV": 1e3 * float(c[0]),
                "delta_beta_diagonal_meV": 1e3 * float(c[3]),
            }
        )
    from ..provenance import provenance

    prov = provenance(getattr(data, "path", None), getattr(data, "sha256", None))
    prov["input_format"] = getattr(data, "format", None)
    out = SpectrumFitResult(
        parameters=best,
        uncertainties={n: float(u) for n, u in zip(names, unc["chosen"], strict=True)},
        uncertainties_raw={n: float(u) for n, u in zip(names, unc["raw"], strict=True)},
        uncertainties_scaled={n: float(u) for n, u in zip(names, unc["scaled"], strict=True)},
        uncertainty_scaling=unc["scaling"],
        correlations=cov["correlation"],
        covariance=(np.asarray(cov["covariance"]) * (1.0 if sigma_given else factor**2)).tolist(),
        chi2=chi2,
        dof=dof,
        converged=converged,
        result=code.name,
        degenerate=degenerate,
        message=message,
        n_data=n_data,
        free=names,
        fixed={k: float(v) for k, v in base.items()},
        scale_mode=scale_mode,
        spectra=per,
        grid=grid,
        n_fs=n_fs,
        cutoff=cutoff,
        channel=channel,
        starts=starts,
        chi2_per_start=run.chi2_per_start,
        singular_values=cov["singular_values"],
        provenance=prov,
        seconds=time.perf_counter() - t_start,
        cutoff_note=cutoff_note,
        grid_note=grid_note,
    )
    if not converged:
        raise_or_warn(code, "spectrum fit", detail, throw=throw, warn=False, category=DegenerateFitWarning)
    return out
