"""Every bad input of the hostile-user review (issue 14), with its exit code and message.

One table for the command line (``cli.main`` in process: each case is refused before
anything is compiled, so the table costs seconds) and one for the Python API.  No case may
reach the internal-error path (exit 3): that path is for bugs.  The ranges come from the
models (:data:`jaxnickel.mixd.params.RANGES`, :data:`jaxnickel.triplon.params.RANGES`,
:data:`jaxnickel.triplon.bands.RANGES`, :data:`jaxnickel.data.DATA_RANGES_EV`).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from jaxnickel import cli

HEADER = "sheet,theta_deg,gap_meV,uncertainty_meV,temperature_K,source\n"
FIT = ["fit", "bundled", "--free", "lambda", "--grid", "32", "--starts", "1", "--quiet"]

# (argv, exit code, substrings of the one stderr line); "{tmp}" is the test's folder
CLI_CASES = [
    # physical ranges (finite but unsupported), named by the flag the user typed
    (["mixd", "--t", "1e308"], 2, ["--t must be", "[1e-06, 1e+06]", "rescale"]),
    (["mixd", "--J", "1e308"], 2, ["--J must be"]),
    (["mixd", "--J", "1e-300"], 2, ["--J must be"]),
    (["mixd", "--V", "1e308"], 2, ["--V must be"]),
    (["mixd", "--lattice", "square", "--epsilon", "1e308"], 2, ["--epsilon must be", "|value| <= 1e+06"]),
    (["mixd", "--holes", "-1"], 2, ["n_holes"]),
    (["triplon", "--kappa-a", "1e308"], 2, ["--kappa-a must be", "[0, 10]"]),
    (["triplon", "--kappa-b", "-1"], 2, ["--kappa-b must be"]),
    (["triplon", "--T", "1e6"], 2, ["--T must be", "K", "far above every T_c"]),
    (["triplon", "--t1", "1e308"], 2, ["--t1 must be", "10 eV"]),  # was blamed on mu
    (["triplon", "--eps-beta", "-50"], 2, ["--eps-beta must be"]),
    (["triplon", "--lambda", "1e308"], 2, ["--lambda must be", "(0, 5]"]),  # was blamed on V
    (["triplon", "--V", "1e308"], 2, ["--V must be", "20] eV"]),
    (["triplon", "--mu", "100"], 2, ["--mu must be", "20 eV"]),
    (["triplon", "--omega", "100"], 2, ["--omega must be", "(0, 10] eV"]),
    (["spectrum", "--T", "4", "--gamma", "1", "--bias=-5:5:11", "--kappa-a", "1e308"], 2, ["--kappa-a must be"]),
    # fit values: the solvers' rules, before anything compiles
    ([*FIT, "--fix", "kappa_a=1e308"], 2, ["kappa_a must be", "[0, 10]"]),
    ([*FIT, "--start", "lambda=1e308"], 2, ["lambda must be", "(0, 5]"]),
    ([*FIT, "--fix", "mu=100"], 2, ["mu must be", "20 eV"]),
    ([*FIT, "--fix", "mu=1e-3", "--fix", "kappa=1e308"], 2, ["kappa must be"]),
    # data files: huge values and tiny uncertainties are refused with file, line and column
    (["fit", "{tmp}/huge.csv", "--free", "lambda"], 2, ["huge.csv", "line 2", "gap_meV", "(0, 1000] meV"]),
    (["fit", "{tmp}/tiny.csv", "--free", "lambda"], 2, ["tiny.csv", "line 2", "uncertainty_meV", "[1e-13, 1000]"]),
    (["fit", "{tmp}/hot.csv", "--free", "lambda"], 2, ["hot.csv", "temperature_K", "11604.5 K"]),
    (["fit", "{tmp}/dup.csv", "--free", "lambda"], 2, ["duplicate of line 2"]),
    (["fit", "{tmp}/under.csv", "--free", "lambda"], 2, ["underscores are not allowed"]),
    (["fit", "{tmp}/missing.csv", "--free", "lambda"], 2, ["data file not found"]),
    # outputs are checked before the work
    ([*FIT, "--out", "/nonexistent/f.json"], 2, ["--out", "does not exist"]),
    ([*FIT, "--plot", "{tmp}/f.txt"], 2, ["--plot", "must end in"]),
    (["mixd", "--plot", "{tmp}/gap.bmp"], 2, ["--plot", "must end in"]),
    (["mixd", "--plot", ""], 2, ["--plot needs a file name"]),
    (["triplon", "--save", "/nonexistent/s.npz"], 2, ["--save", "does not exist"]),
    # flags that used to be ignored or clamped
    (["mixd", "--lattice", "square", "--L", "8", "--Lx", "4"], 2, ["not both"]),
    (["dmrg", "--max-sweeps", "0"], 2, ["--max-sweeps must be"]),
    (["dmrg", "--chi", "a,b"], 2, ["--chi must be"]),
    # runs that cannot fit the machine or cannot finish
    (["mixd", "--lattice", "square", "--L", "100000"], 2, ["--L 100000", "needs ~"]),
    (["triplon", "--grid", "20000"], 2, ["--grid 20000", "needs ~"]),
    (["exact", "--L", "24"], 2, ["dimension", "DMRG"]),
    (["exact", "--L", "100000"], 2, ["dimension"]),
    # damaged or foreign files
    (["load", "{tmp}/empty.npz"], 2, ["empty.npz"]),
    (["load", "{tmp}/trunc.npz"], 2, ["trunc.npz", "truncated"]),
    (["load", "{tmp}/bare.npy"], 2, ["bare.npy"]),
    (["load", "{tmp}/foreign.npz"], 2, ["foreign.npz", "not a jaxnickel file"]),
    (["load", "{tmp}/nope.npz"], 2, ["not found"]),
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad_input")
    rows = {
        "huge": "alpha,30,1e300,1,4,x\n",
        "tiny": "alpha,30,19,1e-300,4,x\nbeta,0,5,1,4,y\n",
        "hot": "alpha,30,19,1,1e6,x\nbeta,0,5,1,4,y\n",
        "dup": "alpha,30,19,1,4,x\nalpha,30,19,1,4,x\n",
        "under": "alpha,30,1_9,1,4,x\n",
    }
    for name, body in rows.items():
        (d / f"{name}.csv").write_text(HEADER + body)
    (d / "empty.npz").write_bytes(b"")
    np.savez(d / "foreign.npz", a=np.arange(3))
    raw = (d / "foreign.npz").read_bytes()
    (d / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    np.save(d / "bare.npy", np.arange(3))
    return d


@pytest.mark.parametrize("argv, code, needles", CLI_CASES, ids=[" ".join(c[0])[:60] for c in CLI_CASES])
def test_cli_bad_input(capsys, bad_files, argv, code, needles):
    argv = [a.replace("{tmp}", str(bad_files)) for a in argv]
    t0 = time.perf_counter()
    got = cli.main(argv)
    dt = time.perf_counter() - t0
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("jaxnickel: warn")]
    assert got == code != cli.EXIT_INTERNAL, err
    assert len(err) == 1 and err[0].startswith("jaxnickel: error: "), err
    for n in needles:
        assert n in err[0], (n, err[0])
    assert dt < 20.0, f"refusal took {dt:.1f} s: it must come before the work"


def test_fit_with_a_fermi_level_outside_the_bands_is_refused(capsys):
    """``--fix mu`` inside the supported range but outside both bands: lambda defines no V (was an
    EquinoxRuntimeError inside the Jacobian's linear solve, exit 3)."""
    assert cli.main([*FIT, "--fix", "mu=15"]) == 2
    err = capsys.readouterr().err
    assert "outside band" in err and "fix V instead" in err


# (callable, exception type, message pattern)
def _api_cases():
    from jaxnickel import mixd, triplon
    from jaxnickel.data import GapData
    from jaxnickel.fit import fit_gaps
    from jaxnickel.lattice import Ladder

    data = GapData([0, 1], [0.5, 0.5], [0.02, 0.01], [0.001, 0.001], [0.0, 0.0], ["x", "x"])
    return [
        (lambda: mixd.solve(mixd.MixDParams(t=1e308), Ladder(8)), ValueError, r"t must be a finite number in \[1e-06"),
        (lambda: mixd.solve(mixd.MixDParams(epsilon=-1e9), Ladder(8)), ValueError, "epsilon must be"),
        (lambda: triplon.make_params(kappa_a=1e308, grid=32), ValueError, "kappa_a must be"),
        (lambda: triplon.make_params(T=2.0, grid=32), ValueError, r"T must be a finite number in \[0, 1\] eV"),
        (lambda: triplon.make_params(lam=1e308, grid=32), ValueError, "lambda must be"),
        (lambda: triplon.make_params(bands=triplon.BandParams(t1=1e308), grid=32), ValueError, "t1 must be"),
        (lambda: triplon.make_params(mu=1e308, grid=32), ValueError, "mu must be"),
        (lambda: triplon.solve(triplon.TriplonParams(V=1e308), 32), ValueError, "V must be"),
        (lambda: fit_gaps(data, ["lambda"], {"kappa_a": 1e308}, grid=32), ValueError, "kappa_a must be"),
        (lambda: fit_gaps(data, ["lambda"], start={"lambda": 1e308}, grid=32), ValueError, "lambda must be"),
        (
            lambda: GapData([0], [0.5], [0.02], [1e-300], [0.0], ["x"]),
            ValueError,
            r"GapData.sigma must be finite and in",
        ),
        (lambda: GapData([0], [0.5], [1e300], [1e-3], [0.0], ["x"]), ValueError, r"GapData.gap must be finite and in"),
    ]


def test_python_api_bad_input():
    for call, exc, pattern in _api_cases():
        with pytest.raises(exc, match=pattern):
            call()
