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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anonymotion.commands.options import config_from_args, from_args
    from anonymotion.config import StudyOptions
    from anonymotion.evaluation import evaluate
    from anonymotion.report.tables import table_text

    config = config_from_args(args)
    options = from_args(StudyOptions, args)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
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
