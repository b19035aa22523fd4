"""Receiving an upload: streamed to disk under a size limit, then accepted only if it decodes.

The request body is either ``multipart/form-data`` (field ``file``, plus the optional small
text fields ``label`` and ``csrf_token``) or the raw file bytes. Either way it is written chunk by chunk to a randomly named file in the data directory's
``incoming`` folder (outside any static folder), never held in memory, and refused with
:class:`TooLarge` as soon as it exceeds the limit. The client's file name is ignored.
Acceptance is decided by decoding the content (not by extension or Content-Type):
JPEG/PNG images must decode fully; videos (mp4/mov, avi, mkv/webm) must probe and decode
their first frame.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from anonymotion.errors import AnonymotionError, InputError
from anonymotion.web.jobs import Media

log = logging.getLogger(__name__)

#: container format names (as FFmpeg reports them) accepted, and the suffix the original is stored under
CONTAINERS = {"mov": ".mp4", "mp4": ".mp4", "avi": ".avi", "matroska": ".mkv", "webm": ".mkv"}
IMAGE_FORMATS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png"}  # MPO: multi-picture JPEG from phones
MAX_IMAGE_PIXELS = 100_000_000
#: bytes a multipart body may carry beyond the file itself (boundaries, part headers, small fields)
MULTIPART_OVERHEAD = 64 * 1024
#: text fields read from a multipart upload besides ``file`` (anything else is ignored)
TEXT_FIELDS = (b"label", b"csrf_token")
MAX_FIELD_BYTES = 256


class TooLarge(Exception):
    """The upload exceeds the size limit (the server answers 413)."""


class BadUpload(Exception):
    """The request is not a usable upload (no file part, empty, malformed multipart)."""


class _FileSink:
    """Writes the bytes of the ``file`` part (or the whole body) to ``path`` with a byte cap."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        self.fh = open(path, "wb")  # noqa: SIM115 - closed in finish/abort

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge()
        self.fh.write(data)

    def close(self) -> None:
        self.fh.close()


class _MultipartFile:
    """Streaming multipart parser: the part named ``file`` goes to a sink, :data:`TEXT_FIELDS` to ``fields``."""

    def __init__(self, boundary: bytes, sink: _FileSink) -> None:
        from python_multipart.multipart import MultipartParser

        self.sink = sink
        self.found = False
        self.fields: dict[str, str] = {}
        self._in_file = False
        self._field: bytes | None = None
        self._value = b""
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin,
            "on_header_field": self._hfield,
            "on_header_value": self._hvalue,
            "on_header_end": self._hend,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._part_end,
        })

    def _part_begin(self) -> None:
        self._headers = {}
        self._in_file = False
        self._field, self._value = None, b""

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _hvalue(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _hend(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def _headers_done(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name")
        self._in_file = name == b"file" and not self.found
        if self._in_file:
            self.found = True
        elif name in TEXT_FIELDS and b"filename" not in options:
            self._field = name

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.sink.write(data[start:end])
        elif self._field is not None:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise BadUpload(f"the form field {self._field.decode()!r} is too long")

    def _part_end(self) -> None:
        if self._field is not None:
            self.fields[self._field.decode()] = self._value.decode("utf-8", errors="replace")
        self._in_file, self._field = False, None

    def write(self, chunk: bytes) -> None:
        self.parser.write(chunk)

    def finalize(self) -> None:
        self.parser.finalize()


async def receive(stream: AsyncIterator[bytes], content_type: str, incoming: Path,
                  limit: int) -> tuple[Path, int, dict[str, str]]:
    """Stream a request body to a new file in ``incoming``; return (path, file size in bytes, text fields).

    Raises TooLarge beyond ``limit`` bytes and BadUpload for a body without a file; the
    partial file is removed in both cases.
    """
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import parse_options_header

    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / f"{secrets.token_hex(16)}.upload"
    sink = _FileSink(path, limit)
    ctype, options = parse_options_header(content_type or "")
    multipart = ctype == b"multipart/form-data"
    fields: dict[str, str] = {}
    try:
        if multipart:
            boundary = options.get(b"boundary")
            if not boundary:
                raise BadUpload("multipart body without a boundary")
            parser = _MultipartFile(boundary, sink)
            body = 0
            async for chunk in stream:
                body += len(chunk)
                if body > limit + MULTIPART_OVERHEAD:
                    raise TooLarge()
                parser.write(chunk)
            parser.finalize()
            if not parser.found:
                raise BadUpload("the form has no field named 'file'")
            fields = parser.fields
        else:
            async for chunk in stream:
                sink.write(chunk)
        sink.close()
        if sink.size == 0:
            raise BadUpload("the uploaded file is empty (0 bytes)")
    except MultipartParseError:
        sink.close()
        path.unlink(missing_ok=True)
        raise BadUpload("the multipart body is malformed") from None
    except BaseException:
        sink.close()
        path.unlink(missing_ok=True)
        raise
    return path, sink.size, fields


def inspect(path: Path) -> Media:
    """Decide what ``path`` is by decoding it; raise InputError with a plain message otherwise."""
    size = path.stat().st_size
    image = _inspect_image(path, size)
    if image is not None:
        return image
    return _inspect_video(path, size)


def _inspect_image(path: Path, size: int) -> Media | None:
    """A fully decoded JPEG or PNG, None when PIL does not recognise an image at all."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            fmt = img.format or ""
            width, height = img.size
            if fmt not in IMAGE_FORMATS:
                if fmt in ("GIF", "TIFF") or not fmt:
                    return None  # may still be a video container FFmpeg reads
                raise InputError(None, f"{fmt} images are not supported; upload a JPEG or PNG image or a video")
            if width * height > MAX_IMAGE_PIXELS:
                raise InputError(None, f"the image is too large ({width}x{height} pixels)")
            img.load()
    except UnidentifiedImageError:
        return None
    except Image.DecompressionBombError:
        raise InputError(None, "the image is too large (too many pixels)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(None, f"the image could not be decoded ({exc})") from None
    return Media(kind="image", suffix=IMAGE_FORMATS[fmt], width=width, height=height, frames=1, fps=0.0,
                 duration=0.0, has_audio=False, bytes=size)


def _inspect_video(path: Path, size: int) -> Media:
    from anonymotion.io.video import iter_frames, probe

    try:
        info = probe(path)
    except AnonymotionError as exc:
        raise InputError(None, _plain(exc)) from None
    names = set(info.container.split(","))
    suffix = next((CONTAINERS[n] for n in info.container.split(",") if n in CONTAINERS), None)
    if suffix is None or not names & set(CONTAINERS):
        raise InputError(None, "this file type is not supported; upload an MP4, MOV, AVI, MKV or WebM video "
                               "or a JPEG or PNG image")
    frames = iter_frames(path, info, strict=False)
    try:
        first = next(frames)
    except StopIteration:
        raise InputError(None, "the video has no decodable frame") from None
    except AnonymotionError as exc:
        raise InputError(None, _plain(exc)) from None
    finally:
        frames.close()
    if first.rgb.size == 0:
        raise InputError(None, "the video has no decodable frame")
    return Media(kind="video", suffix=suffix, width=info.width, height=info.height, frames=info.frame_count,
                 fps=round(info.fps, 3), duration=round(info.duration, 3), has_audio=info.has_audio, bytes=size)


def _plain(exc: AnonymotionError) -> str:
    """The problem without the (random, server-side) path of the temporary file."""
    return exc.problem if getattr(exc, "problem", None) else str(exc)
