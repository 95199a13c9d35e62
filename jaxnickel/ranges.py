"""Supported ranges of the physical parameters, and the one check that enforces them.

Finite is not enough: a coupling of 1e308 overflows the first square the solver
takes, and one of 1e-300 leaves nothing for a tolerance to resolve.  Each model states
the range in which its equations are meant to hold *and* its float64 solvers are
tested (``RANGES`` in :mod:`jaxnickel.mixd.params` and :mod:`jaxnickel.triplon.params`,
:data:`jaxnickel.data.GAP_RANGE_MEV`); a value outside is refused before anything is
compiled, with a ``ValueError`` that names the parameter, the range and the reason.
Inside the range a solve that fails says so (``result``), it does not raise.
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["Range", "check_range"]


class Range(NamedTuple):
    """``lo <= value <= hi`` (or ``|value| <= hi`` when ``symmetric``), with the reason for the bounds."""

    lo: float
    hi: float
    unit: str
    why: str
    #: the bound applies to ``|value|`` (a signed parameter whose sign is a choice)
    symmetric: bool = False
    #: ``lo`` itself is excluded (``value > lo``)
    lo_open: bool = False


def _fmt(x: float) -> str:
    return f"{x:g}"


def describe(r: Range) -> str:
    u = f" {r.unit}" if r.unit else ""
    if r.symmetric:
        return f"with |value| <= {_fmt(r.hi)}{u}"
    left = "(" if r.lo_open else "["
    return f"in {left}{_fmt(r.lo)}, {_fmt(r.hi)}]{u}"


def check_range(name: str, value, r: Range) -> None:
    """Raise ``ValueError`` unless ``value`` is finite and inside ``r`` (``None`` = traced: skipped)."""
    if value is None:
        return
    v = float(value)
    ok = math.isfinite(v)
    if ok:
        if r.symmetric:
            ok = abs(v) <= r.hi
        else:
            ok = (v > r.lo if r.lo_open else v >= r.lo) and v <= r.hi
    if not ok:
        raise ValueError(f"{name} must be a finite number {describe(r)}, got {v:g}: {r.why}")
