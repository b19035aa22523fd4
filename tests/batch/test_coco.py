"""Head boxes from COCO keypoints: on the face keypoints, above the shoulders when the face is
missing, from the person box as a last resort; malformed files are refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from anonymotion.batch.coco import COCO_17, CocoImage, CocoPerson, head_regions, load_coco, person_head
from anonymotion.errors import InputError


def person(points: dict[str, tuple[float, float]], bbox=None, crowd=False) -> CocoPerson:
    kp = np.zeros((17, 3), np.float32)
    for name, (x, y) in points.items():
        kp[COCO_17.index(name)] = (x, y, 2)
    return CocoPerson(kp, bbox, crowd)


def inside(box: np.ndarray, x: float, y: float) -> bool:
    return bool(box[0] <= x <= box[2] and box[1] <= y <= box[3])


def test_face_keypoints_inside_the_head_box() -> None:
    pts = {"nose": (100, 100), "left_eye": (110, 92), "right_eye": (90, 92), "left_ear": (122, 96),
           "right_ear": (78, 96), "left_shoulder": (150, 170), "right_shoulder": (50, 170)}
    box, source = person_head(person(pts), COCO_17)
    assert source == "coco-head"
    assert all(inside(box, *p) for n, p in pts.items() if "shoulder" not in n)
    assert not inside(box, 150, 170)
    assert box[2] - box[0] >= 44  # at least the ear-to-ear span


def test_shoulders_only_puts_the_head_above_them_away_from_the_hips() -> None:
    up = {"left_shoulder": (140, 200), "right_shoulder": (60, 200), "left_hip": (130, 330), "right_hip": (70, 330)}
    box, source = person_head(person(up), COCO_17)
    assert source == "coco-shoulders" and box[3] < 200 + 10 and inside(box, 100, 150)
    # upside down (hips above the shoulders): the head goes below the shoulders
    down = {"left_shoulder": (140, 200), "right_shoulder": (60, 200), "left_hip": (130, 70), "right_hip": (70, 70)}
    box, _ = person_head(person(down), COCO_17)
    assert box[1] > 200 - 10 and inside(box, 100, 250)


def test_fallbacks_and_crowds() -> None:
    box, source = person_head(person({"left_knee": (10, 10)}, bbox=(50, 20, 40, 100)), COCO_17)
    assert source == "coco-bbox" and list(box) == [50, 20, 90, 50]
    assert person_head(person({}, bbox=None), COCO_17) is None
    img = CocoImage("x.jpg", 200, 200, (person({}, bbox=(0, 0, 50, 50), crowd=True),
                                        person({"nose": (190, 5), "left_eye": (198, 0)})))
    regions, counts = head_regions(img)
    assert counts["crowd_skipped"] == 1 and len(regions) == 1
    assert regions.boxes[0, 2] <= 200 and regions.boxes[0, 1] >= 0  # cut to the image


def test_malformed_annotation_files(tmp_path: Path) -> None:
    bad = tmp_path / "a.json"
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="a.json: not a COCO annotation file"):
        load_coco(bad)
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "x.jpg", "width": 9, "height": 9}],
                               "annotations": [{"image_id": 1, "keypoints": [1, 2, 2]}]}))
    with pytest.raises(InputError, match="annotation #0 is malformed"):
        load_coco(bad)
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "../../etc/x.jpg", "width": 9, "height": 9}],
                               "annotations": []}))
    with pytest.raises(InputError, match="must be a relative path inside the image folder"):
        load_coco(bad)
    with pytest.raises(InputError, match="not found"):
        load_coco(tmp_path / "missing.json")
