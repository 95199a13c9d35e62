"""Limits derived by hand (see docs/mixd_theory.md, "Exact limits")."""

import numpy as np
import pytest
from scipy.optimize import brentq

from jaxnickel.lattice import Ladder, Square
from jaxnickel.mixd import MixDParams, solve


@pytest.mark.parametrize("J, per_hole, frac", [(0.5, 0.5, 1.0), (2.0, 1.5, -1.0)])
def test_t_to_zero(J, per_hole, frac):
    """t -> 0: no kinetics, no pairing.  A hole costs J as an sc and (V+J)/2 as half a cc,
    so E/N_h -> min(J, (V+J)/2) and all holes sit in the cheaper channel.
    (N_h = 6 fills a closed shell of the L = 30 sc band: k = pi, pi +- 2 pi/30.)"""
    t = 1e-4
    s = solve(MixDParams(t=t, J=J, V=1.0, n_holes=6.0), Ladder(30))
    assert bool(s.converged)
    assert float(s.energy) / 6.0 == pytest.approx(per_hole, abs=5 * t)
    assert float(s.sc_minus_2cc_fraction) == pytest.approx(frac, abs=1e-3)


def two_body_mu(lat, t, J, V, eps=0.0):
    """mu of the bound hole pair: the N_h -> 0 limit of (B15), (B17), (B19).

    Linearising in (b, M) with v_k -> 0, xi_k = t gamma_k + e0 + mu > 0 gives the
    homogeneous system A(mu) (b, M) = 0 (a cc of energy V+J coupled by the
    recombination to sc pairs with the kernel U); the pair energy is -2 mu.
    Independent NumPy code; root of det A(mu) below the two-sc continuum.
    """
    k = [np.asarray(a) for a in lat.momenta()]
    gam = sum(np.cos(a) for a in k)
    g = gam + (2 * eps * np.cos(k[0]) * np.cos(k[1]) if len(k) == 2 else 0.0)
    phi = np.stack([np.cos(a) for a in k] + [np.sin(a) for a in k])
    U = 1.5 * t**2 / J
    e0 = J - 0.75 * lat.coordination * t**2 / J
    eps_k = t * gam + e0

    def det(mu):
        xi = eps_k + mu
        n = phi.shape[0]
        A = np.zeros((n + 1, n + 1))
        A[0, 0] = (V + J + 2 * mu) - 8 * t**2 * np.mean(g**2 / xi)
        A[0, 1:] = 2 * t * U * np.mean(g * phi / xi, axis=1)
        A[1:, 0] = -4 * t * np.mean(phi * g / xi, axis=1)
        A[1:, 1:] = np.eye(n) + U * (phi / xi) @ phi.T / xi.size
        return np.linalg.det(A)

    lo = -eps_k.min() + 1e-9
    mus = np.linspace(lo, lo + 2.0, 4001)
    d = np.array([det(m) for m in mus])
    i = np.nonzero(np.sign(d[:-1]) != np.sign(d[1:]))[0][0]  # lowest pair energy = largest... first root above lo
    return brentq(det, mus[i], mus[i + 1], xtol=1e-15)


@pytest.mark.parametrize("lat, J, eps", [(Ladder(30), 1.0, 0.0), (Ladder(30), 1.6, 0.0), (Square(12), 1.0, 1.5)])
def test_dilute_limit_is_the_two_body_bound_state(lat, J, eps):
    """N_h -> 0: mu_h tends to the bound-pair value, linearly in N_h, and E/N_h -> -mu."""
    mu0 = two_body_mu(lat, 0.1, J, 1.0, eps)
    mus = []
    for nh in (0.02, 0.04):
        s = solve(MixDParams(t=0.1, J=J, V=1.0, epsilon=eps, n_holes=nh), lat)
        assert bool(s.converged)
        assert float(s.energy) / nh == pytest.approx(-float(s.mu), rel=2e-2)
        mus.append(float(s.mu))
    extrapolated = 2 * mus[0] - mus[1]  # linear extrapolation to N_h = 0
    assert extrapolated == pytest.approx(mu0, abs=1e-6)
    assert abs(mus[0] - mu0) < 1e-2


def test_single_hole_pair_on_a_long_ladder():
    """One hole pair (N_h = 2) on a long ladder approaches the two-body bound state."""
    lat = Ladder(400)
    mu0 = two_body_mu(lat, 0.1, 1.0, 1.0)
    s = solve(MixDParams(t=0.1, J=1.0, V=1.0, n_holes=2.0), lat)
    assert bool(s.converged)
    assert float(s.mu) == pytest.approx(mu0, abs=2e-3)
    # the pair is bound: below the bottom of the two-sc continuum
    e0 = 1.0 - 1.5 * 0.01
    assert -2 * float(s.mu) < 2 * (e0 - 0.1)


def test_hartree_option():
    """With the Hartree terms of (B7), both solvers still agree and E grows by >= (z/2) U N_f^2/N."""
    lat = Ladder(30)
    p0 = MixDParams(t=0.1, J=0.8, V=1.0, n_holes=8.0)
    p1 = MixDParams(t=0.1, J=0.8, V=1.0, n_holes=8.0, hartree=True)
    a = solve(p1, lat)
    b = solve(p1, lat, "gradient")
    assert float(a.energy) == pytest.approx(float(b.energy), rel=1e-9)
    np.testing.assert_allclose(np.asarray(a.delta), np.asarray(b.delta), atol=1e-6)
    base = solve(p0, lat)
    # variational: E_H(best H state) <= E_H(state without H) = E(base) + Hartree(base)
    hartree_base = 0.5 * 2 * 1.5 * 0.01 / 0.8 * float(base.N_sc) ** 2 / 30
    assert float(a.energy) <= float(base.energy) + hartree_base + 1e-12
    assert float(a.energy) > float(base.energy)
