"""Exact diagonalisation of Eq. (1) (paper 000): brute force, hand-derived limits, conventions.

The brute-force reference builds Eq. (1) from Jordan-Wigner fermion matrices on the
full Fock space (4 states per site, no sectors, no bit tricks), projects out double
occupancy and diagonalises densely; every sector spectrum of the sector code must match.
"""

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp

from jaxnickel.exact import LadderModel, Sector, binding_energy, default_sector, ground_state, hole_split
from jaxnickel.exact.ed import LadderHamiltonian

# ----------------------------------------------------------------- brute force


def _jw_ops(n_modes):
    """Annihilators of ``n_modes`` fermion modes (Jordan-Wigner: Z x ... x Z x a x 1 x ... x 1)."""
    a = sp.csr_matrix(np.array([[0.0, 1.0], [0.0, 0.0]]))
    z = sp.csr_matrix(np.diag([1.0, -1.0]))
    eye = sp.identity(2, format="csr")
    ops = []
    for m in range(n_modes):
        op = sp.identity(1, format="csr")
        for x in [z] * m + [a] + [eye] * (n_modes - m - 1):
            op = sp.kron(op, x, format="csr")
        ops.append(op)
    return ops


def brute_force(L, t, J, V, bc):
    """Full Fock-space Eq. (1), projected on no double occupancy; returns (H, N0, N1, 2Sz) per basis state."""
    n_sites = 2 * L  # site (j, leg) -> leg * L + j ; modes 2*site + spin (0 up, 1 down)
    c = _jw_ops(2 * n_sites)

    def cc(j, leg, s):
        return c[2 * (leg * L + j) + s]

    dim = 4**n_sites
    H = sp.csr_matrix((dim, dim))
    bonds = {(j, (j + 1) % L) for j in range(L - 1)}
    if bc == "periodic" and L > 2:
        bonds.add((L - 1, 0))
    for leg in (0, 1):
        for i, j in bonds:
            for s in (0, 1):
                hop = cc(j, leg, s).T @ cc(i, leg, s)
                H -= t * (hop + hop.T)
    for j in range(L):
        n = [sum(cc(j, leg, s).T @ cc(j, leg, s) for s in (0, 1)) for leg in (0, 1)]
        sz = [0.5 * (cc(j, leg, 0).T @ cc(j, leg, 0) - cc(j, leg, 1).T @ cc(j, leg, 1)) for leg in (0, 1)]
        sp_ = [cc(j, leg, 0).T @ cc(j, leg, 1) for leg in (0, 1)]
        ss = sz[0] @ sz[1] + 0.5 * (sp_[0] @ sp_[1].T + sp_[0].T @ sp_[1])
        eye = sp.identity(dim, format="csr")
        H += J * (ss - 0.25 * n[0] @ n[1]) + V * (eye - n[0]) @ (eye - n[1])
    # occupation numbers of the basis states (mode m is bit n_modes-1-m of the index)
    idx = np.arange(dim)
    occ = np.array([(idx >> (2 * n_sites - 1 - m)) & 1 for m in range(2 * n_sites)])  # (modes, dim)
    keep = np.all(occ[0::2] + occ[1::2] <= 1, axis=0)
    occ = occ[:, keep]
    H = H[keep][:, keep].toarray()
    site_n = occ[0::2] + occ[1::2]
    n0 = site_n[:L].sum(axis=0)
    n1 = site_n[L:].sum(axis=0)
    two_sz = (occ[0::2] - occ[1::2]).sum(axis=0)
    return H, n0, n1, two_sz


@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("bc", ["open", "periodic"])
def test_every_sector_spectrum_matches_brute_force(L, bc):
    t, J, V = 0.37, 1.3, 0.8
    H, n0, n1, two_sz = brute_force(L, t, J, V, bc)
    assert np.allclose(H, H.T)
    model = LadderModel(L, t, J, V, bc)
    total = 0
    for N0, N1 in itertools.product(range(L + 1), repeat=2):
        for s in sorted(set(two_sz[(n0 == N0) & (n1 == N1)])):
            sel = (n0 == N0) & (n1 == N1) & (two_sz == s)
            ref = np.linalg.eigvalsh(H[np.ix_(sel, sel)])
            h = LadderHamiltonian(model, Sector(L - N0, L - N1, int(s)))
            assert h.dim == sel.sum()
            ours = np.linalg.eigvalsh(h.to_sparse().toarray())
            np.testing.assert_allclose(ours, ref, atol=1e-12)
            total += h.dim
    assert total == 3 ** (2 * L)  # all sectors covered


@pytest.mark.parametrize("bc", ["open", "periodic"])
def test_matrix_free_sparse_and_dense_agree(bc):
    model = LadderModel(4, 0.3, 1.1, 0.9, bc)
    h = LadderHamiltonian(model, default_sector(4, 3))
    rng = np.random.default_rng(1)
    v = rng.standard_normal(h.dim)
    np.testing.assert_allclose(h.matvec(v), h.to_sparse() @ v, atol=1e-12)
    res = {m: ground_state(model, 3, method=m) for m in ("dense", "sparse", "matrix-free")}
    for m in ("sparse", "matrix-free"):
        assert res[m].energy == pytest.approx(res["dense"].energy, abs=1e-10)
        assert res[m].N_cc == pytest.approx(res["dense"].N_cc, abs=1e-7)
        assert res[m].residual < 1e-8


# ----------------------------------------------------------------- hand-derived limits


@pytest.mark.parametrize("bc", ["open", "periodic"])
@pytest.mark.parametrize("L,n_holes", [(4, 2), (5, 4), (6, 3), (4, 6)])
@pytest.mark.parametrize("J,V", [(1.4, 1.0), (0.6, 1.0)])
def test_t_zero_energy_by_counting_rungs(bc, L, n_holes, J, V):
    """t = 0: rungs are independent. A full rung's best state is the singlet (-J), a rung with one
    hole costs 0, a rung with two holes V. With d doubly-empty rungs, E = -J (L - N_h + d) + V d, minimal at
    the largest d (J > V) or the smallest d (J < V); the free spins of the one-hole rungs give S^z = 0 or 1/2."""
    h0, h1 = hole_split(n_holes)
    d_lo, d_hi = max(0, h0 + h1 - L), min(h0, h1)
    d = d_hi if J > V else d_lo
    r = ground_state(LadderModel(L, 0.0, J, V, bc), n_holes)
    assert r.energy == pytest.approx(-J * (L - n_holes + d) + V * d, abs=1e-10)
    assert r.N_cc == pytest.approx(d, abs=1e-8)
    assert r.N_sc == pytest.approx(n_holes - 2 * d, abs=1e-8)
    # relative to the undoped ladder, the energy is the background cost of the holes: E - E_bg = 0
    assert r.energy_minus_background == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("bc", ["open", "periodic"])
@pytest.mark.parametrize("L", [4, 5, 7])
def test_one_hole_dispersion_in_the_polarised_sector(bc, L):
    """One hole, all spins up: S.S - n n/4 = 0 on every rung, so only the hole moves. Leg 0 holds L - 1
    spinless fermions; the many-body levels are (sum of all single-particle levels = 0) minus the empty one:
    E_m = -eps_m = 2 t cos k_m with k_m = pi m/(L+1) (open) or 2 pi m/L (periodic: the fermion sign
    (-1)^(N-1) of the bond L-1 -> 0 in the ordered basis is what makes the fermions periodic).
    Holds for any J and V."""
    t = 0.45
    model = LadderModel(L, t, 1.3, 0.7, bc)
    h = LadderHamiltonian(model, Sector(1, 0, 2 * L - 1))
    ours = np.linalg.eigvalsh(h.to_sparse().toarray())
    if bc == "open":
        k = np.pi * np.arange(1, L + 1) / (L + 1)
    else:
        k = 2 * np.pi * np.arange(L) / L
    np.testing.assert_allclose(ours, np.sort(2 * t * np.cos(k)), atol=1e-12)


def test_undoped_ladder_is_rung_singlets():
    for bc in ("open", "periodic"):
        r = ground_state(LadderModel(6, 0.3, 1.7, 1.0, bc), 0)
        assert r.energy == pytest.approx(-1.7 * 6, abs=1e-10)
        assert r.energy_relative == pytest.approx(0.0, abs=1e-10)


def test_hole_bookkeeping_and_two_hole_limits():
    """N_sc + 2 N_cc = N_h (both legs counted); hole densities sum to the holes per leg;
    deep in the BEC (J >> V) two holes sit on one rung, deep in the BCS (V >> J) on different rungs."""
    r = ground_state(LadderModel(6, 0.1, 1.2, 1.0, "open"), 4)
    assert r.N_sc + 2 * r.N_cc == pytest.approx(4, abs=1e-10)
    np.testing.assert_allclose(r.hole_density.sum(axis=1), [2, 2], atol=1e-10)
    bec = ground_state(LadderModel(6, 0.1, 3.0, 1.0, "open"), 2)
    bcs = ground_state(LadderModel(6, 0.1, 0.3, 1.0, "open"), 2)
    assert bec.sc_minus_2cc_fraction < -0.9
    assert bcs.sc_minus_2cc_fraction > 0.9


def test_binding_energy_sign_convention():
    """E_B = 2 E(N-1) - E(N) - E(N-2) > 0 for bound holes (BEC side); at t = 0, J > V it is exactly
    2J - (V + J) = J - V (one cc rung costs V + J, two separate holes 2J)."""
    J, V = 1.5, 1.0
    b = binding_energy(LadderModel(5, 0.0, J, V, "open"), 2)
    assert b["binding_energy"] == pytest.approx(J - V, abs=1e-10)
    b = binding_energy(LadderModel(6, 0.1, 1.6, 1.0, "periodic"), 4)
    assert b["binding_energy"] > 0.1


def test_default_sector_and_split():
    assert hole_split(5) == (3, 2)
    assert default_sector(4, 3) == Sector(2, 1, 1)
    assert default_sector(4, 2) == Sector(1, 1, 0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"L": 1}, "L"),
        ({"t": -0.1}, "t must be"),
        ({"J": -1.0}, "J must be"),
        ({"V": math.nan}, "V must be"),
        ({"bc": "twisted"}, "bc must be"),
    ],
)
def test_bad_model_input(kwargs, match):
    base = {"L": 4, "t": 0.1, "J": 1.0, "V": 1.0, "bc": "open"}
    with pytest.raises(ValueError, match=match):
        LadderModel(**{**base, **kwargs})


def test_bad_sector_and_size_input():
    m = LadderModel(4, 0.1, 1.0, 1.0)
    with pytest.raises(ValueError, match="n_holes"):
        ground_state(m, 9)
    with pytest.raises(ValueError, match="2 S\\^z"):
        ground_state(m, sector=Sector(1, 1, 1))
    with pytest.raises(ValueError, match="max_dimension"):
        ground_state(LadderModel(10, 0.1, 1.0, 1.0), 2, max_dimension=1000)
