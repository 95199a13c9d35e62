r"""Parameter scans as one compiled program: chunked, with progress, warm starts and sharding.

A *sweep* evaluates a pure JAX function of scalar parameters,

    out = fn(**point)        (a pytree / ``equinox.Module`` of arrays),

at every point of a parameter grid and returns the results as a labelled
:class:`xarray.Dataset` (dimensions and coordinates = the scanned parameters, data
variables = the outputs, attrs = fixed parameters and provenance).

API
---
``sweep(fn, grid, *, fixed=None, mode="product", chunk_size=None, progress=False,
warm_start=None, warm_fallback=True, devices=None, fields=None, batching="vmap",
attrs=None, warn=True, throw=False, distribute=None) -> xarray.Dataset``

* ``grid``: ordered mapping ``name -> 1-D array``.  ``mode="product"`` scans the outer
  product (the result has shape ``tuple(len(v) for v in grid.values())``, C order, the
  first name slowest); ``mode="zip"`` scans a *list of points*: all arrays have the same
  length ``n`` and point ``i`` is ``{name: grid[name][i]}``; the result has the single
  dimension ``"point"`` and every parameter is a coordinate along it.
* ``fixed``: mapping ``name -> scalar`` of parameters held fixed.  They are passed to
  ``fn`` as *traced* scalars (one compiled program serves every value) and recorded in
  ``attrs["fixed"]``.
* ``fields``: names of the output leaves to keep (default: all).  Leaves are named by
  their pytree path: ``"energy"`` for an attribute / dict key, ``"params.t"`` for a
  nested one; a prefix selects a whole subtree (``"params"``).  Unused outputs are
  removed by XLA (dead-code elimination), so a selection also saves work.  A leaf named
  ``"converged"`` is always kept: convergence is reported, never hidden.
* ``chunk_size``: points per compiled call (default: all points in one call).  The
  flattened grid is padded to a multiple of the chunk size by repeating its last point
  (a valid parameter point: padding never produces NaNs); padded results are dropped.
  Every chunk has the same shape, so all chunks run the **same compiled executable**: it
  is built once ahead of time (``jax.jit(...).lower(...).compile()``; the executable
  refuses other shapes instead of recompiling) and kept in a small cache keyed by
  ``fn`` and the static structure of the scan, so a second identical sweep does not
  compile again.  ``attrs["traces"]`` counts how often ``fn`` was traced by this call.
* ``progress``: ``True`` shows a tqdm bar on stderr (points done, failures so far) and a
  "compiling ..." line before a program is built; a callable receives a
  :class:`SweepProgress` after every chunk instead.  Chunks are pipelined: chunk ``i + 1`` is
  dispatched before chunk ``i`` is copied to the host.
* ``devices``: the devices to spread each chunk over (default ``jax.local_devices()``;
  an int ``n`` takes the first ``n``).  With more than one device the batch axis of a
  chunk is sharded over a 1-D :class:`jax.sharding.Mesh` with axis ``"batch"``: inputs
  and outputs carry ``NamedSharding(mesh, PartitionSpec("batch"))`` and the jitted
  program is partitioned along that axis by XLA (every device solves its slice; the
  fixed parameters are replicated).  The chunk size is rounded up to a multiple of the
  device count.  An iterative solver vmapped over a chunk runs until its slowest point
  has converged, and when the chunk is sharded the loop's stopping test is combined over
  the devices, so they iterate in lockstep (one small all-reduce per iteration).
  ``jax.shard_map`` would let each device stop on its own, but lineax (used by the
  optimistix root finders of both models) fails under it (lineax issue #185).
* ``batching``: ``"vmap"`` (default) vectorises a chunk with :func:`jax.vmap`;
  ``"map"`` runs its points one after the other inside the same compiled program
  (:func:`jax.lax.map`): same results, no vmap of ``while`` loops (all points of a vmapped
  chunk iterate until the slowest has converged), lower memory.
* ``warm_start``: the name of one dimension to scan *sequentially*.  The grid is split
  into lines along that dimension; within a compiled chunk the lines are vmapped and each
  line runs a :func:`jax.lax.scan` in which point ``j`` is solved with
  ``fn(init=out_{j-1}, **point_j)`` (the first point of a line with ``init=None``, a cold
  start).  ``fn`` must therefore accept an ``init`` keyword.  Chunks and shards then count
  lines, not points.
* ``warm_fallback`` (default ``True``; needs a scalar ``converged`` output): where a
  warm-started solve fails, the point is solved again from a cold start (``init=None``)
  and that solution replaces the failed one in the result; the field
  ``"warm_start_failed"`` marks those points and ``attrs["warm_start_failed"]`` counts
  them.  The compiled chunk program runs the warm scan only (it holds no cold branch);
  after the chunks, the failed points are collected on the host and re-solved by the
  cold single-point program (the program of a sweep without ``warm_start``, called with
  ``init=None``), vmapped (or mapped, with ``batching="map"``) over the failed points
  only.  That batch is padded (by repeating its last point) to a size from a short list
  (the device count times powers of two, and the chunk size), at most the chunk size per
  call, so repeated sweeps reuse a few cached programs instead of compiling one per
  failure count; ``attrs["cold_resolve"]`` records the points, batch sizes and traces.
  Only the failed points pay for the cold solve, under ``vmap`` as under ``map`` (a
  ``lax.cond`` in the scan would run both branches at every point under ``vmap``), and
  both batchings take the same path, so they give the same results.  Whether or not the
  fallback is on, a failed point is never the start of the next one: the line continues
  from the last *warm-converged* solution (or from its cold first point).  A point
  recovered by the cold fallback is not the start of the next point either, because
  the re-solve happens after the whole line has been scanned; a following point
  therefore starts from a solution further back, and may fail (and be re-solved cold)
  where a start from the recovered point would have converged.  (Earlier versions ran the
  fallback inside the scan, where a recovered point did become the next start.)
* ``distribute`` (default ``None``: on when ``jax.process_count() > 1``): a sweep across
  the processes of a multi-controller JAX job (:mod:`jaxnickel.distributed`).  Every
  process calls ``sweep`` with the same arguments after ``jax.distributed.initialize``;
  the batch (points, or lines with ``warm_start``) is split into one contiguous block per
  process in process order, each process runs its block on its local devices (the
  compiled program is the same local program as in a one-process sweep: no collective
  inside it, each process stops on its own), and the results are gathered with
  :func:`jax.experimental.multihost_utils.process_allgather`.  **Every** process returns
  the same complete Dataset (its attrs ``process_index``, ``timing``, ``devices`` and
  ``cold_resolve`` describe the process that returns it); save it on process 0 only.
  ``chunk_size`` counts points per call on each process.  ``distribute=False`` runs an
  independent sweep on this process alone.

Warm starts: when to use them
-----------------------------
A cold start (the solvers' own seeds at every point) finds the lowest-energy root the
seeds reach, independently at every point: the right default, and the points are
independent, so they vectorise and shard freely.  A warm start instead *follows one
branch* of solutions along the scanned axis.  It is more robust where the cold seeds
miss the basin (e.g. near a crossover where one seed family stops converging, or on a
large lattice where cold seeding is expensive), and it is the tool for tracking a
metastable branch or a hysteresis loop; it needs Newton steps only for the small change
between neighbouring points.  Its limits: the points of a line are sequential (less
parallelism); a line stays on the branch it started on even after another branch has
become lower in energy; and Newton's method has a finite basin.  The MixD fixed point
(undamped Newton) is a case in point: on the L = 30 ladder a warm start from J/V = 0.5
to 0.6 or 0.7 diverges in the BCS regime, while steps of 0.1 converge from J/V = 0.8 on
(benchmarks/results/bench_sweep_cpu.md).  The cold fallback (``warm_fallback=True``)
keeps such a sweep correct, but at those points it is a cold sweep, and since the line
continues from its last warm-converged point, often at the later points of the line too
(on the L = 16 ladder, J = 0.8 -> 1.0 fails warm, and so do 1.05 and 1.1 started from
0.8; they are all re-solved cold).  Use fine steps,
watch ``warm_start_failed`` and compare with a cold sweep where it matters.

Results
-------
An :class:`xarray.Dataset`: one dimension per scanned parameter (with its values as the
coordinate), or the single dimension ``"point"`` of a zip sweep with every parameter a
coordinate along it; one data variable per output field, of shape ``grid shape + field
shape`` (a field's own axes are named ``<field>_dim0``, ...; the Fermi-surface fields
of :func:`triplon_sweep` share the coordinate ``theta``); ``attrs``: fixed parameters,
model description, package version, git revision, date, JAX version / backend /
devices, ``process_count`` / ``process_index``, chunking, timing, ``cold_resolve``, ``n_points``, ``not_converged`` and ``results`` (counts of
each :class:`jaxnickel.RESULTS` code, when the output has a ``result`` field).  If a
``converged`` field has failures, ``attrs["failures"]`` lists the first 50 (all of
them: :func:`failures`) and a :class:`SweepConvergenceWarning` is issued.
``ds.sel(J=1.2, method="nearest")`` (or :func:`nearest`, which also handles zip sweeps)
picks grid points; :func:`save` writes netCDF (h5netcdf) with the attrs, :func:`load`
reads it back (and the ``.npz`` files of earlier releases); ``jaxnickel load FILE.nc``
prints a summary.

Model wrappers
--------------
* :func:`mixd_sweep` -- the MixD+V ground state (:func:`jaxnickel.mixd.solve_jax`, paper
  000) over any of ``t, J, V, epsilon, n_holes``; returns the scalar observables of
  :class:`~jaxnickel.mixd.MixDSolution`.
* :func:`triplon_sweep` -- the two-band s+- state (:func:`jaxnickel.triplon.solve_jax`,
  paper 001) over any of the pairing, band or :func:`~jaxnickel.triplon.make_params`
  parameters (``n_c``, ``lam``); returns the free energy, channel, gap ratio, linearised
  eigenvalues, convergence and the Fermi-surface gaps.

Any argument given as a 1-D array is scanned (a dimension); a scalar is fixed.

Example::

    import jax; jax.config.update("jax_enable_x64", True)
    import numpy as np
    from jaxnickel import Ladder
    from jaxnickel.sweep import mixd_sweep

    res = mixd_sweep(Ladder(30), t=0.1, V=1.0, J=np.linspace(0.5, 2.5, 21),
                     n_holes=np.arange(2.0, 29.0, 2.0), chunk_size=64, progress=True)
    res["sc_minus_2cc_fraction"].shape     # (21, 14): dims ("J", "n_holes")
    float(res["energy"].sel(J=1.2, n_holes=8, method="nearest"))
    jaxnickel.sweep.save(res, "fig3.nc")
"""

from __future__ import annotations

import collections
import functools
import hashlib
import inspect
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

if TYPE_CHECKING:  # xarray is imported when a sweep returns
    import xarray as xr

__all__ = [
    "sweep",
    "mixd_sweep",
    "triplon_sweep",
    "SweepProgress",
    "save",
    "load",
    "nearest",
    "failures",
    "not_converged",
    "SweepConvergenceWarning",
    "clear_cache",
    "FILE_FORMAT",
    "MODES",
    "BATCHING",
    "TRIPLON_FIELDS",
]

FILE_FORMAT = "jaxnickel-sweep/2"
#: the .npz format of earlier releases (still read by :func:`load`)
LEGACY_FORMAT = "jaxnickel-sweep/1"
MODES = ("product", "zip")
BATCHING = ("vmap", "map")
BATCH_AXIS = "batch"
POINT_DIM = "point"
#: output field of a warm-started sweep: True where the warm solve failed and the cold fallback ran
FALLBACK_FIELD = "warm_start_failed"


class SweepConvergenceWarning(RuntimeWarning):
    """Some points of a sweep did not converge (see :func:`failures`, ``attrs["not_converged"]``)."""


class SweepProgress(NamedTuple):
    """Passed to a ``progress`` callable after each chunk.

    With the cold fallback of warm starts, the warm failures of a chunk are not counted
    in ``not_converged`` (they are re-solved after the chunks), and one more report with
    the final count follows the re-solve.  In a sweep across processes every process
    reports its own block: ``points_done`` and ``n_points`` count its points.
    """

    chunk: int  #: chunks done (1-based)
    n_chunks: int
    points_done: int  #: grid points done (padding excluded)
    n_points: int  #: grid points (of this process's block, in a sweep across processes)
    elapsed_s: float  #: seconds since the sweep started (compilation included)
    eta_s: float  #: estimated seconds left (from the run time per point so far)
    not_converged: int | None  #: failures so far (None when there is no ``converged`` field)


# ====================================================================== result


def _jsonable(x):
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating | float):
        return float(x)
    if x is None or isinstance(x, str | int):
        return x
    try:
        return float(np.asarray(x))
    except (TypeError, ValueError):
        return str(x)


def _field_dims(name: str, extra_ndim: int) -> tuple[str, ...]:
    """Names of a field's own axes (after the scanned ones): ``<field>_dim0``, ..."""
    return tuple(f"{name}_dim{j}" for j in range(extra_ndim))


def _dataset(dims: tuple, coords: dict, data: dict, attrs: dict):
    """The :class:`xarray.Dataset` of a sweep (see the module docstring, Results)."""
    import xarray as xr

    n = len(dims)
    if dims == (POINT_DIM,):
        xcoords = {name: (POINT_DIM, np.asarray(v)) for name, v in coords.items()}
    else:
        xcoords = {name: (name, np.asarray(v)) for name, v in coords.items()}
    # the theta grid of the Fermi-surface fields is a coordinate, not a field
    theta = data.get("theta")
    variables = {}
    for k, a in data.items():
        a = np.asarray(a)
        own = _field_dims(k, a.ndim - n)
        if theta is not None and k != "theta" and k.endswith("_fs") and a.shape[n:] == theta.shape[n:]:
            own = ("theta",)
        variables[k] = (dims + own, a)
    if theta is not None:
        t = np.asarray(theta).reshape(-1, np.asarray(theta).shape[-1])
        if np.all(t == t[0]):  # the same angle grid at every point: one coordinate
            variables.pop("theta")
            xcoords["theta"] = ("theta", t[0])
        else:
            variables["theta"] = (dims + ("theta",), np.asarray(theta))
    return xr.Dataset(variables, coords=xcoords, attrs=attrs)


def not_converged(ds) -> int | None:
    """Number of sweep points with ``converged == False`` (``None`` without such a field)."""
    if "converged" not in ds:
        return None
    c = np.asarray(ds["converged"], dtype=bool)
    return int(c.size - np.count_nonzero(c))


def failures(ds) -> list[dict]:
    """Coordinates of every point of a sweep that did not converge (empty without ``converged``)."""
    if "converged" not in ds:
        return []
    conv = ds["converged"]
    bad = np.argwhere(~np.asarray(conv, dtype=bool))
    out = []
    for idx in bad:
        pt = conv[tuple(int(i) for i in idx)]
        d = {}
        for name, c in pt.coords.items():
            if c.ndim == 0 and name != "theta":
                d[name] = _jsonable(c.values)
        if conv.dims == (POINT_DIM,):
            d[POINT_DIM] = int(idx[0])
        if "result" in ds:
            from .results import RESULTS

            d["result"] = RESULTS(int(ds["result"].values[tuple(int(i) for i in idx)])).name
        out.append(d)
    return out


def nearest(ds, **values):
    """The point(s) of a sweep *nearest* to the given coordinate values (a Dataset).

    On a product sweep this is ``ds.sel(..., method="nearest")``; on a zip sweep
    (dimension ``"point"``) the point nearest to all given parameters, each scaled by
    its range.  The coordinate values picked are in ``attrs["selection"]``.
    """
    unknown = [n for n in values if n not in ds.coords]
    if unknown:
        raise KeyError(f"nearest: unknown coordinate(s) {unknown}; coordinates: {list(ds.coords)}")
    if tuple(ds.dims) and POINT_DIM in ds.dims and all(n not in ds.dims for n in values):
        dist = np.zeros(ds.sizes[POINT_DIM])
        for name, v in values.items():
            c = np.asarray(ds[name], dtype=float)
            span = float(np.ptp(c)) or 1.0
            dist += ((c - float(v)) / span) ** 2
        out = ds.isel({POINT_DIM: int(np.argmin(dist))})
    else:
        out = ds.sel(values, method="nearest")
    out.attrs = dict(ds.attrs)
    sel = dict(ds.attrs.get("selection", {}))
    sel.update({n: _jsonable(out[n].values) for n in values})
    out.attrs["selection"] = sel
    return out


#: attrs whose values netCDF cannot hold (dicts, lists, None, bool) are stored as JSON strings under these names
_JSON_ATTRS = "jaxnickel_json_attrs"


def _encode_attrs(attrs: dict) -> dict:
    out, as_json = {}, []
    for k, v in attrs.items():
        v = _jsonable(v)
        if isinstance(v, str) or (isinstance(v, int | float) and not isinstance(v, bool)):
            out[k] = v
        else:
            out[k] = json.dumps(v)
            as_json.append(k)
    out[_JSON_ATTRS] = json.dumps(as_json)
    return out


def _decode_attrs(attrs: dict) -> dict:
    attrs = dict(attrs)
    names = json.loads(attrs.pop(_JSON_ATTRS, "[]"))
    for k in names:
        if k in attrs:
            attrs[k] = json.loads(attrs[k])
    for k, v in attrs.items():
        if isinstance(v, np.generic):
            attrs[k] = v.item()
    return attrs


def save(ds, path) -> Path:
    """Write a sweep Dataset to netCDF (h5netcdf engine; provenance attrs kept; atomic rename).

    Nested attrs (fixed parameters, timing, failures, ...) are stored as JSON strings and
    restored by :func:`load`; ``format`` is ``FILE_FORMAT``.  Any netCDF reader opens the
    file (``xarray.open_dataset(path)``); :func:`load` also decodes the attrs.
    """
    path = Path(path)
    if path.suffix.lower() not in (".nc", ".h5", ".nc4"):
        raise ValueError(f"{path}: a sweep is saved as netCDF: the file name must end in .nc")
    out = ds.copy()
    out.attrs = _encode_attrs({**ds.attrs, "format": FILE_FORMAT})
    for v in out.variables.values():
        v.attrs = _encode_attrs(v.attrs) if v.attrs else {}
    tmp = path.with_name(path.name + ".tmp")
    try:
        out.to_netcdf(tmp, engine="h5netcdf")
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load(path):
    """Read a sweep saved by :func:`save` (netCDF) or by earlier releases (``.npz``, format 1) as a Dataset."""
    import xarray as xr

    path = Path(path)
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"PK"):  # an .npz archive of jaxnickel <= 0.1 (SweepResult.save)
        return _load_npz(path)
    if not (magic.startswith(b"\x89HDF") or magic.startswith(b"CDF")):
        raise ValueError(f"{path}: not a jaxnickel sweep file (neither netCDF nor .npz)")
    with xr.open_dataset(path, engine="h5netcdf") as f:
        ds = f.load()
    ds.attrs = _decode_attrs(ds.attrs)
    for v in ds.variables.values():
        v.attrs = _decode_attrs(v.attrs) if v.attrs else {}
    if ds.attrs.get("format") not in (FILE_FORMAT, LEGACY_FORMAT):
        raise ValueError(f"{path}: unsupported format {ds.attrs.get('format')!r}, expected {FILE_FORMAT!r}")
    if "converged" in ds:
        ds["converged"] = ds["converged"].astype(bool)
    return ds


def _load_npz(path):
    import zipfile

    from .provenance import read_npz_meta

    try:
        with np.load(path, allow_pickle=False) as f:
            meta = read_npz_meta(f, path, LEGACY_FORMAT, "sweep", ("coords", "data", "dims", "attrs"))
            coords = {k: np.asarray(f[f"coords/{k}"]) for k in meta["coords"]}
            data = {k: np.asarray(f[f"data/{k}"]) for k in meta["data"]}
    except KeyError as e:
        raise ValueError(f"{path}: damaged sweep file: missing entry {e}") from None
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise ValueError(f"{path}: damaged or truncated sweep file ({type(e).__name__}: {e})") from None
    attrs = dict(meta["attrs"])
    attrs["format"] = LEGACY_FORMAT
    return _dataset(tuple(meta["dims"]), coords, data, attrs)


# ====================================================================== inputs


def _check_values(label: str, values) -> np.ndarray:
    """A scanned parameter as a 1-D NumPy array (error messages name the parameter)."""
    if isinstance(values, str | bytes) or values is None:
        raise ValueError(f"{label} must be a 1-D array of numbers, got {values!r}")
    try:
        a = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{label} must be a 1-D array of numbers: {exc}") from None
    if a.ndim != 1:
        raise ValueError(f"{label} must be a 1-D array of values to scan, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{label} is empty: give at least one value to scan")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{label} must hold numbers, got dtype {a.dtype}")
    if np.iscomplexobj(a):
        raise ValueError(f"{label} must be real, got dtype {a.dtype}")
    return a


def _check_scalar(label: str, value):
    a = np.asarray(value)
    if a.ndim != 0 or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool) or np.iscomplexobj(a):
        raise ValueError(f"{label} must be a real scalar, got {value!r}")
    return a


def _jax_dtype(a: np.ndarray):
    """Float arrays go to JAX's default float (float64 with x64), integers/bools keep their kind."""
    if np.issubdtype(a.dtype, np.floating):
        return jnp.result_type(float)
    if a.dtype == bool:
        return jnp.bool_
    return jnp.result_type(int)


def _resolve_devices(devices) -> tuple:
    if devices is None:
        return tuple(jax.local_devices())
    if isinstance(devices, bool):
        raise ValueError(f"devices must be None, a positive int or a sequence of jax devices, got {devices!r}")
    if isinstance(devices, int | np.integer):
        avail = jax.local_devices()
        if not 1 <= devices <= len(avail):
            raise ValueError(f"devices: asked for {devices} devices, {len(avail)} available")
        return tuple(avail[: int(devices)])
    if isinstance(devices, jax.Device):
        return (devices,)
    devs = tuple(devices)
    if not devs or not all(isinstance(d, jax.Device) for d in devs):
        raise ValueError("devices must be None, a positive int or a non-empty sequence of jax devices")
    if len(set(devs)) != len(devs):
        raise ValueError("devices: the same device is listed twice")
    me = jax.process_index()
    if any(d.process_index != me for d in devs):
        raise ValueError(f"devices: only this process's own devices (jax.local_devices()) can be used, got {devs}")
    return devs


def _processes(distribute) -> tuple[int, int]:
    """``(process count, process index)`` of a sweep: ``(1, 0)`` unless it runs across processes."""
    if distribute is not None and not isinstance(distribute, bool):
        raise ValueError(f"distribute must be None (automatic), True or False, got {distribute!r}")
    if distribute is False:
        return 1, 0
    n = jax.process_count()
    return (n, jax.process_index()) if n > 1 else (1, 0)


# ====================================================================== output naming


def _key_name(k) -> str:
    for attr in ("name", "key", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def _named_leaves(tree) -> dict:
    """``{path name: leaf}`` of a pytree: ``"energy"``, ``"params.t"``, ``"0"`` ..."""
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        name = ".".join(_key_name(k) for k in path) or "value"
        out[name] = jnp.asarray(leaf)
    return out


def _select(named: dict, fields) -> dict:
    if fields is None:
        return dict(named)
    out = {}
    for f in fields:
        hits = [n for n in named if n == f or n.startswith(f + ".")]
        if not hits:
            raise ValueError(f"fields: {f!r} is not an output of fn; outputs: {list(named)}")
        for n in hits:
            out[n] = named[n]
    if "converged" in named and "converged" not in out:
        out["converged"] = named["converged"]  # convergence is reported, never hidden
    if "result" in named and "result" not in out:
        out["result"] = named["result"]
    return out


# ====================================================================== compiled program


def _converged_flag(out):
    """The scalar ``converged`` leaf of one point's output, or ``None``."""
    ok = _named_leaves(out).get("converged")
    return ok if ok is not None and ok.shape == () else None


class _Plan(NamedTuple):
    """Static structure of one compiled sweep program (the cache key, minus ``fn``)."""

    names: tuple  # batched parameter names
    fixed_names: tuple
    fields: tuple | None
    warm: bool  # batched inputs are lines (chunk, line_len)
    cold_init: bool  # a point program that calls fn(init=None, ...): the cold re-solve of warm lines
    batching: str
    shapes: tuple  # ((shape, dtype), ...) of the batched inputs
    fixed_dtypes: tuple
    devices: tuple
    x64: bool


_CACHE: collections.OrderedDict = collections.OrderedDict()
_CACHE_SIZE = 16


def clear_cache() -> None:
    """Forget the compiled sweep programs kept for reuse."""
    _CACHE.clear()


def _build_program(fn, plan: _Plan, counter: list, order: list):
    """``run(batched, fixed) -> {field: array}``: the vmapped (or mapped) chunk program.

    ``batched``: ``{name: (chunk,)}`` or, for warm starts, ``{name: (chunk, line_len)}``;
    ``fixed``: ``{name: ()}``.  A warm line is a ``lax.scan`` of warm solves only: the cold
    fallback is not part of this program (:func:`_cold_resolve` runs it afterwards, on the
    failed points alone).
    """

    def point(p, fixed, init=None, *, warm=False):
        counter[0] += 1  # Python side effect: runs once per trace, never at run time
        kw = {**p, **fixed}
        return fn(init=init, **kw) if warm else fn(**kw)

    def select(out):
        sel = _select(_named_leaves(out), plan.fields)
        order[:] = list(sel)  # jit returns dicts sorted by key; remember fn's order
        return sel

    def one(p, fixed):
        # cold_init: the cold re-solve of a warm-started point calls fn(init=None, ...) as a
        # line's first point does
        return select(point(p, fixed, None, warm=plan.cold_init))

    def line(p_line, fixed):
        first = point(jax.tree.map(lambda a: a[0], p_line), fixed, None, warm=True)
        ys0 = select(first)
        n = next(iter(p_line.values())).shape[0]
        if n == 1:
            return jax.tree.map(lambda a: a[None], ys0)

        def like(out, ref):
            # the carry keeps its types (a cold and a warm solve may differ in weak types)
            return jax.tree.map(lambda new, old: jnp.asarray(new, dtype=old.dtype), out, ref)

        def step(carry, p):
            out = like(point(p, fixed, carry, warm=True), carry)
            ok = _converged_flag(out)
            if ok is not None:
                # a failed point does not become the next start: keep the last converged one
                nxt = jax.tree.map(lambda new, old: jnp.where(ok, new, old), out, carry)
            else:
                nxt = out
            return nxt, select(out)

        _, ys = jax.lax.scan(step, first, jax.tree.map(lambda a: a[1:], p_line))
        return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), ys0, ys)

    body = line if plan.warm else one

    mesh = Mesh(np.asarray(plan.devices), (BATCH_AXIS,))
    batch_sh = NamedSharding(mesh, PartitionSpec(BATCH_AXIS))
    repl_sh = NamedSharding(mesh, PartitionSpec())
    n_dev = len(plan.devices)

    def local(batched, fixed):
        if plan.batching == "vmap":
            return jax.vmap(body, in_axes=(0, None))(batched, fixed)
        if n_dev == 1:
            return jax.lax.map(lambda p: body(p, fixed), batched)
        # one sequential lax.map per device: split the batch as (device, points per device)
        split = jax.tree.map(lambda a: a.reshape(n_dev, -1, *a.shape[1:]), batched)
        split = jax.lax.with_sharding_constraint(split, batch_sh)
        out = jax.vmap(lambda sub: jax.lax.map(lambda p: body(p, fixed), sub))(split)
        return jax.tree.map(lambda a: a.reshape(-1, *a.shape[2:]), out)

    # XLA's SPMD partitioner splits the vmapped program along the sharded batch axis.
    # (Not jax.shard_map: lineax 0.1.1, under optimistix's Newton solver, rejects the
    # manual-axis shardings of its abstract shapes -- lineax issue #185.)
    jitted = jax.jit(local, in_shardings=(batch_sh, repl_sh), out_shardings=batch_sh)
    return jitted, batch_sh, repl_sh


def _is_cached(fn, plan: _Plan) -> bool:
    try:
        return (fn, plan) in _CACHE
    except TypeError:
        return False


def _get_program(fn, plan: _Plan, batched_spec, fixed_spec):
    """Cached ahead-of-time compiled executable; returns ``(compiled, shardings, info)``."""
    key = None
    try:
        key = (fn, plan)
        hash(key)
    except TypeError:
        key = None
    if key is not None and key in _CACHE:
        _CACHE.move_to_end(key)
        compiled, batch_sh, repl_sh, order = _CACHE[key]
        info = {"cache_hit": True, "traces": 0, "trace_lower_s": 0.0, "compile_s": 0.0, "order": order}
        return compiled, batch_sh, repl_sh, info
    counter, order = [0], []
    jitted, batch_sh, repl_sh = _build_program(fn, plan, counter, order)
    t0 = time.perf_counter()
    b_abs = {k: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=batch_sh) for k, s in batched_spec.items()}
    f_abs = {k: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=repl_sh) for k, s in fixed_spec.items()}
    lowered = jitted.lower(b_abs, f_abs)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    if key is not None:
        _CACHE[key] = (compiled, batch_sh, repl_sh, order)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    info = {"cache_hit": False, "traces": counter[0], "trace_lower_s": t1 - t0, "compile_s": t2 - t1, "order": order}
    return compiled, batch_sh, repl_sh, info


def _cold_buckets(chunk: int, n_dev: int) -> tuple[int, ...]:
    """Batch sizes of the cold re-solve: the device count times powers of two, then ``chunk``."""
    out, b = [], n_dev
    while b < chunk:
        out.append(b)
        b *= 2
    out.append(chunk)
    return tuple(out)


def _cold_resolve(fn, plan: _Plan, local: dict, local_np: dict, fixed_np: dict, n_real: int, chunk: int, talk: bool):
    """Re-solve from a cold start (``init=None``) the warm-started points whose solve failed.

    ``local``: this process's chunk outputs ``{field: (items, line_len, ...)}``, updated in
    place: the failed points (``converged`` False at a line position ``j >= 1`` of a real
    item, not padding) get the cold solution, and ``local[FALLBACK_FIELD]`` marks them.
    The failed points' parameters are batched, at most ``chunk`` per call, each batch
    padded by repeating its last point to the smallest of :func:`_cold_buckets`, and run by
    the cold single-point program (``_get_program``: cached, one trace per batch size).
    Returns ``{"points", "batches", "traces", "compiled_program_reused"}``.
    """
    conv = np.asarray(local["converged"], dtype=bool)
    failed = np.zeros(conv.shape, dtype=bool)
    failed[:n_real, 1:] = ~conv[:n_real, 1:]  # a line's first point is a cold start already
    local[FALLBACK_FIELD] = failed
    ii, jj = np.nonzero(failed)
    m = int(ii.size)
    info = {"points": m, "batches": [], "traces": 0, "compiled_program_reused": None}
    if m == 0:
        return info
    buckets = _cold_buckets(chunk, len(plan.devices))
    params = {n: a[ii, jj] for n, a in local_np.items()}
    fixed_spec = {n: jax.ShapeDtypeStruct((), a.dtype) for n, a in fixed_np.items()}
    pending, reused = [], []
    for lo in range(0, m, chunk):
        hi = min(lo + chunk, m)
        size = next(b for b in buckets if b >= hi - lo)
        cold_plan = plan._replace(
            warm=False, cold_init=True, shapes=tuple((n, (size,), str(a.dtype)) for n, a in params.items())
        )
        spec = {n: jax.ShapeDtypeStruct((size,), a.dtype) for n, a in params.items()}
        if talk and not _is_cached(fn, cold_plan):
            print(
                f"jaxnickel: compiling the cold re-solve of {getattr(fn, '__name__', 'fn')} "
                f"({size} points per call) for {m} failed warm start(s) ...",
                file=sys.stderr,
                flush=True,
            )
        compiled, batch_sh, repl_sh, cinfo = _get_program(fn, cold_plan, spec, fixed_spec)
        info["traces"] += cinfo["traces"]
        reused.append(cinfo["cache_hit"])
        sub = {}
        for n, a in params.items():
            a = a[lo:hi]
            sub[n] = np.concatenate([a, np.repeat(a[-1:], size - a.shape[0], axis=0)])
        out = compiled(jax.device_put(sub, batch_sh), jax.device_put(fixed_np, repl_sh))  # asynchronous
        pending.append((lo, hi, out))
        info["batches"].append(size)
    want = set(local) - {FALLBACK_FIELD}
    for lo, hi, out in pending:
        if set(out) != want:
            raise RuntimeError(f"cold re-solve: fn returned fields {sorted(out)} at init=None, the scan {sorted(want)}")
        at = (ii[lo:hi], jj[lo:hi])
        for k, v in out.items():
            local[k][at] = np.asarray(v)[: hi - lo].astype(local[k].dtype, copy=False)
    info["compiled_program_reused"] = all(reused)
    return info


def _call_digest(fn, plan: _Plan, mode, warm_start, resolve, batched_np: dict, fixed_np: dict, attrs) -> bytes:
    """SHA-256 of what a sweep computes (compared across processes before a distributed sweep)."""
    h = hashlib.sha256()
    static = (
        getattr(fn, "__module__", "?"),
        getattr(fn, "__qualname__", "?"),
        plan._replace(devices=len(plan.devices)),  # this process's devices differ; their number must not
        mode,
        warm_start,
        resolve,
        json.dumps(_jsonable(dict(attrs or {})), sort_keys=True),
    )
    h.update(repr(static).encode())
    for group in (batched_np, fixed_np):
        for n, a in group.items():
            h.update(f"{n}:{a.dtype}:{a.shape}".encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.digest()


# ====================================================================== sweep


def _package_info() -> dict:
    from .provenance import provenance

    p = provenance()
    return {"jaxnickel_version": p["jaxnickel_version"], "git_revision": p["git_revision"], "date": p["date"]}


def _accepts_init(fn) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    return "init" in sig.parameters or any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def sweep(
    fn: Callable,
    grid: Mapping[str, Any],
    *,
    fixed: Mapping[str, Any] | None = None,
    mode: str = "product",
    chunk_size: int | None = None,
    progress: bool | Callable[[SweepProgress], Any] = False,
    warm_start: str | None = None,
    warm_fallback: bool = True,
    devices=None,
    fields: Sequence[str] | None = None,
    batching: str = "vmap",
    attrs: Mapping | None = None,
    warn: bool = True,
    throw: bool = False,
    distribute: bool | None = None,
) -> xr.Dataset:
    """Evaluate ``fn(**point, **fixed)`` over ``grid`` as one compiled, chunked program.

    See the module docstring for every option.  ``fn`` must be a pure JAX function of
    traced scalars returning a pytree of arrays; with ``warm_start`` it must also take
    ``init`` (``None`` at the first point of each line, the previous point's full output
    after that).  Returns an :class:`xarray.Dataset`; warns with
    :class:`SweepConvergenceWarning` when a ``converged`` field has failures (``warn``),
    or raises :class:`jaxnickel.SolveError` with the first failures (``throw=True``).
    In a multi-process JAX job (``distribute``; :mod:`jaxnickel.distributed`) every process
    must make the same call, and every process returns the complete Dataset.
    """
    t_start = time.perf_counter()
    if not callable(fn):
        raise ValueError(f"fn must be callable, got {fn!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if batching not in BATCHING:
        raise ValueError(f"batching must be one of {BATCHING}, got {batching!r}")
    if not isinstance(grid, Mapping) or len(grid) == 0:
        raise ValueError("grid must be a non-empty mapping name -> 1-D array of values to scan")
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer) or chunk_size < 1
    ):
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    if distribute is not None and not isinstance(distribute, bool):
        raise ValueError(f"distribute must be None (automatic), True or False, got {distribute!r}")
    if not (isinstance(progress, bool) or callable(progress)):
        raise ValueError(f"progress must be True, False or a callable, got {progress!r}")
    if isinstance(fields, str):
        fields = (fields,)
    if fields is not None:
        fields = tuple(fields)
        if not fields or not all(isinstance(f, str) for f in fields):
            raise ValueError(f"fields must be a non-empty sequence of output names, got {fields!r}")
    fixed = dict(fixed or {})

    values = {}
    for name, v in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"grid: parameter names must be identifiers (they are passed as keywords), got {name!r}")
        values[name] = _check_values(f"grid[{name!r}]", v)
    fixed_vals = {}
    for name, v in fixed.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"fixed: parameter names must be identifiers, got {name!r}")
        if name in values:
            raise ValueError(f"{name!r} is given both in grid (scanned) and in fixed")
        fixed_vals[name] = _check_scalar(f"fixed[{name!r}]", v)
    if "init" in values or "init" in fixed_vals:
        raise ValueError("'init' is reserved for warm starts; rename the parameter")

    names = tuple(values)
    if mode == "zip":
        lengths = {n: len(v) for n, v in values.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"mode='zip' needs arrays of equal length, got lengths {lengths}")
        dims = (POINT_DIM,)
        shape = (next(iter(lengths.values())),)
        flat = dict(values)
    else:
        dims = names
        shape = tuple(len(v) for v in values.values())
        mesh_arrays = np.meshgrid(*values.values(), indexing="ij")
        flat = {n: m.reshape(-1) for n, m in zip(names, mesh_arrays, strict=True)}
    if warm_start is not None:
        if warm_start not in dims:
            raise ValueError(f"warm_start must be one of the scanned dimensions {list(dims)}, got {warm_start!r}")
        if not _accepts_init(fn):
            raise ValueError("warm_start needs fn to accept an init= keyword (the previous point's output)")

    devs = _resolve_devices(devices)
    n_dev = len(devs)
    n_points = int(np.prod(shape))
    n_proc, proc = _processes(distribute)

    # batched items: points, or lines along the warm-start axis (that axis moved last)
    if warm_start is None:
        items = flat
        n_items, line_len = n_points, 1
    else:
        ax = dims.index(warm_start)
        line_len = shape[ax]
        n_items = n_points // line_len
        items = {n: np.moveaxis(a.reshape(shape), ax, -1).reshape(n_items, line_len) for n, a in flat.items()}

    # items per process (one contiguous block each, in process order), then chunks of that block
    n_local = -(-n_items // n_proc)
    per = n_local if chunk_size is None else min(int(chunk_size), n_local)
    chunk = -(-per // n_dev) * n_dev
    n_chunks = -(-n_local // chunk)
    n_local_padded = n_chunks * chunk
    n_padded = n_local_padded * n_proc
    pad = n_padded - n_items
    batched_np = {}
    for n, a in items.items():
        a = np.asarray(a, dtype=_jax_dtype(a))
        if pad:
            a = np.concatenate([a, np.repeat(a[-1:], pad, axis=0)])
        batched_np[n] = a
    fixed_np = {n: np.asarray(v, dtype=_jax_dtype(v)) for n, v in fixed_vals.items()}
    lo_item = proc * n_local_padded
    local_np = {n: a[lo_item : lo_item + n_local_padded] for n, a in batched_np.items()}
    n_local_real = max(0, min(n_items - lo_item, n_local_padded))  # this block's items that are not padding
    resolve = warm_start is not None and bool(warm_fallback)

    plan = _Plan(
        names=names,
        fixed_names=tuple(fixed_np),
        fields=fields,
        warm=warm_start is not None,
        cold_init=False,
        batching=batching,
        shapes=tuple((n, (chunk, *a.shape[1:]), str(a.dtype)) for n, a in batched_np.items()),
        fixed_dtypes=tuple((n, str(a.dtype)) for n, a in fixed_np.items()),
        devices=devs,
        x64=bool(jax.config.jax_enable_x64),
    )
    if n_proc > 1:
        from . import distributed as _dist

        _dist.check_same_call("sweep", _call_digest(fn, plan, mode, warm_start, resolve, batched_np, fixed_np, attrs))
    batched_spec = {n: jax.ShapeDtypeStruct((chunk, *a.shape[1:]), a.dtype) for n, a in batched_np.items()}
    fixed_spec = {n: jax.ShapeDtypeStruct((), a.dtype) for n, a in fixed_np.items()}
    talk = progress is True and proc == 0  # the bar and the "compiling" lines: process 0 only
    if talk and not _is_cached(fn, plan):
        print(
            f"jaxnickel: compiling the sweep program of {getattr(fn, '__name__', 'fn')} "
            f"({chunk} points per chunk, {n_chunks} chunk(s)) ...",
            file=sys.stderr,
            flush=True,
        )
    compiled, batch_sh, repl_sh, cinfo = _get_program(fn, plan, batched_spec, fixed_spec)

    fixed_dev = jax.device_put(fixed_np, repl_sh)
    label = getattr(fn, "__name__", "sweep")
    from .progress import bar

    n_points_local = n_local_real * line_len
    pbar = bar(n_points_local, f"sweep {label}", enabled=talk, unit="point")
    chunks_out: list[dict] = []
    not_conv = 0
    retry = 0  # warm-start failures waiting for the cold re-solve
    out_devices = None
    t_run = time.perf_counter()

    def report(i, done_items, has_conv):
        now = time.perf_counter()
        info = SweepProgress(
            chunk=i + 1,
            n_chunks=n_chunks,
            points_done=done_items * line_len,
            n_points=n_points_local,
            elapsed_s=now - t_start,
            eta_s=(now - t_run) / max(done_items, 1) * (n_local_real - done_items),
            not_converged=not_conv if has_conv else None,
        )
        if progress is True:
            pbar.update(info.points_done - pbar.n)
            if info.not_converged is not None:
                extra = f", cold re-solves {retry}" if retry else ""
                pbar.set_postfix_str(f"not converged {info.not_converged}{extra}", refresh=False)
        else:
            progress(info)

    def collect(i, out):
        nonlocal not_conv, retry, out_devices
        if out_devices is None:
            leaf = next(iter(out.values()))
            out_devices = len(leaf.sharding.device_set)
        host = {k: np.asarray(v) for k, v in out.items()}
        chunks_out.append(host)
        done_items = min((i + 1) * chunk, n_local_real)
        lo = i * chunk
        if "converged" in host:
            bad = ~np.asarray(host["converged"][: max(done_items - lo, 0)], dtype=bool)
            if resolve and bad.ndim == 2:
                # a warm-started failure is not final: it is re-solved cold after the chunks
                not_conv += int(np.count_nonzero(bad[:, 0]))
                retry += int(np.count_nonzero(bad[:, 1:]))
            else:
                not_conv += int(np.count_nonzero(bad))
        if progress:
            report(i, done_items, "converged" in host)

    pending = None
    for i in range(n_chunks):
        sl = slice(i * chunk, (i + 1) * chunk)
        args = jax.device_put({n: a[sl] for n, a in local_np.items()}, batch_sh)
        out = compiled(args, fixed_dev)  # asynchronous dispatch
        if pending is not None:
            collect(*pending)
        pending = (i, out)
    collect(*pending)
    run_s = time.perf_counter() - t_run

    keys = [k for k in cinfo["order"] if k in chunks_out[0]]
    keys += [k for k in chunks_out[0] if k not in keys]
    local = {k: np.concatenate([c[k] for c in chunks_out]) for k in keys}  # this process's block
    traces = cinfo["traces"]
    cold_info = None
    t_cold = time.perf_counter()
    if resolve and "converged" in local and local["converged"].ndim == 2:  # a scalar converged per point
        cold_info = _cold_resolve(fn, plan, local, local_np, fixed_np, n_local_real, chunk, talk)
        traces += cold_info["traces"]
        if progress and cold_info["points"]:
            c = np.asarray(local["converged"][:n_local_real], dtype=bool)
            not_conv, retry = int(c.size - np.count_nonzero(c)), 0
            report(n_chunks - 1, n_local_real, True)
    cold_s = time.perf_counter() - t_cold
    pbar.close()

    if n_proc > 1:  # every process receives every block, in process order
        from . import distributed as _dist

        local = _dist.allgather(local)

    # assemble: drop padding, restore the grid shape (and the warm-start axis position)
    data = {}
    for k in keys + ([FALLBACK_FIELD] if FALLBACK_FIELD in local else []):
        a = np.asarray(local[k])[:n_items]
        if warm_start is None:
            data[k] = a.reshape(shape + a.shape[1:])
        else:
            ax = dims.index(warm_start)
            other = tuple(s for j, s in enumerate(shape) if j != ax)
            a = a.reshape(other + (line_len,) + a.shape[2:])
            data[k] = np.moveaxis(a, len(other), ax)

    coords = dict(values)  # zip: the parameters are coordinates along "point"

    n_bad = None
    if "converged" in data:
        data["converged"] = np.asarray(data["converged"], dtype=bool)
        n_bad = int(data["converged"].size - np.count_nonzero(data["converged"]))
    n_fallback = int(np.count_nonzero(data[FALLBACK_FIELD])) if FALLBACK_FIELD in data else None
    meta = {
        "function": f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', label)}",
        "mode": mode,
        "fixed": {n: _jsonable(v) for n, v in fixed_vals.items()},
        **_package_info(),
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "x64": bool(jax.config.jax_enable_x64),
        "device_count": n_dev,
        "devices": [str(d) for d in devs],
        "sharding": {
            "mesh_axis": BATCH_AXIS,
            "spec": str(PartitionSpec(BATCH_AXIS)),
            "mesh_devices": n_dev,
            "output_devices": out_devices,
        },
        "process_count": n_proc,
        "process_index": proc,
        "batching": batching,
        "warm_start": warm_start,
        "warm_fallback": resolve,
        "warm_start_failed": n_fallback,
        "cold_resolve": cold_info,
        "chunk_size": chunk,
        "n_chunks": n_chunks,
        "n_points": n_points,
        "n_padded": n_padded * line_len,
        "traces": traces,
        "compiled_program_reused": cinfo["cache_hit"],
        "timing": {
            "trace_lower_s": cinfo["trace_lower_s"],
            "compile_s": cinfo["compile_s"],
            "run_s": run_s,
            "cold_resolve_s": cold_s if cold_info is not None else None,
            "total_s": time.perf_counter() - t_start,
        },
        "not_converged": n_bad,
    }
    meta.update(_jsonable(dict(attrs or {})))
    if "result" in data:
        from .results import summary_counts

        meta["results"] = summary_counts(data["result"])
    res = _dataset(dims, coords, data, meta)
    if n_bad:
        res.attrs["failures"] = failures(res)[:50]
        if throw:
            from .results import RESULTS, SolveError

            first = res.attrs["failures"][0]
            code = RESULTS[first["result"]] if "result" in first else RESULTS.max_steps_reached
            raise SolveError(
                f"{n_bad} of {n_points} sweep points did not converge (first: {res.attrs['failures'][:5]})", code
            )
        if warn:
            shown = res.attrs["failures"][:5]
            warnings.warn(
                f"{n_bad} of {n_points} sweep points did not converge (first: {shown}); "
                "see jaxnickel.sweep.failures(ds) / ds.attrs['failures']",
                SweepConvergenceWarning,
                stacklevel=2,
            )
    return res


# ====================================================================== model wrappers


def _split_scan(label: str, given: dict, dims_order) -> tuple[dict, dict]:
    """Split ``{name: value}`` into scanned (1-D) and fixed (scalar) parameters."""
    scanned, fixed = {}, {}
    for name, v in given.items():
        a = np.asarray(v) if not isinstance(v, str) else None
        if a is None or a.dtype == object:
            raise ValueError(f"{label}: {name} must be a number or a 1-D array of numbers, got {v!r}")
        if a.ndim == 0:
            fixed[name] = _check_scalar(f"{label}: {name}", a)
        else:
            scanned[name] = _check_values(f"{label}: {name} (scanned)", a)
    if dims_order is not None:
        dims_order = tuple(dims_order)
        if sorted(dims_order) != sorted(scanned):
            raise ValueError(
                f"{label}: dims={list(dims_order)} must list exactly the scanned parameters {list(scanned)}"
            )
        scanned = {n: scanned[n] for n in dims_order}
    return scanned, fixed


def _validate_each(label: str, scanned: dict, fixed: dict, check: Callable[[dict], None]) -> None:
    """Run ``check`` on every scanned value (others at their first value); warnings once each."""
    base = {**{n: float(v) for n, v in fixed.items()}, **{n: float(v[0]) for n, v in scanned.items()}}
    seen = set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            check(base)
            for name, vals in scanned.items():
                for v in np.unique(vals):
                    check({**base, name: float(v)})
        except ValueError as exc:
            raise ValueError(f"{label}: {exc}") from None
    for w in caught:
        key = (w.category, str(w.message).split(":")[0])
        if key not in seen:
            seen.add(key)
            warnings.warn(f"{label}: {w.message}", w.category, stacklevel=3)


@functools.lru_cache(maxsize=32)
def _mixd_fn(lattice, method: str, tol: float, max_steps, hartree: bool):
    from .mixd import MixDParams, solve_jax

    def mixd_point(t, J, V, epsilon, n_holes, init=None):
        """MixD ground state at one parameter point (paper 000, Eqs. B9, B15-B19)."""
        p = MixDParams(t=t, J=J, V=V, epsilon=epsilon, n_holes=n_holes, hartree=hartree)
        return solve_jax(p, lattice, method, init=init, tol=tol, max_steps=max_steps)

    return mixd_point


def _check_sweep_memory(label, model, method, n_k, scanned, sweep_kw, default_batching) -> None:
    """Refuse a sweep whose compiled chunk cannot fit, before anything is compiled.

    Under ``batching="vmap"`` a chunk holds ``chunk_size`` solves at once (all points when
    ``chunk_size`` is None); under ``"map"`` one at a time.  ``check_resources=False`` skips it.
    """
    if not sweep_kw.pop("check_resources", True):
        return
    from .resources import check_memory

    sizes = [int(np.size(v)) for v in scanned.values()]
    n = int(np.prod(sizes)) if sweep_kw.get("mode", "product") == "product" else max(sizes, default=1)
    n_proc, _ = _processes(sweep_kw.get("distribute"))
    n = -(-n // n_proc)  # a distributed sweep: one block of the batch per process
    chunk = min(int(sweep_kw.get("chunk_size") or n), n)
    batch = chunk if sweep_kw.get("batching", default_batching) == "vmap" else 1
    check_memory(
        model,
        method,
        n_k,
        flag=f"{label}: {batch} point(s) per compiled chunk (chunk_size / batching)",
        largest=None,
        batch=batch,
    )


def mixd_sweep(
    lattice,
    *,
    t,
    V,
    J=1.0,
    n_holes=8.0,
    epsilon=0.0,
    hartree: bool = False,
    method: str = "fixed-point",
    tol: float = 1e-12,
    max_steps: int | None = None,
    fields: Sequence[str] | None = None,
    dims: Sequence[str] | None = None,
    **sweep_kw,
) -> xr.Dataset:
    """MixD+V mean-field ground state (paper 000) over a grid of couplings.

    Each of ``t, J, V, epsilon, n_holes`` is a scalar (fixed) or a 1-D array (scanned; a
    dimension).  The dimensions are ordered ``t, J, V, epsilon, n_holes`` unless ``dims``
    gives the order.  Every point is :func:`jaxnickel.mixd.solve_jax` on ``lattice`` with
    ``method``, ``tol``, ``max_steps``; with ``warm_start="J"`` (say) the scan along ``J``
    starts each solve from the previous solution.  ``fields`` defaults to the scalar
    observables of :class:`~jaxnickel.mixd.MixDSolution` (energy, N_sc, N_cc, ..., order
    parameters, binding energy, ``converged``, ``residual``); k-resolved fields such as
    ``"delta"`` may be requested too.  ``check_resources=False`` skips the memory estimate of a
    compiled chunk (:mod:`jaxnickel.resources`; ``chunk_size`` points at once under ``vmap``).
    Other keywords go to :func:`sweep`.  Requires float64.
    """
    from .mixd.params import MixDParams, validate_params
    from .mixd.solution import SCALAR_FIELDS
    from .mixd.solve import METHODS
    from .solvers import require_x64

    require_x64()
    label = "mixd_sweep"
    if not all(hasattr(lattice, a) for a in ("dim", "n_sites", "momenta", "to_dict")):
        raise ValueError(f"{label}: lattice must be a jaxnickel lattice (Ladder(L) or Square(Lx, Ly)), got {lattice!r}")
    if method not in METHODS:
        raise ValueError(f"{label}: method must be one of {METHODS}, got {method!r}")
    if not (isinstance(tol, float | int) and 0.0 < tol < 1e-2):
        raise ValueError(f"{label}: tol must be a number in (0, 1e-2), got {tol!r}")
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"{label}: max_steps must be a positive integer, got {max_steps!r}")
    given = {"t": t, "J": J, "V": V, "epsilon": epsilon, "n_holes": n_holes}
    scanned, fixed = _split_scan(label, given, dims)
    if not scanned:
        raise ValueError(f"{label}: nothing to scan: give at least one of t, J, V, epsilon, n_holes as a 1-D array")
    _validate_each(label, scanned, fixed, lambda d: validate_params(MixDParams(hartree=hartree, **d), lattice))
    _check_sweep_memory(label, "mixd", method, lattice.n_sites, scanned, sweep_kw, "vmap")
    fn = _mixd_fn(lattice, method, float(tol), max_steps, bool(hartree))
    extra = {
        "model": "mixd",
        "lattice": lattice.to_dict(),
        "lattice_name": lattice.name,
        "n_sites": lattice.n_sites,
        "method": method,
        "tol": float(tol),
        "max_steps": max_steps,
        "hartree": bool(hartree),
        **dict(sweep_kw.pop("attrs", None) or {}),
    }
    return sweep(
        fn,
        scanned,
        fixed=fixed,
        fields=tuple(SCALAR_FIELDS) if fields is None else fields,
        attrs=extra,
        **sweep_kw,
    )


#: default outputs of :func:`triplon_sweep` (the Fermi-surface arrays have N_THETA = 91 angles)
TRIPLON_FIELDS = (
    "free_energy",
    "channel",
    "gap_ratio",
    "lambda_s",
    "lambda_d",
    "converged",
    "result",
    "iterations",
    "residual",
    "time_reversal_broken",
    "stable",
    "mu",
    "V",
    "coefficients",
    "theta",
    "delta_alpha_fs",
    "delta_beta_fs",
)

_BAND_NAMES = ("t1", "t2", "t3", "eps_alpha", "eps_beta")
_PAIR_NAMES = ("kappa_a", "kappa_b", "omega", "T")
_TRIPLON_NAMES = ("n_c", "mu", "lam", "V", *_PAIR_NAMES, *_BAND_NAMES)


@functools.lru_cache(maxsize=32)
def _triplon_fn(grid: int, method: str, channel: str, tol: float, max_steps, cutoff: str, via_nc: bool, via_lam: bool):
    from .triplon.bands import BandParams, _dos_jit, _mu_jit
    from .triplon.params import TriplonParams
    from .triplon.solution import N_THETA
    from .triplon.solve import solve_jax

    def triplon_point(init=None, **kw):
        """Triplon two-band state at one parameter point (paper 001, Eq. 14) and derived scalars."""
        bp = BandParams(**{k: kw[k] for k in _BAND_NAMES}, mu=0.0 if via_nc else kw["mu"])
        if via_nc:  # mu from the filling n_alpha + n_beta = n_c (triangle method)
            bp = bp.replace(mu=_mu_jit(kw["n_c"], bp, grid))
        if via_lam:  # V = lambda / sqrt(N_alpha N_beta), Fermi-level DOS on the same grid
            dos = _dos_jit(bp, grid, "fermi_line")
            V = kw["lam"] / jnp.sqrt(dos.N_alpha * dos.N_beta)
        else:
            V = kw["V"]
        p = TriplonParams(bands=bp, V=V, cutoff=cutoff, **{k: kw[k] for k in _PAIR_NAMES})
        c0 = None if init is None else init["coefficients"]
        s = solve_jax(p, grid, method, channel=channel, init=c0, tol=tol, max_steps=max_steps)
        i = (N_THETA - 1) // 2
        ratio = jnp.abs(s.delta_alpha_fs[i] / s.delta_beta_fs[i])
        return {
            "free_energy": s.free_energy,
            "channel": s.channel,
            # |Delta_alpha / Delta_beta| on the zone diagonal, Eq. (17); s+- only
            "gap_ratio": jnp.where(s.channel == 1, ratio, jnp.nan),
            "lambda_s": s.lambda_s,
            "lambda_d": s.lambda_d,
            "converged": s.converged,
            "result": s.result,
            "iterations": s.iterations,
            "residual": s.residual,
            "time_reversal_broken": s.time_reversal_broken,
            "stable": s.stable,
            "mu": bp.mu,
            "V": V,
            "coefficients": s.coefficients,
            "theta": s.theta,
            "delta_alpha_fs": s.delta_alpha_fs,
            "delta_beta_fs": s.delta_beta_fs,
        }

    return triplon_point


def triplon_sweep(
    grid: int = 64,
    *,
    params=None,
    method: str = "fixed-point",
    channel: str = "auto",
    tol: float = 1e-11,
    max_steps: int | None = None,
    bands=None,
    cutoff: str | None = None,
    fields: Sequence[str] | None = None,
    dims: Sequence[str] | None = None,
    batching: str = "map",
    **values,
) -> xr.Dataset:
    """Two-band s+- state of the triplon model (paper 001) over a parameter grid.

    ``grid``: k-points per direction.  Parameters (``values``), each a scalar (fixed) or a
    1-D array (scanned): the :func:`~jaxnickel.triplon.make_params` ones ``n_c`` (or
    ``mu``, eV), ``lam`` (or ``V``, eV), ``kappa_a``, ``kappa_b``, ``omega``, ``T`` (eV), and
    the band parameters ``t1, t2, t3, eps_alpha, eps_beta``.  Unset ones come from
    ``params`` (a :class:`~jaxnickel.triplon.TriplonParams`) or, without it, from
    ``make_params`` defaults (paper's bands, ``n_c = 0.45``, ``lam = 0.5``, ``kappa = 0.75``,
    ``Omega = 0.3``, ``T = 0``).  A scanned ``n_c`` sets ``mu`` at each point from the
    filling, and ``lam`` sets ``V = lam / sqrt(N_alpha N_beta)`` from the Fermi-level DOS
    on the same ``grid`` (inside the compiled program, as ``make_params`` does).
    Dimensions are ordered as the keywords are given unless ``dims`` is given.

    Outputs (:data:`TRIPLON_FIELDS`): ``free_energy`` (eV per cell), ``channel`` (0 normal,
    1 s+-, 2 d), ``gap_ratio`` (``|Delta_alpha / Delta_beta|`` on the zone diagonal, NaN
    unless s+-), ``lambda_s``/``lambda_d``, ``converged``, ``iterations``, ``residual``, the
    ``mu`` and ``V`` used, the gap ``coefficients`` and the Fermi-surface gaps
    ``delta_alpha_fs``/``delta_beta_fs`` at the angles ``theta``.

    ``batching`` defaults to ``"map"`` (points one after another inside each compiled
    chunk): vmapped triplon solves can deadlock XLA's CPU runtime (jaxlib 0.10.2, see
    docs/triplon_results.md, "Problems found") and gain nothing on a CPU, where each
    solve is already vectorised over the k-grid.  Pass ``batching="vmap"`` on a GPU.
    With ``warm_start`` (e.g. ``"T"``) each point starts from the previous point's gap
    coefficients.  ``check_resources=False`` skips the memory estimate of a compiled chunk.
    Other keywords go to :func:`sweep`.  Requires float64.
    """
    from .solvers import require_x64
    from .triplon.bands import BandParams, _check_density
    from .triplon.params import TriplonParams, make_params, validate_params
    from .triplon.solve import CHANNELS, METHODS

    require_x64()
    label = "triplon_sweep"
    if isinstance(grid, bool) or not isinstance(grid, int | np.integer) or grid < 8:
        raise ValueError(f"{label}: grid must be an integer >= 8 (k-points per direction), got {grid!r}")
    grid = int(grid)
    if method not in METHODS:
        raise ValueError(f"{label}: method must be one of {METHODS}, got {method!r}")
    if channel not in CHANNELS:
        raise ValueError(f"{label}: channel must be one of {CHANNELS}, got {channel!r}")
    if not (isinstance(tol, float | int) and 0 < tol < 1e-3):
        raise ValueError(f"{label}: tol must be a number in (0, 1e-3) eV, got {tol!r}")
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"{label}: max_steps must be a positive integer, got {max_steps!r}")
    sweep_keys = {
        "mode",
        "chunk_size",
        "progress",
        "warm_start",
        "warm_fallback",
        "devices",
        "attrs",
        "warn",
        "throw",
        "check_resources",
        "distribute",
    }
    sweep_kw = {k: values.pop(k) for k in list(values) if k in sweep_keys}
    unknown = sorted(set(values) - set(_TRIPLON_NAMES))
    if unknown:
        raise ValueError(f"{label}: unknown parameter(s) {unknown}; allowed: {list(_TRIPLON_NAMES)}")
    if "n_c" in values and "mu" in values:
        raise ValueError(f"{label}: give n_c or mu, not both")
    if "lam" in values and "V" in values:
        raise ValueError(f"{label}: give lam or V, not both")
    if params is not None and not isinstance(params, TriplonParams):
        raise ValueError(f"{label}: params must be a jaxnickel.triplon.TriplonParams, got {type(params).__name__}")
    if params is not None and (bands is not None or cutoff is not None):
        raise ValueError(f"{label}: give params or bands/cutoff, not both")
    scanned, given_fixed = _split_scan(label, values, dims)
    if not scanned:
        raise ValueError(f"{label}: nothing to scan: give at least one parameter as a 1-D array")

    # the base point: everything not given, as make_params would set it
    if params is None:
        bp0 = BandParams() if bands is None else bands
        cut = "sharp" if cutoff is None else cutoff
        defaults = {}
        if "n_c" not in values and "mu" not in values:
            defaults["n_c"] = 0.45
        if "lam" not in values and "V" not in values:
            defaults["lam"] = 0.5
        given_fixed = {**{k: np.asarray(v) for k, v in defaults.items()}, **given_fixed}
        base = TriplonParams(bands=bp0, cutoff=cut)
    else:
        base = params
        validate_params(base, grid)
    _check_sweep_memory(label, "triplon", method, grid * grid, scanned, {**sweep_kw, "batching": batching}, "map")
    sweep_kw.pop("check_resources", None)
    via_nc = "n_c" in scanned or ("n_c" in given_fixed and any(n in scanned for n in _BAND_NAMES))
    via_lam = "lam" in scanned or ("lam" in given_fixed and (via_nc or any(n in scanned for n in _BAND_NAMES)))

    # fixed values: given scalars, then the base's; n_c / lam resolved once here when fixed
    fixed = {k: float(v) for k, v in given_fixed.items()}
    for k in _BAND_NAMES:
        fixed.setdefault(k, float(getattr(base.bands, k)) if k not in scanned else None)
    for k in _PAIR_NAMES:
        fixed.setdefault(k, float(getattr(base, k)) if k not in scanned else None)
    fixed = {k: v for k, v in fixed.items() if v is not None}
    if not via_nc:
        if "n_c" in fixed:
            _check_density(fixed["n_c"])
            bands_now = BandParams(**{k: fixed[k] for k in _BAND_NAMES})
            ref = make_params(n_c=fixed.pop("n_c"), V=1.0, bands=bands_now, grid=grid)
            fixed["mu"] = float(ref.bands.mu)
        elif "mu" not in scanned:
            fixed.setdefault("mu", float(base.bands.mu))
    if not via_lam:
        if "lam" in fixed:
            bands_now = BandParams(**{k: fixed[k] for k in _BAND_NAMES}, mu=fixed["mu"])
            ref = make_params(mu=fixed["mu"], lam=fixed.pop("lam"), bands=bands_now, grid=grid)
            fixed["V"] = float(ref.V)
        elif "V" not in scanned:
            fixed.setdefault("V", float(base.V))

    def check(d):
        if "n_c" in d:
            _check_density(d["n_c"])
        if "lam" in d and not (math.isfinite(d["lam"]) and d["lam"] > 0):
            raise ValueError(f"lambda must be a finite number > 0, got {d['lam']}")
        bp = BandParams(**{k: d[k] for k in _BAND_NAMES}, mu=d.get("mu", 0.0))
        p = TriplonParams(bands=bp, V=d.get("V", 1.0), cutoff=base.cutoff, **{k: d[k] for k in _PAIR_NAMES})
        validate_params(p, grid)

    _validate_each(label, scanned, fixed, check)
    fn = _triplon_fn(grid, method, channel, float(tol), max_steps, base.cutoff, via_nc, via_lam)
    extra = {
        "model": "triplon",
        "grid": grid,
        "method": method,
        "channel": channel,
        "tol": float(tol),
        "max_steps": max_steps,
        "cutoff": base.cutoff,
        "mu_from_n_c": via_nc,
        "V_from_lambda": via_lam,
        **dict(sweep_kw.pop("attrs", None) or {}),
    }
    return sweep(
        fn,
        scanned,
        fixed=fixed,
        fields=TRIPLON_FIELDS if fields is None else fields,
        batching=batching,
        attrs=extra,
        **sweep_kw,
    )
