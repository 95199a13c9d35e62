"""Parameters of the MixD+V two-channel model (paper 000, Eq. 3 with Eq. 13).

All couplings are in the same (arbitrary) energy unit, conventionally V = 1.
They are stored as traced float64 arrays, so a scan over any of them is one
compiled ``vmap``.  Only the *choice of physics* (Hartree terms on/off) is static.
"""

from __future__ import annotations

import math
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..ranges import Range, check_range

__all__ = ["MixDParams", "validate_params", "ValidityWarning", "DopingWarning", "RANGES"]

_SCALE_WHY = (
    "the energy unit is arbitrary (conventionally V = 1) but the solvers' float64 tolerances are set in it; "
    "outside 1e-6 .. 1e6 their arithmetic overflows or cannot resolve the gap: rescale all couplings together"
)

#: supported range of each coupling (energy unit of the model, conventionally V = 1), checked by
#: :func:`validate_params` before anything is compiled (see :mod:`jaxnickel.ranges`)
RANGES = {
    "t": Range(1e-6, 1e6, "", _SCALE_WHY),
    "J": Range(1e-6, 1e6, "", _SCALE_WHY),
    "V": Range(1e-6, 1e6, "", _SCALE_WHY),
    "epsilon": Range(0.0, 1e6, "", _SCALE_WHY, symmetric=True),
}


class ValidityWarning(UserWarning):
    """Parameters outside the regime where the effective model / mean field is meant to hold."""


class DopingWarning(ValidityWarning):
    """The hole doping is outside the validity of the mean-field theory (delta >= 0.5)."""


def _as_float(x):
    return jnp.asarray(x, dtype=jnp.result_type(float))


class MixDParams(eqx.Module):
    """Couplings of the effective Hamiltonian Eq. (3) / (A13).

    Attributes
    ----------
    t : hopping t_parallel along the legs (> 0).
    J : rung superexchange J_perp (> 0).
    V : rung Coulomb repulsion V (> 0).
    epsilon : strength of the diagonal sc-cc recombination, Eq. (13) (2D only;
        any finite real number).
    n_holes : number of holes N_h (may be fractional in scans; > 0).
    hartree : include the Hartree terms of Eq. (B7) that the paper drops in
        (B7) -> (B8) (static; default ``False`` = the paper's model).
    """

    t: jax.Array
    J: jax.Array
    V: jax.Array
    epsilon: jax.Array
    n_holes: jax.Array
    hartree: bool = eqx.field(static=True, default=False)

    def __init__(self, t=0.1, J=1.0, V=1.0, epsilon=0.0, n_holes=8.0, hartree=False):
        self.t = _as_float(t)
        self.J = _as_float(J)
        self.V = _as_float(V)
        self.epsilon = _as_float(epsilon)
        self.n_holes = _as_float(n_holes)
        self.hartree = bool(hartree)

    def to_dict(self) -> dict:
        out = {k: float(np.asarray(getattr(self, k))) for k in ("t", "J", "V", "epsilon", "n_holes")}
        out["hartree"] = self.hartree
        return out

    @classmethod
    def from_dict(cls, d: dict) -> MixDParams:
        return cls(**{k: d[k] for k in ("t", "J", "V", "epsilon", "n_holes", "hartree") if k in d})


def _concrete(x):
    try:
        return float(np.asarray(x))
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError, TypeError):
        return None


def validate_params(params: MixDParams, lattice) -> None:
    """Raise ``ValueError`` naming the parameter and its allowed range (:data:`RANGES`).

    Traced (abstract) values are skipped: validation happens where the values
    are concrete, i.e. in :func:`jaxnickel.mixd.solve` outside ``jit``.
    Warns with :class:`DopingWarning` when the doping is >= 0.5.
    """
    for name in ("t", "J", "V", "epsilon"):
        check_range(name, _concrete(getattr(params, name)), RANGES[name])
    t, J, V = (_concrete(getattr(params, n)) for n in ("t", "J", "V"))
    if None not in (t, J, V) and t > 0.5 * min(J, V):
        warnings.warn(
            f"t = {t:g} is not small against J = {J:g} and V = {V:g}: the effective model "
            "assumes t << J, V (paper 000, Eq. 2)",
            ValidityWarning,
            stacklevel=3,
        )
    eps = _concrete(params.epsilon)
    if eps is not None:
        if lattice.dim == 1 and eps != 0.0:
            raise ValueError(
                f"epsilon (diagonal recombination, Eq. 13) needs a 2D lattice; on a ladder it must be 0, got {eps}"
            )
    nh = _concrete(params.n_holes)
    n = lattice.n_sites
    if nh is not None:
        if not math.isfinite(nh) or nh <= 0.0:
            raise ValueError(f"n_holes (N_h) must be a finite number > 0, got {nh}")
        if nh >= 2 * n:
            raise ValueError(
                f"n_holes (N_h) must be < 2 N = {2 * n} (two holes per rung at most on {lattice.name}), got {nh}"
            )
        if nh / n >= 0.5:
            warnings.warn(
                f"doping N_h/N = {nh / n:.3f} >= 0.5: outside the validity of the "
                "mean-field theory (paper 000, Sec. II: delta < 0.5)",
                DopingWarning,
                stacklevel=3,
            )
