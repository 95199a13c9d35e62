"""Exact diagonalisation of the microscopic MixD+V ladder, Eq. (1) of paper 000.

.. math::

    H = -t \\mathcal P \\sum_{j,\\mu,\\sigma} (c^\\dagger_{j+1\\mu\\sigma} c_{j\\mu\\sigma} + h.c.) \\mathcal P
        + J \\sum_j (\\mathbf S_{j0}\\cdot\\mathbf S_{j1} - n_{j0} n_{j1}/4)
        + V \\sum_j n^h_{j0} n^h_{j1}

on a two-leg ladder of ``L`` rungs (legs ``mu = 0, 1``), hopping along the legs
only (``t_perp = 0``), open or periodic boundaries along the legs.  The
electron number of each leg and the total ``S^z`` are conserved; a sector
``(N_0, N_1, S^z)`` is the direct sum over ``n_up`` of leg-0 of products of leg
blocks (:mod:`jaxnickel.exact.basis`), and the Hamiltonian acts on a block
``X[a, b]`` (leg-0 state ``a``, leg-1 state ``b``) as

``H0 X + X H1^T + D * X + (J/2) sum_j (S+_j0 X S-_j1^T + h.c.)``,

with the hopping ``H0``/``H1`` of each leg, the rung-diagonal part ``D`` (an
outer product of per-leg site features, ``O(dim)`` memory) and the rung spin
flips between neighbouring ``n_up`` blocks.  Small sectors are assembled as a
SciPy sparse matrix (Kronecker products); large ones are applied matrix-free.
Ground states come from Lanczos (``scipy.sparse.linalg.eigsh``), or dense
diagonalisation below a few thousand states.

Sizes (one vector is ``8 dim`` bytes; Lanczos keeps ~20): 8 rungs with 2 holes
have ``dim = 2.3e5`` (seconds); 10 rungs with 2 holes ``dim = 4.9e6`` (matrix
free, ~1.5 GB, minutes) is about the largest that fits comfortably in a few GB.

Observables follow paper 000, Sec. III, counting spinon-chargons on **both**
legs: ``N_cc = sum_j <n^h_{j0} n^h_{j1}>``,
``N_sc = sum_j <n^h_{j0}(1 - n^h_{j1}) + n^h_{j1}(1 - n^h_{j0})>``
(the paper's printed ``n_sc`` counts only holes of leg 1 with an occupied leg
0; summed over both legs ``N_sc + 2 N_cc = N_h`` holds exactly).  Energies:
``energy`` is ``<H>``; ``energy_relative = E + J L`` is measured from the undoped
rung-singlet state (``-J`` per rung), the reference of the mean-field energy
(B9); ``energy_minus_background = energy_relative - J N_sc - (V + J) N_cc``
(Fig. 4, right).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .basis import LegBlock, leg_block

__all__ = [
    "sector_dimension_log10",
    "LadderModel",
    "Sector",
    "ExactResult",
    "LadderGroundState",
    "hole_split",
    "default_sector",
    "ground_state",
    "binding_energy",
    "exact_ladder",
    "MAX_DIMENSION",
]

#: largest sector dimension ground_state accepts by default (~2.5 GB of Lanczos vectors)
MAX_DIMENSION = 12_000_000
_DENSE_BELOW = 800
_SPARSE_BELOW = 1_500_000


@dataclass(frozen=True)
class LadderModel:
    """Couplings and geometry of Eq. (1): ``L`` rungs, ``t`` (legs), ``J`` and ``V`` (rungs), ``bc``."""

    L: int
    t: float
    J: float
    V: float
    bc: str = "open"

    def __post_init__(self):
        if isinstance(self.L, bool) or not isinstance(self.L, int | np.integer) or self.L < 2:
            raise ValueError(f"L (number of rungs) must be an integer >= 2, got {self.L!r}")
        for name in ("t", "J", "V"):
            v = getattr(self, name)
            if not isinstance(v, int | float | np.floating | np.integer) or not math.isfinite(float(v)):
                raise ValueError(f"{name} must be a finite real number, got {v!r}")
        if self.t < 0:
            raise ValueError(f"t must be >= 0 (the sign of t is a gauge choice on a ladder), got {self.t}")
        if self.J < 0:
            raise ValueError(f"J must be >= 0 (antiferromagnetic rung exchange), got {self.J}")
        if self.bc not in ("open", "periodic"):
            raise ValueError(f"bc must be 'open' or 'periodic', got {self.bc!r}")

    @property
    def periodic(self) -> bool:
        return self.bc == "periodic"

    def to_dict(self) -> dict:
        return {"L": int(self.L), "t": float(self.t), "J": float(self.J), "V": float(self.V), "bc": self.bc}


def hole_split(n_holes: int) -> tuple[int, int]:
    """Holes per leg when holes are added alternately to each leg, leg 0 first: ``(ceil, floor)``."""
    return (n_holes + 1) // 2, n_holes // 2


@dataclass(frozen=True)
class Sector:
    """Conserved numbers: holes per leg ``(h0, h1)`` and ``2 S^z``."""

    h0: int
    h1: int
    two_sz: int

    @property
    def n_holes(self) -> int:
        return self.h0 + self.h1


def default_sector(L: int, n_holes: int) -> Sector:
    """Holes added alternately to the legs (:func:`hole_split`) and the smallest ``|S^z|`` (0 or 1/2)."""
    if isinstance(n_holes, bool) or not isinstance(n_holes, int | np.integer) or not 0 <= n_holes <= 2 * L:
        raise ValueError(f"n_holes must be an integer in [0, 2L] = [0, {2 * L}], got {n_holes!r}")
    h0, h1 = hole_split(int(n_holes))
    return Sector(h0, h1, (2 * L - n_holes) % 2)


def _check_sector(L: int, s: Sector) -> None:
    for name, h in (("holes on leg 0", s.h0), ("holes on leg 1", s.h1)):
        if not 0 <= h <= L:
            raise ValueError(f"{name} must be in [0, L] = [0, {L}], got {h}")
    n_e = 2 * L - s.h0 - s.h1
    if abs(s.two_sz) > n_e or (n_e - s.two_sz) % 2:
        raise ValueError(
            f"2 S^z must have the parity of the electron number {n_e} and |2 S^z| <= {n_e}, got {s.two_sz}"
        )


def sector_dimension(L: int, sector: Sector) -> int:
    """Dimension of a sector, counted without building it: ``sum_u d(n0, u) d(n1, N_up - u)``.

    A leg of ``L`` sites with ``n`` electrons, ``u`` of them up (no double occupancy in
    the t-J model) has ``C(L, n) C(n, u)`` states.
    """
    _check_sector(L, sector)
    n0, n1 = L - sector.h0, L - sector.h1
    total_up = (sector.two_sz + n0 + n1) // 2

    def leg(n, u):
        return math.comb(L, n) * math.comb(n, u)

    return sum(leg(n0, u0) * leg(n1, total_up - u0) for u0 in range(max(0, total_up - n1), min(n0, total_up) + 1))


def sector_dimension_log10(L: int, sector: Sector) -> float:
    """``log10`` of :func:`sector_dimension` from ``lgamma`` (float arithmetic, fast at any ``L``).

    The exact count multiplies big integers term by term, which takes minutes at
    ``L = 10^5``; this is what the refusal of an impossible run looks at first.
    """
    _check_sector(L, sector)
    n0, n1 = L - sector.h0, L - sector.h1
    total_up = (sector.two_sz + n0 + n1) // 2

    def lcomb(n, k):
        return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)

    terms = [
        lcomb(L, n0) + lcomb(n0, u0) + lcomb(L, n1) + lcomb(n1, total_up - u0)
        for u0 in range(max(0, total_up - n1), min(n0, total_up) + 1)
    ]
    if not terms:
        return -math.inf
    top = max(terms)
    return (top + math.log(sum(math.exp(t - top) for t in terms))) / math.log(10.0)


class LadderHamiltonian:
    """Eq. (1) restricted to one sector, as blocks over the leg-0 ``n_up``."""

    def __init__(self, model: LadderModel, sector: Sector):
        _check_sector(model.L, sector)
        self.model, self.sector = model, sector
        L = model.L
        n0, n1 = L - sector.h0, L - sector.h1
        total_up = (sector.two_sz + n0 + n1) // 2
        self.blocks: list[tuple[LegBlock, LegBlock]] = []
        for u0 in range(max(0, total_up - n1), min(n0, total_up) + 1):
            self.blocks.append((leg_block(L, n0, u0), leg_block(L, n1, total_up - u0)))
        self.shapes = [(a.dim, b.dim) for a, b in self.blocks]
        self.offsets = np.cumsum([0] + [a * b for a, b in self.shapes])
        self.dim = int(self.offsets[-1])
        self._dcache: dict[int, np.ndarray] = {}  # rung-diagonal blocks for the matrix-free product

    # -- pieces ---------------------------------------------------------------
    def _diag(self, k: int) -> np.ndarray:
        a, b = self.blocks[k]
        m = self.model
        f0 = np.concatenate([m.J * a.sz, -0.25 * m.J * a.occupation, m.V * a.holes], axis=1)
        f1 = np.concatenate([b.sz, b.occupation, b.holes], axis=1)
        return f0 @ f1.T

    def to_sparse(self) -> sp.csr_matrix:
        """The sector's Hamiltonian as a CSR matrix (Kronecker products of leg operators)."""
        m, L = self.model, self.model.L
        nb = len(self.blocks)
        grid = [[None] * nb for _ in range(nb)]
        for k, (a, b) in enumerate(self.blocks):
            ia, ib = sp.identity(a.dim, format="csr"), sp.identity(b.dim, format="csr")
            h = m.t * (sp.kron(a.hopping(m.periodic), ib) + sp.kron(ia, b.hopping(m.periodic)))
            grid[k][k] = (h + sp.diags(self._diag(k).ravel())).tocsr()
            if k + 1 < nb:  # S+_j0 S-_j1: block k -> k+1 (leg 0 gains an up spin, leg 1 loses one)
                a2, b2 = self.blocks[k + 1]
                off = sum(sp.kron(a.spin_raise(j), b2.spin_raise(j).T) for j in range(L)) * (0.5 * m.J)
                grid[k + 1][k] = off.tocsr()
                grid[k][k + 1] = off.T.tocsr()
        return sp.bmat(grid, format="csr")

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """Matrix-free ``H v`` (memory ``O(dim)``)."""
        m, L = self.model, self.model.L
        xs = self.blocks_of(np.asarray(v).reshape(-1))
        out = []
        for k, (a, b) in enumerate(self.blocks):
            x = xs[k]
            y = m.t * (a.hopping(m.periodic) @ x + (b.hopping(m.periodic) @ x.T).T) + self._diag_cached(k) * x
            if m.J != 0.0 and k > 0:  # S+_j0 S-_j1 from block k-1: S+_j0 X S-_j1^T
                a_prev, xp = self.blocks[k - 1][0], xs[k - 1]
                for j in range(L):
                    y += 0.5 * m.J * (a_prev.spin_raise(j) @ (b.spin_raise(j).T @ xp.T).T)
            if m.J != 0.0 and k + 1 < len(self.blocks):  # S-_j0 S+_j1 from block k+1
                b_next, xn = self.blocks[k + 1][1], xs[k + 1]
                for j in range(L):
                    y += 0.5 * m.J * (a.spin_raise(j).T @ (b_next.spin_raise(j) @ xn.T).T)
            out.append(y.ravel())
        return np.concatenate(out)

    def _diag_cached(self, k: int) -> np.ndarray:
        if k not in self._dcache:
            self._dcache[k] = self._diag(k)
        return self._dcache[k]

    def blocks_of(self, v: np.ndarray) -> list[np.ndarray]:
        return [v[self.offsets[k] : self.offsets[k + 1]].reshape(self.shapes[k]) for k in range(len(self.blocks))]


@dataclass
class LadderGroundState:
    """A ground state of one sector and its observables (paper 000 conventions, see module docstring).

    Shared by exact diagonalisation (:class:`ExactResult`) and DMRG
    (:class:`jaxnickel.exact.dmrg.DMRGResult`).
    """

    model: LadderModel
    sector: Sector
    energy: float
    N_sc: float
    N_cc: float
    hole_density: np.ndarray  # (2, L): <n^h_{j mu}>

    @property
    def n_holes(self) -> int:
        return self.sector.n_holes

    @property
    def energy_relative(self) -> float:
        """``E + J L``: energy above the undoped rung-singlet state (the mean field's reference)."""
        return self.energy + self.model.J * self.model.L

    @property
    def energy_minus_background(self) -> float:
        """``E - E_bg = (E + J L) - J N_sc - (V + J) N_cc`` (paper 000, Fig. 4 right)."""
        m = self.model
        return self.energy_relative - m.J * self.N_sc - (m.V + m.J) * self.N_cc

    @property
    def sc_minus_2cc_fraction(self) -> float:
        """``(N_sc - 2 N_cc) / N_h`` (Fig. 3); NaN without holes."""
        return (self.N_sc - 2.0 * self.N_cc) / self.n_holes if self.n_holes else float("nan")

    def summary(self) -> dict:
        return {
            **self.model.to_dict(),
            "n_holes": self.n_holes,
            "holes_per_leg": [self.sector.h0, self.sector.h1],
            "Sz": self.sector.two_sz / 2,
            "energy": self.energy,
            "energy_relative": self.energy_relative,
            "energy_minus_background": self.energy_minus_background,
            "N_sc": self.N_sc,
            "N_cc": self.N_cc,
            "sc_minus_2cc_fraction": self.sc_minus_2cc_fraction,
        }


@dataclass
class ExactResult(LadderGroundState):
    """Exact (Lanczos / dense) ground state: adds the sector ``dimension``, the method and ``|H psi - E psi|``."""

    dimension: int = 0
    method: str = ""
    residual: float = 0.0

    def summary(self) -> dict:
        return {**super().summary(), "dimension": self.dimension, "method": self.method, "residual": self.residual}


def _observables(h: LadderHamiltonian, psi: np.ndarray):
    n_cc = n_sc = 0.0
    dens = np.zeros((2, h.model.L))
    for (a, b), x in zip(h.blocks, h.blocks_of(psi), strict=True):
        p = x * x
        pa, pb = p.sum(axis=1), p.sum(axis=0)
        ha, hb = a.holes, b.holes
        cc = ha @ hb.T  # sum_j nh0_j nh1_j per pair of leg states
        n_cc += float(np.sum(p * cc))
        n_sc += float(pa @ ha.sum(axis=1) + pb @ hb.sum(axis=1)) - 2.0 * float(np.sum(p * cc))
        dens[0] += pa @ ha
        dens[1] += pb @ hb
    return n_sc, n_cc, dens


def ground_state(
    model: LadderModel,
    n_holes: int | None = None,
    *,
    sector: Sector | None = None,
    tol: float = 1e-12,
    max_dimension: int = MAX_DIMENSION,
    method: str = "auto",
) -> ExactResult:
    """Ground state of Eq. (1) in one sector (default: :func:`default_sector` of ``n_holes``).

    ``method``: ``"auto"`` (dense below 800 states, sparse matrix below 1.5e6,
    matrix-free above), ``"dense"``, ``"sparse"`` or ``"matrix-free"``.  Raises a
    ``ValueError`` naming ``max_dimension`` when the sector is larger, and a
    ``RuntimeError`` when Lanczos does not converge.
    """
    if sector is None:
        if n_holes is None:
            raise ValueError("give n_holes or a sector")
        sector = default_sector(model.L, n_holes)
    # known before anything is built: first in floats (instant at any L), then exactly
    log_dim = sector_dimension_log10(model.L, sector)
    dim = sector_dimension(model.L, sector) if log_dim <= math.log10(max_dimension) + 1.0 else 10.0 ** min(log_dim, 300)
    if dim > max_dimension:
        gb = dim * 8 * 40 / 2**30  # Lanczos vectors and the sparse matrix's rows, roughly 40 doubles per state
        raise ValueError(
            f"L = {model.L}: the sector {sector} has dimension "
            f"{f'{dim:.4g}' if log_dim < 300 else f'~10^{log_dim:.4g}'}, above max_dimension = {max_dimension:.4g} "
            f"(it would need ~{gb:.3g} GB and hours to days of Lanczos); exact diagonalisation reaches about "
            "L = 10 rungs on this machine: use fewer rungs or DMRG (jaxnickel dmrg)"
        )
    h = LadderHamiltonian(model, sector)
    if h.dim == 0:
        raise ValueError(f"empty sector {sector} for L = {model.L}")
    if method == "auto":
        method = "dense" if h.dim < _DENSE_BELOW else ("sparse" if h.dim < _SPARSE_BELOW else "matrix-free")
    if method == "dense":
        op = h.to_sparse().toarray()
        w, vecs = np.linalg.eigh(op)
        e, psi = float(w[0]), vecs[:, 0]
    elif method in ("sparse", "matrix-free"):
        op = h.to_sparse() if method == "sparse" else spla.LinearOperator((h.dim,) * 2, h.matvec, dtype=np.float64)
        v0 = np.random.default_rng(12345).standard_normal(h.dim)
        try:
            w, vecs = spla.eigsh(op, k=1, which="SA", v0=v0, tol=tol, maxiter=max(1000, 20 * 300))
        except spla.ArpackNoConvergence as err:
            raise RuntimeError(f"Lanczos (eigsh) did not converge for L = {model.L}, {sector}: {err}") from err
        e, psi = float(w[0]), vecs[:, 0]
    else:
        raise ValueError(f"method must be 'auto', 'dense', 'sparse' or 'matrix-free', got {method!r}")
    psi = psi / np.linalg.norm(psi)
    residual = float(np.linalg.norm(op @ psi - e * psi))  # the operator Lanczos used, not rebuilt
    n_sc, n_cc, dens = _observables(h, psi)
    return ExactResult(
        model=model,
        sector=sector,
        energy=e,
        N_sc=n_sc,
        N_cc=n_cc,
        hole_density=dens,
        dimension=h.dim,
        method=method,
        residual=residual,
    )


def binding_energy(model: LadderModel, n_holes: int, **kw) -> dict:
    """``E_B(N_h) = 2 E(N_h - 1) - E(N_h) - E(N_h - 2)`` (positive when holes bind).

    Holes are added alternately to each leg (leg 0 first), each ``E`` in its
    smallest ``|S^z|``.  Eq. (10) of paper 000 prints the opposite overall sign
    (``E_{N-2} - 2E_{N-1} + E_N``) while its Fig. 5 and the mean-field value
    ``2 min E_k`` are positive; we use the sign that makes bound pairs positive.
    """
    if n_holes < 2:
        raise ValueError(f"n_holes must be >= 2 for a binding energy, got {n_holes}")
    res = {n: ground_state(model, n, **kw) for n in (n_holes - 2, n_holes - 1, n_holes)}
    e = {n: r.energy for n, r in res.items()}
    return {
        "binding_energy": 2.0 * e[n_holes - 1] - e[n_holes] - e[n_holes - 2],
        "energies": e,
        "results": res,
    }


def exact_ladder(L: int, t: float, J: float, V: float, n_holes: int, bc: str = "open", **kw) -> ExactResult:
    """Shortcut: :func:`ground_state` of ``LadderModel(L, t, J, V, bc)`` with ``n_holes``."""
    return ground_state(LadderModel(L, t, J, V, bc), n_holes, **kw)
