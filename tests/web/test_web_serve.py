"""``anonymotion serve``: settings from flags and environment, and the real command serving the page."""

from __future__ import annotations

import os
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
