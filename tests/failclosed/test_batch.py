"""Batch never marks a damaged input plainly "done", shows outputs that need review, and leaves
no lock file in the output folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from anonymotion.batch.runner import run_batch
from anonymotion.batch.state import LOCK_NAME, MANIFEST_NAME, TEMP_NAME
from anonymotion.config import AnonymizeConfig


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_damaged_input_in_a_batch(lab_clip, flipped, clip_factory, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    clip_factory("in/plain.mp4", frames=8, size=(96, 64))  # nobody in it: done, review needed
    flipped(lab_clip(30, (270, 480)), src / "lab.mp4", seed=6)
    out = tmp_path / "out"

    lines: list[str] = []

    def echo(line: str) -> None:  # per-file lines come as "[i/n] <key>: <state> ..."
        lines.append(line.split("] ", 1)[-1])

    summary = run_batch(src, out, AnonymizeConfig(), workers=1, echo=echo, quiet=False)
    entries = json.loads((out / MANIFEST_NAME).read_text())["entries"]
    lab = entries["lab.mp4"]
    assert lab["status"] == "failed" and lab["damaged_frames"] >= 1 and "DamagedInputError" in lab["error"]
    assert [k for k, _ in summary.failed] == ["lab.mp4"]
    assert any(line.startswith(f"lab.mp4: FAILED (damaged: {lab['damaged_frames']} frames) ") for line in lines)
    assert not (out / "lab_anonymized.mp4").exists()
    assert entries["plain.mp4"]["status"] == "done" and entries["plain.mp4"]["review"]
    assert any(line.startswith("plain.mp4: done, review needed") for line in lines), lines
    assert [k for k, _ in summary.review] == ["plain.mp4"]
    assert not (out / LOCK_NAME).exists()
    assert not [p for p in out.rglob(".*") if TEMP_NAME.match(p.name)]

    lines.clear()
    summary = run_batch(src, out, AnonymizeConfig(accept_damaged=True), workers=1, echo=echo, quiet=False)
    lab = json.loads((out / MANIFEST_NAME).read_text())["entries"]["lab.mp4"]
    assert lab["status"] == "damaged" and lab["damaged_frames"] >= 1 and summary.ok
    assert summary.damaged == [("lab.mp4", lab["damaged_frames"])]
    label = f"damaged: {lab['damaged_frames']} frames covered whole"
    assert any(line.startswith(f"lab.mp4: {label} (30 frames") for line in lines), lines
    assert not any(line.startswith("lab.mp4: done") for line in lines)
    manifest = json.loads((out / "lab_anonymized.manifest.json").read_text())
    assert manifest["damaged"]["frames"] == lab["damaged_frames"]
    with open(out / "report.csv", newline="", encoding="utf-8") as fh:
        rows = {r["video"]: r for r in csv.DictReader(fh)}
    assert rows["lab.mp4"]["status"] == "damaged" and rows["lab.mp4"]["damaged_frames"] == str(lab["damaged_frames"])
    assert label in (out / "report.html").read_text()
    assert not (out / LOCK_NAME).exists()
