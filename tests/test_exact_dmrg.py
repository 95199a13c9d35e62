"""DMRG (TeNPy, extra ``jaxnickel[dmrg]``) of Eq. (1) against exact diagonalisation, and the CLI of both."""

import json

import numpy as np
import pytest

from jaxnickel.cli import main
from jaxnickel.exact import LadderModel, ground_state
from jaxnickel.exact import dmrg as jdmrg
from jaxnickel.exact.ed import Sector

needs_tenpy = pytest.mark.skipif(not jdmrg.tenpy_available(), reason="extra jaxnickel[dmrg] (TeNPy) not installed")


@needs_tenpy
def test_dmrg_matches_ed_small_periodic_ladder():
    """4 periodic rungs, 3 holes (odd: S^z = 1/2, legs 2/1): energy, N_sc, N_cc and hole densities."""
    model = LadderModel(4, 0.3, 1.1, 0.9, "periodic")
    ed = ground_state(model, 3)
    dm = jdmrg.run_dmrg(model, 3, chis=(16, 48))
    assert dm.energy == pytest.approx(ed.energy, abs=1e-9)
    assert dm.N_cc == pytest.approx(ed.N_cc, abs=1e-6)
    assert dm.N_sc == pytest.approx(ed.N_sc, abs=1e-6)
    # (the periodic ground state is degenerate in momentum: the density profile is not unique, its sums are)
    np.testing.assert_allclose(dm.hole_density.sum(axis=1), [2, 1], atol=1e-8)
    assert dm.stages[-1]["max_truncation_error"] < 1e-10


@needs_tenpy
@pytest.mark.slow
def test_dmrg_matches_ed_on_eight_open_rungs():
    """The issue's check: 8 open rungs (16 sites) at the paper's t/V = 0.1, to 1e-8 in the energy."""
    model = LadderModel(8, 0.1, 1.2, 1.0, "open")
    ed = ground_state(model, 2)
    dm = jdmrg.run_dmrg(model, 2, chis=(32, 64, 128))
    assert abs(dm.energy - ed.energy) < 1e-8
    assert dm.sc_minus_2cc_fraction == pytest.approx(ed.sc_minus_2cc_fraction, abs=1e-5)
    # the convergence record: energies decrease with chi (variational) and the last change is tiny
    es = [s["energy"] for s in dm.stages]
    assert all(b <= a + 1e-10 for a, b in zip(es, es[1:], strict=False))
    assert dm.energy_change_last_stage < 1e-8


def test_initial_state_has_the_sector():
    states = jdmrg.initial_product_state(7, Sector(4, 3, 1))
    leg0, leg1 = states[0::2], states[1::2]
    assert leg0.count("empty") == 4 and leg1.count("empty") == 3
    assert sum(1 if s == "up" else -1 for s in states if s != "empty") == 1


def test_cli_exact_json_keys(capsys):
    argv = ["exact", "--L", "4", "--bc", "open", "--t", "0.1", "--J", "1.2", "--V", "1", "--holes", "2"]
    assert main([*argv, "--json", "--binding"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("energy", "energy_relative", "N_sc", "N_cc", "sc_minus_2cc_fraction", "binding_energy", "dimension"):
        assert key in d
    ed = ground_state(LadderModel(4, 0.1, 1.2, 1.0, "open"), 2)
    assert d["energy"] == pytest.approx(ed.energy, abs=1e-10)
    assert d["energy_relative"] == pytest.approx(ed.energy + 1.2 * 4, abs=1e-10)
    assert d["N_sc"] + 2 * d["N_cc"] == pytest.approx(2, abs=1e-10)


@pytest.mark.parametrize(
    "argv,match",
    [
        (["exact", "--bc", "twisted"], "--bc must be"),
        (["exact", "--L", "4", "--holes", "9"], "--holes must be in"),
        (["exact", "--L", "1"], "--L must be"),
        (["exact", "--holes", "1", "--binding"], "--binding needs"),
        (["exact", "--L", "12", "--holes", "2"], "max_dimension"),
        (["exact", "--J", "nan"], "J must be a finite"),
    ],
)
def test_cli_exact_bad_input(argv, match, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1


def test_cli_dmrg_without_tenpy_names_the_extra(monkeypatch, capsys):
    monkeypatch.setattr(jdmrg, "tenpy_available", lambda: False)
    assert main(["dmrg", "--L", "4"]) == 2
    err = capsys.readouterr().err
    assert "jaxnickel[dmrg]" in err and len(err.strip().splitlines()) == 1
