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
from ..solvers import bisect_monotone, bracketed_secant, newton_root, newton_with_jacobian
from . import kpoints
from .energy import _terms, bogoliubov, energy_from_sums, kspace, mean_fields, moments, onsite_energy
from .params import MixDParams

__all__ = [
    "residual_b15_b17_b19",
    "solve_fixed_point",
    "solve_fixed_point_wedge",
    "wedge_value_and_jacobian",
    "wedge_energy",
    "DEFAULT_SEED_FRACTIONS",
]

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

    lo, hi = _mu_bracket(params, lattice, b)
    mu = bisect_monotone(number, lo, hi)
    return jnp.concatenate([jnp.stack([b, mu]), m])


def _mu_bracket(params: MixDParams, lattice, b):
    """A bracket of the hole chemical potential on the number equation (B19) at amplitude ``b``.

    ``xi`` ranges over ``e0 + mu +- z|t - 2 t b^2|``, ``|Delta| <= 4 t b max|g|``: the bracket
    puts the band far below / above zero on either side.
    """
    e0 = onsite_energy(params, lattice)
    width = (
        lattice.coordination * jnp.abs(params.t) * (1.0 + 2.0 * b**2)
        + 4.0 * params.t * b * (lattice.dim + 2.0 * jnp.abs(params.epsilon))
        + 1.0
    )
    return -e0 - 1e4 * width, -e0 + 1e4 * width


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


# ----------------------------------------------------------------------------------------
# the same equations on the irreducible wedge (jaxnickel.mixd.kpoints), symmetric states


def _wedge_fields(z, params: MixDParams, lattice, w, phi):
    """``(xi, Delta, gamma, g)`` on the wedge at the reduced unknowns ``z = (b, mu, M_c)``."""
    b, mu, mc = z[0], z[1], z[2:]
    gamma = w.cx + w.cy
    g = gamma + params.epsilon * (2.0 * w.cx * w.cy)
    t = params.t
    U = 1.5 * t**2 / params.J
    xi = (t - 2.0 * t * b**2) * gamma + onsite_energy(params, lattice) + mu
    if params.hartree:
        xi = xi + lattice.coordination * U * (params.n_holes / lattice.n_sites - 2.0 * b**2)
    delta = 4.0 * t * b * g - U * sum(mc[c] * phi[c] for c in range(len(phi)))
    return xi, delta, gamma, g


def _wedge_bogoliubov(xi, delta):
    """``(E, 1/E, sin theta, v^2)``, safe at ``E = 0`` (as :func:`~jaxnickel.mixd.energy.bogoliubov`)."""
    E = jnp.sqrt(xi * xi + delta * delta)
    pos = E > 0.0
    iE = jnp.where(pos, 1.0 / jnp.where(pos, E, 1.0), 0.0)
    s = delta * iE
    v2 = jnp.where(pos, 0.5 * (1.0 - xi * iE), 0.5)
    return E, iE, s, v2


def wedge_value_and_jacobian(z, params: MixDParams, lattice, w, basis):
    """Residual of (B17), (B19), (B15) in the reduced unknowns ``z`` and its Jacobian, one pass.

    ``basis = (Phi, Psi)`` of :func:`jaxnickel.mixd.kpoints.forms`.  With
    ``A = xi Delta / E^3``, ``B = xi^2 / E^3``, ``C = Delta^2 / E^3`` the tangents are
    ``d sin(theta) = -A d xi + B d Delta`` and ``d v^2 = (-C d xi + A d Delta)/2``; every
    Jacobian entry is a weighted zone sum of those times the form factors (analytic, no
    autodiff, all sums in one fused pass over the wedge).
    """
    phi, psi = basis
    nc = len(phi)
    b, mu = z[0], z[1]
    t = params.t
    U = 1.5 * t**2 / params.J
    xi, delta, gamma, g = _wedge_fields(z, params, lattice, w, phi)
    _, iE, s, v2 = _wedge_bogoliubov(xi, delta)
    c = xi * iE
    A = s * c * iE
    B = c * c * iE
    C = s * s * iE
    wt = w.weight

    def avg(f):
        return jnp.sum(wt * f)

    v2g = avg(v2 * gamma)
    n_h = params.n_holes / lattice.n_sites
    F = jnp.stack(
        [
            b * ((params.V + params.J + 2.0 * mu) - 4.0 * t * v2g) - 2.0 * t * avg(s * g),
            2.0 * avg(v2) + 2.0 * b**2 - n_h,
            *[z[2 + i] - avg(s * psi[i]) for i in range(nc)],
        ]
    )
    # tangents (d xi, d Delta) of the directions b, mu, M_c
    dxi_b = -4.0 * t * b * gamma
    if params.hartree:
        dxi_b = dxi_b - 4.0 * lattice.coordination * U * b
    tangents = [(dxi_b, 4.0 * t * g), (1.0, 0.0), *[(0.0, -U * phi[i]) for i in range(nc)]]
    cols = []
    for j, (dxi, dde) in enumerate(tangents):
        ds = -A * dxi + B * dde
        dv2 = 0.5 * (-C * dxi + A * dde)
        row_b = -4.0 * t * b * avg(gamma * dv2) - 2.0 * t * avg(g * ds)
        row_n = 2.0 * avg(dv2)
        if j == 0:
            row_b = row_b + (params.V + params.J + 2.0 * mu) - 4.0 * t * v2g
            row_n = row_n + 4.0 * b
        elif j == 1:
            row_b = row_b + 2.0 * b
        rows_m = [(1.0 if j == 2 + i else 0.0) - avg(psi[i] * ds) for i in range(nc)]
        cols.append(jnp.stack([row_b, row_n, *rows_m]))
    return F, jnp.stack(cols, axis=1)


def wedge_energy(z, params: MixDParams, lattice, w, basis):
    """Eq. (B9) per rung at the Bogoliubov angles of ``z`` (wedge sums; multiplier term 0)."""
    phi, psi = basis
    b = z[0]
    xi, delta, gamma, g = _wedge_fields(z, params, lattice, w, phi)
    _, iE, s, v2 = _wedge_bogoliubov(xi, delta)
    wt = w.weight
    m = kpoints.embed(lattice, jnp.stack([jnp.sum(wt * s * f) for f in psi]))
    n_f = 2.0 * jnp.sum(wt * v2)
    return energy_from_sums(b, jnp.sum(wt * g * s), jnp.sum(wt * gamma * v2), n_f, m, params, lattice)


def _wedge_seed(frac, params: MixDParams, lattice, w, basis):
    """As :func:`_seed` on the wedge: condensate fraction ``frac``, ``M = 0``, mu on (B19)."""
    nc = len(basis[0])
    n_h = params.n_holes / lattice.n_sites
    b = jnp.sqrt(0.5 * frac * n_h)
    m = jnp.zeros(nc)

    def number(mu, _):
        z = jnp.concatenate([jnp.stack([b, mu]), m])
        xi, delta, _, _ = _wedge_fields(z, params, lattice, w, basis[0])
        return 2.0 * jnp.sum(w.weight * _wedge_bogoliubov(xi, delta)[3]) + 2.0 * b**2 - n_h

    # (B19) is monotone in mu: Illinois regula falsi in the bracket (a few tens of cheap
    # evaluations on the coarse wedge, light to trace)
    lo, hi = _mu_bracket(params, lattice, b)

    def f(mu):
        return number(mu[0], None)[None]

    mu, _ = bracketed_secant(f, lo[None], hi[None], f(lo[None]), f(hi[None]), atol=1e-14 * (hi - lo), max_steps=200)
    return jnp.concatenate([jnp.stack([b, mu[0]]), m])


def wedge_residual(z, params: MixDParams, lattice, w, basis):
    """The residual of :func:`wedge_value_and_jacobian` alone (cheaper to trace and run)."""
    phi, psi = basis
    b, mu = z[0], z[1]
    t = params.t
    xi, delta, gamma, g = _wedge_fields(z, params, lattice, w, phi)
    _, _, s, v2 = _wedge_bogoliubov(xi, delta)
    wt = w.weight
    return jnp.stack(
        [
            b * ((params.V + params.J + 2.0 * mu) - 4.0 * t * jnp.sum(wt * v2 * gamma)) - 2.0 * t * jnp.sum(wt * s * g),
            2.0 * jnp.sum(wt * v2) + 2.0 * b**2 - params.n_holes / lattice.n_sites,
            *[z[2 + i] - jnp.sum(wt * s * psi[i]) for i in range(len(psi))],
        ]
    )


def _wedge_newton(params, lattice, w, basis, z0, tol, max_steps):
    return newton_with_jacobian(
        lambda z: wedge_value_and_jacobian(z, params, lattice, w, basis),
        z0,
        rtol=tol,
        atol=tol,
        max_steps=max_steps,
        fun=lambda z: wedge_residual(z, params, lattice, w, basis),
    )


def _wedge_seeds(params, lattice, seeds, tol, max_steps):
    w = kpoints.wedge(lattice)
    basis = kpoints.forms(w, lattice)
    starts = jax.lax.stop_gradient(jax.vmap(lambda f: _wedge_seed(f, params, lattice, w, basis))(jnp.asarray(seeds)))
    rs = jax.lax.map(lambda z0: _wedge_newton(params, lattice, w, basis, z0, tol, max_steps), starts)
    energies = jax.lax.map(lambda z: wedge_energy(z, params, lattice, w, basis), rs.x)
    score = jnp.where(rs.converged, energies, jnp.inf)
    best = jnp.where(jnp.any(rs.converged), jnp.argmin(score), jnp.argmin(rs.residual))
    return rs.x[best], rs.converged[best], jnp.sum(rs.steps), rs.residual[best]


def solve_fixed_point_wedge(
    params: MixDParams, lattice, *, x0=None, seeds=DEFAULT_SEED_FRACTIONS, tol=1e-12, max_steps=100, coarse_start=True
):
    """:func:`solve_fixed_point` on the irreducible wedge (symmetric states; :mod:`~jaxnickel.mixd.kpoints`).

    The same Newton iteration in the reduced unknowns ``z = (b, mu, M_c)`` with the
    analytic one-pass Jacobian of :func:`wedge_value_and_jacobian`, the same seeds and
    coarse start (on the coarse lattice's wedge); ``x0`` is projected on the symmetric
    subspace.  Returns the full vector ``x = (b, mu, M_1..M_2d)``.  Derivatives by the
    implicit function theorem (:func:`jaxnickel.solvers.newton_with_jacobian`).

    Unlike :func:`solve_fixed_point` there is no in-program fallback: when Newton from the
    coarse root fails, the result says so (``converged=False``) and
    :func:`jaxnickel.mixd.solve` solves again with ``coarse_start=False`` (the seeds on
    this lattice).  A compiled fallback branch would double the program, its trace time
    and its memory, and under ``vmap`` it runs for every point (a select).
    """

    def full(z):
        return jnp.concatenate([z[:2], kpoints.embed(lattice, z[2:])])

    w = kpoints.wedge(lattice)
    basis = kpoints.forms(w, lattice)

    def run(z_start):
        r = _wedge_newton(params, lattice, w, basis, z_start, tol, max_steps)
        return r.x, r.converged, r.steps, r.residual

    if x0 is not None:
        x0 = jnp.asarray(x0)
        z, ok, steps, res = run(jnp.concatenate([x0[:2], kpoints.project(lattice, x0[2:])]))
        return full(z), ok, steps, res
    seed_steps = min(max_steps, 40)
    coarse = _coarse(lattice) if coarse_start else None
    if coarse is None:
        z, ok, steps, res = _wedge_seeds(params, lattice, seeds, tol, seed_steps)
        return full(z), ok, steps, res
    pc = eqx.tree_at(lambda q: q.n_holes, params, params.n_holes * coarse.n_sites / lattice.n_sites)
    zc, _, steps_c, _ = _wedge_seeds(pc, coarse, seeds, tol, seed_steps)
    if kpoints.n_cos_moments(coarse) != kpoints.n_cos_moments(lattice):
        # a rectangle whose coarse lattice is square: its one moment serves both directions
        zc = jnp.concatenate([zc[:2], jnp.broadcast_to(zc[2:3], (kpoints.n_cos_moments(lattice),))])
    z, ok, steps, res = run(jax.lax.stop_gradient(zc))
    return full(z), ok, steps + steps_c, res


def wedge_seed_refined(frac, params: MixDParams, lattice, w, basis, newton_steps: int = 6):
    """:func:`_wedge_seed` at a fraction of its cost on a large lattice.

    ``mu`` is bracketed by bisection on the coarse lattice (same doping), then put on the
    number equation (B19) of ``lattice`` by a few Newton steps, ``dN/dmu = -2 <Delta^2/E^3>/2``
    (analytic; ``N(mu)`` is monotone and smooth, the coarse value is within finite-size
    corrections).  Lattices no larger than the coarse one bisect directly.
    """
    coarse = _coarse(lattice)
    if coarse is None or kpoints.n_cos_moments(coarse) != kpoints.n_cos_moments(lattice):
        return _wedge_seed(frac, params, lattice, w, basis)
    pc = eqx.tree_at(lambda q: q.n_holes, params, params.n_holes * coarse.n_sites / lattice.n_sites)
    wc = kpoints.wedge(coarse)
    z = _wedge_seed(frac, pc, coarse, wc, kpoints.forms(wc, coarse))
    n_h = params.n_holes / lattice.n_sites

    def step(_, z):
        xi, delta, _, _ = _wedge_fields(z, params, lattice, w, basis[0])
        E, iE, s, v2 = _wedge_bogoliubov(xi, delta)
        f = 2.0 * jnp.sum(w.weight * v2) + 2.0 * z[0] ** 2 - n_h
        df = -jnp.sum(w.weight * s * s * iE)
        mu = z[1] - jnp.where(df < 0, f / jnp.where(df < 0, df, -1.0), 0.0)
        return z.at[1].set(mu)

    return jax.lax.fori_loop(0, newton_steps, step, z)
