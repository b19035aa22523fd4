"""Agreement of clinical gait outcomes between a reference video and a test video.

Cycles are paired by time: a reference cycle and a test cycle of the same person and foot
pair when their heel strikes (start) are within ``tol_s`` seconds (default: a quarter of
the reference stride), nearest first, each cycle used once. For each outcome of
:data:`anonymotion.kinematics.gait_outcomes.OUTCOMES`, over the paired cycles with a value
in both: Bland–Altman of test − reference and ICC(3,1) with its 95 % CI
(:mod:`anonymotion.metrics.agreement`).

Verdict per outcome against the stated limit L (:func:`outcome_limit`; time limits are at
least one frame), judged on the largest |95 % limit of agreement| ("worst"; |difference|
itself for one pair):

- ``n/a``: the reference has no cycle with a value (nothing to judge);
- ``fail``: reference cycles the test lost (no partner) beyond those the control lost, or
  worst > L and worse than the control's worst;
- ``pass``: worst ≤ L and no cycle lost beyond the control;
- ``pass (within control)``: worst > L but no worse than the re-encode control's worst — a
  method is never penalised for what the re-encode alone does (nor for beating it).
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
    verdict: str = ""
    judged_on: str = ""

    @property
    def n_pairs(self) -> int:
        return self.ba.n

    def to_json(self) -> dict:
        return {"outcome": self.outcome, "unit": self.unit, "limit": self.limit, "n_reference": self.n_reference,
                "n_pairs": self.n_pairs, "lost": self.lost, "bias": self.ba.bias, "sd": self.ba.sd,
                "loa_low": self.ba.loa_low, "loa_high": self.ba.loa_high, "icc": self.icc.value,
                "icc_low": self.icc.low, "icc_high": self.icc.high, "verdict": self.verdict,
                "judged_on": self.judged_on}


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
    """Per-outcome agreement of test vs reference cycles (no verdicts yet: see :func:`judge`)."""
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


def judge(method: list[OutcomeAgreement], control: list[OutcomeAgreement] | None = None,
          control_name: str = "reencode") -> list[OutcomeAgreement]:
    """The same agreements with ``verdict`` and ``judged_on`` filled in (see module docstring)."""
    from dataclasses import replace

    by_name = {a.outcome: a for a in (control or [])}
    out = []
    for a in method:
        c = by_name.get(a.outcome)
        worst = a.ba.worst
        basis = f"{a.n_pairs} of {a.n_reference} cycles paired; worst |LoA| vs limit {a.limit:g} {a.unit}"
        if c is not None:
            basis += f"; control {control_name}: worst {c.ba.worst:.3g}, {c.lost} lost"
        allowed_loss = c.lost if c is not None else 0
        if a.n_reference == 0:
            verdict, basis = "n/a", "no cycle with this outcome in the original"
        elif a.lost > allowed_loss:
            verdict = "fail"
            basis = f"{a.lost} of {a.n_reference} cycles lost" + (f" (control lost {allowed_loss})" if c else "") \
                + "; " + basis
        elif a.n_pairs == 0:
            verdict = "n/a"  # every cycle lost, and the control lost them too
            basis = f"no cycle paired; control {control_name} lost them too"
        elif worst <= a.limit:
            verdict = "pass"
        elif c is not None and c.n_pairs and worst <= c.ba.worst:
            verdict = "pass (within control)"
        else:
            verdict = "fail"
        out.append(replace(a, verdict=verdict, judged_on=basis))
    return out
