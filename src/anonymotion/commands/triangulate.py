"""``anonymotion triangulate CAM1 CAM2 ... --calibration FILE -o DIR``: 3D keypoints and angles per person."""

from __future__ import annotations

import argparse
from pathlib import Path

from anonymotion.errors import OutputError
from anonymotion.progress import progress_bar


def add_multiview_arguments(p: argparse.ArgumentParser, *, offsets: bool = True) -> None:
    """Options of the multi-view engine (from :class:`~anonymotion.multiview.tracking.TriangulationConfig`)."""
    from anonymotion.commands.options import add_options
    from anonymotion.multiview.tracking import TriangulationConfig

    add_options(p, TriangulationConfig)
    if offsets:
        p.add_argument("--offsets", default=None, metavar="S1,S2,...",
                       help="start time of each video in seconds relative to the others (default: all start together)")


def multiview_config(args: argparse.Namespace):
    """The TriangulationConfig of the parsed options."""
    from anonymotion.commands.options import from_args
    from anonymotion.multiview.tracking import TriangulationConfig

    return from_args(TriangulationConfig, args)


def parse_offsets(text: str | None, count: int) -> list[float] | None:
    """'0,0.033,...' -> one float per video; ConfigError when the count differs."""
    from anonymotion.errors import ConfigError

    if not text:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(None, f"--offsets {text!r}: expected comma-separated seconds") from None
    if len(values) != count:
        raise ConfigError(None, f"--offsets gives {len(values)} values for {count} videos")
    return values


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "triangulate", help="3D keypoints and joint angles of every person from calibrated, synchronised videos",
        description="Run pose on every view, associate persons across views, triangulate (confidence-weighted DLT, "
                    "worst view dropped above --max-error) and write per person PERSON.trc (metres, Y up), "
                    "PERSON.points3d.csv (mm), PERSON.angles3d.csv, PERSON.png, plus reprojection.csv, "
                    "summary.json and calibration.toml into DIR.")
    p.add_argument("videos", nargs="+", type=Path, metavar="VIDEO", help="one video per camera (matched by name or order)")
    p.add_argument("--calibration", type=Path, required=True, metavar="FILE",
                   help="Qualisys .qca.txt or Pose2Sim/OpenCV Calib.toml")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--force", action="store_true", help="replace the results of an earlier run in DIR")
    p.add_argument("--backend", default=None,
                   help="pose backend run on every view (default: the multi-person backend when available)")
    p.add_argument("--max-frames", type=int, default=None, metavar="N", help="only the first N synchronised frames")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    add_multiview_arguments(p)
    p.set_defaults(func=run)


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse a folder that already holds a run's results unless ``force``."""
    if (out / "summary.json").exists() and not force:
        raise OutputError(out, "already holds triangulation results (summary.json); use --force to replace them")


def run(args: argparse.Namespace) -> int:
    from anonymotion.multiview import read_calibration, triangulate, write_calibration
    from anonymotion.multiview.outputs import summary_error, write_multiview_outputs
    from anonymotion.multiview.run import cameras_for_videos
    from anonymotion.io.video import probe

    calibration = read_calibration(args.calibration)
    calibration.for_videos(args.videos)  # camera count checked before any decoding
    check_output_dir(args.output, args.force)
    offsets = parse_offsets(args.offsets, len(args.videos))
    with progress_bar("triangulate", quiet=args.quiet) as progress:
        result = triangulate(args.videos, calibration, backend=args.backend, config=multiview_config(args),
                             max_frames=args.max_frames, offsets=offsets, progress=progress)
    files = write_multiview_outputs(result, args.output, plots=not args.no_plots)
    cams = cameras_for_videos(calibration, args.videos, [probe(v) for v in args.videos])
    files["calibration.toml"] = write_calibration(cams, args.output / "calibration.toml")
    if not args.quiet:
        print(f"{len(result.t)} synchronised frames, {len(result.persons)} person(s) triangulated")
        if not result.persons:
            print("no person was seen in two views at once: nothing to triangulate")
        for p in result.persons:
            med = summary_error(p)
            print(f"  {p.id}: {int(p.present.sum())} frames, median reprojection error "
                  + (f"{med:.1f} px" if med is not None else "n/a"))
        for path in files.values():
            print(f"  {path}")
    return 0
