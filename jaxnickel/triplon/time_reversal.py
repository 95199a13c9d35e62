r"""Where the triplon ground state breaks time reversal: the s+- + i d window (paper 001 model).

The s+- (A1g) and d (B1g) channels of Eq. (13) see different combinations of the two
coupling constants: the s+- gap depends on ``P = kappa_a kappa_b`` only, the d gap on
``S = kappa_a + kappa_b`` only (module docstring of :mod:`~jaxnickel.triplon.studies`).
Along a line of fixed ``P`` the s+- free energy is constant and the d one falls with
``S``; where the two are close the complex mixture ``s+- + i d`` (relative phase
``pi/2``: ``|Delta|^2 = |s|^2 + |d|^2``, no node) lies below both.

The window's ends are the points where a real branch becomes unstable towards the
imaginary admixture of the other channel: the smallest eigenvalue of the imaginary
block of the free energy's Hessian (:mod:`~jaxnickel.triplon.stability`) of the real
s+- branch crosses zero at the lower end ``S_low`` and that of the d branch at the
upper end ``S_high``.  Between them the s+id state is the minimum (it relaxes
continuously to s+- at ``S_low`` and to d at ``S_high``: both transitions are of
second order).  The same criterion in temperature gives ``T_sid``, below which the
leading real branch is unstable towards s+id.  Every root is found by bisection on a
bracket whose signs are checked (no root in the bracket is an error, not a guess).
"""

from __future__ import annotations

import math

import numpy as np

from ..solvers import require_x64
from .params import K_B, TriplonParams
from .solve import solve
from .tc import critical_temperatures

__all__ = ["kappas_on_line", "imaginary_stability", "sid_window", "sid_onset_temperature"]


def kappas_on_line(S: float, P: float) -> tuple[float, float]:
    """``(kappa_a, kappa_b)`` with ``kappa_a + kappa_b = S``, ``kappa_a kappa_b = P``, ``kappa_a >= kappa_b``."""
    disc = S * S - 4.0 * P
    if disc < 0:
        raise ValueError(f"S = {S} and P = {P}: no real kappas (need S^2 >= 4 P)")
    ka = 0.5 * (S + math.sqrt(disc))
    return ka, (P / ka if ka != 0 else S - ka)


def imaginary_stability(p: TriplonParams, grid: int, channel: str, method: str = "fixed-point") -> float:
    """Smallest eigenvalue of the imaginary Hessian block of the real ``channel`` ("s" or "d") branch (1/eV).

    NaN when that branch is the normal state.
    """
    sol = solve(p, grid, method, channel=channel, warn=False)
    if not bool(sol.converged):
        raise RuntimeError(f"the {channel} branch did not converge at {p.to_dict()}")
    return float(sol.hessian_min_imag)


def _bisect(fun, lo, hi, tol, max_iter=60):
    f_lo, f_hi = fun(lo), fun(hi)
    if not (np.isfinite(f_lo) and np.isfinite(f_hi)) or np.sign(f_lo) == np.sign(f_hi):
        raise ValueError(f"no sign change on [{lo}, {hi}]: {f_lo:.4g}, {f_hi:.4g}")
    for _ in range(max_iter):
        if hi - lo <= tol:
            break
        mid = 0.5 * (lo + hi)
        f_mid = fun(mid)
        if np.sign(f_mid) == np.sign(f_lo):
            lo, f_lo = mid, f_mid
        else:
            hi, f_hi = mid, f_mid
    return 0.5 * (lo + hi)


def sid_window(
    base: TriplonParams,
    P: float = 0.5625,
    S_bracket_low=(1.8, 2.1),
    S_bracket_high=(2.2, 2.5),
    grid: int = 256,
    tol: float = 1e-4,
) -> dict:
    """Ends of the s+id window on the line ``kappa_a kappa_b = P`` (other parameters from ``base``).

    Returns ``S_low``, ``S_high`` and the ``(kappa_a, kappa_b)`` of both ends, with the
    brackets used; ``tol`` is the bisection tolerance in ``S``.
    """
    require_x64()

    def at(S):
        ka, kb = kappas_on_line(S, P)
        return base.replace(kappa_a=ka, kappa_b=kb)

    # s+- branch: stable (imag block > 0) below S_low, unstable above
    S_low = _bisect(lambda S: imaginary_stability(at(S), grid, "s"), *S_bracket_low, tol)
    # d branch: unstable below S_high, stable above
    S_high = _bisect(lambda S: imaginary_stability(at(S), grid, "d"), *S_bracket_high, tol)
    return {
        "P": P,
        "S_low": S_low,
        "S_high": S_high,
        "kappa_low": kappas_on_line(S_low, P),
        "kappa_high": kappas_on_line(S_high, P),
        "grid": grid,
        "tol_S": tol,
    }


def sid_onset_temperature(p: TriplonParams, grid: int = 256, tol_K: float = 0.05) -> dict:
    """``T_sid`` (K): below it the leading real branch is unstable towards s+id (``p.T`` ignored).

    The leading branch at ``T_c`` is the channel with the higher ``T_c``; the onset is
    the zero of its imaginary Hessian block on ``(0, T_c)``.  Returns ``T_sid_K``,
    ``tc_s_K``, ``tc_d_K`` and ``leading``; ``T_sid_K`` is NaN where the leading branch is
    stable down to ``T = 0`` (no s+id at any temperature below ``T_c``).
    """
    require_x64()
    tc = critical_temperatures(p, grid)
    tc_s, tc_d = float(tc.tc_s), float(tc.tc_d)
    leading = "s" if tc_s >= tc_d else "d"
    tc_lead = max(tc_s, tc_d)
    if not tc_lead > 0:
        raise ValueError("no superconducting instability: T_c = 0 in both channels")

    def h(T):
        return imaginary_stability(p.replace(T=T), grid, leading)

    lo = 0.0
    hi = tc_lead * 0.98
    if h(lo) > 0:
        return {"T_sid_K": float("nan"), "tc_s_K": tc_s / K_B, "tc_d_K": tc_d / K_B, "leading": leading}
    T = _bisect(h, lo, hi, tol_K * K_B)
    return {"T_sid_K": T / K_B, "tc_s_K": tc_s / K_B, "tc_d_K": tc_d / K_B, "leading": leading}
