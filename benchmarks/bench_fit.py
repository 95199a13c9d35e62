"""Cost of differentiating through the triplon solver, and of a whole fit.

Measures, on one device, in one run:
  * one gradient of a Fermi-surface gap w.r.t. (V, kappa_a, kappa_b): implicit
    (optimistix ImplicitAdjoint) vs unrolled (backpropagation through the Newton
    steps), compile time and run time (median of repeats with other V values);
  * a whole fit (free lambda, kappa_a; kappa_b fixed) of synthetic angle-resolved
    data and of the bundled STM values.

Usage: python benchmarks/bench_fit.py [--grid 64] [--out benchmarks/results]
Writes bench_fit_<device>.md / .json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxnickel.data import load_bundled, synthetic_gap_data  # noqa: E402
from jaxnickel.fit import fit_gaps  # noqa: E402
from jaxnickel.triplon import make_params, solve, solve_jax  # noqa: E402


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def time_gradient(p, grid, adjoint, repeats=3):
    def gap(x):
        q = p.replace(V=x[0], kappa_a=x[1], kappa_b=x[2])
        return solve_jax(q, grid, "fixed-point", channel="s", adjoint=adjoint).delta_alpha_fs[20]

    f = eqx.filter_jit(jax.grad(gap))
    x0 = jnp.stack([p.V, p.kappa_a, p.kappa_b])
    t0 = time.perf_counter()
    g = f(x0)
    jax.block_until_ready(g)
    first = time.perf_counter() - t0
    runs = []
    for i in range(repeats):
        x = x0 * (1.0 + 0.01 * (i + 1))
        t0 = time.perf_counter()
        jax.block_until_ready(f(x))
        runs.append(time.perf_counter() - t0)
    run = statistics.median(runs)
    return {"compile_s": first - run, "run_s": run, "grad": [float(v) for v in g]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--grid", type=int, default=64)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    a = ap.parse_args(argv)
    dev = jax.devices()[0]
    kind = "gpu" if dev.platform == "gpu" else "cpu"
    p = make_params(n_c=0.45, lam=0.3, grid=a.grid)
    rows = {}
    for adjoint in ("implicit", "unrolled"):
        rows[adjoint] = time_gradient(p, a.grid, adjoint)
        print(adjoint, rows[adjoint])
    true = make_params(n_c=0.45, lam=0.25, kappa_a=0.6, kappa_b=0.6, grid=a.grid)
    data = synthetic_gap_data(solve(true, a.grid, "fixed-point"), np.linspace(0, 90, 10), 0.5, 1)
    fits = {}
    for name, d, kw in (
        (
            "synthetic (20 points)",
            data,
            dict(free=["lambda", "kappa_a"], fixed={"kappa_b": 0.6}, start={"lambda": 0.325, "kappa_a": 0.42}),
        ),
        ("bundled STM (2 points)", load_bundled(), dict(free=["lambda"])),
    ):
        t0 = time.perf_counter()
        r = fit_gaps(d, grid=a.grid, starts=1, **kw)
        fits[name] = {
            "seconds_incl_compile": time.perf_counter() - t0,
            "parameters": r.parameters,
            "uncertainties": r.uncertainties,
            "chi2": r.chi2,
            "dof": r.dof,
            "converged": r.converged,
        }
        print(name, fits[name])
    meta = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "device": f"{dev.platform}: {dev.device_kind}",
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "jax": jax.__version__,
        "grid": a.grid,
        "load_average": os.getloadavg(),
    }
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"bench_fit_{kind}.json").write_text(json.dumps({"meta": meta, "gradient": rows, "fits": fits}, indent=2))
    ratio = rows["unrolled"]["run_s"] / rows["implicit"]["run_s"]
    md = [
        f"# Differentiating through the triplon solver ({kind})",
        "",
        f"* date {meta['date']}; device {meta['device']}; CPU {meta['cpu']}, {meta['cores']} cores; jax {meta['jax']}",
        f"* grid {a.grid} x {a.grid}; n_c = 0.45, lambda = 0.3, kappa = 0.75; load average {meta['load_average']}",
        "",
        "| gradient of Delta_alpha(k_F) w.r.t. (V, kappa_a, kappa_b) | compile s | run s |",
        "|---|---|---|",
        *[f"| {k} | {v['compile_s']:.2f} | {v['run_s']:.4f} |" for k, v in rows.items()],
        "",
        f"unrolled / implicit run time: {ratio:.2f}; gradients agree to "
        f"{max(abs(x - y) / abs(y) for x, y in zip(rows['unrolled']['grad'], rows['implicit']['grad'], strict=True)):.1e} (relative)",
        "",
        "| whole fit (1 start, incl. compilation) | seconds | parameters | chi2 / dof | converged |",
        "|---|---|---|---|---|",
        *[
            f"| {k} | {v['seconds_incl_compile']:.1f} | "
            + ", ".join(f"{n}={x:.4g}+-{v['uncertainties'][n]:.2g}" for n, x in v["parameters"].items())
            + f" | {v['chi2']:.3g} / {v['dof']} | {v['converged']} |"
            for k, v in fits.items()
        ],
        "",
        "No GPU was available to this run; GPU figures are not claimed." if kind == "cpu" else "",
    ]
    (out / f"bench_fit_{kind}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
