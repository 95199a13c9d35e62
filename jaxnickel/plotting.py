"""Figures: Brillouin-zone gap maps, crossover maps and parameter-scan curves.

Everything here draws on :class:`matplotlib.figure.Figure` objects created
directly (never through ``pyplot``), so importing or using this module neither
selects nor changes the user's matplotlib backend: files are written by the
figure's own Agg canvas, and a user who passes ``ax=`` from their own
``pyplot`` figure gets the drawing there (and that figure is returned).

Every function returns the :class:`~matplotlib.figure.Figure` it drew on and,
when ``path`` is given, saves it there (parent folders are created).

Energies are plotted in units of ``V`` (divided by ``params.V``), as in the
paper's figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

__all__ = [
    "plot_gap",
    "plot_crossover_map",
    "plot_scan",
    "new_figure",
    "save_figure",
    "parameter_title",
    "DIVERGING_CMAP",
]

#: diverging colour map used for signed quantities (always centred at zero)
DIVERGING_CMAP = "RdBu_r"

_PI_TICKS = ([-math.pi, 0.0, math.pi], [r"$-\pi$", r"$0$", r"$\pi$"])


# ------------------------------------------------------------------ helpers


def new_figure(ncols: int = 1, nrows: int = 1, *, size=None, **subplot_kw):
    """A pyplot-free :class:`Figure` with an ``nrows x ncols`` grid of axes.

    Returns ``(fig, axes)``; ``axes`` is a single Axes for a 1x1 grid, else a
    flat list.
    """
    if size is None:
        size = (5.2 * ncols, 4.2 * nrows)
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    flat = [a for row in axes for a in row]
    return fig, (flat[0] if len(flat) == 1 else flat)


def save_figure(fig: Figure, path, *, dpi: int = 130) -> Path:
    """Save ``fig`` to ``path`` (format from the suffix), creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def _axes(ax, *, size=(5.6, 4.6)):
    if ax is None:
        fig, ax = new_figure(size=size)
        return fig, ax
    return ax.figure, ax


def _finish(fig, path):
    if path is not None:
        save_figure(fig, path)
    return fig


def _fmt(x) -> str:
    return f"{float(x):.4g}"


def parameter_title(params, lattice, *, keys=("t", "J", "epsilon", "n_holes")) -> str:
    """A one-line title: lattice, couplings in units of ``V``, ``N_h`` and doping."""
    V = float(np.asarray(params.V))
    parts = [lattice.name]
    names = {"t": r"$t/V$", "J": r"$J/V$", "epsilon": r"$\epsilon$"}
    for key in keys:
        val = float(np.asarray(getattr(params, key)))
        if key == "n_holes":
            parts.append(rf"$N_h$={_fmt(val)} ($\delta$={val / lattice.n_sites:.3g})")
        elif key == "epsilon":
            if lattice.dim == 2:
                parts.append(rf"{names[key]}={_fmt(val)}")
        else:
            parts.append(rf"{names[key]}={_fmt(val / V)}")
    if getattr(params, "hartree", False):
        parts.append("Hartree")
    return ", ".join(parts)


# ------------------------------------------------------------------ gap maps


def _shift_to_bz(k1d: np.ndarray, values: np.ndarray, axis: int):
    """Map grid momenta ``2 pi n / L`` to ``[-pi, pi]`` (both edges, by periodicity)."""
    k = np.where(k1d >= math.pi - 1e-9, k1d - 2.0 * math.pi, k1d)  # [-pi, pi)
    order = np.argsort(k)
    k = k[order]
    values = np.take(values, order, axis=axis)
    if np.isclose(k[0], -math.pi):  # even L: -pi is on the grid, append +pi
        k = np.append(k, math.pi)
        values = np.concatenate([values, np.take(values, [0], axis=axis)], axis=axis)
    return k, values


def _fine_fields(sol, n: int):
    """``(k-axes, xi, Delta)`` of ``sol``'s mean fields on a fine grid over [-pi, pi]^d."""
    k1 = np.linspace(-math.pi, math.pi, n)
    if sol.lattice.dim == 1:
        xi, delta = sol.mean_fields_at((k1,))
        return (k1,), np.asarray(xi), np.asarray(delta)
    KX, KY = np.meshgrid(k1, k1, indexing="ij")
    xi, delta = sol.mean_fields_at((KX.reshape(-1), KY.reshape(-1)))
    return (k1, k1), np.asarray(xi).reshape(n, n), np.asarray(delta).reshape(n, n)


def _check_single(sol):
    if np.ndim(np.asarray(sol.energy)) != 0:
        raise ValueError("plot_gap needs a single solution, not a batched (vmapped) one: index it first")


def plot_gap(sol, path=None, ax=None, *, smooth: bool = False, contours: bool = True, title: str | None = None):
    """Plot the gap function ``Delta_k`` of a :class:`~jaxnickel.mixd.MixDSolution`.

    * 2D: a Brillouin-zone map over ``[-pi, pi]^2`` with a diverging colour map
      centred at zero (symmetric limits), the lattice's k-points as cells
      (``smooth=True``: the continuous ``Delta_k`` of the same mean fields on a
      fine grid instead), the nodal line ``Delta_k = 0`` dashed and, where one
      exists, the Fermi surface ``xi_k = 0`` dotted (``contours=False`` drops both).
    * 1D: ``Delta_k`` and ``xi_k`` vs ``k`` in ``[-pi, pi]`` (grid points as
      markers, the continuous mean fields as lines) with a zero line.

    Values are in units of ``V``.  Returns the Figure (``ax.figure`` when ``ax``
    is given); saves it to ``path`` if given.
    """
    _check_single(sol)
    lattice, params = sol.lattice, sol.params
    V = float(np.asarray(params.V))
    if title is None:
        title = parameter_title(params, lattice)
    if lattice.dim == 1:
        return _plot_gap_1d(sol, path, ax, V, title)
    if lattice.dim != 2:
        raise ValueError(f"plot_gap supports 1D and 2D lattices, got dim={lattice.dim}")

    fig, ax = _axes(ax, size=(5.8, 4.9))
    kgrid = np.asarray(sol.k)
    kx = kgrid[0].reshape(lattice.shape)[:, 0]
    ky = kgrid[1].reshape(lattice.shape)[0, :]
    delta = sol.grid("delta") / V
    kx, delta = _shift_to_bz(kx, delta, axis=0)
    ky, delta = _shift_to_bz(ky, delta, axis=1)
    (fk, _), fxi, fdelta = _fine_fields(sol, 257)
    fxi, fdelta = fxi / V, fdelta / V

    if smooth:
        vmax = float(np.max(np.abs(fdelta)))
        vmax = vmax if vmax > 0 else 1.0
        mesh = ax.pcolormesh(fk, fk, fdelta.T, cmap=DIVERGING_CMAP, vmin=-vmax, vmax=vmax, shading="gouraud")
    else:
        vmax = float(np.max(np.abs(delta)))
        vmax = vmax if vmax > 0 else 1.0
        # cells centred on the k-points; array index (ix, iy) -> image (row=y, col=x)
        mesh = ax.pcolormesh(kx, ky, delta.T, cmap=DIVERGING_CMAP, vmin=-vmax, vmax=vmax, shading="nearest")
    cbar = fig.colorbar(mesh, ax=ax)
    cbar.set_label(r"$\Delta_k$ (units of $V$)")

    handles = []
    if contours:
        from matplotlib.lines import Line2D

        if fdelta.min() < 0.0 < fdelta.max():
            ax.contour(fk, fk, fdelta.T, levels=[0.0], colors="k", linestyles="--", linewidths=1.2)
            handles.append(Line2D([], [], color="k", ls="--", label=r"$\Delta_k = 0$ (nodal line)"))
        if fxi.min() < 0.0 < fxi.max():
            ax.contour(fk, fk, fxi.T, levels=[0.0], colors="0.25", linestyles=":", linewidths=1.4)
            handles.append(Line2D([], [], color="0.25", ls=":", label=r"$\xi_k = 0$ (Fermi surface)"))
        if handles:
            # below the axes: the zone corners carry data (Fig. 7's third region)
            ax.legend(
                handles=handles,
                loc="upper center",
                bbox_to_anchor=(0.5, -0.13),
                ncols=len(handles),
                fontsize="small",
                frameon=False,
            )

    if smooth:
        ax.set_xlim(-math.pi, math.pi)
        ax.set_ylim(-math.pi, math.pi)
    else:  # the cells of the grid points, half a spacing beyond the outer ones
        ax.set_xlim(kx[0] - math.pi / lattice.shape[0], kx[-1] + math.pi / lattice.shape[0])
        ax.set_ylim(ky[0] - math.pi / lattice.shape[1], ky[-1] + math.pi / lattice.shape[1])
    ax.set_aspect("equal")
    ax.set_xticks(*_PI_TICKS)
    ax.set_yticks(*_PI_TICKS)
    ax.set_xlabel(r"$k_x$")
    ax.set_ylabel(r"$k_y$")
    ax.set_title(title, fontsize="medium")
    return _finish(fig, path)


def _plot_gap_1d(sol, path, ax, V, title):
    fig, ax = _axes(ax, size=(6.0, 4.2))
    k = np.asarray(sol.k)[0]
    k, vals = _shift_to_bz(k, np.stack([np.asarray(sol.delta), np.asarray(sol.xi)]) / V, axis=1)
    (fk,), fxi, fdelta = _fine_fields(sol, 1025)
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.plot(fk, fdelta / V, color="C3", lw=1.5, label=r"$\Delta_k$")
    ax.plot(k, vals[0], "o", color="C3", ms=3.5, label=r"$\Delta_k$ on the grid")
    ax.plot(fk, fxi / V, color="C0", lw=1.5, label=r"$\xi_k$")
    ax.plot(k, vals[1], "s", color="C0", ms=3.0, label=r"$\xi_k$ on the grid")
    ax.set_xlim(-math.pi, math.pi)
    ax.set_xticks(*_PI_TICKS)
    ax.set_xlabel(r"$k$")
    ax.set_ylabel(r"energy / $V$")
    ax.legend(fontsize="small", loc="best")
    ax.set_title(title, fontsize="medium")
    return _finish(fig, path)


# ------------------------------------------------------------------ crossover plots


def _edges(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def plot_crossover_map(
    x,
    y,
    z,
    *,
    xlabel: str = r"$J/V$",
    ylabel: str = r"doping $\delta = N_h/N$",
    zlabel: str = "",
    title: str = "",
    ax=None,
    path=None,
    converged=None,
    zero_contour: bool = True,
    vlim: float | None = None,
    curves: Mapping[str, tuple] | None = None,
    hlines: Sequence[tuple[float, str]] = (),
    legend_loc: str = "upper left",
):
    """Colour map of a signed quantity ``z[i, j]`` at ``(x[j], y[i])``.

    Diverging colour map centred at zero (symmetric limits ``+-vlim``, default
    ``max|z|``); ``zero_contour`` draws the sign change (the crossover line) in
    black (interpolated between grid points); ``converged`` (same shape as ``z``) marks failed points with a red
    cross; ``curves`` maps a legend label to ``(x, y)`` points to overlay (e.g.
    root-solved crossover points); ``hlines`` draws dashed cuts ``(y, label)``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    z = np.asarray(z, dtype=float)
    if z.shape != (y.size, x.size):
        raise ValueError(f"z must have shape (len(y), len(x)) = {(y.size, x.size)}, got {z.shape}")
    fig, ax = _axes(ax, size=(6.2, 4.6))
    if vlim is None:
        vlim = float(np.nanmax(np.abs(z))) if np.any(np.isfinite(z)) else 1.0
        vlim = vlim if vlim > 0 else 1.0
    mesh = ax.pcolormesh(_edges(x), _edges(y), z, cmap=DIVERGING_CMAP, norm=Normalize(-vlim, vlim))
    cbar = fig.colorbar(mesh, ax=ax)
    cbar.set_label(zlabel)
    if zero_contour and y.size > 1 and x.size > 1 and np.nanmin(z) < 0.0 < np.nanmax(z):
        ax.contour(x, y, z, levels=[0.0], colors="k", linewidths=1.3)
        ax.plot([], [], color="k", lw=1.3, label="zero (interpolated)")
    for yv, label in hlines:
        ax.axhline(yv, color="0.15", ls="--", lw=1.0, label=label)
    for i, (label, (cx, cy)) in enumerate((curves or {}).items()):
        ax.plot(cx, cy, "o", color=f"C{(i + 2) % 10}", mec="k", ms=5, label=label)
    if converged is not None:
        bad = ~np.asarray(converged, dtype=bool)
        if bad.any():
            X, Y = np.meshgrid(x, y)
            ax.plot(X[bad], Y[bad], "x", color="red", ms=6, label=f"not converged ({int(bad.sum())})")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc=legend_loc, framealpha=0.85)
    ax.set_xlim(_edges(x)[0], _edges(x)[-1])
    ax.set_ylim(_edges(y)[0], _edges(y)[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize="medium")
    return _finish(fig, path)


def plot_scan(
    x,
    series: Mapping[str, np.ndarray],
    *,
    xlabel: str = r"$J/V$",
    ylabel: str = "",
    title: str = "",
    ax=None,
    path=None,
    styles: Mapping[str, dict] | None = None,
    converged=None,
    vlines: Sequence[tuple[float, str]] = (),
    zero_line: bool = False,
    legend_loc: str = "best",
):
    """Curves ``series[label](x)`` vs a scanned parameter (default ``J/V``).

    ``styles[label]`` are extra ``Axes.plot`` keywords; ``converged`` (shape of
    ``x``) marks non-converged points with red crosses on every curve;
    ``vlines`` draws dotted vertical markers ``(x, label)`` (e.g. a crossover);
    ``legend_loc`` is a matplotlib location or ``"below"`` (under the axes).
    """
    x = np.asarray(x, dtype=float)
    fig, ax = _axes(ax, size=(6.4, 5.4) if legend_loc == "below" else (5.8, 4.4))
    styles = styles or {}
    if zero_line:
        ax.axhline(0.0, color="0.5", lw=0.8)
    bad = None if converged is None else ~np.asarray(converged, dtype=bool)
    for label, y in series.items():
        y = np.asarray(y, dtype=float)
        ax.plot(x, y, label=label, **{"lw": 1.6, **styles.get(label, {})})
        if bad is not None and bad.any():
            ax.plot(x[bad], y[bad], "x", color="red", ms=7)
    if bad is not None and bad.any():
        ax.plot([], [], "x", color="red", label=f"not converged ({int(bad.sum())})")
    for i, (xv, label) in enumerate(vlines):
        ax.axvline(xv, color=("0.2", "C4", "C5", "C6")[i % 4], ls=":", lw=1.3, label=label)
    ax.set_xlim(x.min(), x.max())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize="medium")
    if legend_loc == "below":
        n = len(ax.get_legend_handles_labels()[0])
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=min(n, 2), frameon=False)
    else:
        ax.legend(fontsize="small", loc=legend_loc)
    return _finish(fig, path)
