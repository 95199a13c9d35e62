"""Momentum grids and form factors of the rung lattices.

The effective MixD+V model (paper 000) lives on the *rungs* of the bilayer: one
site per rung, N rungs in all.  Two lattices are provided:

* :class:`Ladder` -- a periodic chain of ``L`` rungs (the two-leg ladder of the
  paper, Sec. III), ``N = L``.
* :class:`Square` -- a periodic ``Lx x Ly`` square lattice of rungs (the 2D
  bilayer of Sec. IV), ``N = Lx * Ly``.

Fourier convention (paper Eq. A14): ``f_j = N^{-1/2} sum_k f_k e^{ikj}`` with
``k = 2 pi n / L``.  Summing a nearest-neighbour bond term over both neighbours
of a site gives ``2 cos k`` in 1D and ``2 (cos kx + cos ky)`` in 2D, so every
``cos k`` of the paper's Eqs. (A14)-(B20) becomes

    gamma_k = sum_a cos k_a          (nearest-neighbour form factor)

and the four diagonal neighbours (Eq. 13) give ``4 cos kx cos ky``, i.e. half of
it, ``2 cos kx cos ky``, per unit of ``gamma_k`` (see :attr:`diagonal`).

The exchange-like kernel ``cos(k - k')`` of Eq. (B11) generalises to
``sum_a cos(k_a - k'_a) = sum_a [cos k_a cos k'_a + sin k_a sin k'_a]``: it is
*separable* in the basis returned by :meth:`pair_basis`, so no ``N x N`` matrix
is ever built.

Lattices are immutable, hashable and treated as static by ``jax.jit`` (their
size fixes array shapes); all physical parameters are traced.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

__all__ = ["Ladder", "Square", "Lattice", "make_lattice"]


def _check_size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= 2, got {value!r}")
    if value < 2:
        raise ValueError(f"{name} must be an integer >= 2, got {value}")
    return int(value)


@dataclasses.dataclass(frozen=True)
class Ladder:
    """Periodic two-leg ladder with ``L`` rungs (1D chain of rungs)."""

    L: int

    def __post_init__(self):
        object.__setattr__(self, "L", _check_size("L", self.L))

    dim = 1
    #: nearest neighbours of a rung (the "two directions" of Eq. A7)
    coordination = 2

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.L,)

    @property
    def n_sites(self) -> int:
        """Number of rungs N."""
        return self.L

    @property
    def name(self) -> str:
        return f"ladder L={self.L}"

    def momenta(self) -> tuple[jnp.ndarray, ...]:
        """Flattened momenta ``(k,)``, ``k = 2 pi n / L``, ``n = 0..L-1``."""
        k = 2.0 * jnp.pi * jnp.arange(self.L) / self.L
        return (k,)

    def to_dict(self) -> dict:
        return {"lattice": "ladder", "L": self.L}


@dataclasses.dataclass(frozen=True)
class Square:
    """Periodic ``Lx x Ly`` square lattice of rungs (2D bilayer)."""

    Lx: int
    Ly: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "Lx", _check_size("Lx", self.Lx))
        ly = self.Lx if self.Ly is None else self.Ly
        object.__setattr__(self, "Ly", _check_size("Ly", ly))

    dim = 2
    coordination = 4

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.Lx, self.Ly)

    @property
    def n_sites(self) -> int:
        return self.Lx * self.Ly

    @property
    def name(self) -> str:
        return f"square {self.Lx}x{self.Ly}"

    def momenta(self) -> tuple[jnp.ndarray, ...]:
        """Flattened momenta ``(kx, ky)`` in C order (kx slow, ky fast)."""
        kx = 2.0 * jnp.pi * jnp.arange(self.Lx) / self.Lx
        ky = 2.0 * jnp.pi * jnp.arange(self.Ly) / self.Ly
        KX, KY = jnp.meshgrid(kx, ky, indexing="ij")
        return (KX.reshape(-1), KY.reshape(-1))

    def to_dict(self) -> dict:
        return {"lattice": "square", "Lx": self.Lx, "Ly": self.Ly}


Lattice = Ladder | Square


def make_lattice(kind: str, L: int | None = None, Lx: int | None = None, Ly: int | None = None):
    """Build a lattice from its name (``"ladder"`` or ``"square"``)."""
    if kind == "ladder":
        if Lx is not None or Ly is not None:
            raise ValueError("lattice 'ladder' takes L only (not Lx/Ly)")
        return Ladder(L)
    if kind == "square":
        if Lx is None:
            Lx = L
        if Ly is None:
            Ly = Lx
        return Square(Lx, Ly)
    raise ValueError(f"lattice must be one of 'ladder', 'square', got {kind!r}")


def lattice_from_dict(d: dict):
    if d["lattice"] == "ladder":
        return Ladder(int(d["L"]))
    if d["lattice"] == "square":
        return Square(int(d["Lx"]), int(d["Ly"]))
    raise ValueError(f"unknown lattice {d['lattice']!r}")


# --------------------------------------------------------------------------
# form factors; all take momenta as a tuple of arrays so that they work on the
# lattice grid and on arbitrary (continuous) k points alike.


def nn_form_factor(k: tuple) -> jnp.ndarray:
    """``gamma_k = sum_a cos k_a`` (nearest-neighbour bonds, Eq. A14 generalised)."""
    return sum(jnp.cos(ka) for ka in k)


def diagonal_form_factor(k: tuple) -> jnp.ndarray:
    """``2 cos kx cos ky``: the four diagonal neighbours of Eq. (13), in units of gamma_k.

    Zero in 1D (a chain of rungs has no diagonal neighbours).
    """
    if len(k) == 1:
        return jnp.zeros_like(k[0])
    return 2.0 * jnp.cos(k[0]) * jnp.cos(k[1])


def pair_basis(k: tuple) -> jnp.ndarray:
    """Basis ``phi_i(k)`` with ``sum_a cos(k_a - k'_a) = sum_i phi_i(k) phi_i(k')``.

    Shape ``(2 * dim, n_k)``: ``[cos k_a ..., sin k_a ...]``.
    """
    return jnp.stack([jnp.cos(ka) for ka in k] + [jnp.sin(ka) for ka in k])


def high_symmetry_points(lattice) -> dict[str, tuple[float, ...]]:
    """Named high-symmetry momenta: ``{"0", "pi"}`` in 1D, ``{"G", "X", "M"}`` in 2D."""
    if lattice.dim == 1:
        return {"0": (0.0,), "pi": (math.pi,)}
    return {"G": (0.0, 0.0), "X": (math.pi, 0.0), "M": (math.pi, math.pi)}
