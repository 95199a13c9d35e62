"""STM spectra files: Nanonis .dat (written, read back through nanonis-xarray), the CSV format, bad input."""

from __future__ import annotations

import hashlib
import json
import re
import sys

import numpy as np
import pytest

from jaxnickel.spectra import (
    DEFAULT_CHANNEL,
    Spectrum,
    SpectrumSet,
    load_spectra,
    read_nanonis,
    read_spectrum_csv,
    write_nanonis_dat,
)

pytest.importorskip("nanonis_xarray")

V = np.linspace(-0.02, 0.02, 41)  # volts
H = V[1] - V[0]


def _curve(v):
    """A gap-like conductance shape (A, lock-in units)."""
    return 1e-12 * (1.0 + 0.5 * np.tanh(v / 0.005) ** 2)


# per-curve offsets, (sweep, direction): known, not symmetric about zero
OFFSETS = 1e-14 * np.array([[0.0, 1.0], [3.0, -2.0], [0.5, 4.0]])


def _six_curves():
    return _curve(V)[None, None, :] + OFFSETS[:, :, None]


# ---------------------------------------------------------------------- Nanonis round trips


def test_round_trip_three_sweeps_two_directions(tmp_path):
    curves = _six_curves()
    current = 1e-9 * np.sin(40 * V)[None, None, :] + 0 * curves
    path = write_nanonis_dat(
        tmp_path / "series.dat",
        V,
        {"Current": current, "LI Demod 1 X": curves},
        header={"Temperature 1>Temperature 1 (K)": 4.2},
    )
    sset = load_spectra(path)
    assert isinstance(sset, SpectrumSet) and len(sset) == 1
    assert sset.format == "nanonis-dat"
    assert sset.path == str(path)
    assert sset.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    s = sset.spectra[0]
    assert s.bias_mV.dtype == np.float64 and s.didv.dtype == np.float64
    np.testing.assert_allclose(s.bias_mV, V * 1e3, rtol=1e-15, atol=0)
    expected = np.mean(curves.reshape(6, -1), axis=0)
    np.testing.assert_allclose(s.didv, expected, rtol=1e-12, atol=0)
    # the mean of the six is the curve plus the mean offset (the [AVG] columns are not read twice)
    np.testing.assert_allclose(s.didv, _curve(V) + OFFSETS.mean(), rtol=1e-12, atol=0)
    assert s.sigma is None
    assert s.units == "A"
    assert s.temperature_K == pytest.approx(4.2, abs=1e-12)
    assert s.meta["temperature_source"] == "header"
    assert s.meta["channel"] == "LI Demod 1 X"
    assert s.meta["n_curves"] == 6
    assert s.meta["n_sweeps"] == 3
    assert s.meta["directions"] == ["fw", "bw"]
    # pooled standard error of the mean, computed independently: the offsets are constant in bias,
    # so the per-point sample variance across curves is var(offsets) at every point
    pooled = np.sqrt(np.var(OFFSETS.ravel(), ddof=1) / 6)
    assert s.meta["pooled_sweep_sigma"] == pytest.approx(pooled, rel=1e-9)
    # and the definition, straight from the six curves
    direct = np.sqrt(np.mean(np.var(curves.reshape(6, -1), axis=0, ddof=1)) / 6)
    assert s.meta["pooled_sweep_sigma"] == pytest.approx(direct, rel=1e-9)
    json.dumps(s.meta)  # JSON-able
    assert sset.temperatures_K == (s.temperature_K,)
    # the argument wins over the header
    s2 = read_nanonis(path, temperature_K=1.5).spectra[0]
    assert s2.temperature_K == 1.5 and s2.meta["temperature_source"] == "argument"


def test_single_forward_sweep(tmp_path):
    y = _curve(V)
    path = write_nanonis_dat(tmp_path / "one.dat", V, {"Current": 1e-10 * V, "LI Demod 1 X": y})
    s = read_nanonis(path).spectra[0]
    np.testing.assert_allclose(s.didv, y, rtol=1e-15, atol=0)
    assert s.meta["n_curves"] == 1
    assert s.meta["n_sweeps"] == 1
    assert s.meta["directions"] == ["fw"]
    assert s.meta["pooled_sweep_sigma"] is None
    assert s.temperature_K is None and s.meta["temperature_source"] is None
    # the file really has the single-sweep layout: no sweep index, no [bwd], no [AVG]
    table_header = path.read_text().split("[DATA]\n")[1].splitlines()[0]
    assert table_header == "Bias calc (V)\tCurrent (A)\tLI Demod 1 X (A)"


def test_decreasing_bias_is_sorted(tmp_path):
    y = _curve(V) * (1 + V)  # not symmetric, so a wrong order would show
    path = write_nanonis_dat(tmp_path / "down.dat", V[::-1], {"LI Demod 1 X": y[::-1]})
    s = load_spectra(path).spectra[0]
    assert np.all(np.diff(s.bias_mV) > 0)
    np.testing.assert_allclose(s.bias_mV, V * 1e3, rtol=1e-15, atol=0)
    np.testing.assert_allclose(s.didv, y, rtol=1e-15, atol=0)


def test_derivative_of_current(tmp_path):
    a, b = 1e-7, 1e-9  # I = a V^3 + b V  (A, V)
    current = a * V**3 + b * V
    fw_bw = np.stack([current, current])[None]  # one sweep, both directions
    path = write_nanonis_dat(tmp_path / "iv.dat", V, {"Current": fw_bw, "LI Demod 1 X": 0 * fw_bw})
    s = load_spectra(path, channel="current", derivative=True).spectra[0]  # case-insensitive name
    assert s.units == "S" and s.meta["derivative"] is True and s.meta["channel"] == "Current"
    exact = 3 * a * V**2 + b
    # central differences on a uniform grid: (I(V+h) - I(V-h)) / 2h = I' + I''' h^2 / 6 = I' + a h^2 exactly
    # for a cubic; rounding of the data (~1e-16 relative of |I| <= 1e-11 A) over 2h adds < 1e-22 S
    err = s.didv[1:-1] - exact[1:-1]
    np.testing.assert_allclose(err, a * H**2, rtol=1e-3, atol=0)
    assert np.max(np.abs(err)) <= 1.001 * a * H**2
    # one-sided first-order ends: error (I''/2) h + O(h^2) = 3 a |V| h + a h^2
    end_err = np.abs(s.didv[[0, -1]] - exact[[0, -1]])
    assert np.all(end_err <= 3 * a * abs(V[0]) * H + a * H**2 + 1e-20)


REALISTIC_DAT = (
    "Experiment\tbias spectroscopy\t\n"
    "Saved Date\t02.12.2026 10:00:05\t\n"
    "User\t\t\n"
    "Date\t02.12.2026 10:00:00\t\n"
    "X (m)\t1.2345E-9\t\n"
    "Y (m)\t-3.2E-9\t\n"
    "Z (m)\t-1.1E-8\t\n"
    "Z offset (m)\t0E+0\t\n"
    "Settling time (s)\t2E-3\t\n"
    "Integration time (s)\t15E-3\t\n"
    "Z-Ctrl hold\tTRUE\t\n"
    "Final Z (m)\tN/A\t\n"
    "Filter type\tGaussian\t\n"
    "Order\t4\t\n"
    "Cutoff frq\t\t\n"
    "Bias Spectroscopy>Channels\tCurrent (A);LI Demod 1 X (A)\t\n"
    "Bias Spectroscopy>Reset Bias\tTRUE\t\n"
    "Bias Spectroscopy>Record final Z\tFALSE\t\n"
    "Bias Spectroscopy>Lock-In run\tTRUE\t\n"
    "Bias Spectroscopy>Sweep Start (V)\t-20E-3\t\n"
    "Bias Spectroscopy>Sweep End (V)\t20E-3\t\n"
    "Bias Spectroscopy>Num Pixel\t5\t\n"
    "Bias Spectroscopy>Number of sweeps\t2\t\n"
    "Bias Spectroscopy>backward sweep\tFALSE\t\n"
    "Bias Spectroscopy>Z-controller hold\tTRUE\t\n"
    "Bias Spectroscopy>MultiLine Settings : Integration (ms), Settling (ms), Segment Start (V), "
    "Segment End (V), Steps (xn), Lockin, Init. Settling (ms)\t0.1,0.2,-0.02,0.02,5,1,0.3\t\n"
    "Lock-in>Lock-in status\tON\t\n"
    "Lock-in>Modulated signal\tBias (V)\t\n"
    "Lock-in>Frequency (Hz)\t973E+0\t\n"
    "Lock-in>Amplitude\t500E-6\t\n"
    "Temperature 1>Temperature 1 (K)\t4.3E+0\t\n"
    "NanonisMain>Session Path\tC:\\Users\\stm\\Documents\\Session 2026\t\n"
    "NanonisMain>SW Version\tGeneric 5\t\n"
    "NanonisMain>UI Release\t10771\t\n"
    "\n"
    "[DATA]\n"
    "Bias calc (V)\tCurrent [00001] (A)\tLI Demod 1 X [00001] (A)\tCurrent [00002] (A)\tLI Demod 1 X [00002] (A)"
    "\tCurrent [AVG] (A)\tLI Demod 1 X [AVG] (A)\n"
    "-2.000000E-2\t-3.1E-10\t2.00E-12\t-3.3E-10\t2.20E-12\t9.9E+0\t9.9E+0\n"
    "-1.000000E-2\t-1.5E-10\t1.10E-12\t-1.6E-10\t1.30E-12\t9.9E+0\t9.9E+0\n"
    "0.000000E+0\t1E-13\t.5E-12\t-1E-13\t0.7E-12\t9.9E+0\t9.9E+0\n"
    "1.000000E-2\t1.5E-10\t1.20E-12\t1.6E-10\t1.40E-12\t9.9E+0\t9.9E+0\n"
    "2.000000E-2\t3.1E-10\t2.10E-12\t3.3E-10\t2.30E-12\t9.9E+0\t9.9E+0\n"
)


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_realistic_nanonis_header(tmp_path, newline):
    path = tmp_path / "Bias-Spectroscopy00042.dat"
    path.write_bytes(REALISTIC_DAT.replace("\n", newline).encode("utf-8"))
    s = load_spectra(path).spectra[0]
    np.testing.assert_allclose(s.bias_mV, [-20.0, -10.0, 0.0, 10.0, 20.0], rtol=1e-15, atol=1e-15)
    # the mean of the two sweeps; the bogus [AVG] columns (9.9) are ignored
    np.testing.assert_allclose(s.didv, [2.1e-12, 1.2e-12, 0.6e-12, 1.3e-12, 2.2e-12], rtol=1e-12, atol=0)
    assert s.meta["n_curves"] == 2 and s.meta["n_sweeps"] == 2 and s.meta["directions"] == ["fw"]
    assert s.meta["pooled_sweep_sigma"] == pytest.approx(np.sqrt(np.mean([0.02e-24] * 5) / 2), rel=1e-9)
    assert s.temperature_K == pytest.approx(4.3)
    assert s.meta["temperature_source"] == "header"
    assert s.meta["channels"] == ["Current", "LI Demod 1 X"]
    assert s.meta["experiment"] == "bias spectroscopy"
    assert s.meta["date"] == "2026-12-02T10:00:00"
    json.dumps(s.meta)
    i = load_spectra(path, channel="CURRENT").spectra[0]
    np.testing.assert_allclose(i.didv, [-3.2e-10, -1.55e-10, 0.0, 1.55e-10, 3.2e-10], rtol=1e-12, atol=1e-25)


# ---------------------------------------------------------------------- CSV


def test_csv_single_spectrum(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("\ufeff# a comment\n\nbias_mV,dIdV\n1.0,0.5\n  # indented comment\n-1E0,.25\n0,-2.5e+01\n")
    sset = load_spectra(path)
    assert sset.format == "csv" and len(sset) == 1
    s = sset.spectra[0]
    np.testing.assert_array_equal(s.bias_mV, [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(s.didv, [0.25, -25.0, 0.5])
    assert s.sigma is None and s.units == "arb"
    assert s.temperature_K is None and s.meta["temperature_source"] is None
    assert s.meta["pooled_sweep_sigma"] is None
    s = read_spectrum_csv(path, temperature_K=2.0).spectra[0]
    assert s.temperature_K == 2.0 and s.meta["temperature_source"] == "argument"


def test_csv_with_sigma(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("sigma,dIdV,bias_mV\n0.1,1.0,2.0\n0.2,2.0,1.0\n0.3,3.0,3.0\n")
    s = read_spectrum_csv(path).spectra[0]
    np.testing.assert_array_equal(s.bias_mV, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(s.didv, [2.0, 1.0, 3.0])
    np.testing.assert_array_equal(s.sigma, [0.2, 0.1, 0.3])


def test_csv_temperature_series_and_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    temps = [10.0, 1.5, 4.2]
    rows = [(b, 1.0 + 0.01 * b + t, 0.01 + 0.001 * t, t) for t in temps for b in (-2.0, -1.0, 0.0, 1.0, 2.0)]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    text = "bias_mV,dIdV,sigma,T_K\n" + "".join(f"{b!r},{g!r},{s!r},{t!r}\n" for b, g, s, t in rows)
    path = tmp_path / "series.csv"
    path.write_text(text)
    sset = load_spectra(path)
    assert len(sset) == 3
    assert sset.temperatures_K == (1.5, 4.2, 10.0)
    for s in sset.spectra:
        t = s.temperature_K
        np.testing.assert_array_equal(s.bias_mV, [-2.0, -1.0, 0.0, 1.0, 2.0])
        np.testing.assert_array_equal(s.didv, 1.0 + 0.01 * s.bias_mV + t)
        np.testing.assert_array_equal(s.sigma, np.full(5, 0.01 + 0.001 * t))
        assert s.meta["temperature_source"] == "csv column"
    # to_csv -> read back: the same numbers
    out = tmp_path / "again.csv"
    text2 = sset.to_csv(out)
    assert out.read_text() == text2
    assert text2.splitlines()[1] == "bias_mV,dIdV,sigma,T_K"
    again = read_spectrum_csv(out)
    assert again.temperatures_K == sset.temperatures_K
    for s, r in zip(sset.spectra, again.spectra, strict=True):
        np.testing.assert_array_equal(s.bias_mV, r.bias_mV)
        np.testing.assert_array_equal(s.didv, r.didv)
        np.testing.assert_array_equal(s.sigma, r.sigma)


def test_to_csv_of_a_nanonis_spectrum(tmp_path):
    path = write_nanonis_dat(tmp_path / "x.dat", V, {"LI Demod 1 X": _six_curves()})
    sset = read_nanonis(path, temperature_K=4.2)
    text = sset.to_csv()
    assert text.splitlines()[1] == "bias_mV,dIdV,T_K"  # no sigma: Nanonis gives none
    sset.to_csv(tmp_path / "x.csv")
    back = read_spectrum_csv(tmp_path / "x.csv").spectra[0]
    np.testing.assert_array_equal(back.bias_mV, sset.spectra[0].bias_mV)
    np.testing.assert_array_equal(back.didv, sset.spectra[0].didv)
    assert back.temperature_K == 4.2 and back.units == "arb"
    # several spectra without temperatures cannot be told apart in one CSV
    s = sset.spectra[0]
    two = SpectrumSet((Spectrum(s.bias_mV, s.didv), Spectrum(s.bias_mV, s.didv)))
    with pytest.raises(ValueError, match="distinct temperatures"):
        two.to_csv()


def test_spectrum_checks_its_arrays():
    with pytest.raises(ValueError, match="strictly increasing"):
        Spectrum(np.array([0.0, 2.0, 1.0]), np.zeros(3))
    with pytest.raises(ValueError, match="shape"):
        Spectrum(np.arange(3.0), np.zeros(4))
    with pytest.raises(ValueError, match="sigma must be finite and > 0"):
        Spectrum(np.arange(3.0), np.zeros(3), sigma=np.array([1.0, 0.0, 1.0]))


# ---------------------------------------------------------------------- bad input


DAT_LINES = [
    "Experiment\tbias spectroscopy\t",  # 1
    "Date\t02.12.2026 10:00:00\t",  # 2
    "Temperature 1>Temperature 1 (K)\t4.2\t",  # 3
    "",  # 4
    "[DATA]",  # 5
    "Bias calc (V)\tCurrent (A)\tLI Demod 1 X (A)",  # 6
    "-0.01\t-1E-10\t2.0E-12",  # 7
    "0\t0\t1.5E-12",  # 8
    "0.01\t1E-10\t2.0E-12",  # 9
    "0.02\t2E-10\t2.5E-12",  # 10
]


def _dat(replace: dict | None = None, drop=(), insert: dict | None = None) -> bytes:
    """DAT_LINES with lines (1-based) replaced / dropped / inserted before, as bytes."""
    out = []
    for k, line in enumerate(DAT_LINES, start=1):
        if insert and k in insert:
            out.append(insert[k])
        if k in drop:
            continue
        out.append((replace or {}).get(k, line))
    return b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in out)


CSV_GOOD = "bias_mV,dIdV,sigma,T_K\n"

BAD_FILES = [
    # (id, file name, content, kwargs, exception, regex after "<file>: ")
    ("dat-empty", "e.dat", b"", {}, ValueError, r"file is empty"),
    ("dat-no-data-tag", "f.dat", _dat(drop=(5,)), {}, ValueError, r"no '\[DATA\]' line"),
    (
        "dat-data-tag-with-space",
        "f.dat",
        _dat({5: "[DATA] "}),
        {},
        ValueError,
        r"line 5: the '\[DATA\]' line must be exactly",
    ),
    ("dat-no-table-header", "f.dat", _dat(drop=range(6, 11)), {}, ValueError, r"line 5: no table header row"),
    (
        "dat-unknown-channel",
        "f.dat",
        _dat(),
        {"channel": "LI Demod 2 Y"},
        ValueError,
        r"line 6: unknown channel 'LI Demod 2 Y'; available: 'Current', 'LI Demod 1 X'$",
    ),
    (
        "dat-non-monotonic",
        "f.dat",
        _dat({9: "-0.005\t1E-10\t2.0E-12"}),
        {},
        ValueError,
        r"line 9: column 'Bias calc \(V\)': bias not strictly monotonic",
    ),
    (
        "dat-repeated-bias",
        "f.dat",
        _dat({8: "-0.01\t0\t1.5E-12"}),
        {},
        ValueError,
        r"line 8: column 'Bias calc \(V\)': bias not strictly monotonic",
    ),
    (
        "dat-nan",
        "f.dat",
        _dat({8: "0\t0\tNaN"}),
        {},
        ValueError,
        r"line 8: column 'LI Demod 1 X \(A\)': must be finite",
    ),
    (
        "dat-inf",
        "f.dat",
        _dat({8: "0\t-inf\t1E-12"}),
        {},
        ValueError,
        r"line 8: column 'Current \(A\)': must be finite",
    ),
    (
        "dat-underscore",
        "f.dat",
        _dat({8: "0\t1_9\t1E-12"}),
        {},
        ValueError,
        r"line 8: column 'Current \(A\)': not a number: '1_9'",
    ),
    (
        "dat-empty-field",
        "f.dat",
        _dat({8: "0\t\t1E-12"}),
        {},
        ValueError,
        r"line 8: column 'Current \(A\)': empty field",
    ),
    (
        "dat-field-count",
        "f.dat",
        _dat({9: "0.01\t1E-10"}),
        {},
        ValueError,
        r"line 9: expected 3 tab-separated fields .*found 2",
    ),
    (
        "dat-not-utf8",
        "f.dat",
        _dat(insert={3: b"User\tJos\xe9\t"}),
        {},
        ValueError,
        r"line 3: not valid UTF-8: byte 0xe9",
    ),
    ("dat-too-few-rows", "f.dat", _dat(drop=(9, 10)), {}, ValueError, r"line 6: only 2 data rows .*at least 3"),
    (
        "dat-bad-header-line",
        "f.dat",
        _dat({2: "Date\t02.12.2026 10:00:00"}),
        {},
        ValueError,
        r"line 2: header line is not",
    ),
    (
        "dat-unreadable-header-entry",
        "f.dat",
        _dat({3: "Temperature 1>Temperature 1 (K)\t\t"}),
        {},
        ValueError,
        r"line 3: header entry 'Temperature 1>Temperature 1 \(K\)' not readable by nanonis-xarray",
    ),
    (
        "dat-bad-label",
        "f.dat",
        _dat({6: "Bias calc (V)\tCurrent\tLI Demod 1 X (A)"}),
        {},
        ValueError,
        r"line 6: column 'Current': column label is not",
    ),
    (
        "dat-first-column-not-bias",
        "f.dat",
        _dat({6: "Current (A)\tBias calc (V)\tLI Demod 1 X (A)"}),
        {},
        ValueError,
        r"line 6: column 'Current \(A\)': the first column must be the bias",
    ),
    ("dat-bad-temperature-arg", "f.dat", _dat(), {"temperature_K": -1.0}, ValueError, None),
    ("csv-empty", "e.csv", b"\n\n", {}, ValueError, r"file is empty"),
    ("csv-only-comments", "c.csv", b"# nothing\n", {}, ValueError, r"no header row"),
    ("csv-unknown-column", "u.csv", b"bias_mV,dIdV,err\n", {}, ValueError, r"line 1: column 'err': unknown column"),
    (
        "csv-duplicate-column",
        "d.csv",
        b"# x\nbias_mV,dIdV,bias_mV\n",
        {},
        ValueError,
        r"line 2: column 'bias_mV': duplicate column",
    ),
    ("csv-missing-didv", "m.csv", b"bias_mV,sigma\n1,1\n", {}, ValueError, r"line 1: column 'dIdV': missing column"),
    (
        "csv-duplicate-bias",
        "b.csv",
        b"bias_mV,dIdV\n1,1\n2,2\n\n1.0,3\n4,4\n",
        {},
        ValueError,
        r"line 5: column 'bias_mV': duplicate bias 1.0 mV, first at line 2",
    ),
    (
        "csv-sigma-zero",
        "s.csv",
        b"bias_mV,dIdV,sigma\n1,1,1\n2,2,0\n3,3,1\n",
        {},
        ValueError,
        r"line 3: column 'sigma': sigma must be > 0",
    ),
    (
        "csv-sigma-negative",
        "s.csv",
        b"bias_mV,dIdV,sigma\n1,1,-1\n",
        {},
        ValueError,
        r"line 2: column 'sigma': sigma must be > 0",
    ),
    (
        "csv-negative-T",
        "t.csv",
        b"bias_mV,dIdV,T_K\n1,1,4\n2,2,-4\n",
        {},
        ValueError,
        r"line 3: column 'T_K': temperature must be >= 0",
    ),
    (
        "csv-too-few-points",
        "p.csv",
        (CSV_GOOD + "1,1,1,4\n2,1,1,4\n3,1,1,4\n1,1,1,8\n2,1,1,8\n").encode(),
        {},
        ValueError,
        r"line 5: spectrum \(T_K = 8.0\) has 2 points, need at least 3",
    ),
    ("csv-no-rows", "p.csv", b"bias_mV,dIdV\n", {}, ValueError, r"line 1: no data rows"),
    (
        "csv-underscore",
        "n.csv",
        b"bias_mV,dIdV\n1,1_9\n",
        {},
        ValueError,
        r"line 2: column 'dIdV': not a number: '1_9'",
    ),
    ("csv-nan", "n.csv", b"bias_mV,dIdV\nnan,1\n", {}, ValueError, r"line 2: column 'bias_mV': must be finite"),
    ("csv-field-count", "n.csv", b"bias_mV,dIdV\n1,2,3\n", {}, ValueError, r"line 2: column 'dIdV': expected 2 fields"),
    ("csv-not-utf8", "n.csv", b"# ok\nbias_mV,dIdV\n1,2 \xff\n", {}, ValueError, r"line 3: not valid UTF-8: byte 0xff"),
    (
        "csv-T-column-and-argument",
        "n.csv",
        b"bias_mV,dIdV,T_K\n",
        {"temperature_K": 4.2},
        ValueError,
        r"line 1: column 'T_K'",
    ),
    (
        "csv-derivative",
        "n.csv",
        b"bias_mV,dIdV\n1,1\n2,2\n3,3\n",
        {"derivative": True},
        ValueError,
        r"channel and derivative apply to Nanonis \.dat files only",
    ),
    ("unknown-suffix", "spectrum.txt", b"bias_mV,dIdV\n", {}, ValueError, r"unknown file suffix '.txt'; allowed: .dat"),
]


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "exc", "pattern"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_bad_files(tmp_path, name, content, kwargs, exc, pattern):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(exc) as info:
        load_spectra(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    if pattern is None:  # an argument error, not a file error
        return
    assert re.search("^" + re.escape(str(path)) + ": " + pattern, message), message


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.dat"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        load_spectra(path)
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nowhere.csv"))):
        load_spectra(tmp_path / "nowhere.csv")


def test_missing_nanonis_xarray(tmp_path, monkeypatch):
    path = tmp_path / "f.dat"
    path.write_bytes(_dat())
    monkeypatch.setitem(sys.modules, "nanonis_xarray", None)  # makes `import nanonis_xarray` fail
    with pytest.raises(ImportError, match=re.escape('pip install "jaxnickel[spectra]"')) as info:
        read_nanonis(path)
    assert "\n" not in str(info.value)


def test_good_minimal_dat_reads(tmp_path):
    """The template the bad-input cases are made from is itself valid."""
    path = tmp_path / "f.dat"
    path.write_bytes(_dat())
    s = load_spectra(path, channel=DEFAULT_CHANNEL).spectra[0]
    np.testing.assert_allclose(s.didv, [2.0e-12, 1.5e-12, 2.0e-12, 2.5e-12], rtol=1e-15)
    assert s.temperature_K == pytest.approx(4.2)


def test_writer_refuses_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="same shape"):
        write_nanonis_dat(tmp_path / "x.dat", V, {"Current": np.zeros((2, V.size)), "LI Demod 1 X": np.zeros(V.size)})
    with pytest.raises(ValueError, match=r"\(n_sweeps, 2, n_bias\)"):
        write_nanonis_dat(tmp_path / "x.dat", V, {"Current": np.zeros((2, 3, V.size))})
    with pytest.raises(ValueError, match="needs its unit"):
        write_nanonis_dat(tmp_path / "x.dat", V, {"Z": np.zeros(V.size)})
    path = write_nanonis_dat(tmp_path / "z.dat", V, {"Z (m)": 1e-9 * V, "Current": 1e-10 * V})
    s = read_nanonis(path, channel="z").spectra[0]
    assert s.units == "m"
