"""Executed copies of the tutorial notebooks, shared by the tests and the docs build.

The notebooks in ``notebooks/`` are committed without outputs.  This module runs one in
a real Jupyter kernel (nbclient + ipykernel, the kernel started with this interpreter,
``sys.executable``) under the small settings (``JAXNICKEL_NOTEBOOK_SMALL=1``) and writes
the executed copy, outputs and figures included, to ``docs/notebooks/`` (gitignored).
Each copy records the sha256 of its source notebook in its metadata, so a copy is reused
only while the source is unchanged.

Three users:

* ``tests/test_notebooks.py`` executes every notebook (that is the test) and writes the
  copies;
* ``mkdocs.yml`` loads this file as a hook: before a build it executes only the
  notebooks whose copy is missing or stale, so the CI docs build after the tests
  executes nothing, and a plain ``mkdocs build`` on a fresh clone still works;
* ``python docs_hooks/notebooks.py [--force] [NAME ...]`` refreshes copies by hand.

Set ``JAXNICKEL_NOTEBOOK_SMALL=0`` to execute with the notebooks' full settings (slower;
a copy made under other settings counts as stale).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "notebooks"
EXECUTED_DIR = ROOT / "docs" / "notebooks"
SMALL_SWITCH = "JAXNICKEL_NOTEBOOK_SMALL"
KERNEL_NAME = "python3"
TIMEOUT_S = 1200  # per cell; the slowest cells (fits) take ~1-2 min on 2 busy cores
METADATA_KEY = "jaxnickel"
# links from a notebook to a docs page, rewritten for the site (page URL notebooks/<name>/)
_DOCS_LINK = re.compile(r"\]\(\.\./docs/([A-Za-z0-9_\-]+)\.md(#[^)]*)?\)")

log = logging.getLogger("mkdocs.hooks.notebooks")


def sources() -> list[Path]:
    return sorted(SOURCE_DIR.glob("*.ipynb"))


def small_default() -> bool:
    return os.environ.get(SMALL_SWITCH, "1") == "1"


def source_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def executed_path(src: Path) -> Path:
    return EXECUTED_DIR / Path(src).name


def is_fresh(src: Path, dest: Path | None = None, *, small: bool | None = None) -> bool:
    """True when ``dest`` is an executed copy of the current ``src`` under these settings."""
    import nbformat

    dest = executed_path(src) if dest is None else Path(dest)
    small = small_default() if small is None else small
    if not dest.is_file():
        return False
    try:
        meta = nbformat.read(dest, as_version=4).metadata.get(METADATA_KEY, {})
    except Exception:  # unreadable or half-written copy: execute again
        return False
    return meta.get("source_sha256") == source_sha256(src) and meta.get("small") == small


def kernel_manager():
    """A kernel manager for the ``python3`` kernel, pinned to this interpreter.

    The kernelspec found on the Jupyter path may belong to another Python (a user-level
    ``python3`` spec); the kernel must import the jaxnickel installed here.
    """
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=KERNEL_NAME)
    km.kernel_spec.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return km


def execute(src: Path, *, small: bool | None = None, timeout: int = TIMEOUT_S, cwd: Path | None = None):
    """Run ``src`` top to bottom in a fresh kernel; return the executed notebook.

    Raises ``nbclient.exceptions.CellExecutionError`` (with the cell and its traceback)
    when a cell raises.  The kernel runs in ``cwd`` (a temporary directory by default),
    so whatever a notebook writes lands there.
    """
    import nbformat
    from nbclient import NotebookClient

    src = Path(src)
    small = small_default() if small is None else small
    nb = nbformat.read(src, as_version=4)
    env = dict(os.environ)
    env[SMALL_SWITCH] = "1" if small else "0"
    env.pop("JAX_ENABLE_X64", None)  # each notebook must enable float64 itself
    env.pop("MPLBACKEND", None)  # the kernel's own default (matplotlib-inline), as in Jupyter
    with tempfile.TemporaryDirectory(prefix=f"nb-{src.stem}-") as tmp:
        client = NotebookClient(
            nb,
            km=kernel_manager(),
            timeout=timeout,
            allow_errors=False,
            resources={"metadata": {"path": str(cwd or tmp)}},
        )
        t0 = time.perf_counter()
        client.execute(env=env)
        seconds = time.perf_counter() - t0
    nb.metadata[METADATA_KEY] = {
        "source": f"notebooks/{src.name}",
        "source_sha256": source_sha256(src),
        "small": small,
        "execution_seconds": round(seconds, 1),
        "python": sys.executable,
    }
    return nb


def for_docs(nb):
    """Rewrite the notebook's links to docs pages (``../docs/x.md``) into site URLs."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _DOCS_LINK.sub(lambda m: f"](../../{m.group(1)}/{m.group(2) or ''})", cell.source)
    return nb


def write_executed(nb, src: Path) -> Path:
    """Write an executed notebook to ``docs/notebooks/`` (atomically)."""
    import nbformat

    dest = executed_path(src)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".ipynb.tmp")
    nbformat.write(for_docs(nb), tmp)
    os.replace(tmp, dest)
    return dest


def ensure_executed(names=None, *, force: bool = False) -> list[Path]:
    """Execute the notebooks whose executed copy is missing or stale; return those run."""
    small = small_default()
    done = []
    for src in sources():
        if names and src.stem not in names and src.name not in names:
            continue
        if not force and is_fresh(src, small=small):
            continue
        log.info("executing %s (small settings: %s); its executed copy is missing or stale", src.name, small)
        t0 = time.perf_counter()
        write_executed(execute(src, small=small), src)
        log.info("executed %s in %.0f s", src.name, time.perf_counter() - t0)
        done.append(src)
    return done


# --- mkdocs hook ---------------------------------------------------------------------


def on_pre_build(config, **kwargs):
    """Before mkdocs collects the files: make sure docs/notebooks/ holds fresh copies."""
    ensure_executed()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Execute the tutorial notebooks into docs/notebooks/.")
    parser.add_argument("names", nargs="*", help="notebook names or stems (default: all)")
    parser.add_argument("--force", action="store_true", help="execute even when the copy is fresh")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for path in ensure_executed(args.names, force=args.force):
        print(executed_path(path).relative_to(ROOT))
