"""Command-line entry point: ``anonymotion <command> ...``.

Subcommands live in ``anonymotion.commands.<name>``; each module's ``register(subparsers)``
adds its parser and sets ``func`` (args -> exit code). Errors the user can act on are
printed as one line ``anonymotion: error: <file>: <problem>`` with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from anonymotion import __version__
from anonymotion.errors import AnonymotionError

COMMANDS = ("anonymize", "pose", "compare", "evaluate", "outcomes", "triangulate", "audit", "keygen", "recover",
            "batch", "serve")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anonymotion",
        description="De-identify videos of people and prove the motion data survived.",
    )
    parser.add_argument("--version", action="version", version=f"anonymotion {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (debug level)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module_name = f"anonymotion.commands.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "quiet", False):  # -q: also silence the native libraries' start-up lines
        from anonymotion.progress import native_stderr_silenced

        with native_stderr_silenced():
            return _run(parser, args)
    return _run(parser, args)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except AnonymotionError as exc:
        print(f"anonymotion: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("anonymotion: interrupted; unfinished outputs were removed", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
