"""Process-wide JAX/XLA settings that jaxnickel applies where it owns the process (the CLI).

* **XLA CPU scheduler** (:func:`configure_xla_flags`): vmapped triplon solves deadlocked
  XLA's CPU runtime in 3 of 8 runs under jaxlib 0.10 (0 % CPU forever, no error);
  ``--xla_cpu_enable_concurrency_optimized_scheduler=false`` avoided it in every run.  XLA
  aborts the process on a flag it does not know, so the flag is added only for the jaxlib
  releases it was tested with (:data:`SCHEDULER_FLAG_JAXLIB`), only while JAX is not yet
  imported, and never when ``XLA_FLAGS`` already sets it.  ``JAXNICKEL_XLA_FLAGS=0`` turns
  it off.  Library code does not need it: the triplon sweeps batch with ``lax.map`` by
  default (:func:`jaxnickel.sweep.triplon_sweep`), which never deadlocked.  A Python user who
  vmaps triplon solves on a CPU can call :func:`configure_xla_flags` before importing JAX.
* **Equinox runtime checks** (:func:`configure_equinox`): in the CLI, ``EQX_ON_ERROR=nan``
  (unless set): a failed check inside a compiled solve (a linear solve fed NaN) returns NaN,
  which the solve's ``result`` reports as ``nonfinite``, instead of raising from a host
  callback.  Programs without host callbacks can be stored in the compilation cache.
* **Persistent compilation cache** (:func:`enable_compilation_cache`): compiled programs
  are stored in a user cache directory, so a second ``jaxnickel`` run with the same shapes
  loads its programs instead of compiling them (see ``docs/performance.md``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = [
    "SCHEDULER_FLAG",
    "SCHEDULER_FLAG_JAXLIB",
    "configure_equinox",
    "configure_process",
    "configure_xla_flags",
    "default_cache_dir",
    "enable_compilation_cache",
]

SCHEDULER_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler=false"
#: jaxlib release series whose XLA knows :data:`SCHEDULER_FLAG` (tested)
SCHEDULER_FLAG_JAXLIB = ("0.10.",)


def _jaxlib_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jaxlib")
    except PackageNotFoundError:
        return None


def configure_xla_flags() -> bool:
    """Add :data:`SCHEDULER_FLAG` to ``XLA_FLAGS`` where it is known and safe; ``True`` if added.

    Must run before JAX is imported (XLA reads ``XLA_FLAGS`` once); does nothing afterwards.
    """
    if os.environ.get("JAXNICKEL_XLA_FLAGS", "1") == "0" or "jax" in sys.modules:
        return False
    current = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_enable_concurrency_optimized_scheduler" in current:
        return False
    v = _jaxlib_version()
    if v is None or not v.startswith(SCHEDULER_FLAG_JAXLIB):
        return False
    os.environ["XLA_FLAGS"] = f"{current} {SCHEDULER_FLAG}".strip()
    return True


def configure_equinox() -> bool:
    """``EQX_ON_ERROR=nan`` unless the user set it or Equinox is already imported; ``True`` if set."""
    if "EQX_ON_ERROR" in os.environ or "equinox" in sys.modules:
        return False
    os.environ["EQX_ON_ERROR"] = "nan"
    return True


def configure_process() -> None:
    """Everything the CLI sets before JAX and Equinox are imported."""
    configure_xla_flags()
    configure_equinox()


def default_cache_dir() -> Path:
    """``$JAXNICKEL_CACHE_DIR``, else ``$XDG_CACHE_HOME/jaxnickel/xla``, else ``~/.cache/jaxnickel/xla``."""
    env = os.environ.get("JAXNICKEL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jaxnickel" / "xla"


def enable_compilation_cache(path=None) -> Path | None:
    """Store compiled XLA programs in ``path`` (default :func:`default_cache_dir`) and reuse them.

    ``JAXNICKEL_CACHE=0`` (or ``--no-cache`` on the command line) switches it off.  Every
    program is cached (no minimum compile time or size), so a second run of the same
    command compiles nothing.  Returns the directory, or ``None`` when off or not writable.
    """
    if os.environ.get("JAXNICKEL_CACHE", "1") == "0":
        return None
    d = Path(path) if path is not None else default_cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(d, os.W_OK):
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(d))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return d


# ------------------------------------------------------------------ exported programs

_EXPORTS: dict = {"dir": None}


def _source_hash() -> str:
    """sha256 over the package's Python sources: a stored program is reused only by the same code."""
    import hashlib

    if "source" not in _EXPORTS:
        h = hashlib.sha256()
        root = Path(__file__).parent
        for f in sorted(root.rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
        _EXPORTS["source"] = h.hexdigest()
    return _EXPORTS["source"]


def enable_exported_programs(path=None) -> Path | None:
    """Store the solve programs of the CLI as :mod:`jax.export` artifacts in ``path``.

    Default: an ``export`` folder beside :func:`default_cache_dir`.  A second run with the
    same code, shapes and static settings deserialises the program instead of tracing the
    Python solve (seconds for the MixD solve), and its compilation is a persistent-cache
    hit.  Off with ``JAXNICKEL_CACHE=0`` / ``--no-cache``, like the compilation cache.
    """
    if os.environ.get("JAXNICKEL_CACHE", "1") == "0":
        _EXPORTS["dir"] = None
        return None
    d = Path(path) if path is not None else default_cache_dir().parent / "export"
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    _EXPORTS["dir"] = d if os.access(d, os.W_OK) else None
    return _EXPORTS["dir"]


def structure_of(cls, **fields):
    """The pytree structure of ``cls(**fields)`` with every other field a placeholder leaf.

    What :func:`exported_call` unflattens a stored program's output into, built without
    tracing the program: ``fields`` are the static ones (and the nested pytrees) of the
    result, e.g. its parameters and the reduction it records.
    """
    import dataclasses

    import jax

    leaves = {f.name: 0 for f in dataclasses.fields(cls) if f.name not in fields}
    return jax.tree_util.tree_structure(cls(**fields, **leaves))


def exported_call(name: str, fn, args, out_treedef, static: dict):
    """``fn(*args)`` through a stored :mod:`jax.export` program when enabled, else ``jax.jit(fn)``.

    ``args``: a pytree of arrays (flattened here; its structure, the leaves' shapes and
    dtypes, ``static``, the jax version and :func:`_source_hash` key the stored program);
    ``out_treedef``: the structure of ``fn``'s output, known without tracing (checked
    against the traced one when the program is first exported).  Returns the output pytree.
    """
    import hashlib
    import json

    import jax
    import jax.numpy as jnp

    leaves, in_tree = jax.tree_util.tree_flatten(args)
    leaves = [jnp.asarray(x) for x in leaves]

    def flat(*xs):
        out = fn(*jax.tree_util.tree_unflatten(in_tree, xs))
        out_leaves, tree = jax.tree_util.tree_flatten(out)
        if tree != out_treedef:
            raise AssertionError(f"{name}: the output structure differs from the one given ({tree} vs {out_treedef})")
        return out_leaves

    d = _EXPORTS["dir"]
    if d is None:
        return jax.tree_util.tree_unflatten(out_treedef, jax.jit(flat)(*leaves))
    key = {
        "name": name,
        "in_tree": str(in_tree),
        "out_tree": str(out_treedef),
        "leaves": [(list(x.shape), str(x.dtype)) for x in leaves],
        "static": {k: repr(v) for k, v in sorted(static.items())},
        "jax": jax.__version__,
        "x64": bool(jax.config.jax_enable_x64),
        "source": _source_hash(),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
    path = d / f"{name}-{digest}.jaxexport"
    exp = None
    if path.exists():
        try:
            exp = jax.export.deserialize(bytearray(path.read_bytes()))
        except Exception:  # a damaged or foreign file: export again
            exp = None
    if exp is None:
        exp = jax.export.export(jax.jit(flat))(*[jax.ShapeDtypeStruct(x.shape, x.dtype) for x in leaves])
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(exp.serialize())
        os.replace(tmp, path)
    return jax.tree_util.tree_unflatten(out_treedef, exp.call(*leaves))
