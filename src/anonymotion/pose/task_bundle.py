"""The MediaPipe Tasks ``pose_landmarker.task`` bundle, built offline from the installed wheel.

No ``.task`` file ships in any pip package, but ``mediapipe==0.10.21`` carries the two
models a PoseLandmarker needs: ``modules/pose_detection/pose_detection.tflite`` (the
person detector, with TFLite metadata) and ``modules/pose_landmark/pose_landmark_full.tflite``
(BlazePose GHUM full, without metadata: the Tasks API refuses it with "requires specifying
NormalizationOptions metadata"). :func:`load_task_bundle` adds the missing metadata with
MediaPipe's own bundled metadata writer (RGB image input normalised 0..255 -> 0..1, the
five outputs: landmarks, pose flag, segmentation, heatmap, world landmarks), zips both
models as ``pose_detector.tflite`` + ``pose_landmarks_detector.tflite`` and caches the
result.

Cache: ``$ANONYMOTION_CACHE`` or ``$XDG_CACHE_HOME/anonymotion`` or ``~/.cache/anonymotion``,
file ``pose_landmarker_full-mp<version>.task``. It is written to a temporary name and renamed
into place, and verified every time it is loaded: exactly the two members, their CRCs, the
landmark model's metadata, and a SHA-256 over both members stored in the zip comment. A
truncated or corrupted file is rebuilt, never used; the verified bytes themselves are what
the model is created from. Nothing is ever downloaded. An unwritable cache folder only
costs a rebuild in memory each time (logged).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import zipfile
from pathlib import Path

from anonymotion.errors import ConfigError

log = logging.getLogger(__name__)

DETECTOR_MEMBER = "pose_detector.tflite"
LANDMARKS_MEMBER = "pose_landmarks_detector.tflite"
MEMBERS = (DETECTOR_MEMBER, LANDMARKS_MEMBER)
#: The wheel's models (paths inside the ``mediapipe`` package).
WHEEL_DETECTOR = "modules/pose_detection/pose_detection.tflite"
WHEEL_LANDMARKS = {"full": "modules/pose_landmark/pose_landmark_full.tflite"}
#: Outputs of the landmark model, in tensor order (what the Tasks graph reads by index).
LANDMARK_OUTPUTS = ("landmarks", "pose_flag", "segmentation", "heatmap", "world_landmarks")
FORMAT = 1
#: Fixed member timestamp: the same inputs give the same bytes (a concurrent rebuild is harmless).
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)

UNBUNDLED_MESSAGE = ("pose model {model!r} is not available offline: mediapipe 0.10.21 bundles only the 'full' "
                     "BlazePose landmark model ('lite' and 'heavy' would be downloaded at run time, which "
                     "anonymotion never does); use model 'full'")


class BundleError(Exception):
    """A cached bundle failed verification (the caller rebuilds it)."""


def cache_dir() -> Path:
    """Folder for built model bundles: $ANONYMOTION_CACHE, else $XDG_CACHE_HOME/anonymotion, else ~/.cache/anonymotion."""
    env = os.environ.get("ANONYMOTION_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "anonymotion"


def check_model(model: str) -> str:
    """Return ``model`` if it is bundled ("full"); ConfigError with :data:`UNBUNDLED_MESSAGE` otherwise."""
    if model not in WHEEL_LANDMARKS:
        raise ConfigError(None, UNBUNDLED_MESSAGE.format(model=model))
    return model


def _mediapipe_dir() -> tuple[Path, str]:
    import mediapipe  # heavy: imported lazily

    return Path(mediapipe.__file__).parent, str(getattr(mediapipe, "__version__", "unknown"))


def bundle_path(model: str = "full", folder: Path | None = None) -> Path:
    """Where the bundle for ``model`` and the installed mediapipe version is cached."""
    check_model(model)
    _, version = _mediapipe_dir()
    return (folder or cache_dir()) / f"pose_landmarker_{model}-mp{version}.task"


def _digest(members: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in MEMBERS:
        h.update(name.encode() + b"\0" + len(members[name]).to_bytes(8, "little") + members[name])
    return h.hexdigest()


def _landmark_model_with_metadata(raw: bytes) -> bytes:
    """The landmark model with input normalisation (0..255 -> 0..1, RGB) and output metadata added."""
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(raw))
    writer.add_general_info("BlazePose GHUM 3D full", "33 pose landmarks, world landmarks and segmentation "
                            "(from mediapipe/modules/pose_landmark, metadata added by anonymotion)")
    writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
    for name in LANDMARK_OUTPUTS:
        writer.add_feature_output(name=name)
    content, _ = writer.populate()
    return bytes(content)


def build_bundle(model: str = "full") -> bytes:
    """Build the ``.task`` zip in memory from the installed wheel's models (no network)."""
    check_model(model)
    base, version = _mediapipe_dir()
    sources = {DETECTOR_MEMBER: base / WHEEL_DETECTOR, LANDMARKS_MEMBER: base / WHEEL_LANDMARKS[model]}
    for path in sources.values():
        if not path.is_file():
            raise ConfigError(path, f"model file missing from the installed mediapipe {version} wheel "
                                    "(reinstall mediapipe==0.10.21)")
    members = {DETECTOR_MEMBER: sources[DETECTOR_MEMBER].read_bytes(),
               LANDMARKS_MEMBER: _landmark_model_with_metadata(sources[LANDMARKS_MEMBER].read_bytes())}
    buf = io.BytesIO()
    from mediapipe.tasks.python.metadata.metadata_writers.model_asset_bundle_utils import AlignZipFile

    with AlignZipFile(buf, mode="w", alignment=4) as zf:  # stored, 4-byte aligned: MediaPipe mmaps members
        for name in MEMBERS:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, members[name])
        zf.comment = json.dumps({"format": FORMAT, "model": model, "mediapipe": version,
                                 "sha256": _digest(members)}).encode()
    log.info("built the pose landmarker bundle (%s model, mediapipe %s, %d bytes)", model, version, buf.tell())
    return buf.getvalue()


def verify_bundle(data: bytes, model: str = "full") -> dict:
    """Check a bundle's bytes; returns its comment record, raises BundleError when anything is off.

    Checks: a readable zip with exactly :data:`MEMBERS`, member CRCs, the SHA-256 over both
    members recorded in the comment, the model name and mediapipe version, and the
    landmark model carrying the normalisation metadata.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = sorted(zf.namelist())
            if names != sorted(MEMBERS):
                raise BundleError(f"members {names}, expected {sorted(MEMBERS)}")
            if zf.testzip() is not None:
                raise BundleError("member CRC mismatch")
            members = {n: zf.read(n) for n in MEMBERS}
            record = json.loads(zf.comment.decode() or "{}")
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError) as exc:
        raise BundleError(f"not a readable zip ({exc})") from None
    _, version = _mediapipe_dir()
    if record.get("format") != FORMAT or record.get("model") != model or record.get("mediapipe") != version:
        raise BundleError(f"made for {record.get('model')!r} / mediapipe {record.get('mediapipe')!r}")
    if record.get("sha256") != _digest(members):
        raise BundleError("checksum mismatch")
    if not _has_metadata(members[LANDMARKS_MEMBER]):
        raise BundleError("landmark model has no metadata")
    return record


def _has_metadata(model: bytes) -> bool:
    from mediapipe.tasks.python.metadata import metadata

    try:
        md = json.loads(metadata.MetadataDisplayer.with_model_buffer(model).get_metadata_json())
    except ValueError:
        return False
    units = md["subgraph_metadata"][0]["input_tensor_metadata"][0].get("process_units", [])
    return any(u.get("options_type") == "NormalizationOptions" for u in units)


def load_task_bundle(model: str = "full", folder: Path | None = None) -> bytes:
    """The verified ``.task`` bytes for ``model``: from the cache, or built (and cached) now.

    A cached file that fails :func:`verify_bundle` is logged and rebuilt. The cache is
    written atomically (temporary name, then rename); when it cannot be written the bundle
    is still returned.
    """
    check_model(model)
    path = bundle_path(model, folder)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    except OSError as exc:
        log.warning("%s: cannot read the cached pose bundle (%s); rebuilding", path, exc)
        data = None
    if data is not None:
        try:
            verify_bundle(data, model)
            return data
        except BundleError as exc:
            log.warning("%s: cached pose bundle is invalid (%s); rebuilding it", path, exc)
    data = build_bundle(model)
    verify_bundle(data, model)
    _write_atomic(path, data)
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    from anonymotion.io.writer import commit_file, temp_path_for

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path_for(path)
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            commit_file(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("%s: cannot cache the pose bundle (%s); it is rebuilt in memory on each use", path, exc)
