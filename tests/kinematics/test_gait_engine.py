"""Gait agreement inside the one comparison engine: compare_poses → tables (judged) → report.html."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anonymotion.evaluation import EvaluationResult, compare_poses
from anonymotion.evaluation.tables import build_tables
from anonymotion.pose.skeletons import MEDIAPIPE_33
from anonymotion.types import Poses

pytestmark = pytest.mark.timeout(60)


def _poses(w, knee_shift_px: float = 0.0) -> Poses:
    xy = w.points.astype(np.float32).copy()
    if knee_shift_px:  # knees pushed forward: more flexion in every frame
        for side in ("left", "right"):
            xy[:, MEDIAPIPE_33.index(f"{side}_knee"), 0] += knee_shift_px
    return Poses(t=w.t, xy=xy, score=w.score.astype(np.float32), names=MEDIAPIPE_33, size=(1280, 720))


def test_engine_judges_gait_outcomes_against_the_control_and_reports_them(walk, tmp_path):
    from anonymotion.report.evaluation import write_evaluation_outputs

    w = walk(seconds=8.0, noise=1.0, seed=5)
    ref = _poses(w)
    results = {"walk.mp4": {
        "reencode": compare_poses(ref, _poses(w), test_name="reencode"),
        "blur": compare_poses(ref, _poses(w), test_name="blur"),
        "bent": compare_poses(ref, _poses(w, knee_shift_px=25.0), test_name="bent"),
    }}
    g = results["walk.mp4"]["blur"].gait
    assert g["cycles_ref"] == g["cycles_test"] >= 10
    tables = build_tables(results, ["reencode", "blur", "bent"])
    rows = {(r["method"], r["outcome"]): r for r in tables["gait"]}
    same = rows[("blur", "cadence")]
    assert (same["bias"], same["loa_low"], same["loa_high"], same["icc"]) == (0.0, 0.0, 0.0, 1.0)
    assert same["n_pairs"] == g["cycles_ref"] and same["verdict"] == "ok"
    assert rows[("bent", "knee_peak")]["bias"] > 5 and rows[("bent", "knee_peak")]["verdict"] == "fail"
    assert rows[("bent", "cadence")]["verdict"] == "ok"  # the feet did not move: timing agrees
    assert rows[("reencode", "cadence")]["verdict"] == "control"
    result = EvaluationResult(out_dir=tmp_path, videos=["walk.mp4"], methods=["reencode", "blur", "bent"],
                              results=results, tables=tables)
    write_evaluation_outputs(result)
    html = (tmp_path / "report.html").read_text()
    assert "Clinical gait outcomes per cycle" in html and "ICC(3,1)" in html and "Bland–Altman" in html
    assert (tmp_path / "plots" / "01_walk_bland_altman.png").stat().st_size > 10_000
    lines = (tmp_path / "gait.csv").read_text().splitlines()
    assert sum(line.startswith(f"walk.mp4,{m},knee_peak,") for m in ("reencode", "blur", "bent")
               for line in lines) == 3


def test_engine_says_so_when_the_original_has_no_walking(standing, tmp_path):
    from anonymotion.report.evaluation import write_evaluation_outputs

    w = standing()
    p = Poses(t=w.t, xy=w.points.astype(np.float32), score=w.score.astype(np.float32), names=MEDIAPIPE_33,
              size=(1280, 720))
    results = {"stand.mp4": {"reencode": compare_poses(p, p), "blur": compare_poses(p, p)}}
    tables = build_tables(results, ["reencode", "blur"])
    assert all(r["verdict"] in ("n/a", "control") and r["n_pairs"] == 0 for r in tables["gait"])
    write_evaluation_outputs(EvaluationResult(out_dir=tmp_path, videos=["stand.mp4"], methods=["reencode", "blur"],
                                              results=results, tables=tables))
    html = (tmp_path / "report.html").read_text()
    assert "No gait cycle was found in the original" in html
    assert not Path(tmp_path / "plots" / "01_stand_bland_altman.png").exists()


def test_web_test_step_shows_gait_agreement_or_says_there_was_no_walking(walk, standing):
    from anonymotion.web.report import _environment
    from anonymotion.web.results import summarize

    w = walk(seconds=6.0, noise=1.0, seed=2)
    ref = _poses(w)
    summary = summarize(compare_poses(ref, _poses(w, knee_shift_px=25.0)), compare_poses(ref, _poses(w)))
    g = summary["gait"]
    assert g["cycles_original"] == g["cycles_anonymized"] >= 6
    verdicts = {r["outcome"]: r["verdict"] for r in g["rows"]}
    assert verdicts["cadence"] == "ok" and verdicts["knee_rom"] == "fail"
    page = _environment().get_template("results.html").render(summary=summary, plot_src=None)
    assert 'id="gait-table"' in page and 'data-outcome="knee_rom"' in page and "outside limits" in page
    s = standing()
    p = Poses(t=s.t, xy=s.points.astype(np.float32), score=s.score.astype(np.float32), names=MEDIAPIPE_33,
              size=(1280, 720))
    page = _environment().get_template("results.html").render(summary=summarize(compare_poses(p, p)), plot_src=None)
    assert 'id="gait-none"' in page and "No gait cycle was found" in page and "gait-table" not in page
