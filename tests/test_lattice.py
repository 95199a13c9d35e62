import numpy as np
import pytest

from jaxnickel.lattice import (
    Ladder,
    Square,
    diagonal_form_factor,
    make_lattice,
    nn_form_factor,
    pair_basis,
)


def test_ladder_grid():
    lat = Ladder(6)
    (k,) = lat.momenta()
    assert lat.n_sites == 6 and lat.coordination == 2
    np.testing.assert_allclose(np.asarray(k), 2 * np.pi * np.arange(6) / 6)


def test_square_grid_order():
    lat = Square(4, 3)
    kx, ky = lat.momenta()
    assert kx.shape == (12,) and lat.shape == (4, 3) and lat.coordination == 4
    # C order: kx slow, ky fast
    np.testing.assert_allclose(np.asarray(kx).reshape(4, 3)[:, 0], 2 * np.pi * np.arange(4) / 4)
    np.testing.assert_allclose(np.asarray(ky).reshape(4, 3)[0, :], 2 * np.pi * np.arange(3) / 3)


@pytest.mark.parametrize("lat", [Ladder(7), Square(4, 5)])
def test_pair_basis_is_separable_cos_kernel(lat):
    """sum_i phi_i(k) phi_i(k') == sum_a cos(k_a - k'_a): the kernel never needs N x N."""
    k = lat.momenta()
    phi = np.asarray(pair_basis(k))
    lhs = phi.T @ phi
    rhs = sum(np.cos(np.subtract.outer(np.asarray(ka), np.asarray(ka))) for ka in k)
    np.testing.assert_allclose(lhs, rhs, atol=1e-13)


def test_form_factors_from_bond_sums():
    """gamma_k and the diagonal factor equal the neighbour sums (1/2) sum_delta e^{i k.delta}."""
    lat = Square(6)
    kx, ky = (np.asarray(a) for a in lat.momenta())
    nn = [(1, 0), (-1, 0), (0, 1), (0, -1)]
    diag = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
    s_nn = sum(np.cos(kx * dx + ky * dy) for dx, dy in nn) / 2
    s_dg = sum(np.cos(kx * dx + ky * dy) for dx, dy in diag) / 2
    np.testing.assert_allclose(np.asarray(nn_form_factor(lat.momenta())), s_nn, atol=1e-13)
    np.testing.assert_allclose(np.asarray(diagonal_form_factor(lat.momenta())), s_dg, atol=1e-13)
    assert np.all(np.asarray(diagonal_form_factor(Ladder(5).momenta())) == 0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Ladder(1), "L must be an integer >= 2"),
        (lambda: Ladder(2.5), "L must be an integer >= 2"),
        (lambda: Square(4, 0), "Ly must be an integer >= 2"),
        (lambda: make_lattice("triangle", L=4), "lattice must be one of"),
        (lambda: make_lattice("ladder", L=4, Lx=3), "takes L only"),
    ],
)
def test_bad_lattices(call, match):
    with pytest.raises(ValueError, match=match):
        call()
