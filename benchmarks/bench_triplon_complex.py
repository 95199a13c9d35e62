"""Cost of the complex-gap branch search of the triplon solver (paper 001) against the real one.

``channel="auto"`` now solves the real s+- and d branches, one complex s+- + i d
seed built from them, the Hessian of the returned state, and (only when that state
is a saddle) a relaxation along its unstable direction.  ``complex_search=False`` is
the real-only search of the previous releases.  Both are timed warm (compile
excluded, reported separately), same process, same parameters, median of
``--repeats`` calls, at a point outside the s+id window (the paper's kappa_a = kappa_b
= 0.75: s+- wins and is stable) and at one inside it (1.7236, 0.3264: s+id).

    python benchmarks/bench_triplon_complex.py [--grids 256 512] [--repeats 5]

Prints a table and writes ``benchmarks/results/bench_triplon_complex_cpu.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

from jaxnickel.provenance import provenance  # noqa: E402
from jaxnickel.triplon import BandParams, TriplonParams  # noqa: E402
from jaxnickel.triplon.solve import _solve_jit  # noqa: E402

POINTS = {"paper (0.75, 0.75)": (0.75, 0.75), "window (1.7236, 0.3264)": (1.7236, 0.3264)}
V = 1.037403


def _time(call, repeats):
    t0 = time.perf_counter()
    out = call()
    jax.block_until_ready(out)
    first = time.perf_counter() - t0
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(call())
        ts.append(time.perf_counter() - t0)
    return first, statistics.median(ts), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grids", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--methods", nargs="+", default=["fixed-point", "gradient"])
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_triplon_complex_cpu.md"))
    a = ap.parse_args(argv)
    rows = []
    load0 = os.getloadavg()[0]
    for n in a.grids:
        for label, (ka, kb) in POINTS.items():
            p = TriplonParams(bands=BandParams(), V=V, kappa_a=ka, kappa_b=kb, cutoff="sharp")
            for m in a.methods:
                res = {}
                for cs in (False, True):
                    first, warm, sol = _time(
                        lambda cs=cs, p=p, n=n, m=m: _solve_jit(p, n, m, complex_search=cs), a.repeats
                    )
                    res[cs] = (first, warm, sol)
                (f0, w0, s0), (f1, w1, s1) = res[False], res[True]
                names = ("normal", "s+-", "d", "s+id")
                row = (
                    f"| {n} | {label} | {m} | {w0:.3f} | {w1:.3f} | {w1 / w0:.2f} | {f0 - w0:.1f} | {f1 - w1:.1f} "
                    f"| {names[int(s0.channel)]} | {names[int(s1.channel)]} | {int(s0.iterations)} | {int(s1.iterations)} |"
                )
                print(row, flush=True)
                rows.append(row)
    load1 = os.getloadavg()[0]
    head = (
        "| grid | point | method | real search (s) | complex search (s) | ratio | compile real (s) "
        "| compile complex (s) | state real | state complex | iterations real | iterations complex |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    prov = provenance()
    text = (
        "# Triplon branch search: complex (s+- + i d) against real only\n\n"
        f"Device: CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), "
        f"jax {jax.__version__}; load average {load0:.2f} -> {load1:.2f}; median of {a.repeats} warm calls; "
        f"V = {V} eV (lambda = 0.5), sharp shell, T = 0.  Compile = first call minus a warm call.\n"
        f"Command: `python benchmarks/bench_triplon_complex.py --grids {' '.join(map(str, a.grids))} "
        f"--repeats {a.repeats}`; git {prov.get('git_revision')}, {prov.get('date')}.\n\n"
        + head
        + "\n"
        + "\n".join(rows)
        + "\n"
    )
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text)
    print(f"written {a.out}")


if __name__ == "__main__":
    main()
