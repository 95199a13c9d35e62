"""Result codes (jaxnickel.RESULTS, throw=), xarray views of solutions, the fast CLI entry points, load.

Small problems only (ladder L = 8 / 16, triplon grid 32-48): each solve compiles in seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import jaxnickel
from jaxnickel import RESULTS, SolveError
from jaxnickel.cli import main
from jaxnickel.lattice import Ladder, Square
from jaxnickel.mixd import ConvergenceWarning, MixDParams, load_solution, solve
from jaxnickel.results import classify, describe, summary_counts

P = MixDParams(t=0.1, J=1.0, V=1.0, n_holes=4.0)


def test_enum_codes_and_messages():
    assert RESULTS.successful == 0 and RESULTS.successful.message == "successful"
    assert [r.name for r in RESULTS][:4] == ["successful", "max_steps_reached", "nonfinite", "unresolved_branch"]
    assert all(r.message for r in RESULTS)
    assert describe(1, "residual 1e-3").endswith("(residual 1e-3)") and describe(0, "ignored") == "successful"
    assert summary_counts(np.array([0, 0, 1, 2, 0])) == {"successful": 3, "max_steps_reached": 1, "nonfinite": 1}


def test_classify_is_traceable_and_orders_the_causes():
    conv = jnp.array([True, False, False, False])
    res = jnp.array([1e-14, 1e-3, jnp.nan, 1e-14])
    unres = jnp.array([False, False, False, True])
    codes = classify(conv, res, unresolved=unres)
    assert codes.dtype == jnp.int32
    assert [RESULTS(int(c)).name for c in codes] == [
        "successful",
        "max_steps_reached",
        "nonfinite",
        "unresolved_branch",
    ]


@pytest.fixture(scope="module")
def good():
    return solve(P, Ladder(16))


def test_successful_solve_says_so(good):
    assert int(good.result) == RESULTS.successful and bool(good.converged)
    d = good.summary()
    assert d["result"] == "successful" and d["message"] == "successful" and d["converged"] is True


def test_capped_solve_warns_by_default_and_raises_with_throw():
    with pytest.warns(ConvergenceWarning, match="max_steps_reached"):
        capped = solve(P, Ladder(16), max_steps=1)
    assert int(capped.result) == RESULTS.max_steps_reached and not bool(capped.converged)
    d = capped.summary()
    assert (d["result"], d["converged"]) == ("max_steps_reached", False)
    assert d["message"] == RESULTS.max_steps_reached.message  # message derived from result, never "ok"
    with pytest.raises(SolveError, match="max_steps_reached") as err:
        solve(P, Ladder(16), max_steps=1, throw=True)
    assert err.value.result is RESULTS.max_steps_reached and isinstance(err.value, RuntimeError)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        solve(P, Ladder(16), max_steps=1, warn=False)  # silenced, still flagged in result


def test_triplon_throw_on_a_capped_solve():
    from jaxnickel.triplon import make_params
    from jaxnickel.triplon import solve as tsolve

    p = make_params(lam=0.5, grid=32)
    ok = tsolve(p, 32, "fixed-point", channel="s")
    assert int(ok.result) == RESULTS.successful and ok.summary()["result"] == "successful"
    with pytest.raises(SolveError, match="triplon fixed-point solve did not converge: max_steps_reached"):
        tsolve(p, 32, "fixed-point", channel="s", max_steps=1, throw=True)


def test_cli_exit_code_and_json_from_the_result(capsys):
    rc = main(["mixd", "--L", "16", "--holes", "4", "--max-steps", "1", "--json", "--quiet"])
    out = capsys.readouterr()
    d = json.loads(out.out)
    assert rc == 1 and d["result"] == "max_steps_reached" and d["converged"] is False
    assert d["message"] == RESULTS.max_steps_reached.message
    assert "max_steps_reached" in out.err
    assert main(["mixd", "--L", "16", "--holes", "4", "--json", "--quiet"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["result"], d["message"], d["converged"]) == ("successful", "successful", True)


def test_mixd_to_xarray_ladder_and_square(good, tmp_path):
    ds = good.to_xarray()
    assert ds["delta"].dims == ("k",) and ds.sizes["k"] == 16
    np.testing.assert_allclose(ds["k"], 2 * np.pi * np.arange(16) / 16)
    np.testing.assert_array_equal(ds["delta"], np.asarray(good.delta))
    assert float(ds["energy"]) == float(good.energy) and int(ds["result"]) == 0
    assert ds.attrs["params.J"] == 1.0 and ds.attrs["lattice.L"] == 16 and ds.attrs["jaxnickel_version"]
    assert list(ds["high_symmetry_point"].values) == list(good.high_symmetry_labels)
    ds.to_netcdf(tmp_path / "sol.nc", engine="h5netcdf")  # netCDF-safe as it is
    back = xr.open_dataset(tmp_path / "sol.nc", engine="h5netcdf").load()
    xr.testing.assert_allclose(back.drop_attrs(), ds.drop_attrs())
    sq = solve(P, Square(6)).to_xarray()
    assert sq["E"].dims == ("kx", "ky") and sq["E"].shape == (6, 6)
    # Delta_k of the 2D solution is extended s-wave: Delta(kx, ky) = Delta(ky, kx)
    np.testing.assert_allclose(sq["delta"].values, sq["delta"].values.T, atol=1e-12)


def test_triplon_to_xarray_save_and_load(tmp_path, capsys):
    from jaxnickel.triplon import make_params
    from jaxnickel.triplon import solve as tsolve
    from jaxnickel.triplon.solution import load_solution as tload

    sol = tsolve(make_params(lam=0.5, grid=48), 48, "fixed-point", channel="s")
    ds = sol.to_xarray()
    assert ds["delta_alpha"].dims == ("kx", "ky") and ds["delta_alpha_fs"].dims == ("theta",)
    assert ds["coefficients"].dims == ("sheet", "power") and list(ds["sheet"].values) == ["alpha", "beta"]
    np.testing.assert_array_equal(ds["coefficients"].values.ravel(), np.asarray(sol.coefficients))
    assert ds.attrs["channel"] == "s+-" and ds.attrs["params.bands.t1"] == 0.45
    path = sol.save(tmp_path / "tri.npz")
    back = tload(path)
    for name in ("coefficients", "delta_alpha_fs", "free_energy", "result"):
        np.testing.assert_array_equal(np.asarray(getattr(back, name)), np.asarray(getattr(sol, name)))
    assert back.grid == 48 and back.method == "fixed-point"
    assert main(["load", str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["channel"] == "s+-" and d["result"] == "successful"


def test_load_reads_every_format(good, tmp_path, capsys):
    from jaxnickel.sweep import save, sweep

    mixd_path = good.save(tmp_path / "m.npz")
    assert int(load_solution(mixd_path).result) == 0
    assert main(["load", str(mixd_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["result"] == "successful"

    ds = sweep(lambda x: {"y": 2.0 * x, "converged": x < 10.0}, {"x": np.array([1.0, 2.0])})
    nc = save(ds, tmp_path / "s.nc")
    assert main(["load", str(nc), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["kind"] == "sweep" and d["dims"] == {"x": 2} and d["not_converged"] == 0

    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"parameters": {"lambda": 0.3}, "uncertainties": {"lambda": 0.01}, "chi2": 1.0}))
    assert main(["load", str(fit)]) == 0
    assert "lambda" in capsys.readouterr().out

    for name, content, msg in (
        ("trunc.npz", mixd_path.read_bytes()[:200], "damaged or truncated"),
        ("empty.npz", b"", "not a file jaxnickel writes"),
        ("other.json", b'{"a": 1}', "not a jaxnickel fit result"),
    ):
        (tmp_path / name).write_bytes(content)
        assert main(["load", str(tmp_path / name)]) == 2
        assert msg in capsys.readouterr().err


def test_version_and_fast_help():
    exe = [sys.executable, "-m", "jaxnickel.cli"]
    out = subprocess.run([*exe, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"jaxnickel {jaxnickel.__version__}"
    subprocess.run([*exe, "--help"], capture_output=True, timeout=60)  # warm the file cache
    t0 = time.perf_counter()
    out = subprocess.run([*exe, "--help"], capture_output=True, text=True, timeout=60)
    dt = time.perf_counter() - t0
    assert out.returncode == 0 and "fit-spectrum" in out.stdout
    assert dt < 1.0, f"jaxnickel --help took {dt:.2f} s (JAX must not be imported for --help)"
    # and the reason: importing the package does not import JAX
    code = "import sys, jaxnickel, jaxnickel.cli; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_float32_parameter_pytrees_are_refused():
    import equinox as eqx

    from jaxnickel.triplon import make_params
    from jaxnickel.triplon import solve as tsolve

    p32 = eqx.tree_at(lambda p: p.V, P, jnp.asarray(1.0, dtype=jnp.float32))
    with pytest.raises(ValueError, match=r"params \(MixDParams\) holds V in float32.*jax_enable_x64"):
        solve(p32, Ladder(16))
    t32 = eqx.tree_at(lambda p: p.bands.t1, make_params(grid=16), jnp.asarray(0.45, dtype=jnp.float32))
    with pytest.raises(ValueError, match=r"bands.t1 in float32"):
        tsolve(t32, 16)


def test_doping_that_gives_a_fractional_hole_number_is_rounded_with_a_note(capsys):
    assert main(["mixd", "--L", "30", "--doping", "0.11", "--json", "--quiet"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["params"]["n_holes"] == 3.0
    assert "N_h = 3.3: rounded to N_h = 3 holes" in out.err


def test_progress_goes_to_stderr(capsys):
    from jaxnickel.sweep import sweep
    from jaxnickel.triplon import K_B, critical_temperatures, gap_vs_temperature, make_params

    sweep(lambda x: {"y": jnp.sin(x)}, {"x": np.linspace(0.0, 1.0, 5)}, progress=True)
    err = capsys.readouterr()
    assert "compiling the sweep program" in err.err and "sweep <lambda>" in err.err and "5/5" in err.err
    assert err.out == ""
    p = make_params(lam=0.5, grid=32)
    gap_vs_temperature(p, K_B * np.array([10.0, 50.0, 100.0]), 32, channel="s", progress=True)
    err = capsys.readouterr().err
    assert "Delta(T) ladder" in err and "3/3" in err
    critical_temperatures(p, 32, progress=True)
    err = capsys.readouterr().err
    assert "T_c search" in err and "done in" in err


def test_positive_only_maps_get_a_sequential_colour_map():
    from jaxnickel.plotting import DIVERGING_CMAP, SEQUENTIAL_CMAP, plot_crossover_map

    x, y = np.linspace(0, 1, 4), np.linspace(0, 1, 3)
    pos = plot_crossover_map(x, y, np.outer(y, x) + 0.1, zlabel="O_BEC")
    signed = plot_crossover_map(x, y, np.outer(y, x) - 0.5, zlabel="(N_sc - 2 N_cc)/N_h")
    assert pos.axes[0].collections[0].get_cmap().name == SEQUENTIAL_CMAP
    assert pos.axes[0].collections[0].norm.vmin == 0.0
    assert signed.axes[0].collections[0].get_cmap().name == DIVERGING_CMAP
    assert signed.axes[0].collections[0].norm.vmin == -signed.axes[0].collections[0].norm.vmax


def test_ladder_and_sweep_throw():
    from jaxnickel.sweep import sweep
    from jaxnickel.triplon import K_B, gap_vs_temperature, make_params

    with pytest.raises(SolveError, match="2 of 4 sweep points did not converge"):
        sweep(lambda x: {"y": x, "converged": x < 1.5}, {"x": np.array([1.0, 2.0, 3.0, 0.5])}, throw=True)
    p = make_params(lam=0.5, grid=32)
    ok = gap_vs_temperature(p, K_B * np.array([10.0, 50.0]), 32, channel="s", throw=True)
    assert np.all(np.asarray(ok.result) == 0)


def test_readme_sweep_example_is_inside_the_validity_range():
    """The README's mixd_sweep example scans dopings N_h / N < 0.5 (paper 000, Sec. II)."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    m = re.search(r"mixd_sweep\(jn\.Ladder\((\d+)\).*?n_holes=np\.arange\(([\d.]+), ([\d.]+), ([\d.]+)\)\)", text)
    assert m, "README sweep example not found"
    L, lo, hi, step = int(m[1]), float(m[2]), float(m[3]), float(m[4])
    holes = np.arange(lo, hi, step)
    assert holes.size >= 3 and holes.max() / L < 0.5, (L, holes)
