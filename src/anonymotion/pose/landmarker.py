"""MediaPipe Tasks PoseLandmarker: the model behind the multi-person backend.

VIDEO running mode (``video=True``): the model tracks each person's landmarks from the previous frame and
runs its person detector when fewer than ``num_poses`` persons are tracked. Timestamps are
the frame times in integer milliseconds and must increase strictly: a time that does not
(duplicate or rounding of sub-millisecond steps) is moved to 1 ms after the previous one.
The model bundle is built offline from the installed mediapipe wheel
(:mod:`anonymotion.pose.task_bundle`); only the "full" landmark model exists there.
IMAGE mode (``video=False``) treats every image on its own (used to search tiles).
The result gives no person identities: see :mod:`anonymotion.track.persons`.
"""

from __future__ import annotations

import logging

import numpy as np

from anonymotion.errors import ConfigError
from anonymotion.pose.backend import PersonsFrame
from anonymotion.pose.skeletons import MEDIAPIPE_33
from anonymotion.pose.task_bundle import check_model, load_task_bundle

log = logging.getLogger(__name__)


_BUNDLES: dict[str, bytes] = {}  # verified bundle bytes per model, filled on first use in this process


def _bundle(model: str) -> bytes:
    if model not in _BUNDLES:
        _BUNDLES[model] = load_task_bundle(model)
    return _BUNDLES[model]


def _unit(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(None, f"pose option {name} must be in [0, 1], got {value}")
    return float(value)


class PoseLandmarkerModel:
    """Up to ``num_poses`` persons per frame: 33 landmarks in pixels, visibility, world
    landmarks (metres, hip-centred) and, with ``masks=True``, each person's segmentation
    probability (H, W) at the frame's size.

    Options: ``num_poses`` (>= 1, default 4), ``model`` ("full"; "lite"/"heavy" are not
    bundled and raise ConfigError), ``min_detection_confidence``,
    ``min_presence_confidence``, ``min_tracking_confidence`` in [0, 1] (default 0.5).
    """

    names: tuple[str, ...] = MEDIAPIPE_33

    def __init__(
        self,
        *,
        num_poses: int = 4,
        model: str = "full",
        masks: bool = False,
        video: bool = True,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        check_model(model)
        if int(num_poses) < 1:
            raise ConfigError(None, f"num_poses must be at least 1, got {num_poses}")
        bundle = _bundle(model)
        from mediapipe.tasks.python.core.base_options import BaseOptions  # heavy: imported lazily
        from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

        options = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=bundle),
            running_mode=RunningMode.VIDEO if video else RunningMode.IMAGE,
            num_poses=int(num_poses),
            min_pose_detection_confidence=_unit("min_detection_confidence", min_detection_confidence),
            min_pose_presence_confidence=_unit("min_presence_confidence", min_presence_confidence),
            min_tracking_confidence=_unit("min_tracking_confidence", min_tracking_confidence),
            output_segmentation_masks=bool(masks),
        )
        self._landmarker = PoseLandmarker.create_from_options(options)
        self.num_poses = int(num_poses)
        self.masks = bool(masks)
        self.video = bool(video)
        self._last_ms: int | None = None

    def _timestamp_ms(self, t: float) -> int:
        ms = int(round(float(t) * 1000.0))
        if self._last_ms is not None and ms <= self._last_ms:
            log.debug("frame time %.6f s is not after the previous frame; timestamp moved to %d ms",
                      t, self._last_ms + 1)
            ms = self._last_ms + 1
        self._last_ms = ms
        return ms

    def process_all(self, rgb: np.ndarray, t: float) -> PersonsFrame:
        """Every person in an (H, W, 3) uint8 upright RGB frame at ``t`` seconds."""
        if self._landmarker is None:
            raise RuntimeError("PoseLandmarkerModel used after close()")
        import mediapipe as mp

        h, w = rgb.shape[:2]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self.video:
            result = self._landmarker.detect_for_video(image, self._timestamp_ms(t))
        else:
            result = self._landmarker.detect(image)
        n = len(result.pose_landmarks)
        k = len(self.names)
        if n == 0:
            return PersonsFrame.empty(k)
        lm = np.array([[(p.x, p.y, p.visibility if p.visibility is not None else 0.0) for p in person]
                       for person in result.pose_landmarks], np.float32).reshape(n, k, 3)
        xy = lm[..., :2] * np.array([w, h], np.float32)
        score = np.clip(lm[..., 2], 0.0, 1.0)
        world = np.full((n, k, 3), np.nan, np.float32)
        for i, person in enumerate(result.pose_world_landmarks[:n]):
            world[i] = [(p.x, p.y, p.z) for p in person]
        masks = None
        if self.masks and result.segmentation_masks:
            masks = np.stack([m.numpy_view().reshape(h, w) for m in result.segmentation_masks[:n]]).astype(np.float32)
        return PersonsFrame(xy=xy.astype(np.float32), score=score, world=world, masks=masks)

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> "PoseLandmarkerModel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
