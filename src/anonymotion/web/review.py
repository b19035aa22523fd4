"""Review before download: what the page's player overlays, and the reviewer's marks on leak crops.

- :func:`overlay` gives the player one window of frames at a time (memory and transfer stay
  bounded for long videos): per frame its time and the covered regions from ``regions.jsonl``
  (grown by the run's ``mask_scale``, as the method grew them) and, after a Test, the measured
  person's keypoints in the original and the anonymized video (``skeleton_*.npy``, read through
  a memory map). Document: ``{"width", "height", "fps", "shape", "start", "frames": [{"t",
  "regions": [[x1, y1, x2, y2]...]}], "skeleton": {"edges": [[a, b]...], "original":
  [[[x, y]|null...]...], "anonymized": ...} | null}``, pixels of the original frame.
- :func:`mark_crops` records which leak crops a reviewer marked "not a face" in the job's
  manifest (``reviewer.not_a_face``: crop file, frame, face track; no user identity is stored).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.io.writer import write_text_atomic

CROP_NAME = re.compile(r"leak_f\d{6}_face\d{4}\.png")
PERSON_THUMB = re.compile(r"person_\d{1,3}\.jpg")
SKELETON_EDGES = "skeleton_edges.json"
SKELETON_TRACKS = ("original", "anonymized")
MAX_WINDOW = 600  # frames per overlay request
_MANIFEST_LOCK = threading.Lock()


def read_regions(path: Path, mask_scale: float, width: int, height: int, start: int = 0,
                 count: int = MAX_WINDOW) -> list[dict[str, Any]]:
    """Frames ``start`` .. ``start+count-1`` of ``regions.jsonl``: time (s) and covered boxes (grown, px)."""
    from anonymotion.methods.masks import scale_boxes

    frames = []
    with path.open(encoding="utf-8") as fh:
        for line in itertools.islice((x for x in fh if x.strip()), start, start + count):
            rec = json.loads(line)
            boxes = np.asarray([r["box"] for r in rec.get("regions", [])], np.float32).reshape(-1, 4)
            grown = scale_boxes(boxes, mask_scale, width, height)
            frames.append({"t": round(float(rec.get("t", 0.0)), 4),
                           "regions": [[round(float(v), 1) for v in b] for b in grown]})
    return frames


def keypoint_track(xy: np.ndarray) -> list[list[list[float] | None]]:
    """(T, K, 2) pixels as nested lists rounded to 0.1 px, None where a keypoint is NaN."""
    return [[[round(float(p[0]), 1), round(float(p[1]), 1)] if np.isfinite(p).all() else None for p in frame]
            for frame in xy]


def write_skeleton(folder: Path, original: Any, anonymized: Any) -> None:
    """Save the measured person's keypoints (two :class:`~anonymotion.types.Poses`) for the overlay:
    ``skeleton_original.npy`` / ``skeleton_anonymized.npy`` ((T, K, 2) float32 px) and the edges."""
    from anonymotion.io.writer import commit_file, temp_path_for
    from anonymotion.pose.skeletons import edge_indices

    for name, poses in zip(SKELETON_TRACKS, (original, anonymized)):
        final = folder / f"skeleton_{name}.npy"
        tmp = temp_path_for(final)
        with open(tmp, "wb") as fh:
            np.save(fh, np.asarray(poses.xy, np.float32))
        commit_file(tmp, final)
    write_text_atomic(folder / SKELETON_EDGES, json.dumps([list(e) for e in edge_indices(tuple(original.names))]))


def _skeleton(folder: Path, start: int, count: int) -> dict[str, Any] | None:
    if not (folder / SKELETON_EDGES).is_file():
        return None
    doc: dict[str, Any] = {"edges": json.loads((folder / SKELETON_EDGES).read_text(encoding="utf-8"))}
    for name in SKELETON_TRACKS:
        track = np.load(folder / f"skeleton_{name}.npy", mmap_mode="r")
        doc[name] = keypoint_track(np.asarray(track[start:start + count]))
    return doc


def overlay(folder: Path, anonymize: dict[str, Any], test: dict[str, Any] | None, width: int, height: int,
            fps: float, start: int = 0, count: int = MAX_WINDOW) -> dict[str, Any]:
    """The overlay of frames ``start`` .. ``start+count-1`` of a job folder (see the module docstring)."""
    count = max(1, min(int(count), MAX_WINDOW))
    start = max(0, int(start))
    manifest = _read_json(folder / str(anonymize["files"].get("manifest") or ""))
    params = manifest.get("parameters") or {}
    regions_name = anonymize["files"].get("regions")
    frames = []
    if regions_name and (folder / regions_name).is_file():
        frames = read_regions(folder / regions_name, float(params.get("mask_scale") or 1.0), width, height,
                              start, count)
    return {"width": width, "height": height, "fps": fps, "shape": params.get("shape", "ellipse"), "start": start,
            "frames": frames, "skeleton": _skeleton(folder / "test", start, count) if test is not None else None}


def mark_crops(folder: Path, anonymize: dict[str, Any], marks: dict[str, bool]) -> list[str]:
    """Set or clear "not a face" on leak crops (name -> bool); return the crops now marked.

    The list is kept in the manifest (``reviewer.not_a_face``; ``review`` is the pipeline's own
    "needed"/"not needed") and is all that is stored: which
    crop, its frame and face track, and the reviewer's call; never who made it.
    """
    audit = anonymize.get("audit") or {}
    known = {c["name"]: c for c in audit.get("crops", [])}
    unknown = [n for n in marks if n not in known]
    if unknown:
        raise KeyError(unknown[0])
    path = folder / str(anonymize["files"]["manifest"])
    with _MANIFEST_LOCK:
        manifest = _read_json(path)
        review = manifest.setdefault("reviewer", {})
        current = {m["crop"] for m in review.get("not_a_face", [])}
        for name, flag in marks.items():
            (current.add if flag else current.discard)(name)
        review["not_a_face"] = [{"crop": n, "frame": known[n]["frame"], "track": known[n]["track"]}
                                for n in sorted(current)]
        review["leaks_not_marked"] = len(known) - len(current)
        write_text_atomic(path, json.dumps(manifest, indent=2))
    return sorted(current)


def marked_crops(folder: Path, anonymize: dict[str, Any]) -> list[str]:
    """Names of the leak crops marked "not a face" in the manifest."""
    manifest = _read_json(folder / str(anonymize["files"].get("manifest") or ""))
    return [m["crop"] for m in (manifest.get("reviewer") or {}).get("not_a_face", [])]


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))
