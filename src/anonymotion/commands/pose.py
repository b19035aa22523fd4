"""``anonymotion pose VIDEO``: keypoints and joint angles of one subject over a video."""

from __future__ import annotations

import argparse
from pathlib import Path

from anonymotion.progress import progress_bar


def add_pose_arguments(p: argparse.ArgumentParser, *, max_frames: bool = True) -> None:
    """Options shared by pose, compare and evaluate: subject, filter and pose backend come from
    :class:`anonymotion.config.StudyOptions` (one definition for every surface)."""
    from anonymotion.commands.options import add_options
    from anonymotion.config import StudyOptions

    add_options(p, StudyOptions, exclude=("score_threshold", "control", "lossless"))
    if max_frames:
        p.add_argument("--max-frames", type=int, default=None, metavar="N", help="only the first N frames")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pose", help="keypoints and joint angles of a video (CSV, plot, skeleton overlay)",
        description="Run pose estimation (MediaPipe BlazePose, 33 landmarks) over a video and write "
                    "PREFIX.pose.csv (frame, time, keypoint, x, y, score, world_x, world_y, world_z, lost), "
                    "PREFIX.angles.csv (2D angles with confidence, 3D angles) and PREFIX.angles.png.")
    p.add_argument("video", type=Path)
    p.add_argument("-o", "--output", type=Path, default=None, metavar="PREFIX",
                   help="output prefix (default: the video's path without extension)")
    p.add_argument("--overlay", nargs="?", const=True, default=None, metavar="PATH",
                   help="also write the video with the skeleton drawn (default PREFIX.posed.mp4)")
    p.add_argument("--layout", default="mediapipe", choices=["mediapipe", "coco17", "body25"],
                   help="keypoints in the pose CSV: MediaPipe's 33 (default), COCO-17 or OpenPose BODY-25 "
                        "(neck and mid-hip derived)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    add_pose_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anonymotion.evaluation import pose_video, write_pose_outputs

    prefix = args.output or args.video.with_suffix("")
    overlay = None
    if args.overlay is True:
        overlay = Path(f"{prefix}.posed.mp4")
    elif args.overlay:
        overlay = Path(args.overlay)
    with progress_bar(args.video.name, quiet=args.quiet) as progress:
        poses = pose_video(args.video, backend=args.backend, subject=args.subject, filter_hz=args.filter_hz,
                           progress=progress, overlay_path=overlay, max_frames=args.max_frames,
                           require_person=True)
    files = write_pose_outputs(poses, prefix, layout=args.layout)
    if not args.quiet:
        found = int(poses.present.sum())
        print(f"{args.video}: person found in {found} of {len(poses.t)} frames"
              + (f", subject lost in {int(poses.lost.sum())}" if poses.subject else ""))
        for path in [*files.values(), *([overlay] if overlay else [])]:
            print(f"  {path}")
    return 0
