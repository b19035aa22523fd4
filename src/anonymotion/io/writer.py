"""H.264 .mp4 writer that keeps the input's timestamps and carries no identifying metadata.

The output holds exactly one video stream (plus one AAC audio stream only when asked),
no container or stream tags, no chapters, no data streams, and no x264 SEI message with
the encoder's settings string. It is written to a temporary name in the destination
folder and renamed into place by :meth:`VideoWriter.close`; :meth:`VideoWriter.abort`
removes it, so a crash never leaves a half-written file under the final name.
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from anonymotion.errors import OutputError
from anonymotion.io.temps import temp_path_for

log = logging.getLogger(__name__)

__all__ = ["MANDATORY_TAGS", "VideoWriter", "commit_file", "ensure_writable_dir", "even_size", "pad_even",
           "temp_path_for", "write_text_atomic"]

#: Fields the mp4 muxer always writes; they carry no information about the recording.
MANDATORY_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands", "language", "handler_name",
                            "vendor_id"})


def even_size(width: int, height: int) -> tuple[int, int]:
    """Frame size yuv420p can hold: odd sizes grow by one pixel (padding right/bottom)."""
    return width + (width & 1), height + (height & 1)


def pad_even(rgb: np.ndarray) -> np.ndarray:
    """Pad an (H, W, 3) image by replicating its last row/column to even H and W."""
    h, w = rgb.shape[:2]
    ph, pw = h & 1, w & 1
    if not (ph or pw):
        return rgb
    return np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode="edge")


def commit_file(tmp: Path, final: Path) -> Path:
    """Give a finished temporary file normal permissions (0666 less umask) and rename it into place."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, final)
    return final


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file renamed into place; OutputError on failure."""
    path = Path(path)
    ensure_writable_dir(path.parent)
    tmp = temp_path_for(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        commit_file(tmp, path)
    except OSError as exc:
        raise OutputError(path, f"cannot write ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def ensure_writable_dir(folder: Path) -> None:
    """Create ``folder`` if needed and check it accepts files, else raise OutputError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(folder, f"cannot create output folder ({exc.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(folder, "output folder is not writable")


class VideoWriter:
    """Encode upright RGB frames to H.264 yuv420p .mp4, streaming.

    ``time_base`` is the time unit of the ``pts`` given to :meth:`write` (seconds per tick);
    pts must increase. ``crf`` 0-51 (18 ≈ visually lossless), ``preset`` an x264 preset.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        width: int,
        height: int,
        time_base: Fraction,
        *,
        fps: float = 30.0,
        crf: int = 18,
        preset: str = "veryfast",
        audio: dict | None = None,
    ) -> None:
        self.path = Path(path)
        ensure_writable_dir(self.path.parent)
        self.tmp = temp_path_for(self.path)
        self.width, self.height = even_size(width, height)
        self.frames = 0
        self._closed = False
        try:
            self.container = av.open(
                str(self.tmp), mode="w", format="mp4",
                options={"movflags": "+faststart", "fflags": "+bitexact"},
            )
            self.container.metadata.clear()
            rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
            vs = self.container.add_stream("libx264", rate=rate)
            vs.width, vs.height = self.width, self.height
            vs.pix_fmt = "yuv420p"
            vs.time_base = time_base
            vs.codec_context.time_base = time_base
            vs.options = {"crf": str(int(crf)), "preset": preset}
            self.stream = vs
            self._sei_filter = av.bitstream.BitStreamFilterContext("filter_units=remove_types=6", vs)
            self.audio_stream = None
            self._resampler = None
            if audio:
                self.audio_stream = self.container.add_stream("aac", rate=int(audio["rate"]))
                self.audio_stream.layout = audio.get("layout", "stereo")
                self._resampler = av.AudioResampler(format="fltp", layout=self.audio_stream.layout,
                                                    rate=int(audio["rate"]))
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            self.abort()
            raise OutputError(self.path, f"cannot open output for writing ({exc})") from None

    def write(self, rgb: np.ndarray, pts: int, duration: int | None = None) -> None:
        """Encode one (H, W, 3) uint8 frame at ``pts`` (time_base units)."""
        frame = av.VideoFrame.from_ndarray(pad_even(np.ascontiguousarray(rgb)), format="rgb24")
        frame.pts = int(pts)
        if duration:
            try:
                frame.duration = int(duration)
            except (AttributeError, TypeError):  # pragma: no cover - older PyAV
                pass
        self._mux(self.stream.encode(frame.reformat(format="yuv420p")))
        self.frames += 1

    def write_audio(self, frame: av.AudioFrame) -> None:
        """Re-encode one decoded audio frame to AAC (only when opened with ``audio``)."""
        if self.audio_stream is None or self._resampler is None:
            return
        frame.pts = None
        for rf in self._resampler.resample(frame):
            for packet in self.audio_stream.encode(rf):
                self.container.mux(packet)

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            for clean in self._sei_filter.filter(packet):
                clean.stream = self.stream
                self.container.mux(clean)

    def close(self) -> Path:
        """Flush the encoders, close the file and rename it to its final name."""
        if self._closed:
            return self.path
        try:
            self._mux(self.stream.encode(None))
            for clean in self._sei_filter.filter(None):
                clean.stream = self.stream
                self.container.mux(clean)
            if self.audio_stream is not None and self._resampler is not None:
                for rf in self._resampler.resample(None):
                    for packet in self.audio_stream.encode(rf):
                        self.container.mux(packet)
                for packet in self.audio_stream.encode(None):
                    self.container.mux(packet)
            self.container.close()
            self._closed = True
            commit_file(self.tmp, self.path)
        except (av.error.FFmpegError, OSError) as exc:
            self.abort()
            raise OutputError(self.path, f"writing the video failed ({exc})") from None
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file; the final name is never touched."""
        self._closed = True
        container = getattr(self, "container", None)
        if container is not None:
            try:
                container.close()
            except (av.error.FFmpegError, OSError, ValueError):
                pass
        try:
            self.tmp.unlink(missing_ok=True)
        except OSError:
            pass

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
