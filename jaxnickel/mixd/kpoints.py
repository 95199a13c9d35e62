r"""Reduced k-point sets of the MixD solves: the irreducible wedge of the lattice's point group.

Every sum of the MixD functional (B9) and of its stationarity conditions (B15), (B17),
(B19) is a zone average of a function of ``xi_k`` and ``Delta_k`` times the form factors.
In a state that keeps the point-group symmetry of the lattice (the extended s-wave state
of the paper, and every state the cold-started solvers reach: their seeds have ``M = 0``
and a Newton step maps a symmetric state to a symmetric state), the kernel moments
``M_i = <sin(theta) phi_i>`` of the odd basis functions ``sin k_a`` vanish and those of
``cos kx`` and ``cos ky`` are equal, so ``xi_k`` and ``Delta_k`` depend on ``k`` only
through ``(cos kx, cos ky)`` (and symmetrically in the two on a square lattice).  Every
zone sum then equals a weighted sum over the irreducible wedge, with the size of each
point's orbit as its weight:

* square ``L x L`` (C4v): ``0 <= b <= a <= L/2`` in units of ``2 pi / L``, weight
  ``f(a) f(b) (2 if a != b else 1)`` with ``f(x) = 1`` at ``x = 0`` and ``x = L/2``, else 2
  (8 inside, 4 on the edges, 1 at Gamma and M, 2 at X): ``~N/8`` points;
* rectangle ``Lx x Ly`` (C2v): ``0 <= a <= Lx/2``, ``0 <= b <= Ly/2``, weight
  ``f(a) f(b)``: ``~N/4`` points, ``M_cos x != M_cos y`` allowed;
* ladder ``L`` (k -> -k): ``0 <= a <= L/2``, weight ``f(a)``: ``~N/2`` points.

The reduced unknowns are ``z = (b, mu, M_c)`` with one cosine moment on the square and the
ladder and two on the rectangle; :func:`embed` gives the full moment vector
``(M_cos x, M_cos y, M_sin x, M_sin y)``.  States that break the symmetry (a warm start
with ``M_sin != 0`` or ``M_cos x != M_cos y``) need the full zone (``zone="full"``).

No index tables and no trigonometry per point: the square's wedge is packed into a
rectangle of ``ceil((L/2 + 1)/2) x (L/2 + 2)`` points (triangle rows ``r`` and
``L/2 - r`` side by side; the duplicate half of the middle row of an odd count has weight
0), whose coordinates are integer arithmetic on ``iota``, and ``cos k`` comes from one
table of ``L/2 + 1`` cosines.  :func:`expand` maps wedge values back to the full grid (C
order of :meth:`jaxnickel.lattice.Square.momenta`) by one gather.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = [
    "ZONES",
    "Wedge",
    "wedge",
    "quarter",
    "forms",
    "to_quarter",
    "unfold",
    "expand",
    "embed",
    "project",
    "describe_zone",
    "wedge_size",
    "quarter_size",
    "representative",
]

#: ``"auto"``: the wedge for cold starts and warm starts from wedge solutions, else the full
#: zone; ``"wedge"``: the irreducible wedge (symmetric states only); ``"full"``: all N points
ZONES = ("auto", "wedge", "full")


class Wedge(eqx.Module):
    """The k points of the irreducible wedge: ``cos kx``, ``cos ky`` (0 on the ladder), weights.

    ``weight`` is the orbit size over ``N``: ``sum(weight) == 1``, so a weighted sum is the
    zone average ``<f>``.  ``a``, ``b``: integer momenta ``k = 2 pi (a, b) / L`` of each point.
    """

    cx: jax.Array
    cy: jax.Array
    weight: jax.Array
    a: jax.Array
    b: jax.Array
    kind: str = eqx.field(static=True)


def _fold(x, L):
    """Images of one coordinate under ``k -> -k``: 1 at 0 and at L/2, else 2."""
    return jnp.where((x == 0) | (2 * x == L), 1, 2)


def _cosines(L: int):
    """``cos(2 pi i / L)``, ``i = 0..L//2``: the same floats as ``jnp.cos`` of the grid momenta."""
    return jnp.cos(2.0 * jnp.pi * jnp.arange(L // 2 + 1) / L)


def _packed_triangle(L: int):
    """Integer coordinates ``(a, b)``, ``0 <= b <= a <= h = L//2``, packed in a rectangle; validity."""
    h = L // 2
    R = (h + 2) // 2  # ceil((h + 1) / 2) rows
    r = jnp.arange(R)[:, None]
    j = jnp.arange(h + 2)[None, :]
    first = j <= r
    a = jnp.where(first, r, h - r)
    b = jnp.where(first, j, j - r - 1)
    # with an odd number h + 1 of rows the middle row r = h/2 pairs with itself: drop its copy
    valid = first | (h - r != r)
    shape = (R, h + 2)
    return (
        jnp.broadcast_to(a, shape).reshape(-1),
        jnp.broadcast_to(b, shape).reshape(-1),
        jnp.broadcast_to(valid, shape).reshape(-1),
    )


def wedge_size(lattice) -> int:
    """Number of points of :func:`wedge` (including the weight-0 half row of the square)."""
    if lattice.dim == 1:
        return lattice.L // 2 + 1
    if lattice.Lx == lattice.Ly:
        h = lattice.Lx // 2
        return ((h + 2) // 2) * (h + 2)
    return (lattice.Lx // 2 + 1) * (lattice.Ly // 2 + 1)


def wedge(lattice, *, c4v: bool = True) -> Wedge:
    """The irreducible wedge of ``lattice`` (module docstring).

    ``c4v=False`` gives the C2v quarter zone of a square lattice too (for states with
    ``M_cos x != M_cos y``, e.g. the fine grid of a rectangular lattice's solution).
    """
    n = lattice.n_sites
    if lattice.dim == 1:
        L = lattice.L
        a = jnp.arange(L // 2 + 1)
        cx = _cosines(L)
        return Wedge(cx=cx, cy=jnp.zeros_like(cx), weight=_fold(a, L) / n, a=a, b=jnp.zeros_like(a), kind="ladder")
    Lx, Ly = lattice.Lx, lattice.Ly
    if Lx == Ly and c4v:
        a, b, valid = _packed_triangle(Lx)
        c = _cosines(Lx)
        m = _fold(a, Lx) * _fold(b, Lx) * jnp.where(a == b, 1, 2)
        weight = jnp.where(valid, m, 0) / n
        return Wedge(cx=c[a], cy=c[b], weight=weight, a=a, b=b, kind="square")
    A = jnp.arange(Lx // 2 + 1)[:, None]
    B = jnp.arange(Ly // 2 + 1)[None, :]
    shape = (Lx // 2 + 1, Ly // 2 + 1)
    a = jnp.broadcast_to(A, shape).reshape(-1)
    b = jnp.broadcast_to(B, shape).reshape(-1)
    weight = (_fold(a, Lx) * _fold(b, Ly)) / n
    return Wedge(cx=_cosines(Lx)[a], cy=_cosines(Ly)[b], weight=weight, a=a, b=b, kind="rectangle")


def n_cos_moments(lattice) -> int:
    """Number of reduced kernel moments: 2 on a rectangle, else 1."""
    return 2 if lattice.dim == 2 and lattice.Lx != lattice.Ly else 1


def forms(w: Wedge, lattice):
    """``(Phi, Psi)``, each a list of ``(K,)`` arrays on the points ``w``, in the reduced moments of
    ``lattice``: ``Delta = 4 t b g - U sum_c M_c Phi_c`` and ``M_c = <sin(theta) Psi_c>``.

    (``w`` may be another point set than ``lattice``'s wedge: its quarter zone, a fine grid.)
    """
    if lattice.dim == 1:
        return [w.cx], [w.cx]
    if lattice.Lx == lattice.Ly:
        gamma = w.cx + w.cy
        return [gamma], [0.5 * gamma]  # M_x = M_y = <s (cx + cy)/2>
    return [w.cx, w.cy], [w.cx, w.cy]


def embed(lattice, mc):
    """Full moment vector ``(M_cos..., M_sin...)`` of the reduced moments ``mc``."""
    zero = jnp.zeros((lattice.dim,), dtype=jnp.result_type(mc))
    if lattice.dim == 1:
        return jnp.concatenate([mc[:1], zero])
    if lattice.Lx == lattice.Ly:
        return jnp.concatenate([mc[:1], mc[:1], zero])
    return jnp.concatenate([mc[:2], zero])


def project(lattice, m):
    """Reduced moments of a full moment vector (its symmetric part; odd moments dropped)."""
    if lattice.dim == 2 and lattice.Lx == lattice.Ly:
        return 0.5 * (m[:1] + m[1:2])
    return m[: n_cos_moments(lattice)]


def _fold_index(i, L):
    return jnp.minimum(i, L - i)


def quarter(lattice) -> Wedge:
    """The quarter zone ``0 <= a <= Lx/2, 0 <= b <= Ly/2`` (the half chain on a ladder), C order.

    The fold of the full grid by ``k_a -> -k_a``: every symmetric field on the full grid is
    :func:`unfold` of its values here.  (The wedge of a rectangle or a ladder is this set.)
    """
    if lattice.dim == 1 or lattice.Lx != lattice.Ly:
        return wedge(lattice)
    return wedge(lattice, c4v=False)


def to_quarter(lattice, values):
    """Values on the wedge ``(..., K)`` -> values on :func:`quarter` (the same for all but the square)."""
    if lattice.dim == 1 or lattice.Lx != lattice.Ly:
        return values
    L = lattice.Lx
    h = L // 2
    R = (h + 2) // 2
    f = jnp.arange(h + 1)
    A = jnp.maximum(f[:, None], f[None, :])
    B = jnp.minimum(f[:, None], f[None, :])
    top = A < R
    row = jnp.where(top, A, h - A)
    col = jnp.where(top, B, B + h - A + 1)
    return jnp.take(values, (row * (h + 2) + col).reshape(-1), axis=-1)


def _unfold_axis(q, L, axis):
    h = L // 2
    rest = jax.lax.slice_in_dim(q, 1, L - h, axis=axis)  # folded indices 1 .. L-h-1
    return jnp.concatenate([q, jnp.flip(rest, axis=axis)], axis=axis)


def unfold(lattice, values):
    """Full-grid array ``(..., N)`` (C order of ``lattice.momenta()``) of values on :func:`quarter`.

    ``f(k) = f(fold(k))`` with ``fold(i) = min(i, L - i)`` on each axis: slices and reversals,
    no gather.
    """
    if lattice.dim == 1:
        return _unfold_axis(values, lattice.L, -1)
    Lx, Ly = lattice.Lx, lattice.Ly
    q = values.reshape(values.shape[:-1] + (Lx // 2 + 1, Ly // 2 + 1))
    q = _unfold_axis(_unfold_axis(q, Lx, -2), Ly, -1)
    return q.reshape(values.shape[:-1] + (Lx * Ly,))


def expand(lattice, values):
    """Full-grid array ``(..., N)`` of per-wedge-point ``values`` ``(..., K)``."""
    return unfold(lattice, to_quarter(lattice, values))


def quarter_size(lattice) -> int:
    """Number of points of :func:`quarter`."""
    if lattice.dim == 1:
        return lattice.L // 2 + 1
    return (lattice.Lx // 2 + 1) * (lattice.Ly // 2 + 1)


def representative(lattice, w: Wedge, i):
    """Momentum ``(k_a,)`` of the image of wedge point ``i`` that comes first in the full grid's C order.

    (So an ``argmin`` over the wedge names the same k point as over the full grid.)  On the
    square the first image of ``(a, b)``, ``b <= a``, is ``(b, a)``.
    """
    if lattice.dim == 1:
        return jnp.stack([2.0 * jnp.pi * w.a[i] / lattice.L])
    if w.kind == "square":
        L = lattice.Lx
        return jnp.stack([2.0 * jnp.pi * w.b[i] / L, 2.0 * jnp.pi * w.a[i] / L])
    return jnp.stack([2.0 * jnp.pi * w.a[i] / lattice.Lx, 2.0 * jnp.pi * w.b[i] / lattice.Ly])


def describe_zone(lattice, zone: str) -> tuple[str, int]:
    """``(text, number of points summed)`` of a solve's k-point set, for the solution's record."""
    n = lattice.n_sites
    if zone == "full":
        return f"full zone ({n} points)", n
    k = wedge_size(lattice)
    if lattice.dim == 1:
        group = "k -> -k half chain"
    elif lattice.Lx == lattice.Ly:
        group = "C4v wedge"
    else:
        group = "C2v quarter zone"
    return f"{group} ({k} points for {n}, exact for the symmetric state)", k
