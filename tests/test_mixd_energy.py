"""The functional Eq. (B9) and its stationarity conditions, checked pointwise.

The reference implementations here are literal transcriptions of the paper's
formulas with explicit double sums over k, k' (N x N, allowed in a test on
tiny lattices), independent of the separable O(N) code in jaxnickel.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnickel.lattice import Ladder, Square, pair_basis
from jaxnickel.mixd import MixDParams, energy_b9, hole_number, lagrangian_b9, mean_fields
from jaxnickel.mixd.energy import bogoliubov, moments
from jaxnickel.mixd.fixed_point import residual_b15_b17_b19


def b9_literal_1d(theta, beta, mu, t, J, V, Nh):
    """Eq. (B9) on the ladder, term by term as printed (beta real)."""
    L = theta.size
    k = 2 * np.pi * np.arange(L) / L
    s = np.sin(theta)
    v2 = np.sin(theta / 2) ** 2
    e = -2 * t / np.sqrt(L) * np.sum(2 * s * beta * np.cos(k))
    e += (2 * t - 4 * t / L * beta**2) * np.sum(v2 * np.cos(k))
    e += 2 * (J - 1.5 * t**2 / J + mu) * np.sum(v2)
    e += 1.5 * t**2 / (J * L) * np.sum(0.5 * np.outer(s, s) * np.cos(np.subtract.outer(k, k)))
    e += (V + J + 2 * mu) * beta**2 - mu * Nh
    return e


def b9_literal_2d(theta, beta, mu, t, J, V, eps, Nh, Lx, Ly):
    """(B9) generalised to the square lattice by the rules of docs/mixd_theory.md."""
    N = Lx * Ly
    kx, ky = np.meshgrid(2 * np.pi * np.arange(Lx) / Lx, 2 * np.pi * np.arange(Ly) / Ly, indexing="ij")
    kx, ky = kx.ravel(), ky.ravel()
    gam = np.cos(kx) + np.cos(ky)
    g = gam + 2 * eps * np.cos(kx) * np.cos(ky)
    s = np.sin(theta)
    v2 = np.sin(theta / 2) ** 2
    kern = np.cos(np.subtract.outer(kx, kx)) + np.cos(np.subtract.outer(ky, ky))
    e = -4 * t * beta / np.sqrt(N) * np.sum(s * g)
    e += (2 * t - 4 * t / N * beta**2) * np.sum(v2 * gam)
    e += 2 * (J - 3.0 * t**2 / J + mu) * np.sum(v2)  # on-site shift: 4 directions x (3/4) t^2/J
    e += 1.5 * t**2 / (J * N) * np.sum(0.5 * np.outer(s, s) * kern)
    e += (V + J + 2 * mu) * beta**2 - mu * Nh
    return e


def _random_state(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-np.pi, np.pi, n), rng.uniform(0.2, 1.5), rng.uniform(-1.2, -0.3)


def test_b9_matches_literal_formula_ladder():
    lat = Ladder(11)
    p = MixDParams(t=0.13, J=1.1, V=0.9, n_holes=5.0)
    th, be, mu = _random_state(11, 0)
    ref = b9_literal_1d(th, be, mu, 0.13, 1.1, 0.9, 5.0)
    got = float(lagrangian_b9(jnp.asarray(th), be, mu, p, lat))
    assert got == pytest.approx(ref, rel=1e-13)
    # without the multiplier term
    ref0 = b9_literal_1d(th, be, 0.0, 0.13, 1.1, 0.9, 5.0)
    assert float(energy_b9(jnp.asarray(th), be, p, lat)) == pytest.approx(ref0, rel=1e-13)


@pytest.mark.parametrize("eps", [0.0, 1.5, -0.7])
def test_b9_matches_literal_formula_square(eps):
    lat = Square(5, 4)
    p = MixDParams(t=0.1, J=1.3, V=1.0, epsilon=eps, n_holes=3.0)
    th, be, mu = _random_state(20, 1)
    ref = b9_literal_2d(th, be, mu, 0.1, 1.3, 1.0, eps, 3.0, 5, 4)
    assert float(lagrangian_b9(jnp.asarray(th), be, mu, p, lat)) == pytest.approx(ref, rel=1e-13)


@pytest.mark.parametrize(
    "lat, eps, hartree", [(Ladder(9), 0.0, False), (Square(4, 6), 1.5, False), (Square(5), 0.3, True)]
)
def test_gap_equations_are_exact_stationarity(lat, eps, hartree):
    """For ANY state: dL/dtheta_k = xi_k sin(theta_k) - Delta_k cos(theta_k) with the
    mean fields of (B11, corrected) and (B15); dL/dbeta = 2 sqrt(N) x (B17 residual);
    dL/dmu = hole number - N_h (B18).  So the fixed-point equations are exactly the
    stationarity conditions of the coded functional."""
    p = MixDParams(t=0.12, J=0.8, V=1.0, epsilon=eps, n_holes=4.0, hartree=hartree)
    n = lat.n_sites
    th, be, mu = _random_state(n, 2)
    th = jnp.asarray(th)
    gth, gbe, gmu = jax.grad(lagrangian_b9, argnums=(0, 1, 2))(th, be, mu, p, lat)
    s = jnp.sin(th)
    m = moments(s, pair_basis(lat.momenta()))
    b = be / np.sqrt(n)
    n_f = float(hole_number(th, 0.0)) / n
    xi, delta = mean_fields(b, mu, m, p, lat, n_f=n_f)
    np.testing.assert_allclose(np.asarray(gth), np.asarray(xi * s - delta * jnp.cos(th)), atol=1e-13)
    # (B17) residual from the fixed-point module, evaluated at this (non-self-consistent) state:
    # build x = (b, mu, M) and compare with the residual formula using these angles.
    gamma = np.asarray(sum(jnp.cos(ka) for ka in lat.momenta()))
    g = gamma + eps * (
        0 if lat.dim == 1 else 2 * np.cos(np.asarray(lat.momenta()[0])) * np.cos(np.asarray(lat.momenta()[1]))
    )
    v2 = np.sin(np.asarray(th) / 2) ** 2
    r_b = b * ((1.0 + 0.8 + 2 * mu) - 4 * 0.12 * np.mean(v2 * gamma)) - 2 * 0.12 * np.mean(np.asarray(s) * g)
    assert float(gbe) == pytest.approx(2 * np.sqrt(n) * r_b, rel=1e-11, abs=1e-12)
    assert float(gmu) == pytest.approx(float(hole_number(th, be)) - 4.0, abs=1e-12)


def test_fixed_point_residual_vanishes_only_at_stationary_points():
    """residual_b15_b17_b19 at x built from a self-consistent state is zero iff grad L = 0."""
    lat = Ladder(10)
    p = MixDParams(t=0.1, J=1.0, V=1.0, n_holes=3.0)
    x = jnp.array([0.2, -0.8, 0.05, 0.0])
    r = residual_b15_b17_b19(x, (p, lat))
    b, mu, m = x[0], x[1], x[2:]
    xi, d = mean_fields(b, mu, m, p, lat)
    th = jnp.arctan2(d, xi)
    g = jax.grad(lagrangian_b9, argnums=(0, 1))(th, b * np.sqrt(10), mu, p, lat)
    # theta is optimal for the *given* mean fields, so dL/dtheta_k is U*(M - M[theta]) . phi cos(theta)
    phi = pair_basis(lat.momenta())
    U = 1.5 * 0.01 / 1.0
    expect = U * (jnp.tensordot(moments(jnp.sin(th), phi) - m, phi, axes=1)) * jnp.cos(th)
    np.testing.assert_allclose(np.asarray(g[0]), np.asarray(expect), atol=1e-13)
    assert float(g[1]) == pytest.approx(2 * np.sqrt(10) * float(r[0]), rel=1e-11)


def test_grad_matches_finite_differences():
    lat = Square(4, 4)
    p = MixDParams(t=0.1, J=0.9, V=1.0, epsilon=1.5, n_holes=2.0)
    th, be, mu = _random_state(16, 3)
    th = jnp.asarray(th)
    f = lambda th_, be_, J_: lagrangian_b9(th_, be_, mu, MixDParams(t=0.1, J=J_, V=1.0, epsilon=1.5, n_holes=2.0), lat)  # noqa: E731
    gth, gbe, gJ = jax.grad(f, argnums=(0, 1, 2))(th, be, 0.9)
    h = 1e-6
    for i in (0, 5, 11):
        e = jnp.zeros(16).at[i].set(h)
        fd = (f(th + e, be, 0.9) - f(th - e, be, 0.9)) / (2 * h)
        assert float(gth[i]) == pytest.approx(float(fd), rel=1e-7, abs=1e-9)
    fd_b = (f(th, be + h, 0.9) - f(th, be - h, 0.9)) / (2 * h)
    fd_J = (f(th, be, 0.9 + h) - f(th, be, 0.9 - h)) / (2 * h)
    assert float(gbe) == pytest.approx(float(fd_b), rel=1e-7)
    assert float(gJ) == pytest.approx(float(fd_J), rel=1e-7)
    del p


def test_gradients_finite_in_the_normal_state():
    """Delta = 0 and beta = 0: every gradient the solvers and users take stays finite."""
    lat = Ladder(8)
    p = MixDParams(t=0.1, J=1.0, V=1.0, n_holes=2.0)
    g = jax.grad(lagrangian_b9, argnums=(0, 1, 2))(jnp.zeros(8), 0.0, -0.5, p, lat)
    assert all(np.all(np.isfinite(np.asarray(x))) for x in g)

    # Bogoliubov quantities at xi = Delta = 0 (E_k = 0)
    def f(xi, d):
        E, s, v2 = bogoliubov(xi, d)
        return jnp.sum(E + s + v2)

    gx, gd = jax.grad(f, argnums=(0, 1))(jnp.array([0.0, 0.3, -0.2]), jnp.array([0.0, 0.0, 0.1]))
    assert np.all(np.isfinite(np.asarray(gx))) and np.all(np.isfinite(np.asarray(gd)))


def test_energy_invariant_under_global_sign():
    """(theta, beta) -> (-theta, -beta) leaves (B9) unchanged: the sign of beta is a gauge."""
    lat = Square(4)
    p = MixDParams(t=0.1, J=1.0, V=1.0, epsilon=1.5, n_holes=2.0)
    th, be, mu = _random_state(16, 4)
    a = lagrangian_b9(jnp.asarray(th), be, mu, p, lat)
    b = lagrangian_b9(-jnp.asarray(th), -be, mu, p, lat)
    assert float(a) == pytest.approx(float(b), rel=1e-14)
