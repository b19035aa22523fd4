"""Clinical gait outcomes per cycle and person, from gait events and joint-angle tables.

Per cycle (stride) of one foot (see :mod:`anonymotion.kinematics.gait_events`):

- ``cadence`` (steps/min) = 120 / stride time (two steps per stride);
- ``stride_time`` (s): heel strike to the next heel strike of the same foot;
- ``step_time`` (s): the other foot's last heel strike in the cycle to the cycle's end;
- ``stance`` / ``swing`` (% of the cycle): heel strike to toe off, and the rest;
- for the cycle foot's side, joints ``hip``, ``knee``, ``ankle`` (sagittal) and ``elbow``:
  ``{joint}_rom`` (max − min, °), ``{joint}_peak`` (the maximum, °: peak flexion; for the
  ankle, whose convention is + plantar flexion, peak plantar flexion) and
  ``{joint}_peak_time`` (% of the cycle where the peak is).

Angles come from the existing tables, never recomputed: 2D (image plane, pixels) from
:data:`anonymotion.kinematics.angles.ANGLES_2D` (``{side}_hip``/``_knee``/``_ankle``/``_elbow``;
2D hip and knee flexion are unsigned, so hip extension folds onto positive values) and 3D
(world metres) from :mod:`anonymotion.kinematics.angles3d` (``{side}_femur_flexion`` — the
thigh against the vertical, the only sagittal hip angle observable without a pelvis
frame — ``_knee_flexion``, ``_ankle_flexion``, ``_elbow_flexion``). Every angle curve is
time-normalised to 0–100 % of the cycle (101 points); a joint seen in fewer than
``min_coverage`` of a cycle's frames gives NaN outcomes for that cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from anonymotion.kinematics.gait_events import Cycle, GaitEventParams, GaitEvents, detect_gait_events
from anonymotion.types import Poses

JOINTS: tuple[str, ...] = ("hip", "knee", "ankle", "elbow")
#: Angle-table column per joint ({side} is left/right).
ANGLE_2D = {"hip": "{side}_hip", "knee": "{side}_knee", "ankle": "{side}_ankle", "elbow": "{side}_elbow"}
ANGLE_3D = {"hip": "{side}_femur_flexion", "knee": "{side}_knee_flexion", "ankle": "{side}_ankle_flexion",
            "elbow": "{side}_elbow_flexion"}
CURVE_POINTS = 101


@dataclass(frozen=True)
class OutcomeDef:
    """One outcome: name, unit, agreement limit (same unit) and a description."""

    name: str
    unit: str
    limit: float
    description: str


def _joint_defs(joint: str) -> tuple[OutcomeDef, ...]:
    return (OutcomeDef(f"{joint}_rom", "°", 5.0, f"{joint} range of motion in the cycle"),
            OutcomeDef(f"{joint}_peak", "°", 5.0, f"{joint} peak (maximum) angle in the cycle"),
            OutcomeDef(f"{joint}_peak_time", "% cycle", 5.0, f"{joint} time of peak"))


#: Every outcome with its agreement limit (original vs anonymized), in output order.
OUTCOMES: tuple[OutcomeDef, ...] = (
    OutcomeDef("cadence", "steps/min", 1.0, "cadence, 120 / stride time"),
    OutcomeDef("stride_time", "s", 0.02, "stride time (limit: 0.02 s or one frame, the larger)"),
    OutcomeDef("step_time", "s", 0.02, "step time (limit: 0.02 s or one frame, the larger)"),
    OutcomeDef("stance", "% cycle", 3.0, "stance phase"),
    OutcomeDef("swing", "% cycle", 3.0, "swing phase"),
    *(d for j in JOINTS for d in _joint_defs(j)),
)
OUTCOME_DEFS: dict[str, OutcomeDef] = {d.name: d for d in OUTCOMES}


def outcome_limit(name: str, fps: float = 0.0) -> float:
    """Agreement limit of an outcome; time limits are at least one frame (1 / fps s)."""
    d = OUTCOME_DEFS[name]
    if d.unit == "s" and fps > 0:
        return max(d.limit, 1.0 / fps)
    return d.limit


@dataclass(frozen=True)
class CycleOutcome:
    """Outcomes of one cycle: values (outcome name -> value, NaN when not measurable) and
    curves (joint -> (101,) degrees over 0–100 % of the cycle, NaN when not measurable)."""

    person: str
    side: str
    index: int  # 0, 1, ... per person and side, in time order
    cycle: Cycle
    values: dict[str, float]
    curves: dict[str, np.ndarray]

    @property
    def start_s(self) -> float:
        return self.cycle.start_s

    @property
    def end_s(self) -> float:
        return self.cycle.end_s


@dataclass(frozen=True)
class PersonOutcomes:
    """Events and per-cycle outcomes of one person; dims 2 (image) or 3 (world)."""

    person: str
    dims: int
    events: GaitEvents
    cycles: tuple[CycleOutcome, ...]

    @property
    def note(self) -> str:
        """Why there are no cycles ("" when there are)."""
        return self.events.note

    def values(self, name: str) -> np.ndarray:
        """(n_cycles,) values of one outcome over this person's cycles."""
        return np.array([c.values.get(name, np.nan) for c in self.cycles], np.float64)

    def mean_curve(self, joint: str, side: str) -> tuple[np.ndarray, np.ndarray, int]:
        """Mean and SD (101,) of a joint's normalised curve over this side's cycles, and n cycles."""
        curves = [c.curves[joint] for c in self.cycles if c.side == side and np.isfinite(c.curves[joint]).all()]
        if not curves:
            nan = np.full(CURVE_POINTS, np.nan)
            return nan, nan.copy(), 0
        arr = np.stack(curves)
        sd = arr.std(axis=0, ddof=1) if len(arr) > 1 else np.zeros(CURVE_POINTS)
        return arr.mean(axis=0), sd, len(arr)


@dataclass(frozen=True)
class GaitOutcomes:
    """Outcomes of every person in one video."""

    video: str | None
    fps: float
    persons: tuple[PersonOutcomes, ...] = field(default_factory=tuple)

    @property
    def cycles(self) -> tuple[CycleOutcome, ...]:
        return tuple(c for p in self.persons for c in p.cycles)

    def to_rows(self) -> list[dict]:
        """One row per person × cycle × outcome (CSV-ready): video, person, side, cycle,
        start_s, end_s, outcome, value, unit."""
        rows = []
        for c in self.cycles:
            for d in OUTCOMES:
                v = c.values.get(d.name, np.nan)
                rows.append({"video": self.video or "", "person": c.person, "side": c.side, "cycle": c.index,
                             "start_s": round(c.start_s, 4), "end_s": round(c.end_s, 4), "outcome": d.name,
                             "value": "" if not np.isfinite(v) else round(float(v), 4), "unit": d.unit})
        return rows


def normalise_curve(t: np.ndarray, angle: np.ndarray, cycle: Cycle, min_coverage: float = 0.8) -> np.ndarray:
    """(101,) angle over 0–100 % of the cycle (linear interpolation of the frames around it)."""
    a, b = max(cycle.start - 1, 0), min(cycle.end + 2, len(t))
    tt, yy = t[a:b], angle[a:b]
    inner = angle[cycle.start:cycle.end + 1]
    if np.isfinite(inner).mean() < min_coverage:
        return np.full(CURVE_POINTS, np.nan)
    ok = np.isfinite(yy)
    phase = (tt[ok] - cycle.start_s) / cycle.stride_s
    return np.interp(np.linspace(0.0, 1.0, CURVE_POINTS), phase, yy[ok])


def cycle_values(cycle: Cycle, curves: dict[str, np.ndarray]) -> dict[str, float]:
    """Outcome values of one cycle from its events and its normalised joint curves."""
    stride = cycle.stride_s
    stance = 100.0 * (cycle.toe_off_s - cycle.start_s) / stride
    out = {"cadence": 120.0 / stride, "stride_time": stride,
           "step_time": cycle.end_s - cycle.contra_s, "stance": stance, "swing": 100.0 - stance}
    for joint, curve in curves.items():
        ok = np.isfinite(curve).all()
        out[f"{joint}_rom"] = float(curve.max() - curve.min()) if ok else np.nan
        out[f"{joint}_peak"] = float(curve.max()) if ok else np.nan
        out[f"{joint}_peak_time"] = float(np.argmax(curve)) * 100.0 / (CURVE_POINTS - 1) if ok else np.nan
    return {k: float(v) for k, v in out.items()}


def outcomes_from_arrays(points: np.ndarray, t: np.ndarray, names: tuple[str, ...],
                         angles: dict[str, np.ndarray], *, score: np.ndarray | None = None,
                         person: str = "1", params: GaitEventParams = GaitEventParams(),
                         min_coverage: float = 0.8) -> PersonOutcomes:
    """Outcomes of one person: points (T, K, D) for the events, angles name -> (T,) degrees
    (NaN where unreliable) with names as in :data:`ANGLE_2D` (D = 2) or :data:`ANGLE_3D` (D = 3)."""
    dims = int(np.asarray(points).shape[-1])
    table = ANGLE_2D if dims == 2 else ANGLE_3D
    events = detect_gait_events(points, t, names, score, params)
    t = np.asarray(t, np.float64)
    out, counter = [], {"left": 0, "right": 0}
    for cy in events.cycles:
        curves = {}
        for joint in JOINTS:
            col = table[joint].format(side=cy.side)
            series = angles.get(col)
            curves[joint] = (np.full(CURVE_POINTS, np.nan) if series is None
                             else normalise_curve(t, np.asarray(series, np.float64), cy, min_coverage))
        out.append(CycleOutcome(person, cy.side, counter[cy.side], cy, cycle_values(cy, curves), curves))
        counter[cy.side] += 1
    return PersonOutcomes(person, dims, events, tuple(out))


def person_outcomes(poses: Poses, *, person: str = "1", dims: int = 2,
                    params: GaitEventParams = GaitEventParams(), min_coverage: float = 0.8) -> PersonOutcomes:
    """Outcomes of one person's :class:`Poses`: 2D from ``xy`` (pixels; 2D angles whose
    confidence is below ``params.score_threshold`` are dropped) or 3D from ``world`` (metres,
    MediaPipe's y-down frame unless ``params.vertical_axis`` says otherwise; points below the score
    threshold are dropped)."""
    if dims == 2:
        from anonymotion.kinematics.angles import angles_2d

        ang, conf, names = angles_2d(poses.xy, poses.score, poses.names)
        ang = np.where(conf >= params.score_threshold, ang, np.nan)
        return outcomes_from_arrays(poses.xy, poses.t, poses.names, dict(zip(names, ang.T)), score=poses.score,
                                    person=person, params=params, min_coverage=min_coverage)
    if dims != 3:
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    if poses.world is None:
        raise ValueError("3D outcomes need world landmarks (Poses.world is None)")
    from anonymotion.kinematics.angles3d import angles_3d

    world = np.where((poses.score >= params.score_threshold)[..., None], poses.world, np.nan)
    ang, names = angles_3d(world, poses.names)
    return outcomes_from_arrays(poses.world, poses.t, poses.names, dict(zip(names, ang.T)), score=poses.score,
                                person=person, params=params, min_coverage=min_coverage)
