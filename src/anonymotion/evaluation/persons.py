"""Person-to-person comparison of an original and another video (both posed for every person).

Each person of the original is matched frame by frame with a person of the other video
(:func:`anonymotion.evaluation.matching.match_persons`: Hungarian on keypoint distance with a
gate). Every original person gets its own comparison (EPE, PTK, PCK, angle statistics, the
same :func:`~anonymotion.evaluation.compare.compare_poses` as a single track) over its
frames, with the frames where the other video had nobody for it counted as lost. Persons
of the other video matched to nobody are reported as extra. The subject (``auto``: the most
visible person of the original) comes first, and its comparison is the result's headline
(``overall``, ``angles``, ``keypoints``), so every table that reads one comparison per video
reads the subject's.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from anonymotion.evaluation.compare import CompareResult, compare_poses, match_frames
from anonymotion.evaluation.matching import MATCH_GATE, match_persons, partner_track
from anonymotion.pose.people import PersonsPoses
from anonymotion.pose.run import VideoPoses
from anonymotion.pose.subject import SubjectSpec, parse_subject

log = logging.getLogger(__name__)

#: Per-person summary keys copied from each person's comparison.
PERSON_KEYS = ("epe_px", "epe_norm", "ptk_pct", "pck_005", "pck_01", "angle_rmse_mean", "mpjpe_mm")


def _track(p: PersonsPoses, t: np.ndarray, xy: np.ndarray, score: np.ndarray, world: np.ndarray | None,
           lost: np.ndarray, subject: str) -> VideoPoses:
    return VideoPoses(t=t, xy=xy, score=score, names=p.names, size=p.size, world=world, path=p.path, lost=lost,
                      subject=subject, filter_hz=p.filter_hz)


def compare_persons(ref: PersonsPoses, test: PersonsPoses, *, subject: str | SubjectSpec | None = None,
                    threshold: float = 0.5, min_conf: float | None = None, ref_name: str = "original",
                    test_name: str = "anonymized", body_altered: np.ndarray | None = None,
                    gate: float = MATCH_GATE) -> CompareResult:
    """Compare every person of ``ref`` with its match in ``test`` (pure computation).

    Returns the subject's :class:`CompareResult` (as :func:`compare_poses` would) with
    ``persons`` (one row per original person, subject first: person, subject, matched_ids,
    frames_ref, frames_matched, frames_lost, EPE/PTK/PCK, angle_rmse_mean, per-angle RMSE)
    and ``extra_persons`` (persons of ``test`` matched to nobody in some frames: person,
    frames, frames_extra). ``overall`` adds persons_ref/test, person_frames_ref/test/matched/
    lost/extra, subject_person and match_gate; ``subject_tracks`` holds the subject's track and
    its match, frame by frame (both :class:`VideoPoses` over the matched frames). body_altered: (T_ref,) share of the subject's
    body changed (see :func:`compare_poses`).
    """
    spec = parse_subject(subject) or SubjectSpec("auto")
    ri, ti = match_frames(ref, test, ref_name, test_name)
    txy = test.xy
    if all(ref.size) and all(test.size) and tuple(ref.size) != tuple(test.size):
        txy = txy * np.array((ref.size[0] / test.size[0], ref.size[1] / test.size[1]), np.float32)
    m = match_persons(ref.xy[:, ri], txy[:, ti], ref.names, gate)
    subject_id = ref.subject_id(spec)
    if subject_id is None:  # a point/box that matches nobody: report the most visible person instead
        log.warning("%s: no person at the subject (%s); comparing the most visible person first",
                    ref_name, spec.describe())
        subject_id = ref.subject_id("auto")
    t = ref.t[ri]
    results: dict[int, CompareResult] = {}
    rows: list[dict[str, Any]] = []
    for r, pid in enumerate(ref.ids):
        pid = int(pid)
        present = ref.present[r][ri]
        partner = m.partner[r]
        rt = _track(ref, t, ref.xy[r][ri], ref.score[r][ri], None if ref.world is None else ref.world[r][ri],
                    np.zeros(len(t), bool), f"person {pid}")
        tt = _track(ref, t, partner_track(txy[:, ti], partner), partner_track(test.score[:, ti], partner),
                    None if test.world is None else partner_track(test.world[:, ti], partner),
                    present & (partner < 0), f"match of person {pid}")
        altered = body_altered[ri] if body_altered is not None and pid == subject_id else None
        res = compare_poses(rt, tt, threshold=threshold, min_conf=min_conf, ref_name=ref_name,
                            test_name=test_name, body_altered=altered)
        results[pid] = res
        res.subject_tracks = (rt, tt)
        matched_ids = sorted({int(test.ids[j]) for j in partner[partner >= 0]})
        row: dict[str, Any] = {
            "person": pid, "subject": pid == subject_id, "matched_ids": matched_ids,
            "frames_ref": int(present.sum()), "frames_matched": int((partner >= 0).sum()),
            "frames_lost": int((present & (partner < 0)).sum()),
            **{k: res.overall.get(k) for k in PERSON_KEYS},
            "angles": [{"angle": a["angle"], "rmse": a["rmse"], "n": a["n"]} for a in res.angles],
        }
        rows.append(row)
    rows.sort(key=lambda r: (not r["subject"], r["person"]))
    extra = []
    for j, pid in enumerate(test.ids):
        n_extra = int(m.extra[j].sum())
        if n_extra:
            extra.append({"person": int(pid), "frames": int(test.present[j][ti].sum()), "frames_extra": n_extra})
    head = results[subject_id]
    ov = head.overall
    ov.update(
        subject_person=subject_id, persons_ref=len(ref), persons_test=len(test), match_gate=gate,
        person_frames_ref=int(ref.present[:, ri].sum()), person_frames_test=int(test.present[:, ti].sum()),
        person_frames_matched=int(sum(r["frames_matched"] for r in rows)),
        person_frames_lost=int(sum(r["frames_lost"] for r in rows)),
        person_frames_extra=int(m.extra.sum()),
    )
    head.persons = rows
    head.extra_persons = extra
    if ov["person_frames_lost"] or extra:
        log.warning("%s: %d person-frames of the original lost, %d person-frames found only here (persons %s)",
                    test_name, ov["person_frames_lost"], ov["person_frames_extra"],
                    ", ".join(f"#{e['person']}" for e in extra) or "none")
    return head
