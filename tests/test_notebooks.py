"""The tutorial notebooks (notebooks/*.ipynb): saved clean, and run top to bottom.

No Jupyter dependency.  Each notebook runs in a fresh Python subprocess with its
small-settings switch (``JAXNICKEL_NOTEBOOK_SMALL=1``) and ``MPLBACKEND=Agg``.  The
subprocess executes the code cells in order in one namespace.  As Jupyter would, it
renders a figure that is a cell's last expression, here to an in-memory PNG (notebook 04
shows its figures with a ``show(fig)`` helper, which draws them to PNG itself).  The
notebooks carry their own ``assert`` statements: the two solvers agree, autodiff
matches finite differences, a fit recovers its truth.  A passing run therefore checks
physics as well as that the code runs.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
SMALL_SWITCH = "JAXNICKEL_NOTEBOOK_SMALL"
IMPORTS_JAXNICKEL = re.compile(r"^\s*(import|from)\s+jaxnickel\b", re.MULTILINE)
MIN_ASSERTS = 3  # physics assertions each notebook must carry
TIMEOUT_S = 1200  # per notebook; they take ~1-4 min under small settings on 2 busy cores
# optional packages a notebook needs (skipped without them): 04 reads a Nanonis file (extra jaxnickel[spectra])
REQUIRES = {"04_spectrum_fit": ("nanonis_xarray",)}

# Executed in the subprocess: python -c RUNNER notebook.ipynb
RUNNER = r"""
import ast, io, json, sys, traceback

path = sys.argv[1]
with open(path, encoding="utf-8") as fh:
    nb = json.load(fh)
namespace = {"__name__": "__main__"}
for index, cell in enumerate(nb["cells"]):
    if cell["cell_type"] != "code":
        continue
    source = "".join(cell["source"])
    name = f"<{path} cell {index}>"
    try:
        tree = ast.parse(source, name)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, name, "exec"), namespace)
        if last is not None:
            value = eval(compile(last, name, "eval"), namespace)
            if hasattr(value, "savefig"):  # a matplotlib Figure shown by the cell: render it
                value.savefig(io.BytesIO(), format="png")
    except BaseException:
        traceback.print_exc()
        print(f"@@ failed: cell {index}", file=sys.stderr)
        sys.exit(1)
"""


def _load(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _code_cells(nb: dict) -> list[tuple[int, str]]:
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


def test_notebooks_present():
    names = {p.name for p in NOTEBOOKS}
    expected = {"01_mixd_tour.ipynb", "02_triplon_tour.ipynb", "03_fitting_tour.ipynb", "04_spectrum_fit.ipynb"}
    assert expected <= names, names
    assert (NOTEBOOK_DIR / "README.md").is_file()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_saved_clean(path):
    """Valid nbformat-4 JSON with a Python kernel, no outputs and no IPython-only syntax."""
    nb = _load(path)
    assert nb["nbformat"] == 4, path.name
    assert nb["metadata"]["kernelspec"]["name"] == "python3", path.name
    assert nb["metadata"]["language_info"]["name"] == "python", path.name
    for i, cell in enumerate(nb["cells"]):
        assert cell["cell_type"] in ("code", "markdown"), (path.name, i)
        assert isinstance(cell["source"], list | str), (path.name, i)
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: cell {i} was saved with outputs (clear them)"
            assert cell["execution_count"] is None, f"{path.name}: cell {i} has an execution count"
    for i, source in _code_cells(nb):
        ast.parse(source)  # plain Python: no %magics or !shell lines
        assert "%matplotlib" not in source and "get_ipython" not in source, (path.name, i)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_structure(path):
    """x64 before jaxnickel, one parameters cell reading the small switch, physics asserts."""
    cells = _code_cells(_load(path))
    first_jaxnickel = next(i for i, (_, s) in enumerate(cells) if IMPORTS_JAXNICKEL.search(s))
    first_x64 = next(i for i, (_, s) in enumerate(cells) if 'jax.config.update("jax_enable_x64", True)' in s)
    assert first_x64 < first_jaxnickel, f"{path.name}: enable float64 before importing jaxnickel"
    switch = [i for i, s in cells if SMALL_SWITCH in s]
    assert len(switch) == 1, f"{path.name}: exactly one parameters cell should read {SMALL_SWITCH}"
    n_asserts = sum(isinstance(node, ast.Assert) for _, s in cells for node in ast.walk(ast.parse(s)))
    assert n_asserts >= MIN_ASSERTS, f"{path.name}: {n_asserts} assert statements, want >= {MIN_ASSERTS}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    """Every code cell runs, in order, under small settings, and its asserts hold."""
    for module in REQUIRES.get(path.stem, ()):
        pytest.importorskip(module)
    env = dict(os.environ)
    env[SMALL_SWITCH] = "1"
    env["MPLBACKEND"] = "Agg"
    env.pop("JAX_ENABLE_X64", None)  # the notebook must enable float64 itself
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(path)],
        cwd=tmp_path,  # anything a notebook writes lands here
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    if proc.returncode != 0:
        marker = [ln for ln in proc.stderr.splitlines() if ln.startswith("@@ failed:")]
        where = marker[-1].removeprefix("@@ failed: ") if marker else f"exit code {proc.returncode}"
        tail = "\n".join(proc.stderr.strip().splitlines()[-30:])
        pytest.fail(f"notebook {path.name}: {where} raised\n{tail}", pytrace=False)
