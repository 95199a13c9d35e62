"""Progress of long work, on stderr, with tqdm: fits, T_c searches, temperature ladders, sweeps, reproduce.

Everything a user waits for more than a few seconds takes ``progress=`` (Python,
default off) and shows a tqdm bar on **stderr** when it is on; the ``jaxnickel``
command turns it on (``--quiet`` turns it off), so ``--json`` output on stdout stays
one clean JSON object.  :func:`compiling` writes the "compiling ..." line before the
first call of a compiled program in this process (JAX compiles once per program and
shapes; later calls with new parameter values reuse it).

Inside compiled loops (Levenberg-Marquardt iterations, the steps of a temperature
ladder) the bar advances through :func:`jax.debug.callback`, which runs on the host
without stopping the program from being compiled once.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

__all__ = ["bar", "compiling", "stage", "callback_updater"]

_seen: set = set()


def bar(total=None, desc: str = "", *, enabled: bool = True, unit: str = "it", leave: bool = True):
    """A tqdm bar on stderr (a no-op bar when ``enabled`` is False)."""
    from tqdm import tqdm  # the text bar (tqdm.auto would need ipywidgets in Jupyter)

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not enabled,
        leave=leave,
        dynamic_ncols=True,
        mininterval=0.5,
    )


def compiling(key, what: str, *, enabled: bool = True) -> bool:
    """Print ``jaxnickel: compiling <what> ...`` once per ``key`` in this process; True if printed."""
    if not enabled or key in _seen:
        _seen.add(key)
        return False
    _seen.add(key)
    print(f"jaxnickel: compiling {what} ...", file=sys.stderr, flush=True)
    return True


@contextmanager
def stage(what: str, *, enabled: bool = True):
    """``jaxnickel: <what> ...`` then ``... done in X s`` on stderr around a block."""
    t0 = time.perf_counter()
    if enabled:
        print(f"jaxnickel: {what} ...", file=sys.stderr, flush=True)
    yield
    if enabled:
        print(f"jaxnickel: {what}: done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)


def callback_updater(pbar, *, postfix: str | None = None):
    """A host function for :func:`jax.debug.callback` that advances ``pbar`` by one.

    ``postfix``: a format for the callback's scalar argument (e.g. ``"chi2={:.6g}"``),
    shown beside the bar.
    """

    def update(value=None):
        if pbar.disable:
            return
        if postfix is not None and value is not None:
            pbar.set_postfix_str(postfix.format(float(value)), refresh=False)
        pbar.update(1)

    return update
