"""Helpers shared by the benchmark scripts: machine description and the git revision of the code measured.

The scripts run as ``python benchmarks/bench_*.py`` (this folder is then on ``sys.path``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cpu_info() -> dict:
    """``cpu_model`` (from /proc/cpuinfo, None elsewhere), ``cpu_count`` and ``cpu_usable`` (affinity)."""
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu_model": cpu_model, "cpu_count": os.cpu_count(), "cpu_usable": usable}


def git_revision() -> str | None:
    """Short commit of the checkout, with ``+dirty`` when tracked files under jaxnickel/ are modified."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "jaxnickel"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
        )
    except OSError:
        return None
    if not rev.stdout.strip():
        return None
    return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
