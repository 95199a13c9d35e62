"""Provenance of saved results: package version, git revision, date, input files and their hashes."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import math
import os
import subprocess
from pathlib import Path

import numpy as np

__all__ = ["git_revision", "sha256_file", "provenance", "clean_json"]


def git_revision() -> str | None:
    """The git revision of the checkout jaxnickel runs from (``None`` outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def sha256_file(path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def provenance(input_file=None, input_sha256: str | None = None) -> dict:
    """``{jaxnickel_version, git_revision, date (UTC, ISO 8601), input_file, input_sha256}``."""
    from . import __version__

    sha = input_sha256
    if input_file is not None and sha is None and os.path.isfile(input_file):
        sha = sha256_file(input_file)
    return {
        "jaxnickel_version": __version__,
        "git_revision": git_revision(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "input_file": None if input_file is None else os.path.abspath(os.fspath(input_file)),
        "input_sha256": sha,
    }


def clean_json(x):
    """JSON-ready copy: numpy/JAX scalars and arrays to Python, non-finite floats to ``None``."""
    if isinstance(x, dict):
        return {str(k): clean_json(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean_json(v) for v in x]
    if isinstance(x, np.ndarray) or type(x).__module__.startswith("jax"):
        return clean_json(np.asarray(x).tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def flat_attrs(d: dict, prefix: str = "") -> dict:
    """A nested dict as flat netCDF-safe attrs: ``{"bands": {"t1": 0.45}}`` -> ``{"bands.t1": 0.45}``.

    Booleans become 0/1 and ``None`` the string ``"none"`` (netCDF attributes hold only
    strings and numbers).
    """
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flat_attrs(v, key + "."))
        elif isinstance(v, bool | np.bool_):
            out[key] = int(v)
        elif v is None:
            out[key] = "none"
        elif isinstance(v, list | tuple):
            out[key] = np.asarray(v)
        else:
            out[key] = v
    return out


def atomic_savez(path, meta: dict, arrays: dict):
    """Write ``arrays`` and the JSON ``meta`` (entry ``__meta__``) to an ``.npz`` file, atomically.

    The archive is written beside ``path`` and renamed into place, so a failed write (a
    full disk, an interrupt) never leaves a broken file where a good one stood.
    """
    import json

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, __meta__=np.asarray(json.dumps(meta)), **arrays)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_npz_meta(data, path, expected_format: str, what: str, required: tuple[str, ...] = ()) -> dict:
    """The ``__meta__`` dict of an open ``.npz`` archive, checked to be of ``expected_format``.

    ``required``: metadata keys the reader needs (a missing one is named, not a ``KeyError``).
    """
    import json

    if "__meta__" not in data:
        raise ValueError(f"{path}: not a jaxnickel {what} file (no __meta__ entry)")
    try:
        meta = json.loads(str(data["__meta__"]))
    except (json.JSONDecodeError, ValueError) as e:
        raise ValueError(f"{path}: damaged {what} file: its __meta__ entry is not JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: damaged {what} file: its __meta__ entry is not a JSON object")
    if meta.get("format") != expected_format:
        raise ValueError(
            f"{path}: format version {meta.get('format')!r} unknown to this jaxnickel, expected {expected_format!r}"
        )
    missing = [k for k in required if k not in meta]
    if missing:
        raise ValueError(f"{path}: damaged {what} file: metadata key(s) {', '.join(missing)} missing")
    return meta


def read_npz(path, expected_format: str, what: str, fields, *, optional=(), meta_keys: tuple[str, ...] = ()):
    """``(meta, arrays)`` of a jaxnickel ``.npz`` file, every failure one ``ValueError`` naming the file.

    A missing, truncated or foreign file, a pickled entry, a missing field (of ``fields``;
    ``optional`` ones may be absent) or metadata key (``meta_keys``) and an unknown format
    are each said in one line; nothing else escapes (no ``BadZipFile``, ``EOFError``,
    ``KeyError``).  The arrays are read into memory, so the archive is closed on return.
    """
    import zipfile

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError(f"{path}: not a jaxnickel {what} file (a bare .npy array, not an .npz archive)")
        with loaded as data:
            meta = read_npz_meta(data, path, expected_format, what, meta_keys)
            missing = [n for n in fields if n not in data]
            if missing:
                raise ValueError(f"{path}: damaged {what} file: missing field(s) {', '.join(missing)}")
            arrays = {n: np.asarray(data[n]) for n in tuple(fields) + tuple(n for n in optional if n in data)}
    except ValueError as e:
        if str(e).startswith(str(path)):
            raise
        raise ValueError(f"{path}: not a readable {what} file ({e})") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
        raise ValueError(f"{path}: damaged or truncated {what} file ({type(e).__name__}: {e})") from None
    return meta, arrays


def check_stored_state(path, what: str, arrays: dict, converged_key: str, finite_keys) -> None:
    """Refuse a stored result that says it converged while a value it rests on is not finite."""
    if converged_key not in arrays or not bool(np.all(np.asarray(arrays[converged_key]))):
        return
    bad = [k for k in finite_keys if k in arrays and not np.all(np.isfinite(np.asarray(arrays[k], dtype=float)))]
    if bad:
        raise ValueError(
            f"{path}: damaged {what} file: marked converged but {', '.join(bad)} not finite (a jaxnickel solve "
            "never stores that)"
        )


def atomic_write_text(path, text: str):
    """Write ``text`` (UTF-8) beside ``path`` and rename it into place (never a half-written file)."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


@contextlib.contextmanager
def folder_lock(folder, what: str):
    """Hold ``folder/.jaxnickel.lock`` (this process's pid) while a run writes into ``folder``.

    A second run into the same folder is refused with a ``ValueError`` naming the pid that
    holds it; a lock left by a process that no longer exists (killed, power cut) is taken over.
    """
    folder = Path(folder)
    lock = folder / ".jaxnickel.lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid > 0 and pid != os.getpid() and _alive(pid):
                raise ValueError(
                    f"{folder}: another jaxnickel {what} (pid {pid}) is writing into this folder; "
                    "wait for it to finish or choose another --out"
                ) from None
            lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        break
    else:  # pragma: no cover - a race lost twice
        raise ValueError(f"{folder}: could not take the lock {lock}")
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
