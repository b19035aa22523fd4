"""``anonymotion recover ANON.mp4 --recovery FILE --key KEYFILE -o restored.mp4``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recover", help="restore the original pixels of a recoverable anonymization",
                       description="Put the original pixels stored (encrypted) in a *.recovery sidecar back into "
                                   "the anonymized video. Refuses a wrong key, a modified sidecar and a sidecar "
                                   "made for another video; nothing is written then.")
    p.add_argument("video", type=Path, help="the anonymized video (as written by anonymize --recoverable)")
    p.add_argument("--recovery", type=Path, default=None,
                   help="the sidecar (default: VIDEO with the extension .recovery)")
    p.add_argument("--key", type=Path, default=None, help="key file (from 'anonymotion keygen')")
    p.add_argument("--passphrase-env", default=None, help="environment variable holding the passphrase")
    p.add_argument("-o", "--output", type=Path, default=None, help="restored video (default VIDEO_restored.mp4)")
    p.add_argument("--crf", type=int, default=10, help="H.264 quality of the restored video (default 10)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anonymotion.recovery.reader import recover
    from anonymotion.recovery.sidecar import load_key
    from anonymotion.errors import ConfigError
    from anonymotion.progress import progress_bar

    if not 0 <= args.crf <= 51:
        raise ConfigError(None, f"--crf must be between 0 and 51, not {args.crf}")
    recovery = args.recovery or args.video.with_suffix(".recovery")
    out = args.output or args.video.with_name(f"{args.video.stem}_restored.mp4")
    key = load_key(args.key, args.passphrase_env, prompt=args.key is None and not args.passphrase_env)
    with progress_bar(args.video.name, quiet=args.quiet) as progress:
        recover(args.video, recovery, key, out, progress=progress, crf=args.crf)
    if not args.quiet:
        print(f"{args.video} + {recovery} -> {out}")
    return 0
