"""BlazeFace face detector: MediaPipe legacy ``solutions.face_detection``, full-range model.

Fast, but with much lower recall on small faces than CenterFace. One MediaPipe graph per
detector instance (MediaPipe graphs are not shareable across threads).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anonymotion.types import Regions

DEFAULT_THRESHOLD = 0.5


class BlazeFaceDetector:
    """MediaPipe face detection with model_selection=1 (full range, faces up to ~5 m).

    threshold: minimum detection confidence (default 0.5). input_size: if set and smaller
    than the frame's longest side, the frame is downscaled to it before detection (the
    network itself always runs at 192x192); boxes are returned in the original frame's px.
    """

    name = "blazeface"

    def __init__(self, threshold: float | None = None, input_size: int | None = None) -> None:
        self.threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        self.input_size = int(input_size or 0)
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"blazeface threshold must be in [0, 1], got {self.threshold}")
        self._graph: Any = None

    def _detector(self) -> Any:
        if self._graph is None:
            from mediapipe.python.solutions import face_detection

            self._graph = face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=self.threshold)
        return self._graph

    def detect(self, rgb: np.ndarray) -> Regions:
        """Faces in ``rgb`` (H, W, 3) uint8 RGB; boxes x1, y1, x2, y2 in px, clipped to the frame."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")
        h, w = rgb.shape[:2]
        img = rgb
        if self.input_size and max(w, h) > self.input_size:
            import cv2

            s = self.input_size / max(w, h)
            img = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                             interpolation=cv2.INTER_AREA)
        result = self._detector().process(np.ascontiguousarray(img))
        boxes, scores = [], []
        for det in result.detections or ():
            rb = det.location_data.relative_bounding_box
            boxes.append([rb.xmin * w, rb.ymin * h, (rb.xmin + rb.width) * w,
                          (rb.ymin + rb.height) * h])
            scores.append(det.score[0] if det.score else 0.0)
        b = np.asarray(boxes, np.float32).reshape(-1, 4)
        if len(b):
            np.clip(b, 0, [w, h, w, h], out=b)
        s = np.asarray(scores, np.float32)
        ok = (b[:, 2] - b[:, 0] >= 1) & (b[:, 3] - b[:, 1] >= 1)
        b, s = b[ok], s[ok]
        n = len(b)
        return Regions(boxes=b, scores=s, track_ids=np.full((n,), -1, np.int64),
                       sources=(self.name,) * n)

    def close(self) -> None:
        """Release the MediaPipe graph."""
        if self._graph is not None:
            self._graph.close()
            self._graph = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown; nothing left to report to
            pass
