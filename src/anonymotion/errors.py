"""Typed exceptions with messages a user can act on.

Every message names the file concerned and the problem; the CLI prints it on one line
and exits non-zero.
"""

from __future__ import annotations

from pathlib import Path


class AnonymotionError(Exception):
    """Base class: a problem the user can act on (bad input, bad option, unwritable output)."""

    exit_code = 2

    def __init__(self, path: Path | str | None, problem: str):
        self.path = str(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class InputError(AnonymotionError):
    """The input file is missing, unreadable, not a video/image, or has no video stream."""


class LimitExceededError(InputError):
    """The input is larger than the configured limits (frame size, frame rate, duration)."""


class PartialDecodeError(InputError):
    """The input decoded only partly (truncated or corrupt); the output was discarded."""


class DamagedInputError(InputError):
    """The decoder found damaged frames (it had to conceal errors or lost data); nothing was
    written. ``--accept-damaged`` anonymizes such a file, covering each damaged frame whole.

    frames: damaged or lost frames counted over the whole file; first_t: seconds to the first.
    """

    def __init__(self, path: Path | str | None, problem: str, frames: int = 0, first_t: float | None = None):
        super().__init__(path, problem)
        self.frames = frames
        self.first_t = first_t


class OutputError(AnonymotionError):
    """The output cannot be written (directory missing or unwritable, disk full...)."""


class ConfigError(AnonymotionError):
    """An option has an invalid value."""


class MissingDependencyError(ConfigError):
    """An option needs a package that cannot be imported (e.g. ``--detector yunet`` without ``yuface``)."""
