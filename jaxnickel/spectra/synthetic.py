"""Synthetic tunnelling spectra from the forward model, and the shipped example data set.

Synthetic data are made by :func:`synthetic_spectra` (the model of
:mod:`jaxnickel.spectra.fit` at stated parameters plus Gaussian noise of a stated
level) and are **never measured data**.  The example files shipped in
``jaxnickel/datasets/spectra/`` are made by :func:`write_example_files` with
:data:`EXAMPLE` (see that folder's README); ``python -m jaxnickel.spectra.synthetic
OUT_DIR`` regenerates them (bit-identical for the same jaxnickel, JAX and seed).
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import numpy as np

from ..triplon.params import K_B
from ..triplon.spectra import N_FS, energy_points
from .io import Spectrum, SpectrumSet, write_nanonis_dat

__all__ = ["EXAMPLE", "synthetic_spectra", "write_example_files", "example_path"]

#: parameters of the shipped example data (paper 001's bands; model energies in eV, gamma in meV)
EXAMPLE = {
    "values": {
        "lambda": 0.18,
        "kappa_a": 0.75,
        "kappa_b": 0.75,
        "omega": 0.3,
        "n_c": 0.45,
        "t1": 0.45,
        "t2": -0.24,
        "t3": 0.06,
        "eps_alpha": 0.4,
        "eps_beta": 0.1,
        "gamma": 0.8,
        "tunnel_ratio": 0.8,
    },
    "grid": 512,
    "cutoff": "sharp",
    "bias_mV": (-50.0, 50.0, 201),
    # single Nanonis spectrum: lock-in X in A, 3 sweeps x (forward, backward), noise per curve
    "nanonis": {"T_K": 4.2, "scale_A": 2.0e-11, "noise_A": 3.0e-13, "sweeps": 3, "seed": 20261202},
    # temperature series (CSV with a sigma column): one lock-in normalisation per spectrum
    "series": {
        "T_K": (4.2, 20.0, 40.0, 55.0, 65.0),
        "scales": (1.0, 0.97, 1.03, 0.99, 1.02),
        "noise": 0.01,
        "seed": 7,
    },
}


def synthetic_spectra(
    values: dict,
    temperatures_K,
    bias_mV,
    *,
    grid: int,
    scales=None,
    noise: float = 0.0,
    seed: int = 0,
    n_fs: int = N_FS,
    cutoff: str = "sharp",
    channel: str = "s",
    with_sigma: bool = True,
) -> SpectrumSet:
    """Model spectra ``scale * g(V)`` at the given temperatures plus Gaussian noise ``noise`` (data units).

    ``values``: the parameter dict of :func:`jaxnickel.spectra.fit.model_spectra`
    (model parameters, ``gamma`` in meV, ``tunnel_ratio``); ``scales``: one per
    temperature (default 1).  ``with_sigma``: store ``noise`` as each point's sigma.
    """
    import jax.numpy as jnp

    from .fit import model_spectra

    temps = [float(t) for t in np.atleast_1d(temperatures_K)]
    bias = np.asarray(bias_mV, dtype=float)
    scales = np.ones(len(temps)) if scales is None else np.asarray(scales, dtype=float)
    gamma = float(values["gamma"])
    n_om = tuple(energy_points(1e-3 * bias.min(), 1e-3 * bias.max(), 1e-3 * gamma, T * K_B)[0] for T in temps)
    vals = {k: jnp.asarray(float(v)) for k, v in values.items()}
    model, ok, _ = model_spectra(
        vals, [bias] * len(temps), temps, grid=grid, n_fs=n_fs, n_omegas=n_om, cutoff=cutoff, channel=channel
    )
    if not bool(np.all(np.asarray(ok))):
        raise RuntimeError("the gap equation did not converge for the synthetic spectra")
    rng = np.random.default_rng(seed)
    out = []
    for (g, _, _), T, sc in zip(model, temps, scales, strict=True):
        y = sc * np.asarray(g) + noise * rng.standard_normal(bias.size)
        sigma = np.full(bias.size, noise) if (with_sigma and noise > 0) else None
        meta = {"synthetic": True, "values": {k: float(v) for k, v in values.items()}, "scale": float(sc)}
        out.append(Spectrum(bias, y, sigma, T, "arb", meta))
    return SpectrumSet(tuple(out), None, None, "synthetic")


def write_example_files(folder) -> dict:
    """Regenerate the shipped example data in ``folder``: ``example_4K.dat`` and ``example_series.csv``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ex = EXAMPLE
    lo, hi, n = ex["bias_mV"]
    bias = np.round(np.linspace(lo, hi, n), 9)
    v = ex["values"]

    nn = ex["nanonis"]
    clean = synthetic_spectra(v, [nn["T_K"]], bias, grid=ex["grid"], cutoff=ex["cutoff"]).spectra[0].didv
    rng = np.random.default_rng(nn["seed"])
    shape = (nn["sweeps"], 2, bias.size)
    lockin = nn["scale_A"] * clean[None, None, :] + nn["noise_A"] * rng.standard_normal(shape)
    # the current: I(V) = G_n * int_0^V g dV' (a tip conductance of 1 nS in the normal state)
    g_int = np.concatenate([[0.0], np.cumsum(0.5 * (clean[1:] + clean[:-1]) * np.diff(bias))])
    g_int -= np.interp(0.0, bias, g_int)
    current = 1e-9 * 1e-3 * g_int  # A: 1 nS x mV
    current = np.broadcast_to(current, shape) + 2e-13 * rng.standard_normal(shape)
    dat = write_nanonis_dat(
        folder / "example_4K.dat",
        np.round(1e-3 * bias, 12),
        {"Current": current, "LI Demod 1 X": lockin},
        header={
            "Date": "02.12.2026 12:00:00",
            "Temperature 1>Temperature 1 (K)": nn["T_K"],
            "Comment": "SYNTHETIC spectrum made by jaxnickel.spectra.synthetic (not measured)",
        },
    )

    se = ex["series"]
    series = synthetic_spectra(
        v,
        se["T_K"],
        bias,
        grid=ex["grid"],
        cutoff=ex["cutoff"],
        scales=se["scales"],
        noise=se["noise"],
        seed=se["seed"],
    )
    csv_path = folder / "example_series.csv"
    text = (
        "# SYNTHETIC temperature series made by jaxnickel.spectra.synthetic.write_example_files (not measured):\n"
        f"# parameters {v}, grid {ex['grid']}, cutoff {ex['cutoff']}; scales {se['scales']}; "
        f"Gaussian noise sigma = {se['noise']}\n"
    ) + series.to_csv()
    csv_path.write_text(text, encoding="utf-8")
    return {"nanonis": dat, "series": csv_path}


def example_path(name: str = "example_4K.dat") -> Path:
    """Path of a shipped example file (``example_4K.dat`` or ``example_series.csv``)."""
    res = resources.files("jaxnickel.datasets").joinpath("spectra", name)
    path = Path(str(res))
    if not path.is_file():
        raise ValueError(f"no shipped example spectrum {name!r}; available: example_4K.dat, example_series.csv")
    return path


if __name__ == "__main__":  # pragma: no cover
    import jax

    jax.config.update("jax_enable_x64", True)
    out = write_example_files(sys.argv[1] if len(sys.argv) > 1 else ".")
    print({k: str(p) for k, p in out.items()})
