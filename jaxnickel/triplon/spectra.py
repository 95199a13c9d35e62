r"""Tunnelling spectra of the two-band state: the differentiable forward model gaps -> dI/dV.

What an STM measures (paper 001 predicts the gaps; this module turns them into the
conductance an experiment records).

Quasiparticle density of states per sheet, anisotropic Dynes form
-----------------------------------------------------------------

.. math::

   N_b(\omega) = \oint_{FS_b} w_b(\theta)\,
       \mathrm{Re}\,\frac{z}{\sqrt{z^2 - |\Delta_b(\theta)|^2}}\,d\theta ,
   \qquad z = \omega + i\Gamma ,

* ``w_b(theta) d theta = dk_par / |v_F| / (2 pi)^2`` is the sheet's local density of
  states along its Fermi line, per spin per unit cell.  In the polar angle around the
  pocket's centre (Gamma for alpha, M for beta; :mod:`jaxnickel.triplon.solution`),
  ``int d^2k delta(xi) = int d theta k_F(theta) / |d xi/dr|``, so
  ``w_b(theta) = k_F / |d xi_b/d r| / (2 pi)^2`` at ``k_F(theta)`` (exact; the radial
  derivative is the analytic gradient of Eq. 5 along the ray).  Hence
  ``N_b(|omega| >> Delta) -> N_b`` (the normal-state DOS at the Fermi level, equal to
  :func:`~jaxnickel.triplon.bands.dos_fermi`'s ``N_alpha``, ``N_beta``; tested).
* ``Delta_b(theta) = c_b0 + c_b1 eta + c_b2 eta^2`` is the self-consistent gap on the
  Fermi line (exact in continuous k: the cutoff factor is 1 at ``xi = 0``), taken from
  the solution of Eq. (14) at the measurement temperature.
* The square root is the **retarded** branch: we evaluate
  ``z / sqrt(z^2 - D^2) = 1 / sqrt(1 - D^2 / z^2)`` with the principal square root.
  For ``Gamma > 0``, ``1 - D^2/z^2`` never crosses the negative real axis, and this is
  identical to ``z / (sqrt(z - D) sqrt(z + D))`` (the form analytic in the upper half
  plane): positive for ``omega < 0`` too (``sqrt(z*z - D*D)`` alone flips sign there).
  It depends on ``|Delta|^2`` only, so it is smooth in the gap at ``Delta = 0``.
* Quadrature over the Fermi line: the midpoint rule on ``n_fs`` angles in
  ``[0, pi/2)``, times 4.  ``|Delta(theta)|``, ``k_F(theta)`` and ``w(theta)`` are
  periodic with period ``pi/2`` (C4 symmetry) and smooth, so this rule converges
  exponentially in ``n_fs`` (the s+- and the d state alike: ``|Delta|`` has C4).

Normalised conductance and the thermal kernel
---------------------------------------------

.. math::

   g(V) = \frac{\int d\omega\,[N_\alpha(\omega) + r N_\beta(\omega)]\,(-f'(\omega - eV))}
               {N_\alpha + r N_\beta},
   \qquad \frac{dI}{dV} = \mathrm{scale}\;(1 + s\,V)\;g(V),

``r`` = ``tunnel_ratio`` (tunnelling weight of beta relative to alpha), ``s`` an
optional linear background (``background_slope``, per mV of bias; 0 by default),
``-f'(x) = 1/(4T cosh^2(x/2T))``.  This module computes ``g``; ``scale`` and the
background are applied by the fit (:mod:`jaxnickel.spectra.fit`).
The convolution is a trapezoid sum on a uniform energy grid of ``n_omega`` points that
spans the bias window plus ``18 T`` on each side (the kernel's weight beyond is
< 1e-7); the discrete kernel is renormalised so that ``g -> 1`` exactly where the DOS
is flat.  Both factors are analytic in a strip of half-width ``min(Gamma, pi T)``, so
the sum converges exponentially once the spacing is below that width:
:func:`energy_points` picks ``n_omega`` so that the spacing is at most
``min(Gamma, pi T)/3`` (error ~ ``exp(-6 pi)``; tested against a finer grid).  At
``T = 0`` the kernel is a delta function and ``g = N(eV)/N(0)`` is evaluated
directly.  Memory is O(n_omega x n_fs + n_bias x n_omega), never O(N_k).

What is left out (say so when fitting data)
-------------------------------------------
* k-dependent tunnelling matrix elements beyond one weight per sheet (``r``); a real
  tip samples the zone with a ``|M_k|^2`` that favours small in-plane momenta;
* the variation of the normal-state DOS across the bias window (the DOS is taken at
  the Fermi level; a linear background ``s`` absorbs its leading slope);
* inelastic (triplon) features: the quasiparticle spectral function is the BCS one,
  with the phenomenological Dynes broadening ``Gamma`` (the same on both sheets);
* the energy dependence of the gap (a BCS mean field: ``Delta_k`` is static).
A full-k-grid variant of the DOS is not provided: on the Fermi line the result is
exact in continuous k and converges exponentially, which a k-grid sum with a
``Gamma``-wide Lorentzian does not.

Everything is pure JAX: jit/vmap/grad-able in the gaps, the band parameters (through
``k_F`` and ``w``), ``Gamma``, ``T``, ``r``, ``scale``.  The temperature enters twice,
in the gaps (the self-consistent solution at ``T``) and in the kernel.  Energies in eV
here; :func:`spectrum` takes meV and kelvin.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..solvers import require_x64
from .bands import _energy_gradients, dos_fermi, fermi_rays_all
from .params import K_B, TriplonParams, validate_params
from .solution import pocket_centers

__all__ = [
    "N_FS",
    "FermiLine",
    "TunnellingSpectrum",
    "fermi_line",
    "fermi_line_gaps",
    "dynes_ratio",
    "sheet_dos",
    "energy_points",
    "thermal_conductance",
    "conductance",
    "spectrum_jax",
    "spectrum",
]

#: default number of Fermi-line angles per sheet on [0, pi/2) (exponential convergence)
N_FS = 48

#: half-width of the energy window beyond the bias range, in units of T
_KERNEL_HALF_WIDTH = 18.0


class FermiLine(eqx.Module):
    """Quadrature nodes on both Fermi lines (angles on ``[0, pi/2)``, weights for the whole line).

    ``weight_b`` sums to the sheet's DOS ``N_b`` (per spin per cell, 1/eV); ``eta_b`` is
    ``cos kx - cos ky`` at the node, from which any gap ``c0 + c1 eta + c2 eta^2`` follows.
    """

    theta: jax.Array
    weight_alpha: jax.Array
    weight_beta: jax.Array
    eta_alpha: jax.Array
    eta_beta: jax.Array
    kx_alpha: jax.Array
    ky_alpha: jax.Array
    kx_beta: jax.Array
    ky_beta: jax.Array

    @property
    def dos(self):
        """``(N_alpha, N_beta)``: the normal-state DOS the weights integrate to."""
        return jnp.sum(self.weight_alpha), jnp.sum(self.weight_beta)


def _sheet_nodes(bp, band, theta, kf_all):
    """``(weight, eta, kx, ky)`` of one sheet at angles ``theta`` (NaN where it is no pocket).

    ``kf_all``: :func:`~jaxnickel.triplon.bands.fermi_rays_all` at ``theta``.
    """
    center = pocket_centers(bp)[band]
    kf = jnp.where(center == 0, kf_all[0, band], jnp.where(center == 1, kf_all[1, band], jnp.nan))
    cx = jnp.where(center == 1, math.pi, 0.0)
    c, s = jnp.cos(theta), jnp.sin(theta)
    kx, ky = cx + kf * c, cx + kf * s
    ga, gb, _ = _energy_gradients(kx, ky, bp)
    gx, gy = ga if band == 0 else gb
    dxi_dr = gx * c + gy * s
    dtheta = 0.5 * math.pi / theta.shape[-1]
    weight = 4.0 * dtheta * kf / jnp.abs(dxi_dr) / (2.0 * math.pi) ** 2
    eta = jnp.cos(kx) - jnp.cos(ky)
    return weight, eta, kx, ky


def fermi_line(bands, n_fs: int = N_FS) -> FermiLine:
    """Midpoint nodes and DOS weights on both Fermi lines (pure; band parameters traced).

    NaN weights where a sheet is not a closed pocket around Gamma or M (between the
    beta band's Lifshitz points): :func:`spectrum` refuses such parameters.
    """
    theta = (jnp.arange(n_fs) + 0.5) * (0.5 * math.pi / n_fs)
    kf_all = fermi_rays_all(bands, theta, 256, 80)  # both sheets and centres, one bisection loop
    wa, ea, kxa, kya = _sheet_nodes(bands, 0, theta, kf_all)
    wb, eb, kxb, kyb = _sheet_nodes(bands, 1, theta, kf_all)
    return FermiLine(
        theta=theta,
        weight_alpha=wa,
        weight_beta=wb,
        eta_alpha=ea,
        eta_beta=eb,
        kx_alpha=kxa,
        ky_alpha=kya,
        kx_beta=kxb,
        ky_beta=kyb,
    )


def fermi_line_gaps(coefficients, line: FermiLine):
    """``(Delta_alpha(theta), Delta_beta(theta))`` at the nodes, from the 6 gap coefficients."""
    c = jnp.asarray(coefficients)
    ga = c[0] + c[1] * line.eta_alpha + c[2] * line.eta_alpha**2
    gb = c[3] + c[4] * line.eta_beta + c[5] * line.eta_beta**2
    return ga, gb


def dynes_ratio(omega, gap, gamma):
    """``Re[z / sqrt(z^2 - |Delta|^2)]``, ``z = omega + i Gamma`` (retarded branch; module docstring).

    Broadcasts ``omega`` against ``gap``; ``gamma > 0``.  Real or complex gaps.
    """
    z = omega + 1j * gamma
    d2 = jnp.real(gap * jnp.conj(gap))
    return jnp.real(jax.lax.rsqrt(1.0 - d2 / (z * z)))


def sheet_dos(omega, line: FermiLine, gaps, gamma):
    """``(N_alpha(omega), N_beta(omega))`` of Eq. above (1/eV per spin per cell) at energies ``omega``.

    ``omega`` is 1-D (eV); ``gaps = (Delta_alpha(theta), Delta_beta(theta))`` at the nodes.
    The sum over nodes is a matrix-vector product: O(n_omega x n_fs).
    """
    om = jnp.asarray(omega)[:, None]
    na = dynes_ratio(om, gaps[0][None, :], gamma) @ line.weight_alpha
    nb = dynes_ratio(om, gaps[1][None, :], gamma) @ line.weight_beta
    return na, nb


def energy_points(bias_min, bias_max, gamma, T, *, target: float = 3.0, minimum: int = 256, maximum: int = 65536):
    """Number of points of the convolution grid for a bias window (eV), ``Gamma`` and ``T`` (eV).

    Spacing at most ``min(Gamma, pi T) / target``, rounded up to a power of two (so that
    fits and scans reuse one compiled program); at least ``minimum``.  Returns
    ``(n_omega, spacing_needed_eV)``; ``n_omega`` is capped at ``maximum`` (then the
    caller warns: the spacing is coarser than needed).
    """
    if T <= 0:
        return minimum, float("inf")
    width = (bias_max - bias_min) + 2.0 * _KERNEL_HALF_WIDTH * T
    h = min(gamma, math.pi * T) / target
    n = int(math.ceil(width / h)) + 1
    n = max(minimum, 1 << (n - 1).bit_length())
    return min(n, maximum), h


def thermal_conductance(bias, dos_fn, T, n_omega: int):
    """``int d omega dos(omega) (-f'(omega - bias)) / int (-f')`` on a uniform grid (module docstring).

    ``bias``: 1-D energies (eV); ``dos_fn(omega) -> tuple of arrays over omega``;
    returns a tuple of arrays over ``bias``.  ``T = 0`` evaluates ``dos_fn(bias)``.
    """
    bias = jnp.asarray(bias)
    Tpos = T > 0
    Ts = jnp.where(Tpos, T, 1.0)
    lo = jnp.min(bias) - _KERNEL_HALF_WIDTH * Ts
    hi = jnp.max(bias) + _KERNEL_HALF_WIDTH * Ts
    omega = lo + (hi - lo) * jnp.arange(n_omega) / (n_omega - 1)
    x = (omega[None, :] - bias[:, None]) / (2.0 * Ts)
    kernel = 1.0 / jnp.cosh(jnp.clip(x, -350.0, 350.0)) ** 2  # (n_bias, n_omega); constants cancel
    kernel = kernel / jnp.sum(kernel, axis=1, keepdims=True)
    conv = tuple(kernel @ d for d in dos_fn(omega))
    direct = dos_fn(bias)
    return tuple(jnp.where(Tpos, c, d) for c, d in zip(conv, direct, strict=True))


def conductance(bias, line: FermiLine, gaps, gamma, T, tunnel_ratio=1.0, *, n_omega: int = 1024):
    """Normalised conductance and its two band parts at biases ``bias`` (eV); pure.

    Returns ``(g, g_alpha, g_beta)``: ``g_b`` is sheet b's thermally smeared DOS over
    its normal value (-> 1 at large bias); ``g = (N_alpha g_alpha + r N_beta g_beta) /
    (N_alpha + r N_beta)``.
    """
    Na, Nb = line.dos
    ga, gb = thermal_conductance(bias, lambda om: sheet_dos(om, line, gaps, gamma), T, n_omega)
    ga, gb = ga / Na, gb / Nb
    wa, wb = Na, tunnel_ratio * Nb
    return (wa * ga + wb * gb) / (wa + wb), ga, gb


def spectrum_jax(
    p: TriplonParams,
    bias,
    gamma,
    tunnel_ratio=1.0,
    *,
    grid: int = 256,
    n_fs: int = N_FS,
    n_omega: int = 1024,
    channel: str = "auto",
    coefficients=None,
    tol: float = 1e-11,
):
    """Self-consistent solve at ``p.T`` and the conductance at ``bias`` (eV); pure, jit/grad-able.

    Returns ``(g, g_alpha, g_beta, solution)``.  ``coefficients`` (6 numbers) skips the
    solve and uses those gaps (the solution is then ``None``).  Derivatives through the
    solve are implicit (optimistix ``ImplicitAdjoint``), as in :func:`solve_jax`.
    """
    from .solve import solve_jax

    sol = None
    if coefficients is None:
        sol = solve_jax(p, grid, "fixed-point", channel=channel, tol=tol)
        # complex for an s+id state (the DOS needs |Delta|); real otherwise
        coefficients = (
            jax.lax.complex(sol.coefficients, sol.coefficients_imag) if channel == "auto" else sol.coefficients
        )
    line = fermi_line(p.bands, n_fs)
    gaps = fermi_line_gaps(coefficients, line)
    g, ga, gb = conductance(bias, line, gaps, gamma, p.T, tunnel_ratio, n_omega=n_omega)
    return g, ga, gb, sol


class TunnellingSpectrum(eqx.Module):
    """A computed spectrum (units in the field names; ``conductance`` = the normalised g)."""

    bias_mV: np.ndarray
    conductance: np.ndarray
    conductance_alpha: np.ndarray
    conductance_beta: np.ndarray
    gamma_meV: float
    T_kelvin: float
    tunnel_ratio: float
    n_omega: int
    n_fs: int
    N_alpha: float
    N_beta: float
    solution: object

    def to_dict(self) -> dict:
        """JSON-ready dict: the spectrum, the gaps used and the parameters."""
        s = self.solution.summary()
        return {
            "bias_mV": [float(v) for v in self.bias_mV],
            "conductance": [float(v) for v in self.conductance],
            "conductance_alpha": [float(v) for v in self.conductance_alpha],
            "conductance_beta": [float(v) for v in self.conductance_beta],
            "gamma_meV": self.gamma_meV,
            "T_kelvin": self.T_kelvin,
            "tunnel_ratio": self.tunnel_ratio,
            "n_omega": self.n_omega,
            "n_fs": self.n_fs,
            "N_alpha_fermi_line_per_eV": self.N_alpha,
            "N_beta_fermi_line_per_eV": self.N_beta,
            "gaps": {k: s[k] for k in s if k.startswith("delta_") or k == "gap_ratio"},
            "channel": s["channel"],
            "lambda": s["lambda"],
            "V_eV": s["V_eV"],
            "mu_eV": s["mu_eV"],
            "n_c": s["n_c"],
            "solution_converged": s["converged"],
            "result": s["result"],
            "message": s["message"],
            "params": s["params"],
        }


def check_pockets(bands, n_fs: int = N_FS, *, grid: int = 256, rtol: float = 0.02) -> None:
    """Raise ``ValueError`` unless both sheets are closed pockets the Fermi-line quadrature covers.

    Checks that each sheet is a pocket around Gamma or M, that every ray from its centre
    crosses it, and that the weights add up to the triangle-method DOS of
    :func:`~jaxnickel.triplon.bands.dos_fermi` within ``rtol`` (a sheet made of several
    pieces, e.g. between the beta band's Lifshitz points, fails one of these).
    """
    c = [int(v) for v in pocket_centers(bands)]
    line = _line_jit(bands, n_fs)
    ref = dos_fermi(bands, grid)
    for name, ci, w, n_ref in (
        ("alpha", c[0], line.weight_alpha, float(ref.N_alpha)),
        ("beta", c[1], line.weight_beta, float(ref.N_beta)),
    ):
        n_line = float(jnp.sum(w))
        if ci < 0 or not math.isfinite(n_line) or abs(n_line - n_ref) > rtol * abs(n_ref):
            raise ValueError(
                f"the {name} Fermi sheet is not one closed pocket around Gamma or M at these band parameters "
                f"(mu = {float(bands.mu):.4f} eV; e.g. between the beta band's Lifshitz points, "
                "n_c = 0.225 .. 0.292 at the paper's bands): the tunnelling DOS on the Fermi line needs both "
                "sheets as pockets"
            )


def spectrum(
    p: TriplonParams,
    bias_mV,
    *,
    gamma_meV: float,
    tunnel_ratio: float = 1.0,
    grid: int = 256,
    n_fs: int = N_FS,
    n_omega: int | None = None,
    channel: str = "auto",
) -> TunnellingSpectrum:
    """Normalised tunnelling conductance of the self-consistent state at ``p.T``.

    ``bias_mV``: 1-D array of sample biases (mV); ``gamma_meV``: Dynes broadening
    (> 0); ``tunnel_ratio``: weight of the beta sheet relative to alpha (>= 0);
    ``grid``: k-points per direction of the gap solve; ``n_fs``: Fermi-line angles per
    quadrant; ``n_omega``: points of the thermal-convolution grid (default: enough for
    ``min(Gamma, pi T)/3`` spacing, :func:`energy_points`).
    """
    require_x64()
    validate_params(p, grid)
    bias = np.asarray(bias_mV, dtype=float)
    if bias.ndim != 1 or bias.size < 1 or not np.all(np.isfinite(bias)):
        raise ValueError("bias_mV must be a non-empty 1-D array of finite biases (mV)")
    if not (math.isfinite(gamma_meV) and gamma_meV > 0):
        raise ValueError(f"gamma_meV must be a finite number > 0 (Dynes broadening, meV), got {gamma_meV}")
    if not (math.isfinite(tunnel_ratio) and tunnel_ratio >= 0):
        raise ValueError(f"tunnel_ratio must be a finite number >= 0, got {tunnel_ratio}")
    if not isinstance(n_fs, int) or n_fs < 4:
        raise ValueError(f"n_fs must be an integer >= 4, got {n_fs!r}")
    check_pockets(p.bands, n_fs)
    T = float(p.T)
    gamma = 1e-3 * gamma_meV
    if n_omega is None:
        n_omega, _ = energy_points(1e-3 * bias.min(), 1e-3 * bias.max(), gamma, T)
    elif not isinstance(n_omega, int) or n_omega < 16:
        raise ValueError(f"n_omega must be an integer >= 16, got {n_omega!r}")
    args = (p, jnp.asarray(1e-3 * bias), jnp.asarray(gamma), jnp.asarray(float(tunnel_ratio)))
    g, ga, gb, sol = _run_spectrum(args, grid, n_fs, n_omega, channel)
    line = _line_jit(p.bands, n_fs)
    Na, Nb = (float(v) for v in line.dos)
    return TunnellingSpectrum(
        bias_mV=bias,
        conductance=np.asarray(g),
        conductance_alpha=np.asarray(ga),
        conductance_beta=np.asarray(gb),
        gamma_meV=float(gamma_meV),
        T_kelvin=T / K_B,
        tunnel_ratio=float(tunnel_ratio),
        n_omega=n_omega,
        n_fs=n_fs,
        N_alpha=Na,
        N_beta=Nb,
        solution=sol,
    )


@eqx.filter_jit
def _spectrum_jit(p, bias, gamma, ratio, grid, n_fs, n_omega, channel):
    return spectrum_jax(p, bias, gamma, ratio, grid=grid, n_fs=n_fs, n_omega=n_omega, channel=channel)


def _run_spectrum(args, grid, n_fs, n_omega, channel):
    """The compiled solve + conductance; a cold start of the CLI runs a stored :mod:`jax.export`
    program (:func:`jaxnickel.runtime.enable_exported_programs`: no tracing on a rerun)."""
    from .. import runtime
    from .solve import solution_treedef

    if runtime._EXPORTS["dir"] is None:
        return _spectrum_jit(*args, grid, n_fs, n_omega, channel)
    static = dict(grid=grid, n_fs=n_fs, n_omega=n_omega, channel=channel)
    sol_tree = solution_treedef(args[0], grid, "fixed-point")
    return runtime.exported_call(
        "triplon-spectrum",
        lambda p, bias, gamma, ratio: spectrum_jax(p, bias, gamma, ratio, **static),
        args,
        jax.tree_util.treedef_tuple([jax.tree_util.tree_structure(0)] * 3 + [sol_tree]),  # (g, g_a, g_b, sol)
        static,
    )


_line_jit = eqx.filter_jit(fermi_line)
