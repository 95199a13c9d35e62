"""Where a triplon fixed-point solve (paper 001, Eq. 14) spends its time, stage by stage.

Each stage of ``jaxnickel.triplon.solve_jax(p, n, "fixed-point")`` is jitted on its own
and timed warm (compile excluded): min and median of ``--repeats`` calls, each ended by
``jax.block_until_ready``, in one process, at the paper's point (n_c = 0.45,
kappa_a = kappa_b = 0.75, lambda = 0.3, Omega = 0.3 eV, sharp shell, T = 0):

* the point set (C4v wedge + mirror, pairing shell compressed; bands, weights, the
  ``eta^0..4`` table), the channel eigenvalues of the linearised kernel, the seed (9
  free-energy passes along the s+- eigenvector), one free-energy pass, one Newton pass
  (residual + analytic 6 x 6 Jacobian), Newton from the seed, the candidate (free energy
  and residual in one pass), the stability Hessian;
* the whole ``solve_jax`` for the s+- channel alone and for the full branch search, and
  the public ``solve`` (validation and the host-side shell size included) for the s+-
  channel.

The *ideal* line is (Newton steps) x (one Newton pass); *solve / ideal* says how far the
whole s+- solve is from it (issue 13's yardstick, with jaxnickel's own pass: the one in
``bench_vs_numpy.py`` is an independent implementation over the same point count).

    python benchmarks/profile_triplon_stages.py [--grid 1024] [--repeats 20]

Prints a table and writes ``benchmarks/results/profile_triplon_stages_<grid>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

from _common import cpu_info  # noqa: E402

from jaxnickel.provenance import provenance  # noqa: E402
from jaxnickel.triplon import make_params, solve  # noqa: E402
from jaxnickel.triplon.kpoints import point_set, shell_size, wedge_alone  # noqa: E402
from jaxnickel.triplon.pairing import (  # noqa: E402
    channel_eigenvalues,
    coefficient_map_jacobian,
    condensation_free_energy,
    gaps_from_coefficients,
)
from jaxnickel.triplon.stability import stability  # noqa: E402

# the module (the package's ``solve`` name is the function)
S = importlib.import_module("jaxnickel.triplon.solve")


def _timed(call, repeats):
    out = jax.block_until_ready(call())
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(call())
        ts.append(time.perf_counter() - t0)
    return min(ts), statistics.median(ts), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    a = ap.parse_args(argv)
    n = a.grid
    p = make_params(lam=0.3, grid=n, check_resources=False, n_c=0.45, kappa_a=0.75, kappa_b=0.75, omega=0.3, T=0.0)
    sp = shell_size(p, n)
    load0 = os.getloadavg()[0]
    rows = []

    def stage(name, f, *args):
        jf = jax.jit(f)
        lo, med, out = _timed(lambda: jf(*args), a.repeats)
        rows.append({"stage": name, "min_ms": lo * 1e3, "median_ms": med * 1e3})
        print(f"{name:44s} {lo * 1e3:8.2f} ms  (median {med * 1e3:8.2f})", flush=True)
        return out

    g = stage("point set (wedge + shell)", lambda p: point_set(p, n, "wedge", sp), p)
    ev = stage("channel eigenvalues (linearised kernel)", lambda p, g: channel_eigenvalues(p.T, p, g), p, g)
    g_full = g
    # the s+- channel's own set: the wedge alone (kpoints.wedge_alone), half the points
    g = wedge_alone(g, S._CHANNEL_PARITY["s"])
    c0 = stage("seed (9 free-energy passes, wedge alone)", lambda p, g, v: S._seed(v, p, g), p, g, ev[2])
    stage(
        "one free-energy pass",
        lambda p, g, c: condensation_free_energy(*gaps_from_coefficients(c, g), p, g),
        p,
        g,
        c0,
    )
    stage("one Newton pass (residual + Jacobian)", lambda p, g, c: coefficient_map_jacobian(c, p, g), p, g, c0)
    c, steps = stage("Newton from the seed", lambda p, g, c0: S._run_fixed_point(c0, p, g, 1e-14, 100), p, g, c0)
    cand = stage("candidate (free energy + residual)", lambda p, g, c: S._candidate_real(c, p, g), p, g, c)
    stage("stability Hessian (wedge + mirror)", lambda p, g, r: stability(r, p, g), p, g_full, cand[1])
    stage(
        "solve_jax, s+- channel alone",
        lambda p: S.solve_jax(p, n, "fixed-point", channel="s", complex_search=False, shell_points=sp),
        p,
    )
    stage("solve_jax, branch search (s+-, d, s+id)", lambda p: S.solve_jax(p, n, "fixed-point", shell_points=sp), p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lo, med, _ = _timed(
            lambda: solve(p, n, "fixed-point", channel="s", complex_search=False, warn=False), a.repeats
        )
    rows.append({"stage": "solve(), s+- channel alone (public API)", "min_ms": lo * 1e3, "median_ms": med * 1e3})
    print(f"{rows[-1]['stage']:44s} {lo * 1e3:8.2f} ms  (median {med * 1e3:8.2f})", flush=True)
    load1 = os.getloadavg()[0]

    by = {r["stage"]: r for r in rows}
    steps = int(steps)
    ideal = steps * by["one Newton pass (residual + Jacobian)"]["min_ms"]
    ratio = by["solve_jax, s+- channel alone"]["min_ms"] / ideal
    print(f"ideal = {steps} Newton steps x one pass = {ideal:.2f} ms; s+- solve_jax / ideal = {ratio:.1f}")
    prov = provenance()
    cpu = cpu_info()
    summary = {
        "grid": n,
        "shell_points": int(sp),
        "newton_steps": steps,
        "ideal_ms": ideal,
        "solve_over_ideal": ratio,
        "load_before": load0,
        "load_after": load1,
        "cpu": cpu,
        "device": str(jax.devices()[0]),
        "provenance": prov,
        "stages": rows,
    }
    head = "| stage | min ms | median ms |\n|---|---|---|\n"
    body = "\n".join(f"| {r['stage']} | {r['min_ms']:.2f} | {r['median_ms']:.2f} |" for r in rows)
    text = (
        f"# Triplon fixed point at {n}^2: time per stage\n\n"
        f"Device: {jax.devices()[0]} ({cpu['cpu_model']}, {cpu['cpu_usable']} usable cores); jax {jax.__version__}; "
        f"load average {load0:.2f} -> {load1:.2f}; min and median of {a.repeats} warm calls.  "
        f"Paper point (n_c = 0.45, kappa = 0.75, lambda = 0.3, Omega = 0.3 eV), sharp shell, T = 0; "
        f"point set: C4v wedge + mirror, shell compressed to {int(sp)} points.\n"
        f"Command: `python benchmarks/profile_triplon_stages.py --grid {n} --repeats {a.repeats}`; "
        f"git {prov.get('git_revision')}, {prov.get('date')}.\n\n"
        + head
        + body
        + f"\n\nIdeal = {steps} Newton steps x one Newton pass = {ideal:.2f} ms; "
        f"the s+- `solve_jax` is {ratio:.1f}x that.\n"
    )
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"profile_triplon_stages_{n}.md").write_text(text)
    (out / f"profile_triplon_stages_{n}.json").write_text(json.dumps(summary, indent=1, default=str))
    print(f"written {out / f'profile_triplon_stages_{n}.md'}")


if __name__ == "__main__":
    main()
