"""Agreement of clinical gait outcomes between a reference video and a test video.

Cycles are paired by time: a reference cycle and a test cycle of the same person and foot
pair when their heel strikes (start) are within ``tol_s`` seconds (default: a quarter of
the reference stride), nearest first, each cycle used once. For each outcome of
:data:`anonymotion.kinematics.gait_outcomes.OUTCOMES`, over the paired cycles with a value
in both: Bland–Altman of test − reference and ICC(3,1) with its 95 % CI
(:mod:`anonymotion.metrics.agreement`).

The verdict against the stated limits is the judge's
(:func:`anonymotion.evaluation.judge.judge_outcome`), not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anonymotion.kinematics.gait_outcomes import OUTCOMES, CycleOutcome, outcome_limit
from anonymotion.metrics.agreement import ICC, BlandAltman, bland_altman, icc_pairs


@dataclass(frozen=True)
class OutcomeAgreement:
    """Agreement of one outcome. ref / test: (n_pairs,) paired values (for the BA plot);
    n_reference: reference cycles with a value; lost: of those, how many had no partner."""

    outcome: str
    unit: str
    limit: float
    n_reference: int
    lost: int
    ref: np.ndarray
    test: np.ndarray
    ba: BlandAltman
    icc: ICC

    @property
    def n_pairs(self) -> int:
        return self.ba.n

    def to_json(self) -> dict:
        return {"outcome": self.outcome, "unit": self.unit, "limit": self.limit, "n_reference": self.n_reference,
                "n_pairs": self.n_pairs, "lost": self.lost, "bias": self.ba.bias, "sd": self.ba.sd,
                "loa_low": self.ba.loa_low, "loa_high": self.ba.loa_high, "icc": self.icc.value,
                "icc_low": self.icc.low, "icc_high": self.icc.high}


def pair_cycles(ref: list[CycleOutcome] | tuple[CycleOutcome, ...], test: list[CycleOutcome] | tuple[CycleOutcome, ...],
                tol_s: float | None = None,
                person_map: dict[str, str] | None = None) -> list[tuple[CycleOutcome, CycleOutcome]]:
    """Pairs (reference cycle, test cycle) of the same person and side whose starts are within
    ``tol_s`` (None: a quarter of the reference stride); ``person_map`` maps reference person
    ids to test person ids (identity when None)."""
    candidates = []
    for i, r in enumerate(ref):
        want = (person_map or {}).get(r.person, r.person)
        tol = tol_s if tol_s is not None else 0.25 * r.cycle.stride_s
        for j, c in enumerate(test):
            if c.person == want and c.side == r.side:
                dt = abs(c.start_s - r.start_s)
                if dt <= tol:
                    candidates.append((dt, i, j))
    used_r, used_t, pairs = set(), set(), []
    for _, i, j in sorted(candidates):
        if i not in used_r and j not in used_t:
            used_r.add(i)
            used_t.add(j)
            pairs.append((ref[i], test[j]))
    return sorted(pairs, key=lambda p: (p[0].person, p[0].start_s, p[0].side))


def agreement(ref: list[CycleOutcome] | tuple[CycleOutcome, ...], test: list[CycleOutcome] | tuple[CycleOutcome, ...],
              *, fps: float = 0.0, tol_s: float | None = None,
              person_map: dict[str, str] | None = None) -> list[OutcomeAgreement]:
    """Per-outcome agreement of test vs reference cycles (verdicts: the evaluation's judge)."""
    pairs = pair_cycles(ref, test, tol_s, person_map)
    out = []
    for d in OUTCOMES:
        n_ref = sum(np.isfinite(c.values.get(d.name, np.nan)) for c in ref)
        rv = np.array([r.values.get(d.name, np.nan) for r, _ in pairs], np.float64)
        tv = np.array([t.values.get(d.name, np.nan) for _, t in pairs], np.float64)
        ok = np.isfinite(rv) & np.isfinite(tv)
        out.append(OutcomeAgreement(d.name, d.unit, outcome_limit(d.name, fps), int(n_ref), int(n_ref - ok.sum()),
                                    rv[ok], tv[ok], bland_altman(rv[ok], tv[ok]), icc_pairs(rv[ok], tv[ok])))
    return out
