"""YuNet face detector (libfacedetection, weights compiled into the ``yuface`` wheel).

``yuface.c_detect(bgr)`` takes an (H, W, 3) uint8 BGR image and returns an (N, 16) int16
array: score in percent (it keeps faces scoring 20 % and more), box x, y, w, h in px, five
landmarks x, y in px (image order: eye on the left, eye on the right, nose tip, mouth corner
on the left, on the right) and one unused column. The wrapper warns for images larger than
960 px, so a larger image is cut into overlapping tiles of at most :data:`TILE` px; faces
larger than the overlap are found by an extra pass over the whole image shrunk to
:data:`TILE` px. Measured on ``street_720p50.avi`` (``benchmarks/detectors.py``), tiles find
as many faces as the whole frame at native size, while shrinking the frame to 960 px loses
most small faces.

WIDER FACE val AP (libfacedetection's figures): 0.887 / 0.871 / 0.768 easy / medium / hard.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.errors import MissingDependencyError
from anonymotion.types import Regions

log = logging.getLogger(__name__)

#: YuNet's own wrapper default. At 0.3 it finds many more small street faces but, on
#: lab_single/cam01, also hands, a red bin and the participant's torso (0.3-0.56, the torso
#: 0.62-0.77 at 200-300 px): blurring those would damage the pose data (benchmarks/detectors.py).
DEFAULT_THRESHOLD = 0.5
#: Longest side in px YuNet sees by default: frames up to this size are seen at their own size.
DEFAULT_INPUT_SIZE = 1920
#: Largest tile side (px) handed to YuNet, the wrapper's own limit; tiles overlap by OVERLAP px.
TILE, OVERLAP = 960, 128
NMS_IOU = 0.3
#: Large faces need a higher score (YuNet scores real faces of 40+ px 0.85-0.94, while a large
#: box scoring less is a torso: 0.62-0.77 at 200-300 px on lab_single/cam01): above
#: LARGE_FACE_FROM px the threshold rises linearly to LARGE_FACE_THRESHOLD at LARGE_FACE_AT.
LARGE_FACE_FROM, LARGE_FACE_AT, LARGE_FACE_THRESHOLD = 40.0, 120.0, 0.85

_IMPORT_HINT = ("--detector yunet needs the 'yuface' package (YuNet, libfacedetection), which cannot be "
                "imported here: install it with `pip install yuface==2023.5.1`, or choose another detector "
                "(centerface, blazeface)")


def load_yuface() -> Any:
    """Import ``yuface`` lazily; MissingDependencyError with an actionable message if it cannot be.

    OpenMP threads of libfacedetection wait passively (OMP_WAIT_POLICY, unless set by the
    user), so they do not spin on cores that decoding and encoding need.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import yuface
    except ImportError as exc:  # also OSError-free: a broken shared library raises ImportError
        raise MissingDependencyError(None, f"{_IMPORT_HINT} ({exc})") from exc
    return yuface


#: libfacedetection's entry point ``facedetect_cnn(result_buffer, bgr, width, height, step)`` in the
#: wheel's shared library (C++ name), and the result buffer size it needs (its DETECT_BUFFER_SIZE).
_SYMBOL, _BUFFER = "_Z14facedetect_cnnPhS_iii", 0x9000


def native_detector(yuface: Any) -> Any | None:
    """A ``detect(bgr) -> (N, 16) int16`` calling libfacedetection through ctypes, or None.

    ``yuface.c_detect`` holds the GIL for the whole detection (100-300 ms on a 720p frame),
    which stalls the pipeline's main thread (anonymizing and encoding) while the detection
    thread works; a ctypes call releases it. Same library, same results (tested), one buffer
    per call so threads may share the detector. None when the symbol is not found (another
    wheel build): the caller falls back to ``c_detect``.
    """
    import ctypes

    try:
        lib = ctypes.CDLL(str(Path(yuface.__file__).with_name("libfacedetection.so")))
        fn = getattr(lib, _SYMBOL)
    except (OSError, AttributeError) as exc:
        log.info("libfacedetection's entry point not found (%s); using yuface.c_detect", exc)
        return None
    fn.restype = ctypes.POINTER(ctypes.c_int)
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]

    def detect(bgr: np.ndarray) -> np.ndarray:
        img = np.ascontiguousarray(bgr, dtype=np.uint8)
        buf = np.zeros(_BUFFER, np.uint8)
        res = fn(buf.ctypes.data, img.ctypes.data, img.shape[1], img.shape[0], img.strides[0])
        n = int(res[0]) if res else 0
        n = max(0, min(n, (_BUFFER - 4) // 32))
        return np.frombuffer(buf, dtype=np.int16, offset=4, count=n * 16).reshape(n, 16).copy()

    return detect


def available() -> bool:
    """True when the ``yuface`` wheel can be imported."""
    try:
        load_yuface()
    except MissingDependencyError:
        return False
    return True


def tiles(width: int, height: int, tile: int = TILE, overlap: int = OVERLAP) -> list[tuple[int, int, int, int]]:
    """Tiles (x1, y1, x2, y2) of at most ``tile`` px covering a ``width`` x ``height`` image.

    Neighbouring tiles overlap by at least ``overlap`` px, so every face up to ``overlap`` px
    lies whole inside one tile. One tile when the image fits.
    """
    def starts(n: int) -> list[int]:
        if n <= tile:
            return [0]
        count = int(np.ceil((n - overlap) / (tile - overlap)))
        return [round(i * (n - tile) / (count - 1)) for i in range(count)]

    return [(x, y, min(width, x + tile), min(height, y + tile)) for y in starts(height) for x in starts(width)]


def size_threshold(boxes: np.ndarray, threshold: float) -> np.ndarray:
    """(N,) score each (N, 4) box must reach: ``threshold`` up to 40 px (longest side), rising
    linearly to max(threshold, 0.85) at 120 px and beyond."""
    size = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    ramp = np.clip((size - LARGE_FACE_FROM) / (LARGE_FACE_AT - LARGE_FACE_FROM), 0.0, 1.0)
    return (threshold + ramp * max(0.0, LARGE_FACE_THRESHOLD - threshold)).astype(np.float32)


def parse(raw: np.ndarray, dx: float = 0.0, dy: float = 0.0,
          scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """yuface rows (N, 16) -> boxes (N, 4) x1, y1, x2, y2, scores (N,) in [0, 1], landmarks (N, 5, 2).

    Coordinates are shifted by the tile's origin (dx, dy) and divided by ``scale`` (the factor
    the frame was resized by), giving the frame's pixels.
    """
    r = np.asarray(raw, np.float32).reshape(-1, 16)
    boxes = np.stack([r[:, 1], r[:, 2], r[:, 1] + r[:, 3], r[:, 2] + r[:, 4]], axis=1)
    boxes = (boxes + np.array([dx, dy, dx, dy], np.float32)) / scale
    marks = (r[:, 5:15].reshape(-1, 5, 2) + np.array([dx, dy], np.float32)) / scale
    return boxes.astype(np.float32), (r[:, 0] / 100.0).astype(np.float32), marks.astype(np.float32)


class YuNetDetector:
    """YuNet on the CPU (libfacedetection via ``yuface``), boxes with five landmarks.

    threshold: score threshold in [0.2, 1) (YuNet itself drops faces under 0.2; default 0.5,
    large boxes need up to 0.85, see :func:`size_threshold`). input_size: longest side in px of
    the image YuNet sees: the frame is shrunk to it when larger (default 1920), 0 = the
    frame's own size. upscale: factor (>= 1) the frame is enlarged by first, for small faces
    (the audit looks at 1.5x). Images above :data:`TILE` px are cut into tiles.
    Raises MissingDependencyError at construction when ``yuface`` cannot be imported.
    """

    name = "yunet"

    def __init__(self, threshold: float | None = None, input_size: int | None = None,
                 upscale: float = 1.0, tile: int = TILE) -> None:
        self.threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        self.input_size = DEFAULT_INPUT_SIZE if input_size is None else int(input_size)
        self.upscale = float(upscale)
        self.tile = int(tile)
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"yunet threshold must be in (0, 1), got {self.threshold}")
        if self.input_size < 0:
            raise ValueError(f"yunet input_size must be >= 0, got {self.input_size}")
        if self.tile and self.tile <= 2 * OVERLAP:
            raise ValueError(f"yunet tile must be 0 or above {2 * OVERLAP} px, got {self.tile}")
        if not 1.0 <= self.upscale <= 4.0:
            raise ValueError(f"yunet upscale must be in [1, 4], got {self.upscale}")
        self._yuface = load_yuface()
        self._native = native_detector(self._yuface)

    def scale_for(self, width: int, height: int) -> float:
        """Factor the frame is resized by before detection (upscale, then the input size cap)."""
        s = self.upscale
        if self.input_size and max(width, height) * s > self.input_size:
            s = self.input_size / max(width, height)
        return s

    def detect(self, rgb: np.ndarray) -> Regions:
        """Faces in ``rgb`` (H, W, 3) uint8 RGB; boxes and landmarks in its pixels, boxes clipped to it."""
        import cv2

        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")
        h, w = rgb.shape[:2]
        s = self.scale_for(w, h)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        if abs(s - 1.0) > 1e-6:
            bgr = cv2.resize(bgr, (max(1, round(w * s)), max(1, round(h * s))),
                             interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        ih, iw = bgr.shape[:2]
        sx, sy = iw / w, ih / h
        grid = tiles(iw, ih, self.tile) if self.tile else [(0, 0, iw, ih)]
        parts = [self._run(bgr[y1:y2, x1:x2], x1, y1) for x1, y1, x2, y2 in grid]
        if len(parts) > 1:  # faces larger than the tiles' overlap: the whole image, shrunk
            c = self.tile / max(iw, ih)
            small = cv2.resize(bgr, (max(1, round(iw * c)), max(1, round(ih * c))), interpolation=cv2.INTER_AREA)
            b, sc, lm = self._run(small, 0, 0)
            parts.append((b / c, sc, lm / c))
        boxes = np.concatenate([p[0] for p in parts]).reshape(-1, 4)
        scores = np.concatenate([p[1] for p in parts])
        marks = np.concatenate([p[2] for p in parts]).reshape(-1, 5, 2)
        boxes = boxes / np.array([sx, sy, sx, sy], np.float32)
        marks = marks / np.array([sx, sy], np.float32)
        from anonymotion.detect.centerface import nms

        keep = nms(boxes, scores, NMS_IOU)
        boxes, scores, marks = boxes[keep], scores[keep], marks[keep]
        np.clip(boxes, 0, [w, h, w, h], out=boxes)
        ok = (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
        ok &= scores >= size_threshold(boxes, self.threshold)
        n = int(ok.sum())
        return Regions(boxes=boxes[ok].astype(np.float32), scores=scores[ok].astype(np.float32),
                       track_ids=np.full((n,), -1, np.int64), sources=(self.name,) * n,
                       landmarks=marks[ok].astype(np.float32))

    def _run(self, bgr: np.ndarray, dx: int, dy: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        bgr = np.ascontiguousarray(bgr)  # tiles are capped at TILE px: no size warning to silence
        raw = self._native(bgr) if self._native is not None else self._yuface.c_detect(bgr)
        return parse(raw, dx, dy)
