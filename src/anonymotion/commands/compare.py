"""``anonymotion compare ORIGINAL ANONYMIZED``: how far keypoints and joint angles moved."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from anonymotion.commands.options import add_options
from anonymotion.commands.pose import add_pose_arguments
from anonymotion.config import StudyOptions
from anonymotion.progress import progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="compare pose and joint angles of an original and an anonymized video",
        description="Pose both videos, match frames by timestamp, and report per-keypoint EPE (px and "
                    "torso-normalised), PTK, PCK@0.05/0.1, per-angle RMSE, bias, SD, max |diff|, share within "
                    "5 degrees, confidence and detection rates. Writes compare.json, compare.csv, angles.png "
                    "and keypoint_error.png into the output folder.")
    p.add_argument("original", type=Path)
    p.add_argument("anonymized", type=Path)
    p.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                   help="output folder (default: ANONYMIZED's name + '_compare' beside it)")
    p.add_argument("--json", action="store_true", help="print the overall result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    add_pose_arguments(p)
    add_options(p, StudyOptions, exclude=("subject", "filter_hz", "backend", "control", "lossless"))
    p.set_defaults(func=run)


def _f(v: float, digits: int = 2) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{digits}f}"


def run(args: argparse.Namespace) -> int:
    from anonymotion.evaluation import compare
    from anonymotion.report.tables import table_text

    out_dir = args.output or args.anonymized.with_name(f"{args.anonymized.stem}_compare")
    with progress_bar(f"compare {args.anonymized.name}", quiet=args.quiet) as progress:
        result = compare(args.original, args.anonymized, out_dir, threshold=args.score_threshold, subject=args.subject,
                         filter_hz=args.filter_hz, progress=progress, max_frames=args.max_frames,
                         backend=args.backend)
    if args.json:
        print(json.dumps({k: v for k, v in result.to_json()["overall"].items()}, default=str))
        return 0
    if not args.quiet:
        o = result.overall
        print(f"{o['frames']} frames; EPE {_f(o['epe_px'])} px ({_f(o['epe_norm'], 3)} torso), "
              f"PTK {_f(o['ptk_pct'], 1)} %, PCK@0.05 {_f(o['pck_005'], 1)} %, PCK@0.1 {_f(o['pck_01'], 1)} %, "
              f"detection {_f(100 * o['detection_rate_ref'], 1)} % -> {_f(100 * o['detection_rate_test'], 1)} %, "
              f"confidence {_f(o['confidence_ref'], 3)} -> {_f(o['confidence_test'], 3)}")
        print(table_text(result.angles, ["angle", "rmse", "bias", "sd", "max_abs", "within_5deg_pct",
                                         "conf_orig", "conf_anon", "n"]))
        print(f"written to {out_dir}")
    return 0
