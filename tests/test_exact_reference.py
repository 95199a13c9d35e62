"""The DMRG reference data (shipped, regenerable) and the mean-field comparison built on it."""

import json

import numpy as np
import pytest

from jaxnickel.exact import LadderModel, ground_state
from jaxnickel.exact import dmrg as jdmrg
from jaxnickel.exact.reference import (
    REFERENCE_GRID,
    load_reference,
    mean_field_comparison,
    regenerate,
)

needs_tenpy = pytest.mark.skipif(not jdmrg.tenpy_available(), reason="extra jaxnickel[dmrg] (TeNPy) not installed")


@needs_tenpy
def test_regenerate_small_set_matches_ed_and_merges(tmp_path):
    """The regeneration command on a 4-rung set (chi 96 > 3^4: exact): energies = ED, E_B from the three hole numbers, merge by point."""
    path = tmp_path / "ref.json"
    regenerate(path, J_values=[1.4], n_holes=[2, 3], chis=(16, 96), L=4, progress=None)
    regenerate(path, J_values=[1.4], n_holes=[4], chis=(16, 96), L=4, progress=None)
    ref = load_reference(path)
    assert len(ref.records) == 3 and ref.meta["L"] == 4 and "TeNPy" in ref.meta["engine"]
    e = {}
    for n in (2, 3, 4):
        ed = ground_state(LadderModel(4, REFERENCE_GRID["t"], 1.4, REFERENCE_GRID["V"], "open"), n)
        (rec,) = ref.points(n)
        assert rec["energy"] == pytest.approx(ed.energy, abs=1e-8)
        assert rec["N_cc"] == pytest.approx(ed.N_cc, abs=1e-5)
        e[n] = ed.energy
    b = ref.binding_energies(4)
    assert b["binding_energy"][0] == pytest.approx(2 * e[3] - e[4] - e[2], abs=1e-7)
    # re-running a point replaces it instead of duplicating it
    regenerate(path, J_values=[1.4], n_holes=[2], chis=(96,), L=4, progress=None)
    assert len(load_reference(path).records) == 3
    with pytest.raises(ValueError, match="holds L = 4"):
        regenerate(path, J_values=[1.4], n_holes=[2], chis=(8,), L=3, progress=None)


def test_bad_reference_files(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not a JSON file"):
        load_reference(p)
    p.write_text(json.dumps({"format": "other/1"}))
    with pytest.raises(ValueError, match="format"):
        load_reference(p)
    with pytest.raises(FileNotFoundError, match="no DMRG reference data"):
        load_reference(tmp_path / "missing.json")


def test_shipped_dmrg_data_is_complete_and_converged():
    """What the package ships: parameters, engine, bond dimensions; every point conserves the holes
    (N_sc + 2 N_cc = N_h, both legs counted), and its convergence in chi is on record and bounded."""
    ref = load_reference()
    m = ref.meta
    assert (m["L"], m["t"], m["V"], m["bc"]) == (30, 0.1, 1.0, "open")
    assert "TeNPy" in m["engine"] and m["chis"] and "jaxnickel dmrg --regenerate" in m["command"]
    assert len(ref.points(8)) >= 6  # J/V from 0.6 to 2.0
    Js = [r["J"] for r in ref.points(8)]
    assert min(Js) <= 0.6 and max(Js) >= 2.0
    for r in ref.records:
        assert r["N_sc"] + 2 * r["N_cc"] == pytest.approx(r["n_holes"], abs=1e-6)
        # BCS side at 12-14 holes is the hardest: chi = 128 leaves up to ~2e-2 (stated in the docs)
        assert r["max_truncation_error"] < 5e-5
        assert r["energy_change_last_stage"] < 2e-2
        if r["n_holes"] == 8:  # the Figs. 3 and 4 points: converged to < 1e-3 (J/V = 0.6 redone at chi = 256)
            assert r["energy_change_last_stage"] < 1e-3
        assert r["energy_relative"] == pytest.approx(r["energy"] + r["J"] * 30, abs=1e-9)
    assert ref.binding_energies(14)["J"].size >= 2


def test_mean_field_vs_dmrg_where_the_theory_holds():
    """The comparison behind Figs. 3-5 (docs/exact_comparison.md), as the docs state it:
    at J/V >= 1 (crossover and BEC side) E - E(0) agrees to 0.5 % and (N_sc - 2N_cc)/N_h to 0.1;
    the sign of (N_sc - 2N_cc)/N_h agrees away from the crossover everywhere; on the BCS side the
    mean field lies below DMRG by at most 3 % (it is not variational for Eq. 1); E_B = 2 min E_k
    follows DMRG only qualitatively (the paper's word), in the way the docs describe."""
    ref = load_reference()
    comp = mean_field_comparison(ref)
    assert comp["converged"].all()
    c8 = comp["by_holes"][8]
    J = c8["J"]
    mf, dm = c8["mf"], c8["dmrg"]
    bec = J >= 1.0
    np.testing.assert_allclose(mf["energy_relative"][bec], dm["energy_relative"][bec], rtol=5e-3)
    np.testing.assert_allclose(mf["sc_minus_2cc_fraction"][bec], dm["sc_minus_2cc_fraction"][bec], atol=0.1)
    np.testing.assert_allclose(mf["energy_relative"], dm["energy_relative"], rtol=0.03)
    away = np.abs(J - 1.1) > 0.25
    assert np.all(np.sign(mf["sc_minus_2cc_fraction"][away]) == np.sign(dm["sc_minus_2cc_fraction"][away]))
    # E_B: 2 min E_k is above DMRG everywhere; on the BEC side (J/V >= 1.2) DMRG lies between 2|Delta(k*)|
    # and 2 min E_k, 2 min E_k too large by an almost constant 0.15-0.2 V from J/V = 1.4 on; on the BCS side
    # DMRG is 2-4x smaller. Only points whose DMRG E_B is converged in chi (uncertainty < 20 %) count.
    b = comp["binding"]
    recs = {(r["J"], r["n_holes"]): r for r in ref.records}
    unc = np.array(
        [sum(w * recs[(j, n)]["energy_change_last_stage"] for w, n in ((2, 13), (1, 14), (1, 12))) for j in b["J"]]
    )
    ok = unc < 0.2 * b["dmrg"]
    assert ok.sum() >= 6
    Jb, dm, mfb, d2 = b["J"][ok], b["dmrg"][ok], b["mf"][ok], 2 * np.abs(b["mf_delta_kstar"][ok])
    assert np.all(dm > 0) and np.all(mfb > dm)
    bec = Jb >= 1.2
    assert np.all((d2[bec] < dm[bec]) & (dm[bec] < mfb[bec]))
    offset = (mfb - dm)[Jb >= 1.4]
    assert offset.size >= 3 and np.all((offset > 0.15) & (offset < 0.2))
    ratio = (mfb / dm)[Jb <= 1.0]
    assert ratio.size >= 2 and np.all((ratio > 1.5) & (ratio < 4.0))
