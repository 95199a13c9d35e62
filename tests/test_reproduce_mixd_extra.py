"""The three MixD figures beyond paper 000 (``jaxnickel.reproduce.mixd_extra``), run with ``--quick`` settings."""

import numpy as np
import pytest

from jaxnickel.reproduce import PAPERS
from jaxnickel.reproduce.mixd_extra import EXTRA_FIGURES

FIGURES = ["mixd_crossover_2d", "mixd_obcs_finite_size", "mixd_dEB_dJ_map"]


@pytest.fixture(scope="module")
def result(quick_reproduction):
    """The session's one `jaxnickel reproduce --quick` (tests/conftest.py)."""
    out, summary, _ = quick_reproduction
    return out, summary


def test_registered_with_paper_000():
    assert set(FIGURES) == set(EXTRA_FIGURES)
    assert set(FIGURES) <= set(PAPERS["mixd"].figures)
    assert {"fig2", "fig3"} <= set(PAPERS["mixd"].figures)


def test_files_report_and_convergence(result):
    out, summary = result
    res = summary["mixd"]
    for name in FIGURES:
        r = res[name]
        assert (out / r["file"]).is_file() and r["file"].endswith(".png")
        assert {"params", "solves", "not_converged", "lattice"} <= set(r)
        assert r["not_converged"] == 0 and r["solves"] > 0
    assert summary["convergence"]["not_converged"] == 0
    assert summary["convergence"]["cross_check_not_converged"] == 0
    report = (out / "REPORT.md").read_text()
    for text in ("crossover on the square bilayer", "finite-size convergence of O_BCS", "by autodiff", *FIGURES):
        assert text in report


def test_crossover_2d(result):
    c = result[1]["mixd"]["mixd_crossover_2d"]
    assert c["lattice"] == {"lattice": "square", "Lx": 32, "Ly": 32}
    # documented in docs/mixd_theory.md: sign change at J/V = 1.276 for N_h = 12 on 16x16
    assert c["fig2_doping"]["J_over_V"] == pytest.approx(1.276, abs=1e-3)
    line = [e for e in c["crossover_line"] if e["J_over_V"] is not None]
    assert len(line) == len(c["crossover_line"]) and all(e["root_converged"] for e in line)
    j2 = np.array([e["J_over_V"] for e in line])
    assert np.all((j2 > 1.0) & (j2 < 1.4)) and np.all(np.diff(j2) < 0)  # decreasing with doping
    # the ladder's root-solved line: the crossover quoted in README.md at delta = 8/30
    lad = {round(e["doping"], 9): e["J_over_V"] for e in c["ladder_crossover_line"]}
    assert lad[round(8 / 30, 9)] == pytest.approx(1.0965, abs=2e-4)
    # the 2D bilayer needs a larger J/V than the ladder at every common doping
    cmp_ = c["comparison_with_ladder"]
    assert len(cmp_) == 7 and all(0.0 < e["difference_2d_minus_ladder"] < 0.2 for e in cmp_)


def test_obcs_finite_size(result):
    f = result[1]["mixd"]["mixd_obcs_finite_size"]
    assert f["package_L30_vs_newton_O_BCS"] < 1e-12
    for fam, p_tol in (("ladders", 2e-3), ("squares", 3e-2)):
        for e in f[fam]["per_J"]:
            assert all(e["converged"])
            sizes = e["sizes"]
            fit_sizes = e["power_law_fit"]["sizes"]
            err = np.abs([e["error"][sizes.index(n)] for n in fit_sizes])
            assert np.all(np.diff(err) < 0), (fam, e["J_over_V"], err)  # O_BCS error decreasing with L
            assert e["power_law_fit"]["exponent"] == pytest.approx(2.0, abs=p_tol)
            # the reference integral and the mean fields of the largest lattice (converged exponentially: their
            # change from half that size bounds their error) lie far below the plotted errors
            assert e["O_BCS_inf_quadrature_error"] < 1e-11
            assert e["mean_field_distance_second_largest"] < 1e-4 * abs(e["error"][-1])
            assert abs(e["self_consistency_part"][-2]) < 1e-4 * abs(e["error"][-1])
            assert e["mean_field_exponential_fit"]["rate_per_site"] > 0.3
    for e in f["ladders"]["per_J"]:
        assert e["nodes_over_pi"] == pytest.approx([0.5, 1.5], abs=1e-9)  # Delta_k ~ cos k
        assert e["error_times_L2"][-1] == pytest.approx(e["error_times_L2_predicted"], rel=1e-3)
        assert e["L30_error_over_prediction"] == pytest.approx(-0.5, abs=0.01)  # nodes between k points
    # the package's fine-grid "continuum" values: 4096 points (1D) and 256^2 (2D) carry an L^-2 error
    cont = f["package_continuum_minus_exact"]
    one_d, two_d = cont.values()
    assert np.all(np.abs(one_d) < 2e-7) and np.all(np.abs(two_d) < 3e-5)


def test_deb_dj_map(result):
    d = result[1]["mixd"]["mixd_dEB_dJ_map"]
    fd = d["fd_check"]
    assert len(fd["points"]) >= 6
    assert fd["max_relative_deviation"] < 1e-5
    assert d["E_B_vs_ladder_scan_max_abs_difference"] < 1e-10
    assert 0.0 < d["dE_B_dJ_min"] < d["dE_B_dJ_max"] < 1.0  # E_B grows with J, slower than J itself
