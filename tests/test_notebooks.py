"""The tutorial notebooks (notebooks/*.ipynb): saved clean, run in a Jupyter kernel, figures shown.

Each notebook runs top to bottom in a real Jupyter kernel (nbclient + ipykernel, the
``python3`` kernel started with this interpreter) with its small-settings switch
(``JAXNICKEL_NOTEBOOK_SMALL=1``), as a user would run it in JupyterLab.  The notebooks
carry their own ``assert`` statements: the two solvers agree, autodiff matches finite
differences, a fit recovers its truth.  A passing run therefore checks physics as well
as that the code runs.  Every cell that ends with a figure must come back with exactly
one ``image/png`` output (jaxnickel's figures are pyplot-free; they display through
``jaxnickel.plotting.Figure._repr_png_``).

The executed notebooks are written to ``docs/notebooks/`` (gitignored), where the docs
build (``mkdocs build``, hook ``docs_hooks/notebooks.py``) picks them up instead of
executing them again.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
SMALL_SWITCH = "JAXNICKEL_NOTEBOOK_SMALL"
IMPORTS_JAXNICKEL = re.compile(r"^\s*(import|from)\s+jaxnickel\b", re.MULTILINE)
MIN_ASSERTS = 3  # physics assertions each notebook must carry
TIMEOUT_S = 1200  # per cell; whole notebooks take ~1-4 min under small settings on 2 busy cores
# optional packages a notebook needs (skipped without them): 04 reads a Nanonis file (extra jaxnickel[spectra])
REQUIRES = {"04_spectrum_fit": ("nanonis_xarray",)}
FIGURE_NAMES = {"fig"}  # names the notebooks give their figures


def _load(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _code_cells(nb: dict) -> list[tuple[int, str]]:
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


def _callee(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
    return None


def _is_figure_expr(node: ast.AST) -> bool:
    """``fig``, ``plot_...(...)`` or ``display(<one of those>)``: an expression that shows a figure."""
    if isinstance(node, ast.Name):
        return node.id in FIGURE_NAMES
    name = _callee(node)
    if name is None:
        return False
    if name == "display":
        return len(node.args) == 1 and _is_figure_expr(node.args[0])
    return name.startswith("plot_") and not any(kw.arg == "ax" for kw in node.keywords)


def _shows_figure(source: str) -> bool:
    """The cell's last statement is an expression that shows a figure."""
    body = ast.parse(source).body
    return bool(body) and isinstance(body[-1], ast.Expr) and _is_figure_expr(body[-1].value)


def _figure_cells(nb: dict) -> list[int]:
    return [i for i, s in _code_cells(nb) if _shows_figure(s)]


def _hooks():
    spec = importlib.util.spec_from_file_location("jaxnickel_docs_notebooks", ROOT / "docs_hooks" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_figures_end_cells(path):
    """A cell that makes a figure ends with it (so Jupyter shows it); no figure is made and dropped."""
    nb = _load(path)
    assert _figure_cells(nb), f"{path.name}: no cell shows a figure"
    for i, source in _code_cells(nb):
        body = ast.parse(source).body
        for stmt in body[:-1]:  # a bare plotting call before the last statement: its figure is never shown
            assert not (isinstance(stmt, ast.Expr) and _is_figure_expr(stmt.value)), (
                f"{path.name}: cell {i} line {stmt.lineno} makes a figure that is not the cell's last expression"
            )
        if "new_figure(" in source:
            assert _shows_figure(source), f"{path.name}: cell {i} builds a figure but does not end with it"
        assert "savefig(" not in source and "IPython.display" not in source, (
            f"{path.name}: cell {i}: end the cell with the figure instead of rendering it by hand"
        )


def test_figure_criterion():
    """The figure-cell criterion of the tests above, on hand-made cells."""
    assert _shows_figure("fig, ax = jp.new_figure()\nax.plot([1])\nfig")
    assert _shows_figure("jp.plot_gap(s)")
    assert _shows_figure("x = 1\nplot_spectrum(\n    spec,\n)  # comment")
    assert _shows_figure("display(fig)")
    assert not _shows_figure("jp.plot_gap(s, ax=axes[0])")
    assert not _shows_figure("fig = jp.plot_gap(s)")
    assert not _shows_figure("print(fig)")
    assert not _shows_figure("fig\nx = 1")


@pytest.fixture(scope="module")
def executed():
    """Execute each notebook once per test session (in a kernel); cache the outcome, failures included."""
    hooks = _hooks()
    cache: dict[Path, object] = {}

    def run(path: Path):
        for module in REQUIRES.get(path.stem, ()):
            pytest.importorskip(module)
        if path not in cache:
            from nbclient.exceptions import CellExecutionError

            try:
                nb = hooks.execute(path, small=True, timeout=TIMEOUT_S)
            except CellExecutionError as exc:
                cache[path] = exc
            else:
                hooks.write_executed(nb, path)  # for the docs build (docs/notebooks/, gitignored)
                cache[path] = nb
        outcome = cache[path]
        if isinstance(outcome, Exception):
            tail = "\n".join(str(outcome).strip().splitlines()[-40:])
            pytest.fail(f"notebook {path.name} raised in the kernel\n{tail}", pytrace=False)
        return outcome

    return run


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, executed):
    """Every code cell runs, in order, in a Jupyter kernel under small settings, and its asserts hold."""
    nb = executed(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), f"{path.name}: a code cell was not executed"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: error outputs {errors}"
    assert nb.metadata["jaxnickel"]["small"] is True


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_figures_render(path, executed):
    """Each figure cell shows exactly one image/png in the kernel; no other cell shows an image."""
    nb = executed(path)
    figure_cells = set(_figure_cells(nb))
    assert figure_cells, f"{path.name}: no figure cells"
    images = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            images[i] = sum("image/png" in o.get("data", {}) for o in cell.outputs)
    missing = {i: n for i, n in images.items() if i in figure_cells and n != 1}
    assert not missing, f"{path.name}: figure cells without exactly one image/png output (cell: count): {missing}"
    extra = {i: n for i, n in images.items() if i not in figure_cells and n}
    assert not extra, f"{path.name}: images from cells not recognised as figure cells: {extra}"
    assert sum(images.values()) == len(figure_cells)
