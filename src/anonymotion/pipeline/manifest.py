"""``*.manifest.json``: what an anonymization did, with what, and what it dropped.

Records the input's SHA-256, the method and every parameter, library versions, the
streams, tag names and chapters dropped (tag *values* never: they may identify someone),
frames in and out, and regions detected and held.
"""

from __future__ import annotations

import json
import logging

import av
from typing import TYPE_CHECKING, Any

from anonymotion.config import AnonymizeConfig
from anonymotion.io.images import is_image
from anonymotion.io.metadata import describe_container, library_versions, sha256_file
from anonymotion.io.writer import commit_file, temp_path_for

if TYPE_CHECKING:
    from anonymotion.pipeline import AnonymizeResult

log = logging.getLogger(__name__)


def info_dict(info: Any) -> dict[str, Any]:
    return {
        "container": info.container, "codec": info.codec, "width": info.width, "height": info.height,
        "rotation": info.rotation, "fps": round(info.fps, 4), "frames": info.frame_count,
        "duration": round(info.duration, 4), "pix_fmt": info.pix_fmt, "streams": list(info.stream_kinds),
    }


def write_manifest(result: "AnonymizeResult", config: AnonymizeConfig, info: dict[str, Any],
                    elapsed: float) -> None:
    """Write ``*.manifest.json`` for ``result`` (atomically)."""
    dropped: dict[str, Any] = {}
    try:
        src = describe_container(result.input) if not is_image(result.input) else None
    except (av.error.FFmpegError, OSError) as exc:  # best effort: the output is already safe
        log.warning("%s: could not list the input's metadata (%s)", result.input, exc)
        src = None
    if src is not None:
        kept_audio = config.keep_audio
        dropped = {
            "container_tags": src["container_tags"],
            "stream_tags": sorted({t for s in src["streams"] for t in s["tags"]}),
            "streams": [
                {"index": s["index"], "type": s["type"], "codec": s["codec"]}
                for s in src["streams"]
                if not (s["type"] == "video" and s["index"] == _first_of(src, "video"))
                and not (kept_audio and s["type"] == "audio" and s["index"] == _first_of(src, "audio"))
            ],
            "chapters": src["chapters"],
        }
    else:
        dropped = {"image_metadata": "all (EXIF, XMP, IPTC, ICC, comments, text chunks)"}
    manifest = {
        "anonymotion_manifest": 1,
        "input": {"name": result.input.name, "sha256": sha256_file(result.input), **info},
        "output": {"name": result.output.name, "sha256": sha256_file(result.output)},
        "method": result.method,
        "parameters": config.to_json(),
        "frames_in": info.get("frames"),
        "frames_out": result.frames,
        "regions": {"detected": result.faces, "held": result.held, "tracks": result.tracks,
                    "gaps_filled": len(result.gaps)},
        "dropped": dropped,
        "audio": "re-encoded (AAC)" if config.keep_audio and "audio" in info.get("streams", []) else "dropped",
        "versions": library_versions(),
        "seconds": round(elapsed, 3),
        "audit": result.audit,
    }
    tmp = temp_path_for(result.manifest_path)
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    commit_file(tmp, result.manifest_path)


def _first_of(src: dict[str, Any], kind: str) -> int | None:
    return next((s["index"] for s in src["streams"] if s["type"] == kind), None)


