"""Finding the media files to process and naming their outputs (folders mirror the input tree).

Output names are refused when two inputs would be written to the same file (``clip.mp4``
and ``clip.mov`` both -> ``clip_anonymized.mp4``): one output would silently overwrite the
other, so :func:`refuse_collisions` stops the run before any work, naming both inputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from anonymotion.errors import ConfigError, InputError
from anonymotion.io.images import IMAGE_EXTENSIONS
from anonymotion.io.video import VIDEO_EXTENSIONS

MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | IMAGE_EXTENSIONS


@dataclass(frozen=True)
class Job:
    """One input file and where its output goes."""

    input: Path
    output: Path


def is_media(path: Path) -> bool:
    return path.suffix.lower() in MEDIA_EXTENSIONS and not path.name.startswith(".")


def find_media(folder: Path, recursive: bool) -> list[Path]:
    """Every video and image file in ``folder`` (sorted), skipping our own outputs."""
    pattern = folder.rglob("*") if recursive else folder.glob("*")
    return sorted(p for p in pattern if p.is_file() and is_media(p) and "_anonymized" not in p.stem)


def output_name(path: Path) -> str:
    """Output file name for an input: ``clip.mov`` -> ``clip_anonymized.mp4``; images keep their suffix."""
    suffix = path.suffix.lower() if path.suffix.lower() in IMAGE_EXTENSIONS else ".mp4"
    return f"{path.stem}_anonymized{suffix}"


def plan_jobs(inputs: Iterable[Path], out: Path | None, recursive: bool) -> list[Job]:
    """Expand inputs (files and folders) into jobs.

    With one file input, ``out`` is the output file (default beside the input); an ``out``
    that is a folder, or has no file suffix (``-o results``), is the folder to write it into
    (created). With a folder or several inputs, ``out`` is a folder (default: beside each input) and the
    folder's tree is mirrored under it.
    """
    inputs = [Path(p) for p in inputs]
    for p in inputs:
        if not p.exists():
            raise InputError(p, "file not found")
    single = len(inputs) == 1 and inputs[0].is_file()
    if single:
        src = inputs[0]
        if out is None:
            return [Job(src, src.with_name(output_name(src)))]
        if out.is_dir() or (not out.suffix and not out.exists()):
            return [Job(src, out / output_name(src))]
        return [Job(src, out)]
    jobs: list[Job] = []
    for p in inputs:
        if p.is_dir():
            for f in find_media(p, recursive):
                rel = f.relative_to(p).parent
                target = (out / rel) if out is not None else f.parent
                jobs.append(Job(f, target / output_name(f)))
        else:
            target = out if out is not None else p.parent
            jobs.append(Job(p, target / output_name(p)))
    refuse_collisions([(j.input, j.output) for j in jobs])
    return jobs


def refuse_collisions(pairs: Iterable[tuple[Path, Path]]) -> None:
    """ConfigError when two inputs map to one output (or an output is another job's input)."""
    seen: dict[Path, Path] = {}
    inputs = {Path(i).absolute() for i, _ in pairs}
    for src, dst in pairs:
        key = Path(dst).absolute()
        if key in seen and seen[key] != Path(src).absolute():
            raise ConfigError(dst, f"{seen[key]} and {src} would both be written here and one would overwrite the "
                                   "other; rename one of them or anonymize them into different folders")
        if key in inputs:
            raise ConfigError(dst, f"the output of {src} would overwrite an input of this run")
        seen[key] = Path(src).absolute()
