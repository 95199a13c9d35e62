"""Direct minimisation of Eq. (B9) at fixed hole number: the gradient solver.

Two forms: :func:`solve_gradient_wedge` (cold starts, the symmetric state on the
irreducible wedge, the condensate eliminated by the hole number, one unconstrained
L-BFGS run; on lattices above 64 x 64 / 512 rungs it starts from the variational minimum
of the coarse lattice, :func:`coarse_gradient_start`) and :func:`solve_gradient` (the
full zone, augmented Lagrangian; warm starts that may break the symmetry).  The rest of
this docstring describes the latter.

Unknowns are the full set of BCS angles ``theta_k`` (one per k-point) and the
total condensate amplitude ``beta``; the hole number (B18)
``2 sum_k v_k^2 + 2 beta^2 = N_h`` is imposed by the augmented-Lagrangian method
of :func:`jaxnickel.solvers.minimize_constrained` (optax L-BFGS inside), whose
multiplier is the hole chemical potential ``mu_h``.  Gradients come from
autodiff of :func:`jaxnickel.mixd.energy.energy_b9`; nothing of the fixed-point
equations is used, which makes this an independent check of them.

Scaling: ``theta_k`` gradients are intensive (``dE/dtheta_k ~ E_k``), the
``beta`` gradient grows like ``sqrt(N)``; the convergence norm divides it by
``sqrt(N)`` so that one tolerance means the same on every lattice size.  The
penalty parameter is ``rho = rho0 / N`` (``rho0`` per unit of the
compressibility per rung).
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp

from ..solvers import minimize_constrained
from .energy import energy_b9, hole_number, kspace

__all__ = ["solve_gradient", "solve_gradient_wedge", "wedge_energy_canonical", "coarse_gradient_start"]


def solve_gradient(
    params,
    lattice,
    theta0,
    beta0,
    mu0,
    *,
    tol=1e-10,
    ctol=None,
    rho0=20.0,
    max_inner=5000,
    max_outer=60,
    curvature=None,
):
    """Minimise (B9) from ``(theta0, beta0)``; returns ``(theta, beta, mu, result)``.

    ``result`` (:class:`GradientInfo`) reports convergence at the returned
    state, after the final feasibility restoration.

    ``curvature``: the diagonal of the Hessian in ``theta_k`` (up to one constant factor;
    the quasiparticle energies ``E_k`` of the seed: ``d^2 E/d theta_k^2 ~ E_k``).  L-BFGS then
    runs in ``x_k = theta_k sqrt(E_k / <E>)``, where the Hessian's diagonal is uniform; the
    stopping norm stays the one in ``theta`` (the solution and its tolerance do not change).
    """
    n = lattice.n_sites
    sqrt_n = jnp.sqrt(float(n))
    if ctol is None:
        ctol = 1e-11 * jnp.maximum(params.n_holes, 1.0)

    ks = kspace(lattice.momenta())  # form factors once, outside the optimiser loop

    if curvature is None:
        scale = jnp.ones_like(jnp.asarray(theta0))
    else:
        c = jnp.asarray(curvature)
        c = jnp.maximum(c, 1e-3 * jnp.mean(c))
        scale = jax.lax.rsqrt(c / jnp.mean(c))  # theta = scale * x

    def fun_theta(x):
        return energy_b9(x["theta"], x["beta"], params, lattice, ks=ks)

    def constraint_theta(x):
        return hole_number(x["theta"], x["beta"]) - params.n_holes

    def norm_theta(g):
        return jnp.maximum(jnp.max(jnp.abs(g["theta"])), jnp.abs(g["beta"]) / sqrt_n)

    def to_theta(x):
        return {"theta": x["theta"] * scale, "beta": x["beta"]}

    def fun(x):
        return fun_theta(to_theta(x))

    def constraint(x):
        return constraint_theta(to_theta(x))

    def norm(g):  # g in x: dE/dtheta_k = g_k / scale_k
        return norm_theta({"theta": g["theta"] / scale, "beta": g["beta"]})

    x0 = {"theta": jnp.asarray(theta0) / scale, "beta": jnp.asarray(beta0)}
    res = minimize_constrained(
        fun,
        x0,
        constraint=constraint,
        rho=rho0 / n,
        multiplier0=mu0,
        tol=tol,
        ctol=ctol,
        max_inner=max_inner,
        max_outer=max_outer,
        norm=norm,
    )
    theta = res.x["theta"] * scale
    # Feasibility restoration: put the last ~1e-10 of hole-number violation into
    # the condensate, beta^2 = (N_h - N_f)/2.  The energy moves by mu * dN (second
    # order at the constrained minimum); stationarity is re-measured afterwards.
    n_f = hole_number(theta, 0.0)
    beta2 = 0.5 * (params.n_holes - n_f)
    beta = jnp.where(beta2 > 0.0, jnp.sign(res.x["beta"]) * jnp.sqrt(jnp.maximum(beta2, 0.0)), res.x["beta"])
    mu = res.multiplier
    # convergence judged at the returned state
    grads = jax.grad(lambda x: fun_theta(x) + mu * constraint_theta(x))({"theta": theta, "beta": beta})
    gnorm = norm_theta(grads)
    c = jnp.abs(constraint_theta({"theta": theta, "beta": beta}))
    converged = (gnorm <= 10.0 * tol) & (c <= jnp.maximum(ctol, 1e-10)) & jnp.isfinite(gnorm)
    return theta, beta, mu, GradientInfo(converged=converged, iterations=res.iterations, residual=gnorm, constraint=c)


class GradientInfo(eqx.Module):
    converged: jax.Array
    iterations: jax.Array
    residual: jax.Array  # scaled max-norm of grad L at the returned state
    constraint: jax.Array  # |hole number - N_h| at the returned state


def _canonical(theta, params, lattice, w):
    """Value pieces of :func:`wedge_energy_canonical` and the per-point gradient factors."""
    from . import kpoints
    from .energy import energy_from_sums, kernel_strength, onsite_energy

    phi, psi = kpoints.forms(w, lattice)
    wt = w.weight
    s, c = jnp.sin(theta), jnp.cos(theta)
    v2 = 0.5 * (1.0 - c)
    n_f = 2.0 * jnp.sum(wt * v2)
    b2 = 0.5 * (params.n_holes / lattice.n_sites - n_f)
    ok = b2 > 0.0
    b = jnp.sqrt(jnp.where(ok, b2, 1.0))
    gamma = w.cx + w.cy
    g = gamma + params.epsilon * (2.0 * w.cx * w.cy)
    t = params.t
    U = kernel_strength(params)
    e0 = onsite_energy(params, lattice)
    mc = jnp.stack([jnp.sum(wt * s * f) for f in psi])
    m = kpoints.embed(lattice, mc)
    gs = jnp.sum(wt * g * s)
    v2g = jnp.sum(wt * gamma * v2)
    e = energy_from_sums(b, gs, v2g, n_f, m, params, lattice)  # b^2 == b2 where e is used
    xi = (t - 2.0 * t * b2) * gamma + e0
    if params.hartree:
        xi = xi + lattice.coordination * U * n_f
    # the multiplier that the eliminated condensate implies (stationarity in beta)
    mu = (4.0 * t * gs + 8.0 * t * b * v2g - 2.0 * (params.V + params.J) * b) / (4.0 * b)
    delta = 4.0 * t * b * g - U * sum(mc[i] * phi[i] for i in range(len(phi)))
    return jnp.where(ok, e, jnp.inf), b, mu, ok, (s, c, xi, delta)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _canonical_value(theta, params, w, lattice):
    return _canonical(theta, params, lattice, w)[0]


def _canonical_fwd(theta, params, w, lattice):
    e, _, mu, ok, (s, c, xi, delta) = _canonical(theta, params, lattice, w)
    # d e / d theta_j = w_j [(xi_j + mu) sin theta_j - Delta_j cos theta_j] (the condensate's
    # response to N_f is the mu term); zero where there is no condensate (e = inf)
    grad = jnp.where(ok, w.weight * ((xi + mu) * s - delta * c), 0.0)
    return e, (grad, params, w)


def _canonical_bwd(lattice, res, ct):
    grad, params, w = res
    zeros = jax.tree_util.tree_map(jnp.zeros_like, (params, w))
    return (ct * grad, *zeros)


_canonical_value.defvjp(_canonical_fwd, _canonical_bwd)


def wedge_energy_canonical(theta, params, lattice, w):
    """Eq. (B9) per rung on the wedge with the condensate fixed by the hole number (B18).

    ``beta^2 = (N_h - N_f(theta)) / 2``: the constraint holds exactly and ``theta_k`` on the
    wedge are the only unknowns.  Returns ``(e, b, mu)``; ``e = +inf`` where ``N_f >= N_h``
    (no condensate left), with zero gradient there.  Reverse mode uses the closed-form
    gradient ``w_j [(xi_j + mu) sin theta_j - Delta_j cos theta_j]`` (one pass; equal to
    autodiff, tested), not the autodiff tape.
    """
    _, b, mu, _, _ = _canonical(theta, params, lattice, w)
    return _canonical_value(theta, params, w, lattice), b, mu


def solve_gradient_wedge(params, lattice, theta0, *, tol=1e-10, max_steps=5000, curvature=None, memory_size=20):
    """Minimise (B9) over the BCS angles of the irreducible wedge; returns ``(theta, beta, mu, result)``.

    The symmetric-state counterpart of :func:`solve_gradient`, for cold starts
    (:mod:`jaxnickel.mixd.kpoints`).  The hole number is imposed *exactly* by eliminating
    the condensate, ``beta^2 = (N_h - N_f)/2`` (:func:`wedge_energy_canonical`), so a single
    unconstrained optax L-BFGS run replaces the augmented-Lagrangian outer loop, and
    ``mu_h`` follows from the stationarity in ``beta``:
    ``mu = [4 t <g sin theta> + 8 t b <gamma v^2> - 2 (V + J) b] / (4 b)``.  The reduced
    gradient ``dE/dtheta_k + dE/dbeta dbeta/dtheta_k`` equals ``dL/dtheta_k`` of the
    Lagrangian with that multiplier, so the stopping norm, ``max_k |dL/dtheta_k|`` over the
    wedge, is the full-zone stationarity.

    Variables: ``y_j = theta_j sqrt(N w_j E_j / <E>)`` (``w_j`` the wedge weights: the map
    is an isometry of the symmetric subspace of the full zone; ``E_j`` the seed's
    quasiparticle energies, the diagonal curvature, when ``curvature`` is given).
    """
    from ..solvers.constrained import lbfgs_minimize
    from . import kpoints

    w = kpoints.wedge(lattice)
    n = lattice.n_sites
    live = w.weight > 0.0
    c = jnp.ones_like(theta0) if curvature is None else jnp.asarray(curvature)
    cbar = jnp.sum(w.weight * c)
    c = jnp.maximum(c / cbar, 1e-3)
    S = jnp.where(live, jnp.sqrt(jnp.where(live, n * w.weight * c, 1.0)), 1.0)  # theta = y / S

    def total(y):
        return n * wedge_energy_canonical(y / S, params, lattice, w)[0]

    def norm(G):  # G = dH/dy = N w g / S  ->  g = S G / (N w): the per-point gradient
        g = jnp.where(live, S * G / jnp.where(live, n * w.weight, 1.0), 0.0)
        return jnp.max(jnp.abs(g))

    y, steps = lbfgs_minimize(
        total, jnp.asarray(theta0) * S, tol=tol, max_steps=max_steps, memory_size=memory_size, norm=norm
    )
    theta = y / S
    e, b, mu = wedge_energy_canonical(theta, params, lattice, w)
    s, cth = jnp.sin(theta), jnp.cos(theta)
    gnorm = norm(jax.grad(total)(y))
    converged = (gnorm <= 10.0 * tol) & jnp.isfinite(e) & jnp.isfinite(gnorm)
    info = GradientInfo(converged=converged, iterations=steps, residual=gnorm, constraint=jnp.zeros_like(gnorm))
    return (theta, s, cth), b * jnp.sqrt(float(n)), mu, info


def minimise_from_fields(z0, params, lattice, w, basis, *, tol, max_steps, precondition=True):
    """:func:`solve_gradient_wedge` from the reduced unknowns ``z0 = (b, mu, M_c)``.

    The start is ``theta_k = atan2(Delta_k, xi_k)`` of the mean fields ``z0`` on the wedge
    ``w``, and the preconditioner their quasiparticle energies ``E_k`` (``precondition``).
    """
    from .fixed_point import _wedge_fields

    xi, delta, _, _ = _wedge_fields(z0, params, lattice, w, basis[0])
    return solve_gradient_wedge(
        params,
        lattice,
        jnp.arctan2(delta, xi),
        tol=tol,
        max_steps=max_steps,
        curvature=jnp.sqrt(xi * xi + delta * delta) if precondition else None,
    )


def coarse_gradient_start(params, lattice, *, tol, max_steps, precondition=True):
    """Reduced unknowns ``z = (b, mu, M_c)`` of the *variational* minimum on the coarse lattice.

    The gradient method's coarse-to-fine start (issue 13), the counterpart of the fixed
    point's coarse start: :func:`solve_gradient_wedge` minimises (B9) on the coarse lattice
    of :func:`~jaxnickel.mixd.fixed_point._coarse` (64 x 64 / 512 rungs, same doping) from
    the condensate-fraction-1/2 seed, and its minimum's mean fields (condensate ``b``,
    ``mu`` from the stationarity in beta, the moments ``M_c = <sin theta psi_c>``) are
    intensive, so they seed the BCS angles of the large lattice, ``theta_k =
    atan2(Delta_k, xi_k)``, where L-BFGS then minimises (B9) itself.  For a gapped state the
    lattice sums converge exponentially in L: the coarse minimum is the large lattice's to
    rounding and the fine L-BFGS needs few (often no) iterations.  Nothing of the fixed-point
    equations is solved.  Returns ``(z, coarse iterations)``, or ``None`` where no coarse
    lattice applies (small lattices; rectangles whose coarse lattice has other moments).
    """
    from . import kpoints
    from .fixed_point import _coarse, _wedge_seed

    coarse = _coarse(lattice)
    if coarse is None or kpoints.n_cos_moments(coarse) != kpoints.n_cos_moments(lattice):
        return None
    pc = eqx.tree_at(lambda q: q.n_holes, params, params.n_holes * coarse.n_sites / lattice.n_sites)
    wc = kpoints.wedge(coarse)
    basis = kpoints.forms(wc, coarse)
    z0 = _wedge_seed(0.5, pc, coarse, wc, basis)
    (_, s, _), beta, mu, r = minimise_from_fields(
        z0, pc, coarse, wc, basis, tol=tol, max_steps=max_steps, precondition=precondition
    )
    mc = jnp.stack([jnp.sum(wc.weight * s * f) for f in basis[1]])
    z = jnp.concatenate([jnp.stack([beta / jnp.sqrt(float(coarse.n_sites)), mu]), mc])
    return jax.lax.stop_gradient(z), r.iterations
