"""The MixD irreducible wedge (jaxnickel.mixd.kpoints): exact against the full zone.

* the wedge weights are the orbit sizes (a symmetric function's zone average and its
  values on the full grid are reproduced exactly);
* the wedge fixed point gives the full-zone solution to 1e-12 in every field, on even and
  odd squares, a rectangle (C2v), a ladder, with and without the diagonal and Hartree
  terms, on a lattice large enough for the coarse start;
* the analytic one-pass Jacobian equals forward-mode autodiff; the analytic stationarity
  of the wedge builder equals the autodiff gradient of the full-zone builder at a
  non-stationary symmetric state;
* the implicit derivative through the wedge solve matches central differences;
* zone selection, warm starts, save/load and vmap keep working.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnickel.lattice import Ladder, Square
from jaxnickel.mixd import MixDParams, kpoints, solve
from jaxnickel.mixd.fixed_point import wedge_value_and_jacobian
from jaxnickel.mixd.gradient import _canonical, wedge_energy_canonical
from jaxnickel.mixd.solution import SCALAR_FIELDS, build_solution, build_solution_wedge, load_solution
from jaxnickel.mixd.solve import solve_jax

jax.config.update("jax_enable_x64", True)

LATTICES = [
    (Square(16), 12),
    pytest.param(Square(15), 10, marks=pytest.mark.slow),
    (Square(12, 10), 6),
    (Ladder(31), 4),
    (Square(72), 240),  # > 64: coarse start on the 64 x 64 wedge
]
FIELDS = ("theta", "delta", "xi", "E", "u", "v", "moments", "k_min", "k_min_continuum", "delta_high_symmetry")


def _params(lattice, n_holes, eps, hartree):
    return MixDParams(t=0.1, J=1.0, V=1.0, epsilon=eps if lattice.dim == 2 else 0.0, n_holes=n_holes, hartree=hartree)


def _symmetric(lattice, F):
    k = lattice.momenta()
    return F(*[jnp.cos(ka) for ka in k])


@pytest.mark.parametrize(
    "lattice", [Square(16), Square(15), Square(2), Square(3), Square(10, 7), Ladder(9), Ladder(10)]
)
def test_wedge_weights_and_expansion(lattice):
    if lattice.dim == 1:

        def F(x):
            return x + x**3

        fw = F(kpoints.wedge(lattice).cx)
    elif lattice.Lx == lattice.Ly:

        def F(x, y):
            return x + y + 3 * x * y + x * x * y * y

        w = kpoints.wedge(lattice)
        fw = F(w.cx, w.cy)
    else:

        def F(x, y):
            return x + 2 * y + 3 * x * y * y

        w = kpoints.wedge(lattice)
        fw = F(w.cx, w.cy)
    w = kpoints.wedge(lattice)
    full = _symmetric(lattice, F)
    assert float(jnp.sum(w.weight)) == pytest.approx(1.0, abs=1e-15)
    assert float(jnp.sum(w.weight * lattice.n_sites)) == lattice.n_sites
    np.testing.assert_allclose(kpoints.expand(lattice, fw), full, atol=1e-14)
    assert float(jnp.sum(w.weight * fw)) == pytest.approx(float(jnp.mean(full)), abs=1e-14)
    assert w.cx.shape == (kpoints.wedge_size(lattice),)


@pytest.mark.parametrize("lattice,n_holes", LATTICES, ids=["16x16", "15x15", "12x10", "ladder31", "72x72"])
def test_wedge_solve_equals_full_zone(lattice, n_holes):
    for eps, hartree in ((0.0, False), (0.3, True)):
        p = _params(lattice, n_holes, eps, hartree)
        full = solve(p, lattice, zone="full")
        wedge = solve(p, lattice)
        assert full.reduction.startswith("full zone") and full.k_points == lattice.n_sites
        assert not wedge.reduction.startswith("full") and wedge.k_points == kpoints.wedge_size(lattice)
        assert bool(full.converged) and bool(wedge.converged)
        for name in SCALAR_FIELDS:
            a, b = float(getattr(full, name)), float(getattr(wedge, name))
            if name in ("iterations",):
                continue
            if name in ("residual", "stationarity", "hole_number_error"):
                assert abs(a - b) < 1e-11, name
                continue
            assert b == pytest.approx(a, rel=1e-12, abs=1e-12), name
        for name in FIELDS:
            a, b = np.asarray(getattr(full, name)), np.asarray(getattr(wedge, name))
            assert a.shape == b.shape, name
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12 * max(1.0, np.max(np.abs(a))), err_msg=name)


@pytest.mark.parametrize("lattice", [Square(20), Square(9, 14), Ladder(13)], ids=["20x20", "9x14", "ladder13"])
def test_wedge_jacobian_is_autodiff(lattice):
    p = _params(lattice, 20, 0.3, True)
    w = kpoints.wedge(lattice)
    basis = kpoints.forms(w, lattice)
    nc = len(basis[0])
    z = jnp.array([0.1, -0.8] + [0.02 + 0.01 * i for i in range(nc)])
    F, J = jax.jit(lambda z: wedge_value_and_jacobian(z, p, lattice, w, basis))(z)
    J_ad = jax.jit(jax.jacfwd(lambda z: wedge_value_and_jacobian(z, p, lattice, w, basis)[0]))(z)
    np.testing.assert_allclose(J, J_ad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("lattice", [Square(14), Square(10, 12), Ladder(21)])
def test_wedge_builder_equals_autodiff_builder_off_the_solution(lattice):
    """At a symmetric, *non*-stationary state the two builders agree, stationarity included."""
    p = _params(lattice, 12, 0.2, True)
    w = kpoints.wedge(lattice)

    def theta_of(cx, cy):
        return 0.3 + 0.5 * cx + 0.2 * cx * cy + 0.4 * cy**2  # symmetric under C4v / C2v / k -> -k

    if lattice.dim == 1:
        th_w = 0.3 + 0.5 * w.cx
        th_full = 0.3 + 0.5 * jnp.cos(lattice.momenta()[0])
    else:
        if lattice.Lx == lattice.Ly:

            def theta_of(cx, cy):
                return 0.3 + 0.5 * (cx + cy) + 0.2 * cx * cy

        th_w = theta_of(w.cx, w.cy)
        th_full = theta_of(*[jnp.cos(ka) for ka in lattice.momenta()])
    beta, mu = -0.7, -0.6  # beta < 0: the sign convention flips the state
    kw = dict(method="gradient", converged=True, iterations=0, residual=0.0)
    a = jax.jit(lambda th: build_solution(th, beta, mu, p, lattice, **kw))(th_full)
    b = jax.jit(lambda th: build_solution_wedge((th, jnp.sin(th), jnp.cos(th)), beta, mu, p, lattice, **kw))(th_w)
    assert float(a.stationarity) > 1e-3  # far from stationary: the check has content
    for name in SCALAR_FIELDS:
        if name == "result":
            continue
        assert float(getattr(b, name)) == pytest.approx(float(getattr(a, name)), rel=1e-12, abs=1e-13), name
    for name in FIELDS:
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-12, atol=1e-13, err_msg=name)


def test_wedge_implicit_derivative_matches_finite_differences():
    lattice = Square(24)

    def energy(J):
        p = MixDParams(t=0.1, J=J, V=1.0, epsilon=0.2, n_holes=20)
        return solve_jax(p, lattice).energy

    value_and_grad = jax.jit(jax.value_and_grad(energy))
    e, g = value_and_grad(1.0)
    h = 1e-5
    fd = (value_and_grad(1.0 + h)[0] - value_and_grad(1.0 - h)[0]) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=1e-7)


def test_zone_selection_warm_starts_and_storage(tmp_path):
    lattice = Square(16)
    p = MixDParams(t=0.1, J=1.0, V=1.0, n_holes=12)
    cold = solve(p, lattice)
    assert cold.reduction.startswith("C4v wedge")
    assert cold.k_fields.shape == (6, kpoints.quarter_size(lattice))  # stored on the quarter zone
    warm = solve(p, lattice, init=cold)  # from a wedge solution: the wedge again
    assert warm.reduction.startswith("C4v wedge") and int(warm.iterations) <= 2
    vec = jnp.concatenate([jnp.stack([cold.beta / 16.0, cold.mu]), cold.moments])
    assert solve(p, lattice, init=vec).reduction.startswith("full zone")  # a vector may break the symmetry
    with pytest.raises(ValueError, match="zone must be one of"):
        solve(p, lattice, zone="half")
    back = load_solution(cold.save(tmp_path / "s.npz"))
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(back, name), getattr(cold, name))
    assert float(back.energy) == float(cold.energy)
    # a vmapped wedge solve: batched stored fields unfold along their last axis
    batch = jax.vmap(lambda J: solve_jax(MixDParams(t=0.1, J=J, V=1.0, n_holes=12), lattice))(jnp.array([1.0, 1.1]))
    assert batch.theta.shape == (2, lattice.n_sites)
    np.testing.assert_allclose(batch.theta[0], cold.theta, atol=1e-13)


@pytest.mark.parametrize("lattice", [Square(12), Square(9, 14), Ladder(15)], ids=["12x12", "9x14", "ladder15"])
def test_canonical_energy_gradient_is_autodiff(lattice):
    """The closed-form reverse mode of the beta-eliminated functional equals autodiff of its formula."""
    p = _params(lattice, 8, 0.3, True)
    w = kpoints.wedge(lattice)
    th = 0.2 + 0.3 * w.cx + 0.1 * w.cy
    g = jax.jit(jax.grad(lambda t: wedge_energy_canonical(t, p, lattice, w)[0]))(th)
    g_ad = jax.jit(jax.grad(lambda t: _canonical(t, p, lattice, w)[0]))(th)
    assert float(jnp.max(jnp.abs(g_ad))) > 1e-3
    np.testing.assert_allclose(g, g_ad, rtol=1e-12, atol=1e-16)
    # no condensate left (N_f > N_h): infinite energy, zero gradient, no NaN
    q = _params(lattice, 0.01, 0.3, True)
    e, grad = jax.jit(jax.value_and_grad(lambda t: wedge_energy_canonical(t, q, lattice, w)[0]))(th)
    assert np.isinf(float(e))
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("lattice,n_holes", [(Square(16), 12), (Square(12, 10), 6), (Ladder(31), 4)])
def test_wedge_gradient_method_equals_fixed_point(lattice, n_holes):
    """The wedge L-BFGS (beta eliminated, mu from stationarity) reaches the fixed point's state."""
    p = _params(lattice, n_holes, 0.3, True)
    fp = solve(p, lattice)
    gr = solve(p, lattice, method="gradient")
    assert not gr.reduction.startswith("full") and bool(gr.converged)
    assert float(gr.hole_number_error) < 1e-10  # exact by construction
    assert float(gr.energy) == pytest.approx(float(fp.energy), rel=1e-12)
    assert float(gr.mu) == pytest.approx(float(fp.mu), abs=1e-8)
    assert float(gr.beta) == pytest.approx(float(fp.beta), rel=1e-7)
    assert float(gr.stationarity) < 1e-9
    np.testing.assert_allclose(gr.delta, fp.delta, atol=1e-8)


@pytest.mark.parametrize("doping", [0.047, 0.004])
def test_gradient_coarse_start_is_variational_and_reaches_the_fixed_point(doping):
    """Above the 64 x 64 coarse lattice the gradient method starts L-BFGS from the coarse
    lattice's *variational* minimum (:func:`coarse_gradient_start`, no fixed-point equation
    solved) and still minimises (B9) on the large lattice: the same state as the fixed point
    and as the gradient method without the coarse start, stationary on the large lattice
    (``stationarity`` is evaluated there).  For these gapped states the lattice sums
    converge exponentially in L: the 64 x 64 minimum's condensate is the 80 x 80 one to
    ~1e-13 (measured 2.6e-14 at 0.4 % doping), which is why the large lattice needs few
    or no L-BFGS steps."""
    from jaxnickel.mixd.gradient import coarse_gradient_start

    lattice = Square(80)
    p = MixDParams(t=0.1, J=1.0, V=1.0, epsilon=1.5, n_holes=round(doping * lattice.n_sites))
    fp = solve(p, lattice)
    gr = solve(p, lattice, method="gradient")
    plain = solve_jax(p, lattice, "gradient", tol=1e-12, coarse_start=False)
    z, steps_c = coarse_gradient_start(p, lattice, tol=1e-12, max_steps=5000)
    assert bool(gr.converged) and bool(plain.converged) and not gr.reduction.startswith("full")
    for other in (fp, plain):
        assert float(gr.energy) == pytest.approx(float(other.energy), rel=1e-12)
        assert float(gr.mu) == pytest.approx(float(other.mu), abs=1e-8)
    assert float(gr.stationarity) < 1e-9
    assert int(steps_c) > 0 and int(gr.iterations) >= int(steps_c)
    # the coarse minimum is the 64 x 64 state: its condensate is the large lattice's up to
    # the (exponentially small) finite-size correction
    b_fine = float(fp.beta) / np.sqrt(lattice.n_sites)
    assert abs(float(z[0])) == pytest.approx(b_fine, rel=1e-10)
