"""Shipped DMRG data of the L = 30 MixD+V ladder and its comparison with the mean-field theory.

Paper 000 checks its mean-field theory against DMRG of the microscopic ladder,
Eq. (1), at ``t/V = 0.1``, ``L = 30`` (markers of Figs. 3, 4 and 5).  This module
holds the same check for jaxnickel:

* :data:`REFERENCE_GRID`: the points computed (``J/V`` from 0.6 to 2.0; ``N_h = 8``
  for Figs. 3 (inset) and 4, ``N_h = 12, 13, 14`` for the binding energy of Fig. 5,
  ``E_B(14) = 2 E_13 - E_14 - E_12``);
* :func:`regenerate`: recompute them with :func:`jaxnickel.exact.dmrg.run_dmrg`
  (``jaxnickel dmrg --regenerate OUT.json``); points are merged into the file one by
  one, so an interrupted run keeps what it finished;
* :func:`load_reference`: the shipped file ``jaxnickel/datasets/dmrg_mixd_ladder_L30.json``
  (parameters, engine and version, bond dimensions, truncation errors, per point);
* :func:`mean_field_comparison`: the mean-field values at the same points (one
  compiled ``vmap`` of :func:`jaxnickel.mixd.solve_jax` on the periodic ``Ladder(30)``)
  next to the DMRG values, with the deviations.

Boundary conditions: DMRG runs with open legs (as MPS codes do), the mean field
on a periodic ladder (its momenta ``2 pi n / L``); the difference is a boundary
correction of order ``t`` per end, small next to the compared energies at ``t/V = 0.1``.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .ed import LadderModel

__all__ = [
    "REFERENCE_GRID",
    "REFERENCE_FILE",
    "DMRGReference",
    "load_reference",
    "regenerate",
    "mean_field_comparison",
]

#: the points of the shipped data set (paper 000, Figs. 3-5: t/V = 0.1, L = 30)
REFERENCE_GRID = {
    "L": 30,
    "t": 0.1,
    "V": 1.0,
    "bc": "open",
    "J": (0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0),
    "n_holes": (8, 12, 13, 14),
    "chis": (32, 64, 128),
    "max_sweeps": 20,
}
REFERENCE_FILE = "dmrg_mixd_ladder_L30.json"
FILE_FORMAT = "jaxnickel-dmrg-reference/1"
_FIELDS = ("energy", "energy_relative", "energy_minus_background", "N_sc", "N_cc", "sc_minus_2cc_fraction")


def _key(J: float, n_holes: int) -> str:
    return f"J={float(J):.6g},N_h={int(n_holes)}"


@dataclass
class DMRGReference:
    """DMRG points: ``meta`` (parameters, engine, command) and ``records`` (one dict per (J, N_h))."""

    meta: dict
    records: list[dict]

    def points(self, n_holes: int) -> list[dict]:
        """Records at ``n_holes``, sorted by ``J``."""
        return sorted((r for r in self.records if r["n_holes"] == n_holes), key=lambda r: r["J"])

    def table(self, n_holes: int) -> dict[str, np.ndarray]:
        """Columns ``J`` and the observables at ``n_holes`` (arrays sorted by ``J``)."""
        rows = self.points(n_holes)
        out = {"J": np.array([r["J"] for r in rows])}
        for f in (*_FIELDS, "chi", "max_truncation_error", "energy_change_last_stage"):
            out[f] = np.array([r[f] for r in rows], dtype=float)
        return out

    def binding_energies(self, n_holes: int = 14) -> dict[str, np.ndarray]:
        """``E_B(N_h) = 2 E(N_h-1) - E(N_h) - E(N_h-2)`` at every ``J`` where all three energies exist."""
        e = {(r["J"], r["n_holes"]): r["energy"] for r in self.records}
        Js = sorted({J for J, n in e if n == n_holes and (J, n_holes - 1) in e and (J, n_holes - 2) in e})
        eb = [2 * e[(J, n_holes - 1)] - e[(J, n_holes)] - e[(J, n_holes - 2)] for J in Js]
        return {"J": np.array(Js), "binding_energy": np.array(eb)}


def _default_path() -> Path:
    return Path(str(resources.files("jaxnickel.datasets").joinpath(REFERENCE_FILE)))


def load_reference(path=None) -> DMRGReference:
    """Read the DMRG reference data (default: the file shipped in ``jaxnickel/datasets``)."""
    p = Path(path) if path is not None else _default_path()
    try:
        d = json.loads(p.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no DMRG reference data at {p}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{p}: not a JSON file ({err})") from None
    if d.get("format") != FILE_FORMAT:
        raise ValueError(f"{p}: format {d.get('format')!r}, expected {FILE_FORMAT!r}")
    return DMRGReference(meta=d["meta"], records=d["records"])


def regenerate(
    path, *, J_values=None, n_holes=None, chis=None, max_sweeps=None, L=None, progress=print
) -> DMRGReference:
    """Recompute the reference points by DMRG and merge them into ``path`` (created if missing).

    Defaults: every point of :data:`REFERENCE_GRID` (``L`` may be overridden for a
    smaller test set; a file holds one ``L``).  Each finished point is written at
    once.  Needs the extra ``jaxnickel[dmrg]``.
    """
    from . import dmrg

    if progress is None:

        def progress(msg):
            return None

    g = dict(REFERENCE_GRID)
    if L is not None:
        g["L"] = int(L)
    J_values = tuple(g["J"] if J_values is None else J_values)
    n_holes = tuple(g["n_holes"] if n_holes is None else n_holes)
    chis = tuple(g["chis"] if chis is None else chis)
    max_sweeps = g["max_sweeps"] if max_sweeps is None else max_sweeps
    path = Path(path)
    if path.exists():
        ref = load_reference(path)
        if ref.meta.get("L") not in (None, g["L"]):
            raise ValueError(f"{path} holds L = {ref.meta['L']}, cannot add L = {g['L']}")
    else:
        ref = DMRGReference(meta={}, records=[])
    ref.meta.update(
        {
            "model": "Eq. (1) of paper 000: MixD+V ladder, t along the legs, J (S.S - n n/4) and V n^h n^h on rungs",
            "L": g["L"],
            "t": g["t"],
            "V": g["V"],
            "bc": g["bc"],
            "holes": "added alternately to the legs (leg 0 first); smallest |S^z|",
            "engine": f"TeNPy {dmrg.tenpy_version()}, two-site DMRG with mixer, charges N0, N1, 2*Sz",
            # every bond dimension used by some point (each record's "stages" has its own ladder)
            "chis": sorted(set(ref.meta.get("chis", [])) | set(chis)),
            "max_sweeps_per_chi": max_sweeps,
            "command": "jaxnickel dmrg --regenerate OUT.json",
            "machine": f"{platform.machine()}, Python {platform.python_version()}",
        }
    )
    done = {_key(r["J"], r["n_holes"]): i for i, r in enumerate(ref.records)}
    for n in n_holes:
        for J in J_values:
            model = LadderModel(g["L"], g["t"], float(J), g["V"], g["bc"])
            res = dmrg.run_dmrg(model, n, chis=chis, max_sweeps=max_sweeps)
            rec = res.summary()
            rec["date"] = _dt.date.today().isoformat()
            k = _key(J, n)
            if k in done:
                ref.records[done[k]] = rec
            else:
                done[k] = len(ref.records)
                ref.records.append(rec)
            path.write_text(json.dumps({"format": FILE_FORMAT, "meta": ref.meta, "records": ref.records}, indent=1))
            progress(
                f"DMRG L={g['L']} J={J:g} N_h={n}: E={res.energy:.10f} chi={res.chi} "
                f"trunc={rec['max_truncation_error']:.1e} dE(last chi)={res.energy_change_last_stage:.1e} "
                f"({res.seconds:.0f} s)"
            )
    return ref


def mean_field_comparison(ref: DMRGReference | None = None) -> dict:
    """Mean field (periodic ``Ladder(L)``, fixed point) at the DMRG points, next to DMRG, with deviations.

    Returns ``{"by_holes": {N_h: {"J", "dmrg": {field: array}, "mf": {field: array}}},
    "binding": {"J", "dmrg", "mf", "mf_delta_kstar"}, "converged": bool array}``; the
    mean-field ``E_B`` is ``2 min_k E_k`` (Sec. III), compared with the DMRG
    ``2 E_13 - E_14 - E_12`` at ``N_h = 14``.  Needs float64 enabled.
    """
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from ..lattice import Ladder
    from ..mixd import MixDParams, solve_jax
    from ..solvers import require_x64

    require_x64()
    ref = load_reference() if ref is None else ref
    m = ref.meta
    lat = Ladder(int(m["L"]))

    @eqx.filter_jit
    @jax.vmap
    def mf(J, n):
        s = solve_jax(MixDParams(t=m["t"], J=J, V=m["V"], n_holes=n), lat)
        return {
            "energy_relative": s.energy,
            "energy_minus_background": s.energy_minus_background,
            "N_sc": s.N_sc,
            "N_cc": s.N_cc,
            "sc_minus_2cc_fraction": s.sc_minus_2cc_fraction,
            "binding_energy": s.binding_energy,
            "delta_at_kmin": s.delta_at_kmin,
            "converged": s.converged,
        }

    rows = [(r["J"], r["n_holes"]) for r in ref.records]
    res = mf(jnp.asarray([r[0] for r in rows]), jnp.asarray([float(r[1]) for r in rows]))
    res = {k: np.asarray(v) for k, v in res.items()}
    index = {(J, n): i for i, (J, n) in enumerate(rows)}
    out = {"by_holes": {}, "converged": res["converged"], "points": len(rows)}
    for n in sorted({n for _, n in rows}):
        t = ref.table(n)
        idx = [index[(J, n)] for J in t["J"]]
        out["by_holes"][n] = {
            "J": t["J"],
            "dmrg": {f: t[f] for f in t if f != "J"},
            "mf": {f: res[f][idx] for f in res if f != "converged"},
        }
    b = ref.binding_energies(14)
    if b["J"].size:
        idx = [index[(J, 14)] for J in b["J"]]
        out["binding"] = {
            "J": b["J"],
            "dmrg": b["binding_energy"],
            "mf": res["binding_energy"][idx],
            "mf_delta_kstar": res["delta_at_kmin"][idx],
        }
    return out
