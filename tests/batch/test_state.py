"""The batch manifest: what counts as done, atomic saves, the lock, stale temporary files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anonymotion.batch.state import (MANIFEST_NAME, BatchLock, BatchManifest, Entry, fingerprint, hash_input,
                                     remove_stale_temps)
from anonymotion.errors import OutputError
from anonymotion.io.metadata import sha256_file
from anonymotion.io.writer import temp_path_for


def test_fingerprint_ignores_key_order_and_sees_values() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_done_needs_same_content_same_parameters_and_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_anonymized.mp4").write_bytes(b"x")
    m = BatchManifest(out)
    m.record(Entry(key="a.mp4", sha256="h1", size=1, mtime_ns=1, fingerprint="p1", status="done",
                   outputs={"blur": "a_anonymized.mp4"}))
    m = BatchManifest.load(out)  # what was saved is what a rerun sees
    assert m.is_done("a.mp4", "h1", "p1")
    assert not m.is_done("a.mp4", "h2", "p1")  # content changed
    assert not m.is_done("a.mp4", "h1", "p2")  # parameters changed
    assert not m.is_done("b.mp4", "h1", "p1")  # never seen
    (out / "a_anonymized.mp4").unlink()
    assert not m.is_done("a.mp4", "h1", "p1")  # output deleted since
    m.record(Entry(key="a.mp4", sha256="h1", size=1, mtime_ns=1, fingerprint="p1", status="failed", error="E: x"))
    assert m.entries["a.mp4"].attempts == 2 and not m.is_done("a.mp4", "h1", "p1")
    data = json.loads((out / MANIFEST_NAME).read_text())
    assert data["summary"] == {"done": 0, "failed": 1}
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no temp left by saving


def test_hash_reused_only_when_size_and_mtime_match(tmp_path: Path) -> None:
    f = tmp_path / "a.mp4"
    f.write_bytes(b"one")
    digest, size, mtime = hash_input(f, None)
    assert digest == sha256_file(f) and size == 3
    old = Entry(key="a.mp4", sha256="recorded", size=size, mtime_ns=mtime, fingerprint="p", status="done")
    assert hash_input(f, old)[0] == "recorded"
    f.write_bytes(b"two!")
    assert hash_input(f, old)[0] == sha256_file(f)


def test_unreadable_manifest_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(OutputError, match="batch manifest is unreadable"):
        BatchManifest.load(tmp_path)


def test_stale_temps_removed_others_kept(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    stale = [temp_path_for(tmp_path / "sub" / "a_anonymized.mp4"),
             temp_path_for(tmp_path / "b_anonymized.regions.jsonl"),
             tmp_path / ".c.reencode.abc123_x.part.regions.jsonl"]
    stale[2].write_text("")
    keep = [tmp_path / ".anonymotion-batch.lock", tmp_path / "a_anonymized.mp4", tmp_path / ".hidden_notes.txt"]
    for p in keep:
        p.write_text("")
    assert sorted(remove_stale_temps(tmp_path)) == sorted(stale)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in stale)


def test_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    with BatchLock(tmp_path):
        with pytest.raises(OutputError, match="another anonymotion batch run"):
            with BatchLock(tmp_path):
                pass
    with BatchLock(tmp_path):  # released on exit
        pass
