"""The audit recognises the ``replace`` method's synthetic face, and only it."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from anonymotion.audit.coverage import DetailLimits
from anonymotion.audit.synthetic import SYNTHETIC_LIKENESS, RegionsLog, near, synthetic_likeness
from anonymotion.types import Regions


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


@pytest.mark.timeout(180)
def test_synthetic_faces_are_recognised_and_real_ones_are_not(shared_data):
    """Real faces (portrait, group photo, lab bystander) stay below the likeness limit against the
    synthetic face placed from their own landmarks; the synthetic faces drawn on them, found again
    by the detector in the output, reach it from the placement the faces were drawn at."""
    from anonymotion.detect.centerface import CenterFaceDetector
    from anonymotion.io.images import read_image
    from anonymotion.io.video import iter_frames
    from anonymotion.methods.replace import Replace

    detector = CenterFaceDetector()
    frames = [read_image(shared_data("images/portrait.jpg")), read_image(shared_data("images/indoor_group.jpg")),
              next(iter(iter_frames(shared_data("lab_single/cam02.mp4"), strict=False))).rgb]
    real, synthetic = [], []
    for rgb in frames:
        found = detector.detect(rgb)
        regions = Regions(found.boxes, found.scores, np.arange(len(found)), found.sources, landmarks=found.landmarks)
        method = Replace()
        out = method.apply(rgb, regions, 0.0)
        g, ga = _grey(rgb), _grey(out)
        for box, marks in zip(found.boxes, found.landmarks):
            if max(box[2] - box[0], box[3] - box[1]) >= DetailLimits().min_face:  # smaller: no identifiable detail
                real.append(synthetic_likeness(g, box, [marks]))
        drawn = [found.landmarks[track] for track, *_ in method.drawn]
        again = detector.detect(out)
        for box, marks in zip(again.boxes, again.landmarks):
            if near(box, drawn):  # a synthetic face, found again
                synthetic.append(synthetic_likeness(ga, box, [marks, *near(box, drawn)]))
    assert len(real) >= 4 and len(synthetic) >= 4
    assert max(real) < SYNTHETIC_LIKENESS - 0.15
    assert min(synthetic) >= SYNTHETIC_LIKENESS


def test_regions_log_gives_each_frames_landmarks_in_order(tmp_path):
    marks = [[10.0, 20.0], [30.0, 20.0], [20.0, 30.0], [12.0, 40.0], [28.0, 40.0]]
    lines = [{"frame": 0, "t": 0.0, "regions": [{"box": [0, 0, 40, 50], "landmarks": marks}]},
             {"frame": 1, "t": 0.04, "regions": [{"box": [0, 0, 40, 50]}]},
             {"frame": 3, "t": 0.12, "regions": [{"box": [0, 0, 40, 50], "landmarks": marks},
                                                 {"box": [50, 0, 90, 50], "landmarks": marks}]}]
    path = tmp_path / "out.regions.jsonl"
    path.write_text("".join(json.dumps(rec) + "\n" for rec in lines))
    log = RegionsLog(path)
    try:
        got = [len(log.landmarks(i)) for i in range(5)]
    finally:
        log.close()
    assert got == [1, 0, 0, 2, 0]
    assert near(np.array([0, 0, 40, 50]), [np.asarray(marks)]) and not near(np.array([50, 0, 90, 50]), [np.asarray(marks)])
