"""Superconducting-gap data: a validated CSV format, the bundled data set, synthetic data.

CSV format
----------
One record per line (a quoted field may contain commas but not a line break), read
with Python's :mod:`csv` module (comma separated, ``"`` quoting).  Blank lines and
lines whose first non-blank character is ``#`` are comments and are skipped
anywhere in the file.  The first other line is the header; columns may come in any
order, each at most once, and no other columns are allowed (a typo is an error, not
a silently ignored column).

==================  ========  ==========================================================
column              required  meaning
==================  ========  ==========================================================
``sheet``           yes       ``alpha``, ``beta`` or ``unassigned`` (lower case)
``theta_deg``       yes       Fermi-surface angle in degrees, ``0 <= theta <= 360``, or
                              ``avg`` for an angle-averaged / angle-unspecified value
``gap_meV``         yes       gap magnitude ``|Delta|`` in meV, ``0 < gap <= 1000``
``uncertainty_meV`` yes       one-sigma uncertainty in meV, ``1e-13 <= sigma <= 1000`` (an
                              empty field is an error: choose and document one)
``temperature_K``   yes       measurement temperature in K, ``0 <= T <= 11604.5`` (1 eV)
``source``          yes       free-text citation key, not empty
``note``            no        free text (may be empty)
==================  ========  ==========================================================

The angle is the one of :mod:`jaxnickel.triplon.solution` (paper 001, Fig. 2b/4b): the
polar angle around the centre of the sheet's pocket, Gamma for the alpha sheet and
M = (pi, pi) for the beta sheet; ``theta = 45`` deg is the zone diagonal
(``eta_k = cos kx - cos ky = 0``), where both gaps of the s+- state are minimal.
``unassigned`` rows carry a value that is not attributed to a sheet; how (and whether)
they enter a fit is up to the fitting code.

:func:`load_gap_data` checks every row and raises ``ValueError`` with a message of the
form ``"<file>: line <n>: column '<name>': <what is wrong>"`` (line numbers count every
physical line of the file, comments included, starting at 1).

Units inside :class:`GapData` are the package's: radians and eV (temperature too,
``T = K_B * T_kelvin`` with ``K_B = 8.617333262e-5`` eV/K); the CSV is in degrees, meV
and K.

The bundled data set (:func:`load_bundled`) and its provenance and caveats are
described in ``jaxnickel/datasets/README.md``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
from collections.abc import Sequence
from importlib import resources

import equinox as eqx
import numpy as np

from .triplon.params import K_B

__all__ = [
    "K_B",
    "SHEETS",
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "GapData",
    "load_gap_data",
    "load_bundled",
    "bundled_datasets",
    "synthetic_gap_data",
]

#: sheet names and their indices in :attr:`GapData.sheet` (``-1`` for unassigned)
SHEETS = {"alpha": 0, "beta": 1, "unassigned": -1}
_SHEET_NAMES = {v: k for k, v in SHEETS.items()}

#: CSV columns, in the order :meth:`GapData.to_csv` writes them
COLUMNS = ("sheet", "theta_deg", "gap_meV", "uncertainty_meV", "temperature_K", "source", "note")
REQUIRED_COLUMNS = COLUMNS[:-1]

_AVG = "avg"
_MEV = 1e-3  # eV per meV

#: supported ranges (eV) of the gap data: ``(lo, hi, lo excluded)``; see the module docstring
DATA_RANGES_EV = {"gap": (0.0, 1.0, True), "sigma": (1e-16, 1.0, False), "temperature": (0.0, 1.0, False)}
_RANGE_WHY = {
    "gap": "a superconducting gap above 1 eV is not a gap of this model (its bands are ~1 eV wide)",
    "sigma": (
        "an uncertainty below 1e-13 meV is far below any spectroscopy's resolution; the weighted residuals "
        "then exceed 1e14 and the fit loses its precision"
    ),
    "temperature": "the triplon model supports T <= 1 eV = 11604.5 K (jaxnickel.triplon.params.RANGES)",
}


def _is_concrete(x) -> bool:
    """False for JAX tracers (inside jit / vmap / grad), where values cannot be checked."""
    import jax

    return not isinstance(x, jax.core.Tracer)


class GapData(eqx.Module):
    """Gap measurements (or synthetic data) in the package's units.

    A pytree (``equinox.Module``): the five arrays are leaves, ``source`` and ``note``
    are static tuples of strings, so a ``GapData`` can be passed through
    ``jax.jit`` / ``jax.grad`` as it is (``jax.tree_util.tree_map(jnp.asarray, data)``
    gives JAX arrays).

    Attributes (all of length :attr:`n`)
    ------------------------------------
    sheet : int array, 0 alpha, 1 beta, -1 unassigned (:data:`SHEETS`).
    theta : Fermi-surface angle in radians, ``NaN`` for an angle-averaged value.
    gap : gap magnitude in eV (> 0).
    sigma : one-sigma uncertainty in eV (> 0).
    temperature : measurement temperature in eV (``K_B * T_kelvin``, >= 0).
    source, note : tuples of strings.

    The constructor converts to numpy arrays and checks shapes and values (the same
    rules as :func:`load_gap_data`, raising ``ValueError``); the check is skipped
    for traced values.
    """

    sheet: np.ndarray
    theta: np.ndarray
    gap: np.ndarray
    sigma: np.ndarray
    temperature: np.ndarray
    source: tuple[str, ...] = eqx.field(static=True)
    note: tuple[str, ...] = eqx.field(static=True)
    path: str | None = eqx.field(static=True, default=None)
    sha256: str | None = eqx.field(static=True, default=None)

    def __init__(self, sheet, theta, gap, sigma, temperature, source, note=None, *, path=None, sha256=None):
        arrays = {"sheet": sheet, "theta": theta, "gap": gap, "sigma": sigma, "temperature": temperature}
        for name, value in arrays.items():
            if _is_concrete(value):
                value = np.asarray(value, dtype=np.int64 if name == "sheet" else np.float64)
                if value.ndim != 1:
                    raise ValueError(f"GapData.{name} must be one-dimensional, got shape {value.shape}")
            setattr(self, name, value)
        if isinstance(source, str):
            raise ValueError("GapData.source must be a sequence of strings (one per row), not a string")
        self.source = tuple(str(s) for s in source)
        if note is None:
            note = ("",) * len(self.source)
        elif isinstance(note, str):
            raise ValueError("GapData.note must be a sequence of strings (one per row), not a string")
        self.note = tuple(str(s) for s in note)
        self.path = None if path is None else str(path)
        self.sha256 = None if sha256 is None else str(sha256)

    def __check_init__(self):
        n = len(self.source)
        for name in ("sheet", "theta", "gap", "sigma", "temperature", "note"):
            length = len(getattr(self, name))
            if length != n:
                raise ValueError(f"GapData fields must have equal lengths: {name} has {length}, source has {n}")
        for name in ("sheet", "theta", "gap", "sigma", "temperature"):
            if not _is_concrete(getattr(self, name)):
                return
        bad = ~np.isin(self.sheet, list(SHEETS.values()))
        if bad.any():
            raise ValueError(f"GapData.sheet must be 0 (alpha), 1 (beta) or -1 (unassigned), got {self.sheet[bad][0]}")
        deg = np.degrees(self.theta)
        bad = ~np.isnan(deg) & ~((deg >= 0.0) & (deg <= 360.0))
        if bad.any():
            raise ValueError(f"GapData.theta must be in [0, 2 pi] (or NaN for avg), got {self.theta[bad][0]!r} rad")
        for name, (lo, hi, lo_open) in DATA_RANGES_EV.items():
            v = getattr(self, name)
            bad = ~np.isfinite(v) | ((v <= lo) if lo_open else (v < lo)) | (v > hi)
            if bad.any():
                rule = f"{'(' if lo_open else '['}{lo:g}, {hi:g}] eV"
                raise ValueError(
                    f"GapData.{name} must be finite and in {rule}, got {v[bad][0]!r} eV: {_RANGE_WHY[name]}"
                )
        for name in ("source", "note"):
            for s in getattr(self, name):
                if "\n" in s or "\r" in s:
                    raise ValueError(f"GapData.{name} entries must not contain line breaks, got {s!r}")
        for s in self.source:
            if not s.strip():
                raise ValueError("GapData.source entries must not be empty")

    # ------------------------------------------------------------------ views

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.source)

    def __len__(self) -> int:
        return self.n

    @property
    def sheet_names(self) -> tuple[str, ...]:
        """``"alpha"`` / ``"beta"`` / ``"unassigned"`` per row."""
        return tuple(_SHEET_NAMES[int(s)] for s in np.asarray(self.sheet))

    @property
    def is_avg(self) -> np.ndarray:
        """Boolean mask of the angle-averaged rows (``theta`` is NaN)."""
        return np.isnan(np.asarray(self.theta))

    @property
    def theta_deg(self) -> np.ndarray:
        return np.degrees(np.asarray(self.theta))

    @property
    def gap_meV(self) -> np.ndarray:
        return np.asarray(self.gap) / _MEV

    @property
    def sigma_meV(self) -> np.ndarray:
        return np.asarray(self.sigma) / _MEV

    @property
    def temperature_K(self) -> np.ndarray:
        return np.asarray(self.temperature) / K_B

    def sheet_mask(self, sheet: str) -> np.ndarray:
        """Boolean mask of the rows on ``sheet`` (``"alpha"``, ``"beta"`` or ``"unassigned"``)."""
        if sheet not in SHEETS:
            raise ValueError(f"sheet must be one of {tuple(SHEETS)}, got {sheet!r}")
        return np.asarray(self.sheet) == SHEETS[sheet]

    def subset(self, mask) -> GapData:
        """The rows selected by a boolean mask of length :attr:`n` or by integer indices."""
        idx = np.asarray(mask)
        if idx.dtype == bool:
            if idx.shape != (self.n,):
                raise ValueError(f"boolean mask must have shape ({self.n},), got {idx.shape}")
            idx = np.flatnonzero(idx)
        elif idx.size == 0:
            idx = idx.astype(np.int64)
        elif not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"mask must be boolean or integer indices, got dtype {idx.dtype}")
        idx = np.atleast_1d(idx)
        return GapData(
            sheet=np.asarray(self.sheet)[idx],
            theta=np.asarray(self.theta)[idx],
            gap=np.asarray(self.gap)[idx],
            sigma=np.asarray(self.sigma)[idx],
            temperature=np.asarray(self.temperature)[idx],
            source=[self.source[i] for i in idx],
            note=[self.note[i] for i in idx],
        )

    @classmethod
    def concatenate(cls, parts: Sequence[GapData]) -> GapData:
        """All rows of several :class:`GapData`, in order."""
        parts = list(parts)
        if not parts:
            raise ValueError("concatenate needs at least one GapData")
        return cls(
            sheet=np.concatenate([np.asarray(p.sheet) for p in parts]),
            theta=np.concatenate([np.asarray(p.theta) for p in parts]),
            gap=np.concatenate([np.asarray(p.gap) for p in parts]),
            sigma=np.concatenate([np.asarray(p.sigma) for p in parts]),
            temperature=np.concatenate([np.asarray(p.temperature) for p in parts]),
            source=[s for p in parts for s in p.source],
            note=[s for p in parts for s in p.note],
        )

    def rows(self) -> list[dict]:
        """One dict per row in CSV units (``theta_deg`` is ``"avg"`` for averaged values)."""
        names, deg, gap, sig, temp = self.sheet_names, self.theta_deg, self.gap_meV, self.sigma_meV, self.temperature_K
        out = []
        for i in range(self.n):
            th = float(deg[i])
            out.append(
                {
                    "sheet": names[i],
                    "theta_deg": _AVG if math.isnan(th) else th,
                    "gap_meV": float(gap[i]),
                    "uncertainty_meV": float(sig[i]),
                    "temperature_K": float(temp[i]),
                    "source": self.source[i],
                    "note": self.note[i],
                }
            )
        return out

    def to_csv(self, path=None, *, header: str | None = None) -> str:
        """Write the rows in the CSV format of this module; returns the text.

        ``path``: file to write (``None``: only return the text); ``header``: optional
        comment text, written as ``#`` lines before the column header.  Numbers are
        written with ``repr`` (shortest round-tripping decimal), so
        ``load_gap_data(path)`` gives back the same values up to the last bit of the
        meV <-> eV and K <-> eV conversions.
        """
        buf = io.StringIO()
        if header:
            for line in header.splitlines():
                buf.write(f"# {line}\n" if line else "#\n")
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in self.rows():
            writer.writerow([row[c] if isinstance(row[c], str) else repr(row[c]) for c in COLUMNS])
        text = buf.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        return text

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={int(np.sum(self.sheet_mask(k)))}" for k in SHEETS)
        return f"GapData(n={self.n}: {counts}; {int(np.sum(self.is_avg))} angle-averaged)"


# ---------------------------------------------------------------------- loading


def _error(path, line: int, column: str, msg: str) -> ValueError:
    return ValueError(f"{path}: line {line}: column '{column}': {msg}")


def _parse_number(path, line, column, text):
    if text == "":
        raise _error(path, line, column, "missing value")
    if "_" in text:  # Python's float() reads "1_9" as 19: a typo must not become a number
        raise _error(path, line, column, f"not a number: {text!r} (underscores are not allowed)")
    try:
        value = float(text)
    except ValueError:
        raise _error(path, line, column, f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise _error(path, line, column, f"must be finite, got {text!r}")
    return value


def _parse_row(path, line: int, row: dict) -> tuple:
    sheet = row["sheet"]
    if sheet not in SHEETS:
        raise _error(path, line, "sheet", f"unknown sheet {sheet!r}; allowed: {', '.join(SHEETS)}")

    theta_txt = row["theta_deg"]
    if theta_txt == _AVG:
        theta = math.nan
    else:
        deg = _parse_number(path, line, "theta_deg", theta_txt)
        if not 0.0 <= deg <= 360.0:
            raise _error(path, line, "theta_deg", f"angle {deg!r} deg outside [0, 360] (or use 'avg')")
        theta = math.radians(deg)

    gap = _parse_number(path, line, "gap_meV", row["gap_meV"])
    _check_csv_range(path, line, "gap_meV", "gap", gap * _MEV, "gap magnitude")
    sigma = _parse_number(path, line, "uncertainty_meV", row["uncertainty_meV"])
    _check_csv_range(path, line, "uncertainty_meV", "sigma", sigma * _MEV, "uncertainty")
    temp = _parse_number(path, line, "temperature_K", row["temperature_K"])
    _check_csv_range(path, line, "temperature_K", "temperature", temp * K_B, "temperature")
    source = row["source"]
    if not source:
        raise _error(path, line, "source", "missing source")
    return SHEETS[sheet], theta, gap * _MEV, sigma * _MEV, temp * K_B, source, row.get("note", "")


def _check_csv_range(path, line, column, name, value_ev, what) -> None:
    """A CSV value (converted to eV) against :data:`DATA_RANGES_EV`, reported in the column's unit."""
    lo, hi, lo_open = DATA_RANGES_EV[name]
    if (value_ev > lo if lo_open else value_ev >= lo) and value_ev <= hi:
        return
    scale, unit = (K_B, "K") if name == "temperature" else (_MEV, "meV")
    rule = f"{'(' if lo_open else '['}{lo / scale:g}, {hi / scale:g}] {unit}"
    raise _error(path, line, column, f"{what} must be in {rule}, got {value_ev / scale:g}: {_RANGE_WHY[name]}")


def _parse_text(text: str, path) -> GapData:
    header = None
    header_line = None
    records = []
    first_line: dict = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            fields = next(csv.reader([raw], strict=True))
        except csv.Error as exc:
            # e.g. a quoted field left open (line breaks inside fields are not supported)
            column = "sheet" if header is None else "(row)"
            raise _error(path, lineno, column, f"malformed CSV line ({exc})") from None
        fields = [f.strip() for f in fields]
        if header is None:
            header, header_line = fields, lineno
            seen = set()
            for name in header:
                if name in seen:
                    raise _error(path, lineno, name, "duplicate column in header")
                if name not in COLUMNS:
                    raise _error(path, lineno, name, f"unknown column; allowed: {', '.join(COLUMNS)}")
                seen.add(name)
            for name in REQUIRED_COLUMNS:
                if name not in seen:
                    raise _error(path, lineno, name, f"missing column in header {','.join(header)!r}")
            continue
        if len(fields) != len(header):
            # name the first column that is missing, or the last one when there are extra fields
            column = header[len(fields)] if len(fields) < len(header) else header[-1]
            raise _error(path, lineno, column, f"expected {len(header)} fields ({','.join(header)}), got {len(fields)}")
        rec = _parse_row(path, lineno, dict(zip(header, fields, strict=True)))
        key = tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in rec[:5]) + (rec[5],)
        if key in first_line:  # the same measurement twice would count twice in chi^2
            raise _error(
                path,
                lineno,
                "(row)",
                f"duplicate of line {first_line[key]} (same sheet, angle, gap, uncertainty, T, source)",
            )
        first_line[key] = lineno
        records.append(rec)
    if header is None:
        raise _error(path, 1 if header_line is None else header_line, "sheet", "no header line (file is empty)")
    if not records:
        return GapData([], [], [], [], [], [], [])
    sheet, theta, gap, sigma, temp, source, note = zip(*records, strict=True)
    return GapData(sheet, theta, gap, sigma, temp, source, note)


def load_gap_data(path) -> GapData:
    """Read and validate a gap CSV file (format: module docstring).

    Raises ``ValueError`` naming the file, the line and the column for: a missing,
    unknown or duplicated column; a row with the wrong number of fields; an unknown
    sheet; a missing or non-numeric number; NaN or inf; a gap or uncertainty <= 0; a
    negative temperature; an angle outside [0, 360] deg (other than ``avg``); an
    empty source.  A file with a header and no data rows gives an empty
    :class:`GapData`.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ValueError(
            f"{path}, line {line}, character {col}: byte 0x{raw[exc.start]:02x} is not UTF-8 text "
            "(save the file as UTF-8)"
        ) from None
    d = _parse_text(text, path)
    return GapData(
        d.sheet,
        d.theta,
        d.gap,
        d.sigma,
        d.temperature,
        d.source,
        d.note,
        path=os.path.abspath(path),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def bundled_datasets() -> tuple[str, ...]:
    """Names of the data sets shipped in :mod:`jaxnickel.datasets`."""
    root = resources.files("jaxnickel.datasets")
    return tuple(sorted(p.name[: -len(".csv")] for p in root.iterdir() if p.name.endswith(".csv")))


def load_bundled(name: str = "nickelate_gaps") -> GapData:
    """A data set shipped with the package (provenance: ``jaxnickel/datasets/README.md``).

    ``"nickelate_gaps"``: the STM two-gap values on La2PrNi2O7 films (S. Fan et al.,
    arXiv:2506.01788), assigned to alpha (larger gap) and beta as in the triplon paper.
    """
    available = bundled_datasets()
    if name not in available:
        raise ValueError(f"unknown bundled data set {name!r}; available: {', '.join(available)}")
    res = resources.files("jaxnickel.datasets").joinpath(f"{name}.csv")
    with resources.as_file(res) as path:
        return load_gap_data(path)


# ---------------------------------------------------------------------- synthetic


def synthetic_gap_data(
    solution,
    thetas_deg,
    sigma_meV,
    rng_seed,
    sheets: Sequence[str] = ("alpha", "beta"),
    temperature_K: float = 0.0,
) -> GapData:
    """Noisy samples of a model's gap magnitudes on its Fermi surfaces.

    For each sheet in ``sheets`` (in that order) and each angle in ``thetas_deg``
    (degrees in [0, 360], around Gamma for alpha and M for beta, as in
    :mod:`jaxnickel.triplon.solution`) the exact Fermi-surface gap of
    ``solution`` (a :class:`jaxnickel.triplon.TriplonSolution`) is evaluated,
    ``|c0 + c1 eta + c2 eta^2|`` at the Fermi point ``k_F(theta)`` (the same
    evaluation that fills ``solution.delta_*_fs``, no interpolation and no folding
    of the angle), and Gaussian noise of standard deviation ``sigma_meV`` (a scalar,
    or one value per angle) is added with ``numpy.random.default_rng(rng_seed)``.
    The rows carry ``sigma_meV`` as their uncertainty and ``temperature_K`` as
    their temperature (the default 0 does not look at ``solution.params.T``; pass
    ``kelvin`` of it yourself if you mean the solution's temperature).

    Raises ``ValueError`` if a sheet is not a closed pocket (the gap is undefined,
    NaN), if the model gap is zero, or if the noise makes a sample <= 0 (the data
    format holds positive magnitudes; lower ``sigma_meV``).  Requires float64.
    """
    import jax.numpy as jnp

    from .solvers.dtype import require_x64
    from .triplon.solution import TriplonSolution, fermi_surface_gaps

    require_x64()
    if not isinstance(solution, TriplonSolution):
        raise ValueError(f"solution must be a TriplonSolution, got {type(solution).__name__}")
    coeffs = np.asarray(solution.coefficients)
    if coeffs.shape != (6,):
        raise ValueError(f"solution must be a single (unbatched) solution; coefficients have shape {coeffs.shape}")
    if isinstance(sheets, str):
        sheets = (sheets,)
    sheets = tuple(sheets)
    if not sheets:
        raise ValueError("sheets must name at least one of 'alpha', 'beta'")
    for sh in sheets:
        if sh not in ("alpha", "beta"):
            raise ValueError(f"sheets must be 'alpha' or 'beta', got {sh!r}")

    deg = np.atleast_1d(np.asarray(thetas_deg, dtype=np.float64))
    if deg.ndim != 1 or deg.size == 0:
        raise ValueError(f"thetas_deg must be a non-empty 1-d sequence of angles, got shape {deg.shape}")
    if not np.all(np.isfinite(deg) & (deg >= 0.0) & (deg <= 360.0)):
        raise ValueError(f"thetas_deg must be finite and in [0, 360], got {thetas_deg!r}")
    sigma = np.broadcast_to(np.asarray(sigma_meV, dtype=np.float64), deg.shape)
    if not np.all(np.isfinite(sigma) & (sigma > 0.0)):
        raise ValueError(f"sigma_meV must be finite and > 0, got {sigma_meV!r}")
    if not (isinstance(temperature_K, int | float | np.floating | np.integer) and math.isfinite(temperature_K)):
        raise ValueError(f"temperature_K must be a finite number >= 0, got {temperature_K!r}")
    if temperature_K < 0:
        raise ValueError(f"temperature_K must be >= 0, got {temperature_K!r}")

    theta = np.radians(deg)
    exact = []
    for sh in sheets:
        band = SHEETS[sh]
        c = jnp.asarray(coeffs[3 * band : 3 * band + 3])
        gap, _, _ = eqx.filter_jit(fermi_surface_gaps)(solution.params, c, band, jnp.asarray(theta))
        gap = np.abs(np.asarray(gap))
        if not np.all(np.isfinite(gap)):
            raise ValueError(
                f"the {sh} sheet is not a closed pocket around its centre at this parameter point "
                "(Fermi-surface gap undefined)"
            )
        if not np.all(gap > 0.0):
            raise ValueError(f"the model gap on the {sh} sheet is zero (normal state?); nothing to sample")
        exact.append(gap)
    exact = np.concatenate(exact)
    sig_ev = np.tile(sigma, len(sheets)) * _MEV
    rng = np.random.default_rng(rng_seed)
    noisy = exact + sig_ev * rng.standard_normal(exact.shape)
    if not np.all(noisy > 0.0):
        raise ValueError(
            f"the noise made {int(np.sum(noisy <= 0.0))} sample(s) <= 0 (gap magnitudes must be > 0); "
            "lower sigma_meV or change rng_seed"
        )
    n_rows = exact.size
    source = f"synthetic (seed {rng_seed!r})"
    note = f"|Delta| of a TriplonSolution ({solution.method}, grid {solution.grid}) plus Gaussian noise"
    return GapData(
        sheet=np.repeat([SHEETS[sh] for sh in sheets], deg.size),
        theta=np.tile(theta, len(sheets)),
        gap=noisy,
        sigma=sig_ev,
        temperature=np.full(n_rows, float(temperature_K) * K_B),
        source=(source,) * n_rows,
        note=(note,) * n_rows,
    )
