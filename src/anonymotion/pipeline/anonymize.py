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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.methods.base import Method
from anonymotion.methods.registry import check_method_options, make_method
from anonymotion.config import AnonymizeConfig
from anonymotion.detect.sources import make_sources
from anonymotion.errors import ConfigError
from anonymotion.io.images import is_image
from anonymotion.pipeline.manifest import info_dict, write_manifest
from anonymotion.io.video import iter_frames, probe
from anonymotion.pipeline.outputs import MethodOutput, check_output, default_output, output_files, sidecar
from anonymotion.pipeline.damage import COVER, cover_whole, refuse
from anonymotion.pipeline.review import Coverage
from anonymotion.io.damage import DecodeDamage
from anonymotion.io.temps import remove_dead_temps
from anonymotion.pipeline.stream import RegionStream, select
from anonymotion.types import Frame, Regions, VideoInfo

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
    frames_in: int | None = None  # frames decoded from the input (None: not a video)
    damaged_frames: int = 0  # damaged or lost input frames (accept_damaged: each covered whole)
    damage: dict | None = None  # details for the manifest (runs of damaged frames, first time, cover)
    review: list[str] = field(default_factory=list)  # why a person should look at the output (empty: no need)

    @property
    def review_needed(self) -> bool:
        return bool(self.review)

    def to_json(self) -> dict[str, Any]:
        return {
            "input": str(self.input), "output": str(self.output), "method": self.method,
            "regions": str(self.regions_path) if self.regions_path else None,
            "manifest": str(self.manifest_path), "frames": self.frames, "faces": self.faces,
            "held": self.held, "tracks": self.tracks, "audit": self.audit, "frames_in": self.frames_in,
            "damaged_frames": self.damaged_frames, "review": "needed" if self.review else "not needed",
            "review_reasons": list(self.review),
        }


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
        from anonymotion.pipeline.image import anonymize_image

        return anonymize_image(path, output, config, progress)
    results = anonymize_methods(path, {config.method: output}, config=config, progress=progress)
    return results[config.method]


def build_methods(names: list[str], config: AnonymizeConfig) -> dict[str, Method]:
    """Build the named methods from the config, refusing options that none of them uses."""
    check_method_options(names, config.method_params())
    methods: dict[str, Method] = {}
    for name in names:
        methods[name] = make_method(name, **config.method_params())
    return methods


def method_sources(method: Method, config: AnonymizeConfig) -> tuple[str, ...]:
    """Region sources a method is given: the user's ``--regions``, else the method's own default."""
    if config.regions:
        return tuple(config.regions)
    return tuple(method.default_regions)


def anonymize_methods(
    path: str | os.PathLike,
    outputs: dict[str, Path],
    *,
    config: AnonymizeConfig | None = None,
    progress: Progress | None = None,
    frame_sink: FrameSink | None = None,
    audit_progress: Progress | None = None,
    audit_crops: Path | None = None,
) -> dict[str, AnonymizeResult]:
    """Anonymize one video with several methods in ONE decode and detection pass.

    outputs: method name -> output .mp4 path (e.g. {"reencode": a, "blur": b}). Each method
    gets the regions of its own sources only (faces, head, body ...). frame_sink(method,
    index, t, rgb) receives each anonymized frame before encoding. With ``config.audit``:
    audit_progress(done, total) follows the audit's frames, and audit_crops is a folder for a
    PNG crop of every leaked face (for a reviewer; none are written without it). Returns
    name -> result. A damaged input raises DamagedInputError unless ``config.accept_damaged``
    (see :mod:`anonymotion.pipeline.damage`); temporaries a killed run left for these outputs
    are removed first.
    """
    path = Path(path)
    config = (config or AnonymizeConfig()).validated()
    for output in outputs.values():
        check_output(path, Path(output))
        remove_dead_temps(output_files(Path(output)))
    info = probe(path, config.limits)
    methods = build_methods(list(outputs), config)
    wanted = {name: method_sources(m, config) for name, m in methods.items()}
    source_names = tuple(dict.fromkeys(n for names in wanted.values() for n in names))
    try:
        built = make_sources(source_names, config)
    except ValueError as exc:
        raise ConfigError(None, str(exc)) from None
    from anonymotion.track.regions import detect_every

    every = config.detect_every or detect_every(info.fps, config.hold)
    config = config.with_overrides(detect_every=every)  # the manifest records the stride used
    stream = RegionStream(dict(zip(source_names, built)), hold=config.hold, every=every)
    audio = _audio_spec(path) if config.keep_audio and info.has_audio else None
    outs: dict[str, MethodOutput] = {}
    recovery = None
    total = info.frame_count or int(round(info.duration * info.fps)) or 0
    done = 0
    started = time.monotonic()
    damage = DecodeDamage()
    coverage = Coverage()

    def emit(frame: Frame, found: dict[str, Regions]) -> None:
        nonlocal done
        h, w = frame.rgb.shape[:2]
        coverage.add(found)
        for name, out in outs.items():
            regions = select(found, out.sources, h, w)
            rgb = out.apply(frame, regions)
            if frame.damaged:
                rgb = cover_whole(rgb)
            if frame_sink is not None:
                frame_sink(name, frame.index, frame.t, rgb)
            if recovery is not None and name == config.method:
                recovery.add(frame.index, frame.rgb, rgb, regions)
            out.write(frame, regions, rgb)
        done += 1
        if progress is not None:
            progress(done, max(total, done))

    try:
        for name, output in outputs.items():
            outs[name] = MethodOutput(name, methods[name], Path(output), wanted[name], info, config, audio)
        if config.recoverable:
            from anonymotion.recovery.sidecar import load_key
            from anonymotion.recovery.writer import RecoveryWriter

            key = load_key(config.key_file, config.passphrase_env)
            recovery = RecoveryWriter(sidecar(Path(outputs[config.method]), "recovery"), key, info)
        audio_sink = None
        if audio is not None:
            def audio_sink(af: Any) -> None:
                for out in outs.values():
                    out.writer.write_audio(af)
        if progress is not None:
            progress(0, total)
        frames = iter_frames(path, info, audio_sink=audio_sink, damage=damage)
        for frame in frames:
            if frame.damaged and not config.accept_damaged:
                raise refuse(path, frames, damage)
            for ready, found in stream.push(frame):
                emit(ready, found)
        if damage and not config.accept_damaged:  # only lost packets, no damaged frame after them
            raise refuse(path, frames, damage)
        for ready, found in stream.flush():
            emit(ready, found)
        for out in outs.values():
            out.close()
        if recovery is not None:
            recovery.close(Path(outputs[config.method]))
    except BaseException:
        for out in outs.values():
            out.abort()
        if recovery is not None:
            recovery.abort()
        raise
    finally:
        stream.close()
    elapsed = time.monotonic() - started
    results: dict[str, AnonymizeResult] = {}
    pose_ran = "head" in source_names
    for name, out in outs.items():
        result = AnonymizeResult(
            input=path, output=out.output, method=name, regions_path=out.regions_path,
            manifest_path=sidecar(out.output, "manifest.json"), frames=out.frames, faces=out.detected,
            held=out.held, tracks=len(out.tracks),
            gaps=[g for g in stream.gaps if g["source"] in out.sources],
            frames_in=coverage.frames, damaged_frames=damage.count,
            damage=damage.to_json(COVER) if damage else None,
            review=coverage.reasons(out.sources, pose_ran),
        )
        for reason in result.review:
            log.info("%s: review needed (%s): %s", path, name, reason)
        if config.audit and name == config.method:
            result.audit = _audit(path, result.output, config, audit_progress, audit_crops)
        write_manifest(result, config.with_overrides(method=name), info_dict(info), elapsed)
        results[name] = result
    return results


def _audit(original: Path, output: Path, config: AnonymizeConfig, progress: Progress | None = None,
           crops: Path | None = None) -> dict:
    """Audit a finished output (``<stem>.audit.json`` beside it); its summary goes in the manifest."""
    from anonymotion.audit import DetectorSetup, audit

    # the manifest is written after the audit: tell it what the faces were found with
    setup = DetectorSetup.parse(config.detector, config.face_threshold, config.detect_size)
    result = audit(original, output, out_dir=output.parent, allow_audio=config.keep_audio, progress=progress,
                   leak_crops=crops, anonymizer=setup)
    return {
        "verdict": result.verdict,
        "detectors": [d["family"] for d in result.settings.get("detectors", [])],
        "leaked_face_frames": result.leak_count,
        "leaked_faces": result.leaked_faces,
        "not_verified_face_frames": len(result.not_verified),
        "longest_leak_run": result.longest_run,
        "failing_residual_faces": len(result.failing_residual),
        "metadata_findings": len(result.metadata),
        "report": result.json_path.name if result.json_path else None,
    }


def _audio_spec(path: Path) -> dict | None:
    import av

    with av.open(str(path)) as c:
        a = next((s for s in c.streams if s.type == "audio"), None)
        if a is None:
            return None
        layout = a.codec_context.layout.name if a.codec_context.layout else "stereo"
        return {"rate": a.codec_context.sample_rate or 48000,
                "layout": layout if layout in ("mono", "stereo") else "stereo"}


