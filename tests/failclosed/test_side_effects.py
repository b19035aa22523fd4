"""A run leaves nothing outside its outputs (no onnxruntime telemetry database under ~/.cache), and
its manifest counts the frames it decoded for every container."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest

from anonymotion.pipeline import anonymize

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.timeout(180)
def test_no_onnxruntime_telemetry_under_home(clip_factory, tmp_path: Path) -> None:
    clip = clip_factory("clip.mp4", frames=5, size=(160, 120))
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    done = subprocess.run([sys.executable, "-m", "anonymotion.cli", "anonymize", str(clip), "-o",
                           str(tmp_path / "out" / "clip_anonymized.mp4"), "-q", "--detector", "centerface"],
                          env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "clip_anonymized.mp4").exists()  # CenterFace (onnxruntime) did run
    assert [str(p.relative_to(home)) for p in home.rglob("*")] == []


@pytest.mark.timeout(120)
def test_mkv_manifest_counts_the_decoded_frames(clip_factory, tmp_path: Path) -> None:
    clip = clip_factory("clip.mkv", frames=60, size=(96, 64))
    with av.open(str(clip)) as c:
        assert c.streams.video[0].frames == 0  # Matroska states no frame count: it must be counted
    result = anonymize(clip, tmp_path / "clip_anonymized.mp4")
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["frames_in"] == manifest["frames_out"] == result.frames_in == 60
