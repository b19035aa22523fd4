"""The multi-method study: anonymize with every method plus the control, compare, judge, tabulate."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.evaluation.compare import CompareResult, _alteration, compare_poses
from anonymotion.evaluation.judge import CONTROL
from anonymotion.evaluation.posing import Progress, pose_video
from anonymotion.io.video import probe
from anonymotion.pose.run import PoseCollector
from anonymotion.pose.subject import SubjectSpec, parse_subject

log = logging.getLogger(__name__)


@dataclass
class EvaluationResult:
    """Every comparison of an evaluation and the tables built from them.

    results[video][label] -> CompareResult, label = method name (``reencode`` is the
    control) or ``<method>+lossless`` (frames before encoding). tables: name -> rows.
    """

    out_dir: Path
    videos: list[str]
    methods: list[str]
    results: dict[str, dict[str, CompareResult]]
    tables: dict[str, list[dict]]
    report_path: Path | None = None
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "videos": self.videos, "methods": self.methods, "outputs": self.outputs,
            "report": str(self.report_path) if self.report_path else None, "tables": self.tables,
            "results": {v: {m: r.to_json() for m, r in d.items()} for v, d in self.results.items()},
        }


def _check_methods(labels: list[str]) -> None:
    """Refuse unknown method names before any work is done."""
    from anonymotion.methods.registry import method_class

    for m in labels:
        method_class(m)


def evaluate(
    videos: list[str | os.PathLike],
    methods: list[str],
    out_dir: str | os.PathLike,
    *,
    config: Any = None,
    lossless: bool = False,
    subject: str | SubjectSpec | None = None,
    filter_hz: float | None = None,
    progress: Progress | None = None,
    threshold: float = 0.5,
    backend: str = "mediapipe",
) -> EvaluationResult:
    """Anonymize each video with ``methods`` plus the ``reencode`` control, compare each output
    with the original, and write tables, plots and ``report.html`` into ``out_dir``.

    config: an AnonymizeConfig shared by all methods (method field ignored). lossless: also
    pose each method's frames before encoding. progress(done, total) counts pose and
    anonymization frames over all videos.
    """
    from anonymotion.errors import ConfigError
    from anonymotion.pipeline import anonymize_methods
    from anonymotion.evaluation.tables import build_tables
    from anonymotion.report.evaluation import write_evaluation_outputs

    if not videos:
        raise ConfigError(None, "evaluate needs at least one video")
    labels = [CONTROL] + [m for m in dict.fromkeys(methods) if m != CONTROL]
    if len(labels) < 2:
        raise ConfigError(None, "evaluate needs at least one anonymization method besides the reencode control")
    out_dir = Path(out_dir)
    spec = parse_subject(subject)
    results: dict[str, dict[str, CompareResult]] = {}
    outputs: dict[str, dict[str, str]] = {}
    stems: dict[str, int] = {}
    infos = [probe(Path(v)) for v in videos]
    _check_methods(labels)
    # per video: pose of the original, the anonymization pass (+ lossless poses), pose of each output
    grand_total = sum(max(1, i.frame_count) for i in infos) * (2 + len(labels) + (len(labels) - 1) * lossless)
    done_before = [0]

    def step(n: int, total: int, done_now: int) -> None:
        if progress:
            progress(min(done_before[0] + done_now, grand_total), grand_total)

    for video, info in zip(map(Path, videos), infos):
        stem = video.stem
        stems[stem] = stems.get(stem, 0) + 1
        if stems[stem] > 1:
            stem = f"{stem}_{stems[stem]}"
        vdir = out_dir / stem
        frames = max(1, info.frame_count)
        ref = pose_video(video, backend=backend, subject=spec, filter_hz=filter_hz, require_person=True,
                         progress=lambda d, t: step(d, t, d))
        done_before[0] += frames
        test_spec = ref.replay() if spec is not None else None
        sinks: dict[str, PoseCollector] = {}
        if lossless:
            sinks = {m: PoseCollector(backend, test_spec) for m in labels if m != CONTROL}

        def frame_sink(method: str, index: int, t: float, rgb: np.ndarray) -> None:
            if method in sinks:
                sinks[method].add(rgb, t)

        paths = {m: vdir / f"{stem}.{m}.mp4" for m in labels}
        try:
            anonymize_methods(video, paths, config=config, frame_sink=frame_sink if lossless else None,
                              progress=lambda d, t: step(d, t, d * (1 + len(sinks))))
        finally:
            for c in sinks.values():
                c.close()
        done_before[0] += frames * (1 + len(sinks))
        outputs[str(video)] = {m: str(p) for m, p in paths.items()}
        results[str(video)] = {}
        for m in labels:
            test = pose_video(paths[m], backend=backend, subject=test_spec, filter_hz=filter_hz,
                              progress=lambda d, t: step(d, t, d))
            done_before[0] += frames
            results[str(video)][m] = compare_poses(ref, test, threshold=threshold, ref_name=str(video),
                                                   test_name=str(paths[m]),
                                                   body_altered=_alteration(video, paths[m], ref))
        for m, c in sinks.items():
            test = c.finish(None, filter_hz)
            results[str(video)][f"{m}+lossless"] = compare_poses(ref, test, threshold=threshold,
                                                                 ref_name=str(video), test_name=f"{m} (before encoding)")
        log.info("%s: evaluated %s", video, ", ".join(results[str(video)]))
    tables = build_tables(results, labels)
    result = EvaluationResult(out_dir=out_dir, videos=[str(v) for v in videos], methods=labels, results=results,
                              tables=tables, outputs=outputs)
    write_evaluation_outputs(result)
    return result
