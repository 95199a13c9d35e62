"""Reliability at the edges (issue 14, first part): interrupted runs, valid JSON, atomic writes.

Cheap tests only: a fake paper for ``reproduce``, a monkeypatched command for Ctrl-C,
a 4-rung exact diagonalisation for the JSON check.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from jaxnickel import cli, reproduce
from jaxnickel.provenance import atomic_savez, atomic_write_text
from jaxnickel.reproduce.common import Paper


def test_interrupted_reproduce_does_not_look_complete(tmp_path, monkeypatch):
    """A re-run that stops half-way leaves no summary.json / REPORT.md of the previous run."""
    (tmp_path / "summary.json").write_text('{"old": true}')
    (tmp_path / "REPORT.md").write_text("# old report")
    (tmp_path / "fig1.png").write_bytes(b"old png")

    def interrupted(ctx):
        """A figure interrupted by Ctrl-C."""
        raise KeyboardInterrupt

    fake = Paper(key="fake", title="fake", figures={"fig1": interrupted}, report=lambda res: [])
    monkeypatch.setattr(reproduce, "PAPERS", {"fake": fake})
    with pytest.raises(KeyboardInterrupt):
        reproduce.run(tmp_path, progress=None)
    assert not (tmp_path / "summary.json").exists() and not (tmp_path / "REPORT.md").exists()


def test_ctrl_c_is_one_line_and_exit_130(capsys, monkeypatch):
    def interrupted(a):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_mixd", interrupted)
    assert cli.main(["mixd", "--L", "8"]) == cli.EXIT_INTERRUPTED == 130
    err = capsys.readouterr().err
    assert err.strip() == "jaxnickel: interrupted"


def test_json_output_never_holds_a_bare_nan(capsys):
    """exact --holes 0 has undefined hole fractions (0/0): they are printed as null, not NaN."""
    assert cli.main(["exact", "--L", "4", "--holes", "0", "--json"]) == 0
    out = capsys.readouterr().out
    assert "NaN" not in out and "Infinity" not in out
    d = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert None in d.values() and np.isfinite(d["energy"])


def test_atomic_writes_keep_the_old_file_when_writing_fails(tmp_path):
    good = tmp_path / "sol.npz"
    atomic_savez(good, {"format": "x"}, {"a": np.arange(3.0)})
    before = good.read_bytes()
    unpicklable = np.array([lambda: 0], dtype=object)
    with pytest.raises(Exception, match="pickle|lambda"):  # the write fails half-way through the archive
        atomic_savez(good, {"format": "x"}, {"a": np.arange(3.0), "bad": unpicklable})
    assert good.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["sol.npz"]  # no temporary file left behind
    txt = atomic_write_text(tmp_path / "fit.json", '{"a": 1}')
    assert txt.read_text() == '{"a": 1}' and sorted(os.listdir(tmp_path)) == ["fit.json", "sol.npz"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["mixd", "--lattice", "square", "--L", "8", "--Lx", "4"], "give --L or --Lx/--Ly, not both"),
        (["mixd", "--plot", ""], "--plot needs a file name"),
        (["mixd", "--save", "/nonexistent/s.npz"], "does not exist"),
        (["triplon", "--grid", "16", "--save", "x.txt"], "must end in .npz"),
    ],
)
def test_flags_are_never_silently_ignored(capsys, args, needle):
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


@pytest.mark.parametrize(
    "args, needles",
    [
        (["mixd", "--lattice", "square", "--L", "100000"], ["--L 100000", "needs ~", "largest square lattice"]),
        (["triplon", "--grid", "20000"], ["--grid 20000", "needs ~", "largest k-grid on this machine is about"]),
        (["spectrum", "--grid", "20000", "--T", "4", "--gamma", "1", "--bias=-5:5:11"], ["--grid 20000"]),
        (["fit", "bundled", "--free", "lambda", "--grid", "20000"], ["--grid 20000", "x 2 in one batch"]),
        (["exact", "--L", "24"], ["L = 24", "dimension", "DMRG"]),
    ],
)
def test_runs_that_cannot_fit_are_refused_at_once(capsys, args, needles):
    import time

    t0 = time.perf_counter()
    assert cli.main(args) == 2
    dt = time.perf_counter() - t0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(n in err[0] for n in needles), err
    assert dt < 10.0, f"refusal took {dt:.1f} s (must come before any allocation or compilation)"


def test_python_api_refuses_too_and_can_be_told_not_to():
    from jaxnickel.lattice import Square
    from jaxnickel.mixd import MixDParams, solve
    from jaxnickel.resources import ResourceError, estimate_bytes
    from jaxnickel.triplon import make_params

    with pytest.raises(ResourceError, match=r"lattice square 100000x100000: the mixd fixed-point solve needs"):
        solve(MixDParams(n_holes=4.0), Square(100000))
    with pytest.raises(ResourceError, match="grid=30000"):
        make_params(grid=30000)
    # the estimate is linear in the k points (no N x N kernel) and scales with the batch
    a, b = estimate_bytes("triplon", "fixed-point", 10**6), estimate_bytes("triplon", "fixed-point", 2 * 10**6)
    c = estimate_bytes("triplon", "fixed-point", 10**6, batch=3)
    assert b - a == pytest.approx(a - estimate_bytes("triplon", "fixed-point", 0), rel=1e-6)
    assert c - estimate_bytes("triplon", "fixed-point", 0) == pytest.approx(
        3 * (a - estimate_bytes("triplon", "fixed-point", 0)), rel=1e-6
    )


HEADER = "sheet,theta_deg,gap_meV,uncertainty_meV,temperature_K,source\n"


@pytest.mark.parametrize(
    "body, pattern",
    [
        ("alpha,30,1_9,1,4,x\n", r"line 2: column 'gap_meV': not a number: '1_9' \(underscores"),
        ("alpha,30,19,1,4,x\nbeta,0,5,1,4,y\nalpha,30,19,1,4,x\n", r"line 4: column '\(row\)': duplicate of line 2"),
        (b"alpha,30,19,1,4,caf\xe9\n", r"line 2, character 20: byte 0xe9 is not UTF-8"),
    ],
)
def test_gap_csv_strictness(tmp_path, body, pattern):
    from jaxnickel.data import load_gap_data

    f = tmp_path / "gaps.csv"
    f.write_bytes(HEADER.encode() + (body if isinstance(body, bytes) else body.encode()))
    with pytest.raises(ValueError, match=pattern):
        load_gap_data(f)
