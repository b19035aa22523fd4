"""compare on real two-person clips, person to person: zero error against itself, and a person
covered by body-block is reported lost instead of being compared with the other person."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anonymotion.evaluation import compare
from anonymotion.io.video import iter_frames, probe
from anonymotion.io.writer import VideoWriter

pytestmark = pytest.mark.slow

FRAMES = 16


@pytest.fixture(scope="module")
def cam02(shared_data, tmp_path_factory) -> tuple[Path, Path]:
    """cam02 frames 0-15 (participant and bystander) and the same with the bystander body-blocked."""
    from anonymotion.detect.bodies import dilate_mask, margin_px
    from anonymotion.methods.registry import make_method
    from anonymotion.pose.people import PersonsCollector
    from anonymotion.types import Regions

    out = tmp_path_factory.mktemp("cam02")
    src = shared_data("lab_single/cam02.mp4")
    info = probe(src)
    base, covered = out / "base.mp4", out / "bystander_blocked.mp4"
    block = make_method("body-block")
    persons = PersonsCollector("mediapipe-multi", masks=True)
    e = Regions.empty()
    try:
        with VideoWriter(base, info.width, info.height, info.time_base, fps=info.fps, crf=12) as wb, \
                VideoWriter(covered, info.width, info.height, info.time_base, fps=info.fps, crf=12) as wc:
            for f in iter_frames(src, info, strict=False):
                if f.index >= FRAMES:
                    break
                wb.write(f.rgb, f.pts)
                found = persons.add(f.rgb, f.t).persons
                hips = found.xy[:, [23, 24]].mean(axis=1)
                bystander = np.flatnonzero(hips[:, 0] > 700)  # she stands right of the treadmill
                assert bystander.size == 1 and found.masks is not None
                mask = dilate_mask(found.masks[bystander[0]] >= 0.5, margin_px(*f.rgb.shape[:2]))
                wc.write(block.apply(f.rgb, Regions(e.boxes, e.scores, e.track_ids, e.sources, mask=mask)), f.pts)
    finally:
        persons.close()
    return base, covered


@pytest.mark.timeout(300)
def test_compare_with_itself_is_zero_for_every_person(cam02):
    base, _ = cam02
    result = compare(base, base)
    assert len(result.persons) >= 2 and result.overall["person_frames_lost"] == 0
    assert result.extra_persons == []
    for p in result.persons:
        assert p["frames_lost"] == 0 and p["frames_matched"] == p["frames_ref"] > 0
        assert p["epe_px"] == 0 and p["ptk_pct"] == 100
        assert p["angle_rmse_mean"] == 0 or np.isnan(p["angle_rmse_mean"])
        assert p["matched_ids"] == [p["person"]]  # the same video gives the same ids


@pytest.mark.timeout(300)
def test_a_person_covered_by_body_block_is_lost_not_matched_to_the_other(cam02):
    base, covered = cam02
    result = compare(base, covered)
    rows = {p["person"]: p for p in result.persons}
    subject = result.persons[0]
    assert subject["subject"] and subject["frames_lost"] == 0  # the participant is untouched
    assert subject["epe_norm"] < 0.05  # moved by a few px (measured 7.7 px, torso ~400 px): still the participant
    others = [p for p in result.persons if not p["subject"] and p["frames_ref"] >= FRAMES // 2]
    assert len(others) == 1
    bystander = others[0]
    assert bystander["frames_lost"] == bystander["frames_ref"] and bystander["frames_matched"] == 0
    assert bystander["matched_ids"] == [] and set(subject["matched_ids"]).isdisjoint(bystander["matched_ids"])
    assert result.overall["person_frames_lost"] >= bystander["frames_ref"]
    assert rows[subject["person"]]["frames_matched"] == FRAMES


@pytest.mark.timeout(600)
def test_evaluate_reports_every_person_and_the_bystander_lost_under_face_blur(cam02, tmp_path):
    from anonymotion.evaluation import evaluate

    base, _ = cam02
    result = evaluate([base], ["blur"], tmp_path / "eval")
    rows = [r for r in result.tables["persons"] if not r["extra"]]
    by = {(r["method"], r["person"]): r for r in rows}
    subject = next(r["person"] for r in rows if r["subject"])
    bystander = next(r["person"] for r in rows if not r["subject"] and r["frames_ref"] >= FRAMES // 2)
    # the control keeps both; face blur keeps the participant (face already pixelated in the source)
    # but loses the bystander whose face it blurred (measured: every frame) -- reported, not hidden
    assert by[("reencode", subject)]["frames_lost"] == 0 and by[("reencode", bystander)]["frames_lost"] == 0
    assert by[("blur", subject)]["frames_lost"] == 0
    assert by[("blur", bystander)]["frames_lost"] >= FRAMES // 2
    overall = {r["method"]: r for r in result.tables["overall"]}
    assert overall["blur"]["person_frames_lost"] > overall["reencode"]["person_frames_lost"]
    assert (tmp_path / "eval" / "persons.csv").exists()
    assert "Every person of the original" in (tmp_path / "eval" / "report.html").read_text()
