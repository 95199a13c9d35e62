"""Both solvers on the paper's systems: agreement, stationarity, hole number, symmetry."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnickel.lattice import Ladder, Square, pair_basis
from jaxnickel.mixd import MixDParams, lagrangian_b9, solve, solve_jax

J_SCAN = np.array([0.5, 0.8, 1.0, 1.2, 1.5, 2.0, 2.5])


def _scan(lattice, n_holes, method, Js=J_SCAN, eps=0.0):
    f = eqx.filter_jit(
        jax.vmap(lambda J: solve_jax(MixDParams(t=0.1, J=J, V=1.0, epsilon=eps, n_holes=n_holes), lattice, method))
    )
    return f(jnp.asarray(Js))


def _assert_agree(a, b):
    assert np.all(np.asarray(a.converged)) and np.all(np.asarray(b.converged))
    np.testing.assert_allclose(np.asarray(a.energy), np.asarray(b.energy), rtol=1e-9, atol=0)
    np.testing.assert_allclose(np.asarray(a.delta), np.asarray(b.delta), rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(a.beta), np.asarray(b.beta), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(a.mu), np.asarray(b.mu), rtol=0, atol=1e-7)
    for s in (a, b):
        assert np.all(np.asarray(s.hole_number_error) <= 1e-10)


@pytest.mark.parametrize("n_holes", [8.0, 14.0])
def test_ladder_L30_solvers_agree_across_crossover(n_holes):
    lat = Ladder(30)
    fp = _scan(lat, n_holes, "fixed-point")
    gr = _scan(lat, n_holes, "gradient")
    _assert_agree(fp, gr)
    # the fixed point is a stationary point of (B9) to machine precision
    assert np.all(np.asarray(fp.stationarity) < 1e-12)
    assert np.all(np.asarray(gr.stationarity) < 1e-9)


@pytest.mark.parametrize("eps", [0.0, 1.5])
def test_square_16_solvers_agree(eps):
    lat = Square(16)
    fp = _scan(lat, 12.0, "fixed-point", Js=[1.0], eps=eps)
    gr = _scan(lat, 12.0, "gradient", Js=[1.0], eps=eps)
    _assert_agree(fp, gr)


def test_autodiff_gradient_vanishes_at_fixed_point():
    lat = Square(16)
    p = MixDParams(t=0.1, J=1.0, V=1.0, epsilon=1.5, n_holes=12.0)
    s = solve(p, lat, "fixed-point")
    gth, gbe, gmu = jax.grad(lagrangian_b9, argnums=(0, 1, 2))(s.theta, s.beta, s.mu, p, lat)
    assert float(jnp.max(jnp.abs(gth))) < 1e-12
    assert abs(float(gbe)) < 1e-11
    assert abs(float(gmu)) < 1e-11  # hole number
    # and a minimum along each theta_k: the Hessian diagonal is, by hand,
    # xi cos(theta) + Delta sin(theta) + (U/N) |phi(k)|^2 cos^2(theta) = E_k + (U/N) |phi(k)|^2 cos^2(theta) > 0
    idx = jnp.arange(0, 256, 37)
    hdiag = jax.vmap(
        lambda i: jax.hessian(lambda x: lagrangian_b9(s.theta.at[i].set(x), s.beta, s.mu, p, lat))(s.theta[i])
    )(idx)
    U = 1.5 * 0.1**2 / 1.0
    phi2 = np.sum(np.asarray(pair_basis(lat.momenta()))[:, idx] ** 2, axis=0)
    expect = np.asarray(s.E)[idx] + U / 256 * phi2 * np.cos(np.asarray(s.theta)[idx]) ** 2
    np.testing.assert_allclose(np.asarray(hdiag), expect, rtol=1e-10)
    assert np.all(expect > 0)


def _delta_grid(sol):
    return np.asarray(sol.grid("delta"))


def test_16x16_gap_is_extended_s_wave():
    lat = Square(16)
    s = solve(MixDParams(t=0.1, J=1.0, V=1.0, n_holes=12.0), lat)
    D = _delta_grid(s)
    idx = np.arange(16)
    minus = (-idx) % 16
    # C4v: D(kx,ky) = D(ky,kx) = D(-kx,ky) = D(kx,-ky)
    np.testing.assert_allclose(D, D.T, atol=1e-13)
    np.testing.assert_allclose(D, D[minus, :], atol=1e-13)
    np.testing.assert_allclose(D, D[:, minus], atol=1e-13)
    # sign change between Gamma and M, nodal line cos kx + cos ky = 0 (kx + ky = pi)
    assert D[0, 0] * D[8, 8] < 0
    kx, ky = np.meshgrid(2 * np.pi * idx / 16, 2 * np.pi * idx / 16, indexing="ij")
    on_node = np.abs(np.cos(kx) + np.cos(ky)) < 1e-12
    assert on_node.sum() >= 16
    assert np.max(np.abs(D[on_node])) < 1e-12
    assert np.max(np.abs(D)) > 0.05
    # extended s-wave, not d-wave: D does not change sign under a 90 degree rotation
    assert D[4, 0] == pytest.approx(D[0, 4], abs=1e-13)


def test_epsilon_opens_a_third_sign_region_at_the_corners():
    lat = Square(16)
    D0 = _delta_grid(solve(MixDParams(t=0.1, J=1.0, V=1.0, n_holes=12.0), lat))
    D1 = _delta_grid(solve(MixDParams(t=0.1, J=1.0, V=1.0, epsilon=1.5, n_holes=12.0), lat))
    G, X, M = (0, 0), (8, 0), (8, 8)
    # eps = 0: two regions, Gamma and M opposite
    assert np.sign(D0[G]) == -np.sign(D0[M])
    # eps = 1.5: Gamma > 0, X < 0 (ring of opposite sign), corners M back to the sign of Gamma
    assert np.sign(D1[G]) == -np.sign(D1[X])
    assert np.sign(D1[M]) == np.sign(D1[G])
    # the three regions: sign along the diagonal Gamma -> M changes twice
    diag = np.sign(np.array([D1[i, i] for i in range(9)]))
    assert np.count_nonzero(np.diff(diag)) == 2


def test_1d_bcs_to_bec_crossover():
    """(N_sc - 2 N_cc)/N_h changes sign and O_BEC crosses O_BCS as J/V grows (L = 30, delta = 8/30)."""
    Js = np.linspace(0.5, 2.5, 41)
    s = _scan(Ladder(30), 8.0, "fixed-point", Js=Js)
    assert np.all(np.asarray(s.converged))
    frac = np.asarray(s.sc_minus_2cc_fraction)
    assert frac[0] > 0.9 and frac[-1] < -0.9  # sc's (BCS) at small J, cc's (BEC) at large J
    assert np.all(np.diff(frac) < 0)
    d = np.asarray(s.order_bec) - np.asarray(s.order_bcs)
    assert d[0] < 0 and d[-1] > 0
    j_sign = np.interp(0.0, -frac, Js)
    j_order = np.interp(0.0, d, Js)
    # numbers quoted in README.md (paper: "around J/V ~ 1.2")
    assert 1.05 < j_sign < 1.15
    assert 1.35 < j_order < 1.5


def test_warm_start_coarse_to_fine():
    p = MixDParams(t=0.1, J=1.0, V=1.0, epsilon=1.5, n_holes=0.047 * 32 * 32)
    coarse = solve(p, Square(32))
    p64 = MixDParams(t=0.1, J=1.0, V=1.0, epsilon=1.5, n_holes=0.047 * 64 * 64)
    cold = solve(p64, Square(64))
    warm = solve(p64, Square(64), init=coarse)
    assert bool(warm.converged)
    assert int(warm.iterations) < int(cold.iterations)
    assert float(warm.energy) == pytest.approx(float(cold.energy), rel=1e-12)
    warm_g = solve(p64, Square(64), "gradient", init=coarse)
    assert float(warm_g.energy) == pytest.approx(float(cold.energy), rel=1e-9)


def test_nonconvergence_is_reported():
    from jaxnickel.mixd import ConvergenceWarning

    p = MixDParams(t=0.1, J=2.0, V=1.0, n_holes=8.0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        s = solve(p, Ladder(30), max_steps=2)
    assert not bool(s.converged)
    assert float(s.residual) > 1e-8
    with pytest.warns(ConvergenceWarning):
        s = solve(p, Ladder(30), "gradient", max_steps=3)
    assert not bool(s.converged)


def test_save_load_roundtrip(tmp_path):
    from jaxnickel.mixd import load_solution

    s = solve(MixDParams(t=0.1, J=1.2, V=1.0, n_holes=8.0), Ladder(30))
    path = s.save(tmp_path / "sol.npz")
    r = load_solution(path)
    assert r.lattice == s.lattice and r.method == s.method
    assert r.params.to_dict() == s.params.to_dict()
    np.testing.assert_array_equal(np.asarray(r.delta), np.asarray(s.delta))
    assert r.summary() == s.summary()
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a jaxnickel MixD solution"):
        load_solution(bad)


@pytest.mark.slow
def test_1024_square_memory(tmp_path):
    """A 1024 x 1024 solve (fixed point) on the CPU stays within ~2 GB peak memory."""
    import subprocess
    import sys

    # VmHWM of /proc/self/status belongs to the new process image; ru_maxrss would carry
    # over the high-water mark of the (large) pytest parent through fork + exec.
    code = (
        "import jax; jax.config.update('jax_enable_x64', True);"
        "import jaxnickel as jn; from jaxnickel.mixd import MixDParams, solve;"
        "s = solve(MixDParams(t=0.1, J=1.0, V=1.0, n_holes=0.047*1024**2), jn.Square(1024));"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1];"
        "print(bool(s.converged), hwm)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "True"
    assert int(out[1]) / 1024 < 2048, f"peak RSS {int(out[1]) / 1024:.0f} MB"
