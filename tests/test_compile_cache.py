"""The persistent compilation cache across processes (issue 13, :func:`jaxnickel.runtime.enable_compilation_cache`).

Two ``jaxnickel mixd`` processes on a tiny ladder share one cache directory: the first
compiles every program and writes it, the second loads every program and compiles
none.  The signal is JAX's own monitoring events (jax 0.10,
``jax._src.compiler.compile_or_get_cached``): ``/jax/compilation_cache/compile_requests_use_cache``
for each program that consults the cache, ``/jax/compilation_cache/cache_hits`` for
each one loaded from it, ``/jax/compilation_cache/cache_misses`` for each one compiled
and written, and ``/jax/core/compile/backend_compile_duration`` around every
compilation, cached or not (so a program that bypassed the cache would show up).
"""

import importlib
import json
import os
import subprocess
import sys

#: the child: the CLI's process setup first (before JAX is imported, as ``python -m jaxnickel``),
#: then a listener on JAX's events, then ``jaxnickel.cli.main``; prints the counts as JSON
CHILD = """
import contextlib, io, json, sys
from jaxnickel import runtime
runtime.configure_process()
import jax.monitoring as m
n = {"requests": 0, "hits": 0, "writes": 0, "compiles": 0}
names = {
    "/jax/compilation_cache/compile_requests_use_cache": "requests",
    "/jax/compilation_cache/cache_hits": "hits",
    "/jax/compilation_cache/cache_misses": "writes",
}
def event(name, **kw):
    if name in names:
        n[names[name]] += 1
def duration(name, secs, **kw):
    if name == "/jax/core/compile/backend_compile_duration":
        n["compiles"] += 1
m.register_event_listener(event)
m.register_event_duration_secs_listener(duration)
from jaxnickel.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "json": json.loads(out.getvalue()), **n}))
"""

#: the smallest MixD+V solve the CLI runs (a few seconds per process)
SOLVE = ["mixd", "--L", "8", "--holes", "2", "--json", "--quiet"]


def _run(env):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *SOLVE], env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _entries(folder):
    return sorted(p.name for p in folder.glob("*-cache"))


def test_second_process_loads_every_program_of_the_solve(tmp_path):
    cache = tmp_path / "xla"
    env = {k: v for k, v in os.environ.items() if k not in ("EQX_ON_ERROR", "JAX_COMPILATION_CACHE_DIR")}
    env["JAXNICKEL_CACHE"] = "1"  # tests/conftest.py switches it off for the suite
    env["JAXNICKEL_CACHE_DIR"] = str(cache)

    first = _run(env)
    written = _entries(cache)
    assert first["code"] == 0
    # the cache was in use and empty: the programs were compiled and written (a hit here is a
    # program the process compiled twice, e.g. the same primitive from two call sites)
    misses = first["requests"] - first["hits"]
    assert misses > 0 and first["writes"] == misses == len(written), (first, len(written))
    assert first["compiles"] == first["requests"], (
        f"{first['compiles'] - first['requests']} programs bypassed the cache"
    )

    second = _run(env)
    assert second["code"] == 0 and second["json"] == first["json"]  # the loaded programs compute the same
    # every program of the solve came from the cache: none compiled, none written
    assert second["hits"] > 0 and second["hits"] == second["requests"] == first["requests"], (first, second)
    assert second["writes"] == 0 and second["compiles"] == second["requests"], second
    assert _entries(cache) == written
    # the solve program itself was stored once (jax.export) and read back, not traced again
    assert len(list((tmp_path / "export").glob("mixd-solve-*.jaxexport"))) == 1


def test_cache_switched_off_uses_no_directory(tmp_path, monkeypatch):
    """``JAXNICKEL_CACHE=0`` (the suite's setting): nothing enabled, no directory made."""
    from jaxnickel.runtime import enable_compilation_cache

    monkeypatch.setenv("JAXNICKEL_CACHE", "0")
    assert enable_compilation_cache(tmp_path / "off") is None and not (tmp_path / "off").exists()


def test_stored_solve_program_is_used_instead_of_tracing(tmp_path, monkeypatch):
    """:func:`jaxnickel.runtime.exported_call`: the first solve exports its program, the next
    one deserialises it (the Python solve is never called again) and computes the same."""
    import jax.numpy as jnp
    import numpy as np

    from jaxnickel import runtime
    from jaxnickel.lattice import Square
    from jaxnickel.mixd import MixDParams

    solve_mod = importlib.import_module("jaxnickel.mixd.solve")  # the module (the package's `solve` is the function)

    monkeypatch.setenv("JAXNICKEL_CACHE", "1")
    monkeypatch.setitem(runtime._EXPORTS, "dir", None)
    assert runtime.enable_exported_programs(tmp_path / "export") == tmp_path / "export"
    lattice = Square(12)
    p = MixDParams(t=0.1, J=1.0, V=1.0, n_holes=8)
    first = solve_mod.solve(p, lattice)
    assert len(list((tmp_path / "export").glob("mixd-solve-*.jaxexport"))) == 1

    def untraceable(*a, **k):
        raise AssertionError("the stored program should have been used")

    monkeypatch.setattr(solve_mod, "solve_jax", untraceable)
    q = MixDParams(t=0.1, J=1.05, V=1.0, n_holes=8)  # other values, same program
    second = solve_mod.solve(q, lattice)
    monkeypatch.undo()
    runtime._EXPORTS["dir"] = None
    direct = solve_mod.solve(q, lattice)
    assert second.reduction == direct.reduction and bool(second.converged)
    assert float(second.energy) == float(direct.energy)
    np.testing.assert_array_equal(np.asarray(second.theta), np.asarray(direct.theta))
    assert float(first.energy) != float(second.energy)
    assert jnp.asarray(second.k_fields).shape == direct.k_fields.shape


def test_stored_triplon_programs_are_used_instead_of_tracing(tmp_path, monkeypatch):
    """The triplon solve and the spectrum (solve + conductance) take the same stored-program
    path as the MixD solve: exported on the first call, deserialised on the next (the Python
    ``solve_jax`` / ``spectrum_jax`` are never called again), bit-identical to the jitted path."""
    import numpy as np

    from jaxnickel import runtime
    from jaxnickel.triplon import make_params

    solve_mod = importlib.import_module("jaxnickel.triplon.solve")
    spectra_mod = importlib.import_module("jaxnickel.triplon.spectra")

    monkeypatch.setenv("JAXNICKEL_CACHE", "1")
    monkeypatch.setitem(runtime._EXPORTS, "dir", None)
    runtime.enable_exported_programs(tmp_path / "export")
    n, bias = 32, np.linspace(-30.0, 30.0, 13)
    p = make_params(lam=0.3, grid=n, check_resources=False)
    q = make_params(lam=0.31, grid=n, check_resources=False)  # other values, same programs
    kw = dict(method="fixed-point", channel="s", warn=False)
    first = solve_mod.solve(p, n, **kw)
    spectra_mod.spectrum(p, bias, gamma_meV=1.0, grid=n, channel="s")
    assert len(list((tmp_path / "export").glob("triplon-solve-*.jaxexport"))) == 1
    assert len(list((tmp_path / "export").glob("triplon-spectrum-*.jaxexport"))) == 1

    def untraceable(*a, **k):
        raise AssertionError("the stored program should have been used")

    monkeypatch.setattr(solve_mod, "solve_jax", untraceable)
    monkeypatch.setattr(spectra_mod, "spectrum_jax", untraceable)
    second = solve_mod.solve(q, n, **kw)
    spec = spectra_mod.spectrum(q, bias, gamma_meV=1.0, grid=n, channel="s")
    monkeypatch.undo()
    runtime._EXPORTS["dir"] = None
    direct = solve_mod.solve(q, n, **kw)
    direct_spec = spectra_mod.spectrum(q, bias, gamma_meV=1.0, grid=n, channel="s")
    assert second.reduction == direct.reduction and bool(second.converged)
    assert float(first.free_energy) != float(second.free_energy)
    for a, b in zip(jax_leaves(second), jax_leaves(direct), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(spec.conductance, direct_spec.conductance)
    np.testing.assert_array_equal(spec.solution.coefficients, direct_spec.solution.coefficients)


def jax_leaves(tree):
    import jax
    import numpy as np

    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]
