"""Triplon s+- model: the functional, both solvers, T_c, exact limits, symmetry channels."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnickel.lattice import Square
from jaxnickel.triplon import (
    K_B,
    BandParams,
    TriplonParams,
    critical_temperatures,
    gap_vs_temperature,
    make_params,
    solve,
)
from jaxnickel.triplon.analytic import delta_weak_coupling, gaps_eq17
from jaxnickel.triplon.bands import dos_fermi
from jaxnickel.triplon.pairing import (
    coefficient_map,
    condensation_free_energy,
    free_energy_and_map,
    gap_map,
    gaps_from_coefficients,
    make_grid,
    pair_amplitude,
)

N = 128  # grid for the fast tests


@pytest.fixture(scope="module")
def paper_point():
    """n_c = 0.45, kappa = 0.75, lambda = 0.3 (the paper's bands, Fig. 2)."""
    return make_params(n_c=0.45, lam=0.3, grid=N)


def _grid(p, n=N):
    return make_grid(p, *Square(n).momenta())


def _random_gaps(n, seed):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.normal(0, 0.03, n * n)), jnp.asarray(rng.normal(0, 0.03, n * n))


@pytest.mark.parametrize("T", [0.0, 0.004])
def test_free_energy_gradient_is_the_gap_equation(paper_point, T):
    """For ANY trial gaps: dF/dDelta_alpha,k = (2/N) chi'_k (Delta_k - RHS of Eq. 14)."""
    p = paper_point.replace(T=T)
    n = 32
    g = _grid(p, n)
    da, db = _random_gaps(n, 1)
    ga, gb = jax.grad(condensation_free_energy, argnums=(0, 1))(da, db, p, g)
    na, nb = gap_map(da, db, p, g)
    dchi_a = jax.grad(lambda x: jnp.sum(pair_amplitude(x, g.xi_alpha, p.T)[1]))(da)
    dchi_b = jax.grad(lambda x: jnp.sum(pair_amplitude(x, g.xi_beta, p.T)[1]))(db)
    np.testing.assert_allclose(np.asarray(ga), np.asarray(2 * dchi_a * (da - na) / n**2), rtol=1e-9, atol=1e-18)
    np.testing.assert_allclose(np.asarray(gb), np.asarray(2 * dchi_b * (db - nb) / n**2), rtol=1e-9, atol=1e-18)


@pytest.mark.parametrize("T", [0.0, 0.004])
def test_fused_free_energy_and_map_match_the_separate_passes(paper_point, T):
    """The one-pass (F, M(c)) of a candidate equals F from the functional and M from Eq. (14)."""
    p = paper_point.replace(T=T)
    g = _grid(p, 32)
    c = jnp.asarray(np.random.default_rng(4).normal(0, 0.02, 6))
    f, M = free_energy_and_map(c, p, g)
    assert float(f) == pytest.approx(float(condensation_free_energy(*gaps_from_coefficients(c, g), p, g)), rel=1e-13)
    np.testing.assert_allclose(np.asarray(M), np.asarray(coefficient_map(c, p, g)), rtol=1e-13, atol=1e-17)
    assert np.max(np.abs(np.asarray(M - c))) > 1e-4  # a random c is far from a solution


def test_free_energy_gradient_matches_finite_differences(paper_point):
    p = paper_point.replace(T=0.002)
    n = 24
    g = _grid(p, n)
    da, db = _random_gaps(n, 2)
    f = lambda a, b: condensation_free_energy(a, b, p, g)  # noqa: E731
    ga = jax.grad(f)(da, db)
    h = 1e-6
    for i in (0, 17, 300):
        e = jnp.zeros_like(da).at[i].set(h)
        fd = (f(da + e, db) - f(da - e, db)) / (2 * h)
        assert float(ga[i]) == pytest.approx(float(fd), rel=1e-6, abs=1e-14)
    # and w.r.t. a model parameter (V), the derivative used by fits
    fV = lambda V: condensation_free_energy(da, db, p.replace(V=V), g)  # noqa: E731
    gV = jax.grad(fV)(p.V)
    assert float(gV) == pytest.approx(float((fV(p.V + h) - fV(p.V - h)) / (2 * h)), rel=1e-7)


def test_normal_state_and_zero_temperature_are_safe(paper_point):
    """Delta = 0 is stationary with F = 0; gradients finite at Delta = 0 and at T = 0 exactly."""
    g = _grid(paper_point, 32)
    z = jnp.zeros(32 * 32)
    for T in (0.0, 0.001):
        p = paper_point.replace(T=T)
        assert float(condensation_free_energy(z, z, p, g)) == 0.0
        ga, gb = jax.grad(condensation_free_energy, argnums=(0, 1))(z, z, p, g)
        assert np.all(np.isfinite(np.asarray(ga))) and np.max(np.abs(np.asarray(ga))) == 0.0
        gT = jax.grad(lambda t: condensation_free_energy(z + 0.01, z - 0.01, paper_point.replace(T=t), g))(T)
        assert np.isfinite(float(gT))
    # continuity at T -> 0+
    da, db = _random_gaps(32, 3)
    f0 = condensation_free_energy(da, db, paper_point, g)
    f1 = condensation_free_energy(da, db, paper_point.replace(T=1e-6), g)
    assert float(f1) == pytest.approx(float(f0), abs=1e-9)


@pytest.mark.parametrize("T_kelvin", [0.0, 150.0])
def test_gradient_and_fixed_point_agree(paper_point, T_kelvin):
    p = paper_point.replace(T=T_kelvin * K_B)
    a = solve(p, N, "fixed-point")
    b = solve(p, N, "gradient")
    assert bool(a.converged) and bool(b.converged)
    assert a.channel_name == b.channel_name == "s+-"
    scale = float(jnp.max(jnp.abs(a.delta_alpha)))
    assert float(jnp.max(jnp.abs(a.delta_alpha - b.delta_alpha))) / scale < 1e-8
    assert float(jnp.max(jnp.abs(a.delta_beta - b.delta_beta))) / scale < 1e-8
    assert float(a.free_energy) == pytest.approx(float(b.free_energy), rel=1e-10)
    # the free-energy gradient vanishes at the solution
    g = _grid(p)
    ga, gb = jax.grad(condensation_free_energy, argnums=(0, 1))(a.delta_alpha, a.delta_beta, p, g)
    assert float(jnp.max(jnp.abs(ga))) * N**2 < 1e-12 and float(jnp.max(jnp.abs(gb))) * N**2 < 1e-12
    # s+-: opposite signs on the two sheets, lower free energy than the normal state
    assert float(a.free_energy) < 0
    fs_a = np.asarray(a.delta_alpha_fs)
    fs_b = np.asarray(a.delta_beta_fs)
    assert np.all(fs_a[np.isfinite(fs_a)] > 0) and np.all(fs_b[np.isfinite(fs_b)] < 0)
    # gap minimum on the diagonal (theta = pi/4), as in the STM data the paper cites
    i = len(fs_a) // 2
    assert abs(fs_a[i]) == pytest.approx(np.nanmin(np.abs(fs_a)), rel=1e-12)
    assert abs(fs_b[i]) == pytest.approx(np.nanmin(np.abs(fs_b)), rel=1e-12)


def test_gap_symmetry_channels(paper_point):
    s = solve(paper_point, 64, "fixed-point", channel="s")
    d = solve(paper_point, 64, "fixed-point", channel="d")
    A = s.grid_array("delta_alpha")
    D = d.grid_array("delta_alpha")
    np.testing.assert_allclose(A, A.T, atol=1e-15)  # A1g: even under kx <-> ky
    np.testing.assert_allclose(D, -D.T, atol=1e-15)  # B1g: odd
    assert s.channel_name == "s+-" and d.channel_name == "d"
    # auto picks the lower free energy: s+- at equal kappas
    auto = solve(paper_point, 64, "fixed-point")
    assert auto.channel_name == "s+-" and float(auto.free_energy) <= float(d.free_energy)


def test_d_channel_wins_for_unequal_kappas():
    """Only kappa_a kappa_b enters s+- and kappa_a + kappa_b the d channel (see docs)."""
    p = make_params(n_c=0.45, lam=0.3, kappa_a=2.0, kappa_b=0.0, grid=N)
    tc = critical_temperatures(p, N)
    assert int(tc.leading) == 2 and float(tc.tc_d) > float(tc.tc_s)
    s = solve(p, N, "gradient")
    assert s.channel_name == "d" and bool(s.converged)
    # s+- Tc depends on the product only, d on the sum only
    tc2 = critical_temperatures(p.replace(kappa_a=jnp.asarray(1.0), kappa_b=jnp.asarray(0.0)), N)
    assert float(tc2.tc_s) == pytest.approx(float(tc.tc_s), rel=1e-9)
    tc3 = critical_temperatures(p.replace(kappa_a=jnp.asarray(1.0), kappa_b=jnp.asarray(1.0)), N)
    assert float(tc3.tc_d) == pytest.approx(float(tc.tc_d), rel=1e-9)


def test_tc_agrees_with_gap_closing(paper_point):
    tc = critical_temperatures(paper_point, N)
    Tc = float(tc.tc_s)
    assert int(tc.leading) == 1 and Tc > 0
    below = solve(paper_point.replace(T=0.99 * Tc), N, "fixed-point", channel="s")
    above = solve(paper_point.replace(T=1.01 * Tc), N, "fixed-point", channel="s")
    assert below.channel_name == "s+-" and float(below.free_energy) < 0
    assert above.channel_name == "normal"
    # BCS: Delta^2 is linear in T near Tc; extrapolate the ladder to Delta^2 = 0
    Ts = Tc * jnp.array([0.9, 0.93, 0.96])
    lad = gap_vs_temperature(paper_point, Ts, N)
    d2 = np.asarray(lad.delta_alpha_fs[:, 45]) ** 2
    slope, icpt = np.polyfit(np.asarray(Ts), d2, 1)
    assert -icpt / slope == pytest.approx(Tc, rel=3e-3)


@pytest.mark.slow
def test_temperature_ladder_follows_the_branch(paper_point):
    Tc = float(critical_temperatures(paper_point, 64).tc_s)
    Ts = jnp.linspace(0.0, 1.2 * Tc, 13)
    lad = gap_vs_temperature(paper_point, Ts, 64)
    assert np.all(np.asarray(lad.converged))
    ch = np.asarray(lad.channel)
    assert np.all(ch[np.asarray(Ts) < 0.97 * Tc] == 1) and np.all(ch[np.asarray(Ts) > 1.01 * Tc] == 0)
    gap = np.asarray(lad.delta_alpha_fs[:, 45])
    assert np.all(np.diff(gap[ch == 1]) <= 1e-12)  # Delta(T) decreases monotonically


@pytest.mark.parametrize("cutoff", [pytest.param("lorentzian", marks=pytest.mark.slow), "sharp"])
def test_one_band_bcs_limit(cutoff):
    """kappa = 0 and identical bands: one-band BCS.  Delta_alpha = -Delta_beta, isotropic;
    2 Delta/k_B Tc -> 2 pi e^{-gamma_E} = 3.528 and Delta ~ 2 Omega e^{-1/lambda} (weak coupling;
    the band's DOS varies over Omega, which moves Delta by <~10%, with opposite signs for the
    two cutoffs that share the constant-DOS limit)."""
    bp = BandParams(eps_alpha=0.1, eps_beta=0.1)
    n = 512
    dos = dos_fermi(bp, n)
    lam = 0.25
    p = TriplonParams(bands=bp, V=lam / float(dos.N_alpha), kappa_a=0.0, kappa_b=0.0, cutoff=cutoff)
    s = solve(p, n, "fixed-point")
    tc = critical_temperatures(p, n)
    fa = np.asarray(s.delta_alpha_fs)
    fb = np.asarray(s.delta_beta_fs)
    ok = np.isfinite(fa) & np.isfinite(fb)
    np.testing.assert_allclose(fa[ok], -fb[ok], rtol=1e-12)
    assert np.ptp(fa[ok]) < 1e-12  # isotropic
    D = float(fa[ok][0])
    assert 2 * D / float(tc.tc_s) == pytest.approx(2 * np.pi * np.exp(-np.euler_gamma), abs=0.02)
    assert D == pytest.approx(float(delta_weak_coupling(0.3, lam)), rel=0.12)
    # Eq. (17) with identical bands is one-band BCS: Delta = 2 Omega exp(-1/lambda) exactly
    da, db = gaps_eq17(p.V, dos.N_alpha, dos.N_alpha, 0.3)
    assert float(da) == pytest.approx(float(delta_weak_coupling(0.3, lam)), rel=1e-10)


def test_bad_input():
    p = make_params(n_c=0.45, lam=0.3, grid=32)
    with pytest.raises(ValueError, match=r"T must be a finite number in \[0, 1\] eV"):
        solve(p.replace(T=-1.0), 32)
    with pytest.raises(ValueError, match=r"omega must be a finite number in \(0, 10\] eV"):
        solve(p.replace(omega=0.0), 32)
    with pytest.raises(ValueError, match=r"grid must be an integer >= 8"):
        solve(p, 4)
    with pytest.raises(ValueError, match=r"V must be a finite number in \(0, 20\] eV"):
        solve(p.replace(V=float("nan")), 32)
    with pytest.raises(ValueError, match=r"method must be one of"):
        solve(p, 32, "newton")
    with pytest.raises(ValueError, match=r"channel must be one of"):
        solve(p, 32, channel="p")
    with pytest.raises(ValueError, match=r"n_c"):
        make_params(n_c=2.5, grid=32)
    with pytest.raises(ValueError, match=r"lambda must be a finite number in \(0, 5\]"):
        make_params(lam=-0.1, grid=32)
    with pytest.raises(ValueError, match=r"cutoff must be one of"):
        solve(TriplonParams(cutoff="box"), 32)


@pytest.mark.parametrize("T", [0.0, 0.004])
def test_span_minimum_is_stationary_in_the_k_resolved_gaps(paper_point, T):
    """The gradient method's stage 1 minimises over the 6 gap coefficients only; its minimum
    must be a stationary point of the k-resolved functional (every solution of Eq. 14 lies in
    the span of the pairing basis), so the k-resolved stage 2 has nothing left to do there.
    A point of the span off the minimum has a k-resolved gradient many orders larger."""
    import importlib

    from jaxnickel.solvers import minimize_constrained

    S = importlib.import_module("jaxnickel.triplon.solve")
    p = paper_point.replace(T=T)
    n = 48
    g = _grid(p, n)
    lam_s, _, v_s, _ = S.channel_eigenvalues(p.T, p, g)
    c0 = S._seed(v_s, p, g)
    r = jax.jit(
        lambda c0: minimize_constrained(
            lambda c: 1e3 * S._free_energy_of(c, p, g), c0, tol=1e-12, max_inner=3000, max_outer=1
        )
    )(c0)
    assert bool(r.converged) and float(jnp.max(jnp.abs(r.x))) > 1e-3  # a superconducting minimum

    def k_grad(c):
        ga, gb = jax.grad(condensation_free_energy, argnums=(0, 1))(*gaps_from_coefficients(c, g), p, g)
        return float(n * n * jnp.maximum(jnp.max(jnp.abs(ga)), jnp.max(jnp.abs(gb))))  # per k point

    at_min, off = k_grad(r.x), k_grad(1.1 * r.x)
    assert at_min < 1e-13 and off > 1e-6, (at_min, off)
    # and it is the fixed point of Eq. (14) (the other solver)
    np.testing.assert_allclose(np.asarray(coefficient_map(r.x, p, g)), np.asarray(r.x), atol=1e-12)
