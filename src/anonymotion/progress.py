"""Terminal progress bars (tqdm) behind the plain ``progress(done, total)`` callback the pipeline uses."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = Callable[[int, int], None]


@contextmanager
def progress_bar(description: str, *, quiet: bool = False, unit: str = "frame") -> Iterator[Progress]:
    """Yield a ``progress(done, total)`` callback drawing a bar with rate and ETA on a terminal.

    Nothing is drawn with ``quiet`` or when stderr is not a terminal.
    """
    if quiet or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from tqdm import tqdm

    bar = tqdm(desc=description, unit=unit, dynamic_ncols=True, leave=True)
    try:
        def update(done: int, total: int) -> None:
            if total and bar.total != total:
                bar.total = total
                bar.refresh()
            bar.update(done - bar.n)

        yield update
    finally:
        bar.close()


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what C/C++ libraries write straight to file descriptor 2 to /dev/null, for ``-q``.

    MediaPipe (absl, TFLite, XNNPACK) prints start-up lines ("GPU support is not available",
    "Created TensorFlow Lite XNNPACK delegate") from C++ before its logging can be configured,
    so neither ``GLOG_minloglevel`` nor Python's logging stops them. Python's own ``sys.stderr``
    (errors, warnings, logging set up inside this block) is moved to a duplicate of the real
    stderr and keeps reaching the terminal. Does nothing when ``sys.stderr`` is not the process's
    own stderr (e.g. captured by a test runner).
    """
    if sys.stderr is not sys.__stderr__:
        yield
        return
    import os

    try:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no usable fd 2: nothing to silence
        yield
        return
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=python_stderr.encoding,
                           errors="backslashreplace")
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr.close()
        sys.stderr = python_stderr
