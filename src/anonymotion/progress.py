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
