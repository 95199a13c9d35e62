"""`jaxnickel reproduce --quick` end to end: every figure of both papers, the summary and the report.

The run itself is the session fixture ``quick_reproduction`` (tests/conftest.py), shared with
tests/test_reproduce_triplon.py and tests/test_reproduce_mixd_extra.py.
"""

import pytest

from jaxnickel.reproduce import PAPERS, run

MIXD_FIGS = ("fig2", "fig3", "fig4", "fig5", "fig6", "fig7")


def test_reproduce_quick_makes_every_figure(quick_reproduction):
    out, summary, printed = quick_reproduction
    names = {p.name for p in out.iterdir()}
    for fig in MIXD_FIGS:
        assert any(n.startswith(f"mixd_{fig}") and n.endswith(".png") for n in names), fig
    for key, paper in PAPERS.items():
        for fig in paper.figures:
            entry = summary[key][fig]
            assert (out / entry["file"]).is_file(), fig
            assert entry["not_converged"] == 0, fig
    assert summary["convergence"]["not_converged"] == 0
    cross = summary["mixd"]["crossover"]
    # the numbers quoted in README.md and docs/mixd_theory.md (root solves, so --quick gives them too)
    assert cross["sc_minus_2cc_sign_change"]["J_over_V"] == pytest.approx(1.0965, abs=2e-4)
    assert cross["O_BEC_equals_O_BCS"]["J_over_V"] == pytest.approx(1.3543, abs=2e-4)
    report = (out / "REPORT.md").read_text()
    assert "J/V ~ 1.2" in report and "not converged" in report
    assert "fig3" in printed and "triplon_fig2" in printed  # progress shown


def test_dmrg_markers_and_comparison(quick_reproduction):
    """Figs. 3-5 carry the shipped DMRG data; the report has the MF-vs-DMRG table with its deviations."""
    out, summary, _ = quick_reproduction
    d = summary["mixd"]["dmrg_comparison"]
    assert d["available"] and d["meta"]["L"] == 30
    rows8 = [r for r in d["rows"] if r["n_holes"] == 8]
    assert len(rows8) >= 6 and all("mf_energy_relative" in r for r in rows8)
    assert d["binding"] and set(d["max_abs_deviation"]) >= {"energy_relative", "binding_energy"}
    report = (out / "REPORT.md").read_text()
    assert "Mean field vs DMRG" in report and "TeNPy" in report


def test_unknown_figure_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown figure"):
        run(tmp_path, quick=True, figures=["fig99"])
