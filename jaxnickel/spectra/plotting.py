r"""Figures of tunnelling spectra and of their fits (:mod:`jaxnickel.spectra.fit`).

As :mod:`jaxnickel.plotting` (whose helpers this module uses): figures are
:class:`matplotlib.figure.Figure` objects built without ``pyplot`` (the user's
backend is never selected or changed), every function returns the Figure and
saves it when ``path`` is given (parent folders are created).

* :func:`plot_spectrum_fit`: a :class:`~jaxnickel.spectra.fit.SpectrumFitResult`
  (or its :meth:`~jaxnickel.spectra.fit.SpectrumFitResult.to_dict` dict, e.g. read
  back from JSON): data and model per temperature with the normalised residuals,
  the two band contributions of the lowest-temperature model, and the confidence
  ellipse of the two most correlated free parameters.
* :func:`plot_spectrum`: a computed :class:`~jaxnickel.triplon.spectra.TunnellingSpectrum`
  with its band contributions and the gap extremes of both sheets.

Units: bias in mV, Dynes broadening ``gamma`` in meV, model energies in eV (as
in the fit), temperatures in K.  Colours: data and totals in neutral greys and
black; the alpha and beta sheets in the colours of :mod:`jaxnickel.plotting`'s
triplon figures (blue, red), the same in both functions.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping

import numpy as np

from ..plotting import _ALPHA_COLOR, _BETA_COLOR, Figure, _finish, new_figure

__all__ = ["plot_spectrum_fit", "plot_spectrum", "confidence_ellipse", "DELTA_CHI2_2D"]

#: Delta chi2 of the 1-sigma and 2-sigma (68.3 %, 95.4 %) regions of two parameters jointly
DELTA_CHI2_2D = (2.30, 6.18)

#: at most this many spectra side by side; more wrap to further rows
MAX_COLUMNS = 6

_DATA_COLOR = "0.4"
_MODEL_COLOR = "k"
_TOTAL_COLOR = "k"
_ELLIPSE_STYLES = ({"color": "0.1", "ls": "-", "lw": 1.6}, {"color": "0.55", "ls": "--", "lw": 1.3})

_PARAM_LABELS = {
    "gamma": r"$\Gamma$ (meV)",
    "lambda": r"$\lambda$",
    "V": r"$V$ (eV)",
    "kappa": r"$\kappa$",
    "kappa_a": r"$\kappa_a$",
    "kappa_b": r"$\kappa_b$",
    "omega": r"$\Omega$ (eV)",
    "n_c": r"$n_c$",
    "mu": r"$\mu$ (eV)",
    "t1": r"$t_1$ (eV)",
    "t2": r"$t_2$ (eV)",
    "t3": r"$t_3$ (eV)",
    "eps_alpha": r"$\epsilon_\alpha$ (eV)",
    "eps_beta": r"$\epsilon_\beta$ (eV)",
    "tunnel_ratio": r"tunnel ratio $r$",
    "scale": "scale",
    "background_slope": "background slope (1/mV)",
}

_CHANNEL_TEX = {"s+-": r"$s_\pm$"}


# ------------------------------------------------------------------ helpers


def _field(result, key, default=None):
    """``result.key`` of a :class:`SpectrumFitResult`, or ``result[key]`` of its dict."""
    if isinstance(result, Mapping):
        return result.get(key, default)
    return getattr(result, key, default)


def _arr(values) -> np.ndarray:
    """Float array of (nested) lists, ``None`` (JSON's null) -> NaN."""
    if values is None:
        return np.array([], dtype=float)

    def clean(v):
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return math.nan if v is None else v

    return np.asarray(clean(list(values) if not isinstance(values, np.ndarray) else values.tolist()), dtype=float)


def _num(v) -> float:
    return math.nan if v is None else float(v)


def _param_label(name: str) -> str:
    if name in _PARAM_LABELS:
        return _PARAM_LABELS[name]
    if name.startswith("scale_"):
        return rf"scale$_{{{name.split('_', 1)[1]}}}$"
    return name


def _parameter_value(result, name: str) -> float:
    """A parameter's value: the fitted one when free, else the one the fit held fixed."""
    params = _field(result, "parameters") or {}
    if name in params:
        return _num(params[name])
    return _num((_field(result, "fixed") or {}).get(name))


def _wrap(text: str, width: int = 44) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _panel_text(ax, text: str):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize="small", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def confidence_ellipse(center, cov2, delta_chi2: float, n: int = 361) -> tuple[np.ndarray, np.ndarray]:
    r"""Points ``(x, y)`` of the ellipse ``d^T C^-1 d = delta_chi2`` around ``center`` (closed curve).

    ``cov2`` is a 2x2 covariance block.  Parametrised as
    ``x = cx + sqrt(dchi2) s_x cos t``, ``y = cy + sqrt(dchi2) s_y (rho cos t + sqrt(1 - rho^2) sin t)``
    (exact for any ``|rho| <= 1``); the angles where ``x`` and ``y`` are extreme are
    among the samples, so the curve reaches ``+- sqrt(dchi2 C_ii)`` exactly.
    """
    c = np.asarray(cov2, dtype=float)
    sx, sy = math.sqrt(max(c[0, 0], 0.0)), math.sqrt(max(c[1, 1], 0.0))
    rho = c[0, 1] / (sx * sy) if sx > 0 and sy > 0 else 0.0
    rho = min(max(rho, -1.0), 1.0)
    s = math.sqrt(1.0 - rho * rho)
    phi = math.atan2(s, rho)  # y is extreme at t = phi, phi + pi
    t = np.linspace(0.0, 2.0 * math.pi, n)
    t = np.unique(np.concatenate([t, np.mod([0.0, math.pi, phi, phi + math.pi], 2.0 * math.pi)]))
    t = np.append(t, 2.0 * math.pi) if t[-1] < 2.0 * math.pi else t
    k = math.sqrt(delta_chi2)
    x = center[0] + k * sx * np.cos(t)
    y = center[1] + k * sy * (rho * np.cos(t) + s * np.sin(t))
    x[-1], y[-1] = x[0], y[0]  # t = 2 pi: closed exactly
    return x, y


def _most_correlated(cov: np.ndarray) -> tuple[int, int, float]:
    """Indices ``(i, j)``, ``i < j``, of the largest off-diagonal ``|correlation|`` and its value."""
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    safe = np.where(sd > 0, sd, 1.0)
    corr = cov / np.outer(safe, safe)
    n = cov.shape[0]
    best = (0, 1, float(corr[0, 1]))
    for i in range(n):
        for j in range(i + 1, n):
            if abs(corr[i, j]) > abs(best[2]):
                best = (i, j, float(corr[i, j]))
    return best


# ------------------------------------------------------------------ fit figure


def _fit_title(result) -> str:
    chi2, dof = _num(_field(result, "chi2")), _field(result, "dof")
    red = chi2 / dof if dof else math.nan
    parts = [rf"spectrum fit: $\chi^2$/dof = {chi2:.4g}/{dof} = {red:.3g}"]
    free = _field(result, "free") or []
    if free:
        parts.append("free: " + ", ".join(free))
    extra = [f"channel {_field(result, 'channel')}" if _field(result, "channel") else None]
    if _field(result, "grid"):
        extra.append(f"grid {_field(result, 'grid')}")
    extra = [e for e in extra if e]
    if extra:
        parts.append(", ".join(extra))
    title = "; ".join(parts)
    if _field(result, "converged") is False:
        title += f"\nnot converged: {_field(result, 'message')}"
    return title


def _draw_spectrum_pair(ax, axr, spec, *, first: bool):
    bias = _arr(spec.get("bias_mV"))
    data, model = _arr(spec.get("data")), _arr(spec.get("model"))
    resid = -_arr(spec.get("residuals"))  # stored as (model - data)/sigma
    order = np.argsort(bias)
    ax.plot(bias, data, "o", color=_DATA_COLOR, ms=2.8, mew=0, label="data")
    ax.plot(bias[order], model[order], "-", color=_MODEL_COLOR, lw=1.3, label="model")
    T, chi2, n = _num(spec.get("T_K")), _num(spec.get("chi2")), spec.get("n_points", bias.size)
    ax.set_title(rf"$T$ = {T:.3g} K, $\chi^2$ = {chi2:.4g} ({n} pts)", fontsize="medium")
    ax.tick_params(labelbottom=False)
    if first:
        ax.set_ylabel(r"d$I$/d$V$ (data units)")
        ax.legend(fontsize="small", loc="best", frameon=False)

    axr.axhspan(-2.0, 2.0, color="0.88", lw=0, zorder=0)
    axr.axhline(0.0, color="0.4", lw=0.8, zorder=1)
    axr.plot(bias, resid, "o", color=_DATA_COLOR, ms=2.6, mew=0, zorder=2)
    lim = max(3.0, 1.1 * float(np.nanmax(np.abs(resid)))) if np.isfinite(resid).any() else 3.0
    axr.set_ylim(-lim, lim)
    axr.set_xlabel("bias (mV)")
    if bias.size and np.isfinite(bias).any():
        axr.set_xlim(np.nanmin(bias), np.nanmax(bias))
    if first:
        axr.set_ylabel(r"(data $-$ model)/$\sigma$")


def _draw_bands_panel(ax, result, spectra):
    ok = [s for s in spectra if s.get("conductance_alpha") is not None and s.get("conductance_beta") is not None]
    if not ok:
        _panel_text(ax, "no band contributions in this result")
        return
    spec = min(ok, key=lambda s: _num(s.get("T_K")))
    bias = _arr(spec.get("bias_mV"))
    order = np.argsort(bias)
    r = _parameter_value(result, "tunnel_ratio")
    ax.axhline(1.0, color="0.7", lw=0.8)
    ax.plot(bias[order], _arr(spec["conductance_alpha"])[order], color=_ALPHA_COLOR, lw=1.5, label="alpha sheet")
    ax.plot(bias[order], _arr(spec["conductance_beta"])[order], color=_BETA_COLOR, lw=1.5, label="beta sheet")
    ax.plot(
        bias[order],
        _arr(spec.get("conductance"))[order],
        color=_TOTAL_COLOR,
        lw=1.8,
        label=f"total (tunnel_ratio r = {r:.3g})",
    )
    ax.set_xlim(np.nanmin(bias), np.nanmax(bias))
    ax.set_xlabel("bias (mV)")
    ax.set_ylabel(r"normalised conductance $g$")
    ax.set_title(rf"(a) band contributions, $T$ = {_num(spec.get('T_K')):.3g} K", fontsize="medium")
    ax.legend(fontsize="small", loc="best", frameon=False)


def _draw_ellipse_panel(ax, result):
    ax.set_title("(b) confidence region of the most correlated pair", fontsize="medium")
    free = list(_field(result, "free") or [])
    if len(free) < 2:
        _panel_text(
            ax,
            f"{len(free)} free parameter{'s' if len(free) != 1 else ''}: no correlation to show"
            + (f"\n({free[0]})" if free else ""),
        )
        return
    cov = _arr(_field(result, "covariance"))
    if cov.shape != (len(free), len(free)) or not np.all(np.isfinite(cov)) or _field(result, "degenerate"):
        msg = _field(result, "message") or ""
        why = "covariance not finite" if not (cov.size and np.all(np.isfinite(cov))) else "flagged degenerate"
        text = f"degenerate fit ({why}):\nno confidence ellipse"
        if msg and msg != "ok":
            text += "\n\n" + _wrap(msg)
        _panel_text(ax, text)
        return
    i, j, rho = _most_correlated(cov)
    ni, nj = free[i], free[j]
    center = (_parameter_value(result, ni), _parameter_value(result, nj))
    block = cov[np.ix_([i, j], [i, j])]
    for dchi2, style, tag in zip(DELTA_CHI2_2D, _ELLIPSE_STYLES, (r"1$\sigma$", r"2$\sigma$"), strict=True):
        x, y = confidence_ellipse(center, block, dchi2)
        ax.plot(x, y, label=rf"{tag} ($\Delta\chi^2$ = {dchi2:.2f})", **style)
    ax.plot([center[0]], [center[1]], "+", color="k", ms=10, mew=1.8, label="best fit")
    ax.set_xlabel(_param_label(ni))
    ax.set_ylabel(_param_label(nj))
    ax.text(
        0.04 if rho < 0 else 0.96,
        0.06,
        rf"$\rho$ = {rho:.2f}",
        transform=ax.transAxes,
        ha="left" if rho < 0 else "right",
        va="bottom",
        fontsize="medium",
        bbox={"boxstyle": "round", "fc": "white", "ec": "0.7"},
    )
    ax.legend(fontsize="small", loc="upper right" if rho < 0 else "upper left", frameon=False)
    ax.ticklabel_format(useOffset=False)
    # room for the legend above the 2-sigma ellipse
    y0, y1 = ax.get_ylim()
    ax.set_ylim(y0, y1 + 0.35 * (y1 - y0))


def plot_spectrum_fit(result, path=None, *, title: str | None = None) -> Figure:
    """Figure of a tunnelling-spectrum fit (a :class:`~jaxnickel.spectra.fit.SpectrumFitResult` or its dict).

    One column per spectrum (temperature; at most 6 side by side, balanced rows
    beyond, e.g. 7 spectra as 4 + 3): on top the data (points) and the model (line), dI/dV vs bias (mV),
    titled with T and that spectrum's chi2; below, on the same bias axis, the
    normalised residuals ``(data - model)/sigma`` with a zero line and a grey
    ``+-2`` band.  At the right: (a) the lowest-temperature model's band
    contributions ``g_alpha``, ``g_beta`` (each 1 at large bias) and the total
    ``g`` with the tunnel ratio ``r``; (b) the 1- and 2-sigma confidence ellipses
    (``Delta chi2 = 2.30, 6.18``) of the two free parameters with the largest
    ``|correlation|``, from that 2x2 block of ``covariance`` around the best fit,
    with ``rho`` in the panel (a note instead when fewer than two parameters are
    free or the fit is degenerate).  ``title`` replaces the default (chi2/dof,
    free parameters, channel, grid).

    Axes: ``fig.axes`` lists, per spectrum, its data axes then its residual axes,
    then panel (a), then panel (b).  Returns the Figure; saves it to ``path`` if given.
    """
    spectra = list(_field(result, "spectra") or [])
    if not spectra:
        raise ValueError("the fit result has no spectra to plot")
    n = len(spectra)
    nrows = math.ceil(n / MAX_COLUMNS)
    ncols = math.ceil(n / nrows)  # balanced rows: 7 spectra -> 4 + 3
    side_w = 5.0
    height = max(5.2 * nrows, 8.4)
    fig = Figure(figsize=(3.9 * ncols + side_w, height), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[3.9 * ncols, side_w], wspace=0.02)
    gs = left.add_gridspec(2 * nrows, ncols, height_ratios=[3.0, 1.25] * nrows)
    for k, spec in enumerate(spectra):
        r, c = divmod(k, ncols)
        ax = left.add_subplot(gs[2 * r, c])
        axr = left.add_subplot(gs[2 * r + 1, c], sharex=ax)
        _draw_spectrum_pair(ax, axr, spec, first=c == 0)
    ax_bands, ax_ell = right.subplots(2, 1)
    _draw_bands_panel(ax_bands, result, spectra)
    _draw_ellipse_panel(ax_ell, result)
    fig.suptitle(_fit_title(result) if title is None else title, fontsize="medium")
    return _finish(fig, path)


# ------------------------------------------------------------------ one computed spectrum


def _gap_magnitudes_meV(solution) -> dict:
    """``{"alpha": [|Delta| ...], "beta": [...]}``: distinct nonzero |gap extremes| per sheet, meV."""
    out = {"alpha": [], "beta": []}
    if solution is None:
        return out
    ext = solution.gap_extremes()
    for b in out:
        vals = [abs(1e3 * ext.get(f"delta_{b}_{w}", math.nan)) for w in ("max", "min")]
        vals = sorted({round(v, 6) for v in vals if math.isfinite(v) and v > 1e-6})
        out[b] = vals
    return out


def plot_spectrum(spec, path=None, *, title: str | None = None) -> Figure:
    """A computed :class:`~jaxnickel.triplon.spectra.TunnellingSpectrum`: ``g`` and its band parts vs bias (mV).

    The normalised conductance ``g`` (black) and the sheets' contributions
    ``g_alpha``, ``g_beta`` (each 1 at large bias), with dotted vertical lines at
    ``+-|Delta|`` (meV) for the distinct gap extremes of each sheet on its Fermi
    surface (:meth:`~jaxnickel.triplon.solution.TriplonSolution.gap_extremes`; a
    vanishing extreme, e.g. a d-wave node, is not drawn).  The default title gives
    T, Gamma, the tunnel ratio r and the state.  Returns the Figure; saves it to
    ``path`` if given.
    """
    bias = np.asarray(spec.bias_mV, dtype=float)
    order = np.argsort(bias)
    fig, ax = new_figure(size=(6.6, 4.6))
    ax.axhline(1.0, color="0.75", lw=0.8)
    r = float(spec.tunnel_ratio)
    for values, color, label, lw in (
        (spec.conductance_alpha, _ALPHA_COLOR, "alpha sheet", 1.5),
        (spec.conductance_beta, _BETA_COLOR, "beta sheet", 1.5),
        (spec.conductance, _TOTAL_COLOR, f"total g (tunnel_ratio r = {r:.3g})", 1.9),
    ):
        ax.plot(bias[order], np.asarray(values, dtype=float)[order], color=color, lw=lw, label=label)
    sol = spec.solution
    for b, color in (("alpha", _ALPHA_COLOR), ("beta", _BETA_COLOR)):
        gaps = _gap_magnitudes_meV(sol)[b]
        for k, d in enumerate(gaps):
            label = rf"$\pm|\Delta_\{b}|$ = " + ", ".join(f"{v:.3g}" for v in gaps) + " meV" if k == 0 else None
            ax.axvline(d, color=color, ls=":", lw=1.1, label=label)
            ax.axvline(-d, color=color, ls=":", lw=1.1)
    ax.set_xlim(bias.min(), bias.max())
    ax.set_xlabel("bias (mV)")
    ax.set_ylabel(r"normalised conductance $g$")
    ax.legend(fontsize="small", loc="best", framealpha=0.9)
    if title is None:
        state = "" if sol is None else ", " + _CHANNEL_TEX.get(sol.channel_name, sol.channel_name) + " state"
        title = rf"$T$ = {float(spec.T_kelvin):.3g} K, $\Gamma$ = {float(spec.gamma_meV):.3g} meV, $r$ = {r:.3g}{state}"
    ax.set_title(title, fontsize="medium")
    return _finish(fig, path)
