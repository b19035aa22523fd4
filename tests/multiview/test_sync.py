"""Several videos advanced together by timestamp: common span, dropped frames, start offsets."""

from __future__ import annotations

from fractions import Fraction

import pytest

from anonymotion.multiview.sync import iter_synchronised


@pytest.mark.timeout(60)
def test_common_span_and_dropped_frame(clip_factory):
    a = clip_factory("a.mp4", frames=10, fps=25)
    b = clip_factory("b.mp4", frames=7, fps=25)  # shorter: the span ends with it
    tb = Fraction(1, 1000)
    c = clip_factory("c.mp4", pts=[0, 40, 80, 160, 200, 240, 280, 320, 360], time_base=tb, fps=25)  # 120 ms dropped
    slots = list(iter_synchronised([a, b, c]))
    assert len(slots) == 7
    assert [round(s.t, 3) for s in slots] == [0.0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.24]
    assert slots[3].present == (True, True, False)
    assert all(all(s.present) for i, s in enumerate(slots) if i != 3)
    assert [f.index for f in (s.frames[2] for s in slots) if f is not None] == [0, 1, 2, 3, 4, 5]


@pytest.mark.timeout(60)
def test_offsets_and_max_frames(clip_factory):
    a = clip_factory("a.mp4", frames=8, fps=25)
    b = clip_factory("b.mp4", frames=8, fps=25)
    slots = list(iter_synchronised([a, b], offsets=[0.0, 0.08]))  # b started 2 frames later
    assert slots[0].present == (True, True)
    assert slots[0].frames[0].index == 2 and slots[0].frames[1].index == 0
    assert len(slots) == 6
    assert len(list(iter_synchronised([a, b], max_frames=3))) == 3


@pytest.mark.timeout(60)
def test_span_all_yields_every_frame_of_every_video(clip_factory):
    a = clip_factory("a.mp4", frames=6, fps=25)
    b = clip_factory("b.mp4", frames=4, fps=25)
    slots = list(iter_synchronised([a, b], offsets=[0.0, 0.04], span="all"))
    assert sum(f is not None for s in slots for f in s.frames) == 10
    assert slots[0].present == (True, False) and slots[-1].present == (True, False)
    assert [s.present for s in slots[1:5]] == [(True, True)] * 4
