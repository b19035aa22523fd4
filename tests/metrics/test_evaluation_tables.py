"""The evaluation's tables, verdicts, statistics and report from pose tracks with known noise
(pure computation: no model, no video)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anonymotion.evaluation import EvaluationResult, VideoMismatchError, compare_poses
from anonymotion.pose.skeletons import MEDIAPIPE_33 as N
from anonymotion.evaluation.tables import build_tables
from anonymotion.report.evaluation import write_evaluation_outputs
from anonymotion.types import Poses


def walking(t: np.ndarray) -> np.ndarray:
    """(T, 33, 2) px: a side-view person whose knees and elbows bend over time."""
    xy = np.zeros((len(t), 33, 2), np.float32)
    bend = 0.6 * np.sin(2 * np.pi * t)
    for side, dx in (("left", 10), ("right", -10)):
        xy[:, N.index(f"{side}_shoulder")] = (300 + dx, 200)
        xy[:, N.index(f"{side}_hip")] = (300 + dx, 400)
        xy[:, N.index(f"{side}_knee")] = (300 + dx, 550)
        xy[:, N.index(f"{side}_ankle"), 0] = 300 + dx + 150 * np.sin(bend)
        xy[:, N.index(f"{side}_ankle"), 1] = 550 + 150 * np.cos(bend)
        xy[:, N.index(f"{side}_elbow")] = (300 + dx, 300)
        xy[:, N.index(f"{side}_wrist"), 0] = 300 + dx + 100 * np.sin(bend)
        xy[:, N.index(f"{side}_wrist"), 1] = 300 + 100 * np.cos(bend)
        xy[:, N.index(f"{side}_foot_index")] = xy[:, N.index(f"{side}_ankle")] + (30, 0)
        xy[:, N.index(f"{side}_ear")] = (300 + dx / 2, 150)
    for i, n in enumerate(N):
        if not xy[:, i].any():
            xy[:, i] = (300, 140)
    return xy


def poses(xy: np.ndarray, t: np.ndarray) -> Poses:
    world = np.concatenate([xy / 500.0, np.zeros(xy.shape[:2] + (1,))], axis=-1).astype(np.float32)
    return Poses(t=t, xy=xy.astype(np.float32), score=np.full(xy.shape[:2], 0.95, np.float32), names=N,
                 size=(640, 800), world=world)


@pytest.fixture
def results():
    t = np.arange(120) / 60.0
    out = {}
    for v, seed in (("a.mp4", 1), ("b.mp4", 2)):
        rng = np.random.default_rng(seed)
        ref = poses(walking(t), t)
        by = {}
        for label, noise in (("reencode", 0.3), ("blur", 0.6), ("pixelate", 12.0)):
            by[label] = compare_poses(ref, poses(ref.xy + rng.normal(0, noise, ref.xy.shape), t),
                                      ref_name=v, test_name=f"{v}.{label}")
        out[v] = by
    return out


def test_tables_have_methods_as_columns_delta_and_verdicts(results):
    tables = build_tables(results, ["reencode", "blur", "pixelate"])
    angles = [r for r in tables["angles"] if r["video"] == "a.mp4"]
    assert [r["angle"] for r in angles[:2]] == ["left_knee", "left_elbow"]
    knee = angles[0]
    assert knee["pixelate_rmse"] > knee["blur_rmse"] > knee["reencode_rmse"] > 0
    assert knee["delta_rmse"] == pytest.approx(knee["pixelate_rmse"] - knee["blur_rmse"])
    verdicts = {(r["angle"], r["method"]): r for r in tables["verdicts"] if r["video"] == "a.mp4"}
    assert verdicts[("left_knee", "blur")]["verdict"] == "ok"
    assert verdicts[("left_knee", "pixelate")]["verdict"] == "fail"
    v = verdicts[("left_knee", "blur")]
    assert v["excess_rmse"] == pytest.approx(v["rmse"] - v["control_rmse"])
    kp = next(r for r in tables["keypoints"] if r["video"] == "a.mp4" and r["keypoint"] == "left_knee")
    assert kp["pixelate"] > kp["blur"] and kp["pixelate_2sd"] > 0
    wil = [r for r in tables["wilcoxon"] if r["angle"] == "left_knee" and r["a"] == "blur" and r["b"] == "pixelate"]
    assert len(wil) == 2 and all(r["p"] < 0.001 for r in wil)  # per video, clearly different errors
    knee3 = next(r for r in tables["angles_3d"] if r["video"] == "a.mp4" and r["angle"] == "left_knee_flexion")
    assert knee3["pixelate_rmse"] > knee3["blur_rmse"] > 0
    anova = {r["angle"]: r for r in tables["anova"]}
    assert anova["left_knee"]["videos"] == 2 and np.isfinite(anova["left_knee"]["anova_F"])
    assert np.isfinite(anova["left_knee"]["friedman_chi2"])


def test_report_and_files_are_written(results, tmp_path: Path):
    tables = build_tables(results, ["reencode", "blur", "pixelate"])
    res = EvaluationResult(out_dir=tmp_path, videos=list(results), methods=["reencode", "blur", "pixelate"],
                           results=results, tables=tables)
    write_evaluation_outputs(res)
    html = (tmp_path / "report.html").read_text()
    assert html.count("<table") >= 12 and "repeated-measures ANOVA" in html and "3D joint angles" in html
    assert 'class="fail"' in html and "https://" not in html
    for name in ("overall", "keypoints", "angles", "angles_3d", "verdicts", "wilcoxon", "anova"):
        assert (tmp_path / f"{name}.csv").read_text().count("\n") > 1
    assert res.report_path == tmp_path / "report.html"


def test_frames_are_matched_by_timestamp():
    t = np.arange(30) / 30.0
    ref = poses(walking(t), t)
    shifted = poses(walking(t), t + 0.2)  # same length, other times
    with pytest.raises(VideoMismatchError, match="matched by timestamp"):
        compare_poses(ref, shifted)
    jitter = poses(walking(t), t + 0.004)  # sub-frame timestamp jitter still matches
    assert compare_poses(ref, jitter).overall["epe_px"] == 0


def test_a_resized_output_is_compared_in_the_original_pixels():
    t = np.arange(30) / 30.0
    ref = poses(walking(t), t)
    half = Poses(t=t, xy=(ref.xy / 2).astype(np.float32), score=ref.score, names=N, size=(320, 400))
    r = compare_poses(ref, half)
    assert r.overall["epe_px"] == pytest.approx(0, abs=1e-4) and r.overall["size_scale"] == [2.0, 2.0]
