"""``anonymotion anonymize``: de-identify videos, images and folders of them."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

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
    add_config_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anonymotion.pipeline import anonymize

    config = config_from_args(args)
    jobs = plan_jobs(args.inputs, args.output, args.recursive)
    if not jobs:
        print("anonymotion: error: no video or image files found in "
              + ", ".join(str(p) for p in args.inputs), file=sys.stderr)
        return 2
    failed = audits_failed = 0
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
        if not args.quiet:
            audit = (f", audit {result.audit['verdict']} ({result.audit['leaked_face_frames']} leaked face-frames)"
                     if result.audit else "")
            print(f"{job.input} -> {result.output} ({result.frames} frames, {result.faces} faces, "
                  f"{result.held} held{audit})")
    if failed:
        print(f"anonymotion: {failed} of {len(jobs)} files failed", file=sys.stderr)
        return 1
    return 3 if audits_failed else 0
