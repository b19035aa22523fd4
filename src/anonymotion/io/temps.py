"""Temporary output names that say who made them, and removal of those a dead run left.

Every file is written under a hidden temporary name beside its final name and renamed into
place when complete (see :mod:`anonymotion.io.writer`). The name records the writing
process: ``.<stem>.<pid>-<random>.part<suffix>``, e.g. ``.clip_anonymized.4242-k3v9x_2a.part.mp4``
for ``clip_anonymized.mp4``. A run killed by SIGKILL or a power cut cannot delete its own
temporaries; the next run writing the same final name removes those whose process is gone
(:func:`remove_dead_temps`). Nothing that does not match this pattern exactly, for the
final names given, is ever touched.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

#: The part between the stem and ``.part``: the writer's process id and mkstemp's 8 random characters.
TOKEN = r"(?P<pid>\d+)-[a-z0-9_]{8}"
#: Any temporary name of ours, including those of older versions without a process id
#: (``.<stem>.<random>.part<suffix>``).
ANY_TEMP = re.compile(r"^\..+\.(\d+-)?[A-Za-z0-9_]+\.part(\.[A-Za-z0-9_]+)*$")


def temp_path_for(final: Path) -> Path:
    """Create an empty hidden temporary file beside ``final`` (same filesystem: rename is atomic)
    named ``.<stem>.<pid>-<random>.part<suffix>``, and return its path."""
    final = Path(final)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.{os.getpid()}-", suffix=f".part{final.suffix}",
                               dir=final.parent)
    os.close(fd)
    return Path(tmp)


def temp_pattern(final: Path) -> re.Pattern[str]:
    """The names :func:`temp_path_for` gives temporaries of ``final`` (group ``pid``)."""
    final = Path(final)
    return re.compile(rf"^\.{re.escape(final.stem)}\.{TOKEN}\.part{re.escape(final.suffix)}$")


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists on this machine (or may: a reused id counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def dead_temps(final: Path) -> list[Path]:
    """Temporaries of ``final`` whose writing process no longer runs (never our own process's)."""
    final = Path(final)
    pattern = temp_pattern(final)
    try:
        names = os.listdir(final.parent)
    except OSError:
        return []
    found = []
    for name in names:
        m = pattern.match(name)
        if m is None:
            continue
        pid = int(m.group("pid"))
        if pid != os.getpid() and not pid_alive(pid):
            found.append(final.parent / name)
    return sorted(found)


def remove_dead_temps(finals: Iterable[Path]) -> list[Path]:
    """Delete the temporaries a dead run left for each of ``finals``; returns the paths removed."""
    removed = []
    for final in finals:
        for path in dead_temps(final):
            try:
                if path.is_file() and not path.is_symlink():
                    path.unlink()
                    removed.append(path)
            except OSError as exc:
                log.warning("cannot remove %s left by an interrupted run (%s)", path, exc.strerror)
    if removed:
        log.info("removed %d unfinished file(s) of an interrupted run", len(removed))
    return removed
