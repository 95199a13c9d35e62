"""Figures of the three MixD studies beyond paper 000 (``jaxnickel.reproduce.mixd_extra``).

Same conventions as :mod:`jaxnickel.plotting`: pyplot-free figures, energies in
units of ``V``, signed quantities on the diverging colour map centred at zero.
Each function saves the figure to ``path`` and returns that path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D

from .plotting import new_figure, plot_crossover_map, save_figure

__all__ = ["plot_crossover_2d", "plot_obcs_finite_size", "plot_deb_dj"]

_FRAC_LABEL = r"$(N_{sc} - 2N_{cc})/N_h$"


def _line_xy(line) -> tuple[np.ndarray, np.ndarray]:
    pts = [(e["J_over_V"], e["doping"]) for e in line if e.get("J_over_V") is not None]
    if not pts:
        return np.array([]), np.array([])
    j, d = np.array(pts).T
    return j, d


def plot_crossover_2d(J, dopings, frac, converged, line_2d, line_ladder, *, lattice_name, t_over_v, fig2, path) -> Path:
    """Left: the Fig. 3 map on the square lattice with both crossover lines; right: ``J_c/V`` vs doping."""
    fig, (ax_map, ax_line) = new_figure(2, size=(12.4, 4.9))
    j2, d2 = _line_xy(line_2d)
    j1, d1 = _line_xy(line_ladder)
    plot_crossover_map(
        J,
        dopings,
        frac,
        zlabel=_FRAC_LABEL,
        title=rf"square bilayer {lattice_name.split()[-1]}, $t/V$={t_over_v}, $\epsilon$=0: sc vs cc holes",
        ax=ax_map,
        converged=converged,
        vlim=1.0,
        curves={f"{lattice_name}: sign change (root-solved)": (j2, d2)},
        legend_loc="upper right",
    )
    ax_map.plot(j1, d1, "s--", color="0.35", mfc="white", ms=4.5, lw=1.1, label="ladder L=30 (root-solved)")
    ax_map.plot(*fig2[::-1], "*", color="gold", mec="k", ms=12, label=r"paper Fig. 2 point ($J=V$, $N_h$=12 on 16x16)")
    ax_map.legend(fontsize="small", loc="upper right", framealpha=0.85)
    ax_map.set_ylabel(r"doping $\delta = N_h/N$")

    ax_line.plot(d2, j2, "o-", color="C2", mec="k", ms=5, label=f"{lattice_name} (2D bilayer)")
    ax_line.plot(d1, j1, "s--", color="0.35", mfc="white", ms=5, label="ladder L=30")
    ax_line.plot(*fig2, "*", color="gold", mec="k", ms=12, label=r"Fig. 2 point ($J=V$), BCS side")
    ax_line.set_xlabel(r"doping $\delta = N_h/N$")
    ax_line.set_ylabel(r"crossover $J_c/V$  ($N_{sc} = 2N_{cc}$)")
    ax_line.set_title(r"crossover line: $N_{sc} > 2N_{cc}$ (BCS) below, BEC above", fontsize="medium")
    lo = min(np.min(j2) if j2.size else 1.0, np.min(j1) if j1.size else 1.0, fig2[1])
    hi = max(np.max(j2) if j2.size else 1.0, np.max(j1) if j1.size else 1.0)
    ax_line.set_ylim(lo - 0.08, hi + 0.08)
    ax_line.set_xlim(0.0, max(np.max(dopings), 0.5))
    ax_line.grid(alpha=0.3)
    ax_line.legend(fontsize="small", loc="best")
    return save_figure(fig, path)


def _clip(y, floor):
    return np.maximum(np.abs(np.asarray(y, dtype=float)), floor)


def plot_obcs_finite_size(one_d: dict, two_d: dict, *, doping_label, t_over_v, path, floor: float = 1e-16) -> Path:
    """Log-log ``|O_BCS(L) - O_BCS(inf)|`` and its self-consistency part vs ``L``, ladders and squares."""
    fig, axes = new_figure(2, size=(12.4, 5.8))
    for ax, fam, what, xlab in (
        (axes[0], one_d, "ladders", r"ladder length $L$ (rungs)"),
        (axes[1], two_d, r"square bilayers $L\times L$", r"linear size $L$ (rungs)"),
    ):
        for i, e in enumerate(fam["per_J"]):
            col = f"C{i}"
            L = np.asarray(e["sizes"], dtype=float)
            conv = np.asarray(e["converged"], dtype=bool)
            fit = e["power_law_fit"]
            big = L >= fit["sizes"][0] / 2 if what == "ladders" else np.ones_like(L, dtype=bool)
            ax.plot(L[big & conv], _clip(e["error"], floor)[big & conv], "o-", color=col, ms=6, lw=1.0)
            ax.plot(L[conv], _clip(e["self_consistency_part"], floor)[conv], "o:", mfc="white", color=col, ms=5)
            Lf = np.asarray(fit["sizes"], dtype=float)
            Lf = np.geomspace(Lf[0] / 1.3, Lf[-1] * 1.3, 20)
            ax.plot(Lf, fit["prefactor"] * Lf ** -fit["exponent"], "--", color=col, lw=1.0, alpha=0.8)
            if (~conv).any():
                ax.plot(L[~conv], np.full((~conv).sum(), 1e-3), "x", color="red", ms=8)
        ax.axhspan(floor / 10, 2e-15, color="0.85", zorder=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(floor / 2, 3e-2)
        ax.set_xlabel(xlab)
        ax.set_ylabel(r"$|\Delta O_{BCS}|$ (dimensionless)")
        fits = ", ".join(f"{e['power_law_fit']['exponent']:.3f}" for e in fam["per_J"])
        ax.set_title(rf"{what}, $\delta$={doping_label}, $t/V$={t_over_v}: fitted $p$ = {fits}", fontsize="medium")
        ax.grid(alpha=0.3, which="major")
        ticks = [
            int(v) for v in fam["per_J"][0]["sizes"] if what != "ladders" or v in (10, 15, 30, 60, 120, 240, 480, 960)
        ]
        ax.set_xticks(ticks, [str(v) for v in ticks])
        ax.minorticks_off()
        ax.tick_params(axis="y", which="both", left=True)
    handles = [
        Line2D([], [], color=f"C{i}", lw=3, label=f"$J/V$ = {e['J_over_V']}") for i, e in enumerate(one_d["per_J"])
    ]
    handles += [
        Line2D(
            [],
            [],
            color="k",
            marker="o",
            lw=1.0,
            label=r"$|O_{BCS}(L) - O_{BCS}(\infty)|$, self-consistent $O_{BCS}(L)$",
        ),
        Line2D([], [], color="k", ls="--", lw=1.0, label=r"least-squares fit $A/L^p$"),
        Line2D(
            [],
            [],
            color="k",
            marker="o",
            mfc="white",
            ls=":",
            label=r"self-consistency part $|O_{BCS}(L) - O_{BCS}^{fixed}(L)|$",
        ),
        Line2D([], [], color="0.85", lw=6, label="double-precision floor"),
    ]
    fig.legend(handles=handles, fontsize="small", loc="outside lower center", ncols=4, frameon=False)
    em = [e for e in one_d["per_J"] if e.get("error_times_L2_predicted") is not None]
    if em:
        text = "\n".join(
            [
                r"$L \equiv 0$ mod 4, Euler-Maclaurin:",
                r"$L^2\,\Delta O_{BCS} \to -\frac{\pi}{3}\sum_{nodes} |\partial_k\Delta_k|/E_k$",
            ]
            + [
                f"$J/V$={e['J_over_V']}: {e['error_times_L2_predicted']:.5f} (L={e['sizes'][-1]}: {e['error_times_L2'][-1]:.5f})"
                for e in em
            ]
        )
        axes[0].text(
            0.97,
            0.56,
            text,
            transform=axes[0].transAxes,
            ha="right",
            va="top",
            fontsize="x-small",
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.7"},
        )
    axes[0].annotate(
        "L=30: nodes of $\\Delta_k$\nbetween k points",
        xy=(30, abs(one_d["per_J"][0]["error"][one_d["per_J"][0]["sizes"].index(30)])),
        xytext=(40, 3e-7),
        fontsize="x-small",
        arrowprops={"arrowstyle": "->", "lw": 0.8},
    )
    return save_figure(fig, path)


def plot_deb_dj(
    J,
    dopings,
    deb,
    converged,
    scan,
    ladder_line,
    fd_points,
    *,
    cuts,
    n_holes,
    ladder_l,
    t_over_v,
    path,
) -> Path:
    """Left: ``dE_B/d(J/V)`` map with the crossover line and the check points; right: cuts at a few dopings."""
    fig, (ax_map, ax_cut) = new_figure(2, size=(12.4, 5.6))
    vlim = float(np.max(np.abs(deb)))
    plot_crossover_map(
        J,
        dopings,
        deb,
        zlabel=r"$d(E_B/V)\,/\,d(J/V)$",
        title=rf"$dE_B/dJ$ by autodiff (> 0 everywhere): ladder L={ladder_l}, $t/V$={t_over_v}",
        ax=ax_map,
        converged=converged,
        zero_contour=True,
        vlim=vlim,
        legend_loc="lower right",
    )
    ax_map.contour(scan["J"], scan["doping"], scan["sc_minus_2cc_fraction"], levels=[0.0], colors="k", linewidths=1.4)
    j1, d1 = _line_xy(ladder_line)
    ax_map.plot(j1, d1, "o", color="k", mfc="white", ms=4.5, label=r"$N_{sc}=2N_{cc}$ (ladder scan, root-solved)")
    ax_map.plot([], [], color="k", lw=1.4, label=r"$N_{sc}=2N_{cc}$ (contour of the Fig. 3 scan)")
    if fd_points:
        ax_map.plot(
            [p["J_over_V"] for p in fd_points],
            [p["doping"] for p in fd_points],
            "D",
            color="gold",
            mec="k",
            ms=6,
            label="finite-difference check points",
        )
    ax_map.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2, frameon=False)
    ax_map.set_ylabel(r"doping $\delta = N_h/L$")

    nh = np.asarray(n_holes)
    for i, n in enumerate(cuts):
        row = int(np.flatnonzero(nh == n)[0])
        ax_cut.plot(J, deb[row], color=f"C{i}", lw=1.4, label=rf"autodiff, $\delta$ = {int(n)}/{ladder_l}")
        pts = [p for p in fd_points if p["n_holes"] == n]
        if pts:
            ax_cut.plot(
                [p["J_over_V"] for p in pts],
                [p["finite_difference"] for p in pts],
                "D",
                color=f"C{i}",
                mec="k",
                ms=6,
            )
        jc = next((e.get("J_over_V") for e in ladder_line if abs(e["n_holes"] - n) < 1e-9), None)
        if jc is not None:
            ax_cut.axvline(jc, color=f"C{i}", ls=":", lw=1.0)
    ax_cut.plot([], [], "D", color="0.6", mec="k", label="5-point finite differences of re-solves")
    ax_cut.plot([], [], ":", color="0.3", label=r"$N_{sc}=2N_{cc}$ crossover")
    ax_cut.set_xlabel(r"$J/V$")
    ax_cut.set_ylabel(r"$d(E_B/V)\,/\,d(J/V)$,   $E_B = 2\,\mathrm{min}_k\,E_k$")
    ax_cut.set_title(rf"sections (steps: $k^*$ jumps between the L={ladder_l} grid momenta)", fontsize="medium")
    ax_cut.set_xlim(J[0], J[-1])
    ax_cut.grid(alpha=0.3)
    ax_cut.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2, frameon=False)
    return save_figure(fig, path)
