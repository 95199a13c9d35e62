"""Benchmark of :mod:`jaxnickel.sweep` on the Fig. 3 map of paper 000.

The map: MixD+V ladder, L = 30, t = 0.1, V = 1, J/V in linspace(0.5, 2.5, 21) and
N_h = 2, 4, ..., 28 (14 values, doping up to 28/30), i.e. 21 x 14 = 294 points, each a
cold-start fixed-point solve with all the scalar observables of ``MixDSolution``.
Configurations (each group in a fresh interpreter):

* **sweep, 1 device** (no XLA flag): ``mixd_sweep`` as one compiled vmap over all 294
  points (one chunk): trace + lowering, compilation and run time separately; then the
  same call again (the compiled program is reused: run time only), median of the repeats.
  Also chunked (``chunk_size=42``: 7 calls of one executable), ``batching="map"`` (the
  points one after another inside one compiled program) and ``warm_start="J"`` (14 lines
  of 21 J values, each a ``lax.scan`` with warm starts, vmapped over the lines): with the
  cold fallback (default) under vmap and under ``batching="map"``, and without it.
* **loop, 1 device**: a Python loop over the 294 points of one jitted single-point
  function (``eqx.filter_jit`` of ``solve_jax`` returning the same scalars; compiled once,
  then looped, each result fetched before the next call; also with all 294 calls
  dispatched first), and a loop over the public ``solve()`` (which validates, runs the
  cached jitted solve and returns the full solution; energy read at each point).
* **sweep, 4 forced host devices** (``XLA_FLAGS=--xla_force_host_platform_device_count=4``):
  the one-chunk sweep sharded over the 4 devices (296 points: padded to a multiple of 4),
  ``batching="map"`` sharded, and the same process with ``devices=1`` for reference; and
  the one-chunk sweep over 2 forced host devices (as many as the physical cores).

Every configuration reports wall time and CPU time (user + sys of all threads), the
number of non-converged points, and the largest difference to the loop of single solves
(energy, (N_sc - 2 N_cc)/N_h) over the points that converged in both.

Usage::

    python benchmarks/bench_sweep.py                 # everything (~5-10 min on 2 busy cores)
    python benchmarks/bench_sweep.py --repeats 2 --out /tmp/res
    python benchmarks/bench_sweep.py --render benchmarks/results/bench_sweep_cpu.json

Results: ``<out>/bench_sweep_<cpu|gpu>.md`` and ``.json``.
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

TAG = "@@"
L = 30
T_HOP, V = 0.1, 1.0
J_VALUES = [0.5 + 0.1 * i for i in range(21)]  # linspace(0.5, 2.5, 21)
NH_VALUES = [float(n) for n in range(2, 29, 2)]  # 14 values, doping 2/30 .. 28/30
CHUNK = 42
FORCED_DEVICES = 4
COMPARE = ("energy", "sc_minus_2cc_fraction")
N_POINTS = len(J_VALUES) * len(NH_VALUES)


def _emit(**kw):
    print(TAG + json.dumps(kw), flush=True)


def _setup():
    import warnings

    import jax

    jax.config.update("jax_enable_x64", True)
    warnings.simplefilter("ignore")  # DopingWarning (N_h/L >= 0.5) and convergence warnings: counted instead
    import jax.numpy as jnp

    jnp.zeros(8).sum().block_until_ready()  # backend start-up outside the timings
    return jax


def _clock():
    return time.perf_counter(), time.process_time()


def _since(t):
    return time.perf_counter() - t[0], time.process_time() - t[1]


def _arrays(get):
    return {k: [float(x) for x in get(k).ravel()] for k in COMPARE} | {
        "converged": [bool(x) for x in get("converged").ravel()]
    }


# ====================================================================== workers


def worker_sweep(spec):
    jax = _setup()
    import numpy as np

    from jaxnickel import Ladder
    from jaxnickel.sweep import failures, mixd_sweep

    lat = Ladder(L)
    J, NH = np.asarray(J_VALUES), np.asarray(NH_VALUES)
    _emit(event="devices", device_count=jax.device_count(), devices=[str(d) for d in jax.devices()])
    for cfg in spec["configs"]:
        kw = dict(cfg["kw"])
        calls = []
        res = None
        for i in range(spec["repeats"] + 1):
            t = _clock()
            # J varies in the last digits between calls so that nothing can be reused
            res = mixd_sweep(lat, t=T_HOP, V=V, J=J + 1e-13 * i, n_holes=NH, **kw)
            wall, cpu = _since(t)
            tm = res.attrs["timing"]
            calls.append(
                {
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "trace_lower_s": tm["trace_lower_s"],
                    "compile_s": tm["compile_s"],
                    "run_s": tm["run_s"],
                    "reused": res.attrs["compiled_program_reused"],
                    "traces": res.attrs["traces"],
                }
            )
        warm_runs = [c["run_s"] for c in calls[1:]]
        warm_cpu = [c["cpu_s"] for c in calls[1:]]
        _emit(
            event="config",
            name=cfg["name"],
            kw=cfg["kw"],
            calls=calls,
            first_wall_s=calls[0]["wall_s"],
            trace_lower_s=calls[0]["trace_lower_s"],
            compile_s=calls[0]["compile_s"],
            first_run_s=calls[0]["run_s"],
            run_s=statistics.median(warm_runs),
            run_min_s=min(warm_runs),
            run_cpu_s=statistics.median(warm_cpu),
            chunk_size=res.attrs["chunk_size"],
            n_chunks=res.attrs["n_chunks"],
            n_padded=res.attrs["n_padded"],
            sharding=res.attrs["sharding"],
            not_converged=res.attrs["not_converged"],
            warm_start_failed=res.attrs.get("warm_start_failed"),
            failures=failures(res),
            iterations_max=int(np.max(res["iterations"])),
            iterations_median=float(np.median(res["iterations"])),
            arrays=_arrays(lambda k, r=res: np.asarray(r[k])),
        )


def worker_loop(spec):
    jax = _setup()
    import equinox as eqx
    import numpy as np

    from jaxnickel import Ladder
    from jaxnickel.mixd import MixDParams, solve, solve_jax
    from jaxnickel.mixd.solution import SCALAR_FIELDS

    lat = Ladder(L)
    # C order of (J, N_h); NumPy scalars, so that filter_jit traces them (Python floats would be static)
    pts = [(np.float64(j), np.float64(nh)) for j in J_VALUES for nh in NH_VALUES]

    traces = []

    @eqx.filter_jit
    def one(j, nh):
        traces.append(1)  # runs at trace time only
        s = solve_jax(MixDParams(t=T_HOP, J=j, V=V, n_holes=nh), lat)
        return {k: getattr(s, k) for k in SCALAR_FIELDS}

    t = _clock()
    jax.block_until_ready(one(*pts[0]))
    first_wall, first_cpu = _since(t)
    runs, host = [], None
    for r in range(spec["repeats"]):
        t = _clock()
        host = []
        for j, nh in pts:  # one point after the other, each result fetched before the next solve
            o = one(j + 1e-13 * r, nh)
            host.append({k: np.asarray(v) for k, v in o.items()})
        runs.append(_since(t))
    stack = {k: np.array([o[k] for o in host]) for k in SCALAR_FIELDS}
    # the same loop with asynchronous dispatch: all 294 calls queued, then fetched
    aruns = []
    for r in range(spec["repeats"]):
        t = _clock()
        outs = [one(j + 1e-12 * (r + 1), nh) for j, nh in pts]
        jax.block_until_ready(outs)
        aruns.append(_since(t))
    _emit(
        event="config",
        name="loop_jit",
        traces=len(traces),
        first_wall_s=first_wall,
        first_cpu_s=first_cpu,
        compile_s=first_wall,
        run_s=statistics.median(w for w, _ in runs),
        run_min_s=min(w for w, _ in runs),
        run_cpu_s=statistics.median(c for _, c in runs),
        runs=runs,
        not_converged=int(np.size(stack["converged"]) - np.count_nonzero(stack["converged"])),
        iterations_max=int(stack["iterations"].max()),
        iterations_median=float(np.median(stack["iterations"])),
        arrays=_arrays(lambda k: stack[k]),
    )
    _emit(
        event="config",
        name="loop_jit_async",
        run_s=statistics.median(w for w, _ in aruns),
        run_min_s=min(w for w, _ in aruns),
        run_cpu_s=statistics.median(c for _, c in aruns),
        runs=aruns,
    )

    # the public solve() per point (validation + the cached jitted full solve)
    p0 = MixDParams(t=T_HOP, J=J_VALUES[0] + 2e-3, V=V, n_holes=NH_VALUES[0])
    t = _clock()
    jax.block_until_ready(solve(p0, lat, warn=False))
    first_wall, first_cpu = _since(t)
    runs, energies, conv = [], [], []
    for r in range(spec["repeats"]):
        t = _clock()
        energies, conv = [], []
        for j, nh in pts:  # each result read before the next solve
            sol = solve(MixDParams(t=T_HOP, J=j + 1e-13 * r, V=V, n_holes=nh), lat, warn=False)
            energies.append(float(sol.energy))
            conv.append(bool(sol.converged))
        runs.append(_since(t))
    _emit(
        event="config",
        name="loop_solve",
        first_wall_s=first_wall,
        first_cpu_s=first_cpu,
        compile_s=first_wall,
        run_s=statistics.median(w for w, _ in runs),
        run_min_s=min(w for w, _ in runs),
        run_cpu_s=statistics.median(c for _, c in runs),
        runs=runs,
        not_converged=sum(not c for c in conv),
        max_abs_energy_vs_loop_jit=max(abs(a - b) for a, b in zip(energies, stack["energy"].tolist(), strict=True)),
        diff_vs_loop={"energy": max(abs(a - b) for a, b in zip(energies, stack["energy"].tolist(), strict=True))},
    )


def worker_info(spec):
    jax = _setup()
    import numpy

    import jaxnickel

    cpu = cpu_info()
    devices = jax.devices()
    _emit(
        event="info",
        backend=jax.default_backend(),
        devices=[str(d) for d in devices],
        device_kinds=sorted({d.device_kind for d in devices}),
        **cpu,
        mem_total_gib=_mem_total_gib(),
        jax_version=jax.__version__,
        jaxlib_version=getattr(__import__("jaxlib"), "__version__", None),
        numpy_version=numpy.__version__,
        jaxnickel_version=jaxnickel.__version__,
        python=platform.python_version(),
        platform=platform.platform(),
    )


def _mem_total_gib():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


WORKERS = {"sweep": worker_sweep, "loop": worker_loop, "info": worker_info}


# ====================================================================== driver


def run_worker(spec, timeout, devices=None):
    """Run a worker in a fresh interpreter; ``devices``: forced host device count (XLA_FLAGS)."""
    env = dict(os.environ)
    if devices:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices}").strip()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    load = list(os.getloadavg())
    t0 = time.perf_counter()
    error = None
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        out = proc.stdout
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()
            error = f"exit {proc.returncode}: {tail[-1] if tail else ''}"
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        error = f"killed after {timeout:.0f} s (time limit)"
    records = [json.loads(line[len(TAG) :]) for line in out.splitlines() if line.startswith(TAG)]
    for r in records:
        r["load_avg_before"] = load
        r["load_avg_after"] = list(os.getloadavg())
        r["process_wall_s"] = time.perf_counter() - t0
        r["xla_forced_devices"] = devices
    return records, error


def _diff(a, b):
    """Largest |a - b| per compared field over points converged in both."""
    ok = [x and y for x, y in zip(a["converged"], b["converged"], strict=True)]
    out = {}
    for k in COMPARE:
        d = [abs(x - y) for x, y, m in zip(a[k], b[k], ok, strict=True) if m]
        out[k] = max(d) if d else None
    out["n_compared"] = sum(ok)
    return out


def _sha(path):
    """First 12 hex digits of the SHA-256 of a file (the benchmarked code, even uncommitted)."""
    import hashlib

    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:
        return None


def _f(x, fmt="{:.3f}"):
    return "n/a" if x is None else fmt.format(x)


def _table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


LABELS = {
    "sweep_vmap": "sweep, vmap, 1 chunk of 294 (1 device)",
    "sweep_chunked": f"sweep, vmap, chunk_size={CHUNK} (7 calls, 1 device)",
    "sweep_map": 'sweep, batching="map", 1 chunk (1 device)',
    "sweep_warm": 'sweep, warm_start="J", cold fallback (14 lines x 21, vmap, 1 device)',
    "sweep_warm_map": 'sweep, warm_start="J", cold fallback, batching="map" (1 device)',
    "sweep_warm_nofallback": 'sweep, warm_start="J", warm_fallback=False (vmap, 1 device)',
    "loop_jit": "Python loop over a jitted single-point solve (each result fetched)",
    "loop_jit_async": "the same loop, all 294 calls dispatched, then fetched",
    "loop_solve": "Python loop over the public solve() (each result read)",
    "sharded4_vmap": f"sweep, vmap, sharded over {FORCED_DEVICES} host devices",
    "sharded4_map": f'sweep, batching="map", sharded over {FORCED_DEVICES} host devices',
    "forced4_devices1": f"sweep, vmap, devices=1 (process with {FORCED_DEVICES} host devices)",
    "sharded2_vmap": "sweep, vmap, sharded over 2 host devices (= physical cores)",
}


def markdown_report(result) -> str:
    m = result["meta"]
    rows = {r["name"]: r for r in result["configs"]}
    base = rows.get("sweep_vmap", {}).get("run_s")
    loop = rows.get("loop_jit", {}).get("run_s")
    timing = []
    for name, label in LABELS.items():
        r = rows.get(name)
        if r is None:
            continue
        run = r.get("run_s")
        timing.append(
            [
                label,
                _f(r.get("trace_lower_s"), "{:.1f}"),
                _f(r.get("compile_s"), "{:.1f}"),
                _f(r.get("first_wall_s"), "{:.1f}"),
                _f(run, "{:.2f}"),
                _f(r.get("run_min_s"), "{:.2f}"),
                _f(r.get("run_cpu_s"), "{:.2f}"),
                _f(1e3 * run / N_POINTS if run else None, "{:.1f}"),
                _f(loop / run if run and loop else None, "{:.2f}"),
                _f(run / base if run and base else None, "{:.2f}"),
                f"{_f(r.get('not_converged'), '{}')}"
                + (f" ({r['warm_start_failed']} cold)" if r.get("warm_start_failed") is not None else ""),
                _f((r.get("diff_vs_loop") or {}).get("energy"), "{:.1e}"),
                _f((r.get("diff_vs_loop") or {}).get("sc_minus_2cc_fraction"), "{:.1e}"),
                " / ".join(_f(x, "{:.1f}") for x in (r["load_avg_before"][0], r["load_avg_after"][0])),
            ]
        )
    out = f"""# jaxnickel.sweep benchmark ({m["backend"]}): the Fig. 3 map of paper 000

* date: {m["date"]}
* machine: CPU {m["cpu_model"]}, {m["cpu_count"]} cores ({m["cpu_usable"]} usable), {m.get("mem_total_gib")} GiB RAM; devices {", ".join(m["devices"])}
* jax {m["jax_version"]}, jaxlib {m["jaxlib_version"]}, numpy {m["numpy_version"]}, jaxnickel {m["jaxnickel_version"]} (git {m["git_revision"]}; sha256 of jaxnickel/sweep.py {m.get("sweep_py_sha256")}), Python {m["python"]}
* command: `{m["command"]}`; load average (1, 5, 15 min) at start {", ".join(f"{x:.2f}" for x in m["load_average_at_start"])}, at end {", ".join(f"{x:.2f}" for x in m["load_average_at_end"])}
* model: ladder L = {L}, t = {T_HOP}, V = {V}, J/V = linspace(0.5, 2.5, 21), N_h = 2, 4, ..., 28 (14 values): 294 cold-start
  fixed-point solves (`method="fixed-point"`, tol 1e-12), all scalar observables of `MixDSolution`

Columns: trace = tracing + lowering of the sweep program, compile = XLA compilation, first = the whole first call
(wall), run = median over {result["config"]["repeats"]} further calls (the compiled program reused; for the loops: the
loop over the 294 points after the one compilation), min = fastest of them, cpu = median CPU time (user + sys,
all threads) of such a call,
ms/pt = run / 294, loop/x = (jitted loop run) / (this run): > 1 means faster than the loop, x/sweep = this run /
(one-chunk vmap sweep run), dE and dF = largest |difference| to the jitted loop of the energy and of
(N_sc - 2 N_cc)/N_h over the points converged in both, not conv. = points with converged = False (for warm
starts, "(n cold)" = points whose warm solve failed and were re-solved from a cold start), load = 1-minute load
average before / after the process.

{_table(["configuration", "trace s", "compile s", "first s", "run s", "min s", "cpu s", "ms/pt", "loop/x", "x/sweep", "not conv.", "dE", "dF", "load"], timing)}
"""
    notes = result.get("notes")
    if notes:
        out += "\n" + notes.strip() + "\n"
    fails = rows.get("sweep_vmap", {}).get("failures")
    if fails:
        out += f"\nNon-converged points of the cold sweep: {fails}\n"
    warm = rows.get("sweep_warm", {})
    if warm.get("failures"):
        out += f"\nNon-converged points of the warm-started sweep: {warm['failures']}\n"
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(HERE / "results"), help="output folder (default benchmarks/results)")
    ap.add_argument("--repeats", type=int, default=5, help="timed calls after the compiling one (default 5)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per worker process")
    ap.add_argument("--render", metavar="JSON", help="only rewrite the Markdown report of an existing JSON result")
    ap.add_argument("--notes", help="Markdown file appended to the report (reading of the numbers)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        spec = json.loads(args.worker)
        WORKERS[spec["kind"]](spec)
        return 0
    if args.render:
        path = Path(args.render)
        result = json.loads(path.read_text())
        if args.notes:
            result["notes"] = Path(args.notes).read_text()
            path.write_text(json.dumps(result, indent=1) + "\n")
        path.with_suffix(".md").write_text(markdown_report(result))
        print(f"wrote {path.with_suffix('.md')}")
        return 0
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")

    load_start = list(os.getloadavg())
    info, error = run_worker({"kind": "info"}, 300)
    if error or not info:
        print(f"could not start JAX: {error}", file=sys.stderr)
        return 1
    meta = {k: v for k, v in info[0].items() if k not in ("event", "load_avg_before", "load_avg_after")}
    meta["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    meta["git_revision"] = git_revision()
    meta["sweep_py_sha256"] = _sha(HERE.parent / "jaxnickel" / "sweep.py")
    meta["load_average_at_start"] = load_start
    meta["command"] = " ".join(["python", "benchmarks/bench_sweep.py", *(argv if argv is not None else sys.argv[1:])])
    kind = "gpu" if meta["backend"] in ("gpu", "cuda", "rocm") else meta["backend"]
    print(f"device: {', '.join(meta['devices'])}; CPU {meta['cpu_model']} x{meta['cpu_usable']}", flush=True)

    result = {
        "meta": meta,
        "config": {
            "L": L,
            "t": T_HOP,
            "V": V,
            "J": J_VALUES,
            "n_holes": NH_VALUES,
            "repeats": args.repeats,
            "chunk": CHUNK,
            "forced_devices": FORCED_DEVICES,
        },
        "configs": [],
        "errors": [],
    }
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, json_path = out_dir / f"bench_sweep_{kind}.md", out_dir / f"bench_sweep_{kind}.json"
    if args.notes:
        result["notes"] = Path(args.notes).read_text()

    groups = [
        ({"kind": "loop", "repeats": args.repeats}, None),
        (
            {
                "kind": "sweep",
                "repeats": args.repeats,
                "configs": [
                    {"name": "sweep_vmap", "kw": {}},
                    {"name": "sweep_chunked", "kw": {"chunk_size": CHUNK}},
                    {"name": "sweep_map", "kw": {"batching": "map"}},
                    {"name": "sweep_warm", "kw": {"warm_start": "J"}},
                    {"name": "sweep_warm_map", "kw": {"warm_start": "J", "batching": "map"}},
                    {"name": "sweep_warm_nofallback", "kw": {"warm_start": "J", "warm_fallback": False}},
                ],
            },
            None,
        ),
        (
            {
                "kind": "sweep",
                "repeats": args.repeats,
                "configs": [
                    {"name": "sharded4_vmap", "kw": {}},
                    {"name": "sharded4_map", "kw": {"batching": "map"}},
                    {"name": "forced4_devices1", "kw": {"devices": 1}},
                ],
            },
            FORCED_DEVICES,
        ),
        (
            {"kind": "sweep", "repeats": args.repeats, "configs": [{"name": "sharded2_vmap", "kw": {}}]},
            2,
        ),
    ]
    loop_arrays = None
    for spec, devices in groups:
        records, error = run_worker(spec, args.timeout, devices)
        if error:
            result["errors"].append({"spec": spec, "devices": devices, "error": error})
            print(f"  ERROR: {error}", flush=True)
        for r in records:
            if r["event"] != "config":
                continue
            if r["name"] == "loop_jit":
                loop_arrays = r["arrays"]
            if loop_arrays is not None and "arrays" in r and r["name"] != "loop_jit":
                r["diff_vs_loop"] = _diff(r["arrays"], loop_arrays)
            if r["name"] != "loop_jit":
                r.pop("arrays", None)
            result["configs"].append(r)
            print(
                f"  {r['name']:<18} compile {_f(r.get('compile_s'), '{:6.1f}')} s  run {_f(r.get('run_s'), '{:7.2f}')} s"
                f"  cpu {_f(r.get('run_cpu_s'), '{:7.2f}')} s  not converged {r.get('not_converged')}"
                f"  load {r['load_avg_before'][0]:.1f}",
                flush=True,
            )
        meta["load_average_at_end"] = list(os.getloadavg())
        json_path.write_text(json.dumps(result, indent=1) + "\n")
        md_path.write_text(markdown_report(result))
    meta["load_average_at_end"] = list(os.getloadavg())
    for r in result["configs"]:
        r.pop("arrays", None)
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    md_path.write_text(markdown_report(result))
    print(f"wrote {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
