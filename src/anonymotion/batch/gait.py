"""Gait-outcome agreement over a batch dataset: the paired cycles of every video pooled.

Each video's evaluation keeps, per method and outcome, the paired cycle values (original,
method) and how many original cycles had no partner (see
:func:`anonymotion.evaluation.outcomes.gait_agreement_rows`). Pooled per method and outcome
over the dataset: Bland–Altman (bias, SD, 95 % limits of agreement) and ICC(3,1) with its CI
(:mod:`anonymotion.metrics.agreement`), judged by the one judge
(:func:`anonymotion.evaluation.judge.judge_outcome`) against the pooled re-encode control.
Files: report_gait.csv.
"""

from __future__ import annotations

from typing import Any

from anonymotion.batch.state import Entry
from anonymotion.methods.registry import CONTROL

GAIT_COLUMNS = ("method", "outcome", "unit", "videos", "n_reference", "n_pairs", "lost", "bias", "sd", "loa_low",
                "loa_high", "icc", "icc_low", "icc_high", "limit", "verdict", "judged_on")


def compact_gait(gait: dict[str, Any]) -> dict[str, Any]:
    """What a batch manifest keeps of a CompareResult.gait: cycles and, per outcome, the pairs."""
    keep = ("outcome", "unit", "limit", "n_reference", "lost", "ref", "test")
    return {"cycles_ref": gait.get("cycles_ref", 0), "cycles_test": gait.get("cycles_test", 0),
            "rows": [{k: r.get(k) for k in keep} for r in gait.get("rows", [])]}


def pooled_gait_rows(entries: list[Entry], labels: list[str]) -> list[dict]:
    """One row per method and outcome with the pooled agreement and verdict (GAIT_COLUMNS)."""
    import numpy as np

    from anonymotion.evaluation.judge import judge_outcome
    from anonymotion.metrics.agreement import bland_altman, icc_pairs

    pooled: dict[str, dict[str, dict]] = {}
    for m in labels:
        for e in entries:
            ev = e.evaluation.get(m) if e.status == "done" else None
            if not ev or not ev.get("gait"):
                continue
            for r in ev["gait"]["rows"]:
                p = pooled.setdefault(m, {}).setdefault(r["outcome"], {
                    "outcome": r["outcome"], "unit": r["unit"], "limit": r["limit"], "n_reference": 0, "lost": 0,
                    "ref": [], "test": [], "videos": 0})
                p["limit"] = max(p["limit"], r["limit"])  # time limits: one frame of the slowest video
                p["n_reference"] += int(r.get("n_reference") or 0)
                p["lost"] += int(r.get("lost") or 0)
                p["ref"] += [v if v is not None else float("nan") for v in r.get("ref") or []]
                p["test"] += [v if v is not None else float("nan") for v in r.get("test") or []]
                p["videos"] += 1
    rows = {}
    for m, by_outcome in pooled.items():
        for name, p in by_outcome.items():
            ba, icc = bland_altman(np.array(p["ref"]), np.array(p["test"])), icc_pairs(np.array(p["ref"]),
                                                                                        np.array(p["test"]))
            rows[(m, name)] = {**{k: p[k] for k in ("outcome", "unit", "limit", "n_reference", "lost", "videos")},
                               "n_pairs": ba.n, "bias": ba.bias, "sd": ba.sd, "loa_low": ba.loa_low,
                               "loa_high": ba.loa_high, "icc": icc.value, "icc_low": icc.low, "icc_high": icc.high}
    out = []
    for (m, name), r in rows.items():
        if m == CONTROL:
            out.append({"method": m, **r, "verdict": "control", "judged_on": "the control itself"})
            continue
        control = rows.get((CONTROL, name))
        j = judge_outcome(r, control)
        out.append({"method": m, **r, "verdict": j["verdict"], "judged_on": j["judged_on"]})
    return out
