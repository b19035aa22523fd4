"""The shared test kit itself: the helpers other tests rely on do what they say."""

from __future__ import annotations

import time
from fractions import Fraction

import av
import numpy as np
import pytest

from anonymotion.io.video import iter_frames, probe
from kit import person_track, regions, standing_person, trim_clip, wait_until

pytestmark = pytest.mark.timeout(60)


def test_wait_until_returns_the_value_and_fails_at_the_deadline():
    calls = []

    def third_call() -> str | None:
        calls.append(1)
        return "ready" if len(calls) >= 3 else None

    assert wait_until(third_call, 5, interval=0.01) == "ready" and len(calls) == 3
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"the job finished still not true after 0.2 s \(last value: False\)"):
        wait_until(lambda: False, 0.2, interval=0.05, what="the job finished")
    assert time.monotonic() - start < 2

    def dead() -> bool:
        raise RuntimeError("server died")

    with pytest.raises(RuntimeError, match="server died"):  # not swallowed into a timeout
        wait_until(dead, 5)


def test_trim_clip_cuts_scales_and_keeps_timestamps(clip_factory, tmp_path):
    pts = [0, 40, 80, 200, 240, 500, 540, 1000]  # variable frame rate, ms
    src = clip_factory("vfr.mp4", pts=pts, time_base=Fraction(1, 1000), size=(96, 64))
    cut = trim_clip(src, tmp_path / "cut.mp4", 3, start=2, scale=0.5,
                    transform=lambda i, rgb: np.full_like(rgb, 10 * i))
    info = probe(cut)
    assert (info.width, info.height) == (48, 32)
    frames = list(iter_frames(cut))
    assert [f.t for f in frames] == pytest.approx([0, 0.12, 0.16], abs=1e-3)  # frames 2..4, their spacing kept
    with av.open(str(cut)) as c:  # ... at the source's times
        vs = c.streams.video[0]
        assert sorted(float(f.pts * vs.time_base) for f in c.decode(vs)) == pytest.approx([0.08, 0.2, 0.24], abs=1e-3)
    assert [int(np.median(f.rgb)) for f in frames] == pytest.approx([20, 30, 40], abs=2)  # transform got 2, 3, 4
    whole = trim_clip(src, tmp_path / "whole.mp4")
    assert len(list(iter_frames(whole))) == len(pts)
    with pytest.raises(ValueError, match="no frame at index 20"):
        trim_clip(src, tmp_path / "none.mp4", 2, start=20)
    assert not (tmp_path / "none.mp4").exists()


def test_regions_and_persons_have_the_documented_shapes():
    r = regions((0, 0, 10, 10), (5, 5, 20, 20), scores=[0.5, 0.7], track_ids=-1, source="centerface")
    assert r.boxes.shape == (2, 4) and r.scores.tolist() == pytest.approx([0.5, 0.7])
    assert r.track_ids.tolist() == [-1, -1] and r.sources == ("centerface", "centerface")
    assert regions((1, 2, 3, 4)).track_ids.tolist() == [0] and len(regions()) == 0
    mask = np.zeros((4, 4), bool)
    assert regions(mask=mask).mask is mask
    xy = standing_person(cx=50, hip_y=100, torso=40)
    assert xy.shape == (33, 2) and np.isfinite(xy).all()
    track = person_track(np.stack([xy, xy + 1]), fps=10)
    assert track.t.tolist() == [0.0, 0.1] and track.xy.shape == (2, 33, 2) and track.world.shape == (2, 33, 3)
    assert (track.score == 0.95).all()
