r"""Sweeps across processes with JAX's own multi-controller runtime (:mod:`jax.distributed`).

A multi-process JAX job runs the same Python program in every process (one per GPU, say);
:func:`jax.distributed.initialize` connects them to a coordinator (process 0) before any
JAX computation.  After that, every process calls the same :func:`jaxnickel.sweep.sweep`
(or :func:`~jaxnickel.sweep.mixd_sweep`, :func:`~jaxnickel.sweep.triplon_sweep`) with the
same arguments, and the sweep is split across the processes:

* the batch (the grid's points, or its lines with ``warm_start``) is cut into one
  contiguous block per process, in process order (the last block padded by repeating the
  last point, as chunks are);
* each process solves its block on its *local* devices with the same compiled chunk
  program a one-process sweep uses (no collective inside it: a process's vmapped solver
  stops when its own slowest point has converged, not the job's), including the cold
  re-solve of its failed warm starts;
* the blocks are gathered with :func:`jax.experimental.multihost_utils.process_allgather`
  (on CPU through the gloo collectives, the default of ``jax_cpu_collectives_implementation``
  in jax 0.10; NCCL on GPUs), and **every** process returns the same complete
  :class:`xarray.Dataset`.  Only its provenance attrs differ (``process_index``,
  ``devices``, ``timing``, ``cold_resolve`` describe the returning process); write files
  from process 0 only (``if jax.process_index() == 0: save(ds, ...)``).

Before any work the processes compare a SHA-256 digest of their arguments (grid, fixed
values, options, the model attrs) and all raise :class:`ValueError` if they differ, so a
mismatched call fails at once instead of gathering wrong blocks.  ``distribute=False``
runs a sweep on one process alone (no collective).

There is no scheduler, no socket and no file exchange of jaxnickel's own: the
coordinator, heartbeats and collectives are JAX's.  If a process dies, the others stop
at the next collective when the coordinator's heartbeat timeout (100 s by default)
expires.

This module: :func:`initialize` (``jax.distributed.initialize`` with argument checks and
the cluster auto-detection of JAX: SLURM, Open MPI, ...), :func:`process_info`, and the
two collectives the sweep uses, :func:`allgather` and :func:`check_same_call`.
Guide: docs/distributed.md (with a SLURM GPU recipe).
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

__all__ = ["initialize", "process_info", "ProcessInfo", "allgather", "check_same_call", "CPU_COLLECTIVES"]

#: values of ``jax_cpu_collectives_implementation`` that :func:`initialize` accepts
CPU_COLLECTIVES = ("gloo", "mpi")


class ProcessInfo(NamedTuple):
    """Where this process stands in the job (returned by :func:`initialize`, :func:`process_info`)."""

    process_index: int  #: this process (0 is the coordinator)
    process_count: int
    local_devices: tuple  #: the devices this process computes on
    device_count: int  #: devices of all processes


def process_info() -> ProcessInfo:
    """This process's index, the process count and the devices (starts JAX's backend)."""
    return ProcessInfo(jax.process_index(), jax.process_count(), tuple(jax.local_devices()), jax.device_count())


def _is_int(x) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    local_device_ids: int | Sequence[int] | None = None,
    *,
    cpu_collectives: str | None = None,
    initialization_timeout: int = 300,
    cluster_detection_method: str | None = None,
) -> ProcessInfo:
    """Connect this process to a multi-process JAX job; call it before any JAX computation.

    A checked call of :func:`jax.distributed.initialize`.  Unset arguments are found by
    JAX's cluster auto-detection: under SLURM (``srun``) the coordinator is the first node
    of the step (port from the job id), ``num_processes`` is ``SLURM_NTASKS``,
    ``process_id`` is ``SLURM_PROCID`` and, on GPUs, ``local_device_ids`` is
    ``[SLURM_LOCALID]`` (one GPU per process); Open MPI and ``mpi4py``
    (``cluster_detection_method="mpi4py"``) work the same way.  Elsewhere give
    ``coordinator_address`` (``"host:port"`` of process 0, or the environment variable
    ``JAX_COORDINATOR_ADDRESS``), ``num_processes`` and ``process_id`` explicitly.

    ``local_device_ids`` restricts the GPUs this process sees (an int or a list).
    ``cpu_collectives`` (``"gloo"`` or ``"mpi"``) sets ``jax_cpu_collectives_implementation``
    for the cross-process collectives of CPU processes (jax 0.10 uses gloo by default, so
    ``None`` leaves it).  ``initialization_timeout``: seconds to wait for every process to
    connect before failing.

    Returns :func:`process_info`.  If the job is already initialised it returns that
    without connecting again (the arguments are then ignored).  Raises :class:`ValueError`
    naming a bad argument, or when neither the arguments nor a detected cluster say how
    to connect; JAX's :class:`RuntimeError` when a JAX computation has already run.
    """
    if coordinator_address is not None:
        host, _, port = coordinator_address.rpartition(":") if isinstance(coordinator_address, str) else ("", "", "")
        if not (host and port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(
                f"coordinator_address must be 'host:port' (process 0's address, port 1-65535), got {coordinator_address!r}"
            )
    if num_processes is not None and not (_is_int(num_processes) and num_processes >= 1):
        raise ValueError(f"num_processes must be a positive integer, got {num_processes!r}")
    if process_id is not None:
        if not (_is_int(process_id) and process_id >= 0):
            raise ValueError(f"process_id must be a non-negative integer, got {process_id!r}")
        if num_processes is not None and process_id >= num_processes:
            raise ValueError(f"process_id must be below num_processes={num_processes}, got {process_id!r}")
    if local_device_ids is not None:
        ids = [local_device_ids] if _is_int(local_device_ids) else local_device_ids
        if isinstance(ids, str | bytes) or not all(_is_int(i) and i >= 0 for i in ids) or not list(ids):
            raise ValueError(
                f"local_device_ids must be a non-negative integer or a non-empty list of them, got {local_device_ids!r}"
            )
        local_device_ids = [int(i) for i in ids]
    if cpu_collectives is not None and cpu_collectives not in CPU_COLLECTIVES:
        raise ValueError(f"cpu_collectives must be None or one of {CPU_COLLECTIVES}, got {cpu_collectives!r}")
    if not (_is_int(initialization_timeout) and initialization_timeout >= 1):
        raise ValueError(f"initialization_timeout must be a positive integer (seconds), got {initialization_timeout!r}")

    if jax.distributed.is_initialized():
        return process_info()
    if cpu_collectives is not None:
        jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
    try:
        jax.distributed.initialize(
            coordinator_address=coordinator_address,
            num_processes=None if num_processes is None else int(num_processes),
            process_id=None if process_id is None else int(process_id),
            local_device_ids=local_device_ids,
            cluster_detection_method=cluster_detection_method,
            initialization_timeout=int(initialization_timeout),
        )
    except ValueError as exc:  # JAX: "coordinator_address should be defined." and the like
        raise ValueError(
            f"jaxnickel.distributed.initialize: {exc} No cluster environment (SLURM, Open MPI, ...) was "
            "detected that sets it: give coordinator_address='host:port', num_processes and process_id "
            "(the same address and count in every process), or run a one-process sweep without initialize()"
        ) from None
    return process_info()


def _check_devices(label: str) -> None:
    """Every process must hold the same number of devices (``process_allgather`` needs it)."""
    per = collections.Counter(d.process_index for d in jax.devices())  # the same on every process
    if len(set(per.values())) > 1:
        raise ValueError(
            f"{label}: a sweep across processes needs the same number of devices in every process, "
            f"got {dict(sorted(per.items()))} (process: devices); set local_device_ids in initialize()"
        )


def allgather(tree: Any) -> Any:
    """Concatenate each process's host arrays along axis 0, in process order, on every process.

    ``tree``: a pytree of NumPy arrays with the same shapes and dtypes in every process.
    Returns NumPy arrays (``jax.experimental.multihost_utils.process_allgather(tree,
    tiled=True)``); with one process the arrays themselves.
    """
    if jax.process_count() == 1:
        return jax.tree.map(np.asarray, tree)
    from jax.experimental import multihost_utils

    _check_devices("allgather")
    return jax.tree.map(np.asarray, multihost_utils.process_allgather(tree, tiled=True))


def check_same_call(label: str, digest: bytes) -> None:
    """Raise :class:`ValueError` in every process unless all processes pass the same ``digest``.

    A collective: every process must call it.  ``digest`` is a hash of the call's
    arguments (:func:`jaxnickel.sweep.sweep` passes a SHA-256 digest).
    """
    if jax.process_count() == 1:
        return
    _check_devices(label)
    mine = np.frombuffer(bytes(digest), dtype=np.uint8)
    rows = allgather({"digest": mine[None, :]})["digest"]
    differ = [p for p in range(rows.shape[0]) if not np.array_equal(rows[p], rows[0])]
    if differ:
        raise ValueError(
            f"{label}: the processes were not called with the same arguments (process(es) {differ} "
            "differ from process 0): every process of a distributed sweep must pass the same grid, "
            "fixed values, options and attrs (or use distribute=False for independent sweeps)"
        )
