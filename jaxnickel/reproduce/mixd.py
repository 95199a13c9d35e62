"""Paper 000 (MixD+V two-channel mean-field theory): the figures and numbers reproduced.

Paper 000 (Borchia, Lange, Grusdt 2025, MixD+V two-channel model), all with
``t/V = 0.1``, ``V = 1``:

* fig2 / fig7: ``Delta_k`` on a 16x16 square lattice, ``J = V``, ``N_h = 12``,
  ``epsilon = 0`` / ``1.5`` (with a gradient-method cross-check);
* fig3: ladder ``L = 30``: ``(N_sc - 2 N_cc)/N_h`` over ``J/V`` and doping
  ``N_h/L`` (``N_h = 2..14``, even) and the section at ``N_h = 8``;
* fig4: ``E`` and ``E - E_bg`` vs ``J/V`` at ``delta = 8/30``;
* fig5: ``E_B = 2 min E_k`` and ``Delta(k*)`` vs ``J/V`` at ``delta = 14/30``;
* fig6: ``O_BEC`` and ``O_BCS`` vs ``J/V`` at ``delta = 8/30``;
* the crossover ``J/V`` at ``delta = 8/30`` by both criteria, root-solved.

All ladder scans are one compiled, doubly ``vmap``-ed solve over
``(N_h, J)``; the figures share it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import plotting as jp
from ..lattice import Ladder, Square
from ..mixd import MixDParams, solve, solve_jax
from ..mixd.solution import SCALAR_FIELDS
from .common import Context, Paper, check_solves, fmt_num

__all__ = ["MIXD_FIGURES", "PAPER", "ladder_map", "mixd_crossover", "dmrg_comparison"]

#: the paper's statement the crossover numbers are compared with
PAPER_CROSSOVER = "crossover around J/V ~ 1.2 (paper 000, Sec. III, Fig. 6 discussion, L = 30, delta = 8/30)"

# paper 000 common parameters
T_OVER_V = 0.1
V = 1.0
LADDER_L = 30
SQUARE_L = 16
J_RANGE = (0.5, 2.5)
N_H_VALUES = (2, 4, 6, 8, 10, 12, 14)
N_H_SECTION = 8  # delta = 8/30: Figs. 3 (inset), 4, 6
N_H_FIG5 = 14  # delta = 14/30: Fig. 5

# fields of the batched ladder solution kept (as numpy) for the figures: every scalar except the step count
_SCAN_FIELDS = tuple(f for f in SCALAR_FIELDS if f != "iterations")


# ------------------------------------------------------------------ context


def _params(J, n_holes, epsilon=0.0) -> MixDParams:
    return MixDParams(t=T_OVER_V * V, J=J, V=V, epsilon=epsilon, n_holes=n_holes)


def _ladder_scan_fn(L: int):
    """One compiled solve, vmapped over ``J`` (inner) and ``N_h`` (outer)."""
    lattice = Ladder(L)

    def one(J, n_holes):
        return solve_jax(_params(J, n_holes), lattice)

    return eqx.filter_jit(jax.vmap(jax.vmap(one, in_axes=(0, None)), in_axes=(None, 0)))


def _ladder_point_fn(L: int):
    """Compiled single-point solve returning the two crossover criteria at ``(J, N_h)``."""
    lattice = Ladder(L)

    def one(J, n_holes):
        s = solve_jax(_params(J, n_holes), lattice)
        return {
            "sc_minus_2cc_fraction": s.sc_minus_2cc_fraction,
            "bec_minus_bcs": s.order_bec - s.order_bcs,
            "bec_minus_bcs_continuum": s.order_bec - s.order_bcs_continuum,
            "converged": s.converged,
        }

    return eqx.filter_jit(one)


def ladder_map(ctx: Context) -> dict:
    """The shared ladder scan over ``J/V`` x ``N_h`` (cached): numpy arrays of shape ``(n_Nh, n_J)``."""

    def make():
        J = np.linspace(*J_RANGE, ctx.n_j)
        nh = np.asarray(N_H_VALUES, dtype=float)
        t0 = time.perf_counter()
        fn = ctx.cached(("ladder_scan_fn", LADDER_L), lambda: _ladder_scan_fn(LADDER_L))
        res = fn(jnp.asarray(J), jnp.asarray(nh))
        out = {name: np.asarray(getattr(res, name)) for name in _SCAN_FIELDS}
        out["J"] = J
        out["n_holes"] = nh
        out["doping"] = nh / LADDER_L
        out["seconds"] = time.perf_counter() - t0
        ctx.log_solves(f"ladder L={LADDER_L} scan over (N_h, J/V)", out["converged"])
        return out

    return ctx.cached("ladder_map", make)


def _row(scan: dict, n_holes: int) -> dict:
    i = int(np.flatnonzero(scan["n_holes"] == n_holes)[0])
    row = {k: (v[i] if isinstance(v, np.ndarray) and v.ndim == 2 else v) for k, v in scan.items()}
    row["n_holes"] = scan["n_holes"][i : i + 1]
    row["doping"] = scan["doping"][i : i + 1]
    return row


#: fields watched for branch jumps along J/V (continuous on one branch of solutions)
_JUMP_FIELDS = ("sc_minus_2cc_fraction", "order_bcs", "mu")


def _jumps(x: np.ndarray, y: np.ndarray, factor: float = 4.0) -> list[float]:
    """Midpoints ``x`` of steps of ``y`` much larger than both neighbouring steps (a branch jump).

    On a smooth curve sampled on a uniform grid neighbouring steps differ by
    ``O(h)``; a jump between solution branches gives one isolated large step.
    """
    d = np.abs(np.diff(np.asarray(y, dtype=float)))
    if d.size < 3:
        return []
    scale = np.max(d) * 1e-9 + 1e-13
    out = []
    for i in range(d.size):
        nb = [d[j] for j in (i - 1, i + 1) if 0 <= j < d.size]
        if d[i] > factor * max(nb) + scale:
            out.append(float(0.5 * (x[i] + x[i + 1])))
    return out


def _quality(scan_like: dict) -> dict:
    """Residual / stationarity / constraint maxima and suspected branch jumps along J/V."""
    J = scan_like["J"]
    jumps = {}
    for name in _JUMP_FIELDS:
        y = np.atleast_2d(scan_like[name])
        nh = np.atleast_1d(scan_like["n_holes"])
        found = {int(n): _jumps(J, row) for n, row in zip(nh, y, strict=True)}
        found = {n: j for n, j in found.items() if j}
        if found:
            jumps[name] = found
    return {
        "max_residual": float(np.max(scan_like["residual"])),
        "max_stationarity": float(np.max(scan_like["stationarity"])),
        "max_hole_number_error": float(np.max(scan_like["hole_number_error"])),
        "suspected_branch_jumps": jumps,
    }


# ------------------------------------------------------------------ crossover


def _sign_changes(x: np.ndarray, y: np.ndarray) -> list[tuple[int, float]]:
    """Indices ``i`` with a sign change between ``y[i]`` and ``y[i+1]``, and the linear-interpolated root."""
    out = []
    for i in range(len(y) - 1):
        if y[i] == 0.0:
            out.append((i, float(x[i])))
        elif y[i] * y[i + 1] < 0.0:
            out.append((i, float(x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))))
    return out


def _root(ctx: Context, key: str, n_holes: float, bracket: tuple[float, float]) -> dict:
    """Brent's method on ``key`` of the compiled point solve; every evaluation is convergence-checked."""
    from scipy.optimize import brentq

    fn = ctx.cached(("ladder_point_fn", LADDER_L), lambda: _ladder_point_fn(LADDER_L))
    evals = {"n": 0, "bad": 0}

    def f(J):
        r = fn(jnp.asarray(J), jnp.asarray(float(n_holes)))
        evals["n"] += 1
        evals["bad"] += int(not bool(r["converged"]))
        return float(r[key])

    root, info = brentq(f, *bracket, xtol=1e-10, rtol=1e-12, full_output=True)
    return {
        "J_over_V": float(root),
        "root_converged": bool(info.converged),
        "solves": evals["n"],
        "not_converged": evals["bad"],
    }


def _crossing(ctx: Context, scan_row: dict, key: str, values: np.ndarray, n_holes: float) -> dict:
    J = scan_row["J"]
    changes = _sign_changes(J, values)
    out = {"sign_changes_on_scan": len(changes)}
    if not changes:
        out.update(J_over_V=None, J_over_V_interpolated=None, note="no sign change in the scanned J/V range")
        return out
    i, j_lin = changes[0]
    out["J_over_V_interpolated"] = j_lin
    if values[i] == 0.0:
        out.update(J_over_V=float(J[i]), root_converged=True, solves=0, not_converged=0)
    else:
        out.update(_root(ctx, key, n_holes, (float(J[i]), float(J[i + 1]))))
    if len(changes) > 1:
        out["other_sign_changes_interpolated"] = [c[1] for c in changes[1:]]
    return out


def mixd_crossover(ctx: Context) -> dict:
    """Crossover ``J/V`` at ``delta = 8/30`` by both criteria, and the (N_sc - 2N_cc) line for every doping (cached)."""

    def make():
        scan = ladder_map(ctx)
        row = _row(scan, N_H_SECTION)
        nh = float(N_H_SECTION)
        res = {
            "lattice": Ladder(LADDER_L).to_dict(),
            "n_holes": N_H_SECTION,
            "doping": N_H_SECTION / LADDER_L,
            "params": {"t/V": T_OVER_V, "V": V, "epsilon": 0.0},
            "method": "sign change located on the J/V scan (linear interpolation), then Brent's method on a "
            "compiled single-point solve (xtol 1e-10)",
            "sc_minus_2cc_sign_change": _crossing(ctx, row, "sc_minus_2cc_fraction", row["sc_minus_2cc_fraction"], nh),
            "O_BEC_equals_O_BCS": _crossing(ctx, row, "bec_minus_bcs", row["order_bec"] - row["order_bcs"], nh),
            "O_BEC_equals_O_BCS_continuum": _crossing(
                ctx, row, "bec_minus_bcs_continuum", row["order_bec"] - row["order_bcs_continuum"], nh
            ),
            "paper": PAPER_CROSSOVER,
        }
        line = []
        for n_h in N_H_VALUES:
            if n_h == N_H_SECTION:  # solved above; do not count its solves twice
                c = {**res["sc_minus_2cc_sign_change"], "solves": 0, "not_converged": 0}
            else:
                r = _row(scan, n_h)
                c = _crossing(ctx, r, "sc_minus_2cc_fraction", r["sc_minus_2cc_fraction"], float(n_h))
            line.append({"n_holes": n_h, "doping": n_h / LADDER_L, **c})
        res["sc_minus_2cc_line"] = line
        crossings = [res["sc_minus_2cc_sign_change"], res["O_BEC_equals_O_BCS"], res["O_BEC_equals_O_BCS_continuum"]]
        crossings += line
        res["solves"] = sum(c.get("solves", 0) for c in crossings)
        res["not_converged"] = sum(c.get("not_converged", 0) for c in crossings)
        ctx.log_solves(
            "crossover root solves (Brent evaluations)",
            [True] * (res["solves"] - res["not_converged"]) + [False] * res["not_converged"],
        )
        return res

    return ctx.cached("mixd.crossover", make)


# ------------------------------------------------------------------ paper 000 figures


def _gap_figure(ctx: Context, name: str, epsilon: float, caption: str) -> dict:
    lattice = Square(SQUARE_L)
    params = _params(1.0 * V, 12.0, epsilon)
    sol = solve(params, lattice, warn=False)
    ctx.log_solves(f"{name}: {lattice.name}, epsilon={epsilon:g}", [sol.converged])
    fig = jp.plot_gap(sol, title=f"{caption}: " + jp.parameter_title(params, lattice))
    path = jp.save_figure(fig, ctx.path(f"mixd_{name}_gap_map.png"))
    # independent check: direct minimisation of (B9) from its own seed
    grad = solve(params, lattice, method="gradient", warn=False)
    ctx.log_solves(f"{name}: gradient-method cross-check", [grad.converged], role="cross-check")
    cross = {
        "method": "gradient (L-BFGS on Eq. B9, augmented Lagrangian)",
        "converged": bool(grad.converged),
        "residual": float(grad.residual),
        "energy_difference": float(grad.energy - sol.energy),
        "max_abs_delta_difference": float(jnp.max(jnp.abs(grad.delta - sol.delta))),
    }
    return {
        "file": path.name,
        "params": params.to_dict(),
        "lattice": lattice.to_dict(),
        "solution": sol.summary(),
        "cross_check": cross,
        **check_solves([sol.converged]),
    }


def fig2(ctx: Context) -> dict:
    """Fig. 2: extended s-wave Delta_k, 16x16 square lattice, J = V, N_h = 12, epsilon = 0."""
    return _gap_figure(ctx, "fig2", 0.0, "Fig. 2")


def fig7(ctx: Context) -> dict:
    """Fig. 7: Delta_k with diagonal recombination epsilon = 1.5 (16x16, J = V, N_h = 12)."""
    return _gap_figure(ctx, "fig7", 1.5, "Fig. 7")


def _scan_params(n_holes) -> dict:
    return {"t/V": T_OVER_V, "V": V, "epsilon": 0.0, "J/V": list(J_RANGE), "n_holes": n_holes}


def _scan_entry(path: Path, conv, extra: dict, quality: dict, n_j: int, n_holes) -> dict:
    return {
        "file": path.name,
        "lattice": Ladder(LADDER_L).to_dict(),
        "params": {**_scan_params(n_holes), "n_J": n_j},
        **extra,
        **quality,
        **check_solves(conv),
    }


# ------------------------------------------------------------------ DMRG markers (jaxnickel.exact)

#: the observables compared with DMRG: (mean-field scan field, DMRG field)
_DMRG_COMPARED = (
    ("sc_minus_2cc_fraction", "sc_minus_2cc_fraction"),
    ("energy", "energy_relative"),
    ("energy_minus_background", "energy_minus_background"),
)


def dmrg_comparison(ctx: Context) -> dict:
    """DMRG of the microscopic ladder (shipped data) vs the mean field at the same points (cached).

    The mean-field values are read off the ladder scan (the DMRG ``J/V`` lie on its
    grid; linear interpolation otherwise).  Returns ``{"available": False, ...}``
    when the data file is missing.
    """

    def make():
        from ..exact.reference import REFERENCE_FILE, load_reference

        try:
            ref = load_reference()
        except FileNotFoundError:
            return {"available": False, "note": f"no DMRG data file {REFERENCE_FILE} in jaxnickel/datasets"}
        scan = ladder_map(ctx)
        out = {
            "available": True,
            "source": f"jaxnickel/datasets/{REFERENCE_FILE}",
            "meta": ref.meta,
            "mean_field": f"fixed point on the periodic ladder L={LADDER_L} (the Fig. 3-6 scan)",
            "rows": [],
        }
        for n_h in sorted({r["n_holes"] for r in ref.records}):
            t = ref.table(n_h)
            in_scan = n_h in scan["n_holes"]
            for i, J in enumerate(t["J"]):
                row = {
                    "n_holes": n_h,
                    "J_over_V": float(J),
                    "chi": int(t["chi"][i]),
                    "max_truncation_error": float(t["max_truncation_error"][i]),
                    "energy_change_last_chi": float(t["energy_change_last_stage"][i]),
                }
                for mf_key, dm_key in _DMRG_COMPARED:
                    row[f"dmrg_{dm_key}"] = float(t[dm_key][i])
                    if in_scan:
                        row[f"mf_{dm_key}"] = float(np.interp(J, scan["J"], _row(scan, n_h)[mf_key]))
                out["rows"].append(row)
        b = ref.binding_energies(N_H_FIG5)
        row5 = _row(scan, N_H_FIG5)
        out["binding"] = [
            {
                "n_holes": N_H_FIG5,
                "J_over_V": float(J),
                "dmrg_binding_energy": float(eb),
                "mf_binding_energy": float(np.interp(J, scan["J"], row5["binding_energy"])),
                "mf_2abs_delta_kstar": float(np.interp(J, scan["J"], 2 * np.abs(row5["delta_at_kmin"]))),
            }
            for J, eb in zip(b["J"], b["binding_energy"], strict=True)
        ]
        dev = {}
        for _, dm_key in _DMRG_COMPARED:
            d = [r[f"mf_{dm_key}"] - r[f"dmrg_{dm_key}"] for r in out["rows"] if f"mf_{dm_key}" in r]
            if d:
                dev[dm_key] = float(np.max(np.abs(d)))
        d = [r["mf_binding_energy"] - r["dmrg_binding_energy"] for r in out["binding"]]
        if d:
            dev["binding_energy"] = float(np.max(np.abs(d)))
        out["max_abs_deviation"] = dev
        return out

    return ctx.cached("mixd.dmrg", make)


def _dmrg_points(ctx: Context, n_h: int, key: str):
    """``(J, values)`` of a DMRG observable at ``n_h`` (empty arrays without data)."""
    d = dmrg_comparison(ctx)
    rows = [r for r in d.get("rows", []) if r["n_holes"] == n_h]
    return np.array([r["J_over_V"] for r in rows]), np.array([r[f"dmrg_{key}"] for r in rows])


_DMRG_LABEL = f"DMRG, Eq. (1), L={LADDER_L} open"


def fig3(ctx: Context) -> dict:
    """Fig. 3: (N_sc - 2 N_cc)/N_h over J/V and doping (ladder L = 30), with the section at N_h = 8."""
    scan = ladder_map(ctx)
    cross = mixd_crossover(ctx)
    row = _row(scan, N_H_SECTION)
    d8 = N_H_SECTION / LADDER_L
    fig, (ax_map, ax_cut) = jp.new_figure(2, size=(12.0, 4.8))
    line = [c for c in cross["sc_minus_2cc_line"] if c.get("J_over_V") is not None]
    jp.plot_crossover_map(
        scan["J"],
        scan["doping"],
        scan["sc_minus_2cc_fraction"],
        zlabel=r"$(N_{sc} - 2N_{cc})/N_h$",
        title=f"ladder L={LADDER_L}, $t/V$={T_OVER_V}: sc vs cc holes",
        ax=ax_map,
        converged=scan["converged"],
        vlim=1.0,
        curves={"sign change (root-solved)": ([c["J_over_V"] for c in line], [c["doping"] for c in line])},
        hlines=[(d8, rf"section $\delta$ = {N_H_SECTION}/{LADDER_L}")],
        legend_loc="lower right",
        markers=_fig3_markers(ctx),
    )
    ax_map.set_ylabel(r"doping $\delta = N_h/L$")
    y = row["sc_minus_2cc_fraction"]
    jc = cross["sc_minus_2cc_sign_change"].get("J_over_V")
    jp.plot_scan(
        row["J"],
        {r"$(N_{sc} - 2N_{cc})/N_h$": y},
        ylabel=r"$(N_{sc} - 2N_{cc})/N_h$",
        title=rf"section at $\delta$ = {N_H_SECTION}/{LADDER_L} ($N_h$={N_H_SECTION}, L={LADDER_L})",
        ax=ax_cut,
        styles={r"$(N_{sc} - 2N_{cc})/N_h$": {"color": "0.3", "lw": 1.2}},
        converged=row["converged"],
        vlines=[] if jc is None else [(jc, f"sign change, J/V = {jc:.4f}")],
        zero_line=True,
        legend_loc="upper right",
        markers={_DMRG_LABEL: _dmrg_points(ctx, N_H_SECTION, "sc_minus_2cc_fraction")}
        if dmrg_comparison(ctx)["available"]
        else None,
    )
    every = max(1, len(y) // 40)  # the colour code of the map, on at most ~40 points
    ax_cut.scatter(
        row["J"][::every],
        y[::every],
        c=y[::every],
        cmap=jp.DIVERGING_CMAP,
        vmin=-1.0,
        vmax=1.0,
        s=24,
        edgecolors="k",
        lw=0.3,
        zorder=3,
    )
    ax_cut.set_ylim(-1.05, 1.05)
    path = jp.save_figure(fig, ctx.path("mixd_fig3_sc_cc_map.png"))
    return _scan_entry(
        path,
        scan["converged"],
        {
            "crossover_line": [
                {"n_holes": c["n_holes"], "J_over_V": c.get("J_over_V")} for c in cross["sc_minus_2cc_line"]
            ]
        },
        _quality(scan),
        ctx.n_j,
        list(N_H_VALUES),
    )


def _fig3_markers(ctx: Context):
    d = dmrg_comparison(ctx)
    if not d["available"]:
        return None
    rows = [r for r in d["rows"] if r["n_holes"] % 2 == 0]
    return {
        f"{_DMRG_LABEL} (colour = value)": (
            [r["J_over_V"] for r in rows],
            [r["n_holes"] / LADDER_L for r in rows],
            [r["dmrg_sc_minus_2cc_fraction"] for r in rows],
        )
    }


def fig4(ctx: Context) -> dict:
    """Fig. 4: E and E - E_bg vs J/V at delta = 8/30 (L = 30)."""
    row = _row(ladder_map(ctx), N_H_SECTION)
    fig, (a, b) = jp.new_figure(2, size=(11.0, 4.4))
    where = rf"ladder L={LADDER_L}, $\delta$={N_H_SECTION}/{LADDER_L}, $t/V$={T_OVER_V}"
    jp.plot_scan(
        row["J"],
        {r"$E$ (mean field)": row["energy"] / V},
        ylabel=r"$E / V$",
        title=f"ground-state energy, {where}",
        ax=a,
        converged=row["converged"],
        legend_loc="upper left",
        markers=_dmrg_markers(ctx, N_H_SECTION, "energy_relative", r"$E + J L$ (from rung singlets)"),
    )
    jp.plot_scan(
        row["J"],
        {r"$E - E_{bg}$ (mean field)": row["energy_minus_background"] / V},
        ylabel=r"$(E - E_{bg}) / V$,  $E_{bg} = J N_{sc} + (V+J) N_{cc}$",
        title=f"energy without background, {where}",
        ax=b,
        styles={r"$E - E_{bg}$ (mean field)": {"color": "C1"}},
        converged=row["converged"],
        markers=_dmrg_markers(ctx, N_H_SECTION, "energy_minus_background"),
    )
    path = jp.save_figure(fig, ctx.path("mixd_fig4_energy.png"))
    i_min = int(np.argmin(row["energy_minus_background"]))
    extra = {
        "E_at_J_eq_V": float(np.interp(1.0, row["J"], row["energy"])),
        "E_minus_Ebg_min": {"J_over_V": float(row["J"][i_min]), "value": float(row["energy_minus_background"][i_min])},
    }
    return _scan_entry(path, row["converged"], extra, _quality(row), ctx.n_j, N_H_SECTION)


def _dmrg_markers(ctx: Context, n_h: int, key: str, what: str = ""):
    if not dmrg_comparison(ctx)["available"]:
        return None
    return {_DMRG_LABEL + (f": {what}" if what else ""): _dmrg_points(ctx, n_h, key)}


def fig5(ctx: Context) -> dict:
    """Fig. 5: E_B = 2 min E_k and Delta at k* vs J/V at delta = 14/30 (L = 30)."""
    row = _row(ladder_map(ctx), N_H_FIG5)
    lab_eb, lab_ebc = r"$E_B = 2\,\mathrm{min}_k\,E_k$ (L=30 grid)", r"$E_B$ (continuous $k$)"
    lab_d, lab_dc = r"$2|\Delta_{k^*}|$ (L=30 grid)", r"$2|\Delta_{k^*}|$ (continuous $k$)"
    jp.plot_scan(
        row["J"],
        {
            lab_eb: row["binding_energy"] / V,
            lab_ebc: row["binding_energy_continuum"] / V,
            lab_d: 2.0 * np.abs(row["delta_at_kmin"]) / V,
            lab_dc: 2.0 * np.abs(row["delta_at_kmin_continuum"]) / V,
        },
        ylabel=r"energy / $V$",
        title=rf"binding energy vs gap at $k^*$: ladder L={LADDER_L}, $\delta$={N_H_FIG5}/{LADDER_L}, $t/V$={T_OVER_V}",
        styles={
            lab_eb: {"color": "C0"},
            lab_ebc: {"color": "C0", "ls": "--"},
            lab_d: {"color": "C3"},
            lab_dc: {"color": "C3", "ls": "--"},
        },
        converged=row["converged"],
        legend_loc="below",
        markers=_fig5_markers(ctx),
        path=(path := ctx.path("mixd_fig5_binding_energy.png")),
    )
    ratio = row["binding_energy"] / np.where(row["delta_at_kmin"] != 0, 2.0 * np.abs(row["delta_at_kmin"]), np.nan)
    extra = {
        "note": "Delta(k*) is plotted as 2|Delta(k*)| (the pair-breaking gap E_B tends to in the BCS limit); "
        "its sign is a gauge choice (beta >= 0)",
        "E_B_at_J_eq_V": float(np.interp(1.0, row["J"], row["binding_energy"])),
        "E_B_over_2abs_delta_kstar": {"J_min": float(ratio[0]), "J_max": float(ratio[-1])},
    }
    return _scan_entry(path, row["converged"], extra, _quality(row), ctx.n_j, N_H_FIG5)


def _fig5_markers(ctx: Context):
    d = dmrg_comparison(ctx)
    if not d["available"] or not d["binding"]:
        return None
    return {
        rf"{_DMRG_LABEL}: $E_B = 2E_{{{N_H_FIG5 - 1}}} - E_{{{N_H_FIG5}}} - E_{{{N_H_FIG5 - 2}}}$": (
            [r["J_over_V"] for r in d["binding"]],
            [r["dmrg_binding_energy"] / V for r in d["binding"]],
        )
    }


def fig6(ctx: Context) -> dict:
    """Fig. 6: O_BEC and O_BCS vs J/V at delta = 8/30 (L = 30)."""
    row = _row(ladder_map(ctx), N_H_SECTION)
    cross = mixd_crossover(ctx)
    lab_bec, lab_bcs, lab_bcsc = r"$O_{BEC}$", r"$O_{BCS}$ (L=30)", r"$O_{BCS}$ ($L\to\infty$)"
    vlines = []
    for key, text in (("O_BEC_equals_O_BCS", r"$O_{BEC}=O_{BCS}$"), ("sc_minus_2cc_sign_change", r"$N_{sc}=2N_{cc}$")):
        jc = cross[key].get("J_over_V")
        if jc is not None:
            vlines.append((jc, f"{text}: J/V = {jc:.3f}"))
    jp.plot_scan(
        row["J"],
        {lab_bec: row["order_bec"], lab_bcs: row["order_bcs"], lab_bcsc: row["order_bcs_continuum"]},
        ylabel="order parameter (dimensionless)",
        title=rf"BEC and BCS order parameters: ladder L={LADDER_L}, $\delta$={N_H_SECTION}/{LADDER_L}, $t/V$={T_OVER_V}",
        styles={lab_bec: {"color": "C0"}, lab_bcs: {"color": "C3"}, lab_bcsc: {"color": "C3", "ls": "--"}},
        converged=row["converged"],
        vlines=vlines,
        legend_loc="below",
        path=(path := ctx.path("mixd_fig6_order_parameters.png")),
    )
    extra = {
        "O_BEC_max": float(np.max(row["order_bec"])),
        "O_BCS_max": {
            "J_over_V": float(row["J"][np.argmax(row["order_bcs"])]),
            "value": float(np.max(row["order_bcs"])),
        },
    }
    return _scan_entry(path, row["converged"], extra, _quality(row), ctx.n_j, N_H_SECTION)


MIXD_FIGURES: dict[str, Callable[[Context], dict]] = {
    "fig2": fig2,
    "fig3": fig3,
    "fig4": fig4,
    "fig5": fig5,
    "fig6": fig6,
    "fig7": fig7,
}


# ------------------------------------------------------------------ report


def _dmrg_report(d: dict | None) -> list[str]:
    if not d:
        return []
    if not d["available"]:
        return ["### Mean field vs DMRG", "", f"Not drawn: {d['note']}.", ""]
    m = d["meta"]
    lines = [
        f"### Mean field vs DMRG of the microscopic ladder (Figs. 3-5 markers; L = {m['L']}, t/V = {m['t']})",
        "",
        f"DMRG: {m['engine']}, bond dimensions {m['chis']}, {m['bc']} legs, holes {m['holes']} "
        f"(data: `{d['source']}`, regenerate with `{m['command']}`). Mean field: {d['mean_field']}. "
        "Energies relative to the undoped rung-singlet ladder (E + J L for DMRG).",
        "",
        "| N_h | J/V | (N_sc-2N_cc)/N_h MF | DMRG | E MF | E DMRG | E-E_bg MF | E-E_bg DMRG | chi | trunc. err. | dE (last chi) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in d["rows"]:
        if r["n_holes"] % 2:
            continue
        lines.append(
            f"| {r['n_holes']} | {r['J_over_V']:.2f} | {fmt_num(r.get('mf_sc_minus_2cc_fraction'), '.4f')} | "
            f"{r['dmrg_sc_minus_2cc_fraction']:.4f} | {fmt_num(r.get('mf_energy_relative'), '.4f')} | "
            f"{r['dmrg_energy_relative']:.4f} | {fmt_num(r.get('mf_energy_minus_background'), '.4f')} | "
            f"{r['dmrg_energy_minus_background']:.4f} | {r['chi']} | {r['max_truncation_error']:.1e} | "
            f"{r['energy_change_last_chi']:.1e} |"
        )
    if d["binding"]:
        lines += ["", "| J/V | E_B DMRG (N_h = 14) | E_B = 2 min E_k MF | 2 abs(Delta(k*)) MF |", "|---|---|---|---|"]
        for r in d["binding"]:
            lines.append(
                f"| {r['J_over_V']:.2f} | {r['dmrg_binding_energy']:.4f} | {r['mf_binding_energy']:.4f} | "
                f"{r['mf_2abs_delta_kstar']:.4f} |"
            )
    dev = ", ".join(f"{k} {v:.3g}" for k, v in d["max_abs_deviation"].items())
    lines += ["", f"Largest |MF - DMRG| over these points: {dev} (units of V). See docs/exact_comparison.md.", ""]
    return lines


def _mixd_report(res: dict) -> list[str]:
    lines = []
    c = res.get("crossover")
    if c:
        lines += [
            f"### Crossover at doping delta = {c['n_holes']}/{LADDER_L} (ladder L = {LADDER_L}, t/V = {T_OVER_V}, V = {V})",
            "",
            f"Paper: *{c['paper']}*.",
            "",
            "| criterion | J/V (root solve) | J/V (linear interp. on scan) | root converged | solves | not converged |",
            "|---|---|---|---|---|---|",
        ]
        for key, label in (
            ("sc_minus_2cc_sign_change", "N_sc - 2 N_cc = 0"),
            ("O_BEC_equals_O_BCS", "O_BEC = O_BCS (L = 30 sum)"),
            ("O_BEC_equals_O_BCS_continuum", "O_BEC = O_BCS (L -> infinity integral)"),
        ):
            r = c[key]
            lines.append(
                f"| {label} | {fmt_num(r.get('J_over_V'), '.5f')} | {fmt_num(r.get('J_over_V_interpolated'), '.4f')} | "
                f"{fmt_num(r.get('root_converged'))} | {fmt_num(r.get('solves'))} | {fmt_num(r.get('not_converged'))} |"
            )
        lines += ["", f"Method: {c['method']}.", ""]
        lines += ["Sign change of N_sc - 2 N_cc vs doping (the black line of Fig. 3):", ""]
        lines += ["| N_h | delta | J/V |", "|---|---|---|"]
        for r in c["sc_minus_2cc_line"]:
            lines.append(f"| {r['n_holes']} | {r['doping']:.4f} | {fmt_num(r.get('J_over_V'), '.5f')} |")
        lines.append("")

    lines += _dmrg_report(res.get("dmrg_comparison"))
    sq = [(n, res[n]) for n in ("fig2", "fig7") if n in res]
    if sq:
        lines += [
            f"### 16x16 square lattice (t/V = {T_OVER_V}, J = V = 1, N_h = 12)",
            "",
            "| quantity | " + " | ".join(f"{n} (epsilon = {r['params']['epsilon']:g})" for n, r in sq) + " |",
            "|---|" + "---|" * len(sq),
        ]
        rows = [
            ("E / V", lambda s: s["energy"]),
            ("E - E_bg", lambda s: s["energy_minus_background"]),
            ("N_sc", lambda s: s["N_sc"]),
            ("N_cc", lambda s: s["N_cc"]),
            ("(N_sc - 2 N_cc)/N_h", lambda s: s["sc_minus_2cc_fraction"]),
            ("mu_h", lambda s: s["mu"]),
            ("O_BEC", lambda s: s["order_bec"]),
            ("O_BCS (grid / continuum)", lambda s: f"{s['order_bcs']:.5g} / {s['order_bcs_continuum']:.5g}"),
            ("E_B = 2 min E_k", lambda s: s["binding_energy"]),
            ("k* (grid)", lambda s: "(" + ", ".join(f"{v:.4f}" for v in s["k_min"]) + ")"),
            ("Delta at G, X, M", lambda s: ", ".join(f"{v:.5g}" for v in s["delta_high_symmetry"].values())),
            ("converged (residual)", lambda s: f"{fmt_num(s['converged'])} ({s['residual']:.1e})"),
        ]
        for label, get in rows:
            vals = [get(r["solution"]) for _, r in sq]
            lines.append(f"| {label} | " + " | ".join(v if isinstance(v, str) else fmt_num(v) for v in vals) + " |")
        cc = [r["cross_check"] for _, r in sq]
        lines.append(
            "| gradient cross-check: E_grad - E_fp | " + " | ".join(f"{x['energy_difference']:.2e}" for x in cc) + " |"
        )
        lines.append(
            "| gradient cross-check: max abs(dDelta_k) | "
            + " | ".join(f"{x['max_abs_delta_difference']:.2e}" for x in cc)
            + " |"
        )
        lines.append(
            "| gradient solver converged (residual) | "
            + " | ".join(f"{fmt_num(x['converged'])} ({x['residual']:.1e})" for x in cc)
            + " |"
        )
        lines.append("")
    if "fig5" in res:
        f5 = res["fig5"]
        lines += [
            f"### Fig. 5 (delta = {N_H_FIG5}/{LADDER_L})",
            "",
            f"E_B at J = V: {f5['E_B_at_J_eq_V']:.5g} V; E_B / 2|Delta(k*)| = "
            f"{f5['E_B_over_2abs_delta_kstar']['J_min']:.3g} at J/V = {J_RANGE[0]} and "
            f"{f5['E_B_over_2abs_delta_kstar']['J_max']:.3g} at J/V = {J_RANGE[1]} "
            "(equal in the BCS limit, apart on the BEC side, as the paper describes). "
            f"Note: {f5['note']}.",
            "",
        ]
    return lines


PAPER = Paper(
    key="mixd",
    title="Borchia, Lange, Grusdt 2025: MixD+V bilayer, two-channel (sc BCS + cc BEC) mean-field theory "
    "(papers/000_65ebf9cd3e273974)",
    figures=MIXD_FIGURES,
    report=_mixd_report,
    extras={"crossover": mixd_crossover, "dmrg_comparison": dmrg_comparison},
    common_params={"t/V": T_OVER_V, "V": V},
    branch_fields=_JUMP_FIELDS,
)
