"""Reduced k-point sets of the triplon solves (jaxnickel.triplon.kpoints) are exact.

The C4v wedge with its mirror and the sharp pairing shell change only the order of the
sums: every result must equal the full-grid one to rounding (1e-12), for every state,
including a symmetry-broken s+d trial state that no solve returns.  Also checked here:
the closed-form d chi/d Delta and the one-pass Newton Jacobian against autodiff, and
the bracketed secant of the T_c search against bisection and its implicit derivative
against finite differences.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnickel import RESULTS
from jaxnickel.solvers import bracketed_secant
from jaxnickel.triplon import critical_temperatures, make_params
from jaxnickel.triplon.kpoints import bucket_size, point_set, shell_size, wedge_alone, wedge_indices
from jaxnickel.triplon.pairing import (
    channel_eigenvalues,
    coefficient_map,
    coefficient_map_jacobian,
    condensation_free_energy,
    free_energy_and_map,
    free_energy_of_coefficients_complex,
    free_energy_value_and_gradient,
    gaps_from_coefficients,
    make_grid,
    pair_amplitude,
    pair_amplitude_derivative,
)
from jaxnickel.triplon.solve import _solve_jit, solve_jax
from jaxnickel.triplon.tc import critical_temperatures_jax

N = 48


@pytest.fixture(scope="module")
def point():
    return make_params(n_c=0.45, lam=0.3, grid=N)


@pytest.mark.parametrize("n", [2, 3, 7, 16, 48, 51])
def test_wedge_multiplicities_cover_the_zone(n):
    """Orbit sizes sum to n^2; every grid point's C4v image lands on exactly one wedge point."""
    a, b, m = wedge_indices(n)
    assert int(m.sum()) == n * n
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    fa, fb = np.minimum(i, n - i), np.minimum(j, n - j)
    rep = np.maximum(fa, fb) * (n + 1) + np.minimum(fa, fb)
    keys, counts = np.unique(rep, return_counts=True)
    np.testing.assert_array_equal(np.sort(a * (n + 1) + b), keys)
    order = np.argsort(a * (n + 1) + b)
    np.testing.assert_array_equal(m[order], counts)


def test_zone_sums_of_any_function_of_xi_and_eta(point):
    """Wedge sums equal full-zone sums for functions even *and odd* in eta (to rounding)."""
    full = point_set(point, N, "full")
    wedge = point_set(point, N, "wedge")
    # the full set is the lattice grid in Square.momenta order, bit for bit
    from jaxnickel.lattice import Square

    ref = make_grid(point, *Square(N).momenta())
    np.testing.assert_array_equal(np.asarray(full.xi_alpha), np.asarray(ref.xi_alpha))
    np.testing.assert_array_equal(np.asarray(full.u_beta), np.asarray(ref.u_beta))

    def zone_sum(g, f):
        return float(jnp.dot(f(g.xi_alpha, g.xi_beta, g.eta), g.weight) / g.n_cells)

    for f in (
        lambda xa, xb, e: jnp.cos(3 * xa) * jnp.exp(-xb * xb) + e**2,
        lambda xa, xb, e: e**3 * (1 + xa) + e * xb,  # odd in eta: zero on the full zone
        lambda xa, xb, e: jnp.sqrt(xa * xa + (0.01 + 0.02 * e) ** 2),  # s+d gap: neither even nor odd
    ):
        assert zone_sum(wedge, f) == pytest.approx(zone_sum(full, f), abs=1e-13)


def test_symmetry_broken_state_free_energy_and_map_are_exact(point):
    """A real s+d mix (odd |Delta|^2 in eta) on the wedge and shell: same F, same map, same kernel."""
    full = point_set(point, N, "full")
    reduced = point_set(point, N, "wedge", shell_size(point, N))
    assert reduced.eta.shape[0] < full.eta.shape[0] / 4
    c = jnp.array([0.012, 0.004, -0.003, -0.008, 0.005, 0.002])
    r = jnp.concatenate([c, jnp.array([0.0, 0.003, 0.0, 0.001, 0.0, 0.0])])
    for g in (reduced, point_set(point, N, "wedge")):
        assert float(condensation_free_energy(*gaps_from_coefficients(c, g), point, g)) == pytest.approx(
            float(condensation_free_energy(*gaps_from_coefficients(c, full), point, full)), rel=1e-12
        )
        np.testing.assert_allclose(
            coefficient_map(c, point, g), coefficient_map(c, point, full), rtol=1e-12, atol=1e-16
        )
        assert float(free_energy_of_coefficients_complex(r, point, g)) == pytest.approx(
            float(free_energy_of_coefficients_complex(r, point, full)), rel=1e-12
        )
        for a, b in zip(
            channel_eigenvalues(1e-3, point, g)[:2], channel_eigenvalues(1e-3, point, full)[:2], strict=True
        ):
            assert float(a) == pytest.approx(float(b), rel=1e-12)


@pytest.mark.parametrize("T", [0.0, 3e-3])
def test_wedge_alone_is_exact_for_one_mirror_parity(point, T):
    """The real channels' set: the C4v wedge without its mirror (weights doubled,
    ``kpoints.wedge_alone``) gives the full zone's free energy, gap map, Jacobian and
    gradient of an s+- state (coefficients on 1, eta^2) and of a d state (on eta), to
    rounding.  Without the parity mask (all couplings kept) the other parity's moments,
    zero on the zone but not on the wedge, would enter: the check that the mask matters."""
    p = point.replace(T=jnp.asarray(T))
    full = point_set(p, N, "full")
    wedge = point_set(p, N, "wedge", shell_size(p, N))
    s_state = jnp.array([0.012, 0.0, -0.003, -0.008, 0.0, 0.002])
    d_state = jnp.array([0.0, 0.009, 0.0, 0.0, -0.004, 0.0])
    for c, parity in ((s_state, (1.0, 0.0, 1.0)), (d_state, (0.0, 1.0, 0.0))):
        alone = wedge_alone(wedge, jnp.asarray(parity))
        assert alone.eta.shape[0] == wedge.eta.shape[0] // 2
        f_full = float(condensation_free_energy(*gaps_from_coefficients(c, full), p, full))
        f, M = free_energy_and_map(c, p, alone)
        assert float(f) == pytest.approx(f_full, rel=1e-12)
        np.testing.assert_allclose(M, coefficient_map(c, p, full), rtol=1e-12, atol=1e-17)
        _, J = coefficient_map_jacobian(c, p, alone)
        mask = np.tile(parity, 2).astype(bool)
        Jf = np.asarray(coefficient_map_jacobian(c, p, full)[1])
        np.testing.assert_allclose(np.asarray(J)[np.ix_(mask, mask)], Jf[np.ix_(mask, mask)], rtol=1e-11, atol=1e-15)
        _, grad = free_energy_value_and_gradient(c, p, alone)
        np.testing.assert_allclose(grad, free_energy_value_and_gradient(c, p, full)[1], rtol=1e-11, atol=1e-15)
        # the mask matters: with every coupling the wedge's spurious moments change F
        unmasked = wedge_alone(wedge, jnp.ones(3))
        f_bad = float(condensation_free_energy(*gaps_from_coefficients(c, unmasked), p, unmasked))
        assert abs(f_bad - f_full) > 1e-3 * abs(f_full)


@pytest.mark.parametrize("T", [0.0, 2e-3])
def test_closed_form_pair_amplitude_derivative(T):
    xi = jnp.array([0.0, 0.0, 1e-3, -0.02, 0.3, 1e-9])
    delta = jnp.array([0.0, 5e-3, 2e-3, -0.01, 0.0, 1e-9])
    chi, dchi = pair_amplitude_derivative(delta, xi, T)
    ref_chi = pair_amplitude(delta, xi, T)[1]
    ref_d = jax.vmap(jax.grad(lambda d, x: pair_amplitude(d, x, T)[1]))(delta, xi)
    np.testing.assert_allclose(chi, ref_chi, rtol=1e-14, atol=0)
    np.testing.assert_allclose(dchi, ref_d, rtol=1e-9, atol=0)


@pytest.mark.parametrize("T", [0.0, 3e-3])
def test_one_pass_jacobian_equals_autodiff(point, T):
    p = point.replace(T=jnp.asarray(T))
    g = point_set(p, N, "wedge", shell_size(p, N))
    c = jnp.array([0.012, 0.004, -0.003, -0.008, 0.005, 0.002])
    M, J = coefficient_map_jacobian(c, p, g)
    np.testing.assert_allclose(M, coefficient_map(c, p, g), rtol=1e-13, atol=1e-18)
    np.testing.assert_allclose(J, jax.jacfwd(coefficient_map)(c, p, g), rtol=1e-10, atol=1e-14)


def _compare(a, b, rtol=1e-12):
    assert int(a.result) == int(b.result) == 0
    assert int(a.channel) == int(b.channel)
    assert float(a.free_energy) == pytest.approx(float(b.free_energy), rel=rtol)
    scale = float(np.max(np.abs(np.asarray(b.coefficients))))
    for name in ("coefficients", "coefficients_imag", "delta_alpha", "delta_beta", "delta_alpha_imag"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=rtol * scale)
    assert float(a.hessian_min) == pytest.approx(float(b.hessian_min), rel=1e-8)


def test_wedge_and_shell_solve_equals_full_grid(point):
    """The whole branch search (s+-, d, s+id seed, stability) on wedge + shell = on the full grid."""
    full = _solve_jit(point, N, "fixed-point", zone="full")
    shell = _solve_jit(point, N, "fixed-point", shell_points=shell_size(point, N))
    _compare(shell, full)
    assert full.reduction.startswith("full zone") and full.k_points == N * N
    assert "wedge" in shell.reduction and "shell" in shell.reduction and shell.k_points < N * N / 4


@pytest.mark.slow
def test_gradient_solver_on_wedge_and_shell_equals_full_grid(point):
    full = _solve_jit(point, N, "gradient", channel="s", zone="full")
    shell = _solve_jit(point, N, "gradient", channel="s", shell_points=shell_size(point, N))
    _compare(shell, full, rtol=1e-10)


def test_too_small_shell_is_a_failure_not_a_truncation(point):
    s = jax.jit(lambda p: solve_jax(p, N, "fixed-point", channel="s", shell_points=64))(point)
    assert int(s.result) == int(RESULTS.model_solve_failed) and not bool(s.converged)


def test_bucket_sizes():
    assert bucket_size(10, 10_000) == 64
    for count in (65, 100, 1000, 12345, 10**6):
        b = bucket_size(count, 10**9)
        assert count <= b <= 1.125 * count + 16
    assert bucket_size(5000, 4000) == 4000
    # few distinct sizes: a scan over shells of 1000..2000 points uses at most 9 programs
    assert len({bucket_size(c, 10**9) for c in range(1000, 2001)}) <= 9


def test_shell_needs_the_sharp_cutoff(point):
    p = make_params(n_c=0.45, lam=0.3, grid=N, cutoff="lorentzian")
    assert shell_size(p, N) is None
    with pytest.raises(ValueError, match="shell_points needs the sharp cutoff"):
        point_set(p, N, "wedge", 100)
    with pytest.raises(ValueError, match="zone must be one of"):
        point_set(point, N, "octant")


def test_tc_on_reduced_set_equals_full_bisection(point):
    """Regula falsi on wedge + shell: T_c of both channels = bisection on the full grid (1e-11)."""
    from jaxnickel.solvers import bisect_monotone

    tc = critical_temperatures(point, N)
    assert int(tc.evaluations) <= 16
    full = point_set(point, N, "full")
    for idx, got in ((0, tc.tc_s), (1, tc.tc_d)):

        def f(x, _, idx=idx):
            return channel_eigenvalues(jnp.exp(x), point, full)[idx] - 1.0

        ref = jnp.exp(bisect_monotone(f, jnp.log(1e-7), jnp.log(2.0), atol=1e-14, max_steps=300))
        assert float(got) == pytest.approx(float(ref), rel=1e-11)


def test_tc_derivative_by_implicit_function_theorem(point):
    S = shell_size(point, N)

    def tc(V):
        return critical_temperatures_jax(point.replace(V=V), N, shell_points=S).tc_s

    V0 = point.V
    h = 1e-5 * float(V0)
    fd = (tc(V0 + h) - tc(V0 - h)) / (2 * h)
    assert float(jax.grad(tc)(V0)) == pytest.approx(float(fd), rel=1e-6)


def test_bracketed_secant_solves_several_equations_at_once():
    a = jnp.array([2.0, 0.5, 3.0])

    def fn(x):
        return jnp.log(a) - x + 0.1 * jnp.sin(x)  # x = ln a + 0.1 sin x

    lo, hi = jnp.full(3, -5.0), jnp.full(3, 5.0)
    x, steps = bracketed_secant(fn, lo, hi, fn(lo), fn(hi), atol=1e-13)
    np.testing.assert_allclose(fn(x), 0.0, atol=1e-12)
    assert int(steps) <= 30
    # implicit derivative dx/da = (1/a) / (1 - 0.1 cos x)
    g = jax.grad(
        lambda a0: bracketed_secant(
            lambda x: jnp.log(a0) - x + 0.1 * jnp.sin(x),
            -5.0,
            5.0,
            jnp.log(a0) + 5.0 + 0.1 * jnp.sin(-5.0),
            jnp.log(a0) - 5.0 + 0.1 * jnp.sin(5.0),
        )[0]
    )(2.0)
    assert float(g) == pytest.approx(0.5 / (1 - 0.1 * float(jnp.cos(x[0]))), rel=1e-8)


@pytest.mark.parametrize("T", [0.0, 3e-3])
def test_one_pass_complex_jacobian_equals_autodiff(point, T):
    from jaxnickel.triplon.pairing import coefficient_map_complex, coefficient_map_complex_jacobian

    p = point.replace(T=jnp.asarray(T))
    g = point_set(p, N, "wedge", shell_size(p, N))
    r = jnp.array([0.012, 0.004, -0.003, -0.008, 0.005, 0.002, 0.001, 0.006, 0.0, -0.002, 0.003, 0.001])
    M, J = coefficient_map_complex_jacobian(r, p, g)
    np.testing.assert_allclose(M, coefficient_map_complex(r, p, g), rtol=1e-13, atol=1e-18)
    np.testing.assert_allclose(J, jax.jacfwd(coefficient_map_complex)(r, p, g), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kappas", [(0.75, 0.75), (1.6, 0.0)])
def test_closed_form_hessian_at_solutions_equals_autodiff(kappas):
    """At a solution of (14) (s+- and s+id) the one-pass Hessian is the exact Hessian."""
    from jaxnickel.triplon.stability import coefficient_hessian, stationary_hessian

    p = make_params(kappa_a=kappas[0], kappa_b=kappas[1], grid=N)
    s = _solve_jit(p, N, "fixed-point", shell_points=shell_size(p, N))
    assert int(s.result) == 0 and s.channel_name == ("s+-" if kappas[1] else "s+id")
    g = point_set(p, N, "wedge", shell_size(p, N))
    H = coefficient_hessian(s.complex_coefficients, p, g)
    np.testing.assert_allclose(
        stationary_hessian(s.complex_coefficients, p, g), H, rtol=0, atol=1e-12 * float(jnp.max(jnp.abs(H)))
    )


def test_importing_the_package_starts_no_jax_backend():
    """No JAX computation at import (a GPU would be claimed, jax_platforms could no longer be set)."""
    import subprocess
    import sys

    code = (
        "import jaxnickel, jaxnickel.triplon, jaxnickel.mixd, jaxnickel.sweep, jaxnickel.fit\n"
        "from jax._src import xla_bridge\n"
        "assert not xla_bridge._backends, xla_bridge._backends\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
