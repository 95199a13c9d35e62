r"""Self-consistency of Eqs. (B15), (B17), (B19): the fixed-point solver.

The gap equation (B15) is separable: ``Delta_k`` is fixed by the condensate
amplitude ``b = beta/sqrt(N)`` and the ``2 d`` moments ``M_i = <sin(theta) phi_i>``
of the kernel.  The whole self-consistency is therefore a small system for

    x = (b, mu, M_1 .. M_2d)

whose residual is

* (B17)  ``b [(V + J + 2 mu) - 4 t <v^2 gamma>] - 2 t <sin(theta) g>``,
* (B19)  ``2 <v^2> + 2 b^2 - n_h``,
* (B15)  ``M - M[Delta(x)]``,

with ``sin(theta_k), v_k^2`` from Eq. (B12)/(B13) at the mean fields of ``x``.
Every evaluation is O(N).  The iteration is Newton's method on this system
(a dense ``(2+2d) x (2+2d)`` Jacobian from forward-mode autodiff): it solves
``b`` and ``mu`` *together* with the moments at every step, which is what the
naive loop "mu from (B19), then b explicitly from (B17)" fails to do on the BEC
side, where the condensate is nearly free (``V + J + 2 mu -> 4 t <v^2 gamma>``)
and the explicit (B17) update divides by almost zero.

Seeds: Newton needs a start in its basin.  We start from a few condensate
fractions between the BCS and BEC limits, each with ``mu`` put on the number
equation (B19) by bisection (monotone in ``mu``), run them in one ``vmap`` and
keep the converged root of lowest energy (the normal state ``b = M = 0`` is a
root too, a saddle, and is discarded by that rule).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..lattice import Ladder, Square
from ..solvers import bisect_monotone, newton_root
from .energy import _terms, bogoliubov, kspace, mean_fields, moments, onsite_energy
from .params import MixDParams

__all__ = ["residual_b15_b17_b19", "solve_fixed_point", "DEFAULT_SEED_FRACTIONS"]

#: fractions of the holes put in the condensate in the seeds (2 b^2 / n_h)
DEFAULT_SEED_FRACTIONS = (0.002, 0.02, 0.15, 0.4, 0.7, 0.95)


def _unpack(x):
    return x[0], x[1], x[2:]


def _state(x, params, lattice, ks):
    b, mu, m = _unpack(x)
    xi, delta = mean_fields(b, mu, m, params, lattice, ks=ks)
    E, s, v2 = bogoliubov(xi, delta)
    return xi, delta, E, s, v2


def residual_b15_b17_b19(x, args):
    """Residual vector of (B17), (B19), (B15) at ``x = (b, mu, M)``.

    ``args = (params, lattice)`` or ``(params, lattice, ks)`` with precomputed form
    factors (:func:`~jaxnickel.mixd.energy.kspace`).
    """
    params, lattice = args[0], args[1]
    ks = args[2] if len(args) > 2 else kspace(lattice.momenta())
    gamma = ks.gamma
    g = gamma + params.epsilon * ks.diag
    basis = ks.basis
    b, mu, m = _unpack(x)
    _, _, _, s, v2 = _state(x, params, lattice, ks)
    t = params.t
    r_b = b * ((params.V + params.J + 2.0 * mu) - 4.0 * t * jnp.mean(v2 * gamma)) - 2.0 * t * jnp.mean(s * g)
    r_n = 2.0 * jnp.mean(v2) + 2.0 * b**2 - params.n_holes / lattice.n_sites
    r_m = m - moments(s, basis)
    return jnp.concatenate([jnp.stack([r_b, r_n]), r_m])


def _seed(frac, params: MixDParams, lattice, ks=None):
    """A start ``x0``: condensate fraction ``frac``, M = 0, mu on (B19) by bisection."""
    n_h = params.n_holes / lattice.n_sites
    b = jnp.sqrt(0.5 * frac * n_h)
    m = jnp.zeros(2 * lattice.dim)
    ks = kspace(lattice.momenta()) if ks is None else ks

    def number(mu, _):
        x = jnp.concatenate([jnp.stack([b, mu]), m])
        _, _, _, _, v2 = _state(x, params, lattice, ks)
        return 2.0 * jnp.mean(v2) + 2.0 * b**2 - n_h

    # xi ranges over e0 + mu +- z|t - 2 t b^2|; |Delta| <= 4 t b max|g|.  The bracket
    # puts the band far below / above zero on either side.
    e0 = onsite_energy(params, lattice)
    width = (
        lattice.coordination * jnp.abs(params.t) * (1.0 + 2.0 * b**2)
        + 4.0 * params.t * b * (lattice.dim + 2.0 * jnp.abs(params.epsilon))
        + 1.0
    )
    scale = 1e4 * width
    mu = bisect_monotone(number, -e0 - scale, -e0 + scale)
    return jnp.concatenate([jnp.stack([b, mu]), m])


def energy_of_state(x, params: MixDParams, lattice, ks=None):
    """Eq. (B9) per rung at the Bogoliubov angles of the mean fields ``x``."""
    ks = kspace(lattice.momenta()) if ks is None else ks
    xi, delta, E, s, v2 = _state(x, params, lattice, ks)
    theta = jnp.arctan2(delta, xi)
    b, mu, _ = _unpack(x)
    return _terms(theta, b, 0.0, params, lattice, ks=ks)


#: cold starts on lattices larger than this run the seeds on a coarse lattice first
COARSE_1D = 512
COARSE_2D = 64


def _coarse(lattice):
    if lattice.dim == 1:
        return Ladder(COARSE_1D) if lattice.n_sites > COARSE_1D else None
    if lattice.Lx > COARSE_2D or lattice.Ly > COARSE_2D:
        return Square(min(lattice.Lx, COARSE_2D), min(lattice.Ly, COARSE_2D))
    return None


def _solve_seeds(params, lattice, seeds, tol, max_steps, adjoint="implicit"):
    ks = kspace(lattice.momenta())
    args = (params, lattice, ks)

    def run(x_start):
        return newton_root(
            residual_b15_b17_b19, x_start, args, rtol=tol, atol=tol, max_steps=max_steps, adjoint=adjoint
        )

    # a converged root does not depend on its start (and the implicit adjoint ignores it):
    # no derivative flows through the seeds' bisections, which also keeps reverse mode clear
    # of their vmapped root solves (jax.grad with respect to n_holes)
    starts = jax.lax.stop_gradient(jax.vmap(lambda f: _seed(f, params, lattice, ks))(jnp.asarray(seeds)))
    # one seed after another (lax.map): each Newton loop stops at its own convergence instead of
    # running in lockstep with the slowest seed, and reverse mode transposes a scan (a vmap of
    # the implicit root solves fails to transpose for n_holes, which enters the residual alone)
    rs = jax.lax.map(run, starts)
    energies = jax.lax.map(lambda x: energy_of_state(x, params, lattice, ks), rs.x)
    score = jnp.where(rs.converged, energies, jnp.inf)
    any_ok = jnp.any(rs.converged)
    best = jnp.where(any_ok, jnp.argmin(score), jnp.argmin(rs.residual))
    return rs.x[best], rs.converged[best], jnp.sum(rs.steps), rs.residual[best]


def solve_fixed_point(
    params: MixDParams, lattice, *, x0=None, seeds=DEFAULT_SEED_FRACTIONS, tol=1e-12, max_steps=100, adjoint="implicit"
):
    """Solve (B15, B17, B19) by Newton's method; returns ``(x, converged, steps, residual)``.

    ``x0`` (shape ``(2 + 2 d,)``) is a warm start.  Without it the seeds of
    :data:`DEFAULT_SEED_FRACTIONS` run in one vmap (at most 40 Newton steps each: a
    seed outside the basin diverges and is dropped) and the lowest-energy converged
    root is kept.  On lattices larger than 512 rungs (1D) or 64 x 64 (2D) the seeds
    run on that coarse lattice at the same doping (the mean fields ``x`` are
    intensive) and the full lattice is solved from the coarse root; if that fails,
    the seeds are rerun on the full lattice.

    ``adjoint``: ``"implicit"`` (implicit function theorem, default) or
    ``"unrolled"`` (backpropagation through the Newton steps; a test reference).
    """
    ks = kspace(lattice.momenta())
    args = (params, lattice, ks)

    def run(x_start):
        r = newton_root(residual_b15_b17_b19, x_start, args, rtol=tol, atol=tol, max_steps=max_steps, adjoint=adjoint)
        return r.x, r.converged, r.steps, r.residual

    if x0 is not None:
        return run(jnp.asarray(x0))
    seed_steps = min(max_steps, 40)
    coarse = _coarse(lattice)
    if coarse is None:
        return _solve_seeds(params, lattice, seeds, tol, seed_steps, adjoint)
    pc = eqx.tree_at(lambda q: q.n_holes, params, params.n_holes * coarse.n_sites / lattice.n_sites)
    xc, _, steps_c, _ = _solve_seeds(pc, coarse, seeds, tol, seed_steps)
    x, ok, steps, res = run(jax.lax.stop_gradient(xc))

    def fallback(_):
        xf, okf, sf, rf = _solve_seeds(params, lattice, seeds, tol, seed_steps, adjoint)
        return xf, okf, sf + steps, rf

    x, ok, steps, res = jax.lax.cond(ok, lambda _: (x, ok, steps, res), fallback, None)
    return x, ok, steps + steps_c, res
