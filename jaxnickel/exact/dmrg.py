"""DMRG of the microscopic MixD+V ladder, Eq. (1) of paper 000, through TeNPy.

Optional extra: ``pip install "jaxnickel[dmrg]"`` installs ``physics-tenpy``.
The model is the one of :mod:`jaxnickel.exact.ed` (same conventions, tested
against it to 1e-8 on 8 rungs): two ``SpinHalfHoleSite``\\ s per rung (the t-J
site: empty / up / down, Jordan-Wigner strings handled by TeNPy), with three
conserved charges, as in the paper's SyTen runs (App. D): the electron number
of each leg (``N0``, ``N1``, possible because ``t_perp = 0``) and ``2 S^z``.

Two-site DMRG with the subspace-expansion mixer; the bond dimension is raised
along ``chis`` (each stage starts from the previous state; the intermediate
stages converge to ``1e-8`` in at most 10 sweeps, the last to ``max_E_err``) and
every stage's energy, largest truncation error and sweep count are kept, so
convergence in ``chi`` is on record.  The MPS runs rung by rung (``2 x + leg``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .ed import LadderGroundState, LadderModel, Sector, default_sector

__all__ = ["DMRGResult", "run_dmrg", "tenpy_available", "tenpy_version", "DMRG_EXTRA_HINT"]

DMRG_EXTRA_HINT = (
    'DMRG needs the optional extra "dmrg" (TeNPy): pip install "jaxnickel[dmrg]"  (or: pip install physics-tenpy)'
)


def tenpy_available() -> bool:
    try:
        import tenpy  # noqa: F401
    except ImportError:
        return False
    return True


def tenpy_version() -> str | None:
    try:
        import tenpy
    except ImportError:
        return None
    return tenpy.__version__


def _import_tenpy():
    try:
        import tenpy  # noqa: F401
    except ImportError as err:
        raise ImportError(DMRG_EXTRA_HINT) from err
    import tenpy.tools.misc

    tenpy.tools.misc.setup_logging(to_stdout=None)  # keep TeNPy quiet unless the caller configures logging
    from tenpy.models.model import CouplingMPOModel
    from tenpy.networks.site import SpinHalfHoleSite, set_common_charges

    class MixDLadder(CouplingMPOModel):
        """Eq. (1) of paper 000 on a TeNPy ``Ladder``: legs = the lattice's ``u = 0, 1``."""

        default_lattice = "Ladder"
        force_default_lattice = True

        def init_sites(self, model_params):
            sites = [SpinHalfHoleSite(cons_N="N", cons_Sz="Sz") for _ in range(2)]
            set_common_charges(
                sites,
                new_charges=[[(1, 0, "N")], [(1, 1, "N")], [(1, 0, "2*Sz"), (1, 1, "2*Sz")]],
                new_names=["N0", "N1", "2*Sz"],
            )
            for s in sites:
                s.add_op("Nh", s.get_op("Id") - s.get_op("Ntot"))
            return sites

        def init_terms(self, model_params):
            t = model_params.get("t", 0.1)
            J = model_params.get("J", 1.0)
            V = model_params.get("V", 1.0)
            for u1, u2, dx in self.lat.pairs["leg_NN"]:
                self.add_coupling(-t, u1, "Cdu", u2, "Cu", dx, plus_hc=True)
                self.add_coupling(-t, u1, "Cdd", u2, "Cd", dx, plus_hc=True)
            for u1, u2, dx in self.lat.pairs["rung_NN"]:
                self.add_coupling(J, u1, "Sz", u2, "Sz", dx)
                self.add_coupling(0.5 * J, u1, "Sp", u2, "Sm", dx, plus_hc=True)
                self.add_coupling(-0.25 * J, u1, "Ntot", u2, "Ntot", dx)
                self.add_coupling(V, u1, "Nh", u2, "Nh", dx)

    from tenpy.algorithms import dmrg
    from tenpy.networks.mps import MPS

    return MixDLadder, MPS, dmrg


def initial_product_state(L: int, sector: Sector) -> list[str]:
    """Product state in ``sector``: holes spread evenly (leg 1 shifted by half a spacing), spins alternating.

    The MPS order is rung by rung; alternating spins along it put opposite spins
    on fully occupied rungs.  ``2 S^z`` is then 0 or 1 (the :func:`default_sector`
    choice); other ``S^z`` flip down spins to up from the left.
    """
    holes = [set(), set()]
    for leg, h in enumerate((sector.h0, sector.h1)):
        if h:
            shift = 0.5 * (L / h) * leg
            holes[leg] = {int((i + 0.5) * L / h + shift) % L for i in range(h)}
            k = 0
            while len(holes[leg]) < h:  # collisions from rounding: fill the first free rungs
                holes[leg].add(k)
                k += 1
    states, spin = [], 0
    for x in range(L):
        for leg in range(2):
            if x in holes[leg]:
                states.append("empty")
            else:
                states.append("up" if spin % 2 == 0 else "down")
                spin += 1
    two_sz = sum(+1 if s == "up" else -1 for s in states if s != "empty")
    for i, s in enumerate(states):
        if two_sz >= sector.two_sz:
            break
        if s == "down":
            states[i] = "up"
            two_sz += 2
    if two_sz != sector.two_sz:
        raise ValueError(f"cannot build an initial state with 2 S^z = {sector.two_sz} for L = {L}, {sector}")
    return states


@dataclass
class DMRGResult(LadderGroundState):
    """DMRG ground state and its convergence record (``stages``: per bond dimension the energy, the
    largest truncation error, sweeps and seconds)."""

    stages: list = field(default_factory=list)
    engine: str = ""
    seconds: float = 0.0

    @property
    def chi(self) -> int:
        return int(self.stages[-1]["chi"]) if self.stages else 0

    @property
    def energy_change_last_stage(self) -> float:
        """``|E(chi_last) - E(chi_previous)|``: the convergence-in-chi estimate (NaN with one stage)."""
        if len(self.stages) < 2:
            return float("nan")
        return abs(self.stages[-1]["energy"] - self.stages[-2]["energy"])

    #: tolerance on ``|E(chi_last) - E(chi_previous)|`` for :attr:`converged` (energy unit of the model)
    chi_tol: float = 1e-6
    #: ``max_sweeps`` of the last stage (a stage that used them all stopped on the limit, not on ``max_E_err``)
    max_sweeps: int = 0

    @property
    def converged(self) -> bool:
        """The last stage stopped on its energy tolerance before ``max_sweeps``, and the energy is
        converged in the bond dimension (``energy_change_last_stage <= chi_tol``; with one stage,
        a truncation error below 1e-10 stands in for it)."""
        if not self.stages:
            return False
        last = self.stages[-1]
        swept_out = self.max_sweeps > 0 and last["sweeps"] >= self.max_sweeps
        dchi = self.energy_change_last_stage
        in_chi = dchi <= self.chi_tol if math.isfinite(dchi) else last["max_truncation_error"] <= 1e-10
        return bool(math.isfinite(last["energy"]) and not swept_out and in_chi)

    @property
    def result(self):
        from ..results import RESULTS

        return RESULTS.successful if self.converged else RESULTS.max_steps_reached

    def summary(self) -> dict:
        dchi = self.energy_change_last_stage
        detail = (
            f"DMRG: last stage {self.stages[-1]['sweeps'] if self.stages else 0} of {self.max_sweeps} sweeps, "
            f"|E(chi) - E(chi_prev)| = {dchi:.2e} (tolerance {self.chi_tol:g}): raise --max-sweeps or add a "
            "larger --chi"
        )
        return {
            **super().summary(),
            "converged": self.converged,
            "result": self.result.name,
            "message": "successful" if self.converged else f"not converged in sweeps or bond dimension ({detail})",
            "chi": self.chi,
            "max_truncation_error": self.stages[-1]["max_truncation_error"] if self.stages else None,
            "energy_change_last_stage": self.energy_change_last_stage,
            "stages": self.stages,
            "engine": self.engine,
            "seconds": self.seconds,
        }


def run_dmrg(
    model: LadderModel,
    n_holes: int | None = None,
    *,
    sector: Sector | None = None,
    chis=(32, 64, 128, 256),
    max_sweeps: int = 30,
    max_E_err: float = 1e-11,
    svd_min: float = 1e-12,
    initial_state: list[str] | None = None,
    progress=None,
    chi_tol: float = 1e-6,
) -> DMRGResult:
    """Ground state of Eq. (1) by two-site DMRG (TeNPy), raising the bond dimension along ``chis``.

    ``converged`` / ``result`` of the returned state: the last stage stopped on ``max_E_err``
    before ``max_sweeps`` and the energy changed by at most ``chi_tol`` from the previous bond
    dimension (the ``dmrg`` command exits 1 otherwise).

    ``progress(msg)`` (optional) is called after each bond-dimension stage.
    Raises ``ImportError`` naming the extra when TeNPy is not installed.
    """
    MixDLadder, MPS, dmrg = _import_tenpy()
    import tenpy

    if sector is None:
        if n_holes is None:
            raise ValueError("give n_holes or a sector")
        sector = default_sector(model.L, n_holes)
    chis = [int(c) for c in chis]
    if not chis or min(chis) < 1:
        raise ValueError(f"chis must be a non-empty list of bond dimensions >= 1, got {chis}")
    M = MixDLadder(
        {
            "L": model.L,
            "t": float(model.t),
            "J": float(model.J),
            "V": float(model.V),
            "bc_MPS": "finite",
            "bc_x": model.bc,
        }
    )
    states = initial_state or initial_product_state(model.L, sector)
    psi = MPS.from_product_state(M.lat.mps_sites(), states, bc="finite", unit_cell_width=M.lat.mps_unit_cell_width)
    t_start = time.perf_counter()
    stages = []
    for stage, chi in enumerate(chis):
        last = stage == len(chis) - 1
        t0 = time.perf_counter()
        info = dmrg.run(
            psi,
            M,
            {
                "mixer": True,
                "trunc_params": {"chi_max": chi, "svd_min": svd_min},
                # intermediate bond dimensions only prepare the state: looser, shorter
                "max_E_err": max_E_err if last else max(max_E_err, 1e-8),
                "max_sweeps": max_sweeps if last else min(max_sweeps, 10),
                "min_sweeps": 2,
                "max_trunc_err": None,  # small chi stages may truncate a lot: recorded below, not fatal
            },
        )
        stats = info["sweep_statistics"]
        stages.append(
            {
                "chi": chi,
                "energy": float(info["E"]),
                "max_truncation_error": float(np.max(stats["max_trunc_err"][-1:])),
                "max_bond_dimension": int(max(psi.chi)),
                "sweeps": int(len(stats["sweep"])),
                "seconds": time.perf_counter() - t0,
            }
        )
        if progress is not None:
            st = stages[-1]
            progress(
                f"  chi={chi}: E={st['energy']:.12f} trunc={st['max_truncation_error']:.1e} "
                f"sweeps={st['sweeps']} ({st['seconds']:.1f} s)"
            )
    nh = np.asarray(psi.expectation_value("Nh"), dtype=float).reshape(model.L, 2)
    n_cc = float(sum(psi.expectation_value_multi_sites(["Nh", "Nh"], 2 * x).real for x in range(model.L)))
    n_sc = float(nh.sum()) - 2.0 * n_cc
    return DMRGResult(
        model=model,
        sector=sector,
        energy=stages[-1]["energy"],
        N_sc=n_sc,
        N_cc=n_cc,
        hole_density=nh.T.copy(),
        stages=stages,
        engine=f"TeNPy {tenpy.__version__} (two-site DMRG, mixer; charges N0, N1, 2*Sz)",
        seconds=time.perf_counter() - t_start,
        chi_tol=chi_tol,
        max_sweeps=max_sweeps,
    )
