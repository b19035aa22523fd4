"""The anonymization pipeline used alike by the CLI, the web app and batch runs.

probe/validate -> frames (upright RGB, pts) -> region sources (faces, heads, masks) ->
temporal tracker (hold/interpolate) -> method.apply -> H.264 .mp4 with no tags, plus
``*.regions.jsonl`` and ``*.manifest.json``. Frames stream through a queue no longer than
the tracker's hold window, so memory does not grow with video length. Every output is
written under a temporary name and renamed only when complete.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.anonymize.methods import Method, make_method
from anonymotion.config import AnonymizeConfig
from anonymotion.detect.sources import make_sources, merge
from anonymotion.errors import ConfigError
from anonymotion.io.images import is_image, read_image, write_image
from anonymotion.io.metadata import describe_container, library_versions, sha256_file
from anonymotion.io.video import iter_frames, probe
from anonymotion.io.writer import VideoWriter, commit_file, ensure_writable_dir, temp_path_for
from anonymotion.types import Frame, Regions

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
FrameSink = Callable[[str, int, float, np.ndarray], None]


@dataclass
class AnonymizeResult:
    """What one anonymization produced. Counts are region-frames (one face in one frame = 1)."""

    input: Path
    output: Path
    method: str
    regions_path: Path | None
    manifest_path: Path
    frames: int
    faces: int  # regions found by a detector
    held: int  # regions added by the tracker (hold / interpolation)
    tracks: int  # distinct track ids
    gaps: list[dict] = field(default_factory=list)
    audit: dict | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "input": str(self.input), "output": str(self.output), "method": self.method,
            "regions": str(self.regions_path) if self.regions_path else None,
            "manifest": str(self.manifest_path), "frames": self.frames, "faces": self.faces,
            "held": self.held, "tracks": self.tracks, "audit": self.audit,
        }


def default_output(path: Path) -> Path:
    """``clip.mov`` -> ``clip_anonymized.mp4`` beside it; images keep their format."""
    suffix = path.suffix.lower() if is_image(path) else ".mp4"
    return path.with_name(f"{path.stem}_anonymized{suffix}")


def sidecar(output: Path, kind: str) -> Path:
    """``out.mp4`` -> ``out.<kind>`` (regions.jsonl, manifest.json, recovery)."""
    return output.with_name(f"{output.stem}.{kind}")


def anonymize(
    path: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    config: AnonymizeConfig | None = None,
    progress: Progress | None = None,
    **overrides: Any,
) -> AnonymizeResult:
    """Anonymize one video or image.

    out: output file (default ``<stem>_anonymized.mp4`` beside the input). overrides: any
    :class:`AnonymizeConfig` field (e.g. ``method="pixelate"``). progress(done, total) is
    called after every frame. Raises InputError / PartialDecodeError / OutputError /
    ConfigError with a message naming the file; nothing is left under the output name then.
    """
    path = Path(path)
    config = (config or AnonymizeConfig()).with_overrides(**overrides).validated()
    output = Path(out) if out is not None else default_output(path)
    if is_image(path):
        return _anonymize_image(path, output, config, progress)
    results = anonymize_methods(path, {config.method: output}, config=config, progress=progress)
    return results[config.method]


def _check_output(path: Path, output: Path) -> None:
    if output.exists() and output.resolve() == path.resolve():
        raise ConfigError(output, "output would overwrite the input; choose another output name")
    if output.exists() and output.is_dir():
        raise ConfigError(output, "output is a folder; give a file name for a single input")
    ensure_writable_dir(output.parent)


def _build_methods(names: list[str], config: AnonymizeConfig) -> dict[str, Method]:
    methods: dict[str, Method] = {}
    for name in names:
        try:
            methods[name] = make_method(name, **config.method_params())
        except ValueError as exc:
            raise ConfigError(None, str(exc)) from None
    return methods


def _source_names(methods: dict[str, Method], config: AnonymizeConfig) -> tuple[str, ...]:
    if config.regions:
        return tuple(config.regions)
    names: list[str] = []
    for m in methods.values():
        for n in getattr(m, "default_regions", ("faces",) if m.name != "reencode" else ()):
            if n not in names:
                names.append(n)
    return tuple(names)


def anonymize_methods(
    path: str | os.PathLike,
    outputs: dict[str, Path],
    *,
    config: AnonymizeConfig | None = None,
    progress: Progress | None = None,
    frame_sink: FrameSink | None = None,
) -> dict[str, AnonymizeResult]:
    """Anonymize one video with several methods in ONE decode and detection pass.

    outputs: method name -> output .mp4 path (e.g. {"reencode": a, "blur": b}).
    frame_sink(method, index, t, rgb) receives each anonymized frame before encoding.
    Returns method name -> AnonymizeResult.
    """
    from anonymotion.track import RegionTracker

    path = Path(path)
    config = (config or AnonymizeConfig()).validated()
    for output in outputs.values():
        _check_output(path, Path(output))
    info = probe(path, config.limits)
    methods = _build_methods(list(outputs), config)
    sources = make_sources(_source_names(methods, config), config)
    tracker = RegionTracker(hold=config.hold)
    audio_spec = None
    if config.keep_audio and info.has_audio:
        audio_spec = _audio_spec(path)
    writers: dict[str, VideoWriter] = {}
    region_logs: dict[str, tuple[Path, Any]] = {}
    recovery = None
    pending: deque[tuple[Frame, np.ndarray | None]] = deque()
    counts = {"faces": 0, "held": 0, "frames": 0}
    track_ids: set[int] = set()
    total = info.frame_count or int(round(info.duration * info.fps)) or 0
    started = time.monotonic()

    def emit(index: int, regions: Regions) -> None:
        frame, mask = pending.popleft()
        assert frame.index == index, (frame.index, index)
        if mask is not None:
            regions = Regions(regions.boxes, regions.scores, regions.track_ids, regions.sources, mask)
        counts["frames"] += 1
        counts["held"] += sum(1 for s in regions.sources if s == "held")
        counts["faces"] += sum(1 for s in regions.sources if s != "held")
        track_ids.update(int(i) for i in regions.track_ids if i >= 0)
        line = json.dumps({"frame": frame.index, "t": round(frame.t, 6), "regions": regions.to_records()})
        for name, method in methods.items():
            rgb = method.apply(frame.rgb, regions)
            if frame_sink is not None:
                frame_sink(name, frame.index, frame.t, rgb)
            if recovery is not None and name == config.method:
                recovery.add(frame.index, frame.rgb, rgb, regions)
            writers[name].write(rgb, frame.pts if frame.pts is not None else frame.index)
            region_logs[name][1].write(line + "\n")
        if progress is not None:
            progress(counts["frames"], max(total, counts["frames"]))

    try:
        for name, output in outputs.items():
            output = Path(output)
            writers[name] = VideoWriter(output, info.width, info.height, info.time_base, fps=info.fps,
                                        crf=config.crf, preset=config.preset, audio=audio_spec)
            tmp = temp_path_for(sidecar(output, "regions.jsonl"))
            region_logs[name] = (tmp, open(tmp, "w", encoding="utf-8"))
        if config.recoverable:
            from anonymotion.anonymize.recoverable import RecoveryWriter, load_key

            key = load_key(config.key_file, config.passphrase_env)
            recovery = RecoveryWriter(sidecar(Path(outputs[config.method]), "recovery"), key, info)
        audio_sink = None
        if audio_spec is not None:
            def audio_sink(af: Any) -> None:
                for w in writers.values():
                    w.write_audio(af)
        if progress is not None:
            progress(0, total)
        for frame in iter_frames(path, info, audio_sink=audio_sink):
            h, w = frame.rgb.shape[:2]
            regions = merge([s.detect(frame.rgb, frame.t) for s in sources], h, w)
            boxes_only = Regions(regions.boxes, regions.scores, regions.track_ids, regions.sources)
            pending.append((frame, regions.mask))
            for index, final in tracker.push(frame.index, frame.t, boxes_only):
                emit(index, final)
        for index, final in tracker.flush():
            emit(index, final)
        results: dict[str, AnonymizeResult] = {}
        for name, output in outputs.items():
            output = Path(output)
            writers[name].close()
            tmp, fh = region_logs[name]
            fh.close()
            regions_path = sidecar(output, "regions.jsonl")
            commit_file(tmp, regions_path)
            results[name] = AnonymizeResult(
                input=path, output=output, method=name, regions_path=regions_path,
                manifest_path=sidecar(output, "manifest.json"), frames=counts["frames"],
                faces=counts["faces"], held=counts["held"], tracks=len(track_ids), gaps=list(tracker.gaps),
            )
        if recovery is not None:
            recovery.close(Path(outputs[config.method]))
    except BaseException:
        for w in writers.values():
            w.abort()
        for tmp, fh in region_logs.values():
            fh.close()
            tmp.unlink(missing_ok=True)
        if recovery is not None:
            recovery.abort()
        raise
    finally:
        for s in sources:
            s.close()
        for m in methods.values():
            close = getattr(m, "close", None)
            if callable(close):
                close()
    elapsed = time.monotonic() - started
    for name, result in results.items():
        if config.audit and name == config.method:
            result.audit = _audit(path, result.output)
        _write_manifest(result, config.with_overrides(method=name), info_dict(info), elapsed)
    return results


def _audit(original: Path, output: Path) -> dict:
    """Run the privacy audit on a finished output; returns its summary for the manifest."""
    from anonymotion.audit import audit

    result = audit(original, output)
    summary = {"verdict": result.verdict, "leaks": result.leak_count}
    return summary


def _audio_spec(path: Path) -> dict | None:
    import av

    with av.open(str(path)) as c:
        a = next((s for s in c.streams if s.type == "audio"), None)
        if a is None:
            return None
        layout = a.codec_context.layout.name if a.codec_context.layout else "stereo"
        return {"rate": a.codec_context.sample_rate or 48000,
                "layout": layout if layout in ("mono", "stereo") else "stereo"}


def info_dict(info: Any) -> dict[str, Any]:
    return {
        "container": info.container, "codec": info.codec, "width": info.width, "height": info.height,
        "rotation": info.rotation, "fps": round(info.fps, 4), "frames": info.frame_count,
        "duration": round(info.duration, 4), "pix_fmt": info.pix_fmt, "streams": list(info.stream_kinds),
    }


def _write_manifest(result: AnonymizeResult, config: AnonymizeConfig, info: dict[str, Any],
                    elapsed: float) -> None:
    """Write ``*.manifest.json``: input hash, method and parameters, versions, what was dropped."""
    dropped: dict[str, Any] = {}
    try:
        src = describe_container(result.input) if not is_image(result.input) else None
    except Exception as exc:  # noqa: BLE001 - describing is best effort; the output is already safe
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


def _anonymize_image(path: Path, output: Path, config: AnonymizeConfig,
                     progress: Progress | None) -> AnonymizeResult:
    """Images: detect, apply, write pixels only (no metadata), plus regions and manifest."""
    _check_output(path, output)
    rgb = read_image(path)
    methods = _build_methods([config.method], config)
    method = methods[config.method]
    sources = make_sources(_source_names(methods, config), config)
    try:
        h, w = rgb.shape[:2]
        regions = merge([s.detect(rgb, 0.0) for s in sources], h, w)
    finally:
        for s in sources:
            s.close()
    ids = np.arange(len(regions), dtype=np.int64)
    regions = Regions(regions.boxes, regions.scores, ids, regions.sources, regions.mask)
    anonymized = method.apply(rgb, regions)
    close = getattr(method, "close", None)
    if callable(close):
        close()
    write_image(output, anonymized)
    regions_path = sidecar(output, "regions.jsonl")
    tmp = temp_path_for(regions_path)
    tmp.write_text(json.dumps({"frame": 0, "t": 0.0, "regions": regions.to_records()}) + "\n", encoding="utf-8")
    commit_file(tmp, regions_path)
    if progress is not None:
        progress(1, 1)
    result = AnonymizeResult(input=path, output=output, method=config.method, regions_path=regions_path,
                             manifest_path=sidecar(output, "manifest.json"), frames=1,
                             faces=len(regions), held=0, tracks=len(regions))
    info = {"width": w, "height": h, "frames": 1, "streams": ["image"]}
    _write_manifest(result, config, info, 0.0)
    return result
