"""Gap data: CSV format, validation, bundled data set, synthetic data from a model solve."""

from __future__ import annotations

from importlib import resources

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnickel.data import (
    COLUMNS,
    K_B,
    SHEETS,
    GapData,
    bundled_datasets,
    load_bundled,
    load_gap_data,
    synthetic_gap_data,
)

HEADER = "sheet,theta_deg,gap_meV,uncertainty_meV,temperature_K,source,note"
GOOD_ROW = "alpha,10,12.5,1.5,4.2,Key2025,fine"


def _example() -> GapData:
    return GapData(
        sheet=[0, 1, -1, 0],
        theta=np.radians([0.0, 45.0, np.nan, 360.0]),
        gap=np.array([19.0, 7.0, 18.0, 0.1234567891234]) * 1e-3,
        sigma=np.array([2.0, 1.0, 3.0, 1e-6]) * 1e-3,
        temperature=np.array([0.0, 4.2, 1.5, 300.0]) * K_B,
        source=["Fan2025 arXiv:2506.01788", 'a "quoted", key', "k", "k2"],
        note=["", "comma, inside", "# not a comment", "x"],
    )


def _assert_same(a: GapData, b: GapData) -> None:
    assert a.n == b.n
    np.testing.assert_array_equal(np.asarray(a.sheet), np.asarray(b.sheet))
    for name in ("theta", "gap", "sigma", "temperature"):
        np.testing.assert_allclose(np.asarray(getattr(a, name)), np.asarray(getattr(b, name)), rtol=1e-15, atol=0)
        np.testing.assert_array_equal(np.isnan(getattr(a, name)), np.isnan(getattr(b, name)))
    assert a.source == b.source
    assert a.note == b.note


# --------------------------------------------------------------------------- round trip


def test_round_trip(tmp_path):
    data = _example()
    path = tmp_path / "gaps.csv"
    text = data.to_csv(path, header="written by a test\n\nsecond line")
    assert path.read_text() == text
    assert text.splitlines()[0] == "# written by a test"
    back = load_gap_data(path)
    _assert_same(data, back)
    assert back.sheet_names == ("alpha", "beta", "unassigned", "alpha")
    np.testing.assert_array_equal(back.is_avg, [False, False, True, False])
    np.testing.assert_allclose(back.gap_meV, [19.0, 7.0, 18.0, 0.1234567891234], rtol=1e-15)
    np.testing.assert_allclose(back.temperature_K, [0.0, 4.2, 1.5, 300.0], rtol=1e-15)
    # a second round trip reproduces the text exactly
    assert back.to_csv() == data.to_csv()


def test_columns_any_order_comments_and_optional_note(tmp_path):
    path = tmp_path / "reordered.csv"
    path.write_text(
        "# comment\n\n"
        "source , gap_meV,sheet,theta_deg,temperature_K,uncertainty_meV\n"
        "   # indented comment\n"
        "S1,5,beta,avg,0,0.5\n"
        '"S2, with comma",6, alpha ,90,10,1\n'
    )
    d = load_gap_data(path)
    assert d.n == 2
    assert d.source == ("S1", "S2, with comma")
    assert d.note == ("", "")
    np.testing.assert_array_equal(d.sheet, [1, 0])
    assert np.isnan(d.theta[0]) and d.theta[1] == pytest.approx(np.pi / 2, rel=1e-15)
    np.testing.assert_allclose(d.gap, [5e-3, 6e-3], rtol=1e-15)
    np.testing.assert_allclose(d.temperature, [0.0, 10 * K_B], rtol=1e-15)


def test_header_only_gives_empty(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("# nothing yet\n" + HEADER + "\n")
    d = load_gap_data(path)
    assert d.n == 0 and len(d) == 0
    assert load_gap_data(_write(tmp_path, d.to_csv())).n == 0


def _write(tmp_path, text, name="bad_gaps.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- validation

# (header, bad row, column the error must name); the bad row is on line 4 (line 3 is good)
_BAD = {
    "missing column": (HEADER.replace("uncertainty_meV,", ""), None, "uncertainty_meV"),
    "missing source column": ("sheet,theta_deg,gap_meV,uncertainty_meV,temperature_K", None, "source"),
    "unknown column": (HEADER + ",gap_mev", None, "gap_mev"),
    "duplicate column": (HEADER + ",sheet", None, "sheet"),
    "unknown sheet": (HEADER, "gamma,10,12.5,1.5,4.2,K,", "sheet"),
    "capitalised sheet": (HEADER, "Alpha,10,12.5,1.5,4.2,K,", "sheet"),
    "empty sheet": (HEADER, ",10,12.5,1.5,4.2,K,", "sheet"),
    "non-numeric theta": (HEADER, "alpha,diag,12.5,1.5,4.2,K,", "theta_deg"),
    "missing theta": (HEADER, "alpha,,12.5,1.5,4.2,K,", "theta_deg"),
    "nan theta": (HEADER, "alpha,nan,12.5,1.5,4.2,K,", "theta_deg"),
    "negative theta": (HEADER, "alpha,-1,12.5,1.5,4.2,K,", "theta_deg"),
    "theta above 360": (HEADER, "alpha,360.5,12.5,1.5,4.2,K,", "theta_deg"),
    "non-numeric gap": (HEADER, "alpha,10,abc,1.5,4.2,K,", "gap_meV"),
    "missing gap": (HEADER, "alpha,10,,1.5,4.2,K,", "gap_meV"),
    "nan gap": (HEADER, "alpha,10,NaN,1.5,4.2,K,", "gap_meV"),
    "inf gap": (HEADER, "alpha,10,inf,1.5,4.2,K,", "gap_meV"),
    "zero gap": (HEADER, "alpha,10,0,1.5,4.2,K,", "gap_meV"),
    "negative gap": (HEADER, "alpha,10,-3,1.5,4.2,K,", "gap_meV"),
    "missing uncertainty": (HEADER, "alpha,10,12.5,,4.2,K,", "uncertainty_meV"),
    "zero uncertainty": (HEADER, "alpha,10,12.5,0,4.2,K,", "uncertainty_meV"),
    "negative uncertainty": (HEADER, "alpha,10,12.5,-1,4.2,K,", "uncertainty_meV"),
    "inf uncertainty": (HEADER, "alpha,10,12.5,-inf,4.2,K,", "uncertainty_meV"),
    "non-numeric uncertainty": (HEADER, "alpha,10,12.5,1.5 meV,4.2,K,", "uncertainty_meV"),
    "negative temperature": (HEADER, "alpha,10,12.5,1.5,-0.1,K,", "temperature_K"),
    "nan temperature": (HEADER, "alpha,10,12.5,1.5,nan,K,", "temperature_K"),
    "missing temperature": (HEADER, "alpha,10,12.5,1.5,,K,", "temperature_K"),
    "empty source": (HEADER, "alpha,10,12.5,1.5,4.2,,", "source"),
    "too few fields": (HEADER, "alpha,10,12.5,1.5", "temperature_K"),
    "too many fields": (HEADER, "alpha,10,12.5,1.5,4.2,K,note,extra", "note"),
}


@pytest.mark.parametrize("case", list(_BAD))
def test_validation_errors(tmp_path, case):
    header, row, column = _BAD[case]
    if row is None:  # header error: the header is on line 2
        text = f"# leading comment\n{header}\n{GOOD_ROW}\n"
        line = 2
    else:
        text = f"# leading comment\n{header}\n{GOOD_ROW}\n{row}\n{GOOD_ROW}\n"
        line = 4
    path = _write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        load_gap_data(path)
    msg = str(info.value)
    assert str(path) in msg and "bad_gaps.csv" in msg
    assert f"line {line}:" in msg
    assert f"column '{column}'" in msg


def test_the_good_rows_of_the_validation_file_load(tmp_path):
    other = GOOD_ROW.replace(",10,", ",20,", 1)
    d = load_gap_data(_write(tmp_path, f"# leading comment\n{HEADER}\n{GOOD_ROW}\n{other}\n"))
    assert d.n == 2
    assert d.theta_deg[0] == pytest.approx(10.0, rel=1e-15) and d.theta_deg[1] == pytest.approx(20.0)
    assert d.note == ("fine", "fine")
    # the same measurement twice would count twice in chi^2: refused with both lines named
    with pytest.raises(ValueError, match=r"line 4: column '\(row\)': duplicate of line 3"):
        load_gap_data(_write(tmp_path, f"# leading comment\n{HEADER}\n{GOOD_ROW}\n{GOOD_ROW}\n"))


def test_angle_bounds_inclusive_and_avg(tmp_path):
    rows = "\n".join(f"beta,{t},1,1,0,K," for t in ("0", "360", "avg", "45.5"))
    d = load_gap_data(_write(tmp_path, f"{HEADER}\n{rows}\n"))
    np.testing.assert_allclose(d.theta_deg, [0.0, 360.0, np.nan, 45.5], rtol=1e-15)


def test_empty_file_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"empty\.csv: line 1: column"):
        load_gap_data(_write(tmp_path, "# only a comment\n", name="empty.csv"))
    with pytest.raises(FileNotFoundError):
        load_gap_data(tmp_path / "nope.csv")


def test_gapdata_constructor_validates():
    good = _example()
    kw = {name: np.asarray(getattr(good, name)) for name in ("sheet", "theta", "gap", "sigma", "temperature")}
    kw.update(source=good.source, note=good.note)
    GapData(**kw)
    for name, bad in [
        ("sheet", [0, 1, 2, 0]),
        ("theta", [0.0, -0.1, np.nan, 1.0]),
        ("theta", [0.0, 7.0, np.nan, 1.0]),
        ("gap", [1e-3, 0.0, 1e-3, 1e-3]),
        ("gap", [1e-3, np.nan, 1e-3, 1e-3]),
        ("sigma", [1e-3, -1e-3, 1e-3, 1e-3]),
        ("temperature", [0.0, -1e-5, 0.0, 0.0]),
        ("temperature", [0.0, np.inf, 0.0, 0.0]),
        ("gap", [1e-3, 1e-3, 1e-3]),
        ("source", ["a", "", "c", "d"]),
        ("note", ["a", "line\nbreak", "c", "d"]),
        ("source", "a string"),
    ]:
        with pytest.raises(ValueError, match=name):
            GapData(**{**kw, name: bad})


# --------------------------------------------------------------------------- GapData API


def test_subset_and_concatenate():
    d = _example()
    a = d.subset(d.sheet_mask("alpha"))
    assert a.n == 2 and set(a.sheet_names) == {"alpha"}
    assert a.source == ("Fan2025 arXiv:2506.01788", "k2")
    b = d.subset([2, 1])
    assert b.sheet_names == ("unassigned", "beta")
    assert d.subset(np.zeros(d.n, bool)).n == 0
    assert d.subset([]).n == 0
    _assert_same(GapData.concatenate([d.subset([0, 1]), d.subset([2, 3])]), d)
    with pytest.raises(ValueError):
        d.subset(np.ones(3, bool))
    with pytest.raises(ValueError):
        d.sheet_mask("gamma")
    assert "n=4" in repr(d)


def test_gapdata_is_a_pytree():
    d = _example()
    leaves = jax.tree_util.tree_leaves(d)
    assert len(leaves) == 5
    dj = jax.tree_util.tree_map(jnp.asarray, d)
    assert dj.source == d.source

    @jax.jit
    def chi2(data, model):
        return jnp.sum(((data.gap - model) / data.sigma) ** 2)

    assert float(chi2(d, d.gap)) == 0.0


# --------------------------------------------------------------------------- bundled data


def test_bundled_loads_with_both_sheets():
    assert "nickelate_gaps" in bundled_datasets()
    d = load_bundled()
    assert d.n >= 2
    for sheet in ("alpha", "beta"):
        assert d.sheet_mask(sheet).any()
    alpha, beta = d.subset(d.sheet_mask("alpha")), d.subset(d.sheet_mask("beta"))
    # the STM two-gap values of Fan et al. (larger gap -> alpha, as in the triplon paper)
    np.testing.assert_allclose(alpha.gap_meV, [19.0], rtol=1e-12)
    np.testing.assert_allclose(beta.gap_meV, [7.0], rtol=1e-12)
    np.testing.assert_allclose(alpha.sigma_meV, [2.0], rtol=1e-12)
    np.testing.assert_allclose(beta.sigma_meV, [1.0], rtol=1e-12)
    assert all("2506.01788" in s for s in d.source)
    assert np.all(d.is_avg)
    assert np.all(np.asarray(d.temperature) == 0.0)


def test_bundled_unknown_name():
    with pytest.raises(ValueError, match="nickelate_gaps"):
        load_bundled("no_such_data")


def test_bundled_commented_rows_are_valid(tmp_path):
    """The rows left out (commented) in the bundled CSV are valid when a user opts in."""
    text = resources.files("jaxnickel.datasets").joinpath("nickelate_gaps.csv").read_text()
    opted = "\n".join(line[2:] if line.startswith("# unassigned,") else line for line in text.splitlines())
    d = load_gap_data(_write(tmp_path, opted, name="opted.csv"))
    assert d.n == load_bundled().n + 3
    assert d.sheet_mask("unassigned").sum() == 3


def test_bundled_readme_is_packaged():
    readme = resources.files("jaxnickel.datasets").joinpath("README.md").read_text()
    assert "Nothing in this folder has been checked against the original papers" in readme


# --------------------------------------------------------------------------- synthetic data


@pytest.fixture(scope="module")
def solution():
    from jaxnickel.triplon import make_params, solve

    s = solve(make_params(n_c=0.45, lam=0.3, grid=64), 64, "fixed-point")
    assert s.channel_name == "s+-"
    return s


def _model_abs(solution, sheet, thetas_deg):
    """|Delta| on the solution's 1-degree grid on [0, 90], mapped by C4 (angles: integers)."""
    fs = np.abs(np.asarray(getattr(solution, f"delta_{sheet}_fs")))
    idx = np.asarray(thetas_deg).astype(int) % 90
    return fs[idx]


def test_synthetic_within_noise(solution):
    thetas = np.arange(0, 361, 15)
    sigma = 0.5
    d = synthetic_gap_data(solution, thetas, sigma, rng_seed=1)
    n = thetas.size
    assert d.n == 2 * n
    assert d.sheet_names == ("alpha",) * n + ("beta",) * n
    np.testing.assert_allclose(d.theta_deg, np.tile(thetas, 2), rtol=1e-14, atol=1e-12)
    np.testing.assert_allclose(d.sigma_meV, sigma, rtol=1e-14)
    assert np.all(np.asarray(d.temperature) == 0.0)
    exact = np.concatenate([_model_abs(solution, "alpha", thetas), _model_abs(solution, "beta", thetas)]) * 1e3
    z = (d.gap_meV - exact) / sigma
    assert np.all(np.abs(z) < 5.0)
    assert 0.3 < np.std(z) < 2.0
    assert np.any(z != 0.0)


def test_synthetic_reproducible(solution, tmp_path):
    kw = dict(thetas_deg=[0.0, 30.0, 45.0, 200.0], sigma_meV=[1.0, 2.0, 1.0, 0.5], sheets=("beta",), temperature_K=4.2)
    a = synthetic_gap_data(solution, rng_seed=7, **kw)
    b = synthetic_gap_data(solution, rng_seed=7, **kw)
    c = synthetic_gap_data(solution, rng_seed=8, **kw)
    np.testing.assert_array_equal(a.gap, b.gap)
    assert not np.array_equal(a.gap, c.gap)
    assert a.sheet_names == ("beta",) * 4
    np.testing.assert_allclose(a.sigma_meV, [1.0, 2.0, 1.0, 0.5], rtol=1e-14)
    np.testing.assert_allclose(a.temperature_K, 4.2, rtol=1e-14)
    # synthetic data survive the CSV round trip
    path = tmp_path / "synthetic.csv"
    a.to_csv(path)
    _assert_same(a, load_gap_data(path))


def test_synthetic_tiny_sigma_is_exact(solution):
    """sigma -> 0: the samples are |Delta| on the Fermi surface (to 1e-12 relative)."""
    grid_deg = np.degrees(np.asarray(solution.theta))
    d = synthetic_gap_data(solution, grid_deg, 1e-12, rng_seed=0)
    exact = np.abs(np.concatenate([np.asarray(solution.delta_alpha_fs), np.asarray(solution.delta_beta_fs)]))
    np.testing.assert_allclose(np.asarray(d.gap), exact, rtol=1e-12, atol=0)
    # any angle in [0, 360] (C4v images of the grid), exact evaluation, no folding
    for shift in (90.0, 180.0, 270.0):
        rot = synthetic_gap_data(solution, grid_deg + shift, 1e-12, rng_seed=0)
        np.testing.assert_allclose(np.asarray(rot.gap), exact, rtol=1e-12, atol=0)
    mirrored = synthetic_gap_data(solution, 90.0 - grid_deg[::-1], 1e-12, rng_seed=0, sheets=("alpha",))
    np.testing.assert_allclose(np.asarray(mirrored.gap), exact[: grid_deg.size], rtol=1e-12, atol=0)
    # the diagonal is the minimum of both gaps in the s+- state at this point
    for sheet in ("alpha", "beta"):
        g = np.asarray(d.subset(d.sheet_mask(sheet)).gap)
        assert np.argmin(g) == 45


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(sigma_meV=0.0), "sigma_meV"),
        (dict(sigma_meV=-1.0), "sigma_meV"),
        (dict(sigma_meV=np.nan), "sigma_meV"),
        (dict(thetas_deg=[10.0, 361.0]), "thetas_deg"),
        (dict(thetas_deg=[-5.0]), "thetas_deg"),
        (dict(thetas_deg=[]), "thetas_deg"),
        (dict(sheets=("gamma",)), "sheets"),
        (dict(sheets=()), "sheets"),
        (dict(temperature_K=-1.0), "temperature_K"),
        (dict(sigma_meV=1e3), "lower sigma_meV"),
    ],
)
def test_synthetic_errors(solution, kwargs, match):
    args = dict(thetas_deg=[0.0, 45.0], sigma_meV=0.1, rng_seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        synthetic_gap_data(solution, **args)


def test_synthetic_rejects_non_solution():
    with pytest.raises(ValueError, match="TriplonSolution"):
        synthetic_gap_data(object(), [0.0], 1.0, 0)


def test_constants():
    assert K_B == 8.617333262e-5
    assert SHEETS == {"alpha": 0, "beta": 1, "unassigned": -1}
    assert COLUMNS[-1] == "note"
