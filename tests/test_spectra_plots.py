"""Figures of tunnelling-spectrum fits (jaxnickel.spectra.plotting): layout, residual sign, ellipse size, files.

The fit figure is tested on a hand-made result dict (no fit is run); ``plot_spectrum``
on one small computed spectrum (grid 64).
"""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from jaxnickel.spectra.fit import SpectrumFitResult
from jaxnickel.spectra.plotting import DELTA_CHI2_2D, confidence_ellipse, plot_spectrum, plot_spectrum_fit

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SIG = {"gamma": 0.05, "tunnel_ratio": 0.2, "lambda": 0.01}
RHO = -0.99


def _png_ok(path):
    assert path.exists() and path.stat().st_size > 5_000
    assert path.read_bytes()[:8] == PNG_MAGIC


def _fake_spectrum(T, seed):
    rng = np.random.default_rng(seed)
    bias = np.linspace(-20.0, 20.0, 41)
    ga = 1.0 - 0.5 * np.exp(-((bias / 4.0) ** 2))
    gb = 1.0 - 0.3 * np.exp(-((bias / 8.0) ** 2))
    g = (ga + 0.8 * gb) / 1.8
    model = 2.0 * g
    sigma = 0.01
    data = model + sigma * rng.standard_normal(bias.size)
    res = (model - data) / sigma
    return {
        "T_K": T,
        "n_points": bias.size,
        "scale": 2.0,
        "sigma": sigma,
        "sigma_source": "file",
        "chi2": float(np.sum(res**2)),
        "n_omega": 1024,
        "bias_mV": bias.tolist(),
        "data": data.tolist(),
        "model": model.tolist(),
        "residuals": res.tolist(),
        "conductance": g.tolist(),
        "conductance_alpha": ga.tolist(),
        "conductance_beta": gb.tolist(),
        "gap_coefficients_meV": [1.0, 0.0, 0.0, -2.0, 0.0, 0.0],
        "delta_alpha_diagonal_meV": 1.0,
        "delta_beta_diagonal_meV": -2.0,
    }


def _fake_result(free=("gamma", "tunnel_ratio", "lambda"), n_spec=2, degenerate=False):
    free = list(free)
    sd = np.array([SIG[n] for n in free])
    corr = np.eye(len(free))
    if len(free) >= 2:
        corr[0, 1] = corr[1, 0] = RHO  # gamma / tunnel_ratio: the most correlated pair
    if len(free) >= 3:
        corr[0, 2] = corr[2, 0] = 0.3
        corr[1, 2] = corr[2, 1] = -0.2
    cov = corr * np.outer(sd, sd)
    values = {"gamma": 0.8, "tunnel_ratio": 0.8, "lambda": 0.18}
    spectra = [_fake_spectrum(T, i) for i, T in enumerate((4.2, 1.6, 8.0, 12.0, 15.0, 20.0, 25.0)[:n_spec])]
    chi2 = sum(s["chi2"] for s in spectra)
    n_data = sum(s["n_points"] for s in spectra)
    fixed = {"tunnel_ratio": 0.8} if "tunnel_ratio" not in free else {}
    return {
        "parameters": {n: values[n] for n in free},
        "uncertainties": dict(zip(free, sd.tolist(), strict=True)),
        "covariance": (np.full_like(cov, np.nan) if degenerate else cov).tolist(),
        "correlations": {a: {b: float(corr[i, j]) for j, b in enumerate(free)} for i, a in enumerate(free)},
        "chi2": chi2,
        "dof": n_data - len(free),
        "converged": True,
        "degenerate": degenerate,
        "message": "degenerate fit: the data do not constrain gamma" if degenerate else "ok",
        "n_data": n_data,
        "free": free,
        "fixed": {"kappa": 0.75, **fixed},
        "spectra": spectra,
        "grid": 64,
        "channel": "s",
    }


def _texts(ax):
    return " ".join(t.get_text() for t in ax.texts)


def test_fit_figure_layout_residuals_ellipse_png(tmp_path):
    res = _fake_result()
    path = tmp_path / "sub" / "fit.png"
    fig = plot_spectrum_fit(res, path)
    assert isinstance(fig, Figure)
    _png_ok(path)
    axes = fig.axes
    assert len(axes) == 2 * 2 + 2  # per spectrum data + residuals, then bands, then ellipse
    for k, spec in enumerate(res["spectra"]):
        ax, axr = axes[2 * k], axes[2 * k + 1]
        assert f"T = {spec['T_K']:.3g} K" in ax.get_title().replace("$", "")
        assert "chi" in ax.get_title()
        data_line, model_line = ax.get_lines()[:2]
        np.testing.assert_allclose(data_line.get_ydata(), spec["data"])
        np.testing.assert_allclose(model_line.get_ydata(), spec["model"])
        pts = [ln for ln in axr.get_lines() if ln.get_marker() == "o"]
        assert len(pts) == 1
        np.testing.assert_allclose(pts[0].get_xdata(), spec["bias_mV"])
        np.testing.assert_allclose(pts[0].get_ydata(), -np.asarray(spec["residuals"]))
        # (data - model)/sigma, i.e. the opposite sign of the stored residuals
        np.testing.assert_allclose(
            pts[0].get_ydata(), (np.asarray(spec["data"]) - spec["model"]) / spec["sigma"], atol=1e-9
        )
        assert axr.get_shared_x_axes().joined(ax, axr)
        assert "bias (mV)" in axr.get_xlabel()
    assert "data" in axes[1].get_ylabel() and "model" in axes[1].get_ylabel() and "sigma" in axes[1].get_ylabel()
    zero = [ln for ln in axes[1].get_lines() if np.allclose(ln.get_ydata(), 0.0)]
    assert zero
    (band,) = axes[1].patches  # the +-2 band (y in data units)
    ys = band.get_path().transformed(band.get_patch_transform()).vertices[:, 1]
    np.testing.assert_allclose([ys.min(), ys.max()], [-2.0, 2.0])

    ax_bands, ax_ell = axes[-2], axes[-1]
    labels = [ln.get_label() for ln in ax_bands.get_lines()]
    assert "alpha sheet" in labels and "beta sheet" in labels
    assert any(lb.startswith("total (tunnel_ratio r = 0.8") for lb in labels)
    coldest = min(res["spectra"], key=lambda s: s["T_K"])
    alpha = next(ln for ln in ax_bands.get_lines() if ln.get_label() == "alpha sheet")
    np.testing.assert_allclose(alpha.get_ydata(), coldest["conductance_alpha"])
    assert "1.6" in ax_bands.get_title()

    # the 1-sigma ellipse of (gamma, tunnel_ratio) reaches exactly sqrt(2.30 C_ii) from the best fit
    cov = np.asarray(res["covariance"])
    one = next(ln for ln in ax_ell.get_lines() if ln.get_label().startswith(r"1$\sigma$"))
    two = next(ln for ln in ax_ell.get_lines() if ln.get_label().startswith(r"2$\sigma$"))
    cx, cy = res["parameters"]["gamma"], res["parameters"]["tunnel_ratio"]
    for line, dchi2 in ((one, 2.30), (two, 6.18)):
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        np.testing.assert_allclose(x.max() - cx, math.sqrt(dchi2 * cov[0, 0]), rtol=1e-12)
        np.testing.assert_allclose(cx - x.min(), math.sqrt(dchi2 * cov[0, 0]), rtol=1e-12)
        np.testing.assert_allclose(y.max() - cy, math.sqrt(dchi2 * cov[1, 1]), rtol=1e-12)
        np.testing.assert_allclose(cy - y.min(), math.sqrt(dchi2 * cov[1, 1]), rtol=1e-12)
        # every point on the ellipse d^T C^-1 d = dchi2
        d = np.stack([x - cx, y - cy])
        q = np.einsum("in,ij,jn->n", d, np.linalg.inv(cov[:2, :2]), d)
        np.testing.assert_allclose(q, dchi2, rtol=1e-9)
    best = [ln for ln in ax_ell.get_lines() if ln.get_label() == "best fit"]
    assert best and best[0].get_xdata()[0] == cx and best[0].get_ydata()[0] == cy
    assert "Gamma" in ax_ell.get_xlabel() and "meV" in ax_ell.get_xlabel()
    assert "tunnel ratio" in ax_ell.get_ylabel()
    assert "-0.99" in _texts(ax_ell)


def test_fit_figure_accepts_the_dataclass():
    d = _fake_result()
    fields = SpectrumFitResult.__dataclass_fields__
    filler = {k: None for k in fields}
    filler.update({k: v for k, v in d.items() if k in fields})
    fig = plot_spectrum_fit(SpectrumFitResult(**filler))
    assert len(fig.axes) == 6
    assert "-0.99" in _texts(fig.axes[-1])


def test_fit_figure_one_parameter_and_degenerate():
    fig = plot_spectrum_fit(_fake_result(free=("gamma",), n_spec=1))
    assert len(fig.axes) == 2 + 2
    ax_ell = fig.axes[-1]
    assert "1 free parameter" in _texts(ax_ell) and not ax_ell.get_lines()

    fig = plot_spectrum_fit(_fake_result(degenerate=True))
    ax_ell = fig.axes[-1]
    assert "degenerate" in _texts(ax_ell) and not ax_ell.get_lines()


def test_fit_figure_wraps_beyond_six_columns():
    fig = plot_spectrum_fit(_fake_result(n_spec=7))
    assert len(fig.axes) == 2 * 7 + 2
    # 4 + 3: the fifth spectrum starts a second row, below the first
    spans = [(a.get_subplotspec().rowspan.start, a.get_subplotspec().colspan.start) for a in fig.axes[:14:2]]
    assert spans == [(0, 0), (0, 1), (0, 2), (0, 3), (2, 0), (2, 1), (2, 2)]


def test_confidence_ellipse_uncorrelated():
    x, y = confidence_ellipse((1.0, 2.0), [[4.0, 0.0], [0.0, 1.0]], DELTA_CHI2_2D[0])
    np.testing.assert_allclose([x.max() - 1.0, y.max() - 2.0], [2.0 * math.sqrt(2.30), math.sqrt(2.30)])
    assert x[0] == x[-1] and y[0] == y[-1]


@pytest.fixture(scope="module")
def small_spectrum():
    import jax

    jax.config.update("jax_enable_x64", True)
    from jaxnickel.triplon import make_params
    from jaxnickel.triplon.spectra import spectrum

    p = make_params(lam=0.2, grid=64, T=4.2 * 8.617333262e-5)
    return spectrum(p, np.linspace(-40, 40, 81), gamma_meV=0.8, grid=64)


def test_plot_spectrum(small_spectrum, tmp_path):
    s = small_spectrum
    path = tmp_path / "spec.png"
    fig = plot_spectrum(s, path)
    _png_ok(path)
    (ax,) = fig.axes
    lines = [ln for ln in ax.get_lines() if isinstance(ln, Line2D)]
    curves = {ln.get_label(): ln for ln in lines if len(ln.get_xdata()) > 2}
    assert set(curves) == {"alpha sheet", "beta sheet", "total g (tunnel_ratio r = 1)"}
    np.testing.assert_allclose(curves["alpha sheet"].get_ydata(), s.conductance_alpha)
    np.testing.assert_allclose(curves["beta sheet"].get_ydata(), s.conductance_beta)
    np.testing.assert_allclose(curves["total g (tunnel_ratio r = 1)"].get_ydata(), s.conductance)
    # gap markers: dotted verticals at +-|Delta| (meV) of each sheet's extremes
    ext = s.solution.gap_extremes()
    want = sorted(
        {round(abs(1e3 * ext[f"delta_{b}_{w}"]), 6) for b in ("alpha", "beta") for w in ("max", "min")} - {0.0}
    )
    assert want
    vlines = [ln for ln in lines if ln.get_linestyle() == ":"]
    xs = sorted({round(float(ln.get_xdata()[0]), 6) for ln in vlines})
    np.testing.assert_allclose(xs, sorted([-v for v in want] + want), atol=1e-6)
    t = ax.get_title()
    assert "4.2" in t and "0.8" in t and "$r$ = 1" in t and "state" in t
    assert "bias (mV)" in ax.get_xlabel()
