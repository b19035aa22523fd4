"""``anonymotion outcomes VIDEO... [-o DIR]``: gait events and clinical outcomes per person and cycle."""

from __future__ import annotations

import argparse
from pathlib import Path

from anonymotion.commands.options import add_options, from_args
from anonymotion.commands.pose import add_pose_arguments
from anonymotion.kinematics.gait_events import GaitEventParams
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
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    add_pose_arguments(p)
    add_options(p, GaitEventParams)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from anonymotion.evaluation.outcomes import summary_rows, video_outcomes, write_outcome_outputs
    from anonymotion.io.video import probe
    from anonymotion.report.tables import table_text

    params = from_args(GaitEventParams, args)
    if not params.cutoff_hz:
        params = replace(params, cutoff_hz=None)
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
