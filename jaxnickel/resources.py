"""Resource estimates before any allocation: refuse a solve that cannot fit the machine.

A solve's peak memory grows linearly with its number of k points ``N_k`` (the pairing
interactions are separable: no ``N_k x N_k`` kernel anywhere).  :data:`BYTES_PER_K` holds
the measured peak memory per k point of each solver, XLA temporaries included
(``benchmarks/memory_per_kpoint.py``, results/memory_per_kpoint.md: the largest value
over the sizes measured, rounded up); :func:`check_memory` compares
``BASE_BYTES[model] + MARGIN * BYTES_PER_K * N_k * batch`` with the memory available on the
device (``MemAvailable`` of the host for the CPU; the device's free memory for a GPU)
and raises :class:`ResourceError` -- a ``ValueError``: the command line exits with
code 2 -- naming the parameter, the estimate, what is available and the largest size
that fits.  ``check_resources=False`` (Python) or ``--allow-large`` (CLI) skips the check.
"""

from __future__ import annotations

import math
import os

__all__ = ["ResourceError", "BYTES_PER_K", "BASE_BYTES", "available_memory", "estimate_bytes", "check_memory"]

#: measured peak bytes per k point of one solve (model, method), XLA temporaries included
#: (benchmarks/results/memory_per_kpoint.md, 2026-12-03, CPU): with :data:`MARGIN` they cover the
#: largest value measured over grids 256^2-1024^2 (at 256^2 the grid-independent parts still
#: dominate); a GPU's temporaries may differ
BYTES_PER_K = {
    ("mixd", "fixed-point"): 700,
    ("mixd", "gradient"): 500,
    ("triplon", "fixed-point"): 2300,
    ("triplon", "gradient"): 2200,
}
#: the JAX runtime and compiled programs, independent of the grid (peak RSS of a 16 x 16 solve:
#: MixD 0.51-0.59 GB, triplon 0.84-1.08 GB)
BASE_BYTES = {"mixd": 600 * 2**20, "triplon": 1000 * 2**20}
#: safety factor on the per-k-point estimate
MARGIN = 1.25


class ResourceError(ValueError):
    """A run that cannot fit the machine, refused before anything is allocated."""


def _fmt(b: float) -> str:
    for unit, size in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{b / 2**10:.3g} kB"


def available_memory() -> tuple[int | None, str]:
    """``(bytes, where)`` available to a solve: the default device's free memory, else the host's."""
    try:
        import jax

        dev = jax.devices()[0]
        if dev.platform != "cpu":
            stats = dev.memory_stats() or {}
            if "bytes_limit" in stats:
                return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0)), f"{dev.device_kind} memory"
    except Exception:  # no device information: fall back to the host
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "host memory available"
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "host memory available"
    except (ValueError, OSError, AttributeError):
        return None, "unknown"


def estimate_bytes(model: str, method: str, n_k: int, batch: int = 1) -> int:
    """Estimated peak memory of ``batch`` simultaneous solves (a vmapped chunk) on ``n_k`` k points."""
    per_k = BYTES_PER_K[(model, "gradient" if method == "gradient" else "fixed-point")]
    return int(BASE_BYTES[model] + MARGIN * per_k * n_k * max(int(batch), 1))


def check_memory(
    model: str, method: str, n_k: int, *, flag: str, largest: str | None = None, dim: int = 2, batch: int = 1
) -> int:
    """Raise :class:`ResourceError` unless the estimate fits the available memory; returns the estimate.

    ``flag`` names the parameter in the message (``"--grid 20000"``, ``"grid=20000"``);
    ``largest``: how the message names the size that fits (``"square lattice"``, ``"k-grid"``,
    ``"ladder"``), a side length for ``dim = 2``, a length for ``dim = 1``.
    """
    need = estimate_bytes(model, method, n_k, batch)
    avail, where = available_memory()
    if avail is None or need <= avail:
        return need
    per_point = MARGIN * BYTES_PER_K[(model, "gradient" if method == "gradient" else "fixed-point")] * max(batch, 1)
    fits = max(0, int((avail - BASE_BYTES[model]) / per_point))
    size = math.isqrt(fits) if dim == 2 else fits
    largest = (
        f"; the largest {largest} on this machine is about {size}" + (f" x {size}" if dim == 2 else "")
        if largest
        else ""
    )
    raise ResourceError(
        f"{flag}: the {model} {method} solve needs ~{_fmt(need)} ({n_k} k points"
        + (f" x {batch} in one batch" if batch > 1 else "")
        + f"), {_fmt(avail)} {where}{largest}. Refused before allocating anything "
        "(check_resources=False / --allow-large to try anyway)"
    )
