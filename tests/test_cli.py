"""The `jaxnickel` command: JSON keys, exit codes, one-line errors, save/load."""

import json
import subprocess
import sys

import pytest

from jaxnickel.cli import main

MIXD_KEYS = {
    "energy",
    "energy_minus_background",
    "N_sc",
    "N_cc",
    "sc_minus_2cc_fraction",
    "beta",
    "mu",
    "order_bec",
    "order_bcs",
    "binding_energy",
    "delta_at_kmin",
    "delta_high_symmetry",
    "converged",
    "iterations",
    "method",
    "params",
    "lattice",
}


def run_cli(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_mixd_ladder_json(capsys):
    rc, out, err = run_cli(
        capsys,
        "mixd",
        "--lattice",
        "ladder",
        "--L",
        "30",
        "--t",
        "0.1",
        "--J",
        "1.2",
        "--V",
        "1",
        "--holes",
        "8",
        "--json",
    )
    assert rc == 0, err
    d = json.loads(out)
    assert MIXD_KEYS <= set(d)
    assert set(d["delta_high_symmetry"]) == {"0", "pi"}
    assert d["converged"] is True and d["method"] == "fixed-point"
    assert d["params"]["J"] == 1.2 and d["params"]["n_holes"] == 8.0
    # Delta_k of the ladder is odd under k -> k + pi (gamma_k = cos k)
    assert d["delta_high_symmetry"]["0"] == pytest.approx(-d["delta_high_symmetry"]["pi"], abs=1e-12)


def test_mixd_square_json_doping_and_gradient(capsys, tmp_path):
    png = tmp_path / "gap.png"
    npz = tmp_path / "sol.npz"
    rc, out, err = run_cli(
        capsys, "mixd", "--lattice", "square", "--L", "16", "--doping", "0.046875", "--epsilon", "1.5",
        "--method", "gradient", "--json", "--plot", str(png), "--save", str(npz),
    )  # fmt: skip
    assert rc == 0, err
    d = json.loads(out)
    assert set(d["delta_high_symmetry"]) == {"G", "X", "M"}
    assert d["params"]["n_holes"] == pytest.approx(12.0)
    assert d["method"] == "gradient"
    assert png.stat().st_size > 10_000
    rc, out2, err = run_cli(capsys, "load", str(npz), "--json")
    assert rc == 0
    assert json.loads(out2) == d


def test_mixd_text_summary(capsys):
    rc, out, err = run_cli(capsys, "mixd", "--L", "12", "--holes", "2")
    assert rc == 0
    assert "O_BCS (Eq. 12)" in out and "converged=True" in out


@pytest.mark.parametrize(
    "args, needle",
    [
        (["mixd", "--J", "-1"], "--J must be a finite number in [1e-06, 1e+06], got -1"),
        (["mixd", "--t", "nan"], "t must be a finite number"),
        (["mixd", "--holes", "0"], "n_holes"),
        (["mixd", "--holes", "100"], "n_holes (N_h) must be < 2 N = 60"),
        (["mixd", "--L", "1"], "L must be an integer >= 2"),
        (["mixd", "--lattice", "triangle"], "--lattice must be 'ladder' or 'square'"),
        (["mixd", "--method", "magic"], "--method must be one of"),
        (["mixd", "--holes", "2", "--doping", "0.1"], "not allowed with argument"),
        (["mixd", "--doping", "3"], "--doping must be in (0, 2)"),
        (["mixd", "--epsilon", "1.5"], "needs a 2D lattice"),
        (["mixd", "--lattice", "ladder", "--Lx", "4"], "--Lx/--Ly apply to --lattice square only"),
        (["load", "/nonexistent/file.npz"], "file not found"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, args, needle):
    rc, out, err = run_cli(capsys, *args)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jaxnickel: error:")
    assert needle in lines[0]


def test_nonconvergence_exits_1_after_printing(capsys):
    rc, out, err = run_cli(capsys, "mixd", "--J", "2.0", "--max-steps", "2", "--json")
    assert rc == 1
    assert json.loads(out)["converged"] is False
    assert "did not converge" in err


def test_doping_warning_is_one_line(capsys):
    rc, out, err = run_cli(capsys, "mixd", "--holes", "18", "--json")
    assert rc == 0
    assert "outside the validity" in err and len(err.strip().splitlines()) == 1


def test_console_script_entry_point():
    r = subprocess.run(
        [sys.executable, "-m", "jaxnickel.cli", "mixd", "--L", "8", "--holes", "2", "--json"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["converged"] is True


TRIPLON_KEYS = {
    "mu_eV",
    "n_alpha",
    "n_beta",
    "N_alpha_per_eV",
    "N_beta_per_eV",
    "Ntilde_alpha_per_eV",
    "Ntilde_beta_per_eV",
    "lambda",
    "V_eV",
    "delta_alpha_max_meV",
    "delta_alpha_min_meV",
    "delta_beta_max_meV",
    "delta_beta_min_meV",
    "gap_ratio",
    "tc_kelvin",
    "free_energy_meV",
    "residual_eV",
    "converged",
    "result",
    "message",
    "iterations",
    "method",
    "params",
    "units",
}


def _unit_suffix_or_documented(key: str, d: dict) -> bool:
    """A number whose unit could be mistaken carries it in its name (or is listed in ``units``)."""
    suffixes = ("_eV", "_meV", "_per_eV", "_deg", "_kelvin", "_K", "_mV")
    dimensionless = {"n_alpha", "n_beta", "n_c", "lambda", "gap_ratio", "lambda_s_linearized", "lambda_d_linearized"}
    dimensionless |= {"two_delta_alpha_max_over_kTc"}
    return key.endswith(suffixes) or key in dimensionless or any(key in k.split(", ") for k in d["units"])


def test_triplon_json(capsys, tmp_path):
    rc, out, err = run_cli(
        capsys, "triplon", "--grid", "64", "--lambda", "0.3", "--tc", "--json", "--method", "fixed-point"
    )
    assert rc == 0, err
    d = json.loads(out)
    assert TRIPLON_KEYS <= set(d)
    assert d["n_alpha"] + d["n_beta"] == pytest.approx(0.45, abs=1e-10)
    assert d["lambda"] == pytest.approx(0.3, rel=1e-12)
    assert d["channel"] == "s+-" and d["delta_alpha_min_meV"] > 0 > d["delta_beta_max_meV"]
    assert d["tc_kelvin"] > 0 and d["params"]["kappa_a"] == 0.75
    # one unit convention: every float key says its unit (issue 12: no bare eV next to meV)
    floats = [k for k, v in d.items() if isinstance(v, float)]
    assert floats and all(_unit_suffix_or_documented(k, d) for k in floats), [
        k for k in floats if not _unit_suffix_or_documented(k, d)
    ]


def test_triplon_sid_json(capsys):
    """Inside the s+id window (tests/test_triplon_complex.py): the JSON says so, with amplitudes, phase, stability."""
    rc, out, err = run_cli(
        capsys, "triplon", "--grid", "128", "--mu", "-0.65", "--V", "1.037403", "--kappa-a", "1.7236",
        "--kappa-b", "0.3264", "--method", "fixed-point", "--json",
    )  # fmt: skip
    assert rc == 0, err
    d = json.loads(out)
    assert d["channel"] == "s+id" and d["time_reversal_broken"] is True and d["stable"] is True
    assert abs(abs(d["relative_phase_deg"]) - 90.0) < 1e-6 and d["hessian_min_per_eV"] > 0
    assert d["s_amplitude_meV"] > 0 and d["d_amplitude_meV"] > 0 and d["params"]["cutoff"] == "sharp"
    assert d["abs_delta_alpha_min_meV"] > 0  # no node: |Delta|^2 = s^2 + d^2
    rc, out, err = run_cli(capsys, "triplon", "--grid", "64", "--lambda", "0.3", "--method", "fixed-point", "--json")
    d = json.loads(out)
    assert d["channel"] == "s+-" and d["time_reversal_broken"] is False and d["relative_phase_deg"] is None


@pytest.mark.slow
def test_triplon_mu_and_V(capsys):
    rc, out, err = run_cli(capsys, "triplon", "--grid", "32", "--mu", "-0.65", "--V", "0.5", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["mu_eV"] == -0.65 and d["V_eV"] == 0.5 and d["method"] == "gradient"


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--T", "-1"], "--T must be a finite number in [0, 11604.5] K"),
        (["--omega", "0"], "--omega must be a finite number in (0, 10] eV"),
        (["--nc", "2.5"], "--nc must be in (0, 2)"),
        (["--grid", "4"], "--grid must be an integer >= 8"),
        (["--lambda", "inf"], "lambda must be a finite number"),
        (["--V", "-1"], "--V must be a finite number in (0, 20] eV"),
        (["--kappa-a", "-0.5"], "--kappa-a must be a finite number in [0, 10]"),
        (["--nc", "0.4", "--mu", "0.1"], "not allowed with argument"),
        (["--method", "magic"], "--method must be one of"),
    ],
)
def test_triplon_bad_input(capsys, args, needle):
    rc, out, err = run_cli(capsys, "triplon", "--grid", "16", *args)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


@pytest.mark.slow
def test_fit_cli_bundled(capsys, tmp_path):
    out = tmp_path / "fit.json"
    png = tmp_path / "fit.png"
    rc, stdout, err = run_cli(
        capsys, "fit", "bundled", "--free", "lambda", "--grid", "24", "--starts", "1", "--json",
        "--out", str(out), "--plot", str(png),
    )  # fmt: skip
    assert rc == 0, err
    d = json.loads(stdout)
    assert {"parameters", "uncertainties", "correlation", "chi2", "dof", "converged", "n_data"} <= set(d)
    assert d["n_data"] == 2 and d["dof"] == 1 and d["parameters"]["lambda"] > 0
    assert json.loads(out.read_text())["chi2"] == pytest.approx(d["chi2"])
    assert png.stat().st_size > 10_000
    # paper-ready: result code, provenance, both uncertainty sets; progress only on stderr
    assert (d["result"], d["message"], d["converged"]) == ("successful", "successful", True)
    assert d["provenance"]["input_sha256"] and d["provenance"]["input_file"].endswith("nickelate_gaps.csv")
    assert set(d["uncertainties_scaled"]) == set(d["uncertainties_raw"]) == {"lambda"}
    assert "gap fit start 1/1" in err and "compiling" in err and "coarser than the converged 256" in err


@pytest.mark.parametrize(
    "args, needle",
    [
        (["/nonexistent.csv", "--free", "lambda"], "data file not found"),
        (["bundled", "--free", "lambda", "--fix", "kappa_a"], "--fix takes NAME=VALUE"),
        (["bundled", "--free", "lambda", "--fix", "kappa_a=x"], "value must be a number"),
        (["bundled", "--free", "lambda", "--model", "mixd"], "--model must be 'triplon'"),
        (["bundled", "--free", "gamma"], "unknown parameter"),
        (["bundled", "--free", "lambda,kappa_a"], "(dof = 0): a fit needs more rows than free parameters"),
        (["bundled", "--free", "lambda", "--out", "/nonexistent/f.json"], "does not exist"),
    ],
)
def test_fit_cli_bad_input(capsys, args, needle):
    rc, out, err = run_cli(capsys, "fit", *args, "--grid", "16")
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


def test_fit_cli_bad_csv_names_line_and_column(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sheet,theta_deg,gap_meV,uncertainty_meV,temperature_K,source\nalpha,30,-5,1,4,x\n")
    rc, out, err = run_cli(capsys, "fit", str(bad), "--free", "lambda", "--grid", "16")
    assert rc == 2 and "line 2" in err and "gap_meV" in err
