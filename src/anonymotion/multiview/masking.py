"""Masking consistent across views: ``anonymotion anonymize CAM1 CAM2 ... --calibration FILE``.

The synchronised views advance together (:func:`~anonymotion.multiview.sync.iter_synchronised`,
every frame of every view). Each view has the ordinary pipeline's region stream (face
detector / pose heads, temporal tracker) and a pose backend whose persons feed the
multi-view engine. When a time slot's regions are final in every view, the heads of that
slot are put in 3D (:mod:`anonymotion.multiview.heads`: from the triangulated persons and
from box centres that agree across views) and each head's sphere is projected into every
view as a region whose source is ``crossview:<views that found it>``; so a head is covered
in a view whose own detector missed it (turned away, occluded, small). Frames wait only
as long as the region streams' hold windows: memory does not grow with video length.

Each view's manifest gets a ``multiview`` block: the calibration and camera, and per view
``head_frames`` (heads projected into the frame), ``covered_by_own_detections`` and
``covered_only_by_other_views`` (head-frames whose only region came from other views).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from anonymotion.config import AnonymizeConfig
from anonymotion.errors import ConfigError
from anonymotion.io.video import probe
from anonymotion.multiview.calibration import Calibration, read_calibration
from anonymotion.multiview.heads import Head3D, box_heads, covered_by, merge_heads, pose_head, project_head
from anonymotion.multiview.persons import make_person_source
from anonymotion.multiview.run import cameras_for_videos
from anonymotion.multiview.sync import iter_synchronised
from anonymotion.multiview.tracking import MultiviewTriangulator, TriangulationConfig
from anonymotion.types import Frame, Regions

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
#: Region sources whose regions are heads: cross-view heads are added to methods that use one of them.
HEAD_SOURCES = ("faces", "head")


def _projected(heads: list[Head3D], cam, mask_scale: float) -> tuple[list[np.ndarray], list[Head3D]]:
    """Boxes of the heads visible in ``cam``, shrunk by ``mask_scale`` (the method grows every box by it,
    so the covered ellipse is the head sphere's projection), and the heads they belong to."""
    boxes, kept = [], []
    for h in heads:
        box = project_head(h, cam)
        if box is not None:
            c, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2 / max(mask_scale, 1e-6)
            boxes.append(np.concatenate([c - half, c + half]))
            kept.append(h)
    return boxes, kept


class _View:
    """One view's region stream, method output and counters."""

    def __init__(self, path: Path, output: Path, info, camera, config: AnonymizeConfig) -> None:
        from anonymotion.detect.sources import make_sources
        from anonymotion.pipeline.anonymize import build_methods, method_sources
        from anonymotion.pipeline.outputs import MethodOutput, check_output
        from anonymotion.pipeline.stream import RegionStream
        from anonymotion.track.regions import detect_every

        check_output(path, output)
        self.path, self.info, self.camera = path, info, camera
        method = build_methods([config.method], config)[config.method]
        self.sources = method_sources(method, config)
        every = config.detect_every or detect_every(info.fps, config.hold)
        self.config = config.with_overrides(detect_every=every)
        try:
            built = make_sources(self.sources, config)
        except ValueError as exc:
            raise ConfigError(None, str(exc)) from None
        self.stream = RegionStream(dict(zip(self.sources, built)), hold=config.hold, every=every)
        self.out = MethodOutput(config.method, method, output, self.sources, info, config, None)
        self.crossview = any(s in HEAD_SOURCES for s in self.sources)
        self.slot_of: dict[int, int] = {}
        self.counts = {"head_frames": 0, "covered_by_own_detections": 0, "covered_only_by_other_views": 0}


def anonymize_views(
    videos: Sequence[str | os.PathLike],
    calibration: Calibration | str | os.PathLike,
    outputs: Sequence[str | os.PathLike] | None = None,
    *,
    config: AnonymizeConfig | None = None,
    backend: str | None = None,
    triangulation: TriangulationConfig | None = None,
    progress: Progress | None = None,
) -> list:
    """Anonymize synchronised calibrated views together (see the module docstring).

    outputs: one path per video (default ``<stem>_anonymized.mp4`` beside each). Returns one
    :class:`~anonymotion.pipeline.AnonymizeResult` per view, in the videos' order.
    """
    from anonymotion.pipeline.anonymize import AnonymizeResult
    from anonymotion.pipeline.manifest import info_dict, write_manifest
    from anonymotion.pipeline.outputs import default_output, sidecar
    from anonymotion.pipeline.stream import select

    config = (config or AnonymizeConfig()).validated()
    if config.keep_audio or config.recoverable or config.audit:
        raise ConfigError(None, "--keep-audio, --recoverable and --audit are not available with --calibration yet")
    paths = [Path(v) for v in videos]
    outs = [Path(o) for o in outputs] if outputs is not None else [default_output(p) for p in paths]
    if len(outs) != len(paths):
        raise ConfigError(None, f"{len(outs)} outputs for {len(paths)} videos")
    cal = calibration if isinstance(calibration, Calibration) else read_calibration(calibration)
    infos = [probe(p, config.limits) for p in paths]
    cams = cameras_for_videos(cal, paths, infos)
    views: list[_View] = []
    persons = []
    started = time.monotonic()
    try:
        for p, o, info, cam in zip(paths, outs, infos, cams):
            views.append(_View(p, o, info, cam, config))
        if any(view.crossview for view in views):  # pose is only needed to put heads in 3D
            persons = [make_person_source(backend) for _ in paths]
        engine = MultiviewTriangulator(cams, persons[0].names if persons else (), replace(
            triangulation or TriangulationConfig(), min_frames=1), up=cal.up)
        pending: dict[int, dict] = {}
        total = sum(i.frame_count for i in infos)
        done = [0]

        def finish_ready() -> None:
            while pending:
                s = min(pending)
                slot = pending[s]
                if len(slot["ready"]) < len(slot["present"]):
                    return
                del pending[s]
                _emit(slot, views, cams, select)
                done[0] += len(slot["present"])
                if progress is not None:
                    progress(done[0], max(total, done[0]))

        def deliver(v: int, frame: Frame, found: dict[str, Regions]) -> None:
            s = views[v].slot_of.pop(frame.index)
            pending[s]["ready"][v] = (frame, found)

        for slot in iter_synchronised(paths, infos, span="all"):
            present = [v for v, f in enumerate(slot.frames) if f is not None]
            heads = []
            if persons:
                found2d = [persons[v].persons(f.rgb, f.t) if f is not None else None
                           for v, f in enumerate(slot.frames)]
                heads = [h for fp in engine.update(slot.t, found2d)
                         if (h := pose_head(fp.points.points, engine.names, list(fp.group))) is not None]
            pending[slot.index] = {"present": present, "ready": {}, "pose_heads": heads}
            for v in present:
                frame = slot.frames[v]
                views[v].slot_of[frame.index] = slot.index
                for ready, found in views[v].stream.push(frame):
                    deliver(v, ready, found)
            finish_ready()
        for v, view in enumerate(views):
            for ready, found in view.stream.flush():
                deliver(v, ready, found)
        finish_ready()
        for view in views:
            view.out.close()
    except BaseException:
        for view in views:
            view.out.abort()
        raise
    finally:
        for view in views:
            view.stream.close()
        for source in persons:
            source.close()
    elapsed = time.monotonic() - started
    results = []
    for view, cam in zip(views, cams):
        out = view.out
        result = AnonymizeResult(input=view.path, output=out.output, method=config.method,
                                 regions_path=out.regions_path, manifest_path=sidecar(out.output, "manifest.json"),
                                 frames=out.frames, faces=out.detected, held=out.held, tracks=len(out.tracks),
                                 gaps=[g for g in view.stream.gaps if g["source"] in out.sources])
        extra = {"multiview": {
            "calibration": cal.path.name if cal.path else None, "camera": cam.name,
            "views": [c.name for c in cams], "crossview_regions": view.crossview,
            **view.counts,
        }}
        write_manifest(result, view.config, info_dict(view.info), elapsed, extra)
        results.append(result)
    return results


def _emit(slot: dict, views: list[_View], cams, select) -> None:
    """Anonymize and write every present view's frame of one slot, cross-view heads included."""
    names = tuple(c.name for c in cams)
    own: dict[int, Regions] = {}
    for v, (frame, found) in slot["ready"].items():
        h, w = frame.rgb.shape[:2]
        own[v] = select(found, views[v].sources, h, w)
    boxes = [own[v].boxes if v in own else None for v in range(len(views))]
    heads = merge_heads(slot["pose_heads"] + box_heads(cams, boxes))
    for v, (frame, _) in slot["ready"].items():
        view = views[v]
        regions = own[v]
        if view.crossview and heads:
            projected, kept = _projected(heads, cams[v], view.config.mask_scale)
            for box, head in zip(projected, kept):
                view.counts["head_frames"] += 1
                if covered_by(project_head(head, cams[v]), own[v].boxes):
                    view.counts["covered_by_own_detections"] += 1
                else:
                    view.counts["covered_only_by_other_views"] += 1
            if projected:
                extra = Regions(np.array(projected, np.float32), np.ones(len(projected), np.float32),
                                np.full(len(projected), -1, np.int64),
                                tuple("crossview:" + "+".join(names[i] for i in head.views) for head in kept))
                h, w = frame.rgb.shape[:2]
                from anonymotion.detect.sources import merge

                regions = merge([regions, extra], h, w)
        rgb = view.out.apply(frame, regions)
        view.out.write(frame, regions, rgb)
