"""Regenerate the mean-field results of both papers, figure by figure: ``jaxnickel reproduce``.

``run(out_dir, quick=False)`` writes one PNG per figure, ``summary.json`` (the
key numbers, with the parameters that made them and a convergence count for
every solve) and ``REPORT.md`` (the same as Markdown tables, next to the
papers' own statements).

Structure: a paper is a :class:`~jaxnickel.reproduce.common.Paper` (a title,
an ordered mapping of figure name -> function, extras, and a Markdown report
function) registered in :data:`PAPERS`; one module per paper:

* :mod:`jaxnickel.reproduce.mixd`: paper 000 (MixD+V two-channel mean field);
  :mod:`jaxnickel.reproduce.mixd_extra` adds three MixD figures the paper does not
  have (2D crossover map, O_BCS finite-size convergence, dE_B/dJ by autodiff).
* :mod:`jaxnickel.reproduce.triplon`: paper 001 (triplon-mediated two-band s+-
  pairing: Figs. 2-4, plus Delta(T) and T_c(lambda) figures and key numbers).

A figure function takes the shared :class:`~jaxnickel.reproduce.common.Context`
(output folder, resolution, a cache of scans shared between figures) and
returns a JSON-ready dict with at least ``file``, ``params``, ``solves`` and
``not_converged``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import jax

from .. import __version__
from ..provenance import atomic_write_text
from ..solvers import require_x64
from . import mixd, mixd_extra, triplon
from .common import Context, Paper, clean_json, fmt_num, git_revision, lattice_text
from .mixd import MIXD_FIGURES, mixd_crossover


def _mixd_report_with_extras(res: dict) -> list[str]:
    """Paper 000's report section followed by the three extra MixD figures' numbers."""
    return mixd.PAPER.report(res) + mixd_extra.extra_report(res)


#: paper 000 with the MixD figures the paper does not have (:mod:`jaxnickel.reproduce.mixd_extra`)
MIXD_PAPER = dataclasses.replace(
    mixd.PAPER,
    figures={**mixd.PAPER.figures, **mixd_extra.EXTRA_FIGURES},
    report=_mixd_report_with_extras,
)

__all__ = ["run", "Context", "Paper", "PAPERS", "MIXD_FIGURES", "mixd_crossover"]

#: the papers reproduced, in report order
PAPERS: dict[str, Paper] = {
    MIXD_PAPER.key: MIXD_PAPER,
    triplon.PAPER.key: triplon.PAPER,
}


def _write_report(summary: dict, path: Path) -> None:
    lines = [
        "# jaxnickel: reproduction of the papers' mean-field results",
        "",
        f"jaxnickel {summary['jaxnickel_version']}, git revision {summary['git_revision'] or 'unknown'}, "
        f"{'quick' if summary['quick'] else 'full'} run, {summary['seconds']:.1f} s "
        f"(JAX backend: {summary['jax_backend']}).",
        "",
    ]
    conv = summary["convergence"]
    lines += [
        f"**Convergence: {conv['not_converged']} of {conv['solves']} solves behind the figures and numbers "
        f"did not converge; cross-checks: {conv['cross_check_not_converged']} of {conv['cross_check_solves']} "
        "reported not converged.**",
        "",
        "| solves | role | count | not converged |",
        "|---|---|---|---|",
    ]
    for name, g in conv["groups"].items():
        bad = g["not_converged"]
        lines.append(f"| {name} | {g['role']} | {g['solves']} | {'**' + str(bad) + '**' if bad else bad} |")
    lines.append("")
    for key, paper in PAPERS.items():
        res = summary.get(key)
        if not res:
            continue
        lines += [f"## {paper.title}", ""]
        lines += paper.report(res)
        lines += [
            "### Figures",
            "",
            "| figure | file | parameters | solves | not converged | max residual | branch jumps | seconds |",
            "|---|---|---|---|---|---|---|---|",
        ]
        notes: list[str] = []
        for name in paper.figures:
            if name not in res:
                continue
            r = res[name]
            p = dict(r["params"])
            p.pop("hartree", None)
            ptxt = ", ".join(f"{k}={v}" for k, v in p.items())
            lat_txt = lattice_text(r.get("lattice"))
            resid = r.get("max_residual", r.get("solution", {}).get("residual"))
            jumps = r.get("suspected_branch_jumps")
            n_jumps = "n/a" if jumps is None else sum(len(v) for f in jumps.values() for v in f.values())
            lines.append(
                f"| {name} | [{r['file']}]({r['file']}) | {'; '.join(x for x in (lat_txt, ptxt) if x)} | {r['solves']} | "
                f"{r['not_converged']} | {fmt_num(resid, '.1e')} | {n_jumps} | "
                f"{summary['timings_s'].get(f'{key}.{name}', 0):.1f} |"
            )
            for field_name, by_nh in (jumps or {}).items():
                for n_h, where in by_nh.items():
                    notes.append(
                        f"- {name}: {field_name} jumps at N_h = {n_h} near J/V = "
                        + ", ".join(f"{w:.4f}" for w in where)
                        + " (a change of solution branch between scan points)"
                    )
        lines.append("")
        if notes:
            lines += ["Suspected branch jumps (isolated large steps along J/V):", "", *notes, ""]
        elif paper.branch_fields:
            lines += [
                "Branch check: no isolated jump along J/V in "
                + ", ".join(paper.branch_fields)
                + " on any scanned doping (each point is the lowest-energy converged root of several seeds).",
                "",
            ]
        for name in paper.figures:
            if name in res:
                lines += [f"![{name}]({res[name]['file']})", ""]
    atomic_write_text(path, "\n".join(lines) + "\n")


# ------------------------------------------------------------------ entry point


def run(out_dir="jaxnickel-output", quick: bool = False, progress=print, *, figures=None, bars: bool = False) -> dict:
    """Regenerate the papers' figures, ``summary.json`` and ``REPORT.md`` in ``out_dir``.

    ``quick`` uses coarser scans (41 instead of 161 J/V points); ``progress(msg)``
    is called before each figure (``None``: silent); ``figures`` optionally
    restricts the run to some figure names (e.g. ``["fig2", "fig6"]``; the
    paper-level extras such as ``"crossover"`` can be named too); ``bars``: a tqdm
    bar on stderr, one step per figure with its seconds (:mod:`jaxnickel.progress`).
    Returns the summary dict (also written to ``summary.json``).  Needs float64
    (``jax.config.update("jax_enable_x64", True)``).  A second run into the same folder
    while one is writing there is refused (``ValueError``; :func:`jaxnickel.provenance.folder_lock`).
    """
    from ..provenance import folder_lock

    require_x64()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out, "reproduce"):
        return _run(out, quick, progress, figures=figures, bars=bars)


def _run(out_dir, quick: bool, progress, *, figures=None, bars: bool = False) -> dict:
    """The body of :func:`run` (holding the folder's lock)."""
    require_x64()
    if progress is None:

        def progress(msg):
            return None

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # an interrupted re-run must not look complete: the old summary and report go first
    # (they are written again, last, when every figure is done)
    for stale in ("summary.json", "REPORT.md"):
        (out / stale).unlink(missing_ok=True)
    known = {name for p in PAPERS.values() for name in (*p.figures, *p.extras)}
    if figures is not None:
        unknown = sorted(set(figures) - known)
        if unknown:
            raise ValueError(f"unknown figure(s) {unknown}; available: {sorted(known)}")
    ctx = Context(out_dir=out, quick=bool(quick), progress=progress)
    t_start = time.perf_counter()
    summary: dict = {
        "jaxnickel_version": __version__,
        "git_revision": git_revision(),
        "quick": bool(quick),
        "jax_backend": jax.default_backend(),
        "timings_s": {},
    }
    from ..progress import bar

    n_steps = sum(sum(1 for n in (*p.figures, *p.extras) if figures is None or n in figures) for p in PAPERS.values())
    pbar = bar(n_steps, "reproduce", enabled=bars, unit="figure")
    if bars:
        say = progress

        def progress(msg):
            pbar.clear()
            say(msg)
            pbar.refresh()

        ctx.progress = progress

    def timed(key, name, fn):
        pbar.set_description_str(f"reproduce {key}.{name}")
        t0 = time.perf_counter()
        out = fn(ctx)
        dt = time.perf_counter() - t0
        summary["timings_s"][f"{key}.{name}"] = dt
        pbar.set_postfix_str(f"{key}.{name} {dt:.1f} s", refresh=False)
        pbar.update(1)
        return out

    for key, paper in PAPERS.items():
        res: dict = {"paper": paper.title, "common_params": dict(paper.common_params)}
        for name, fn in paper.figures.items():
            if figures is not None and name not in figures:
                continue
            progress(f"[{key}] {name}: {(fn.__doc__ or '').strip().splitlines()[0]}")
            res[name] = timed(key, name, fn)
        for name, fn in paper.extras.items():
            # with a figure selection, only extras asked for or already computed by a figure
            if figures is not None and name not in figures and f"{key}.{name}" not in ctx.cache:
                continue
            res[name] = timed(key, name, fn)
        if len(res) > 2:  # something of this paper was run
            summary[key] = res
    pbar.close()

    log = ctx.cache.get("solve_log", {})
    data = [v for v in log.values() if v["role"] == "data"]
    checks = [v for v in log.values() if v["role"] != "data"]
    if "ladder_map" in ctx.cache:
        summary["timings_s"]["ladder_scan (compile + solve)"] = ctx.cache["ladder_map"]["seconds"]
    summary["convergence"] = {
        "solves": sum(v["solves"] for v in data),
        "not_converged": sum(v["not_converged"] for v in data),
        "cross_check_solves": sum(v["solves"] for v in checks),
        "cross_check_not_converged": sum(v["not_converged"] for v in checks),
        "groups": log,
    }
    summary["seconds"] = time.perf_counter() - t_start
    summary = clean_json(summary)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
    _write_report(summary, out / "REPORT.md")
    progress(
        f"wrote {out / 'summary.json'} and {out / 'REPORT.md'} in {summary['seconds']:.1f} s; "
        f"{summary['convergence']['not_converged']} of {summary['convergence']['solves']} solves not converged"
    )
    return summary
