"""``replace`` through the CLI and the API: landmarks in regions.jsonl, --recoverable round trip,
and ``evaluate --methods blur,replace`` on a real lab clip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from kit import trim_clip

from anonymotion.cli import main
from anonymotion.io.video import iter_frames


@pytest.fixture
def portrait_clip(clip_factory, portrait) -> Path:
    """8 frames at 25 fps: the portrait drifting right by 2 px per frame."""
    h, w = portrait.shape[:2]

    def paint(i: int, rgb: np.ndarray) -> None:
        rgb[:] = np.roll(portrait, 2 * i, axis=1)[:h, :w]

    return clip_factory("portrait.mp4", frames=8, size=(w, h), painter=paint)


@pytest.mark.timeout(240)
def test_cli_replace_logs_landmarks_and_is_recoverable(tmp_path, portrait_clip):
    from anonymotion.recovery.keys import generate_key_file
    from anonymotion.recovery.reader import recover
    from anonymotion.recovery.sidecar import load_key

    key = generate_key_file(tmp_path / "k.key")
    out = tmp_path / "out.mp4"
    assert main(["anonymize", str(portrait_clip), "-o", str(out), "--method", "replace",
                 "--recoverable", "--key", str(key)]) == 0
    records = [json.loads(line) for line in (tmp_path / "out.regions.jsonl").read_text().splitlines()]
    assert len(records) == 8
    faces = [r for rec in records for r in rec["regions"] if r["box"][2] - r["box"][0] > 60]
    assert len(faces) == 8, "the face is covered in every frame, detected or held"
    for r in faces:
        marks = np.asarray(r["landmarks"])
        x1, y1, x2, y2 = r["box"]
        assert marks.shape == (5, 2)
        assert (marks[:, 0] > x1).all() and (marks[:, 0] < x2).all() and (marks[:, 1] > y1).all()
        assert marks[0, 0] < marks[1, 0] and marks[0, 1] < marks[3, 1], "eyes left to right, above the mouth"
    assert json.loads((tmp_path / "out.manifest.json").read_text())["method"] == "replace"
    restored = recover(out, tmp_path / "out.recovery", load_key(key), tmp_path / "restored.mp4", crf=10)
    originals = [f.rgb for f in iter_frames(portrait_clip)]
    anonymized = [f.rgb for f in iter_frames(out)]
    for orig, anon, back in zip(originals, anonymized, (f.rgb for f in iter_frames(restored))):
        face = (slice(130, 240), slice(150, 230))
        assert np.abs(anon[face].astype(int) - orig[face]).mean() > 10  # replaced
        assert np.abs(back[face].astype(int) - orig[face]).mean() < 3  # restored


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_evaluate_reports_blur_and_replace_beside_the_control(tmp_path, shared_data, capsys):
    """``anonymotion evaluate cam01 --methods blur,replace`` (the first 24 frames): both methods
    and the re-encode control are posed and tabulated, and the bystander's face is replaced."""
    clip = trim_clip(shared_data("lab_single/cam01.mp4"), tmp_path / "cam01.mp4", 24)
    out = tmp_path / "evaluation"
    assert main(["evaluate", str(clip), "--methods", "blur,replace", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = [line.split()[0] for line in printed.splitlines() if line.split()[:1] in (["reencode"], ["blur"], ["replace"])]
    assert {"reencode", "blur", "replace"} <= set(rows)
    overall = json.loads((out / "evaluation.json").read_text())["tables"]["overall"]
    by_method = {r["method"]: r for r in overall}
    assert set(by_method) >= {"reencode", "blur", "replace"}
    for name in ("blur", "replace"):
        assert by_method[name]["ptk_pct"] is not None and by_method[name]["ptk_pct"] > 80
    assert (out / "report.html").exists()
    regions = [json.loads(line) for line in next(out.rglob("*replace*.regions.jsonl")).read_text().splitlines()]
    assert any("landmarks" in r for rec in regions for r in rec["regions"]), "the bystander's face had landmarks"
