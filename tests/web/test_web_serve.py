"""``anonymotion serve``: settings from flags and environment, and the real command serving the page."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from anonymotion.cli import build_parser
from anonymotion.commands.serve import settings_from_args
from anonymotion.errors import ConfigError
from anonymotion.web.settings import load_settings
from kit import wait_until

pytestmark = pytest.mark.timeout(120)  # a server subprocess


def test_defaults_env_and_flags(tmp_path, monkeypatch):
    for k in list(os.environ):
        if k.startswith("ANONYMOTION_"):
            monkeypatch.delenv(k)
    s = load_settings(env={})
    assert (s.host, s.port, s.workers, s.retention_seconds, s.access_token) == ("127.0.0.1", 8000, 2, 86400.0, None)
    env = {"ANONYMOTION_PORT": "9001", "ANONYMOTION_MAX_UPLOAD_MB": "5", "ANONYMOTION_RETENTION_HOURS": "2",
           "ANONYMOTION_WORKERS": "1", "ANONYMOTION_DATA_DIR": str(tmp_path / "d"),
           "ANONYMOTION_ACCESS_TOKEN": "long-enough-token", "ANONYMOTION_KEEP_ORIGINAL": "yes"}
    s = load_settings(env=env)
    assert (s.port, s.max_upload_bytes, s.retention_seconds, s.workers) == (9001, 5 * 1024**2, 7200.0, 1)
    assert s.data_dir == (tmp_path / "d").resolve() and s.access_token == "long-enough-token" and s.keep_original
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    args = build_parser().parse_args(["serve", "--port", "9002", "--retention-hours", "0.5",
                                      "--max-upload-mb", "1"])
    s = settings_from_args(args)
    assert (s.port, s.retention_seconds, s.max_upload_bytes, s.workers) == (9002, 1800.0, 1024**2, 1)


@pytest.mark.parametrize("env, message", [
    ({"ANONYMOTION_PORT": "eighty"}, "ANONYMOTION_PORT"),
    ({"ANONYMOTION_WORKERS": "0"}, "--workers"),
    ({"ANONYMOTION_ACCESS_TOKEN": "short"}, "at least 8"),
])
def test_bad_settings_are_refused_with_the_setting_named(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_serve_command_serves_the_page_and_redacts_job_ids_in_its_log(tmp_path, clip_factory):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANONYMOTION_")}
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "anonymotion.cli", "serve", "--port", str(port),
                             "--data-dir", str(tmp_path / "data"), "--workers", "1"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
                    return r.status == 200
            except urllib.error.URLError:
                assert proc.poll() is None, (tmp_path / "server.log").read_text()
                return False

        wait_until(healthy, 60, interval=0.2, what="the server answered /healthz")
        with urllib.request.urlopen(base + "/", timeout=30) as r:
            page = r.read().decode()
            cookie = r.headers["set-cookie"].split(";")[0]
        assert 'id="upload-form"' in page
        csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
        req = urllib.request.Request(base + "/api/jobs", data=clip_factory(frames=3).read_bytes(), method="POST",
                                     headers={"X-CSRF-Token": csrf, "Cookie": cookie,
                                              "Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(req, timeout=30) as r:
            job_id = __import__("json").loads(r.read())["id"]
        with urllib.request.urlopen(f"{base}/jobs/{job_id}", timeout=30) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    text = (tmp_path / "server.log").read_text()
    assert f"serving on {base}" in text
    assert "/jobs/…" in text and job_id not in text
    assert (tmp_path / "data" / "jobs.sqlite3").is_file()
    assert [p.name for p in (Path(tmp_path) / "data" / "jobs" / job_id).iterdir()] == ["original.mp4"]


class Served:
    """A real ``anonymotion serve`` process on a free loopback port; its whole log goes to ``log``."""

    def __init__(self, tmp_path: Path, data: Path, name: str = "server") -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANONYMOTION_")}
        env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"),
                                             env.get("PYTHONPATH", "")])
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "anonymotion.cli", "serve", "--port", str(self.port),
                                          "--data-dir", str(data), "--workers", "1"],
                                         stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert self.proc.poll() is None and time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.2)

    def api(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> dict:
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _readme_api_script() -> str:
    """The ```bash block of the README's JSON API section, as written."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("**JSON API**"):]
    start = section.index("```bash\n") + len("```bash\n")
    return section[start:section.index("\n```", start)] + "\n"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_readme_api_example_runs_as_written_and_no_log_line_carries_the_job_id(tmp_path, real_snippet, clip_factory):
    server = Served(tmp_path, tmp_path / "data")
    work = tmp_path / "work"
    work.mkdir()
    (work / "anonymize.sh").write_text(_readme_api_script())
    shutil.copyfile(real_snippet, work / "clip.mp4")
    env = {**os.environ, "B": server.base}
    try:
        run = subprocess.run(["bash", "anonymize.sh"], cwd=work, env=env, capture_output=True, text=True, timeout=800)
        assert run.returncode == 0, run.stdout + run.stderr
        job_id = re.search(r"^job ([A-Za-z0-9_-]{32}) ", run.stdout, re.M).group(1)
        assert "% " in run.stdout and "Pose anonymized" in run.stdout  # progress by phase was printed
        assert "excess over the re-encode control" in run.stdout  # the rule of the verdicts
        names = sorted(p.name for p in work.iterdir() if p.name.startswith("GAIT-017_"))
        assert names == ["GAIT-017_anonymized.mp4", "GAIT-017_audit.json", "GAIT-017_manifest.json",
                         "GAIT-017_metrics.csv", "GAIT-017_report.html"]
        assert json.loads((work / "GAIT-017_audit.json").read_text())["verdict"] in ("pass", "fail")
        assert not (tmp_path / "data" / "jobs" / job_id).exists()  # the script deleted the job

        # a failing step makes the script exit non-zero, before anything is downloaded
        fail = tmp_path / "fail"
        fail.mkdir()
        (fail / "anonymize.sh").write_text(_readme_api_script())
        shutil.copyfile(clip_factory(frames=6, size=(96, 64)), fail / "clip.mp4")  # nobody to measure
        bad = subprocess.run(["bash", "anonymize.sh"], cwd=fail, env=env, capture_output=True, text=True,
                             timeout=600)
        assert bad.returncode != 0 and "failed: test: no person found" in bad.stderr, bad.stdout + bad.stderr
        assert not [p for p in fail.iterdir() if p.name.startswith("GAIT-017_")]
        bad_id = re.search(r"^job ([A-Za-z0-9_-]{32}) ", bad.stdout, re.M).group(1)
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")
    # the whole job went through the server: access log, application log, worker log
    assert "POST /api/jobs/…/anonymize" in log and "GET /api/jobs/…/files/anonymized" in log
    assert "audit of " in log and "/jobs/…/anonymized.mp4" in log and "test done" in log
    assert job_id not in log and bad_id not in log
    assert job_id[:12] not in log and bad_id[:12] not in log


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_killed_server_leaves_no_worker_and_the_job_keeps_its_first_failure_reason(tmp_path, clip_factory):
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to find the worker processes")
    data = tmp_path / "data"
    server = Served(tmp_path, data, "first")
    try:
        with urllib.request.urlopen(server.base + "/api/session", timeout=30) as r:
            csrf = json.loads(r.read())["csrf_token"]
            cookie = r.headers["set-cookie"].split(";")[0]
        headers = {"X-CSRF-Token": csrf, "Cookie": cookie}
        clip = clip_factory(frames=900, size=(320, 240))
        job = server.api("POST", "/api/jobs", clip.read_bytes(),
                         {**headers, "Content-Type": "application/octet-stream"})
        server.api("POST", f"/api/jobs/{job['id']}/anonymize", json.dumps({"method": "blur"}).encode(),
                   {**headers, "Content-Type": "application/json"})
        deadline = time.monotonic() + 200
        while True:  # until the worker is encoding
            task = server.api("GET", f"/api/jobs/{job['id']}")["stages"]["anonymize"]
            if task["state"] == "running" and task["done"] > 0 or task["state"] in ("done", "failed"):
                break
            assert time.monotonic() < deadline, "the worker never started"
            time.sleep(0.2)
        assert task["state"] == "running", "the clip finished before the kill; make it longer"
        workers = _children(server.proc.pid)
        assert workers, "no worker process found"
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in workers if _alive(p)], "a worker outlived its server"
    finally:
        server.stop()
        for p in locals().get("workers", []):
            if _alive(p):  # this test's own worker, should it have outlived the assertion
                os.kill(p, signal.SIGKILL)

    second = Served(tmp_path, data, "second")
    try:
        first = second.api("GET", f"/api/jobs/{job['id']}")["stages"]["anonymize"]
        assert first["state"] == "failed" and "restart" in first["error"]
        time.sleep(3)  # long enough for an orphan to have written, had one survived
        again = second.api("GET", f"/api/jobs/{job['id']}")["stages"]["anonymize"]
        assert again["state"] == "failed" and again["error"] == first["error"]
        assert sorted(p.name for p in (data / "jobs" / job["id"]).iterdir()) == ["original.mp4"]
    finally:
        second.stop()
