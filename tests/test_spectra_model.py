"""The tunnelling forward model (jaxnickel.triplon.spectra) against limits derived by hand.

Reference values are independent of the module: closed forms of the BCS density of
states, scipy quadrature of the Dynes function against the Fermi kernel, the
triangle-method DOS of jaxnickel.triplon.bands, and central finite differences of
full re-solves.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from jaxnickel.fit import build_params
from jaxnickel.triplon import K_B, dos_fermi, make_params
from jaxnickel.triplon.spectra import (
    FermiLine,
    conductance,
    dynes_ratio,
    energy_points,
    fermi_line,
    fermi_line_gaps,
    spectrum,
    spectrum_jax,
)

MEV = 1e-3


def _isotropic_line(n=8, weight=0.5):
    """A synthetic Fermi line with equal weights (one isotropic sheet twice)."""
    z = jnp.zeros(n)
    w = jnp.full(n, weight / n)
    return FermiLine(z, w, w, z, z, z, z, z, z)


def test_dynes_ratio_is_the_retarded_branch():
    """1/sqrt(1 - D^2/z^2) = z / (sqrt(z - D) sqrt(z + D)) (analytic in the upper half plane), > 0 for w < 0."""
    w = np.linspace(-5.0, 5.0, 2001)
    for gamma in (1e-3, 0.1, 1.0):
        z = w + 1j * gamma
        ref = np.real(z / (np.sqrt(z - 1.0) * np.sqrt(z + 1.0)))
        got = np.asarray(dynes_ratio(jnp.asarray(w), 1.0, gamma))
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)
        assert np.all(got > 0)
    # the naive sqrt(z*z - D*D) is negative for w < 0: the module must not be that
    z = -3.0 + 0.01j
    assert np.real(z / np.sqrt(z * z - 1.0)) < 0 < float(dynes_ratio(-3.0, 1.0, 0.01))


def test_bcs_square_root_edge_at_T0_small_gamma():
    """One isotropic gap, Gamma -> 0, T = 0: g = |w| / sqrt(w^2 - D^2) outside the gap, 0 inside."""
    D = 10 * MEV
    gamma = 1e-6 * D
    line = _isotropic_line()
    gaps = (jnp.full(8, D), jnp.full(8, D))
    w = jnp.asarray(np.array([-3.0, -1.5, -1.01, -0.5, 0.0, 0.5, 1.01, 1.5, 3.0]) * D)
    g, ga, gb = conductance(w, line, gaps, gamma, 0.0)
    x = np.abs(np.asarray(w)) / D
    ref = np.where(x > 1, x / np.sqrt(np.clip(x * x - 1, 1e-300, None)), 0.0)
    np.testing.assert_allclose(np.asarray(g), ref, atol=1e-5)
    # the edge: g(D (1 + e)) ~ 1/sqrt(2 e)
    for e in (1e-2, 1e-3):
        ge = float(conductance(jnp.asarray([D * (1 + e)]), line, gaps, gamma, 0.0)[0][0])
        assert ge == pytest.approx((1 + e) / math.sqrt(e * (2 + e)), rel=1e-3)


def test_thermal_convolution_against_quadrature():
    """T > 0: the grid convolution equals scipy's quadrature of Re[z/sqrt(z^2-D^2)] (-f'(w - V))."""
    D, gamma, T = 5 * MEV, 0.3 * MEV, 10 * K_B
    line = _isotropic_line()
    gaps = (jnp.full(8, D), jnp.full(8, D))
    V = np.array([-7.0, -5.0, -2.0, 0.0, 3.0, 5.2, 9.0]) * MEV
    n, _ = energy_points(V.min(), V.max(), gamma, T)
    g = np.asarray(conductance(jnp.asarray(V), line, gaps, gamma, T, n_omega=n)[0])

    def integrand(w, v):
        z = w + 1j * gamma
        dos = np.real(z / (np.sqrt(z - D) * np.sqrt(z + D)))
        return dos / (4 * T * np.cosh((w - v) / (2 * T)) ** 2)

    for gi, v in zip(g, V, strict=True):
        pts = sorted({-D, D, v})
        ref, _ = integrate.quad(integrand, v - 40 * T, v + 40 * T, args=(v,), points=pts, limit=400, epsabs=1e-12)
        assert gi == pytest.approx(ref, abs=1e-7)


def test_energy_grid_converged():
    """Doubling the convolution grid beyond energy_points' choice changes g by < 1e-7."""
    D, gamma, T = 8 * MEV, 0.5 * MEV, 4.2 * K_B
    line = _isotropic_line()
    gaps = (jnp.full(8, D), jnp.full(8, 0.6 * D))
    V = jnp.linspace(-30 * MEV, 30 * MEV, 61)
    n, h = energy_points(-0.03, 0.03, gamma, T)
    g1 = np.asarray(conductance(V, line, gaps, gamma, T, n_omega=n)[0])
    g2 = np.asarray(conductance(V, line, gaps, gamma, T, n_omega=4 * n)[0])
    assert np.max(np.abs(g1 - g2)) < 1e-7


@pytest.fixture(scope="module")
def state():
    p = make_params(lam=0.2, grid=64, T=8.0 * K_B)
    bias = np.concatenate([[-300.0], np.linspace(-40, 40, 161), [300.0]])  # +-300 mV: far outside the gaps
    s = spectrum(p, bias, gamma_meV=0.7, tunnel_ratio=0.6, grid=64)
    return p, s


def test_fermi_line_weights_integrate_to_the_dos():
    """sum of w_b(theta) = N_b of the triangle/Fermi-line DOS of bands.py (O(h^2) there, exponential here)."""
    p = make_params(lam=0.2, grid=512)
    line = fermi_line(p.bands, 48)
    Na, Nb = (float(v) for v in line.dos)
    d = dos_fermi(p.bands, 1024)
    assert Na == pytest.approx(float(d.N_alpha), rel=1e-5)
    assert Nb == pytest.approx(float(d.N_beta), rel=1e-4)
    coarse = fermi_line(p.bands, 24)
    assert float(coarse.dos[0]) == pytest.approx(Na, rel=1e-12)
    assert float(coarse.dos[1]) == pytest.approx(Nb, rel=1e-8)


def test_symmetric_and_normalised(state):
    """g(V) = g(-V) (particle-hole symmetric BCS spectra), g -> 1 far outside the gaps, g > 0."""
    _, s = state
    g = s.conductance
    np.testing.assert_allclose(g, g[::-1], atol=1e-12)
    assert np.all(g > 0)
    # at 300 mV, g - 1 ~ <D^2>/(2 V^2) < 0.5 % for gaps < 30 meV
    for c in (g, s.conductance_alpha, s.conductance_beta):
        assert 0 < c[0] - 1 < 5e-3 and c[-1] == pytest.approx(c[0], abs=1e-12)
    # g is the DOS-weighted mix of the band parts
    wa, wb = s.N_alpha, s.tunnel_ratio * s.N_beta
    np.testing.assert_allclose(g, (wa * s.conductance_alpha + wb * s.conductance_beta) / (wa + wb), rtol=1e-12)
    # coherence peaks near the gap extremes of the sheets, suppression inside
    ext = s.solution.gap_extremes()
    peak = s.bias_mV[np.argmax(g[1:-1]) + 1]
    gaps = 1e3 * np.abs([ext["delta_alpha_min"], ext["delta_alpha_max"], ext["delta_beta_min"], ext["delta_beta_max"]])
    assert gaps.min() - 2 < abs(peak) < gaps.max() + 2
    assert g[np.argmin(np.abs(s.bias_mV))] < 0.3


@pytest.mark.slow
def test_sum_rule_wide_window():
    """int (g - 1) dV over (-W, W) -> -<D^2>/W: the states pushed out of the gap reappear in the peaks.

    For the Dynes function, F - 1 ~ D^2/(2 z^2) is analytic in the upper half plane, so
    its integral along the real line vanishes; the part outside (-W, W) is
    2 int_W^inf D^2/(2 w^2) = D^2/W.  The thermal kernel conserves the integral.
    """
    p = make_params(lam=0.2, grid=64, T=6.0 * K_B)
    from jaxnickel.triplon.solve import solve_jax

    sol = solve_jax(p, 64, "fixed-point", channel="s")
    line = fermi_line(p.bands, 48)
    gaps = fermi_line_gaps(sol.coefficients, line)
    W = 1.0  # eV, ~50 x the gaps; T = 0 path (the kernel conserves the integral: next test)
    gamma = 0.4 * MEV
    V = jnp.linspace(-W, W, 50001)  # spacing gamma / 10: the trapezoid sum is exact to exp(-20 pi)
    _, ga0, gb0 = conductance(V, line, gaps, gamma, 0.0, 1.0)
    dV = float(V[1] - V[0])
    Na, Nb = (float(v) for v in line.dos)
    for g_b, gaps_b, w_b, N_b in ((ga0, gaps[0], line.weight_alpha, Na), (gb0, gaps[1], line.weight_beta, Nb)):
        integral = float((jnp.sum(g_b - 1.0) - 0.5 * (g_b[0] + g_b[-1] - 2.0)) * dV)
        d2 = float(jnp.sum(w_b * gaps_b**2) / N_b)  # DOS-weighted <D^2>
        assert integral == pytest.approx(-d2 / W, rel=0.01)


def test_thermal_kernel_conserves_the_integral():
    """int (g_T - g_0) dV = 0 for a window much wider than the kernel (gaps + 40 T inside)."""
    D, gamma, T = 5 * MEV, 0.5 * MEV, 15 * K_B
    line = _isotropic_line()
    gaps = (jnp.full(8, D), jnp.full(8, 0.5 * D))
    V = jnp.linspace(-0.06, 0.06, 2401)
    n, _ = energy_points(-0.06, 0.06, gamma, T)
    gT = conductance(V, line, gaps, gamma, T, n_omega=n)[0]
    g0 = conductance(V, line, gaps, gamma, 0.0)[0]
    dV = float(V[1] - V[0])
    diff = float(jnp.sum(gT - g0) * dV)
    assert abs(diff) < 1e-3 * float(jnp.sum(jnp.abs(g0 - 1.0)) * dV)


def test_gradients_match_finite_differences_of_full_resolves():
    """d g(V)/d(lambda, kappa_a, gamma, T) by forward autodiff through the implicit solve = central FD."""
    grid, n_om = 48, 1024
    bias = jnp.asarray([-12.0, -6.0, 0.0, 7.0, 15.0]) * MEV
    base = {"kappa_b": 0.75, "omega": 0.3, "n_c": 0.45, "t1": 0.45, "t2": -0.24, "t3": 0.06}
    base |= {"eps_alpha": 0.4, "eps_beta": 0.1}

    def g_of(x):
        lam, ka, gamma, T = x[0], x[1], x[2], x[3]
        p = build_params({**base, "lambda": lam, "kappa_a": ka}, grid, T)
        return spectrum_jax(p, bias, gamma, 0.9, grid=grid, n_omega=n_om, channel="s")[0]

    x0 = jnp.asarray([0.21, 0.7, 0.6 * MEV, 8.0 * K_B])
    J = np.asarray(jax.jit(jax.jacfwd(g_of))(x0))
    f = jax.jit(g_of)
    for i, rel in enumerate((1e-4, 1e-4, 1e-4, 1e-4)):
        h = rel * float(x0[i])
        e = jnp.zeros(4).at[i].set(h)
        fd = (np.asarray(f(x0 + e)) - np.asarray(f(x0 - e))) / (2 * h)
        np.testing.assert_allclose(J[:, i], fd, rtol=2e-5, atol=1e-6 * np.max(np.abs(fd)))
        assert np.max(np.abs(fd)) > 0  # every parameter moves the spectrum


def test_spectrum_rejects_bad_input():
    p = make_params(lam=0.2, grid=32)
    bias = np.linspace(-10, 10, 5)
    for kw, msg in (
        ({"gamma_meV": 0.0}, "gamma_meV"),
        ({"gamma_meV": float("nan")}, "gamma_meV"),
        ({"gamma_meV": 1.0, "tunnel_ratio": -1.0}, "tunnel_ratio"),
        ({"gamma_meV": 1.0, "n_fs": 2}, "n_fs"),
    ):
        with pytest.raises(ValueError, match=msg):
            spectrum(p, bias, grid=32, **kw)
    with pytest.raises(ValueError, match="bias_mV"):
        spectrum(p, np.array([0.0, np.nan]), gamma_meV=1.0, grid=32)
    # between the beta band's Lifshitz points the beta sheet is no pocket
    q = make_params(n_c=0.26, lam=0.2, grid=64)
    with pytest.raises(ValueError, match="not one closed pocket"):
        spectrum(q, bias, gamma_meV=1.0, grid=32)
