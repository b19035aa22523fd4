"""``anonymotion keygen KEYFILE``: a new random key for recoverable anonymization (mode 0600)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keygen", help="create a key file for --recoverable anonymization",
                       description="Write a new random 256-bit key to KEYFILE, readable only by you (0600). "
                                   "Keep it safe: without it the original pixels cannot be recovered.")
    p.add_argument("keyfile", type=Path, help="where to write the key (must not exist)")
    p.add_argument("--force", action="store_true", help="replace an existing key file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anonymotion.recovery.keys import generate_key_file

    path = generate_key_file(args.keyfile, force=args.force)
    print(f"key written to {path} (mode 600); keep a safe copy, it cannot be regenerated")
    return 0
