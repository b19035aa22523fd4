"""Batch dataset report: gait cycles of every video pooled per method and outcome, judged against the control."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from anonymotion.batch.report import write_report
from anonymotion.batch.state import BatchManifest, Entry

pytestmark = pytest.mark.timeout(30)


def _gait(ref: np.ndarray, test: np.ndarray, lost: int = 0) -> dict:
    return {"cycles_ref": len(ref) + lost, "cycles_test": len(test),
            "rows": [{"outcome": "cadence", "unit": "steps/min", "limit": 1.0, "n_reference": len(ref) + lost,
                      "lost": lost, "ref": ref.tolist(), "test": test.tolist()}]}


def test_gait_pairs_are_pooled_over_videos_and_judged(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    m = BatchManifest(tmp_path)
    pooled = {"reencode": ([], []), "blur": ([], []), "pixelate": ([], [])}
    for v in range(4):
        ref = rng.normal(110, 6, 5)
        ev = {}
        for method, shift in (("reencode", 0.1), ("blur", 0.2), ("pixelate", 3.0)):
            test = ref + shift + rng.normal(0, 0.1, 5)
            pooled[method][0].extend(ref)
            pooled[method][1].extend(test)
            ev[method] = {"overall": {}, "keypoints": [], "angles": [], "gait": _gait(ref, test)}
        m.entries[f"v{v}.mp4"] = Entry(key=f"v{v}.mp4", sha256="x", size=1, mtime_ns=1, fingerprint="p",
                                       status="done", outputs={"blur": "b", "pixelate": "p"}, frames=40, evaluation=ev)
    html = write_report(tmp_path, m, sorted(m.entries), ["blur", "pixelate"]).read_text()
    with open(tmp_path / "report_gait.csv") as fh:
        rows = {r["method"]: r for r in csv.DictReader(fh)}
    for method, (ref, test) in pooled.items():
        d = np.array(test) - np.array(ref)
        assert rows[method]["n_pairs"] == "20" and rows[method]["videos"] == "4"
        assert float(rows[method]["bias"]) == pytest.approx(d.mean(), abs=1e-4)
        assert float(rows[method]["loa_high"]) == pytest.approx(d.mean() + 1.96 * d.std(ddof=1), abs=1e-4)
        assert 0.9 < float(rows[method]["icc"]) <= 1.0  # 6 steps/min between cycles, 0.1 noise
    assert rows["blur"]["verdict"] == "ok" and rows["pixelate"]["verdict"] == "fail"
    assert rows["reencode"]["verdict"] == "control"
    assert "Clinical gait outcomes over the dataset" in html
