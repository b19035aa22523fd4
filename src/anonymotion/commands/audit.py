"""``anonymotion audit``: prove that nothing recognisable or identifying survived.

    anonymotion audit ORIGINAL ANONYMIZED   faces leaked + residual faces + metadata
    anonymotion audit ANONYMIZED            residual faces + metadata

Writes ``<anonymized stem>.audit.json`` (beside the anonymized video, or in ``--out-dir``)
and prints a summary. Exit codes: 0 pass, 3 fail (a leak, a residual face or a metadata
finding), 2 error (unreadable input, bad option).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from anonymotion.audit.report import EXIT_FAIL, EXIT_PASS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit", help="check an anonymized video for leaked faces and identifying metadata",
        description="Audit an anonymized video: faces of the original whose identifiable detail survived "
                    "(leaks), faces still detectable in the output on areas that kept the original's detail, and "
                    "tags/streams left in the file. The faces are found by detectors independent of and stricter "
                    "than the anonymizer's (read from the output's manifest). "
                    f"Exit code {EXIT_PASS} on pass, {EXIT_FAIL} on fail, 2 on error.")
    p.add_argument("videos", nargs="+", type=Path, metavar="VIDEO",
                   help="ORIGINAL ANONYMIZED, or ANONYMIZED alone (residual faces and metadata only)")
    p.add_argument("-o", "--output", "--out-dir", dest="out_dir", type=Path, default=None, metavar="DIR",
                   help="folder for <anonymized stem>.audit.json (default: beside the anonymized video)")
    p.add_argument("--json", type=Path, default=None, dest="json_path", help="exact path of the JSON report")
    p.add_argument("--leak-crops", type=Path, default=None, metavar="DIR",
                   help="write a PNG crop of every leaked face into DIR for a reviewer (never by default)")
    p.add_argument("--max-frames", type=int, default=None, help="audit only the first N frames")
    p.add_argument("--allow-audio", action="store_true", help="accept an audio stream kept on purpose")
    p.add_argument("--anonymized-with", default=None, metavar="DETECTOR[,DETECTOR...]|unknown",
                   help="the face detector(s) the output was anonymized with, when its manifest is missing or "
                        "wrong (default: read <anonymized stem>.manifest.json beside it). The audit looks with "
                        "at least one other detector, and with these at stricter settings")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anonymotion.audit import AuditSettings, audit
    from anonymotion.errors import ConfigError
    from anonymotion.progress import progress_bar

    if len(args.videos) > 2:
        raise ConfigError(None, f"audit takes ORIGINAL ANONYMIZED or ANONYMIZED, not {len(args.videos)} files")
    settings = AuditSettings(anonymized_with=args.anonymized_with)
    if len(args.videos) == 2:
        original, anonymized = args.videos
    else:
        original, anonymized = args.videos[0], None
    out_dir = args.out_dir if args.out_dir is not None else (anonymized or original).parent
    with progress_bar("audit", quiet=args.quiet) as progress:
        result = audit(original, anonymized, out_dir=out_dir, json_path=args.json_path, progress=progress,
                       max_frames=args.max_frames, leak_crops=args.leak_crops, allow_audio=args.allow_audio,
                       settings=settings)
    if not args.quiet:
        print(result.summary(), file=sys.stdout)
    return result.exit_code
