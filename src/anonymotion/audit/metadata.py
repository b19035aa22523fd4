"""Metadata audit: every container tag, stream tag, chapter and non-video stream left in a file.

A finding is anything that could identify the recording (camera model, firmware, GPS
telemetry, timecode, creation time, the tool that wrote it) and is not on the short
allow-list below. The allow-list holds only the fields the mp4 muxer writes into every
file whatever the input was (``anonymotion.io.writer.MANDATORY_TAGS``), and for the
fields whose value could carry information, only the muxer's own default values:

============== ================================== ===============================================
field          allowed value                      why
============== ================================== ===============================================
major_brand    any                                'ftyp' box, required by ISO-BMFF
minor_version  any                                'ftyp' box, required by ISO-BMFF
compatible_... any                                'ftyp' box, required by ISO-BMFF
language       a 3-letter ISO 639-2 code          'mdhd' box, required (FFmpeg writes "und")
handler_name   "VideoHandler" / "SoundHandler"    'hdlr' box, FFmpeg's defaults; a camera's own
                                                  value such as "GoPro AVC" is a finding
vendor_id      "[0][0][0][0]"                     'stsd' entry; FFmpeg's default (no vendor)
============== ================================== ===============================================

Streams: exactly one video stream is expected. Every other stream (audio, data such as
GPS telemetry or timecode, subtitles, attachments, a second video stream or cover art) is
a finding; audio can be accepted explicitly with ``allow_audio`` when the user kept it on
purpose. Chapters are findings too (their titles are free text).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import av

from anonymotion.errors import InputError

log = logging.getLogger(__name__)

_LANGUAGE = re.compile(r"^[a-z]{3}$")


def _any(value: str) -> bool:
    return True


#: The allow-list: field name -> (rule on its value, documented reason). Keys are exactly the
#: fields the mp4 muxer always writes (``anonymotion.io.writer.MANDATORY_TAGS``).
ALLOWED_TAGS: dict[str, tuple[Callable[[str], bool], str]] = {
    "major_brand": (_any, "ISO-BMFF file type box, written into every mp4"),
    "minor_version": (_any, "ISO-BMFF file type box, written into every mp4"),
    "compatible_brands": (_any, "ISO-BMFF file type box, written into every mp4"),
    "language": (lambda v: bool(_LANGUAGE.match(v)), "media header language code, written into every track"),
    "handler_name": (lambda v: v in ("VideoHandler", "SoundHandler"),
                     "track handler name; only FFmpeg's defaults are allowed"),
    "vendor_id": (lambda v: v == "[0][0][0][0]", "sample description vendor; only the empty default"),
}


@dataclass(frozen=True)
class MetadataFinding:
    """One piece of metadata left in a file.

    kind: "container_tag", "stream_tag", "stream" (a non-video or extra stream) or "chapter".
    where: "container", or "stream <index> (<type>)". key/value: the tag (for a stream: its
    type and codec). reason: why it is a finding.
    """

    kind: str
    where: str
    key: str
    value: str
    reason: str

    def to_json(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.where}: {self.key} = {self.value!r} ({self.reason})"


def tag_allowed(key: str, value: str) -> bool:
    """True when ``key`` = ``value`` is on the allow-list (see module docstring)."""
    rule = ALLOWED_TAGS.get(key)
    return rule is not None and rule[0](value)


def _tag_findings(kind: str, where: str, tags: Iterable[tuple[str, str]]) -> list[MetadataFinding]:
    out = []
    for key, value in tags:
        key, value = str(key), str(value)
        if tag_allowed(key, value):
            continue
        reason = ("value differs from the muxer default" if key in ALLOWED_TAGS
                  else "tag not on the allow-list of mandatory fields")
        out.append(MetadataFinding(kind, where, key, value, reason))
    return out


def scan_metadata(path: str | os.PathLike, *, allow_audio: bool = False) -> list[MetadataFinding]:
    """List every container/stream tag, extra stream and chapter of ``path`` not on the allow-list.

    Raises InputError when the file cannot be opened as a media file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found" if not path.exists() else "not a file")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise InputError(path, f"not a readable media file ({exc})") from None
    findings: list[MetadataFinding] = []
    try:
        findings += _tag_findings("container_tag", "container", container.metadata.items())
        videos_seen = 0
        for stream in container.streams:
            kind = stream.type or "unknown"
            where = f"stream {stream.index} ({kind})"
            codec = stream.codec_context.name if stream.codec_context is not None else "none"
            attached = bool(getattr(stream, "disposition", 0) & getattr(av.stream.Disposition, "attached_pic", 0x400))
            if kind == "video" and not attached:
                videos_seen += 1
                if videos_seen > 1:
                    findings.append(MetadataFinding("stream", where, kind, codec, "more than one video stream"))
            elif kind == "video":
                findings.append(MetadataFinding("stream", where, kind, codec, "attached picture (cover art)"))
            elif kind == "audio" and allow_audio:
                log.info("%s: audio stream %d accepted (allow_audio)", path, stream.index)
            else:
                reason = {"audio": "audio stream (voices, surroundings); drop it or allow it explicitly",
                          "data": "data stream (telemetry, GPS, timecode...)",
                          "subtitle": "subtitle stream (free text)",
                          "attachment": "attachment stream"}.get(kind, "non-video stream")
                findings.append(MetadataFinding("stream", where, kind, codec, reason))
            findings += _tag_findings("stream_tag", where, stream.metadata.items())
        for i, chapter in enumerate(container.chapters()):
            title = str(chapter.get("metadata", {}).get("title", "")) if isinstance(chapter, dict) else ""
            findings.append(MetadataFinding("chapter", f"chapter {i}", "title", title, "chapter marker"))
        if videos_seen == 0:
            raise InputError(path, "no video stream")
    finally:
        container.close()
    return findings
