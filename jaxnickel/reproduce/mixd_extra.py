"""Three MixD figures that paper 000 does not have (``jaxnickel reproduce``, paper key ``mixd``).

All at the paper's ``t/V = 0.1``, ``V = 1``, ``epsilon = 0``:

* ``mixd_crossover_2d``: the Fig. 3 map ``(N_sc - 2 N_cc)/N_h`` over ``J/V`` and
  doping on a large square bilayer (128 x 128 rungs; 32 x 32 with ``--quick``),
  its sign-change line root-solved at every doping of the map, compared with the
  ``L = 30`` ladder's line (root-solved the same way).
* ``mixd_obcs_finite_size``: how ``O_BCS`` (Eq. 12) on a finite lattice approaches
  the ``L -> infinity`` integral: ladders ``L = 10 .. 960`` and squares
  ``8 .. 256`` (``.. 64`` quick) at doping ``8/30``, ``J/V = 0.8, 1.2, 1.6``.
  Every ``O_BCS(L)`` is self-consistent on its own lattice; ``O_BCS(inf)`` is the
  exact integral (Gauss-Legendre between the nodes of ``Delta_k``) with the mean
  fields of the largest lattice, which equal the ``L -> infinity`` mean fields to
  machine precision (shown in the figure).
* ``mixd_dEB_dJ_map``: ``dE_B/d(J/V)`` over ``(J/V, doping)`` on the ``L = 30``
  ladder by forward-mode autodiff (``jax.jvp``) through ``solve_jax`` (implicit
  adjoint of the Newton fixed point), one compiled ``vmap``; cross-checked against
  five-point finite differences of re-solves.

The figures share compiled programs through ``ctx.cache`` (keys ``("mixd_extra", ...)``):
a chunked ``vmap`` of the square-lattice solve and a chunked ``vmap`` of the
ladder solve with its ``J``-derivative; each is compiled once and called on
fixed-size chunks, so the map, the root solves and the finite-difference checks
reuse one compilation and peak memory stays small.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from numpy.polynomial.legendre import leggauss

from ..lattice import Ladder, Square
from ..mixd import MixDParams, solve_jax
from ..mixd.energy import kspace, mean_fields
from ..mixd.fixed_point import residual_b15_b17_b19
from .common import Context, fmt_num
from .mixd import J_RANGE, LADDER_L, T_OVER_V, V, ladder_map  # paper 000 common parameters

__all__ = ["EXTRA_FIGURES", "extra_report", "mixd_crossover_2d", "mixd_obcs_finite_size", "mixd_dEB_dJ_map"]


#: square lattice of the 2D map (default / quick) and the lattice its seeds run on
SQUARE_L = 128
SQUARE_L_QUICK = 32
SQUARE_SEED_L = 32
#: doping of the paper's Fig. 2 (N_h = 12 on 16 x 16), added as a row of the 2D map
FIG2_DOPING = 12 / 256
#: documented 16x16 sign change at that doping (docs/mixd_theory.md, Sec. 7)
FIG2_CROSSOVER_16x16 = 1.276

#: finite-size study: doping, couplings, lattice sizes
FS_DOPING = 8 / 30
FS_J = (0.8, 1.2, 1.6)
FS_LADDERS = (10, 12, 15, 20, 24, 30, 60, 120, 240, 480, 960)
FS_LADDERS_FIT = (60, 120, 240, 480, 960)  # nodes of Delta_k (k = +-pi/2) on the k grid
FS_SQUARES = (8, 16, 32, 64, 128, 256)
FS_SQUARES_QUICK = (8, 16, 32, 64)
FS_NEWTON_STEPS = 12
FS_TOL = 1e-12

#: dE_B/dJ map: hole numbers on the L = 30 ladder, finite-difference check
DEB_N_H = tuple(float(n) for n in range(1, 15))
DEB_FD_STEP = 1e-3
DEB_FD_N_H = (2.0, 8.0, 14.0)
DEB_FD_J = (0.8, 1.3, 2.0)

_CHUNK_SQUARE = 16  # 8 with --quick (the 8 doping rows of the quick map: one chunk per root step)
_CHUNK_LADDER = 128


def _params(J, n_holes) -> MixDParams:
    return MixDParams(t=T_OVER_V * V, J=J, V=V, epsilon=0.0, n_holes=n_holes)


def _xvec(sol):
    """Mean-field vector ``(b, mu, M_1..M_2d)`` of a solution (the fixed-point unknowns)."""
    b = sol.beta / jnp.sqrt(sol.lattice.n_sites)
    return jnp.concatenate([jnp.stack([b, sol.mu]), sol.moments])


def _chunked(fn, chunk: int, *arrays) -> dict:
    """``fn`` (a compiled vmap over equal-length arrays) on chunks of ``chunk`` points; numpy dict."""
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    n = arrays[0].size
    n_pad = -(-n // chunk) * chunk
    padded = [np.concatenate([a, np.full(n_pad - n, a[-1])]) for a in arrays]
    parts = []
    for i in range(0, n_pad, chunk):
        out = fn(*(jnp.asarray(a[i : i + chunk]) for a in padded))
        parts.append(jax.tree.map(np.asarray, out))
    return {k: np.concatenate([p[k] for p in parts])[:n] for k in parts[0]}


# ------------------------------------------------------------------ compiled programs (shared)


def _square_program(ctx: Context):
    """Compiled chunk solve on the square lattice of the 2D map: ``fn(J[c], doping[c]) -> dict``.

    On ``128 x 128`` the seeds (6 condensate fractions, lowest-energy converged
    root) run on ``32 x 32`` at the same doping and Newton finishes on the full
    lattice from that root (the mean fields are intensive; finite-size effects on
    them are exponentially small).  A point counts as converged when both stages are.
    """

    def make():
        n = SQUARE_L_QUICK if ctx.quick else SQUARE_L
        lat = Square(n)
        seed = Square(SQUARE_SEED_L) if n > SQUARE_SEED_L else None

        def one(J, doping):
            if seed is None:
                s = solve_jax(_params(J, doping * lat.n_sites), lat)
                ok = s.converged
            else:
                s0 = solve_jax(_params(J, doping * seed.n_sites), seed)
                s = solve_jax(_params(J, doping * lat.n_sites), lat, init=_xvec(s0))
                ok = s.converged & s0.converged
            return {
                "sc_minus_2cc_fraction": s.sc_minus_2cc_fraction,
                "converged": ok,
                "residual": s.residual,
                "x": _xvec(s),
                "order_bcs": s.order_bcs,
                "order_bcs_continuum": s.order_bcs_continuum,
            }

        fn = jax.jit(jax.vmap(one))
        chunk = _CHUNK_SQUARE // 2 if ctx.quick else _CHUNK_SQUARE
        return (lambda J, d: _chunked(fn, chunk, J, d)), lat, seed, chunk

    return ctx.cached(("mixd_extra", "square_program"), make)


def _ladder_program(ctx: Context):
    """Compiled chunk solve on the ``L = 30`` ladder with ``dE_B/dJ`` by forward-mode autodiff.

    ``fn(J[c], n_holes[c]) -> dict``: ``E_B`` (= ``binding_energy``), ``dE_B/dJ``
    (``jax.jvp`` through ``solve_jax``: the implicit-function-theorem tangent of
    the Newton fixed point, then ``2 min_k E_k`` at the grid minimum), the
    crossover fraction, convergence, the mean-field vector and ``O_BCS``.
    """

    def make():
        lat = Ladder(LADDER_L)

        def eb(J, n_holes):
            s = solve_jax(_params(J, n_holes), lat)
            i = jnp.argmin(s.E)
            aux = {
                "sc_minus_2cc_fraction": s.sc_minus_2cc_fraction,
                "converged": s.converged,
                "residual": s.residual,
                "x": _xvec(s),
                "k_index": jnp.minimum(i, LADDER_L - i),  # |k*| in units of 2 pi / L (E_k = E_-k)
                "order_bcs": s.order_bcs,
                "order_bcs_continuum": s.order_bcs_continuum,
            }
            return s.binding_energy, aux

        def one(J, n_holes):
            e, de, aux = jax.jvp(lambda j: eb(j, n_holes), (J,), (jnp.ones_like(J),), has_aux=True)
            return {"E_B": e, "dE_B_dJ": de, **aux}

        fn = jax.jit(jax.vmap(one))
        return lambda J, nh: _chunked(fn, _CHUNK_LADDER, J, nh)

    return ctx.cached(("mixd_extra", "ladder_program"), make)


# ------------------------------------------------------------------ crossover lines


def _first_sign_changes(J: np.ndarray, rows: np.ndarray) -> list:
    """Per row: ``(j, J_interp, n_changes)`` of the first sign change along ``J``, or ``None``."""
    out = []
    for y in rows:
        idx = np.flatnonzero(np.sign(y[:-1]) * np.sign(y[1:]) < 0)
        if idx.size == 0:
            out.append(None)
            continue
        j = int(idx[0])
        j_lin = J[j] - y[j] * (J[j + 1] - J[j]) / (y[j + 1] - y[j])
        out.append((j, float(j_lin), int(idx.size)))
    return out


def _root_line(J, dopings, frac, program, n_sites, doping_to_arg=lambda d: d) -> dict:
    """Root-solved sign-change line of ``frac[doping, J]`` with a chunk ``program(J, arg)``."""
    J = np.asarray(J, dtype=float)
    dopings = np.asarray(dopings, dtype=float)
    changes = _first_sign_changes(J, frac)
    rows = np.array([i for i, c in enumerate(changes) if c is not None], dtype=int)
    flags: list[bool] = []
    roots: dict[int, tuple[float, bool]] = {}
    if rows.size:
        js = np.array([changes[i][0] for i in rows])
        args_all = doping_to_arg(dopings[rows])
        a, b = J[js].copy(), J[js + 1].copy()
        fa, fb = frac[rows, js].copy(), frac[rows, js + 1].copy()
        root = np.where(np.abs(fa) < np.abs(fb), a, b)
        done = np.minimum(np.abs(fa), np.abs(fb)) <= 1e-12
        for _ in range(40):
            open_ = np.flatnonzero(~done)
            if open_.size == 0:
                break
            c = (a[open_] * fb[open_] - b[open_] * fa[open_]) / (fb[open_] - fa[open_])
            r = program(c, args_all[open_])
            fc, ok = r["sc_minus_2cc_fraction"], r["converged"]
            flags += [bool(v) for v in ok]
            switch = fc * fb[open_] < 0.0
            a_new = np.where(switch, b[open_], a[open_])
            fa_new = np.where(switch, fb[open_], 0.5 * fa[open_])
            a[open_], fa[open_] = a_new, fa_new
            b[open_], fb[open_] = c, fc
            root[open_] = c
            done[open_] = (np.abs(fc) <= 1e-12) | (np.abs(b[open_] - a[open_]) <= 1e-10)
        roots = {int(i): (float(root[n]), bool(done[n])) for n, i in enumerate(rows)}
    line = []
    for i, dop in enumerate(dopings):
        entry = {"doping": float(dop), "n_holes": float(dop * n_sites)}
        if changes[i] is None:
            entry.update(J_over_V=None, note="no sign change in the scanned J/V range")
        else:
            entry.update(
                J_over_V=roots[i][0],
                root_converged=roots[i][1],
                J_over_V_interpolated=changes[i][1],
                sign_changes_on_scan=changes[i][2],
            )
        line.append(entry)
    bad = int(np.sum(~np.asarray(flags, dtype=bool)))
    return {"line": line, "solves": len(flags), "not_converged": bad}


def _ladder_line(ctx: Context) -> dict:
    """The ladder's ``N_sc = 2 N_cc`` line on the rows of :func:`ladder_map`, root-solved (cached)."""

    def make():
        scan = ladder_map(ctx)
        prog = _ladder_program(ctx)
        res = _root_line(
            scan["J"], scan["doping"], scan["sc_minus_2cc_fraction"], prog, LADDER_L, lambda d: d * LADDER_L
        )
        ctx.log_solves(
            f"ladder L={LADDER_L} crossover line, root solves (mixd_extra)",
            [True] * (res["solves"] - res["not_converged"]) + [False] * res["not_converged"],
        )
        return res

    return ctx.cached(("mixd_extra", "ladder_line"), make)


def _flags(n_ok: int, n_bad: int) -> list[bool]:
    return [True] * n_ok + [False] * n_bad


# ------------------------------------------------------------------ figure: 2D crossover map


def _map_dopings(quick: bool) -> np.ndarray:
    ks = range(2, 15, 2) if quick else range(1, 15)
    return np.sort(np.concatenate([np.asarray(list(ks), dtype=float) / LADDER_L, [FIG2_DOPING]]))


def _default_path_check(ctx: Context, lat, line: list, dopings=(FIG2_DOPING, 8 / 30, 14 / 30)) -> dict:
    """The package's default solve (``jaxnickel.mixd.solve``: seeds on 64 x 64, Newton on ``lat``) at a few roots.

    ``(N_sc - 2 N_cc)/N_h`` there must vanish if the 32 x 32 seeding of the map
    picked the same (lowest-energy) branch.
    """
    from ..mixd import solve

    pts = []
    for d in dopings:
        e = next((e for e in line if abs(e["doping"] - d) < 1e-12 and e.get("J_over_V") is not None), None)
        if e is None:
            continue
        sol = solve(_params(e["J_over_V"], d * lat.n_sites), lat, warn=False)
        pts.append(
            {
                "doping": d,
                "J_over_V": e["J_over_V"],
                "fraction": float(sol.sc_minus_2cc_fraction),
                "converged": bool(sol.converged),
            }
        )
    ctx.log_solves(
        f"{lat.name} crossover roots re-solved by the default solver", [p["converged"] for p in pts], role="cross-check"
    )
    return {
        "method": "jaxnickel.mixd.solve (default seeding) at the root-solved J/V",
        "points": pts,
        "max_abs_fraction": max((abs(p["fraction"]) for p in pts), default=None),
    }


def mixd_crossover_2d(ctx: Context) -> dict:
    """2D Fig. 3: (N_sc - 2N_cc)/N_h over J/V and doping on a square bilayer, crossover line vs the ladder's."""
    from .. import plotting_mixd_extra as jpx

    program, lat, seed, chunk = _square_program(ctx)
    J = np.linspace(*J_RANGE, 21 if ctx.quick else 41)
    dop = _map_dopings(ctx.quick)
    ctx.progress(f"  {lat.name}: {J.size} x {dop.size} (J/V, doping) points")
    t0 = time.perf_counter()
    JJ, DD = np.meshgrid(J, dop)
    r = program(JJ.ravel(), DD.ravel())
    shape = JJ.shape
    frac = r["sc_minus_2cc_fraction"].reshape(shape)
    conv = r["converged"].reshape(shape)
    ctx.log_solves(f"{lat.name} scan over (doping, J/V) (mixd_crossover_2d)", conv)
    map_seconds = time.perf_counter() - t0
    line2d = _root_line(J, dop, frac, program, lat.n_sites)
    ctx.log_solves(
        f"{lat.name} crossover line, root solves",
        _flags(line2d["solves"] - line2d["not_converged"], line2d["not_converged"]),
    )
    cross = _default_path_check(ctx, lat, line2d["line"]) if seed is not None else None
    lad = _ladder_line(ctx)
    lad_by_dop = {round(e["doping"], 12): e for e in lad["line"]}
    compare = []
    for e in line2d["line"]:
        le = lad_by_dop.get(round(e["doping"], 12))
        if le is None:
            continue
        j2, j1 = e.get("J_over_V"), le.get("J_over_V")
        compare.append(
            {
                "doping": e["doping"],
                "J_over_V_2d": j2,
                "J_over_V_ladder": j1,
                "difference_2d_minus_ladder": None if j2 is None or j1 is None else j2 - j1,
            }
        )
    fig2_row = next(e for e in line2d["line"] if abs(e["doping"] - FIG2_DOPING) < 1e-12)
    path = jpx.plot_crossover_2d(
        J,
        dop,
        frac,
        conv,
        line2d["line"],
        lad["line"],
        lattice_name=lat.name,
        t_over_v=T_OVER_V,
        fig2=(FIG2_DOPING, 1.0),
        path=ctx.path("mixd_extra_crossover_2d.png"),
    )
    n_solves = conv.size + line2d["solves"] + lad["solves"]
    n_bad = int((~conv).sum()) + line2d["not_converged"] + lad["not_converged"]
    return {
        "file": path.name,
        "lattice": lat.to_dict(),
        "params": {
            "t/V": T_OVER_V,
            "V": V,
            "epsilon": 0.0,
            "J/V": list(J_RANGE),
            "n_J": int(J.size),
            "doping": [round(float(dop.min()), 4), round(float(dop.max()), 4)],
            "n_doping": int(dop.size),
        },
        "method": (
            f"one compiled vmap over the (doping, J/V) grid in chunks of {chunk}"
            + (
                f"; seeds on {seed.name} at the same doping, Newton on {lat.name} from that root"
                if seed is not None
                else ""
            )
            + "; the sign change on every doping row root-solved by Illinois regula falsi (|f| <= 1e-12), "
            f"the ladder's (L = {LADDER_L}, rows of the Fig. 3 scan) the same way"
        ),
        "crossover_line": line2d["line"],
        "ladder_crossover_line": lad["line"],
        "comparison_with_ladder": compare,
        "fig2_doping": {
            "doping": FIG2_DOPING,
            "J_over_V": fig2_row.get("J_over_V"),
            "documented_16x16": FIG2_CROSSOVER_16x16,
            "note": "N_h = 12 on 16x16 (the paper's Fig. 2 doping); J = V (Fig. 2) lies on the BCS side",
        },
        "default_solver_check": cross,
        "map_seconds": map_seconds,
        "max_residual": float(np.max(r["residual"])),
        "solves": n_solves,
        "not_converged": n_bad,
    }


# ------------------------------------------------------------------ figure: O_BCS finite-size convergence


def _repeated_kspace(lattice, l_max: int):
    """Form factors of ``lattice``'s k grid with every momentum repeated ``(l_max / L)^d`` times.

    A mean over the repeated grid equals the mean over the ``L`` grid exactly, so
    the fixed-point residual of size ``L`` is evaluated by one program compiled for
    ``l_max`` (``L`` must divide ``l_max``).
    """
    n = lattice.shape[0]
    if l_max % n:
        raise ValueError(f"{n} does not divide {l_max}")
    k = np.repeat(2.0 * np.pi * np.arange(n) / n, l_max // n)
    if lattice.dim == 1:
        return kspace((jnp.asarray(k),))
    KX, KY = np.meshgrid(k, k, indexing="ij")
    return kspace((jnp.asarray(KX.ravel()), jnp.asarray(KY.ravel())))


def _newton_program(big):
    """``fn(J[n], x0[n], ks, steps) -> (x, max|F|, O_BCS)``: Newton on Eqs. (B15, B17, B19) on the grid ``ks``.

    ``big`` is the lattice the repeated grids are built for (it fixes ``N_h / N``
    through ``n_holes = doping * big.n_sites`` and the coordination number).
    ``steps = 0`` evaluates ``O_BCS`` on ``ks`` at fixed mean fields ``x0``.
    """

    def one(J, x0, ks, steps):
        p = _params(J, FS_DOPING * big.n_sites)
        args = (p, big, ks)

        def F(y):
            return residual_b15_b17_b19(y, args)

        def step(_, y):
            return y - jnp.linalg.solve(jax.jacfwd(F)(y), F(y))

        x = jax.lax.fori_loop(0, steps, step, x0)
        xi, d = mean_fields(x[0], x[1], x[2:], p, big, ks=ks)
        E = jnp.sqrt(xi**2 + d**2)
        return x, jnp.max(jnp.abs(F(x))), jnp.mean(jnp.abs(d) / E)

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None, None)))


_FIELDS_CHUNK = 8192


def _fields_program(lattice):
    """``fields(x, J, *k) -> (xi_k, Delta_k)`` at arbitrary momenta (numpy in/out), mean fields ``x``.

    Compiled once for flat chunks of ``_FIELDS_CHUNK`` momenta (any input shape is
    flattened, padded and reshaped), so the node search, bisection and quadrature
    share one compilation.
    """

    def f(x, J, *k):
        return mean_fields(x[0], x[1], x[2:], _params(J, FS_DOPING * lattice.n_sites), lattice, k=k)

    fn = jax.jit(f)

    def fields(x, J, *k):
        shape = np.shape(k[0])
        flat = [np.ravel(np.asarray(ka, dtype=float)) for ka in k]
        n = flat[0].size
        n_pad = -(-n // _FIELDS_CHUNK) * _FIELDS_CHUNK
        flat = [np.concatenate([ka, np.zeros(n_pad - n)]) for ka in flat]
        xi, d = [], []
        xj, Jj = jnp.asarray(x), jnp.asarray(J, dtype=float)
        for i in range(0, n_pad, _FIELDS_CHUNK):
            a, b = fn(xj, Jj, *(jnp.asarray(ka[i : i + _FIELDS_CHUNK]) for ka in flat))
            xi.append(np.asarray(a))
            d.append(np.asarray(b))
        return np.concatenate(xi)[:n].reshape(shape), np.concatenate(d)[:n].reshape(shape)

    return fields


def _line_nodes(delta, rows: int, n_grid: int = 2048, steps: int = 48):
    """Zeros of the periodic ``delta(k)`` (``k`` of shape ``(rows, m)``) on each row of ``[0, 2 pi)``.

    Sign changes on a shifted grid, then bisection.  Returns the zeros, shape
    ``(rows, Z)``, padded with ``2 pi``.
    """
    kg = (np.arange(n_grid) + 0.5) * 2.0 * np.pi / n_grid
    d = delta(np.broadcast_to(kg, (rows, n_grid)))
    sc = np.sign(d) != np.sign(np.roll(d, -1, axis=1))
    z_max = max(1, int(sc.sum(axis=1).max()))
    a = np.zeros((rows, z_max))
    valid = np.zeros_like(a, dtype=bool)
    for r in range(rows):
        c = np.flatnonzero(sc[r])
        a[r, : c.size] = kg[c]
        valid[r, : c.size] = True
    b = a + 2.0 * np.pi / n_grid
    fa = delta(a)
    for _ in range(steps):
        m = 0.5 * (a + b)
        fm = delta(m)
        left = np.sign(fm) == np.sign(fa)
        a, fa, b = np.where(left, m, a), np.where(left, fm, fa), np.where(left, b, m)
    z = np.where(valid, np.mod(0.5 * (a + b), 2.0 * np.pi), 2.0 * np.pi)
    return np.sort(z, axis=1)


def _piecewise_gl(zeros: np.ndarray, n: int):
    """Gauss-Legendre nodes/weights on ``[0, 2 pi]`` split at ``zeros`` (rows, Z): shapes (rows, Z+1, n)."""
    t, w = leggauss(n)
    rows = zeros.shape[0]
    edges = np.concatenate([np.zeros((rows, 1)), zeros, np.full((rows, 1), 2.0 * np.pi)], axis=1)
    lo, hi = edges[:, :-1, None], edges[:, 1:, None]
    return 0.5 * (hi - lo) * t + 0.5 * (hi + lo), 0.5 * (hi - lo) * w


def _obcs_exact(fields, x: np.ndarray, J: float, dim: int, n: int = 64, n_check: int = 96) -> dict:
    """``O_BCS(inf) = (2 pi)^-d int |Delta_k| / E_k`` at fixed mean fields ``x``.

    ``|Delta_k|`` has kinks at the nodes of ``Delta_k`` (an extended s-wave gap);
    the integrand is analytic between them, so Gauss-Legendre between the nodes
    converges spectrally.  1D: nodes found numerically.  2D: iterated, outer
    Gauss-Legendre in ``kx`` on the panels between ``0, pi/2, pi, 3pi/2, 2pi``
    (where the nodes of the ``ky`` lines merge), inner between the nodes of each
    ``ky`` line.  ``n`` nodes per interval; the result with ``n_check`` gives the
    quadrature error.  1D also returns the nodes and ``|dDelta/dk| / E`` there.
    """

    def integral(K, W, KX=None):
        xi, d = fields(x, J, K) if KX is None else fields(x, J, KX, K)
        return np.sum(W * np.abs(d) / np.sqrt(xi**2 + d**2), axis=(-2, -1))

    if dim == 1:
        zeros = _line_nodes(lambda k: fields(x, J, k)[1], 1)
        vals = [float(integral(*_piecewise_gl(zeros, m))[0] / (2.0 * np.pi)) for m in (n, n_check)]
        kn = zeros[0][zeros[0] < 2.0 * np.pi]
        eps = 1e-5
        slope = (fields(x, J, kn + eps)[1] - fields(x, J, kn - eps)[1]) / (2.0 * eps)
        xi_n, d_n = fields(x, J, kn)
        extra = {"nodes": kn.tolist(), "abs_dDelta_dk_over_E": (np.abs(slope) / np.hypot(xi_n, d_n)).tolist()}
        return {"value": vals[0], "quadrature_error": abs(vals[0] - vals[1]), **extra}
    vals = []
    for m in (n, n_check):
        t, w = leggauss(m)
        pb = np.arange(5) * 0.5 * np.pi
        kx = np.concatenate([0.5 * (b - a) * t + 0.5 * (a + b) for a, b in zip(pb[:-1], pb[1:], strict=True)])
        wx = np.concatenate([0.5 * (b - a) * w for a, b in zip(pb[:-1], pb[1:], strict=True)])
        zeros = _line_nodes(lambda ky, kx=kx: fields(x, J, np.broadcast_to(kx[:, None], ky.shape), ky)[1], kx.size)
        KY, WY = _piecewise_gl(zeros, m)
        inner = integral(KY, WY, np.broadcast_to(kx[:, None, None], KY.shape))
        vals.append(float(np.sum(wx * inner) / (4.0 * np.pi**2)))
    return {"value": vals[0], "quadrature_error": abs(vals[0] - vals[1])}


def _fit_power_law(L, err) -> dict:
    """Least squares ``log|err| = log A - p log L``."""
    L, err = np.asarray(L, dtype=float), np.abs(np.asarray(err, dtype=float))
    slope, icpt = np.polyfit(np.log(L), np.log(err), 1)
    return {"exponent": float(-slope), "prefactor": float(np.exp(icpt)), "sizes": [int(v) for v in L]}


def _fit_exponential(L, err, floor: float = 1e-13) -> dict | None:
    """Least squares ``log err = a - kappa L`` on the points above ``floor`` (None if fewer than 2)."""
    L, err = np.asarray(L, dtype=float), np.abs(np.asarray(err, dtype=float))
    keep = err > floor
    if keep.sum() < 2:
        return None
    slope, icpt = np.polyfit(L[keep], np.log(err[keep]), 1)
    return {"rate_per_site": float(-slope), "prefactor": float(np.exp(icpt)), "sizes": [int(v) for v in L[keep]]}


def _finite_size_family(ctx: Context, lattices: list, x_start: np.ndarray, fit_sizes, label: str) -> dict:
    """Self-consistent ``O_BCS(L)`` for ``lattices`` (all at ``FS_DOPING``), from the root ``x_start`` per ``J``."""
    big = lattices[-1]
    l_max = big.shape[0]
    dim = big.dim
    newton = ctx.cached(("mixd_extra", "fs_newton", dim, l_max), lambda: _newton_program(big))
    Js = jnp.asarray(FS_J)
    xs, res, o_sc = [], [], []
    for lat in lattices:
        ks = _repeated_kspace(lat, l_max)
        x, r, o = newton(Js, jnp.asarray(x_start), ks, FS_NEWTON_STEPS)
        xs.append(np.asarray(x))
        res.append(np.asarray(r))
        o_sc.append(np.asarray(o))
    xs, res, o_sc = np.array(xs), np.array(res), np.array(o_sc)  # (n_L, n_J, ...)
    conv = np.isfinite(res) & (res <= FS_TOL)
    ctx.log_solves(f"{label}: Newton at each size (mixd_obcs_finite_size)", conv)
    x_inf = xs[-1]
    o_fixed = np.array(
        [np.asarray(newton(Js, jnp.asarray(x_inf), _repeated_kspace(lat, l_max), 0)[2]) for lat in lattices]
    )
    fields = ctx.cached(("mixd_extra", "fields", dim), lambda: _fields_program(big))
    sizes = [lat.shape[0] for lat in lattices]
    per_j = []
    for j, Jv in enumerate(FS_J):
        info = _obcs_exact(fields, x_inf[j], Jv, dim)
        o_inf = info["value"]
        err = o_sc[:, j] - o_inf
        sc_part = o_sc[:, j] - o_fixed[:, j]
        dx = np.max(np.abs(xs[:, j] - x_inf[j]), axis=1)
        fit_idx = [sizes.index(s) for s in fit_sizes]
        entry = {
            "J_over_V": Jv,
            "O_BCS_inf": o_inf,
            "O_BCS_inf_quadrature_error": info["quadrature_error"],
            "sizes": sizes,
            "O_BCS": o_sc[:, j].tolist(),
            "error": err.tolist(),
            "error_times_L2": (err * np.asarray(sizes, dtype=float) ** 2).tolist(),
            "self_consistency_part": sc_part.tolist(),
            "mean_field_distance": dx.tolist(),
            "converged": conv[:, j].tolist(),
            "power_law_fit": _fit_power_law(np.asarray(sizes)[fit_idx], err[fit_idx]),
            "mean_field_exponential_fit": _fit_exponential(sizes, dx),
            "mean_field_distance_second_largest": float(dx[-2]),
        }
        if dim == 1:
            # Euler-Maclaurin for a kink of |Delta_k| on a k point (L = 0 mod 4 here):
            # <f>_L - <f> = -(pi / 3 L^2) sum_nodes |dDelta/dk| / E
            c_pred = -(np.pi / 3.0) * float(np.sum(info["abs_dDelta_dk_over_E"]))
            entry["nodes_over_pi"] = (np.asarray(info["nodes"]) / np.pi).tolist()
            entry["error_times_L2_predicted"] = c_pred
            i30 = sizes.index(LADDER_L)
            entry["L30_error_over_prediction"] = float(err[i30] * LADDER_L**2 / c_pred)
        per_j.append(entry)
    return {
        "lattices": [lat.to_dict() for lat in lattices],
        "l_max": l_max,
        "per_J": per_j,
        "max_residual": float(np.nanmax(res)),
        "solves": int(conv.size),
        "not_converged": int((~conv).sum()),
    }


def mixd_obcs_finite_size(ctx: Context) -> dict:
    """O_BCS(L) vs the L -> infinity integral of Eq. (12): ladders L = 10..960, squares 8..256 (quick: ..64)."""
    from .. import plotting_mixd_extra as jpx

    # cold starts: the lowest-energy root of the package solver (6 seeds) on the L = 30 ladder and on the
    # square lattice of the 2D map, at the doping of the study
    lad = _ladder_program(ctx)(np.asarray(FS_J), np.full(len(FS_J), FS_DOPING * LADDER_L))
    sq_prog, sq_lat, _, _ = _square_program(ctx)
    sq = sq_prog(np.asarray(FS_J), np.full(len(FS_J), FS_DOPING))
    ctx.log_solves(
        "mixd_obcs_finite_size: cold starts (ladder L=30, square)", np.concatenate([lad["converged"], sq["converged"]])
    )
    squares = FS_SQUARES_QUICK if ctx.quick else FS_SQUARES
    ctx.progress(f"  ladders L = {FS_LADDERS[0]}..{FS_LADDERS[-1]}, squares {squares[0]}..{squares[-1]}")
    one_d = _finite_size_family(ctx, [Ladder(n) for n in FS_LADDERS], lad["x"], FS_LADDERS_FIT, "ladders")
    two_d = _finite_size_family(ctx, [Square(n) for n in squares], sq["x"], squares[1:], "squares")
    # the package's own O_BCS at L = 30 (solve_jax) vs the Newton family's: the same equations
    i30 = FS_LADDERS.index(LADDER_L)
    same = float(np.max(np.abs(np.array([e["O_BCS"][i30] for e in one_d["per_J"]]) - lad["order_bcs"])))
    # the package's order_bcs_continuum (fine grids of 4096 / 256^2 points) vs the exact integral
    cont = {
        "ladder (4096-point grid)": (lad["order_bcs_continuum"] - [e["O_BCS_inf"] for e in one_d["per_J"]]).tolist(),
        f"square (256x256 grid, mean fields of {sq_lat.name})": (
            sq["order_bcs_continuum"] - [e["O_BCS_inf"] for e in two_d["per_J"]]
        ).tolist(),
    }
    path = jpx.plot_obcs_finite_size(
        one_d, two_d, doping_label="8/30", t_over_v=T_OVER_V, path=ctx.path("mixd_extra_obcs_finite_size.png")
    )
    solves = len(FS_J) * 2 + one_d["solves"] + two_d["solves"]
    bad = int((~lad["converged"]).sum() + (~sq["converged"]).sum()) + one_d["not_converged"] + two_d["not_converged"]
    return {
        "file": path.name,
        "lattice": {"ladders": list(FS_LADDERS), "squares": list(squares)},
        "params": {"t/V": T_OVER_V, "V": V, "epsilon": 0.0, "J/V": list(FS_J), "doping": "8/30"},
        "plotted": (
            "|O_BCS(L) - O_BCS(inf)|: O_BCS(L) = <|Delta_k|/E_k> on the L grid with the mean fields solved "
            "self-consistently on that lattice (Newton on Eqs. B15/B17/B19 from the package's lowest-energy root, "
            f"|F| <= {FS_TOL:g}); O_BCS(inf) = the exact k integral (Gauss-Legendre between the nodes of Delta_k) "
            "with the mean fields of the largest lattice. The self-consistency part "
            "|O_BCS(L) - O_BCS^fixed(L)| (same grid, mean fields of the largest lattice) is plotted separately."
        ),
        "finding": (
            "the mean fields converge exponentially in L (the self-consistency sums are analytic and periodic in k), "
            "O_BCS only as L^-2: |Delta_k| has kinks at the nodes of the extended s-wave gap "
            "(Delta_k proportional to gamma_k, nodes at k = +-pi/2 in 1D, on the k grid when L = 0 mod 4; "
            "L = 30 puts them between grid points, halving the error and flipping its sign)"
        ),
        "ladders": one_d,
        "squares": two_d,
        "package_L30_vs_newton_O_BCS": same,
        "package_continuum_minus_exact": cont,
        "max_residual": max(one_d["max_residual"], two_d["max_residual"]),
        "solves": solves,
        "not_converged": bad,
    }


# ------------------------------------------------------------------ figure: dE_B/dJ by autodiff


def _fd_check(prog, h: float = DEB_FD_STEP) -> dict:
    """Five-point central differences of re-solved ``E_B`` at a few ``(J, N_h)`` vs the autodiff derivative.

    ``E_B = 2 min_k E_k`` on the L = 30 grid has kinks where the minimising grid
    momentum changes; a check point is moved along ``J`` (by 0.0137, up to three
    times) until ``|k*|`` is the same at all five stencil points.
    """
    offsets = np.array([-2.0, -1.0, 1.0, 2.0]) * h
    shifts = np.array([0.0, 0.0137, -0.0137, 0.0274])
    pts = [(j + s, nh) for nh in DEB_FD_N_H for j in DEB_FD_J for s in shifts]
    J0 = np.array([p[0] for p in pts])
    NH = np.array([p[1] for p in pts])
    Jall = np.concatenate([J0[:, None], J0[:, None] + offsets[None, :]], axis=1)
    r = prog(Jall.ravel(), np.repeat(NH, 5))
    e = r["E_B"].reshape(-1, 5)
    kidx = r["k_index"].reshape(-1, 5)
    ok = r["converged"].reshape(-1, 5)
    fd = (e[:, 1] - 8.0 * e[:, 2] + 8.0 * e[:, 3] - e[:, 4]) / (12.0 * h)
    ad = r["dE_B_dJ"].reshape(-1, 5)[:, 0]
    smooth = np.all(kidx == kidx[:, :1], axis=1)
    checks = []
    n_s = shifts.size
    for i in range(len(pts) // n_s):
        block = range(i * n_s, (i + 1) * n_s)
        pick = next((b for b in block if smooth[b]), None)
        if pick is None:
            continue
        checks.append(
            {
                "J_over_V": float(J0[pick]),
                "n_holes": float(NH[pick]),
                "doping": float(NH[pick] / LADDER_L),
                "k_star_index": int(kidx[pick, 0]),
                "autodiff": float(ad[pick]),
                "finite_difference": float(fd[pick]),
                "relative_deviation": float(abs(ad[pick] - fd[pick]) / abs(fd[pick])),
            }
        )
    return {
        "method": f"five-point central difference, step {h:g} in J/V, of E_B from independent cold re-solves",
        "points": checks,
        "max_relative_deviation": max(c["relative_deviation"] for c in checks) if checks else None,
        "converged": ok.ravel(),
    }


def mixd_dEB_dJ_map(ctx: Context) -> dict:
    """dE_B/d(J/V) over (J/V, doping) on the L = 30 ladder by autodiff through solve_jax, with FD cross-check."""
    from .. import plotting_mixd_extra as jpx

    scan = ladder_map(ctx)
    prog = _ladder_program(ctx)
    J = np.asarray(scan["J"], dtype=float)
    nh = np.asarray(DEB_N_H)
    JJ, NN = np.meshgrid(J, nh)
    ctx.progress(f"  ladder L={LADDER_L}: {J.size} x {nh.size} (J/V, N_h) points, jvp through solve_jax")
    t0 = time.perf_counter()
    r = prog(JJ.ravel(), NN.ravel())
    seconds = time.perf_counter() - t0
    shape = JJ.shape
    deb = r["dE_B_dJ"].reshape(shape)
    eb = r["E_B"].reshape(shape)
    conv = r["converged"].reshape(shape)
    ctx.log_solves(f"ladder L={LADDER_L} E_B and dE_B/dJ over (N_h, J/V) (mixd_dEB_dJ_map)", conv)
    fd = _fd_check(prog)
    ctx.log_solves("mixd_dEB_dJ_map: finite-difference re-solves", fd.pop("converged"), role="cross-check")
    # the same solves as the shared ladder scan on its (even N_h) rows
    rows = [int(np.flatnonzero(nh == n)[0]) for n in scan["n_holes"]]
    same = float(np.max(np.abs(eb[rows] - scan["binding_energy"])))
    line = _ladder_line(ctx)
    path = jpx.plot_deb_dj(
        J,
        nh / LADDER_L,
        deb,
        conv,
        scan,
        line["line"],
        fd["points"],
        cuts=(2.0, 8.0, 14.0),
        n_holes=nh,
        ladder_l=LADDER_L,
        t_over_v=T_OVER_V,
        path=ctx.path("mixd_extra_dEB_dJ_map.png"),
    )
    kidx = r["k_index"].reshape(shape)
    return {
        "file": path.name,
        "lattice": Ladder(LADDER_L).to_dict(),
        "params": {
            "t/V": T_OVER_V,
            "V": V,
            "epsilon": 0.0,
            "J/V": list(J_RANGE),
            "n_J": int(J.size),
            "n_holes": [float(nh.min()), float(nh.max())],
        },
        "method": "jax.jvp of binding_energy through solve_jax (implicit adjoint of the Newton fixed point), "
        f"one compiled vmap called on chunks of {_CHUNK_LADDER} points",
        "dE_B_dJ_min": float(np.min(deb)),
        "dE_B_dJ_max": float(np.max(deb)),
        "dE_B_dJ_at_crossover_8_30": _interp_on_line(J, deb[list(nh).index(8.0)], line["line"], 8.0 / LADDER_L),
        "k_star_changes": int(np.sum(np.diff(kidx, axis=1) != 0)),
        "fd_check": fd,
        "E_B_vs_ladder_scan_max_abs_difference": same,
        "map_seconds": seconds,
        "max_residual": float(np.max(r["residual"])),
        "solves": int(conv.size) + line["solves"],
        "not_converged": int((~conv).sum()) + line["not_converged"],
    }


def _interp_on_line(J, row, line, doping) -> float | None:
    e = next((e for e in line if abs(e["doping"] - doping) < 1e-12), None)
    if e is None or e.get("J_over_V") is None:
        return None
    return float(np.interp(e["J_over_V"], J, row))


# ------------------------------------------------------------------ registration and report

EXTRA_FIGURES: dict[str, Callable[[Context], dict]] = {
    "mixd_crossover_2d": mixd_crossover_2d,
    "mixd_obcs_finite_size": mixd_obcs_finite_size,
    "mixd_dEB_dJ_map": mixd_dEB_dJ_map,
}


def extra_report(res: dict) -> list[str]:
    """Markdown lines for REPORT.md: the key numbers of the three extra figures."""
    lines: list[str] = []
    c = res.get("mixd_crossover_2d")
    if c:
        lat = c["lattice"]
        lines += [
            f"### Beyond the paper: the crossover on the square bilayer ({lat['Lx']}x{lat['Ly']}, t/V = {T_OVER_V}, "
            f"V = {V})",
            "",
            f"Sign change of N_sc - 2 N_cc, root-solved on every doping of the map ({c['params']['n_J']} x "
            f"{c['params']['n_doping']} points); the ladder's (L = {LADDER_L}) on the rows of Fig. 3.",
            "",
            "| doping | J/V (2D) | J/V (ladder L = 30) | 2D - ladder |",
            "|---|---|---|---|",
        ]
        lad = {round(e["doping"], 12): e for e in c["ladder_crossover_line"]}
        for e in c["crossover_line"]:
            le = lad.get(round(e["doping"], 12), {})
            j2, j1 = e.get("J_over_V"), le.get("J_over_V")
            diff = None if j2 is None or j1 is None else j2 - j1
            lines.append(
                f"| {e['doping']:.4f} | {fmt_num(j2, '.5f')} | {fmt_num(j1, '.5f') if le else '-'} | "
                f"{fmt_num(diff, '+.4f') if le else '-'} |"
            )
        f2 = c["fig2_doping"]
        lines += [
            "",
            f"At the doping of Fig. 2 (N_h = 12 on 16x16, delta = {f2['doping']:.4f}) the 2D sign change is at "
            f"J/V = {fmt_num(f2['J_over_V'], '.4f')} (documented on 16x16: {f2['documented_16x16']}).",
            "",
        ]
        chk = c.get("default_solver_check")
        if chk:
            lines += [
                f"Check of the map's seeding: {chk['method']}: max |(N_sc - 2 N_cc)/N_h| = "
                f"{fmt_num(chk['max_abs_fraction'], '.1e')} at {len(chk['points'])} roots.",
                "",
            ]
    f = res.get("mixd_obcs_finite_size")
    if f:
        lines += [
            "### Beyond the paper: finite-size convergence of O_BCS (Eq. 12), doping 8/30",
            "",
            f"Plotted: {f['plotted']}",
            "",
            f"Finding: {f['finding']}.",
            "",
            "| lattice | J/V | O_BCS(inf) | power law p (fit sizes) | A in A/L^p | "
            "L^2 (O_BCS(L) - O_BCS(inf)) at L = 960: Euler-Maclaurin (measured) | mean fields: exp. rate per site |",
            "|---|---|---|---|---|---|---|",
        ]
        for name in ("ladders", "squares"):
            for e in f[name]["per_J"]:
                p = e["power_law_fit"]
                ex = e["mean_field_exponential_fit"]
                pred = e.get("error_times_L2_predicted")
                em = "n/a" if pred is None else f"{pred:.5f} (measured {e['error_times_L2'][-1]:.5f})"
                rate = "n/a" if ex is None else f"{ex['rate_per_site']:.3f}"
                lines.append(
                    f"| {name} | {e['J_over_V']} | {e['O_BCS_inf']:.10f} | {p['exponent']:.4f} "
                    f"({p['sizes'][0]}..{p['sizes'][-1]}) | {p['prefactor']:.4f} | {em} | {rate} |"
                )
        cont = f["package_continuum_minus_exact"]
        lines += [
            "",
            "The package's `order_bcs_continuum` minus the exact integral (per J/V): "
            + "; ".join(f"{k}: " + ", ".join(f"{v:.1e}" for v in vals) for k, vals in cont.items())
            + f". Package O_BCS at L = 30 vs the Newton family: {f['package_L30_vs_newton_O_BCS']:.1e}.",
            "",
        ]
    d = res.get("mixd_dEB_dJ_map")
    if d:
        fd = d["fd_check"]
        lines += [
            f"### Beyond the paper: dE_B/d(J/V) by autodiff (ladder L = {LADDER_L})",
            "",
            f"dE_B/d(J/V) ranges over [{d['dE_B_dJ_min']:.4f}, {d['dE_B_dJ_max']:.4f}] "
            f"({d['params']['n_J']} x {len(DEB_N_H)} points, {d['map_seconds']:.1f} s); at the delta = 8/30 crossover "
            f"it is {fmt_num(d['dE_B_dJ_at_crossover_8_30'], '.4f')}. Cross-check: {fd['method']}, "
            f"{len(fd['points'])} points, max relative deviation {fmt_num(fd['max_relative_deviation'], '.1e')}. "
            f"E_B equals the Fig. 3 scan's to {d['E_B_vs_ladder_scan_max_abs_difference']:.1e}.",
            "",
        ]
    return lines
