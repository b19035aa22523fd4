"""The multi-method study: anonymize with every method plus the control, compare, judge, tabulate.

:func:`study_outputs` poses an original and its outputs (the re-encode control among them)
and returns every comparison with the one judge's verdicts: the web Test step and
``batch --evaluate`` call it on outputs they already have. :func:`study_video` first makes
the outputs (every method and the control in ONE anonymization pass), and :func:`evaluate`
runs it over several videos and writes the tables and report.html.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.config import AnonymizeConfig, StudyOptions
from anonymotion.evaluation.compare import CompareResult, _alteration, compare_poses
from anonymotion.evaluation.judge import CONTROL
from anonymotion.evaluation.posing import Progress, pose_video
from anonymotion.evaluation.tables import verdict_rows
from anonymotion.io.video import probe
from anonymotion.pose.run import PoseCollector
from anonymotion.pose.subject import parse_subject

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


@dataclass
class VideoStudy:
    """One original compared with each of its outputs.

    results: label -> comparison with the original (``reencode`` = the control; ``<m>+lossless``
    = frames before encoding). verdicts: the judge's rows, one per angle and non-control label
    (:func:`anonymotion.evaluation.tables.verdict_rows`). outputs: label -> video path.
    """

    video: str
    results: dict[str, CompareResult]
    verdicts: list[dict]
    outputs: dict[str, str] = field(default_factory=dict)


def check_methods(labels: list[str], config: AnonymizeConfig | None = None) -> None:
    """Refuse unknown method names, and options none of them uses, before any work is done."""
    from anonymotion.methods.registry import check_method_options, method_class

    for m in labels:
        method_class(m)
    if config is not None:
        check_method_options(labels, config.method_params())


def study_outputs(original: str | os.PathLike, outputs: dict[str, Path], options: StudyOptions | None = None, *,
                  progress: Progress | None = None, names: dict[str, str] | None = None,
                  overlay: dict[str, Path] | None = None) -> VideoStudy:
    """Pose ``original`` and every output, compare each with it and judge each against the control.

    outputs: label -> video (include ``reencode`` for verdicts against the control). names: label ->
    name shown for that output (default its path). overlay: label -> path of a skeleton video drawn
    while posing that output. progress(done, total) counts posed frames. Raises NoPersonError when
    the original has no person.
    """
    options = (options or StudyOptions()).validated()
    original = Path(original)
    frames = max(1, probe(original).frame_count)
    total = frames * (1 + len(outputs))
    base = [0]

    def step(done: int, _total: int) -> None:
        if progress:
            progress(min(base[0] + done, total), total)

    spec = parse_subject(options.subject)
    ref = pose_video(original, backend=options.backend, subject=spec, filter_hz=options.filter_hz,
                     require_person=True, progress=step)
    base[0] += frames
    test_spec = ref.replay() if spec is not None else None
    results: dict[str, CompareResult] = {}
    for label, path in outputs.items():
        test = pose_video(path, backend=options.backend, subject=test_spec, filter_hz=options.filter_hz,
                          progress=step, overlay_path=(overlay or {}).get(label))
        base[0] += frames
        results[label] = compare_poses(ref, test, threshold=options.score_threshold, ref_name=str(original),
                                       test_name=(names or {}).get(label, str(path)),
                                       body_altered=_alteration(original, Path(path), ref))
    return VideoStudy(video=str(original), results=results, verdicts=verdict_rows(str(original), results),
                      outputs={k: str(v) for k, v in outputs.items()})


def study_video(video: str | os.PathLike, methods: list[str], out_dir: str | os.PathLike, *,
                config: AnonymizeConfig | None = None, options: StudyOptions | None = None,
                progress: Progress | None = None, stem: str | None = None) -> VideoStudy:
    """Anonymize ``video`` with every method and the control in one pass into ``out_dir``
    (``<stem>.<method>.mp4``), then :func:`study_outputs`; with ``options.lossless`` each
    method's frames are also posed before encoding (label ``<method>+lossless``)."""
    from anonymotion.pipeline import anonymize_methods

    options = (options or StudyOptions()).validated()
    video, out_dir = Path(video), Path(out_dir)
    labels = ([CONTROL] if options.control else []) + [m for m in dict.fromkeys(methods) if m != CONTROL]
    check_methods(labels, config)
    frames = max(1, probe(video).frame_count)
    lossless = [m for m in labels if m != CONTROL] if options.lossless else []
    total = frames * (2 + len(labels) + 2 * len(lossless))
    base = [0]

    def step(done: int, _total: int) -> None:
        if progress:
            progress(min(base[0] + done, total), total)

    stem = stem or video.stem
    paths = {m: out_dir / f"{stem}.{m}.mp4" for m in labels}
    spec = parse_subject(options.subject)
    sinks: dict[str, PoseCollector] = {}
    replay = None
    if lossless:  # the poses before encoding follow the subject the original's pose follows
        ref = pose_video(video, backend=options.backend, subject=spec, filter_hz=options.filter_hz,
                         require_person=True, progress=step)
        base[0] += frames
        replay = ref.replay() if spec is not None else None
        sinks = {m: PoseCollector(options.backend, replay) for m in lossless}

    def frame_sink(method: str, index: int, t: float, rgb: np.ndarray) -> None:
        if method in sinks:
            sinks[method].add(rgb, t)

    try:
        anonymize_methods(video, paths, config=config, frame_sink=frame_sink if sinks else None,
                          progress=lambda d, t: step(d * (1 + len(sinks)), t))
        lossless_poses = {m: c.finish(None, options.filter_hz) for m, c in sinks.items()}
    finally:
        for c in sinks.values():
            c.close()
    base[0] += frames * (1 + len(sinks))
    offset = base[0]
    study = study_outputs(video, paths, options,
                          progress=(lambda d, t: progress(min(offset + d, total), total)) if progress else None)
    if lossless_poses:
        ref = pose_video(video, backend=options.backend, subject=spec, filter_hz=options.filter_hz)
        for m, test in lossless_poses.items():
            study.results[f"{m}+lossless"] = compare_poses(ref, test, threshold=options.score_threshold,
                                                          ref_name=str(video), test_name=f"{m} (before encoding)")
        study.verdicts = verdict_rows(str(video), study.results)
    log.info("%s: evaluated %s", video, ", ".join(study.results))
    return study


def evaluate(
    videos: list[str | os.PathLike],
    methods: list[str],
    out_dir: str | os.PathLike,
    *,
    config: AnonymizeConfig | None = None,
    options: StudyOptions | None = None,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Anonymize each video with ``methods`` plus the ``reencode`` control, compare each output
    with the original, and write tables, plots and ``report.html`` into ``out_dir``.

    config: an AnonymizeConfig shared by all methods (its method field is not used). options:
    how to compare (:class:`StudyOptions`; the control is always included). progress(done,
    total) counts frames over all videos.
    """
    from anonymotion.errors import ConfigError
    from anonymotion.evaluation.tables import build_tables
    from anonymotion.report.evaluation import write_evaluation_outputs

    options = replace((options or StudyOptions()), control=True).validated()
    if not videos:
        raise ConfigError(None, "evaluate needs at least one video")
    labels = [CONTROL] + [m for m in dict.fromkeys(methods) if m != CONTROL]
    if len(labels) < 2:
        raise ConfigError(None, "evaluate needs at least one anonymization method besides the reencode control")
    check_methods(labels, config)
    out_dir = Path(out_dir)
    infos = [probe(Path(v)) for v in videos]
    per_video = [max(1, i.frame_count) * (2 + len(labels) + 2 * (len(labels) - 1) * options.lossless) for i in infos]
    grand_total = sum(per_video)
    results: dict[str, dict[str, CompareResult]] = {}
    outputs: dict[str, dict[str, str]] = {}
    stems: dict[str, int] = {}
    for n, video in enumerate(map(Path, videos)):
        stem = video.stem
        stems[stem] = stems.get(stem, 0) + 1
        if stems[stem] > 1:
            stem = f"{stem}_{stems[stem]}"
        before = sum(per_video[:n])

        def step(d: int, _t: int, before: int = before) -> None:
            if progress:
                progress(min(before + d, grand_total), grand_total)

        study = study_video(video, labels, out_dir / stem, config=config, options=options, stem=stem, progress=step)
        results[str(video)] = study.results
        outputs[str(video)] = study.outputs
    tables = build_tables(results, labels)
    result = EvaluationResult(out_dir=out_dir, videos=[str(v) for v in videos], methods=labels, results=results,
                              tables=tables, outputs=outputs)
    write_evaluation_outputs(result)
    return result
