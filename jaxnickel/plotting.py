"""Figures: Brillouin-zone gap maps, crossover maps and parameter-scan curves.

Everything here draws on :class:`matplotlib.figure.Figure` objects created
directly (never through ``pyplot``), so importing or using this module neither
selects nor changes the user's matplotlib backend: files are written by the
figure's own Agg canvas, and a user who passes ``ax=`` from their own
``pyplot`` figure gets the drawing there (and that figure is returned).

Every function returns the :class:`~matplotlib.figure.Figure` it drew on and,
when ``path`` is given, saves it there (parent folders are created).

MixD figures (``plot_gap``, ...): energies in units of ``V`` (divided by
``params.V``), as in that paper's figures.  Triplon-model figures (paper 001:
``plot_triplon_gaps``, ``plot_bands``, ``plot_dos_vs_density``,
``plot_gap_vs_temperature``): gaps in meV, band energies in eV, temperatures in K.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure as _MplFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Arc

__all__ = [
    "plot_fit",
    "plot_gap",
    "plot_crossover_map",
    "plot_scan",
    "new_figure",
    "save_figure",
    "parameter_title",
    "DIVERGING_CMAP",
    "plot_triplon_gaps",
    "plot_bands",
    "plot_dos_vs_density",
    "plot_gap_vs_temperature",
    "band_critical_points",
    "triplon_title",
]

#: diverging colour map used for signed quantities (always centred at zero)
DIVERGING_CMAP = "RdBu_r"
#: colour map of positive-only quantities (order parameters, energies above zero)
SEQUENTIAL_CMAP = "viridis"

_PI_TICKS = ([-math.pi, 0.0, math.pi], [r"$-\pi$", r"$0$", r"$\pi$"])


# ------------------------------------------------------------------ helpers


class Figure(_MplFigure):
    """A pyplot-free matplotlib :class:`~matplotlib.figure.Figure` that shows itself in Jupyter.

    The package never touches pyplot's global state (no figure manager, safe in
    threads and scripts), so IPython's pyplot hooks do not know its figures; this
    class gives them the rich-display method IPython looks for (``_repr_png_``), so a
    figure returned as the last expression of a notebook cell (or passed to
    ``display``) renders as an image.
    """

    def _repr_png_(self) -> bytes:
        import io

        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


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
    markers: Mapping[str, tuple] | None = None,
):
    """Colour map of a quantity ``z[i, j]`` at ``(x[j], y[i])``.

    A signed ``z`` gets a diverging colour map centred at zero (symmetric limits
    ``+-vlim``, default ``max|z|``), a positive-only one the sequential
    :data:`SEQUENTIAL_CMAP` on ``[0, vlim]``; ``zero_contour`` draws the sign change (the crossover line) in
    black (interpolated between grid points); ``converged`` (same shape as ``z``) marks failed points with a red
    cross; ``curves`` maps a legend label to ``(x, y)`` points to overlay (e.g.
    root-solved crossover points); ``hlines`` draws dashed cuts ``(y, label)``;
    ``markers`` maps a legend label to ``(x, y, z)`` points drawn as crosses in the
    map's colour code (e.g. DMRG values on top of the mean-field map).
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
    # a signed quantity gets the diverging map centred on zero; a positive-only one a sequential map
    signed = bool(np.any(np.isfinite(z))) and float(np.nanmin(z)) < 0.0
    cmap, norm = (DIVERGING_CMAP, Normalize(-vlim, vlim)) if signed else (SEQUENTIAL_CMAP, Normalize(0.0, vlim))
    mesh = ax.pcolormesh(_edges(x), _edges(y), z, cmap=cmap, norm=norm)
    cbar = fig.colorbar(mesh, ax=ax)
    cbar.set_label(zlabel)
    if zero_contour and y.size > 1 and x.size > 1 and np.nanmin(z) < 0.0 < np.nanmax(z):
        ax.contour(x, y, z, levels=[0.0], colors="k", linewidths=1.3)
        ax.plot([], [], color="k", lw=1.3, label="zero (interpolated)")
    for yv, label in hlines:
        ax.axhline(yv, color="0.15", ls="--", lw=1.0, label=label)
    for i, (label, (cx, cy)) in enumerate((curves or {}).items()):
        ax.plot(cx, cy, "o", color=f"C{(i + 2) % 10}", mec="k", ms=5, label=label)
    for label, (mx, my, mz) in (markers or {}).items():
        ax.scatter(
            mx,
            my,
            c=mz,
            cmap=cmap,
            norm=norm,
            marker="X",
            s=90,
            edgecolors="k",
            linewidths=0.9,
            zorder=4,
            label=label,
        )
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
    markers: Mapping[str, tuple] | None = None,
):
    """Curves ``series[label](x)`` vs a scanned parameter (default ``J/V``).

    ``styles[label]`` are extra ``Axes.plot`` keywords; ``converged`` (shape of
    ``x``) marks non-converged points with red crosses on every curve;
    ``vlines`` draws dotted vertical markers ``(x, label)`` (e.g. a crossover);
    ``legend_loc`` is a matplotlib location or ``"below"`` (under the axes);
    ``markers[label] = (x, y)`` or ``(x, y, style)`` adds points (e.g. DMRG values;
    default black crosses).
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
    for label, (mx, my, *style) in (markers or {}).items():
        ax.plot(
            mx,
            my,
            ls="none",
            label=label,
            **{"marker": "x", "color": "k", "ms": 8, "mew": 1.8, **(style[0] if style else {})},
        )
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


# ------------------------------------------------------------------ triplon model (paper 001)
#
# Energies of the triplon model are in eV in jaxnickel.triplon; these figures show
# gaps in meV, band energies in eV and temperatures in K.  jaxnickel.triplon (and so
# jax) is imported inside the functions only.

_ALPHA_COLOR = "C0"  # blue, as in the paper's Fig. 2
_BETA_COLOR = "C3"  # red
_TRIPLON_LABELS = {"alpha": r"$\alpha$", "beta": r"$\beta$"}
_BZ_POINTS = {"G": (0.0, 0.0), "X": (math.pi, 0.0), "M": (math.pi, math.pi)}
_BZ_NAMES = {"G": r"$\Gamma$", "X": "X", "M": "M"}


def _check_single_triplon(sol, name: str):
    if np.ndim(np.asarray(sol.free_energy)) != 0:
        raise ValueError(f"{name} needs a single TriplonSolution, not a batched one: index it first")


def _dispersion_grid(bp, n: int = 401):
    """``(k1, xi_alpha, xi_beta)`` of Eq. (5) on an ``n x n`` grid over ``[-pi, pi]^2`` (``[ix, iy]``), eV."""
    from .triplon.bands import dispersion

    k1 = np.linspace(-math.pi, math.pi, n)
    KX, KY = np.meshgrid(k1, k1, indexing="ij")
    xa, xb = dispersion(KX, KY, bp)
    return k1, np.asarray(xa), np.asarray(xb)


def _contour_line(ax, k1, xi, **kw):
    """The line ``xi = 0`` of a ``[ix, iy]`` field (nothing if the level is not crossed)."""
    if np.nanmin(xi) < 0.0 < np.nanmax(xi):
        ax.contour(k1, k1, xi.T, levels=[0.0], **kw)
        return True
    return False


def _pocket_center_names(bp, *, verify: bool = False, rays: dict | None = None):
    """``("G" | "M" | None, ...)``: centre of the Fermi-surface angle of each band's sheet.

    From :func:`jaxnickel.triplon.solution.pocket_centers` (the centre the solution's
    ``theta`` is measured from).  ``verify=True`` also requires every ray from that
    centre (the 91 angles ``0, 1, ..., 90`` degrees) to cross the sheet, i.e. one
    closed pocket around it, and gives ``None`` otherwise (e.g. a beta sheet made of
    a Gamma pocket plus separate X pockets, which ``pocket_centers`` calls "around M");
    the crossings found are stored in ``rays[band]`` if a dict is given.
    """
    from .triplon.bands import BANDS, fermi_surface
    from .triplon.solution import pocket_centers

    names = {0: "G", 1: "M"}
    out = []
    for band, c in zip(BANDS, pocket_centers(bp), strict=True):
        name = names.get(int(np.asarray(c)))
        if verify and name is not None:
            fs = fermi_surface(bp, band, np.linspace(0.0, 0.5 * math.pi, 91), center=name)
            fs = {k: np.asarray(v) for k, v in fs.items()}
            if not np.isfinite(fs["k_F"]).all():
                name = None
            elif rays is not None:
                rays[band] = fs
        out.append(name)
    return tuple(out)


def triplon_title(sol) -> str:
    """One-line title of a triplon solution: n_c, lambda, kappas, Omega, T (K), state, grid."""
    from .triplon import K_B, dos_fermi, fillings

    p = sol.params
    n = int(sol.grid)
    na, nb = fillings(p.bands, n)
    dos = dos_fermi(p.bands, n)
    V = float(np.asarray(p.V))
    lam = V * math.sqrt(max(float(dos.N_alpha) * float(dos.N_beta), 0.0))
    T_K = float(np.asarray(p.T)) / K_B
    channel = {"s+-": r"$s_\pm$"}.get(sol.channel_name, sol.channel_name)
    return (
        rf"$n_c$={float(na) + float(nb):.4g}, $\lambda$={lam:.3g}, "
        rf"$\kappa_a$={_fmt(p.kappa_a)}, $\kappa_b$={_fmt(p.kappa_b)}, "
        rf"$\Omega$={_fmt(p.omega)} eV, $T$={T_K:.4g} K -- {channel} state, {n}$\times${n} grid"
    )


def plot_triplon_gaps(sol, path=None, *, title: str | None = None, fs_points: int = 401):
    """Gaps of a :class:`~jaxnickel.triplon.TriplonSolution`, three panels (Fig. 4b and beyond).

    (a) the signed Fermi-surface gaps ``Delta_alpha(theta)``, ``Delta_beta(theta)`` in
    meV vs the Fermi-surface angle ``theta`` in degrees (0..90), each sheet's angle
    measured around the centre of its pocket (Gamma or M, named in the legend; see
    :mod:`jaxnickel.triplon.solution`), with a zero line; NaN (open sheet) leaves a gap
    in the curve.  (b), (c) ``Delta_alpha,k`` and ``Delta_beta,k`` on the solution's
    k-grid, shifted to ``[-pi, pi]^2`` (cells centred on the k-points), with a diverging
    colour map centred at zero and the same symmetric limits on both maps (colourbars
    in meV); the band's own Fermi surface ``xi = 0`` is drawn as a solid black line
    and the other band's as a dotted grey one (from Eq. 5 on a ``fs_points``-point
    grid).  The title gives ``n_c`` and ``lambda = V sqrt(N_alpha N_beta)`` (from
    the bands on the solution's grid), ``kappa_a``, ``kappa_b``, ``Omega`` and T in K.

    Returns the Figure; saves it to ``path`` if given.
    """
    _check_single_triplon(sol, "plot_triplon_gaps")
    bp = sol.params.bands
    n = int(sol.grid)
    fig = Figure(figsize=(16.0, 4.9), layout="constrained")
    axes = fig.subplots(1, 3, width_ratios=[1.25, 1.0, 1.0])
    ax = axes[0]

    centers = _pocket_center_names(bp)
    theta_deg = np.degrees(np.asarray(sol.theta))
    ax.axhline(0.0, color="0.5", lw=0.8)
    fs_gaps = {}
    for b, color, center in zip(("alpha", "beta"), (_ALPHA_COLOR, _BETA_COLOR), centers, strict=True):
        gap = 1e3 * np.asarray(getattr(sol, f"delta_{b}_fs"), dtype=float)
        fs_gaps[b] = gap
        if center is None:
            where = "open sheet: no pocket angle, NaN"
        elif not np.isfinite(gap).all():
            # rays from the centre miss the sheet somewhere: not one closed pocket around it
            where = f"angle around {_BZ_NAMES[center]}; not one pocket there, NaN where rays miss"
        else:
            where = f"angle around {_BZ_NAMES[center]}"
        ax.plot(theta_deg, gap, color=color, lw=1.8, label=rf"$\Delta_{_TRIPLON_LABELS[b][1:-1]}(\theta)$ ({where})")
    ax.axvline(45.0, color="0.6", ls=":", lw=1.0)
    ax.set_xlim(0.0, 90.0)
    ax.set_xticks([0, 15, 30, 45, 60, 75, 90])
    ax.set_xlabel(r"Fermi-surface angle $\theta$ (deg)")
    ax.set_ylabel(r"gap on the Fermi surface $\Delta(\theta)$ (meV)")
    i45 = (theta_deg.size - 1) // 2  # theta = pi/4 (eta = 0), as TriplonSolution.gap_ratio
    da45, db45 = fs_gaps["alpha"][i45], fs_gaps["beta"][i45]
    legend_title = None
    # the ratio on the diagonal only means something for s+- (d has its nodes there)
    if sol.channel_name == "s+-" and math.isfinite(da45) and math.isfinite(db45) and db45 != 0.0:
        legend_title = rf"$|\Delta_\alpha/\Delta_\beta|$ at $\theta$=45$^\circ$: {abs(da45 / db45):.3f}"
    ax.legend(
        fontsize="small",
        loc="upper center",
        bbox_to_anchor=(0.5, -0.13),
        title=legend_title,
        title_fontsize="small",
        frameon=False,
    )
    ax.set_title(r"(a) gaps on the Fermi surfaces", fontsize="medium")

    # BZ maps from the grid values, shared symmetric colour limits
    k = 2.0 * math.pi * np.arange(n) / n
    maps = {}
    for b in ("alpha", "beta"):
        vals = 1e3 * sol.grid_array(f"delta_{b}")
        kx, vals = _shift_to_bz(k, vals, axis=0)
        ky, vals = _shift_to_bz(k, vals, axis=1)
        maps[b] = (kx, ky, vals)
    vmax = max(float(np.max(np.abs(v[2]))) for v in maps.values())
    vmax = vmax if vmax > 0 else 1.0
    k1, xa, xb = _dispersion_grid(bp, fs_points)
    xis = {"alpha": xa, "beta": xb}
    for i, (b, axm) in enumerate(zip(("alpha", "beta"), axes[1:], strict=True)):
        kx, ky, vals = maps[b]
        mesh = axm.pcolormesh(
            kx, ky, vals.T, cmap=DIVERGING_CMAP, norm=Normalize(-vmax, vmax), shading="nearest", rasterized=True
        )
        cbar = fig.colorbar(mesh, ax=axm, shrink=0.9)
        cbar.set_label(rf"$\Delta_{{{_TRIPLON_LABELS[b][1:-1]},k}}$ (meV)")
        other = "beta" if b == "alpha" else "alpha"
        handles = []
        if _contour_line(axm, k1, xis[b], colors="k", linewidths=1.6):
            handles.append(Line2D([], [], color="k", lw=1.6, label=rf"{_TRIPLON_LABELS[b]} Fermi surface"))
        if _contour_line(axm, k1, xis[other], colors="k", linestyles="--", linewidths=0.9, alpha=0.6):
            label = rf"{_TRIPLON_LABELS[other]} Fermi surface"
            handles.append(Line2D([], [], color="k", ls="--", lw=0.9, alpha=0.6, label=label))
        axm.legend(
            handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2, fontsize="small", frameon=False
        )
        h = math.pi / n
        axm.set_xlim(kx[0] - h, kx[-1] + h)
        axm.set_ylim(ky[0] - h, ky[-1] + h)
        axm.set_aspect("equal")
        axm.set_xticks(*_PI_TICKS)
        axm.set_yticks(*_PI_TICKS)
        axm.set_xlabel(r"$k_x$")
        axm.set_ylabel(r"$k_y$")
        axm.set_title(f"({'bc'[i]}) " + rf"$\Delta_{{{_TRIPLON_LABELS[b][1:-1]},k}}$ on the grid", fontsize="medium")
    fig.suptitle(triplon_title(sol) if title is None else title, fontsize="medium")
    return _finish(fig, path)


def _band_title(bp) -> str:
    d = bp.to_dict()
    return (
        rf"$t_1$={_fmt(d['t1'])}, $t_2$={_fmt(d['t2'])}, $t_3$={_fmt(d['t3'])}, "
        rf"$\epsilon_\alpha$={_fmt(d['eps_alpha'])}, $\epsilon_\beta$={_fmt(d['eps_beta'])}, "
        rf"$\mu$={d['mu']:.4g} (eV)"
    )


def plot_bands(bp, path=None, *, n_per_segment: int = 200, grid: int = 512, fs_points: int = 601, theta_deg=30.0):
    """The paper's Fig. 2 for band parameters ``bp`` (:class:`~jaxnickel.triplon.BandParams`).

    (a) ``xi_alpha`` (blue) and ``xi_beta`` (red) in eV along Gamma-X-M-Gamma
    (:func:`~jaxnickel.triplon.bands.band_path`), the Fermi level ``xi = 0`` as a
    line, the corners as labelled ticks.  (b) the Fermi surfaces ``xi = 0`` of both
    bands over ``[-pi, pi]^2`` (Eq. 5 on a ``fs_points``-point grid), with the fillings
    ``n_alpha``, ``n_beta`` (per Ni, both spins, :func:`~jaxnickel.triplon.fillings` on a
    ``grid x grid`` mesh) in the legend, and, where a sheet is a closed pocket, the
    Fermi-surface angle ``theta`` of :class:`~jaxnickel.triplon.TriplonSolution`
    illustrated by a ray at ``theta_deg`` from the pocket's centre (Gamma for alpha,
    M for a beta hole pocket; ``theta_deg=None`` leaves it out).

    Returns the Figure; saves it to ``path`` if given.
    """
    from .triplon.bands import band_path, fermi_surface, fillings

    path_data = band_path(bp, n_per_segment)
    na, nb = (float(x) for x in fillings(bp, grid))
    fig, (ax, axf) = new_figure(2, size=(10.6, 4.8))
    dist = np.asarray(path_data["distance"])
    ax.axhline(0.0, color="0.4", lw=0.9, ls="--", label=r"$E_F$ ($\xi = 0$)")
    ax.plot(dist, np.asarray(path_data["xi_alpha"]), color=_ALPHA_COLOR, lw=1.8, label=r"$\alpha$ (antibonding)")
    ax.plot(dist, np.asarray(path_data["xi_beta"]), color=_BETA_COLOR, lw=1.8, label=r"$\beta$ (bonding)")
    ticks = np.asarray(path_data["ticks"])
    for t in ticks[1:-1]:
        ax.axvline(t, color="0.7", lw=0.8)
    ax.set_xticks(ticks, [_BZ_NAMES.get({"Γ": "G"}.get(lab, lab), lab) for lab in path_data["labels"]])
    ax.set_xlim(ticks[0], ticks[-1])
    ax.set_ylabel(r"$\xi_k$ (eV)")
    ax.set_xlabel("momentum along the path")
    ax.legend(fontsize="small", loc="upper left")
    ax.set_title("(a) band dispersions", fontsize="medium")

    k1, xa, xb = _dispersion_grid(bp, fs_points)
    handles = []
    rays: dict = {}
    centers = _pocket_center_names(bp, verify=True, rays=rays)
    for b, xi, color, nval, center in zip(
        ("alpha", "beta"), (xa, xb), (_ALPHA_COLOR, _BETA_COLOR), (na, nb), centers, strict=True
    ):
        label = rf"{_TRIPLON_LABELS[b]}: $n_{_TRIPLON_LABELS[b][1:-1]}$ = {nval:.3f}"
        if center is not None:
            label += rf" (pocket around {_BZ_NAMES[center]})"
        elif np.nanmin(xi) < 0.0 < np.nanmax(xi):
            label += " (not one pocket)"
        if _contour_line(axf, k1, xi, colors=color, linewidths=1.8):
            handles.append(Line2D([], [], color=color, lw=1.8, label=label))
        else:
            handles.append(Line2D([], [], color=color, lw=1.8, ls="none", label=label + " (no Fermi surface)"))
    # high-symmetry points (and their images at the other corners / edges)
    for name, (px, py) in _BZ_POINTS.items():
        axf.plot([px], [py], "o", color="k", ms=3.5, clip_on=False, zorder=5)
        off = {"G": (-13, 5), "X": (-12, 6), "M": (-14, -14)}[name]
        axf.annotate(_BZ_NAMES[name], (px, py), xytext=off, textcoords="offset points", fontsize="medium")
    if theta_deg is not None:
        th = math.radians(float(theta_deg))
        for b, color, center in zip(("alpha", "beta"), (_ALPHA_COLOR, _BETA_COLOR), centers, strict=True):
            if center is None:
                continue
            if float(theta_deg) in range(91):  # on the 1-degree grid of the pocket check
                i = int(theta_deg)
                kx, ky = float(rays[b]["kx"][i]), float(rays[b]["ky"][i])
            else:
                fs = fermi_surface(bp, b, np.array([th]), center=center)
                kx, ky = float(fs["kx"][0]), float(fs["ky"][0])
            if not (math.isfinite(kx) and math.isfinite(ky)):
                continue
            cx, cy = _BZ_POINTS[center]
            # draw inside [-pi, pi]^2: rays from M go towards the images at the other corners
            sx = -1.0 if center == "M" else 1.0
            ox, oy = sx * cx, sx * cy
            tx, ty = ox + (kx - cx), oy + (ky - cy)
            axf.annotate(
                "", (tx, ty), xytext=(ox, oy), arrowprops={"arrowstyle": "->", "color": color, "lw": 1.2}, zorder=4
            )
            axf.plot([ox, ox + 0.9], [oy, oy], color=color, lw=0.8, ls=":")
            axf.add_patch(Arc((ox, oy), 1.1, 1.1, theta1=0.0, theta2=float(theta_deg), color=color, lw=1.0))
            axf.annotate(
                rf"$\theta_{_TRIPLON_LABELS[b][1:-1]}$",
                (ox + 0.75 * math.cos(th / 2), oy + 0.75 * math.sin(th / 2)),
                color=color,
                fontsize="small",
                va="center",
            )
    axf.legend(
        handles=handles, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, frameon=False
    )
    axf.set_xlim(-math.pi, math.pi)
    axf.set_ylim(-math.pi, math.pi)
    axf.set_aspect("equal")
    axf.set_xticks(*_PI_TICKS)
    axf.set_yticks(*_PI_TICKS)
    axf.set_xlabel(r"$k_x$")
    axf.set_ylabel(r"$k_y$")
    axf.set_title(rf"(b) Fermi surfaces, $n_c$ = {na + nb:.3f}", fontsize="medium")
    fig.suptitle(_band_title(bp), fontsize="medium")
    return _finish(fig, path)


_MIRROR_LINES = {
    # the three mirror lines of the square lattice inside the irreducible wedge: a 1-D
    # extremum along any of them is a critical point of the band in 2-D (by symmetry
    # the gradient across a mirror line vanishes)
    "Γ-X": ((0.0, 0.0), (math.pi, 0.0)),
    "X-M": ((math.pi, 0.0), (math.pi, math.pi)),
    "Γ-M": ((0.0, 0.0), (math.pi, math.pi)),
}


def _point_name(kx: float, ky: float) -> str:
    for name, (px, py) in _BZ_POINTS.items():
        if abs(kx - px) < 1e-6 and abs(ky - py) < 1e-6:
            return {"G": "Γ"}.get(name, name)
    return f"({kx:.3g}, {ky:.3g})"


def band_critical_points(bp, band: str = "beta", *, grid: int = 512, n_line: int = 4001) -> list[dict]:
    """Lifshitz points of one band: its critical points on the mirror lines, as densities.

    A change of Fermi-surface topology happens when ``mu`` crosses a critical value of
    the band (a pocket appears at a minimum, necks merge at a saddle = van Hove
    singularity, a pocket vanishes at a maximum).  The critical points searched are
    Gamma, X, M and the 1-D extrema of the band along Gamma-X, X-M and Gamma-M (mirror
    lines, so these are 2-D critical points; ``n_line`` samples per line, refined by a
    parabola through the three samples around the extremum); each is classified by
    the signs of its 2-D Hessian.  Returns a list of dicts sorted by energy, one per
    distinct critical energy: ``energy`` (eV, the ``mu`` of the transition), ``n_c``
    (total filling ``n_alpha + n_beta`` at that ``mu``, triangle method on a
    ``grid x grid`` mesh), ``kind`` (``"minimum"``, ``"saddle"``, ``"maximum"``),
    ``k`` (one representative point in the irreducible wedge) and ``where`` (its name).
    """
    from .triplon.bands import BANDS, dispersion, fillings

    b = BANDS.index(band)

    def energy(kx, ky):
        return np.asarray(dispersion(np.asarray(kx, float), np.asarray(ky, float), bp.replace(mu=0.0))[b])

    cands = [_BZ_POINTS[name] for name in ("G", "X", "M")]
    s = np.linspace(0.0, 1.0, n_line)
    for (x0, y0), (x1, y1) in _MIRROR_LINES.values():
        kx, ky = x0 + s * (x1 - x0), y0 + s * (y1 - y0)
        e = energy(kx, ky)
        d = np.diff(e)
        for i in np.nonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)[0] + 1:
            e0, e1, e2 = e[i - 1], e[i], e[i + 1]
            curv = e0 - 2.0 * e1 + e2
            shift = 0.5 * (e0 - e2) / curv if curv != 0 else 0.0
            si = s[i] + shift * (s[1] - s[0])
            cands.append((x0 + si * (x1 - x0), y0 + si * (y1 - y0)))
    out = []
    h = 1e-4
    for kx, ky in cands:
        e0 = float(energy(kx, ky))
        hxx = float(energy(kx + h, ky) - 2 * e0 + energy(kx - h, ky)) / h**2
        hyy = float(energy(kx, ky + h) - 2 * e0 + energy(kx, ky - h)) / h**2
        hxy = float(energy(kx + h, ky + h) - energy(kx + h, ky - h) - energy(kx - h, ky + h) + energy(kx - h, ky - h))
        hxy /= 4 * h**2
        ev = np.linalg.eigvalsh(np.array([[hxx, hxy], [hxy, hyy]]))
        kind = "minimum" if ev[0] > 0 else ("maximum" if ev[1] < 0 else "saddle")
        if any(abs(e0 - c["energy"]) < 1e-9 for c in out):
            continue
        out.append({"energy": e0, "kind": kind, "k": (float(kx), float(ky)), "where": _point_name(kx, ky)})
    for c in out:
        nfa, nfb = fillings(bp.replace(mu=c["energy"]), grid)
        c["n_c"] = float(nfa) + float(nfb)
    return sorted(out, key=lambda c: c["energy"])


_LIFSHITZ_WORDS = {
    "minimum": "{band} band minimum at {where}: pockets appear",
    "saddle": "{band} van Hove saddle at {where}",
    "maximum": "{band} band maximum at {where}: pockets vanish",
}


def plot_dos_vs_density(
    data: Mapping,
    path=None,
    *,
    bands=None,
    lifshitz: Sequence | None = None,
    lifshitz_band: str = "beta",
    mark_nc: float | None = None,
    grid: int = 512,
):
    """Fermi-level DOS ratios vs electron density: the content of Figs. 3a and 4a.

    ``data``: the dict of :func:`jaxnickel.triplon.bands.dos_vs_density`.  (a)
    ``N_beta/N_alpha`` vs ``n_c`` (Fig. 3a); (b) ``Ntilde_alpha/N_alpha`` and
    ``Ntilde_beta/N_beta`` vs ``n_c`` (Fig. 4a; the Fermi-surface average of
    ``eta_k^2``).

    Lifshitz points (changes of the Fermi-surface topology of ``lifshitz_band``,
    where the DOS jumps or diverges logarithmically) are drawn as dotted vertical
    lines in both panels when known: ``lifshitz`` gives them explicitly (``n_c``
    values or ``(n_c, label)`` pairs); otherwise ``bands`` (the
    :class:`~jaxnickel.triplon.BandParams` the data were computed with; ``mu`` is
    ignored) lets :func:`band_critical_points` find them exactly (those inside the
    plotted ``n_c`` range).  They cannot be located from the sampled data alone
    (a step and a nearby log peak look alike at finite sampling), so without either
    nothing is marked.  ``bands`` is checked against the data (the filling at the
    data's ``mu`` must reproduce its ``n_c``; ValueError otherwise).  ``mark_nc``
    draws a dashed line at one density (e.g. the paper's 0.45).

    Returns the Figure; saves it to ``path`` if given.
    """
    d = {k: np.asarray(v, dtype=float) for k, v in data.items()}
    need = ("n_c", "N_alpha", "N_beta", "Ntilde_alpha", "Ntilde_beta")
    missing = [k for k in need if k not in d]
    if missing:
        raise ValueError(f"data must be the dict of dos_vs_density; missing {missing}")
    nc = d["n_c"]
    order = np.argsort(nc)
    nc = nc[order]
    with np.errstate(divide="ignore", invalid="ignore"):
        r_ba = d["N_beta"][order] / d["N_alpha"][order]
        r_a = d["Ntilde_alpha"][order] / d["N_alpha"][order]
        r_b = d["Ntilde_beta"][order] / d["N_beta"][order]

    marks: list[tuple[float, str]] = []
    if lifshitz is not None:
        for item in lifshitz:
            if isinstance(item, tuple | list):
                marks.append((float(item[0]), str(item[1])))
            else:
                marks.append((float(item), "Lifshitz point"))
    elif bands is not None:
        from .triplon.bands import fillings

        if "mu" in d:
            i = int(order[len(order) // 2])
            fa, fb = fillings(bands.replace(mu=float(d["mu"][i])), grid)
            if abs(float(fa) + float(fb) - float(d["n_c"][i])) > 2e-3:
                raise ValueError(
                    f"bands do not match the data: at mu={float(d['mu'][i]):.6g} eV they give "
                    f"n_c={float(fa) + float(fb):.6g}, the data {float(d['n_c'][i]):.6g}"
                )
        lab = _TRIPLON_LABELS[lifshitz_band]
        for c in band_critical_points(bands, lifshitz_band, grid=grid):
            if nc.min() < c["n_c"] < nc.max():
                marks.append((c["n_c"], _LIFSHITZ_WORDS[c["kind"]].format(band=lab, where=c["where"])))

    fig, (ax1, ax2) = new_figure(2, size=(11.0, 4.6))
    ax1.plot(nc, r_ba, color="k", lw=1.6, label=r"$N_\beta/N_\alpha$")
    ax2.plot(nc, r_a, color=_ALPHA_COLOR, lw=1.6, label=r"$\widetilde{N}_\alpha/N_\alpha$")
    ax2.plot(nc, r_b, color=_BETA_COLOR, lw=1.6, label=r"$\widetilde{N}_\beta/N_\beta$")
    styles = ("C2", "C4", "C1", "C5", "C6")
    lines = []
    for ax in (ax1, ax2):
        lines = []
        for i, (x, label) in enumerate(marks):
            color = styles[i % len(styles)]
            lines.append(ax.axvline(x, color=color, ls=":", lw=1.4, label=f"{label} ($n_c$ = {x:.3f})"))
        if mark_nc is not None:
            x = float(mark_nc)
            lines.append(ax.axvline(x, color="0.4", ls="--", lw=1.0, label=rf"$n_c$ = {x:.3g}"))
        ax.set_xlim(nc.min(), nc.max())
        ax.set_xlabel(r"electron density $n_c = n_\alpha + n_\beta$ (per Ni)")
    ax1.set_ylabel(r"$N_\beta/N_\alpha$ (DOS ratio at $E_F$)")
    ax2.set_ylabel(r"$\widetilde{N}/N = \langle\eta_k^2\rangle_{FS}$")
    ax1.set_title(r"(a) $N_\beta/N_\alpha$ (Fig. 3a)", fontsize="medium")
    ax2.set_title(r"(b) $\widetilde{N}/N$ (Fig. 4a)", fontsize="medium")
    ax1.legend(handles=ax1.get_lines()[:1], fontsize="small", loc="upper right")
    ax2.legend(handles=ax2.get_lines()[:2], fontsize="small", loc="upper left")
    if lines:
        fig.legend(handles=lines, loc="outside lower center", ncols=min(len(lines), 3), fontsize="small", frameon=False)
    return _finish(fig, path)


def plot_gap_vs_temperature(sols, temperatures, path=None, *, tc=None, title: str | None = None):
    """Gap magnitudes vs temperature along a ladder of :func:`jaxnickel.triplon.gap_vs_temperature`.

    ``sols``: the batched :class:`~jaxnickel.triplon.TriplonSolution` (leading axis =
    temperature); ``temperatures``: the temperatures it was solved at, **in eV** as
    passed to ``gap_vs_temperature`` (checked against ``sols.params.T``).  Plotted in
    meV vs T in K, for each sheet: ``|Delta(theta = pi/4)|`` (the zone diagonal,
    ``eta = 0``; solid with markers) and ``max_theta |Delta(theta)|`` over the sheet
    (dashed).  Points whose state is not s+- are marked (d: open squares, normal: none
    needed, the gap is 0); non-converged points get a red cross.  ``tc``: a
    critical temperature in eV, or a :class:`~jaxnickel.triplon.TcResult` (both
    channels' ``T_c`` marked), drawn as vertical lines.

    Returns the Figure; saves it to ``path`` if given.
    """
    from .triplon import K_B

    T = np.atleast_1d(np.asarray(temperatures, dtype=float))
    ga = np.asarray(sols.delta_alpha_fs, dtype=float)
    gb = np.asarray(sols.delta_beta_fs, dtype=float)
    if ga.ndim != 2 or T.ndim != 1 or ga.shape[0] != T.size:
        raise ValueError(
            "plot_gap_vs_temperature needs the batched solution of gap_vs_temperature and its 1-D "
            f"temperatures: got gaps of shape {ga.shape} and {T.size} temperatures"
        )
    T_sol = np.asarray(sols.params.T, dtype=float).reshape(-1)
    if T_sol.size == T.size and not np.allclose(T_sol, T, rtol=1e-9, atol=1e-15):
        raise ValueError(
            "temperatures do not match the solutions' params.T: give them in eV, as passed to gap_vs_temperature"
        )
    TK = T / K_B
    i45 = (ga.shape[1] - 1) // 2  # theta = pi/4 on the N_THETA grid of [0, pi/2]

    def sheet_max(g):
        a = np.abs(g)
        ok = np.isfinite(a).any(axis=1)
        return np.where(ok, np.nanmax(np.where(np.isfinite(a), a, -np.inf), axis=1), np.nan)

    fig, ax = new_figure(size=(7.0, 4.8))
    ax.axhline(0.0, color="0.5", lw=0.8)
    for b, g, color in (("alpha", ga, _ALPHA_COLOR), ("beta", gb, _BETA_COLOR)):
        lab = _TRIPLON_LABELS[b][1:-1]
        label = rf"$|\Delta_{lab}(\theta=45^\circ)|$"
        ax.plot(TK, 1e3 * np.abs(g[:, i45]), "o-", color=color, ms=3.5, lw=1.6, label=label)
        ax.plot(TK, 1e3 * sheet_max(g), "--", color=color, lw=1.4, label=rf"$\max_\theta |\Delta_{lab}(\theta)|$")
    channel = np.asarray(sols.channel).reshape(-1)
    d_wave = channel == 2
    if d_wave.any():
        for g, color in ((ga, _ALPHA_COLOR), (gb, _BETA_COLOR)):
            ax.plot(TK[d_wave], 1e3 * sheet_max(g)[d_wave], "s", mfc="none", mec=color, ms=7)
        ax.plot([], [], "s", mfc="none", mec="0.3", ms=7, label=f"d-wave state ({int(d_wave.sum())})")
    conv = np.asarray(sols.converged, dtype=bool).reshape(-1)
    if (~conv).any():
        ax.plot(
            TK[~conv],
            np.zeros(int((~conv).sum())),
            "x",
            color="red",
            ms=8,
            label=f"not converged ({int((~conv).sum())})",
        )
    if tc is not None:
        if hasattr(tc, "tc_s"):
            marks = [(float(tc.tc_s), r"$T_c$ ($s_\pm$)", "k"), (float(tc.tc_d), r"$T_c$ (d)", "C4")]
        else:
            marks = [(float(tc), r"$T_c$", "k")]
        for tcv, label, color in marks:
            if math.isfinite(tcv) and tcv > 0:
                ax.axvline(tcv / K_B, color=color, ls=":", lw=1.4, label=f"{label} = {tcv / K_B:.4g} K")
    ax.set_xlim(0.0, max(float(TK.max()), 1e-12) * 1.02)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("temperature $T$ (K)")
    ax.set_ylabel(r"gap on the Fermi surface $|\Delta|$ (meV)")
    ax.legend(fontsize="small", loc="best")
    if title is None:
        title = _ladder_title(sols)
    ax.set_title(title, fontsize="medium")
    return _finish(fig, path)


def _ladder_title(sols) -> str:
    """Title of a temperature ladder: the T-independent parameters of its first point."""
    import jax

    first = jax.tree_util.tree_map(lambda x: x[0], sols)
    text = triplon_title(first)
    return text.split(r", $T$=")[0] + f", {first.grid}$\\times${first.grid} grid"


def plot_fit(result, data, path=None, *, n_theta: int = 181):
    """Data vs best-fit model, normalised residuals, and the confidence region of the most correlated pair.

    ``result`` is a :class:`jaxnickel.fit.FitResult`, ``data`` the
    :class:`jaxnickel.data.GapData` it was fitted to.  (a) gap magnitudes (meV) vs
    Fermi-surface angle for both sheets; angle-averaged data (``avg``) are drawn at the
    right edge with the model's sheet average next to them.  (b) residuals
    ``(model - data)/sigma`` per data row used.  (c) the 1- and 2-sigma ellipses of the
    two most correlated free parameters (``Delta chi^2 = 2.30, 6.18``), from the
    reported covariance; with one free parameter the panel says so.
    """
    import jax.numpy as jnp

    from .fit import build_params, sheet_gap_magnitudes
    from .spectra.plotting import _draw_ellipse_panel
    from .triplon.solve import solve_jax

    values = {**{k: jnp.asarray(v) for k, v in result.fixed.items()}, **result.parameters}
    cutoff = getattr(result, "cutoff", "sharp")
    sol = solve_jax(build_params(values, result.grid, 0.0, cutoff), result.grid, "fixed-point", channel="s")
    theta = np.linspace(0.0, 0.5 * np.pi, n_theta)
    fig = Figure(figsize=(13.5, 4.8), layout="constrained")
    ax, axr, axe = fig.subplots(1, 3, width_ratios=[1.6, 1.0, 1.0])
    colors = {0: "tab:blue", 1: "tab:red"}
    sheet = np.asarray(data.sheet)
    th = np.asarray(data.theta)
    for b, name in ((0, "alpha"), (1, "beta")):
        model = 1e3 * np.asarray(sheet_gap_magnitudes(sol, b, jnp.asarray(theta)))
        ax.plot(np.degrees(theta), model, color=colors[b], label=f"model, {name} sheet")
        rows = sheet == b
        ang = rows & np.isfinite(th)
        if ang.any():
            ax.errorbar(
                np.degrees(np.mod(th[ang], 0.5 * np.pi)),
                1e3 * np.asarray(data.gap)[ang],
                yerr=1e3 * np.asarray(data.sigma)[ang],
                fmt="o",
                color=colors[b],
                label=f"data, {name}",
            )
        avg = rows & ~np.isfinite(th)
        if avg.any():
            x = 93 + 2 * b
            ax.errorbar(
                np.full(avg.sum(), x),
                1e3 * np.asarray(data.gap)[avg],
                yerr=1e3 * np.asarray(data.sigma)[avg],
                fmt="s",
                color=colors[b],
                label=f"data, {name} (average)",
            )
            m_avg = 1e3 * float(np.asarray(sheet_gap_magnitudes(sol, b, jnp.asarray([np.nan])))[0])
            ax.plot([x - 1, x + 1], [m_avg, m_avg], color=colors[b], lw=3, alpha=0.6)
    ax.set_xlim(0, 97)
    ax.set_xticks([0, 15, 30, 45, 60, 75, 90, 94])
    ax.set_xticklabels(["0", "15", "30", "45", "60", "75", "90", "avg"])
    ax.set_xlabel(r"Fermi-surface angle $\theta$ (deg; $\alpha$ around $\Gamma$, $\beta$ around M)")
    ax.set_ylabel(r"$|\Delta|$ (meV)")
    pars = ", ".join(
        f"{k}={v:.4g}" + (f"$\\pm${result.uncertainties[k]:.2g}" if np.isfinite(result.uncertainties[k]) else "")
        for k, v in result.parameters.items()
    )
    ax.set_title(f"(a) fit: {pars}; $\\chi^2$/dof = {result.chi2:.3g}/{result.dof}", fontsize=9)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)

    # (b) normalised residuals of the rows used
    res = np.asarray(result.residuals, dtype=float)
    used = np.asarray(result.rows_used, dtype=int)
    sh = sheet[used] if used.size else np.array([], dtype=int)
    idx = np.arange(res.size)
    for b, name in ((0, "alpha"), (1, "beta")):
        m = sh == b
        if m.any():
            axr.bar(idx[m], res[m], color=colors[b], alpha=0.8, label=name)
    axr.axhline(0.0, color="k", lw=0.8)
    for y in (-1.0, 1.0):
        axr.axhline(y, color="0.6", lw=0.8, ls="--")
    axr.set_xticks(idx)
    axr.set_xticklabels([str(int(i)) for i in used], fontsize=8)
    axr.set_xlabel("data row")
    axr.set_ylabel(r"(model $-$ data) / $\sigma$")
    axr.set_title(f"(b) residuals ({result.result})", fontsize=9)
    if res.size:
        axr.legend(fontsize=8, loc="best")
    axr.grid(alpha=0.3, axis="y")

    # (c) confidence region of the most correlated pair
    _draw_ellipse_panel(axe, result)
    return _finish(fig, path)
