"""Dataset statistics: pooling per-video summaries equals computing over all frames; the tests
across methods see a method that moves angles more."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from anonymotion.batch.report import pool_mean_sd, pool_rmse, write_report
from anonymotion.batch.state import BatchManifest, Entry


def test_pooled_mean_sd_and_rmse_equal_all_values() -> None:
    rng = np.random.default_rng(1)
    groups = [rng.normal(loc, scale, n) for loc, scale, n in ((2.0, 1.0, 30), (5.0, 2.0, 7), (3.0, 0.5, 1))]
    n, mu, sd = pool_mean_sd([len(g) for g in groups], [g.mean() for g in groups],
                             [g.std(ddof=1) if len(g) > 1 else 0.0 for g in groups])
    allv = np.concatenate(groups)
    assert n == allv.size and mu == pytest.approx(allv.mean()) and sd == pytest.approx(allv.std(ddof=1))
    n, rmse = pool_rmse([len(g) for g in groups], [np.sqrt(np.mean(g ** 2)) for g in groups])
    assert rmse == pytest.approx(np.sqrt(np.mean(allv ** 2)))
    assert pool_mean_sd([0, 3], [float("nan"), 1.0], [0.0, 0.0])[:2] == (3, 1.0)


def _summary(diffs: np.ndarray, epe: np.ndarray) -> dict:
    """A per-video evaluation summary as tasks.compact_compare makes it, from raw per-frame values."""
    return {
        "overall": {"epe_px": float(epe.mean())},
        "keypoints": [{"keypoint": "left_wrist", "epe_px": float(epe.mean()), "epe_sd_px": float(epe.std(ddof=1)),
                       "n": int(epe.size), "ptk_pct": 100.0}],
        "angles": [{"angle": "left_elbow", "n": int(diffs.size), "rmse": float(np.sqrt(np.mean(diffs ** 2))),
                    "bias": float(diffs.mean()), "sd": float(diffs.std(ddof=1)), "max_abs": float(np.abs(diffs).max()),
                    "within_5deg_pct": float(100 * np.mean(np.abs(diffs) <= 5))}],
    }


def test_report_pools_videos_and_tests_methods(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    m = BatchManifest(tmp_path)
    raw: dict[str, list[np.ndarray]] = {"reencode": [], "blur": [], "pixelate": []}
    for v in range(6):
        ev = {}
        for method, scale in (("reencode", 1.0), ("blur", 1.5), ("pixelate", 4.0)):
            d = rng.normal(0.2, scale, 40 + 5 * v)
            raw[method].append(d)
            ev[method] = _summary(d, np.abs(rng.normal(0, scale, 40)))
        m.entries[f"v{v}.mp4"] = Entry(key=f"v{v}.mp4", sha256="x", size=1, mtime_ns=1, fingerprint="p",
                                       status="done", outputs={"blur": "b", "pixelate": "p"}, frames=40,
                                       evaluation=ev, audit={"blur": {"verdict": "pass", "leaks": v,
                                                                      "face_frames": 100, "leak_rate": v / 100}})
    m.entries["bad.mp4"] = Entry(key="bad.mp4", sha256="y", size=1, mtime_ns=1, fingerprint="p", status="failed",
                                 error="InputError: bad.mp4: not a readable video")
    html = write_report(tmp_path, m, sorted(m.entries), ["blur", "pixelate"]).read_text()
    with open(tmp_path / "report_angles.csv") as fh:
        rows = {r["method"]: r for r in csv.DictReader(fh) if r["scope"] == "ALL"}
    for method, ds in raw.items():
        allv = np.concatenate(ds)
        assert float(rows[method]["rmse"]) == pytest.approx(np.sqrt(np.mean(allv ** 2)), abs=1e-3)
        assert float(rows[method]["sd"]) == pytest.approx(allv.std(ddof=1), abs=1e-3)
    # judged by the excess over the re-encode control (pooled over the 6 videos): blur's RMSE and SD
    # grow by ~0.5° (within 5° and 1.27°): ok; pixelate's RMSE grows by ~3° (within 5°) but its SD by
    # ~3° (over 1.27°): "sd", not "fail"
    assert rows["blur"]["verdict"] == "ok", rows["blur"]
    assert 2 < float(rows["pixelate"]["excess_rmse"]) < 4 and rows["pixelate"]["verdict"] == "sd", rows["pixelate"]
    assert float(rows["pixelate"]["excess_rmse"]) == pytest.approx(
        float(rows["pixelate"]["rmse"]) - float(rows["reencode"]["rmse"]), abs=2e-3)
    with open(tmp_path / "report_stats.csv") as fh:
        stats = [r for r in csv.DictReader(fh) if r["measure"] == "angle_rmse"][0]
    assert stats["videos"] == "6" and float(stats["anova_p"]) < 0.001 and float(stats["friedman_p"]) < 0.01
    assert float(stats["delta_rmse"]) == pytest.approx(float(rows["pixelate"]["rmse"]) - float(rows["blur"]["rmse"]),
                                                       abs=2e-3)
    assert "bad.mp4" in html and "not a readable video" in html and "0.0250" in html  # 15 of 600 face-frames
    with open(tmp_path / "report.csv") as fh:
        per_video = list(csv.DictReader(fh))
    assert len(per_video) == 6 * 3 + 1
