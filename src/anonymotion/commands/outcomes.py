"""``anonymotion outcomes VIDEO... [-o DIR]``: gait events and clinical outcomes per person and cycle."""

from __future__ import annotations

import argparse
from pathlib import Path

from anonymotion.commands.pose import add_pose_arguments
from anonymotion.progress import progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "outcomes", help="gait events, cadence, step/stride time, stance/swing, ROM and peak angles per cycle",
        description="Pose each video, find heel strikes and toe offs per foot (Zeni et al. 2008: heel farthest "
                    "ahead of the pelvis, toe farthest behind it, along the walking direction), and write "
                    "DIR/outcomes.csv (one row per person x cycle x outcome: cadence, stride and step time, "
                    "stance and swing %, and for hip, knee, ankle and elbow the range of motion, peak and time "
                    "of peak in % of the cycle), the angle curves over the gait cycle (mean ± SD) and the events "
                    "plot. A video without walking reports that no gait cycle was found.")
    p.add_argument("videos", nargs="+", type=Path)
    p.add_argument("-o", "--output", type=Path, default=Path("outcomes"), metavar="DIR",
                   help="output folder (default ./outcomes)")
    p.add_argument("--dims", type=int, choices=(2, 3), default=2,
                   help="2: image-plane keypoints and 2D angles (default); 3: MediaPipe world landmarks and 3D angles")
    g = p.add_argument_group("gait events")
    g.add_argument("--min-stride", type=float, default=0.6, metavar="S", help="shortest stride accepted, s (default 0.6)")
    g.add_argument("--max-stride", type=float, default=2.5, metavar="S", help="longest stride accepted, s (default 2.5)")
    g.add_argument("--prominence", type=float, default=0.15, metavar="LEGS",
                   help="how far (leg lengths) a heel/toe extreme must stand out to be an event (default 0.15)")
    g.add_argument("--event-cutoff", type=float, default=6.0, metavar="HZ",
                   help="low-pass of the heel/toe signals before finding events, Hz; 0 for none (default 6)")
    p.add_argument("--score-threshold", type=float, default=0.5, help="keypoint score threshold (default 0.5)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    add_pose_arguments(p)
    p.set_defaults(func=run)


def params_from_args(args: argparse.Namespace):
    """GaitEventParams from the command-line options (ConfigError on impossible values)."""
    from anonymotion.errors import ConfigError
    from anonymotion.kinematics.gait_events import GaitEventParams

    if not 0 < args.min_stride < args.max_stride:
        raise ConfigError(None, f"--min-stride ({args.min_stride:g} s) must be positive and below --max-stride "
                                f"({args.max_stride:g} s)")
    if args.prominence <= 0:
        raise ConfigError(None, f"--prominence must be positive, got {args.prominence:g}")
    if not 0 <= args.score_threshold <= 1:
        raise ConfigError(None, f"--score-threshold must be in [0, 1], got {args.score_threshold:g}")
    return GaitEventParams(min_stride_s=args.min_stride, max_stride_s=args.max_stride,
                           cutoff_hz=args.event_cutoff or None, prominence=args.prominence,
                           score_threshold=args.score_threshold)


def run(args: argparse.Namespace) -> int:
    from anonymotion.evaluation.outcomes import summary_rows, video_outcomes, write_outcome_outputs
    from anonymotion.io.video import probe
    from anonymotion.report.tables import table_text

    params = params_from_args(args)
    for v in args.videos:
        probe(v)  # every input is checked before any work is done
    results = []
    for video in args.videos:
        with progress_bar(video.name, quiet=args.quiet) as progress:
            results.append(video_outcomes(video, backend=args.backend, subject=args.subject,
                                          filter_hz=args.filter_hz, max_frames=args.max_frames, dims=args.dims,
                                          params=params, progress=progress))
    files = write_outcome_outputs(results, args.output)
    if not args.quiet:
        for res in results:
            print(f"== {res.video}")
            rows = summary_rows(res)
            walking = [r for r in rows if r["cycles"]]
            if walking:
                print(table_text(walking, ["person", "cycles", "left", "right", "cadence", "stride_time", "step_time",
                                           "stance", "hip_rom", "knee_rom", "ankle_rom", "elbow_rom"]))
            for r in rows:
                if not r["cycles"]:
                    print(f"person {r['person']}: {r['note']}")
        for path in files.values():
            print(f"  {path}")
    return 0
