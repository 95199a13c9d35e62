"""Grid error of the fitted quantity: the Fermi-surface gaps of the sharp-shell s+- state vs the k-grid.

The fits (``jaxnickel.fit.fit_gaps``, ``jaxnickel.spectra.fit.fit_spectra``) compare
data with the gaps on the Fermi lines of the self-consistent state on an ``n x n`` grid,
with ``mu`` (from n_c) and ``V`` (from lambda) computed on that same grid, as
``make_params(lam=..., grid=n)`` does.  This script measures, for the sharp shell
(the default cutoff) at the paper's bands (n_c = 0.45, kappa_a = kappa_b = 0.75,
Omega = 0.3 eV, T = 0), the relative error

    err(n) = max over both sheets and all angles |Delta_b(theta; n) - Delta_b(theta; n_ref)| / max |Delta_b(n_ref)|

against ``n_ref = 1024``, at lambda = 0.18 (the example spectra) and 0.3 (the paper's
point).  ``jaxnickel.fit.GRID_ERROR`` and ``CONVERGED_GRID`` quote these numbers.

    python benchmarks/grid_convergence_fit.py            # writes results/grid_convergence_fit.{md,json}
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import numpy as np  # noqa: E402

from jaxnickel.triplon import make_params, solve  # noqa: E402

HERE = Path(__file__).resolve().parent


def gaps(lam: float, n: int) -> tuple[np.ndarray, np.ndarray, float]:
    p = make_params(lam=lam, grid=n)
    t0 = time.perf_counter()
    s = solve(p, n, "fixed-point", channel="s")
    assert bool(s.converged), (lam, n)
    return np.asarray(s.delta_alpha_fs), np.asarray(s.delta_beta_fs), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grids", default="64,96,128,192,256,384,512")
    ap.add_argument("--ref", type=int, default=1024)
    ap.add_argument("--lams", default="0.18,0.3")
    ap.add_argument("--out", default=str(HERE / "results"))
    a = ap.parse_args()
    grids = [int(g) for g in a.grids.split(",")]
    lams = [float(x) for x in a.lams.split(",")]
    load0 = os.getloadavg()[0]
    rows = {}
    for lam in lams:
        ra, rb, t_ref = gaps(lam, a.ref)
        scale = max(np.nanmax(np.abs(ra)), np.nanmax(np.abs(rb)))
        rows[lam] = {"ref_seconds": t_ref, "scale_meV": 1e3 * scale, "grids": {}}
        for n in grids:
            ga, gb, dt = gaps(lam, n)
            err = max(np.nanmax(np.abs(ga - ra)), np.nanmax(np.abs(gb - rb))) / scale
            diag = (len(ra) - 1) // 2
            rows[lam]["grids"][n] = {
                "max_rel_error": float(err),
                "diag_alpha_rel_error": float(abs(ga[diag] - ra[diag]) / abs(ra[diag])),
                "diag_beta_rel_error": float(abs(gb[diag] - rb[diag]) / abs(rb[diag])),
                "seconds": dt,
            }
            print(f"lambda {lam} grid {n}: max rel error {err:.3e}", flush=True)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python benchmarks/grid_convergence_fit.py "
        + " ".join(f"--{k} {v}" for k, v in (("grids", a.grids), ("ref", a.ref), ("lams", a.lams))),
        "load_start": load0,
        "load_end": os.getloadavg()[0],
        "jax": jax.__version__,
        "cutoff": "sharp",
        "ref_grid": a.ref,
    }
    (out / "grid_convergence_fit.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [
        "# Grid error of the Fermi-surface gaps (sharp shell) -- what the fits' coarse-grid warning quotes",
        "",
        f"* {meta['date']}; `{meta['command']}`; jax {meta['jax']}, CPU; load {load0:.1f} -> {meta['load_end']:.1f}",
        "* paper 001 bands, n_c = 0.45, kappa_a = kappa_b = 0.75, Omega = 0.3 eV, T = 0, s+- (fixed point);"
        f" mu and V from the same grid (`make_params(lam=..., grid=n)`); reference grid {a.ref}",
        "* error = max over both sheets and angles |Delta(theta; n) - Delta(theta; ref)| / max |Delta(ref)|",
        "",
        "| grid | " + " | ".join(f"lambda {lam}: max rel. error | diagonal alpha / beta" for lam in lams) + " |",
        "|---|" + "---|---|" * len(lams),
    ]
    for n in grids:
        cells = []
        for lam in lams:
            r = rows[lam]["grids"][n]
            cells += [f"{r['max_rel_error']:.2e}", f"{r['diag_alpha_rel_error']:.1e} / {r['diag_beta_rel_error']:.1e}"]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    (out / "grid_convergence_fit.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
