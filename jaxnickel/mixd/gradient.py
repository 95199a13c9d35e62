"""Direct minimisation of Eq. (B9) at fixed hole number: the gradient solver.

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

import equinox as eqx
import jax
import jax.numpy as jnp

from ..solvers import minimize_constrained
from .energy import energy_b9, hole_number, kspace

__all__ = ["solve_gradient"]


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
