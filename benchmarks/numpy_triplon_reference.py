r"""Plain-NumPy reference solver of the triplon model's gap equation (14) (paper 001).

The honest baseline "what a physicist would write in NumPy": no JAX, everything
vectorised over the k-grid, and the classic damped fixed-point iteration of the
k-resolved gaps.

Model (the same as :mod:`jaxnickel.triplon`, see ``jaxnickel/triplon/pairing.py``):

* bands, Eq. (5), on the periodic ``n x n`` grid ``k = 2 pi (i, j) / n`` (flattened in
  C order, kx slow, as ``jaxnickel.lattice.Square(n).momenta()``)::

      xi_b(k) = -4 (t1 g1 + t2 g2 + t3 g3) + eps_b eta^2 - mu,
      g1 = (cos kx + cos ky)/2, g2 = cos kx cos ky, g3 = (cos 2kx + cos 2ky)/2,
      eta = cos kx - cos ky;

* interaction, Eq. (13) with the Lorentzian cutoff factor
  ``w_b(k) = (1 + (xi_b(k)/Omega)^2)^(-1/2)``::

      V_kk' = V w_alpha(k) w_beta(k') (1 - kappa_a eta eta')(1 - kappa_b eta eta')
            = V sum_i u^alpha_i(k) C_i u^beta_i(k'),
      u^b(k) = w_b(k) (1, eta, eta^2),  C = (1, -(kappa_a + kappa_b), kappa_a kappa_b);

* gap equation (14), k' sums normalised by the number of k-points N::

      Delta_alpha(k) = -(1/N) sum_k' V_kk' Delta_beta(k') tanh(E_beta(k')/2T) / (2 E_beta(k'))

  (and alpha <-> beta), ``E = sqrt(xi^2 + Delta^2)``; at ``T = 0`` the factor is
  ``1/(2E)``.  By separability each right-hand side costs three moments
  ``m^b_i = (1/N) sum_k u^b_i(k) chi_b(k)``, ``chi = Delta tanh(E/2T)/(2E)``: O(N).

Iteration: from the s+- seed ``Delta_alpha = +Delta0 w_alpha``,
``Delta_beta = -Delta0 w_beta``, ``Delta <- (1 - a) Delta + a RHS(Delta)`` with the
mixing ``a = 0.5`` until ``max_k |Delta - RHS(Delta)| < tol = 1e-11 eV`` (the same
residual that jaxnickel reports).  Also computed: the Gibbs-Bogoliubov condensation free
energy per unit cell (the functional jaxnickel minimises).

``mu`` and ``V`` are inputs (jaxnickel's ``make_params`` derives them from ``n_c`` and
``lambda`` with triangle-method fillings and densities of states; that is not part of
the gap equation).  Running this file solves the paper's point (n_c = 0.45,
kappa = 0.75, Omega = 0.3 eV, lambda = 0.3, T = 0) on 256^2 and 512^2 grids with
both this code and jaxnickel and checks that the gaps agree to 1e-8 relative::

    .venv/bin/python benchmarks/numpy_triplon_reference.py [--grids 256,512] [--lam 0.3] [--T-kelvin 0]

The cutoff is the model's (``Model.cutoff``: ``"lorentzian"``, or ``"sharp"``
``w = Theta(Omega - |xi|)``, jaxnickel's default, which ``Model.from_dict`` picks up).

Sharp shell, shell-compressed (the baseline of ``bench_vs_numpy.py``)
--------------------------------------------------------------------
With the sharp shell the basis vanishes outside ``|xi_b| < Omega``, so a careful NumPy
code keeps only those points (:class:`ShellGrid`, 20-40 % of the zone per band) and every
k sum is one matrix-vector product with the table ``(1, eta, .., eta^4)`` of the shell
points.  :func:`solve_numpy_shell` solves Eq. (14) there by Newton's method on the six gap
coefficients with the analytic Jacobian (one shell pass per step; ``method="damped"``: the
damped iteration above, unchanged), and :func:`critical_temperatures_numpy` finds T_c of
both channels: Brent's method (SciPy; bisection without it) in ln T for the temperature
where the leading eigenvalue of the linearised 6 x 6 kernel (jaxnickel's
``linearized_kernel`` / ``channel_eigenvalues``) crosses 1, on ``[1e-7, 2]`` eV to 1e-12 in
ln T.  Running the file also checks both against jaxnickel (sharp shell): gaps, coefficients
and free energies to 1e-8 relative, both T_c to 1e-6 relative.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time

import numpy as np

__all__ = [
    "Model",
    "Grid",
    "NumpySolution",
    "solve_numpy",
    "free_energy",
    "compare_with_jaxnickel",
    "ShellGrid",
    "ShellSolution",
    "solve_numpy_shell",
    "coefficient_pass",
    "free_energy_shell",
    "channel_eigenvalues_shell",
    "critical_temperatures_numpy",
    "TcNumpy",
    "compare_shell_with_jaxnickel",
    "compare_tc_with_jaxnickel",
]

TOL = 1e-11  # eV, max_k |Delta - RHS(14)|
MIXING = 0.5
DELTA0 = 0.02  # eV, seed amplitude
MAX_ITER = 20000
CUTOFFS = ("lorentzian", "sharp")


def cutoff_weight(xi, model: Model):
    """``w(xi/Omega)``: Lorentzian ``(1 + (xi/Omega)^2)^(-1/2)`` or sharp ``Theta(Omega - |xi|)`` (as jaxnickel)."""
    if model.cutoff == "sharp":
        return (np.abs(xi) < model.omega).astype(float)
    return 1.0 / np.sqrt(1.0 + (xi / model.omega) ** 2)


@dataclasses.dataclass(frozen=True)
class Model:
    """Band (Eq. 5) and pairing (Eq. 13) parameters, energies in eV (T in eV too)."""

    V: float
    mu: float = -0.65
    t1: float = 0.45
    t2: float = -0.24
    t3: float = 0.06
    eps_alpha: float = 0.4
    eps_beta: float = 0.1
    kappa_a: float = 0.75
    kappa_b: float = 0.75
    omega: float = 0.3
    T: float = 0.0
    cutoff: str = "lorentzian"  # or "sharp": w = 1 for |xi| < Omega, else 0 (jaxnickel's default)

    def __post_init__(self):
        if self.cutoff not in CUTOFFS:
            raise ValueError(f"cutoff must be one of {CUTOFFS}, got {self.cutoff!r}")

    @classmethod
    def from_dict(cls, d: dict) -> Model:
        """From ``TriplonParams.to_dict()`` (a record without ``cutoff`` is Lorentzian)."""
        return cls(
            V=d["V"],
            kappa_a=d["kappa_a"],
            kappa_b=d["kappa_b"],
            omega=d["omega"],
            T=d["T"],
            cutoff=d.get("cutoff", "lorentzian"),
            **d["bands"],
        )

    def replace(self, **changes) -> Model:
        return dataclasses.replace(self, **changes)

    @property
    def couplings(self) -> np.ndarray:
        """``V C``, the diagonal of the separable kernel in the basis (1, eta, eta^2)."""
        ka, kb = self.kappa_a, self.kappa_b
        return self.V * np.array([1.0, -(ka + kb), ka * kb])


class Grid:
    """Bands, cutoff factors and the basis ``u^b = w_b (1, eta, eta^2)`` on the ``n x n`` grid."""

    def __init__(self, model: Model, n: int):
        k = 2.0 * np.pi * np.arange(n) / n
        c = np.cos(k)
        cx = np.repeat(c, n)  # kx slow
        cy = np.tile(c, n)  # ky fast
        g1 = 0.5 * (cx + cy)
        g2 = cx * cy
        g3 = cx * cx + cy * cy - 1.0  # (cos 2kx + cos 2ky)/2
        eta = cx - cy
        eta2 = eta * eta
        base = -4.0 * (model.t1 * g1 + model.t2 * g2 + model.t3 * g3) - model.mu
        self.n = n
        self.N = n * n
        self.eta = eta
        self.xi_alpha = base + model.eps_alpha * eta2
        self.xi_beta = base + model.eps_beta * eta2
        self.w_alpha = cutoff_weight(self.xi_alpha, model)
        self.w_beta = cutoff_weight(self.xi_beta, model)
        powers = np.stack([np.ones_like(eta), eta, eta2])
        self.u_alpha = self.w_alpha * powers  # (3, N)
        self.u_beta = self.w_beta * powers


def _kernel(E, T):
    """``tanh(E/2T) / (2E)`` (``1/(2E)`` at T = 0), 0 at E = 0, T = 0 and ``1/(4T)`` at E = 0, T > 0."""
    out = np.empty_like(E)
    pos = E > 0
    if T > 0:
        out[pos] = np.tanh(E[pos] / (2.0 * T)) / (2.0 * E[pos])
        out[~pos] = 1.0 / (4.0 * T)
    else:
        out[pos] = 0.5 / E[pos]
        out[~pos] = 0.0
    return out


def pair_amplitude(delta, xi, T):
    """``(E, chi)`` with ``chi = Delta tanh(E/2T)/(2E)``."""
    E = np.sqrt(xi * xi + delta * delta)
    return E, delta * _kernel(E, T)


def gap_rhs(delta_alpha, delta_beta, model: Model, grid: Grid):
    """Right-hand side of Eq. (14) and the gap coefficients ``(a, b)`` it lies on.

    ``RHS_alpha = a . u^alpha`` with ``a = -V C m^beta`` (and alpha <-> beta).
    """
    _, chi_a = pair_amplitude(delta_alpha, grid.xi_alpha, model.T)
    _, chi_b = pair_amplitude(delta_beta, grid.xi_beta, model.T)
    m_a = grid.u_alpha @ chi_a / grid.N
    m_b = grid.u_beta @ chi_b / grid.N
    vc = model.couplings
    a = -vc * m_b
    b = -vc * m_a
    return a @ grid.u_alpha, b @ grid.u_beta, np.concatenate([a, b])


def free_energy(delta_alpha, delta_beta, model: Model, grid: Grid) -> float:
    """Condensation free energy per unit cell (eV), the Gibbs-Bogoliubov functional.

    ``f = sum_b < |xi| - E - 2T [ln(1+e^{-E/T}) - ln(1+e^{-|xi|/T})] + 2 Delta chi >
    + 2 sum_i m^alpha_i (V C)_i m^beta_i``; equal to the mean-field free energy relative
    to the normal state at a solution of (14).
    """
    T = model.T
    total = 0.0
    moments = []
    for delta, xi, u in ((delta_alpha, grid.xi_alpha, grid.u_alpha), (delta_beta, grid.xi_beta, grid.u_beta)):
        E, chi = pair_amplitude(delta, xi, T)
        axi = np.abs(xi)
        s = axi + E
        kinetic = np.where(s > 0, -(delta**2) / np.where(s > 0, s, 1.0), 0.0)  # |xi| - E without cancellation
        band = kinetic + 2.0 * delta * chi
        if T > 0:
            band = band - 2.0 * T * (np.logaddexp(0.0, -E / T) - np.logaddexp(0.0, -axi / T))
        total += band.mean()
        moments.append(u @ chi / grid.N)
    return float(total + 2.0 * np.sum(moments[0] * model.couplings * moments[1]))


@dataclasses.dataclass
class NumpySolution:
    delta_alpha: np.ndarray  # (N,), C order (kx slow), eV
    delta_beta: np.ndarray
    coefficients: np.ndarray  # (a, b): RHS = a . u^alpha, b . u^beta at the last iterate
    free_energy: float  # eV per unit cell
    iterations: int
    residual: float  # max_k |Delta - RHS(14)| (eV) of the returned gaps
    converged: bool
    seconds: float  # wall time incl. building the grid
    residual_history: list


def solve_numpy(
    model: Model,
    n: int,
    *,
    mixing: float = MIXING,
    delta0: float = DELTA0,
    tol: float = TOL,
    max_iter: int = MAX_ITER,
    grid: Grid | None = None,
) -> NumpySolution:
    """Damped fixed-point iteration of Eq. (14) on the ``n x n`` grid from the s+- seed.

    Returns the last iterate ``Delta`` (whose residual ``max |Delta - RHS(Delta)|`` is
    below ``tol`` when ``converged``).
    """
    t0 = time.perf_counter()
    g = Grid(model, n) if grid is None else grid
    da = delta0 * g.w_alpha
    db = -delta0 * g.w_beta
    history = []
    converged = False
    it = 0
    while True:
        na, nb, coeffs = gap_rhs(da, db, model, g)
        res = max(np.max(np.abs(na - da)), np.max(np.abs(nb - db)))
        history.append(float(res))
        if res < tol:
            converged = True
            break
        if it >= max_iter or not np.isfinite(res):
            break
        da = da + mixing * (na - da)
        db = db + mixing * (nb - db)
        it += 1
    f = free_energy(da, db, model, g)
    seconds = time.perf_counter() - t0
    return NumpySolution(
        delta_alpha=da,
        delta_beta=db,
        coefficients=coeffs,
        free_energy=f,
        iterations=it,
        residual=float(res),
        converged=converged,
        seconds=seconds,
        residual_history=history,
    )


def gap_agreement(ref_alpha, ref_beta, da, db) -> dict:
    """Relative differences of k-resolved gaps against a reference (jaxnickel's).

    ``max_rel_pointwise = max_k |Delta - Delta_ref| / |Delta_ref|`` (the gaps of the s+-
    state do not vanish on the grid at the paper's point) and
    ``max_rel_norm = max_k |Delta - Delta_ref| / max_k |Delta_ref|``, both over both bands.
    The global sign of a solution of (14) is arbitrary: ``Delta`` is compared with the
    sign that matches the reference (``flipped`` says whether it had to be reversed).
    """
    ref_alpha, ref_beta = np.asarray(ref_alpha), np.asarray(ref_beta)
    flipped = bool(np.dot(ref_alpha, da) + np.dot(ref_beta, db) < 0)
    if flipped:
        da, db = -da, -db
    out = {"max_rel_pointwise": 0.0, "max_rel_norm": 0.0, "max_abs_eV": 0.0, "flipped": flipped}
    for ref, d in ((np.asarray(ref_alpha), da), (np.asarray(ref_beta), db)):
        diff = np.abs(d - ref)
        out["max_abs_eV"] = max(out["max_abs_eV"], float(diff.max()))
        out["max_rel_norm"] = max(out["max_rel_norm"], float(diff.max() / np.abs(ref).max()))
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(ref != 0, diff / np.abs(ref), np.where(diff == 0, 0.0, np.inf))
        out["max_rel_pointwise"] = max(out["max_rel_pointwise"], float(rel.max()))
    return out


def compare_with_jaxnickel(n: int, lam: float = 0.3, T_kelvin: float = 0.0, n_c: float = 0.45, rtol: float = 1e-8):
    """Solve the same point with jaxnickel (fixed point) and with :func:`solve_numpy`; compare."""
    import jax

    jax.config.update("jax_enable_x64", True)
    from jaxnickel.triplon import K_B, make_params, solve

    p = make_params(n_c=n_c, lam=lam, kappa_a=0.75, kappa_b=0.75, omega=0.3, T=T_kelvin * K_B, grid=n)
    model = Model.from_dict(p.to_dict())
    t0 = time.perf_counter()
    s = solve(p, n, "fixed-point", warn=False)  # channel="auto": s+- and d seeds, lowest f wins
    jax.block_until_ready(s)
    t_jax = time.perf_counter() - t0
    sol = solve_numpy(model, n)
    agree = gap_agreement(s.delta_alpha, s.delta_beta, sol.delta_alpha, sol.delta_beta)
    cj = np.asarray(s.coefficients) * (-1.0 if agree["flipped"] else 1.0)
    agree["max_rel_coefficients"] = float(np.max(np.abs(sol.coefficients - cj)) / np.max(np.abs(cj)))
    fj = float(s.free_energy)
    agree["rel_free_energy"] = abs(sol.free_energy - fj) / abs(fj) if fj != 0 else abs(sol.free_energy)
    ok = (
        s.channel_name == "s+-"
        and bool(s.converged)
        and sol.converged
        and agree["max_rel_pointwise"] < rtol
        and agree["max_rel_coefficients"] < rtol
        and agree["rel_free_energy"] < rtol
    )
    return {
        "grid": n,
        "lam": lam,
        "T_kelvin": T_kelvin,
        "V": model.V,
        "mu": model.mu,
        "jax": {
            "channel": s.channel_name,
            "seconds_first_call": t_jax,
            "converged": bool(s.converged),
            "iterations": int(s.iterations),
            "residual": float(s.residual),
            "free_energy": fj,
            "coefficients": cj.tolist(),
        },
        "numpy": {
            "seconds": sol.seconds,
            "converged": sol.converged,
            "iterations": sol.iterations,
            "residual": sol.residual,
            "free_energy": sol.free_energy,
            "coefficients": sol.coefficients.tolist(),
        },
        "agreement": agree,
        "ok": ok,
    }


# =====================================================================================
# Sharp shell, shell-compressed (what a careful NumPy user writes for the paper's cutoff)
# =====================================================================================
#
# With the sharp cutoff ``w_b = Theta(Omega - |xi_b|)`` the basis ``u^b`` vanishes outside
# band b's shell, so the moments, the right-hand side of (14), the free energy and the
# linearised kernel need the shell points only: outside it ``Delta_b = 0`` exactly and a
# point contributes nothing.  ``ShellGrid`` keeps, per band, just those points (20-40 % of
# the zone at the paper's point); averages are still ``(1/N) sum`` over the full n x n grid.
# Every k sum is one matrix-vector product with the power table ``P = (1, eta, .., eta^4)``
# of the shell points: ``u_i = eta^i`` and ``u_i u_j = eta^(i+j)`` (w = 1 in the shell).

#: bracket of the T_c search, eV (a copy of jaxnickel.triplon.tc.T_MIN / T_MAX)
TC_T_MIN = 1e-7
TC_T_MAX = 2.0
#: tolerance of the T_c search in ln T (jaxnickel's bisection uses atol = 1e-12 in ln T)
TC_XTOL = 1e-12
#: Newton tolerance on the 6 gap coefficients (jaxnickel: 1e-3 x tol, atol = rtol)
NEWTON_TOL = 1e-3 * TOL
NEWTON_MAX_STEPS = 100


class ShellGrid:
    """The sharp pairing shell ``|xi_b| < Omega`` of each band on the ``n x n`` grid, compressed.

    ``xi_alpha``, ``xi_beta``: band energies of the shell points only; ``P_alpha``,
    ``P_beta``: ``(5, n_b)`` tables of ``eta^p``, p = 0..4; ``index_alpha``/``index_beta``:
    flat (C order) grid indices of the shell points; ``N = n^2``.  Building it costs one O(N)
    pass over the full grid (the shell is found from the band energies); nothing else is O(N).
    """

    def __init__(self, model: Model, n: int):
        if model.cutoff != "sharp":
            raise ValueError("ShellGrid is the sharp-shell cutoff's compression (the Lorentzian has no shell)")
        k = 2.0 * np.pi * np.arange(n) / n
        c = np.cos(k)
        cx = np.repeat(c, n)  # kx slow
        cy = np.tile(c, n)  # ky fast
        eta = cx - cy
        eta2 = eta * eta
        base = (
            -4.0 * (model.t1 * 0.5 * (cx + cy) + model.t2 * cx * cy + model.t3 * (cx * cx + cy * cy - 1.0)) - model.mu
        )
        self.n = n
        self.N = n * n
        for band, eps in (("alpha", model.eps_alpha), ("beta", model.eps_beta)):
            xi = base + eps * eta2
            idx = np.flatnonzero(np.abs(xi) < model.omega)  # jaxnickel: jnp.abs(xi) < omega
            e = eta[idx]
            e2 = e * e
            setattr(self, f"index_{band}", idx)
            setattr(self, f"xi_{band}", np.ascontiguousarray(xi[idx]))
            setattr(self, f"P_{band}", np.stack([np.ones_like(e), e, e2, e2 * e, e2 * e2]))

    @property
    def n_shell(self) -> tuple[int, int]:
        """Shell points ``(alpha, beta)``."""
        return self.xi_alpha.size, self.xi_beta.size

    def full_gaps(self, coefficients) -> tuple[np.ndarray, np.ndarray]:
        """``(Delta_alpha, Delta_beta)`` on the full grid (C order; zero outside each shell)."""
        c = np.asarray(coefficients)
        out = []
        for band, cb in (("alpha", c[:3]), ("beta", c[3:])):
            d = np.zeros(self.N)
            d[getattr(self, f"index_{band}")] = cb @ getattr(self, f"P_{band}")[:3]
            out.append(d)
        return out[0], out[1]


def _band_pass(cb, P, xi, T, N, jacobian: bool):
    """One band's pass: gap ``Delta = cb . u``, moments ``<u chi>`` and (optionally) the Gram
    moments ``<eta^p d chi/d Delta>``, p = 0..4; also ``Delta``."""
    delta = cb @ P[:3]
    E = np.sqrt(xi * xi + delta * delta)
    g = _kernel(E, T)
    m = P[:3] @ (delta * g) / N
    if not jacobian:
        return m, None, delta
    pos = E > 0
    Es = np.where(pos, E, 1.0)
    if T > 0:
        # d chi / d Delta = g + Delta^2 g'(E) / E,  g'(E) = sech^2(E/2T)/(4 T E) - tanh(E/2T)/(2 E^2)
        x = Es / (2.0 * T)
        gp = np.where(pos, 1.0 / (np.cosh(np.minimum(x, 350.0)) ** 2 * 4.0 * T * Es) - np.tanh(x) / (2.0 * Es**2), 0.0)
        dchi = g + delta * delta * gp / Es
    else:
        dchi = np.where(pos, 0.5 * xi * xi / Es**3, 0.0)  # d/dDelta [Delta / (2E)] = xi^2 / (2 E^3)
    h = P @ dchi / N
    return m, h, delta


def _hankel3(h):
    """``G_ij = h[i + j]`` (3 x 3) from the five moments ``h``."""
    return np.array([[h[0], h[1], h[2]], [h[1], h[2], h[3]], [h[2], h[3], h[4]]])


def coefficient_pass(c, model: Model, sg: ShellGrid, jacobian: bool = True):
    """``(M(c), dM/dc, (Delta_alpha, Delta_beta))``: Eq. (14) on the 6 gap coefficients and its Jacobian.

    ``M(c) = (-V C m^beta, -V C m^alpha)``; ``dM_alpha/d c_beta = -V C G^beta`` with the Gram
    matrix ``G^b_ij = <u_i u_j d chi/d Delta>`` (``dM_alpha/d c_alpha = 0``).  One pass over
    each band's shell points: the work of one Newton step.
    """
    vc = model.couplings
    ma, ha, da = _band_pass(c[:3], sg.P_alpha, sg.xi_alpha, model.T, sg.N, jacobian)
    mb, hb, db = _band_pass(c[3:], sg.P_beta, sg.xi_beta, model.T, sg.N, jacobian)
    new = np.concatenate([-vc * mb, -vc * ma])
    jac = None
    if jacobian:
        jac = np.zeros((6, 6))
        jac[:3, 3:] = -vc[:, None] * _hankel3(hb)
        jac[3:, :3] = -vc[:, None] * _hankel3(ha)
    return new, jac, (da, db)


def _shell_residual(c, new, sg: ShellGrid) -> float:
    """``max_k |Delta - RHS(14)|`` (eV) of the gaps ``c . u`` (exactly 0 outside the shells)."""
    ra = (c[:3] - new[:3]) @ sg.P_alpha[:3]
    rb = (c[3:] - new[3:]) @ sg.P_beta[:3]
    return float(max(np.max(np.abs(ra), initial=0.0), np.max(np.abs(rb), initial=0.0)))


def free_energy_shell(c, model: Model, sg: ShellGrid) -> float:
    """Condensation free energy per unit cell (eV) of the gaps ``c . u`` (= :func:`free_energy` on the full grid)."""
    T = model.T
    total = 0.0
    moments = []
    for cb, P, xi in ((c[:3], sg.P_alpha, sg.xi_alpha), (c[3:], sg.P_beta, sg.xi_beta)):
        delta = cb @ P[:3]
        E, chi = pair_amplitude(delta, xi, T)
        axi = np.abs(xi)
        s = axi + E
        band = np.where(s > 0, -(delta**2) / np.where(s > 0, s, 1.0), 0.0) + 2.0 * delta * chi
        if T > 0:
            band = band - 2.0 * T * (np.logaddexp(0.0, -E / T) - np.logaddexp(0.0, -axi / T))
        total += band.sum() / sg.N
        moments.append(P[:3] @ chi / sg.N)
    return float(total + 2.0 * np.sum(moments[0] * model.couplings * moments[1]))


@dataclasses.dataclass
class ShellSolution:
    coefficients: np.ndarray  # (c_alpha, c_beta): Delta_b = c_b . (1, eta, eta^2) in band b's shell
    free_energy: float  # eV per unit cell
    iterations: int  # Newton steps (or damped steps)
    passes: int  # coefficient passes over the shell (Newton: one per step, + the final residual)
    residual: float  # max_k |Delta - RHS(14)| (eV)
    converged: bool
    seconds: float  # wall time incl. building the shell grid
    setup_seconds: float  # building the shell grid alone
    n_shell: tuple  # shell points (alpha, beta)
    method: str
    residual_history: list

    def full_gaps(self, sg: ShellGrid):
        return sg.full_gaps(self.coefficients)


def solve_numpy_shell(
    model: Model,
    n: int,
    *,
    method: str = "newton",
    delta0: float = DELTA0,
    tol: float = TOL,
    mixing: float = MIXING,
    max_iter: int = MAX_ITER,
    grid: ShellGrid | None = None,
) -> ShellSolution:
    """Eq. (14) with the sharp shell on the shell-compressed grid, from the s+- seed ``c = (d0, 0, 0, -d0, 0, 0)``.

    ``method="newton"`` (default): Newton's method on the 6 gap coefficients with the
    analytic Jacobian of :func:`coefficient_pass` (one shell pass per step), optimistix'
    Cauchy termination (``max|F(c_old)| < a`` and ``max|dc| < a + a |c|``, ``a = 1e-3 tol``,
    as jaxnickel's fixed point) and, should Newton fail or fall onto the normal state, the
    damped iteration from the same seed.  ``method="damped"``: ``c <- c + mixing (M(c) - c)``,
    i.e. exactly :func:`solve_numpy`'s iteration of the k-resolved gaps (they stay in the
    span of ``u``), until ``max_k |Delta - RHS| < tol``.  Converged: final residual < ``tol``.
    """
    t0 = time.perf_counter()
    sg = ShellGrid(model, n) if grid is None else grid
    t_setup = time.perf_counter() - t0
    c0 = np.array([delta0, 0.0, 0.0, -delta0, 0.0, 0.0])
    history = []
    used = method
    if method == "newton":
        c, ok, steps, passes = _newton_shell(c0, model, sg, history)
        new, _, _ = coefficient_pass(c, model, sg, jacobian=False)
        passes += 1
        res = _shell_residual(c, new, sg)
        if not (ok and res < tol and np.max(np.abs(c)) > 1e-9):
            used = "newton->damped"
            c, steps_d, res = _damped_shell(c0, model, sg, tol, mixing, max_iter, history)
            steps += steps_d
            passes += steps_d + 1
    elif method == "damped":
        c, steps, res = _damped_shell(c0, model, sg, tol, mixing, max_iter, history)
        passes = steps + 1
    else:
        raise ValueError(f"method must be 'newton' or 'damped', got {method!r}")
    f = free_energy_shell(c, model, sg)
    return ShellSolution(
        coefficients=c,
        free_energy=f,
        iterations=int(steps),
        passes=int(passes),
        residual=float(res),
        converged=bool(res < tol),
        seconds=time.perf_counter() - t0,
        setup_seconds=t_setup,
        n_shell=sg.n_shell,
        method=used,
        residual_history=history,
    )


def _newton_shell(c0, model, sg, history, atol=NEWTON_TOL, rtol=NEWTON_TOL, max_steps=NEWTON_MAX_STEPS):
    c = c0.copy()
    for step in range(1, max_steps + 1):
        new, jac, _ = coefficient_pass(c, model, sg)
        F = c - new
        history.append(float(np.max(np.abs(F))))
        try:
            dc = np.linalg.solve(np.eye(6) - jac, F)
        except np.linalg.LinAlgError:
            return c, False, step, step
        c = c - dc
        if not np.all(np.isfinite(c)):
            return c, False, step, step
        if np.max(np.abs(F)) < atol and np.max(np.abs(dc) / (atol + rtol * np.abs(c))) < 1.0:
            return c, True, step, step
    return c, False, max_steps, max_steps


def _damped_shell(c0, model, sg, tol, mixing, max_iter, history):
    """Returns ``(c, steps, residual)``: the last iterate (residual < tol when converged) as :func:`solve_numpy`."""
    c = c0.copy()
    it = 0
    while True:
        new, _, _ = coefficient_pass(c, model, sg, jacobian=False)
        res = _shell_residual(c, new, sg)
        history.append(res)
        if res < tol or it >= max_iter or not np.isfinite(res):
            return c, it, res
        c = c + mixing * (new - c)
        it += 1


# ------------------------------------------------------------------ T_c (linearised Eq. 14)


def channel_eigenvalues_shell(T: float, model: Model, sg: ShellGrid) -> tuple[float, float]:
    """Leading eigenvalues ``(lambda_s, lambda_d)`` of the linearised 6 x 6 kernel at ``T`` (eV).

    ``K = [[0, A], [B, 0]]``, ``A = -V C M^beta``, ``B = -V C M^alpha``,
    ``M^b_ij = <u_i u_j tanh(|xi|/2T)/(2|xi|)>`` (jaxnickel's ``linearized_kernel``); its
    eigenvalues are ``+- sqrt(eig(A B))``, the s+- channel on ``(1, eta^2)``, d on ``eta``
    (``channel_eigenvalues``).  One pass over the shells: one tanh per shell point and band.
    """
    vc = model.couplings
    Ms = []
    for P, xi in ((sg.P_alpha, sg.xi_alpha), (sg.P_beta, sg.xi_beta)):
        Ms.append(_hankel3(P @ _kernel(np.abs(xi), T) / sg.N))
    A = -vc[:, None] * Ms[1]
    B = -vc[:, None] * Ms[0]
    s = [0, 2]
    X = A[np.ix_(s, s)] @ B[np.ix_(s, s)]
    p, q, r, t = X[0, 0], X[0, 1], X[1, 0], X[1, 1]
    top = 0.5 * (p + t + np.sqrt(max((p - t) ** 2 + 4.0 * q * r, 0.0)))
    return float(np.sqrt(max(top, 0.0))), float(np.sqrt(max(A[1, 1] * B[1, 1], 0.0)))


def _have_scipy() -> bool:
    try:
        import scipy.optimize  # noqa: F401
    except ImportError:
        return False
    return True


@dataclasses.dataclass
class TcNumpy:
    tc_s: float  # eV (0: no instability above T_MIN; NaN: unstable even at T_MAX)
    tc_d: float
    evaluations: int  # kernel passes (both channels; each computes both eigenvalues)
    method: str  # "brent" (scipy.optimize.brentq) or "bisect" (plain NumPy)
    seconds: float  # incl. building the shell grid
    n_shell: tuple

    @property
    def tc(self) -> float:
        return max(self.tc_s, self.tc_d)


def critical_temperatures_numpy(
    model: Model, n: int, *, method: str | None = None, xtol: float = TC_XTOL, grid: ShellGrid | None = None
) -> TcNumpy:
    """``T_c`` of the s+- and d channels: the T where the channel's leading eigenvalue crosses 1.

    Root of ``lambda(e^x) - 1`` in ``x = ln T`` on ``[ln T_MIN, ln T_MAX]`` (the eigenvalue
    decreases with T), to ``xtol`` in ``ln T``: Brent's method (``scipy.optimize.brentq``)
    when SciPy is installed, else bisection (``method="bisect"`` forces it).  Without a sign
    change: 0 if the channel is stable at T_MIN, NaN if it is unstable at T_MAX (jaxnickel's
    convention).  ``model.T`` is ignored.
    """
    t0 = time.perf_counter()
    sg = ShellGrid(model, n) if grid is None else grid
    if method is None:
        method = "brent" if _have_scipy() else "bisect"
    count = [0]

    def lam(x, i):
        count[0] += 1
        return channel_eigenvalues_shell(math.exp(x), model, sg)[i] - 1.0

    lo, hi = math.log(TC_T_MIN), math.log(TC_T_MAX)
    out = []
    for i in (0, 1):
        f_lo, f_hi = lam(lo, i), lam(hi, i)
        if not (f_lo > 0.0 and f_hi < 0.0):
            out.append(math.nan if f_hi >= 0.0 else 0.0)
            continue
        if method == "brent":
            from scipy.optimize import brentq

            x = brentq(lam, lo, hi, args=(i,), xtol=xtol, rtol=4 * np.finfo(float).eps)
        elif method == "bisect":
            a, b = lo, hi
            while b - a > xtol:
                m = 0.5 * (a + b)
                if lam(m, i) > 0.0:
                    a = m
                else:
                    b = m
            x = 0.5 * (a + b)
        else:
            raise ValueError(f"method must be 'brent' or 'bisect', got {method!r}")
        out.append(math.exp(x))
    return TcNumpy(
        tc_s=out[0],
        tc_d=out[1],
        evaluations=count[0],
        method=method,
        seconds=time.perf_counter() - t0,
        n_shell=sg.n_shell,
    )


def _jax_point(n: int, lam: float, T_kelvin: float, n_c: float):
    import jax

    jax.config.update("jax_enable_x64", True)
    from jaxnickel.triplon import K_B, make_params

    p = make_params(n_c=n_c, lam=lam, kappa_a=0.75, kappa_b=0.75, omega=0.3, T=T_kelvin * K_B, grid=n, cutoff="sharp")
    return jax, p


def compare_shell_with_jaxnickel(
    n: int, lam: float = 0.3, T_kelvin: float = 0.0, n_c: float = 0.45, rtol: float = 1e-8, method: str = "newton"
):
    """:func:`solve_numpy_shell` (sharp shell) against jaxnickel's fixed point; gaps on the full grid compared."""
    jax, p = _jax_point(n, lam, T_kelvin, n_c)
    from jaxnickel.triplon import solve

    model = Model.from_dict(p.to_dict())
    s = solve(p, n, "fixed-point", warn=False)
    jax.block_until_ready(s)
    sg = ShellGrid(model, n)
    sol = solve_numpy_shell(model, n, method=method, grid=sg)
    da, db = sol.full_gaps(sg)
    agree = gap_agreement(s.delta_alpha, s.delta_beta, da, db)
    cj = np.asarray(s.coefficients) * (-1.0 if agree["flipped"] else 1.0)
    agree["max_rel_coefficients"] = float(np.max(np.abs(sol.coefficients - cj)) / np.max(np.abs(cj)))
    fj = float(s.free_energy)
    agree["rel_free_energy"] = abs(sol.free_energy - fj) / abs(fj) if fj != 0 else abs(sol.free_energy)
    ok = (
        s.channel_name == "s+-"
        and bool(s.converged)
        and sol.converged
        and agree["max_rel_pointwise"] < rtol
        and agree["max_rel_coefficients"] < rtol
        and agree["rel_free_energy"] < rtol
    )
    return {"grid": n, "method": sol.method, "solution": sol, "jax_free_energy": fj, "agreement": agree, "ok": ok}


def compare_tc_with_jaxnickel(n: int, lam: float = 0.3, n_c: float = 0.45, rtol: float = 1e-6, method=None):
    """:func:`critical_temperatures_numpy` against ``jaxnickel.triplon.critical_temperatures`` (both channels)."""
    jax, p = _jax_point(n, lam, 0.0, n_c)
    from jaxnickel.triplon import critical_temperatures

    tj = critical_temperatures(p, n)
    ref = (float(tj.tc_s), float(tj.tc_d))
    tn = critical_temperatures_numpy(Model.from_dict(p.to_dict()), n, method=method)
    rel = [abs(a - b) / abs(b) if b != 0 else abs(a) for a, b in zip((tn.tc_s, tn.tc_d), ref, strict=True)]
    return {"grid": n, "jax": ref, "numpy": tn, "rel": rel, "ok": all(r < rtol for r in rel)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grids", default="256,512", help="comma-separated n (n x n k-grids)")
    ap.add_argument("--lam", type=float, default=0.3, help="lambda = V sqrt(N_alpha N_beta)")
    ap.add_argument("--T-kelvin", type=float, default=0.0, help="temperature (K)")
    args = ap.parse_args(argv)
    all_ok = True
    for n in (int(x) for x in args.grids.split(",") if x.strip()):
        r = compare_with_jaxnickel(n, lam=args.lam, T_kelvin=args.T_kelvin)
        a, j, m = r["agreement"], r["jax"], r["numpy"]
        print(f"{n}^2 grid, lambda = {r['lam']}, T = {r['T_kelvin']} K (V = {r['V']:.6f} eV, mu = {r['mu']:.6f} eV)")
        print(
            f"  jaxnickel fixed-point: it {j['iterations']}, residual {j['residual']:.1e} eV, "
            f"f = {j['free_energy']:.12e} eV, first call {j['seconds_first_call']:.2f} s"
        )
        print(
            f"  NumPy damped FP:       it {m['iterations']}, residual {m['residual']:.1e} eV, "
            f"f = {m['free_energy']:.12e} eV, {m['seconds']:.2f} s"
        )
        print("  coefficients jaxnickel:", np.array2string(np.asarray(j["coefficients"]), precision=10))
        print("  coefficients NumPy:    ", np.array2string(np.asarray(m["coefficients"]), precision=10))
        print(
            f"  gaps: max rel (pointwise) {a['max_rel_pointwise']:.2e}, max |dDelta| / max |Delta| "
            f"{a['max_rel_norm']:.2e}, max |dDelta| {a['max_abs_eV']:.2e} eV; coefficients {a['max_rel_coefficients']:.2e}; "
            f"free energy {a['rel_free_energy']:.2e}{' (global sign reversed)' if a['flipped'] else ''}"
            f"  -> {'OK' if r['ok'] else 'FAIL'} (1e-8)"
        )
        all_ok &= r["ok"]
        for method in ("newton", "damped"):
            r = compare_shell_with_jaxnickel(n, lam=args.lam, T_kelvin=args.T_kelvin, method=method)
            a, m = r["agreement"], r["solution"]
            print(
                f"  sharp shell, compressed ({m.n_shell[0]} + {m.n_shell[1]} of 2 x {n * n} points), {m.method}: "
                f"it {m.iterations}, residual {m.residual:.1e} eV, {m.seconds:.3f} s; vs jaxnickel: gaps "
                f"{a['max_rel_pointwise']:.2e}, coefficients {a['max_rel_coefficients']:.2e}, free energy "
                f"{a['rel_free_energy']:.2e}  -> {'OK' if r['ok'] else 'FAIL'} (1e-8)"
            )
            all_ok &= r["ok"]
        r = compare_tc_with_jaxnickel(n, lam=args.lam)
        tn = r["numpy"]
        print(
            f"  T_c (K) s+- / d: jaxnickel {r['jax'][0] / 8.617333262e-5:.6f} / {r['jax'][1] / 8.617333262e-5:.6f}, "
            f"NumPy ({tn.method}, {tn.evaluations} kernel passes, {tn.seconds:.3f} s) "
            f"{tn.tc_s / 8.617333262e-5:.6f} / {tn.tc_d / 8.617333262e-5:.6f}; rel {r['rel'][0]:.1e} / "
            f"{r['rel'][1]:.1e}  -> {'OK' if r['ok'] else 'FAIL'} (1e-6)"
        )
        all_ok &= r["ok"]
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
