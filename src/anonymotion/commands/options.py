"""Command-line options generated from the typed configs, so CLI ≡ Python API ≡ web ≡ batch.

Each field of :class:`~anonymotion.config.AnonymizeConfig` and
:class:`~anonymotion.config.StudyOptions` declares its help, units and choices once
(:func:`anonymotion.config.option`); :func:`add_options` turns them into argparse options
named after the field (``face_threshold`` -> ``--face-threshold``) and :func:`from_args`
builds the config back from the parsed arguments. Deprecated spellings stay accepted as
aliases and print the new name.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, TypeVar

from anonymotion.config import AnonymizeConfig
from anonymotion.io.video import Limits

T = TypeVar("T")


def flag_of(f: Any) -> str:
    """The option string of config field ``f`` (``--face-threshold`` for ``face_threshold``)."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


class _Deprecated(argparse.Action):
    """Stores like the new option and tells the user its new name once."""

    def __init__(self, *args: Any, new: str, inner: type[argparse.Action] | str = "store", **kwargs: Any) -> None:
        self.new = new
        self.store_const = inner == "store_true"
        if self.store_const:
            kwargs.update(nargs=0)
        super().__init__(*args, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"anonymotion: warning: {option_string} is deprecated; use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, True if self.store_const else values)


def add_options(parser: argparse.ArgumentParser, cls: type, *, exclude: tuple[str, ...] = ()) -> None:
    """Add one option per CLI field of dataclass ``cls`` (defaults: the dataclass defaults)."""
    group = parser.add_argument_group(f"{cls.__name__} options")
    for f in fields(cls):
        meta = f.metadata
        if f.name in exclude or not meta or meta.get("cli", True) is False:
            continue
        default = f.default if f.default is not MISSING else None
        flag = flag_of(f)
        kwargs: dict[str, Any] = {"dest": f.name, "help": meta["help"]}
        if f.type in ("bool", bool) or isinstance(default, bool):
            kwargs.update(action="store_false" if meta.get("negate") else "store_true", default=default)
            inner: Any = "store_true"
        else:
            typ = meta.get("type", str)
            kwargs.update(default=None if typ == "csv" else default,
                          type=(lambda v: tuple(x.strip() for x in v.split(",") if x.strip())) if typ == "csv" else typ)
            for extra in ("choices", "metavar", "nargs", "const"):
                if extra in meta:
                    kwargs[extra] = meta[extra]
            inner = "store"
        group.add_argument(flag, **kwargs)
        for alias in meta.get("aliases", ()):
            alias_kwargs = {k: v for k, v in kwargs.items() if k not in ("action", "help", "default")}
            if inner == "store_true":
                alias_kwargs.pop("type", None)
            group.add_argument(alias, action=_Deprecated, new=flag, inner=inner, help=argparse.SUPPRESS,
                               default=argparse.SUPPRESS, **alias_kwargs)


def from_args(cls: type[T], args: argparse.Namespace, **overrides: Any) -> T:
    """Build dataclass ``cls`` from parsed arguments (fields the parser lacks keep their defaults)."""
    values = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
    values.update(overrides)
    obj = cls(**values)
    validated = getattr(obj, "validated", None)
    return validated() if callable(validated) else obj


def add_config_arguments(p: argparse.ArgumentParser, *, exclude: tuple[str, ...] = ()) -> None:
    """Options of :class:`AnonymizeConfig` plus the input limits, for every command that anonymizes."""
    add_options(p, AnonymizeConfig, exclude=exclude)
    p.add_argument("--max-pixels", type=int, default=Limits().max_pixels, help="refuse frames larger than this")
    p.add_argument("--max-fps", type=float, default=Limits().max_fps, help="refuse frame rates above this")


def config_from_args(args: argparse.Namespace, **overrides: Any) -> AnonymizeConfig:
    """The AnonymizeConfig of parsed arguments (limits from --max-pixels / --max-fps)."""
    limits = Limits(max_pixels=args.max_pixels, max_fps=args.max_fps,
                    max_width=max(Limits().max_width, int(args.max_pixels ** 0.5)),
                    max_height=max(Limits().max_height, int(args.max_pixels ** 0.5)))
    if getattr(args, "key_file", None) is not None:
        overrides.setdefault("key_file", Path(args.key_file))
    return from_args(AnonymizeConfig, args, limits=limits, **overrides)
