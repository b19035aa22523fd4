"""``anonymotion anonymize``: de-identify videos, images and folders of them."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from anonymotion.config import AnonymizeConfig
from anonymotion.errors import AnonymotionError
from anonymotion.io.naming import plan_jobs
from anonymotion.commands.options import add_config_arguments, config_from_args
from anonymotion.progress import progress_bar

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("anonymize", help="de-identify faces in videos and images",
                       description="De-identify videos and images. Outputs: X_anonymized.mp4 (or image), "
                                   "X_anonymized.regions.jsonl and X_anonymized.manifest.json.")
    p.add_argument("inputs", nargs="+", type=Path, help="video/image files or folders")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="output file for one input, output folder for several or for a folder")
    p.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    p.add_argument("--strict", action="store_true",
                   help="exit code 3 when an output needs review (e.g. no face found in the whole video); "
                        "a warning only by default")
    p.add_argument("--calibration", type=Path, default=None, metavar="FILE",
                   help="the inputs are synchronised views of one calibrated set-up (Qualisys .qca.txt or "
                        "Calib.toml): anonymize them together, a head found in any view covered in every view")
    add_config_arguments(p)
    p.set_defaults(func=run)


def run_views(args: argparse.Namespace, config: AnonymizeConfig) -> int:
    """``anonymize CAM1 CAM2 ... --calibration FILE``: cross-view masking (see :mod:`anonymotion.multiview.masking`)."""
    from anonymotion.errors import ConfigError
    from anonymotion.multiview.masking import anonymize_views
    from anonymotion.pipeline.outputs import default_output

    if args.recursive or any(p.is_dir() for p in args.inputs):
        raise ConfigError(None, "with --calibration give one video file per camera, not folders")
    outputs = None
    if args.output is not None:
        if args.output.suffix:
            raise ConfigError(args.output, "with --calibration -o is an output folder (one output per view)")
        outputs = [args.output / default_output(p).name for p in args.inputs]
    with progress_bar("anonymize views", quiet=args.quiet) as progress:
        results = anonymize_views(args.inputs, args.calibration, outputs, config=config, progress=progress)
    if not args.quiet:
        import json

        for r in results:
            block = json.loads(r.manifest_path.read_text())["multiview"]
            print(f"{r.input} -> {r.output} ({r.frames} frames, {r.faces} regions, {r.held} held; "
                  f"{block['covered_only_by_other_views']} head-frames covered only thanks to other views)")
    return 0


def run(args: argparse.Namespace) -> int:
    from anonymotion.pipeline import anonymize

    config = config_from_args(args)
    if args.calibration is not None:
        return run_views(args, config)
    jobs = plan_jobs(args.inputs, args.output, args.recursive)
    if not jobs:
        print("anonymotion: error: no video or image files found in "
              + ", ".join(str(p) for p in args.inputs), file=sys.stderr)
        return 2
    failed = audits_failed = reviews = 0
    for n, job in enumerate(jobs, 1):
        label = job.input.name if len(jobs) == 1 else f"[{n}/{len(jobs)}] {job.input.name}"
        try:
            with progress_bar(label, quiet=args.quiet) as progress:
                result = anonymize(job.input, job.output, config=config, progress=progress)
        except AnonymotionError as exc:
            failed += 1
            print(f"anonymotion: error: {exc}", file=sys.stderr)
            if len(jobs) == 1:
                return exc.exit_code
            continue
        if result.audit and result.audit["verdict"] != "pass":
            audits_failed += 1
            print(f"anonymotion: audit failed for {result.output}: see {result.audit['report']}", file=sys.stderr)
        if result.damaged_frames:
            print(f"anonymotion: warning: {job.input}: damaged: {result.damaged_frames} frame(s), each blurred "
                  f"whole in {result.output.name} (listed in its manifest)", file=sys.stderr)
        for reason in result.review:
            print(f"anonymotion: warning: {job.input}: review needed: {reason}", file=sys.stderr)
        reviews += bool(result.review)
        if not args.quiet:
            audit = (f", audit {result.audit['verdict']} ({result.audit['leaked_face_frames']} leaked face-frames)"
                     if result.audit else "")
            damaged = f", damaged: {result.damaged_frames} frames covered whole" if result.damaged_frames else ""
            review = ", REVIEW NEEDED" if result.review else ""
            print(f"{job.input} -> {result.output} ({result.frames} frames, {result.faces} faces, "
                  f"{result.held} held{damaged}{audit}{review})")
    if failed:
        print(f"anonymotion: {failed} of {len(jobs)} files failed", file=sys.stderr)
        return 1
    if reviews and args.strict:
        print(f"anonymotion: {reviews} of {len(jobs)} output(s) need review (--strict)", file=sys.stderr)
    return 3 if audits_failed or (reviews and args.strict) else 0
