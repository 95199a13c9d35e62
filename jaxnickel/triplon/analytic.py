r"""The paper's weak-coupling, Fermi-surface results, Eqs. (16)-(18), as functions.

They replace the k' sums of Eq. (15) by ``N Delta ln(2 Omega / Delta)`` around the Fermi
level (sharp cutoff Omega, constant DOS, anisotropic feedback neglected).  They are
for comparison with the numerical solution, not regression targets: they fail near
the beta band's van Hove point at X and its band edge (Lifshitz points in n_c scans),
and at strong coupling.

* Eq. (17): ``Delta_alpha = V N_beta Delta_beta ln(2 Omega/Delta_beta)``,
  ``Delta_beta = V N_alpha Delta_alpha ln(2 Omega/Delta_alpha)`` (values on the diagonal,
  eta = 0).  With ``x = ln(2 Omega/Delta_alpha)``, ``y = ln(2 Omega/Delta_beta)`` they
  are ``x y = 1/lambda^2`` and ``y - x = ln(V N_beta y)``: one scalar root in y.
* Eq. (18): ``Delta_alpha / Delta_beta ~ (N_beta/N_alpha)^{1/(2 - lambda)}``,
  ``lambda = V sqrt(N_alpha N_beta)``; ``Delta = sqrt(Delta_alpha Delta_beta) ~ 2 Omega e^{-1/lambda}``.
* Eq. (16): ``Delta_alpha,k = Delta_alpha [1 + (Ntilde_beta/N_beta) kappa^2 eta_k^2]``,
  ``Delta_beta,k = Delta_beta [1 + (Ntilde_alpha/N_alpha) kappa^2 eta_k^2]``,
  ``kappa^2 = kappa_a kappa_b``.
"""

from __future__ import annotations

import jax.numpy as jnp

from ..solvers import bisect_monotone

__all__ = [
    "lambda_from_V",
    "V_from_lambda",
    "gaps_eq17",
    "gap_ratio_eq18",
    "delta_weak_coupling",
    "anisotropic_gaps_eq16",
]


def lambda_from_V(V, N_alpha, N_beta):
    """``lambda = V sqrt(N_alpha N_beta)`` (text below Eq. 18)."""
    return V * jnp.sqrt(N_alpha * N_beta)


def V_from_lambda(lam, N_alpha, N_beta):
    """Inverse of :func:`lambda_from_V`."""
    return lam / jnp.sqrt(N_alpha * N_beta)


def gaps_eq17(V, N_alpha, N_beta, omega):
    """``(Delta_alpha, Delta_beta)`` solving the coupled Eqs. (17) exactly (eV)."""
    lam = lambda_from_V(V, N_alpha, N_beta)

    def h(logy, _):
        y = jnp.exp(logy)
        return y - 1.0 / (lam**2 * y) - jnp.log(V * N_beta * y)

    # h -> -inf as y -> 0 and -> +inf as y -> inf; bracket in log y
    logy = bisect_monotone(h, jnp.log(1e-8), jnp.log(1e8), atol=1e-14)
    y = jnp.exp(logy)
    x = 1.0 / (lam**2 * y)
    return 2.0 * omega * jnp.exp(-x), 2.0 * omega * jnp.exp(-y)


def gap_ratio_eq18(N_alpha, N_beta, lam):
    """Eq. (18): ``Delta_alpha/Delta_beta ~ (N_beta/N_alpha)^{1/(2-lambda)}``."""
    return (N_beta / N_alpha) ** (1.0 / (2.0 - lam))


def delta_weak_coupling(omega, lam):
    """``Delta = sqrt(Delta_alpha Delta_beta) ~ 2 Omega exp(-1/lambda)`` (below Eq. 18)."""
    return 2.0 * omega * jnp.exp(-1.0 / lam)


def anisotropic_gaps_eq16(delta_alpha, delta_beta, dos, kappa_a, kappa_b, eta):
    """Eq. (16): gaps at momenta with form factor ``eta`` given the diagonal values.

    ``dos`` has attributes ``N_alpha, N_beta, Ntilde_alpha, Ntilde_beta``
    (:func:`jaxnickel.triplon.dos_fermi`).
    """
    k2 = kappa_a * kappa_b
    da = delta_alpha * (1.0 + dos.Ntilde_beta / dos.N_beta * k2 * eta**2)
    db = delta_beta * (1.0 + dos.Ntilde_alpha / dos.N_alpha * k2 * eta**2)
    return da, db
