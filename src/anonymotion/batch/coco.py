"""COCO keypoint annotations -> head regions, for image datasets (``batch --coco``).

The gait study placed the head region from annotated head and neck keypoints rather than
from a detector. Here each annotated person gives one head box:

- face keypoints (nose, eyes, ears; visibility v > 0) present: the box is centred on them
  and sized by :func:`anonymotion.detect.heads.head_box` (largest anthropometric estimate
  from the ear span, shoulder width and trunk length) -- source ``coco-head``;
- no face keypoint but both shoulders: the head is placed above the shoulder midpoint,
  perpendicular to the shoulder line (away from the hips when they are annotated), sized
  from the shoulder width -- source ``coco-shoulders``;
- no usable keypoint but a person box (not a crowd region): the top :data:`BBOX_HEAD_SHARE`
  of the person box, full width -- source ``coco-bbox``, so nobody annotated is left out.

Crowd regions (``iscrowd`` = 1) are not covered and are counted. Coordinates are pixels
of the image as stored (COCO's convention); an image whose size differs from the one the
annotation states is refused.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.errors import InputError, OutputError
from anonymotion.types import Regions

log = logging.getLogger(__name__)

COCO_17 = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
           "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
           "right_knee", "left_ankle", "right_ankle")
FACE_POINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
#: Head height as a multiple of the shoulder width, and the distance from the shoulder
#: midpoint to the head centre as a multiple of the head height (adult anthropometry).
SHOULDER_TO_HEAD = 0.7
NECK_OFFSET = 0.75
#: Share of the person box's height covered when no keypoint is annotated.
BBOX_HEAD_SHARE = 0.3


@dataclass(frozen=True)
class CocoPerson:
    """One person annotation: keypoints (K, 3) float x, y (px), v (0 absent, 1 hidden, 2 visible);
    bbox x, y, w, h in px (None when absent); crowd: ``iscrowd`` = 1."""

    keypoints: np.ndarray
    bbox: tuple[float, float, float, float] | None
    crowd: bool


@dataclass(frozen=True)
class CocoImage:
    """An annotated image: its file name relative to the image folder, the size the
    annotation states (px), its people, and the keypoint names of their category."""

    file_name: str
    width: int
    height: int
    people: tuple[CocoPerson, ...]
    names: tuple[str, ...] = COCO_17

    def to_json(self) -> dict[str, Any]:
        """JSON view (hashed into the batch fingerprint: changed annotations redo the image)."""
        return {"file_name": self.file_name, "width": self.width, "height": self.height,
                "people": [{"keypoints": p.keypoints.round(2).tolist(), "bbox": p.bbox, "crowd": p.crowd}
                           for p in self.people]}


def load_coco(path: str | os.PathLike) -> list[CocoImage]:
    """Read a COCO keypoint annotation file; one :class:`CocoImage` per listed image.

    Raises InputError naming the file when it is not COCO keypoint JSON.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "annotation file not found") from None
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a readable JSON annotation file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise InputError(path, "not a COCO annotation file (needs 'images' and 'annotations' lists)")
    names_by_cat: dict[Any, tuple[str, ...]] = {}
    for cat in data.get("categories") or []:
        if isinstance(cat, dict) and cat.get("keypoints"):
            names_by_cat[cat.get("id")] = tuple(str(n) for n in cat["keypoints"])
    people: dict[Any, list[CocoPerson]] = {}
    names_by_image: dict[Any, tuple[str, ...]] = {}
    for n, ann in enumerate(data["annotations"]):
        try:
            kps = ann.get("keypoints")
            if kps is None and "bbox" not in ann:
                continue
            names = names_by_cat.get(ann.get("category_id"), COCO_17)
            arr = np.asarray(kps if kps else [0.0] * 3 * len(names), np.float32).reshape(-1, 3)
            if arr.shape[0] != len(names):
                raise ValueError(f"{arr.shape[0]} keypoints but the category names {len(names)}")
            bbox = tuple(float(v) for v in ann["bbox"]) if ann.get("bbox") else None
            if bbox is not None and len(bbox) != 4:
                raise ValueError("bbox needs 4 numbers")
            people.setdefault(ann["image_id"], []).append(
                CocoPerson(arr, bbox, bool(ann.get("iscrowd", 0))))  # type: ignore[arg-type]
            names_by_image[ann["image_id"]] = names
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(path, f"annotation #{n} is malformed ({exc})") from None
    images = []
    for img in data["images"]:
        try:
            images.append(CocoImage(str(img["file_name"]), int(img["width"]), int(img["height"]),
                                    tuple(people.get(img["id"], ())), names_by_image.get(img["id"], COCO_17)))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(path, f"image entry {img!r:.80} is malformed ({exc})") from None
        rel = Path(images[-1].file_name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise InputError(path, f"image file_name {images[-1].file_name!r} must be a relative path inside "
                                   "the image folder")
    return images


def _shoulder_head(xy: np.ndarray, names: tuple[str, ...]) -> np.ndarray | None:
    """Head box from the shoulders alone (face keypoints missing), or None."""
    def pt(n: str) -> np.ndarray:
        return xy[names.index(n)] if n in names else np.full(2, np.nan, np.float32)

    ls, rs = pt("left_shoulder"), pt("right_shoulder")
    if not (np.isfinite(ls).all() and np.isfinite(rs).all()):
        return None
    width = float(np.hypot(*(ls - rs)))
    if width < 1:
        return None
    mid = (ls + rs) / 2
    normal = np.array([-(ls - rs)[1], (ls - rs)[0]], np.float32) / width
    hips = [pt("left_hip"), pt("right_hip")]
    hips = [h for h in hips if np.isfinite(h).all()]
    if hips:
        away = mid - np.mean(hips, axis=0)
        if float(normal @ away) < 0:
            normal = -normal
    elif normal[1] > 0:  # no hips: "up" is towards the top of the image
        normal = -normal
    size = SHOULDER_TO_HEAD * width
    c = mid + normal * NECK_OFFSET * size
    return np.array([c[0] - size / 2, c[1] - size / 2, c[0] + size / 2, c[1] + size / 2], np.float32)


def person_head(person: CocoPerson, names: tuple[str, ...]) -> tuple[np.ndarray, str] | None:
    """Head box (x1, y1, x2, y2) float32 px of one annotated person and its source, or None."""
    from anonymotion.detect.heads import head_box

    if person.crowd:
        return None
    kp = person.keypoints
    xy = np.where(kp[:, 2:3] > 0, kp[:, :2], np.nan).astype(np.float32)
    face = [names.index(n) for n in FACE_POINTS if n in names]
    if np.isfinite(xy[face]).all(axis=1).any():
        found = head_box(xy, (kp[:, 2] > 0).astype(np.float32), names)
        if found is not None:
            return found[0], "coco-head"
    box = _shoulder_head(xy, names)
    if box is not None:
        return box, "coco-shoulders"
    if person.bbox is not None and person.bbox[2] > 0 and person.bbox[3] > 0:
        x, y, w, h = person.bbox
        return np.array([x, y, x + w, y + BBOX_HEAD_SHARE * h], np.float32), "coco-bbox"
    return None


def head_regions(image: CocoImage) -> tuple[Regions, dict[str, int]]:
    """Regions for every annotated person of ``image`` (boxes cut to the image) and counts by source."""
    boxes, sources = [], []
    counts = {"people": len(image.people), "crowd_skipped": 0, "unlocated": 0}
    for person in image.people:
        if person.crowd:
            counts["crowd_skipped"] += 1
            continue
        found = person_head(person, image.names)
        if found is None:
            counts["unlocated"] += 1
            continue
        box, source = found
        box[[0, 2]] = box[[0, 2]].clip(0, image.width)
        box[[1, 3]] = box[[1, 3]].clip(0, image.height)
        if box[2] - box[0] < 1 or box[3] - box[1] < 1:
            counts["unlocated"] += 1
            continue
        boxes.append(box)
        sources.append(source)
        counts[source] = counts.get(source, 0) + 1
    if not boxes:
        return Regions.empty(), counts
    n = len(boxes)
    return Regions(np.stack(boxes).astype(np.float32), np.ones(n, np.float32), np.arange(n, dtype=np.int64),
                   tuple(sources)), counts


def anonymize_coco_image(path: Path, output: Path, image: CocoImage, config: Any) -> dict[str, Any]:
    """Anonymize one annotated image with ``config.method`` over its annotated heads.

    Writes ``output`` (same format, no metadata, atomic). Returns {"regions": n, "counts": {...}}.
    Raises InputError when the image cannot be read or its size differs from the annotation.
    """
    from anonymotion.methods.registry import make_method
    from anonymotion.errors import ConfigError
    from anonymotion.io.images import read_image, write_image

    rgb = read_image(path)
    h, w = rgb.shape[:2]
    if (w, h) != (image.width, image.height):
        raise InputError(path, f"image is {w}x{h} px but the annotation says {image.width}x{image.height}; "
                               "the keypoints would not fit it")
    regions, counts = head_regions(image)
    try:
        method = make_method(config.method, **config.method_params())
    except ValueError as exc:
        raise ConfigError(None, str(exc)) from None
    try:
        out = method.apply(rgb, regions)
    finally:
        close = getattr(method, "close", None)
        if callable(close):
            close()
    write_image(output, out)
    return {"regions": len(regions), "counts": counts}


def copy_annotations(src: Path, dst: Path) -> Path:
    """Copy the annotation file byte for byte to ``dst`` (temporary name, then rename)."""
    from anonymotion.io.writer import ensure_writable_dir, temp_path_for

    ensure_writable_dir(dst.parent)
    tmp = temp_path_for(dst)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(dst, f"cannot copy the annotation file ({exc.strerror})") from None
    return dst
