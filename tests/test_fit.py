"""Differentiating through the solvers, and fitting the triplon model to gap data."""

import contextlib
import json
import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnickel as jn
from jaxnickel import RESULTS, SolveError
from jaxnickel import fit as fit_module
from jaxnickel.data import GapData, synthetic_gap_data
from jaxnickel.fit import CoarseGridWarning, DegenerateFitWarning, fit_gaps
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


@pytest.fixture(scope="module")
def recovered(synthetic):
    with pytest.warns(CoarseGridWarning, match="grid 32 is coarser than the converged 256"):
        return fit_gaps(
            synthetic,
            ["lambda", "kappa_a"],
            fixed={"kappa_b": 0.6},
            start={"lambda": 0.325, "kappa_a": 0.42},
            grid=32,
            starts=1,
        )


@contextlib.contextmanager
def compile_events():
    """XLA compilations and jaxpr traces inside the block, counted from JAX's monitoring events."""
    n = {"compiles": 0, "traces": 0}

    def listen(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            n["compiles"] += 1
        elif event == "/jax/core/compile/jaxpr_trace_duration":
            n["traces"] += 1

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        yield n
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)


@pytest.fixture(scope="module")
def other_data(synthetic):
    """Other gaps (2 % scatter), sigmas and temperature (4.2 K), the same row layout as ``synthetic``."""
    from jaxnickel.triplon.params import K_B

    rng = np.random.default_rng(7)
    d = synthetic
    gap = np.asarray(d.gap) * (1.0 + 0.02 * rng.standard_normal(d.n))
    return GapData(d.sheet, d.theta, gap, 1.2 * np.asarray(d.sigma), np.asarray(d.temperature) + 4.2 * K_B, d.source)


REFIT = {"fixed": {"kappa_b": 0.62}, "start": {"lambda": 0.3, "kappa_a": 0.5}, "grid": 32, "starts": 1}


@pytest.fixture(scope="module")
def refit(other_data, recovered):
    """A second fit of ``recovered``'s structure (other data, temperature, fixed and start values):
    ``(result, trace counts before, trace counts after, JAX compile events during it)``."""
    before = dict(fit_module.TRACE_COUNTS)
    with compile_events() as events, pytest.warns(CoarseGridWarning):
        r = fit_gaps(other_data, ["lambda", "kappa_a"], **REFIT)
    return r, before, dict(fit_module.TRACE_COUNTS), events


def test_second_fit_of_the_same_structure_compiles_nothing(other_data, recovered, refit):
    """Issue 13: the compiled Levenberg-Marquardt run and Jacobian are reused; data and values are arguments."""
    r, before, after, events = refit
    assert before["gap fit: Levenberg-Marquardt"] >= 1 and before["gap fit: Jacobian"] >= 1
    assert after == before, "the second fit traced a fit program again"
    assert events == {"compiles": 0, "traces": 0}, events
    # the new numbers were used, not the first fit's
    assert r.converged and r.fixed["kappa_b"] == 0.62
    assert r.data_meV == pytest.approx(1e3 * np.asarray(other_data.gap), rel=1e-15)
    assert r.sigma_meV == pytest.approx(1e3 * np.asarray(other_data.sigma), rel=1e-15)
    assert r.chi2 != recovered.chi2 and r.parameters["lambda"] != recovered.parameters["lambda"]


@pytest.mark.slow
def test_cached_fit_equals_a_fresh_fit(other_data, refit):
    """The second fit through the cached programs equals, to the last bit, a fit compiled afresh for its data."""
    cached = refit[0]
    fit_module.clear_program_cache()
    jax.clear_caches()
    before = dict(fit_module.TRACE_COUNTS)
    with pytest.warns(CoarseGridWarning):
        fresh = fit_gaps(other_data, ["lambda", "kappa_a"], **REFIT)
    assert fit_module.TRACE_COUNTS["gap fit: Levenberg-Marquardt"] == before["gap fit: Levenberg-Marquardt"] + 1
    a, b = cached.to_dict(), fresh.to_dict()
    for d in (a, b):
        del d["seconds"], d["provenance"]
    assert a == b


def test_parameter_recovery(synthetic, recovered):
    """Synthetic angle-resolved data, start 30% away: recovered within 2 sigma."""
    r = recovered
    assert r.converged and not r.degenerate
    assert r.dof == synthetic.n - 2 and r.n_data == synthetic.n
    for name, true in (("lambda", 0.25), ("kappa_a", 0.6)):
        assert abs(r.parameters[name] - true) < 2 * r.uncertainties[name], (name, r.parameters, r.uncertainties)
    assert 0.2 < r.chi2 / r.dof < 3.0
    assert -1 <= r.correlation["lambda"]["kappa_a"] <= 1
    assert r.cutoff == "sharp" and r.cutoff_note is None  # lambda, kappa do not move the shell


def test_fit_result_is_paper_ready(synthetic, recovered, tmp_path):
    """Result code, raw and scaled uncertainties with the choice stated, covariance, provenance, grid note."""
    r = recovered
    assert (r.result, r.message, r.converged) == ("successful", "successful", True)
    # the data's sigmas are given: the raw set is reported, the scaled one is sqrt(chi2/dof) times it
    factor = math.sqrt(r.chi2 / r.dof)
    for n in r.free:
        assert r.uncertainties[n] == r.uncertainties_raw[n]
        assert r.uncertainties_scaled[n] == pytest.approx(factor * r.uncertainties_raw[n], rel=1e-12)
    assert r.uncertainty_scaling.startswith("raw") and f"{r.chi2 / r.dof:.3g}" in r.uncertainty_scaling
    cov = np.asarray(r.covariance)
    assert cov.shape == (2, 2) and np.sqrt(cov[0, 0]) == pytest.approx(r.uncertainties["lambda"], rel=1e-12)
    assert "3.1 %" not in r.grid_note and "grid 32" in r.grid_note  # grid 32 < 64: "more than 25 %"
    path = r.save(tmp_path / "fit.json")
    d = json.loads(path.read_text())
    for key in ("jaxnickel_version", "git_revision", "date", "input_file", "input_sha256"):
        assert key in d["provenance"], key
    assert d["result"] == "successful" and d["uncertainties_scaled"] and d["reduced_chi2"] > 0


def test_provenance_names_the_input_file(tmp_path):
    from jaxnickel.data import load_gap_data
    from jaxnickel.provenance import sha256_file

    src = tmp_path / "gaps.csv"
    src.write_text("sheet,theta_deg,gap_meV,uncertainty_meV,temperature_K,source\nalpha,45,20.0,1.0,4.2,test\n")
    data = load_gap_data(src)
    assert data.path == str(src.resolve()) and data.sha256 == sha256_file(src)


@pytest.mark.slow
def test_tied_kappa_is_constrained_where_the_pair_is_not(synthetic):
    """Only kappa_a kappa_b enters the s+- gaps: the tied kappa (= kappa_a = kappa_b) is well determined."""
    r = fit_gaps(synthetic, ["lambda", "kappa"], start={"lambda": 0.3, "kappa": 0.5}, grid=32, starts=1)
    assert r.converged and not r.degenerate and r.result == "successful"
    assert abs(r.parameters["kappa"] - 0.6) < 2 * r.uncertainties["kappa"]
    with pytest.raises(ValueError, match="kappa ties kappa_a = kappa_b"):
        fit_gaps(synthetic, ["lambda", "kappa"], fixed={"kappa_a": 0.5}, grid=16)


def test_dof_le_zero_refused_before_any_work(synthetic):
    two = synthetic.subset([0, 1])
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"dof = 0\).*fix some \(--fix NAME=VALUE"):
        fit_gaps(two, ["lambda", "kappa_a"], grid=32)
    with pytest.raises(ValueError, match=r"dof = -1"):
        fit_gaps(two, ["lambda", "kappa_a", "n_c"], grid=32)
    assert time.perf_counter() - t0 < 5.0  # refused up front, not after compiling a fit


def test_fit_figure_has_residuals_and_ellipse(synthetic, recovered, tmp_path):
    from jaxnickel.plotting import plot_fit

    fig = plot_fit(recovered, synthetic, tmp_path / "fit.png")
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 3 and titles[1].startswith("(b) residuals") and "confidence" in titles[2]
    assert len(fig.axes[1].patches) == synthetic.n  # one residual bar per data row
    assert fig.axes[2].get_xlabel() and fig.axes[2].get_ylabel()  # the ellipse panel names its pair
    assert (tmp_path / "fit.png").stat().st_size > 10_000
    assert fig._repr_png_()[:4] == b"\x89PNG"  # displays in Jupyter


@pytest.mark.slow
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


@pytest.mark.slow
def test_degenerate_fit_is_reported(synthetic):
    """s+- gaps depend on kappa_a kappa_b only: freeing both is degenerate, and says so."""
    with pytest.warns(DegenerateFitWarning, match="kappa_a"):
        r = fit_gaps(synthetic, ["lambda", "kappa_a", "kappa_b"], grid=32, starts=1)
    assert r.degenerate and "degenerate" in r.message
    assert (r.result, r.converged) == ("degenerate", False) and r.message.startswith(RESULTS.degenerate.message)
    assert all(np.isnan(v) for v in r.uncertainties.values())
    with pytest.raises(SolveError, match="gap fit: degenerate"):
        fit_gaps(synthetic, ["lambda", "kappa_a", "kappa_b"], grid=32, starts=1, throw=True)


def test_fit_input_errors(synthetic):
    with pytest.raises(ValueError, match="unknown parameter"):
        fit_gaps(synthetic, ["lambdaa"], grid=16)
    with pytest.raises(ValueError, match="give lambda or V"):
        fit_gaps(synthetic, ["lambda", "V"], grid=16)
    with pytest.raises(ValueError, match="kappa_a must be >= 0"):
        fit_gaps(synthetic, ["lambda"], fixed={"kappa_a": -1.0}, grid=16)
    with pytest.raises(ValueError, match="at least one"):
        fit_gaps(synthetic, [], grid=16)
