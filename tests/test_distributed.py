"""jaxnickel.distributed: a sweep across two local CPU processes (jax.distributed, gloo).

Two processes connect to a coordinator on a free local port and run the same small
MixD sweeps (Ladder(16), 8 points: cold, and warm-started with cold re-solves); a third,
plain process runs the same sweeps alone.  The gathered Datasets must be bit-identical to
the one-process ones.  Every subprocess has a timeout, so a hang fails the test.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr

from jaxnickel import distributed
from jaxnickel.sweep import load

TIMEOUT_S = 300

_WORKER = textwrap.dedent(
    """
    import hashlib, json, sys, warnings
    from pathlib import Path
    import jax
    jax.config.update("jax_enable_x64", True)
    from jaxnickel import distributed
    port, n, pid, which, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], Path(sys.argv[5])
    if n > 1:
        info = distributed.initialize(f"127.0.0.1:{port}", num_processes=n, process_id=pid, initialization_timeout=120)
        again = distributed.initialize()  # already connected: returns the same info
        assert (info.process_index, info.process_count) == (pid, n) == (again.process_index, again.process_count)
    import numpy as np
    from jaxnickel import Ladder
    from jaxnickel.sweep import mixd_sweep, save
    warnings.simplefilter("ignore")
    F = ("energy", "N_sc", "N_cc", "mu", "beta", "order_bcs", "residual", "iterations")
    kw = dict(t=0.1, V=1.0, J=np.array([0.8, 0.85, 0.9, 0.6]), n_holes=np.array([4.0, 6.0]), fields=F)
    if which == "cold":  # 8 points: 4 per process, 2 chunks each
        runs = {"cold": mixd_sweep(Ladder(16), chunk_size=2, **kw)}
    else:  # 2 lines along J: 1 per process; J = 0.9 -> 0.6 fails warm and is re-solved cold
        runs = {
            "cold": mixd_sweep(Ladder(16), chunk_size=2, **kw),
            "warm": mixd_sweep(Ladder(16), warm_start="J", chunk_size=1, **kw),
        }
    summary = {}
    for name, ds in runs.items():
        h = hashlib.sha256()
        for k in sorted(ds.variables):
            h.update(k.encode() + np.ascontiguousarray(ds[k].values).tobytes())
        a = ds.attrs
        keep = ("process_count", "process_index", "n_points", "n_padded", "n_chunks", "warm_start_failed", "cold_resolve")
        summary[name] = {"sha": h.hexdigest(), **{key: a[key] for key in keep}}
        if jax.process_index() == 0:
            save(ds, out / f"{name}.nc")
    # processes called with different arguments: every one of them refuses, before any solve
    summary["mismatch"] = "not run"
    if which == "cold" and n > 1:
        try:
            mixd_sweep(Ladder(16), t=0.1, V=1.0, J=np.array([0.8, 0.9 + 0.01 * pid]), n_holes=4.0, fields=F)
            summary["mismatch"] = None
        except ValueError as exc:
            summary["mismatch"] = str(exc)
    (out / f"summary{pid}.json").write_text(json.dumps(summary))
    print("done", pid, flush=True)
    """
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args, out, env):
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER, *map(str, args), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(procs) -> list[tuple[int, str, str]]:
    """Wait for every process (TIMEOUT_S in all); on a timeout kill them all and fail."""
    done = []
    try:
        for p in procs:
            o, e = p.communicate(timeout=TIMEOUT_S)
            done.append((p.returncode, o, e))
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
            p.communicate()
        pytest.fail(f"a sweep process hung for more than {TIMEOUT_S} s")
    return done


def _job(tmp_path_factory, which):
    """The 2-process job and the 1-process reference, run at the same time: their folders."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    multi, single = tmp_path_factory.mktemp(f"{which}_two_processes"), tmp_path_factory.mktemp(f"{which}_one_process")
    port = _free_port()
    procs = [_start((port, 2, pid, which), multi, env) for pid in (0, 1)] + [_start((0, 1, 0, which), single, env)]
    for code, _, err in _finish(procs):
        assert code == 0, err[-3000:]
    return multi, single


def _summaries(multi, single):
    return [json.loads((multi / f"summary{p}.json").read_text()) for p in (0, 1)], json.loads(
        (single / "summary0.json").read_text()
    )


def _assert_bit_identical(multi, single, name):
    a, b = load(multi / f"{name}.nc"), load(single / f"{name}.nc")
    assert a.attrs["process_count"] == 2 and b.attrs["process_count"] == 1
    assert a.attrs["process_index"] == 0 and a.attrs["n_points"] == b.attrs["n_points"] == 8
    assert dict(a.sizes) == dict(b.sizes) and list(a.data_vars) == list(b.data_vars)
    for c in b.coords:
        np.testing.assert_array_equal(a[c].values, b[c].values)
    for k in b.data_vars:
        assert a[k].dtype == b[k].dtype, (name, k)
        assert np.array_equal(a[k].values, b[k].values), (name, k)  # bit-identical
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    assert a.attrs["not_converged"] == 0
    return a


@pytest.fixture(scope="module")
def cold_job(tmp_path_factory):
    return _job(tmp_path_factory, "cold")


def test_two_processes_bit_identical_to_one(cold_job):
    multi, single = cold_job
    _assert_bit_identical(multi, single, "cold")
    (s0, s1), ref = _summaries(multi, single)
    # every process returns the same complete Dataset
    assert s0["cold"]["sha"] == s1["cold"]["sha"] == ref["cold"]["sha"]
    assert (s0["cold"]["process_index"], s1["cold"]["process_index"]) == (0, 1)
    # each process solved its own block of 4 points in 2 chunks of 2; alone, 4 chunks
    assert s0["cold"]["n_chunks"] == 2 and ref["cold"]["n_chunks"] == 4
    assert s0["cold"]["n_padded"] == ref["cold"]["n_padded"] == 8


def test_mismatched_calls_fail_on_every_process(cold_job):
    (s0, s1), _ = _summaries(*cold_job)
    for msg in (s0["mismatch"], s1["mismatch"]):
        assert msg is not None and "not called with the same arguments" in msg and "[1]" in msg


@pytest.mark.slow
def test_two_processes_warm_start_with_cold_resolve(tmp_path_factory):
    """Warm lines split by process, each process re-solving its own failed warm starts."""
    multi, single = _job(tmp_path_factory, "warm")
    ds = _assert_bit_identical(multi, single, "warm")
    (s0, s1), ref = _summaries(multi, single)
    assert s0["warm"]["sha"] == s1["warm"]["sha"] == ref["warm"]["sha"]
    fb = np.asarray(ds["warm_start_failed"])
    assert fb.shape == (4, 2) and not fb[0].any() and fb[3].all()  # J = 0.9 -> 0.6 fails warm
    assert ds.attrs["warm_start_failed"] == ref["warm"]["warm_start_failed"] == int(fb.sum())
    local = s0["warm"]["cold_resolve"]["points"] + s1["warm"]["cold_resolve"]["points"]
    assert local == ref["warm"]["cold_resolve"]["points"] == int(fb.sum())
    # where the warm start failed, the value is the cold solve's (the cold sweep's, bit for bit)
    cold = load(multi / "cold.nc")
    for k in ("energy", "mu", "iterations"):
        assert np.array_equal(np.asarray(ds[k])[fb], np.asarray(cold[k])[fb]), k


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"coordinator_address": "localhost"}, "coordinator_address"),
        ({"coordinator_address": "h:99999"}, "coordinator_address"),
        ({"coordinator_address": 1234}, "coordinator_address"),
        ({"num_processes": 0}, "num_processes"),
        ({"num_processes": True}, "num_processes"),
        ({"num_processes": 2, "process_id": 2}, "process_id"),
        ({"process_id": -1}, "process_id"),
        ({"local_device_ids": [0, -1]}, "local_device_ids"),
        ({"local_device_ids": "0"}, "local_device_ids"),
        ({"cpu_collectives": "nccl"}, "cpu_collectives"),
        ({"initialization_timeout": 0}, "initialization_timeout"),
    ],
)
def test_initialize_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        distributed.initialize(**kwargs)


def test_initialize_without_cluster_says_what_to_give():
    code = (
        "from jaxnickel import distributed\n"
        "try:\n    distributed.initialize()\nexcept ValueError as e:\n    print('@@', e)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "OMPI_", "JAX_COORDINATOR"))}
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "@@" in proc.stdout and "coordinator_address" in proc.stdout and "num_processes" in proc.stdout
