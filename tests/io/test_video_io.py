"""Reading and writing video with PyAV: timestamps, rotation, sizes, codecs, no metadata."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from anonymotion.io.metadata import describe_container
from anonymotion.io.video import iter_frames, probe
from anonymotion.io.writer import MANDATORY_TAGS, VideoWriter
from kit import trim_clip

pytestmark = pytest.mark.timeout(120)  # video files


def _pts_seconds(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        return sorted(float(f.pts * vs.time_base) for f in c.decode(vs))


def test_variable_frame_rate_timestamps_survive(clip_factory, tmp_path):
    pts = [0, 40, 80, 200, 240, 500, 540, 1000]
    src = clip_factory("vfr.mp4", pts=pts, time_base=Fraction(1, 1000))
    out = trim_clip(src, tmp_path / "out.mp4")  # every frame through the writer, pts as decoded
    assert _pts_seconds(out) == pytest.approx([p / 1000 for p in pts], abs=1e-3)
    assert [f.t for f in iter_frames(out)] == pytest.approx([p / 1000 for p in pts], abs=1e-3)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_is_applied_like_ffmpeg(clip_factory, rotation):
    """The upright frame matches what the ffmpeg CLI (autorotate) shows for the same file."""
    import imageio_ffmpeg

    def paint(i, rgb):
        rgb[:] = 0
        rgb[:10, :10] = 255  # a white corner marks the orientation

    src = clip_factory(f"rot{rotation}.mp4", frames=3, size=(64, 32), rotation=rotation, painter=paint)
    info = probe(src)
    assert info.rotation == rotation
    assert (info.width, info.height) == ((32, 64) if rotation in (90, 270) else (64, 32))
    ours = next(iter(iter_frames(src, info))).rgb[:, :, 0]
    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(src), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    theirs = np.frombuffer(raw, np.uint8).reshape(ours.shape)
    assert np.array_equal(ours > 128, theirs > 128)


def test_odd_size_is_padded_by_one_pixel(clip_factory, tmp_path):
    src = clip_factory("odd.mkv", frames=4, size=(63, 47), codec="ffv1", pix_fmt="yuv420p")
    info = probe(src)
    assert (info.width, info.height) == (63, 47)
    out = trim_clip(src, tmp_path / "odd_out.mp4")
    frames = list(iter_frames(out))
    assert len(frames) == 4
    assert frames[0].rgb.shape == (48, 64, 3)


@pytest.mark.parametrize(
    "name,codec,pix_fmt",
    [
        ("h264_10bit.mp4", "libx264", "yuv420p10le"),
        ("hevc.mov", "libx265", "yuv420p"),
        ("vp9.webm", "libvpx-vp9", "yuv420p"),
        ("mjpeg.avi", "mjpeg", "yuvj420p"),
        ("h264.mkv", "libx264", "yuv420p"),
    ],
)
def test_codecs_and_containers_decode(clip_factory, name, codec, pix_fmt):
    src = clip_factory(name, frames=6, size=(64, 48), codec=codec, pix_fmt=pix_fmt)
    info = probe(src)
    frames = list(iter_frames(src, info))
    assert len(frames) == 6
    assert frames[0].rgb.dtype == np.uint8 and frames[0].rgb.shape == (48, 64, 3)
    # the red square painted by make_clip survives decoding
    assert frames[0].rgb[4:12, 0:8, 0].mean() > 150


def test_written_file_has_one_stream_and_no_tags(tmp_path):
    out = tmp_path / "clean.mp4"
    with VideoWriter(out, 32, 32, Fraction(1, 25)) as w:
        for i in range(3):
            w.write(np.full((32, 32, 3), 50 * i, np.uint8), i)
    desc = describe_container(out)
    assert [s["type"] for s in desc["streams"]] == ["video"]
    assert set(desc["container_tags"]) <= MANDATORY_TAGS
    assert all(set(s["tags"]) <= MANDATORY_TAGS for s in desc["streams"])
    data = out.read_bytes()
    assert b"x264" not in data and b"Lavf" not in data  # no encoder strings


def test_writer_abort_leaves_nothing(tmp_path):
    out = tmp_path / "never.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(out, 32, 32, Fraction(1, 25)) as w:
            w.write(np.zeros((32, 32, 3), np.uint8), 0)
            raise RuntimeError("crash mid-video")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_real_lab_clip_is_read_in_order(shared_data):
    path = shared_data("lab_single/cam01.mp4")
    info = probe(path)
    assert (info.width, info.height) == (1080, 1920)
    times = [f.t for f in iter_frames(path, info)]
    assert len(times) == info.frame_count == 100
    assert np.all(np.diff(times) > 0)
    assert np.diff(times).mean() == pytest.approx(1 / 60, rel=1e-3)
