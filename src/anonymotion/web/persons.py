"""Whom to measure: the persons in a video's first frame, with thumbnails and a default pick.

The Test step measures one person. :func:`find_persons` looks for people in the first frame
of the original the way ``--subject auto`` does (the one-person pose model on the full frame
and on four overlapping 60 % tiles, so people further away are found too), merges detections
of the same person, and ranks them by visibility × body height: person 1 is the most
visible one, the default. Each person is then measured with ``subject = box`` (the pose
follower keeps that person; see :mod:`anonymotion.pose.subject`), and the anonymized video
and the control replay the original's crops, so the person measured in the original and in
the anonymized video is the same one, never silently swapped.

Thumbnails are cut from the *anonymized* first frame (the page never needs an unanonymized
face to let someone pick a person).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

TILES = ((0.6, 2), (0.4, 3))  # (tile side as a share of the frame side, tiles per side)
SAME_PERSON = 0.6  # a detection whose box lies this much inside a better one is the same person
MIN_HEIGHT = 0.08  # persons shorter than this share of the frame height are not offered


@dataclass(frozen=True)
class Person:
    """One person found: id (1 = most visible), keypoint box (x1, y1, x2, y2 px), visibility × height."""

    id: int
    box: tuple[float, float, float, float]
    score: float

    def subject(self) -> str:
        """The ``--subject`` box that selects this person (the keypoint box, a little larger)."""
        x1, y1, x2, y2 = self.box
        mx, my = 0.1 * (x2 - x1), 0.1 * (y2 - y1)
        return f"{max(0.0, x1 - mx):.0f},{max(0.0, y1 - my):.0f},{x2 + mx:.0f},{y2 + my:.0f}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "box": [round(v, 1) for v in self.box], "score": round(self.score, 2),
                "subject": self.subject()}


def _inside(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Share of box ``a``'s area that lies inside box ``b``."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1])
    return ix * iy / area if area > 0 else 1.0


def rank_persons(candidates: list[tuple[tuple[float, float, float, float], float]],
                 frame_height: float) -> list[Person]:
    """Candidate (box, score) detections merged and ranked, most visible first.

    A detection lying mostly (≥ 60 %) inside a better one, or around a better one, is the same
    person; detections shorter than 8 % of the frame height are dropped.
    """
    kept: list[tuple[tuple[float, float, float, float], float]] = []
    for box, score in sorted(candidates, key=lambda c: -c[1]):
        if box[3] - box[1] < MIN_HEIGHT * frame_height:
            continue
        if all(_inside(box, k[0]) < SAME_PERSON and _inside(k[0], box) < SAME_PERSON for k in kept):
            kept.append((box, score))
    return [Person(i + 1, box, score) for i, (box, score) in enumerate(kept)]


def regions(w: int, h: int) -> list[tuple[int, int, int, int]]:
    """The full frame and overlapping tiles (x1, y1, x2, y2 px) the search runs the model on."""
    out = [(0, 0, w, h)]
    for share, n in TILES:
        tw, th = int(w * share), int(h * share)
        xs = [round(i * (w - tw) / (n - 1)) for i in range(n)]
        ys = [round(i * (h - th) / (n - 1)) for i in range(n)]
        out += [(x, y, x + tw, y + th) for y in ys for x in xs]
    return out


def find_persons(rgb: np.ndarray, backend: str = "mediapipe") -> list[Person]:
    """Persons in one (H, W, 3) uint8 RGB frame, most visible first."""
    from anonymotion.pose.backend import make_pose_backend
    from anonymotion.pose.subject import keypoint_box

    candidates = []
    model = make_pose_backend(backend, static_image_mode=True)  # every region on its own, no tracking
    try:
        for x1, y1, x2, y2 in regions(rgb.shape[1], rgb.shape[0]):
            pf = model.process(np.ascontiguousarray(rgb[y1:y2, x1:x2]), 0.0)
            box = keypoint_box(pf.xy)
            if box is None:
                continue
            full = (box[0] + x1, box[1] + y1, box[2] + x1, box[3] + y1)
            candidates.append((full, float(np.mean(pf.score)) * (full[3] - full[1])))
    finally:
        model.close()
    persons = rank_persons(candidates, rgb.shape[0])
    log.info("%d person(s) found in the first frame (%d detections)", len(persons), len(candidates))
    return persons


def first_frame(path: Path) -> np.ndarray:
    """The first decoded frame of a video, upright RGB (H, W, 3) uint8."""
    from anonymotion.io.video import iter_frames, probe

    frames = iter_frames(path, probe(path), strict=False)
    try:
        return next(frames).rgb
    finally:
        frames.close()


def write_thumbnails(rgb: np.ndarray, persons: list[Person], folder: Path, height: int = 160) -> dict[int, str]:
    """A JPEG per person cut from ``rgb`` (box + 15 % margin, ``height`` px tall); id -> file name."""
    import cv2

    from anonymotion.io.writer import commit_file, temp_path_for

    folder.mkdir(exist_ok=True)
    h, w = rgb.shape[:2]
    out = {}
    for p in persons:
        x1, y1, x2, y2 = p.box
        mx, my = 0.15 * (x2 - x1), 0.15 * (y2 - y1)
        a, b = int(max(0, x1 - mx)), int(max(0, y1 - my))
        c, d = int(min(w, x2 + mx)), int(min(h, y2 + my))
        crop = np.ascontiguousarray(rgb[b:max(d, b + 1), a:max(c, a + 1), ::-1])
        scale = height / crop.shape[0]
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), height),
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        name = f"person_{p.id}.jpg"
        ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if ok:
            tmp = temp_path_for(folder / name)
            tmp.write_bytes(data.tobytes())
            commit_file(tmp, folder / name)
            out[p.id] = name
    return out
