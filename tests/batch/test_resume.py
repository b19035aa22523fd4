"""A batch run killed midway (SIGKILL to the whole process group: client, scheduler, workers)
and run again finishes the rest: every output exactly once, nothing half-written left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import av
import pytest

from anonymotion.batch.state import MANIFEST_NAME, TEMP_NAME
from kit import wait_until

pytestmark = pytest.mark.timeout(600)  # batch runs in subprocesses

N_CLIPS = 4
FRAMES = 90


def run_cli(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "anonymotion.cli", "batch", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs)


def done_keys(out: Path) -> dict[str, dict]:
    try:
        entries = json.loads((out / MANIFEST_NAME).read_text())["entries"]
    except (FileNotFoundError, ValueError):
        return {}
    return {k: e for k, e in entries.items() if e["status"] == "done"}


def test_killed_run_resumes_without_duplicates(tmp_path: Path, clip_factory) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(N_CLIPS):
        clip_factory(f"in/clip{i}.mp4", frames=FRAMES, size=(320, 240))
    (src / "broken.mov").write_bytes(b"\x00\x00\x00\x18ftypqt  " + b"\x00" * 200)
    out = tmp_path / "out"

    first = run_cli([str(src), str(out), "--workers", "1", "--crf", "30"])
    def one_done() -> dict[str, dict]:
        assert first.poll() is None, f"the run ended before it could be interrupted: {first.communicate()}"
        return done_keys(out)

    wait_until(one_done, 240, interval=0.05, what="the first clip finished")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    before = done_keys(out)
    assert 1 <= len(before) < N_CLIPS, "the kill came too late to test anything"

    second = run_cli([str(src), str(out), "--workers", "1", "--crf", "30"])
    stdout, stderr = second.communicate(timeout=240)
    assert second.returncode == 1, stderr  # broken.mov still fails, and says so
    assert "broken.mov" in stderr and "1 of 5 input(s) failed" in stderr
    assert f"{len(before)} already done" in stdout and "dashboard http://127.0.0.1:" in stdout

    after = done_keys(out)
    assert sorted(after) == [f"clip{i}.mp4" for i in range(N_CLIPS)]
    for key, entry in before.items():  # finished before the kill: not redone
        assert after[key]["finished"] == entry["finished"] and after[key]["attempts"] == 1
    outputs = sorted(p.name for p in out.rglob("*.mp4"))
    assert outputs == [f"clip{i}_anonymized.mp4" for i in range(N_CLIPS)]
    for name in outputs:
        with av.open(str(out / name)) as c:
            assert sum(1 for _ in c.decode(video=0)) == FRAMES
    assert not [p for p in out.rglob(".*") if TEMP_NAME.match(p.name)]
