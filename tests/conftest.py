import contextlib
import gc
import io
import json
import os

import jax
import pytest

# The library never flips this itself (see jaxnickel.solvers.dtype); the tests do.
jax.config.update("jax_enable_x64", True)


@pytest.fixture(scope="session")
def quick_reproduction(tmp_path_factory):
    """One `jaxnickel reproduce --quick` through the CLI, shared by every test of the reproduction:
    ``(out_dir, summary, printed_progress)``."""
    from jaxnickel.cli import main

    out = tmp_path_factory.mktemp("reproduce_quick")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["reproduce", "--out", str(out), "--quick"])
    assert code == 0, buf.getvalue()[-2000:]
    return out, json.loads((out / "summary.json").read_text()), buf.getvalue()


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Free every compiled XLA program after each test module.

    One pytest process compiles thousands of programs, and XLA's CPU backend maps each
    executable's code into memory: a whole-suite run reached the kernel's limit on memory
    mappings per process (``vm.max_map_count``, 65530 by default; up to 20000 new
    mappings in one test module), and the next compilation crashed inside XLA (SIGSEGV
    or SIGABRT in ``backend_compile``, in CI at tests/test_triplon_studies.py).
    Clearing JAX's caches between modules keeps the count near 1500 at every module
    boundary; no test relies on a program compiled in another module.
    """
    yield
    jax.clear_caches()
    gc.collect()


# The CLI turns on JAX's persistent compilation cache (jaxnickel.runtime); the tests that call
# cli.main in process must not write compiled programs into the user's cache directory.
os.environ.setdefault("JAXNICKEL_CACHE", "0")
