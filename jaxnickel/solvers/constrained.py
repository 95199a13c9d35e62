r"""Minimisation of a pure JAX function with one equality constraint.

Method: augmented Lagrangian (method of multipliers).  For a multiplier
``lam`` the unconstrained function

.. math:: L_\rho(x) = f(x) + \lambda c(x) + \tfrac{\rho}{2} c(x)^2

is minimised with optax' L-BFGS (zoom line search); then ``lam <- lam + rho c``.
At convergence ``c = 0`` and ``grad f + lam grad c = 0``: ``lam`` is the
Lagrange multiplier (for the MixD model, the hole chemical potential).  The
quadratic penalty also keeps ``L_rho`` bounded below where ``f + lam c`` is not
(a free condensate, paper 000 BEC side), which is why a plain grand-canonical
minimisation is not used.

Everything runs inside ``lax.while_loop``: jit-able, vmap-able, float64.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

__all__ = ["MinimizeResult", "minimize_constrained", "lbfgs_minimize", "inf_norm", "with_gradient"]


class MinimizeResult(eqx.Module):
    x: object  # pytree like x0
    multiplier: jax.Array
    value: jax.Array
    converged: jax.Array
    iterations: jax.Array  # total L-BFGS steps
    outer_iterations: jax.Array
    grad_norm: jax.Array  # norm(grad of the Lagrangian) at the final x
    constraint: jax.Array  # |c(x)| at the final x


def inf_norm(tree) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.max(jnp.stack([jnp.max(jnp.abs(leaf)) for leaf in leaves]))


def with_gradient(fun, value_and_grad):
    """``fun`` (a pure function of one pytree ``x``) whose derivative is ``value_and_grad``.

    A ``jax.custom_jvp``: the value is ``fun(x)``, and every derivative (``jax.grad``, the
    JVP, L-BFGS' line-search derivatives) comes from ``value_and_grad(x) -> (f, g)``, e.g. a
    closed-form gradient that costs one pass where reverse-mode autodiff of ``fun`` stores
    and re-reads its intermediates.  ``fun`` and ``value_and_grad`` may close over traced
    parameters; differentiating the result with respect to them is refused by JAX (an
    ``UnexpectedTracerError``: a custom-JVP rule cannot see a closed-over value's
    tangent), never silently wrong.  Second derivatives differentiate ``value_and_grad``.
    """

    @jax.custom_jvp
    def f(x):
        return fun(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        value, grad = value_and_grad(x)
        dots = jax.tree_util.tree_map(lambda g, dx: jnp.vdot(g, dx), grad, t)
        return value, sum(jax.tree_util.tree_leaves(dots))

    return f


def lbfgs_minimize(fun, x0, *, tol, max_steps, memory_size=20, norm=None):
    """Unconstrained optax L-BFGS (zoom line search) until ``norm(grad) <= tol``; ``(x, steps)``."""
    norm = inf_norm if norm is None else norm
    opt = optax.lbfgs(memory_size=memory_size)
    value_and_grad = optax.value_and_grad_from_state(fun)

    def step(carry):
        x, state, _, i = carry
        value, grad = value_and_grad(x, state=state)
        updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=fun)
        x_new = optax.apply_updates(x, updates)
        return x_new, state, norm(optax.tree_utils.tree_get(state, "grad")), i + 1

    def cond(carry):
        _, _, gnorm, i = carry
        return (i < max_steps) & (gnorm > tol) & jnp.isfinite(gnorm)

    v0, grad0 = jax.value_and_grad(fun)(x0)
    g0 = norm(grad0)

    def run(x0):
        # the start's value and gradient go into the state: the first step reuses them
        # (value_and_grad_from_state) instead of evaluating the function again
        state = optax.tree_utils.tree_set(opt.init(x0), value=v0, grad=grad0)
        x, _, _, i = jax.lax.while_loop(cond, step, (x0, state, g0, jnp.asarray(0)))
        return x, i

    def skip(x0):
        return x0, jnp.asarray(0)

    # a start that already meets the tolerance (e.g. from a coarse lattice's or a reduced
    # problem's minimum) takes no step and never builds the L-BFGS memory (2 x memory_size
    # copies of x: ~70 MB for the 230k gap variables of a 1024^2 triplon shell)
    return jax.lax.cond((g0 > tol) & jnp.isfinite(g0), run, skip, x0)


def minimize_constrained(
    fun,
    x0,
    *,
    constraint=None,
    rho: float = 10.0,
    multiplier0=0.0,
    tol: float = 1e-10,
    ctol: float = 1e-12,
    max_outer: int = 60,
    max_inner: int = 3000,
    memory_size: int = 20,
    norm=inf_norm,
) -> MinimizeResult:
    """Minimise ``fun(x)`` subject to ``constraint(x) = 0`` (if given).

    Parameters
    ----------
    fun, constraint : pure functions of the pytree ``x``, returning scalars.
    rho : initial penalty parameter of the augmented Lagrangian (in units of
        ``fun / constraint^2``); multiplied by 10 (up to 1e6 x) whenever an
        outer step does not reduce the violation by a factor 4.
    multiplier0 : initial multiplier guess.
    tol : convergence threshold for ``norm(grad L)`` (``norm`` defaults to the
        max-norm; callers pass a scaled norm where components differ in scale).
    ctol : threshold for ``|constraint(x)|``.

    Notes
    -----
    ``converged`` is computed from the final gradient norm and constraint
    violation, recomputed after the loop, not from iteration counters.
    """
    lam0 = jnp.asarray(multiplier0, dtype=jnp.result_type(float))
    cfun = (lambda x: jnp.zeros((), lam0.dtype)) if constraint is None else constraint

    def lagrangian(x, lam, r):
        c = cfun(x)
        return fun(x) + lam * c + 0.5 * r * c**2

    def outer_step(carry):
        x, lam, r, it, outer, c_old = carry
        x, n = lbfgs_minimize(
            lambda y: lagrangian(y, lam, r), x, tol=tol, max_steps=max_inner, memory_size=memory_size, norm=norm
        )
        c = cfun(x)
        lam = lam + r * c
        # textbook update (Nocedal & Wright, Alg. 17.4): stiffen the penalty when
        # the violation did not drop by a factor 4 (e.g. the inner solve was
        # already below tol and did not move)
        r = jnp.where(jnp.abs(c) > 0.25 * c_old, jnp.minimum(10.0 * r, rho_max), r)
        return x, lam, r, it + n, outer + 1, jnp.abs(c)

    def outer_cond(carry):
        x, lam, r, it, outer, c = carry
        return (outer < max_outer) & ((c > ctol) | (outer == 0))

    rho0 = jnp.asarray(rho, dtype=lam0.dtype)
    rho_max = 1e6 * rho0
    x, lam, _, iters, outer, _ = jax.lax.while_loop(
        outer_cond,
        outer_step,
        (x0, lam0, rho0, jnp.asarray(0), jnp.asarray(0), jnp.abs(cfun(x0)) + jnp.inf),
    )
    # Report at the final point with the multiplier that makes grad L = grad f + lam grad c.
    c = cfun(x)
    gnorm = norm(jax.grad(lambda y: fun(y) + lam * cfun(y))(x))
    converged = (gnorm <= 10.0 * tol) & (jnp.abs(c) <= 10.0 * ctol) & jnp.isfinite(gnorm)
    if constraint is None:
        lam = jnp.zeros_like(lam)
    return MinimizeResult(
        x=x,
        multiplier=lam,
        value=fun(x),
        converged=converged,
        iterations=iters,
        outer_iterations=outer,
        grad_norm=gnorm,
        constraint=jnp.abs(c),
    )
