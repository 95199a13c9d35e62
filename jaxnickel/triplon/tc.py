"""Critical temperatures from the linearised gap equation, per symmetry channel.

``T_c`` of a channel is the temperature where the leading eigenvalue of the
linearised kernel (:func:`~jaxnickel.triplon.pairing.channel_eigenvalues`) equals 1.
The eigenvalue decreases monotonically with T (every entry of ``M^b(T)`` does), so
the root is found by bisection in ``log T`` (optimistix; differentiable by the
implicit function theorem).  Channels: s+- (A1g) and d (B1g); the one with the
higher T_c leads.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..lattice import Square
from ..solvers import bisect_monotone, require_x64
from .pairing import channel_eigenvalues, make_grid
from .params import K_B, TriplonParams, validate_params

__all__ = ["TcResult", "critical_temperatures", "critical_temperatures_jax", "T_MIN", "T_MAX"]

#: bracket of the T_c search, eV (1e-7 eV ~ 1 mK; 2 eV ~ 23000 K)
T_MIN = 1e-7
T_MAX = 2.0


class TcResult(eqx.Module):
    """``tc_s``, ``tc_d`` in eV (0 where the channel has no instability above T_MIN, NaN
    if it is unstable even at T_MAX);
    ``leading``: 1 (s+-) or 2 (d), 0 if neither; ``lambda_*_at_tmin``: eigenvalues at T_MIN."""

    tc_s: jax.Array
    tc_d: jax.Array
    leading: jax.Array
    lambda_s_at_tmin: jax.Array
    lambda_d_at_tmin: jax.Array

    @property
    def tc(self):
        return jnp.maximum(self.tc_s, self.tc_d)

    def kelvin(self) -> dict:
        return {"tc_s": float(self.tc_s) / K_B, "tc_d": float(self.tc_d) / K_B, "tc": float(self.tc) / K_B}


def critical_temperatures_jax(p: TriplonParams, grid: int = 512) -> TcResult:
    """Pure core of :func:`critical_temperatures` (jit/vmap/grad-able)."""
    kx, ky = Square(grid).momenta()
    g = make_grid(p, kx, ky)

    def lam(logT, idx):
        return channel_eigenvalues(jnp.exp(logT), p, g)[idx]

    lo, hi = jnp.log(T_MIN), jnp.log(T_MAX)
    out = []
    for idx in (0, 1):
        lam_lo = lam(lo, idx)
        lam_hi = lam(hi, idx)
        bracketed = (lam_lo > 1.0) & (lam_hi < 1.0)

        # without a sign change in the bracket, bisect a dummy with a root (result unused)
        def h(x, _, i=idx, ok=bracketed):
            return jnp.where(ok, lam(x, i) - 1.0, x - 0.5 * (lo + hi))

        root = bisect_monotone(h, lo, hi, atol=1e-12)
        tc = jnp.where(bracketed, jnp.exp(root), jnp.where(lam_hi >= 1.0, jnp.nan, 0.0))
        out.append((tc, lam_lo))
    (tcs, ls), (tcd, ld) = out
    leading = jnp.where((tcs == 0) & (tcd == 0), 0, jnp.where(tcs >= tcd, 1, 2))
    return TcResult(tc_s=tcs, tc_d=tcd, leading=leading, lambda_s_at_tmin=ls, lambda_d_at_tmin=ld)


_tc_jit = eqx.filter_jit(critical_temperatures_jax)


def critical_temperatures(p: TriplonParams, grid: int = 512, *, progress: bool = False) -> TcResult:
    """``T_c`` of the s+- and d channels from the linearised Eq. (14) on a ``grid x grid`` mesh.

    On a finite grid the linearised kernel stays finite as T -> 0, so a weak
    coupling can have no instability above ``T_MIN``: ``tc = 0`` then.  The
    temperature in ``p.T`` is ignored.  ``progress``: "compiling ..." and timing lines
    on stderr (:mod:`jaxnickel.progress`).
    """
    from ..progress import compiling, stage
    from ..solvers.dtype import require_float64_params

    require_x64()
    validate_params(p, grid)
    require_float64_params(p, "params (TriplonParams)")
    compiling(("tc", grid), f"the T_c search on a {grid}x{grid} grid", enabled=progress)
    with stage(f"T_c search (s+- and d, bisection in log T, {grid}x{grid} grid)", enabled=progress):
        out = jax.block_until_ready(_tc_jit(p, grid))
    return out
