"""Read and write multi-camera calibrations: Qualisys ``.qca.txt`` and OpenCV/Pose2Sim ``Calib.toml``.

Every reader returns a :class:`Calibration` of :class:`~anonymotion.multiview.camera.Camera`
objects in the package's conventions (world in mm, world -> camera R, t, OpenCV axes).

Qualisys ``.qca.txt`` (XML), conventions derived from ``lab_single/calibration.qca.txt`` and
tested in ``tests/multiview/test_calibration.py``:
- ``intrinsic``: ``focalLengthU/V`` and ``centerPointU/V`` are in 1/64 pixel of the sensor;
  the principal point is then made relative to the ``fov_video`` window (minus its
  ``left``/``top``). Image size = the window's ``right - left + 1`` x ``bottom - top + 1``.
- ``radialDistortion1..3`` and ``tangentalDistortion1..2`` are OpenCV's k1, k2, k3, p1, p2
  on normalised coordinates (not scaled by 1/64: that scale raised lab_single's median
  reprojection error, see the test).
- ``transform``: ``x, y, z`` is the camera centre in world mm; the matrix M = [[r11 r12 r13],
  [r21 r22 r23], [r31 r32 r33]] maps world axes to a camera frame whose y points up and whose
  z points backwards (the camera looks along -z). OpenCV's world -> camera rotation is
  therefore R = diag(1, -1, -1) @ M and t = -R @ centre. (M.T puts the capture volume behind
  three of the four cameras.)

Calib.toml (Pose2Sim / OpenCV): one table per camera with ``name``, ``size`` [w, h],
``matrix`` (3x3), ``distortions`` [k1, k2, p1, p2(, k3)], ``rotation`` (Rodrigues vector,
world -> camera), ``translation`` (metres), ``fisheye`` (must be false); an optional
``[metadata]`` table is ignored. Translations are converted to mm on reading and back to m
on writing.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anonymotion.errors import InputError
from anonymotion.multiview.camera import Camera

log = logging.getLogger(__name__)

_QUALISYS_TO_OPENCV = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class Calibration:
    """Cameras of one calibrated set-up; ``up`` is the world's vertical unit vector."""

    cameras: tuple[Camera, ...]
    path: Path | None = None
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)

    def __len__(self) -> int:
        return len(self.cameras)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    def for_videos(self, videos: list[Path] | tuple[Path, ...]) -> tuple[Camera, ...]:
        """The camera of each video, in the videos' order.

        A video whose file name contains exactly one camera's name (``cam01.mp4``,
        ``cam01_anonymized.mp4``) gets that camera; when not every video can be matched by
        name, cameras are taken in file order. A camera count different from the video count
        raises InputError naming the calibration file.
        """
        if len(videos) != len(self.cameras):
            raise InputError(self.path, f"calibration has {len(self.cameras)} cameras ({', '.join(self.names)}) "
                                        f"but {len(videos)} videos were given")
        by_name: list[Camera] = []
        for video in videos:
            stem = Path(video).stem.lower()
            hits = [c for c in self.cameras if _name_in(c.name.lower(), stem)]
            if len(hits) != 1:
                break
            by_name.append(hits[0])
        if len(by_name) == len(videos) and len({id(c) for c in by_name}) == len(videos):
            return tuple(by_name)
        log.info("videos matched to cameras by order (%s)", ", ".join(self.names))
        return self.cameras


def _name_in(name: str, stem: str) -> bool:
    """True when camera ``name`` occurs in ``stem`` not followed/preceded by another digit."""
    return re.search(rf"(?<![0-9a-z]){re.escape(name)}(?![0-9])", stem) is not None


def read_calibration(path: str | os.PathLike) -> Calibration:
    """Read a Qualisys ``.qca.txt`` (XML) or a ``.toml`` calibration; InputError naming the file if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "calibration file not found")
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read calibration ({exc})") from None
    if path.suffix.lower() == ".toml":
        return _read_toml(path, text)
    if text.lstrip().startswith("<"):
        return _read_qca(path, text)
    raise InputError(path, "unknown calibration format (expected a Qualisys .qca.txt or a Calib.toml)")


def _floats(path: Path, element: ET.Element, keys: list[str], cam: str) -> list[float]:
    try:
        return [float(element.attrib[k]) for k in keys]
    except KeyError as exc:
        raise InputError(path, f"camera {cam!r}: <{element.tag}> lacks attribute {exc.args[0]!r}") from None
    except ValueError as exc:
        raise InputError(path, f"camera {cam!r}: <{element.tag}> has a non-numeric value ({exc})") from None


def _read_qca(path: Path, text: str) -> Calibration:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputError(path, f"not valid Qualisys XML ({exc})") from None
    cameras = []
    for i, el in enumerate(root.findall("cameras/camera")):
        name = el.get("serial") or f"cam{i + 1:02d}"
        if el.get("active", "1") == "0":
            continue
        parts = {tag: el.find(tag) for tag in ("fov_video", "transform", "intrinsic")}
        missing = [tag for tag, node in parts.items() if node is None]
        if missing:
            raise InputError(path, f"camera {name!r} has no <{missing[0]}> element")
        left, top, right, bottom = _floats(path, parts["fov_video"], ["left", "top", "right", "bottom"], name)
        fu, fv, cu, cv, skew = _floats(path, parts["intrinsic"],
                                       ["focalLengthU", "focalLengthV", "centerPointU", "centerPointV", "skew"], name)
        k1, k2, k3, p1, p2 = _floats(path, parts["intrinsic"], ["radialDistortion1", "radialDistortion2",
                                                               "radialDistortion3", "tangentalDistortion1",
                                                               "tangentalDistortion2"], name)
        tr = _floats(path, parts["transform"], [f"r{a}{b}" for a in "123" for b in "123"] + ["x", "y", "z"], name)
        M = np.array(tr[:9]).reshape(3, 3)
        centre = np.array(tr[9:])
        _check_rotation(path, name, M)
        size = (int(round(right - left + 1)), int(round(bottom - top + 1)))
        if min(size) <= 0 or fu <= 0 or fv <= 0:
            raise InputError(path, f"camera {name!r}: invalid image window or focal length")
        K = np.array([[fu / 64, skew / 64, cu / 64 - left], [0, fv / 64, cv / 64 - top], [0, 0, 1]])
        R = _QUALISYS_TO_OPENCV @ M
        cameras.append(Camera(name, K, [k1, k2, p1, p2, k3], R, -R @ centre, size))
    if not cameras:
        raise InputError(path, "no active <camera> in the Qualisys calibration")
    return Calibration(tuple(cameras), path, up=(0.0, 0.0, 1.0))


def _check_rotation(path: Path, name: str, R: np.ndarray) -> None:
    if not np.all(np.isfinite(R)) or not np.allclose(R @ R.T, np.eye(3), atol=1e-4) or np.linalg.det(R) < 0:
        raise InputError(path, f"camera {name!r}: the rotation is not a proper rotation matrix")


def _rodrigues(rvec: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(np.asarray(rvec, np.float64)).as_matrix()


def _read_toml(path: Path, text: str) -> Calibration:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML ({exc})") from None
    cameras = []
    for key, table in data.items():
        if key == "metadata" or not isinstance(table, dict):
            continue
        name = str(table.get("name", key))
        try:
            if table.get("fisheye", False):
                raise InputError(path, f"camera {name!r}: fisheye calibrations are not supported")
            K = np.array(table["matrix"], np.float64).reshape(3, 3)
            dist = np.array(table.get("distortions", [0, 0, 0, 0]), np.float64).ravel()
            R = _rodrigues(np.array(table["rotation"], np.float64).reshape(3))
            t = np.array(table["translation"], np.float64).reshape(3) * 1000.0
            w, h = (int(round(float(v))) for v in table["size"])
        except KeyError as exc:
            raise InputError(path, f"camera {name!r}: missing {exc.args[0]!r}") from None
        except (ValueError, TypeError) as exc:
            raise InputError(path, f"camera {name!r}: malformed value ({exc})") from None
        if dist.size > 5 or not np.all(np.isfinite(K)) or not np.all(np.isfinite(t)) or K[0, 0] <= 0:
            raise InputError(path, f"camera {name!r}: invalid matrix, distortion or translation")
        cameras.append(Camera(name, K, dist, R, t, (w, h)))
    if not cameras:
        raise InputError(path, "no camera table in the calibration")
    return Calibration(tuple(cameras), path)


def calibration_toml(calibration: Calibration | tuple[Camera, ...] | list[Camera]) -> str:
    """The Pose2Sim/OpenCV ``Calib.toml`` text of ``calibration`` (translations in metres)."""
    from scipy.spatial.transform import Rotation

    cameras = calibration.cameras if isinstance(calibration, Calibration) else tuple(calibration)

    def arr(v) -> str:
        return "[ " + ", ".join(repr(float(x)) for x in np.ravel(v)) + "]"

    lines = []
    for cam in cameras:
        lines += [
            f"[{_toml_key(cam.name)}]",
            f'name = "{cam.name}"',
            f"size = {arr(cam.size)}",
            "matrix = [ " + ", ".join(arr(row) for row in cam.K) + "]",
            f"distortions = {arr(cam.dist if cam.dist[4] else cam.dist[:4])}",
            f"rotation = {arr(Rotation.from_matrix(cam.R).as_rotvec())}",
            f"translation = {arr(cam.t / 1000.0)}",
            "fisheye = false",
            "",
        ]
    lines += ["[metadata]", "adjusted = false", "error = 0.0", ""]
    return "\n".join(lines)


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else '"' + name.replace('"', "") + '"'


def write_calibration(calibration: Calibration | tuple[Camera, ...] | list[Camera], path: str | os.PathLike) -> Path:
    """Write ``calibration`` as a Pose2Sim/OpenCV ``Calib.toml`` (atomically; OutputError on failure)."""
    from anonymotion.io.writer import write_text_atomic

    return write_text_atomic(path, calibration_toml(calibration))
