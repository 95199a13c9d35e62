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
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

__all__ = ["Model", "Grid", "NumpySolution", "solve_numpy", "free_energy", "compare_with_jaxnickel"]

TOL = 1e-11  # eV, max_k |Delta - RHS(14)|
MIXING = 0.5
DELTA0 = 0.02  # eV, seed amplitude
MAX_ITER = 20000


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

    @classmethod
    def from_dict(cls, d: dict) -> Model:
        """From ``TriplonParams.to_dict()`` (Lorentzian cutoff only)."""
        if d.get("cutoff", "lorentzian") != "lorentzian":
            raise ValueError("the NumPy reference implements the Lorentzian cutoff only")
        return cls(V=d["V"], kappa_a=d["kappa_a"], kappa_b=d["kappa_b"], omega=d["omega"], T=d["T"], **d["bands"])

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
        self.w_alpha = 1.0 / np.sqrt(1.0 + (self.xi_alpha / model.omega) ** 2)
        self.w_beta = 1.0 / np.sqrt(1.0 + (self.xi_beta / model.omega) ** 2)
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
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
