"""Triplon-model figures (jaxnickel.plotting, paper 001): files written, units, colour limits.

Small grids (64) so the whole file stays fast; the physics is tested elsewhere.
"""

import math
import re

import jax.numpy as jnp
import numpy as np
import pytest
from matplotlib.collections import QuadMesh

from jaxnickel.plotting import (
    band_critical_points,
    plot_bands,
    plot_dos_vs_density,
    plot_gap_vs_temperature,
    plot_triplon_gaps,
)
from jaxnickel.triplon import K_B, BandParams, gap_vs_temperature, make_params, solve
from jaxnickel.triplon.bands import dos_vs_density

GRID = 64


@pytest.fixture(scope="module")
def params():
    return make_params(n_c=0.45, lam=0.5, kappa_a=0.75, kappa_b=0.75, grid=GRID)


@pytest.fixture(scope="module")
def sol(params):
    return solve(params, GRID, "fixed-point")


def _png_ok(path):
    assert path.exists() and path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _meshes(ax):
    return [c for c in ax.collections if isinstance(c, QuadMesh)]


def test_triplon_gaps_figure(sol, tmp_path):
    path = tmp_path / "sub" / "gaps.png"
    fig = plot_triplon_gaps(sol, path)
    _png_ok(path)
    ax_theta, ax_a, ax_b = fig.axes[:3]
    # (a): signed Fermi-surface gaps in meV vs theta in degrees, both sheets labelled
    assert "meV" in ax_theta.get_ylabel() and "deg" in ax_theta.get_xlabel()
    assert ax_theta.get_xlim() == (0.0, 90.0)
    labels = ax_theta.get_legend().get_texts()
    text = " ".join(t.get_text() for t in labels)
    assert "alpha" in text and "beta" in text and "Gamma" in text and "M" in text
    lines = [ln for ln in ax_theta.get_lines() if ln.get_label().startswith(r"$\Delta")]
    np.testing.assert_allclose(lines[0].get_ydata(), 1e3 * np.asarray(sol.delta_alpha_fs))
    np.testing.assert_allclose(lines[1].get_ydata(), 1e3 * np.asarray(sol.delta_beta_fs))
    assert np.all(lines[0].get_ydata() > 0) and np.all(lines[1].get_ydata() < 0)  # s+-
    # (b), (c): maps with symmetric colour limits (the same on both), colourbars in meV
    lims = []
    for ax in (ax_a, ax_b):
        (mesh,) = _meshes(ax)
        lo, hi = mesh.get_clim()
        assert lo == pytest.approx(-hi) and hi > 0
        lims.append(hi)
        assert "meV" in mesh.colorbar.ax.get_ylabel()
        assert ax.get_xlim()[0] == pytest.approx(-math.pi - math.pi / GRID)
        assert len(ax.collections) >= 2  # the Fermi-surface contour(s) on top
    assert lims[0] == pytest.approx(lims[1])
    vmax = 1e3 * max(np.abs(np.asarray(sol.delta_alpha)).max(), np.abs(np.asarray(sol.delta_beta)).max())
    assert lims[0] == pytest.approx(vmax)
    # the map values are the grid values (shifted: one extra row/column for +pi)
    vals = _meshes(ax_a)[0].get_array()
    assert vals.size == (GRID + 1) ** 2
    assert float(np.max(vals)) == pytest.approx(1e3 * float(np.max(np.asarray(sol.delta_alpha))))
    title = fig._suptitle.get_text()
    for key in ("n_c$=0.45", r"\lambda$=0.5", "kappa_a", "kappa_b", "T$=0 K"):
        assert key in title


def test_triplon_gaps_rejects_batched(sol):
    batched = jax_stack([sol, sol])
    with pytest.raises(ValueError, match="batched"):
        plot_triplon_gaps(batched)


def jax_stack(sols):
    import jax

    return jax.tree_util.tree_map(lambda *x: jnp.stack(x), *sols)


def test_bands_figure(tmp_path):
    path = tmp_path / "bands.png"
    fig = plot_bands(BandParams(), path, grid=GRID, fs_points=201)
    _png_ok(path)
    ax, axf = fig.axes[:2]
    assert "eV" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == [r"$\Gamma$", "X", "M", r"$\Gamma$"]
    colors = {ln.get_label(): ln.get_color() for ln in ax.get_lines()}
    assert colors[r"$\alpha$ (antibonding)"] == "C0" and colors[r"$\beta$ (bonding)"] == "C3"
    legend = " ".join(t.get_text() for t in axf.get_legend().get_texts())
    n_a, n_b = (float(x) for x in re.findall(r"= (0\.\d+)", legend))
    assert n_a == pytest.approx(0.144, abs=2e-3) and n_b == pytest.approx(0.308, abs=2e-3)  # docs/triplon_bands.md
    assert "pocket around $\\Gamma$" in legend and "pocket around M" in legend
    assert axf.get_xlim() == (-math.pi, math.pi)


def test_band_critical_points_match_docs():
    pts = band_critical_points(BandParams(), "beta", grid=256)
    inner = [p for p in pts if 0.0 < p["n_c"] < 2.0]
    assert [p["kind"] for p in inner] == ["minimum", "saddle"]
    assert inner[0]["where"] == "X" and inner[0]["energy"] == pytest.approx(-0.80, abs=1e-9)
    assert inner[1]["k"][0] == pytest.approx(2.0 * math.pi / 3.0, abs=1e-6)
    assert inner[1]["energy"] == pytest.approx(-0.765, abs=1e-6)
    assert inner[0]["n_c"] == pytest.approx(0.2251, abs=2e-3)
    assert inner[1]["n_c"] == pytest.approx(0.2918, abs=2e-3)


def test_dos_vs_density_figure(tmp_path):
    bp = BandParams()
    data = dos_vs_density(bp, np.linspace(0.1, 0.6, 26), n=GRID)
    path = tmp_path / "dos.png"
    fig = plot_dos_vs_density(data, path, bands=bp, mark_nc=0.45, grid=GRID)
    _png_ok(path)
    ax1, ax2 = fig.axes[:2]
    np.testing.assert_allclose(ax1.get_lines()[0].get_ydata(), np.asarray(data["N_beta_over_N_alpha"]))
    np.testing.assert_allclose(ax2.get_lines()[1].get_ydata(), np.asarray(data["Ntilde_over_N_beta"]))
    vlines = [ln.get_xdata()[0] for ln in ax1.get_lines()[1:]]
    assert len(vlines) == 3  # beta band minimum at X, beta van Hove saddle, n_c = 0.45
    assert vlines[0] == pytest.approx(0.225, abs=0.01) and vlines[1] == pytest.approx(0.292, abs=0.01)
    assert "n_c" in ax1.get_xlabel() and "per Ni" in ax1.get_xlabel()
    # explicit points, and no marks without them
    fig = plot_dos_vs_density(data, lifshitz=[(0.3, "somewhere")])
    assert fig.axes[0].get_lines()[1].get_xdata()[0] == 0.3
    assert len(plot_dos_vs_density(data).axes[0].get_lines()) == 1
    with pytest.raises(ValueError, match="do not match"):
        plot_dos_vs_density(data, bands=bp.replace(t1=0.5), grid=GRID)


def _ladder(params, temperatures):
    """A batched solution like gap_vs_temperature's, from solves that reuse one compilation."""
    return jax_stack([solve(params.replace(T=t), GRID, "fixed-point") for t in temperatures])


def test_gap_vs_temperature_figure(params, tmp_path):
    T = np.array([1e-4, 0.03, 0.06, 0.12])
    sols = _ladder(params, T)
    path = tmp_path / "gap_T.png"
    fig = plot_gap_vs_temperature(sols, T, path, tc=0.0875)
    _png_ok(path)
    ax = fig.axes[0]
    assert "(K)" in ax.get_xlabel() and "meV" in ax.get_ylabel()
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    diag = lines[r"$|\Delta_\alpha(\theta=45^\circ)|$"]
    np.testing.assert_allclose(diag.get_xdata(), T / K_B)
    np.testing.assert_allclose(diag.get_ydata(), 1e3 * np.abs(np.asarray(sols.delta_alpha_fs)[:, 45]))
    assert diag.get_ydata()[0] > diag.get_ydata()[2] > 0 and diag.get_ydata()[-1] == 0  # normal above T_c
    top = lines[r"$\max_\theta |\Delta_\beta(\theta)|$"].get_ydata()
    assert np.all(top >= 1e3 * np.abs(np.asarray(sols.delta_beta_fs)[:, 45]) - 1e-9)
    assert any(label.startswith("$T_c$") for label in lines)
    with pytest.raises(ValueError, match="eV"):
        plot_gap_vs_temperature(sols, T / K_B)


@pytest.mark.slow
def test_gap_vs_temperature_from_the_ladder(params, tmp_path):
    T = np.array([1e-4, 0.06, 0.12])
    sols = gap_vs_temperature(params, T, GRID)
    fig = plot_gap_vs_temperature(sols, T, tmp_path / "ladder.png")
    _png_ok(tmp_path / "ladder.png")
    assert len(fig.axes[0].get_lines()) >= 5
