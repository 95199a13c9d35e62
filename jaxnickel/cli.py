"""The ``jaxnickel`` command.

Subcommands
-----------
``jaxnickel mixd ...``       mean-field ground state of the MixD+V model (paper 000)
``jaxnickel triplon ...``    two-band s+- gaps of the triplon model (paper 001)
``jaxnickel fit DATA.csv``   fit the triplon model to gap data
``jaxnickel spectrum ...``   tunnelling conductance dI/dV of the triplon state
``jaxnickel fit-spectrum F`` fit the triplon model to STM spectra (Nanonis .dat or CSV)
``jaxnickel load FILE``      print a solution saved with ``--save``
``jaxnickel reproduce``      regenerate the paper's figures and a report
``jaxnickel exact ...``      exact diagonalisation of the microscopic ladder, Eq. (1) of paper 000
``jaxnickel dmrg ...``       DMRG of the same ladder (extra ``jaxnickel[dmrg]``), or regenerate the shipped data

Bad input exits with code 2 and one line on stderr (no traceback); a solve or fit
whose ``result`` (:class:`jaxnickel.RESULTS`) is not ``successful`` prints its result
(JSON: ``"result"`` and the ``"message"`` derived from it) and exits with code 1.
Progress (tqdm bars, "compiling ..." lines) goes to stderr, so ``--json`` keeps stdout
one JSON object; ``--quiet`` turns it off.  ``jaxnickel --version`` prints the version.
This module imports only the standard library at start-up (``--help`` is fast); JAX
is imported by the subcommand that needs it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings

from .results import SolveError  # noqa: E402  (JAX-free)

EXIT_BAD_INPUT = 2
EXIT_NOT_CONVERGED = 1
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage dump) and exit code 2."""

    def error(self, message):  # noqa: D401
        raise _UsageError(message)


def _finite_float(name):
    def conv(s):
        try:
            v = float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {s!r}") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{name} must be a finite number, got {s!r}")
        return v

    return conv


def _int(name):
    def conv(s):
        try:
            return int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {s!r}") from None

    return conv


def _add_triplon_model_flags(tr, *, grid: int, channel_flag: str = "--channel", T_flag: bool = True):
    """The model flags of paper 001, shared by ``triplon``, ``spectrum`` and ``fit-spectrum``."""
    g = tr.add_mutually_exclusive_group()
    g.add_argument(
        "--nc", type=_finite_float("nc"), default=None, help="electrons per Ni, n_alpha + n_beta (default 0.45)"
    )
    g.add_argument("--mu", type=_finite_float("mu"), default=None, help="chemical potential (eV), instead of --nc")
    g = tr.add_mutually_exclusive_group()
    g.add_argument(
        "--lambda",
        dest="lam",
        type=_finite_float("lambda"),
        default=None,
        help="lambda = V sqrt(N_a N_b) (default 0.5)",
    )
    g.add_argument("--V", type=_finite_float("V"), default=None, help="coupling V (eV), instead of --lambda")
    tr.add_argument("--kappa-a", type=_finite_float("kappa-a"), default=0.75, help="kappa_a (default 0.75)")
    tr.add_argument("--kappa-b", type=_finite_float("kappa-b"), default=0.75, help="kappa_b (default 0.75)")
    tr.add_argument("--omega", type=_finite_float("omega"), default=0.3, help="pairing cutoff Omega (eV, default 0.3)")
    tr.add_argument(
        "--cutoff", default="sharp", help="sharp | lorentzian (default sharp: the paper's shell |xi| < Omega)"
    )
    if T_flag:
        tr.add_argument("--T", type=_finite_float("T"), default=0.0, help="temperature in kelvin (default 0)")
    tr.add_argument("--grid", type=_int("grid"), default=grid, help=f"k-points per direction (default {grid})")
    tr.add_argument(
        channel_flag, dest="pairing", default="auto", help="pairing channel: auto | s | d (default auto: lowest F)"
    )
    for name, default in (("t1", 0.45), ("t2", -0.24), ("t3", 0.06), ("eps-alpha", 0.4), ("eps-beta", 0.1)):
        tr.add_argument(
            f"--{name}", type=_finite_float(name), default=default, help=f"band parameter (eV, default {default})"
        )


def _add_quiet(sp) -> None:
    sp.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    sp.add_argument(
        "--allow-large",
        action="store_true",
        help="skip the memory estimate that refuses runs too large for this machine (jaxnickel.resources)",
    )


def _check_size(a, model: str, method: str, n_k: int, flag: str, largest: str, dim: int = 2, batch: int = 1) -> None:
    """Refuse (exit 2) a run whose estimated memory exceeds what is available, unless --allow-large."""
    if getattr(a, "allow_large", False):
        return
    from .resources import check_memory

    check_memory(model, method, n_k, flag=flag, largest=largest, dim=dim, batch=batch)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(
        prog="jaxnickel",
        description="Differentiable mean-field pairing in bilayer nickelates.",
        epilog="Units: energies of paper 001 (triplon) in eV on input, gaps in meV on output (keys *_meV), "
        "temperatures in kelvin (--T, keys *_K / *_kelvin); paper 000 (mixd) in units of the couplings.",
    )
    p.add_argument("--version", action="version", version=f"jaxnickel {__version__}")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="do not use the persistent compilation cache (default: on, in ~/.cache/jaxnickel/xla or "
        "$JAXNICKEL_CACHE_DIR; JAXNICKEL_CACHE=0 also turns it off)",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    m = sub.add_parser("mixd", help="MixD+V two-channel mean-field ground state (paper 000)")
    m.add_argument("--lattice", default="ladder", help="ladder | square (default: ladder)")
    m.add_argument("--L", type=_int("L"), default=None, help="rungs (ladder) or side (square); default 30 / 16")
    m.add_argument("--Lx", type=_int("Lx"), default=None, help="square lattice: rungs along x")
    m.add_argument("--Ly", type=_int("Ly"), default=None, help="square lattice: rungs along y")
    m.add_argument("--t", type=_finite_float("t"), default=0.1, help="hopping t_parallel (default 0.1)")
    m.add_argument("--J", type=_finite_float("J"), default=1.0, help="rung exchange J_perp (default 1)")
    m.add_argument("--V", type=_finite_float("V"), default=1.0, help="rung repulsion V (default 1)")
    m.add_argument("--epsilon", type=_finite_float("epsilon"), default=0.0, help="diagonal recombination, Eq. 13")
    g = m.add_mutually_exclusive_group()
    g.add_argument("--holes", type=_finite_float("holes"), default=None, help="number of holes N_h (default 8)")
    g.add_argument("--doping", type=_finite_float("doping"), default=None, help="doping N_h / N (alternative)")
    m.add_argument("--method", default="fixed-point", help="fixed-point | gradient (default fixed-point)")
    m.add_argument("--hartree", action="store_true", help="keep the Hartree terms of Eq. (B7)")
    m.add_argument("--max-steps", type=_int("max-steps"), default=None, help="iteration limit of the solver")
    m.add_argument("--json", action="store_true", help="print one JSON object")
    m.add_argument("--plot", metavar="FILE.png", default=None, help="save a plot of Delta_k")
    m.add_argument("--save", metavar="FILE.npz", default=None, help="save the whole solution (loadable)")
    _add_quiet(m)

    tr = sub.add_parser("triplon", help="two-band s+- gaps of the triplon model (paper 001)")
    _add_triplon_model_flags(tr, grid=512)
    tr.add_argument("--method", default="gradient", help="gradient | fixed-point (default gradient)")
    tr.add_argument("--tc", action="store_true", help="also compute T_c (s+- and d channels)")
    tr.add_argument("--json", action="store_true", help="print one JSON object")
    tr.add_argument("--plot", metavar="FILE.png", default=None, help="gaps vs Fermi-surface angle and over the zone")
    tr.add_argument("--max-steps", type=_int("max-steps"), default=None, help="iteration limit of the solver")
    tr.add_argument("--save", metavar="FILE.npz", default=None, help="save the whole solution (jaxnickel load)")
    _add_quiet(tr)

    ft = sub.add_parser("fit", help="fit the triplon model to gap data (CSV; see jaxnickel/datasets/README.md)")
    ft.add_argument("data", help="CSV file of gap data, or 'bundled' for the shipped nickelate STM values")
    ft.add_argument("--free", required=True, help="comma-separated free parameters, e.g. lambda,kappa_a")
    ft.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE", help="fix a parameter (repeatable)")
    ft.add_argument(
        "--start", action="append", default=[], metavar="NAME=VALUE", help="start value of a free parameter"
    )
    ft.add_argument("--model", default="triplon", help="model to fit (triplon)")
    ft.add_argument("--grid", type=_int("grid"), default=128, help="k-points per direction (default 128)")
    ft.add_argument("--starts", type=_int("starts"), default=3, help="number of starts (default 3)")
    ft.add_argument(
        "--cutoff",
        default="sharp",
        help="sharp | lorentzian (default sharp; with omega or a band parameter free the fit uses lorentzian and says so)",
    )
    ft.add_argument("--out", metavar="FIT.json", default=None, help="write the result as JSON")
    ft.add_argument("--plot", metavar="FIT.png", default=None, help="data vs model gaps, residuals, confidence ellipse")
    ft.add_argument("--json", action="store_true", help="print one JSON object")
    ft.add_argument("--max-steps", type=_int("max-steps"), default=100, help="Levenberg-Marquardt steps per start")
    _add_quiet(ft)

    sp = sub.add_parser("spectrum", help="tunnelling conductance dI/dV of the self-consistent triplon state")
    _add_triplon_model_flags(sp, grid=256)
    sp.add_argument("--gamma", type=_finite_float("gamma"), required=True, help="Dynes broadening Gamma (meV, > 0)")
    sp.add_argument(
        "--tunnel-ratio", type=_finite_float("tunnel-ratio"), default=1.0, help="beta/alpha tunnelling weight r"
    )
    sp.add_argument("--bias", required=True, metavar="MIN:MAX:N", help="bias grid in mV, e.g. --bias=-40:40:161")
    sp.add_argument("--n-fs", type=_int("n-fs"), default=48, help="Fermi-line angles per quadrant (default 48)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.add_argument("--out", metavar="FILE.csv", default=None, help="write bias_mV,dIdV,T_K (readable by fit-spectrum)")
    sp.add_argument("--plot", metavar="FILE.png", default=None, help="g(V) and its two band contributions")
    _add_quiet(sp)

    fs = sub.add_parser("fit-spectrum", help="fit the triplon model to STM spectra (Nanonis .dat or CSV)")
    fs.add_argument("data", help="Nanonis bias-spectroscopy .dat file or CSV bias_mV,dIdV[,sigma][,T_K]")
    fs.add_argument("--free", required=True, help="comma-separated free parameters, e.g. lambda,kappa_a,gamma,scale")
    fs.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE", help="fix a parameter (repeatable)")
    fs.add_argument("--start", action="append", default=[], metavar="NAME=VALUE", help="start value of a parameter")
    fs.add_argument(
        "--cutoff", default="sharp", help="sharp | lorentzian (default sharp: the paper's shell |xi| < Omega)"
    )
    fs.add_argument("--grid", type=_int("grid"), default=256, help="k-points per direction (default 256)")
    fs.add_argument("--T", type=_finite_float("T"), default=None, help="temperature (K), overriding the file's")
    fs.add_argument("--channel", default=None, help="Nanonis channel of the conductance (default 'LI Demod 1 X')")
    fs.add_argument(
        "--derivative", action="store_true", help="differentiate the channel numerically (use with --channel Current)"
    )
    fs.add_argument("--pairing", default="s", help="pairing channel of the gap solve: s | d | auto (default s)")
    fs.add_argument("--starts", type=_int("starts"), default=2, help="number of starts (default 2)")
    fs.add_argument("--max-steps", type=_int("max-steps"), default=100, help="Levenberg-Marquardt steps per start")
    fs.add_argument("--json", action="store_true", help="print one JSON object")
    fs.add_argument("--out", metavar="FIT.json", default=None, help="write the result as JSON")
    fs.add_argument("--plot", metavar="FIT.png", default=None, help="data, model, residuals, bands, ellipse")
    _add_quiet(fs)

    ld = sub.add_parser(
        "load", help="print what a jaxnickel file holds: solution (.npz), sweep (.nc or old .npz), fit (.json)"
    )
    ld.add_argument("file")
    ld.add_argument("--json", action="store_true")

    for name in ("exact", "dmrg"):
        what = "exact diagonalisation (Lanczos)" if name == "exact" else "DMRG (TeNPy, extra jaxnickel[dmrg])"
        e = sub.add_parser(name, help=f"{what} of the microscopic MixD+V ladder, Eq. (1) of paper 000")
        e.add_argument("--L", type=_int("L"), default=8 if name == "exact" else 30, help="rungs")
        e.add_argument("--bc", default="open", help="open | periodic (default open)")
        e.add_argument("--t", type=_finite_float("t"), default=0.1, help="hopping along the legs (default 0.1)")
        e.add_argument("--J", type=_finite_float("J"), default=1.0, help="rung exchange J_perp (default 1)")
        e.add_argument("--V", type=_finite_float("V"), default=1.0, help="rung repulsion V (default 1)")
        e.add_argument("--holes", type=_int("holes"), default=2, help="holes, added alternately to the legs")
        e.add_argument("--binding", action="store_true", help="also E_B = 2E(N_h-1) - E(N_h) - E(N_h-2)")
        e.add_argument("--json", action="store_true", help="print one JSON object")
        if name == "exact":
            e.add_argument(
                "--max-dimension",
                type=_int("max-dimension"),
                default=None,
                help="refuse sectors larger than this (default 12e6, ~2.5 GB)",
            )
        else:
            e.add_argument("--chi", default="32,64,128,256", help="bond dimensions, raised in turn (default 32..256)")
            e.add_argument("--max-sweeps", type=_int("max-sweeps"), default=30, help="sweeps per bond dimension")
            e.add_argument(
                "--regenerate",
                metavar="OUT.json",
                default=None,
                help="recompute the shipped L=30 reference data set into OUT.json (hours on 2 cores)",
            )
            e.add_argument("--points", default=None, help="with --regenerate: only these J values, e.g. 1.0,1.2")

    r = sub.add_parser("reproduce", help="regenerate the figures of the papers and a report")
    r.add_argument("--out", default="jaxnickel-output", help="output folder (default ./jaxnickel-output)")
    r.add_argument(
        "--quick", action="store_true", help="coarser scans and grids (about 130 s on 2 cores; default about 240 s)"
    )
    _add_quiet(r)
    return p


def _enable_x64():
    """float64, and the persistent compilation cache (:mod:`jaxnickel.runtime`; off with ``--no-cache``)."""
    import jax

    from .runtime import enable_compilation_cache, enable_exported_programs

    jax.config.update("jax_enable_x64", True)
    enable_compilation_cache()
    enable_exported_programs()


def _print_summary(d: dict) -> None:
    lat = ", ".join(f"{k}={v}" for k, v in d["lattice"].items())
    p = d["params"]
    print(f"MixD+V mean field on {lat}  ({d['method']})")
    print(
        f"  t={p['t']:g} J={p['J']:g} V={p['V']:g} epsilon={p['epsilon']:g} N_h={p['n_holes']:g} "
        f"(doping {d['doping']:.4f}){'  +Hartree' if p['hartree'] else ''}"
    )
    rows = [
        ("energy E", "energy"),
        ("E - E_bg", "energy_minus_background"),
        ("N_sc", "N_sc"),
        ("N_cc", "N_cc"),
        ("(N_sc - 2 N_cc)/N_h", "sc_minus_2cc_fraction"),
        ("beta", "beta"),
        ("mu_h", "mu"),
        ("O_BEC (Eq. 11)", "order_bec"),
        ("O_BCS (Eq. 12)", "order_bcs"),
        ("E_B = 2 min E_k", "binding_energy"),
        ("Delta(k*)", "delta_at_kmin"),
    ]
    for label, key in rows:
        print(f"  {label:<22s} {d[key]: .10g}")
    hs = ", ".join(f"{k}: {v:.6g}" for k, v in d["delta_high_symmetry"].items())
    print(f"  {'Delta at sym. points':<22s} {hs}")
    print(f"  converged={d['converged']} iterations={d['iterations']} residual={d['residual']:.3e}")


def _cmd_mixd(a) -> int:
    from .lattice import make_lattice

    if a.lattice not in ("ladder", "square"):
        raise ValueError(f"--lattice must be 'ladder' or 'square', got {a.lattice!r}")
    from .mixd import METHODS

    if a.method not in METHODS:
        raise ValueError(f"--method must be one of {', '.join(METHODS)}, got {a.method!r}")
    if a.lattice == "ladder":
        if a.Lx is not None or a.Ly is not None:
            raise ValueError("--Lx/--Ly apply to --lattice square only; use --L for a ladder")
        lat = make_lattice("ladder", L=30 if a.L is None else a.L)
    else:
        if a.L is not None and (a.Lx is not None or a.Ly is not None):
            raise ValueError("--L sets both sides of the square lattice: give --L or --Lx/--Ly, not both")
        L = 16 if (a.L is None and a.Lx is None) else a.L
        lat = make_lattice("square", L=L, Lx=a.Lx, Ly=a.Ly)
    if a.doping is not None:
        if not 0.0 < a.doping < 2.0:
            raise ValueError(f"--doping must be in (0, 2), got {a.doping}")
        n_holes = a.doping * lat.n_sites
        if abs(n_holes - round(n_holes)) > 1e-9:
            # the mean field fixes the number of holes; paper 000 uses whole numbers of holes
            rounded = float(max(1, round(n_holes)))
            print(
                f"jaxnickel: note: --doping {a.doping:g} on {lat.n_sites} sites gives N_h = {n_holes:.6g}: "
                f"rounded to N_h = {rounded:g} holes (doping {rounded / lat.n_sites:.6g}); "
                "give --holes for another value",
                file=sys.stderr,
            )
            n_holes = rounded
    else:
        n_holes = 8.0 if a.holes is None else a.holes
    from .mixd.params import RANGES
    from .ranges import check_range

    for name in ("t", "J", "V", "epsilon"):
        check_range(f"--{name}", getattr(a, name), RANGES[name])
    _check_output(a.plot, "--plot", (".png", ".pdf", ".svg"))
    _check_output(a.save, "--save", (".npz",))
    size_flag = f"--L {a.L}" if a.L is not None else (f"--Lx {lat.Lx} --Ly {lat.Ly}" if lat.dim == 2 else "--L 30")
    _check_size(a, "mixd", a.method, lat.n_sites, size_flag, "square lattice" if lat.dim == 2 else "ladder", lat.dim)
    _enable_x64()
    from .mixd import MixDParams, solve

    params = MixDParams(t=a.t, J=a.J, V=a.V, epsilon=a.epsilon, n_holes=n_holes, hartree=a.hartree)
    from .mixd.params import validate_params
    from .progress import compiling

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validate_params(params, lat)  # before the "compiling" line: bad input is one line
        compiling(None, f"and solving the MixD {a.method} problem on {lat.name}", enabled=not a.quiet)
        sol = solve(params, lat, a.method, max_steps=a.max_steps, warn=False, check_resources=False)
    for msg in dict.fromkeys(str(w.message) for w in caught):
        print(f"jaxnickel: warning: {msg}", file=sys.stderr)
    d = _json_safe(sol.summary())
    if a.json:
        _print_json(d)
    else:
        _print_summary(d)
    if a.plot:
        from .plotting import plot_gap

        plot_gap(sol, a.plot)
        if not a.json:
            print(f"  plot written to {a.plot}")
    if a.save:
        sol.save(a.save)
        if not a.json:
            print(f"  solution written to {a.save}")
    return _exit_for(d, f"the {a.method} solve", f"residual {d['residual']:.3e}")


def _exit_for(d: dict, what: str, detail: str = "") -> int:
    """Exit code from a result dict's ``result`` (0 for successful; the message on stderr otherwise)."""
    if d.get("result", "successful") == "successful":
        return 0
    extra = f" ({detail})" if detail else ""
    verb = "did not converge" if d["result"] in ("max_steps_reached", "nonfinite", "unresolved_branch") else "failed"
    print(f"jaxnickel: error: {what} {verb}{extra}: {d['result']}: {d['message']}", file=sys.stderr)
    return EXIT_NOT_CONVERGED


def _print_json(d) -> None:
    """One JSON object on stdout; NaN and inf become null (never the invalid bare ``NaN``)."""
    print(json.dumps(_json_safe(d), allow_nan=False))


def _json_safe(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    return x


def _check_triplon_ranges(a) -> None:
    """The supported ranges of the model flags (:mod:`jaxnickel.ranges`), named by flag, before any work."""
    from .ranges import check_range
    from .triplon.bands import RANGES as BAND
    from .triplon.params import K_B, RANGES

    for flag, key, table in (
        ("--lambda", "lambda", RANGES),
        ("--V", "V", RANGES),
        ("--kappa-a", "kappa_a", RANGES),
        ("--kappa-b", "kappa_b", RANGES),
        ("--omega", "omega", RANGES),
        ("--mu", "mu", BAND),
        ("--t1", "t1", BAND),
        ("--t2", "t2", BAND),
        ("--t3", "t3", BAND),
        ("--eps-alpha", "eps_alpha", BAND),
        ("--eps-beta", "eps_beta", BAND),
    ):
        check_range(flag, getattr(a, key if key != "lambda" else "lam", None), table[key])
    T = getattr(a, "T", None)
    if T is not None:
        r = RANGES["T"]
        check_range("--T", T, r._replace(hi=r.hi / K_B, unit="K"))


def _check_triplon_flags(a) -> None:
    """Range checks of the shared model flags (before any computation)."""
    if a.grid < 8:
        raise ValueError(f"--grid must be an integer >= 8, got {a.grid}")
    _check_triplon_ranges(a)
    _check_size(a, "triplon", getattr(a, "method", "fixed-point"), a.grid * a.grid, f"--grid {a.grid}", "k-grid")
    if a.nc is not None and not 0.0 < a.nc < 2.0:
        raise ValueError(f"--nc must be in (0, 2) electrons per Ni (what the two bands hold), got {a.nc}")
    from .triplon.params import CUTOFFS
    from .triplon.solve import CHANNELS

    if a.pairing not in CHANNELS:
        raise ValueError(f"--channel must be one of {', '.join(CHANNELS)}, got {a.pairing!r}")
    if a.cutoff not in CUTOFFS:
        raise ValueError(f"--cutoff must be one of {', '.join(CUTOFFS)}, got {a.cutoff!r}")


def _triplon_params(a):
    """TriplonParams from the shared model flags (temperature ``a.T`` in kelvin)."""
    _enable_x64()
    from .triplon import K_B, BandParams, make_params

    bands = BandParams(t1=a.t1, t2=a.t2, t3=a.t3, eps_alpha=a.eps_alpha, eps_beta=a.eps_beta)
    return make_params(
        n_c=a.nc,
        mu=a.mu,
        lam=a.lam,
        V=a.V,
        kappa_a=a.kappa_a,
        kappa_b=a.kappa_b,
        omega=a.omega,
        T=a.T * K_B,
        bands=bands,
        grid=a.grid,
        cutoff=a.cutoff,
        check_resources=False,  # checked with the flag's name by _check_triplon_flags
    )


def _check_output(path, flag: str, suffixes: tuple[str, ...]) -> None:
    """Refuse an output path before any work: known suffix, existing writable folder."""
    if path is None:
        return
    if not path or os.path.basename(path) == "":
        raise ValueError(f"{flag} needs a file name, got {path!r}")
    if not path.lower().endswith(suffixes):
        raise ValueError(f"{flag} {path}: the file name must end in {' or '.join(suffixes)}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{flag} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{flag} {path}: folder {folder} is not writable")
    if os.path.exists(path):  # never silently: the old file stays until the new one is complete
        print(f"jaxnickel: note: {flag} {path} exists; it is replaced when the run succeeds", file=sys.stderr)


def _cmd_triplon(a) -> int:
    _check_triplon_flags(a)
    from .triplon.solve import METHODS

    if a.method not in METHODS:
        raise ValueError(f"--method must be one of {', '.join(METHODS)}, got {a.method!r}")
    _check_output(a.plot, "--plot", (".png", ".pdf", ".svg"))
    _check_output(a.save, "--save", (".npz",))
    p = _triplon_params(a)
    from .progress import compiling
    from .triplon import K_B, critical_temperatures, solve

    compiling(None, f"and solving the triplon {a.method} problem on a {a.grid}x{a.grid} grid", enabled=not a.quiet)
    sol = solve(p, a.grid, a.method, channel=a.pairing, max_steps=a.max_steps, warn=False, check_resources=False)
    d = sol.summary()
    d["T_kelvin"] = a.T
    if a.tc:
        tc = critical_temperatures(p, a.grid, progress=not a.quiet).kelvin()
        d["tc_kelvin"] = tc["tc"]
        d["tc_s_kelvin"] = tc["tc_s"]
        d["tc_d_kelvin"] = tc["tc_d"]
        d["leading_channel_at_tc"] = "s+-" if tc["tc_s"] >= tc["tc_d"] else "d"
        if tc["tc"] > 0 and d["channel"] != "normal":
            dmax = d["abs_delta_alpha_max_meV"]
            d["two_delta_alpha_max_over_kTc"] = 2e-3 * dmax / (K_B * tc["tc"])
    d = _json_safe(d)
    if a.json:
        _print_json(d)
    else:
        print(f"triplon s+- model on a {a.grid}x{a.grid} grid ({a.method}), T = {a.T:g} K")
        print(
            f"  mu={d['mu_eV']:.6f} eV  n_alpha={d['n_alpha']:.5f} n_beta={d['n_beta']:.5f}  "
            f"N_alpha={d['N_alpha_per_eV']:.5f} N_beta={d['N_beta_per_eV']:.5f} /eV  lambda={d['lambda']:.4f} "
            f"V={d['V_eV']:.5f} eV"
        )
        print(f"  state: {d['channel']}   free energy {d['free_energy_meV']:.6g} meV per cell")
        if d["time_reversal_broken"]:
            print(
                f"  time reversal broken: |s| {d['s_amplitude_meV']:.4f} meV, |d| {d['d_amplitude_meV']:.4f} meV, "
                f"relative phase {d['relative_phase_deg']:.2f} deg (real parts below)"
            )
        if d["hessian_min_per_eV"] is not None:
            print(
                f"  stability: smallest Hessian eigenvalue {d['hessian_min_per_eV']:.4g} /eV ({'minimum' if d['stable'] else 'SADDLE'})"
            )
        for b in ("alpha", "beta"):
            print(
                f"  Delta_{b:<5s} on its Fermi surface: {d[f'delta_{b}_min_meV']:.4f} .. "
                f"{d[f'delta_{b}_max_meV']:.4f} meV (diagonal {d[f'delta_{b}_diagonal_meV']:.4f})"
            )
        if d["gap_ratio"] is not None:
            print(f"  |Delta_alpha/Delta_beta| on the diagonal: {d['gap_ratio']:.4f}")
        if a.tc:
            print(f"  T_c: s+- {d['tc_s_kelvin']:.2f} K, d {d['tc_d_kelvin']:.2f} K")
        print(f"  converged={d['converged']} iterations={d['iterations']} residual={d['residual_eV']:.3e} eV")
    if a.plot:
        from .plotting import plot_triplon_gaps

        plot_triplon_gaps(sol, a.plot)
        if not a.json:
            print(f"  plot written to {a.plot}")
    if a.save:
        sol.save(a.save)
        if not a.json:
            print(f"  solution written to {a.save}")
    return _exit_for(d, f"the {a.method} solve", f"residual {d['residual_eV']:.3e} eV")


def _name_values(items, flag):
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"{flag} takes NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise ValueError(f"{flag} {k.strip()}: value must be a number, got {v!r}") from None
    return out


def _cmd_fit(a) -> int:
    if a.model != "triplon":
        raise ValueError(f"--model must be 'triplon' (the only model with gap data to fit), got {a.model!r}")
    if a.grid < 8:
        raise ValueError(f"--grid must be an integer >= 8, got {a.grid}")
    if a.starts < 1:
        raise ValueError(f"--starts must be >= 1, got {a.starts}")
    if a.max_steps < 1:
        raise ValueError(f"--max-steps must be >= 1, got {a.max_steps}")
    free = [f.strip() for f in a.free.split(",") if f.strip()]
    fixed = _name_values(a.fix, "--fix")
    start = _name_values(a.start, "--start")
    _check_output(a.out, "--out", (".json",))
    _check_output(a.plot, "--plot", (".png", ".pdf", ".svg"))
    # forward-mode Jacobian: one tangent per free parameter next to the primal solve
    _check_size(a, "triplon", "fixed-point", a.grid * a.grid, f"--grid {a.grid}", "k-grid", batch=len(free) + 1)
    from .data import load_bundled, load_gap_data

    if a.data == "bundled":
        data = load_bundled()
    else:
        if not os.path.exists(a.data):
            raise ValueError(f"data file not found: {a.data}")
        data = load_gap_data(a.data)
    _enable_x64()
    from .fit import fit_gaps

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = fit_gaps(
            data,
            free,
            fixed,
            start=start,
            grid=a.grid,
            starts=a.starts,
            max_steps=a.max_steps,
            cutoff=a.cutoff,
            progress=not a.quiet,
            check_resources=False,
        )
    for w in caught:
        print(f"jaxnickel: warning: {str(w.message).splitlines()[0]}", file=sys.stderr)
    d = r.to_dict()
    if a.out:
        r.save(a.out)
    if a.json:
        _print_json(d)
    else:
        print(f"fit of the triplon model to {data.n} rows ({r.n_data} used), grid {a.grid}, {a.starts} start(s)")
        for k, v in r.parameters.items():
            u = r.uncertainties[k]
            print(f"  {k:<10s} = {v:.6g}" + (f" +- {u:.2g}" if math.isfinite(u) else " (unconstrained)"))
        print(f"  chi2 = {r.chi2:.4g} for dof = {r.dof}; uncertainties {r.uncertainty_scaling}")
        for m, y, sg in zip(r.model_meV, r.data_meV, r.sigma_meV, strict=True):
            print(f"    data {y:8.3f} +- {sg:.3f} meV   model {m:8.3f} meV")
        print(f"  result: {r.result} ({r.message}); {r.seconds:.1f} s")
        if a.out:
            print(f"  written to {a.out}")
    if a.plot:
        from .plotting import plot_fit

        plot_fit(r, data, a.plot)
    return _exit_for(d, "the gap fit")


def _parse_bias(text: str):
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"--bias must be MIN:MAX:N (mV), e.g. --bias=-40:40:161, got {text!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
        n = int(parts[2])
    except ValueError:
        raise ValueError(
            f"--bias must be MIN:MAX:N with numbers MIN < MAX (mV) and an integer N, got {text!r}"
        ) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"--bias: MIN < MAX must be finite numbers (mV), got {text!r}")
    if max(abs(lo), abs(hi)) > 2000.0:
        raise ValueError(f"--bias: |bias| must be <= 2000 mV (the bands are ~1 eV wide), got {text!r}")
    if not 2 <= n <= 100000:
        raise ValueError(f"--bias: N must be an integer in [2, 100000], got {n}")
    return lo, hi, n


def _cmd_spectrum(a) -> int:
    _check_triplon_flags(a)
    if a.gamma <= 0:
        raise ValueError(f"--gamma must be > 0 (Dynes broadening, meV), got {a.gamma}")
    if a.gamma > 1000:
        raise ValueError(f"--gamma must be <= 1000 meV, got {a.gamma}")
    if a.tunnel_ratio < 0:
        raise ValueError(f"--tunnel-ratio must be >= 0, got {a.tunnel_ratio}")
    if a.n_fs < 4 or a.n_fs > 4096:
        raise ValueError(f"--n-fs must be an integer in [4, 4096], got {a.n_fs}")
    if a.T > 2000:
        raise ValueError(f"--T must be <= 2000 K (the thermal window must stay inside the bands), got {a.T}")
    lo, hi, n = _parse_bias(a.bias)
    _check_output(a.out, "--out", (".csv",))
    _check_output(a.plot, "--plot", (".png", ".pdf", ".svg"))
    p = _triplon_params(a)
    import numpy as np

    from .triplon.spectra import spectrum

    if not a.quiet:
        print(f"jaxnickel: compiling and solving on a {a.grid}x{a.grid} grid ...", file=sys.stderr, flush=True)
    spec = spectrum(
        p,
        np.linspace(lo, hi, n),
        gamma_meV=a.gamma,
        tunnel_ratio=a.tunnel_ratio,
        grid=a.grid,
        n_fs=a.n_fs,
        channel=a.pairing,
    )
    d = _json_safe(spec.to_dict())
    from .provenance import provenance

    d["provenance"] = provenance()
    if a.out:
        from .spectra.io import Spectrum, SpectrumSet

        header = (
            f"# jaxnickel spectrum: normalised conductance g of the self-consistent triplon state\n"
            f"# gamma_meV={a.gamma} tunnel_ratio={a.tunnel_ratio} grid={a.grid} channel={d['channel']} "
            f"lambda={d['lambda']:.6g} V_eV={d['V_eV']:.6g} mu_eV={d['mu_eV']:.6g} cutoff={a.cutoff}\n"
            f"# jaxnickel {d['provenance']['jaxnickel_version']} git {d['provenance']['git_revision']} "
            f"{d['provenance']['date']}\n"
        )
        body = SpectrumSet((Spectrum(spec.bias_mV, spec.conductance, None, a.T),)).to_csv()
        _atomic_write(a.out, header + body)
    if a.json:
        _print_json(d)
    else:
        print(
            f"tunnelling spectrum of the {d['channel']} state, T = {a.T:g} K, gamma = {a.gamma:g} meV, r = {a.tunnel_ratio:g}"
        )
        gp = d["gaps"]
        print(
            f"  gaps: alpha {gp['delta_alpha_min_meV']:.3f} .. {gp['delta_alpha_max_meV']:.3f} meV, "
            f"beta {gp['delta_beta_min_meV']:.3f} .. {gp['delta_beta_max_meV']:.3f} meV"
        )
        g = spec.conductance
        i = int(np.argmax(g))
        print(f"  g(0) = {g[np.argmin(np.abs(spec.bias_mV))]:.4f}, max g = {g[i]:.4f} at {spec.bias_mV[i]:.2f} mV")
        print(f"  {n} biases from {lo:g} to {hi:g} mV; energy grid {spec.n_omega} points, {a.n_fs} Fermi-line angles")
        if a.out:
            print(f"  written to {a.out}")
    if a.plot:
        from .spectra.plotting import plot_spectrum

        plot_spectrum(spec, a.plot)
    return _exit_for(d, "the gap equation")


def _atomic_write(path: str, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    from .provenance import atomic_write_text

    atomic_write_text(path, text)


def _cmd_fit_spectrum(a) -> int:
    if a.grid < 8:
        raise ValueError(f"--grid must be an integer >= 8, got {a.grid}")
    if a.starts < 1:
        raise ValueError(f"--starts must be >= 1, got {a.starts}")
    if a.max_steps < 1:
        raise ValueError(f"--max-steps must be >= 1, got {a.max_steps}")
    if a.T is not None and not 0 <= a.T <= 2000:
        raise ValueError(f"--T must be in [0, 2000] K, got {a.T}")
    from .spectra.fit import SPECTRUM_PARAMETERS

    free = [f.strip() for f in a.free.split(",") if f.strip()]
    bad = [f for f in free if f not in SPECTRUM_PARAMETERS]
    if bad:
        raise ValueError(f"--free: unknown parameter(s) {', '.join(bad)}; allowed: {', '.join(SPECTRUM_PARAMETERS)}")
    fixed = _name_values(a.fix, "--fix")
    start = _name_values(a.start, "--start")
    _check_output(a.out, "--out", (".json",))
    _check_output(a.plot, "--plot", (".png", ".pdf", ".svg"))
    _check_size(a, "triplon", "fixed-point", a.grid * a.grid, f"--grid {a.grid}", "k-grid", batch=len(free) + 1)
    if not os.path.exists(a.data):
        raise ValueError(f"data file not found: {a.data}")
    from .spectra.io import DEFAULT_CHANNEL, load_spectra

    kw = {"temperature_K": a.T, "derivative": a.derivative}
    if a.channel is not None:
        kw["channel"] = a.channel
    elif a.derivative:
        kw["channel"] = "Current"
    else:
        kw["channel"] = DEFAULT_CHANNEL
    data = load_spectra(a.data, **kw)
    _enable_x64()
    from .spectra.fit import fit_spectra

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = fit_spectra(
            data,
            free,
            fixed,
            start=start,
            temperature_K=None,  # already applied by the reader
            grid=a.grid,
            cutoff=a.cutoff,
            channel=a.pairing,
            starts=a.starts,
            max_steps=a.max_steps,
            progress=not a.quiet,
            check_resources=False,
        )
    for w in caught:
        print(f"jaxnickel: warning: {str(w.message).splitlines()[0]}", file=sys.stderr)
    d = r.to_dict()
    if a.out:
        _atomic_write(a.out, json.dumps(_json_safe(d), indent=2, allow_nan=False))
    if a.json:
        _print_json(d)
    else:
        temps = ", ".join(f"{s['T_K']:g}" for s in r.spectra)
        print(
            f"fit of {len(r.spectra)} spectrum(s) (T = {temps} K, {r.n_data} points), grid {a.grid}, {a.starts} start(s)"
        )
        for k, v in r.parameters.items():
            u = r.uncertainties[k]
            unit = " meV" if k == "gamma" else ""
            print(f"  {k:<16s} = {v:.6g}{unit}" + (f" +- {u:.2g}" if math.isfinite(u) else " (unconstrained)"))
        print(
            f"  chi2 = {r.chi2:.5g} for dof = {r.dof} (chi2/dof = {r.reduced_chi2:.3g}); uncertainties {r.uncertainty_scaling}"
        )
        print(f"  noise: {r.spectra[0]['sigma_source']}; {r.seconds:.1f} s")
        print(f"  result: {r.result} ({r.message})")
        if a.out:
            print(f"  written to {a.out}")
    if a.plot:
        from .spectra.plotting import plot_spectrum_fit

        plot_spectrum_fit(r, a.plot)
    return _exit_for(d, "the spectrum fit")


def _file_kind(path: str) -> str:
    """What a file written by jaxnickel holds: mixd, triplon, sweep, fit (JSON) -- from its contents."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith((b"\x89HDF", b"CDF")):
        return "sweep"
    if head.startswith(b"PK"):
        import zipfile

        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as data:
                if "__meta__" not in data:
                    raise ValueError(f"{path}: not a jaxnickel file (a .npz archive without a __meta__ entry)")
                meta = json.loads(str(data["__meta__"]))
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            raise ValueError(f"{path}: damaged or truncated .npz file ({type(e).__name__}: {e})") from None
        except json.JSONDecodeError:
            raise ValueError(f"{path}: damaged jaxnickel file (its __meta__ entry is not JSON)") from None
        fmt = str(meta.get("format", "")) if isinstance(meta, dict) else ""
        for prefix, kind in (
            ("jaxnickel-mixd-solution", "mixd"),
            ("jaxnickel-triplon-solution", "triplon"),
            ("jaxnickel-sweep", "sweep"),
        ):
            if fmt.startswith(prefix):
                return kind
        raise ValueError(f"{path}: unknown jaxnickel format {fmt!r}")
    if head.lstrip()[:1] == b"{":
        return "fit"
    raise ValueError(f"{path}: not a file jaxnickel writes (a solution .npz, a sweep .nc/.npz or a fit .json)")


def _cmd_load(a) -> int:
    if not os.path.exists(a.file):
        raise ValueError(f"file not found: {a.file}")
    kind = _file_kind(a.file)
    _enable_x64()
    if kind == "mixd":
        from .mixd import load_solution

        d = _json_safe(load_solution(a.file).summary())
        _print_json(d) if a.json else _print_summary(d)
        return 0
    if kind == "triplon":
        from .triplon.solution import load_solution

        d = _json_safe(load_solution(a.file).summary())
        if a.json:
            _print_json(d)
        else:
            print(
                f"triplon solution ({d['method']}, grid {d['grid']}): state {d['channel']}, F {d['free_energy_meV']:.6g} meV"
            )
            for b in ("alpha", "beta"):
                print(f"  Delta_{b}: {d[f'delta_{b}_min_meV']:.4f} .. {d[f'delta_{b}_max_meV']:.4f} meV")
            print(f"  result: {d['result']} (residual {d['residual_eV']:.3e} eV)")
        return 0
    if kind == "sweep":
        from .sweep import load, not_converged

        ds = load(a.file)
        d = {
            "kind": "sweep",
            "dims": {k: int(v) for k, v in ds.sizes.items()},
            "coords": {k: ds[k].values.tolist() for k in ds.coords},
            "fields": list(ds.data_vars),
            "not_converged": not_converged(ds),
            "attrs": ds.attrs,
        }
        if a.json:
            _print_json(json.loads(json.dumps(d, default=str)))
        else:
            print(f"sweep {ds.attrs.get('function', '')}: {', '.join(f'{k}={v}' for k, v in d['dims'].items())}")
            print(f"  fields: {', '.join(d['fields'])}")
            print(
                f"  fixed: {ds.attrs.get('fixed')}; not converged: {d['not_converged']}; results: {ds.attrs.get('results')}"
            )
            print(
                f"  jaxnickel {ds.attrs.get('jaxnickel_version')} git {ds.attrs.get('git_revision')} {ds.attrs.get('date', '')}"
            )
        return 0
    try:
        with open(a.file, encoding="utf-8") as f:
            d = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{a.file}: not valid JSON ({e})") from None
    if not isinstance(d, dict) or "parameters" not in d or "chi2" not in d:
        raise ValueError(f"{a.file}: a JSON file, but not a jaxnickel fit result (no parameters / chi2)")
    if a.json:
        _print_json(d)
    else:
        what = "spectrum fit" if "spectra" in d else "gap fit"
        print(f"{what}: chi2 = {d['chi2']} for dof = {d.get('dof')}; result {d.get('result', 'unknown')}")
        for k, v in d["parameters"].items():
            print(f"  {k:<16s} = {v} +- {d.get('uncertainties', {}).get(k)}")
        prov = d.get("provenance") or {}
        print(
            f"  input {prov.get('input_file')} (sha256 {prov.get('input_sha256')}); jaxnickel {prov.get('jaxnickel_version')}"
        )
    return 0


def _cmd_reproduce(a) -> int:
    _enable_x64()
    from . import reproduce

    reproduce.run(a.out, quick=a.quick, progress=lambda msg: print(msg, flush=True), bars=not a.quiet)
    return 0


def _ladder_model(a):
    from .exact import LadderModel

    if a.bc not in ("open", "periodic"):
        raise ValueError(f"--bc must be 'open' or 'periodic', got {a.bc!r}")
    if a.L < 2:
        raise ValueError(f"--L must be >= 2 rungs, got {a.L}")
    if not 0 <= a.holes <= 2 * a.L:
        raise ValueError(f"--holes must be in [0, 2L] = [0, {2 * a.L}], got {a.holes}")
    if a.binding and a.holes < 2:
        raise ValueError(f"--binding needs --holes >= 2, got {a.holes}")
    return LadderModel(a.L, a.t, a.J, a.V, a.bc)


def _print_exact(d: dict, title: str) -> None:
    print(
        f"{title}: L={d['L']} ({d['bc']}), t={d['t']:g} J={d['J']:g} V={d['V']:g}, N_h={d['n_holes']} "
        f"(holes per leg {d['holes_per_leg'][0]}/{d['holes_per_leg'][1]}, S^z={d['Sz']:g})"
    )
    rows = [
        ("energy E", "energy"),
        ("E + J L (relative)", "energy_relative"),
        ("E - E_bg", "energy_minus_background"),
        ("N_sc (both legs)", "N_sc"),
        ("N_cc", "N_cc"),
        ("(N_sc - 2 N_cc)/N_h", "sc_minus_2cc_fraction"),
        ("E_B", "binding_energy"),
    ]
    for label, key in rows:
        if key in d:
            print(f"  {label:<22s} {d[key]: .12g}")
    for key in ("dimension", "method", "chi", "max_truncation_error", "energy_change_last_stage", "engine"):
        if key in d:
            print(f"  {key:<22s} {d[key]}")


def _cmd_exact(a) -> int:
    from .exact import MAX_DIMENSION, binding_energy, ground_state

    model = _ladder_model(a)
    kw = {"max_dimension": MAX_DIMENSION if a.max_dimension is None else a.max_dimension}
    if a.binding:
        b = binding_energy(model, a.holes, **kw)
        d = b["results"][a.holes].summary()
        d["binding_energy"] = b["binding_energy"]
        d["energies_by_holes"] = {str(k): v for k, v in b["energies"].items()}
    else:
        d = ground_state(model, a.holes, **kw).summary()
    if a.json:
        _print_json(d)
    else:
        _print_exact(d, "exact diagonalisation")
    return 0


def _cmd_dmrg(a) -> int:
    from .exact import dmrg

    if not dmrg.tenpy_available():
        raise _UsageError(dmrg.DMRG_EXTRA_HINT)
    try:
        chis = [int(c) for c in a.chi.split(",")]
    except ValueError:
        raise ValueError(f"--chi must be comma-separated integers, got {a.chi!r}") from None
    if not chis or min(chis) < 1:
        raise ValueError(f"--chi must be bond dimensions >= 1, got {a.chi!r}")
    if a.max_sweeps < 1:
        raise ValueError(f"--max-sweeps must be an integer >= 1, got {a.max_sweeps}")
    if a.regenerate:
        from .exact import reference

        points = None
        if a.points:
            try:
                points = [float(x) for x in a.points.split(",")]
            except ValueError:
                raise ValueError(f"--points must be comma-separated J values, got {a.points!r}") from None
        reference.regenerate(a.regenerate, J_values=points, progress=lambda m: print(m, flush=True))
        return 0
    model = _ladder_model(a)
    if a.binding:
        res = {
            n: dmrg.run_dmrg(model, n, chis=chis, max_sweeps=a.max_sweeps) for n in (a.holes - 2, a.holes - 1, a.holes)
        }
        d = res[a.holes].summary()
        d["binding_energy"] = 2 * res[a.holes - 1].energy - res[a.holes].energy - res[a.holes - 2].energy
        d["energies_by_holes"] = {str(k): r.energy for k, r in res.items()}
        failed = [k for k, r in res.items() if not r.converged]
        if failed:  # E_B rests on all three states
            d.update(converged=False, **{k: res[failed[0]].summary()[k] for k in ("result", "message")})
            d["message"] = f"N_h = {failed[0]}: {d['message']}"
    else:
        d = dmrg.run_dmrg(model, a.holes, chis=chis, max_sweeps=a.max_sweeps).summary()
    if a.json:
        _print_json(d)
    else:
        _print_exact(d, "DMRG")
        for s in d["stages"]:
            print(
                f"    chi={s['chi']:<5d} E={s['energy']:.12f} trunc.err={s['max_truncation_error']:.2e} "
                f"sweeps={s['sweeps']} ({s['seconds']:.1f} s)"
            )
    return _exit_for(d, "DMRG")


def main(argv=None) -> int:
    from .runtime import configure_process

    configure_process()  # before JAX is imported: a CPU scheduler that cannot deadlock, cacheable programs
    parser = build_parser()
    try:
        a = parser.parse_args(argv)
        if a.no_cache:  # the switch enable_compilation_cache reads
            os.environ["JAXNICKEL_CACHE"] = "0"
        cmd = {
            "mixd": _cmd_mixd,
            "triplon": _cmd_triplon,
            "fit": _cmd_fit,
            "spectrum": _cmd_spectrum,
            "fit-spectrum": _cmd_fit_spectrum,
            "load": _cmd_load,
            "reproduce": _cmd_reproduce,
            "exact": _cmd_exact,
            "dmrg": _cmd_dmrg,
        }[a.command]
        return cmd(a)
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback (outputs are written atomically)
        print("jaxnickel: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _UsageError as e:
        print(f"jaxnickel: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SolveError as e:  # raised only for a failed solve or fit (not a bug): exit 1
        print(f"jaxnickel: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    except (ValueError, OSError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"jaxnickel: error: {msg}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as e:  # a bug, not bad input: one line, unless debugging
        if os.environ.get("JAXNICKEL_DEBUG"):
            raise
        print(
            f"jaxnickel: internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
            "(set JAXNICKEL_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def run() -> None:
    """The ``jaxnickel`` console script: :func:`main`, then exit with its code.

    After Ctrl-C the process ends at once (``os._exit(130)``, stdio flushed): a normal
    interpreter shutdown while XLA's runtime threads are still busy can crash (SIGSEGV).
    Every output is written atomically, so nothing is left half-written.
    """
    code = main()
    if code == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
