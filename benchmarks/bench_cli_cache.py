"""Wall time of CLI commands with an empty and with a warm persistent compilation cache.

Each command runs twice in fresh processes against one new cache directory
(``JAXNICKEL_CACHE_DIR``): the first run compiles and stores its programs, the second loads
them (``jaxnickel.runtime``; issue 13, "compile once").  A third run with ``--no-cache``
is the reference without any cache.  Wall time of the whole process, imports included.

    python benchmarks/bench_cli_cache.py     # writes results/bench_cli_cache_cpu.{md,json}
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import HERE, cpu_info, git_revision

COMMANDS = [
    ["mixd", "--json", "--quiet"],
    ["mixd", "--lattice", "square", "--L", "128", "--holes", "1600", "--json", "--quiet"],
    ["triplon", "--grid", "128", "--json", "--quiet"],
    ["spectrum", "--grid", "128", "--T", "4", "--gamma", "0.5", "--bias=-40:40:161", "--json", "--quiet"],
]


def wall(argv, env) -> float:
    exe = Path(sys.executable).with_name("jaxnickel")
    t0 = time.perf_counter()
    r = subprocess.run([str(exe), *argv], env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{argv}: exit {r.returncode}: {r.stderr[-1000:]}")
    return dt


def main():
    load0 = os.getloadavg()[0]
    rows = []
    for argv in COMMANDS:
        cache = Path(tempfile.mkdtemp(prefix="jaxnickel-cache-"))
        env = {**os.environ, "JAXNICKEL_CACHE_DIR": str(cache)}
        env.pop("JAXNICKEL_CACHE", None)
        try:
            first = wall(argv, env)
            n_entries = len(list(cache.iterdir()))
            second = wall(argv, env)
            off = wall(["--no-cache", *argv], env)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        rows.append(
            {
                "command": "jaxnickel " + " ".join(argv),
                "first_s": first,
                "cached_s": second,
                "no_cache_s": off,
                "cache_entries": n_entries,
            }
        )
        print(f"{rows[-1]['command']}: first {first:.1f} s, cached {second:.1f} s, no cache {off:.1f} s", flush=True)
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python benchmarks/bench_cli_cache.py",
        "git_revision": git_revision(),
        "load_start": load0,
        "load_end": os.getloadavg()[0],
        **cpu_info(),
    }
    out = HERE / "results"
    (out / "bench_cli_cache_cpu.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [
        "# CLI wall time: empty vs warm persistent compilation cache",
        "",
        f"* {meta['date']}; `{meta['command']}`; revision {meta['git_revision']}; CPU {meta['cpu_model']}"
        f" ({meta['cpu_usable']} usable cores); load {load0:.1f} -> {meta['load_end']:.1f}",
        "* wall time of the whole process (imports, tracing, compiling or loading, solving); each command in a"
        " fresh cache directory: first run, second run, then `--no-cache`",
        "",
        "| command | first run (s) | cached run (s) | --no-cache (s) | cached / no cache | cache entries |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['command']}` | {r['first_s']:.1f} | {r['cached_s']:.1f} | {r['no_cache_s']:.1f} | "
            f"{r['cached_s'] / r['no_cache_s']:.2f} | {r['cache_entries']} |"
        )
    (out / "bench_cli_cache_cpu.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
