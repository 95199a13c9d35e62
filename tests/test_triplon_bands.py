"""Bands of the triplon model (paper 001, Eq. 5), fillings and Fermi-level DOS.

References used here, each independent of the triangle code under test:

* a spectrally accurate Fermi-line integral in polar coordinates around the
  pocket centre, ``N = (2pi)^-2 int dtheta k_F / |d xi/dr|`` and
  ``n = (2pi)^-2 int dtheta k_F^2 / 2`` (smooth periodic integrands, trapezoid rule);
* a Gaussian-smeared grid sum in plain numpy, Richardson-extrapolated in the width;
* closed forms for the nearest-neighbour band (elliptic-integral DOS, half filling,
  the 2D free-electron DOS m/2pi at the band bottom).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import ellipk

from jaxnickel.triplon.bands import (
    BANDS,
    BandParams,
    band_path,
    dispersion,
    dos_fermi,
    dos_vs_density,
    fermi_rays_all,
    fermi_surface,
    fillings,
    form_factors,
    kgrid,
    mu_from_density,
    validate_band_params,
)

PAPER = BandParams()
CENTER = {"alpha": "G", "beta": "M"}  # at the paper's point: alpha pocket around Gamma, beta hole pocket around M


def fermi_line_reference(bp, band, center, m=2048):
    """(occupied area fraction inside the pocket, N, Ntilde) by the polar line integral."""
    th = jnp.arange(m) * 2 * jnp.pi / m
    fs = fermi_surface(bp, band, th, center=center)
    kf = fs["k_F"]
    assert not np.any(np.isnan(np.asarray(kf))), "pocket not star-shaped around its centre"
    c, s = jnp.cos(th), jnp.sin(th)
    cx, cy = (0.0, 0.0) if center == "G" else (np.pi, np.pi)
    b = BANDS.index(band)
    dxi_dr = jax.jvp(lambda r: dispersion(cx + r * c, cy + r * s, bp)[b], (kf,), (jnp.ones_like(kf),))[1]
    eta2 = (jnp.cos(fs["kx"]) - jnp.cos(fs["ky"])) ** 2
    norm = 2 * np.pi / (2 * np.pi) ** 2
    area = float(jnp.mean(kf**2 / 2)) * norm
    N = float(jnp.mean(kf / jnp.abs(dxi_dr))) * norm
    Nt = float(jnp.mean(eta2 * kf / jnp.abs(dxi_dr))) * norm
    return area, N, Nt


@pytest.fixture(scope="module")
def paper_ref():
    """Reference (n, N, Ntilde) per band at the paper's point; beta's pocket is a hole pocket (n = 1 - area)."""
    a = fermi_line_reference(PAPER, "alpha", "G")
    b = fermi_line_reference(PAPER, "beta", "M")
    return {"alpha": a, "beta": (1.0 - b[0], b[1], b[2])}


@pytest.fixture(scope="module")
def paper_grid():
    """Fillings and both DOS estimators at the paper's point on n = 256 ... 2048 (triangle DOS up to 1024)."""
    out = {}
    for n in (256, 512, 1024, 2048):
        out[n] = {"fill": [float(x) for x in fillings(PAPER, n)], "fermi_line": dos_fermi(PAPER, n)}
        if n <= 1024:
            out[n]["triangle"] = dos_fermi(PAPER, n, method="triangle")
    return out


def smeared_dos(p, n=1024, sigmas=(0.005, 0.01)):
    """Gaussian-smeared grid sums (numpy), Richardson-extrapolated in sigma^2 -> 0."""
    k = 2 * np.pi * np.arange(n) / n
    cx, cy = np.cos(k)[:, None], np.cos(k)[None, :]
    base = -4 * (
        p["t1"] * (cx + cy) / 2 + p["t2"] * cx * cy + p["t3"] * (np.cos(2 * k)[:, None] + np.cos(2 * k)[None, :]) / 2
    )
    w = (cx - cy) ** 2
    out = {}
    for band in BANDS:
        xi = base + p["eps_" + band] * w - p["mu"]
        vals = []
        for s in sigmas:
            g = np.exp(-0.5 * (xi / s) ** 2) / (np.sqrt(2 * np.pi) * s)
            vals.append(np.array([g.mean(), (g * w).mean()]))
        r = (sigmas[1] / sigmas[0]) ** 2
        out[band] = (r * vals[0] - vals[1]) / (r - 1)
    return out


# --------------------------------------------------------------------------
# dispersion, parameters


def test_dispersion_at_high_symmetry_points():
    xa, xb = dispersion(jnp.array([0.0, np.pi, np.pi]), jnp.array([0.0, 0.0, np.pi]), PAPER)
    # Gamma: -4 (t1 + t2 + t3) - mu; X: -4 (-t2 + t3) + 4 eps - mu; M: -4 (-t1 + t2 + t3) - mu
    np.testing.assert_allclose(xa, [-1.08 + 0.65, -1.2 + 1.6 + 0.65, 2.52 + 0.65], atol=1e-14)
    np.testing.assert_allclose(xb, [-1.08 + 0.65, -1.2 + 0.4 + 0.65, 2.52 + 0.65], atol=1e-14)
    # the beta band is occupied at X: its Fermi surface at the paper's point is a hole pocket around M
    assert float(xb[1]) == pytest.approx(-0.15, abs=1e-14)
    g1, g2, g3, eta = form_factors(0.3, 1.1)
    assert float(g3) == pytest.approx(0.5 * (math.cos(0.6) + math.cos(2.2)), abs=1e-15)
    assert float(eta) == pytest.approx(math.cos(0.3) - math.cos(1.1), abs=1e-15)


def test_kgrid_c_order():
    kx, ky = kgrid(4)
    assert kx.shape == (16,)
    np.testing.assert_allclose(kx[:4], 0.0)
    np.testing.assert_allclose(ky[:4], 2 * np.pi * np.arange(4) / 4)


def test_band_params_roundtrip_and_validation():
    bp = BandParams.from_dict(PAPER.to_dict())
    assert bp.to_dict() == {"t1": 0.45, "t2": -0.24, "t3": 0.06, "eps_alpha": 0.4, "eps_beta": 0.1, "mu": -0.65}
    assert bp.t1.dtype == jnp.float64
    assert PAPER.replace(mu=-0.7).to_dict()["mu"] == -0.7
    with pytest.raises(ValueError, match="eps_beta must be a finite number"):
        validate_band_params(PAPER.replace(eps_beta=float("nan")))
    with pytest.raises(ValueError, match="eps_beta must be a finite number"):
        fillings(PAPER.replace(eps_beta=float("inf")), 16)
    with pytest.raises(ValueError, match="unknown band parameter"):
        PAPER.replace(t4=1.0)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        fillings(PAPER, 1)
    with pytest.raises(ValueError, match="method must be one of"):
        dos_fermi(PAPER, 16, method="histogram")
    with pytest.raises(ValueError, match=r"n_c .* must be in \[0, 2\)"):
        mu_from_density(2.0, PAPER, 16)
    with pytest.raises(ValueError, match=r"n_c .* must be in \[0, 2\)"):
        dos_vs_density(PAPER, [0.3, -0.1], 16)
    with pytest.raises(ValueError, match="band must be one of"):
        fermi_surface(PAPER, "gamma", 0.0)


# --------------------------------------------------------------------------
# fillings


def test_paper_fillings(paper_grid, paper_ref):
    na, nb = paper_grid[1024]["fill"]
    # the paper prints n_alpha = 0.14 and n_beta = 0.31 (Fig. 2); we get 0.144220 / 0.307536
    assert round(na, 2) == 0.14 and round(nb, 2) == 0.31
    assert na == pytest.approx(paper_ref["alpha"][0], abs=2e-6)
    assert nb == pytest.approx(paper_ref["beta"][0], abs=5e-6)
    assert paper_ref["alpha"][0] == pytest.approx(0.1442198, abs=1e-7)
    assert paper_ref["beta"][0] == pytest.approx(0.3075360, abs=1e-7)


def test_fillings_converge_as_h_squared(paper_grid, paper_ref):
    for i, band in enumerate(BANDS):
        err = [paper_grid[n]["fill"][i] - paper_ref[band][0] for n in (256, 512, 1024, 2048)]
        ratios = [err[j] / err[j + 1] for j in range(3)]
        assert all(3.5 < r < 4.6 for r in ratios), (band, err, ratios)


def test_mu_from_density_inverts_fillings():
    n = 256
    na, nb = fillings(PAPER, n)
    mu = mu_from_density(na + nb, PAPER, n)
    assert float(mu) == pytest.approx(-0.65, abs=1e-12)
    for nc in (0.02, 0.45, 1.0, 1.9):
        mu = mu_from_density(nc, PAPER, n)
        na, nb = fillings(PAPER.replace(mu=mu), n)
        assert float(na + nb) == pytest.approx(nc, abs=1e-12)
    # bp.mu is ignored
    assert float(mu_from_density(0.45, PAPER.replace(mu=3.0), n)) == float(mu_from_density(0.45, PAPER, n))
    # n_c = 0: the bottom of the bands (Gamma, -1.08 eV)
    assert float(mu_from_density(0.0, PAPER, n)) == pytest.approx(-1.08, abs=1e-12)


def test_nearest_neighbour_band_exact():
    """t2 = t3 = eps = 0: xi = -2 t1 (cos kx + cos ky) - mu, with closed-form DOS and fillings."""
    t1 = 0.5
    nn = BandParams(t1=t1, t2=0.0, t3=0.0, eps_alpha=0.0, eps_beta=0.0, mu=0.0)

    def rho(E):  # DOS per spin per site of -2t(cos kx + cos ky)
        return ellipk(1.0 - E**2 / (16 * t1**2)) / (2 * np.pi**2 * t1)

    # half filling is exact on every even grid (xi(k + (pi, pi)) = -xi(k) maps triangles onto triangles)
    for n in (16, 64):
        na, nb = fillings(nn, n)
        assert float(na) == pytest.approx(0.5, abs=1e-14) and float(nb) == pytest.approx(0.5, abs=1e-14)
    for mu in (-1.9, -1.0, -0.5):
        bp = nn.replace(mu=mu)
        exact_n = quad(rho, -4 * t1, mu, limit=200, epsabs=1e-14, epsrel=1e-13)[0]
        assert abs(float(fillings(bp, 512)[0]) - exact_n) * 512**2 < 1.2  # measured: 1.04, 0.72, 0.46
        assert float(dos_fermi(bp, 512).N_alpha) == pytest.approx(rho(mu), rel=5e-5)
        assert float(dos_fermi(bp, 512, method="triangle").N_alpha) == pytest.approx(rho(mu), rel=5e-4)
    # band bottom: 2D free electrons, xi ~ -4 t1 + t1 k^2, m = 1/(2 t1), N -> m / (2 pi) = 1/(4 pi t1);
    # the lattice corrects it at mu = -4 t1 + delta by K(q) = (pi/2)(1 + q/4 + ...), q = delta/(2 t1) + O(delta^2)
    free = 1.0 / (4 * np.pi * t1)
    for delta in (0.04, 0.01):
        N = float(dos_fermi(nn.replace(mu=-4 * t1 + delta), 1024).N_alpha)
        assert N / free - 1.0 == pytest.approx(delta / (8 * t1), abs=2e-4)


# --------------------------------------------------------------------------
# densities of states


def test_triangle_dos_is_the_derivative_of_the_filling():
    bp = PAPER
    n, h = 256, 1e-6
    plus = fillings(bp.replace(mu=bp.mu + h), n)
    minus = fillings(bp.replace(mu=bp.mu - h), n)
    d = dos_fermi(bp, n, method="triangle")
    for i, N in enumerate((d.N_alpha, d.N_beta)):
        fd = (float(plus[i]) - float(minus[i])) / (2 * h)
        assert float(N) == pytest.approx(fd, rel=1e-7)
    # and autodiff of the filling gives the same
    g = jax.grad(lambda m: fillings(bp.replace(mu=m), n)[1])(bp.mu)
    assert float(g) == pytest.approx(float(d.N_beta), rel=1e-12)


def test_dos_against_gaussian_smearing(paper_grid):
    sm = smeared_dos(PAPER.to_dict())
    d = paper_grid[2048]["fermi_line"]
    assert float(d.N_alpha) == pytest.approx(sm["alpha"][0], rel=5e-6)
    assert float(d.Ntilde_alpha) == pytest.approx(sm["alpha"][1], rel=5e-6)
    # the smeared beta values carry an O(sigma^4) bias from the nearby van Hove saddle
    assert float(d.N_beta) == pytest.approx(sm["beta"][0], rel=2e-5)
    assert float(d.Ntilde_beta) == pytest.approx(sm["beta"][1], rel=2e-5)


def test_dos_against_fermi_line_integral(paper_grid, paper_ref):
    for band in BANDS:
        _, N, Nt = paper_ref[band]
        for method, n, tol in (("fermi_line", 2048, 1e-5), ("triangle", 1024, 1e-3)):
            d = paper_grid[n][method]
            assert float(getattr(d, "N_" + band)) == pytest.approx(N, rel=tol)
            assert float(getattr(d, "Ntilde_" + band)) == pytest.approx(Nt, rel=tol)


def test_dos_grid_convergence(paper_grid, paper_ref):
    """fermi_line: clean O(h^2); triangle: smooth O(h^2) plus an oscillating O(h^1.5) part."""
    ns = (256, 512, 1024, 2048)
    for band in BANDS:
        _, N, Nt = paper_ref[band]
        for name, ref in (("N_", N), ("Ntilde_", Nt)):
            err = [float(getattr(paper_grid[n]["fermi_line"], name + band)) - ref for n in ns]
            ratios = [err[j] / err[j + 1] for j in range(3)]
            assert all(3.2 < r < 5.0 for r in ratios), (band, name, err, ratios)
            # the triangle DOS is not monotone in n, but bounded by C h^1.5 (C <= 55 measured on n = 256 ... 2048)
            err_t = [float(getattr(paper_grid[n]["triangle"], name + band)) - ref for n in ns[:3]]
            assert all(abs(e) * n**1.5 < 60.0 for e, n in zip(err_t, ns, strict=False)), (band, name, err_t)


def test_dos_vs_density_is_pointwise_consistent():
    ncs = jnp.array([0.35, 0.45, 0.7])
    out = dos_vs_density(PAPER, ncs, n=128)
    np.testing.assert_allclose(out["n_alpha"] + out["n_beta"], ncs, atol=1e-12)
    for i, nc in enumerate(np.asarray(ncs)):
        mu = mu_from_density(float(nc), PAPER, 128)
        assert float(out["mu"][i]) == pytest.approx(float(mu), abs=1e-13)
        d = dos_fermi(PAPER.replace(mu=mu), 128)
        assert float(out["N_beta_over_N_alpha"][i]) == pytest.approx(float(d.N_beta / d.N_alpha), rel=1e-10)
        assert float(out["Ntilde_over_N_alpha"][i]) == pytest.approx(float(d.Ntilde_alpha / d.N_alpha), rel=1e-10)
    # the trend of Figs. 3a / 4a above the Lifshitz points: N_beta/N_alpha falls, Ntilde_alpha/N_alpha rises with n_c
    r = np.asarray(out["N_beta_over_N_alpha"])
    ta = np.asarray(out["Ntilde_over_N_alpha"])
    assert r[0] > r[1] > r[2] and ta[0] < ta[1] < ta[2]


def test_beta_lifshitz_points():
    """Beta band: saddle (van Hove) on Gamma-X at cos k = -1/2, local minimum (band edge) at X.

    Both singularities of N_beta are checked against their closed forms from the
    band's Hessian H there: a step 1/(pi sqrt(det H_X)) when the pockets at X and
    Y = (0, pi) appear, and a log divergence N ~ -(4 / (2 pi^2 sqrt|det H_s|)) ln|delta|
    from the four saddles (+-2pi/3, 0), (0, +-2pi/3).
    """
    bp0 = PAPER.replace(mu=0.0)
    _, xb_s = dispersion(2 * np.pi / 3, 0.0, bp0)
    _, xb_x = dispersion(np.pi, 0.0, bp0)
    assert float(xb_s) == pytest.approx(-0.765, abs=1e-14) and float(xb_x) == pytest.approx(-0.8, abs=1e-14)
    hess = jax.hessian(lambda k: dispersion(k[0], k[1], PAPER)[1])
    grad = jax.grad(lambda k: dispersion(k[0], k[1], PAPER)[1])
    np.testing.assert_allclose(grad(jnp.array([2 * np.pi / 3, 0.0])), 0.0, atol=1e-14)
    np.testing.assert_allclose(grad(jnp.array([np.pi, 0.0])), 0.0, atol=1e-14)
    det_s = float(jnp.linalg.det(hess(jnp.array([2 * np.pi / 3, 0.0]))))  # -0.21 * 1.56: a saddle
    det_x = float(jnp.linalg.det(hess(jnp.array([np.pi, 0.0]))))  # 0.14 * 1.94: a minimum
    assert det_s < 0 < det_x
    # densities where the topology changes (see docs/triplon_bands.md): n_c = 0.2918 and 0.2251
    nc_vh = sum(float(x) for x in fillings(PAPER.replace(mu=-0.765), 512))
    nc_edge = sum(float(x) for x in fillings(PAPER.replace(mu=-0.8), 512))
    assert nc_vh == pytest.approx(0.29184, abs=2e-4) and nc_edge == pytest.approx(0.22515, abs=2e-4)

    d = np.array([1e-3, 2e-3, 1e-2])
    mus = jnp.array(np.concatenate([-0.8 + d[:2], -0.8 - d[:2], -0.765 + d[[0, 2]], -0.765 - d[[0, 2]]]))
    Nb = np.asarray(jax.vmap(lambda m: dos_fermi(PAPER.replace(mu=m), 1024).N_beta)(mus))
    # step at the band edge, linear terms removed by extrapolating the jump at 2e-3 and 1e-3 to 0
    jump = 2 * (Nb[0] - Nb[2]) - (Nb[1] - Nb[3])
    assert jump == pytest.approx(1.0 / (np.pi * np.sqrt(det_x)), rel=1e-2)
    # log divergence at the saddle: N(1e-3) - N(1e-2) = (2 / (pi^2 sqrt|det H|)) ln 10, averaged over both sides
    rise = 0.5 * ((Nb[4] - Nb[5]) + (Nb[6] - Nb[7]))
    assert rise == pytest.approx(2.0 / (np.pi**2 * np.sqrt(-det_s)) * np.log(10.0), rel=1e-2)


# --------------------------------------------------------------------------
# derivatives


def test_gradients_match_finite_differences():
    n, h = 128, 1e-5

    def total(t1, mu):
        na, nb = fillings(PAPER.replace(t1=t1, mu=mu), n)
        return na + 2.0 * nb

    g = jax.grad(total, argnums=(0, 1))(PAPER.t1, PAPER.mu)
    fd_t1 = (total(PAPER.t1 + h, PAPER.mu) - total(PAPER.t1 - h, PAPER.mu)) / (2 * h)
    fd_mu = (total(PAPER.t1, PAPER.mu + h) - total(PAPER.t1, PAPER.mu - h)) / (2 * h)
    assert float(g[0]) == pytest.approx(float(fd_t1), rel=1e-6)
    assert float(g[1]) == pytest.approx(float(fd_mu), rel=1e-6)

    # mu(n_c) by implicit differentiation: d mu / d n_c = 1/(N_alpha + N_beta) (triangle DOS) ...
    mu = mu_from_density(0.45, PAPER, n)
    d = dos_fermi(PAPER.replace(mu=mu), n, method="triangle")
    dmu = jax.grad(lambda nc: mu_from_density(nc, PAPER, n))(0.45)
    assert float(dmu) == pytest.approx(1.0 / float(d.N_alpha + d.N_beta), rel=1e-10)
    # ... and w.r.t. a band parameter
    gt = jax.grad(lambda t: mu_from_density(0.45, PAPER.replace(t1=t), n))(PAPER.t1)
    fd = (
        mu_from_density(0.45, PAPER.replace(t1=0.45 + h), n) - mu_from_density(0.45, PAPER.replace(t1=0.45 - h), n)
    ) / (2 * h)
    assert float(gt) == pytest.approx(float(fd), rel=1e-6)

    # the fermi_line DOS is differentiable too
    gN = jax.grad(lambda m: dos_fermi(PAPER.replace(mu=m), n).N_alpha)(PAPER.mu)
    fdN = (
        dos_fermi(PAPER.replace(mu=-0.65 + 1e-4), n).N_alpha - dos_fermi(PAPER.replace(mu=-0.65 - 1e-4), n).N_alpha
    ) / 2e-4
    assert np.isfinite(float(gN)) and float(gN) == pytest.approx(float(fdN), rel=1e-3)


def test_vmap_over_band_parameters():
    mus = jnp.array([-0.7, -0.65, -0.6])
    fa, fb = jax.vmap(lambda m: fillings(PAPER.replace(mu=m), 64))(mus)
    for i, m in enumerate(np.asarray(mus)):
        a, b = fillings(PAPER.replace(mu=float(m)), 64)
        assert float(fa[i]) == float(a) and float(fb[i]) == float(b)


# --------------------------------------------------------------------------
# band path and Fermi surface (Fig. 2)


def test_band_path():
    p = band_path(PAPER, n_per_segment=50)
    assert p["kx"].shape == (151,) and p["labels"] == ("Γ", "X", "M", "Γ")
    np.testing.assert_allclose(p["ticks"], [0, np.pi, 2 * np.pi, 2 * np.pi + np.sqrt(2) * np.pi], atol=1e-14)
    np.testing.assert_allclose(np.asarray(p["distance"])[[0, 50, 100, 150]], p["ticks"], atol=1e-12)
    xa, xb = dispersion(p["kx"], p["ky"], PAPER)
    np.testing.assert_array_equal(p["xi_alpha"], xa)
    np.testing.assert_array_equal(p["xi_beta"], xb)
    # the two bands are degenerate on the zone diagonal (eta = 0) and split by (eps_a - eps_b) eta^2 elsewhere
    np.testing.assert_allclose(p["xi_alpha"][100:], p["xi_beta"][100:], atol=1e-14)
    assert float(p["xi_alpha"][50] - p["xi_beta"][50]) == pytest.approx(0.3 * 4, abs=1e-14)


@pytest.mark.parametrize("band", BANDS)
def test_fermi_surface_on_shell_and_c4v(band):
    th = jnp.linspace(0.0, 2 * np.pi, 97)[:-1]
    fs = fermi_surface(PAPER, band, th, center=CENTER[band])
    kf = np.asarray(fs["k_F"])
    assert not np.any(np.isnan(kf))
    xi = np.asarray(dispersion(fs["kx"], fs["ky"], PAPER)[BANDS.index(band)])
    assert np.max(np.abs(xi)) < 1e-12
    # C4v around the pocket centre: 96 angles, a quarter turn = 24 steps, mirror theta -> -theta and pi/2 - theta
    np.testing.assert_allclose(kf, np.roll(kf, 24), atol=1e-12)
    np.testing.assert_allclose(kf, kf[(-np.arange(96)) % 96], atol=1e-12)
    np.testing.assert_allclose(kf, kf[(24 - np.arange(96)) % 96], atol=1e-12)


def test_fermi_surface_rays_from_gamma():
    th = jnp.array([0.0, np.pi / 8, np.pi / 4, 3 * np.pi / 8, np.pi / 2])
    a = np.asarray(fermi_surface(PAPER, "alpha", th)["k_F"])
    b = np.asarray(fermi_surface(PAPER, "beta", th)["k_F"])
    assert not np.any(np.isnan(a))
    # beta is occupied all along Gamma-X: no crossing on the ray theta = 0 (NaN), but one at theta = pi/4
    assert np.isnan(b[0]) and np.isnan(b[-1]) and not np.isnan(b[2])
    # on the diagonal eta = 0, so both bands cross at the same k_F
    assert a[2] == pytest.approx(b[2], abs=1e-13)


def test_fermi_rays_all_is_fermi_surface_and_the_early_stop_is_exact():
    """The one-loop k_F of both bands and centres equals fermi_surface per ray, bit for bit.

    The bisection stops once no bracket moves; more allowed halvings (200) cannot change
    the result, fewer (30) must (the bracket is then ~r_max / 256 / 2^30 ~ 1e-11 wide and
    the Newton step leaves an error ~ curvature x width^2 above rounding only at ~1e-17,
    so the test asks for a difference in the last bits, not in the physics).
    """
    th = jnp.linspace(0.0, 0.5 * np.pi, 31)
    for bp in (PAPER, PAPER.replace(mu=PAPER.mu + 0.2)):
        kf = np.asarray(fermi_rays_all(bp, th))
        for ic, center in enumerate(("G", "M")):
            for b, band in enumerate(BANDS):
                ref = np.asarray(fermi_surface(bp, band, th, center=center)["k_F"])
                np.testing.assert_array_equal(kf[ic, b], ref)
        np.testing.assert_array_equal(np.asarray(fermi_rays_all(bp, th, n_bisect=200)), kf)
        assert np.sum(np.isfinite(kf)) > 60  # most rays cross a sheet
    short = np.asarray(fermi_rays_all(PAPER, th, n_bisect=30))
    assert not np.array_equal(short, np.asarray(fermi_rays_all(PAPER, th)), equal_nan=True)
    np.testing.assert_allclose(short, np.asarray(fermi_rays_all(PAPER, th)), atol=1e-12)


def test_figs_3a_4a_ratios_converged_in_grid():
    """N_beta/N_alpha and Ntilde/N vs n_c (Figs. 3a, 4a) agree between 256^2 and 1024^2 to < 0.5%."""
    ncs = jnp.array([0.35, 0.45, 0.6, 0.8])
    coarse = dos_vs_density(PAPER, ncs, n=256)
    fine = dos_vs_density(PAPER, ncs, n=1024)
    for key in ("N_beta_over_N_alpha", "Ntilde_over_N_alpha", "Ntilde_over_N_beta"):
        np.testing.assert_allclose(np.asarray(coarse[key]), np.asarray(fine[key]), rtol=5e-3)
