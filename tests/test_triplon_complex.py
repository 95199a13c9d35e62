"""Complex gaps of the triplon model (paper 001): s+- + i d, branch search, stability.

Reference points on kappa_a kappa_b = 0.5625 at V = 1.037403 eV (lambda = 0.5 at the
paper's bands), sharp shell, T = 0, 256^2 grid.  The independent check of the s+id
state is a direct minimisation of the complex free energy with optimistix BFGS from
several relative weights (no fixed point, no seeds of the solver): it reaches the same
free energy.  The window's ends were located by scanning S = kappa_a + kappa_b in steps
of 0.05 with the real branches' imaginary Hessian blocks (s+- unstable from
S ~ 1.97, d stable from S ~ 2.34): the test points below are well inside and outside.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import pytest

from jaxnickel.lattice import Square
from jaxnickel.triplon import BandParams, TriplonParams, solve, solve_jax
from jaxnickel.triplon.pairing import (
    condensation_free_energy,
    free_energy_of_coefficients_complex,
    gaps_from_coefficients,
    make_grid,
)
from jaxnickel.triplon.solve import _coefficients_of_rhs, canonical_gauge
from jaxnickel.triplon.stability import coefficient_hessian, gauge_direction
from jaxnickel.triplon.time_reversal import kappas_on_line

GRID = 256
V = 1.037403
P = 0.5625


def params(ka, kb, **kw):
    return TriplonParams(bands=BandParams(), V=V, kappa_a=ka, kappa_b=kb, cutoff="sharp", **kw)


def grid_of(p, n=GRID):
    kx, ky = Square(n).momenta()
    return make_grid(p, kx, ky)


@pytest.fixture(scope="module")
def window_point():
    p = params(1.7236, 0.3264)
    return p, {ch: solve(p, GRID, "fixed-point", channel=ch, warn=False) for ch in ("auto", "s", "d")}


def test_sid_below_both_real_branches(window_point):
    p, sols = window_point
    a, s, d = sols["auto"], sols["s"], sols["d"]
    assert a.channel_name == "s+id" and bool(a.time_reversal_broken) and bool(a.converged)
    assert s.channel_name == "s+-" and d.channel_name == "d"
    assert float(a.free_energy) < float(s.free_energy) - 2e-4  # 0.29 meV below
    assert float(a.free_energy) < float(d.free_energy) - 2e-4
    assert abs(abs(float(a.relative_phase)) - math.pi / 2) < 1e-9
    # the real branches are saddles towards the imaginary admixture, the s+id state a minimum
    assert float(s.hessian_min_imag) < 0 and float(d.hessian_min_imag) < 0
    assert not bool(s.stable) and not bool(d.stable)
    assert float(a.hessian_min) > 0 and bool(a.stable)
    # gauge: c_alpha0 real and positive; s part real, d part imaginary (no real d, no imaginary s)
    c = np.asarray(a.complex_coefficients)
    assert c[0] > 0 and abs(c[6]) < 1e-15
    assert np.max(np.abs(c[[1, 4]])) < 1e-12 and np.max(np.abs(c[[6, 8, 9, 11]])) < 1e-12
    # Fermi-surface gap has no node: |Delta|^2 = s^2 + d^2
    assert np.all(np.isfinite(a.abs_gap_fs("alpha")))


def test_sid_equals_direct_minimisation(window_point):
    """Independent: BFGS on the complex free energy from s+- (+) i d at three weights."""
    p, sols = window_point
    g = grid_of(p)
    cs = np.asarray(sols["s"].coefficients)
    cd = np.asarray(sols["d"].coefficients)
    f = jax.jit(lambda r: free_energy_of_coefficients_complex(r, p, g))
    for th in (0.3, 0.8, 1.2):
        r0 = jnp.asarray(np.concatenate([math.cos(th) * cs, math.sin(th) * cd]))
        sol = optx.minimise(lambda r, _: f(r), optx.BFGS(rtol=1e-13, atol=1e-13), r0, max_steps=2000, throw=False)
        assert abs(float(f(sol.value)) - float(sols["auto"].free_energy)) < 1e-11


def test_second_window_point_and_window_ends():
    """Inside the window at S = 2.25 (found by the scan); outside at S = 1.90 (s+-) and 2.40 (d)."""
    out = {}
    for S in (1.90, 2.25, 2.40):
        sol = solve(params(*kappas_on_line(S, P)), GRID, "fixed-point", warn=False)
        assert bool(sol.converged) and bool(sol.stable)
        out[S] = sol
    assert out[2.25].channel_name == "s+id"
    assert out[1.90].channel_name == "s+-" and not bool(out[1.90].time_reversal_broken)
    assert out[2.40].channel_name == "d" and not bool(out[2.40].time_reversal_broken)
    # the s+id state relaxes continuously: near the upper end its s part is the small one
    assert float(out[2.25].s_amplitude) < float(out[2.25].d_amplitude)


def test_real_s_state_is_a_minimum():
    """(0.75, 0.75): real s+-; Hessian positive except the one gauge mode (exactly the i c direction)."""
    p = params(0.75, 0.75)
    sol = solve(p, GRID, "fixed-point", warn=False)
    assert sol.channel_name == "s+-" and not bool(sol.time_reversal_broken) and bool(sol.converged)
    assert float(sol.hessian_min_real) > 0 and float(sol.hessian_min_imag) > 0 and bool(sol.stable)
    r = jnp.asarray(sol.complex_coefficients)
    H = np.asarray(coefficient_hessian(r, p, grid_of(p)))
    w = np.linalg.eigvalsh(0.5 * (H + H.T))
    scale = np.max(np.abs(w))
    assert np.sum(np.abs(w) < 1e-8 * scale) == 1 and np.sum(w > 1e-8 * scale) == 11
    e = np.asarray(gauge_direction(r))
    assert np.linalg.norm(H @ e) < 1e-9 * scale * np.linalg.norm(e)


def test_complex_functional_reduces_to_real_and_gradient_is_exact():
    p = params(1.7236, 0.3264, T=0.004)
    g = grid_of(p, 64)
    rng = np.random.default_rng(3)
    c = rng.normal(scale=0.05, size=6)
    r_real = jnp.asarray(np.concatenate([c, np.zeros(6)]))
    da, db = gaps_from_coefficients(jnp.asarray(c), g)
    assert (
        abs(float(free_energy_of_coefficients_complex(r_real, p, g)) - float(condensation_free_energy(da, db, p, g)))
        < 1e-15
    )
    r = jnp.asarray(rng.normal(scale=0.05, size=12))
    f = lambda x: free_energy_of_coefficients_complex(x, p, g)  # noqa: E731
    grad = np.asarray(jax.grad(f)(r))
    h = 1e-6
    fd = np.array([(f(r.at[i].add(h)) - f(r.at[i].add(-h))) / (2 * h) for i in range(12)])
    assert np.allclose(grad, fd, rtol=1e-6, atol=1e-11)
    # global phase invariance
    phi = 0.7
    cr, ci = r[:6], r[6:]
    rot = jnp.concatenate([cr * math.cos(phi) - ci * math.sin(phi), cr * math.sin(phi) + ci * math.cos(phi)])
    assert abs(float(f(rot) - f(r))) < 1e-15
    # canonical gauge: same state, c_alpha0 real positive
    can = np.asarray(canonical_gauge(r))
    assert can[6] == pytest.approx(0.0, abs=1e-17) and can[0] > 0 and abs(float(f(jnp.asarray(can)) - f(r))) < 1e-15


def test_gradient_of_free_energy_vanishes_at_sid(window_point):
    p, sols = window_point
    g = grid_of(p)
    r = jnp.asarray(sols["auto"].complex_coefficients)
    grad = np.asarray(jax.grad(free_energy_of_coefficients_complex)(r, p, g))
    assert np.max(np.abs(grad)) < 1e-12


@pytest.mark.slow
def test_fixed_point_and_gradient_agree_at_sid(window_point):
    p, sols = window_point
    fp = sols["auto"]
    gr = solve(p, GRID, "gradient", warn=False)
    assert gr.channel_name == "s+id" and bool(gr.converged)
    assert abs(float(gr.free_energy) - float(fp.free_energy)) < 1e-10
    assert np.max(np.abs(np.asarray(gr.complex_coefficients) - np.asarray(fp.complex_coefficients))) < 1e-8
    for b in ("alpha", "beta"):
        assert np.nanmax(np.abs(gr.abs_gap_fs(b) - fp.abs_gap_fs(b))) < 1e-8


@pytest.mark.slow
def test_implicit_derivative_through_sid_equals_finite_differences():
    """d c / d V of the s+id state (s part real, d part imaginary) by the implicit function theorem."""
    p0 = params(1.7236, 0.3264)
    n = 128

    def coeffs(v):
        sol = solve_jax(p0.replace(V=v), n, "fixed-point")
        return jnp.concatenate([sol.coefficients, sol.coefficients_imag])

    f = jax.jit(coeffs)
    jac = jax.jit(jax.jacfwd(coeffs))
    sol = solve(p0, n, "fixed-point", warn=False)
    assert sol.channel_name == "s+id"
    d_ad = np.asarray(jac(V))
    h = 1e-5
    d_fd = (np.asarray(f(V + h)) - np.asarray(f(V - h))) / (2 * h)
    big = np.abs(d_fd) > 1e-6
    assert big.sum() >= 6
    assert np.allclose(d_ad[big], d_fd[big], rtol=1e-5)
    assert np.max(np.abs(d_ad[~big])) < 1e-6


@pytest.fixture(scope="module")
def small_phase_diagram():
    from jaxnickel.triplon.phase_diagram import phase_diagram

    return phase_diagram(
        np.array([0.5, 1.7236, 2.5]),
        np.array([0.3264, 1.0]),
        S_values=np.array([1.7, 2.05, 2.6]),
        T_values_K=np.array([0.0, 700.0, 1500.0]),
        grid=64,
    )


def test_phase_diagram_regions_and_tc_lines(small_phase_diagram):
    pd = small_phase_diagram
    assert pd["converged_kk"].all() and pd["converged_ST"].all()
    g = pd["ground_kk"]
    assert g[0, 1] == 1  # (0.5, 1.0): s+-
    assert g[1, 0] == 3  # (1.7236, 0.3264): s+id
    assert g[2, 0] == 2  # (2.5, 0.3264): S = 2.83, d
    st = pd["ground_ST"]
    assert list(st[:, 0]) == [1, 3, 2]  # T = 0 along the line: s+-, s+id, d
    assert (st[:, 2] == 0).all()  # 1500 K: above both T_c
    assert st[1, 1] == 2  # S = 2.05 at 700 K: d (T_c^d > T_c^s there), below T_sid ~ 500 K s+id
    # s+- sees only P = kappa_a kappa_b: its T_c is the same at every S of the line; the d one grows with S
    tcs, tcd = pd["tc_s_K"], pd["tc_d_K"]
    assert np.max(np.abs(tcs - tcs[0])) < 1e-6 * tcs[0]
    assert np.all(np.diff(tcd) > 0)
    assert np.isnan(pd["T_sid_K"][0]) and pd["T_sid_K"][1] == 0.0


def test_phase_diagram_figure(small_phase_diagram, tmp_path):
    from jaxnickel.plotting_triplon_figures import plot_phase_diagram

    fig = plot_phase_diagram(small_phase_diagram, path=tmp_path / "pd.png")
    assert (tmp_path / "pd.png").stat().st_size > 10_000
    assert len(fig.axes) == 2


@pytest.mark.slow
def test_window_ends_and_onset_are_transitions():
    """At 128^2: the bisected ends bracket s+id (inside) and real states (outside); T_sid likewise."""
    from jaxnickel.triplon.time_reversal import sid_onset_temperature, sid_window

    n = 128
    base = params(1.7236, 0.3264)
    win = sid_window(base, grid=n, tol=2e-3)
    assert 1.90 < win["S_low"] < 2.02 and 2.28 < win["S_high"] < 2.40  # 256^2: 1.9697, 2.3435
    for S, expect in (
        (win["S_low"] - 0.02, "s+-"),
        (win["S_low"] + 0.02, "s+id"),
        (win["S_high"] - 0.02, "s+id"),
        (win["S_high"] + 0.02, "d"),
    ):
        sol = solve(
            base.replace(**dict(zip(("kappa_a", "kappa_b"), kappas_on_line(S, P), strict=True))),
            n,
            "fixed-point",
            warn=False,
        )
        assert sol.channel_name == expect and bool(sol.converged), (S, sol.channel_name)
    on = sid_onset_temperature(base, grid=n, tol_K=2.0)
    assert on["leading"] == "d" and 400 < on["T_sid_K"] < 600  # 256^2: 494.9 K
    from jaxnickel.triplon import K_B

    for T, expect in ((on["T_sid_K"] - 10, "s+id"), (on["T_sid_K"] + 10, "d")):
        sol = solve(base.replace(T=T * K_B), n, "fixed-point", warn=False)
        assert sol.channel_name == expect, (T, sol.channel_name)


@pytest.mark.parametrize("T", [0.0, 0.004])
def test_closed_form_gradients_equal_reverse_mode_autodiff(T):
    """The gradient method's closed-form gradients (one pass; ``df/dDelta_k = 2 w_k/N
    dchi/dDelta (Delta_k - RHS(14)_k)`` and its projections on the pairing basis) against
    reverse-mode autodiff of the plain functionals, at a generic state off every solution
    (real coefficients, complex coefficients with both phases, and k-resolved gaps that
    are not in the basis' span), at T = 0 and T > 0."""
    from jaxnickel.solvers import with_gradient
    from jaxnickel.triplon.pairing import (
        condensation_free_energy_and_gap_gradient,
        free_energy_value_and_gradient,
        free_energy_value_and_gradient_complex,
    )

    p = params(0.75, 0.75, T=T)
    g = grid_of(p, 64)
    c = jnp.array([0.01, -0.003, 0.002, -0.008, 0.001, 0.004])

    def f_real(c):
        return condensation_free_energy(*gaps_from_coefficients(c, g), p, g)

    def close(a, b):
        return float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))

    v, gr = free_energy_value_and_gradient(c, p, g)
    v_ad, gr_ad = jax.value_and_grad(f_real)(c)
    assert abs(float(v - v_ad)) <= 1e-15 * abs(float(v_ad)) and close(gr, gr_ad) < 1e-12
    r = jnp.concatenate([c, jnp.array([0.004, 0.002, -0.001, 0.003, -0.002, 0.001])])
    v, gr = free_energy_value_and_gradient_complex(r, p, g)
    v_ad, gr_ad = jax.value_and_grad(free_energy_of_coefficients_complex)(r, p, g)
    assert abs(float(v - v_ad)) <= 1e-15 * abs(float(v_ad)) and close(gr, gr_ad) < 1e-12
    da, db = gaps_from_coefficients(c, g)
    k = jnp.arange(da.size)
    da, db = da * (1.0 + 0.1 * jnp.sin(k)), db * (1.0 + 0.05 * jnp.cos(k))
    f, ga, gb = condensation_free_energy_and_gap_gradient(da, db, p, g)
    f_ad, (ga_ad, gb_ad) = jax.value_and_grad(condensation_free_energy, argnums=(0, 1))(da, db, p, g)
    assert float(f) == pytest.approx(float(f_ad), rel=1e-14)
    assert close(ga, ga_ad) < 1e-12 and close(gb, gb_ad) < 1e-12
    # the same pass's right-hand side of (14) (stage 2's check) is the gap map of the pair
    # amplitudes at these gaps, computed separately; it is not the input (off a solution)
    *_, rhs = condensation_free_energy_and_gap_gradient(da, db, p, g, with_rhs=True)
    rhs_ref = _coefficients_of_rhs(da, db, p, g)
    assert close(rhs, rhs_ref) < 1e-13 and close(rhs, c) > 1e-2
    # with_gradient: the derivative is the closed form, the value the plain functional
    fun = with_gradient(f_real, lambda c: free_energy_value_and_gradient(c, p, g))
    assert close(jax.grad(fun)(c), jax.grad(f_real)(c)) < 1e-12
    # and it refuses a derivative in a closed-over parameter instead of returning a wrong one
    with pytest.raises(jax.errors.UnexpectedTracerError):
        jax.grad(lambda V: with_gradient(lambda x: V * x, lambda x: (V * x, V))(1.0))(2.0)
