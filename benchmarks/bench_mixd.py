"""Benchmark of the MixD+V mean-field solvers on square lattices.

For each lattice size ``L x L`` (t = 0.1, J = 1, V = 1, epsilon = 0,
N_h = round(0.047 N): the doping of the paper's 16x16, N_h = 12 case) it times

* jaxnickel ``method="fixed-point"``: compile time (first call minus run time)
  and run time (median of >= 3 further calls at slightly different J, so that
  no result can be reused); also the bare solver core
  (:func:`jaxnickel.mixd.fixed_point.solve_fixed_point`, jitted, without the
  observables that ``solve`` computes), which is what the NumPy code does;
* jaxnickel ``method="gradient"``: the same;
* the plain-NumPy reference (``numpy_reference.py``, the same Newton iteration
  with a finite-difference Jacobian): run time (median over the same J values);

and reports energy agreement, iterations, converged flags and the ratios
NumPy / fixed-point and gradient / fixed-point.  Peak memory (``ru_maxrss``) of
one ``--mem-size`` solve per method is measured in a fresh subprocess that does
only that solve, next to a 16x16 solve as the baseline (imports + compilation).

Every configuration runs in its own subprocess (clean memory, a hard time
limit).  A configuration stops repeating once ``--cap`` seconds are spent and
is killed after ``2 cap + 60`` seconds; both are reported.

Usage::

    python benchmarks/bench_mixd.py                  # 64^2 .. 1024^2
    python benchmarks/bench_mixd.py --quick          # 64^2, 128^2 (memory at 128^2)
    python benchmarks/bench_mixd.py --sizes 64,256 --out /tmp/res

Results: ``<out>/bench_mixd_<cpu|gpu>.md`` and ``.json`` (named by JAX backend).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

from _common import cpu_info, git_revision  # noqa: E402  (this folder is on sys.path)

DEFAULT_SIZES = (64, 128, 256, 512, 1024)
QUICK_SIZES = (64, 128)
PARAMS = {"t": 0.1, "V": 1.0, "epsilon": 0.0}
J0 = 1.0
DOPING = 0.047  # N_h / N of the paper's 16x16, N_h = 12 case
TAG = "@@"  # prefix of the JSON lines a worker prints


def n_holes(L: int) -> int:
    return round(DOPING * L * L)


def j_values(repeats: int) -> list[float]:
    """J of the first (compiling) call, then of each timed repeat."""
    return [J0 + 1e-3 * i for i in range(repeats + 1)]


# ====================================================================== workers
# Each runs in a fresh interpreter (``bench_mixd.py --worker '<json>'``) and
# prints one JSON line per result, prefixed with TAG.


def _emit(**kw):
    print(TAG + json.dumps(kw), flush=True)


def _jax_setup():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    jnp.zeros(8).sum().block_until_ready()  # initialise the backend outside the timings
    return jax


def _timed_series(call, js, cap):
    """Time ``call(J)`` for each J (the first one compiles); stop when ``cap`` seconds are spent.

    ``call`` returns a function that reads the diagnostics off the result; it runs
    after the clock stops (host transfers are not timed).
    """
    start = time.perf_counter()
    last = 0.0
    for i, J in enumerate(js):
        if i > 1 and (time.perf_counter() - start) + last > cap:
            _emit(event="capped", after_calls=i, elapsed=time.perf_counter() - start)
            return
        t0, c0 = time.perf_counter(), time.process_time()
        describe = call(J)
        last = time.perf_counter() - t0
        cpu = time.process_time() - c0  # user + sys of all threads of this process
        _emit(event="call", index=i, J=J, seconds=last, cpu_seconds=cpu, **describe())


def worker_jax(spec):
    jax = _jax_setup()
    import equinox as eqx

    import jaxnickel as jn
    from jaxnickel.mixd import MixDParams, solve
    from jaxnickel.mixd.fixed_point import DEFAULT_SEED_FRACTIONS, solve_fixed_point

    L, method = spec["L"], spec["method"]
    lattice = jn.Square(L)
    seeds = tuple(DEFAULT_SEED_FRACTIONS)

    def params(J):
        return MixDParams(J=J, n_holes=n_holes(L), **PARAMS)

    def full(J):
        p = params(J)
        sol = solve(p, lattice, method=method, warn=False)  # the public API (validation is negligible)
        jax.block_until_ready(sol)
        return lambda: {
            "energy": float(sol.energy),
            "converged": bool(sol.converged),
            "iterations": int(sol.iterations),
            "residual": float(sol.residual),
            "stationarity": float(sol.stationarity),
            "hole_number_error": float(sol.hole_number_error),
            "N_cc": float(sol.N_cc),
            "mu": float(sol.mu),
        }

    _timed_series(full, spec["js"], spec["cap"])

    if method == "fixed-point" and spec.get("core", True):
        core_jit = eqx.filter_jit(solve_fixed_point)

        def core(J):
            x, ok, steps, res = core_jit(params(J), lattice, seeds=seeds, tol=1e-12)
            jax.block_until_ready((x, ok, steps, res))
            return lambda: {"converged": bool(ok), "iterations": int(steps), "residual": float(res)}

        _emit(event="core_start")
        _timed_series(core, spec["js"], spec["cap"])


def _numpy_settings(nr, spec):
    """Seeds and coarse-lattice sizes of the NumPy reference: jaxnickel's, as read by the info worker."""
    fp = spec.get("fixed_point") or {}
    coarse = fp.get("coarse", nr.COARSE)
    return {
        "seeds": tuple(fp.get("seeds") or nr.SEED_FRACTIONS),
        "coarse": tuple(coarse) if coarse else None,
    }


def worker_numpy(spec):
    sys.path.insert(0, str(HERE))
    import numpy_reference as nr

    L = spec["L"]
    grid = nr.Grid((L, L))

    def call(J):
        model = nr.Model(J=J, n_holes=n_holes(L), **PARAMS)
        sol = nr.solve_fixed_point_numpy(model, grid, **_numpy_settings(nr, spec))
        return lambda: {
            "energy": sol.energy,
            "converged": sol.converged,
            "iterations": sol.iterations,
            "residual": sol.residual,
            "N_cc": sol.N_cc,
            "mu": sol.mu,
        }

    _timed_series(call, spec["js"], spec["cap"])


def worker_mem(spec):
    """One solve and nothing else; report the peak resident set size."""
    import resource

    L, method = spec["L"], spec["method"]
    gpu_peak = None
    t0 = time.perf_counter()
    if method == "numpy":
        sys.path.insert(0, str(HERE))
        import numpy_reference as nr

        model = nr.Model(J=J0, n_holes=n_holes(L), **PARAMS)
        sol = nr.solve_fixed_point_numpy(model, nr.Grid((L, L)), **_numpy_settings(nr, spec))
        energy, converged = sol.energy, sol.converged
    else:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jaxnickel as jn
        from jaxnickel.mixd import MixDParams, solve

        sol = solve(MixDParams(J=J0, n_holes=n_holes(L), **PARAMS), jn.Square(L), method=method, warn=False)
        jax.block_until_ready(sol)
        energy, converged = float(sol.energy), bool(sol.converged)
        stats = jax.devices()[0].memory_stats() or {}
        if "peak_bytes_in_use" in stats:
            gpu_peak = stats["peak_bytes_in_use"] / 2**20
    seconds = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux
    _emit(event="mem", peak_rss_mb=rss_mb, device_peak_mb=gpu_peak, seconds=seconds, energy=energy, converged=converged)


def worker_info(spec):
    jax = _jax_setup()
    import numpy

    import jaxnickel
    import jaxnickel.mixd.fixed_point as fp

    cpu = cpu_info()
    devices = jax.devices()
    _emit(
        event="info",
        backend=jax.default_backend(),
        devices=[str(d) for d in devices],
        device_kinds=sorted({d.device_kind for d in devices}),
        **cpu,
        jax_version=jax.__version__,
        jaxlib_version=getattr(__import__("jaxlib"), "__version__", None),
        numpy_version=numpy.__version__,
        jaxnickel_version=jaxnickel.__version__,
        python=platform.python_version(),
        platform=platform.platform(),
        fixed_point={
            "seeds": [float(f) for f in fp.DEFAULT_SEED_FRACTIONS],
            # seeds on a coarse lattice first (jaxnickel >= d27e600); None: seeds on the full lattice
            "coarse": [fp.COARSE_1D, fp.COARSE_2D] if hasattr(fp, "COARSE_2D") else None,
        },
    )


WORKERS = {"jax": worker_jax, "numpy": worker_numpy, "mem": worker_mem, "info": worker_info}


# ====================================================================== driver


def run_worker(spec, timeout):
    """Run a worker subprocess; return ``(records, error)`` (partial records on timeout)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    error = None
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        out, err = proc.stdout, proc.stderr
        if proc.returncode != 0:
            error = f"exit {proc.returncode}: {err.strip().splitlines()[-1] if err.strip() else ''}"
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        error = f"killed after {timeout:.0f} s (time limit)"
    records = [json.loads(line[len(TAG) :]) for line in out.splitlines() if line.startswith(TAG)]
    return records, error


def summarise_series(records, error):
    """Compile/run times and solver diagnostics of one timed series."""
    calls = [r for r in records if r["event"] == "call"]
    out = {
        "calls": calls,
        "capped": any(r["event"] == "capped" for r in records),
        "error": error,
    }
    if not calls:
        return out
    first = calls[0]["seconds"]
    runs = [c["seconds"] for c in calls[1:]]
    out["first_call_s"] = first
    out["n_runs"] = len(runs)
    cpu = [c["cpu_seconds"] for c in calls[1:]]
    if runs:
        out["run_s"] = statistics.median(runs)
        out["run_min_s"] = min(runs)
        out["compile_s"] = first - out["run_s"]
        out["run_cpu_s"] = statistics.median(cpu)
        out["compile_cpu_s"] = calls[0]["cpu_seconds"] - out["run_cpu_s"]
    out["converged"] = all(c["converged"] for c in calls)
    out["iterations"] = [c["iterations"] for c in calls]
    out["max_residual"] = max(c["residual"] for c in calls)
    out["energies"] = {f"{c['J']:.6f}": c.get("energy") for c in calls if "energy" in c}
    return out


def bench_size(L, repeats, cap, fp_settings):
    js = j_values(repeats)
    timeout = 2 * cap + 60
    row = {"L": L, "N": L * L, "N_h": n_holes(L)}
    for key, spec in (
        ("fixed_point", {"kind": "jax", "method": "fixed-point"}),
        ("gradient", {"kind": "jax", "method": "gradient"}),
        ("numpy", {"kind": "numpy", "fixed_point": fp_settings}),
    ):
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        records, error = run_worker({**spec, "L": L, "js": js, "cap": cap}, timeout)
        if key == "fixed_point":
            cut = next((i for i, r in enumerate(records) if r["event"] == "core_start"), len(records))
            row["fixed_point_core"] = summarise_series(records[cut + 1 :], error)
            records = records[:cut]
        row[key] = summarise_series(records, error)
        row[key]["wall_s"] = time.perf_counter() - t0
        row[key]["load_avg_1min_before"] = load
        _progress(L, key, row[key])
    # energy agreement at every J that both sides computed
    fp = row["fixed_point"].get("energies", {})
    for key in ("numpy", "gradient"):
        other = row[key].get("energies", {})
        rels = [abs(other[j] - fp[j]) / abs(fp[j]) for j in fp if j in other]
        row[f"rel_dE_{key}_vs_fp"] = max(rels) if rels else None
    fp_run = row["fixed_point"].get("run_s")
    core_run = row["fixed_point_core"].get("run_s")
    np_run = row["numpy"].get("run_s")
    gr_run = row["gradient"].get("run_s")
    row["ratio_numpy_over_fp"] = np_run / fp_run if np_run and fp_run else None
    row["ratio_numpy_over_fp_core"] = np_run / core_run if np_run and core_run else None
    row["ratio_gradient_over_fp"] = gr_run / fp_run if gr_run and fp_run else None
    cpu = {k: row[k].get("run_cpu_s") for k in ("fixed_point", "fixed_point_core", "gradient", "numpy")}
    row["cpu_ratio_numpy_over_fp_core"] = (
        cpu["numpy"] / cpu["fixed_point_core"] if cpu["numpy"] and cpu["fixed_point_core"] else None
    )
    row["cpu_ratio_gradient_over_fp"] = (
        cpu["gradient"] / cpu["fixed_point"] if cpu["gradient"] and cpu["fixed_point"] else None
    )
    return row


def _progress(L, key, s):
    run = s.get("run_s")
    msg = f"  {L:>5}^2 {key:<12} first {s.get('first_call_s', float('nan')):8.3f} s"
    msg += f"  run {run:8.3f} s (n={s.get('n_runs', 0)})" if run is not None else "  run       n/a"
    msg += f"  conv {s.get('converged')}  it {s.get('iterations', ['-'])[0]}"
    if s.get("capped"):
        msg += "  [capped]"
    if s.get("error"):
        msg += f"  ERROR: {s['error']}"
    print(msg, flush=True)


def bench_memory(L, cap, fp_settings):
    rows = []
    for method in ("fixed-point", "gradient", "numpy"):
        row = {"method": method, "L": L}
        for label, size in (("peak", L), ("baseline_16", 16)):
            spec = {"kind": "mem", "method": method, "L": size, "fixed_point": fp_settings}
            records, error = run_worker(spec, 2 * cap + 60)
            rec = next((r for r in records if r["event"] == "mem"), None)
            row[label] = rec
            if error:
                row[f"{label}_error"] = error
        rows.append(row)
        p, b = row["peak"], row["baseline_16"]
        print(
            f"  memory {method:<12} {L}^2: peak RSS {p['peak_rss_mb'] if p else float('nan'):8.1f} MB"
            f"  (16^2 baseline {b['peak_rss_mb'] if b else float('nan'):7.1f} MB)",
            flush=True,
        )
    return rows


# ---------------------------------------------------------------- formatting


def _f(x, fmt="{:.3f}"):
    return "n/a" if x is None else fmt.format(x)


def _conv(s):
    if "converged" not in s:
        return "n/a"
    return "yes" if s["converged"] else "**NO**"


def _run_cell(s):
    cell = _f(s.get("run_s"))
    if s.get("n_runs", 0) < 3 and "first_call_s" in s:
        cell += f" (n={s.get('n_runs', 0)})"
    if s.get("capped"):
        cell += " capped"
    if s.get("error"):
        cell += " ERR"
    return cell


def _table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _iters(s):
    return str(s["iterations"][0]) if s.get("iterations") else "n/a"


def markdown_tables(result) -> str:
    rows = result["results"]
    timing = []
    solver = []
    for r in rows:
        fp, core, gr, npy = r["fixed_point"], r["fixed_point_core"], r["gradient"], r["numpy"]
        loads = [fp, gr, npy]
        timing.append(
            [
                f"{r['L']}^2",
                _f(fp.get("compile_s"), "{:.2f}"),
                _run_cell(fp),
                _run_cell(core),
                _f(gr.get("compile_s"), "{:.2f}"),
                _run_cell(gr),
                _run_cell(npy),
                _f(r["ratio_numpy_over_fp"], "{:.1f}"),
                _f(r["ratio_numpy_over_fp_core"], "{:.1f}"),
                _f(r["ratio_gradient_over_fp"], "{:.1f}"),
                " / ".join(_f(s.get("load_avg_1min_before"), "{:.1f}") for s in loads),
            ]
        )
        e_fp = fp.get("energies", {}).get(f"{J0:.6f}")
        solver.append(
            [
                f"{r['L']}^2",
                str(r["N_h"]),
                _f(e_fp / r["N"] if e_fp is not None else None, "{:.12f}"),
                f"{_iters(fp)} / {_conv(fp)}",
                f"{_iters(gr)} / {_conv(gr)}",
                f"{_iters(npy)} / {_conv(npy)}",
                _f(fp.get("max_residual"), "{:.1e}"),
                _f(gr.get("max_residual"), "{:.1e}"),
                _f(r["rel_dE_numpy_vs_fp"], "{:.1e}"),
                _f(r["rel_dE_gradient_vs_fp"], "{:.1e}"),
            ]
        )
    out = _table(
        [
            "L^2",
            "FP compile s",
            "FP run s",
            "FP core run s",
            "GR compile s",
            "GR run s",
            "NumPy run s",
            "NumPy/FP",
            "NumPy/FP core",
            "GR/FP",
            "load FP / GR / NP",
        ],
        timing,
    )
    out += "\n" + _table(
        [
            "L^2",
            "N_h",
            "E/N (FP, J=1)",
            "FP it / conv",
            "GR it / conv",
            "NumPy it / conv",
            "FP max residual",
            "GR max residual",
            "max rel dE NumPy-FP",
            "max rel dE GR-FP",
        ],
        solver,
    )
    out += "\n" + _table(
        [
            "L^2",
            "FP compile cpu s",
            "GR compile cpu s",
            "FP cpu s",
            "FP core cpu s",
            "GR cpu s",
            "NumPy cpu s",
            "NumPy/FP core (cpu)",
            "GR/FP (cpu)",
        ],
        [
            [
                f"{r['L']}^2",
                _f(r["fixed_point"].get("compile_cpu_s"), "{:.2f}"),
                _f(r["gradient"].get("compile_cpu_s"), "{:.2f}"),
                *(_f(r[k].get("run_cpu_s")) for k in ("fixed_point", "fixed_point_core", "gradient", "numpy")),
                _f(r.get("cpu_ratio_numpy_over_fp_core"), "{:.1f}"),
                _f(r.get("cpu_ratio_gradient_over_fp"), "{:.1f}"),
            ]
            for r in rows
        ],
    )
    if result.get("memory"):
        out += (
            "\n| method | lattice | peak RSS MB | 16^2 baseline RSS MB | difference MB | device peak MB | solve s |\n"
        )
        out += "|---|---|---|---|---|---|---|\n"
        for m in result["memory"]:
            p, b = m.get("peak") or {}, m.get("baseline_16") or {}
            pr, br = p.get("peak_rss_mb"), b.get("peak_rss_mb")
            diff = pr - br if pr is not None and br is not None else None
            out += (
                f"| {m['method']} | {m['L']}^2 | {_f(pr, '{:.0f}')} | {_f(br, '{:.0f}')} | {_f(diff, '{:.0f}')} "
                f"| {_f(p.get('device_peak_mb'), '{:.0f}')} | {_f(p.get('seconds'), '{:.1f}')} |\n"
            )
    return out


def markdown_report(result) -> str:
    m = result["meta"]
    c = result["config"]
    devs = ", ".join(m["devices"])
    return f"""# MixD+V solver benchmark ({m["backend"]})

* date: {m["date"]}
* device: {devs} ({", ".join(m["device_kinds"])}); CPU: {m["cpu_model"]}, {m["cpu_count"]} cores ({m["cpu_usable"]} usable)
* jax {m["jax_version"]}, jaxlib {m["jaxlib_version"]}, numpy {m["numpy_version"]}, jaxnickel {m["jaxnickel_version"]} (git {m["git_revision"]}), Python {m["python"]}
* jaxnickel fixed-point settings, also used by the NumPy reference: seeds (condensate fractions) {m["fixed_point"]["seeds"]}, coarse seed lattice (1D, 2D) {m["fixed_point"]["coarse"]}
* model: square lattice, t = {PARAMS["t"]}, V = {PARAMS["V"]}, epsilon = {PARAMS["epsilon"]}, N_h = round({DOPING} N); J = {J0} for the compiling call, J = {J0} + 0.001 i for the {c["repeats"]} timed repeats
* command: `{m["command"]}` (load average at start: {", ".join(f"{x:.2f}" for x in m["load_average_at_start"])})

FP = jaxnickel `solve(method="fixed-point")` (incl. observables), FP core = jitted `solve_fixed_point` only
(seeds + Newton + root choice, what the NumPy reference does), GR = `solve(method="gradient")`,
NumPy = `benchmarks/numpy_reference.py`.  compile = first call - median run; run = median of the
repeats (n shown when fewer than 3); it = iterations of the J = {J0} call (Newton steps summed over all
seeds, the coarse-lattice stage included; L-BFGS steps for GR); conv = all calls converged; rel dE = max over the common J values of
|E - E_FP| / |E_FP|; load = 1-minute load average of the machine before each configuration
(compare with the number of cores: other work on the machine inflates the times).  The third
table is CPU time (user + sys summed over all threads of the process; run = median of the repeats,
compile = first call - run): less sensitive to other load than wall time, but it adds up all threads.
Memory: `ru_maxrss` of a fresh process doing one solve (first call, so
compilation included); the 16^2 baseline is the same process on a 16x16 lattice.

{markdown_tables(result)}"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", help="comma-separated L values (L x L lattices); default 64,128,256,512,1024")
    ap.add_argument("--quick", action="store_true", help="sizes 64,128 only (memory at 128^2)")
    ap.add_argument("--out", default=str(HERE / "results"), help="output folder (default benchmarks/results)")
    ap.add_argument("--repeats", type=int, default=3, help="timed calls after the compiling one (default 3)")
    ap.add_argument("--cap", type=float, default=240.0, help="seconds per configuration before repeats stop")
    ap.add_argument("--mem-size", type=int, help="L of the peak-memory solves (default 1024; 0 = skip)")
    ap.add_argument("--render", metavar="JSON", help="only rewrite the Markdown report of an existing JSON result")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        spec = json.loads(args.worker)
        WORKERS[spec["kind"]](spec)
        return 0
    if args.render:
        path = Path(args.render)
        path.with_suffix(".md").write_text(markdown_report(json.loads(path.read_text())))
        print(f"wrote {path.with_suffix('.md')}")
        return 0

    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    elif args.quick:
        sizes = list(QUICK_SIZES)
    else:
        sizes = list(DEFAULT_SIZES)
    mem_size = args.mem_size if args.mem_size is not None else (max(sizes) if args.quick else 1024)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")

    info, error = run_worker({"kind": "info"}, 300)
    if error or not info:
        print(f"could not start JAX: {error}", file=sys.stderr)
        return 1
    meta = {k: v for k, v in info[0].items() if k != "event"}
    meta["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    meta["git_revision"] = git_revision()
    meta["load_average_at_start"] = list(os.getloadavg())
    meta["command"] = " ".join(["python", "benchmarks/bench_mixd.py", *(argv if argv is not None else sys.argv[1:])])
    kind = "gpu" if meta["backend"] in ("gpu", "cuda", "rocm") else meta["backend"]
    print(
        f"device: {', '.join(meta['devices'])}; CPU {meta['cpu_model']} x{meta['cpu_usable']}; jax {meta['jax_version']}"
    )

    result = {
        "meta": meta,
        "config": {
            "sizes": sizes,
            "repeats": args.repeats,
            "cap_s": args.cap,
            "mem_size": mem_size,
            "params": PARAMS,
            "J0": J0,
            "doping": DOPING,
        },
        "results": [],
        "memory": [],
    }
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path = out_dir / f"bench_mixd_{kind}.md"
    json_path = out_dir / f"bench_mixd_{kind}.json"

    def write():
        json_path.write_text(json.dumps(result, indent=1) + "\n")
        md_path.write_text(markdown_report(result))

    for L in sizes:
        result["results"].append(bench_size(L, args.repeats, args.cap, meta["fixed_point"]))
        write()
    if mem_size:
        result["memory"] = bench_memory(mem_size, args.cap, meta["fixed_point"])
        write()
    print()
    print(markdown_tables(result))
    print(f"wrote {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
