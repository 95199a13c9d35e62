r"""Local stability of a triplon mean-field state: the Hessian of the free energy.

A converged solution of Eq. (14) (paper 001) is a stationary point of the
Gibbs-Bogoliubov functional; only a minimum is a state.  Here the functional is
restricted to the span of the pairing basis, where every solution lives:
``Delta_b(k) = u^b(k) . c_b`` with complex ``c = (c_alpha, c_beta)``, i.e. 12 real
coordinates ``r = (Re c, Im c)``
(:func:`~jaxnickel.triplon.pairing.free_energy_of_coefficients_complex`).

* ``H = d^2 f / dr dr`` (12 x 12).  At a stationary point it has a closed form that costs
  one pass over the k points (:func:`stationary_hessian`): the gradient is
  ``df/dDelta_k = (2/N) (d chi/d Delta)_k (Delta_k + H_k)`` with ``H_k = (V C m^other) . u(k)``,
  and ``Delta_k + H_k = 0`` at every k of a solution of Eq. (14), so the term with the
  second derivatives of chi drops and ``H = 2 [[D_a, D_a VC D_b], [D_b VC D_a, D_b]]``
  with the Gram matrices ``D_b = <u u^T (d chi/d Delta)>`` of each band.  Off a stationary
  point (an unconverged candidate) it is the Gauss-Newton part of the Hessian.
  :func:`coefficient_hessian` is the autodiff reference (forward over reverse, one pass
  per column) the tests compare it with.
* The global phase ``c -> e^{i phi} c`` leaves ``f`` unchanged, so ``H`` has the exact
  zero mode ``e = (-Im c, Re c)`` (the gauge direction) at every stationary point.
  It is removed by a rank-one shift ``H + s e e^T / |e|^2`` with ``s`` above the
  spectrum, so ``hessian_min`` is the smallest eigenvalue on the 11-dimensional
  complement: ``> 0`` a local minimum, ``< 0`` a saddle (the eigenvector says where
  the free energy goes down).
* For a real state (``Im c = 0``) ``H`` is block diagonal: the real block (real
  deformations: amplitude, s/d mixing) and the imaginary block (relative phases,
  e.g. ``s+- -> s+- + i d``; contains the gauge mode).  ``hessian_min_real`` /
  ``hessian_min_imag`` are the smallest eigenvalues of the two diagonal blocks (the
  imaginary one with the gauge mode removed); for a complex state the blocks couple
  and only ``hessian_min`` is a criterion.

Units: eV per cell per eV^2 of coefficient (1/eV).  At the normal state
(``c = 0``) the Hessian diverges at ``T = 0`` (``f ~ Delta^2 ln Delta``); its
stability is the linearised kernel's (``lambda_s``, ``lambda_d`` < 1), and the
fields here are NaN.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .pairing import (
    BAND_INDICES,
    TriplonGrid,
    complex_moments_and_grams,
    coupling_matrix,
    free_energy_of_coefficients_complex,
)
from .params import TriplonParams

__all__ = ["Stability", "coefficient_hessian", "stationary_hessian", "gauge_direction", "stability", "UNSTABLE_TOL"]

#: a state is a saddle when ``hessian_min < -UNSTABLE_TOL * max |eigenvalue|``
UNSTABLE_TOL = 1e-7


class Stability(eqx.Module):
    """Smallest Hessian eigenvalues (1/eV; module docstring) and the softest direction (12 reals)."""

    hessian_min: jax.Array
    hessian_min_real: jax.Array
    hessian_min_imag: jax.Array
    hessian_scale: jax.Array  # largest |eigenvalue|
    softest: jax.Array

    @property
    def unstable(self):
        return self.hessian_min < -UNSTABLE_TOL * self.hessian_scale


def gauge_direction(r):
    """``i c`` in real coordinates: ``(Re(ic), Im(ic)) = (-Im c, Re c)``."""
    return jnp.concatenate([-r[6:], r[:6]])


def coefficient_hessian(r, p: TriplonParams, grid: TriplonGrid):
    """``d^2 f / dr dr`` (12 x 12) at gap coefficients ``r = (Re c, Im c)``."""
    return jax.hessian(free_energy_of_coefficients_complex)(r, p, grid)


def stationary_hessian(r, p: TriplonParams, grid: TriplonGrid):
    """``d^2 f / dr dr`` at a stationary point ``r`` in closed form, one pass (module docstring)."""
    _, Da, _, Db = complex_moments_and_grams(r, p, grid)
    VC2 = jnp.kron(jnp.eye(2), coupling_matrix(p))
    ia, ib = BAND_INDICES
    H = jnp.zeros((12, 12), dtype=Da.dtype)
    H = H.at[jnp.ix_(ia, ia)].set(2.0 * Da).at[jnp.ix_(ib, ib)].set(2.0 * Db)
    cross = 2.0 * Da @ VC2 @ Db
    return H.at[jnp.ix_(ia, ib)].set(cross).at[jnp.ix_(ib, ia)].set(cross.T)


def _min_without(H, e):
    """Smallest eigenvalue (and eigenvector) of symmetric ``H`` on the complement of unit ``e``."""
    s = 2.0 * jnp.sum(jnp.abs(H)) + 1.0
    w, v = jnp.linalg.eigh(H + s * jnp.outer(e, e))
    return w[0], v[:, 0]


def stability(r, p: TriplonParams, grid: TriplonGrid) -> Stability:
    """Stability of the stationary state with coefficients ``r`` (NaN at ``r = 0``)."""
    zero = jnp.max(jnp.abs(r)) == 0
    r_safe = jnp.where(zero, jnp.ones_like(r), r)  # keeps the Hessian finite at c = 0
    H = stationary_hessian(r_safe, p, grid)
    H = 0.5 * (H + H.T)
    e = gauge_direction(r_safe)
    e = e / jnp.linalg.norm(e)
    w_min, v_min = _min_without(H, e)
    scale = jnp.max(jnp.abs(jnp.linalg.eigvalsh(H)))
    w_real = jnp.linalg.eigvalsh(H[:6, :6])[0]
    e_im = e[6:]
    n_im = jnp.linalg.norm(e_im)
    e_im = jnp.where(n_im > 0, e_im / jnp.where(n_im > 0, n_im, 1.0), 0.0)
    w_imag = _min_without(H[6:, 6:], e_im)[0]
    nan = jnp.nan
    return Stability(
        hessian_min=jnp.where(zero, nan, w_min),
        hessian_min_real=jnp.where(zero, nan, w_real),
        hessian_min_imag=jnp.where(zero, nan, w_imag),
        hessian_scale=jnp.where(zero, nan, scale),
        softest=jnp.where(zero, 0.0, v_min),
    )
