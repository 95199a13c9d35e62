"""The documentation site's configuration and the packaging files (static checks, fast).

``mkdocs build --strict`` itself runs in CI after the tests (``.ci/run``); these tests
catch the common breakages without building: a nav entry without its page, an API page
for a module that does not exist, the CI test line drifting from README's.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
# mkdocs.yml is read with regular expressions: PyYAML is not a test dependency


def _nav_files() -> list[str]:
    nav = MKDOCS[MKDOCS.index("\nnav:") :]
    return re.findall(r"^\s*-\s+(?:[^:\n]+:\s+)?([\w/.-]+\.(?:md|ipynb))\s*$", nav, re.MULTILINE)


def _listed(key: str) -> list[str]:
    block = re.search(rf"^\s*{key}:\n((?:\s+- .*\n)+)", MKDOCS, re.MULTILINE)
    assert block, f"mkdocs.yml: no {key} list"
    return [ln.split("- ", 1)[1].split("#")[0].strip() for ln in block.group(1).splitlines()]


def test_nav_pages_exist():
    files = _nav_files()
    assert "index.md" in files and len(files) > 20
    for name in files:
        if name.startswith("notebooks/"):  # executed copies, written by the tests or the hook
            assert (ROOT / name).is_file(), f"nav entry {name}: no source notebook"
        else:
            assert (DOCS / name).is_file(), f"nav entry {name}: no page docs/{name}"


def test_every_docs_page_in_nav():
    files = set(_nav_files())
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert pages <= files, f"pages missing from the nav: {sorted(pages - files)}"
    sources = {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert sources <= files, f"notebooks missing from the nav: {sorted(sources - files)}"


def test_api_pages_name_real_modules():
    for page in sorted((DOCS / "api").rglob("*.md")):
        modules = re.findall(r"^::: ([\w.]+)", page.read_text(encoding="utf-8"), re.MULTILINE)
        assert modules, f"{page}: no ::: directive"
        for module in modules:
            assert importlib.util.find_spec(module) is not None, f"{page}: no module {module}"


def test_hooks_exist():
    hooks = _listed("hooks")
    assert "docs_hooks/notebooks.py" in hooks
    for hook in hooks:
        assert (ROOT / hook).is_file(), hook
    for ext in _listed("extensions"):
        assert (ROOT / ext.split(":")[0]).is_file(), ext


def test_ci_runs_readme_test_line_then_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme[4] in ci, "the README's test command (line 5) must be a line of .ci/run"
    after = ci[ci.index(readme[4]) + 1 :]
    assert any("mkdocs build --strict" in line for line in after)
    assert "set -euo pipefail" in ci


def test_gitignore_covers_build_outputs():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    for entry in ("/docs/notebooks/", "/site/"):
        assert entry in ignored, entry


def test_packaging_files():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = meta["project"]["optional-dependencies"]
    test_names = {re.split(r"[<>=\[]", r)[0] for r in extras["test"]}
    assert {"pytest", "nbclient", "ipykernel", "nbformat"} <= test_names
    assert {"mkdocs", "mkdocs-material", "mkdocs-jupyter"} <= {re.split(r"[<>=\[]", r)[0] for r in extras["docs"]}
    assert all(">=" in r for r in meta["project"]["dependencies"]), "every dependency has a lower bound"
    assert "py.typed" in meta["tool"]["setuptools"]["package-data"]["jaxnickel"]
    assert (ROOT / "jaxnickel" / "py.typed").is_file()
    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert "cff-version: 1.2.0" in cff and f"\nversion: {meta['project']['version']}\n" in cff
    assert "\nreferences:" in cff and cff.count("  - type: article") == 2
    assert "## Unreleased" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    pins = [ln for ln in (ROOT / "constraints" / "ci.txt").read_text().splitlines() if ln and ln[0] != "#"]
    assert pins and all("==" in ln for ln in pins) and not any(ln.startswith("jaxnickel") for ln in pins)
