"""Progress by phase and an ETA for the whole job (pure functions over plain dicts).

A web job runs as a sequence of *phases*, each counting frames: ``anonymize`` (the method and
the re-encode control in one pass), ``audit`` (the independent face check), ``persons``
(finding whom to measure), ``pose_original``, ``pose_anonymized`` and ``control`` (pose on the
re-encoded original). A phase is a dict::

    {"name": str, "label": str, "done": int, "total": int,   # frames
     "started": float | None, "first_at": float | None,      # Unix s; first_at: first frame done
     "first_done": int | None, "finished": float | None}

Phases cost different amounts per frame (the audit runs two face detectors at a larger size,
pose runs a network per frame), so the bar and the ETA weigh them by :data:`COST` (relative
seconds per frame), scaled by the speed measured on this machine so far.
"""

from __future__ import annotations

import time
from typing import Any

#: phase name -> label shown to people
LABELS = {
    "anonymize": "Anonymize",
    "audit": "Audit",
    "persons": "Find persons",
    "pose_original": "Pose original",
    "pose_anonymized": "Pose anonymized",
    "control": "Control",
}
#: prior cost per frame, relative to anonymize (measured on the lab clips; only the ratios matter)
COST = {"anonymize": 1.0, "audit": 2.0, "persons": 5.0, "pose_original": 0.8, "pose_anonymized": 0.8,
        "control": 0.8}
#: phases of each stage, in order
ANONYMIZE_PHASES = ("anonymize", "audit")
TEST_PHASES = ("persons", "pose_original", "pose_anonymized", "control")


def plan(names: tuple[str, ...] | list[str], frames: int) -> list[dict[str, Any]]:
    """Phases ``names`` of ``frames`` frames each (the persons search looks at one frame)."""
    return [{"name": n, "label": LABELS.get(n, n.replace("_", " ").capitalize()), "done": 0,
             "total": 1 if n == "persons" else max(1, int(frames)), "started": None, "first_at": None,
             "first_done": None, "finished": None} for n in names]


def advance(phases: list[dict[str, Any]], name: str, done: int, total: int | None, now: float) -> None:
    """Record ``done`` of ``total`` frames in phase ``name`` (in place); earlier phases end."""
    names = [p["name"] for p in phases]
    if name not in names:
        return
    k = names.index(name)
    for p in phases[:k]:
        if p["finished"] is None:
            p["finished"] = now
            p["done"] = p["total"]
    p = phases[k]
    if p["started"] is None:
        p["started"] = now
    if total is not None and total > 0:
        p["total"] = int(total)
    p["done"] = max(0, min(int(done), p["total"]))
    if p["first_at"] is None and p["done"] > 0:
        p["first_at"], p["first_done"] = now, p["done"]
    if p["done"] >= p["total"] and p["finished"] is None and total is not None:
        p["finished"] = now


def finish_all(phases: list[dict[str, Any]], now: float) -> None:
    """Mark every phase complete (the stage finished)."""
    for p in phases:
        if p["started"] is None:
            p["started"] = now
        p["done"] = p["total"]
        p["finished"] = p["finished"] or now


def _rate(p: dict[str, Any], now: float) -> float | None:
    """Seconds per frame measured in phase ``p`` (None when it cannot be told yet)."""
    if p["finished"] is not None and p["started"] is not None and p["total"] > 0:
        return max(0.0, p["finished"] - p["started"]) / p["total"]
    if p["first_at"] is not None and p["first_done"] is not None and p["done"] > p["first_done"]:
        return max(0.0, now - p["first_at"]) / (p["done"] - p["first_done"])
    return None


def estimate(phases: list[dict[str, Any]], now: float | None = None) -> tuple[float, float | None]:
    """(percent done 0..100, seconds left for every remaining phase or None while unknown).

    Percent weighs each phase's frames by its cost. The ETA scales the cost table by the
    speed measured in the phases seen so far: the current phase at its own rate, later ones
    at cost × measured seconds-per-cost-unit, plus the start-up time (model loading) seen.
    """
    now = time.time() if now is None else now
    weight = [COST.get(p["name"], 1.0) * p["total"] for p in phases]
    total = sum(weight)
    done = sum(COST.get(p["name"], 1.0) * min(p["done"], p["total"]) for p in phases)
    percent = 100.0 * done / total if total > 0 else 0.0
    measured = [(p, r) for p in phases if (r := _rate(p, now)) is not None]
    if not measured:
        return percent, None
    unit = sum(r * COST.get(p["name"], 1.0) for p, r in measured) / sum(COST.get(p["name"], 1.0) ** 2
                                                                          for p, _ in measured)
    starts = [p["first_at"] - p["started"] for p in phases if p["first_at"] is not None and p["started"] is not None]
    startup = sum(starts) / len(starts) if starts else 0.0
    left = 0.0
    for p in phases:
        if p["finished"] is not None:
            continue
        rest = p["total"] - p["done"]
        rate = _rate(p, now)
        if rate is None:
            rate = unit * COST.get(p["name"], 1.0)
            if p["first_at"] is None:
                left += startup if p["started"] is None else max(0.0, startup - (now - p["started"]))
        left += rest * rate
    return percent, max(0.0, left)


def current(phases: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The phase being worked on: the first unfinished one once any has started, else None."""
    if not any(p["started"] is not None for p in phases):
        return None
    return next((p for p in phases if p["finished"] is None), None)
