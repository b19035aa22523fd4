"""Gait events (heel strike, toe off) and gait cycles from keypoint trajectories.

Method: the coordinate-based algorithm of Zeni, Richards & Higginson (Gait Posture 2008,
27:710-714). Along the walking direction, the heel is farthest *in front of* the pelvis at
heel strike and the toe is farthest *behind* it at toe off:

1. Pelvis = mid-hip. Walking direction (unit vector, image or world units): the axis is the
   first principal axis of the heel and foot-index motion relative to the pelvis (each point
   centred on its own mean): the feet swing along it, and a panning camera cancels out. Its
   sign makes the foot index lie ahead of the heel on average (``min_foot_ahead`` leg
   lengths; source ``"feet"``), or, when the foot is too foreshortened for that, follows the
   pelvis travel along the axis (at least ``min_travel`` leg lengths; source ``"pelvis"``).
   In 2D image coordinates a walker going to the image left thus gets (−1, 0) even when a
   panning camera makes the pelvis drift right. The vertical coordinate
   (``vertical_axis``: y, image down in pixels and MediaPipe world down in metres) is left
   out of the direction, so walking is judged in the horizontal plane (2D: along image x).
2. Signals per foot, in leg lengths (hip→knee + knee→ankle, per frame, so 2D pixels and 3D
   metres are on one scale): heel(t) = (heel − pelvis)·dir / leg, toe(t) = (foot index −
   pelvis)·dir / leg. The ankle stands in for a heel or foot index seen in under half of the
   frames. Points below ``score_threshold`` are missing; gaps are never bridged. Optionally
   low-passed (zero-phase Butterworth, ``cutoff_hz``).
3. Heel strike = local maximum of heel(t); toe off = local minimum of toe(t); both must stand
   out by ``prominence`` leg lengths (scipy.signal.find_peaks) and same-foot events are at
   least half of ``min_stride_s`` apart. Extremes at the clip's ends or next to gaps are not events.
4. A cycle (stride) of one foot runs from one heel strike to the next of the same foot when
   it lasts ``min_stride_s``–``max_stride_s``, holds exactly one toe off of that foot and at
   most one heel strike of the other foot, has data in ``min_coverage`` of its frames, a
   stance phase within ``stance_range`` % and a heel excursion (max − min relative to the
   pelvis) of at least ``min_excursion`` leg lengths (a real step moves the heel about a
   step length, 0.6–0.9 leg lengths seen from the side; swaying or shuffling on the spot does
   not). A clip with heel strikes but no valid stride says which checks rejected them.

A clip without walking (standing, balancing) gives no cycles and a ``note`` saying why; no
cycle is invented. The method assumes forward walking seen mostly from the side in 2D (a
walker heading straight at the camera foreshortens the signals). Events are frame indices;
their times are refined below one frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from anonymotion.config import option
from anonymotion.pose.filtering import _runs, butterworth, sample_rate

log = logging.getLogger(__name__)

SIDES = ("left", "right")


@dataclass(frozen=True)
class GaitEventParams:
    """Settable parameters of the event detector (see the module docstring); the ``outcomes``
    command's options are generated from these fields."""

    min_stride_s: float = option(0.6, "shortest stride (heel strike to heel strike of one foot) accepted, s "
                                      "(default 0.6)", type=float, flag="--min-stride", metavar="S")
    max_stride_s: float = option(2.5, "longest stride accepted, s (default 2.5)", type=float, flag="--max-stride",
                                 metavar="S")
    cutoff_hz: float | None = option(6.0, "low-pass of the heel/toe signals before finding events, Hz; 0 for none "
                                          "(default 6)", type=float, flag="--event-cutoff", metavar="HZ")
    prominence: float = option(0.15, "how far a heel/toe extreme must stand out to be an event, leg lengths "
                                     "(default 0.15)", type=float, metavar="LEGS")
    score_threshold: float = option(0.5, "keypoint score a point needs to be used, 0-1 (default 0.5)", type=float)
    min_foot_ahead: float = option(0.05, "how far the toes must be ahead of the heels on average to give the "
                                         "walking direction's sign, leg lengths (default 0.05)", type=float,
                                   metavar="LEGS")
    min_travel: float = option(1.0, "pelvis travel that gives the sign instead when the feet do not, leg "
                                    "lengths (default 1)", type=float, metavar="LEGS")
    min_excursion: float = option(0.4, "how far the heel must move relative to the pelvis within a stride, leg "
                                       "lengths (default 0.4)", type=float, metavar="LEGS")
    min_coverage: float = option(0.8, "share of a stride's frames that must have data, 0-1 (default 0.8)",
                                 type=float)
    stance_range: tuple[float, float] = option((20.0, 90.0), "stance phase accepted, % of the stride", cli=False)
    vertical_axis: int | None = option(1, "coordinate left out of the walking direction (y)", cli=False)

    def validated(self) -> "GaitEventParams":
        """Return self after checking every value; ConfigError names the bad option."""
        from anonymotion.errors import ConfigError

        if not 0 < self.min_stride_s < self.max_stride_s:
            raise ConfigError(None, f"--min-stride ({self.min_stride_s:g} s) must be positive and below "
                                    f"--max-stride ({self.max_stride_s:g} s)")
        for name in ("prominence", "min_foot_ahead", "min_travel"):
            if getattr(self, name) <= 0:
                raise ConfigError(None, f"--{name.replace('_', '-')} must be positive, not {getattr(self, name):g}")
        if self.cutoff_hz is not None and self.cutoff_hz < 0:
            raise ConfigError(None, f"--event-cutoff must be 0 (none) or positive, not {self.cutoff_hz:g}")
        for name in ("score_threshold", "min_coverage"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(None, f"--{name.replace('_', '-')} must be between 0 and 1, not "
                                        f"{getattr(self, name):g}")
        if self.min_excursion < 0:
            raise ConfigError(None, f"--min-excursion must not be negative, not {self.min_excursion:g}")
        return self


@dataclass(frozen=True)
class Cycle:
    """One gait cycle (stride) of one foot.

    start / end: frames of the heel strikes of ``side`` (end = the next one); toe_off: frame of
    that foot's toe off inside; contra_strike: frame of the other foot's last heel strike
    inside, or None. The ``*_s`` fields are the same events in seconds, refined below one
    frame by a parabola through the signal's extreme and its two neighbours (NaN: none).
    """

    side: str
    start: int
    end: int
    toe_off: int
    contra_strike: int | None
    start_s: float
    end_s: float
    toe_off_s: float
    contra_s: float

    @property
    def stride_s(self) -> float:
        """Stride time in seconds (heel strike to the next heel strike of the same foot)."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class GaitEvents:
    """Events and cycles of one person.

    t: (T,) seconds. heel_strikes / toe_offs: side -> frame indices (sorted int arrays).
    signals: "left_heel", "left_toe", ... -> (T,) leg lengths in front of the pelvis (NaN
    where missing). direction: unit walking direction (D,) or None; direction_source:
    "pelvis", "feet" or "". note: why there are no (or few) cycles, else "".
    """

    t: np.ndarray
    heel_strikes: dict[str, np.ndarray]
    toe_offs: dict[str, np.ndarray]
    signals: dict[str, np.ndarray]
    direction: np.ndarray | None
    direction_source: str
    cycles: tuple[Cycle, ...]
    params: GaitEventParams = field(default_factory=GaitEventParams)
    note: str = ""

    @property
    def walking(self) -> bool:
        """True when at least one gait cycle was found."""
        return bool(self.cycles)


def _masked(points: np.ndarray, score: np.ndarray | None, names: tuple[str, ...], name: str,
            threshold: float) -> np.ndarray:
    """(T, D) float64 trajectory of one keypoint or mid-hip; NaN where missing or below threshold."""
    if name == "mid_hip":
        a = _masked(points, score, names, "left_hip", threshold)
        b = _masked(points, score, names, "right_hip", threshold)
        return (a + b) / 2
    p = np.asarray(points[:, names.index(name)], np.float64).copy()
    if score is not None:
        p[np.asarray(score[:, names.index(name)]) < threshold] = np.nan
    return p


def _norm(v: np.ndarray) -> np.ndarray:
    return np.linalg.norm(v, axis=-1)


def _flatten(v: np.ndarray, axis: int | None) -> np.ndarray:
    """v (..., D) with coordinate ``axis`` set to 0 (no-op when None)."""
    if axis is None:
        return v
    v = v.copy()
    v[..., axis] = 0.0
    return v


def leg_length(points: np.ndarray, score: np.ndarray | None, names: tuple[str, ...],
               threshold: float = 0.5) -> np.ndarray:
    """(T,) leg length (hip→knee + knee→ankle, mean of the sides seen) in the points' units."""
    legs = []
    for s in SIDES:
        hip, knee, ankle = (_masked(points, score, names, f"{s}_{j}", threshold) for j in ("hip", "knee", "ankle"))
        legs.append(_norm(knee - hip) + _norm(ankle - knee))
    both = np.stack(legs, axis=1)
    seen = np.isfinite(both)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen, both, 0.0).sum(axis=1) / seen.sum(axis=1)


def walking_direction(points: np.ndarray, t: np.ndarray, score: np.ndarray | None, names: tuple[str, ...],
                      params: GaitEventParams = GaitEventParams()) -> tuple[np.ndarray | None, str]:
    """Unit walking direction (D,) and what gave its sign ("feet" or "pelvis"), or (None, reason).

    Axis: first principal axis of each foot point's motion relative to the pelvis (each
    centred on its own mean, so the step width between the feet does not count); a moving
    camera cancels out. Sign: toes ahead of heels on average by ``min_foot_ahead`` leg
    lengths, else the pelvis travel along the axis (``min_travel`` leg lengths at least).
    """
    thr = params.score_threshold
    up = params.vertical_axis
    pelvis = _flatten(_masked(points, score, names, "mid_hip", thr), up)
    legs = leg_length(points, score, names, thr)
    leg = float(np.nanmedian(legs)) if np.isfinite(legs).any() else float("nan")
    if not (np.isfinite(leg) and leg > 0):
        return None, "pelvis and legs were not found in enough frames"
    rel, fwd = [], []
    for s in SIDES:
        heel = _flatten(_masked(points, score, names, f"{s}_heel", thr), up)
        toe = _flatten(_masked(points, score, names, f"{s}_foot_index", thr), up)
        for foot in (heel, toe):
            r = foot - pelvis
            r = r[np.isfinite(r).all(axis=1)]
            if len(r) >= 3:
                rel.append(r - r.mean(axis=0))
        d = toe - heel
        fwd.append(d[np.isfinite(d).all(axis=1)])
    if not rel:
        return None, "feet were not found in enough frames"
    _, _, vt = np.linalg.svd(np.concatenate(rel), full_matrices=False)
    axis = vt[0]
    fwd_all = np.concatenate(fwd)
    ahead = float(np.mean(fwd_all @ axis)) / leg if len(fwd_all) else 0.0
    if abs(ahead) >= params.min_foot_ahead:
        return axis * np.sign(ahead), "feet"
    ok = np.isfinite(pelvis).all(axis=1)
    if ok.sum() >= 3:
        tt = np.asarray(t, np.float64)[ok]
        along = float(np.polyfit(tt - tt.mean(), pelvis[ok] @ axis, 1)[0])  # units per second
        if abs(along) * (tt[-1] - tt[0]) >= params.min_travel * leg:
            return axis * np.sign(along), "pelvis"
    return None, "walking direction unknown: toes not clearly ahead of heels and the pelvis does not travel"


def _foot_point(points, score, names, side: str, name: str, thr: float) -> np.ndarray:
    p = _masked(points, score, names, f"{side}_{name}", thr)
    if np.isfinite(p).all(axis=1).mean() < 0.5:
        return _masked(points, score, names, f"{side}_ankle", thr)
    return p


def _peaks(x: np.ndarray, prominence: float, distance: int) -> np.ndarray:
    """Local maxima of x (T,) inside each finite run (never at a run's ends)."""
    from scipy.signal import find_peaks

    out = []
    for a, b in _runs(np.isfinite(x)):
        if b - a >= 3:
            idx, _ = find_peaks(x[a:b], prominence=prominence, distance=max(1, distance))
            out.append(idx + a)
    return np.sort(np.concatenate(out)).astype(np.int64) if out else np.zeros(0, np.int64)


def refine_time(x: np.ndarray, i: int, t: np.ndarray) -> float:
    """Time (s) of the extreme of x (T,) near frame i: vertex of the parabola through i−1, i, i+1."""
    if i <= 0 or i >= len(x) - 1 or not np.isfinite(x[i - 1:i + 2]).all():
        return float(t[i])
    a, b, c = x[i - 1], x[i], x[i + 1]
    den = a - 2 * b + c
    delta = 0.5 * (a - c) / den if den != 0 else 0.0
    delta = float(np.clip(delta, -0.5, 0.5))
    return float(np.interp(i + delta, np.arange(len(t)), t))


def _cycles(t: np.ndarray, hs: dict[str, np.ndarray], to: dict[str, np.ndarray],
            signals: dict[str, np.ndarray], p: GaitEventParams) -> tuple[list[Cycle], dict[str, int]]:
    """Cycles passing every check, and how many candidate strides each check rejected."""
    def when(side: str, key: str, i: int | None) -> float:
        return float("nan") if i is None else refine_time(signals[f"{side}_{key}"], i, t)

    cycles: list[Cycle] = []
    rejected: dict[str, int] = {}
    for s in SIDES:
        other = SIDES[1 - SIDES.index(s)]
        heel = signals[f"{s}_heel"]
        valid = np.isfinite(heel) & np.isfinite(signals[f"{s}_toe"])
        for a, b in zip(hs[s][:-1], hs[s][1:]):
            dur = t[b] - t[a]
            inside = to[s][(to[s] > a) & (to[s] < b)]
            contra = hs[other][(hs[other] > a) & (hs[other] < b)]
            if not p.min_stride_s <= dur <= p.max_stride_s:
                why = f"stride outside {p.min_stride_s:g}–{p.max_stride_s:g} s"
            elif len(inside) != 1:
                why = "not exactly one toe off"
            elif len(contra) > 1:  # two steps of the other foot: not one stride
                why = "two heel strikes of the other foot"
            elif valid[a:b + 1].mean() < p.min_coverage:
                why = "too little data"
            elif np.nanmax(heel[a:b + 1]) - np.nanmin(heel[a:b + 1]) < p.min_excursion:
                why = f"heel moved under {p.min_excursion:g} leg lengths"
            elif not p.stance_range[0] <= 100.0 * (t[inside[0]] - t[a]) / dur <= p.stance_range[1]:
                why = f"stance outside {p.stance_range[0]:g}–{p.stance_range[1]:g} %"
            else:
                c = int(contra[-1]) if len(contra) else None
                cycles.append(Cycle(s, int(a), int(b), int(inside[0]), c, when(s, "heel", int(a)),
                                    when(s, "heel", int(b)), when(s, "toe", int(inside[0])), when(other, "heel", c)))
                continue
            rejected[why] = rejected.get(why, 0) + 1
    return sorted(cycles, key=lambda c: (c.start, c.side)), rejected


def detect_gait_events(points: np.ndarray, t: np.ndarray, names: tuple[str, ...],
                       score: np.ndarray | None = None,
                       params: GaitEventParams = GaitEventParams()) -> GaitEvents:
    """Heel strikes, toe offs and cycles of one person.

    points: (T, K, 2) pixels or (T, K, 3) metres in ``names`` order (BlazePose names);
    t: (T,) seconds; score: (T, K) in [0, 1] or None (all points trusted).
    """
    pts = np.asarray(points, np.float64)
    t = np.asarray(t, np.float64)
    if pts.ndim != 3 or pts.shape[0] != t.shape[0]:
        raise ValueError(f"points must be (T, K, D) with T = len(t), got {pts.shape} and {t.shape}")
    thr = params.score_threshold
    empty = {s: np.zeros(0, np.int64) for s in SIDES}
    direction, source = walking_direction(pts, t, score, names, params)
    if direction is None:
        return GaitEvents(t, empty, dict(empty), {}, None, "", (), params, f"no gait cycles: {source}")
    up = params.vertical_axis
    pelvis = _flatten(_masked(pts, score, names, "mid_hip", thr), up)
    leg = leg_length(pts, score, names, thr)
    fs = sample_rate(t)
    signals: dict[str, np.ndarray] = {}
    for s in SIDES:
        for key, name in (("heel", "heel"), ("toe", "foot_index")):
            foot = _flatten(_foot_point(pts, score, names, s, name, thr), up)
            with np.errstate(invalid="ignore", divide="ignore"):
                sig = ((foot - pelvis) @ direction) / leg
            if params.cutoff_hz and fs > 2 * params.cutoff_hz:
                sig = butterworth(sig, fs, params.cutoff_hz)
            signals[f"{s}_{key}"] = sig
    # half the shortest stride: merges a double extreme, never thins out a real stride
    distance = int(round(0.5 * params.min_stride_s * fs)) if fs else 1
    hs = {s: _peaks(signals[f"{s}_heel"], params.prominence, distance) for s in SIDES}
    to = {s: _peaks(-signals[f"{s}_toe"], params.prominence, distance) for s in SIDES}
    found, rejected = _cycles(t, hs, to, signals, params)
    cycles = tuple(found)
    note = ""
    if not cycles:
        swing = [np.nanmax(v) - np.nanmin(v) for v in signals.values() if np.isfinite(v).any()]
        span = max(swing) if swing else 0.0
        n_hs = sum(len(v) for v in hs.values())
        if n_hs == 0:
            note = (f"no gait cycles: the feet moved at most {span:.2f} leg lengths along the walking "
                    f"direction relative to the pelvis (standing or balancing, not walking?)")
        else:
            why = ", ".join(f"{n} {reason}" for reason, n in sorted(rejected.items(), key=lambda kv: -kv[1]))
            note = (f"no gait cycles: {n_hs} heel strike(s) but no complete stride"
                    + (f" (candidates rejected: {why})" if why else " (no two strikes of one foot)"))
    log.debug("gait events: direction %s (%s), heel strikes %s, toe offs %s, %d cycles",
              np.round(direction, 3), source, {k: v.tolist() for k, v in hs.items()},
              {k: v.tolist() for k, v in to.items()}, len(cycles))
    return GaitEvents(t, hs, to, signals, direction, source, cycles, params, note)
