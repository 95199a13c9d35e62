r"""jaxnickel against plain NumPy, with the ideal-pass yardstick (issue 13).

For both models at their benchmark points, on ``n x n`` grids (default 256, 512, 1024,
2048), this script measures *in one run, with the same parameters*:

* **jaxnickel** through its public API only (so it picks up every solver speed-up):
  MixD ``jaxnickel.mixd.solve(p, Square(L), "fixed-point" | "gradient")``, triplon
  ``jaxnickel.triplon.solve(p, n, "fixed-point" | "gradient")`` and
  ``jaxnickel.triplon.critical_temperatures(p, n)`` (T_c).  *compile s* = first call minus
  warm call; *warm s* = median of ``--repeats`` further calls, each at slightly different
  parameters (MixD: J = 1 + 0.001 i; triplon: V = V0 (1 + 0.001 i): parameters are traced,
  so nothing recompiles and no result can be reused), each ended by
  ``jax.block_until_ready``.
* **NumPy**, the plain-NumPy references in this folder, at the same parameter values:
  MixD ``numpy_reference.solve_fixed_point_numpy`` (the same Newton iteration, seeds and
  coarse start as jaxnickel's fixed point; grid built from 1-D cosine tables); triplon
  ``numpy_triplon_reference.solve_numpy_shell`` (sharp shell, **shell-compressed**: only
  the k points with ``|xi_b| < Omega``, Newton on the six gap coefficients with the analytic
  Jacobian) and ``critical_temperatures_numpy`` (Brent in ln T when SciPy is installed,
  else bisection, on the compressed shell).  Times include building the grid (as a
  jaxnickel call builds its own).  Gradient rows are compared with the NumPy fixed point:
  there is no NumPy gradient solver, and the question is what it costs to get the state.
  The NumPy workers never import JAX.
* **Ideal pass.**  A Newton step of either model must at least evaluate the residual of
  the gap equations *and* its Jacobian over every k point it sums over.  *pass s* is the
  time of one such **fused pass**: one jitted evaluation of the residual and of its six
  Jacobian columns (the value and six tangents by ``jax.linearize`` + ``vmap`` of the
  linear map over the identity, fused by XLA), written out here in ``jax.numpy`` from
  precomputed form factors (no trigonometry inside; nothing of jaxnickel's code):

  - MixD: ``x = (b, mu, M_1..M_4) -> (B17, B19, B15)`` residuals (6 unknowns);
  - triplon: ``c -> c - M(c)`` on the 6 gap coefficients (Eq. 14 in the separable basis),
    with its Jacobian written analytically instead (the cheapest form known, the one
    jaxnickel's Newton uses: per band one ``(5, M) @ (M, 2)`` product of the powers
    ``eta^0..4`` with ``w chi`` and ``w^2 dchi/dDelta``; the Gram matrices are Hankel in
    those power sums).  Until 2026-12-06 this row used the ``linearize`` form too, which
    costs ~2x more per point (4.6 against 2.2 ms at 1024^2): earlier tables' triplon *solve / ideal*
    are flattered by it;
  - T_c: one evaluation of the linearised kernel at two temperatures, one per channel (the
    two bands' moments ``<u_i u_j tanh(|xi|/2T)/(2|xi|)>``): one step of a search that
    brackets both channels at once needs no more.

  The pass runs over the k points the solve really uses: the full ``n^2`` grid, or, when
  the solution object reports a reduced set (a field or attribute whose name mentions
  ``wedge``, ``shell``, ``reduc``, ``n_points``, ``k_points`` or ``n_k``), that many points (per band
  for the triplon model: a name with ``alpha``/``beta`` counts for that band, any other
  count for each band; the largest is taken if there are several; T_c, whose result reports
  no set, takes the fixed-point solution's set when that reports one).  It is timed inside one
  compiled loop of K passes (no Python dispatch per pass, as in a compiled Newton loop):
  median over repeats of (loop time / K).  The *ideal-pass estimate* is
  ``steps x pass s`` with ``steps`` the solution's ``iterations`` (Newton steps, summed over
  seeds and channels; L-BFGS steps for the gradient rows, where one value-and-gradient
  evaluation is about as much work as this pass), and *solve / ideal* the warm time as a
  multiple of it (target <= 3).  T_c: steps = ``TcResult.evaluations`` (two-temperature
  kernel evaluations); a result without a count gets the estimate of jaxnickel's former
  bisection (per channel 4 bracket evaluations + log2((ln T_MAX - ln T_MIN) / 1e-12), one
  temperature each: 48 two-temperature passes), marked "~".  For MixD FP ``iterations`` includes the
  seed steps on the 64^2 coarse lattice, so there the estimate is an upper bound of the
  minimum work (most steps are on the small lattice).

Targets (the table marks each row honestly): fixed point >= 10x faster than NumPy at
1024^2 for both models; gradient <= 3x jaxnickel's own fixed point; solve <= 3x its
ideal-pass estimate.

Memory and time guards: before each jaxnickel method the worker calls
``jaxnickel.resources.check_memory`` and skips (with the printed reason) a run that would
not fit; a configuration whose first call is estimated (from the next smaller grid, O(N)
scaling) to exceed ``--max-seconds`` is skipped with a note, repeats stop once
``--max-seconds`` are spent, and ``--budget`` bounds the whole run.  Every configuration
runs in a fresh subprocess (killed after ``--worker-timeout`` s); the report is rewritten
after each one, so an interrupted run leaves the rows it finished.

Usage::

    python benchmarks/bench_vs_numpy.py                                  # 256 .. 2048, both models
    python benchmarks/bench_vs_numpy.py --sizes 64,128 --repeats 2 --out /tmp/res   # smoke test
    python benchmarks/bench_vs_numpy.py --models triplon --sizes 1024 --max-seconds 120

Results: ``<out>/bench_vs_numpy_<device><suffix>.{md,json}``, ``<device>`` a slug of the JAX
default device (``cpu-<cpu model>``, ``gpu-nvidia-h200``, ...).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import queue
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import cpu_info, git_revision  # noqa: E402  (this folder is on sys.path)

DEFAULT_SIZES = (256, 512, 1024, 2048)
MODELS = ("mixd", "triplon")
#: triplon ``fixed-point-s``: the s+- channel alone (``channel="s", complex_search=False``), the
#: problem the NumPy reference solves; ``fixed-point`` is the default full branch search
#: (s+-, d, the complex s+id seed and the stability Hessian), several solves in one call
METHODS = {"mixd": ("fixed-point", "gradient"), "triplon": ("fixed-point", "fixed-point-s", "gradient", "tc")}
MIXD_POINT = {"t": 0.1, "V": 1.0, "epsilon": 0.0}  # bench_mixd.py's point
MIXD_J0 = 1.0
MIXD_DOPING = 0.047  # N_h / N of the paper's 16x16, N_h = 12 case
TRIPLON_POINT = {"n_c": 0.45, "kappa_a": 0.75, "kappa_b": 0.75, "omega": 0.3, "T": 0.0}  # bench_triplon.py's
TRIPLON_LAM = 0.3
TARGET_SIZE = 1024
TARGET_FP_SPEEDUP = 10.0
TARGET_GR_OVER_FP = 3.0
TARGET_IDEAL = 3.0
REDUCED_KEYS = ("wedge", "shell", "reduc", "n_points", "k_points", "n_k")
_REDUCED_RE = re.compile(r"wedge|shell|reduc|(^|_)(n_|k_)?points($|_)|(^|_)n_k($|_)")
TC_ATOL = 1e-12  # jaxnickel.triplon.tc's bisection tolerance in ln T (not exported: used for the step estimate)
PASS_LOOP = 8  # fused passes per compiled timing loop
TAG = "@@"


def mixd_n_holes(L: int) -> int:
    return round(MIXD_DOPING * L * L)


def factors(repeats: int) -> list[float]:
    """Parameter factors of the first (compiling) call, then of each timed repeat."""
    return [1.0 + 1e-3 * i for i in range(repeats + 1)]


def slug(text: str) -> str:
    text = re.sub(r"\((r|tm)\)|\bcpu\b|\bprocessor\b|@.*$", " ", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unknown"


def device_slug(info: dict) -> str:
    """``gpu-<device kind>`` (``gpu-nvidia-h200``), ``tpu-...``, else ``cpu-<cpu model>``."""
    if info.get("platform") and info["platform"] != "cpu":
        return f"{slug(info['platform'])}-{slug(info.get('device_kind') or 'unknown')}"
    return f"cpu-{slug(info.get('cpu_model') or platform.machine())}"


def _now() -> str:
    return datetime.datetime.now().strftime("%H:%M:%S")


def log(msg: str) -> None:
    print(f"[{_now()}] {msg}", flush=True)


# ====================================================================== workers
# Each runs in a fresh interpreter (``bench_vs_numpy.py --worker '<json>'``) and prints one
# JSON line per result, prefixed with TAG.


def _emit(**kw):
    print(TAG + json.dumps(kw), flush=True)


def _jax_setup():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    jnp.zeros(8).sum().block_until_ready()  # initialise the backend outside the timings
    return jax


def worker_info(spec):
    """The device, as JAX sees it, and the versions."""
    import importlib.metadata as md

    jax = _jax_setup()
    devs = jax.devices()
    d = devs[0]
    mem = None
    try:
        stats = d.memory_stats() or {}
        mem = stats.get("bytes_limit")
    except Exception:  # CPU devices have no memory_stats
        mem = None
    versions = {}
    for pkg in ("jaxnickel", "jax", "jaxlib", "numpy", "scipy", "equinox", "optimistix", "optax"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    try:
        import jaxnickel

        versions["jaxnickel"] = getattr(jaxnickel, "__version__", versions["jaxnickel"])
    except Exception as e:  # a broken checkout still gets a report
        versions["jaxnickel_import_error"] = repr(e)
    _emit(
        event="info",
        platform=d.platform,
        device_kind=d.device_kind,
        devices=[str(x) for x in devs],
        device_count=len(devs),
        device_memory_bytes=mem,
        default_backend=jax.default_backend(),
        compilation_cache_dir=jax.config.jax_compilation_cache_dir,
        versions=versions,
    )


def _timed_series(call, fs, cap, label):
    """Time ``call(i, f)`` for each factor (the first call compiles); no further call once ``cap`` s are spent.

    ``call`` returns a function that reads the diagnostics off the result, run after the clock stops.
    At least the first call and one warm call run.
    """
    start = time.perf_counter()
    last = 0.0
    for i, f in enumerate(fs):
        if i > 1 and (time.perf_counter() - start) + last > cap:
            _emit(event="capped", label=label, after_calls=i, elapsed=time.perf_counter() - start)
            return
        t0 = time.perf_counter()
        describe = call(i, f)
        last = time.perf_counter() - t0
        _emit(event="call", label=label, index=i, factor=f, seconds=last, **describe())


def _int_value(v):
    import numpy as np

    if isinstance(v, bool):
        return None
    if isinstance(v, int | np.integer):
        return int(v)
    try:
        a = np.asarray(v)
    except Exception:
        return None
    if a.ndim == 0 and np.issubdtype(a.dtype, np.integer):
        return int(a)
    return None


def reduced_points(obj, n_full: int) -> dict:
    """Integer fields/attributes of ``obj`` whose name suggests a reduced k-point set (``REDUCED_KEYS``)."""
    found = {}
    for name in dir(obj):
        low = name.lower()
        if name.startswith("__") or not _REDUCED_RE.search(low):
            continue
        try:
            v = _int_value(getattr(obj, name))
        except Exception:
            continue
        if v is not None and 0 < v <= 2 * n_full:
            found[name] = v
    return found


def _reduction_text(obj):
    """A string attribute describing the solve's k-point set (e.g. ``TriplonSolution.reduction``), if any."""
    for name in ("reduction", "zone", "kpoints"):
        v = getattr(obj, name, None)
        if isinstance(v, str):
            return v
    return None


def points_per_band(found: dict, n_full: int) -> tuple[dict, str]:
    """``({band: points}, where)`` for the pass: reported counts, else the full grid."""
    if not found:
        return {"all": n_full, "alpha": n_full, "beta": n_full}, "full grid"
    per = {}
    generic = [v for k, v in found.items() if "alpha" not in k.lower() and "beta" not in k.lower()]
    for band in ("alpha", "beta"):
        vals = [v for k, v in found.items() if band in k.lower()]
        per[band] = min(max(vals or generic or [n_full]), n_full)
    per["all"] = min(max(generic or [per["alpha"], per["beta"]]), n_full)
    return per, "reported: " + ", ".join(f"{k}={v}" for k, v in sorted(found.items()))


def _time_pass(jax, loop, args, n_rep=5):
    """Seconds per fused pass: compile the K-pass loop, then the median of ``n_rep`` loop runs / K."""
    t0 = time.perf_counter()
    jax.block_until_ready(loop(*args))
    first = time.perf_counter() - t0
    ts = []
    for _ in range(n_rep):
        t0 = time.perf_counter()
        jax.block_until_ready(loop(*args))
        ts.append((time.perf_counter() - t0) / PASS_LOOP)
    return statistics.median(ts), first


def _looped(jax, jnp, fused):
    """``fused(x, *data) -> (f, J)`` repeated PASS_LOOP times in one compiled loop (x nudged by f: no hoisting)."""

    def loop(x, *data):
        def body(_, carry):
            y, acc = carry
            f, jac = fused(y, *data)
            return y + 1e-30 * f, acc + jnp.sum(jac) + jnp.sum(f)

        return jax.lax.fori_loop(0, PASS_LOOP, body, (x, jnp.zeros((), x.dtype)))

    return jax.jit(loop)


def _check(model, method, n_k, label):
    from jaxnickel.resources import ResourceError, check_memory

    try:
        need = check_memory(
            model,
            "fixed-point" if method in ("tc", "fixed-point-s") else method,
            n_k,
            flag=label,
            largest="square lattice" if model == "mixd" else "k-grid",
        )
    except ResourceError as e:
        _emit(event="skip", label=method, reason=f"check_memory: {e}")
        return False
    _emit(event="memory", label=method, estimate_bytes=need)
    return True


def _guarded(method, fn):
    try:
        fn()
    except Exception as e:  # an OOM or a solver error skips this method, not the grid
        _emit(event="error", label=method, reason=f"{type(e).__name__}: {str(e)[:600]}")


def worker_jax_mixd(spec):
    jax = _jax_setup()
    import jax.numpy as jnp
    import numpy as np

    import jaxnickel as jn
    from jaxnickel.mixd import MixDParams, solve

    L = spec["grid"]
    N = L * L
    lattice = jn.Square(L)
    fs = factors(spec["repeats"])
    info = {}
    try:  # what the NumPy reference must copy (internal names: optional)
        from jaxnickel.mixd import fixed_point as fp

        info = {"seeds": [float(x) for x in fp.DEFAULT_SEED_FRACTIONS], "coarse": [fp.COARSE_1D, fp.COARSE_2D]}
    except Exception as e:
        info = {"error": repr(e)}
    _emit(event="settings", **info)
    state = {}

    def params(f):
        return MixDParams(J=MIXD_J0 * f, n_holes=mixd_n_holes(L), **MIXD_POINT)

    for method in spec["methods"]:
        if method not in METHODS["mixd"] or not _check("mixd", method, N, f"lattice square {L}x{L}"):
            continue

        def run(method=method):
            def call(i, f):
                sol = solve(params(f), lattice, method=method, warn=False)
                jax.block_until_ready(sol)

                def describe():
                    if i == 0:
                        state[method] = sol
                        _emit(event="reduced", label=method, found=reduced_points(sol, N), text=_reduction_text(sol))
                    return {
                        "energy": float(sol.energy),
                        "converged": bool(sol.converged),
                        "iterations": int(sol.iterations),
                        "residual": float(sol.residual),
                        "n_points": N,
                    }

                return describe

            _timed_series(call, fs, spec["cap"], method)

        _guarded(method, run)

    # --- the fused pass: residual of (B17, B19, B15) and its 6 Jacobian columns
    def residual(x, prm, gamma, g, basis):
        t, J, V, nh, n_norm = prm
        b, mu, m = x[0], x[1], x[2:]
        U = 1.5 * t * t / J
        e0 = J - 3.0 * t * t / J  # J - (z/2)(3/2) t^2/J, z = 4
        xi = (t - 2.0 * t * b * b) * gamma + e0 + mu
        delta = 4.0 * t * b * g - U * (m @ basis)
        inv = jax.lax.rsqrt(xi * xi + delta * delta)
        s = delta * inv
        v2 = 0.5 - 0.5 * xi * inv
        r_b = b * ((V + J + 2.0 * mu) - 4.0 * t * jnp.sum(v2 * gamma) / n_norm) - 2.0 * t * jnp.sum(s * g) / n_norm
        r_n = 2.0 * jnp.sum(v2) / n_norm + 2.0 * b * b - nh
        r_m = m - basis @ s / n_norm
        return jnp.concatenate([jnp.stack([r_b, r_n]), r_m])

    def fused(x, prm, gamma, g, basis):
        f, lin = jax.linearize(lambda y: residual(y, prm, gamma, g, basis), x)
        return f, jax.vmap(lin)(jnp.eye(x.size, dtype=x.dtype))

    loop = _looped(jax, jnp, fused)
    sol = state.get("fixed-point")
    if sol is not None:
        x0 = jnp.concatenate([jnp.stack([sol.beta / jnp.sqrt(N), sol.mu]), sol.moments])
    else:  # a gapped point near the solution (no solve to take it from)
        x0 = jnp.array([0.1, -0.6, 0.01, 0.01, 0.0, 0.0])
    ax = 2.0 * np.pi * np.arange(L) / L
    cx, sx = np.repeat(np.cos(ax), L), np.repeat(np.sin(ax), L)
    cy, sy = np.tile(np.cos(ax), L), np.tile(np.sin(ax), L)
    gamma_all = cx + cy
    g_all = gamma_all + MIXD_POINT["epsilon"] * 2.0 * cx * cy
    basis_all = np.stack([cx, cy, sx, sy])
    prm = jnp.array([MIXD_POINT["t"], MIXD_J0, MIXD_POINT["V"], mixd_n_holes(L) / N, float(N)])
    counts = {}
    for method, s in state.items():
        per, where = points_per_band(reduced_points(s, N), N)
        counts.setdefault(per["all"], []).append((method, where))
    if not counts:
        counts[N] = [("none", "full grid")]
    for M, users in counts.items():

        def run_pass(M=M, users=users):
            data = (prm, jnp.asarray(gamma_all[:M]), jnp.asarray(g_all[:M]), jnp.asarray(basis_all[:, :M]))
            sec, first = _time_pass(jax, loop, (x0, *data))
            for method, where in users:
                _emit(event="pass", label=method, points=M, where=where, seconds=sec, first_seconds=first)

        _guarded("pass", run_pass)


def _triplon_params(jax, n, lam):
    from jaxnickel.triplon import make_params

    # the memory check is done per method (check_memory), with the method's own estimate
    p = make_params(lam=lam, grid=n, check_resources=False, **TRIPLON_POINT)
    jax.block_until_ready(p)
    return p


def worker_jax_triplon(spec):
    jax = _jax_setup()
    import jax.numpy as jnp
    import numpy as np

    from jaxnickel.triplon import critical_temperatures, solve

    n = spec["grid"]
    N = n * n
    fs = factors(spec["repeats"])
    p0 = _triplon_params(jax, n, spec["lam"])
    _emit(event="params", params=p0.to_dict())
    state = {}
    tc_count = None
    try:
        from jaxnickel.triplon import tc as tcmod

        atol = getattr(tcmod, "TC_ATOL", TC_ATOL)
        # bisection per channel: 2 bracket checks + 2 (optimistix flip detection) + log2(range / atol) steps,
        # one temperature each; the two channels together = that many two-temperature passes
        tc_count = 4 + math.ceil(math.log2((math.log(tcmod.T_MAX) - math.log(tcmod.T_MIN)) / atol))
    except Exception:
        tc_count = None

    for method in spec["methods"]:
        if method not in METHODS["triplon"] or not _check("triplon", method, N, f"grid={n}"):
            continue

        def run(method=method):
            def call(i, f):
                p = p0.replace(V=p0.V * f)
                if method == "tc":
                    out = critical_temperatures(p, n)
                elif method == "fixed-point-s":
                    out = solve(p, n, "fixed-point", channel="s", complex_search=False, warn=False)
                else:
                    out = solve(p, n, method, warn=False)
                jax.block_until_ready(out)

                def describe():
                    if i == 0:
                        state[method] = out
                        _emit(event="reduced", label=method, found=reduced_points(out, N), text=_reduction_text(out))
                    if method == "tc":
                        steps = None
                        for name in ("iterations", "steps", "evaluations"):
                            v = _int_value(getattr(out, name, None))
                            if v is not None:
                                steps = v
                        return {
                            "tc_s": float(out.tc_s),
                            "tc_d": float(out.tc_d),
                            "converged": bool(np.isfinite(float(out.tc_s))),
                            "iterations": steps if steps is not None else tc_count,
                            "iterations_estimated": steps is None,
                        }
                    c = np.asarray(out.coefficients)
                    return {
                        "free_energy": float(out.free_energy),
                        "coefficients": c.tolist(),
                        "channel": out.channel_name,
                        "converged": bool(out.converged),
                        "iterations": int(out.iterations),
                        "residual": float(out.residual),
                    }

                return describe

            _timed_series(call, fs, spec["cap"], method)

        _guarded(method, run)

    # --- grid arrays (sharp or Lorentzian weights, as the solve's cutoff)
    k = 2.0 * np.pi * np.arange(n) / n
    c = np.cos(k)
    cx, cy = np.repeat(c, n), np.tile(c, n)
    b = p0.bands
    bd = {key: float(np.asarray(getattr(b, key))) for key in ("t1", "t2", "t3", "eps_alpha", "eps_beta", "mu")}
    eta = cx - cy
    base = -4.0 * (bd["t1"] * 0.5 * (cx + cy) + bd["t2"] * cx * cy + bd["t3"] * (cx * cx + cy * cy - 1.0)) - bd["mu"]
    omega = float(p0.omega)
    arrays = {}
    for band in ("alpha", "beta"):
        xi = base + bd[f"eps_{band}"] * eta * eta
        w = (np.abs(xi) < omega).astype(float) if p0.cutoff == "sharp" else 1.0 / np.sqrt(1.0 + (xi / omega) ** 2)
        order = np.argsort(w == 0, kind="stable")  # shell (w != 0) points first
        arrays[band] = (xi[order], w[order], eta[order], int(np.count_nonzero(w)))
    _emit(event="shell", n_alpha=arrays["alpha"][3], n_beta=arrays["beta"][3], cutoff=p0.cutoff)
    ka, kb = float(p0.kappa_a), float(p0.kappa_b)
    vc = jnp.asarray(float(p0.V) * np.array([1.0, -(ka + kb), ka * kb]))
    T0 = float(p0.T)

    def g_of(E, T):
        return jnp.tanh(E / (2.0 * T)) / (2.0 * E) if T > 0 else 0.5 / E

    def fused(cf, vc, xa, Pa, xb, Pb, n_norm):
        """Residual ``c - M(c)`` and its 6 x 6 Jacobian in one pass, the cheapest form known.

        ``P = (w, eta^0..4)`` per band.  ``Delta = w (c0 + c1 eta + c2 eta^2)``; the moments
        ``<w eta^i chi>`` and the Gram entries ``<w^2 eta^(i+j) dchi/dDelta>`` are power sums
        of two per-point numbers per band: one ``(5, M) @ (M, 2)`` product per band
        (``jax.jvp`` gives ``dchi/dDelta`` pointwise; it fuses with the rest).
        """

        def band(cb, xi, P):
            w, e = P[0], P[2]  # (P[1] = eta^0)
            d = w * (cb[0] + e * (cb[1] + e * cb[2]))
            chi_of = lambda d: d * g_of(jnp.sqrt(xi * xi + d * d), T0)  # noqa: E731
            chi, dchi = jax.jvp(chi_of, (d,), (jnp.ones_like(d),))
            return P[1:] @ jnp.stack([w * chi, w * w * dchi], axis=1) / n_norm  # (5, 2)

        def hankel(h):
            return jnp.stack([h[0:3], h[1:4], h[2:5]])

        Sa, Sb = band(cf[:3], xa, Pa), band(cf[3:], xb, Pb)
        M = jnp.concatenate([-vc * Sb[:3, 0], -vc * Sa[:3, 0]])
        z = jnp.zeros((3, 3), cf.dtype)
        J = jnp.block([[z, -vc[:, None] * hankel(Sb[:, 1])], [-vc[:, None] * hankel(Sa[:, 1]), z]])
        return cf - M, jnp.eye(6, dtype=cf.dtype) - J

    def tc_pass(logT, vc, xa, Pa, xb, Pb, n_norm):
        """The linearised kernel at two temperatures ``exp(logT)`` (one per channel) in one pass."""
        T = jnp.exp(logT)[:, None]  # (2, 1)

        def hankel(h):
            return jnp.stack([h[0:3], h[1:4], h[2:5]])

        ax, bx = jnp.abs(xa), jnp.abs(xb)
        ha = (jnp.tanh(ax / (2.0 * T)) / (2.0 * ax)) @ Pa.T / n_norm  # (2, 5)
        hb = (jnp.tanh(bx / (2.0 * T)) / (2.0 * bx)) @ Pb.T / n_norm
        idx = jnp.array([0, 2])
        lams = []
        for i in (0, 1):
            A = -vc[:, None] * hankel(hb[i])
            B = -vc[:, None] * hankel(ha[i])
            if i == 0:
                X = A[jnp.ix_(idx, idx)] @ B[jnp.ix_(idx, idx)]
                disc = jnp.maximum((X[0, 0] - X[1, 1]) ** 2 + 4 * X[0, 1] * X[1, 0], 0.0)
                lams.append(0.5 * (X[0, 0] + X[1, 1] + jnp.sqrt(disc)))
            else:
                lams.append(A[1, 1] * B[1, 1])
        lam = jnp.sqrt(jnp.maximum(jnp.stack(lams), 0.0))
        return jnp.sum(lam) - 2.0, X  # (a scalar value, a 2x2 block): the (f, J) shape the loop expects

    loop = _looped(jax, jnp, fused)
    tc_loop = _looped(jax, jnp, tc_pass)
    sol = state.get("fixed-point")
    c0 = jnp.asarray(np.asarray(sol.coefficients)) if sol is not None else jnp.array([0.05, 0, 0.05, -0.03, 0, -0.006])

    def band_arrays(band, M, tc):
        xi, w, e, _ = arrays[band]
        xi, w, e = xi[:M], w[:M], e[:M]
        if tc:
            powers = np.stack([e**p for p in range(5)]) * (w * w)
        else:  # (w, eta^0..4): the Newton pass builds the weights from them
            powers = np.stack([w] + [e**p for p in range(5)])
        return jnp.asarray(xi), jnp.asarray(powers)

    def run_passes(M_a, M_b, users):
        """``users``: ``(label, where)``; labels ``tc``/``shell-tc`` get the T_c pass, the others the Newton pass."""
        tc_users = [u for u in users if u[0].endswith("tc")]
        fp_users = [u for u in users if not u[0].endswith("tc")]
        if fp_users:
            xa, ua = band_arrays("alpha", M_a, False)
            xb, ub = band_arrays("beta", M_b, False)
            sec, first = _time_pass(jax, loop, (c0, vc, xa, ua, xb, ub, float(N)))
            for method, where in fp_users:
                _emit(event="pass", label=method, points=M_a + M_b, where=where, seconds=sec, first_seconds=first)
        if tc_users:
            xa, Pa = band_arrays("alpha", M_a, True)
            xb, Pb = band_arrays("beta", M_b, True)
            logT = jnp.log(jnp.array([0.03, 0.02]))
            sec, first = _time_pass(jax, tc_loop, (logT, vc, xa, Pa, xb, Pb, float(N)))
            for method, where in tc_users:
                _emit(event="pass", label=method, points=M_a + M_b, where=where, seconds=sec, first_seconds=first)

    groups = {}
    fp_found = reduced_points(state["fixed-point"], N) if "fixed-point" in state else {}
    for method, s in state.items():
        found = reduced_points(s, N)
        per, where = points_per_band(found, N)
        if method == "tc" and not found and fp_found:
            # TcResult reports no set; jaxnickel's T_c search sums over the solves' set: take the FP's
            per, where = points_per_band(fp_found, N)
            where = "the FP solution's set (TcResult reports none), " + where
        if method == "fixed-point-s" and "wedge alone" in (getattr(s, "reduction", "") or ""):
            # the s+- channel sums over the C4v wedge alone (half the reported wedge + mirror
            # set; only its stability check uses the mirror): the ideal pass is over that
            per = {k: v // 2 for k, v in per.items()}
            where = "the wedge alone (half of " + where + ")"
        groups.setdefault((per["alpha"], per["beta"]), []).append((method, where))
    for (M_a, M_b), users in groups.items():
        _guarded("pass", lambda M_a=M_a, M_b=M_b, users=users: run_passes(M_a, M_b, users))
    if p0.cutoff == "sharp":  # for reference: the passes over the shells alone (what a compressed solve needs)
        na, nb = arrays["alpha"][3], arrays["beta"][3]
        _guarded("pass", lambda: run_passes(na, nb, [("shell", "shells only"), ("shell-tc", "shells only")]))


def worker_numpy_mixd(spec):
    import numpy_reference as nr

    L = spec["grid"]
    settings = spec.get("settings") or {}
    seeds = tuple(settings.get("seeds") or nr.SEED_FRACTIONS)
    coarse = tuple(settings["coarse"]) if settings.get("coarse") else nr.COARSE

    def call(i, f):
        model = nr.Model(J=MIXD_J0 * f, n_holes=mixd_n_holes(L), **MIXD_POINT)
        sol = nr.solve_fixed_point_numpy(model, nr.square_grid(L), seeds=seeds, coarse=coarse)
        return lambda: {
            "energy": sol.energy,
            "converged": sol.converged,
            "iterations": sol.iterations,
            "residual": sol.residual,
        }

    _timed_series(call, factors(spec["repeats"]), spec["cap"], "numpy")


def worker_numpy_triplon(spec):
    import numpy_triplon_reference as nr

    n = spec["grid"]
    model0 = nr.Model.from_dict(spec["params"])
    sharp = model0.cutoff == "sharp"
    have_scipy = nr._have_scipy()  # imports scipy.optimize outside the timings

    def call(i, f):
        model = model0.replace(V=model0.V * f)
        if sharp:
            sol = nr.solve_numpy_shell(model, n, method=spec.get("numpy_method", "newton"))
            extra = {"n_shell": list(sol.n_shell), "method": sol.method, "passes": sol.passes}
        else:  # the Lorentzian has no shell: the full-grid damped iteration
            sol = nr.solve_numpy(model, n)
            extra = {"n_shell": None, "method": "damped (full grid, Lorentzian)", "passes": sol.iterations + 1}
        return lambda: {
            "free_energy": sol.free_energy,
            "coefficients": sol.coefficients.tolist(),
            "converged": sol.converged,
            "iterations": sol.iterations,
            "residual": sol.residual,
            **extra,
        }

    if spec.get("run_fp", True):
        _timed_series(call, factors(spec["repeats"]), spec["cap"], "numpy")
    if not spec.get("run_tc", True):
        return
    if not sharp:
        _emit(event="skip", label="numpy-tc", reason="the NumPy T_c reference implements the sharp shell only")
        return

    def call_tc(i, f):
        tc = nr.critical_temperatures_numpy(model0.replace(V=model0.V * f), n)
        return lambda: {
            "tc_s": tc.tc_s,
            "tc_d": tc.tc_d,
            "converged": bool(math.isfinite(tc.tc_s)),
            "iterations": tc.evaluations,
            "method": tc.method + ("" if have_scipy else " (no SciPy)"),
        }

    _timed_series(call_tc, factors(spec["repeats"]), spec["cap"], "numpy-tc")


WORKERS = {
    "info": worker_info,
    "jax-mixd": worker_jax_mixd,
    "jax-triplon": worker_jax_triplon,
    "numpy-mixd": worker_numpy_mixd,
    "numpy-triplon": worker_numpy_triplon,
}


# ====================================================================== driver


def run_worker(spec: dict, timeout: float, prefix: str) -> tuple[list[dict], str | None]:
    """Run one worker; print progress lines as its results arrive; ``(events, failure or None)``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE.parent)
    lines: queue.Queue = queue.Queue()
    err: list[str] = []

    def pump(stream, sink):
        for line in stream:
            sink(line)
        stream.close()

    t_out = threading.Thread(target=pump, args=(proc.stdout, lines.put), daemon=True)
    t_err = threading.Thread(target=pump, args=(proc.stderr, err.append), daemon=True)
    t_out.start()
    t_err.start()
    events = []
    deadline = time.monotonic() + timeout
    failure = None
    while True:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if proc.poll() is not None and not t_out.is_alive() and lines.empty():
                break
            if time.monotonic() > deadline:
                proc.kill()
                failure = f"killed after {timeout:.0f} s (--worker-timeout)"
                log(f"{prefix}: {failure}")
                break
            continue
        if line.startswith(TAG):
            ev = json.loads(line[len(TAG) :])
            events.append(ev)
            _progress(prefix, ev)
    proc.wait()
    t_err.join(timeout=5)
    if failure is None and proc.returncode != 0:
        tail = "".join(err)[-1500:].strip().splitlines()
        failure = f"worker exited with code {proc.returncode}: " + (tail[-1] if tail else "no message")
        log(f"{prefix}: {failure}")
    return events, failure


def _progress(prefix, ev):
    kind = ev.get("event")
    if kind == "call":
        extra = f", it {ev['iterations']}" if ev.get("iterations") is not None else ""
        log(f"{prefix} {ev['label']}: call {ev['index']} {ev['seconds']:.3f} s{extra}")
    elif kind in ("skip", "error"):
        log(f"{prefix} {ev.get('label')}: {kind.upper()} {ev.get('reason')}")
    elif kind == "capped":
        log(f"{prefix} {ev['label']}: capped after {ev['after_calls']} calls ({ev['elapsed']:.1f} s)")
    elif kind == "pass":
        log(f"{prefix} fused pass for {ev['label']}: {ev['points']} points, {ev['seconds'] * 1e3:.3f} ms")


def summarise_series(events, label):
    calls = [e for e in events if e.get("event") == "call" and e.get("label") == label]
    if not calls:
        return None
    first = calls[0]["seconds"]
    warm_calls = calls[1:]
    warm = statistics.median(c["seconds"] for c in warm_calls) if warm_calls else None
    return {
        "first_s": first,
        "warm_s": warm,
        "compile_s": (first - warm) if warm is not None else None,
        "calls": len(calls),
        "all_converged": all(c.get("converged", True) for c in calls),
        "iterations": calls[0].get("iterations"),
        "iterations_estimated": bool(calls[0].get("iterations_estimated", False)),
        "call0": calls[0],
        "capped": any(e.get("event") == "capped" and e.get("label") == label for e in events),
    }


def _rel(a, b):
    return abs(a - b) / abs(b) if b else abs(a)


def _coeff_rel(c, ref):
    import numpy as np

    c, ref = np.asarray(c), np.asarray(ref)
    s = -1.0 if float(np.dot(c, ref)) < 0 else 1.0
    return float(np.max(np.abs(s * c - ref)) / np.max(np.abs(ref)))


def build_rows(model, n, jax_events, np_events, failures):
    """Table rows of one (model, grid)."""
    rows = []
    np_fp = summarise_series(np_events, "numpy")
    np_tc = summarise_series(np_events, "numpy-tc")
    jx = {m: summarise_series(jax_events, m) for m in METHODS[model]}
    fp_warm = jx["fixed-point"]["warm_s"] if jx.get("fixed-point") else None
    passes = {e["label"]: e for e in jax_events if e.get("event") == "pass"}
    reasons = {}
    for e in jax_events + np_events:
        if e.get("event") in ("skip", "error"):
            reasons.setdefault(e.get("label"), []).append(e["reason"])
    shell = next((e for e in jax_events if e.get("event") == "shell"), None)
    for method in METHODS[model]:
        s = jx.get(method)
        ref = np_tc if method == "tc" else np_fp
        row = {
            "model": model,
            "method": method,
            "grid": n,
            "n_k": n * n,
            "jax": s,
            "numpy": ref,
            "notes": list(reasons.get(method, []))
            + list(reasons.get("numpy-tc" if method == "tc" else "numpy", []))
            + list(failures.get(method, [])),
        }
        warm = s["warm_s"] if s else None
        if s is None and not row["notes"] and method not in failures:
            row["notes"].append("no result (see the log)")
        row["ratio_numpy"] = (ref["warm_s"] / warm) if (ref and ref.get("warm_s") and warm) else None
        row["gr_over_fp"] = (warm / fp_warm) if (method == "gradient" and warm and fp_warm) else None
        ps = passes.get(method)
        row["pass"] = ps
        steps = s["iterations"] if s else None
        if ps and steps is not None and warm:
            row["ideal_s"] = steps * ps["seconds"]
            row["over_ideal"] = warm / row["ideal_s"] if row["ideal_s"] > 0 else None
        else:
            row["ideal_s"] = row["over_ideal"] = None
        if model == "triplon" and shell:
            sp = passes.get("shell-tc" if method == "tc" else "shell")
            row["shell_points"] = shell["n_alpha"] + shell["n_beta"]
            row["shell_pass_s"] = sp["seconds"] if sp else None
        # agreement
        if s and ref:
            a, b = ref["call0"], s["call0"]
            if model == "mixd" and "energy" in a and "energy" in b:
                row["agreement"] = {"rel_energy_numpy": _rel(a["energy"], b["energy"])}
            elif method == "tc" and "tc_s" in a:
                row["agreement"] = {"rel_tc_s": _rel(a["tc_s"], b["tc_s"]), "rel_tc_d": _rel(a["tc_d"], b["tc_d"])}
            elif "coefficients" in a and "coefficients" in b:
                row["agreement"] = {
                    "rel_coefficients_numpy": _coeff_rel(a["coefficients"], b["coefficients"]),
                    "rel_free_energy_numpy": _rel(a["free_energy"], b["free_energy"]),
                }
        # targets
        t = {}
        if method in ("fixed-point", "fixed-point-s") and n == TARGET_SIZE:
            t["fp_10x"] = None if row["ratio_numpy"] is None else row["ratio_numpy"] >= TARGET_FP_SPEEDUP
        if method == "gradient":
            t["gr_3x"] = None if row["gr_over_fp"] is None else row["gr_over_fp"] <= TARGET_GR_OVER_FP
        t["ideal_3x"] = None if row["over_ideal"] is None else row["over_ideal"] <= TARGET_IDEAL
        row["targets"] = t
        rows.append(row)
    return rows


def _f(x, fmt="{:.3g}"):
    return "—" if x is None else fmt.format(x)


def _mark(v):
    return "—" if v is None else ("met" if v else "**not met**")


def render(report: dict) -> str:
    prov = report["provenance"]
    info = prov.get("device") or {}
    out = [f"# jaxnickel vs NumPy, with the ideal-pass yardstick — `{report['device_slug']}`", ""]
    if info.get("platform") == "cpu":
        out += ["**No GPU was available to this run; CPU figures only.**", ""]
    out += [
        f"Targets: fixed point >= {TARGET_FP_SPEEDUP:g}x NumPy at {TARGET_SIZE}^2 (both models); "
        f"gradient <= {TARGET_GR_OVER_FP:g}x jaxnickel's fixed point; solve <= {TARGET_IDEAL:g}x its ideal-pass "
        "estimate.  Each row is marked met / **not met** from the measured numbers; — where it does not apply "
        "or was not measured.",
        "",
        f"Device: {info.get('platform')} `{info.get('device_kind')}` ({', '.join(info.get('devices') or [])}"
        + (f", {info['device_memory_bytes'] / 2**30:.1f} GiB device memory" if info.get("device_memory_bytes") else "")
        + f"); host CPU {prov['cpu'].get('cpu_model')}, {prov['cpu'].get('cpu_usable')} usable cores "
        f"of {prov['cpu'].get('cpu_count')}.  jaxnickel {prov['versions'].get('jaxnickel')} at git "
        f"{prov.get('git_revision')}, jax {prov['versions'].get('jax')}, jaxlib {prov['versions'].get('jaxlib')}, "
        f"numpy {prov['versions'].get('numpy')}, scipy {prov['versions'].get('scipy')}.  "
        f"{prov['date']}; load average (1 min) {prov['load_before'][0]:.2f} before, "
        + (f"{prov['load_after'][0]:.2f} after" if prov.get("load_after") else "run not finished")
        + ".",
        "",
        f"Command: `{prov['command']}`",
        "",
        "| model | method | grid | jaxnickel warm s | compile s | NumPy s | NumPy/jaxnickel | steps | points/pass "
        "| pass ms | ideal s (steps x pass) | solve/ideal | GR/FP | FP >= 10x NumPy (1024^2) | GR <= 3x FP "
        "| solve <= 3x ideal |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for r in report["rows"]:
        s, ref, ps = r["jax"], r["numpy"], r["pass"]
        steps = "—"
        if s and s.get("iterations") is not None:
            steps = ("~" if s.get("iterations_estimated") else "") + str(s["iterations"])
        t = r["targets"]
        out.append(
            f"| {r['model']} | {r['method']} | {r['grid']}^2 | {_f(s and s['warm_s'])} | {_f(s and s['compile_s'])} "
            f"| {_f(ref and ref['warm_s'])} | {_f(r['ratio_numpy'], '{:.2f}')} | {steps} "
            f"| {ps['points'] if ps else '—'} | {_f(ps and ps['seconds'] * 1e3)} | {_f(r['ideal_s'])} "
            f"| {_f(r['over_ideal'], '{:.1f}')} | {_f(r['gr_over_fp'], '{:.2f}')} | {_mark(t.get('fp_10x'))} "
            f"| {_mark(t.get('gr_3x'))} | {_mark(t.get('ideal_3x'))} |"
        )
        for note in r["notes"]:
            notes.append(f"{r['model']} {r['method']} {r['grid']}^2: {note}")
    out += ["", "Diagnostics:", ""]
    out += [
        "| model | method | grid | jax it / conv | NumPy it / conv | NumPy method | agreement NumPy vs jaxnickel "
        "| pass over | shell points | shell pass ms | calls jax / NumPy |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        s, ref, ps = r["jax"], r["numpy"], r["pass"]
        ag = ", ".join(f"{k} {v:.1e}" for k, v in (r.get("agreement") or {}).items()) or "—"
        it_j = f"{s['iterations']} / {'yes' if s['all_converged'] else 'NO'}" if s else "—"
        it_n = f"{ref['iterations']} / {'yes' if ref['all_converged'] else 'NO'}" if ref else "—"
        meth = (ref["call0"].get("method") if ref else None) or (
            "Newton (FD Jacobian)" if r["model"] == "mixd" else "—"
        )
        out.append(
            f"| {r['model']} | {r['method']} | {r['grid']}^2 | {it_j} | {it_n} | {meth} | {ag} "
            f"| {ps['where'] if ps else '—'} | {r.get('shell_points', '—')} | {_f(r.get('shell_pass_s') and r['shell_pass_s'] * 1e3)} "
            f"| {s['calls'] if s else 0} / {ref['calls'] if ref else 0} |"
        )
    out += [
        "",
        "Definitions (see the module docstring of `benchmarks/bench_vs_numpy.py`): warm = median of the repeats "
        "at perturbed parameters, compile = first call - warm; NumPy = the plain-NumPy reference at the same "
        "parameters (gradient rows: the NumPy fixed point; triplon: sharp shell, shell-compressed, Newton on the "
        "6 gap coefficients; T_c: Brent/bisection in ln T on the shell), grid set-up included; pass = one fused "
        "jitted evaluation of the residual and its 6 Jacobian columns (triplon: analytic, power sums in one "
        "product per band; T_c: one linearised-kernel evaluation) "
        "over the k points the solve uses (full grid unless the solution reports a reduced set; points/pass "
        "counts both bands' points for the triplon model), timed in a "
        f"compiled loop of {PASS_LOOP}; steps = the solution's iterations (MixD FP: including the 64^2 coarse "
        "seed steps; T_c: the result's evaluations, ~ = estimated when it reports none; its pass evaluates the "
        "kernel at two temperatures); "
        "shell pass = the same pass over the pairing shells only (what a shell-compressed solve needs).",
    ]
    if notes:
        out += ["", "Notes and skipped runs:", ""] + [f"* {n}" for n in notes]
    return "\n".join(out) + "\n"


def write_report(report: dict, out_dir: Path, name: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / f"{name}.md", out_dir / f"{name}.json"
    for path, text in ((md, render(report)), (js, json.dumps(report, indent=1, default=str))):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return md, js


def device_info(timeout: float = 300.0) -> dict:
    events, failure = run_worker({"kind": "info"}, timeout, "info")
    info = next((e for e in events if e.get("event") == "info"), None)
    if info is None:
        raise SystemExit(f"could not start JAX to describe the device: {failure}")
    info.pop("event")
    info.update(cpu_info())
    return info


def main(argv=None, info: dict | None = None) -> int:
    """The driver (``info``: a device description from :func:`device_info`, to skip a second JAX start)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="n1,n2,... (n x n grids)")
    ap.add_argument("--models", default=",".join(MODELS), help="mixd,triplon")
    ap.add_argument("--repeats", type=int, default=3, help="timed calls after the compiling one (default 3)")
    ap.add_argument("--out", default=str(HERE / "results"), help="output folder (default benchmarks/results)")
    ap.add_argument("--suffix", default="", help="appended to the output file names (e.g. _smoke)")
    ap.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="per configuration: skip it if its first call is estimated (from the next smaller grid) to take "
        "longer, and start no further repeat once this is spent (default 300)",
    )
    ap.add_argument("--budget", type=float, default=None, help="seconds for the whole run: skip what would not fit")
    ap.add_argument(
        "--worker-timeout",
        type=float,
        default=None,
        help="kill a worker after this (default 3 x max-seconds x methods + 180)",
    )
    ap.add_argument("--lam", type=float, default=TRIPLON_LAM, help="triplon lambda (default 0.3)")
    ap.add_argument("--numpy-triplon", default="newton", choices=("newton", "damped"), help="NumPy triplon iteration")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        spec = json.loads(args.worker)
        WORKERS[spec["kind"]](spec)
        return 0

    t_start = time.monotonic()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            ap.error(f"unknown model {m!r} (choose from {', '.join(MODELS)})")
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    load_before = os.getloadavg()
    log(f"describing the device (load average {load_before[0]:.2f})")
    info = device_info() if info is None else info
    dslug = device_slug(info)
    name = f"bench_vs_numpy_{dslug}{args.suffix}"
    out_dir = Path(args.out)
    log(f"device {dslug}: {info['devices']}; results -> {out_dir / name}.md")
    report = {
        "device_slug": dslug,
        "provenance": {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "command": "python "
            + " ".join(
                shlex.quote(a)
                for a in [os.path.relpath(__file__, HERE.parent)] + list(sys.argv[1:] if argv is None else argv)
            ),
            "git_revision": git_revision(),
            "versions": info.get("versions", {}),
            "device": info,
            "cpu": cpu_info(),
            "python": platform.python_version(),
            "load_before": load_before,
            "load_after": None,
            "settings": {
                "sizes": sizes,
                "models": models,
                "repeats": args.repeats,
                "max_seconds": args.max_seconds,
                "budget": args.budget,
                "lam": args.lam,
                "numpy_triplon": args.numpy_triplon,
                "mixd_point": {**MIXD_POINT, "J": MIXD_J0, "doping": MIXD_DOPING},
                "triplon_point": {**TRIPLON_POINT, "lam": args.lam},
                "pass_loop": PASS_LOOP,
            },
        },
        "rows": [],
        "skipped": [],
        "raw": {},
    }
    history: dict = {}  # (model, method) -> (N, first_s, warm_s) of the last grid measured

    def estimate(key, n_k):
        """``(one warm call, first call)`` estimated from the last grid measured (O(N) scaling), or None."""
        h = history.get(key)
        if not h:
            return None
        N0, first, warm = h
        warm = warm if warm is not None else first
        run = warm * n_k / N0
        return run, max(first - warm, 0.0) + run

    def remaining():
        return None if args.budget is None else args.budget - (time.monotonic() - t_start)

    def guard(key, n_k, what):
        """Why ``key`` must be skipped on ``n_k`` points (None: run it)."""
        est, rem = estimate(key, n_k), remaining()
        if est and est[0] > args.max_seconds:
            return (
                f"{what} skipped: one call estimated {est[0]:.0f} s from the last grid (O(N) scaling) "
                f"> --max-seconds {args.max_seconds:g}"
            )
        if est and rem is not None and est[1] > rem:
            return f"{what} skipped: first call estimated {est[1]:.0f} s > {rem:.0f} s left of --budget"
        if rem is not None and rem < 20:
            return f"{what} skipped: {rem:.0f} s left of --budget"
        return None

    for n in sizes:
        for model in models:
            N = n * n
            prefix = f"{model} {n}^2"
            methods, failures = [], {}
            for m in METHODS[model]:
                why = guard((model, m), N, f"jaxnickel {m}")
                if why:
                    log(f"{prefix} {why}")
                    report["skipped"].append(f"{prefix} {why}")
                    failures.setdefault(m, []).append(why)
                else:
                    methods.append(m)
            wt = args.worker_timeout or (3 * args.max_seconds * max(len(methods), 1) + 180)
            if remaining() is not None:
                wt = max(10.0, min(wt, remaining()))
            jax_events = []
            if methods:
                log(f"{prefix}: jaxnickel {', '.join(methods)}")
                spec = {
                    "kind": f"jax-{model}",
                    "grid": n,
                    "methods": methods,
                    "repeats": args.repeats,
                    "cap": args.max_seconds,
                    "lam": args.lam,
                }
                jax_events, failure = run_worker(spec, wt, prefix)
                if failure:
                    done = {e.get("label") for e in jax_events if e.get("event") == "pass"}
                    for m in methods:
                        if m not in done:
                            failures.setdefault(m, []).append(f"jaxnickel worker: {failure}")
                for m in methods:
                    s = summarise_series(jax_events, m)
                    if s:
                        history[(model, m)] = (N, s["first_s"], s["warm_s"])
            # NumPy, same parameters (triplon: mu and V from jaxnickel's make_params on this grid)
            np_events = []
            np_methods = ["numpy"] + (["numpy-tc"] if model == "triplon" else [])
            np_run = []
            for m in np_methods:
                why = guard((model, m), N, "NumPy T_c" if m == "numpy-tc" else "NumPy")
                if why is None:
                    np_run.append(m)
                    continue
                log(f"{prefix} {why}")
                report["skipped"].append(f"{prefix} {why}")
                for meth in ("tc",) if m == "numpy-tc" else METHODS[model]:
                    if meth != "tc" or m == "numpy-tc":
                        failures.setdefault(meth, []).append(why)
            params = next((e["params"] for e in jax_events if e.get("event") == "params"), None)
            settings = next((e for e in jax_events if e.get("event") == "settings"), None)
            if model == "triplon" and params is None and np_run:
                params = _params_only(n, args.lam, wt, prefix)
            if np_run and (model == "mixd" or params is not None):
                spec = {
                    "kind": f"numpy-{model}",
                    "grid": n,
                    "repeats": args.repeats,
                    "cap": args.max_seconds,
                    "params": params,
                    "settings": settings,
                    "numpy_method": args.numpy_triplon,
                    "run_fp": "numpy" in np_run,
                    "run_tc": "numpy-tc" in np_run,
                }
                log(f"{prefix}: NumPy reference")
                np_events, failure = run_worker(spec, wt, prefix + " NumPy")
                if failure:
                    for m in METHODS[model]:
                        failures.setdefault(m, []).append(f"NumPy worker: {failure}")
                for m in np_run:
                    s = summarise_series(np_events, m)
                    if s:
                        history[(model, m)] = (N, s["first_s"], s["warm_s"])
            report["rows"].extend(build_rows(model, n, jax_events, np_events, failures))
            report["raw"][f"{model}-{n}"] = {"jax": jax_events, "numpy": np_events}
            write_report(report, out_dir, name)
    report["provenance"]["load_after"] = os.getloadavg()
    report["provenance"]["wall_seconds"] = time.monotonic() - t_start
    md, js = write_report(report, out_dir, name)
    print(render(report), flush=True)
    log(f"wrote {md} and {js}")
    return 0


def worker_params(spec):
    jax = _jax_setup()
    _emit(event="params", params=_triplon_params(jax, spec["grid"], spec["lam"]).to_dict())


WORKERS["params"] = worker_params


def _params_only(n, lam, timeout, prefix):
    events, _ = run_worker({"kind": "params", "grid": n, "lam": lam}, timeout, prefix + " params")
    return next((e["params"] for e in events if e.get("event") == "params"), None)


if __name__ == "__main__":
    sys.exit(main())
