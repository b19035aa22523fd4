"""``anonymotion batch INPUT_DIR OUTPUT_DIR``: a whole dataset on Dask, resumable, with a report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from anonymotion.commands.options import add_config_arguments, add_options, config_from_args, from_args
from anonymotion.config import StudyOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch", help="anonymize a folder tree on a Dask cluster (resumable) with a dataset report",
        description="Anonymize every video and image under INPUT_DIR into OUTPUT_DIR (the tree is mirrored) "
                    "with Dask: a local cluster of one process per core, or an existing one (--scheduler). "
                    "OUTPUT_DIR/batch_manifest.json records each input's hash, parameters and status, so a "
                    "rerun skips what is done and redoes what changed or failed. Writes OUTPUT_DIR/report.html "
                    "and report*.csv. --methods takes a comma-separated list (e.g. blur,pixelate): each method's "
                    "outputs then go to OUTPUT_DIR/<method>/. Exit code 1 when any input failed.")
    p.add_argument("input_dir", type=Path, help="folder of videos and images (searched recursively)")
    p.add_argument("output_dir", type=Path, help="output folder (created; must differ from INPUT_DIR)")
    p.add_argument("--evaluate", action="store_true",
                   help="pose original and anonymized videos and compare them (EPE, PTK, joint angles), with a "
                        "re-encode control")
    p.add_argument("--audit", action="store_true", help="audit every anonymized video for face leaks")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: one per CPU core; 1 thread each)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use an existing Dask cluster, e.g. tcp://HOST:8786 (workers need the same paths)")
    p.add_argument("--coco", type=Path, default=None, metavar="ANNOTATIONS.json",
                   help="COCO keypoint annotations of the images in INPUT_DIR: head regions come from the annotated "
                        "keypoints; images keep their names and the annotation file is copied unchanged")
    p.add_argument("--force", action="store_true", help="redo inputs the manifest records as done")
    p.add_argument("--no-report", action="store_true", help="do not write report.html / report*.csv")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or per-file lines")
    p.add_argument("--methods", default=None, metavar="M1,M2",
                   help="comma-separated methods; each method's outputs go to OUTPUT_DIR/<method>/ when several "
                        "(default: --method)")
    add_config_arguments(p, exclude=("audit",))
    add_options(p, StudyOptions, exclude=("lossless",))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anonymotion.batch.runner import parse_methods, run_batch
    from anonymotion.errors import ConfigError

    if "," in args.method:  # the old spelling of --methods
        print("anonymotion: warning: --method with a comma list is deprecated; use --methods", file=sys.stderr)
        args.methods = args.methods or args.method
    methods = parse_methods(args.methods or args.method)
    args.method = methods[0]
    if args.workers is not None and args.workers < 1:
        raise ConfigError(None, f"--workers must be at least 1, not {args.workers}")
    config = config_from_args(args)
    options = from_args(StudyOptions, args)
    summary = run_batch(args.input_dir, args.output_dir, config, methods, evaluate=args.evaluate,
                        audit=args.audit, options=options,
                        workers=args.workers, scheduler=args.scheduler, coco=args.coco, force=args.force,
                        report=not args.no_report, quiet=args.quiet)
    for w in summary.warnings:
        print(f"anonymotion: warning: {w}", file=sys.stderr)
    if not args.quiet:
        print(f"{summary.total} input(s): {summary.processed} processed, {summary.skipped} already done, "
              f"{len(summary.failed)} failed; {summary.frames} frames in {summary.seconds:.1f} s")
        if summary.report:
            print(f"report: {summary.report}")
    if summary.failed:
        print(f"anonymotion: {len(summary.failed)} of {summary.total} input(s) failed:", file=sys.stderr)
        for key, error in summary.failed:
            print(f"  {key}: {error}", file=sys.stderr)
        return 1
    return 0
