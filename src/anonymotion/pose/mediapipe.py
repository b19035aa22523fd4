"""MediaPipe BlazePose full (legacy ``mediapipe.solutions.pose``) as a pose backend.

Video mode: the model detects a person once, then tracks the landmarks from frame to
frame (one person per stream). Only ``model_complexity=1`` ships inside the
mediapipe==0.10.21 wheel; other complexities would be downloaded at run time, so they
are refused. mediapipe is imported when the first backend is made, not at import time.
"""

from __future__ import annotations

import logging

import numpy as np

from anonymotion.errors import ConfigError
from anonymotion.pose.backend import PoseFrame
from anonymotion.pose.skeletons import MEDIAPIPE_33

log = logging.getLogger(__name__)


class MediaPipePose:
    """33 BlazePose landmarks per frame: pixels, visibility and world coordinates (metres).

    Options: ``static_image_mode`` (False: track between frames), ``smooth_landmarks``,
    ``min_detection_confidence`` and ``min_tracking_confidence`` in [0, 1].
    """

    names: tuple[str, ...] = MEDIAPIPE_33

    def __init__(
        self,
        *,
        static_image_mode: bool = False,
        model_complexity: int = 1,
        smooth_landmarks: bool = True,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        if model_complexity != 1:
            from anonymotion.pose.task_bundle import UNBUNDLED_MESSAGE

            name = {0: "lite", 2: "heavy"}.get(model_complexity, f"model_complexity {model_complexity}")
            raise ConfigError(None, UNBUNDLED_MESSAGE.format(model=name))
        import mediapipe as mp  # heavy: imported lazily

        self._pose = mp.solutions.pose.Pose(
            static_image_mode=static_image_mode,
            model_complexity=1,
            smooth_landmarks=smooth_landmarks,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self._last_t: float | None = None

    def process(self, rgb: np.ndarray, t: float) -> PoseFrame:
        """Landmarks of the tracked person in an (H, W, 3) uint8 RGB frame at ``t`` seconds."""
        if self._pose is None:
            raise RuntimeError("MediaPipePose used after close()")
        if self._last_t is not None and t <= self._last_t:
            log.debug("non-increasing time %.6f after %.6f", t, self._last_t)
        self._last_t = t
        h, w = rgb.shape[:2]
        result = self._pose.process(np.ascontiguousarray(rgb))
        k = len(self.names)
        if result.pose_landmarks is None:
            return PoseFrame.empty(k)
        lm = result.pose_landmarks.landmark
        xy = np.array([(p.x * w, p.y * h) for p in lm], np.float32)
        score = np.clip(np.array([p.visibility for p in lm], np.float32), 0.0, 1.0)
        if result.pose_world_landmarks is not None:
            world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark], np.float32)
        else:
            world = np.full((k, 3), np.nan, np.float32)
        return PoseFrame(xy=xy, score=score, world=world)

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def __enter__(self) -> "MediaPipePose":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
