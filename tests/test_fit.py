"""Differentiating through the solvers, and fitting the triplon model to gap data."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnickel as jn
from jaxnickel.data import synthetic_gap_data
from jaxnickel.fit import DegenerateFitWarning, fit_gaps
from jaxnickel.mixd import MixDParams
from jaxnickel.mixd import solve_jax as mixd_solve
from jaxnickel.triplon import BandParams, make_params, solve
from jaxnickel.triplon import solve_jax as triplon_solve
from jaxnickel.triplon.tc import critical_temperatures_jax

G = 48  # small grid: derivatives are checked, not physics


@pytest.fixture(scope="module")
def p0():
    # the smooth cutoff: its derivatives in Omega and the band parameters are what fits use
    # (the default sharp shell has none there on a k-grid: jaxnickel.triplon.pairing.cutoff_for_fit)
    return make_params(n_c=0.45, lam=0.3, grid=G, cutoff="lorentzian")


def _central(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def _gap(p, adjoint="implicit", i=10):
    return triplon_solve(p, G, "fixed-point", channel="s", adjoint=adjoint).delta_alpha_fs[i]


@pytest.mark.parametrize(
    "name, h",
    [("V", 1e-5), ("kappa_a", 1e-5), ("omega", 1e-5), ("T", 1e-5)],
)
def test_implicit_gap_gradient_vs_finite_differences(p0, name, h):
    x0 = getattr(p0, name) + (0.01 if name == "T" else 0.0)

    def f(x):
        return _gap(p0.replace(**{name: x}))

    g = jax.grad(f)(x0)
    assert float(g) == pytest.approx(float(_central(f, x0, h)), rel=1e-5)


@pytest.mark.parametrize("band_param", ["eps_alpha", "t1"])
def test_implicit_gradient_through_bands_fillings_and_fermi_surface(band_param):
    """n_c fixed: mu(n_c), lambda -> V (DOS), the gap equation and k_F all move with the band."""
    x0 = getattr(BandParams(), band_param)

    def f(x):
        p = make_params(n_c=0.45, lam=0.3, bands=BandParams().replace(**{band_param: x}), grid=G, cutoff="lorentzian")
        return _gap(p, i=20)

    g = jax.grad(f)(x0)
    assert float(g) == pytest.approx(float(_central(f, x0, 1e-5)), rel=1e-5)


def test_implicit_equals_unrolled(p0):
    gi = jax.grad(lambda V: _gap(p0.replace(V=V), "implicit"))(p0.V)
    gu = jax.grad(lambda V: _gap(p0.replace(V=V), "unrolled"))(p0.V)
    assert float(gi) == pytest.approx(float(gu), rel=1e-8)


def test_tc_gradient(p0):
    def tc(V):
        return critical_temperatures_jax(p0.replace(V=V), G).tc_s

    assert float(jax.grad(tc)(p0.V)) == pytest.approx(float(_central(tc, p0.V, 1e-5)), rel=1e-5)


def test_gradients_under_jit_and_vmap(p0):
    f = eqx.filter_jit(jax.vmap(jax.grad(lambda V: _gap(p0.replace(V=V)))))
    Vs = p0.V * jnp.array([0.9, 1.0, 1.1])
    g = f(Vs)
    for V, gv in zip(Vs, g, strict=True):
        assert float(gv) == pytest.approx(float(_central(lambda x: _gap(p0.replace(V=x)), V, 1e-5)), rel=1e-5)


def test_mixd_binding_energy_gradient():
    """dE_B/d(J/V) across the crossover: implicit = unrolled = finite differences."""

    def eb(J, adjoint="implicit"):
        return mixd_solve(
            MixDParams(t=0.1, J=J, V=1.0, n_holes=8.0), jn.Ladder(30), adjoint=adjoint
        ).binding_energy_continuum

    g = eqx.filter_jit(jax.vmap(jax.grad(eb)))(jnp.array([0.8, 1.2, 1.8]))
    for J, gi in zip((0.8, 1.2, 1.8), g, strict=True):
        assert float(gi) == pytest.approx(float(_central(eb, J, 1e-5)), rel=1e-5)
    gu = jax.grad(lambda x: eb(x, "unrolled"))(1.2)
    assert float(g[1]) == pytest.approx(float(gu), rel=1e-8)


@pytest.fixture(scope="module")
def synthetic():
    true = make_params(n_c=0.45, lam=0.25, kappa_a=0.6, kappa_b=0.6, grid=32)
    s = solve(true, 32, "fixed-point")
    data = synthetic_gap_data(s, np.linspace(0, 90, 7), 0.5, 1)
    return data


def test_parameter_recovery(synthetic):
    """Synthetic angle-resolved data, start 30% away: recovered within 2 sigma."""
    r = fit_gaps(
        synthetic,
        ["lambda", "kappa_a"],
        fixed={"kappa_b": 0.6},
        start={"lambda": 0.325, "kappa_a": 0.42},
        grid=32,
        starts=1,
    )
    assert r.converged and not r.degenerate
    assert r.dof == synthetic.n - 2 and r.n_data == synthetic.n
    for name, true in (("lambda", 0.25), ("kappa_a", 0.6)):
        assert abs(r.parameters[name] - true) < 2 * r.uncertainties[name], (name, r.parameters, r.uncertainties)
    assert 0.2 < r.chi2 / r.dof < 3.0
    assert -1 <= r.correlation["lambda"]["kappa_a"] <= 1
    assert r.cutoff == "sharp" and r.cutoff_note is None  # lambda, kappa do not move the shell


def test_sharp_shell_fit_with_omega_free_uses_the_smooth_cutoff_and_says_so(synthetic):
    from jaxnickel.triplon.pairing import cutoff_for_fit

    assert cutoff_for_fit("sharp", ["lambda", "kappa_a"]) == ("sharp", None)
    assert cutoff_for_fit("lorentzian", ["omega"]) == ("lorentzian", None)
    for name in ("omega", "n_c", "t1"):
        used, note = cutoff_for_fit("sharp", ["lambda", name])
        assert used == "lorentzian" and name in note
    with pytest.warns(UserWarning, match="Lorentzian"):
        r = fit_gaps(synthetic, ["lambda", "omega"], grid=32, starts=1, max_steps=3)
    assert r.cutoff == "lorentzian" and "omega" in r.cutoff_note
    d = r.to_dict()
    assert d["cutoff"] == "lorentzian" and "sharp shell" in d["cutoff_note"]


def test_degenerate_fit_is_reported(synthetic):
    """s+- gaps depend on kappa_a kappa_b only: freeing both is degenerate, and says so."""
    with pytest.warns(DegenerateFitWarning, match="kappa_a"):
        r = fit_gaps(synthetic, ["lambda", "kappa_a", "kappa_b"], grid=32, starts=1)
    assert r.degenerate and "degenerate" in r.message
    assert all(np.isnan(v) for v in r.uncertainties.values())


def test_fit_input_errors(synthetic):
    with pytest.raises(ValueError, match="unknown parameter"):
        fit_gaps(synthetic, ["lambdaa"], grid=16)
    with pytest.raises(ValueError, match="give lambda or V"):
        fit_gaps(synthetic, ["lambda", "V"], grid=16)
    with pytest.raises(ValueError, match="kappa_a must be >= 0"):
        fit_gaps(synthetic, ["lambda"], fixed={"kappa_a": -1.0}, grid=16)
    with pytest.raises(ValueError, match="at least one"):
        fit_gaps(synthetic, [], grid=16)
