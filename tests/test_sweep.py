"""jaxnickel.sweep: compiled, chunked, warm-started and sharded parameter scans.

Kept small (ladder L = 16, 8 points; triplon grid 64): every MixD program compiles in a
few seconds, and the compiled programs are shared through module-scoped fixtures.
"""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import jaxnickel
from jaxnickel import Ladder
from jaxnickel.mixd import MixDParams, solve_jax
from jaxnickel.sweep import (
    SweepConvergenceWarning,
    failures,
    load,
    mixd_sweep,
    nearest,
    not_converged,
    save,
    sweep,
    triplon_sweep,
)

LAT = Ladder(16)
J = np.array([0.8, 0.85, 0.9, 0.95])  # steps small enough for warm-started Newton (0.2 is not)
NH = np.array([4.0, 6.0])
FIELDS = ("energy", "N_sc", "N_cc", "mu", "beta", "order_bcs", "residual", "iterations")
TOL = {"rtol": 1e-10, "atol": 1e-12}


@pytest.fixture(scope="module")
def cold():
    return mixd_sweep(LAT, t=0.1, V=1.0, J=J, n_holes=NH, fields=FIELDS)


@pytest.fixture(scope="module")
def chunked():
    seen = []
    res = mixd_sweep(LAT, t=0.1, V=1.0, J=J, n_holes=NH, fields=FIELDS, chunk_size=3, progress=seen.append)
    return res, seen


def test_sweep_matches_loop_of_single_solves(cold):
    assert isinstance(cold, xr.Dataset)
    assert cold["energy"].dims == ("J", "n_holes") and dict(cold.sizes) == {"J": 4, "n_holes": 2}
    np.testing.assert_array_equal(cold.coords["J"], J)
    assert cold["energy"].shape == (4, 2)
    assert not_converged(cold) == 0 and cold.attrs["not_converged"] == 0
    assert cold.attrs["results"] == {"successful": 8} and cold["result"].dtype == np.int32
    assert cold.attrs["fixed"] == {"t": 0.1, "V": 1.0, "epsilon": 0.0}
    assert cold.attrs["lattice"] == {"lattice": "ladder", "L": 16}

    keep = (*FIELDS, "converged")
    one = eqx.filter_jit(
        lambda j, nh: {f: getattr(solve_jax(MixDParams(t=0.1, J=j, V=1.0, n_holes=nh), LAT), f) for f in keep}
    )
    for a, j in enumerate(J):
        for b, nh in enumerate(NH):
            ref = one(j, nh)
            assert bool(ref["converged"]) and cold["converged"][a, b]
            for f in FIELDS:
                np.testing.assert_allclose(cold[f][a, b], np.asarray(ref[f]), **TOL, err_msg=f)


def test_chunked_with_padding_equals_one_chunk(cold, chunked):
    res, seen = chunked
    a = res.attrs
    assert (a["chunk_size"], a["n_chunks"], a["n_points"], a["n_padded"]) == (3, 3, 8, 9)
    assert a["traces"] == 1  # one trace, one executable, three calls
    assert [p.chunk for p in seen] == [1, 2, 3] and seen[-1].points_done == 8 and seen[-1].not_converged == 0
    for f in cold.data_vars:
        np.testing.assert_allclose(res[f], cold[f], rtol=1e-13, atol=1e-15, err_msg=f)


def test_netcdf_round_trip_equal(cold, tmp_path):
    path = save(cold, tmp_path / "scan.nc")
    assert path.read_bytes()[:4] == b"\x89HDF"  # netCDF-4 (HDF5) through h5netcdf
    back = load(path)
    xr.testing.assert_identical(back.drop_attrs(), cold.drop_attrs())
    for f in cold.data_vars:
        assert back[f].dtype == cold[f].dtype, f
    for key in ("jaxnickel_version", "git_revision", "date", "fixed", "lattice", "n_points", "timing", "results"):
        assert back.attrs[key] == cold.attrs[key], key
    assert back.attrs["format"] == "jaxnickel-sweep/2" and back.attrs["jaxnickel_version"] == jaxnickel.__version__
    # any netCDF reader opens it (plain xarray: the nested attrs are JSON strings)
    with xr.open_dataset(path, engine="h5netcdf") as plain:
        assert json.loads(plain.attrs["fixed"]) == cold.attrs["fixed"]
    # nearest-point selection, on the loaded copy
    s = nearest(back, J=0.86, n_holes=6.2)
    assert s["energy"].dims == () and s.attrs["selection"] == {"J": 0.85, "n_holes": 6.0}
    assert float(s["energy"]) == float(cold["energy"][1, 1])
    assert back["energy"].sel(n_holes=4, method="nearest").dims == ("J",)


def test_legacy_npz_sweep_still_loads(cold, tmp_path):
    """Sweeps saved by jaxnickel <= 0.1 (SweepResult.save: one .npz, format jaxnickel-sweep/1)."""
    meta = {
        "format": "jaxnickel-sweep/1",
        "dims": ["J", "n_holes"],
        "coords": ["J", "n_holes"],
        "data": ["energy", "converged"],
        "attrs": {"fixed": {"t": 0.1}, "n_points": 8},
    }
    arrays = {"coords/J": J, "coords/n_holes": NH}
    arrays["data/energy"] = np.asarray(cold["energy"])
    arrays["data/converged"] = np.asarray(cold["converged"])
    path = tmp_path / "old.npz"
    np.savez(path, __meta__=np.asarray(json.dumps(meta)), **arrays)
    back = load(path)
    np.testing.assert_array_equal(back["energy"], cold["energy"])
    assert back["energy"].dims == ("J", "n_holes") and back.attrs["fixed"] == {"t": 0.1}
    assert not_converged(back) == 0
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"not a sweep")
    with pytest.raises(ValueError, match="not a jaxnickel sweep"):
        load(bad)


def test_warm_start_agrees_with_cold(cold):
    # no cold fallback here (it is tested on a cheap function below): every point is warm
    kw = dict(fields=FIELDS, warm_start="J", warm_fallback=False, chunk_size=1)
    warm = mixd_sweep(LAT, t=0.1, V=1.0, J=J, n_holes=NH, **kw)
    assert warm["energy"].dims == ("J", "n_holes") and warm.attrs["warm_start"] == "J"
    assert warm.attrs["n_chunks"] == 2 and warm.attrs["traces"] == 2  # cold first point + scan body
    assert not_converged(warm) == 0
    for f in ("energy", "N_sc", "N_cc", "mu", "beta", "order_bcs"):
        np.testing.assert_allclose(warm[f], cold[f], rtol=1e-9, atol=1e-11, err_msg=f)
    # the first J is a cold start; the others start from their neighbour and need fewer steps
    np.testing.assert_array_equal(warm["iterations"][0], cold["iterations"][0])
    assert np.all(warm["iterations"][1:] < cold["iterations"][1:])


def test_generic_sweep_traces_once_and_reuses_program():
    calls = []

    def f(x, y, a):
        calls.append(1)
        return {"s": jnp.sin(x) * y + a, "v": jnp.stack([x, y]), "converged": x < 0.9}

    x, y = np.linspace(0.0, 1.0, 7), np.array([1.0, 2.0])
    with pytest.warns(SweepConvergenceWarning, match="1 of 14|2 of 14"):
        res = sweep(f, {"x": x, "y": y}, fixed={"a": 0.5}, chunk_size=4)
    assert len(calls) == 1 and res.attrs["traces"] == 1 and res.attrs["n_chunks"] == 4
    np.testing.assert_allclose(res["s"], np.sin(x)[:, None] * y[None, :] + 0.5, rtol=1e-15)
    assert res["v"].shape == (7, 2, 2) and res["v"][3, 1, 1] == 2.0
    assert not_converged(res) == 2 and {tuple(d.values()) for d in failures(res)} == {(1.0, 1.0), (1.0, 2.0)}
    # same fn and structure: the compiled program is reused (no new trace), new fixed value
    with pytest.warns(SweepConvergenceWarning):
        res2 = sweep(f, {"x": x, "y": y}, fixed={"a": -1.0}, chunk_size=4)
    assert len(calls) == 1 and res2.attrs["traces"] == 0 and res2.attrs["compiled_program_reused"]
    np.testing.assert_allclose(res2["s"], res["s"] - 1.5, rtol=1e-14)
    # fields select (and prune) outputs; converged is always kept
    res3 = sweep(f, {"x": x, "y": y}, fixed={"a": 0.0}, fields=["s"], warn=False, batching="map")
    assert tuple(res3.data_vars) == ("s", "converged")


@pytest.mark.parametrize("fallback", [True, False])
def test_warm_start_fallback_and_failure_isolation(fallback):
    """A warm step 'fails' for x > 2.5: the cold fallback replaces it (or it is reported)."""

    def f(x, y, init=None):
        if init is None:  # cold start
            return {"v": x * y, "converged": jnp.asarray(True)}
        return {"v": init["v"] + 1.5 * y, "converged": x < 2.5}

    x, y = np.arange(5.0), np.array([1.0, 2.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sweep(f, {"x": x, "y": y}, warm_start="x", warm_fallback=fallback, chunk_size=1)
    if fallback:
        np.testing.assert_allclose(res["v"], np.outer([0.0, 1.5, 3.0, 3.0, 4.0], y))
        assert not_converged(res) == 0 and res.attrs["warm_start_failed"] == 4
        np.testing.assert_array_equal(res["warm_start_failed"][:, 0], [False, False, False, True, True])
        assert not [w for w in caught if issubclass(w.category, SweepConvergenceWarning)]
    else:
        # the failed point x = 3 is not the start of x = 4: that one starts from x = 2 again
        np.testing.assert_allclose(res["v"], np.outer([0.0, 1.5, 3.0, 4.5, 4.5], y))
        assert not_converged(res) == 4 and "warm_start_failed" not in res
        assert [w for w in caught if issubclass(w.category, SweepConvergenceWarning)]


def test_zip_mode_and_selection():
    def f(x, y):
        return {"p": x * y}

    res = sweep(f, {"x": [1.0, 2.0, 3.0], "y": [10.0, 20.0, 30.0]}, mode="zip")
    assert res["p"].dims == ("point",) and res["p"].shape == (3,)
    np.testing.assert_allclose(res["p"], [10.0, 40.0, 90.0])
    np.testing.assert_allclose(res["x"], [1.0, 2.0, 3.0])  # parameters are coordinates along "point"
    s = nearest(res, x=2.1, y=19.0)
    assert float(s["p"]) == 40.0 and s.attrs["selection"] == {"x": 2.0, "y": 20.0}
    assert float(res.isel(point=2)["p"]) == 90.0


def test_input_errors_name_the_parameter():
    with pytest.raises(ValueError, match=r"J .*1-D.*\(2, 2\)"):
        mixd_sweep(LAT, t=0.1, V=1.0, J=np.ones((2, 2)), n_holes=4.0)
    with pytest.raises(ValueError, match="n_holes.*empty"):
        mixd_sweep(LAT, t=0.1, V=1.0, n_holes=[])
    with pytest.raises(ValueError, match="n_holes"):
        mixd_sweep(LAT, t=0.1, V=1.0, n_holes=[4.0, -2.0])
    with pytest.raises(ValueError, match="nothing to scan"):
        mixd_sweep(LAT, t=0.1, V=1.0, n_holes=4.0)
    with pytest.raises(ValueError, match="chunk_size"):
        mixd_sweep(LAT, t=0.1, V=1.0, J=J, n_holes=4.0, chunk_size=0)
    with pytest.raises(ValueError, match="warm_start"):
        mixd_sweep(LAT, t=0.1, V=1.0, J=J, n_holes=4.0, warm_start="V")
    with pytest.raises(ValueError, match="method"):
        mixd_sweep(LAT, t=0.1, V=1.0, J=J, n_holes=4.0, method="newton")
    with pytest.raises(ValueError, match="grid"):
        sweep(lambda x: x, {})
    with pytest.raises(ValueError, match=r"grid\['x'\].*scalar|grid\['x'\].*1-D"):
        sweep(lambda x: x, {"x": 1.0})
    with pytest.raises(ValueError, match="both in grid"):
        sweep(lambda x: x, {"x": [1.0]}, fixed={"x": 2.0})
    with pytest.raises(ValueError, match="equal length"):
        sweep(lambda x, y: x, {"x": [1.0, 2.0], "y": [1.0]}, mode="zip")
    with pytest.raises(ValueError, match="init"):
        sweep(lambda x: x, {"x": [1.0, 2.0]}, warm_start="x")
    with pytest.raises(ValueError, match="fields: 'nope'"):
        sweep(lambda x: {"a": x}, {"x": [1.0, 2.0]}, fields=["nope"])
    with pytest.raises(ValueError, match="unknown parameter"):
        triplon_sweep(64, lam=[0.3, 0.5], kappa=[0.1])
    with pytest.raises(ValueError, match="n_c or mu"):
        triplon_sweep(64, n_c=[0.4, 0.45], mu=-0.6)
    with pytest.raises(ValueError, match="n_c"):
        triplon_sweep(64, n_c=[0.4, 2.5])


def test_triplon_sweep_small():
    from jaxnickel.triplon import make_params

    lam = np.array([0.3, 0.5])
    fields = ("free_energy", "gap_ratio", "V", "mu", "theta", "delta_alpha_fs", "time_reversal_broken", "stable")
    res = triplon_sweep(64, lam=lam, channel="s", fields=fields)
    assert res["free_energy"].dims == ("lam",) and not_converged(res) == 0
    assert res.attrs["results"] == {"successful": 2}
    assert res["delta_alpha_fs"].dims == ("lam", "theta") and res["theta"].dims == ("theta",)
    assert not np.any(res["time_reversal_broken"]) and np.all(res["stable"])
    for i, lv in enumerate(lam):
        p = make_params(lam=float(lv), grid=64)
        np.testing.assert_allclose(res["V"][i], float(p.V), rtol=1e-12)
        np.testing.assert_allclose(res["mu"][i], float(p.bands.mu), rtol=1e-12)
    assert np.all(res["free_energy"] < 0) and res["free_energy"][1] < res["free_energy"][0]
    assert np.all((res["gap_ratio"] > 1.0) & (res["gap_ratio"] < 2.5))  # s+- state, Eq. (17) ~ 1.6-1.7
    assert res.attrs["V_from_lambda"] and res.attrs["batching"] == "map"


_SHARD_SCRIPT = textwrap.dedent(
    """
    import json, warnings
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from jaxnickel import Ladder
    from jaxnickel.sweep import mixd_sweep
    warnings.simplefilter("ignore")
    F = ("energy", "N_cc", "mu", "order_bcs")
    kw = dict(t=0.1, V=1.0, J=np.array([0.8, 1.2, 1.8]), n_holes=np.array([4.0, 6.0]), fields=F)
    a = mixd_sweep(Ladder(16), chunk_size=3, **kw)
    b = mixd_sweep(Ladder(16), devices=1, **kw)
    # a cheap function: the sequential (map) and warm-start programs, sharded
    import jax.numpy as jnp
    from jaxnickel.sweep import sweep
    f = lambda x, y, init=None: {"s": jnp.sin(x) * y}
    g = {"x": np.linspace(0.0, 1.0, 5), "y": np.arange(3.0)}
    cheap = [sweep(f, g, batching="map"), sweep(f, g, warm_start="y", chunk_size=2)]
    ref = np.sin(g["x"])[:, None] * g["y"]
    print("@@" + json.dumps({
        "device_count": jax.device_count(),
        "sharded": a.attrs["sharding"], "chunk_size": a.attrs["chunk_size"], "n_chunks": a.attrs["n_chunks"],
        "unsharded": b.attrs["sharding"],
        "max_diff": max(float(np.max(np.abs(a[f] - b[f]))) for f in F),
        "not_converged": [a.attrs["not_converged"], b.attrs["not_converged"]],
        "cheap_devices": [c.attrs["sharding"]["output_devices"] for c in cheap],
        "cheap_diff": max(float(np.max(np.abs(c["s"] - ref))) for c in cheap),
    }))
    """
)


def test_sharded_equals_unsharded_in_subprocess():
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()
    proc = subprocess.run([sys.executable, "-c", _SHARD_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(next(line[2:] for line in proc.stdout.splitlines() if line.startswith("@@")))
    assert out["device_count"] == 4
    assert out["sharded"]["mesh_devices"] == 4 and out["sharded"]["output_devices"] == 4
    assert out["sharded"]["spec"] == "P('batch',)"
    assert out["chunk_size"] == 4 and out["n_chunks"] == 2  # 3 rounded up to a multiple of 4 devices
    assert out["unsharded"]["mesh_devices"] == 1 and out["unsharded"]["output_devices"] == 1
    assert out["not_converged"] == [0, 0]
    assert out["max_diff"] < 1e-10
    assert out["cheap_devices"] == [4, 4] and out["cheap_diff"] < 1e-15


def test_result_warns_nothing_when_converged(cold):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SweepConvergenceWarning)
        assert not_converged(cold) == 0 and failures(cold) == []


def _warm_logged(kinds):
    """A cheap warm-startable fn whose warm step 'fails' for x >= c; it logs each trace's kind."""

    def f(x, y, c, init=None):
        kinds.append("cold" if init is None else "warm")  # runs at trace time only
        if init is None:
            return {"v": x * y, "converged": jnp.asarray(True)}
        return {"v": init["v"] + 1.5 * y, "converged": x < c}

    return f


@pytest.mark.parametrize("batching", ["vmap", "map"])
def test_warm_fallback_resolves_only_the_failed_points(batching):
    """The chunk program is the warm scan alone; the failed points are re-solved cold afterwards."""
    kinds, seen = [], []
    f = _warm_logged(kinds)
    x, y = np.arange(6.0), np.array([1.0, 2.0, 3.0])
    res = sweep(f, {"x": x, "y": y}, fixed={"c": 2.5}, warm_start="x", batching=batching, progress=seen.append)
    # traces: the line's cold first point and the warm scan body (no cold branch in the scan),
    # then the cold single-point program of the re-solve
    assert kinds == ["cold", "warm", "cold"] and res.attrs["traces"] == 3
    cr = res.attrs["cold_resolve"]
    assert cr["points"] == 9 and cr["batches"] == [3, 3, 3] and cr["traces"] == 1  # at most a chunk (3 lines) per call
    # x = 3, 4, 5 fail warm (the carry stays at x = 2: 3 y + 1.5 y) and hold the cold values x y
    np.testing.assert_array_equal(res["v"], np.outer([0.0, 1.5, 3.0, 3.0, 4.0, 5.0], y))
    np.testing.assert_array_equal(res["warm_start_failed"][:, 0], [False, False, False, True, True, True])
    assert res.attrs["warm_start_failed"] == 9 and not_converged(res) == 0
    # progress: the chunk does not count warm failures as final; a last report after the re-solve
    assert [p.not_converged for p in seen] == [0, 0] and seen[-1].points_done == 18
    # the same sweep again: both programs come from the cache
    again = sweep(f, {"x": x, "y": y}, fixed={"c": 2.5}, warm_start="x", batching=batching)
    assert len(kinds) == 3 and again.attrs["traces"] == 0 and again.attrs["cold_resolve"]["compiled_program_reused"]
    xr.testing.assert_identical(again.drop_attrs(), res.drop_attrs())
    # no failure: no re-solve, and the warm program alone traces fn twice (the old scan: three times)
    kinds2 = []
    ok = sweep(_warm_logged(kinds2), {"x": x, "y": y}, fixed={"c": 10.0}, warm_start="x", batching=batching)
    assert kinds2 == ["cold", "warm"] and ok.attrs["traces"] == 2 and ok.attrs["cold_resolve"]["points"] == 0
    assert ok.attrs["warm_start_failed"] == 0


def test_warm_fallback_batches_are_padded_to_few_sizes():
    """Failure counts 1..12 of one sweep structure compile the cold re-solve for 4 sizes only."""
    kinds = []
    f = _warm_logged(kinds)
    x, y = np.arange(5.0), np.arange(1.0, 4.0)  # 3 lines of 5 points: up to 12 warm failures
    sizes = set()
    for c in (0.5, 1.5, 2.5, 3.5, 4.5):  # 12, 9, 6, 3, 0 failures
        res = sweep(f, {"x": x, "y": y}, fixed={"c": c}, warm_start="x", chunk_size=3)
        n_fail = 3 * int(np.count_nonzero(x[1:] >= c))
        assert res.attrs["warm_start_failed"] == n_fail == res.attrs["cold_resolve"]["points"]
        np.testing.assert_array_equal(res["v"][x >= max(c, 1.0)], np.outer(x, y)[x >= max(c, 1.0)])
        sizes.update(res.attrs["cold_resolve"]["batches"])
    assert sizes == {3}  # buckets (1, 2, 3): every batch here is a full chunk
    assert kinds.count("cold") == 2  # the line's first point once, the cold program once
    # one failed point: the smallest bucket
    one = sweep(f, {"x": x, "y": np.array([1.0])}, fixed={"c": 3.5}, warm_start="x", chunk_size=3)
    assert one.attrs["cold_resolve"]["batches"] == [1]
    with pytest.raises(ValueError, match="distribute"):
        sweep(f, {"x": x, "y": y}, fixed={"c": 1.0}, warm_start="x", distribute="yes")


def test_mixd_warm_fallback_equals_the_cold_solve():
    """MixD on L = 16: the warm step J = 0.9 -> 0.6 diverges; its cold re-solve is the cold sweep's value."""
    kw = dict(t=0.1, V=1.0, J=np.array([0.8, 0.85, 0.9, 0.6]), n_holes=NH, fields=FIELDS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SweepConvergenceWarning)
        warm = mixd_sweep(LAT, warm_start="J", **kw)
        ref = mixd_sweep(LAT, **kw)
    fb = np.asarray(warm["warm_start_failed"])
    np.testing.assert_array_equal(fb, [[False, False], [False, False], [False, False], [True, True]])
    assert warm.attrs["cold_resolve"]["points"] == 2 and not_converged(warm) == 0
    for f in FIELDS:
        np.testing.assert_allclose(warm[f][3], ref[f][3], rtol=1e-13, atol=1e-15, err_msg=f)
    np.testing.assert_array_equal(warm["iterations"][3], ref["iterations"][3])  # the cold solve's own count
    assert np.all(warm["iterations"][1:3] < ref["iterations"][1:3])  # the others stayed warm
    # without the fallback the failed warm solve is reported instead
    with pytest.warns(SweepConvergenceWarning, match="2 of 8"):
        bare = mixd_sweep(LAT, warm_start="J", warm_fallback=False, **kw)
    assert bare.attrs["traces"] == 0 and bare.attrs["cold_resolve"] is None  # the same warm program
    assert not np.asarray(bare["converged"][3]).any()
