"""Fixtures for the web tests: a real app (real SQLite, real worker processes) on a tmp data dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anonymotion.web.app import create_app
from anonymotion.web.settings import Settings
from kit import trim_clip, wait_until


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test server: tmp data dir, one worker, no background sweeps unless asked."""
    values: dict[str, Any] = {"data_dir": tmp_path / "data", "workers": 1, "sweep_interval": 3600.0}
    values.update(overrides)
    return Settings(**values).validated()


def open_client(settings: Settings) -> TestClient:
    """A started TestClient (lifespan ran) whose requests carry the CSRF header of its session."""
    client = TestClient(create_app(settings))
    client.__enter__()
    auth = {"Authorization": f"Bearer {settings.access_token}"} if settings.access_token else {}
    token = client.get("/api/session", headers=auth).json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return client


def _upload(client: TestClient, path: Path, name: str = "clip.mp4", content_type: str = "video/mp4"):
    """POST a file as the page does (multipart field ``file``)."""
    with open(path, "rb") as fh:
        return client.post("/api/jobs", files={"file": (name, fh, content_type)})


def _wait_for(client: TestClient, job_id: str, stage: str, seen: list[dict] | None = None,
              timeout: float = 240.0) -> dict:
    """Poll the job until ``stage`` is done or failed (TimeoutError after ``timeout`` s);
    ``seen`` collects every observed stage state."""
    def finished() -> dict | None:
        state = client.get(f"/api/jobs/{job_id}").json()
        task = state["stages"][stage]
        if seen is not None and task is not None:
            seen.append(task)
        return state if task is not None and task["state"] in ("done", "failed") else None

    return wait_until(finished, timeout, interval=0.2, what=f"stage {stage} of the job finished")


@pytest.fixture
def upload() -> Callable[..., Any]:
    """``upload(client, path, name=..., content_type=...)``: POST a file as the page does."""
    return _upload


@pytest.fixture
def wait_for() -> Callable[..., dict]:
    """``wait_for(client, job_id, stage, seen=None, timeout=240)``: poll until the stage is done or failed."""
    return _wait_for


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """``server(**settings)`` starts an app on ``tmp_path/data``; every client is stopped at the end."""
    clients: list[TestClient] = []

    def start(**overrides: Any) -> TestClient:
        client = open_client(make_settings(tmp_path, **overrides))
        clients.append(client)
        return client

    yield start
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(server: Callable[..., TestClient]) -> TestClient:
    return server()


@pytest.fixture(scope="session")
def real_snippet(shared_data: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 8 frames of lab_single/cam01.mp4 at half size (544x960): a real person, fast to pose."""
    out = tmp_path_factory.mktemp("real") / "snippet.mp4"
    writer = VideoWriter(out, info.width // 2, info.height // 2, info.time_base, fps=info.fps)
    for frame in iter_frames(source, info, strict=False):
        if frame.index >= 8:
            break
        writer.write(cv2.resize(frame.rgb, (info.width // 2, info.height // 2), interpolation=cv2.INTER_AREA),
                     frame.pts)
    writer.close()
    return out


@pytest.fixture(scope="session")
def two_person_clip(shared_data: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 16 frames of lab_single/cam01.mp4 at half size (540x960): the participant and the bystander.

    Short enough for a fast browser test, long enough that the audit flags frames 10-11 (a face
    the detector finds late) and the person search finds both people in the first frame.
    """
    import cv2

    from anonymotion.io.video import iter_frames, probe
    from anonymotion.io.writer import VideoWriter

    source = shared_data("lab_single/cam01.mp4")
    info = probe(source)
    w, h = info.width // 4 * 2, info.height // 4 * 2
    out = tmp_path_factory.mktemp("lab") / "lab16.mp4"
    writer = VideoWriter(out, w, h, info.time_base, fps=info.fps)
    for frame in iter_frames(source, info, strict=False):
        if frame.index >= 16:
            break
        writer.write(cv2.resize(frame.rgb, (w, h), interpolation=cv2.INTER_AREA), frame.pts)
    writer.close()
    return out
