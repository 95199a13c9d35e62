"""STM tunnelling spectra: data files, fits of the triplon model, figures."""

from .io import (
    CSV_COLUMNS,
    DEFAULT_CHANNEL,
    SUFFIXES,
    Spectrum,
    SpectrumSet,
    load_spectra,
    read_nanonis,
    read_spectrum_csv,
    write_nanonis_dat,
)

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_CHANNEL",
    "SUFFIXES",
    "Spectrum",
    "SpectrumSet",
    "load_spectra",
    "read_nanonis",
    "read_spectrum_csv",
    "write_nanonis_dat",
]
