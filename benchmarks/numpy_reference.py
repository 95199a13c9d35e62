r"""Plain-NumPy reference of jaxnickel's MixD+V fixed-point solver (no JAX).

This is the honest baseline for ``benchmarks/bench_mixd.py``: the *same*
algorithm as :mod:`jaxnickel.mixd.fixed_point`, written the way one would write
it in NumPy, vectorised over the k-grid (no Python loop over k-points).

The small system (see ``jaxnickel/mixd/energy.py`` for all conventions)
---------------------------------------------------------------------
Unknowns ``x = (b, mu, M_1 .. M_2d)`` with ``b = beta/sqrt(N)`` and the kernel
moments ``M_i = <sin(theta) phi_i>``, ``phi = (cos k_a ..., sin k_a ...)``.
At given ``x`` the mean fields are

* ``xi_k    = (t - 2 t b^2) gamma_k + e0 + mu``,
* ``Delta_k = 4 t b g_k - U sum_i M_i phi_i(k)``,
* ``E_k = sqrt(xi^2 + Delta^2)``, ``sin theta_k = Delta/E``, ``v_k^2 = (1 - xi/E)/2``,

with ``gamma_k = sum_a cos k_a``, ``g_k = gamma_k + 2 epsilon cos kx cos ky``,
``U = (3/2) t^2/J`` and ``e0 = J - (z/2)(3/2) t^2/J``.  The residual is

* (B17) ``b [(V + J + 2 mu) - 4 t <v^2 gamma>] - 2 t <sin(theta) g>``,
* (B19) ``2 <v^2> + 2 b^2 - n_h``,
* (B15) ``M - <sin(theta) phi>``.

Algorithm (mirrors jaxnickel, optimistix ``Newton`` + ``Bisection``)
--------------------------------------------------------------------
* Seeds: condensate fractions ``2 b^2/n_h`` (:data:`SEED_FRACTIONS`, a copy of
  jaxnickel's), ``M = 0`` and ``mu`` on the number equation (B19) by bisection
  in the same bracket and with the same stopping rule.
* Newton steps ``x <- x - J^{-1} F(x)``; the Jacobian ``J`` by forward finite
  differences (one extra residual evaluation per unknown: the NumPy analogue of
  the forward-mode ``jax.linearize`` that optimistix uses).
* Termination as optimistix' Cauchy criterion: ``max|F(x_old)| < atol`` and
  ``max|dx| < atol + rtol |x_new|``; ``converged`` from the final residual
  ``max|F| <= 100 atol``.
* Every seed gets at most 40 Newton steps; the converged seed of lowest energy
  (Eq. B9 per rung at the Bogoliubov angles) wins.
* Cold starts on lattices larger than 64 x 64 (2D) or 512 rungs (1D) run the
  seeds on that coarse lattice at the same doping, then one Newton solve (up to
  ``max_steps``) on the full lattice from the coarse root; if it fails, the
  seeds are rerun on the full lattice.  Iterations are summed over all of it.

Only the paper's model is covered (no Hartree terms).  Run this file to check it
against jaxnickel on 16x16 and 64x64 square lattices.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = [
    "Model",
    "Grid",
    "square_grid",
    "NumpySolution",
    "residual",
    "solve_fixed_point_numpy",
    "SEED_FRACTIONS",
    "COARSE",
]

#: condensate fractions 2 b^2 / n_h of the Newton seeds: a copy of jaxnickel's
#: ``DEFAULT_SEED_FRACTIONS`` (the benchmark passes jaxnickel's own tuple)
SEED_FRACTIONS = (0.002, 0.02, 0.15, 0.4, 0.7, 0.95)
#: Newton steps allowed per seed
SEED_MAX_STEPS = 40
#: (1D, 2D) size above which the seeds run on a coarse lattice (jaxnickel's COARSE_1D, COARSE_2D)
COARSE = (512, 64)


@dataclasses.dataclass(frozen=True)
class Model:
    """Couplings of the MixD+V model (same meaning as ``jaxnickel.mixd.MixDParams``)."""

    t: float = 0.1
    J: float = 1.0
    V: float = 1.0
    epsilon: float = 0.0
    n_holes: float = 8.0


class Grid:
    """The k-grid of a periodic ladder ``(L,)`` or square lattice ``(Lx, Ly)`` and its form factors.

    Momenta are flattened in C order (kx slow, ky fast) like ``jaxnickel.Square``.
    Everything k-dependent that does not depend on the couplings is computed once here.
    """

    def __init__(self, shape):
        self.shape = tuple(int(s) for s in shape)
        self.dim = len(self.shape)
        self.coordination = 2 * self.dim
        self.n_sites = math.prod(self.shape)
        axes = [2.0 * np.pi * np.arange(n) / n for n in self.shape]
        k = [ka.reshape(-1) for ka in np.meshgrid(*axes, indexing="ij")]
        self.gamma = sum(np.cos(ka) for ka in k)  # nearest neighbours
        self.diag = 2.0 * np.cos(k[0]) * np.cos(k[1]) if self.dim == 2 else np.zeros(self.n_sites)
        self.basis = np.stack([np.cos(ka) for ka in k] + [np.sin(ka) for ka in k])  # (2d, N)


def square_grid(L: int, Ly: int | None = None) -> Grid:
    """``Grid((L, Ly))`` built from the 1-D cosine and sine tables of each axis.

    The same arrays bit for bit (the same ``np.cos`` of the same numbers), but only
    ``L + Ly`` trigonometric evaluations instead of ``4 N``: what a careful NumPy user
    writes (trigonometry is 10-20x dearer than a multiply-add).
    """
    Ly = L if Ly is None else Ly
    grid = Grid.__new__(Grid)
    grid.shape = (int(L), int(Ly))
    grid.dim = 2
    grid.coordination = 4
    grid.n_sites = L * Ly
    ax = 2.0 * np.pi * np.arange(L) / L
    ay = 2.0 * np.pi * np.arange(Ly) / Ly
    cx, sx = np.repeat(np.cos(ax), Ly), np.repeat(np.sin(ax), Ly)  # kx slow (C order)
    cy, sy = np.tile(np.cos(ay), L), np.tile(np.sin(ay), L)
    grid.gamma = cx + cy
    grid.diag = 2.0 * cx * cy
    grid.basis = np.stack([cx, cy, sx, sy])
    return grid


def _constants(model: Model, grid: Grid):
    """``(U, e0, g_k)``: kernel strength, sc on-site energy, recombination form factor."""
    U = 1.5 * model.t**2 / model.J
    e0 = model.J - 0.75 * grid.coordination * model.t**2 / model.J
    g = grid.gamma + model.epsilon * grid.diag if model.epsilon != 0.0 else grid.gamma
    return U, e0, g


def mean_fields(x, model: Model, grid: Grid):
    """``(xi_k, Delta_k)`` at ``x = (b, mu, M)``."""
    b, mu, m = x[0], x[1], x[2:]
    U, e0, g = _constants(model, grid)
    t = model.t
    xi = (t - 2.0 * t * b**2) * grid.gamma + e0 + mu
    delta = 4.0 * t * b * g - U * (m @ grid.basis)
    return xi, delta


def bogoliubov(xi, delta):
    """``(E_k, sin theta_k, v_k^2)``, with the symmetric choice ``v^2 = 1/2`` where ``E_k = 0``."""
    E = np.hypot(xi, delta)
    safe = np.where(E > 0.0, E, 1.0)
    sin_t = np.where(E > 0.0, delta / safe, 0.0)
    v2 = np.where(E > 0.0, 0.5 * (1.0 - xi / safe), 0.5)
    return E, sin_t, v2


def residual(x, model: Model, grid: Grid):
    """Residual of (B17), (B19), (B15) at ``x = (b, mu, M)`` (shape ``(2 + 2d,)``)."""
    b, mu, m = x[0], x[1], x[2:]
    t = model.t
    _, _, g = _constants(model, grid)
    _, s, v2 = bogoliubov(*mean_fields(x, model, grid))
    r_b = b * ((model.V + model.J + 2.0 * mu) - 4.0 * t * np.mean(v2 * grid.gamma)) - 2.0 * t * np.mean(s * g)
    r_n = 2.0 * np.mean(v2) + 2.0 * b**2 - model.n_holes / grid.n_sites
    r_m = m - grid.basis @ s / grid.n_sites
    return np.concatenate([[r_b, r_n], r_m])


def energy_per_rung(x, model: Model, grid: Grid):
    """Eq. (B9) per rung (multiplier term dropped) at the Bogoliubov angles of ``x``."""
    b = x[0]
    t = model.t
    U, e0, g = _constants(model, grid)
    xi, delta = mean_fields(x, model, grid)
    theta = np.arctan2(delta, xi)
    s = np.sin(theta)
    v2 = 0.5 * (1.0 - np.cos(theta))
    m = grid.basis @ s / grid.n_sites
    return (
        -4.0 * t * b * np.mean(g * s)
        + 2.0 * (t - 2.0 * t * b**2) * np.mean(grid.gamma * v2)
        + 2.0 * e0 * np.mean(v2)
        + 0.5 * U * np.sum(m**2)
        + (model.V + model.J) * b**2
    )


# ------------------------------------------------------------------ root finding


def jacobian_fd(x, f0, model: Model, grid: Grid):
    """Forward-difference Jacobian ``dF_i/dx_j`` (one residual evaluation per unknown)."""
    jac = np.empty((f0.size, x.size))
    for j in range(x.size):  # 2 + 2d unknowns, not k-points
        xp = x.copy()
        xp[j] += math.sqrt(np.finfo(float).eps) * max(abs(x[j]), 1.0)
        h = xp[j] - x[j]  # the step actually taken (exact in floating point)
        jac[:, j] = (residual(xp, model, grid) - f0) / h
    return jac


def newton(x0, model: Model, grid: Grid, *, rtol=1e-12, atol=1e-12, max_steps=100):
    """Newton's method with optimistix' Cauchy termination; returns ``(x, converged, steps, residual)``."""
    x = np.array(x0, dtype=float)
    ok = False
    steps = 0
    while steps < max_steps:
        f = residual(x, model, grid)
        try:
            dx = np.linalg.solve(jacobian_fd(x, f, model, grid), f)
        except np.linalg.LinAlgError:  # singular Jacobian: the linear solve failed
            break
        x = x - dx
        steps += 1
        if not np.all(np.isfinite(x)):
            break
        if np.max(np.abs(f)) < atol and np.max(np.abs(dx) / (atol + rtol * np.abs(x))) < 1.0:
            ok = True
            break
    res = float(np.max(np.abs(residual(x, model, grid))))
    converged = ok and math.isfinite(res) and res <= 100.0 * atol
    return x, converged, steps, res


def bisect_monotone(fn, lower, upper, *, atol=1e-14, max_steps=200):
    """Root of a monotone scalar ``fn`` in ``[lower, upper]`` (the optimistix ``Bisection`` loop)."""
    flip = fn(lower) > fn(upper)
    y = 0.5 * (lower + upper)
    error = math.inf
    for _ in range(max_steps):
        if abs(lower - upper) < atol and abs(error) < atol:
            break
        error = fn(y)
        if flip ^ (error < 0):
            lower = y
        else:
            upper = y
        y = lower + 0.5 * (upper - lower)
    return y


def seed(frac, model: Model, grid: Grid):
    """Start vector: condensate fraction ``frac``, ``M = 0``, ``mu`` on (B19) by bisection."""
    n_h = model.n_holes / grid.n_sites
    b = math.sqrt(0.5 * frac * n_h)
    m = np.zeros(2 * grid.dim)

    def number(mu):
        _, _, v2 = bogoliubov(*mean_fields(np.concatenate([[b, mu], m]), model, grid))
        return 2.0 * np.mean(v2) + 2.0 * b**2 - n_h

    _, e0, _ = _constants(model, grid)
    width = (
        grid.coordination * abs(model.t) * (1.0 + 2.0 * b**2)
        + 4.0 * model.t * b * (grid.dim + 2.0 * abs(model.epsilon))
        + 1.0
    )
    scale = 1e4 * width
    mu = bisect_monotone(number, -e0 - scale, -e0 + scale)
    return np.concatenate([[b, mu], m])


def solve_seeds(model: Model, grid: Grid, seeds, tol, max_steps):
    """Newton from every seed; the converged root of lowest energy (else the smallest residual)."""
    runs = []
    for frac in seeds:
        x, ok, steps, res = newton(seed(frac, model, grid), model, grid, rtol=tol, atol=tol, max_steps=max_steps)
        runs.append((x, ok, steps, res, energy_per_rung(x, model, grid) if ok else math.inf))
    if any(r[1] for r in runs):
        x, ok, _, res, _ = min(runs, key=lambda r: r[4])
    else:
        x, ok, _, res, _ = min(runs, key=lambda r: r[3])
    return x, ok, sum(r[2] for r in runs), res


def coarse_grid(grid: Grid, coarse=COARSE):
    """The coarse lattice of the seed stage, or ``None`` when ``grid`` is small enough."""
    if coarse is None:
        return None
    c1, c2 = coarse
    if grid.dim == 1:
        return Grid((c1,)) if grid.n_sites > c1 else None
    if any(L > c2 for L in grid.shape):
        return Grid(tuple(min(L, c2) for L in grid.shape))
    return None


@dataclasses.dataclass
class NumpySolution:
    x: np.ndarray  # (b, mu, M_1..M_2d) of the chosen root
    energy: float  # total Eq. (B9) energy (like MixDSolution.energy)
    converged: bool
    iterations: int  # Newton steps summed over seeds (and the coarse stage)
    residual: float
    beta: float
    mu: float
    N_cc: float


def solve_fixed_point_numpy(
    model: Model,
    grid: Grid,
    *,
    seeds=SEED_FRACTIONS,
    tol=1e-12,
    max_steps=100,
    seed_max_steps=SEED_MAX_STEPS,
    coarse=COARSE,
):
    """Cold-start solve of (B15, B17, B19), as ``jaxnickel.mixd.fixed_point.solve_fixed_point``.

    ``coarse=None`` runs the seeds on the full lattice whatever its size.
    """
    seed_steps = min(max_steps, seed_max_steps)
    small = coarse_grid(grid, coarse)
    if small is None:
        x, ok, steps, res = solve_seeds(model, grid, seeds, tol, seed_steps)
    else:
        model_c = dataclasses.replace(model, n_holes=model.n_holes * small.n_sites / grid.n_sites)
        x_c, _, steps_c, _ = solve_seeds(model_c, small, seeds, tol, seed_steps)
        x, ok, steps, res = newton(x_c, model, grid, rtol=tol, atol=tol, max_steps=max_steps)
        if not ok:  # fall back on the seeds on the full lattice
            x, ok, steps_f, res = solve_seeds(model, grid, seeds, tol, seed_steps)
            steps += steps_f
        steps += steps_c
    n = grid.n_sites
    beta = abs(x[0]) * math.sqrt(n)  # sign convention beta >= 0 (the energy is invariant)
    return NumpySolution(
        x=x,
        energy=float(n * energy_per_rung(x, model, grid)),
        converged=bool(ok),
        iterations=int(steps),
        residual=float(res),
        beta=float(beta),
        mu=float(x[1]),
        N_cc=float(beta**2),
    )


# ------------------------------------------------------------------ self-check


def _check_against_jaxnickel(sizes=(16, 64, 128), rtol=1e-9):
    """Compare energies with ``jaxnickel.mixd.solve(..., method="fixed-point")``."""
    import time

    import jax

    jax.config.update("jax_enable_x64", True)
    import jaxnickel as jn
    from jaxnickel.mixd import MixDParams, solve
    from jaxnickel.mixd.fixed_point import DEFAULT_SEED_FRACTIONS

    seeds = tuple(float(f) for f in DEFAULT_SEED_FRACTIONS)
    if seeds != SEED_FRACTIONS:
        print(f"note: jaxnickel's seeds {seeds} differ from SEED_FRACTIONS {SEED_FRACTIONS}; using jaxnickel's")
    ok_all = True
    print(
        f"{'lattice':>10} {'N_h':>5} {'E numpy':>22} {'E jaxnickel':>22} {'rel diff':>9} {'it np/jax':>10} {'t np (s)':>8}"
    )
    for L in sizes:
        grid = Grid((L, L))
        n_h = 12 if L == 16 else round(0.047 * L * L)
        model = Model(t=0.1, J=1.0, V=1.0, epsilon=0.0, n_holes=n_h)
        t0 = time.perf_counter()
        ref = solve_fixed_point_numpy(model, grid, seeds=seeds)
        t_np = time.perf_counter() - t0
        params = MixDParams(t=0.1, J=1.0, V=1.0, epsilon=0.0, n_holes=n_h)
        sol = solve(params, jn.Square(L), method="fixed-point", seeds=seeds)
        e_jax = float(sol.energy)
        rel = abs(ref.energy - e_jax) / abs(e_jax)
        good = rel < rtol and ref.converged and bool(sol.converged)
        ok_all &= good
        print(
            f"{L:>4}x{L:<5} {n_h:>5} {ref.energy:>22.15g} {e_jax:>22.15g} {rel:>9.1e} "
            f"{ref.iterations:>4}/{int(sol.iterations):<5} {t_np:>8.3f}  {'OK' if good else 'MISMATCH'}"
        )
    return ok_all


if __name__ == "__main__":
    import sys

    sys.exit(0 if _check_against_jaxnickel() else 1)
