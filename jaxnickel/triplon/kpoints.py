r"""Reduced k-point sets of the triplon solves: the C4v wedge and the pairing shell.

Every quantity of the gap equation (14), its free energy and its linearised kernel is a
sum over the zone of a function of ``(xi_alpha(k), xi_beta(k), eta_k)`` only (the gap is
``Delta_b(k) = c_b . w_b(xi_b)(1, eta, eta^2)``).  The bands of Eq. (5) are invariant under
the point group C4v of the square lattice, and ``eta = cos kx - cos ky`` is odd under the
mirror ``kx <-> ky`` and even under ``k_a -> -k_a``.  So the ``n x n`` zone sum equals a
weighted sum over the irreducible wedge ``0 <= ky <= kx <= pi`` *and its mirror image*:

    (1/N) sum_k F(xi(k), eta_k) = (1/N) sum_{k in wedge} (m_k / 2) [F(xi, eta_k) + F(xi, -eta_k)],

with ``m_k`` the size of the C4v orbit of ``k`` on the grid (8 inside, 4 on the edges
``ky = 0``, ``kx = pi``, ``kx = ky``, 1 at Gamma and M, 2 at X).  The identity is exact for
*every* state of the model (s+-, d, s+id and the symmetry-broken s+d alike), since it holds
for any function of ``(xi, eta)``: the solves, the stability Hessian and the T_c search use
the same set, with ``~N/4`` points instead of ``N`` (:func:`point_set`, ``zone="wedge"``).

A state of one parity under the mirror needs the wedge alone (``~N/8`` points,
:func:`wedge_alone`): an s+- gap (A1g, coefficients on ``(1, eta^2)``) is the same at ``k``
and its mirror image, a d gap (B1g, on ``eta``) is opposite there, and every term of the
free energy is even in the gap, so the mirror copy repeats each term and the sum is twice
the wedge's.  The moments of the other parity (``<eta chi>`` for s, ``<chi>``, ``<eta^2
chi>`` for d) cancel between the two copies and are zero: a channel solve on the wedge
alone drops them (the real s+- and d channels of :func:`~jaxnickel.triplon.solve.solve_jax`).
The s+id branch and the stability Hessian mix the parities and keep the mirror.

Pairing shell.  With the sharp cutoff ``w = Theta(Omega - |xi|)``, a point outside the
shells of both bands has ``u^alpha = u^beta = 0``: its gaps vanish, it adds nothing to any
moment, to the free energy (``|xi| - E = 0``, the thermal terms cancel) or to the kernel,
and its residual is 0.  Dropping those points is exact.  The number of shell points
depends on the (traced) band parameters, so the set has a static size ``shell_points``
chosen on the host (:func:`shell_size`, rounded up to a bucket so that a scan over
parameters does not recompile for every count); padding points carry weight 0 and
``u = 0``.  If the shell does not fit (a caller's ``shell_points`` too small for its
parameters) ``grid.dropped > 0`` and the solve reports failure instead of a wrong answer.
The Lorentzian cutoff has no finite support: it keeps the whole wedge.

No trigonometry per point: ``cos kx`` takes ``n`` values on the grid, so one table of
``n`` cosines builds every band energy (:func:`~jaxnickel.triplon.bands.dispersion_cos`,
bit-identical to :func:`~jaxnickel.triplon.bands.dispersion`).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .bands import dispersion_cos
from .pairing import TriplonGrid, grid_from_bands
from .params import TriplonParams

__all__ = [
    "ZONES",
    "wedge_indices",
    "point_set",
    "wedge_alone",
    "shell_size",
    "bucket_size",
    "describe_reduction",
    "grid_gaps",
]

#: ``"wedge"``: the C4v wedge and its mirror (exact for every state); ``"full"``: all ``n^2`` points
ZONES = ("wedge", "full")


@functools.lru_cache(maxsize=32)
def wedge_indices(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid indices ``(a, b)`` of the wedge ``0 <= b <= a <= n/2`` and the orbit sizes ``m``.

    ``k = 2 pi (a, b) / n``; ``sum(m) == n^2`` (checked).
    """
    h = n // 2
    r = np.arange(h + 1)
    A, B = np.meshgrid(r, r, indexing="ij")
    keep = B <= A
    a, b = A[keep], B[keep]

    def fold(x):  # images of one coordinate under k -> -k: 1 at 0 and pi, else 2
        return np.where((x == 0) | (2 * x == n), 1, 2)

    m = fold(a) * fold(b) * np.where(a == b, 1, 2)
    if int(m.sum()) != n * n:  # pragma: no cover - a bug in the orbit count
        raise AssertionError(f"wedge multiplicities of the {n}x{n} grid sum to {int(m.sum())}, not {n * n}")
    for arr in (a, b, m):
        arr.setflags(write=False)
    return a, b, m


def _cosines(n: int):
    """``cos(2 pi i / n)``, ``i = 0..n-1``: the same floats as ``jnp.cos`` of the grid momenta."""
    return jnp.cos(2.0 * jnp.pi * jnp.arange(n) / n)


def _full_cos(n: int):
    c = _cosines(n)
    cx = jnp.broadcast_to(c[:, None], (n, n)).reshape(-1)
    cy = jnp.broadcast_to(c[None, :], (n, n)).reshape(-1)
    return cx, cy, None


def _shell_mask(xa, xb, omega):
    return (jnp.abs(xa) < omega) | (jnp.abs(xb) < omega)


def point_set(p: TriplonParams, n: int, zone: str = "wedge", shell_points: int | None = None) -> TriplonGrid:
    """The k-point set of an ``n x n`` solve (module docstring).

    ``zone``: ``"wedge"`` (C4v wedge and mirror, ``~n^2/4`` points, exact) or ``"full"``
    (all ``n^2`` points in the order of :meth:`jaxnickel.lattice.Square.momenta`).
    ``shell_points``: keep only the points inside the sharp pairing shell of either band,
    padded to this static size (``None``: no shell compression; the Lorentzian cutoff
    does not allow it).
    """
    if zone not in ZONES:
        raise ValueError(f"zone must be one of {ZONES}, got {zone!r}")
    if shell_points is not None:
        if p.cutoff != "sharp":
            raise ValueError(f"shell_points needs the sharp cutoff (a finite shell), got cutoff={p.cutoff!r}")
        if not isinstance(shell_points, int) or isinstance(shell_points, bool) or shell_points < 1:
            raise ValueError(f"shell_points must be a positive integer, got {shell_points!r}")
    if zone == "full":
        cx, cy, _ = _full_cos(n)
        xa, xb = dispersion_cos(cx, cy, p.bands)
        eta, weight = cx - cy, jnp.ones_like(cx)
        dropped = None
        if shell_points is not None:
            xa, xb, eta, weight, dropped = _compress(xa, xb, eta, weight, p.omega, min(shell_points, n * n))
        return grid_from_bands(p, xa, xb, eta, weight=weight, n_cells=float(n * n), dropped=dropped)
    # the wedge, then its mirror kx <-> ky: same band energies (bit for bit: they are
    # symmetric sums and products of cos kx, cos ky), opposite eta, so the band energies
    # and the shell compression run over the wedge only and the mirror is a copy
    a, b, m = wedge_indices(n)
    c = _cosines(n)
    cx, cy = c[a], c[b]
    xa, xb = dispersion_cos(cx, cy, p.bands)
    eta, weight = cx - cy, jnp.asarray(m / 2.0)
    dropped = None
    if shell_points is not None:
        half = min(-(-shell_points // 2), a.size)
        xa, xb, eta, weight, dropped = _compress(xa, xb, eta, weight, p.omega, half)
        dropped = 2 * dropped

    def twice(x):
        return jnp.concatenate([x, x])

    return grid_from_bands(
        p,
        twice(xa),
        twice(xb),
        jnp.concatenate([eta, -eta]),
        weight=twice(weight),
        n_cells=float(n * n),
        dropped=dropped,
    )


def wedge_alone(grid: TriplonGrid, parity) -> TriplonGrid:
    """The C4v wedge without its mirror: the first half of a ``zone="wedge"`` set, weights doubled.

    Exact for states of one mirror parity (module docstring), ``~N/8`` points: ``parity``
    ``(1, 0, 1)`` for s+- (gap on ``(1, eta^2)``) or ``(0, 1, 0)`` for d (on ``eta``) becomes
    ``grid.parity``, which drops the couplings of the other parity's moments (zero on the
    zone, not on the wedge) from every sum of :mod:`~jaxnickel.triplon.pairing`.  ``grid``
    must come from :func:`point_set` with ``zone="wedge"`` (wedge, then its mirror copy).
    """
    h = grid.eta.shape[-1] // 2
    return TriplonGrid(
        xi_alpha=grid.xi_alpha[:h],
        xi_beta=grid.xi_beta[:h],
        u_alpha=grid.u_alpha[:, :h],
        u_beta=grid.u_beta[:, :h],
        eta=grid.eta[:h],
        weight=2.0 * grid.weight[:h],
        n_cells=grid.n_cells,
        dropped=grid.dropped,
        powers=2.0 * grid.powers[:, :h],
        parity=jnp.asarray(parity, dtype=grid.eta.dtype),
    )


def _compress(xa, xb, eta, weight, omega, size):
    """The points inside the sharp shell of either band, padded to ``size`` (static); and the number dropped."""
    inside = _shell_mask(xa, xb, omega)
    count = jnp.sum(inside)
    (idx,) = jnp.nonzero(inside, size=size, fill_value=0)
    valid = jnp.arange(size) < count
    pad = 2.0 * omega + 1.0  # outside both shells: w = 0, so u = 0 and nothing is summed
    return (
        jnp.where(valid, xa[idx], pad),
        jnp.where(valid, xb[idx], pad),
        jnp.where(valid, eta[idx], 0.0),
        jnp.where(valid, weight[idx], 0.0),
        jnp.maximum(count - size, 0),
    )


def bucket_size(count: int, total: int) -> int:
    """``count`` rounded up to ``m 2^e`` with ``8 <= m <= 15`` (at most 12.5 % padding), capped at ``total``.

    Sizes from a few buckets only: a scan whose shell grows and shrinks reuses its
    compiled programs.
    """
    count = max(int(count), 1)
    if count <= 64:
        return min(64, total)
    e = int(math.floor(math.log2(count))) - 3
    m = -(-count // (1 << e))  # ceil
    return min(m << e, total)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _shell_count(p: TriplonParams, n: int, zone: str):
    if zone == "full":
        cx, cy, _ = _full_cos(n)
    else:  # the wedge and its mirror: twice the wedge's count (point_set)
        a, b, _ = wedge_indices(n)
        c = _cosines(n)
        cx, cy = c[a], c[b]
    count = jnp.sum(_shell_mask(*dispersion_cos(cx, cy, p.bands), p.omega))
    return count if zone == "full" else 2 * count


#: shell sizes by (n, zone, band parameters and Omega as floats): one count per shell
_SHELL_SIZES: dict = {}


def shell_size(p: TriplonParams, n: int, zone: str = "wedge") -> int | None:
    """Static size of the shell-compressed set for concrete parameters ``p`` (host side).

    ``None`` for the Lorentzian cutoff (no finite shell).  For a scan, call it per point
    and take the largest bucket.
    """
    if p.cutoff != "sharp":
        return None
    if zone not in ZONES:
        raise ValueError(f"zone must be one of {ZONES}, got {zone!r}")
    total = n * n if zone == "full" else 2 * len(wedge_indices(n)[0])
    leaves = jax.tree_util.tree_leaves((p.bands, p.omega))
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        raise ValueError(
            "shell_size needs concrete parameters (it fixes a static array size): call it outside jit/vmap "
            "and pass the result as shell_points"
        )
    if any(jnp.ndim(x) for x in leaves):
        raise ValueError("shell_size takes one parameter point (call it per point of a scan)")
    # once per (bands, mu, Omega, grid): a scan over lambda, kappa or T, or a repeated
    # solve, reuses the count instead of a pass over the wedge (the cache keys on the
    # values; the parameters object is passed along only to compute a missing entry)
    key = (n, zone, *(np.asarray(x, dtype=np.float64).item() for x in leaves))
    size = _SHELL_SIZES.get(key)
    if size is None:
        if len(_SHELL_SIZES) >= 1024:
            _SHELL_SIZES.clear()
        size = _SHELL_SIZES[key] = bucket_size(int(_shell_count(p, n, zone)), total)
    return size


def describe_reduction(n: int, zone: str, shell_points: int | None, warm_start: bool = False) -> tuple[str, int]:
    """``(text, number of points summed)`` of a set, for the solution's record.

    ``warm_start``: a solve from a given start, whose real branch (of no definite parity)
    keeps the mirror; only its seeds use the wedge alone.
    """
    total = n * n
    if zone == "full":
        pts, text = total, f"full zone ({total} points)"
    else:
        pts = 2 * len(wedge_indices(n)[0])
        text = f"C4v wedge and its kx<->ky mirror ({pts} points for {total}, exact)"
    if shell_points is not None:
        # the wedge's shell is compressed once and mirrored: an even number of points
        pts = min(shell_points, pts) if zone == "full" else 2 * min(-(-shell_points // 2), pts // 2)
        text += f", sharp pairing shell ({pts} points incl. padding, exact)"
    if zone != "full":
        alone = "the seeds" if warm_start else "the real s+- and d channels"
        text += f"; {alone} on the wedge alone ({pts // 2} points, exact for one mirror parity)"
    return text, pts


def grid_gaps(p: TriplonParams, n: int, r):
    """Gaps ``(Re Delta_alpha, Re Delta_beta, Im Delta_alpha, Im Delta_beta)`` on the full ``n x n`` grid.

    ``r``: the 12 gap coefficients ``(Re c, Im c)``; ``Delta_b = w_b(xi_b) (c_b0 + c_b1 eta + c_b2 eta^2)``.
    One fused pass from the table of ``n`` cosines (flattened in C order, as
    :meth:`jaxnickel.lattice.Square.momenta`); ``(4, n^2)``.
    """
    from .pairing import cutoff_weight

    c = _cosines(n)
    cx, cy = c[:, None], c[None, :]
    xa, xb = dispersion_cos(cx, cy, p.bands)
    eta = cx - cy
    w = jnp.stack([cutoff_weight(xa, p.omega, p.cutoff), cutoff_weight(xb, p.omega, p.cutoff)])
    C = jnp.reshape(r, (4, 3))[:, :, None, None]  # rows: Re alpha, Re beta, Im alpha, Im beta
    return (jnp.concatenate([w, w]) * (C[:, 0] + eta * (C[:, 1] + eta * C[:, 2]))).reshape(4, n * n)
