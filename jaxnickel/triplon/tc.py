"""Critical temperatures from the linearised gap equation, per symmetry channel.

``T_c`` of a channel is the temperature where the leading eigenvalue of the
linearised kernel (:func:`~jaxnickel.triplon.pairing.channel_eigenvalues`) equals 1.
The eigenvalue decreases monotonically with T (every entry of ``M^b(T)`` does).

Search.  Both channels at once: each step evaluates the kernel at two temperatures
(one per channel) in one fused pass over the k points, and both channels' eigenvalues
come from every evaluation.  The root of ``ln lambda(ln T) = 0`` is found by the
Illinois variant of regula falsi (:func:`~jaxnickel.solvers.bracketed_secant`) in
``ln T``: ``ln lambda`` is nearly linear in ``ln T`` at both ends of the bracket
(``lambda ~ a - b ln T`` below T_c, ``~ 1/T`` far above), so the search needs about
ten kernel evaluations where bisection to the same tolerance needed 92.  The root is
differentiable by the implicit function theorem (:func:`jax.lax.custom_root`).  The
sums run over the C4v wedge and, for the sharp cutoff, the pairing shell only
(:mod:`~jaxnickel.triplon.kpoints`; exact).  Channels: s+- (A1g) and d (B1g); the one
with the higher T_c leads.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..solvers import bracketed_secant, require_x64
from .kpoints import point_set, shell_size
from .pairing import channel_eigenvalues
from .params import K_B, TriplonParams, validate_params

__all__ = ["TcResult", "critical_temperatures", "critical_temperatures_jax", "T_MIN", "T_MAX", "TC_ATOL"]

#: bracket of the T_c search, eV (1e-7 eV ~ 1 mK; 2 eV ~ 23000 K)
T_MIN = 1e-7
T_MAX = 2.0
#: tolerance of the search in ln T (relative tolerance of T_c)
TC_ATOL = 1e-12


class TcResult(eqx.Module):
    """``tc_s``, ``tc_d`` in eV (0 where the channel has no instability above T_MIN, NaN
    if it is unstable even at T_MAX);
    ``leading``: 1 (s+-) or 2 (d), 0 if neither; ``lambda_*_at_tmin``: eigenvalues at T_MIN;
    ``evaluations``: kernel evaluations of the search (each at two temperatures, both channels)."""

    tc_s: jax.Array
    tc_d: jax.Array
    leading: jax.Array
    lambda_s_at_tmin: jax.Array
    lambda_d_at_tmin: jax.Array
    evaluations: jax.Array

    @property
    def tc(self):
        return jnp.maximum(self.tc_s, self.tc_d)

    def kelvin(self) -> dict:
        return {"tc_s": float(self.tc_s) / K_B, "tc_d": float(self.tc_d) / K_B, "tc": float(self.tc) / K_B}


def critical_temperatures_jax(
    p: TriplonParams, grid: int = 512, *, zone: str = "wedge", shell_points: int | None = None
) -> TcResult:
    """Pure core of :func:`critical_temperatures` (jit/vmap/grad-able).

    ``zone``/``shell_points``: the k-point set (:func:`~jaxnickel.triplon.kpoints.point_set`;
    ``shell_points`` static, from :func:`~jaxnickel.triplon.kpoints.shell_size`).
    """
    g = point_set(p, grid, zone, shell_points)

    def lambdas(logT):
        """``(n_T, 2)``: ``(lambda_s, lambda_d)`` at each ``ln T`` (one fused pass for all)."""
        return jax.vmap(lambda t: jnp.stack(channel_eigenvalues(jnp.exp(t), p, g)[:2]))(logT)

    lo, hi = jnp.log(T_MIN), jnp.log(T_MAX)
    ends = lambdas(jnp.stack([lo, hi]))  # (T_MIN, T_MAX) x (s, d)
    lam_lo, lam_hi = ends[0], ends[1]
    bracketed = (lam_lo > 1.0) & (lam_hi < 1.0)
    mid = 0.5 * (lo + hi)
    tiny = 1e-300

    def h(x):
        # channel i at ln T = x[i]; without a sign change, a dummy with a root (result unused)
        lam = jnp.diagonal(lambdas(x))
        return jnp.where(bracketed, jnp.log(jnp.maximum(lam, tiny)), x - mid)

    f_lo = jnp.where(bracketed, jnp.log(jnp.maximum(lam_lo, tiny)), lo - mid)
    f_hi = jnp.where(bracketed, jnp.log(jnp.maximum(lam_hi, tiny)), hi - mid)
    root, steps = bracketed_secant(h, jnp.full(2, lo), jnp.full(2, hi), f_lo, f_hi, atol=TC_ATOL)
    tc = jnp.where(bracketed, jnp.exp(root), jnp.where(lam_hi >= 1.0, jnp.nan, 0.0))
    tcs, tcd = tc[0], tc[1]
    leading = jnp.where((tcs == 0) & (tcd == 0), 0, jnp.where(tcs >= tcd, 1, 2))
    return TcResult(
        tc_s=tcs,
        tc_d=tcd,
        leading=leading,
        lambda_s_at_tmin=lam_lo[0],
        lambda_d_at_tmin=lam_lo[1],
        evaluations=steps + 1,
    )


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
    shell_points = shell_size(p, grid)
    compiling(("tc", grid, shell_points), f"the T_c search on a {grid}x{grid} grid", enabled=progress)
    with stage(f"T_c search (s+- and d, regula falsi in log T, {grid}x{grid} grid)", enabled=progress):
        out = jax.block_until_ready(_tc_jit(p, grid, shell_points=shell_points))
    return out
