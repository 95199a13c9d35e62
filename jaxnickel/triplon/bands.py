r"""Conduction bands of the triplon model (paper 001, Liu & Khaliullin 2026, Eq. 5).

Two :math:`d_{x^2-y^2}` bands, antibonding :math:`\alpha` and bonding :math:`\beta`,

.. math::

   \xi_{\alpha/\beta,k} = -4\,(t_1 g_{1k} + t_2 g_{2k} + t_3 g_{3k})
       + \epsilon_{\alpha/\beta}\,\eta_k^2 - \mu ,                          \qquad (5)

with ``g1 = (cos kx + cos ky)/2``, ``g2 = cos kx cos ky``,
``g3 = (cos 2kx + cos 2ky)/2`` and ``eta_k = cos kx - cos ky``.  Energies in eV,
momenta in units of the inverse in-plane lattice constant.

Conventions
-----------
* **Filling per Ni, both spins** = occupied fraction of the Brillouin zone,

  .. math:: n_b = \frac{1}{N_k}\sum_k \Theta(-\xi_{bk}) ,

  because a bilayer unit cell holds two Ni and each k carries two spins.  The
  paper's reference point (``BandParams()``: t1=0.45, t2=-0.24, t3=0.06,
  eps_alpha=0.4, eps_beta=0.1, mu=-0.65 eV) gives n_alpha = 0.144, n_beta = 0.308
  (printed as 0.14 / 0.31 in Fig. 2).  ``n_c = n_alpha + n_beta`` lies in [0, 2].
* **Densities of states at the Fermi level**, per spin per unit cell (the ones
  entering Eqs. 16-18),

  .. math::

     N_b = \int\!\frac{d^2k}{(2\pi)^2}\,\delta(\xi_{bk}), \qquad
     \tilde N_b = \int\!\frac{d^2k}{(2\pi)^2}\,\eta_k^2\,\delta(\xi_{bk}).

  With the filling convention above, ``d n_b / d mu = N_b`` exactly.

Brillouin-zone integrals: the linear triangle method
----------------------------------------------------
The 2D analogue of the tetrahedron method.  Each square of the periodic
``n x n`` grid ``k = 2 pi (i, j) / n`` is cut along its (1, 1) diagonal into two
triangles (area fraction ``A = 1/(2 n^2)`` each) and ``xi`` is interpolated
linearly inside each triangle.  For sorted corner energies ``e1 <= e2 <= e3``
the occupied fraction of a triangle below the level ``E`` is

* ``(E - e1)^2 / ((e2 - e1)(e3 - e1))``            for ``e1 < E <= e2``,
* ``1 - (e3 - E)^2 / ((e3 - e1)(e3 - e2))``        for ``e2 < E < e3``,

(0 below ``e1``, 1 above ``e3``) and its derivative, the triangle's DOS, is
piecewise linear: ``2 (E - e1)/((e2-e1)(e3-e1))`` and ``2 (e3 - E)/((e3-e1)(e3-e2))``.
The iso-energy line inside a triangle is a straight segment; a weight ``w`` that
is linear in the triangle (``eta^2`` interpolated from the corners) is linear along
it, so its average is exactly the mean of its values at the segment's two end
points, which lie on the triangle's edges.  Hence ``Ntilde`` = DOS x that mean
(``method="triangle"``).

Why it converges: every formula above is *exact* for the piecewise-linear
interpolant (and for a band that is linear inside each triangle), so the only
error is the interpolation error of ``xi``: ``O(h^2)`` in value, ``h = 2 pi / n``,
but only ``O(h)`` in gradient.  Hence, for a Fermi line away from van Hove
saddles and band edges:

* fillings converge as a clean ``O(h^2)`` (``err * n^2`` constant in ``n``);
* the DOS of the interpolant (``method="triangle"``, exactly ``d n_b / d mu``)
  has a smooth ``O(h^2)`` part plus a grid-commensurability part from the
  pieces of Fermi line whose normal is along a grid direction: there the
  ``O(h)`` gradient error adds up coherently over a length ``~ sqrt(R h)``
  (``R`` the radius of curvature), giving ``O(h^{3/2})`` that oscillates in sign
  with ``n`` and ``mu`` (measured: up to ``18 / n^{3/2}`` for N_beta at the
  paper's point, whose Fermi line is flat near X);
* the default DOS estimator ``method="fermi_line"`` evaluates
  ``N = (2 pi)^-2 oint dl / |grad xi|`` (and ``eta^2 dl`` for ``Ntilde``) by the
  midpoint rule on the polygonal Fermi line made of the triangles' iso-segments,
  with the exact gradient of Eq. (5): the segments are ``O(h^2)`` close to the
  true line, so the error is a clean ``O(h^2)`` and can be Richardson-extrapolated.

The filling is a continuous, piecewise-quadratic, monotone function of ``mu``
(so bisection for ``mu`` is safe), and everything is differentiable (almost
everywhere) w.r.t. ``mu`` and the band parameters.  Cost and memory are O(n^2);
the functions are jitted with ``n`` static.  Measured convergence tables:
``docs/triplon_bands.md``.

All band parameters are traced float64 arrays (a scan over any of them is one
compiled ``vmap``); grid sizes, band names and iteration counts are static.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ..lattice import Square
from ..ranges import Range, check_range
from ..solvers.dtype import require_x64

__all__ = [
    "BANDS",
    "BandParams",
    "validate_band_params",
    "FermiDOS",
    "form_factors",
    "form_factors_cos",
    "dispersion",
    "dispersion_cos",
    "kgrid",
    "fillings",
    "dos_fermi",
    "mu_from_density",
    "dos_vs_density",
    "band_path",
    "fermi_surface",
]

#: band names, in the order every function returns them
BANDS = ("alpha", "beta")

_FIELDS = ("t1", "t2", "t3", "eps_alpha", "eps_beta", "mu")


def _as_float(x):
    return jnp.asarray(x, dtype=jnp.result_type(float))


class BandParams(eqx.Module):
    """Parameters of the band structure Eq. (5), in eV.

    Defaults are the paper's reference point (Fig. 2): ``t1 = 0.45``,
    ``t2 = -0.24``, ``t3 = 0.06``, ``eps_alpha = 0.4``, ``eps_beta = 0.1``,
    ``mu = -0.65``.

    Attributes
    ----------
    t1, t2, t3 : hoppings to first, second and third in-plane neighbours.
    eps_alpha, eps_beta : strengths of the ``eta_k^2`` self-energy shift of the
        antibonding / bonding band (Eq. 3; the paper has eps_alpha > eps_beta).
    mu : chemical potential.

    All fields are traced float64 arrays; use :meth:`replace` to change some.
    """

    t1: jax.Array
    t2: jax.Array
    t3: jax.Array
    eps_alpha: jax.Array
    eps_beta: jax.Array
    mu: jax.Array

    def __init__(self, t1=0.45, t2=-0.24, t3=0.06, eps_alpha=0.4, eps_beta=0.1, mu=-0.65):
        self.t1 = _as_float(t1)
        self.t2 = _as_float(t2)
        self.t3 = _as_float(t3)
        self.eps_alpha = _as_float(eps_alpha)
        self.eps_beta = _as_float(eps_beta)
        self.mu = _as_float(mu)

    def replace(self, **changes) -> BandParams:
        """A copy with some fields replaced, e.g. ``bp.replace(mu=-0.7)``."""
        unknown = set(changes) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown band parameter(s) {sorted(unknown)}; allowed: {list(_FIELDS)}")
        d = {k: getattr(self, k) for k in _FIELDS}
        d.update(changes)
        return BandParams(**d)

    def to_dict(self) -> dict:
        return {k: float(np.asarray(getattr(self, k))) for k in _FIELDS}

    @classmethod
    def from_dict(cls, d: dict) -> BandParams:
        unknown = set(d) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown band parameter(s) {sorted(unknown)}; allowed: {list(_FIELDS)}")
        return cls(**{k: d[k] for k in _FIELDS if k in d})


_BAND_WHY = (
    "the nickelate bands are ~1 eV wide (paper: t1 = 0.45 eV); beyond 10 eV the meV gaps and the solver's "
    "1e-11 eV tolerance are lost in the band energies"
)

#: supported range of each band parameter (eV), checked by :func:`validate_band_params`
RANGES = {
    "t1": Range(0.0, 10.0, "eV", _BAND_WHY, symmetric=True),
    "t2": Range(0.0, 10.0, "eV", _BAND_WHY, symmetric=True),
    "t3": Range(0.0, 10.0, "eV", _BAND_WHY, symmetric=True),
    "eps_alpha": Range(0.0, 10.0, "eV", _BAND_WHY, symmetric=True),
    "eps_beta": Range(0.0, 10.0, "eV", _BAND_WHY, symmetric=True),
    "mu": Range(
        0.0, 20.0, "eV", "the bands of Eq. (5) lie within ~10 eV of 0 for every supported hopping", symmetric=True
    ),
}


def validate_band_params(bp: BandParams, *, skip_mu: bool = False) -> None:
    """Raise ``ValueError`` naming the first parameter outside its range (:data:`RANGES`).

    Signs of the hoppings are a choice of band structure, so the ranges bound
    ``|value|``.  Traced (abstract) values are skipped, batched ones are checked
    element by element.  ``skip_mu``: the chemical potential is still to be derived.
    """
    for name in _FIELDS:
        if skip_mu and name == "mu":
            continue
        v = getattr(bp, name)
        if isinstance(v, jax.core.Tracer):
            continue
        for x in np.ravel(np.asarray(v)):
            check_range(name, float(x), RANGES[name])


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_band(band) -> int:
    if band not in BANDS:
        raise ValueError(f"band must be one of {BANDS}, got {band!r}")
    return BANDS.index(band)


# --------------------------------------------------------------------------
# dispersion


def form_factors(kx, ky):
    """``(g1, g2, g3, eta)`` of Eq. (5) at momenta of any (broadcastable) shape.

    ``g1 = (cos kx + cos ky)/2``, ``g2 = cos kx cos ky``,
    ``g3 = (cos 2kx + cos 2ky)/2``, ``eta = cos kx - cos ky``.
    """
    return form_factors_cos(jnp.cos(kx), jnp.cos(ky))


def form_factors_cos(cx, cy):
    """:func:`form_factors` from ``cx = cos kx``, ``cy = cos ky`` (no trigonometry).

    On a periodic grid ``cos kx`` takes only ``n`` values, so the k-point sets of
    :mod:`~jaxnickel.triplon.kpoints` build every band energy from one table of ``n``
    cosines.
    """
    g1 = 0.5 * (cx + cy)
    g2 = cx * cy
    # cos 2k = 2 cos^2 k - 1
    g3 = cx * cx + cy * cy - 1.0
    eta = cx - cy
    return g1, g2, g3, eta


def _energies(kx, ky, bp: BandParams):
    """``(e_alpha, e_beta, eta^2)`` with ``e_b = xi_b + mu`` (the mu-free band energies)."""
    return _energies_cos(jnp.cos(kx), jnp.cos(ky), bp)


def _energies_cos(cx, cy, bp: BandParams):
    """:func:`_energies` from ``cos kx``, ``cos ky``."""
    g1, g2, g3, eta = form_factors_cos(cx, cy)
    base = -4.0 * (bp.t1 * g1 + bp.t2 * g2 + bp.t3 * g3)
    w = eta * eta
    return base + bp.eps_alpha * w, base + bp.eps_beta * w, w


def dispersion(kx, ky, bp: BandParams):
    """``(xi_alpha, xi_beta)`` of Eq. (5), measured from the chemical potential ``bp.mu``.

    ``kx``, ``ky`` are arrays of any (broadcastable) shape.
    """
    ea, eb, _ = _energies(kx, ky, bp)
    return ea - bp.mu, eb - bp.mu


def dispersion_cos(cx, cy, bp: BandParams):
    """:func:`dispersion` from ``cx = cos kx``, ``cy = cos ky`` (bit-identical, no trigonometry)."""
    ea, eb, _ = _energies_cos(cx, cy, bp)
    return ea - bp.mu, eb - bp.mu


def kgrid(n: int):
    """Flattened momenta ``(kx, ky)`` of the periodic ``n x n`` grid, ``k = 2 pi i / n``.

    C order (kx slow, ky fast), as :meth:`jaxnickel.lattice.Square.momenta`.
    """
    return Square(_check_int("n", n, 2)).momenta()


# --------------------------------------------------------------------------
# linear triangle method


class _Triangles(NamedTuple):
    """The ``2 n^2`` triangles of one band, corners sorted by energy.

    ``e``, ``w``, ``dx``, ``dy`` are 3-tuples of flat arrays (corner energy,
    ``eta^2`` at the corner, corner offset from the base point in grid units);
    ``kx``, ``ky`` the base point ``2 pi (i, j) / n`` of each triangle.
    """

    e: tuple
    w: tuple
    dx: tuple
    dy: tuple
    kx: jax.Array
    ky: jax.Array


def _sort3(keys, *carried):
    """Sort three arrays of ``keys`` ascending elementwise (a sorting network), permuting ``carried`` alike."""
    keys = list(keys)
    carried = [list(c) for c in carried]

    def swap(i, j):
        s = keys[i] > keys[j]
        keys[i], keys[j] = jnp.where(s, keys[j], keys[i]), jnp.where(s, keys[i], keys[j])
        for c in carried:
            c[i], c[j] = jnp.where(s, c[j], c[i]), jnp.where(s, c[i], c[j])

    swap(0, 1)
    swap(1, 2)
    swap(0, 1)
    return (tuple(keys), *(tuple(c) for c in carried))


def _triangulate(e, w):
    """Triangles of the periodic grid on which ``e`` and ``w`` (both ``(n, n)``) are given.

    Square ``(i, j)`` is cut along its (1, 1) diagonal into
    ``{(i,j), (i+1,j), (i+1,j+1)}`` and ``{(i,j), (i,j+1), (i+1,j+1)}``.
    (By the kx -> -kx mirror symmetry of Eq. (5) the other diagonal gives identical results.)
    """
    n = e.shape[0]

    def corners(x):
        x10 = jnp.roll(x, -1, axis=0)
        x01 = jnp.roll(x, -1, axis=1)
        x11 = jnp.roll(x10, -1, axis=1)
        a = jnp.concatenate([x.ravel(), x.ravel()])
        b = jnp.concatenate([x10.ravel(), x01.ravel()])
        c = jnp.concatenate([x11.ravel(), x11.ravel()])
        return a, b, c

    zero = jnp.zeros(2 * n * n)
    one = jnp.ones(2 * n * n)
    half = jnp.concatenate([jnp.ones(n * n), jnp.zeros(n * n)])
    dx = (zero, half, one)
    dy = (zero, 1.0 - half, one)
    es, ws, dxs, dys = _sort3(corners(e), corners(w), dx, dy)
    kx, ky = kgrid(n)
    return _Triangles(es, ws, dxs, dys, jnp.concatenate([kx, kx]), jnp.concatenate([ky, ky]))


def _band_triangles(bp: BandParams, n: int):
    """Triangles of both bands on the ``n x n`` grid (mu-free energies ``e = xi + mu``)."""
    kx, ky = kgrid(n)
    ea, eb, w = _energies(kx, ky, bp)
    shape = (n, n)
    w = w.reshape(shape)
    return _triangulate(ea.reshape(shape), w), _triangulate(eb.reshape(shape), w)


def _branches(E, e1, e2, e3):
    """Branch masks and guarded denominators of the triangle formulas at level ``E``.

    Double-``where`` trick: a branch is taken only where its denominators are
    > 0, and the untaken branches never divide by zero (finite gradients).
    """
    lo = (E > e1) & (E <= e2)  # iso-line crosses edges 1-2 and 1-3
    hi = (E > e2) & (E < e3)  # iso-line crosses edges 2-3 and 1-3
    full = E >= e3
    d21s = jnp.where(lo, e2 - e1, 1.0)
    d31s = jnp.where(lo | hi, e3 - e1, 1.0)
    d32s = jnp.where(hi, e3 - e2, 1.0)
    return lo, hi, full, E - e1, e3 - E, d21s, d31s, d32s


def _occupation(lo, hi, full, a, b, d21s, d31s, d32s):
    """Occupied fraction of each triangle (piecewise quadratic in ``E``)."""
    return jnp.where(full, 1.0, jnp.where(hi, 1.0 - b * b / (d31s * d32s), jnp.where(lo, a * a / (d21s * d31s), 0.0)))


def _filling(E, e):
    """Occupied fraction of the zone at level ``E``; ``e`` = the sorted corner energies."""
    return jnp.mean(_occupation(*_branches(E, *e)))


def _segment_point(s, x1, x2):
    return x1 + s * (x2 - x1)


def _level_integrals(E, tri: _Triangles, grad_fn, method: str):
    """``(n_b, N_b, Ntilde_b)`` of one band at the level ``E`` (a scalar).

    ``method="triangle"``: DOS of the piecewise-linear interpolant, the exact
    ``E``-derivative of the triangle filling (per triangle ``2(E-e1)/((e2-e1)(e3-e1))``
    or ``2(e3-E)/((e3-e1)(e3-e2))``); ``Ntilde`` weights it with the mean of the
    linearly interpolated ``eta^2`` at the two end points of the iso-segment.
    ``method="fermi_line"``: the line integral ``N = (2 pi)^-2 oint dl / |grad xi|``
    (``Ntilde``: ``eta^2 dl``) by the midpoint rule on the polygonal Fermi line that
    the triangles' iso-segments form, with the exact ``grad xi`` and ``eta^2`` of
    Eq. (5) at each segment's midpoint (``grad_fn``).
    """
    e1, e2, e3 = tri.e
    lo, hi, full, a, b, d21s, d31s, d32s = _branches(E, e1, e2, e3)
    occ = jnp.mean(_occupation(lo, hi, full, a, b, d21s, d31s, d32s))
    # iso-segment P-Q: Q on edge 1-3 (both cases), P on edge 1-2 (lo) or 2-3 (hi)
    sq = a / d31s
    sp = jnp.where(hi, (E - e2) / d32s, a / d21s)

    def ends(x):
        x1, x2, x3 = x
        return jnp.where(hi, _segment_point(sp, x2, x3), _segment_point(sp, x1, x2)), _segment_point(sq, x1, x3)

    cut = lo | hi
    if method == "triangle":
        dos = jnp.where(hi, 2.0 * b / (d31s * d32s), jnp.where(lo, 2.0 * a / (d21s * d31s), 0.0))
        wp, wq = ends(tri.w)
        return occ, jnp.mean(dos), jnp.mean(dos * 0.5 * (wp + wq))
    n = math.isqrt(e1.shape[0] // 2)
    h = 2.0 * math.pi / n
    px, qx = ends(tri.dx)
    py, qy = ends(tri.dy)
    length = h * jnp.sqrt((px - qx) ** 2 + (py - qy) ** 2)
    mx = tri.kx + 0.5 * h * (px + qx)
    my = tri.ky + 0.5 * h * (py + qy)
    gx, gy, w = grad_fn(mx, my)
    g2 = gx * gx + gy * gy
    ok = cut & (g2 > 0.0)
    inv_g = jnp.where(ok, 1.0 / jnp.sqrt(jnp.where(ok, g2, 1.0)), 0.0)
    c = length * inv_g / (2.0 * math.pi) ** 2
    return occ, jnp.sum(c), jnp.sum(c * w)


def _energy_gradients(kx, ky, bp: BandParams):
    """``(grad e_alpha, grad e_beta, eta^2)``: analytic k-gradients of Eq. (5) (mu drops out)."""
    cx, cy = jnp.cos(kx), jnp.cos(ky)
    sx, sy = jnp.sin(kx), jnp.sin(ky)
    eta = cx - cy
    # d/dkx: g1 -> -sx/2, g2 -> -sx cy, g3 -> -2 sx cx, eta -> -sx (and +sy for d/dky)
    bx = 2.0 * bp.t1 * sx + 4.0 * bp.t2 * sx * cy + 8.0 * bp.t3 * sx * cx
    by = 2.0 * bp.t1 * sy + 4.0 * bp.t2 * sy * cx + 8.0 * bp.t3 * sy * cy
    ex, ey = -2.0 * eta * sx, 2.0 * eta * sy  # gradient of eta^2
    ga = (bx + bp.eps_alpha * ex, by + bp.eps_alpha * ey)
    gb = (bx + bp.eps_beta * ex, by + bp.eps_beta * ey)
    return ga, gb, eta * eta


def _grad_fns(bp: BandParams):
    def fa(kx, ky):
        (gx, gy), _, w = _energy_gradients(kx, ky, bp)
        return gx, gy, w

    def fb(kx, ky):
        _, (gx, gy), w = _energy_gradients(kx, ky, bp)
        return gx, gy, w

    return fa, fb


_METHODS = ("fermi_line", "triangle")


def _check_method(method) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    return method


class FermiDOS(eqx.Module):
    """Densities of states at the Fermi level, per spin per unit cell (1/eV).

    ``N_b = int d^2k/(2pi)^2 delta(xi_bk)``, ``Ntilde_b = int d^2k/(2pi)^2 eta_k^2 delta(xi_bk)``
    (the N and Ntilde of the paper's Eqs. 16-18).
    """

    N_alpha: jax.Array
    N_beta: jax.Array
    Ntilde_alpha: jax.Array
    Ntilde_beta: jax.Array

    def to_dict(self) -> dict:
        return {k: float(np.asarray(getattr(self, k))) for k in ("N_alpha", "N_beta", "Ntilde_alpha", "Ntilde_beta")}


@partial(jax.jit, static_argnames="n")
def _fillings_jit(bp, n):
    ta, tb = _band_triangles(bp, n)
    return _filling(bp.mu, ta.e), _filling(bp.mu, tb.e)


@partial(jax.jit, static_argnames=("n", "method"))
def _dos_jit(bp, n, method):
    ta, tb = _band_triangles(bp, n)
    fa, fb = _grad_fns(bp)
    _, Na, Nta = _level_integrals(bp.mu, ta, fa, method)
    _, Nb, Ntb = _level_integrals(bp.mu, tb, fb, method)
    return FermiDOS(N_alpha=Na, N_beta=Nb, Ntilde_alpha=Nta, Ntilde_beta=Ntb)


def fillings(bp: BandParams, n: int = 512):
    """``(n_alpha, n_beta)``: band fillings per Ni, both spins, at ``bp.mu``.

    ``n_b = (1/N_k) sum_k Theta(-xi_bk)``, i.e. the occupied fraction of the
    Brillouin zone, by the linear triangle method on the ``n x n`` grid (error
    ``O(1/n^2)``, smooth in ``n``).  Continuous, piecewise quadratic and
    monotone in ``mu``; differentiable w.r.t. all band parameters, with
    ``d n_b / d mu`` = the ``method="triangle"`` DOS of :func:`dos_fermi`.
    """
    require_x64()
    n = _check_int("n", n, 2)
    validate_band_params(bp)
    return _fillings_jit(bp, n)


def dos_fermi(bp: BandParams, n: int = 512, method: str = "fermi_line") -> FermiDOS:
    """Densities of states ``N_b`` and ``Ntilde_b`` at the Fermi level (``xi = 0``), per spin per unit cell.

    Both methods use the triangulation of the ``n x n`` grid (module docstring):

    * ``"fermi_line"`` (default): ``N = (2 pi)^-2 oint dl / |grad xi|`` and
      ``Ntilde = (2 pi)^-2 oint eta^2 dl / |grad xi|`` by the midpoint rule on the
      polygonal Fermi line formed by the triangles' iso-segments, with the
      exact gradient of Eq. (5).  Error ``O(1/n^2)``, smooth in ``n``
      (Richardson-extrapolable).
    * ``"triangle"``: the DOS of the linearly interpolated band, i.e. exactly
      ``d n_b / d mu`` of :func:`fillings`.  Its error is a smooth ``O(1/n^2)``
      part plus a grid-commensurability term ``O(1/n^{3/2})`` that oscillates
      with ``n`` and ``mu`` (the interpolated gradient is only ``O(h)``
      accurate); it is larger on flat Fermi-line pieces (the beta band near X).

    Near a van Hove saddle on the Fermi level the DOS diverges
    logarithmically; both estimators then depend on ``n``.
    """
    require_x64()
    n = _check_int("n", n, 2)
    method = _check_method(method)
    validate_band_params(bp)
    return _dos_jit(bp, n, method)


def _solve_mu(n_c, ea, eb, atol=1e-14, max_steps=200):
    """``mu`` with ``n_alpha(mu) + n_beta(mu) = n_c``, by bisection on the band range.

    The total filling is continuous and non-decreasing in ``mu`` (triangle
    method), 0 at the bottom of the lower band and 2 at the top of the upper
    one, so the bracket always holds the root.  Differentiated implicitly
    (optimistix ``ImplicitAdjoint``): ``d mu / d n_c = 1 / (N_alpha + N_beta)``.
    ``ea``, ``eb``: sorted corner energies of the two bands' triangles.
    """
    lower = jnp.minimum(ea[0].min(), eb[0].min())
    upper = jnp.maximum(ea[2].max(), eb[2].max())

    def fn(mu, args):
        a, b, target = args
        return _filling(mu, a) + _filling(mu, b) - target

    sol = optx.root_find(
        fn,
        optx.Bisection(rtol=0.0, atol=atol, flip=False),
        0.5 * (lower + upper),
        args=(ea, eb, n_c),
        options={"lower": lower, "upper": upper},
        max_steps=max_steps,
        throw=False,
    )
    return sol.value


@partial(jax.jit, static_argnames="n")
def _mu_jit(n_c, bp, n):
    ta, tb = _band_triangles(bp, n)
    return _solve_mu(n_c, ta.e, tb.e)


def _check_density(n_c):
    if isinstance(n_c, jax.core.Tracer):
        return
    arr = np.asarray(n_c, dtype=float)
    bad = ~np.isfinite(arr) | (arr < 0.0) | (arr >= 2.0)
    if np.any(bad):
        v = arr if arr.ndim == 0 else arr[bad].ravel()[0]
        raise ValueError(
            f"n_c (electrons per Ni in the two bands, both spins) must be in [0, 2), "
            f"what the alpha and beta bands hold; got {v}"
        )


def mu_from_density(n_c, bp: BandParams, n: int = 512):
    """Chemical potential with ``n_alpha + n_beta = n_c`` (per Ni, both spins).

    ``bp.mu`` is ignored.  Bisection (optimistix) on ``[min e, max e]`` of the
    two bands down to ``|d mu| < 1e-14`` eV; the triangle-method total filling is
    continuous and monotone in ``mu`` so this always converges.  ``n_c`` must be in
    ``[0, 2)``.  Differentiable w.r.t. ``n_c`` and the band parameters
    (implicit function theorem).
    """
    require_x64()
    n = _check_int("n", n, 2)
    _check_density(n_c)
    validate_band_params(bp)
    return _mu_jit(_as_float(n_c), bp, n)


@partial(jax.jit, static_argnames=("n", "method"))
def _dos_vs_density_jit(n_c, bp, n, method):
    ta, tb = _band_triangles(bp, n)
    fa, fb = _grad_fns(bp)

    def one(nc):
        mu = _solve_mu(nc, ta.e, tb.e)
        na, Na, Nta = _level_integrals(mu, ta, fa, method)
        nb, Nb, Ntb = _level_integrals(mu, tb, fb, method)
        return mu, na, nb, Na, Nb, Nta, Ntb

    # lax.map, not vmap: one n_c at a time keeps the memory at O(n^2) for long scans
    mu, na, nb, Na, Nb, Nta, Ntb = jax.lax.map(one, n_c)
    return {
        "n_c": n_c,
        "mu": mu,
        "n_alpha": na,
        "n_beta": nb,
        "N_alpha": Na,
        "N_beta": Nb,
        "Ntilde_alpha": Nta,
        "Ntilde_beta": Ntb,
        "N_beta_over_N_alpha": Nb / Na,
        "Ntilde_over_N_alpha": Nta / Na,
        "Ntilde_over_N_beta": Ntb / Nb,
    }


def dos_vs_density(bp: BandParams, n_c_values, n: int = 512, method: str = "fermi_line") -> dict:
    """DOS ratios vs electron density: the content of the paper's Figs. 3a and 4a.

    For each ``n_c`` in ``n_c_values`` (1-D, each in ``[0, 2)``) the chemical
    potential is solved (``bp.mu`` ignored) and the Fermi-level DOS evaluated, all
    in one ``vmap`` over ``n_c`` sharing one triangulation.  Returns a dict of
    arrays: ``n_c, mu, n_alpha, n_beta, N_alpha, N_beta, Ntilde_alpha, Ntilde_beta``
    and the ratios ``N_beta_over_N_alpha`` (Fig. 3a), ``Ntilde_over_N_alpha``,
    ``Ntilde_over_N_beta`` (Fig. 4a).  ``method`` as in :func:`dos_fermi`.
    """
    require_x64()
    n = _check_int("n", n, 2)
    method = _check_method(method)
    _check_density(n_c_values)
    validate_band_params(bp)
    n_c = jnp.atleast_1d(_as_float(n_c_values))
    if n_c.ndim != 1:
        raise ValueError(f"n_c_values must be a scalar or a 1-D array, got shape {n_c.shape}")
    return _dos_vs_density_jit(n_c, bp, n, method)


# --------------------------------------------------------------------------
# band path and Fermi surface (Fig. 2)


def band_path(bp: BandParams, n_per_segment: int = 200) -> dict:
    """Bands along Gamma(0,0) - X(pi,0) - M(pi,pi) - Gamma (the paper's Fig. 2a, closed).

    Returns a dict: ``kx``, ``ky`` (``3 n_per_segment + 1`` points, each segment
    sampled uniformly, end points included once), ``distance`` (cumulative path
    length in units of 1/a), ``xi_alpha``, ``xi_beta`` (Eq. 5, from ``bp.mu``),
    ``ticks`` (distances of the corners) and ``labels`` (``"Γ", "X", "M", "Γ"``).
    """
    m = _check_int("n_per_segment", n_per_segment, 1)
    validate_band_params(bp)
    corners = np.array([[0.0, 0.0], [math.pi, 0.0], [math.pi, math.pi], [0.0, 0.0]])
    s = np.arange(m) / m
    pts = [corners[i] + s[:, None] * (corners[i + 1] - corners[i]) for i in range(3)]
    pts.append(corners[-1:])
    k = np.concatenate(pts)
    seg = np.linalg.norm(np.diff(k, axis=0), axis=1)
    dist = np.concatenate([[0.0], np.cumsum(seg)])
    ticks = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(corners, axis=0), axis=1))])
    kx, ky = jnp.asarray(k[:, 0]), jnp.asarray(k[:, 1])
    xa, xb = dispersion(kx, ky, bp)
    return {
        "kx": kx,
        "ky": ky,
        "distance": jnp.asarray(dist),
        "xi_alpha": xa,
        "xi_beta": xb,
        "ticks": ticks,
        "labels": ("Γ", "X", "M", "Γ"),
    }


_CENTERS = {"G": (0.0, 0.0), "Gamma": (0.0, 0.0), "M": (math.pi, math.pi)}


def _bisect_rays(xis, occ0, lo, hi, n_bisect):
    """Bisect the brackets ``[lo_i, hi_i]`` of ``xi_i(r) = 0`` (sign ``occ0_i`` at the centre), all in one loop.

    At most ``n_bisect`` halvings; the loop stops once no bracket moves (its midpoint rounds
    to an end point, after ~46-55 halvings from a ``r_max / 256`` bracket), which gives the
    ``n_bisect``-step result bit for bit.  The brackets carry no derivative (the callers'
    Newton step gives k_F's).
    """

    def body(carry):
        i, brackets = carry
        out = []
        for xi, o, (lo_, hi_) in zip(xis, occ0, brackets, strict=True):
            mid = 0.5 * (lo_ + hi_)
            same = (xi(mid) < 0.0) == o
            out.append((jnp.where(same, mid, lo_), jnp.where(same, hi_, mid)))
        return i + 1, tuple(out)

    def moving(carry):
        i, brackets = carry
        m = [jnp.any((0.5 * (a + b) != a) & (0.5 * (a + b) != b)) for a, b in brackets]
        return (i < n_bisect) & jnp.any(jnp.stack(m))

    start = tuple((jax.lax.stop_gradient(a), jax.lax.stop_gradient(b)) for a, b in zip(lo, hi, strict=True))
    return jax.lax.while_loop(moving, body, (jnp.asarray(0), start))[1]


def _ray_brackets(xi, theta, r_max, c, s, n_scan):
    """``(occ0, found, lo, hi)``: occupation at the centre and the first scan interval where it changes."""
    occ0 = xi(jnp.zeros_like(theta)) < 0.0
    r_scan = r_max[..., None] * (jnp.arange(1, n_scan + 1) / n_scan)
    changed = (xi(r_scan, c[..., None], s[..., None]) < 0.0) != occ0[..., None]
    j = jnp.argmax(changed, axis=-1)  # first index with a change
    return occ0, jnp.any(changed, axis=-1), r_max * j / n_scan, r_max * (j + 1) / n_scan


def _ray_root(xi, found, lo, hi, r_max):
    """``k_F`` from a collapsed bracket: the end with the smaller ``|xi|``, then one Newton step.

    The Newton step starts from the gradient-stopped bisection root: the value moves by
    ~1e-15, and derivatives w.r.t. the band parameters become the implicit-function ones,
    ``dk_F/dp = -(dxi/dp)/(dxi/dr)`` (bisection alone has zero derivative).  NaN where the
    ray has no crossing.
    """
    kf = jnp.where(jnp.abs(xi(lo)) <= jnp.abs(xi(hi)), lo, hi)
    kf0 = jax.lax.stop_gradient(jnp.where(found, kf, 0.5 * r_max))
    xi0, dxi = jax.jvp(xi, (kf0,), (jnp.ones_like(kf0),))
    kf = kf0 - xi0 / jnp.where(dxi != 0, dxi, 1.0)
    return jnp.where(found, kf, jnp.nan)


@partial(jax.jit, static_argnames=("band", "n_scan", "n_bisect", "center"))
def _fermi_surface_jit(bp, theta, band, n_scan, n_bisect, center):
    cx, cy = _CENTERS[center]
    c, s = jnp.cos(theta), jnp.sin(theta)
    r_max = math.pi / jnp.maximum(jnp.abs(c), jnp.abs(s))

    def xi(r, c=c, s=s):
        return dispersion(cx + r * c, cy + r * s, bp)[band]

    # coarse scan for the first change of occupation along the ray, then bisection
    occ0, found, lo, hi = _ray_brackets(xi, theta, r_max, c, s, n_scan)
    ((lo, hi),) = _bisect_rays([xi], [occ0], [lo], [hi], n_bisect)
    kf = _ray_root(xi, found, lo, hi, r_max)
    return {"theta": theta, "k_F": kf, "kx": cx + kf * c, "ky": cy + kf * s}


@partial(jax.jit, static_argnames=("n_scan", "n_bisect"))
def fermi_rays_all(bp, theta, n_scan: int = 256, n_bisect: int = 80):
    """``k_F`` of :func:`fermi_surface` for both centres (Gamma, M) and both bands at once.

    Returns an array ``(2 centres, 2 bands, len(theta))``, each entry computed by the same
    operations as ``fermi_surface(bp, band, theta, n_bisect, center=..., n_scan=n_scan)["k_F"]``
    (NaN where the ray has no crossing), but with the four bisections in one loop: a
    solution's Fermi-surface gaps, the fitter and the synthetic data need all four, and
    four 80-step loops over 91 angles cost more in loop overhead than in arithmetic.
    """
    c, s = jnp.cos(theta), jnp.sin(theta)
    r_max = math.pi / jnp.maximum(jnp.abs(c), jnp.abs(s))
    combos = [(cen, band) for cen in ("G", "M") for band in (0, 1)]

    def xi_of(cen, band):
        cx, cy = _CENTERS[cen]

        def xi(r, c=c, s=s):
            return dispersion(cx + r * c, cy + r * s, bp)[band]

        return xi

    xis = [xi_of(cen, band) for cen, band in combos]
    occ0, found, lo, hi = zip(*(_ray_brackets(xi, theta, r_max, c, s, n_scan) for xi in xis), strict=True)
    brackets = _bisect_rays(xis, occ0, lo, hi, n_bisect)
    kfs = [_ray_root(xi, f, a, b, r_max) for xi, f, (a, b) in zip(xis, found, brackets, strict=True)]
    return jnp.stack(kfs).reshape(2, 2, *theta.shape)


def fermi_surface(
    bp: BandParams, band: str, theta, n_bisect: int = 80, *, center: str = "G", n_scan: int = 256
) -> dict:
    """Fermi momentum ``k_F(theta)`` of one band along rays from a zone centre.

    The ray ``k = center + r (cos theta, sin theta)`` runs from ``r = 0`` to the
    zone boundary ``r_max = pi / max(|cos theta|, |sin theta|)`` (the square of
    half-width pi around the centre).  ``center="G"`` (default) measures the
    angle around Gamma, ``center="M"`` around M = (pi, pi), the natural centre of
    a hole pocket around M.  (Which of the two the paper's Fig. 2b/4b angle is
    cannot be read from its text for the beta sheet; see docs/triplon_bands.md.)  The ray is scanned at ``n_scan`` points for the first
    change of occupation ``Theta(-xi)`` counted from the centre, and that bracket
    is bisected ``n_bisect`` times (vectorised over ``theta``), so ``|xi(k_F)|`` is
    at the float64 rounding level (~1e-15 eV).  ``k_F`` is **NaN where the ray has
    no crossing** (no sign change of ``xi`` between the centre and the zone
    boundary, e.g. an occupied region reaching the boundary); Fermi-surface
    pieces hit twice by a ray give only the crossing nearest the centre, and
    crossings closer together than ``r_max / n_scan`` can be missed.

    At the paper's point the alpha pocket is closed around Gamma, but the beta
    band is occupied at X (``xi_beta(X) = -0.15`` eV): its Fermi surface is a hole
    pocket around M crossing the zone boundary at (pi, 0.397), so rays from Gamma
    hit it only for 7.20 deg < theta < 82.80 deg (NaN outside); use
    ``center="M"`` for the whole beta sheet.

    Returns a dict with ``theta``, ``k_F``, and the points ``kx``, ``ky``.
    """
    require_x64()
    b = _check_band(band)
    if center not in _CENTERS:
        raise ValueError(f"center must be one of {tuple(_CENTERS)}, got {center!r}")
    n_bisect = _check_int("n_bisect", n_bisect, 1)
    n_scan = _check_int("n_scan", n_scan, 1)
    validate_band_params(bp)
    theta = _as_float(theta)
    return _fermi_surface_jit(bp, theta, b, n_scan, n_bisect, center)
