"""What every paper's figure functions share: the run context, the paper record, JSON/Markdown helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..provenance import clean_json

__all__ = ["Context", "Paper", "check_solves", "clean_json", "fmt_num", "git_revision", "lattice_text"]


@dataclass
class Context:
    """What the figure functions share: output folder, resolution, cached scans."""

    out_dir: Path
    quick: bool = False
    progress: Callable[[str], object] = print
    cache: dict = field(default_factory=dict)

    @property
    def n_j(self) -> int:
        """Number of J/V points of the ladder scans (step 0.05 quick, 0.0125 full)."""
        return 41 if self.quick else 161

    def path(self, name: str) -> Path:
        return self.out_dir / name

    def cached(self, key, make):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def log_solves(self, name: str, converged, *, role: str = "data") -> dict:
        """Record a group of solves once (figures sharing a scan do not double-count it).

        ``role``: ``"data"`` (the figures' numbers) or ``"cross-check"``.
        """
        log = self.cache.setdefault("solve_log", {})
        if name not in log:
            log[name] = {"role": role, **check_solves(converged)}
        return log[name]


@dataclass(frozen=True)
class Paper:
    """A paper to reproduce: its figure functions (in order) and its report section.

    ``figures`` and ``extras`` map a name to ``fn(ctx) -> dict`` (a figure's dict
    has at least ``file``, ``params``, ``solves`` and ``not_converged``; extras
    produce numbers only).  ``report(res) -> list[str]`` writes the paper's
    Markdown section from the collected results.  ``branch_fields`` names the
    scan fields checked for branch jumps (reported in ``REPORT.md``).
    """

    key: str
    title: str
    figures: Mapping[str, Callable[[Context], dict]]
    report: Callable[[dict], list[str]]
    extras: Mapping[str, Callable[[Context], dict]] = field(default_factory=dict)
    common_params: Mapping[str, object] = field(default_factory=dict)
    branch_fields: tuple[str, ...] = ()


def check_solves(conv) -> dict:
    """``{"solves": n, "not_converged": m}`` of an array of convergence flags."""
    conv = np.asarray(conv, dtype=bool)
    return {"solves": int(conv.size), "not_converged": int((~conv).sum())}


def fmt_num(x, fmt=".6g") -> str:
    """Markdown cell of a number (``n/a`` for None, bold ``no`` for False)."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "**no**"
    if isinstance(x, int):
        return str(x)
    return format(float(x), fmt)


def lattice_text(lat: Mapping | None) -> str:
    """Short description of a figure's lattice / grid record for the report table."""
    if not lat:
        return ""
    kind = lat.get("lattice")
    if kind == "ladder":
        return f"ladder L={lat['L']}"
    if kind == "square":
        return f"square {lat['Lx']}x{lat['Ly']}"
    return ", ".join(f"{k}={v}" for k, v in lat.items())


def git_revision() -> str | None:
    from ..mixd.solution import _git_revision as rev

    return rev()
