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


# ---------------------------------------------------------------- issue 14, second part


def test_damaged_solution_files_are_named_one_line_each(tmp_path):
    """Missing field, missing metadata key, non-JSON metadata, an unknown format, NaN energy
    marked converged, truncated, empty, bare .npy: one ValueError naming the file and the fault."""
    import json as _json

    from jaxnickel import mixd
    from jaxnickel.lattice import Ladder

    good = tmp_path / "good.npz"
    mixd.solve(mixd.MixDParams(n_holes=2.0), Ladder(8)).save(good)
    d = dict(np.load(good))

    def variant(name, change):
        x = dict(d)
        change(x)
        np.savez(tmp_path / f"{name}.npz", **x)
        return tmp_path / f"{name}.npz"

    def meta(x, f):
        m = _json.loads(str(x["__meta__"]))
        f(m)
        x["__meta__"] = np.asarray(_json.dumps(m))

    cases = {
        variant("nofield", lambda x: x.pop("energy")): "missing field(s) energy",
        variant("nometa", lambda x: meta(x, lambda m: m.pop("lattice"))): "metadata key(s) lattice missing",
        variant("badjson", lambda x: x.update(__meta__=np.asarray("{oops"))): "__meta__ entry is not JSON",
        variant("future", lambda x: meta(x, lambda m: m.update(format="jaxnickel-mixd-solution/9"))): "unknown",
        variant("nan", lambda x: x.update(energy=np.asarray(np.nan))): "marked converged but energy not finite",
        variant("badparams", lambda x: meta(x, lambda m: m.update(params={"t": "x"}))): "bad params",
    }
    raw = good.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "empty.npz").write_bytes(b"")
    np.save(tmp_path / "bare.npy", np.arange(3))
    cases[tmp_path / "trunc.npz"] = "truncated"
    cases[tmp_path / "empty.npz"] = "truncated"
    cases[tmp_path / "bare.npy"] = "bare .npy"
    assert mixd.load_solution(good).converged
    for path, needle in cases.items():
        with pytest.raises(ValueError) as err:
            mixd.load_solution(path)
        msg = str(err.value)
        assert msg.startswith(str(path)) and needle in msg and "\n" not in msg, msg
        assert cli.main(["load", str(path)]) == 2


def test_grad_with_respect_to_n_holes_matches_finite_differences():
    """Reverse mode through the seeded fixed point (was a JAX ValueError for n_holes only)."""
    import jax

    from jaxnickel import mixd
    from jaxnickel.lattice import Ladder

    lat = Ladder(30)

    def energy(nh):
        return mixd.solve_jax(mixd.MixDParams(n_holes=nh), lat).energy

    g = float(jax.grad(energy)(8.0))
    h = 1e-3
    fd = float((energy(8.0 + h) - energy(8.0 - h)) / (2 * h))
    assert g == pytest.approx(float(jax.jacfwd(energy)(8.0)), rel=1e-10)
    assert g == pytest.approx(fd, rel=1e-6)


def test_triplon_far_above_tc_is_the_normal_state_and_nan_eigenvalues_are_not_stable(monkeypatch):
    """At T = 0.5 eV (5800 K, ~10 T_c) the answer is the normal state, converged; a NaN eigenvalue
    of the linearised kernel cannot confirm that the normal state is stable: unresolved."""
    import importlib

    import jax
    import jax.numpy as jnp

    from jaxnickel import triplon

    tsolve = importlib.import_module("jaxnickel.triplon.solve")  # the module (the package exports a function)

    p = triplon.make_params(grid=32, T=0.5)
    s = triplon.solve(p, 32, warn=False)
    assert int(s.channel) == 0 and bool(s.converged) and float(jnp.max(jnp.abs(s.delta_alpha))) == 0.0

    real = tsolve.channel_eigenvalues

    def nan_eigenvalues(*args):
        lam_s, lam_d, v_s, v_d = real(*args)
        return jnp.nan * lam_s, jnp.nan * lam_d, v_s, v_d

    monkeypatch.setattr(tsolve, "channel_eigenvalues", nan_eigenvalues)
    s = jax.jit(lambda q: tsolve.solve_jax(q, 32, "fixed-point", complex_search=False))(p)  # a fresh trace
    assert int(s.channel) == 0 and not bool(s.converged) and int(s.result) == 3  # unresolved_branch


def test_dmrg_reports_whether_it_converged():
    from jaxnickel.exact import dmrg
    from jaxnickel.exact.ed import LadderModel

    if not dmrg.tenpy_available():
        pytest.skip("extra jaxnickel[dmrg] (TeNPy) not installed")
    model = LadderModel(4, 0.1, 1.2, 1.0, "open")
    ok = dmrg.run_dmrg(model, 2, chis=(24, 96))
    assert ok.converged and ok.summary()["result"] == "successful"
    bad = dmrg.run_dmrg(model, 2, chis=(2,), max_sweeps=2)  # one tiny bond dimension, two sweeps
    d = bad.summary()
    assert not bad.converged and d["result"] == "max_steps_reached" and "--max-sweeps" in d["message"]


def test_xla_scheduler_flag_only_where_known_and_never_twice():
    """The CLI's deadlock guard (jaxnickel.runtime): set for the tested jaxlib series before JAX
    is imported; a user's own setting is kept; JAXNICKEL_XLA_FLAGS=0 turns it off."""
    import subprocess
    import sys

    code = (
        "import os, jaxnickel.runtime as r; print(r.configure_xla_flags(), os.environ.get('XLA_FLAGS', ''));"
        "import jax; print(float(jax.numpy.ones(3).sum()))"
    )

    def run(**env):
        e = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAXNICKEL_XLA_FLAGS")}
        e.update(env)
        out = subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-500:]
        return out.stdout.split("\n")

    from importlib.metadata import version

    from jaxnickel.runtime import SCHEDULER_FLAG, SCHEDULER_FLAG_JAXLIB

    known = version("jaxlib").startswith(SCHEDULER_FLAG_JAXLIB)
    first = run()
    assert first[0] == (f"True {SCHEDULER_FLAG}" if known else "False ") and first[1] == "3.0"
    mine = "--xla_cpu_enable_concurrency_optimized_scheduler=true"
    assert run(XLA_FLAGS=mine)[0] == f"False {mine}"
    assert run(JAXNICKEL_XLA_FLAGS="0")[0] == "False "


def test_second_process_compiles_nothing(tmp_path):
    """The CLI's persistent compilation cache (issue 13): a second `jaxnickel mixd` in a new
    process finds every program it needs in the cache directory (JAX's own cache events)."""
    import subprocess
    import sys

    code = (
        "import sys, contextlib, io, jax.monitoring as m\n"
        "n = {'req': 0, 'hits': 0}\n"
        "def ev(name, **kw):\n"
        "    if name == '/jax/compilation_cache/compile_requests_use_cache': n['req'] += 1\n"
        "    if name == '/jax/compilation_cache/cache_hits': n['hits'] += 1\n"
        "m.register_event_listener(ev)\n"
        "from jaxnickel.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['mixd', '--L', '8', '--holes', '2', '--json', '--quiet'])\n"
        "print(code, n['req'], n['hits'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("JAXNICKEL_CACHE", "EQX_ON_ERROR")}
    env["JAXNICKEL_CACHE_DIR"] = str(tmp_path / "cache")

    def run():
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-800:]
        return [int(x) for x in out.stdout.split()]

    code1, req1, hits1 = run()
    entries = sorted(os.listdir(tmp_path / "cache"))
    code2, req2, hits2 = run()
    assert code1 == code2 == 0 and req1 > 0 and req2 == req1
    assert hits2 == req2, f"the second process compiled {req2 - hits2} of {req2} programs"
    assert sorted(os.listdir(tmp_path / "cache")) == entries  # and wrote nothing new
    # switched off: no cache directory is used at all
    env["JAXNICKEL_CACHE"] = "0"
    env["JAXNICKEL_CACHE_DIR"] = str(tmp_path / "off")
    assert run()[2] == 0 and not (tmp_path / "off").exists()


def test_two_reproduce_runs_into_one_folder_are_refused(tmp_path):
    """The folder lock: held while a run writes, refused to a second run, taken over when stale."""
    from jaxnickel.provenance import folder_lock

    with folder_lock(tmp_path, "reproduce") as lock:
        assert lock.read_text() == str(os.getpid())
        # another live process holds it: pretend by writing our parent's pid
        lock.write_text(str(os.getppid()))
        with pytest.raises(ValueError, match=rf"another jaxnickel reproduce \(pid {os.getppid()}\)"):
            with folder_lock(tmp_path, "reproduce"):
                pass
        lock.write_text(str(os.getpid()))
    assert not (tmp_path / ".jaxnickel.lock").exists()
    (tmp_path / ".jaxnickel.lock").write_text("999999999")  # a process that is gone
    with folder_lock(tmp_path, "reproduce"):
        pass
    with pytest.raises(ValueError, match="another jaxnickel reproduce"):
        (tmp_path / ".jaxnickel.lock").write_text(str(os.getppid()))
        reproduce.run(tmp_path, progress=None, figures=["fig2"])


def test_an_existing_output_file_is_never_replaced_silently(tmp_path, capsys):
    out = tmp_path / "gap.png"
    out.write_bytes(b"old")
    cli._check_output(str(out), "--plot", (".png",))
    err = capsys.readouterr().err
    assert f"--plot {out} exists; it is replaced when the run succeeds" in err
    assert out.read_bytes() == b"old"  # checking the path does not touch the file


def test_sweep_chunk_that_cannot_fit_is_refused_before_compiling():
    import time

    from jaxnickel.lattice import Square
    from jaxnickel.resources import ResourceError
    from jaxnickel.sweep import mixd_sweep, triplon_sweep

    t0 = time.perf_counter()
    with pytest.raises(ResourceError, match=r"1000 point\(s\) per compiled chunk"):
        mixd_sweep(Square(2048), t=0.1, V=np.linspace(0.5, 2.0, 1000), n_holes=4.0e5)
    with pytest.raises(ResourceError, match=r"64 point\(s\) per compiled chunk"):
        triplon_sweep(4096, lam=np.linspace(0.1, 0.5, 64), batching="vmap")
    assert time.perf_counter() - t0 < 10.0


@pytest.mark.slow
def test_vmapped_triplon_solves_do_not_hang():
    """The XLA CPU deadlock (issue 14): vmapped triplon solves under the CLI's process settings
    (jaxnickel.runtime.configure_process), each run in a fresh process with a timeout, repeated.
    Without the scheduler flag 3 of 8 such runs hung at 0 % CPU (jaxlib 0.10.2)."""
    import subprocess
    import sys

    code = (
        "import jaxnickel.runtime as r; r.configure_process()\n"
        "import jax, numpy as np; jax.config.update('jax_enable_x64', True)\n"
        "from jaxnickel.sweep import triplon_sweep\n"
        "ds = triplon_sweep(16, lam=np.linspace(0.2, 0.5, 4), batching='vmap', warn=False)\n"
        "print(int(ds['converged'].sum()))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "EQX_ON_ERROR")}
    for rep in range(6):
        try:
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            pytest.fail(f"run {rep + 1} of the vmapped triplon sweep hung (> 300 s)")
        assert out.returncode == 0, out.stderr[-800:]
        assert out.stdout.split()[-1] == "4"


def test_interrupt_and_concurrent_reproduce_in_subprocesses(tmp_path):
    """A real SIGINT to a running `jaxnickel reproduce` ends it with one line and exit 130 and
    releases the folder; while it runs, a second run into the same folder is refused (exit 2)."""
    import signal
    import subprocess
    import sys
    import time

    exe = [sys.executable, "-m", "jaxnickel"]
    env = {**os.environ, "JAXNICKEL_CACHE": "0"}
    first = subprocess.Popen(
        [*exe, "reproduce", "--out", str(tmp_path), "--quick", "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lock = tmp_path / ".jaxnickel.lock"
        t0 = time.monotonic()
        while not lock.exists() and time.monotonic() - t0 < 120 and first.poll() is None:
            time.sleep(0.2)
        assert lock.exists(), "the first run never took the folder's lock"
        second = subprocess.run(
            [*exe, "reproduce", "--out", str(tmp_path), "--quick", "--quiet"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2, second.stderr
        assert f"another jaxnickel reproduce (pid {first.pid})" in second.stderr
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=180)  # a running XLA call finishes before Python sees it
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130, err[-800:]
    assert err.strip().splitlines()[-1] == "jaxnickel: interrupted"
    assert not lock.exists() and not (tmp_path / "summary.json").exists()
