"""The resumable batch manifest: ``OUTPUT_DIR/batch_manifest.json``.

One entry per input file, keyed by its path relative to INPUT_DIR (POSIX separators):
its SHA-256, size and mtime, the fingerprint of the parameters it was processed with,
its status (``done`` or ``failed``), its outputs (relative to OUTPUT_DIR), the error of a
failure, and the per-method evaluation and audit summaries the dataset report reads.

A rerun skips an input whose entry is ``done`` with the same hash and fingerprint and whose
outputs still exist; it redoes everything else. Only the client process writes the file,
after every finished input, to a temporary name renamed over the old one (atomic), so a run
killed at any moment leaves either the previous or the next complete manifest.

``BatchLock`` keeps two batch runs from writing the same OUTPUT_DIR at once, which also makes
it safe to delete temporary files a killed run left behind (:func:`remove_stale_temps`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonymotion.errors import OutputError
from anonymotion.io.metadata import sha256_file
from anonymotion.io.temps import ANY_TEMP
from anonymotion.io.writer import ensure_writable_dir, temp_path_for

log = logging.getLogger(__name__)

MANIFEST_NAME = "batch_manifest.json"
LOCK_NAME = ".anonymotion-batch.lock"
#: Statuses of an input whose outputs were written ("damaged": with its damaged frames covered whole).
DONE = ("done", "damaged")
FORMAT_VERSION = 1
#: Temporary names made by :func:`anonymotion.io.temps.temp_path_for` (``.<stem>.<pid>-<random>.part<suffix>``,
#: older versions ``.<stem>.<random>.part<suffix>``) and the sidecars of a temporary output.
TEMP_NAME = ANY_TEMP


def fingerprint(parameters: dict[str, Any]) -> str:
    """Short stable hash (16 hex digits) of JSON-able parameters (key order does not matter)."""
    text = json.dumps(parameters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class Entry:
    """What the manifest knows about one input.

    key: input path relative to INPUT_DIR; sha256/size/mtime_ns: the input when processed;
    fingerprint: hash of the parameters; status: "done", "damaged" (done with --accept-damaged:
    ``damaged_frames`` input frames were blurred whole) or "failed" (a damaged input refused
    says how many frames in ``damaged_frames``); review: reasons a person should look at the
    outputs (e.g. no face found; empty: no need); outputs: method ->
    output path relative to OUTPUT_DIR; frames/faces/seconds: counts and wall time of the
    last attempt; error: "<ExceptionType>: message" of a failure; attempts: runs so far;
    evaluation / audit: method -> summary dict (see anonymotion.batch.runner).
    """

    key: str
    sha256: str
    size: int
    mtime_ns: int
    fingerprint: str
    status: str
    outputs: dict[str, str] = field(default_factory=dict)
    frames: int = 0
    faces: int = 0
    seconds: float = 0.0
    error: str | None = None
    attempts: int = 1
    finished: str = ""
    evaluation: dict[str, Any] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    damaged_frames: int = 0
    review: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @staticmethod
    def from_json(data: dict[str, Any]) -> "Entry":
        known = set(Entry.__dataclass_fields__)
        return Entry(**{k: v for k, v in data.items() if k in known})


class BatchManifest:
    """The manifest of one OUTPUT_DIR, loaded at start and saved atomically after each input."""

    def __init__(self, output_dir: Path, entries: dict[str, Entry] | None = None,
                 parameters: dict[str, Any] | None = None) -> None:
        self.output_dir = Path(output_dir)
        self.path = self.output_dir / MANIFEST_NAME
        self.entries: dict[str, Entry] = entries or {}
        self.parameters: dict[str, Any] = parameters or {}

    @classmethod
    def load(cls, output_dir: Path) -> "BatchManifest":
        """Read ``OUTPUT_DIR/batch_manifest.json`` (an empty manifest when there is none)."""
        path = Path(output_dir) / MANIFEST_NAME
        if not path.exists():
            return cls(output_dir)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = {k: Entry.from_json(v) for k, v in data.get("entries", {}).items()}
        except (OSError, ValueError, TypeError) as exc:
            raise OutputError(path, f"batch manifest is unreadable ({exc}); move it away to start afresh") from None
        return cls(output_dir, entries, data.get("parameters") or {})

    def save(self) -> None:
        """Write the manifest to a temporary name, flush it to disk, and rename it into place."""
        ensure_writable_dir(self.output_dir)
        data = {
            "anonymotion_batch": FORMAT_VERSION,
            "updated": _now(),
            "parameters": self.parameters,
            "summary": self.counts(),
            "entries": {k: self.entries[k].to_json() for k in sorted(self.entries)},
        }
        tmp = temp_path_for(self.path)
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, default=str)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OutputError(self.path, f"cannot write the batch manifest ({exc.strerror})") from None

    def counts(self) -> dict[str, int]:
        """{"done": n, "failed": n} over all entries."""
        out = {"done": 0, "failed": 0}
        for e in self.entries.values():
            out[e.status] = out.get(e.status, 0) + 1
        return out

    def is_done(self, key: str, sha256: str, params_fp: str) -> bool:
        """True when ``key`` finished with this content and these parameters and its outputs exist."""
        e = self.entries.get(key)
        if e is None or e.status not in DONE or e.sha256 != sha256 or e.fingerprint != params_fp:
            return False
        return all((self.output_dir / rel).exists() for rel in e.outputs.values())

    def record(self, entry: Entry) -> None:
        """Store ``entry`` (counting attempts on the same input) and save the manifest."""
        old = self.entries.get(entry.key)
        entry.attempts = (old.attempts + 1) if old is not None else 1
        entry.finished = _now()
        self.entries[entry.key] = entry
        self.save()


def state_label(e: Entry) -> str:
    """How an input ended, as the status lines and the report show it, e.g. "done",
    "damaged: 3 frames covered whole", "FAILED (damaged: 3 frames)", "done, review needed"."""
    if e.status == "failed":
        label = f"FAILED (damaged: {e.damaged_frames} frames)" if e.damaged_frames else "FAILED"
    elif e.status == "damaged":
        label = f"damaged: {e.damaged_frames} frames covered whole"
    else:
        label = e.status
    if e.review and e.status != "failed":
        label += ", review needed"
    return label


def hash_input(path: Path, old: Entry | None) -> tuple[str, int, int]:
    """(sha256, size, mtime_ns) of ``path``; the recorded hash is reused when size and mtime match.

    Rehashing hundreds of large videos on every rerun would cost minutes; a file whose size
    and modification time (ns) are unchanged is taken as unchanged, as rsync and make do.
    """
    st = path.stat()
    if old is not None and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns and old.sha256:
        return old.sha256, st.st_size, st.st_mtime_ns
    return sha256_file(path), st.st_size, st.st_mtime_ns


def remove_stale_temps(output_dir: Path) -> list[Path]:
    """Delete temporary files (``.name.XXXX.part.ext``) a killed run left under ``output_dir``.

    Call only while holding the :class:`BatchLock`: no other run can be writing them then.
    Returns the removed paths.
    """
    removed = []
    for p in Path(output_dir).rglob(".*"):
        if p.is_file() and TEMP_NAME.match(p.name):
            try:
                p.unlink()
                removed.append(p)
            except OSError as exc:
                log.warning("cannot remove stale temporary file %s (%s)", p, exc.strerror)
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted run", len(removed))
    return removed


class BatchLock:
    """An exclusive ``flock`` on ``OUTPUT_DIR/.anonymotion-batch.lock`` for the run's lifetime.

    The kernel releases it when the process dies, so a killed run never blocks the next one.
    The file is deleted when the run ends (a run killed outright leaves it, harmless: the next
    run takes and removes it). A run that locked a file another run deleted meanwhile sees
    that the name now points elsewhere and tries again, so two runs never both hold "the" lock.
    """

    ATTEMPTS = 5

    def __init__(self, output_dir: Path) -> None:
        self.path = Path(output_dir) / LOCK_NAME
        self._fh: Any = None

    def __enter__(self) -> "BatchLock":
        import fcntl

        ensure_writable_dir(self.path.parent)
        for _ in range(self.ATTEMPTS):
            fh = open(self.path, "a+", encoding="utf-8")
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                raise OutputError(self.path.parent, "another anonymotion batch run is writing this folder") from None
            if _same_file(self.path, fh):
                break
            fh.close()  # the previous holder removed the file between our open and our lock
        else:
            raise OutputError(self.path.parent, "cannot take the batch lock (the lock file keeps changing)")
        self._fh = fh
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        if self._fh is not None:
            if _same_file(self.path, self._fh):
                self.path.unlink(missing_ok=True)  # while still locked: no one else can hold this file
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def _same_file(path: Path, fh: Any) -> bool:
    """True when ``path`` still names the open file ``fh`` (same device and inode)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(fh.fileno())
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
