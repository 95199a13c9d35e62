"""Entry point: the mean-field ground state of the MixD+V model at fixed N_h.

``solve(params, lattice, method=...)`` validates the input, requires float64,
runs one of the two solvers under ``jit`` and returns a
:class:`~jaxnickel.mixd.solution.MixDSolution`.  ``solve_jax`` is the pure,
jit/vmap-able core without validation or warnings (use it inside your own
transformations; parameters are traced, so a scan is one compiled ``vmap``).

Methods
-------
``"fixed-point"``  Newton iteration of the self-consistency equations (B15),
                   (B17), (B19) in the space of mean-field moments
                   (:mod:`jaxnickel.mixd.fixed_point`).
``"gradient"``     direct minimisation of Eq. (B9) over the ``theta_k`` with optax
                   L-BFGS (:mod:`jaxnickel.mixd.gradient`): on the wedge with
                   ``beta`` eliminated by the hole number, or on the full zone over
                   ``theta_k`` and ``beta`` with the hole number by augmented
                   Lagrangian.

Both run on the irreducible wedge of the lattice (:mod:`jaxnickel.mixd.kpoints`) for
cold starts; ``zone="full"`` sums over all ``N`` points.

Warm starts: ``init`` takes a previous solution (any lattice size: its mean
fields are re-evaluated on the new grid) or a mean-field vector
``(b, mu, M_1..M_2d)``.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ..lattice import Lattice
from ..results import raise_or_warn
from ..solvers import require_x64
from ..solvers.dtype import require_float64_params
from . import kpoints
from .energy import bogoliubov, mean_fields
from .fixed_point import (
    DEFAULT_SEED_FRACTIONS,
    _coarse,
    _seed,
    solve_fixed_point,
    solve_fixed_point_wedge,
    wedge_seed_refined,
)
from .gradient import coarse_gradient_start, minimise_from_fields, solve_gradient
from .params import MixDParams, validate_params
from .solution import MixDSolution, build_solution, build_solution_fixed_point, build_solution_wedge

__all__ = ["solve", "solve_jax", "METHODS", "ConvergenceWarning"]

METHODS = ("fixed-point", "gradient")


class ConvergenceWarning(RuntimeWarning):
    """A solve stopped without meeting its tolerance."""


def _init_vector(init, lattice):
    if init is None:
        return None
    if isinstance(init, MixDSolution):
        if init.lattice.dim != lattice.dim:
            raise ValueError("init: a warm start must come from a lattice of the same dimension")
        b = init.beta / jnp.sqrt(init.lattice.n_sites)
        return jnp.concatenate([jnp.stack([b, init.mu]), init.moments])
    x0 = jnp.asarray(init, dtype=jnp.result_type(float))
    if x0.shape != (2 + 2 * lattice.dim,):
        raise ValueError(f"init: expected a vector of shape ({2 + 2 * lattice.dim},) = (b, mu, M...), got {x0.shape}")
    return x0


def solve_jax(
    params: MixDParams,
    lattice: Lattice,
    method: str = "fixed-point",
    *,
    init=None,
    tol: float = 1e-12,
    seeds=DEFAULT_SEED_FRACTIONS,
    max_steps: int | None = None,
    adjoint: str = "implicit",
    precondition: bool = True,
    zone: str = "auto",
    coarse_start: bool = True,
) -> MixDSolution:
    """Pure core of :func:`solve` (no validation, no warnings); jit/vmap/grad-able.

    ``zone`` (fixed point): ``"wedge"`` sums over the irreducible wedge of the lattice's
    point group (:mod:`jaxnickel.mixd.kpoints`; exact for the symmetric state, ~8x fewer
    points on a square lattice), ``"full"`` over all ``N`` points (needed for a warm start
    that breaks the symmetry), ``"auto"`` (default) the wedge for cold starts and for warm
    starts from a wedge solution, the full zone for a warm-start vector.  The solution's
    ``reduction`` and ``k_points`` say which.  ``adjoint="unrolled"`` always uses the full zone.
    ``coarse_start`` (wedge cold starts, lattices above 64 x 64 / 512 rungs): seed on the
    coarse lattice and start Newton from its root (fixed point) or L-BFGS from its
    variational minimum (gradient, :func:`~jaxnickel.mixd.gradient.coarse_gradient_start`;
    ``iterations`` counts both lattices' steps); ``False`` runs the seeds on this lattice
    (what :func:`solve` does, once, when the coarse start fails).

    ``precondition`` (gradient method): L-BFGS in variables scaled by the seed's
    quasiparticle energies (the diagonal curvature of Eq. B9 in ``theta_k``); ``False``
    runs it in the bare ``theta_k`` (for comparison).

    Derivatives of the fixed-point solution use the implicit function theorem
    (``adjoint="implicit"``) or backpropagate through the Newton steps
    (``"unrolled"``, a test reference); the gradient method is not differentiable.
    """
    require_x64()  # at trace time: a float32 solve finds no condensate and would call itself converged
    x0 = _init_vector(init, lattice)
    n = lattice.n_sites
    zone = _zone(zone, init, method, adjoint)
    if method == "fixed-point" and zone == "wedge":
        x, ok, steps, res = solve_fixed_point_wedge(
            params,
            lattice,
            x0=x0,
            seeds=seeds,
            tol=tol,
            max_steps=100 if max_steps is None else max_steps,
            coarse_start=coarse_start,
        )
        return build_solution_fixed_point(
            x, params, lattice, method=method, converged=ok, iterations=steps, residual=res
        )
    if method == "fixed-point":
        x, ok, steps, res = solve_fixed_point(
            params,
            lattice,
            x0=x0,
            seeds=seeds,
            tol=tol,
            max_steps=100 if max_steps is None else max_steps,
            adjoint=adjoint,
        )
        b, mu, m = x[0], x[1], x[2:]
        xi, delta = mean_fields(b, mu, m, params, lattice)
        theta = jnp.arctan2(delta, xi)
        return build_solution(
            theta, b * jnp.sqrt(n), mu, params, lattice, method=method, converged=ok, iterations=steps, residual=res
        )
    if method == "gradient" and zone == "wedge":
        w = kpoints.wedge(lattice)
        basis = kpoints.forms(w, lattice)
        grad_tol = jnp.maximum(100.0 * tol, 1e-10)
        steps_cap = 5000 if max_steps is None else max_steps
        start = None
        if x0 is None and coarse_start:
            # (100x tighter on the cheap coarse lattice: where the finite-size correction is below
            # the tolerance the fine lattice then needs no L-BFGS step at all)
            start = coarse_gradient_start(
                params, lattice, tol=1e-2 * grad_tol, max_steps=steps_cap, precondition=precondition
            )
        steps_c = 0
        if start is not None:
            z0, steps_c = start
        elif x0 is None:
            z0 = wedge_seed_refined(0.5, params, lattice, w, basis)
        else:
            z0 = jnp.concatenate([x0[:2], kpoints.project(lattice, x0[2:])])
        angles, beta, mu, r = minimise_from_fields(
            z0, params, lattice, w, basis, tol=grad_tol, max_steps=steps_cap, precondition=precondition
        )
        return build_solution_wedge(
            angles,
            beta,
            mu,
            params,
            lattice,
            method=method,
            converged=r.converged,
            iterations=r.iterations + steps_c,
            residual=r.residual,
        )
    if method == "gradient":
        if x0 is None:
            x0 = _seed(0.5, params, lattice)
        b, mu0, m = x0[0], x0[1], x0[2:]
        xi, delta = mean_fields(b, mu0, m, params, lattice)
        E, _, _ = bogoliubov(xi, delta)
        theta0 = jnp.arctan2(delta, xi)
        grad_tol = jnp.maximum(100.0 * tol, 1e-10)
        theta, beta, mu, r = solve_gradient(
            params,
            lattice,
            theta0,
            b * jnp.sqrt(n),
            mu0,
            tol=grad_tol,
            max_inner=5000 if max_steps is None else max_steps,
            curvature=E if precondition else None,
        )
        sol = build_solution(
            theta,
            beta,
            mu,
            params,
            lattice,
            method=method,
            converged=r.converged,
            iterations=r.iterations,
            residual=jnp.maximum(r.residual, r.constraint / params.n_holes),
        )
        return sol
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _zone(zone, init, method, adjoint):
    if zone not in kpoints.ZONES:
        raise ValueError(f"zone must be one of {kpoints.ZONES}, got {zone!r}")
    if adjoint != "implicit":
        return "full"
    if zone != "auto":
        return zone
    if init is None:
        return "wedge"
    if isinstance(init, MixDSolution) and not init.reduction.startswith("full"):
        return "wedge"  # a wedge solution is symmetric: so is the state it warm-starts
    return "full"


_solve_jit = eqx.filter_jit(solve_jax)


def _solution_treedef(params, lattice, method, zone):
    """The pytree structure of :func:`solve_jax`'s solution, built without tracing the solve."""
    from ..runtime import structure_of

    if zone == "wedge":
        reduction, k_points = kpoints.describe_zone(lattice, "wedge")
    else:
        reduction, k_points = f"full zone ({lattice.n_sites} points)", lattice.n_sites
    return structure_of(
        MixDSolution, params=params, lattice=lattice, method=method, reduction=reduction, k_points=k_points
    )


def _run(params, lattice, method, kw):
    """The compiled solve; a cold start runs a stored :mod:`jax.export` program when the CLI
    enabled them (:func:`jaxnickel.runtime.enable_exported_programs`: no tracing on a rerun)."""
    from .. import runtime

    if kw["init"] is not None or runtime._EXPORTS["dir"] is None:
        return _solve_jit(params, lattice, method, **kw)
    static = {k: v for k, v in kw.items() if k != "init"}
    zone = _zone(kw["zone"], None, method, "implicit")
    return runtime.exported_call(
        "mixd-solve",
        lambda p: solve_jax(p, lattice, method, **static),
        (params,),
        _solution_treedef(params, lattice, method, zone),
        dict(static, lattice=lattice, method=method),
    )


def solve(
    params: MixDParams,
    lattice: Lattice,
    method: str = "fixed-point",
    *,
    init=None,
    tol: float = 1e-12,
    seeds=DEFAULT_SEED_FRACTIONS,
    max_steps: int | None = None,
    warn: bool = True,
    throw: bool = False,
    check_resources: bool = True,
    zone: str = "auto",
) -> MixDSolution:
    """Mean-field ground state of the MixD+V model on ``lattice`` at fixed ``N_h``.

    Raises ``ValueError`` (naming the parameter and its allowed range) on bad
    input and ``RuntimeError`` when JAX is not in float64 mode.  A solve that
    does not meet its tolerance returns ``converged=False`` with its code in
    ``result`` (:class:`jaxnickel.RESULTS`) and warns (:class:`ConvergenceWarning`;
    ``warn=False`` silences it); ``throw=True`` raises :class:`jaxnickel.SolveError`
    instead.  ``check_resources``: refuse, before allocating anything, a lattice whose
    solve needs more memory than is available (:mod:`jaxnickel.resources`).

    ``tol``: residual tolerance of the fixed-point equations (the gradient
    solver uses ``max(100 tol, 1e-10)`` on the gradient norm); ``max_steps``:
    Newton steps per seed (fixed point) or L-BFGS steps per multiplier update
    (gradient); ``seeds``: condensate fractions of the cold starts; ``zone``: the k-point
    set of the fixed point (:func:`solve_jax`; default: the irreducible wedge for the
    symmetric state of a cold start).
    """
    require_x64()
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not isinstance(params, MixDParams):
        raise ValueError("params must be a jaxnickel.mixd.MixDParams")
    validate_params(params, lattice)
    require_float64_params(params, "params (MixDParams)")
    if check_resources:
        from ..resources import check_memory

        square = lattice.dim == 2
        check_memory(
            "mixd",
            method,
            lattice.n_sites,
            flag=f"lattice {lattice.name}",
            largest="square lattice" if square else "ladder",
            dim=lattice.dim,
        )
    if not (isinstance(tol, float | int) and 0.0 < tol < 1e-2):
        raise ValueError(f"tol must be a number in (0, 1e-2), got {tol!r}")
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    seeds = tuple(float(f) for f in seeds)
    if not seeds or not all(0.0 < f < 1.0 for f in seeds):
        raise ValueError(f"seeds must be condensate fractions in (0, 1), got {seeds!r}")
    if zone not in kpoints.ZONES:
        raise ValueError(f"zone must be one of {', '.join(kpoints.ZONES)}, got {zone!r}")
    kw = dict(init=init, tol=float(tol), seeds=seeds, max_steps=max_steps, zone=zone)
    sol = _run(params, lattice, method, kw)
    if (
        not bool(sol.converged)
        and init is None
        and not sol.reduction.startswith("full")
        and _coarse(lattice) is not None
    ):
        # the coarse start failed: the seeds on this lattice (a second program, compiled only now;
        # both methods: the gradient's fine L-BFGS from the coarse minimum did not converge)
        retry = _run(params, lattice, method, dict(kw, coarse_start=False))
        sol = eqx.tree_at(lambda s: s.iterations, retry, retry.iterations + sol.iterations)
    raise_or_warn(
        sol.result,
        f"MixD {method} solve on {lattice.name} did not converge",
        f"residual {float(sol.residual):.3e} after {int(sol.iterations)} iterations",
        throw=throw,
        warn=warn,
        category=ConvergenceWarning,
    )
    return sol
