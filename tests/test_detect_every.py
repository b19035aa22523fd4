"""``--detect-every N``: the detector runs on every N-th frame in a worker thread while earlier
frames are anonymized, so the regions log and the video must still pair each frame with its own
regions, in frame order.

The clip is synthetic but the face is real: the face of images/portrait.jpg (80 px high) slides
12 px to the right per frame across a grey 320 x 240 frame, so the true face position of every
frame is known. A frame given a neighbour's regions would be off by 12 px (36 px for a
neighbouring detection), far beyond the detector's jitter (measured: box centres 43.7 .. 43.9 px
from the paste position, detected and interpolated frames alike).
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from anonymotion import anonymize
from anonymotion.io.images import read_image
from anonymotion.io.video import iter_frames
from anonymotion.methods.registry import make_method
from kit import regions

pytestmark = pytest.mark.timeout(180)

FRAMES, FPS, STEP, EVERY = 16, 25, 12, 3
TOP, HEIGHT, WIDTH = 80, 80, 88  # where the face is pasted (rows) and its size


def _x(index: int) -> int:
    """Left edge (px) of the pasted face in frame ``index``."""
    return 10 + STEP * index


@pytest.fixture
def sliding_face(shared_data, clip_factory):
    face = read_image(shared_data("images/portrait.jpg"))[90:290, 80:300]  # forehead to chin, ear to ear
    face = cv2.resize(face, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)

    def paint(i: int, rgb: np.ndarray) -> None:
        rgb[:] = 90
        rgb[TOP:TOP + HEIGHT, _x(i):_x(i) + WIDTH] = face

    return clip_factory("sliding_face.mp4", frames=FRAMES, fps=FPS, size=(320, 240), painter=paint)


def test_regions_log_and_video_pair_each_frame_with_its_own_regions(sliding_face, tmp_path):
    result = anonymize(sliding_face, tmp_path / "out.mp4", detect_every=EVERY)
    assert json.loads(result.manifest_path.read_text())["parameters"]["detect_every"] == EVERY
    lines = [json.loads(x) for x in result.regions_path.read_text().splitlines()]

    # every frame once, in order, with its own timestamp
    assert [x["frame"] for x in lines] == list(range(FRAMES))
    assert [x["t"] for x in lines] == pytest.approx([i / FPS for i in range(FRAMES)], abs=1e-3)
    # the detector ran on frames 0, 3, 6, ...; the tracker filled the frames between
    for x in lines:
        assert len(x["regions"]) == 1, x
        expected = "centerface" if x["frame"] % EVERY == 0 else "held"
        assert x["regions"][0]["source"] == expected, x
    # each frame's box sits on that frame's face: the same offset from the paste position in all
    offsets = np.array([(x["regions"][0]["box"][0] + x["regions"][0]["box"][2]) / 2 - _x(x["frame"])
                        for x in lines])
    assert np.ptp(offsets) < STEP / 4, offsets
    assert abs(offsets.mean() - WIDTH / 2) < STEP / 2, offsets  # centred on the pasted face

    # the video's frame i was anonymized with line i's regions: re-applying them to the original
    # frame gives the output up to codec noise, while the next frame's regions do not
    blur = make_method("blur")
    for o, a, x in zip(iter_frames(sliding_face), iter_frames(result.output), lines, strict=True):
        band = (slice(TOP - 20, TOP + HEIGHT + 20), slice(max(0, _x(o.index) - 20), _x(o.index) + WIDTH + 20))
        own = blur.apply(o.rgb, regions(*[r["box"] for r in x["regions"]]))
        assert np.abs(own[band].astype(int) - a.rgb[band]).mean() < 3, o.index  # measured 1.6 .. 1.9
        if o.index + 1 < FRAMES:
            nxt = blur.apply(o.rgb, regions(*[r["box"] for r in lines[o.index + 1]["regions"]]))
            assert np.abs(nxt[band].astype(int) - a.rgb[band]).mean() > 5, o.index  # measured 6.8 .. 9.0
