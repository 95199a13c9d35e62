"""`jaxnickel reproduce --quick`, paper 001 part: every triplon figure, its numbers and the report.

One quick run of all the triplon figures (about a minute on 2 shared cores, mostly
compilation) shared by the tests below.  Reference values: docs/triplon_bands.md and
docs/triplon_results.md (512 grid; the quick 192 grid agrees to ~1e-3).
"""

import json
import math

import pytest

FIGURES = {
    "triplon_fig2": "triplon_fig2_bands_fermi_surface.png",
    "triplon_fig3": "triplon_fig3_dos_and_gap_ratio.png",
    "triplon_fig4": "triplon_fig4_ntilde_and_gap_angles.png",
    "triplon_gap_vs_T": "triplon_gap_vs_T.png",
    "triplon_tc_vs_lambda": "triplon_tc_vs_lambda.png",
}


@pytest.fixture(scope="module")
def run(quick_reproduction):
    """The session's one `jaxnickel reproduce --quick` (tests/conftest.py)."""
    out, summary, _ = quick_reproduction
    return out, summary


def _point(summary, lam, kappa):
    for p in summary["triplon"]["triplon_numbers"]["points"]:
        if p["lambda"] == lam and p["kappa_a"] == kappa:
            return p
    raise KeyError((lam, kappa))


def test_files_summary_and_report(run):
    out, summary = run
    res = summary["triplon"]
    assert res["triplon_phase_diagram"]["file"] == "triplon_phase_diagram.png"
    assert (out / "triplon_phase_diagram.png").stat().st_size > 20_000
    for name, file in FIGURES.items():
        assert res[name]["file"] == file
        assert (out / file).stat().st_size > 20_000, file
        assert res[name]["lattice"] == {"grid": 192}
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["triplon"]["triplon_numbers"]["at_n_c"]["n_c"] == 0.45
    # every solve behind the figures converged
    conv = summary["convergence"]
    assert conv["solves"] > 100
    assert conv["not_converged"] == 0, {k: v for k, v in conv["groups"].items() if v["not_converged"]}
    report = (out / "REPORT.md").read_text()
    assert "Liu & Khaliullin" in report and "Eq. (18)" in report
    for file in FIGURES.values():
        assert f"]({file})" in report


def test_bands_fig2(run):
    f2 = run[1]["triplon"]["triplon_fig2"]
    # the paper's mu = -0.65 eV gives n_alpha = 0.14, n_beta = 0.31 (Fig. 2 caption)
    assert f2["params"]["mu"] == -0.65
    assert f2["n_alpha"] == pytest.approx(0.1442, abs=5e-4)
    assert f2["n_beta"] == pytest.approx(0.3075, abs=1e-3)
    assert round(f2["n_alpha"], 2) == 0.14 and round(f2["n_beta"], 2) == 0.31
    # beta is occupied at X (hole pocket around M); the bands are degenerate at Gamma and M
    xi = f2["xi_at_high_symmetry_points"]
    assert xi["X"]["xi_beta_eV"] == pytest.approx(-0.15, abs=1e-9)
    assert xi["M"]["xi_alpha_eV"] == pytest.approx(xi["M"]["xi_beta_eV"])
    assert f2["beta_lifshitz_n_c"]["band_edge_X"] == pytest.approx(0.2251, abs=2e-3)


def test_key_numbers(run):
    num = run[1]["triplon"]["triplon_numbers"]
    a = num["at_n_c"]
    assert a["N_beta_over_N_alpha"] == pytest.approx(2.3553, rel=2e-3)
    assert a["Ntilde_over_N_beta"] == pytest.approx(1.7506, rel=2e-3)
    p3 = _point(run[1], 0.3, 0.75)  # the paper's lambda = 0.3, kappa = 0.75
    assert p3["channel"] == "s+-" and p3["converged"]
    # sharp shell (the default); the Lorentzian gave 1.679, [51.0, 84.2], [30.4, 63.7], 376 K, 216 K
    assert p3["ratio_diag"] == pytest.approx(1.719, abs=0.01)
    assert p3["eq18_ratio"] == pytest.approx(1.655, abs=2e-3)
    assert p3["ratio_diag"] > 1.0  # larger gap on alpha despite N_alpha < N_beta
    assert p3["delta_alpha_range_meV"] == pytest.approx([49.2, 80.7], rel=0.02)
    assert p3["delta_beta_range_meV"] == pytest.approx([28.6, 50.6], rel=0.02)
    assert p3["tc_s_K"] == pytest.approx(352.0, rel=0.02)
    assert p3["tc_d_K"] == pytest.approx(201.0, rel=0.03)
    assert p3["tc_s_K"] > p3["tc_d_K"] and p3["leading_channel"] == "s+-"
    r = p3["two_delta_over_kTc"]
    assert all(math.isfinite(v) for v in r.values())
    assert r["alpha_max"] == pytest.approx(5.32, abs=0.05) and r["alpha_max"] > 3.5
    assert r["geo_diag"] == pytest.approx(2.47, abs=0.05)
    # without the Kondo terms the geometric mean of the gaps obeys BCS at weak coupling
    p0 = _point(run[1], 0.3, 0.0)
    assert p0["two_delta_over_kTc"]["geo_diag"] == pytest.approx(num["bcs_ratio"], abs=0.05)
    assert p0["tc_d_K"] == 0.0
    # Eq. (18) overestimates the ratio more as lambda grows
    p5, p6 = _point(run[1], 0.5, 0.75), _point(run[1], 0.6, 0.75)
    assert p5["ratio_diag"] == pytest.approx(1.816, abs=0.01)
    assert (
        p3["eq18_ratio"] / p3["ratio_diag"] < p5["eq18_ratio"] / p5["ratio_diag"] < p6["eq18_ratio"] / p6["ratio_diag"]
    )


def test_fig3_gap_ratio_vs_dos(run):
    f3 = run[1]["triplon"]["triplon_fig3"]
    at = f3["at_n_c_0.45"]
    assert at["lambda=0.3"]["ratio"] == pytest.approx(1.719, abs=0.01)  # sharp shell (Lorentzian: 1.679)
    assert at["lambda=0.6"]["eq18_ratio"] == pytest.approx(1.844, abs=3e-3)
    ag = f3["eq18_agreement_kappa_0.75"]
    # Eq. (18) is good far from the beta Lifshitz points at weak coupling, fails near them
    assert ag["lambda=0.3"]["max_abs_err_eq18_n_c_ge_0.4"] < 0.15  # sharp shell 0.123 (Lorentzian < 0.08)
    assert ag["lambda=0.6"]["max_err_eq18_near_lifshitz"] > 0.3
    assert f3["dos_ratio_equals_1_at_n_c"] == pytest.approx(0.816, abs=0.01)


def test_fig4_gap_angles(run):
    f4 = run[1]["triplon"]["triplon_fig4"]
    assert f4["solution"]["channel"] == "s+-"
    assert f4["eq16_anisotropy"]["alpha"] == pytest.approx(0.985, abs=3e-3)
    assert f4["eq16_anisotropy"]["beta"] == pytest.approx(0.175, abs=3e-3)
    e, n = f4["gap_shape"]["eq16"], f4["gap_shape"]["num"]
    assert e["alpha_theta45_over_alpha_theta0"] == pytest.approx(0.622, abs=3e-3)
    assert n["alpha_theta45_over_alpha_theta0"] == pytest.approx(0.622, abs=5e-3)
    for shape in (e, n):  # both gaps minimal on the zone diagonal, alpha above beta there
        assert shape["theta_of_min_deg"] == {"alpha": 45.0, "beta": 45.0}
        assert shape["beta_theta45_over_alpha_theta0"] < shape["alpha_theta45_over_alpha_theta0"]
    lo, hi = f4["beta_seen_from_gamma_deg"]
    assert lo == pytest.approx(7.2, abs=0.1) and hi == pytest.approx(82.8, abs=0.1)


def test_gap_vs_temperature(run):
    lads = run[1]["triplon"]["triplon_gap_vs_T"]["ladders"]
    assert len(lads) == 3
    for lad in lads:
        assert lad["paired_below_tc"] and lad["normal_above_tc"]
        d = lad["delta_alpha_diag_meV"]
        assert all(x >= y - 1e-9 for x, y in zip(d, d[1:], strict=False))  # Delta(T) non-increasing
    assert lads[2]["kappa"] == 0.0 and lads[2]["two_delta_geo_diag_over_kTc"] == pytest.approx(3.53, abs=0.05)


def test_tc_vs_lambda(run):
    ft = run[1]["triplon"]["triplon_tc_vs_lambda"]
    assert ft["s_leads_everywhere_kappa_0.75"]
    tc = ft["tc_s_K"]["kappa=0.75"]
    assert all(b > a for a, b in zip(tc, tc[1:], strict=False))
    assert all(v == 0.0 for v in ft["tc_d_K"]["kappa=0"])  # no d coupling without the Kondo terms
    lam40 = ft["lambda_for_tc"]["40 K"]
    assert 0.14 < lam40["kappa=0.75"] < 0.17 and 0.2 < lam40["kappa=0"] < 0.24


def test_phase_diagram_over_complex_gaps(run):
    """The s+id window on kappa_a kappa_b = 0.5625 (128^2 with --quick; 256^2: 1.9697 .. 2.3435) and T_sid."""
    out, summary = run
    pd = summary["triplon"]["triplon_phase_diagram"]
    assert pd["not_converged"] == 0 and pd["solves"] == 7 * 7 + 7 * 6
    lo, hi = pd["sid_window_S"]
    assert 1.90 < lo < 2.02 and 2.28 < hi < 2.40
    assert pd["sid_onset"]["leading"] == "d" and 400 < pd["sid_onset"]["T_sid_K"] < 600
    assert pd["regions_T0_points"]["s+id"] >= 1 and pd["regions_T0_points"]["s+-"] >= 1
    assert pd["regions_T0_points"]["d"] >= 1
    report = (out / "REPORT.md").read_text()
    assert "Ground state over complex gaps" in report and f"{lo:.4f} < kappa_a + kappa_b < {hi:.4f}" in report
