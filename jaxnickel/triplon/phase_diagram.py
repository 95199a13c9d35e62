r"""Ground-state phase diagram of the triplon model over complex gaps (paper 001, Eqs. 13-14).

Two maps, both from the branch search of :func:`~jaxnickel.triplon.solve.solve_jax`
(``channel="auto"``: real s+- and d branches, the complex s+- + i d seed, relaxation
of saddles; the returned state is a local minimum of the free energy):

* ``(kappa_a, kappa_b)`` at ``T = 0``: regions normal / s+- / d / s+id;
* ``(S = kappa_a + kappa_b, T)`` on the line ``kappa_a kappa_b = P``: the same regions,
  with the T_c lines of both channels (linearised gap equation, per point of the line)
  and the lower transition into s+id (``T_sid(S)``: the highest temperature of the map
  where the state is s+id, i.e. resolved to the map's T step; the exact value at one
  point is :func:`~jaxnickel.triplon.time_reversal.sid_onset_temperature`).

All points of both maps (the T_c of the line included) are one batch of parameters
solved by one compiled program (``lax.map`` over the points, so memory stays O(N) of
one solve; parameters traced, so a new map reuses the program).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..solvers import require_x64
from .bands import BandParams
from .params import K_B, TriplonParams, validate_params
from .solve import solve_jax
from .tc import critical_temperatures_jax

__all__ = ["phase_diagram", "REGIONS"]

#: region codes of the maps (= ``TriplonSolution.channel``)
REGIONS = ("normal", "s+-", "d", "s+id")


@functools.cache
def _core(grid: int):
    def one(p):
        sol = solve_jax(p, grid, "fixed-point", channel="auto")
        tc = critical_temperatures_jax(p, grid)
        return {
            "channel": sol.channel,
            "free_energy": sol.free_energy,
            "converged": sol.converged,
            "stable": sol.stable,
            "s_amplitude": sol.s_amplitude,
            "d_amplitude": sol.d_amplitude,
            "tc_s": tc.tc_s,
            "tc_d": tc.tc_d,
        }

    return jax.jit(lambda batch: jax.lax.map(one, batch))


def _stack(ps):
    return jax.tree_util.tree_map(lambda *xs: jnp.stack([jnp.asarray(x, dtype=float) for x in xs]), *ps)


def phase_diagram(
    kappa_a_values=None,
    kappa_b_values=None,
    *,
    P: float = 0.5625,
    S_values=None,
    T_values_K=None,
    V: float = 1.037403,
    bands: BandParams | None = None,
    omega: float = 0.3,
    cutoff: str = "sharp",
    grid: int = 128,
) -> dict:
    """Both maps (module docstring) at coupling ``V`` (eV; 1.037403 = lambda 0.5 at the paper's bands).

    Defaults: ``kappa_a`` 0 .. 2.5 and ``kappa_b`` 0 .. 1.25 at 11 points each, ``S``
    1.6 .. 2.7 at 12 and ``T`` 0 .. 1100 K at 12.  Returns a dict of NumPy arrays: ``kappa_a``, ``kappa_b``, ``ground_kk`` (shape
    ``(n_a, n_b)``, codes of :data:`REGIONS`), ``free_energy_kk`` (eV/cell),
    ``converged_kk``; ``S``, ``T_K``, ``ground_ST`` (shape ``(n_S, n_T)``),
    ``converged_ST``; ``tc_s_K``, ``tc_d_K`` (per ``S``), ``T_sid_K`` (per ``S``, NaN
    where no temperature of the map is s+id), and ``P``, ``V``, ``grid``, ``cutoff``.
    """
    require_x64()
    bp = BandParams() if bands is None else bands
    kappa_a_values = np.linspace(0.0, 2.5, 11) if kappa_a_values is None else kappa_a_values
    kappa_b_values = np.linspace(0.0, 1.25, 11) if kappa_b_values is None else kappa_b_values
    S_values = np.linspace(1.6, 2.7, 12) if S_values is None else S_values
    T_values_K = np.linspace(0.0, 1100.0, 12) if T_values_K is None else T_values_K
    ka = np.atleast_1d(np.asarray(kappa_a_values, dtype=float))
    kb = np.atleast_1d(np.asarray(kappa_b_values, dtype=float))
    S = np.atleast_1d(np.asarray(S_values, dtype=float))
    T = np.atleast_1d(np.asarray(T_values_K, dtype=float))
    if np.any(S * S < 4 * P):
        raise ValueError(f"S_values must satisfy S^2 >= 4 P = {4 * P:g} (real kappas on the line kappa_a kappa_b = P)")
    if np.any(T < 0) or not np.all(np.isfinite(T)):
        raise ValueError("T_values_K must be finite and >= 0")

    def mk(a, b, t=0.0):
        return TriplonParams(
            bands=bp, V=V, kappa_a=float(a), kappa_b=float(b), omega=omega, T=float(t) * K_B, cutoff=cutoff
        )

    line = []
    for s in S:
        a = 0.5 * (s + math.sqrt(s * s - 4 * P))
        line.append((a, P / a if a > 0 else 0.0))
    ps = [mk(a, b) for a in ka for b in kb] + [mk(a, b, t) for (a, b) in line for t in T]
    for p in ps[:1] + ps[-1:]:
        validate_params(p, grid)
    out = jax.tree_util.tree_map(np.asarray, _core(int(grid))(_stack(ps)))
    n2 = ka.size * kb.size
    kk = {k: v[:n2].reshape(ka.size, kb.size) for k, v in out.items()}
    st = {k: v[n2:].reshape(S.size, T.size) for k, v in out.items()}
    ground_st = st["channel"].astype(int)
    sid = ground_st == 3
    t_sid = np.where(sid.any(axis=1), np.max(np.where(sid, T[None, :], -np.inf), axis=1), np.nan)
    return {
        "kappa_a": ka,
        "kappa_b": kb,
        "ground_kk": kk["channel"].astype(int),
        "free_energy_kk": kk["free_energy"],
        "converged_kk": kk["converged"].astype(bool),
        "S": S,
        "T_K": T,
        "ground_ST": ground_st,
        "converged_ST": st["converged"].astype(bool),
        # T_c does not depend on the point's T: take it from the first temperature
        "tc_s_K": st["tc_s"][:, 0] / K_B,
        "tc_d_K": st["tc_d"][:, 0] / K_B,
        "T_sid_K": t_sid,
        "P": P,
        "V": V,
        "grid": int(grid),
        "cutoff": cutoff,
        "regions": REGIONS,
    }
