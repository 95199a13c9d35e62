"""Benchmark and grid-convergence study of the triplon-model (paper 001) solvers.

Benchmark (default mode), at the paper's point n_c = 0.45, kappa_a = kappa_b = 0.75,
Omega = 0.3 eV, lambda = 0.3, T = 0, on n x n k-grids (default 256, 512, 1024, 2048):

* jaxnickel ``solve(p, n, "fixed-point")`` and ``solve(p, n, "gradient")`` (the public
  API, default ``channel="auto"``): compile time (first call minus run time) and run
  time (median of >= 3 further calls at V = V0 (1 + 0.001 i): the parameters are
  traced, so nothing recompiles and no result can be reused);
* the plain-NumPy reference (``numpy_triplon_reference.py``: damped fixed-point
  iteration of the k-resolved gaps, mixing 0.5, from an s+- seed, to
  max|Delta - RHS(14)| < 1e-11 eV): run time (median over the same V values);
* ``critical_temperatures(p, n)``: compile and run time the same way;

with iterations, converged flags, the agreement of the k-resolved gaps and free
energies (NumPy vs fixed point, gradient vs fixed point, at every common V) and the
ratios NumPy / fixed-point and gradient / fixed-point.  Every configuration runs in
its own subprocess; it starts no further call once ``--cap`` seconds (default 240)
are spent and is killed after ``cap + 120`` s (reported as skipped, with the reason).

Grid convergence (``--convergence``): at n_c = 0.45, kappa = 0.75, Omega = 0.3 eV,
T = 0 and lambda = 0.3 and 0.5 on 256 .. 2048 grids (fixed-point solver): Delta_alpha and
Delta_beta on the Fermi surfaces at theta = 0 and pi/4, the gap ratio, the free energy,
T_c per channel, the DOS N_alpha, N_beta, Ntilde_alpha, Ntilde_beta, mu and V, and the
differences to the finest grid, both for ``make_params(grid=n)`` on every grid ("full":
mu and V = lambda / sqrt(N_alpha N_beta) from the n x n triangle method too) and for mu
and V fixed at the finest grid's values ("solver only": the k-sums of the gap equation
and of the linearised kernel alone).

Usage::

    python benchmarks/bench_triplon.py                     # benchmark, 256 .. 2048
    python benchmarks/bench_triplon.py --quick             # benchmark, 256 and 512
    python benchmarks/bench_triplon.py --convergence       # grid-convergence study
    python benchmarks/bench_triplon.py --sizes 256,1024 --repeats 5 --cap 120 --out /tmp/res

Results: ``<out>/bench_triplon_<cpu|gpu>.{md,json}`` and
``<out>/grid_convergence_triplon.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

from _common import cpu_info, git_revision  # noqa: E402  (this folder is on sys.path)

sys.path.insert(0, str(HERE))
import numpy_triplon_reference as nr  # noqa: E402

DEFAULT_SIZES = (256, 512, 1024, 2048)
QUICK_SIZES = (256, 512)
POINT = {"n_c": 0.45, "kappa_a": 0.75, "kappa_b": 0.75, "omega": 0.3, "T": 0.0}
LAM = 0.3
CONV_LAMS = (0.3, 0.5)
TAG = "@@"  # prefix of the JSON lines a worker prints
I_PI4 = 45  # index of theta = pi/4 on jaxnickel's Fermi-surface angle grid (N_THETA = 91 on [0, pi/2])


def v_factors(repeats: int) -> list[float]:
    """V / V0 of the first (compiling) call, then of each timed repeat."""
    return [1.0 + 1e-3 * i for i in range(repeats + 1)]


# ====================================================================== workers
# Each runs in a fresh interpreter (``bench_triplon.py --worker '<json>'``) and prints
# one JSON line per result, prefixed with TAG.


def _emit(**kw):
    print(TAG + json.dumps(kw), flush=True)


def _jax_setup():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    jnp.zeros(8).sum().block_until_ready()  # initialise the backend outside the timings
    return jax


def _timed_series(call, factors, cap):
    """Time ``call(i, f)`` for each V factor (the first call compiles).

    No further call starts once the time spent plus the last call's duration exceeds
    ``cap``.  ``call`` returns a function that reads the diagnostics off the result; it
    runs after the clock stops (host transfers and saving are not timed).
    """
    start = time.perf_counter()
    last = 0.0
    for i, f in enumerate(factors):
        if i > 0 and (time.perf_counter() - start) + last > cap:
            _emit(event="capped", after_calls=i, elapsed=time.perf_counter() - start)
            return
        t0 = time.perf_counter()
        describe = call(i, f)
        last = time.perf_counter() - t0
        _emit(event="call", index=i, factor=f, seconds=last, **describe())


def _params(jax, n, lam):
    from jaxnickel.triplon import make_params

    t0 = time.perf_counter()
    p = make_params(lam=lam, grid=n, **POINT)
    jax.block_until_ready(p)
    _emit(event="params", seconds=time.perf_counter() - t0, params=p.to_dict())
    return p


def _describe_solution(sol) -> dict:
    """Diagnostics and Fermi-surface gaps; the gaps are sign-normalised to Delta_alpha(theta=0) >= 0.

    (The global sign of a solution of (14) is arbitrary, and jaxnickel's Newton iteration
    can land on either one; ``state_sign`` records which one it returned.)
    """
    da = np.asarray(sol.delta_alpha_fs)
    db = np.asarray(sol.delta_beta_fs)
    sign = -1.0 if da[0] < 0 else 1.0
    da, db = sign * da, sign * db
    return {
        "state_sign": sign,
        "converged": bool(sol.converged),
        "iterations": int(sol.iterations),
        "residual": float(sol.residual),
        "free_energy": float(sol.free_energy),
        "channel": sol.channel_name,
        "coefficients": np.asarray(sol.coefficients).tolist(),
        "delta_alpha_0": float(da[0]),
        "delta_alpha_pi4": float(da[I_PI4]),
        "delta_beta_0": float(db[0]),
        "delta_beta_pi4": float(db[I_PI4]),
        "gap_ratio": sol.gap_ratio,
        "lambda_s": float(sol.lambda_s),
        "lambda_d": float(sol.lambda_d),
    }


def worker_jax(spec):
    jax = _jax_setup()
    from jaxnickel.triplon import solve

    n, method, save = spec["grid"], spec["method"], spec.get("save")
    p0 = _params(jax, n, spec["lam"])

    def call(i, f):
        sol = solve(p0.replace(V=p0.V * f), n, method, warn=False)  # the public API
        jax.block_until_ready(sol)

        def describe():
            if save:
                np.save(Path(save) / f"{method}_{i}_alpha.npy", np.asarray(sol.delta_alpha))
                np.save(Path(save) / f"{method}_{i}_beta.npy", np.asarray(sol.delta_beta))
            return _describe_solution(sol)

        return describe

    _timed_series(call, spec["factors"], spec["cap"])


def worker_tc(spec):
    jax = _jax_setup()
    from jaxnickel.triplon import critical_temperatures

    n = spec["grid"]
    p0 = _params(jax, n, spec["lam"])

    def call(i, f):
        tc = critical_temperatures(p0.replace(V=p0.V * f), n)
        jax.block_until_ready(tc)
        return lambda: {"converged": True, **tc.kelvin(), "leading": int(tc.leading)}

    _timed_series(call, spec["factors"], spec["cap"])


def worker_numpy(spec):
    """The NumPy reference; never imports JAX (mu and V come from jaxnickel's make_params via the driver)."""
    n, save = spec["grid"], spec.get("save")
    model0 = nr.Model.from_dict(spec["params"])

    def call(i, f):
        sol = nr.solve_numpy(model0.replace(V=model0.V * f), n, mixing=spec["mixing"])

        def describe():
            if save:
                np.save(Path(save) / f"numpy_{i}_alpha.npy", sol.delta_alpha)
                np.save(Path(save) / f"numpy_{i}_beta.npy", sol.delta_beta)
            return {
                "converged": sol.converged,
                "iterations": sol.iterations,
                "residual": sol.residual,
                "free_energy": sol.free_energy,
                "coefficients": sol.coefficients.tolist(),
            }

        return describe

    _timed_series(call, spec["factors"], spec["cap"])


def worker_convergence(spec):
    """One grid of the convergence study: full pipeline and (optionally) mu, V fixed."""
    jax = _jax_setup()
    from jaxnickel.triplon import TriplonParams, critical_temperatures, dos_fermi, fillings, solve

    n = spec["grid"]
    variants = [("full", _params(jax, n, spec["lam"]))]
    if spec.get("fixed_params"):
        variants.append(("fixed", TriplonParams.from_dict(spec["fixed_params"])))
    for name, p in variants:
        t0 = time.perf_counter()
        dos = dos_fermi(p.bands, n).to_dict()
        n_a, n_b = (float(x) for x in fillings(p.bands, n))
        sol = solve(p, n, "fixed-point", warn=False)
        jax.block_until_ready(sol)
        tc = critical_temperatures(p, n)
        jax.block_until_ready(tc)
        seconds = time.perf_counter() - t0
        _emit(
            event="convergence",
            variant=name,
            seconds=seconds,
            params=p.to_dict(),
            mu=float(p.bands.mu),
            V=float(p.V),
            n_alpha=n_a,
            n_beta=n_b,
            **dos,
            **_describe_solution(sol),
            **{k: v for k, v in tc.kelvin().items()},
        )


def worker_info(spec):
    jax = _jax_setup()
    import jaxnickel

    cpu = cpu_info()
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = int(line.split()[1]) / 2**20
    except OSError:
        pass
    devices = jax.devices()
    _emit(
        event="info",
        backend=jax.default_backend(),
        devices=[str(d) for d in devices],
        device_kinds=sorted({d.device_kind for d in devices}),
        **cpu,
        memory_gb=mem_gb,
        jax_version=jax.__version__,
        jaxlib_version=getattr(__import__("jaxlib"), "__version__", None),
        numpy_version=np.__version__,
        jaxnickel_version=jaxnickel.__version__,
        python=platform.python_version(),
        platform=platform.platform(),
    )


WORKERS = {
    "jax": worker_jax,
    "tc": worker_tc,
    "numpy": worker_numpy,
    "convergence": worker_convergence,
    "info": worker_info,
}


# ====================================================================== driver


def run_worker(spec, timeout):
    """Run a worker subprocess; return ``(records, error)`` (partial records on timeout)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    error = None
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        out, err = proc.stdout, proc.stderr
        if proc.returncode != 0:
            tail = err.strip().splitlines()[-1] if err.strip() else ""
            reason = " (killed: out of memory?)" if proc.returncode in (-9, 137) else ""
            error = f"exit {proc.returncode}{reason}: {tail}"
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        error = f"killed after {timeout:.0f} s (time limit)"
    records = [json.loads(line[len(TAG) :]) for line in out.splitlines() if line.startswith(TAG)]
    return records, error


def summarise_series(records, error):
    """Compile/run times and solver diagnostics of one timed series."""
    calls = [r for r in records if r["event"] == "call"]
    params = next((r for r in records if r["event"] == "params"), None)
    out = {
        "calls": calls,
        "capped": any(r["event"] == "capped" for r in records),
        "error": error,
        "params_s": params["seconds"] if params else None,
    }
    if not calls:
        out["skipped"] = (
            f"no call finished: {error}" if error else "no call finished (cap reached before the first call ended)"
        )
        return out
    out["first_call_s"] = calls[0]["seconds"]
    out["n_runs"] = len(calls) - 1
    out["converged"] = all(c["converged"] for c in calls)
    out["iterations"] = [c.get("iterations") for c in calls]
    if "residual" in calls[0]:
        out["max_residual"] = max(c["residual"] for c in calls)
    return out


def _timings(s, compiled: bool):
    """run = median of the repeats (all calls for NumPy); compile = first call - run."""
    calls = s.get("calls", [])
    runs = [c["seconds"] for c in (calls[1:] if compiled else calls)]
    if runs:
        s["run_s"] = statistics.median(runs)
        s["run_min_s"] = min(runs)
        if compiled and len(runs) >= 1:
            s["compile_s"] = s["first_call_s"] - s["run_s"]


def _compare(tmp, key, ref_key, calls, ref_calls):
    """Max relative differences of gaps and free energies of ``key`` vs ``ref_key`` over common calls."""
    ref_by_i = {c["index"]: c for c in ref_calls}
    worst = {
        "max_rel_pointwise": 0.0,
        "max_rel_norm": 0.0,
        "max_abs_eV": 0.0,
        "rel_free_energy": 0.0,
        "n": 0,
        "sign_reversed_at": [],
    }
    for c in calls:
        r = ref_by_i.get(c["index"])
        if r is None:
            continue
        i = c["index"]
        try:
            ga = np.load(Path(tmp) / f"{key}_{i}_alpha.npy")
            gb = np.load(Path(tmp) / f"{key}_{i}_beta.npy")
            ra = np.load(Path(tmp) / f"{ref_key}_{i}_alpha.npy")
            rb = np.load(Path(tmp) / f"{ref_key}_{i}_beta.npy")
        except OSError:
            continue
        a = nr.gap_agreement(ra, rb, ga, gb)
        for k in ("max_rel_pointwise", "max_rel_norm", "max_abs_eV"):
            worst[k] = max(worst[k], a[k])
        if a["flipped"]:
            worst["sign_reversed_at"].append(i)
        fr = r["free_energy"]
        worst["rel_free_energy"] = max(worst["rel_free_energy"], abs(c["free_energy"] - fr) / abs(fr))
        worst["n"] += 1
    return worst if worst["n"] else None


def bench_size(n, lam, repeats, cap, mixing):
    factors = v_factors(repeats)
    timeout = cap + 120
    row = {"grid": n, "N": n * n, "lam": lam}
    tmp = tempfile.mkdtemp(prefix=f"bench_triplon_{n}_")
    try:
        for key, spec, compiled in (
            ("fixed_point", {"kind": "jax", "method": "fixed-point", "save": tmp}, True),
            ("gradient", {"kind": "jax", "method": "gradient", "save": tmp}, True),
            ("numpy", {"kind": "numpy", "save": tmp, "mixing": mixing}, False),
            ("tc", {"kind": "tc"}, True),
        ):
            if key == "numpy":
                if not row.get("params"):
                    row[key] = {"skipped": "no parameters (the fixed-point worker did not start)", "calls": []}
                    continue
                spec["params"] = row["params"]
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            records, error = run_worker({**spec, "grid": n, "lam": lam, "factors": factors, "cap": cap}, timeout)
            s = summarise_series(records, error)
            _timings(s, compiled)
            s["wall_s"] = time.perf_counter() - t0
            s["load_avg_1min_before"] = load
            if key == "fixed_point":
                prm = next((r for r in records if r["event"] == "params"), None)
                row["params"] = prm["params"] if prm else None
            s["source_sha256_after"] = source_hash()
            row[key] = s
            _progress(n, key, s)
        fp_calls = row["fixed_point"].get("calls", [])
        row["agreement_numpy_vs_fp"] = _compare(tmp, "numpy", "fixed-point", row["numpy"].get("calls", []), fp_calls)
        row["agreement_gradient_vs_fp"] = _compare(
            tmp, "gradient", "fixed-point", row["gradient"].get("calls", []), fp_calls
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    fp_run = row["fixed_point"].get("run_s")
    np_run = row["numpy"].get("run_s")
    gr_run = row["gradient"].get("run_s")
    row["ratio_numpy_over_fp"] = np_run / fp_run if np_run and fp_run else None
    row["ratio_gradient_over_fp"] = gr_run / fp_run if gr_run and fp_run else None
    # first calls (compilation included), for the configurations whose repeats did not fit in the cap
    fp_first = row["fixed_point"].get("first_call_s")
    gr_first = row["gradient"].get("first_call_s")
    row["ratio_gradient_over_fp_first_call"] = gr_first / fp_first if gr_first and fp_first else None
    for key in ("numpy", "gradient"):
        a = row[f"agreement_{key}_vs_fp"]
        if a:
            print(
                f"  {n:>5}^2 {key} vs FP: gaps max rel {a['max_rel_pointwise']:.1e}, "
                f"free energy rel {a['rel_free_energy']:.1e} ({a['n']} common V)",
                flush=True,
            )
    return row


def _progress(n, key, s):
    run = s.get("run_s")
    msg = f"  {n:>5}^2 {key:<12} first {s.get('first_call_s', float('nan')):8.3f} s"
    msg += f"  run {run:8.3f} s (n={s.get('n_runs', 0)})" if run is not None else "  run       n/a"
    its = s.get("iterations") or ["-"]
    msg += f"  conv {s.get('converged')}  it {its[0]}  load {s['load_avg_1min_before']:.1f}"
    if s.get("capped"):
        msg += "  [capped]"
    if s.get("skipped"):
        msg += f"  SKIPPED: {s['skipped']}"
    elif s.get("error"):
        msg += f"  ERROR: {s['error']}"
    print(msg, flush=True)


# ---------------------------------------------------------------- formatting


def _f(x, fmt="{:.3f}"):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)


def _conv(s):
    if "converged" not in s:
        return "n/a"
    return "yes" if s["converged"] else "**NO**"


def _run_cell(s, fmt="{:.3f}"):
    if s.get("skipped"):
        return "skipped"
    cell = _f(s.get("run_s"), fmt)
    if s.get("n_runs") is not None and s.get("n_runs", 0) < 3 and "first_call_s" in s:
        cell += f" (n={s.get('n_runs', 0)})"
    if s.get("capped"):
        cell += " capped"
    if s.get("error"):
        cell += " killed" if "killed" in s["error"] else " ERR"
    return cell


def _table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _iters(s):
    its = s.get("iterations")
    return str(its[0]) if its else "n/a"


def _scaled(d, key, scale, fmt):
    x = d.get(key) if d else None
    return _f(None if x is None else scale * x, fmt)


def _agree(a, k):
    return _f(a.get(k) if a else None, "{:.1e}")


def bench_tables(result) -> str:
    rows = result["results"]
    timing, solver, notes = [], [], []
    for r in rows:
        fp, gr, npy, tc = r["fixed_point"], r["gradient"], r["numpy"], r["tc"]
        timing.append(
            [
                f"{r['grid']}^2",
                _f(fp.get("first_call_s"), "{:.2f}"),
                _f(fp.get("compile_s"), "{:.2f}"),
                _run_cell(fp),
                _f(gr.get("first_call_s"), "{:.2f}"),
                _f(gr.get("compile_s"), "{:.2f}"),
                _run_cell(gr),
                _run_cell(npy),
                _f(r["ratio_numpy_over_fp"], "{:.2f}"),
                _f(r["ratio_gradient_over_fp"], "{:.2f}"),
                _f(tc.get("compile_s"), "{:.2f}"),
                _run_cell(tc),
                " / ".join(_f(s.get("load_avg_1min_before"), "{:.1f}") for s in (fp, gr, npy)),
            ]
        )
        c0 = (fp.get("calls") or [{}])[0]
        tc0 = (tc.get("calls") or [{}])[0]
        an, ag = r["agreement_numpy_vs_fp"], r["agreement_gradient_vs_fp"]
        solver.append(
            [
                f"{r['grid']}^2",
                _scaled(c0, "delta_alpha_0", 1e3, "{:.4f}") + " / " + _scaled(c0, "delta_beta_0", 1e3, "{:.4f}"),
                _scaled(c0, "free_energy", 1e3, "{:.9f}"),
                _f(tc0.get("tc_s"), "{:.3f}") + " / " + _f(tc0.get("tc_d"), "{:.3f}"),
                f"{_iters(fp)} / {_conv(fp)}",
                f"{_iters(gr)} / {_conv(gr)}",
                f"{_iters(npy)} / {_conv(npy)}",
                _f(fp.get("max_residual"), "{:.1e}"),
                _f(gr.get("max_residual"), "{:.1e}"),
                _f(npy.get("max_residual"), "{:.1e}"),
                _agree(an, "max_rel_pointwise"),
                _agree(an, "rel_free_energy"),
                _agree(ag, "max_rel_pointwise"),
                _agree(ag, "rel_free_energy"),
            ]
        )
        for key, s in (("fixed point", fp), ("gradient", gr)):
            flipped = [c["index"] for c in s.get("calls", []) if c.get("state_sign", 1.0) < 0]
            if flipped:
                notes.append(
                    f"* {r['grid']}^2 {key}: returned the state of opposite global sign "
                    f"(Delta_alpha < 0 < Delta_beta) in call(s) {flipped} (gaps shown sign-normalised)"
                )
        for key, s in (("fixed point", fp), ("gradient", gr), ("NumPy", npy), ("T_c", tc)):
            after = s.get("source_sha256_after")
            if after and after != result["meta"].get("source_sha256"):
                notes.append(
                    f"* {r['grid']}^2 {key}: **jaxnickel's sources changed during the run** "
                    f"(hash {after} after this configuration, {result['meta'].get('source_sha256')} at the start)"
                )
            if s.get("skipped"):
                notes.append(f"* {r['grid']}^2 {key}: skipped: {s['skipped']}")
            elif s.get("capped") or s.get("error"):
                why = []
                if s.get("capped"):
                    why.append(f"no further call started after {s.get('n_runs', 0) + 1} call(s): the cap was reached")
                if s.get("error"):
                    why.append(s["error"])
                notes.append(f"* {r['grid']}^2 {key}: " + "; ".join(why))
    out = _table(
        [
            "grid",
            "FP first s",
            "FP compile s",
            "FP run s",
            "GR first s",
            "GR compile s",
            "GR run s",
            "NumPy run s",
            "NumPy/FP",
            "GR/FP",
            "Tc compile s",
            "Tc run s",
            "load FP / GR / NP",
        ],
        timing,
    )
    out += "\n" + _table(
        [
            "grid",
            "Delta_a / Delta_b (theta=0, meV)",
            "f (meV/cell)",
            "Tc s / d (K)",
            "FP it / conv",
            "GR it / conv",
            "NumPy it / conv",
            "FP max res eV",
            "GR max res eV",
            "NumPy max res eV",
            "NumPy-FP gaps rel",
            "NumPy-FP f rel",
            "GR-FP gaps rel",
            "GR-FP f rel",
        ],
        solver,
    )
    if notes:
        out += "\n" + "\n".join(notes) + "\n"
    return out


def _meta_lines(m) -> str:
    devs = ", ".join(m["devices"])
    src = f", solver sources sha256 {m['source_sha256']}" if m.get("source_sha256") else ""
    mem = f", {m['memory_gb']:.0f} GiB RAM" if m.get("memory_gb") else ""
    return (
        f"* date: {m['date']}\n"
        f"* device: {devs} ({', '.join(m['device_kinds'])}); CPU: {m['cpu_model']}, {m['cpu_count']} cores "
        f"({m['cpu_usable']} usable){mem}\n"
        f"* jax {m['jax_version']}, jaxlib {m['jaxlib_version']}, numpy {m['numpy_version']}, "
        f"jaxnickel {m['jaxnickel_version']} (git {m['git_revision']}{src}), Python {m['python']}\n"
        f"* command: `{m['command']}` (load average at start: "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'])})\n"
    )


def bench_report(result) -> str:
    m, c = result["meta"], result["config"]
    return f"""# Triplon-model solver benchmark ({m["backend"]})

{_meta_lines(m)}* model: paper 001 at n_c = {POINT["n_c"]}, kappa_a = kappa_b = {POINT["kappa_a"]}, Omega = {POINT["omega"]} eV,
  lambda = {c["lam"]}, T = 0 (`make_params(grid=n)` on each grid: mu from n_c, V = lambda / sqrt(N_alpha N_beta));
  V = V0 for the compiling call, V0 (1 + 0.001 i) for the {c["repeats"]} timed repeats; cap {c["cap_s"]:.0f} s per configuration
  (no call starts after it; killed at cap + 120 s)

FP = jaxnickel `solve(p, n, "fixed-point")` (channel "auto": seeds in the s+- and d channels, Newton on the
6 gap coefficients, observables), GR = `solve(p, n, "gradient")` (optax L-BFGS over all 2 n^2 gaps),
NumPy = `benchmarks/numpy_triplon_reference.py` (damped fixed-point iteration of the k-resolved gaps, mixing
{c["mixing"]}, from an s+- seed, to max|Delta - RHS(14)| < 1e-11 eV; grid set-up included), Tc =
`critical_temperatures(p, n)`.  first = first call (compilation included); run = median of the repeats
(n shown when fewer than 3; for NumPy the median of all calls); compile = first - run.  it = iterations of the
V = V0 call (Newton steps summed over the 2 channel seeds for FP, L-BFGS steps summed over them for GR,
damped iterations for NumPy); conv = all calls converged.  Agreement: largest max_k |Delta - Delta_FP| / |Delta_FP|
over both bands and all common V values, and |f - f_FP| / |f_FP|.  load = 1-minute load average before each
configuration (compare with the number of cores: other work on the machine inflates the times).

{bench_tables(result)}"""


# ---------------------------------------------------------------- convergence study

CONV_QUANTITIES = [
    # key, label, scale, format of values, unit
    ("mu", "mu (eV)", 1.0, "{:.10f}"),
    ("V", "V (eV)", 1.0, "{:.10f}"),
    ("N_alpha", "N_alpha (1/eV)", 1.0, "{:.8f}"),
    ("N_beta", "N_beta (1/eV)", 1.0, "{:.8f}"),
    ("Ntilde_alpha", "Ntilde_alpha (1/eV)", 1.0, "{:.8f}"),
    ("Ntilde_beta", "Ntilde_beta (1/eV)", 1.0, "{:.8f}"),
    ("delta_alpha_0", "Delta_a(0) (meV)", 1e3, "{:.8f}"),
    ("delta_alpha_pi4", "Delta_a(pi/4) (meV)", 1e3, "{:.8f}"),
    ("delta_beta_0", "Delta_b(0) (meV)", 1e3, "{:.8f}"),
    ("delta_beta_pi4", "Delta_b(pi/4) (meV)", 1e3, "{:.8f}"),
    ("gap_ratio", "ratio", 1.0, "{:.10f}"),
    ("free_energy", "f (meV/cell)", 1e3, "{:.10f}"),
    ("tc_s", "Tc s+- (K)", 1.0, "{:.6f}"),
    ("tc_d", "Tc d (K)", 1.0, "{:.6f}"),
]


def convergence_study(lams, sizes, timeout, start_hash=None):
    sizes = sorted(sizes)
    finest = sizes[-1]
    out = []
    for lam in lams:
        block = {"lam": lam, "finest": finest, "grids": {}, "errors": {}}
        fixed = None
        for n in [finest, *sizes[:-1]]:
            spec = {"kind": "convergence", "grid": n, "lam": lam, "fixed_params": fixed if n != finest else None}
            t0 = time.perf_counter()
            records, error = run_worker(spec, timeout)
            recs = {r["variant"]: r for r in records if r["event"] == "convergence"}
            if error:
                block["errors"][str(n)] = error
            after = source_hash()
            if start_hash and after != start_hash:
                block["errors"][str(n)] = (block["errors"].get(str(n), "") + "; ").lstrip(
                    "; "
                ) + f"jaxnickel's sources changed during the run (hash {after}, {start_hash} at the start)"
            block["grids"][str(n)] = recs
            if n == finest and "full" in recs:
                fixed = recs["full"]["params"]
            full = recs.get("full", {})
            print(
                f"  lambda {lam} {n:>5}^2: {time.perf_counter() - t0:6.1f} s  "
                f"Delta_a(0) {1e3 * full.get('delta_alpha_0', float('nan')):.6f} meV  "
                f"Tc_s {full.get('tc_s', float('nan')):.4f} K  conv {full.get('converged')}"
                + (f"  ERROR {error}" if error else ""),
                flush=True,
            )
        block["analysis"] = {v: _convergence_analysis(block, v, sizes) for v in ("full", "fixed")}
        out.append(block)
    return out


def _convergence_analysis(block, variant, sizes):
    """Differences to the finest grid and observed orders from successive differences."""
    finest = str(sizes[-1])
    ref = block["grids"].get(finest, {}).get("full")  # at the finest grid both variants coincide
    res = {}
    for key, *_ in CONV_QUANTITIES:
        vals = {}
        for n in sizes:
            rec = block["grids"].get(str(n), {}).get(variant if str(n) != finest else "full")
            if rec is not None and rec.get(key) is not None:
                vals[n] = rec[key]
        diffs = {str(n): vals[n] - ref[key] for n in sizes[:-1] if n in vals and ref is not None}
        succ = [vals[b] - vals[a] for a, b in zip(sizes[:-1], sizes[1:], strict=True) if a in vals and b in vals]
        orders = []
        for d1, d2 in zip(succ[:-1], succ[1:], strict=False):
            orders.append(math.log2(abs(d1 / d2)) if d1 != 0 and d2 != 0 else None)
        res[key] = {"diff_to_finest": diffs, "successive_differences": succ, "observed_orders": orders}
    return res


def _diff_cell(d, scale):
    if d is None:
        return "n/a"
    return "0" if d == 0.0 else f"{scale * d:.2e}"


def convergence_report(result) -> str:
    m, c = result["meta"], result["config"]
    sizes = c["sizes"]
    lines = [
        "# Grid convergence of the triplon-model solution\n",
        _meta_lines(m),
        f"* model: paper 001 at n_c = {POINT['n_c']}, kappa_a = kappa_b = {POINT['kappa_a']}, "
        f"Omega = {POINT['omega']} eV, T = 0; lambda = {', '.join(str(x) for x in c['lams'])}; "
        f"fixed-point solver (`solve(p, n, 'fixed-point')`, channel auto), `critical_temperatures(p, n)`, "
        f"`dos_fermi(p.bands, n)` (Fermi-line method)\n",
        "",
        "Delta_b(theta) are the Fermi-surface gaps jaxnickel reports (`delta_*_fs`; in the s+- state "
        "Delta_alpha and Delta_beta have opposite signs), theta around Gamma for the alpha pocket and around M for the beta pocket; "
        "ratio = |Delta_alpha / Delta_beta| at theta = pi/4; f = condensation free energy per unit cell.  "
        "The global sign of a solution is arbitrary and jaxnickel returns either one (sign in the Solver "
        "lines), so the gaps are shown sign-normalised to Delta_alpha(0) > 0.\n",
        "* **full**: `make_params(n_c=0.45, lam=lambda, grid=n)` on every grid, so mu (from n_c) and "
        "V = lambda / sqrt(N_alpha N_beta) carry the O(1/n^2) error of the triangle-method fillings and DOS.",
        "* **solver only**: mu and V fixed at the finest grid's values; only the k-sums of the gap equation and "
        "the linearised kernel change with n.",
        "* difference = value(n) - value(finest); order = log2 of the ratio of successive differences "
        "(value(n) - value(n/2)) / (value(2n) - value(n)): 2 for an O(1/n^2) error; large or erratic "
        "values mean the differences are at the rounding / solver-tolerance level (exponential convergence).\n",
    ]
    for block in result["blocks"]:
        lam = block["lam"]
        lines.append(f"## lambda = {lam}\n")
        if block["errors"]:
            lines.append("Errors: " + "; ".join(f"{n}^2: {e}" for n, e in block["errors"].items()) + "\n")
        head = ["grid", *[q[1] for q in CONV_QUANTITIES]]
        rows = []
        for n in sizes:
            rec = block["grids"].get(str(n), {}).get("full")
            if rec is None:
                rows.append([f"{n}^2", *["n/a"] * len(CONV_QUANTITIES)])
                continue
            rows.append([f"{n}^2", *[_scaled(rec, k, s, fmt) for k, _, s, fmt in CONV_QUANTITIES]])
        lines.append("Values (full):\n")
        lines.append(_table(head, rows))
        for variant, title in (("full", "full"), ("fixed", "solver only (mu, V of the finest grid)")):
            an = block["analysis"][variant]
            rows = []
            for n in sizes[:-1]:
                diffs = [_diff_cell(an[k]["diff_to_finest"].get(str(n)), s) for k, _, s, _fmt in CONV_QUANTITIES]
                rows.append([f"{n}^2", *diffs])
            orders = []
            for k, *_ in CONV_QUANTITIES:
                o = an[k]["observed_orders"]
                orders.append(", ".join(_f(x, "{:.2f}") for x in o) if o else "n/a")
            rows.append(["order", *orders])
            conv = []
            for n in sizes:
                rec = block["grids"].get(str(n), {}).get(variant if n != sizes[-1] else "full")
                if rec:
                    conv.append(
                        f"{n}^2: {rec['channel']} (sign {'+' if rec['state_sign'] > 0 else '-'}), "
                        f"it {rec['iterations']}, residual {rec['residual']:.1e} eV, "
                        f"converged {rec['converged']}, {rec['seconds']:.1f} s"
                    )
            lines.append(f"Difference to {sizes[-1]}^2, {title} (same units as above):\n")
            lines.append(_table(head, rows))
            lines.append("Solver: " + "; ".join(conv) + "\n")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


#: the jaxnickel modules the benchmark runs (their hash detects code changes during a run)
SOURCES = (
    "lattice.py",
    "solvers/*.py",
    "triplon/__init__.py",
    "triplon/bands.py",
    "triplon/pairing.py",
    "triplon/params.py",
    "triplon/solve.py",
    "triplon/solution.py",
    "triplon/tc.py",
)


def source_hash() -> str:
    """SHA-256 (first 12 hex digits) of the solver sources (:data:`SOURCES`)."""
    import hashlib

    h = hashlib.sha256()
    root = HERE.parent / "jaxnickel"
    for path in sorted(p for pattern in SOURCES for p in root.glob(pattern)):
        h.update(str(path.relative_to(HERE.parent)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _meta(argv):
    info, error = run_worker({"kind": "info"}, 300)
    if error or not info:
        raise RuntimeError(f"could not start JAX: {error}")
    meta = {k: v for k, v in info[0].items() if k != "event"}
    meta["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    meta["git_revision"] = git_revision()
    meta["source_sha256"] = source_hash()
    meta["load_average_at_start"] = list(os.getloadavg())
    meta["command"] = " ".join(["python", "benchmarks/bench_triplon.py", *(argv if argv is not None else sys.argv[1:])])
    print(
        f"device: {', '.join(meta['devices'])}; CPU {meta['cpu_model']} x{meta['cpu_usable']}; jax {meta['jax_version']}"
    )
    return meta


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", help="comma-separated n (n x n k-grids); default 256,512,1024,2048")
    ap.add_argument("--quick", action="store_true", help="grids 256 and 512 only")
    ap.add_argument("--out", default=str(HERE / "results"), help="output folder (default benchmarks/results)")
    ap.add_argument("--repeats", type=int, default=3, help="timed calls after the compiling one (default 3)")
    ap.add_argument("--cap", type=float, default=240.0, help="seconds per configuration (default 240)")
    ap.add_argument("--lam", type=float, default=LAM, help="lambda of the benchmark (default 0.3)")
    ap.add_argument("--mixing", type=float, default=nr.MIXING, help="mixing of the NumPy iteration (default 0.5)")
    ap.add_argument("--convergence", action="store_true", help="run the grid-convergence study instead")
    ap.add_argument("--lams", default=",".join(str(x) for x in CONV_LAMS), help="lambdas of the convergence study")
    ap.add_argument("--conv-timeout", type=float, default=1800.0, help="seconds per grid of the convergence study")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        spec = json.loads(args.worker)
        WORKERS[spec["kind"]](spec)
        return 0

    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    elif args.quick:
        sizes = list(QUICK_SIZES)
    else:
        sizes = list(DEFAULT_SIZES)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    if any(n < 8 for n in sizes):
        ap.error("grids must be >= 8")
    try:
        meta = _meta(argv)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    if args.convergence:
        lams = [float(x) for x in args.lams.split(",") if x.strip()]
        result = {"meta": meta, "config": {"sizes": sorted(sizes), "lams": lams, "point": POINT}, "blocks": []}
        result["blocks"] = convergence_study(lams, sizes, args.conv_timeout, meta["source_sha256"])
        md_path = out_dir / "grid_convergence_triplon.md"
        json_path = out_dir / "grid_convergence_triplon.json"
        json_path.write_text(json.dumps(result, indent=1) + "\n")
        md_path.write_text(convergence_report(result))
        print(f"wrote {md_path} and {json_path}")
        return 0

    kind = "gpu" if meta["backend"] in ("gpu", "cuda", "rocm") else meta["backend"]
    result = {
        "meta": meta,
        "config": {
            "sizes": sizes,
            "repeats": args.repeats,
            "cap_s": args.cap,
            "lam": args.lam,
            "mixing": args.mixing,
            "point": POINT,
            "v_factors": v_factors(args.repeats),
        },
        "results": [],
    }
    md_path = out_dir / f"bench_triplon_{kind}.md"
    json_path = out_dir / f"bench_triplon_{kind}.json"

    def write():
        json_path.write_text(json.dumps(result, indent=1) + "\n")
        md_path.write_text(bench_report(result))

    for n in sizes:
        result["results"].append(bench_size(n, args.lam, args.repeats, args.cap, args.mixing))
        write()
    print()
    print(bench_tables(result))
    print(f"wrote {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
