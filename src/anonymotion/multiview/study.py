"""The multi-view study behind ``anonymotion evaluate CAM1 ... --calibration FILE``.

Every view is anonymized with every method plus the ``reencode`` control (one detection
pass per view, :func:`anonymotion.pipeline.anonymize_methods`); the original views and each
label's views are triangulated with the same calibration and engine; each label's 3D persons
are compared with the original's (MPJPE per joint in mm, 3D angle RMSE and SD); the one
judge decides per angle; the tables, 3D files and ``report.html`` go to ``out_dir``:

- ``<label>/<video name>``: the anonymized views (and their regions / manifests);
- ``3d/<label>/``: each run's triangulation files (original as ``3d/original``);
- ``mpjpe.csv``, ``angles3d.csv``, ``verdicts.csv``, ``stats.csv``, ``evaluation.json``,
  ``plots/`` and ``report.html``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from anonymotion.errors import ConfigError
from anonymotion.evaluation.judge import CONTROL
from anonymotion.evaluation.study import EvaluationResult
from anonymotion.io.video import probe
from anonymotion.multiview.calibration import Calibration, read_calibration
from anonymotion.multiview.compare import PersonComparison, compare_runs
from anonymotion.multiview.outputs import write_multiview_outputs
from anonymotion.multiview.results import MultiviewResult
from anonymotion.multiview.run import cameras_for_videos, triangulate
from anonymotion.multiview.tables import build_multiview_tables
from anonymotion.multiview.tracking import TriangulationConfig

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def evaluate_multiview(
    videos: Sequence[str | os.PathLike],
    calibration: Calibration | str | os.PathLike,
    methods: Sequence[str],
    out_dir: str | os.PathLike,
    *,
    config: Any = None,
    backend: str | None = None,
    triangulation: TriangulationConfig | None = None,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Run the study (see the module docstring); returns an EvaluationResult whose tables are
    those of :mod:`anonymotion.multiview.tables` and whose report is ``out_dir/report.html``."""
    from anonymotion.methods.registry import method_class
    from anonymotion.pipeline import anonymize_methods

    paths = [Path(v) for v in videos]
    cal = calibration if isinstance(calibration, Calibration) else read_calibration(calibration)
    infos = [probe(p) for p in paths]
    cameras_for_videos(cal, paths, infos)  # camera count and frame sizes checked before any work
    labels = [CONTROL] + [m for m in dict.fromkeys(methods) if m != CONTROL]
    if len(labels) < 2:
        raise ConfigError(None, "evaluate needs at least one anonymization method besides the reencode control")
    for m in labels:
        method_class(m)
    if len({p.name for p in paths}) != len(paths):
        raise ConfigError(None, "the views' file names must differ (outputs keep them to stay matched to cameras)")
    out = Path(out_dir)
    frames = sum(max(1, i.frame_count) for i in infos)
    total = frames * (1 + len(labels)) + max(1, min(i.frame_count for i in infos)) * (1 + len(labels))
    done = [0]

    def step(base: int) -> Progress:
        return lambda d, t: progress(min(base + d, total), total) if progress else None

    outputs: dict[str, dict[str, str]] = {}
    for video, info in zip(paths, infos):
        targets = {m: out / m / video.name for m in labels}
        anonymize_methods(video, targets, config=config, progress=step(done[0]))
        done[0] += max(1, info.frame_count)
        outputs[str(video)] = {m: str(p) for m, p in targets.items()}
    runs: dict[str, MultiviewResult] = {}
    for label in ["original", *labels]:
        views = paths if label == "original" else [out / label / p.name for p in paths]
        runs[label] = triangulate(views, cal, backend=backend, config=triangulation, progress=step(done[0]))
        done[0] += max(1, min(i.frame_count for i in infos))
        write_multiview_outputs(runs[label], out / "3d" / label, plots=label == "original")
    ref = runs["original"]
    comparisons: dict[str, list[PersonComparison]] = {lab: compare_runs(ref, runs[lab]) for lab in labels}
    tables = build_multiview_tables(comparisons, labels, ref.names)
    result = EvaluationResult(out_dir=out, videos=[str(p) for p in paths], methods=labels, results={},
                              tables=tables, outputs=outputs)
    from anonymotion.multiview.report import write_multiview_report

    write_multiview_report(result, comparisons, ref)
    if not ref.persons:
        log.warning("no person was triangulated in the original views: the tables are empty")
    return result
