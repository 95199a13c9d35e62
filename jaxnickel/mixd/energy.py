r"""The variational energy Eq. (B9) and its exact stationarity conditions.

Everything here is a pure function of arrays; ``lattice`` fixes only shapes.

Conventions (derived in ``docs/mixd_theory.md``; summary)
---------------------------------------------------------
Unknowns: BCS angles ``theta_k`` (``v_k = sin(theta_k/2)``, ``u_k = cos(theta_k/2)``),
the condensate amplitude ``beta`` (real; total, so ``N_cc = beta**2``), and the
hole chemical potential ``mu`` (multiplier of the hole number).  ``N`` is the
number of rungs; averages ``<f> = (1/N) sum_k f_k``.  With

* ``gamma_k = sum_a cos k_a``                     (sc hopping, Eq. 4: ``+t/2``),
* ``g_k = gamma_k + 2 epsilon cos kx cos ky``     (recombination, Eqs. 8 and 13),
* ``U = (3/2) t^2/J``                              (kernel ``V_kk'`` of Eq. B11),
* ``e0 = J - (z/2) (3/2) t^2/J``                   (Eq. A7, z = 2 in 1D, 4 in 2D),

the functional is Eq. (B9) generalised to ``d`` dimensions:

.. math::

   \langle H\rangle = -\frac{4t\beta}{\sqrt N}\sum_k g_k\sin\theta_k
     + 2\Big(t-\frac{2t\beta^2}{N}\Big)\sum_k \gamma_k v_k^2
     + 2(e_0+\mu)\sum_k v_k^2
     + \frac{U}{2N}\sum_{kk'}\sin\theta_k\sin\theta_{k'}\sum_a\cos(k_a-k'_a)
     + (V+J+2\mu)\beta^2 - \mu N_h
     [+ \tfrac{z}{2} U N_f^2/N \text{ (Hartree, optional)}]

(in 1D this is the paper's ``(3/2)(t^2/JL) sum_kk' (1/2) sin sin' cos(k-k')``; with the
separable basis ``phi_i`` of :func:`jaxnickel.lattice.pair_basis` it is
``(N U/2) sum_i M_i^2``, ``M_i = <sin(theta) phi_i>``: O(N), no N x N kernel).
Its exact stationarity conditions are

* (B15) ``Delta_k = 4 t b g_k - U sum_i M_i phi_i(k)``, ``M_i = <sin(theta) phi_i>``,
* (B11, corrected) ``xi_k = (t - 2 t b^2) gamma_k + e0 + mu [+ z U n_f]``,
* (B12) ``sin theta_k = Delta_k/E_k``, ``cos theta_k = xi_k/E_k``, ``E_k = sqrt(xi^2+Delta^2)``,
* (B17) ``b [(V + J + 2 mu) - 4 t <v^2 gamma>] = 2 t <sin(theta) g>``,
* (B19) ``2 <v^2> + 2 b^2 = n_h``,

with the intensive amplitude ``b = beta / sqrt(N)`` and ``n_h = N_h / N``.
The appendix's (B10)/(B11) carry ``t |beta|^2/L`` where the derivative of (B9)
gives ``2 t |beta|^2/L``; (B20) writes ``t^2`` for ``t``.  We code the derivative.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..lattice import diagonal_form_factor, nn_form_factor, pair_basis
from .params import MixDParams

__all__ = [
    "KSpace",
    "kspace",
    "onsite_energy",
    "kernel_strength",
    "form_factors",
    "lagrangian_b9",
    "energy_b9",
    "hole_number",
    "moments",
    "mean_fields",
    "bogoliubov",
    "safe_norm",
]


class KSpace(eqx.Module):
    """Form factors of a set of momenta, computed once (no trigonometry in solver loops).

    ``gamma = sum_a cos k_a``, ``diag = 2 cos kx cos ky`` (0 in 1D), ``basis`` the
    separable-kernel basis of :func:`jaxnickel.lattice.pair_basis`.
    """

    gamma: jax.Array
    diag: jax.Array
    basis: jax.Array


def kspace(k: tuple) -> KSpace:
    """:class:`KSpace` of the momenta ``k`` (tuple of arrays)."""
    return KSpace(gamma=nn_form_factor(k), diag=diagonal_form_factor(k), basis=pair_basis(k))


def _ks(lattice, k, ks):
    if ks is not None:
        return ks
    return kspace(lattice.momenta() if k is None else k)


def kernel_strength(params: MixDParams):
    """``U = (3/2) t^2 / J``: strength of ``V_kk' = U sum_a cos(k_a - k'_a)`` (Eq. B11)."""
    return 1.5 * params.t**2 / params.J


def onsite_energy(params: MixDParams, lattice):
    """sc on-site energy of Eq. (A7): ``J - (z/2)(3/2) t^2/J``.

    The second-order shift is ``-(3/4) t^2/J`` per hop direction (Eq. A7: "the
    factor of 2 comes from the two directions"); a rung has ``z`` of them, z = 2
    on the ladder (giving the paper's ``3/2``) and z = 4 on the square lattice.
    """
    z = lattice.coordination
    return params.J - 0.75 * z * params.t**2 / params.J


def form_factors(k: tuple, params: MixDParams):
    """``(gamma_k, g_k)``: hopping and recombination form factors (Eqs. 4, 8, 13)."""
    gamma = nn_form_factor(k)
    g = gamma + params.epsilon * diagonal_form_factor(k)
    return gamma, g


def safe_norm(x, y):
    """``sqrt(x^2 + y^2)`` with finite gradients everywhere (0 at the origin).

    Double-``where`` trick: the untaken branch never sees a zero argument.
    """
    r2 = x * x + y * y
    pos = r2 > 0.0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, r2, 1.0)), 0.0)


def moments(sin_theta, basis):
    """``M_i = (1/N) sum_k sin(theta_k) phi_i(k)``: the O(N) moments of the separable kernel."""
    return basis @ sin_theta / sin_theta.shape[-1]


def energy_from_sums(b, gs, v2g, n_f, m, params: MixDParams, lattice):
    """Eq. (B9) per rung (multiplier term 0) from its zone sums: ``gs = <g sin(theta)>``,
    ``v2g = <gamma v^2>``, ``n_f = 2 <v^2>``, ``m`` the kernel moments (the wedge solvers'
    one formula)."""
    U = kernel_strength(params)
    t = params.t
    e = (
        -4.0 * t * b * gs
        + 2.0 * (t - 2.0 * t * b**2) * v2g
        + onsite_energy(params, lattice) * n_f
        + 0.5 * U * jnp.sum(m**2)
        + (params.V + params.J) * b**2
    )
    if params.hartree:
        e = e + 0.5 * lattice.coordination * U * n_f**2
    return e


def _terms(theta, b, mu, params: MixDParams, lattice, k=None, ks=None):
    ks = _ks(lattice, k, ks)
    gamma = ks.gamma
    g = gamma + params.epsilon * ks.diag
    basis = ks.basis
    s = jnp.sin(theta)
    v2 = 0.5 * (1.0 - jnp.cos(theta))  # sin^2(theta/2), exact and smooth
    t = params.t
    U = kernel_strength(params)
    e0 = onsite_energy(params, lattice)
    m = moments(s, basis)
    n_f = 2.0 * jnp.mean(v2)
    e = (
        -4.0 * t * b * jnp.mean(g * s)
        + 2.0 * (t - 2.0 * t * b**2) * jnp.mean(gamma * v2)
        + 2.0 * (e0 + mu) * jnp.mean(v2)
        + 0.5 * U * jnp.sum(m**2)
        + (params.V + params.J + 2.0 * mu) * b**2
        - mu * params.n_holes / lattice.n_sites
    )
    if params.hartree:
        e = e + 0.5 * lattice.coordination * U * n_f**2
    return e


def lagrangian_b9(theta, beta, mu, params: MixDParams, lattice, *, ks=None):
    """Eq. (B9): ``<H>`` including the multiplier term ``mu (N_f + 2 N_cc - N_h)``.

    ``theta`` has shape ``(N,)`` (flattened k-grid of ``lattice``), ``beta`` is the
    total condensate amplitude (``N_cc = beta^2``).  Returns the total energy.
    """
    n = lattice.n_sites
    return n * _terms(theta, beta / jnp.sqrt(n), mu, params, lattice, ks=ks)


def energy_b9(theta, beta, params: MixDParams, lattice, *, ks=None):
    """The variational energy ``<H>`` of Eq. (B9) without the multiplier term."""
    n = lattice.n_sites
    return n * _terms(theta, beta / jnp.sqrt(n), 0.0, params, lattice, ks=ks)


def hole_number(theta, beta):
    """``N_f + 2 N_cc = 2 sum_k v_k^2 + 2 beta^2`` (Eq. B18)."""
    return jnp.sum(1.0 - jnp.cos(theta)) + 2.0 * beta**2


def mean_fields(b, mu, m, params: MixDParams, lattice, k=None, n_f=None, ks=None):
    """``(xi_k, Delta_k)`` of Eqs. (B11, corrected) and (B15) for given mean fields.

    ``b = beta/sqrt(N)``, ``m`` the kernel moments (:func:`moments`), ``k`` any
    momenta (default: the lattice grid), ``n_f`` the sc density per rung (only
    used with Hartree terms; default from the hole-number constraint), ``ks``
    precomputed form factors of ``k`` (:func:`kspace`).
    """
    ks = _ks(lattice, k, ks)
    gamma = ks.gamma
    g = gamma + params.epsilon * ks.diag
    basis = ks.basis
    t = params.t
    U = kernel_strength(params)
    xi = (t - 2.0 * t * b**2) * gamma + onsite_energy(params, lattice) + mu
    if params.hartree:
        if n_f is None:
            n_f = params.n_holes / lattice.n_sites - 2.0 * b**2
        xi = xi + lattice.coordination * U * n_f
    delta = 4.0 * t * b * g - U * jnp.tensordot(m, basis, axes=1)
    return xi, delta


def bogoliubov(xi, delta):
    """``(E_k, sin theta_k, v_k^2)`` of Eqs. (B12, B13), safe at ``E_k = 0``."""
    E = safe_norm(xi, delta)
    pos = E > 0.0
    Es = jnp.where(pos, E, 1.0)
    sin_t = jnp.where(pos, delta / Es, 0.0)
    # at E = 0 (xi = Delta = 0) the state is degenerate; half filling is the
    # symmetric choice and the limit along Delta -> 0 at xi = 0.
    v2 = jnp.where(pos, 0.5 * (1.0 - xi / Es), 0.5)
    return E, sin_t, v2
