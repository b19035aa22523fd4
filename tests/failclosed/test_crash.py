"""Nothing stale survives a crash: a run removes the partial files a dead run of the same output
left (recognised by our own temporary naming and a dead owner process), and nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from anonymotion.io.temps import dead_temps, remove_dead_temps, temp_path_for
from kit import wait_until

SRC = Path(__file__).resolve().parents[2] / "src"


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def parts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".part" in p.name)


@pytest.mark.timeout(180)
def test_sigkill_then_rerun_leaves_no_part_file(clip_factory, tmp_path: Path) -> None:
    clip = clip_factory("walk.mp4", frames=400, size=(320, 240))
    out_dir = tmp_path / "out"
    cmd = [sys.executable, "-m", "anonymotion.cli", "anonymize", str(clip), "-o", str(out_dir / "walk_anonymized.mp4"),
           "-q", "--detect-every", "1"]
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def writing() -> bool:
            assert proc.poll() is None, proc.communicate()
            return out_dir.exists() and any(p.name.endswith(".part.mp4") for p in out_dir.iterdir())

        wait_until(writing, 120, interval=0.02, what="the run started writing")
        time.sleep(0.3)  # mid-run: frames are being encoded
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    left = parts(out_dir)
    assert any(p.name.endswith(".part.mp4") for p in left) and not (out_dir / "walk_anonymized.mp4").exists()
    other = out_dir / ".walk_anonymized.mp4.part.keep"  # not our pattern: must survive
    other.write_text("user file")

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr
    assert parts(out_dir) == [other]
    assert (out_dir / "walk_anonymized.mp4").stat().st_size > 0
    assert (out_dir / "walk_anonymized.manifest.json").exists()


def test_only_dead_runs_temporaries_of_the_same_output_are_removed(tmp_path: Path) -> None:
    final = tmp_path / "clip_anonymized.mp4"
    mine = temp_path_for(final)  # this process is alive: kept
    assert mine.name.startswith(f".clip_anonymized.{os.getpid()}-") and mine.name.endswith(".part.mp4")
    gone = dead_pid()
    stale = [tmp_path / f".clip_anonymized.{gone}-abcd_123.part.mp4",
             tmp_path / f".clip_anonymized.regions.{gone}-x1y2z3w4.part.jsonl"]
    keep = [tmp_path / f".other_anonymized.{gone}-abcd_123.part.mp4",  # another output
            tmp_path / f".clip_anonymized.{gone}-abcd_123.part.mov",  # another final name
            tmp_path / f".clip_anonymized.{gone}.part.mp4",  # not our token
            tmp_path / "clip_anonymized.part.mp4"]  # not hidden
    for p in stale + keep:
        p.write_bytes(b"x")
    assert dead_temps(final) == stale[:1]
    removed = remove_dead_temps([final, tmp_path / "clip_anonymized.regions.jsonl"])
    assert sorted(removed) == sorted(stale)
    assert mine.exists() and all(p.exists() for p in keep)
