"""Fixtures of the fail-closed tests: short cuts of a real lab clip and seeded bit-flipped copies."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest


def lab_cut(src: Path, dst: Path, frames: int, size: tuple[int, int], start: int = 0) -> Path:
    """Frames ``start .. start+frames-1`` of a real video resized to ``size`` (w, h), as H.264 at the
    source's frame rate with a constant frame duration (x264 crf 20: a normal camera-like file)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        rate = Fraction(stream.average_rate or 30).limit_denominator(1001)
        vs = out.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        vs.time_base = vs.codec_context.time_base = 1 / rate
        vs.options = {"crf": "20", "preset": "veryfast"}
        for n, frame in enumerate(inp.decode(stream)):
            if n >= start + frames:
                break
            if n < start:
                continue
            small = frame.reformat(width=size[0], height=size[1], format="yuv420p")
            small.pts, small.time_base = n - start, 1 / rate
            for packet in vs.encode(small):
                out.mux(packet)
        for packet in vs.encode(None):
            out.mux(packet)
    return dst


def mdat_range(data: bytes) -> tuple[int, int]:
    """(start, end) byte offsets of the payload of the first top-level ``mdat`` box of an MP4."""
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        header = 8
        if size == 1:
            size, header = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        elif size == 0:
            size = len(data) - pos
        if kind == b"mdat":
            return pos + header, pos + size
        pos += size
    raise ValueError("no mdat box")


def flip_bits(src: Path, dst: Path, seed: int, flips: int = 3) -> Path:
    """A copy of MP4 ``src`` with ``flips`` single bits flipped at seeded positions in the coded
    video data (past every header: the container itself stays readable)."""
    data = bytearray(src.read_bytes())
    start, end = mdat_range(bytes(data))
    rng = np.random.default_rng(seed)
    for pos in rng.integers(start, end, size=flips):
        data[int(pos)] ^= 1 << int(rng.integers(0, 8))
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="session")
def lab_clip(shared_data, tmp_path_factory) -> Callable[..., Path]:
    """``lab_clip(frames, (w, h), camera="cam01", start=0)``: a cut of a real lab clip, made once per session."""
    folder = tmp_path_factory.mktemp("lab")

    def make(frames: int, size: tuple[int, int], camera: str = "cam01", start: int = 0) -> Path:
        dst = folder / f"{camera}_{start}_{frames}_{size[0]}x{size[1]}.mp4"
        if not dst.exists():
            lab_cut(shared_data(f"lab_single/{camera}.mp4"), dst, frames, size, start)
        return dst

    return make


@pytest.fixture
def flipped() -> Callable[..., Path]:
    """``flipped(src, dst, seed, flips=3)``: see :func:`flip_bits`."""
    return flip_bits
