"""Shared fixtures: the real test data in ../shared/data, and small synthetic clips."""

from __future__ import annotations

import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

SHARED_DATA = Path(os.environ.get("ANONYMOTION_TEST_DATA",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Callable[[str], Path]:
    """Return a function giving the path of a file in ../shared/data, or skipping the test.

    Usage: ``street = shared_data("street_720p50.avi")``. The files are read in place,
    never copied into the repository.
    """

    def get(relative: str) -> Path:
        path = SHARED_DATA / relative
        if not path.exists():
            pytest.skip(f"test data {relative} not found under {SHARED_DATA} (set ANONYMOTION_TEST_DATA)")
        return path

    return get


def make_clip(
    path: Path,
    *,
    frames: int = 10,
    size: tuple[int, int] = (64, 48),
    pts: list[int] | None = None,
    time_base: Fraction = Fraction(1, 1000),
    fps: int = 25,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    rotation: int | None = None,
    audio: bool = False,
    tags: dict[str, str] | None = None,
    stream_tags: dict[str, str] | None = None,
    painter: Callable[[int, np.ndarray], None] | None = None,
) -> Path:
    """Write a small synthetic clip with PyAV and return its path.

    size is (width, height); pts (time_base units) default to a constant ``fps``;
    painter(i, rgb) may draw into each (H, W, 3) frame; a moving square is drawn otherwise.
    """
    width, height = size
    container = av.open(str(path), "w")
    vs = container.add_stream(codec, rate=fps)
    vs.width, vs.height, vs.pix_fmt = width, height, pix_fmt
    if codec in ("libx264", "libx265", "mpeg4", "libvpx-vp9"):
        vs.time_base = time_base
        vs.codec_context.time_base = time_base
    if rotation is not None:
        vs.set_display_rotation(rotation)
    for k, v in (stream_tags or {}).items():
        vs.metadata[k] = v
    for k, v in (tags or {}).items():
        container.metadata[k] = v
    aus = None
    if audio:
        aus = container.add_stream("aac", rate=48000)
        aus.layout = "mono"
    pts = pts if pts is not None else [int(round(i / fps / time_base)) for i in range(frames)]
    rng = np.random.default_rng(0)
    for i, p in enumerate(pts):
        rgb = np.full((height, width, 3), 40, np.uint8)
        if painter is not None:
            painter(i, rgb)
        else:
            x = (i * 3) % max(1, width - 8)
            rgb[4:12, x:x + 8] = (255, 0, 0)
            rgb[-6:, :] = rng.integers(0, 255, (6, width, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        if vs.time_base is not None and codec in ("libx264", "libx265", "mpeg4", "libvpx-vp9"):
            frame.pts = p
        for packet in vs.encode(frame.reformat(format=pix_fmt)):
            container.mux(packet)
    for packet in vs.encode(None):
        container.mux(packet)
    if aus is not None:
        samples = int(48000 * len(pts) / fps)
        tone = (0.2 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 48000)).astype(np.float32)
        for start in range(0, samples, 1024):
            chunk = tone[start:start + 1024][None, :]
            af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            af.sample_rate = 48000
            af.pts = start
            for packet in aus.encode(af):
                container.mux(packet)
        for packet in aus.encode(None):
            container.mux(packet)
    container.close()
    return path


@pytest.fixture
def clip_factory(tmp_path: Path) -> Callable[..., Path]:
    """make_clip bound to the test's tmp dir: ``clip_factory("a.mp4", frames=5, ...)``."""

    def factory(name: str = "clip.mp4", **kwargs) -> Path:
        return make_clip(tmp_path / name, **kwargs)

    return factory
