"""Fixtures of the batch tests: one 2-worker Dask LocalCluster per module, a COCO annotation file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import json
from types import SimpleNamespace

import pytest


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    """A LocalCluster of 2 worker processes with 1 thread each (as ``batch`` starts by default)."""
    from distributed import Client

    from anonymotion.batch.runner import local_cluster

    cluster = local_cluster(2, dashboard_address=":0")
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


# --------------------------------------------------------------------------- COCO annotations
# A small COCO keypoint annotation file for the two shared COCO photos. Keypoints (x, y, v) in
# COCO-17 order. The seated man in indoor_group.jpg and the man in portrait.jpg were measured
# with the MediaPipe pose backend (static image mode); the standing man was placed by hand; the
# woman on the sofa has only her shoulders and hips annotated (face keypoints missing), which
# exercises the shoulder-width fallback.

NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
         "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
         "right_knee", "left_ankle", "right_ankle"]

#: image -> list of (keypoints by name -> (x, y), bbox x, y, w, h)
PEOPLE = {
    "portrait.jpg": [({"nose": (184, 191), "left_eye": (213, 171), "right_eye": (161, 170), "left_ear": (239, 182),
                       "right_ear": (146, 178), "left_shoulder": (324, 326), "right_shoulder": (67, 324)},
                      (0, 80, 516, 560))],
    "indoor_group.jpg": [
        ({"nose": (59, 294), "left_eye": (72, 287), "right_eye": (51, 285), "left_ear": (80, 292),
          "right_ear": (47, 287), "left_shoulder": (93, 331), "right_shoulder": (22, 328)}, (0, 255, 200, 350)),
        ({"nose": (222, 80), "left_eye": (236, 66), "right_eye": (207, 65), "left_ear": (250, 74),
          "right_ear": (190, 72), "left_shoulder": (300, 130), "right_shoulder": (180, 140)}, (130, 10, 210, 630)),
        ({"left_shoulder": (392, 330), "right_shoulder": (330, 328), "left_hip": (385, 420), "right_hip": (330, 420)},
         (290, 260, 120, 270)),
    ],
}
SIZES = {"portrait.jpg": (516, 640), "indoor_group.jpg": (480, 640)}
#: A box inside each annotated face (x1, y1, x2, y2): must be anonymized.
FACES = {"portrait.jpg": [(150, 150, 225, 215)],
         "indoor_group.jpg": [(48, 278, 78, 305), (200, 55, 245, 100), (345, 280, 380, 315)]}
#: A box far from every head: must stay as it was (up to JPEG re-encoding).
BACKGROUND = {"portrait.jpg": (20, 560, 120, 630), "indoor_group.jpg": (380, 60, 470, 160)}


def write_coco(path: Path, sizes: dict[str, tuple[int, int]] | None = None) -> Path:
    """Write the annotation file; ``sizes`` overrides the stated image sizes (w, h)."""
    sizes = {**SIZES, **(sizes or {})}
    images, annotations = [], []
    for image_id, (name, people) in enumerate(PEOPLE.items(), 1):
        w, h = sizes[name]
        images.append({"id": image_id, "file_name": name, "width": w, "height": h})
        for kps, bbox in people:
            flat: list[float] = []
            for n in NAMES:
                flat += [*kps[n], 2] if n in kps else [0, 0, 0]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "keypoints": flat, "num_keypoints": len(kps), "bbox": list(bbox), "iscrowd": 0,
                                "area": bbox[2] * bbox[3]})
    data = {"info": {"description": "anonymotion test"}, "images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "supercategory": "person", "keypoints": NAMES,
                            "skeleton": [[16, 14], [14, 12]]}]}
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


@pytest.fixture
def coco() -> SimpleNamespace:
    """``coco.write(path, sizes=None)`` writes the annotation file; ``coco.FACES[name]``: boxes inside
    annotated heads; ``coco.BACKGROUND[name]``: a box far from every head."""
    return SimpleNamespace(write=write_coco, FACES=FACES, BACKGROUND=BACKGROUND)
