"""``anonymotion evaluate VIDEO... --methods blur,pixelate,block``: the anonymization-impact study."""

from __future__ import annotations

import argparse
from pathlib import Path

from anonymotion.commands.pose import add_pose_arguments
from anonymotion.progress import progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    from anonymotion.commands.options import add_config_arguments, add_options
    from anonymotion.config import StudyOptions

    p = sub.add_parser(
        "evaluate", help="anonymize with several methods and measure the impact on pose and joint angles",
        description="Anonymize each video with every method and with the 'reencode' control (same encoder, no "
                    "anonymization) in one detection pass, pose the original and every output, and write "
                    "tables (methods as columns, a delta column), paired Wilcoxon tests, repeated-measures "
                    "ANOVA/Friedman across videos, verdicts against the 5 and 1.27 degree limits, and report.html.")
    p.add_argument("videos", nargs="+", type=Path)
    p.add_argument("--methods", default="blur,pixelate,block", help="comma-separated methods (default blur,pixelate,block)")
    p.add_argument("-o", "--output", type=Path, default=Path("evaluation"), metavar="DIR",
                   help="output folder (default ./evaluation)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    add_pose_arguments(p, max_frames=False)
    add_options(p, StudyOptions, exclude=("subject", "filter_hz", "backend", "control"))
    add_config_arguments(p, exclude=("method", "audit", "recoverable", "key_file", "passphrase_env"))
    p.add_argument("--calibration", type=Path, default=None, metavar="FILE",
                   help="the videos are synchronised views of one calibrated set-up (Qualisys .qca.txt or "
                        "Calib.toml): triangulate every method's views and compare in 3D (MPJPE per joint in mm, "
                        "3D angle RMSE/SD: the gait study's Table 1 and Table 3)")
    from anonymotion.commands.triangulate import add_multiview_arguments

    add_multiview_arguments(p, offsets=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anonymotion.commands.options import config_from_args, from_args
    from anonymotion.config import StudyOptions
    from anonymotion.evaluation import evaluate
    from anonymotion.report.tables import table_text

    config = config_from_args(args)
    options = from_args(StudyOptions, args)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.calibration is not None:
        return run_multiview(args, config, options, methods)
    with progress_bar("evaluate", quiet=args.quiet) as progress:
        result = evaluate(args.videos, methods, args.output, config=config, options=options, progress=progress)
    if not args.quiet:
        for video in result.videos:
            print(f"== {video}")
            print(table_text([r for r in result.tables["overall"] if r["video"] == video],
                             ["method", "epe_px", "epe_norm", "ptk_pct", "pck_005", "pck_01", "angle_rmse_mean"]))
            rows = [r for r in result.tables["angles"] if r["video"] == video]
            cols = ["angle"] + [c for c in rows[0] if c.endswith(("_rmse", "_sd")) and c not in ("angle", "video")]
            print(table_text(rows, cols))
        print(f"report: {result.report_path}")
    return 0


def run_multiview(args: argparse.Namespace, config, options, methods: list[str]) -> int:
    """``evaluate --calibration``: the multi-view 3D study (see :mod:`anonymotion.multiview.study`)."""
    from anonymotion.commands.triangulate import multiview_config
    from anonymotion.errors import ConfigError
    from anonymotion.multiview.study import evaluate_multiview
    from anonymotion.report.tables import table_text

    for flag, value in (("--lossless", options.lossless), ("--subject", options.subject),
                        ("--filter", options.filter_hz), ("--no-control", not options.control)):
        if value:
            raise ConfigError(None, f"{flag} is not supported with --calibration")
    with progress_bar("evaluate 3D", quiet=args.quiet) as progress:
        result = evaluate_multiview(args.videos, args.calibration, methods, args.output, config=config,
                                    backend=options.backend, triangulation=multiview_config(args), progress=progress)
    if not args.quiet:
        print(table_text(result.tables["mpjpe"], ["person", "method", "frames", "mpjpe_mm"], digits=1))
        for r in result.tables["stats"][:1]:
            print(f"statistics: {r.get('test')} ({r.get('note', '')})")
        verdicts = result.tables["verdicts"]
        good = sum(r["verdict"] == "ok" for r in verdicts)
        print(f"verdicts: {good} of {len(verdicts)} angle-method pairs within the limits beyond the control")
        print(f"report: {result.report_path}")
    return 0
