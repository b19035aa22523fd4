"""CSV and JSON outputs, written atomically (temporary name, renamed when complete).

Pose CSV (``*.pose.csv``), one row per frame, person and keypoint (multi-person pose: only
the frames where that person was found; a single followed subject: every frame):
    frame    0-based frame number
    time     seconds from the first frame (packet timestamps)
    person   person id, stable over the clip (1, 2, ...; never reused for someone else)
    keypoint MediaPipe landmark name (e.g. ``left_knee``)
    x, y     pixels in the upright frame (x right, y down); empty when no person
    score    visibility in [0, 1]; 0 when no person
    world_x, world_y, world_z  metres, hip-centred (MediaPipe world landmarks); empty when none
    lost     1 when the followed subject was lost in this frame (subject following), else 0

Angles CSV (``*.angles.csv``), one row per frame and person (the same frames as the pose CSV):
    frame, time, person, then for each 2D angle ``<name>`` (degrees) and ``<name>_conf`` (minimum
    score of its keypoints), then each 3D angle as ``<name>_3d`` (degrees). Empty = undefined.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.errors import OutputError
from anonymotion.io.writer import commit_file, ensure_writable_dir, temp_path_for

POSE_COLUMNS = ("frame", "time", "person", "keypoint", "x", "y", "score", "world_x", "world_y", "world_z", "lost")


def fmt(v: Any, digits: int = 3) -> str:
    """A CSV cell: '' for NaN/None, rounded floats, ints and strings as they are."""
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return "" if not math.isfinite(f) else f"{f:.{digits}f}"
    return str(v)


def write_atomic(path: Path, write: callable, mode: str = "w") -> Path:
    """Call write(file) on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    ensure_writable_dir(path.parent)
    tmp = temp_path_for(path)
    try:
        with open(tmp, mode, encoding=None if "b" in mode else "utf-8", newline=None if "b" in mode else "") as fh:
            write(fh)
        commit_file(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(path, f"cannot write ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], digits: int = 3) -> Path:
    """Write rows (already in ``header`` order) as CSV; NaN as empty cells."""

    def write(fh) -> None:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow([fmt(v, digits) for v in row])

    return write_atomic(path, write)


def write_dict_rows(path: Path, rows: list[dict], digits: int = 4) -> Path:
    """Write a list of dicts as CSV with the union of their keys as header (first-seen order)."""
    header: list[str] = []
    for r in rows:
        for k in r:
            if k not in header:
                header.append(k)
    return write_csv(path, header, ([r.get(k) for k in header] for r in rows), digits)


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return round(f, 6) if math.isfinite(f) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: Path, data: Any) -> Path:
    """Write JSON (NaN -> null, numpy -> Python, floats rounded to 6 digits)."""
    return write_atomic(path, lambda fh: json.dump(_clean(data), fh, indent=2))


def pose_rows(t: np.ndarray, xy: np.ndarray, score: np.ndarray, names: Sequence[str],
              world: np.ndarray | None, lost: np.ndarray | None, person: int = 1,
              frames: Iterable[int] | None = None) -> Iterable[list[Any]]:
    """Rows of the pose CSV (see module docstring) for one person, over ``frames`` (default all)."""
    nan3 = (float("nan"),) * 3
    for i in (range(len(t)) if frames is None else frames):
        lf = bool(lost[i]) if lost is not None else False
        for k, name in enumerate(names):
            wv = world[i, k] if world is not None else nan3
            yield [int(i), float(t[i]), person, name, xy[i, k, 0], xy[i, k, 1], score[i, k], wv[0], wv[1], wv[2], lf]


def table_text(rows: list[dict], columns: Sequence[str], digits: int = 2) -> str:
    """A fixed-width text table of ``rows`` (for terminals and reports)."""
    cells = [[fmt(r.get(c), digits) if not isinstance(r.get(c), str) else r.get(c) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[j]) for row in cells)) if cells else len(c) for j, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(columns))]
    for row in cells:
        lines.append("  ".join(v.ljust(widths[j]) if j == 0 else v.rjust(widths[j]) for j, v in enumerate(row)))
    return "\n".join(lines)
