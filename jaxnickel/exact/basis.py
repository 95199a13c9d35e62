"""Many-body basis of one leg of the MixD+V ladder (Gutzwiller-projected, t-J).

A leg has ``L`` sites, each empty (a hole), spin up or spin down.  With the
electron number ``N`` of the leg fixed (hopping is along the legs only, so
``N`` is conserved per leg) the leg's states split into blocks of fixed
``N_up``; a configuration is coded as two bit masks, ``occ`` (occupied sites)
and ``up`` (sites holding an up spin, a subset of ``occ``).

Fermion order: the creation operators of a leg are ordered by site,
``|config> = c^dag_{i1 s1} c^dag_{i2 s2} ... |0>`` with ``i1 < i2 < ...``, and
the whole ladder orders leg 0 before leg 1.  Hopping between neighbouring sites
``j, j+1`` of a leg then has no fermion sign; the periodic bond ``L-1 <-> 0``
passes the other ``N - 1`` electrons of the leg and carries ``(-1)^(N-1)``;
operators bilinear within one leg never see the other leg's fermions, and the
rung spin exchange ``S^+_{j0} S^-_{j1}`` is bilinear on each site (no sign).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import combinations

import numpy as np
import scipy.sparse as sp

__all__ = ["LegBlock", "leg_block"]


def _masks(L: int, n: int, n_up: int) -> np.ndarray:
    """All codes ``occ | up << L`` with ``n`` electrons of which ``n_up`` are up, sorted."""
    codes = []
    for occ_sites in combinations(range(L), n):
        occ = sum(1 << i for i in occ_sites)
        for up_sites in combinations(occ_sites, n_up):
            up = sum(1 << i for i in up_sites)
            codes.append(occ | (up << L))
    return np.sort(np.asarray(codes, dtype=np.int64))


@dataclass(frozen=True)
class LegBlock:
    """States of one leg with ``n`` electrons, ``n_up`` of them spin up (``L`` sites)."""

    L: int
    n: int
    n_up: int

    @cached_property
    def _ops(self) -> dict:
        return {}

    @cached_property
    def codes(self) -> np.ndarray:
        return _masks(self.L, self.n, self.n_up)

    @property
    def dim(self) -> int:
        return int(self.codes.size)

    @cached_property
    def occupation(self) -> np.ndarray:
        """``(dim, L)`` 0/1 electron number per site."""
        occ = self.codes & ((1 << self.L) - 1)
        return ((occ[:, None] >> np.arange(self.L)) & 1).astype(np.float64)

    @cached_property
    def sz(self) -> np.ndarray:
        """``(dim, L)`` ``S^z`` per site (+-1/2 on occupied sites, 0 on holes)."""
        up = ((self.codes >> self.L)[:, None] >> np.arange(self.L)) & 1
        return self.occupation * (up - 0.5)

    @property
    def holes(self) -> np.ndarray:
        """``(dim, L)`` hole number ``n^h = 1 - n`` per site."""
        return 1.0 - self.occupation

    def index(self, codes: np.ndarray) -> np.ndarray:
        """Positions of ``codes`` in this block (they must belong to it)."""
        i = np.searchsorted(self.codes, codes)
        if codes.size and not np.array_equal(self.codes[np.minimum(i, self.dim - 1)], codes):
            raise AssertionError("configuration outside the block")
        return i

    def hopping(self, periodic: bool) -> sp.csr_matrix:
        """``-sum_{j,s} (c^dag_{j+1 s} c_{j s} + h.c.)`` (hopping ``t = 1``) projected on no double occupancy, CSR.

        ``periodic`` adds the bond ``L-1 <-> 0`` with the fermion sign ``(-1)^(N-1)``
        (only for ``L > 2``, so that no bond is counted twice).  Cached per block.
        """
        key = ("hop", bool(periodic))
        if key not in self._ops:
            self._ops[key] = self._hopping(periodic)
        return self._ops[key]

    def _hopping(self, periodic: bool) -> sp.csr_matrix:
        L, mask = self.L, (1 << self.L) - 1
        occ = self.codes & mask
        up = self.codes >> L
        bonds = [(j, j + 1, 1.0) for j in range(L - 1)]
        if periodic and L > 2:
            bonds.append((L - 1, 0, -1.0 if (self.n - 1) % 2 else 1.0))
        rows, cols, vals = [], [], []
        for a, b, sign in bonds:
            for src, dst in ((a, b), (b, a)):
                can = ((occ >> src) & 1 == 1) & ((occ >> dst) & 1 == 0)
                idx = np.flatnonzero(can)
                if idx.size == 0:
                    continue
                o, u = occ[idx], up[idx]
                spin = (u >> src) & 1
                o2 = (o & ~(1 << src)) | (1 << dst)
                u2 = (u & ~(1 << src)) | (spin << dst)
                rows.append(self.index(o2 | (u2 << L)))
                cols.append(idx)
                vals.append(np.full(idx.size, -sign))
        if not rows:
            return sp.csr_matrix((self.dim, self.dim))
        return sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(self.dim, self.dim)
        )

    def spin_raise(self, j: int) -> sp.csr_matrix:
        """``S^+_j`` (= ``c^dag_{j up} c_{j down}``) from this block to the block with ``n_up + 1`` (cached)."""
        key = ("S+", j)
        if key not in self._ops:
            self._ops[key] = self._spin_raise(j, leg_block(self.L, self.n, self.n_up + 1))
        return self._ops[key]

    def _spin_raise(self, j: int, target: LegBlock) -> sp.csr_matrix:
        L = self.L
        occ = self.codes & ((1 << L) - 1)
        up = self.codes >> L
        idx = np.flatnonzero(((occ >> j) & 1 == 1) & ((up >> j) & 1 == 0))
        new = occ[idx] | ((up[idx] | (1 << j)) << L)
        return sp.csr_matrix((np.ones(idx.size), (target.index(new), idx)), shape=(target.dim, self.dim))


_CACHE: dict[tuple[int, int, int], LegBlock] = {}


def leg_block(L: int, n: int, n_up: int) -> LegBlock:
    """Cached :class:`LegBlock` (the codes and operators are reused across parameters)."""
    key = (L, n, n_up)
    if key not in _CACHE:
        _CACHE[key] = LegBlock(L, n, n_up)
    return _CACHE[key]
