"""Real pose over the four calibrated lab views (trimmed): plausible 3D skeletons, the study's tables."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from anonymotion.multiview import triangulate
from anonymotion.multiview.outputs import summary_error
from anonymotion.multiview.results import coefficient_of_variation, segment_lengths

VIEWS = [f"lab_single/cam0{i}.mp4" for i in range(1, 5)]


def _multi_person_backend() -> str:
    from anonymotion.pose.backend import BACKENDS

    if "mediapipe-multi" not in BACKENDS:
        pytest.skip("the bystander test needs the multi-person pose backend (issue 11)")
    return "mediapipe-multi"


@pytest.fixture(scope="module")
def lab_run(shared_data, lab_calibration_path):
    """30 synchronised frames of the four views, multi-person pose when available (else the legacy model)."""
    videos = [shared_data(v) for v in VIEWS]
    return triangulate(videos, lab_calibration_path, max_frames=30)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_participant_has_stable_segments_and_small_reprojection_error(lab_run):
    assert len(lab_run.t) == 30
    participant = max(lab_run.persons, key=lambda p: p.views[p.views > 0].mean())  # seen by all four cameras
    assert participant.present.sum() >= 28
    lengths = segment_lengths(participant.points, lab_run.names)
    for seg in ("left_thigh", "right_thigh", "left_shank", "right_shank", "left_upper_arm", "right_upper_arm"):
        assert coefficient_of_variation(lengths[seg]) < 0.10, seg
        assert 200 < np.nanmedian(lengths[seg]) < 550, seg  # mm: a human's, so the scale is right
    assert summary_error(participant) < 15.0
    kept = np.isfinite(participant.points).all(-1).sum()
    assert kept > 0.8 * participant.present.sum() * len(lab_run.names)  # few points rejected


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bystander_is_a_separate_person(lab_run):
    _multi_person_backend()
    assert len(lab_run.persons) >= 2
    participant, bystander = sorted(lab_run.persons[:2], key=lambda p: -p.views[p.views > 0].mean())
    assert bystander.present.sum() >= 20
    seen = (bystander.members >= 0).sum(0)
    assert seen[0] > 0 and seen[1] > 0  # the bystander stands in cam01's and cam02's field of view
    dist = np.linalg.norm(np.nanmedian(participant.points, axis=(0, 1)) - np.nanmedian(bystander.points, axis=(0, 1)))
    assert dist > 1000  # mm apart
    assert summary_error(bystander) < 15.0


def _trim(src: Path, dst: Path, frames: int) -> Path:
    """The first ``frames`` frames of ``src`` re-encoded near-losslessly (the study's original then)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vs = inp.streams.video[0]
        os_ = out.add_stream("libx264", rate=vs.average_rate)
        os_.width, os_.height, os_.pix_fmt = vs.width, vs.height, "yuv420p"
        os_.time_base = Fraction(1, 60)
        os_.options = {"crf": "12", "preset": "ultrafast"}
        for i, f in enumerate(inp.decode(vs)):
            if i >= frames:
                break
            g = f.reformat(format="yuv420p")
            g.pts, g.time_base = i, Fraction(1, 60)
            for p in os_.encode(g):
                out.mux(p)
        for p in os_.encode(None):
            out.mux(p)
    return dst


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_evaluate_with_calibration_writes_the_study_tables(shared_data, lab_calibration_path, tmp_path):
    from anonymotion.cli import main

    (tmp_path / "in").mkdir()
    videos = [_trim(shared_data(v), tmp_path / "in" / Path(v).name, 12) for v in VIEWS]
    out = tmp_path / "eval"
    code = main(["evaluate", *map(str, videos), "--calibration", str(lab_calibration_path), "--methods", "blur",
                 "-o", str(out), "-q"])
    assert code == 0
    for name in ("mpjpe.csv", "angles3d.csv", "verdicts.csv", "stats.csv", "report.html", "evaluation.json",
                 "3d/original/person1.trc", "blur/cam03.mp4", "reencode/cam03.mp4"):
        assert (out / name).exists(), name
    import csv

    rows = list(csv.DictReader((out / "mpjpe.csv").open()))
    by_method = {r["method"]: r for r in rows if r["person"] == "person1"}
    assert set(by_method) == {"reencode", "blur", "Δ"}
    assert 0 < float(by_method["reencode"]["mpjpe_mm"]) < 60  # re-encoding moves 3D points by millimetres
    assert float(by_method["blur"]["left_knee_mean"]) >= 0
    html = (out / "report.html").read_text()
    assert "Table 1" in html and "Table 3" in html and "Verdict per 3D angle" in html
    assert "Wilcoxon" in html or "ANOVA" in html


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_cross_view_masking_covers_a_head_one_view_missed(shared_data, lab_calibration_path, tmp_path):
    """CenterFace misses the participant's (already pixelated) face in cam01; cam03/cam04 and pose find the
    head, and its 3D sphere projected into cam01 blurs it there."""
    import json

    from anonymotion.io.video import iter_frames
    from anonymotion.multiview.masking import anonymize_views

    (tmp_path / "in").mkdir()
    videos = [_trim(shared_data(v), tmp_path / "in" / Path(v).name, 6) for v in VIEWS]
    outs = [tmp_path / "out" / f"{p.stem}_anonymized.mp4" for p in videos]
    results = anonymize_views(videos, lab_calibration_path, outs)
    assert [r.frames for r in results] == [6, 6, 6, 6]
    block = json.loads(results[0].manifest_path.read_text())["multiview"]
    assert block["camera"] == "cam01" and block["covered_only_by_other_views"] >= 5
    records = [json.loads(line) for line in results[0].regions_path.read_text().splitlines()]
    only = []
    for rec in records:
        own = [r["box"] for r in rec["regions"] if not r["source"].startswith("crossview")]
        for r in rec["regions"]:
            x1, y1, x2, y2 = r["box"]
            if r["source"].startswith("crossview") and not any(
                    x1 <= (a + c) / 2 <= x2 and y1 <= (b + d) / 2 <= y2 for a, b, c, d in own):
                only.append((rec["frame"], r))
    assert only, "a region in cam01 that came from the other views only"
    frame, region = only[0]
    assert set(region["source"].split(":")[1].split("+")) >= {"cam03", "cam04"}
    orig = next(f.rgb for f in iter_frames(videos[0]) if f.index == frame).astype(np.int16)
    anon = next(f.rgb for f in iter_frames(outs[0]) if f.index == frame).astype(np.int16)
    x1, y1, x2, y2 = (int(round(v)) for v in region["box"])
    cx, cy, r = (x1 + x2) // 2, (y1 + y2) // 2, (x2 - x1) // 4
    inside = np.abs(anon[cy - r:cy + r, cx - r:cx + r] - orig[cy - r:cy + r, cx - r:cx + r]).mean()
    elsewhere = np.abs(anon[1500:1700, 100:400] - orig[1500:1700, 100:400]).mean()  # the treadmill: codec noise
    assert inside > 4 * elsewhere and inside > 3.0  # the head really was blurred in cam01
