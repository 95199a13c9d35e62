"""Cost of the tunnelling-spectrum forward model, of its Jacobian, and of a whole spectrum fit.

Model point (paper 001's bands, ``make_params(lam=0.18, grid=n, T=4.2 * K_B)``):
lambda = 0.18, kappa_a = kappa_b = 0.75, n_c = 0.45, Omega = 0.3 eV, T = 4.2 K;
201 biases from -50 to 50 mV, Dynes gamma = 0.8 meV, tunnel ratio r = 1 (``--tunnel-ratio``),
n_fs = 48 Fermi-line angles per quadrant, n_omega from
:func:`jaxnickel.triplon.spectra.energy_points` (512 points here), gap solve in the s+- channel
on the n x n k-grid.  Every grid runs in a fresh interpreter (``--grids``; default
128,256,512, ``--quick`` = 64,128), one section after another:

1. **forward**: ``eqx.filter_jit`` of ``spectrum_jax(p, bias, gamma, r, grid=n, n_fs=48,
   n_omega=..., channel="s")`` (gap solve + Fermi lines + conductance), as a function of
   x = (lambda, kappa_a, gamma [meV], T [K]).  first = the first call (trace + compile +
   run); compile = first - warm; warm = median of R further calls (``--repeats``, default
   5, each at lambda (1 + 1e-3 i): traced, so no recompilation and no result to reuse;
   ``block_until_ready``).  "XLA compile" is the backend compile time JAX itself records
   during the first call (``jax.monitoring``), a direct measure of the compile part.
2. **Jacobian** of the 201-point spectrum w.r.t. x (201 x 4), through the gap solve:
   * ``jax.jacfwd`` with the implicit adjoint (optimistix ``ImplicitAdjoint``): what the
     fits use;
   * ``jax.jacrev`` with the implicit adjoint (like-for-like with the next one);
   * the unrolled adjoint (``solve_jax(..., "fixed-point", channel="s",
     adjoint="unrolled")``, i.e. optimistix ``RecursiveCheckpointAdjoint``, differentiating
     through the Newton steps) followed by ``fermi_line`` / ``fermi_line_gaps`` /
     ``conductance``.  That adjoint is a ``custom_vjp``: JAX cannot apply forward mode to
     it, so the script *tries* ``jax.jacfwd`` (and records the error JAX raises) and times
     ``jax.jacrev``.
   Each is compiled and timed like the forward spectrum.  Agreement: max over entries of
   ``|J_a - J_b| / max_V |J_b|`` per column (the columns have different units), and the
   largest difference of the primal spectra.
3. **fit**: ``fit_spectra`` of a synthetic spectrum (``synthetic_spectra`` at the same
   parameters plus Gaussian noise 0.01 with sigma given), free = lambda, gamma, scale,
   start lambda = 0.15 (gamma starts at the default 0.5 meV, scale at the data's outer
   level), ``starts=1``, tunnel ratio fixed at its true value, on the same grid.  The fit
   is called twice in the same process: the first wall time includes all compilation; the
   second shows what is reused.  ``fit_spectra`` builds new closures on every call, so JAX
   may compile again: the number of XLA compilations and their time during each call are
   counted (``jax.monitoring``) and reported.

Usage::

    python benchmarks/bench_spectra.py                      # grids 128, 256, 512
    python benchmarks/bench_spectra.py --quick              # grids 64, 128 (smoke test)
    python benchmarks/bench_spectra.py --grids 128,1024 --repeats 7 --sections forward,jacobian
    python benchmarks/bench_spectra.py --device "H200 (CUDA)" --out /tmp/res

Writes ``<out>/bench_spectra_<cpu|gpu>.md`` and ``.json`` (named by the JAX backend; default
out = benchmarks/results).  ``--device`` is a free-text note on the machine (default "CPU").
Timings are only meaningful on an otherwise idle machine: the 1-minute load average is
recorded before every section and at the start and end.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent

from _common import cpu_info, git_revision  # noqa: E402  (this folder is on sys.path)

TAG = "@@BENCH_SPECTRA@@"
SECTIONS = ("forward", "jacobian", "fit")
DEFAULT_GRIDS = (128, 256, 512)
QUICK_GRIDS = (64, 128)

# the model point
LAM, KAPPA, N_C, OMEGA, T_KELVIN = 0.18, 0.75, 0.45, 0.3, 4.2
GAMMA_MEV = 0.8
BIAS_MV = (-50.0, 50.0, 201)
N_FS = 48
NOISE = 0.01
FIT_START_LAMBDA = 0.15
X_NAMES = ("lambda", "kappa_a", "gamma_meV", "T_K")

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_TRACE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration")


# --------------------------------------------------------------------------- worker side


class CompileLog:
    """Counts the XLA compilations (and their seconds) JAX records while active (``with log: ...``)."""

    def __init__(self):
        self.n = 0
        self.compile_s = 0.0
        self.trace_s = 0.0
        self.active = False
        jax.monitoring.register_event_duration_secs_listener(self._listener)

    def _listener(self, event, duration, *args, **kwargs):
        if not self.active:
            return
        if event == _COMPILE_EVENT:
            self.n += 1
            self.compile_s += float(duration)
        elif event in _TRACE_EVENTS:
            self.trace_s += float(duration)

    def __enter__(self):
        self.n, self.compile_s, self.trace_s, self.active = 0, 0.0, 0.0, True
        return self

    def __exit__(self, *exc):
        self.active = False
        return False

    def summary(self) -> dict:
        return {"xla_compiles": self.n, "xla_compile_s": self.compile_s, "trace_lower_s": self.trace_s}


def _rss_mb() -> float:
    """Peak resident set size of this process so far (MB; ru_maxrss is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _progress(msg: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _time_jitted(fn, inputs, log: CompileLog) -> tuple[dict, object]:
    """First call (compiling) at ``inputs[0]``, then warm calls at ``inputs[1:]``; returns (timings, first output)."""
    load = os.getloadavg()[0]
    with log:
        t0 = time.perf_counter()
        out0 = jax.block_until_ready(fn(*inputs[0]))
        first = time.perf_counter() - t0
    comp = log.summary()
    warm = []
    with log:
        for args in inputs[1:]:
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            warm.append(time.perf_counter() - t0)
    recompiles = log.n
    run = statistics.median(warm)
    return {
        "first_s": first,
        "compile_s": first - run,
        "warm_s": run,
        "warm_all_s": warm,
        "warm_min_s": min(warm),
        **comp,
        "xla_compiles_during_warm_calls": recompiles,
        "load_avg_1min_before": load,
        "peak_rss_mb_after": _rss_mb(),
    }, out0


def _col_rel_diff(a, b) -> float:
    """max_ij |a_ij - b_ij| / max_i |b_ij| (per column; columns have different units)."""
    a, b = np.asarray(a), np.asarray(b)
    scale = np.max(np.abs(b), axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return float(np.max(np.abs(a - b) / scale))


def _with_primal(g, aux):
    """``(g, (g, aux))``: differentiate ``g`` and get it back as auxiliary output (``has_aux=True``)."""
    return g, (g, aux)


def worker(grid: int, sections, repeats: int, tunnel_ratio: float, seed: int, emit=lambda out: None) -> dict:
    """All sections on one grid; ``emit(out)`` after each measurement (partial results survive a crash)."""
    from jaxnickel.spectra.fit import fit_spectra
    from jaxnickel.spectra.synthetic import EXAMPLE, synthetic_spectra
    from jaxnickel.triplon import make_params
    from jaxnickel.triplon.params import K_B
    from jaxnickel.triplon.solve import solve_jax
    from jaxnickel.triplon.spectra import conductance, energy_points, fermi_line, fermi_line_gaps, spectrum_jax

    log = CompileLog()
    jnp.zeros(8).sum().block_until_ready()  # backend start-up outside the timings
    out: dict = {"grid": grid, "N_k": grid * grid, "peak_rss_mb_start": _rss_mb()}
    t_setup = time.perf_counter()
    p0 = make_params(n_c=N_C, lam=LAM, kappa_a=KAPPA, kappa_b=KAPPA, omega=OMEGA, grid=grid, T=T_KELVIN * K_B)
    bias_mV = np.linspace(*BIAS_MV[:2], BIAS_MV[2])
    bias = jnp.asarray(1e-3 * bias_mV)
    n_omega, spacing = energy_points(1e-3 * bias_mV.min(), 1e-3 * bias_mV.max(), 1e-3 * GAMMA_MEV, T_KELVIN * K_B)
    ratio = jnp.asarray(float(tunnel_ratio))
    x0 = jnp.asarray([LAM, KAPPA, GAMMA_MEV, T_KELVIN])
    out["setup_s"] = time.perf_counter() - t_setup
    out["n_omega"] = n_omega
    out["energy_spacing_needed_meV"] = 1e3 * spacing
    out["V_eV"] = float(p0.V)
    out["mu_eV"] = float(p0.bands.mu)
    # warm calls: lambda (1 + 1e-3 i), traced (no recompilation, nothing to reuse)
    xs = [x0] + [x0.at[0].multiply(1.0 + 1e-3 * (i + 1)) for i in range(repeats)]

    def params_at(x, p):
        # V = lambda / sqrt(N_alpha N_beta) at fixed bands (what jaxnickel.fit.build_params does)
        return p.replace(V=p.V * (x[0] / LAM), kappa_a=x[1], T=K_B * x[3])

    def spec_public(x, p, b, r):
        """spectrum_jax (implicit adjoint): g and the solve's flags."""
        q = params_at(x, p)
        g, _, _, sol = spectrum_jax(q, b, 1e-3 * x[2], r, grid=grid, n_fs=N_FS, n_omega=n_omega, channel="s")
        return g, (sol.converged, sol.iterations)

    def spec_unrolled(x, p, b, r):
        """The same spectrum with the unrolled adjoint through the Newton steps."""
        q = params_at(x, p)
        sol = solve_jax(q, grid, "fixed-point", channel="s", adjoint="unrolled")
        line = fermi_line(q.bands, N_FS)
        gaps = fermi_line_gaps(sol.coefficients, line)
        g = conductance(b, line, gaps, 1e-3 * x[2], q.T, r, n_omega=n_omega)[0]
        return g, (sol.converged, sol.iterations)

    inputs = [(x, p0, bias, ratio) for x in xs]

    if "forward" in sections:
        _progress(f"grid {grid}: forward spectrum")
        fwd = eqx.filter_jit(spec_public)
        t, (g0, (conv, its)) = _time_jitted(fwd, inputs, log)
        g0 = np.asarray(g0)
        t.update(
            converged=bool(conv),
            newton_steps=int(its),
            g_zero_bias=float(g0[len(g0) // 2]),
            g_max=float(g0.max()),
            bias_of_g_max_mV=float(abs(bias_mV[int(np.argmax(g0))])),
        )
        out["forward"] = t
        emit(out)
        _progress(f"grid {grid}: forward first {t['first_s']:.2f} s, warm {t['warm_s']:.4f} s")

    if "jacobian" in sections:
        jac = {}
        variants = (
            ("implicit_jacfwd", jax.jacfwd, spec_public),
            ("implicit_jacrev", jax.jacrev, spec_public),
            ("unrolled_jacfwd", jax.jacfwd, spec_unrolled),
            ("unrolled_jacrev", jax.jacrev, spec_unrolled),
        )
        Js, primals = {}, {}
        for name, transform, f in variants:
            _progress(f"grid {grid}: Jacobian {name}")
            fn = eqx.filter_jit(transform(lambda *args, f=f: _with_primal(*f(*args)), has_aux=True))
            try:
                t, (J, (g, (conv, its))) = _time_jitted(fn, inputs, log)
            except TypeError as e:  # forward mode through a custom_vjp (raised while tracing)
                if "custom_vjp" not in str(e):
                    raise
                jac[name] = {"unsupported": f"{type(e).__name__}: {e}".splitlines()[0]}
                _progress(f"grid {grid}: {name} not supported: {jac[name]['unsupported']}")
                continue
            Js[name] = np.asarray(J)
            primals[name] = np.asarray(g)
            t.update(
                converged=bool(conv),
                newton_steps=int(its),
                jacobian_max_abs_per_column=dict(zip(X_NAMES, np.max(np.abs(Js[name]), axis=0).tolist(), strict=True)),
                finite=bool(np.all(np.isfinite(Js[name]))),
            )
            jac[name] = t
            out["jacobian"] = jac
            emit(out)
            _progress(f"grid {grid}: {name} first {t['first_s']:.2f} s, warm {t['warm_s']:.4f} s")
        ref = "implicit_jacfwd"
        agree = {}
        if ref in Js:
            for name in Js:
                if name != ref:
                    agree[f"{name}_vs_{ref}"] = {
                        "max_rel_diff_column_scaled": _col_rel_diff(Js[name], Js[ref]),
                        "max_rel_diff_global": float(np.max(np.abs(Js[name] - Js[ref])) / np.max(np.abs(Js[ref]))),
                        "max_abs_diff_primal_g": float(np.max(np.abs(primals[name] - primals[ref]))),
                    }
            if "unrolled_jacrev" in Js:
                d = agree["unrolled_jacrev_vs_implicit_jacfwd"]["max_rel_diff_column_scaled"]
                _progress(f"grid {grid}: unrolled vs implicit Jacobian: max rel diff {d:.2e}")
        jac["agreement"] = agree
        jac["x"] = dict(zip(X_NAMES, np.asarray(x0).tolist(), strict=True))
        out["jacobian"] = jac
        emit(out)

    if "fit" in sections:
        values = dict(EXAMPLE["values"])
        values.update(
            {"lambda": LAM, "kappa_a": KAPPA, "kappa_b": KAPPA, "omega": OMEGA, "n_c": N_C, "gamma": GAMMA_MEV}
        )
        values["tunnel_ratio"] = float(tunnel_ratio)
        _progress(f"grid {grid}: synthetic spectrum")
        t0 = time.perf_counter()
        with log:
            data = synthetic_spectra(values, [T_KELVIN], bias_mV, grid=grid, noise=NOISE, seed=seed, channel="s")
        fit = {"synthetic_data_s": time.perf_counter() - t0, "synthetic_values": values, "noise": NOISE, "seed": seed}
        kw = dict(
            free=["lambda", "gamma", "scale"],
            fixed={"tunnel_ratio": float(tunnel_ratio)},
            start={"lambda": FIT_START_LAMBDA},
            grid=grid,
            n_fs=N_FS,
            channel="s",
            starts=1,
        )
        fit["call"] = {k: v for k, v in kw.items()}
        calls = []
        for i in range(2):
            _progress(f"grid {grid}: fit call {i + 1}")
            load = os.getloadavg()[0]
            with warnings.catch_warnings(record=True) as caught, log:
                warnings.simplefilter("always")
                t0 = time.perf_counter()
                r = fit_spectra(data, **kw)
                wall = time.perf_counter() - t0
            calls.append(
                {
                    "wall_s": wall,
                    **log.summary(),
                    "load_avg_1min_before": load,
                    "peak_rss_mb_after": _rss_mb(),
                    "parameters": r.parameters,
                    "uncertainties": r.uncertainties,
                    "uncertainty_scaling": r.uncertainty_scaling,
                    "chi2": r.chi2,
                    "dof": r.dof,
                    "converged": r.converged,
                    "message": r.message,
                    "n_omega": [s["n_omega"] for s in r.spectra],
                    "chi2_per_start": r.chi2_per_start,
                    "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
                }
            )
            fit["calls"] = calls
            out["fit"] = fit
            emit(out)
            _progress(f"grid {grid}: fit call {i + 1}: {wall:.1f} s, {log.n} XLA compilations ({log.compile_s:.1f} s)")
        fit["calls"] = calls
        fit["second_call_recompiled"] = calls[1]["xla_compiles"] > 0
        fit["same_result"] = all(
            abs(calls[0]["parameters"][k] - calls[1]["parameters"][k]) <= 1e-9 * abs(calls[0]["parameters"][k])
            for k in calls[0]["parameters"]
        )
        out["fit"] = fit

    out["peak_rss_mb_end"] = _rss_mb()
    return out


# --------------------------------------------------------------------------- driver side


def run_worker(grid, a) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        str(grid),
        "--sections",
        ",".join(a.sections),
        "--repeats",
        str(a.repeats),
        "--tunnel-ratio",
        repr(a.tunnel_ratio),
        "--seed",
        str(a.seed),
    ]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=a.timeout)
        stdout, status = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as e:
        stdout, status = (e.stdout.decode() if isinstance(e.stdout, bytes) else e.stdout) or "", None
    lines = [ln for ln in stdout.splitlines() if ln.startswith(TAG)]
    res = json.loads(lines[-1][len(TAG) :]) if lines else {"grid": grid}
    if status is None:
        res["error"] = f"killed after the --timeout of {a.timeout:g} s (results up to then kept)"
    elif status != 0 or not res.get("complete"):
        res["error"] = f"worker exited with status {status}, e.g. out of memory (results up to then kept)"
    res["wall_s"] = time.perf_counter() - t0
    return res


def _f(v, fmt=".3f"):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return format(v, fmt)


def _ratio(a, b):
    return a / b if (a is not None and b) else None


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _peak_rss(jac: dict):
    vals = [v["peak_rss_mb_after"] for v in jac.values() if isinstance(v, dict) and "peak_rss_mb_after" in v]
    return max(vals) if vals else None


def render(res: dict) -> str:
    meta, rows = res["meta"], res["grids"]
    md = [
        f"# Tunnelling spectra: forward model, Jacobian and fit ({meta['backend']})",
        "",
        f"* date {meta['date']}; git {meta['git_revision']}; command `{meta['command']}`",
        f"* device note: **{meta['device_note']}**; JAX devices {meta['devices']}; CPU {meta['cpu_model']}, "
        f"{meta['cpu_count']} cores ({meta['cpu_usable']} usable); jax {meta['jax_version']}, "
        f"jaxlib {meta['jaxlib_version']}, numpy {meta['numpy_version']}, equinox {meta['equinox_version']}, "
        f"optimistix {meta['optimistix_version']}; Python {meta['python']}",
        f"* 1-minute load average: {meta['load_average_at_start'][0]:.2f} at the start, "
        f"{meta['load_average_at_end'][0]:.2f} at the end (per section in the JSON; "
        f"the benchmark itself adds about 1)",
        f"* model: lambda = {LAM}, kappa_a = kappa_b = {KAPPA}, n_c = {N_C}, Omega = {OMEGA} eV, T = {T_KELVIN} K, "
        f"s+- channel; {BIAS_MV[2]} biases {BIAS_MV[0]:g}..{BIAS_MV[1]:g} mV, gamma = {GAMMA_MEV} meV, "
        f"tunnel ratio {meta['tunnel_ratio']}, n_fs = {N_FS}, n_omega = energy_points(...)",
        f"* each grid in a fresh process; warm = median of {meta['repeats']} calls (`block_until_ready`, lambda "
        "perturbed by 1e-3 i: traced, no recompilation); compile = first call - warm; "
        "XLA = backend compile time recorded by JAX during the first call",
        "",
    ]
    errors = [r for r in rows if "error" in r]
    for r in errors:
        md.append(f"* **grid {r['grid']}: {r['error']}**")
    if errors:
        md.append("")

    if any("forward" in r for r in rows):
        md += [
            "## 1. Forward spectrum (`eqx.filter_jit(spectrum_jax)`: gap solve + conductance)",
            "",
            "| grid | n_omega | first s | compile s | XLA compile s | warm s | Newton steps | converged | "
            "g(0) | peak at mV | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            f = r.get("forward")
            if f:
                md.append(
                    f"| {r['grid']}^2 | {r['n_omega']} | {_f(f['first_s'], '.2f')} | {_f(f['compile_s'], '.2f')} | "
                    f"{_f(f['xla_compile_s'], '.2f')} | {_f(f['warm_s'], '.4f')} | {f['newton_steps']} | "
                    f"{'yes' if f['converged'] else 'NO'} | {f['g_zero_bias']:.4f} | {f['bias_of_g_max_mV']:.1f} | "
                    f"{f['load_avg_1min_before']:.1f} |"
                )
        md.append("")

    if any("jacobian" in r for r in rows):
        md += [
            "## 2. Jacobian of the 201-point spectrum w.r.t. (lambda, kappa_a, gamma, T), through the solve",
            "",
            "| grid | implicit jacfwd compile s | warm s | J/fwd | implicit jacrev compile s | warm s | "
            "unrolled jacrev compile s | warm s | unrolled/implicit (rev/rev) | unrolled rev / implicit fwd | "
            "peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            j = r.get("jacobian")
            if not j:
                continue
            fw = _get(r, "forward", "warm_s")
            iw = _get(j, "implicit_jacfwd", "warm_s")
            irw = _get(j, "implicit_jacrev", "warm_s")
            uw = _get(j, "unrolled_jacrev", "warm_s")
            md.append(
                f"| {r['grid']}^2 | {_f(_get(j, 'implicit_jacfwd', 'compile_s'), '.2f')} | {_f(iw, '.4f')} | "
                f"{_f(_ratio(iw, fw), '.2f')} | {_f(_get(j, 'implicit_jacrev', 'compile_s'), '.2f')} | "
                f"{_f(irw, '.4f')} | {_f(_get(j, 'unrolled_jacrev', 'compile_s'), '.2f')} | {_f(uw, '.4f')} | "
                f"{_f(_ratio(uw, irw), '.2f')} | {_f(_ratio(uw, iw), '.2f')} | "
                f"{_f(_peak_rss(j), '.0f')} |"
            )
        md += [
            "",
            "J/fwd = implicit jacfwd warm / forward warm.  Forward mode through the unrolled adjoint:",
        ]
        for r in rows:
            u = _get(r, "jacobian", "unrolled_jacfwd")
            if u:
                md.append(
                    f"* {r['grid']}^2: "
                    + (
                        f"not supported (`{u['unsupported']}`)"
                        if "unsupported" in u
                        else f"compile {u['compile_s']:.2f} s, warm {u['warm_s']:.4f} s"
                    )
                )
        md += [
            "",
            "Agreement with the implicit jacfwd Jacobian (max over entries of |dJ| / max_V |J| of its column; "
            "primal: max |dg|):",
            "",
            "| grid | unrolled jacrev | implicit jacrev | primal g unrolled | max_V abs dg/dlambda | dg/dkappa_a | "
            "dg/dgamma (1/meV) | dg/dT (1/K) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            j = r.get("jacobian")
            if not j:
                continue
            ag = j.get("agreement", {})
            col = _get(j, "implicit_jacfwd", "jacobian_max_abs_per_column") or {}
            unr, imr = "unrolled_jacrev_vs_implicit_jacfwd", "implicit_jacrev_vs_implicit_jacfwd"
            md.append(
                f"| {r['grid']}^2 | {_f(_get(ag, unr, 'max_rel_diff_column_scaled'), '.1e')} | "
                f"{_f(_get(ag, imr, 'max_rel_diff_column_scaled'), '.1e')} | "
                f"{_f(_get(ag, unr, 'max_abs_diff_primal_g'), '.1e')} | "
                + " | ".join(_f(col.get(k), ".4g") for k in X_NAMES)
                + " |"
            )
        md.append("")

    if any("fit" in r for r in rows):
        md += [
            "## 3. Whole fit (`fit_spectra`, free lambda, gamma, scale; start lambda = 0.15; 1 start)",
            "",
            "| grid | data s | 1st call s (incl. compile) | XLA compiles / s | 2nd call s | XLA compiles / s | "
            "2nd minus compile s | 2nd recompiled? | 1st/2nd | lambda | gamma meV | scale | chi2/dof | converged |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            ft = r.get("fit")
            if not ft:
                continue
            calls = ft["calls"]
            c1 = calls[0]
            c2 = calls[1] if len(calls) > 1 else None
            last = c2 or c1
            pr, un = last["parameters"], last["uncertainties"]
            second = (
                f"{c2['wall_s']:.1f} | {c2['xla_compiles']} / {c2['xla_compile_s']:.1f} | "
                f"{_f(c2['wall_s'] - c2['xla_compile_s'] - c2['trace_lower_s'], '.1f')} | "
                f"{'yes' if c2['xla_compiles'] else 'no'} | {_f(_ratio(c1['wall_s'], c2['wall_s']), '.2f')}"
                if c2
                else "n/a | n/a | n/a | n/a | n/a"
            )
            md.append(
                f"| {r['grid']}^2 | {ft['synthetic_data_s']:.1f} | {c1['wall_s']:.1f} | "
                f"{c1['xla_compiles']} / {c1['xla_compile_s']:.1f} | {second} | "
                f"{pr['lambda']:.5f} +- {un['lambda']:.1e} | {pr['gamma']:.4f} +- {un['gamma']:.1e} | "
                f"{pr['scale']:.4f} +- {un['scale']:.1e} | {last['chi2'] / last['dof']:.3f} | "
                f"{'yes' if last['converged'] else 'NO'} |"
            )
        md += [
            "",
            "Both calls are wall time of the whole `fit_spectra` call (validation, Levenberg-Marquardt, Jacobian "
            "and covariance, fitted curves).  XLA compiles / s: compilations JAX recorded during the call and "
            'their backend compile time.  "2nd recompiled? yes" means JAX compiled programs again in the second '
            "call (`fit_spectra` builds new closures on every call), so it is *not* a cached-program timing; "
            "2nd minus compile = its wall time minus XLA compile and trace/lowering time, an estimate of the run "
            "part.  data s: `synthetic_spectra` (eager, not timed as a benchmark).  "
            "Truth: lambda = 0.18, gamma = 0.8 meV, scale = 1; noise "
            f"{NOISE} with sigma given (raw uncertainties).",
            "",
        ]
    if meta["backend"] == "cpu":
        md.append("No GPU was used for this run; GPU figures are not claimed.")
    return "\n".join(md) + "\n"


def _meta(a, argv) -> dict:
    import equinox
    import jaxlib
    import optimistix

    dev = jax.devices()
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_revision": git_revision(),
        "command": " ".join(["python", "benchmarks/bench_spectra.py", *(argv if argv is not None else sys.argv[1:])]),
        "device_note": a.device,
        "backend": "gpu" if dev[0].platform == "gpu" else dev[0].platform,
        "devices": [f"{d.platform}:{d.id} ({d.device_kind})" for d in dev],
        **cpu_info(),
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib.__version__,
        "numpy_version": np.__version__,
        "equinox_version": equinox.__version__,
        "optimistix_version": optimistix.__version__,
        "python": sys.version.split()[0],
        "persistent_compilation_cache_dir": jax.config.jax_compilation_cache_dir,
        "grids": a.grids,
        "sections": a.sections,
        "repeats": a.repeats,
        "tunnel_ratio": a.tunnel_ratio,
        "seed": a.seed,
        "model": {
            "lambda": LAM,
            "kappa_a": KAPPA,
            "kappa_b": KAPPA,
            "n_c": N_C,
            "omega_eV": OMEGA,
            "T_K": T_KELVIN,
            "gamma_meV": GAMMA_MEV,
            "bias_mV": list(BIAS_MV),
            "n_fs": N_FS,
            "channel": "s",
            "jacobian_variables": list(X_NAMES),
        },
        "load_average_at_start": list(os.getloadavg()),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--grids", help="comma-separated n (n x n k-grids); default 128,256,512")
    ap.add_argument("--quick", action="store_true", help="grids 64 and 128 (smoke test)")
    ap.add_argument("--repeats", type=int, default=5, help="warm calls timed after the compiling one (default 5, >= 5)")
    ap.add_argument("--sections", default=",".join(SECTIONS), help="subset of forward,jacobian,fit (default all)")
    ap.add_argument("--tunnel-ratio", type=float, default=1.0, help="beta/alpha tunnelling weight (default 1)")
    ap.add_argument("--seed", type=int, default=1, help="noise seed of the synthetic spectrum (default 1)")
    ap.add_argument("--device", default="CPU", help='free-text note on the machine for the report (default "CPU")')
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per grid before its process is killed")
    ap.add_argument("--out", default=str(HERE / "results"), help="output folder (default benchmarks/results)")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    a.sections = [s.strip() for s in a.sections.split(",") if s.strip()]
    bad = [s for s in a.sections if s not in SECTIONS]
    if bad:
        ap.error(f"unknown section(s) {bad}; choose from {', '.join(SECTIONS)}")
    if a.repeats < 5:
        ap.error("--repeats must be >= 5 (warm time = median of >= 5 calls)")

    if a.worker is not None:

        def emit(out):
            print(TAG + json.dumps(out), flush=True)

        out = worker(a.worker, a.sections, a.repeats, a.tunnel_ratio, a.seed, emit)
        out["complete"] = True
        emit(out)
        return

    if a.grids and a.quick:
        ap.error("give --grids or --quick, not both")
    a.grids = [int(s) for s in a.grids.split(",")] if a.grids else list(QUICK_GRIDS if a.quick else DEFAULT_GRIDS)
    meta = _meta(a, argv)
    print(
        f"device: {', '.join(meta['devices'])} ({meta['device_note']}); CPU {meta['cpu_model']} x{meta['cpu_usable']}; "
        f"jax {meta['jax_version']}; load {meta['load_average_at_start'][0]:.2f}",
        flush=True,
    )
    t0 = time.perf_counter()
    rows = []
    for g in a.grids:
        print(f"grid {g}^2 ...", flush=True)
        rows.append(run_worker(g, a))
        print(f"grid {g}^2 done in {rows[-1]['wall_s']:.0f} s", flush=True)
    meta["load_average_at_end"] = list(os.getloadavg())
    meta["total_wall_s"] = time.perf_counter() - t0
    res = {"meta": meta, "grids": rows}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"bench_spectra_{meta['backend']}"
    (out / f"{stem}.json").write_text(json.dumps(res, indent=2))
    text = render(res)
    (out / f"{stem}.md").write_text(text)
    print(text)
    print(f"wrote {out / stem}.md and .json (total {meta['total_wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
