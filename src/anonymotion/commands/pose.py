"""``anonymotion pose VIDEO``: keypoints and joint angles of every person (or one subject) over a video."""

from __future__ import annotations

import argparse
from pathlib import Path

from anonymotion.progress import progress_bar


#: StudyOptions fields that are pose options (added by :func:`add_pose_arguments`; other commands exclude them).
POSE_FIELDS = ("subject", "filter_hz", "backend", "num_poses", "detect_persons_every")
_STUDY_FIELDS = ("score_threshold", "subject", "filter_hz", "backend", "num_poses", "detect_persons_every",
                 "control", "lossless")


def pose_options(args: argparse.Namespace) -> dict:
    """Backend options from the parsed pose arguments (empty for a single-person backend)."""
    from anonymotion.commands.options import from_args
    from anonymotion.config import StudyOptions

    return from_args(StudyOptions, args).validated().pose_options()


def add_pose_arguments(p: argparse.ArgumentParser, *, max_frames: bool = True) -> None:
    """Options shared by pose, compare and evaluate: subject, filter and pose backend come from
    :class:`anonymotion.config.StudyOptions` (one definition for every surface)."""
    from anonymotion.commands.options import add_options
    from anonymotion.config import StudyOptions

    add_options(p, StudyOptions, exclude=tuple(f for f in _STUDY_FIELDS if f not in POSE_FIELDS))
    if max_frames:
        p.add_argument("--max-frames", type=int, default=None, metavar="N", help="only the first N frames")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pose", help="keypoints and joint angles of a video (CSV, plot, skeleton overlay)",
        description="Run pose estimation (MediaPipe BlazePose, 33 landmarks) over a video for every person "
                    "(stable person ids) and write PREFIX.pose.csv (frame, time, person, keypoint, x, y, score, "
                    "world_x, world_y, world_z, lost), PREFIX.angles.csv (per frame and person: 2D angles with "
                    "confidence, 3D angles) and PREFIX.angles.png (the subject's angles).")
    p.add_argument("video", type=Path)
    p.add_argument("-o", "--output", type=Path, default=None, metavar="PREFIX",
                   help="output prefix (default: the video's path without extension)")
    p.add_argument("--overlay", nargs="?", const=True, default=None, metavar="PATH",
                   help="also write the video with every person's skeleton and id drawn (default PREFIX.posed.mp4)")
    p.add_argument("--layout", default="mediapipe", choices=["mediapipe", "coco17", "body25"],
                   help="keypoints in the pose CSV: MediaPipe's 33 (default), COCO-17 or OpenPose BODY-25 "
                        "(neck and mid-hip derived)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    add_pose_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anonymotion.evaluation import pose_persons, pose_video, write_pose_outputs
    from anonymotion.pose.backend import is_multi_person

    prefix = args.output or args.video.with_suffix("")
    overlay = None
    if args.overlay is True:
        overlay = Path(f"{prefix}.posed.mp4")
    elif args.overlay:
        overlay = Path(args.overlay)
    multi = is_multi_person(args.backend)
    with progress_bar(args.video.name, quiet=args.quiet) as progress:
        if multi or args.subject is None:  # every person (the legacy model: the one it finds), with ids
            poses = pose_persons(args.video, backend=args.backend, filter_hz=args.filter_hz, progress=progress,
                                 overlay_path=overlay, max_frames=args.max_frames, require_person=True,
                                 **pose_options(args))
        else:  # the legacy model following one subject on crops
            poses = pose_video(args.video, backend=args.backend, subject=args.subject, filter_hz=args.filter_hz,
                               progress=progress, overlay_path=overlay, max_frames=args.max_frames,
                               require_person=True)
    if multi and args.subject is not None:
        from anonymotion.evaluation import NoPersonError

        keep = poses.subject_id(args.subject)
        if keep is None:
            raise NoPersonError(args.video, f"no person found at the subject ({args.subject})")
        poses = poses.only([keep])
    files = write_pose_outputs(poses, prefix, layout=args.layout, subject=args.subject)
    if not args.quiet:
        if hasattr(poses, "ids"):
            found = poses.present.sum(axis=1)
            who = ", ".join(f"#{int(i)} in {int(n)}" for i, n in zip(poses.ids, found)) or "nobody"
            print(f"{args.video}: {len(poses.ids)} person(s) over {len(poses.t)} frames ({who} frames)"
                  + (f"; subject {args.subject}" if args.subject else f"; most visible #{poses.subject_id()}"))
        else:
            print(f"{args.video}: person found in {int(poses.present.sum())} of {len(poses.t)} frames"
                  + (f", subject lost in {int(poses.lost.sum())}" if poses.subject else ""))
        for path in [*files.values(), *([overlay] if overlay else [])]:
            print(f"  {path}")
    return 0
