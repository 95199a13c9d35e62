"""Peak memory of one solve per k point: the factors behind ``jaxnickel.resources`` (refusal before allocation).

Each configuration runs in a fresh process; its peak resident set size (``ru_maxrss``)
minus that of the same solve on a tiny grid (JAX runtime, compiled programs) divided by
the number of k points is the memory the solve needs per k point, XLA temporaries
included.  Largest of the sizes measured is what ``jaxnickel.resources`` uses.

    python benchmarks/memory_per_kpoint.py          # writes results/memory_per_kpoint.{md,json}
    python benchmarks/memory_per_kpoint.py --table  # the table again from the saved json (e.g. after
                                                    # a change of the estimate), no new measurement

The table compares each measured peak with the estimate ``jaxnickel.resources.estimate_bytes``
refuses from (issue 14 asks for agreement within a factor 1.5 at 256^2 .. 1024^2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

WORKER = r"""
import resource, sys, json
import jax
jax.config.update("jax_enable_x64", True)
model, method, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if model == "mixd":
    from jaxnickel.lattice import Square
    from jaxnickel.mixd import MixDParams, solve
    sol = solve(MixDParams(t=0.1, J=1.0, V=1.0, n_holes=0.1 * n * n), Square(n), method, warn=False)
    ok = bool(sol.converged)
else:
    from jaxnickel.triplon import make_params, solve
    sol = solve(make_params(lam=0.5, grid=n), n, method, warn=False)
    ok = bool(sol.converged)
print(json.dumps({"rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "converged": ok}))
"""

CONFIGS = [
    ("mixd", "fixed-point", (16, 256, 512, 1024)),
    ("mixd", "gradient", (16, 256, 512)),
    ("triplon", "fixed-point", (16, 256, 512, 1024)),
    ("triplon", "gradient", (16, 256, 512)),
]


def run(model, method, n):
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", WORKER, model, method, str(n)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    d = json.loads(out.stdout.strip().splitlines()[-1])
    d["seconds"] = time.perf_counter() - t0
    return d


def table(meta, rows) -> list[str]:
    from jaxnickel.resources import estimate_bytes

    lines = [
        "# Peak memory of one solve per k point (what jaxnickel.resources refuses from)",
        "",
        f"* {meta['date']}; `{meta['command']}`; CPU, peak RSS (ru_maxrss) of a fresh process per row;"
        f" load {meta['load_start']:.1f} -> {meta['load_end']:.1f}",
        "* per k point = (peak RSS - peak RSS of the same solve on a 16 x 16 grid) / N_k; MixD on a square"
        " n x n lattice (N_h = 0.1 N), triplon on an n x n grid (lambda = 0.5, channel auto)",
        "* estimate = `jaxnickel.resources.estimate_bytes` (BASE_BYTES[model] + MARGIN x BYTES_PER_K x N_k) of the"
        " current code"
        + (f", table written {meta['table_date']} from the saved measurement" if "table_date" in meta else ""),
        "",
        "| model | method | n | peak RSS (MB) | estimate (MB) | estimate / measured | bytes per k point | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        est = estimate_bytes(r["model"], r["method"], r["n"] ** 2) / 2**20
        meas = r["rss_kb"] / 1024
        lines.append(
            f"| {r['model']} | {r['method']} | {r['n']} | {meas:.0f} | {est:.0f} | {est / meas:.2f} | "
            f"{r['bytes_per_k']:.0f} | {r['seconds']:.1f} |"
        )
    return lines


def main():
    out = HERE / "results"
    if "--table" in sys.argv[1:]:
        saved = json.loads((out / "memory_per_kpoint.json").read_text())
        meta = {**saved["meta"], "table_date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        lines = table(meta, saved["rows"])
        (out / "memory_per_kpoint.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    load0 = os.getloadavg()[0]
    rows = []
    for model, method, sizes in CONFIGS:
        base = None
        for n in sizes:
            d = run(model, method, n)
            if base is None:
                base = d["rss_kb"]
            per_k = (d["rss_kb"] - base) * 1024 / (n * n) if n > 16 else float("nan")
            rows.append({"model": model, "method": method, "n": n, **d, "bytes_per_k": per_k})
            print(f"{model} {method} {n}: peak {d['rss_kb'] / 1024:.0f} MB, {per_k:.0f} B per k point", flush=True)
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python benchmarks/memory_per_kpoint.py",
        "load_start": load0,
        "load_end": os.getloadavg()[0],
        "device": "CPU (peak RSS of the process)",
    }
    (out / "memory_per_kpoint.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = table(meta, rows)
    (out / "memory_per_kpoint.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
