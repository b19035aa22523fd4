"""Clinical gait outcomes of videos (the ``outcomes`` command and its Python API), and the
gait agreement the comparison engine reports for every anonymized video.

- :func:`video_outcomes`: pose a video and return its :class:`GaitOutcomes` (per person,
  per cycle; see :mod:`anonymotion.kinematics.gait_outcomes`).
- :func:`outcomes_of`: the same from poses already computed (one :class:`Poses` per person).
- :func:`write_outcome_outputs`: ``outcomes.csv`` plus per person the curve and events plots.
- :func:`gait_agreement_rows`: per outcome, Bland–Altman and ICC(3,1) of a test video's
  cycles against the original's (rows for :class:`CompareResult.gait`, judged later by
  :func:`anonymotion.evaluation.judge.judge_outcome`).

Pose is the single-person backend (the subject it follows, or ``--subject``), reported as
person "1"; a multi-person backend passes one :class:`Poses` per person to :func:`outcomes_of`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.evaluation.posing import Progress, pose_video
from anonymotion.kinematics.gait_events import GaitEventParams
from anonymotion.kinematics.gait_outcomes import GaitOutcomes, person_outcomes
from anonymotion.pose.filtering import sample_rate
from anonymotion.pose.subject import SubjectSpec
from anonymotion.types import Poses

log = logging.getLogger(__name__)


def outcomes_of(persons: dict[str, Poses], *, video: str | None = None, dims: int = 2,
                params: GaitEventParams = GaitEventParams()) -> GaitOutcomes:
    """Gait outcomes of every person (id -> Poses of that person over the video)."""
    fps = next((sample_rate(p.t) for p in persons.values()), 0.0)
    done = tuple(person_outcomes(p, person=pid, dims=dims, params=params) for pid, p in persons.items())
    return GaitOutcomes(video, fps, done)


def video_outcomes(path: str | os.PathLike, *, backend: str = "mediapipe", subject: str | SubjectSpec | None = None,
                   filter_hz: float | None = None, max_frames: int | None = None, dims: int = 2,
                   params: GaitEventParams = GaitEventParams(), progress: Progress | None = None) -> GaitOutcomes:
    """Pose ``path`` (frame by frame) and return its gait outcomes. Raises NoPersonError when
    no frame has a person; a video without walking gives persons with no cycles and a note."""
    poses = pose_video(path, backend=backend, subject=subject, filter_hz=filter_hz, max_frames=max_frames,
                       progress=progress, require_person=True)
    return outcomes_of({"1": poses}, video=str(path), dims=dims, params=params)


def write_outcome_outputs(results: list[GaitOutcomes], out_dir: str | os.PathLike) -> dict[str, Path]:
    """``outcomes.csv`` (all videos) and, per video and person, ``<stem>.p<id>.curves.png`` and
    ``<stem>.p<id>.events.png`` in ``out_dir``. Returns name -> path."""
    from anonymotion.report.gait import curves_plot, events_plot, write_outcomes_csv

    out = Path(out_dir)
    files: dict[str, Path] = {"csv": write_outcomes_csv(out / "outcomes.csv", results)}
    stems: dict[str, int] = {}
    for res in results:
        stem = Path(res.video or "video").stem
        stems[stem] = stems.get(stem, 0) + 1
        if stems[stem] > 1:
            stem = f"{stem}_{stems[stem]}"
        for p in res.persons:
            base = f"{stem}.p{p.person}"
            files[f"{base}.events"] = events_plot(out / f"{base}.events.png", p.events, title=f"{stem} person {p.person}")
            if p.cycles:
                files[f"{base}.curves"] = curves_plot(out / f"{base}.curves.png", p,
                                                      title=f"{stem}, person {p.person}: joint angles over the gait "
                                                            "cycle (mean ± SD; dotted: toe off)")
    return files


def summary_rows(result: GaitOutcomes) -> list[dict[str, Any]]:
    """Per person: cycles found and the mean of the main outcomes (NaN when none), plus the note."""
    rows = []
    for p in result.persons:
        row: dict[str, Any] = {"person": p.person, "cycles": len(p.cycles),
                               "left": sum(c.side == "left" for c in p.cycles),
                               "right": sum(c.side == "right" for c in p.cycles)}
        for name in ("cadence", "stride_time", "step_time", "stance", "hip_rom", "knee_rom", "ankle_rom", "elbow_rom"):
            v = p.values(name)
            row[name] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
        row["note"] = p.note
        rows.append(row)
    return rows


def gait_agreement_rows(ref: Poses, test: Poses, *, fps: float | None = None, dims: int = 2,
                        params: GaitEventParams = GaitEventParams()) -> dict[str, Any]:
    """Gait outcomes of both tracks and their per-outcome agreement (test vs reference).

    Returns {"cycles_ref", "cycles_test", "note_ref", "note_test", "rows"}: one row per outcome
    with outcome, unit, limit, n_reference, n_pairs, lost, bias, sd, loa_low, loa_high, icc,
    icc_low, icc_high, plus "ref" / "test" lists of the paired values (for Bland–Altman plots).
    """
    from anonymotion.metrics.gait_agreement import agreement

    r = person_outcomes(ref, dims=dims, params=params)
    t = person_outcomes(test, dims=dims, params=params)
    fps = sample_rate(ref.t) if fps is None else fps
    rows = []
    for a in agreement(r.cycles, t.cycles, fps=fps):
        rows.append({**a.to_json(), "ref": a.ref.tolist(), "test": a.test.tolist()})
    for row in rows:
        row.pop("verdict", None), row.pop("judged_on", None)
    return {"cycles_ref": len(r.cycles), "cycles_test": len(t.cycles), "note_ref": r.note, "note_test": t.note,
            "rows": rows}
