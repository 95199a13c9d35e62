"""Run the benchmark suite on this machine's JAX default device and write ``results/<device>.md``.

One non-interactive script for a timed machine (a GPU lent for a few minutes): it
describes the device (``jax.devices()``, device kind, device memory, CPU model, cores, host
memory), runs ``bench_vs_numpy.py`` (jaxnickel vs NumPy with the ideal-pass yardstick, both
models) at a size set meant to fit about 10 minutes on a GPU, optionally the quick modes of
``bench_mixd.py`` and ``bench_triplon.py`` (``--extras``), and writes
``<out>/<device>.md`` (``--quick``: ``<device>_smoke.md``), ``<device>`` a slug of the JAX
default device (``gpu-nvidia-h200``, ``cpu-amd-epyc``, ...), with the tables and the command
that reproduced it.  Without a GPU the file says so.  Progress lines carry timestamps and are
flushed at once; ``--budget`` (seconds) bounds the whole run (what would not fit is skipped and
named), and every table is written as soon as it is complete, so an outside ``timeout`` still
leaves the finished rows.

Usage::

    python benchmarks/run_all.py --device                       # 512, 1024, 2048; budget 540 s
    python benchmarks/run_all.py --device --quick               # 64, 128: a smoke test (a few minutes)
    python benchmarks/run_all.py --device --sizes 512,1024 --budget 300 --extras --out /tmp/res
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_vs_numpy as bvn  # noqa: E402  (this folder is on sys.path; it does not import JAX)
from _common import git_revision  # noqa: E402

DEVICE_SIZES = (512, 1024, 2048)  # the target size, one below, one above: ~10 minutes on a GPU
QUICK_SIZES = (64, 128)
DEFAULT_BUDGET = 540.0  # s: a 10-minute device slot with room for start-up and copying back


def log(msg: str) -> None:
    print(f"[{datetime.datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


def host_memory() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def describe(info: dict) -> list[str]:
    mem = info.get("device_memory_bytes")
    host = host_memory()
    lines = [
        "| | |",
        "|---|---|",
        f"| JAX default backend | `{info.get('default_backend')}` |",
        f"| `jax.devices()` | `{', '.join(info.get('devices') or [])}` ({info.get('device_count')} device(s)) |",
        f"| device kind | `{info.get('device_kind')}` |",
        f"| device memory | {f'{mem / 2**30:.1f} GiB (bytes_limit)' if mem else 'n/a (host memory)'} |",
        f"| CPU | {info.get('cpu_model')} |",
        f"| cores | {info.get('cpu_usable')} usable of {info.get('cpu_count')} |",
        f"| host memory | {f'{host / 2**30:.1f} GiB' if host else 'unknown'} |",
        f"| Python | {platform.python_version()} ({platform.platform()}) |",
    ]
    v = info.get("versions") or {}
    lines.append(
        "| versions | "
        + ", ".join(f"{k} {v[k]}" for k in ("jaxnickel", "jax", "jaxlib", "numpy", "scipy") if k in v)
        + " |"
    )
    return lines


def run_extra(script: str, out_dir: Path, timeout: float) -> tuple[str, str | None]:
    """``(markdown or '', note)``: one existing benchmark in its quick mode, written under ``out_dir``."""
    cmd = [sys.executable, str(HERE / script), "--quick", "--out", str(out_dir)]
    log(f"extra: {' '.join(cmd[1:])} (timeout {timeout:.0f} s)")
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=HERE.parent, timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return "", f"`{script} --quick` stopped after {timeout:.0f} s (budget)"
    log(f"extra: {script} finished in {time.monotonic() - t0:.0f} s with code {proc.returncode}")
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no message"]
        return "", f"`{script} --quick` failed (code {proc.returncode}): {tail[0]}"
    stem = script.removesuffix(".py")
    mds = sorted(out_dir.glob(f"{stem}_*.md"))
    if not mds:
        return "", f"`{script} --quick` wrote no Markdown report"
    return mds[-1].read_text(), None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", action="store_true", required=True, help="write the per-device results file")
    ap.add_argument(
        "--sizes", default=None, help=f"grids for bench_vs_numpy (default {','.join(map(str, DEVICE_SIZES))})"
    )
    ap.add_argument(
        "--quick", action="store_true", help=f"smoke test: grids {','.join(map(str, QUICK_SIZES))}, 2 repeats"
    )
    ap.add_argument(
        "--repeats", type=int, default=None, help="timed calls after the compiling one (default 3; quick 2)"
    )
    ap.add_argument(
        "--budget", type=float, default=DEFAULT_BUDGET, help=f"seconds for everything (default {DEFAULT_BUDGET:g})"
    )
    ap.add_argument("--max-seconds", type=float, default=120.0, help="per configuration (bench_vs_numpy --max-seconds)")
    ap.add_argument("--extras", action="store_true", help="also bench_mixd.py --quick and bench_triplon.py --quick")
    ap.add_argument("--out", default=str(HERE / "results"), help="output folder (default benchmarks/results)")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    sizes = args.sizes or ",".join(map(str, QUICK_SIZES if args.quick else DEVICE_SIZES))
    repeats = args.repeats or (2 if args.quick else 3)
    suffix = "_smoke" if args.quick else ""
    out_dir = Path(args.out)
    command = "python benchmarks/run_all.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )

    log(f"run_all: sizes {sizes}, repeats {repeats}, budget {args.budget:g} s, out {out_dir}")
    info = bvn.device_info()
    dslug = bvn.device_slug(info)
    is_cpu = info.get("platform") == "cpu"
    log(f"device {dslug}: {info.get('devices')} ({info.get('device_kind')})")
    path = out_dir / f"{dslug}{suffix}.md"
    out_dir.mkdir(parents=True, exist_ok=True)
    head = [
        f"# Benchmarks on `{dslug}`" + (" (smoke test)" if args.quick else ""),
        "",
    ]
    if is_cpu:
        head += ["**No GPU was available to this run; CPU figures only.**", ""]
    head += [
        f"Run {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}, jaxnickel at git "
        f"{git_revision()}, load average (1 min) {os.getloadavg()[0]:.2f} at the start.",
        "",
        "Reproduce (from the repository root):",
        "",
        "```bash",
        command,
        "```",
        "",
        "## Device",
        "",
        *describe(info),
        "",
    ]

    def write(sections):
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text("\n".join(head + sections) + "\n")
        os.replace(tmp, path)

    write(["(benchmarks running)"])
    sections = []
    left = args.budget - (time.monotonic() - t0)
    bargs = [
        "--sizes",
        sizes,
        "--repeats",
        str(repeats),
        "--out",
        str(out_dir),
        "--suffix",
        suffix,
        "--max-seconds",
        str(args.max_seconds),
        "--budget",
        f"{max(left - (150 if args.extras else 0), 30):.0f}",
    ]
    log("bench_vs_numpy " + " ".join(bargs))
    rc = bvn.main(bargs, info=info)
    md = out_dir / f"bench_vs_numpy_{dslug}{suffix}.md"
    sections += ["## jaxnickel vs NumPy (`bench_vs_numpy.py`)", ""]
    if md.exists():
        body = md.read_text().split("\n", 1)[1]  # without its title
        sections += [body.replace("**No GPU was available to this run; CPU figures only.**\n\n", ""), ""]
        sections += [f"Files: `{md.name}`, `{md.with_suffix('.json').name}`.", ""]
    else:
        sections += [f"bench_vs_numpy wrote no report (exit code {rc}).", ""]
    write(sections)

    if args.extras:
        extra_dir = out_dir / f"{dslug}{suffix}_extras"
        for script in ("bench_mixd.py", "bench_triplon.py"):
            left = args.budget - (time.monotonic() - t0)
            if left < 60:
                note = f"`{script} --quick` skipped: {left:.0f} s left of --budget"
                log(note)
                sections += [f"* {note}", ""]
                continue
            text, note = run_extra(script, extra_dir, left - 10)
            sections += [f"## `{script} --quick`", ""]
            sections += [text.split("\n", 1)[1] if text else f"* {note}", ""]
            write(sections)
    write(sections)
    log(f"wrote {path} ({time.monotonic() - t0:.0f} s)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
