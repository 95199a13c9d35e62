"""`jaxnickel reproduce --quick` end to end: every figure, the summary and the report."""

import json

import pytest

from jaxnickel.cli import main


def test_reproduce_quick(tmp_path, capsys):
    out = tmp_path / "repro"
    assert main(["reproduce", "--out", str(out), "--quick"]) == 0
    names = {p.name for p in out.iterdir()}
    for fig in ("fig2", "fig3", "fig4", "fig5", "fig6", "fig7"):
        assert any(n.startswith(f"mixd_{fig}") and n.endswith(".png") for n in names), fig
    summary = json.loads((out / "summary.json").read_text())
    assert summary["convergence"]["not_converged"] == 0
    cross = summary["mixd"]["crossover"]
    # the numbers quoted in README.md and docs/mixd_theory.md (root solves, so --quick gives them too)
    assert cross["sc_minus_2cc_sign_change"]["J_over_V"] == pytest.approx(1.0965, abs=2e-4)
    assert cross["O_BEC_equals_O_BCS"]["J_over_V"] == pytest.approx(1.3543, abs=2e-4)
    report = (out / "REPORT.md").read_text()
    assert "J/V ~ 1.2" in report and "not converged" in report
    assert "fig3" in capsys.readouterr().out
