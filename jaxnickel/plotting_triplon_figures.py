"""Composite figures of paper 001 (triplon model) for ``jaxnickel reproduce``.

Data in, figure out: every function takes NumPy arrays (computed by
:mod:`jaxnickel.reproduce.triplon` with the library's physics) and returns the
:class:`~matplotlib.figure.Figure` it drew (saved to ``path`` when given), pyplot-free
like :mod:`jaxnickel.plotting`.  Units: band energies in eV, gaps in meV,
temperatures in K, angles in degrees, densities of states per spin per unit cell.

* :func:`plot_dos_and_gap_ratio` -- Fig. 3: ``N_beta/N_alpha`` vs ``n_c`` and
  ``Delta_alpha/Delta_beta`` vs ``N_beta/N_alpha`` (Eq. 18 and the numerical gaps);
* :func:`plot_weighted_dos_and_gap_angles` -- Fig. 4: ``Ntilde/N`` vs ``n_c`` and the
  gaps vs the Fermi-surface angle (Eqs. 16 + 18 and the numerical solution), with a
  Brillouin-zone view of the signed gap on both Fermi sheets;
* :func:`plot_gap_temperature_ladders` -- ``Delta(T)`` of several parameter points;
* :func:`plot_tc_vs_lambda` -- ``T_c`` of both channels and ``2 Delta / k_B T_c`` vs
  ``lambda``;
* :func:`plot_phase_diagram` -- ground state over complex gaps (normal, s+-, d, s+id)
  in the ``kappa`` plane at T = 0 and over ``(kappa_a + kappa_b, T)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D

from .plotting import DIVERGING_CMAP, _finish, new_figure

__all__ = [
    "plot_dos_and_gap_ratio",
    "plot_weighted_dos_and_gap_angles",
    "plot_gap_temperature_ladders",
    "plot_tc_vs_lambda",
    "plot_phase_diagram",
    "ALPHA_COLOR",
    "BETA_COLOR",
]

#: sheet colours, as in the paper's Fig. 2 (alpha blue, beta red) and jaxnickel.plotting
ALPHA_COLOR = "C0"
BETA_COLOR = "C3"
_LAMBDA_COLORS = ("C1", "C2", "C4", "C5", "C6")
_MARK_STYLES = ("C2", "C4", "C1", "C5")
_NC_LABEL = r"electron density $n_c = n_\alpha + n_\beta$ (per Ni)"


def _marks(ax, lifshitz: Sequence, mark_nc: float | None, *, with_labels: bool):
    """Dotted verticals at the Lifshitz points ``(n_c, label)``, a dashed one at ``mark_nc``."""
    for i, (x, label) in enumerate(lifshitz):
        ax.axvline(
            x,
            color=_MARK_STYLES[i % len(_MARK_STYLES)],
            ls=":",
            lw=1.3,
            label=f"{label} ($n_c$ = {x:.3f})" if with_labels else None,
        )
    if mark_nc is not None:
        ax.axvline(mark_nc, color="0.4", ls="--", lw=1.0, label=rf"$n_c$ = {mark_nc:g}" if with_labels else None)


# ------------------------------------------------------------------ Fig. 3


def plot_dos_and_gap_ratio(
    dos: Mapping,
    scans: Sequence[Mapping],
    *,
    eq18_lambdas: Sequence[float] = (0.6, 0.3),
    lifshitz: Sequence = (),
    n_c_saddle: float | None = None,
    mark_nc: float | None = 0.45,
    annotate_nc: Sequence[float] = (0.3, 0.45, 1.0),
    title: str | None = None,
    path=None,
):
    """The paper's Fig. 3 with the numerical gap ratios added.

    (a) ``N_beta/N_alpha`` vs ``n_c`` (``dos``: ``n_c``, ``N_beta_over_N_alpha``),
    the Lifshitz points of the beta band (``lifshitz``: ``(n_c, label)`` pairs) and the
    densities of the numerical points (grey dots).  (b) ``Delta_alpha/Delta_beta`` vs
    ``N_beta/N_alpha`` on log-log axes: Eq. (18), ``r^{1/(2 - lambda)}``, for each
    ``lambda`` in ``eq18_lambdas`` (straight lines), its ``lambda -> 0`` limit
    ``sqrt(r)`` (black dashed), and the numerical diagonal-gap ratios of ``scans``
    (each a dict with ``lam``, ``kappa``, ``n_c``, ``r`` = N_beta/N_alpha, ``ratio``,
    ``converged``; filled markers for ``kappa > 0``, open for ``kappa = 0``, joined in
    order of ``n_c``; triangles for densities below ``n_c_saddle``, the beta van Hove
    point, where the ratio runs back along ``r``).
    """
    fig, (ax1, ax2) = new_figure(2, size=(12.4, 5.4))
    nc = np.asarray(dos["n_c"], dtype=float)
    r = np.asarray(dos["N_beta_over_N_alpha"], dtype=float)
    ax1.plot(nc, r, color="k", lw=1.6, label=r"$N_\beta/N_\alpha$")
    _marks(ax1, lifshitz, mark_nc, with_labels=True)
    shown = set()
    for s in scans:
        for x, y in zip(np.asarray(s["n_c"]), np.asarray(s["r"]), strict=True):
            if round(float(x), 6) not in shown:
                shown.add(round(float(x), 6))
                ax1.plot([x], [y], "o", color="0.45", ms=4, zorder=3)
    if shown:
        ax1.plot([], [], "o", color="0.45", ms=4, label="densities of the numerical points in (b)")
    ax1.axhline(1.0, color="0.7", lw=0.8)
    ax1.set_xlim(nc.min(), nc.max())
    ax1.set_ylim(bottom=0.0)
    ax1.set_xlabel(_NC_LABEL)
    ax1.set_ylabel(r"$N_\beta/N_\alpha$ (ratio of the Fermi-level DOS)")
    ax1.set_title(r"(a) $N_\beta/N_\alpha$ vs $n_c$ (Fig. 3a)", fontsize="medium")
    ax1.legend(fontsize="small", loc="upper right")

    r_all = [r[np.isfinite(r) & (r > 0)]] + [np.asarray(s["r"], dtype=float) for s in scans]
    lo = max(0.3, 0.9 * min(float(np.min(x)) for x in r_all if x.size))
    hi = 1.1 * max(float(np.max(x)) for x in r_all if x.size)
    rr = np.geomspace(lo, hi, 200)
    colors = {}
    for i, lam in enumerate(eq18_lambdas):
        colors[round(float(lam), 6)] = _LAMBDA_COLORS[i % len(_LAMBDA_COLORS)]
        ax2.plot(
            rr,
            rr ** (1.0 / (2.0 - lam)),
            color=colors[round(float(lam), 6)],
            lw=1.8,
            label=rf"Eq. (18), $\lambda$ = {lam:g}: $(N_\beta/N_\alpha)^{{1/(2-\lambda)}}$",
        )
    ax2.plot(rr, np.sqrt(rr), "k--", lw=1.2, label=r"$\sqrt{N_\beta/N_\alpha}$ ($\lambda \to 0$)")
    below_any = False
    n_bad = 0
    for s in scans:
        lam = float(s["lam"])
        color = colors.get(round(lam, 6), "0.3")
        kappa = float(s["kappa"])
        filled = kappa > 0
        ok = np.asarray(s["converged"], dtype=bool)
        n_bad += int((~ok).sum())
        # a solve that did not converge is no data point: left out (counted in the legend)
        x = np.asarray(s["r"], dtype=float)[ok]
        y = np.asarray(s["ratio"], dtype=float)[ok]
        n = np.asarray(s["n_c"], dtype=float)[ok]
        if filled:  # the path along n_c (it folds back at the saddle)
            order = np.argsort(n)
            ax2.plot(x[order], y[order], "-", color=color, lw=0.8, alpha=0.6)
        below = np.zeros(n.shape, bool) if n_c_saddle is None else n < n_c_saddle
        below_any |= bool(below.any())
        for mask, marker in ((~below, "o"), (below, "^")):
            if mask.any():
                ax2.plot(
                    x[mask],
                    y[mask],
                    marker,
                    ls="none",
                    ms=5.5,
                    color=color,
                    mfc=color if filled else "white",
                    mec=color,
                    mew=1.2,
                    zorder=4,
                )
        if filled and lam == min(float(t["lam"]) for t in scans):
            for a in annotate_nc:
                j = np.flatnonzero(np.isclose(n, a))
                if j.size:
                    j = int(j[0])
                    ax2.annotate(
                        rf"$n_c$={a:g}",
                        (x[j], y[j]),
                        xytext=(6, -12),
                        textcoords="offset points",
                        fontsize="x-small",
                        color="0.25",
                    )
    handles = list(ax2.get_legend_handles_labels()[0])
    kappas = sorted({float(s["kappa"]) for s in scans}, reverse=True)
    for k in kappas:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="none",
                color="0.3",
                mfc="0.3" if k > 0 else "white",
                label=rf"numerical (diagonal gaps), $\kappa_a=\kappa_b$ = {k:g}",
            )
        )
    if below_any:
        handles.append(
            Line2D(
                [],
                [],
                marker="^",
                ls="none",
                color="0.3",
                mfc="white",
                label=rf"$n_c$ < {n_c_saddle:.3f} (below the saddle)",
            )
        )
    if n_bad:
        handles.append(Line2D([], [], ls="none", label=f"{n_bad} solve(s) not converged: left out"))
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ticks = [t for t in (0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10) if lo <= t <= hi]
    ax2.set_xticks(ticks, [f"{t:g}" for t in ticks])
    yt = [t for t in (0.7, 0.8, 1, 1.2, 1.5, 2, 2.5, 3, 4) if 0.5 <= t <= 5]
    ax2.set_yticks(yt, [f"{t:g}" for t in yt])
    ax2.minorticks_off()
    ax2.set_xlim(lo, hi)
    ax2.set_xlabel(r"$N_\beta/N_\alpha$ (log scale)")
    ax2.set_ylabel(r"$\Delta_\alpha/\Delta_\beta$ on the zone diagonal (log scale)")
    ax2.set_title(r"(b) gap ratio vs DOS ratio (Fig. 3b)", fontsize="medium")
    ax2.legend(handles=handles, fontsize="x-small", loc="upper left")
    if title:
        fig.suptitle(title, fontsize="medium")
    return _finish(fig, path)


# ------------------------------------------------------------------ Fig. 4


def plot_weighted_dos_and_gap_angles(
    dos: Mapping,
    angles: Mapping,
    angles_gamma: Mapping,
    fs_map: Mapping,
    *,
    lifshitz: Sequence = (),
    mark_nc: float | None = 0.45,
    ntilde_at_mark: Mapping | None = None,
    title: str | None = None,
    path=None,
):
    """The paper's Fig. 4 with the numerical solution added, four panels.

    (a) ``Ntilde_alpha/N_alpha`` and ``Ntilde_beta/N_beta`` vs ``n_c`` (``dos``: keys
    ``n_c``, ``Ntilde_over_N_alpha``, ``Ntilde_over_N_beta``).  (b) the gap magnitudes
    relative to ``Delta_alpha(theta = 0)`` vs the Fermi-surface angle (``angles``: key
    ``theta_deg`` and, for ``b`` in alpha/beta, ``eq16_<b>`` and ``num_<b>``), each
    sheet's angle measured around its pocket centre (alpha: Gamma; beta: M).  (c) the
    same with both angles measured from Gamma (``angles_gamma``, same keys; the beta
    curve exists only where rays from Gamma cross the beta sheet).  (d) the signed
    numerical gap on both Fermi sheets over the Brillouin zone (``fs_map``: ``kx_<b>``,
    ``ky_<b>``, ``gap_<b>`` in meV), diverging colour map centred at zero.
    """
    fig, axes = new_figure(2, 2, size=(12.6, 10.4))
    ax_a, ax_b, ax_c, ax_d = axes
    nc = np.asarray(dos["n_c"], dtype=float)
    ax_a.plot(nc, dos["Ntilde_over_N_alpha"], color=ALPHA_COLOR, lw=1.7, label=r"$\widetilde N_\alpha/N_\alpha$")
    ax_a.plot(nc, dos["Ntilde_over_N_beta"], color=BETA_COLOR, lw=1.7, label=r"$\widetilde N_\beta/N_\beta$")
    _marks(ax_a, lifshitz, mark_nc, with_labels=True)
    if ntilde_at_mark and mark_nc is not None:
        for b, color in (("alpha", ALPHA_COLOR), ("beta", BETA_COLOR)):
            v = float(ntilde_at_mark[b])
            ax_a.plot([mark_nc], [v], "o", color=color, ms=5, zorder=4)
            ax_a.annotate(f"{v:.3f}", (mark_nc, v), xytext=(6, 4), textcoords="offset points", fontsize="x-small")
    ax_a.set_xlim(nc.min(), nc.max())
    ax_a.set_ylim(bottom=0.0)
    ax_a.set_xlabel(_NC_LABEL)
    ax_a.set_ylabel(r"$\widetilde N/N = \langle \eta_k^2 \rangle_{FS}$ (dimensionless)")
    ax_a.set_title(r"(a) $\eta_k^2$-weighted DOS relative to the DOS (Fig. 4a)", fontsize="medium")
    ax_a.legend(fontsize="x-small", loc="upper right")

    def angle_panel(ax, data, centres, letter, what):
        th = np.asarray(data["theta_deg"], dtype=float)
        for b, color, name in (("alpha", ALPHA_COLOR, r"\alpha"), ("beta", BETA_COLOR, r"\beta")):
            ax.plot(th, data[f"eq16_{b}"], color=color, lw=1.9, label=rf"$\Delta_{name}$: Eqs. (16) + (18)")
            ax.plot(
                th,
                data[f"num_{b}"],
                color=color,
                lw=1.3,
                ls="--",
                marker="o",
                mfc="white",
                ms=4,
                markevery=max(1, th.size // 12),
                zorder=3,
                label=rf"$|\Delta_{name}|$: numerical solution of Eq. (14)",
            )
        ax.axvline(45.0, color="0.6", ls=":", lw=1.0)
        ax.set_xlim(0.0, 90.0)
        ax.set_xticks([0, 15, 30, 45, 60, 75, 90])
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel(rf"Fermi-surface angle $\theta$ (deg), {centres}")
        ax.set_ylabel(r"$|\Delta(\theta)| / \Delta_\alpha(\theta = 0)$")
        ax.set_title(f"({letter}) gaps vs angle {what}", fontsize="medium")
        ax.legend(fontsize="x-small", loc="lower center", ncols=2)

    angle_panel(ax_b, angles, r"$\alpha$ around $\Gamma$, $\beta$ around M", "b", "(Fig. 4b)")
    angle_panel(ax_c, angles_gamma, r"both from $\Gamma$", "c", r"($\theta$ from $\Gamma$ on both sheets)")

    vmax = max(float(np.nanmax(np.abs(np.asarray(fs_map[f"gap_{b}"])))) for b in ("alpha", "beta"))
    vmax = vmax if vmax > 0 else 1.0
    norm = Normalize(-vmax, vmax)
    sc = None
    for b, lw in (("alpha", 0), ("beta", 0)):
        sc = ax_d.scatter(
            fs_map[f"kx_{b}"],
            fs_map[f"ky_{b}"],
            c=fs_map[f"gap_{b}"],
            cmap=DIVERGING_CMAP,
            norm=norm,
            s=9,
            lw=lw,
            rasterized=True,
        )
    cbar = fig.colorbar(sc, ax=ax_d, shrink=0.9)
    cbar.set_label(r"signed gap on the Fermi surface $\Delta_k$ (meV)")
    for name, (px, py) in {r"$\Gamma$": (0.0, 0.0), "X": (math.pi, 0.0), "M": (math.pi, math.pi)}.items():
        ax_d.plot([px], [py], "o", color="k", ms=3.5, clip_on=False, zorder=5)
        ax_d.annotate(name, (px, py), xytext=(-13, 5) if px < 3 else (-14, -14), textcoords="offset points")
    ax_d.text(
        0.0, -0.35, r"$\alpha$ ($\Delta > 0$)", ha="center", va="top", fontsize="small", color="k"
    )  # the alpha pocket is around Gamma
    ax_d.text(
        -2.35, -2.35, r"$\beta$ ($\Delta < 0$)", ha="center", va="center", fontsize="small", color="k"
    )  # the beta hole pocket around M
    ax_d.set_xlim(-math.pi, math.pi)
    ax_d.set_ylim(-math.pi, math.pi)
    ax_d.set_aspect("equal")
    ticks = ([-math.pi, 0.0, math.pi], [r"$-\pi$", r"$0$", r"$\pi$"])
    ax_d.set_xticks(*ticks)
    ax_d.set_yticks(*ticks)
    ax_d.set_xlabel(r"$k_x$")
    ax_d.set_ylabel(r"$k_y$")
    ax_d.set_title(r"(d) $s_\pm$ gap on the Fermi surfaces (numerical)", fontsize="medium")
    if title:
        fig.suptitle(title, fontsize="medium")
    return _finish(fig, path)


# ------------------------------------------------------------------ Delta(T)


def plot_gap_temperature_ladders(ladders: Sequence[Mapping], *, bcs_curve: bool = True, title=None, path=None):
    """``Delta(T)`` of several parameter points: one panel each, plus a normalised panel.

    Each ladder is a dict with ``label``, ``T_K`` (K), ``diag_alpha``, ``diag_beta``,
    ``max_alpha``, ``max_beta`` (meV, magnitudes), ``tc_s_K``, ``tc_d_K``,
    ``converged`` and optionally ``absolute`` (False: only in the normalised panel).
    The last panel shows ``Delta_diag(T)/Delta_diag(0)`` vs ``T/T_c^s`` for every
    ladder and sheet, with the BCS interpolation
    ``tanh(1.74 sqrt(T_c/T - 1))`` for reference.
    """
    absolute = [lad for lad in ladders if lad.get("absolute", True)]
    fig, axes = new_figure(len(absolute) + 1, size=(5.0 * (len(absolute) + 1), 4.9))
    axes = list(np.atleast_1d(axes))
    for ax, lad in zip(axes, absolute, strict=False):
        T = np.asarray(lad["T_K"], dtype=float)
        for b, color, name in (("alpha", ALPHA_COLOR, r"\alpha"), ("beta", BETA_COLOR, r"\beta")):
            ax.plot(T, lad[f"diag_{b}"], "o-", color=color, ms=3, lw=1.5, label=rf"$|\Delta_{name}(\theta=45^\circ)|$")
            ax.plot(T, lad[f"max_{b}"], "--", color=color, lw=1.3, label=rf"$\max_\theta |\Delta_{name}(\theta)|$")
        bad = ~np.asarray(lad["converged"], dtype=bool)
        if bad.any():
            ax.plot(T[bad], np.zeros(int(bad.sum())), "x", color="red", ms=8, label=f"not converged ({int(bad.sum())})")
        for key, text, color in (
            ("tc_s_K", r"$T_c$ ($s_\pm$)", "k"),
            ("tc_d_K", r"$T_c$ of the d channel ($s_\pm$ leads)", "C4"),
        ):
            tc = lad.get(key)
            if tc is not None and math.isfinite(tc) and tc > 0:
                ax.axvline(tc, color=color, ls=":", lw=1.3, label=f"{text} = {tc:.4g} K")
        ax.set_xlim(0.0, float(T.max()) * 1.02)
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel("temperature $T$ (K)")
        ax.set_ylabel(r"gap on the Fermi surface $|\Delta|$ (meV)")
        ax.set_title(lad["label"], fontsize="medium")
        ax.legend(fontsize="x-small", loc="lower left")
    ax = axes[-1]
    styles = ("-", "--", "-.", ":")
    for i, lad in enumerate(ladders):
        T = np.asarray(lad["T_K"], dtype=float)
        tc = float(lad["tc_s_K"])
        for b, color, name in (("alpha", ALPHA_COLOR, r"\alpha"), ("beta", BETA_COLOR, r"\beta")):
            d = np.asarray(lad[f"diag_{b}"], dtype=float)
            ax.plot(
                T / tc,
                d / d[0] if d[0] > 0 else d,
                ls=styles[i % len(styles)],
                color=color,
                lw=1.4,
                label=rf"$\Delta_{name}$, {lad['short']}",
            )
    if bcs_curve:
        t = np.linspace(1e-3, 1.0, 400)
        ax.plot(
            t,
            np.tanh(1.74 * np.sqrt(1.0 / t - 1.0)),
            color="k",
            lw=1.0,
            ls=(0, (2, 2)),
            zorder=5,
            label=r"BCS: $\tanh(1.74\sqrt{T_c/T - 1})$",
        )
    ax.set_xlim(0.0, 1.1)
    ax.set_ylim(0.0, 1.08)
    ax.set_xlabel(r"$T / T_c^{s\pm}$")
    ax.set_ylabel(r"$\Delta(T) / \Delta(0)$ on the zone diagonal")
    ax.set_title("normalised", fontsize="medium")
    ax.legend(fontsize="x-small", loc="lower left")
    if title:
        fig.suptitle(title, fontsize="medium")
    return _finish(fig, path)


# ------------------------------------------------------------------ T_c(lambda)


def plot_tc_vs_lambda(
    lam,
    tc_series: Mapping[str, tuple],
    ratio_lam,
    ratio_series: Mapping[str, tuple],
    *,
    weak_coupling=None,
    hlines: Sequence = (),
    lam_marks: Sequence[float] = (),
    bcs: float | None = None,
    title=None,
    path=None,
):
    """(a) ``T_c`` (K, log scale) vs ``lambda``; (b) ``2 Delta / k_B T_c`` vs ``lambda``.

    ``tc_series``: label -> ``(T_c array in K, style dict)``; ``weak_coupling``:
    ``(label, T_c array)`` on ``lam``; ``hlines``: ``(T in K, label)``;
    ``lam_marks``: lambdas marked by dotted verticals.  ``ratio_series``: label ->
    ``(values on ratio_lam, style dict)``; ``bcs``: the BCS value drawn as a line.
    """
    fig, (ax1, ax2) = new_figure(2, size=(12.4, 5.6))
    lam = np.asarray(lam, dtype=float)
    for label, (tc, style) in tc_series.items():
        tc = np.asarray(tc, dtype=float)
        ok = tc > 0
        ax1.plot(lam[ok], tc[ok], label=label, **{"lw": 1.8, **style})
    if weak_coupling is not None:
        label, tc = weak_coupling
        ax1.plot(lam, tc, color="0.5", lw=1.0, ls="-.", label=label)
    for i, (T, label) in enumerate(hlines):
        ax1.axhline(T, color=("0.35", "0.6")[i % 2], lw=0.9, ls=(0, (6, 3)), label=label)
    for x in lam_marks:
        ax1.axvline(x, color="0.8", lw=0.8, ls=":")
        ax2.axvline(x, color="0.8", lw=0.8, ls=":")
    ax1.set_yscale("log")
    ax1.set_xlim(lam.min(), lam.max())
    ax1.set_xlabel(r"coupling $\lambda = V\sqrt{N_\alpha N_\beta}$")
    ax1.set_ylabel(r"critical temperature $T_c$ (K)")
    ax1.set_title(r"(a) mean-field $T_c$ from the linearised Eq. (14)", fontsize="medium")
    ax1.legend(fontsize="x-small", loc="lower right")
    rl = np.asarray(ratio_lam, dtype=float)
    for label, (vals, style) in ratio_series.items():
        ax2.plot(rl, vals, label=label, **{"lw": 1.6, "marker": "o", "ms": 3.5, **style})
    if bcs is not None:
        ax2.axhline(bcs, color="k", lw=0.9, ls=":", label=rf"BCS $2\pi e^{{-\gamma_E}}$ = {bcs:.3f}")
    ax2.set_xlim(lam.min(), lam.max())
    ax2.set_xlabel(r"coupling $\lambda = V\sqrt{N_\alpha N_\beta}$")
    ax2.set_ylabel(r"$2\Delta(T=0) / k_B T_c$")
    ax2.set_title(r"(b) gap-to-$T_c$ ratios ($s_\pm$ state, $T_c$ of the leading channel)", fontsize="medium")
    ax2.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=3, frameon=False)
    if title:
        fig.suptitle(title, fontsize="medium")
    return _finish(fig, path)


#: region colours of the phase diagram (normal, s+-, d, s+id): qualitative, one per state
PHASE_COLORS = ("0.92", "#4C72B0", "#DD8452", "#55A868")


def plot_phase_diagram(pd: Mapping, *, title=None, path=None):
    """Ground state over complex gaps: ``(kappa_a, kappa_b)`` at T = 0 and ``(S, T)`` at fixed P.

    ``pd``: the dict of :func:`jaxnickel.triplon.phase_diagram.phase_diagram`.  Left: the
    regions (normal / s+- / d / s+id) of the ``kappa`` plane with the line
    ``kappa_a kappa_b = P`` of the right panel; right: the regions over
    ``S = kappa_a + kappa_b`` and T, with ``T_c`` of both channels (lines) and the
    highest s+id temperature of the map per S (the lower transition into s+id).
    Non-converged points are crossed.  Returns the Figure; saves it to ``path`` if given.
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    cmap = ListedColormap(PHASE_COLORS)
    norm = BoundaryNorm([-0.5, 0.5, 1.5, 2.5, 3.5], cmap.N)
    fig, (a1, a2) = new_figure(2, size=(12.5, 4.6))

    def regions(ax, x, y, codes, converged):
        ax.pcolormesh(x, y, np.asarray(codes).T, cmap=cmap, norm=norm, shading="nearest")
        ii, jj = np.nonzero(~np.asarray(converged, dtype=bool))
        if ii.size:
            ax.plot(x[ii], y[jj], "x", color="red", ms=6)

    ka, kb = np.asarray(pd["kappa_a"]), np.asarray(pd["kappa_b"])
    regions(a1, ka, kb, pd["ground_kk"], pd["converged_kk"])
    P = float(pd["P"])
    xs = np.linspace(max(ka.min(), 1e-3), ka.max(), 200)
    ys = P / xs
    ok = (ys >= kb.min()) & (ys <= kb.max())
    a1.plot(xs[ok], ys[ok], "k--", lw=1.2, label=rf"$\kappa_a\kappa_b = {P:g}$")
    a1.set_xlabel(r"$\kappa_a$")
    a1.set_ylabel(r"$\kappa_b$")
    a1.set_title(r"ground state at $T = 0$", fontsize="medium")
    a1.legend(fontsize="small", loc="upper right")

    S, T = np.asarray(pd["S"]), np.asarray(pd["T_K"])
    regions(a2, S, T, pd["ground_ST"], pd["converged_ST"])
    a2.plot(S, pd["tc_s_K"], "-", color="k", lw=1.8, label=r"$T_c$ ($s_\pm$)")
    a2.plot(S, pd["tc_d_K"], "-", color="C3", lw=1.8, label=r"$T_c$ (d)")
    tsid = np.asarray(pd["T_sid_K"], dtype=float)
    if np.isfinite(tsid).any():
        a2.plot(S, tsid, "v:", color="C2", ms=5, lw=1.2, label=r"highest $s+id$ $T$ of the map")
    a2.set_ylim(T.min(), T.max())
    a2.set_xlabel(r"$S = \kappa_a + \kappa_b$")
    a2.set_ylabel("temperature $T$ (K)")
    a2.set_title(rf"on $\kappa_a\kappa_b = {P:g}$", fontsize="medium")
    handles = [
        Patch(color=c, label=n) for c, n in zip(PHASE_COLORS, ("normal", r"$s_\pm$", "d", r"$s_\pm + id$"), strict=True)
    ]
    lines, labels = a2.get_legend_handles_labels()
    a2.legend(
        handles=handles + lines, fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0
    )
    if title is None:
        title = (
            f"triplon model over complex gaps: V = {float(pd['V']):.4g} eV, {pd['cutoff']} cutoff, "
            f"{int(pd['grid'])}$^2$ grid"
        )
    fig.suptitle(title, fontsize="medium")
    return _finish(fig, path)
