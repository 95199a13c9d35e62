"""STM tunnelling spectra from files: Nanonis bias-spectroscopy ``.dat`` files and a plain CSV.

:func:`load_spectra` picks the reader from the file's suffix (``.dat``: :func:`read_nanonis`,
``.csv``: :func:`read_spectrum_csv`) and returns a :class:`SpectrumSet`: one
:class:`Spectrum` (bias in mV, strictly increasing; dI/dV in the file's units; optional
one-sigma errors; temperature) per temperature.  :func:`write_nanonis_dat` writes
synthetic data in the Nanonis layout (tests, examples); :meth:`SpectrumSet.to_csv` writes
the CSV format.

Errors
------
Every problem with a file raises one ``ValueError`` whose message is a single line of the
form ``"<file>: line <n>: column '<name>': <what is wrong>"`` (the line and column parts
are left out where they do not apply; line numbers count every physical line of the
file, comments and blank lines included, starting at 1; a line ends at ``\\n``,
``\\r\\n`` or ``\\r``).  A missing file raises ``FileNotFoundError("<file>: no such
file")``; reading ``.dat`` files without nanonis-xarray installed raises ``ImportError``
naming ``pip install "jaxnickel[spectra]"``.

Nanonis bias-spectroscopy ``.dat`` files
----------------------------------------
The text file the Nanonis controller writes for a bias spectroscopy (UTF-8)::

    Experiment<TAB>bias spectroscopy<TAB>
    Date<TAB>02.12.2026 10:00:00<TAB>
    Bias Spectroscopy>Channels<TAB>Current (A);LI Demod 1 X (A)<TAB>
    Bias Spectroscopy>Number of sweeps<TAB>3<TAB>
    Bias Spectroscopy>backward sweep<TAB>TRUE<TAB>
    Temperature 1>Temperature 1 (K)<TAB>4.2<TAB>
    Z-Ctrl hold<TAB>TRUE<TAB>

    [DATA]
    Bias calc (V)<TAB>Current [00001] (A)<TAB>LI Demod 1 X [00001] (A)<TAB>Current [00001] [bwd] (A)<TAB>...
    -1.000000E-2<TAB>-2.1E-10<TAB>3.3E-12<TAB>-2.0E-10<TAB>...
    ...

* **Header**: one entry per line, ``key<TAB>value<TAB>`` (the line ends with a TAB before
  the line break); ``>`` separates sub-keys (``Bias Spectroscopy>Sweep Start (V)``), a
  unit is written in round brackets at the end of the key; ``TRUE`` / ``FALSE`` are
  booleans, ``N/A`` is a missing number; ``Date`` is ``DD.MM.YYYY hh:mm:ss``.  Blank
  lines are skipped.  Every header line is checked on its own (its layout, then
  nanonis-xarray's parse of that one line), so a bad entry is reported with its line.
* **``[DATA]``**: a line that is exactly ``[DATA]`` ends the header (required).
* **Table**: TAB-separated, no trailing TAB.  Its first non-blank line is the header row
  of column labels ``Name [sweep] [bwd] (unit)``: the first column is the bias in volts
  (``Bias calc (V)`` or ``Bias (V)``); then the channels.  One forward sweep is
  ``Current (A)``; repeated sweeps are ``Current [00001] (A)``, ``Current [00002] (A)``,
  ...; backward sweeps ``Current [bwd] (A)`` or ``Current [00001] [bwd] (A)``; average
  columns ``Current [AVG] (A)`` are ignored (the average is recomputed) and so are
  filtered ``... [filt]`` columns.  Labels are unique.  Every data row has one number
  per label; numbers are decimal (``-2.5e+01``, ``1E-3``, ``.5``, ``3``; not ``1_9``,
  not hexadecimal, no surrounding spaces), finite (no ``NaN`` / ``inf``, in any column),
  not empty; blank lines are skipped; at least 3 data rows.  The bias is strictly
  monotonic down the table: increasing, or decreasing for a sweep written from positive
  to negative bias (sorted on reading).

These checks run over the raw text first; the file is then parsed by
``nanonis_xarray.read_dat`` (not by a second parser here).  Reading
(:func:`read_nanonis`):

* ``channel`` (default :data:`DEFAULT_CHANNEL`, ``"LI Demod 1 X"``, the lock-in's
  in-phase output) is the Nanonis channel name, matched case-insensitively (``"current"``
  selects ``Current``); an unknown name is an error that lists the file's channels.
* All curves of the channel -- every sweep and both directions -- are averaged point by
  point; ``meta["n_curves"]`` is their number and, when it is at least 2,
  ``meta["pooled_sweep_sigma"]`` = ``sqrt(mean_V var_c(y) / n_curves)`` (the per-point
  sample variance across curves, ddof = 1, averaged over the bias points: a pooled
  standard error of the mean; ``None`` for a single curve).  ``Spectrum.sigma`` is
  ``None`` (Nanonis writes no error bars).
* ``derivative=True`` (for ``channel="Current"``) returns ``dI/dV`` = ``np.gradient``
  of the averaged channel over the bias in volts (second order in the interior, first
  order at the two ends), in ``S`` for a current in ``A`` (``<unit>/V`` otherwise);
  ``pooled_sweep_sigma`` is then that of the per-curve derivatives.
* Bias: the file's volts times 1e3 (mV).  ``units``: the channel's unit from its label
  (``"A"`` for the lock-in X channel, which Nanonis records in amperes).
* Temperature: the ``temperature_K`` argument if given (``meta["temperature_source"]``
  ``"argument"``), else the header entry ``Temperature 1>Temperature 1 (K)`` when it is a
  finite number (``"header"``), else ``None``.

CSV spectra
-----------
Comma separated, read with Python's :mod:`csv` module, encoding UTF-8 (a byte-order
mark is allowed).  Blank lines and lines whose first non-blank character is ``#`` are
skipped anywhere.  The first other line is the header row; its columns, in any order,
each at most once, no others::

    # STM spectrum, La2PrNi2O7 film
    bias_mV,dIdV,sigma,T_K
    -20.0,1.02,0.01,4.2
    -19.5,1.01,0.01,4.2
    ...

===========  ========  =================================================================
column       required  meaning
===========  ========  =================================================================
``bias_mV``  yes       sample bias in mV; no value twice within one spectrum
``dIdV``     yes       differential conductance, arbitrary units (``units == "arb"``)
``sigma``    no        one-sigma error of ``dIdV`` (same units), ``> 0``
``T_K``      no        measurement temperature in K, ``>= 0``: makes the file a series
===========  ========  =================================================================

Numbers follow the rules of the ``.dat`` table (decimal, finite, not empty; spaces
around a field are stripped).  Without ``T_K`` the file is one spectrum, whose
temperature is the ``temperature_K`` argument (``"argument"``) or ``None``.  With
``T_K`` the rows are grouped by their ``T_K`` value (a series of spectra in one file;
rows of different temperatures may be interleaved), one :class:`Spectrum` per
temperature, sorted by temperature (``temperature_source`` ``"csv column"``; passing
``temperature_K`` as well is an error).  Each spectrum is sorted by bias and needs at
least 3 points.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as _dt
import hashlib
import inspect
import io
import math
import os
import re
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_CHANNEL",
    "CSV_COLUMNS",
    "SUFFIXES",
    "Spectrum",
    "SpectrumSet",
    "load_spectra",
    "read_nanonis",
    "read_spectrum_csv",
    "write_nanonis_dat",
]

#: the lock-in's in-phase output: dI/dV as recorded by a Nanonis lock-in (in A)
DEFAULT_CHANNEL = "LI Demod 1 X"

#: CSV columns, in the order :meth:`SpectrumSet.to_csv` writes them
CSV_COLUMNS = ("bias_mV", "dIdV", "sigma", "T_K")
_CSV_REQUIRED = ("bias_mV", "dIdV")

#: file suffixes :func:`load_spectra` reads
SUFFIXES = {".dat": "nanonis-dat", ".csv": "csv"}

_MIN_POINTS = 3
_TEMPERATURE_KEY = ("Temperature 1", "Temperature 1")  # header "Temperature 1>Temperature 1 (K)"
_INSTALL_HINT = 'pip install "jaxnickel[spectra]"'

# strict decimal numbers: no '_', no hex, no 'nan' / 'inf', no surrounding spaces
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NONFINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
# Nanonis column label: "Name [00001] [bwd] (unit)", "Name [AVG] (unit)", "... [filt]"
_LABEL = re.compile(
    r"(?P<name>[^\[\(]+) (?:\[(?P<sweep>\d{5}|AVG)\] )?(?:\[(?P<bwd>bwd)\] )?\((?P<unit>[^()]*)\)(?P<filt> \[filt\])?"
)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
_SWEEP_DIMS = ("sweep", "repetition", "direction")  # nanonis-xarray's names (repetition: older versions)


# ---------------------------------------------------------------------- containers


@dataclasses.dataclass(frozen=True)
class Spectrum:
    """One tunnelling spectrum.

    Attributes
    ----------
    bias_mV : 1-D float64 array, strictly increasing, finite.
    didv : 1-D float64 array of the same length, finite, in :attr:`units`.
    sigma : one-sigma error per point (same units as ``didv``, ``> 0``), or ``None``
        when the file gives none.
    temperature_K : measurement temperature in K (``>= 0``), or ``None`` when unknown.
    units : units of ``didv``: ``"A"`` (Nanonis lock-in X), ``"S"`` (numerical
        derivative of ``Current``), ``"arb"`` (CSV), ...
    meta : JSON-able dict: ``channel``, ``n_curves``, ``directions``,
        ``temperature_source`` (``"header"``, ``"argument"``, ``"csv column"`` or
        ``None``), ``pooled_sweep_sigma`` and more (see the module docstring); keys that
        do not apply to a format are ``None``.

    The constructor converts the arrays to float64 and checks them (``ValueError``).
    """

    bias_mV: np.ndarray
    didv: np.ndarray
    sigma: np.ndarray | None = None
    temperature_K: float | None = None
    units: str = "arb"
    meta: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        bias = np.array(self.bias_mV, dtype=np.float64)
        didv = np.array(self.didv, dtype=np.float64)
        if bias.ndim != 1:
            raise ValueError(f"Spectrum.bias_mV must be one-dimensional, got shape {bias.shape}")
        if didv.shape != bias.shape:
            raise ValueError(f"Spectrum.didv must have the shape of bias_mV {bias.shape}, got {didv.shape}")
        if not (np.isfinite(bias).all() and np.isfinite(didv).all()):
            raise ValueError("Spectrum.bias_mV and Spectrum.didv must be finite")
        if bias.size >= 2 and not (np.diff(bias) > 0).all():
            raise ValueError("Spectrum.bias_mV must be strictly increasing")
        object.__setattr__(self, "bias_mV", bias)
        object.__setattr__(self, "didv", didv)
        if self.sigma is not None:
            sigma = np.array(self.sigma, dtype=np.float64)
            if sigma.shape != bias.shape:
                raise ValueError(f"Spectrum.sigma must have the shape of bias_mV {bias.shape}, got {sigma.shape}")
            if not (np.isfinite(sigma).all() and (sigma > 0).all()):
                raise ValueError("Spectrum.sigma must be finite and > 0")
            object.__setattr__(self, "sigma", sigma)
        if self.temperature_K is not None:
            object.__setattr__(self, "temperature_K", _check_temperature(self.temperature_K, "Spectrum.temperature_K"))
        object.__setattr__(self, "meta", dict(self.meta))

    def __len__(self) -> int:
        return int(self.bias_mV.size)


@dataclasses.dataclass(frozen=True)
class SpectrumSet:
    """The spectra of one file: one per temperature (a series), or one.

    ``path``: the file read (``None`` for data made in memory); ``sha256``: hex digest of
    the file's bytes; ``format``: ``"nanonis-dat"`` or ``"csv"``.
    """

    spectra: tuple[Spectrum, ...]
    path: str | None = None
    sha256: str | None = None
    format: str = "csv"

    def __post_init__(self):
        spectra = tuple(self.spectra)
        for s in spectra:
            if not isinstance(s, Spectrum):
                raise ValueError(f"SpectrumSet.spectra must hold Spectrum objects, got {type(s).__name__}")
        object.__setattr__(self, "spectra", spectra)
        if self.path is not None:
            object.__setattr__(self, "path", os.fspath(self.path))

    def __len__(self) -> int:
        return len(self.spectra)

    def __iter__(self):
        return iter(self.spectra)

    def __getitem__(self, index) -> Spectrum:
        return self.spectra[index]

    @property
    def temperatures_K(self) -> tuple[float | None, ...]:
        """The temperature of each spectrum (``None`` where unknown), in order."""
        return tuple(s.temperature_K for s in self.spectra)

    def to_csv(self, path=None) -> str:
        """Write the spectra in this module's CSV format; returns the text.

        Columns ``bias_mV,dIdV``, then ``sigma`` if every spectrum has one and ``T_K`` if
        every spectrum has a temperature; a comment line first names the units of
        ``dIdV`` and the source file.  Numbers are written with ``repr`` (shortest
        round-tripping decimal), so :func:`read_spectrum_csv` gives the same values back
        (with ``units == "arb"``).  Several spectra need distinct temperatures (the CSV
        tells them apart by ``T_K`` only); otherwise ``ValueError``.  ``path``: file to
        write (``None``: only return the text).
        """
        with_sigma = bool(self.spectra) and all(s.sigma is not None for s in self.spectra)
        with_t = bool(self.spectra) and all(s.temperature_K is not None for s in self.spectra)
        if len(self.spectra) > 1:
            temps = self.temperatures_K
            if not with_t or len(set(temps)) != len(temps):
                raise ValueError(
                    f"to_csv: {len(self.spectra)} spectra need distinct temperatures to be told apart "
                    f"in one CSV file, got {temps}"
                )
        columns = ["bias_mV", "dIdV"] + (["sigma"] if with_sigma else []) + (["T_K"] if with_t else [])
        buf = io.StringIO()
        units = sorted({s.units for s in self.spectra})
        source = "" if self.path is None else f"; from {self.path} ({self.format})"
        buf.write(_one_line(f"# dIdV units: {', '.join(units)}{source}") + "\n")
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for s in self.spectra:
            for i in range(len(s)):
                row = [repr(float(s.bias_mV[i])), repr(float(s.didv[i]))]
                if with_sigma:
                    row.append(repr(float(s.sigma[i])))
                if with_t:
                    row.append(repr(float(s.temperature_K)))
                writer.writerow(row)
        text = buf.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        return text


# ---------------------------------------------------------------------- helpers


def _one_line(text: str) -> str:
    """``text`` with every line break (and the spaces around it) replaced by one space."""
    return re.sub(r"\s*[\r\n]+\s*", " ", str(text)).strip()


def _error(path, msg: str, line: int | None = None, column: str | None = None) -> ValueError:
    parts = [str(path)]
    if line is not None:
        parts.append(f"line {line}")
    if column is not None:
        parts.append(f"column '{column}'")
    parts.append(msg)
    return ValueError(_one_line(": ".join(parts)))


def _check_temperature(value, what: str) -> float:
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number in K, got {value!r}") from None
    if not (math.isfinite(t) and t >= 0.0):
        raise ValueError(f"{what} must be finite and >= 0 (K), got {value!r}")
    return t


def _parse_number(path, line: int, column: str, text: str) -> float:
    if text == "":
        raise _error(path, "empty field (a number is required)", line, column)
    if _NONFINITE.fullmatch(text):
        raise _error(path, f"must be finite, got {text!r}", line, column)
    if not _NUMBER.fullmatch(text):
        raise _error(path, f"not a number: {text!r}", line, column)
    value = float(text)
    if not math.isfinite(value):
        raise _error(path, f"must be finite, got {text!r} (overflows float64)", line, column)
    return value


def _read_bytes(path) -> bytes:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if p.is_dir():
        raise ValueError(f"{path}: is a directory, not a file")
    return p.read_bytes()


def _decode_lines(path, data: bytes, *, bom: bool) -> list[str]:
    """The file's lines (without line breaks), or ``ValueError`` naming a non-UTF-8 line."""
    if not data.strip():
        raise _error(path, "file is empty")
    start = len(codecs.BOM_UTF8) if bom and data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        breaks = list(_LINE_BREAK_BYTES.finditer(data, 0, offset))
        line = len(breaks) + 1
        line_start = breaks[-1].end() if breaks else 0
        raise _error(
            path,
            f"not valid UTF-8: byte 0x{data[offset]:02x} at byte {offset - line_start + 1} of the line",
            line,
        ) from None
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _normalize(name: str) -> str:
    """nanonis-xarray's variable name of a channel (``"LI Demod 1 X"`` -> ``"li_demod_1_x"``)."""
    return name.strip().lower().replace(" ", "_")


# ---------------------------------------------------------------------- Nanonis .dat


def _import_read_dat():
    try:
        from nanonis_xarray import read_dat
    except ImportError as exc:
        raise ImportError(
            _one_line(f"reading Nanonis .dat files needs nanonis-xarray: {_INSTALL_HINT} ({exc})")
        ) from None
    return read_dat


def _header_line_parser():
    """nanonis-xarray's parser of header lines (internal to it; ``None`` where it moved)."""
    try:
        from nanonis_xarray.header import parse_header_lines
    except ImportError:
        return None
    return parse_header_lines


@dataclasses.dataclass
class _Column:
    label: str
    name: str
    sweep: str | None  # "00001", "AVG" or None
    backward: bool
    unit: str
    filtered: bool

    @property
    def is_channel_data(self) -> bool:
        return self.sweep != "AVG" and not self.filtered


def _validate_nanonis(path, lines: list[str]) -> dict:
    """Check the raw text of a ``.dat`` file (rules: module docstring); returns what was learnt."""
    parse_header = _header_line_parser()
    header_keys: dict[str, int] = {}
    data_tag = next((i + 1 for i, line in enumerate(lines) if line == "[DATA]"), None)
    if data_tag is None:
        near = next((i + 1 for i, line in enumerate(lines) if line.strip() == "[DATA]"), None)
        if near is not None:
            raise _error(path, "the '[DATA]' line must be exactly '[DATA]' (no spaces or tabs)", near)
        raise _error(path, "no '[DATA]' line (a Nanonis .dat file has its table after a line '[DATA]')")
    for i, line in enumerate(lines[: data_tag - 1]):
        lineno = i + 1
        if line == "":
            continue
        body = line[:-1] if line.endswith("\t") else None
        if body is None or body.count("\t") != 1:
            shown = line if len(line) <= 60 else line[:57] + "..."
            raise _error(path, f"header line is not 'key<TAB>value<TAB>': {shown!r}", lineno)
        key = body.split("\t")[0]
        if parse_header is not None:
            try:
                parse_header([line + "\n"])
            except Exception as exc:  # any failure of the parser becomes a file error
                raise _error(
                    path, f"header entry {key!r} not readable by nanonis-xarray: {type(exc).__name__}: {exc}", lineno
                ) from None
        header_keys.setdefault(key, lineno)

    # header row of the table: the first non-blank line after [DATA]
    row_index = data_tag  # 0-based index of the line after [DATA]
    while row_index < len(lines) and lines[row_index] == "":
        row_index += 1
    if row_index >= len(lines) or not lines[row_index].strip():
        raise _error(path, "no table header row after the '[DATA]' line", data_tag)
    header_line = row_index + 1
    labels = lines[row_index].split("\t")
    columns: list[_Column] = []
    seen: set[str] = set()
    for k, label in enumerate(labels):
        if label == "":
            raise _error(path, f"empty column label (column {k + 1} of the header row)", header_line)
        if label in seen:
            raise _error(path, "duplicate column label in the header row", header_line, label)
        seen.add(label)
        m = _LABEL.fullmatch(label)
        if m is None:
            raise _error(path, "column label is not 'Name [00001] [bwd] (unit)'", header_line, label)
        columns.append(_Column(label, m["name"], m["sweep"], bool(m["bwd"]), m["unit"], bool(m["filt"])))
    bias_col = columns[0]
    if not (bias_col.name.lower().startswith("bias") and bias_col.unit == "V" and bias_col.is_channel_data):
        raise _error(path, "the first column must be the bias in volts, e.g. 'Bias calc (V)'", header_line, labels[0])
    if len(columns) < 2:
        raise _error(path, "the table has no channel columns after the bias", header_line)

    # data rows
    n_fields = len(labels)
    bias: list[float] = []
    for i in range(row_index + 1, len(lines)):
        line = lines[i]
        lineno = i + 1
        if line == "":
            continue
        fields = line.split("\t")
        if len(fields) != n_fields:
            raise _error(
                path, f"expected {n_fields} tab-separated fields (one per column label), found {len(fields)}", lineno
            )
        values = [_parse_number(path, lineno, labels[k], f) for k, f in enumerate(fields)]
        b = values[0]
        if bias:
            step, prev = b - bias[-1], bias[-1]
            upward = bias[1] > bias[0] if len(bias) >= 2 else step > 0
            if step == 0 or (step > 0) != upward:
                why = "the same value again" if step == 0 else f"the sweep was {'in' if upward else 'de'}creasing"
                raise _error(path, f"bias not strictly monotonic: {b!r} V after {prev!r} V ({why})", lineno, labels[0])
        bias.append(b)
    if len(bias) < _MIN_POINTS:
        raise _error(path, f"only {len(bias)} data rows after the header row, need at least {_MIN_POINTS}", header_line)

    channels: dict[str, _Column] = {}  # file spelling -> its first data column
    for c in columns[1:]:
        if c.is_channel_data:
            channels.setdefault(c.name, c)
    if not channels:
        raise _error(path, "the table has only average / filtered columns, no channel data", header_line)
    return {
        "header_keys": header_keys,
        "header_line": header_line,
        "bias_label": labels[0],
        "channels": channels,
        "n_rows": len(bias),
    }


def _magnitude(value):
    """A header value as a plain float (pint quantities: in their own unit), or ``None``."""
    if value is None or isinstance(value, bool | str):
        return None
    try:
        return float(np.asarray(getattr(value, "magnitude", value), dtype=np.float64))
    except (TypeError, ValueError):
        return None


def _header_temperature(path, header: dict, header_keys: dict[str, int]):
    """``Temperature 1>Temperature 1 (K)`` in K, ``None`` when absent or not a finite number."""
    entry = header.get(_TEMPERATURE_KEY[0])
    value = entry.get(_TEMPERATURE_KEY[1]) if isinstance(entry, dict) else None
    if value is None:
        return None
    if hasattr(value, "to"):
        try:
            value = value.to("kelvin")
        except Exception:  # a unit that is not a temperature: ignore the entry
            return None
    t = _magnitude(value)
    if t is None or not math.isfinite(t):
        return None
    if t < 0:
        key = next((k for k in header_keys if k.startswith(">".join(_TEMPERATURE_KEY))), ">".join(_TEMPERATURE_KEY))
        raise _error(path, f"header entry {key!r}: temperature must be >= 0, got {t!r} K", header_keys.get(key))
    return t


def _json_value(value):
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    m = _magnitude(value)
    return m if m is not None and math.isfinite(m) else None


def read_nanonis(path, *, channel=DEFAULT_CHANNEL, temperature_K=None, derivative=False) -> SpectrumSet:
    """Read a Nanonis bias-spectroscopy ``.dat`` file (format and rules: module docstring).

    Returns a :class:`SpectrumSet` with one :class:`Spectrum`: the average of every sweep
    and direction of ``channel`` (or, with ``derivative=True``, its ``np.gradient`` over
    the bias in volts), bias in mV, ``sigma=None``; ``meta`` holds ``channel`` (the
    file's spelling), ``variable`` (nanonis-xarray's name), ``channel_units``,
    ``n_curves``, ``n_sweeps``, ``directions``, ``pooled_sweep_sigma``, ``derivative``,
    ``temperature_source``, ``header_temperature_K``, ``bias_column``, ``channels`` (all
    data channels of the file), ``experiment`` and ``date`` from the header.
    """
    read_dat = _import_read_dat()
    if temperature_K is not None:
        temperature_K = _check_temperature(temperature_K, "temperature_K")
    if not isinstance(channel, str) or not channel.strip():
        raise ValueError(f"channel must be a Nanonis channel name such as {DEFAULT_CHANNEL!r}, got {channel!r}")
    data = _read_bytes(path)
    info = _validate_nanonis(path, _decode_lines(path, data, bom=False))

    wanted = _normalize(channel)
    matches = [name for name in info["channels"] if _normalize(name) == wanted]
    if not matches:
        available = ", ".join(f"'{name}'" for name in info["channels"])
        raise _error(path, f"unknown channel {channel!r}; available: {available}", info["header_line"])
    name = matches[0]
    column = info["channels"][name]
    variable = _normalize(name)

    params = inspect.signature(read_dat).parameters
    kwargs = {k: v for k, v in (("quantify_vars", False), ("squeeze", False)) if k in params}
    try:
        ds = read_dat(path, **kwargs)
    except Exception as exc:  # any failure of the reader becomes a file error
        raise _error(path, f"nanonis-xarray could not read the file: {type(exc).__name__}: {exc}") from None
    if variable not in ds.data_vars:
        raise _error(path, f"nanonis-xarray returned no variable {variable!r} for channel {name!r}")
    da = ds[variable]
    if hasattr(da, "pint") and getattr(da.pint, "units", None) is not None:
        da = da.pint.dequantify()
    bias_dims = [d for d in da.dims if d not in _SWEEP_DIMS]
    if len(bias_dims) != 1:
        raise _error(path, f"unexpected dimensions {da.dims} of channel {name!r} from nanonis-xarray")
    bias_dim = bias_dims[0]
    other = [d for d in da.dims if d != bias_dim]
    da = da.transpose(bias_dim, *other)
    bias_V = np.asarray(getattr(ds[bias_dim].values, "magnitude", ds[bias_dim].values), dtype=np.float64)
    values = np.asarray(getattr(da.values, "magnitude", da.values), dtype=np.float64)
    curves = values.reshape(values.shape[0], -1).T  # (sweep x direction combinations, n_bias)
    present = ~np.isnan(curves).all(axis=1)  # combinations the file has no columns for are all-NaN
    curves = curves[present]
    if bias_V.shape != (info["n_rows"],) or curves.size == 0 or np.isnan(curves).any():
        raise _error(path, f"nanonis-xarray's table of channel {name!r} does not match the file's rows")
    directions: list[str] = []
    n_sweeps = 1
    if other:
        labels = np.array(np.meshgrid(*[np.asarray(da[d].values).astype(str) for d in other], indexing="ij"))
        labels = labels.reshape(len(other), -1)[:, present]
        for k, d in enumerate(other):
            if d == "direction":
                directions = [str(v) for v in dict.fromkeys(labels[k])]
            else:
                n_sweeps = len(set(labels[k]))
    if not directions:
        directions = ["fw"]

    order = np.argsort(bias_V, kind="stable")
    bias_V, curves = bias_V[order], curves[:, order]
    unit = column.unit
    if derivative:
        curves = np.gradient(curves, bias_V, axis=1)
        unit = "S" if column.unit == "A" else f"{column.unit}/V"
    n_curves = curves.shape[0]
    didv = curves.mean(axis=0)
    pooled = None
    if n_curves >= 2:
        pooled = float(np.sqrt(np.mean(np.var(curves, axis=0, ddof=1)) / n_curves))

    header = ds.attrs.get("header", ds.attrs)
    header_t = _header_temperature(path, header, info["header_keys"])
    if temperature_K is not None:
        temperature, source = temperature_K, "argument"
    elif header_t is not None:
        temperature, source = header_t, "header"
    else:
        temperature, source = None, None
    meta = {
        "channel": name,
        "variable": variable,
        "channel_units": column.unit,
        "derivative": bool(derivative),
        "n_curves": int(n_curves),
        "n_sweeps": int(n_sweeps),
        "directions": directions,
        "pooled_sweep_sigma": pooled,
        "temperature_source": source,
        "header_temperature_K": header_t,
        "bias_column": info["bias_label"],
        "channels": list(info["channels"]),
        "experiment": _json_value(header.get("Experiment")),
        "date": _json_value(header.get("Date")),
    }
    spectrum = Spectrum(bias_V * 1e3, didv, None, temperature, unit, meta)
    return SpectrumSet((spectrum,), os.fspath(path), _sha256(data), "nanonis-dat")


def _format_header_value(key: str, value) -> str:
    if value is None:
        text = ""
    elif isinstance(value, bool | np.bool_):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, int | np.integer):
        text = str(int(value))
    elif isinstance(value, float | np.floating):
        text = "N/A" if math.isnan(value) else repr(float(value))
    elif isinstance(value, _dt.datetime):
        text = value.strftime("%d.%m.%Y %H:%M:%S")
    elif isinstance(value, list | tuple):
        text = ";".join(str(v) for v in value)
    else:
        text = str(value)
    if "\t" in text or "\n" in text or "\r" in text:
        raise ValueError(f"write_nanonis_dat: header value of {key!r} must not contain tabs or line breaks: {text!r}")
    return text


def _channel_name_unit(key: str) -> tuple[str, str]:
    m = re.fullmatch(r"(?P<name>[^\[\(\t]+?) \((?P<unit>[^()\t]*)\)", key)
    if m:
        return m["name"], m["unit"]
    if not key or "[" in key or "(" in key or ")" in key or "\t" in key or key != key.strip():
        raise ValueError(f"write_nanonis_dat: bad channel name {key!r} (no brackets, tabs or outer spaces)")
    if key == "Current" or key.startswith("LI Demod"):
        return key, "A"
    raise ValueError(f"write_nanonis_dat: channel {key!r} needs its unit in the name, e.g. '{key} (V)'")


def write_nanonis_dat(path, bias_V, channels: dict, *, header: dict | None = None) -> Path:
    """Write a Nanonis bias-spectroscopy ``.dat`` file (layout: module docstring); returns its path.

    ``bias_V``: the bias in volts in the order measured (1-D; not checked for
    monotonicity, so files that :func:`read_nanonis` refuses can be made too).
    ``channels``: ``{"Current": I, "LI Demod 1 X": X, ...}``, each array of shape
    ``(n_bias,)`` (one forward sweep), ``(n_sweeps, n_bias)`` (forward sweeps) or
    ``(n_sweeps, 2, n_bias)`` (axis 1: forward, backward), all of the same shape.  Units:
    ``A`` for ``Current`` and ``LI Demod ...``; any other channel names its unit,
    ``"Z (m)"``.  Columns: per sweep the forward columns of every channel, then the
    backward ones, labelled as Nanonis does (sweep index ``[00001]`` only when there are
    several sweeps, ``[bwd]``), then ``[AVG]`` columns (mean of all curves) when there are
    several sweeps.  ``header``: extra ``"Key>Sub (unit)" -> value`` entries written
    after (or replacing) the default ones (``Experiment``, ``Date`` (now),
    ``Bias Spectroscopy>Channels``, ``>Sweep Start (V)``, ``>Sweep End (V)``,
    ``>Num Pixel``, ``>Number of sweeps``, ``>backward sweep``); bools become
    ``TRUE``/``FALSE``, NaN ``N/A``, lists ``;``-joined.  Numbers are written with
    ``repr`` (shortest round-tripping decimal).
    """
    bias = np.asarray(bias_V, dtype=np.float64)
    if bias.ndim != 1 or bias.size == 0:
        raise ValueError(f"write_nanonis_dat: bias_V must be a non-empty 1-D array, got shape {bias.shape}")
    if not channels:
        raise ValueError("write_nanonis_dat: channels must name at least one channel")
    n = bias.size
    parsed = []  # (name, unit, array of shape (n_sweeps, n_dirs, n))
    layout = None
    for key, arr in channels.items():
        name, unit = _channel_name_unit(str(key))
        a = np.asarray(arr, dtype=np.float64)
        if a.ndim == 1:
            a = a[None, None, :]
        elif a.ndim == 2:
            a = a[:, None, :]
        elif not (a.ndim == 3 and a.shape[1] == 2):
            raise ValueError(
                f"write_nanonis_dat: channel {key!r} must have shape (n_bias,), (n_sweeps, n_bias) or "
                f"(n_sweeps, 2, n_bias), got {np.shape(arr)}"
            )
        if a.shape[-1] != n or a.shape[0] == 0:
            raise ValueError(f"write_nanonis_dat: channel {key!r} has shape {np.shape(arr)}, bias has {n} points")
        if layout is not None and a.shape != layout:
            raise ValueError(f"write_nanonis_dat: all channels need the same shape; {key!r} has {np.shape(arr)}")
        layout = a.shape
        parsed.append((name, unit, a))
    n_sweeps, n_dirs, _ = layout

    entries = {
        "Experiment": "bias spectroscopy",
        "Date": _dt.datetime.now().strftime("%d.%m.%Y %H:%M:%S"),
        "Bias Spectroscopy>Channels": ";".join(f"{name} ({unit})" for name, unit, _ in parsed),
        "Bias Spectroscopy>Sweep Start (V)": float(bias[0]),
        "Bias Spectroscopy>Sweep End (V)": float(bias[-1]),
        "Bias Spectroscopy>Num Pixel": n,
        "Bias Spectroscopy>Number of sweeps": n_sweeps,
        "Bias Spectroscopy>backward sweep": n_dirs == 2,
    }
    for key, value in (header or {}).items():
        key = str(key)
        if not key or "\t" in key or "\n" in key or "\r" in key or key == "[DATA]":
            raise ValueError(f"write_nanonis_dat: bad header key {key!r}")
        entries[key] = value

    labels = ["Bias calc (V)"]
    columns = [bias]
    for s in range(n_sweeps):
        for d in range(n_dirs):
            for name, unit, a in parsed:
                sweep = f"[{s + 1:05d}] " if n_sweeps > 1 else ""
                bwd = "[bwd] " if d == 1 else ""
                labels.append(f"{name} {sweep}{bwd}({unit})")
                columns.append(a[s, d])
    if n_sweeps > 1:
        for name, unit, a in parsed:
            labels.append(f"{name} [AVG] ({unit})")
            columns.append(a.reshape(-1, n).mean(axis=0))

    out = io.StringIO()
    for key, value in entries.items():
        out.write(f"{key}\t{_format_header_value(key, value)}\t\n")
    out.write("\n[DATA]\n")
    out.write("\t".join(labels) + "\n")
    table = np.stack(columns, axis=1)
    for row in table:
        out.write("\t".join(repr(float(v)) for v in row) + "\n")
    path = Path(path)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())
    return path


# ---------------------------------------------------------------------- CSV


def read_spectrum_csv(path, *, temperature_K=None) -> SpectrumSet:
    """Read a spectrum CSV file (format and rules: module docstring).

    Returns a :class:`SpectrumSet` of one spectrum (no ``T_K`` column) or one per
    temperature, sorted by temperature, each sorted by bias, ``units == "arb"``;
    ``meta`` has ``channel``, ``n_curves``, ``directions`` and ``pooled_sweep_sigma``
    ``None`` (the CSV does not say), ``temperature_source`` and ``lines`` (the first and
    last line of the spectrum's rows).
    """
    if temperature_K is not None:
        temperature_K = _check_temperature(temperature_K, "temperature_K")
    data = _read_bytes(path)
    lines = _decode_lines(path, data, bom=True)
    header: list[str] | None = None
    header_line = None
    groups: dict[float | None, list[tuple[int, float, float, float | None]]] = {}
    for lineno, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            fields = next(csv.reader([raw], strict=True))
        except csv.Error as exc:
            raise _error(path, f"malformed CSV line ({exc})", lineno) from None
        fields = [f.strip() for f in fields]
        if header is None:
            header, header_line = fields, lineno
            seen: set[str] = set()
            for name in header:
                if name in seen:
                    raise _error(path, "duplicate column in header", lineno, name)
                if name not in CSV_COLUMNS:
                    raise _error(path, f"unknown column; allowed: {', '.join(CSV_COLUMNS)}", lineno, name)
                seen.add(name)
            for name in _CSV_REQUIRED:
                if name not in seen:
                    raise _error(path, f"missing column in header {','.join(header)!r}", lineno, name)
            if "T_K" in seen and temperature_K is not None:
                raise _error(path, "the file has a T_K column; do not pass temperature_K as well", lineno, "T_K")
            continue
        if len(fields) != len(header):
            column = header[len(fields)] if len(fields) < len(header) else header[-1]
            raise _error(path, f"expected {len(header)} fields ({','.join(header)}), got {len(fields)}", lineno, column)
        row = {name: _parse_number(path, lineno, name, text) for name, text in zip(header, fields, strict=True)}
        sigma = row.get("sigma")
        if sigma is not None and sigma <= 0:
            raise _error(path, f"sigma must be > 0, got {sigma!r}", lineno, "sigma")
        t = row.get("T_K")
        if t is not None and t < 0:
            raise _error(path, f"temperature must be >= 0, got {t!r}", lineno, "T_K")
        groups.setdefault(t, []).append((lineno, row["bias_mV"], row["dIdV"], sigma))
    if header is None:
        raise _error(path, "no header row (only comments and blank lines)")
    if not groups:
        raise _error(path, f"no data rows, a spectrum needs at least {_MIN_POINTS} points", header_line)

    has_t = "T_K" in header
    spectra = []
    for t in sorted(groups, key=lambda v: -math.inf if v is None else v):
        rows = groups[t]
        where = f" (T_K = {t!r})" if has_t else ""
        first: dict[float, int] = {}
        for lineno, b, _, _ in rows:
            if b in first:
                raise _error(path, f"duplicate bias {b!r} mV{where}, first at line {first[b]}", lineno, "bias_mV")
            first[b] = lineno
        if len(rows) < _MIN_POINTS:
            raise _error(path, f"spectrum{where} has {len(rows)} points, need at least {_MIN_POINTS}", rows[0][0])
        rows = sorted(rows, key=lambda r: r[1])
        bias = np.array([r[1] for r in rows])
        didv = np.array([r[2] for r in rows])
        sigma = np.array([r[3] for r in rows]) if "sigma" in header else None
        if has_t:
            temperature, source = t, "csv column"
        elif temperature_K is not None:
            temperature, source = temperature_K, "argument"
        else:
            temperature, source = None, None
        meta = {
            "channel": None,
            "n_curves": None,
            "directions": None,
            "pooled_sweep_sigma": None,
            "temperature_source": source,
            "lines": [min(r[0] for r in rows), max(r[0] for r in rows)],
        }
        spectra.append(Spectrum(bias, didv, sigma, temperature, "arb", meta))
    return SpectrumSet(tuple(spectra), os.fspath(path), _sha256(data), "csv")


# ---------------------------------------------------------------------- dispatch


def load_spectra(path, *, channel=DEFAULT_CHANNEL, temperature_K=None, derivative=False) -> SpectrumSet:
    """Read a spectrum file; the suffix picks the reader (``.dat``: :func:`read_nanonis`, ``.csv``: CSV).

    ``.csv`` files go to :func:`read_spectrum_csv`; the suffix is case-insensitive.

    ``channel`` and ``derivative`` apply to Nanonis files only; passing a non-default
    value with a CSV file is an error (the CSV has one dI/dV column).
    """
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        allowed = ", ".join(f"{s} ({fmt})" for s, fmt in SUFFIXES.items())
        raise ValueError(f"{path}: unknown file suffix {suffix or '(none)'!r}; allowed: {allowed}")
    if SUFFIXES[suffix] == "nanonis-dat":
        return read_nanonis(path, channel=channel, temperature_K=temperature_K, derivative=derivative)
    if channel != DEFAULT_CHANNEL or derivative:
        raise ValueError(f"{path}: channel and derivative apply to Nanonis .dat files only, not to CSV")
    return read_spectrum_csv(path, temperature_K=temperature_K)
