"""Where a job's files live inside its folder, and the names they are downloaded under.

Nothing here (or anywhere in the web app) derives from the uploaded file's name: the upload is
stored as ``original<suffix>`` with the suffix chosen from what the file decoded as. Downloads
are named ``<label>_<what>``: the job's label is a case code the user typed (letters, digits,
``-`` and ``_`` only; see :func:`check_label`) or a random short code, so files of several
patients never overwrite each other in a Downloads folder.
"""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

ORIGINAL_STEM = "original"
TEST_DIR = "test"
POSE_VIDEO = "pose.mp4"
REPORT = "report.html"
CONTROL_VIDEO = "control.mp4"  # the original re-encoded in the anonymization pass (player + Test control)
CROPS_DIR = "leak_crops"
CROPS_ZIP = "leak_crops.zip"
PERSONS_DIR = "persons"
LABEL_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


class LabelError(ValueError):
    """A label that is not 1-32 letters, digits, '-' or '_'."""


def check_label(label: str) -> str:
    """``label`` if it is 1-32 ASCII letters, digits, '-' or '_'; LabelError otherwise."""
    if not LABEL_RE.fullmatch(label or ""):
        raise LabelError("a label may only contain letters, digits, '-' and '_' (1 to 32 characters)")
    return label


def random_label() -> str:
    """A short random code (6 characters, unambiguous alphabet) for jobs given no label."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))


@dataclass(frozen=True)
class Download:
    """One downloadable file: ``key`` in the URL, ``stage`` that makes it, generic download name."""

    key: str
    stage: str
    label: str
    media_type: str


DOWNLOADS: dict[str, Download] = {d.key: d for d in (
    Download("anonymized", "anonymize", "Anonymized video", "video/mp4"),
    Download("manifest", "anonymize", "Manifest (JSON)", "application/json"),
    Download("regions", "anonymize", "Anonymized regions (JSON lines)", "application/x-ndjson"),
    Download("pose", "test", "Anonymized video with skeleton", "video/mp4"),
    Download("metrics", "test", "Metrics (CSV)", "text/csv"),
    Download("plot", "test", "Angle traces (PNG)", "image/png"),
    Download("report", "test", "Report (HTML)", "text/html"),
    Download("audit", "anonymize", "Audit report (JSON)", "application/json"),
    Download("crops", "anonymize", "Leak crops (ZIP of PNG)", "application/zip"),
)}

_IMAGE_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}


def job_dir(jobs_dir: Path, job_id: str) -> Path:
    return Path(jobs_dir) / job_id


def original_name(suffix: str) -> str:
    return ORIGINAL_STEM + suffix


def output_suffix(kind: str, suffix: str) -> str:
    """Videos come out as H.264 .mp4; images in their own format (.jpg or .png)."""
    return suffix if kind == "image" else ".mp4"


def download_name(key: str, kind: str, suffix: str, label: str) -> str:
    """``<label>_<what>``: the name a download is offered under (never the upload's name)."""
    out = output_suffix(kind, suffix)
    what = {
        "anonymized": f"anonymized{out}",
        "manifest": "manifest.json",
        "regions": "regions.jsonl",
        "pose": f"pose{out}",
        "metrics": "metrics.csv",
        "plot": "angles.png",
        "report": "report.html",
        "audit": "audit.json",
        "crops": "leak_crops.zip",
    }[key]
    return f"{check_label(label)}_{what}"


def download_media_type(key: str, kind: str, suffix: str) -> str:
    if kind == "image" and key in ("anonymized", "pose"):
        return _IMAGE_TYPES.get(suffix, "application/octet-stream")
    return DOWNLOADS[key].media_type


def remove_partials(folder: Path) -> int:
    """Delete half-written files (hidden ``.*.part*`` temporaries) under ``folder``; return the count."""
    count = 0
    if not folder.is_dir():
        return 0
    for path in folder.rglob(".*"):
        if path.is_file() and ".part" in path.name:
            path.unlink(missing_ok=True)
            count += 1
    return count


def clear_stage(folder: Path, stage: str, original: str | None) -> None:
    """Remove the outputs of ``stage`` (anonymize also removes the test's) before a (re)run."""
    if not folder.is_dir():
        return
    remove_partials(folder)
    test_items = [folder / TEST_DIR, folder / POSE_VIDEO, folder / REPORT, folder / PERSONS_DIR]
    if stage == "anonymize":
        items = [p for p in folder.iterdir() if p.name != original]
    else:
        items = test_items + [p for p in folder.glob("anonymized_pose*")]
    for p in items:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
