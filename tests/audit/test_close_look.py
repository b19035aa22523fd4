"""The close look: a face seen up close is still a face; the audit's known false alarms are not.

Real detectors on real frames. The false alarms are the two the whole-clip audits of our
default outputs used to fail on: the hands of a woman holding a phone in street_720p50.avi
(frames 156 and 158) and a grey case on the floor of the lab in lab_single/cam01.mp4
(frames 37-47), both found by CenterFace (enlarged) and YuNet together.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from anonymotion.audit.close_look import LOOK_PX, CloseLook, square_around, unverified_tracks
from anonymotion.audit.finder import DetectorSetup, audit_members
from anonymotion.io.video import iter_frames

pytestmark = pytest.mark.timeout(300)


def frame(path, index: int) -> np.ndarray:
    for f in iter_frames(path):
        if f.index == index:
            return f.rgb
    raise AssertionError(f"{path} has no frame {index}")


@pytest.fixture(scope="module")
def look() -> CloseLook:
    """The close look of the audit of a default (CenterFace) output."""
    return CloseLook(audit_members(DetectorSetup.parse("centerface", 0.15)))


def test_the_square_puts_the_face_in_its_middle_at_the_look_size() -> None:
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[40:60, 90:110] = 255  # a 20 px square at (90, 40)
    square, inside = square_around(rgb, (90, 40, 110, 60), context=3.0, face_px=64)
    assert square.shape == (192, 192, 3)
    assert inside == pytest.approx([64, 64, 128, 128], abs=1.5)
    assert square[96, 96].min() == 255 and square[10, 10].max() == 0
    edge, _ = square_around(rgb, (0, 0, 20, 20))  # at the frame's corner: edges replicated, same size
    assert edge.shape == (3 * LOOK_PX, 3 * LOOK_PX, 3)


def test_real_faces_are_verified(look: CloseLook, shared_data) -> None:
    from anonymotion.detect.centerface import CenterFaceDetector

    for name in ("images/portrait.jpg", "images/indoor_group.jpg"):
        rgb = np.asarray(Image.open(shared_data(name)).convert("RGB"))
        faces = CenterFaceDetector(threshold=0.5).detect(rgb)
        assert len(faces), name
        for box in faces.boxes:
            assert look.look(rgb, box).verified, (name, box)
    cam01 = frame(shared_data("lab_single/cam01.mp4"), 40)
    bystander = (58, 316, 100, 371)  # 42-55 px, the bystander at the back (audit of the re-encode, frame 37-47)
    assert look.look(cam01, bystander).verified


def test_the_audits_false_alarms_are_not(look: CloseLook, shared_data) -> None:
    cam01 = shared_data("lab_single/cam01.mp4")
    for index in (37, 42, 47):
        seen = look.look(frame(cam01, index), (1037, 1023, 1062, 1056))  # the grey case, 32 px
        assert not seen.verified, (index, seen)
    street = shared_data("street_720p50.avi")
    for index, box in ((156, (574.7, 210.7, 598.7, 241.3)), (158, (569.3, 213.3, 589.3, 238.7))):
        seen = look.look(frame(street, index), box)  # hands holding a phone, 25-31 px
        assert not seen.verified, (index, seen)


def test_a_track_is_set_aside_only_when_none_of_its_frames_is_verified() -> None:
    pairs = [(1, False), (1, True), (2, False), (2, False), (3, None), (4, None), (4, False)]
    assert unverified_tracks(pairs) == {2, 4}
