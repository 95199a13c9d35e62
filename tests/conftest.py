import contextlib
import io
import json

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
