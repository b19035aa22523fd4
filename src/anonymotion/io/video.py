"""Video reading and writing with PyAV, one frame at a time.

Reading yields upright RGB frames (the display matrix of phone videos is applied) with
their packet timestamps; writing encodes H.264 yuv420p into .mp4 with exactly one video
stream, the input's timestamps, and no tags. Odd frame sizes are padded by one pixel on
the right/bottom edge (replicating the edge pixels), since yuv420p needs even sizes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from anonymotion.errors import InputError, LimitExceededError, OutputError, PartialDecodeError
from anonymotion.io.damage import AFTER_LOSS, CONCEALED, DecodeDamage
from anonymotion.types import Frame, VideoInfo

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"})


@dataclass(frozen=True)
class Limits:
    """Inputs above these are refused before decoding (pixels, frames/s, seconds)."""

    max_width: int = 4096
    max_height: int = 4096
    max_pixels: int = 4096 * 2160
    max_fps: float = 240.0
    max_duration: float = 4 * 3600.0


def probe(path: str | os.PathLike, limits: Limits | None = None) -> VideoInfo:
    """Open ``path`` and describe its first video stream without decoding frames.

    Raises InputError (missing, empty, not a video, no video stream) or
    LimitExceededError (above ``limits``) with a message naming the file.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a directory, not a video file")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty (0 bytes)")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise InputError(path, f"not a readable video ({_reason(exc)})") from None
    try:
        videos = [s for s in container.streams if s.type == "video"]
        if not videos:
            kinds = ", ".join(s.type for s in container.streams) or "no streams"
            raise InputError(path, f"no video stream (found: {kinds})")
        vs = videos[0]
        cc = vs.codec_context
        if not cc.width or not cc.height:
            raise InputError(path, "video stream has no frame size (corrupt header)")
        rotation = _probe_rotation(container, vs)
        w, h = (cc.height, cc.width) if rotation in (90, 270) else (cc.width, cc.height)
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        fps = float(rate) if rate else 0.0
        duration = 0.0
        if vs.duration and vs.time_base:
            duration = float(vs.duration * vs.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        info = VideoInfo(
            path=path,
            container=container.format.name,
            codec=cc.name,
            width=int(w),
            height=int(h),
            rotation=rotation,
            fps=fps,
            frame_count=int(vs.frames or 0),
            duration=duration,
            pix_fmt=str(cc.pix_fmt or ""),
            time_base=Fraction(vs.time_base) if vs.time_base else Fraction(1, 90000),
            has_audio=any(s.type == "audio" for s in container.streams),
            stream_kinds=tuple(s.type for s in container.streams),
            tags={str(k): str(v) for k, v in container.metadata.items()},
        )
    finally:
        container.close()
    check_limits(info, limits or Limits())
    return info


def _probe_rotation(container: av.container.InputContainer, vs: av.video.stream.VideoStream) -> int:
    """Counter-clockwise display rotation (0/90/180/270 degrees) of the first decodable frame.

    FFmpeg attaches the display matrix of phone videos to decoded frames; the legacy
    ``rotate`` tag is honoured too. A first frame that cannot be decoded means 0.
    """
    rot = vs.metadata.get("rotate")
    if rot is not None:
        try:
            return int(round(-float(rot) / 90.0)) * 90 % 360
        except ValueError:
            pass
    try:
        for vf in container.decode(vs):
            return _frame_rotation(vf)
    except av.error.FFmpegError:
        return 0
    return 0


def check_limits(info: VideoInfo, limits: Limits) -> None:
    """Refuse absurd inputs before decoding them."""
    problems = []
    if info.width > limits.max_width or info.height > limits.max_height:
        problems.append(f"frame size {info.width}x{info.height} exceeds {limits.max_width}x{limits.max_height}")
    elif info.width * info.height > limits.max_pixels:
        problems.append(f"frame size {info.width}x{info.height} exceeds {limits.max_pixels} pixels")
    if info.fps > limits.max_fps:
        problems.append(f"frame rate {info.fps:g} fps exceeds {limits.max_fps:g}")
    if info.duration > limits.max_duration:
        problems.append(f"duration {info.duration:.0f} s exceeds {limits.max_duration:.0f} s")
    if problems:
        raise LimitExceededError(info.path, "; ".join(problems) + " (raise the limits to process it)")


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(":")[0].strip() or type(exc).__name__


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a counter-clockwise display rotation (degrees) to an (H, W, 3) image."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=k)) if k else rgb


def iter_frames(
    path: str | os.PathLike,
    info: VideoInfo | None = None,
    *,
    audio_sink: Callable[[av.AudioFrame], None] | None = None,
    strict: bool = True,
    damage: DecodeDamage | None = None,
) -> Iterator[Frame]:
    """Yield upright RGB frames of ``path`` one by one, with times from packet pts.

    audio_sink, when given, receives every decoded audio frame of the first audio
    stream in demux order (for re-encoding). With ``strict``, a file that decodes only
    partly raises PartialDecodeError after the last good frame was yielded. Frames the
    decoder flagged (concealed errors) come with ``damaged=True``. ``damage``, when given,
    collects every damaged frame and every packet the decoder rejected; such a packet is
    then damage to report, not a partial decode (the frame after it is flagged damaged).
    """
    path = Path(path)
    info = info or probe(path)
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise InputError(path, f"not a readable video ({_reason(exc)})") from None
    try:
        vs = next(s for s in container.streams if s.type == "video")
        vs.thread_type = "AUTO"
        streams = [vs]
        audio = None
        if audio_sink is not None:
            audio = next((s for s in container.streams if s.type == "audio"), None)
            if audio is not None:
                streams.append(audio)
        tb = Fraction(vs.time_base) if vs.time_base else info.time_base
        first_pts: int | None = None
        last_pts: int | None = None
        index = 0
        error: str | None = None
        after_loss = False
        step = int(round(1 / (info.fps * tb))) if info.fps else 1

        def frames_of(packet: av.Packet | None) -> Iterator[av.VideoFrame]:
            if packet is None:
                yield from vs.decode(None)
            else:
                yield from packet.decode()

        packets = container.demux(*streams)
        done = False
        while not done:
            try:
                packet = next(packets)
            except StopIteration:
                packet, done = None, True
            except av.error.FFmpegError as exc:
                error = f"demuxing failed after {index} frames ({_reason(exc)})"
                packet, done = None, True
            if packet is not None and packet.stream.type == "audio":
                try:
                    for af in packet.decode():
                        audio_sink(af)  # type: ignore[misc]
                except av.error.FFmpegError as exc:
                    log.warning("%s: skipping undecodable audio packet (%s)", path, _reason(exc))
                continue
            try:
                decoded = list(frames_of(packet))
            except av.error.EOFError:
                decoded = []
            except av.error.FFmpegError as exc:
                if packet is None:
                    error = error or f"decoding failed at the end after {index} frames ({_reason(exc)})"
                    break
                if damage is None:
                    error = f"frame data corrupt after {index} frames ({_reason(exc)})"
                else:
                    damage.add_lost(_packet_time(packet, first_pts, tb, last_pts))
                    after_loss = True
                continue
            for vf in decoded:
                pts = vf.pts if vf.pts is not None else (None if last_pts is None else last_pts + step)
                if pts is None:
                    pts = 0
                if first_pts is None:
                    first_pts = pts
                if last_pts is not None and pts <= last_pts:
                    pts = last_pts + 1
                last_pts = pts
                rgb = vf.to_ndarray(format="rgb24")
                t = float((pts - first_pts) * tb)
                concealed = bool(getattr(vf, "is_corrupt", False))
                if damage is not None and (concealed or after_loss):
                    damage.add_frame(index, t, CONCEALED if concealed else AFTER_LOSS)
                yield Frame(
                    index=index,
                    t=t,
                    pts=pts - first_pts,
                    time_base=tb,
                    rgb=upright(rgb, info.rotation),
                    damaged=concealed or after_loss,
                )
                after_loss = False
                index += 1
    finally:
        container.close()
    if index == 0:
        raise PartialDecodeError(path, error or "no frame could be decoded")
    if strict:
        if error:
            raise PartialDecodeError(path, f"decoded only partly: {error}")
        expected = info.frame_count - (damage.lost if damage is not None else 0)
        if info.frame_count and index < expected - 1:
            raise PartialDecodeError(
                path, f"decoded only partly: {index} of {expected} frames (file truncated or corrupt)"
            )


def _packet_time(packet: av.Packet, first_pts: int | None, tb: Fraction, last_pts: int | None) -> float:
    """Seconds from the first frame to ``packet`` (its pts, else the last frame's), never negative."""
    pts = packet.pts if packet.pts is not None else last_pts
    if pts is None or first_pts is None:
        return 0.0
    return max(0.0, float((pts - first_pts) * tb))


def _frame_rotation(vf: av.VideoFrame) -> int:
    try:
        return int(round(float(vf.rotation) / 90.0)) * 90 % 360
    except (AttributeError, TypeError, ValueError):
        return 0
