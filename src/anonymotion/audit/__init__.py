"""Privacy audit: prove that nothing recognisable or identifying survived an anonymization.

``audit(original, anonymized)`` streams both videos frame by frame (matched by index),
runs an audit face detector configured independently of the anonymizer on the original,
measures for every face-frame the share of its box that changed beyond codec noise in the
anonymized video (see :mod:`anonymotion.audit.faces`), looks for faces the detector still
finds in the anonymized video, and scans the anonymized file's metadata
(:mod:`anonymotion.audit.metadata`). ``audit(anonymized)`` alone does the last two.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.audit.faces import (
    CHANGE_THRESHOLD,
    CHANGE_WINDOW,
    COVERAGE_LIMIT,
    FaceCheck,
    FaceTracker,
    box_coverage,
    box_sizes,
    change_mask,
    global_shift,
    iou_matrix,
)
from anonymotion.audit.metadata import scan_metadata
from anonymotion.audit.report import EXIT_CODES, EXIT_ERROR, EXIT_FAIL, EXIT_PASS, AuditResult, ResidualFace, write_json
from anonymotion.errors import ConfigError, InputError
from anonymotion.types import Frame, Regions

__all__ = ["audit", "AuditSettings", "AuditResult", "make_audit_detector", "EXIT_PASS", "EXIT_FAIL", "EXIT_ERROR",
           "EXIT_CODES", "report_path"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

#: Size (px) a BlazeFace-only box is scaled to for CenterFace's second look.
CONFIRM_SIZE = 64.0


@dataclass(frozen=True)
class AuditSettings:
    """How the audit looks; independent of the anonymizer's own detector settings.

    centerface_threshold / centerface_size: CenterFace heatmap threshold and network input
    size (longest side, px) — lower and larger than the anonymizer's defaults (0.3, 960) so
    the audit finds faces the anonymizer may have missed. blazeface_threshold: BlazeFace
    confidence (full-range model), run alongside. residual_threshold: minimum score of a face
    found in the anonymized video to be reported as residual (0.3: what a detector at its
    usual operating point would still call a face). change_threshold /
    change_window / coverage_limit: see :mod:`anonymotion.audit.faces`.
    """

    centerface_threshold: float = 0.2
    centerface_size: int = 1280
    blazeface_threshold: float = 0.5
    residual_threshold: float = 0.3
    change_threshold: float = CHANGE_THRESHOLD
    change_window: int = CHANGE_WINDOW
    coverage_limit: float = COVERAGE_LIMIT

    def validated(self) -> "AuditSettings":
        for name in ("centerface_threshold", "blazeface_threshold", "residual_threshold", "coverage_limit"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise ConfigError(None, f"audit {name} must be in (0, 1], not {v}")
        if not 64 <= self.centerface_size <= 4096:
            raise ConfigError(None, f"audit centerface_size must be 64-4096 px, not {self.centerface_size}")
        if self.change_threshold < 0 or self.change_window < 1:
            raise ConfigError(None, "audit change_threshold must be >= 0 and change_window >= 1")
        return self


class AuditDetector:
    """CenterFace and BlazeFace with the audit's own settings, boxes merged by NMS.

    A BlazeFace box that no CenterFace box overlaps is kept only when CenterFace, shown a
    close-up of that spot (the box with one box-width of context on every side, scaled so
    the box is about :data:`CONFIRM_SIZE` px), finds a face centred inside it; the face is
    then reported with the close-up's tighter box. The full-range BlazeFace model fires on
    bags, skirts and the backs of heads at confidences up to 0.77 in street scenes, or puts
    a loose box around a small face, and either would be reported as a long leak.
    """

    name = "audit"

    def __init__(self, settings: AuditSettings) -> None:
        from anonymotion.detect.blazeface import BlazeFaceDetector
        from anonymotion.detect.centerface import CenterFaceDetector

        self.centerface = CenterFaceDetector(threshold=settings.centerface_threshold,
                                             input_size=settings.centerface_size)
        self.close_up = CenterFaceDetector(threshold=settings.centerface_threshold, input_size=0)
        self.blazeface = BlazeFaceDetector(threshold=settings.blazeface_threshold)
        self.detectors = [self.centerface, self.blazeface]

    def detect(self, rgb: np.ndarray) -> Regions:
        """Faces in an (H, W, 3) uint8 RGB frame (boxes in its pixels)."""
        from anonymotion.detect.faces import merge_regions

        cf = self.centerface.detect(rgb)
        bf = self.blazeface.detect(rgb)
        if len(bf):
            overlap = iou_matrix(bf.boxes, cf.boxes).max(axis=1) if len(cf) else np.zeros(len(bf))
            boxes, scores = [], []
            for i in range(len(bf)):
                if overlap[i] >= 0.3:
                    boxes.append(bf.boxes[i])
                    scores.append(bf.scores[i])
                    continue
                close = self._confirm(rgb, bf.boxes[i])
                if close is not None:
                    boxes.append(close)
                    scores.append(bf.scores[i])
            n = len(boxes)
            bf = Regions(np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32),
                         np.full((n,), -1, np.int64), ("blazeface",) * n)
        return merge_regions([cf, bf])

    def _confirm(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """CenterFace's box (frame px) of the best face centred inside ``box`` in a close-up, or None."""
        import cv2

        h, w = rgb.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in box)
        side = max(x2 - x1, y2 - y1, 1.0)
        a, b = int(max(0, x1 - side)), int(max(0, y1 - side))
        c, d = int(min(w, x2 + side)), int(min(h, y2 + side))
        if c - a < 4 or d - b < 4:
            return None
        scale = CONFIRM_SIZE / side
        crop = cv2.resize(np.ascontiguousarray(rgb[b:d, a:c]),
                          (max(32, round((c - a) * scale)), max(32, round((d - b) * scale))),
                          interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
        found = self.close_up.detect(crop)
        sx, sy = crop.shape[1] / (c - a), crop.shape[0] / (d - b)
        best: np.ndarray | None = None
        best_score = -1.0
        for (fx1, fy1, fx2, fy2), score in zip(found.boxes, found.scores):
            frame_box = np.array([fx1 / sx + a, fy1 / sy + b, fx2 / sx + a, fy2 / sy + b], np.float32)
            cx, cy = (frame_box[0] + frame_box[2]) / 2, (frame_box[1] + frame_box[3]) / 2
            if x1 <= cx <= x2 and y1 <= cy <= y2 and score > best_score:
                best, best_score = frame_box, float(score)
        return best

    def close(self) -> None:
        self.blazeface.close()


def make_audit_detector(settings: AuditSettings | None = None) -> AuditDetector:
    """The audit's face detector (CenterFace at a larger input and lower threshold + BlazeFace)."""
    return AuditDetector((settings or AuditSettings()).validated())


def report_path(anonymized: Path, out_dir: Path | None = None) -> Path:
    """Where the audit JSON of ``anonymized`` goes: ``<out_dir or its folder>/<stem>.audit.json``."""
    anonymized = Path(anonymized)
    return Path(out_dir or anonymized.parent) / f"{anonymized.stem}.audit.json"


def audit(
    original: str | os.PathLike,
    anonymized: str | os.PathLike | None = None,
    *,
    out_dir: str | os.PathLike | None = None,
    json_path: str | os.PathLike | None = None,
    progress: Progress | None = None,
    max_frames: int | None = None,
    leak_crops: str | os.PathLike | None = None,
    allow_audio: bool = False,
    settings: AuditSettings | None = None,
    detector: Any | None = None,
) -> AuditResult:
    """Audit an anonymized video against its original, or an anonymized video alone.

    ``audit(original, anonymized)``: face coverage + residual faces + metadata.
    ``audit(anonymized)`` (second argument omitted): residual faces + metadata only.

    out_dir: write ``<anonymized stem>.audit.json`` there; json_path: exact JSON path
    (wins over out_dir); neither: nothing is written. progress(done, total) is called
    per frame. max_frames: audit only the first N frames. leak_crops: folder to write a
    PNG crop of every leaked face-frame (never written otherwise: they show faces).
    allow_audio: accept an audio stream in the output. detector: any object with
    ``detect(rgb) -> Regions`` replacing the audit detector.
    Raises InputError (unreadable files, frame count/size mismatch), ConfigError, OutputError.
    """
    settings = (settings or AuditSettings()).validated()
    if anonymized is None:
        orig_path, anon_path = None, Path(original)
    else:
        orig_path, anon_path = Path(original), Path(anonymized)
    if max_frames is not None and max_frames < 1:
        raise ConfigError(None, f"max_frames must be >= 1, not {max_frames}")
    crops_dir = Path(leak_crops) if leak_crops is not None else None
    if crops_dir is not None and orig_path is None:
        raise ConfigError(crops_dir, "leak crops need the original video (audit ORIGINAL ANONYMIZED)")

    from anonymotion.io.video import probe

    anon_info = probe(anon_path)
    orig_info = probe(orig_path) if orig_path is not None else None
    if orig_info is not None:
        if anon_info.width < orig_info.width or anon_info.height < orig_info.height or \
                anon_info.width > orig_info.width + 1 or anon_info.height > orig_info.height + 1:
            raise InputError(anon_path, f"frame size {anon_info.width}x{anon_info.height} does not match the "
                                        f"original's {orig_info.width}x{orig_info.height}; cannot compare them")
    metadata = scan_metadata(anon_path, allow_audio=allow_audio)

    own_detector = detector is None
    det = detector if detector is not None else make_audit_detector(settings)
    result = AuditResult(original=orig_path, anonymized=anon_path, frames=0,
                         fps=(orig_info or anon_info).fps, settings=_settings_doc(settings, detector),
                         metadata=metadata)
    total = (orig_info or anon_info).frame_count
    if max_frames:
        total = min(total, max_frames) if total else max_frames
    tracker = FaceTracker()
    previous: np.ndarray | None = None
    try:
        for orig, anon in _pairs(orig_path, orig_info, anon_path, anon_info, max_frames):
            base = orig if orig is not None else anon
            h, w = base.rgb.shape[:2]
            anon_rgb = anon.rgb[:h, :w]
            changed: np.ndarray | None = None
            if orig is not None:
                found = det.detect(orig.rgb)
                shift = global_shift(previous, orig.rgb) if previous is not None and len(found) else None
                previous = orig.rgb
                ids = tracker.update(orig.index, found.boxes, shift)
                if len(found):
                    changed = change_mask(orig.rgb, anon_rgb, settings.change_threshold, settings.change_window)
                    cover = box_coverage(changed, found.boxes)
                    sizes = box_sizes(found.boxes)
                    for i in range(len(found)):
                        check = FaceCheck(frame=orig.index, t=orig.t,
                                          box=tuple(float(v) for v in found.boxes[i]),  # type: ignore[arg-type]
                                          size=float(sizes[i]), score=float(found.scores[i]),
                                          source=found.sources[i], coverage=float(cover[i]), track=int(ids[i]),
                                          leaked=bool(cover[i] < settings.coverage_limit))
                        result.checks.append(check)
                        if check.leaked and crops_dir is not None:
                            result.crops.append(_write_crop(crops_dir, anon_rgb, check))
            residual = det.detect(np.ascontiguousarray(anon_rgb))
            keep = np.flatnonzero(residual.scores >= settings.residual_threshold)
            if len(keep):
                rboxes = residual.boxes[keep]
                rsizes = box_sizes(rboxes)
                rcover: np.ndarray | None = None
                on_covered = np.zeros(len(keep), bool)
                if orig is not None:
                    if changed is None:
                        changed = change_mask(orig.rgb, anon_rgb, settings.change_threshold, settings.change_window)
                    rcover = box_coverage(changed, rboxes)
                    covered = [c.box for c in result.checks if c.frame == orig.index and not c.leaked]
                    if covered:
                        on_covered = iou_matrix(rboxes, np.asarray(covered)).max(axis=1) >= 0.3
                for n, i in enumerate(keep):
                    cov = None if rcover is None else float(rcover[n])
                    result.residual.append(ResidualFace(
                        frame=anon.index, t=base.t, box=tuple(float(v) for v in rboxes[n]),  # type: ignore
                        size=float(rsizes[n]), score=float(residual.scores[i]), source=residual.sources[i],
                        coverage=cov,
                        on_changed_area=cov is not None and (cov >= settings.coverage_limit or bool(on_covered[n]))))
            result.frames += 1
            if progress is not None:
                progress(result.frames, total)
    finally:
        if own_detector:
            det.close()
    target = Path(json_path) if json_path is not None else (report_path(anon_path, Path(out_dir))
                                                             if out_dir is not None else None)
    if target is not None:
        result.json_path = target
        write_json(result.to_json(), target)
    log.info("audit of %s: %s (%s)", anon_path, result.verdict, "; ".join(result.reasons) or "nothing found")
    return result


def _settings_doc(settings: AuditSettings, detector: Any | None) -> dict[str, Any]:
    doc = asdict(settings)
    doc["detector"] = getattr(detector, "name", type(detector).__name__) if detector is not None else \
        "centerface+blazeface"
    doc["change_measure"] = (f"luma |diff| averaged over {settings.change_window}x{settings.change_window} px "
                             f"> {settings.change_threshold} levels")
    return doc


def _pairs(orig_path: Path | None, orig_info: Any, anon_path: Path, anon_info: Any,
           max_frames: int | None) -> Iterator[tuple[Frame | None, Frame]]:
    """Yield (original frame or None, anonymized frame) matched by index."""
    from anonymotion.io.video import iter_frames

    anon_frames = iter_frames(anon_path, anon_info, strict=max_frames is None)
    if orig_path is None:
        for n, anon in enumerate(anon_frames):
            if max_frames is not None and n >= max_frames:
                return
            yield None, anon
        return
    orig_frames = iter_frames(orig_path, orig_info, strict=max_frames is None)
    n = 0
    while max_frames is None or n < max_frames:
        orig = next(orig_frames, None)
        anon = next(anon_frames, None)
        if orig is None and anon is None:
            return
        if orig is None or anon is None:
            longer = "anonymized" if orig is None else "original"
            raise InputError(anon_path, f"frame counts differ: the {longer} video has more than {n} frames; "
                                        "frames are matched by index, so both must have the same count")
        yield orig, anon
        n += 1


def _write_crop(folder: Path, rgb: np.ndarray, check: FaceCheck) -> Path:
    """Save the anonymized frame's pixels around a leaked face (box + 25 % margin) as PNG."""
    import cv2

    from anonymotion.io.writer import ensure_writable_dir

    ensure_writable_dir(folder)
    x1, y1, x2, y2 = check.box
    mx, my = 0.25 * (x2 - x1), 0.25 * (y2 - y1)
    h, w = rgb.shape[:2]
    a, b = int(max(0, x1 - mx)), int(max(0, y1 - my))
    c, d = int(min(w, np.ceil(x2 + mx))), int(min(h, np.ceil(y2 + my)))
    path = folder / f"leak_f{check.frame:06d}_face{check.track:04d}.png"
    crop = np.ascontiguousarray(rgb[b:max(d, b + 1), a:max(c, a + 1), ::-1])
    if not cv2.imwrite(str(path), crop):
        from anonymotion.errors import OutputError

        raise OutputError(path, "cannot write the leak crop")
    return path
