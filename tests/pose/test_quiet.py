"""``-q`` means quiet: MediaPipe's native start-up lines do not reach the terminal either,
while our own errors still do."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(300)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anonymotion.cli", *args], capture_output=True, text=True,
                          timeout=240)


def test_pose_with_q_writes_its_files_and_nothing_on_stderr(shared_data, tmp_path) -> None:
    cam01 = shared_data("lab_single/cam01.mp4")
    loud = run("pose", str(cam01), "-o", str(tmp_path / "loud"), "--max-frames", "2")
    assert loud.returncode == 0, loud.stderr
    assert loud.stderr.strip(), "without -q MediaPipe announces itself (this test would prove nothing otherwise)"
    quiet = run("pose", str(cam01), "-o", str(tmp_path / "quiet"), "--max-frames", "2", "-q")
    assert quiet.returncode == 0
    assert quiet.stderr == "" and quiet.stdout == ""
    assert (tmp_path / "quiet.pose.csv").stat().st_size > 0


def test_errors_still_reach_stderr_with_q(tmp_path) -> None:
    missing = tmp_path / "missing.mp4"
    r = run("pose", str(missing), "-q")
    assert r.returncode == 2
    assert "anonymotion: error:" in r.stderr and "missing.mp4" in r.stderr
