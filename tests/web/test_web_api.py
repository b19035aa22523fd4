"""The JSON API and page with FastAPI's TestClient: real SQLite, real worker processes, real videos."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from anonymotion.web.jobs import JobStore
from anonymotion.web.sweeper import sweep
from kit import wait_until

pytestmark = pytest.mark.timeout(300)  # real worker processes anonymizing videos

SECRET_NAME = "Jane Doe 1970-01-01 gait"
SECRET_TAG = "+48.8584+002.2945/"


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*")]


def _all_text(root: Path) -> bytes:
    """Every file name and every byte of every file under ``root`` (to search for leaks)."""
    chunks = []
    for p in _files_under(root):
        chunks.append(str(p).encode())
        if p.is_file():
            chunks.append(p.read_bytes())
    return b"\n".join(chunks)


def test_upload_accepts_a_decodable_video_and_keeps_nothing_of_its_name_or_tags(client, clip_factory, tmp_path, upload):
    clip = clip_factory("in.mp4", frames=6, tags={"title": SECRET_NAME, "location": SECRET_TAG})
    r = upload(client, clip, name=f"{SECRET_NAME}.mp4")
    assert r.status_code == 201, r.text
    job = r.json()
    assert len(job["id"]) >= 22  # >= 128 bits of token_urlsafe
    assert job["media"] == {"kind": "video", "width": 64, "height": 48, "frames": 6, "fps": 25.0,
                            "duration": pytest.approx(0.24, abs=0.05), "has_audio": False,
                            "bytes": clip.stat().st_size}
    assert SECRET_NAME not in r.text and SECRET_TAG not in r.text
    page = client.get(f"/jobs/{job['id']}")
    assert page.status_code == 200 and SECRET_NAME not in page.text and SECRET_TAG not in page.text
    # stored names and the database hold neither the file name nor its tags
    data = tmp_path / "data"
    names = " ".join(str(p) for p in _files_under(data))
    assert "Jane" not in names
    con = sqlite3.connect(data / "jobs.sqlite3")
    dump = "\n".join(con.iterdump())
    con.close()
    assert "Jane" not in dump and SECRET_TAG not in dump
    stored = list((data / "jobs" / job["id"]).iterdir())
    assert [p.name for p in stored] == ["original.mp4"]
    assert not list((data / "incoming").iterdir())


def test_two_uploads_get_different_unguessable_ids(client, clip_factory, upload):
    clip = clip_factory(frames=3)
    ids = {upload(client, clip).json()["id"] for _ in range(2)}
    assert len(ids) == 2


@pytest.mark.parametrize("payload, name, ctype", [
    (b"\x00\x01garbage" * 500, "clip.mp4", "video/mp4"),
    (b"just text, not a picture\n" * 20, "photo.jpg", "image/jpeg"),
    (b"", "empty.mp4", "video/mp4"),
])
def test_undecodable_uploads_get_a_clear_error_and_the_server_keeps_serving(client, clip_factory, tmp_path,
                                                                            payload, name, ctype, upload):
    r = client.post("/api/jobs", files={"file": (name, payload, ctype)})
    assert r.status_code in (400, 422)
    detail = r.json()["detail"]
    assert "cannot be used" in detail or "empty" in detail
    assert name not in detail
    assert not list((tmp_path / "data" / "incoming").iterdir())
    assert not list((tmp_path / "data" / "jobs").iterdir())
    assert upload(client, clip_factory(frames=3)).status_code == 201


def test_truncated_video_is_refused_with_a_message(client, clip_factory, tmp_path, upload):
    clip = clip_factory(frames=20)
    half = tmp_path / "half.mp4"
    half.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    r = upload(client, half)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("This file cannot be used:")


def test_acceptance_is_by_content_not_extension_or_content_type(client, tmp_path, upload):
    png = tmp_path / "x.png"
    Image.fromarray(np.full((40, 30, 3), 128, np.uint8)).save(png)
    r = upload(client, png, name="holiday.mp4", content_type="video/mp4")
    assert r.status_code == 201
    assert r.json()["media"]["kind"] == "image"
    assert (tmp_path / "data" / "jobs" / r.json()["id"] / "original.png").is_file()


def test_unsupported_container_is_refused(client, tmp_path, upload):
    gif = tmp_path / "a.gif"
    frames = [Image.fromarray(np.full((20, 20, 3), v, np.uint8)) for v in (0, 255)]
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    r = upload(client, gif, name="a.mp4")
    assert r.status_code == 422
    assert "not supported" in r.json()["detail"]


def test_upload_over_the_limit_gets_413_and_leaves_nothing(server, tmp_path):
    client = server(max_upload_bytes=20_000)
    big = np.random.default_rng(0).integers(0, 255, 60_000, dtype=np.uint8).tobytes()
    r = client.post("/api/jobs", files={"file": ("big.mp4", big, "video/mp4")})
    assert r.status_code == 413
    assert "upload limit" in r.json()["detail"]

    # without Content-Length (chunked): the streamed body is cut off at the limit
    def chunks():
        for i in range(0, len(big), 4096):
            yield big[i:i + 4096]

    r = client.post("/api/jobs", content=chunks(), headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 413
    assert not list((tmp_path / "data" / "incoming").iterdir())
    assert not list((tmp_path / "data" / "jobs").iterdir())


def test_raw_body_upload_works_for_scripts(client, clip_factory):
    clip = clip_factory(frames=3)
    r = client.post("/api/jobs", content=clip.read_bytes(), headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201
    assert r.headers["location"].endswith(f"/api/jobs/{r.json()['id']}")


def test_anonymize_reports_progress_by_phase_and_every_download_decodes_with_labelled_names(server, clip_factory,
                                                                                        upload, wait_for):
    client = server()
    clip = clip_factory(frames=40, size=(160, 120), tags={"title": SECRET_NAME})
    created = upload(client, clip, name=f"{SECRET_NAME}.mp4").json()
    job_id, label = created["id"], created["label"]
    assert re.fullmatch(r"[a-z2-9]{6}", label)  # a random short code: nothing from the file name
    r = client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "pixelate", "level": 3, "shape": "rect"})
    assert r.status_code == 202
    assert r.json()["stages"]["anonymize"]["state"] in ("queued", "running", "done")
    seen: list[dict] = []
    state = wait_for(client, job_id, "anonymize", seen)
    task = state["stages"]["anonymize"]
    assert task["state"] == "done", task["error"]
    assert [(p["name"], p["done"], p["total"], p["state"]) for p in task["phases"]] == [
        ("anonymize", 40, 40, "done"), ("audit", 40, 40, "done")]
    assert task["percent"] == 100.0 and state["progress"] is None
    assert task["result"]["method"] == "pixelate" and task["result"]["frames"] == 40
    assert {s["state"] for s in seen} <= {"queued", "running", "done"}
    assert all(p["total"] == 40 and 0 <= p["done"] <= 40 for s in seen for p in s["phases"])
    running = [s for s in seen if s["state"] == "running" and s["phase"]]
    assert running and {s["phase"] for s in running} <= {"Anonymize", "Audit"}

    d = state["downloads"]
    assert {k: v["filename"] for k, v in d.items()} == {
        "anonymized": f"{label}_anonymized.mp4", "manifest": f"{label}_manifest.json",
        "regions": f"{label}_regions.jsonl", "audit": f"{label}_audit.json"}
    r = client.get(d["anonymized"]["url"])
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert r.headers["content-disposition"] == f'attachment; filename="{label}_anonymized.mp4"'
    with av.open(io.BytesIO(r.content)) as c:
        assert [s.type for s in c.streams] == ["video"]
        assert sum(1 for _ in c.decode(video=0)) == 40
        leftover = {k: v for k, v in c.metadata.items() if k not in ("major_brand", "minor_version",
                                                                     "compatible_brands", "encoder")}
        assert SECRET_NAME not in json.dumps(dict(c.metadata)) and not leftover.get("title")
    manifest = client.get(d["manifest"]["url"])
    assert manifest.json()["method"] == "pixelate"
    assert manifest.json()["parameters"]["blocks"] == 5  # level 3 ("stronger") of pixelate
    assert SECRET_NAME not in manifest.text
    regions = client.get(d["regions"]["url"])
    assert len(regions.text.strip().splitlines()) == 40
    # test-stage files are not there yet
    assert client.get(f"/api/jobs/{job_id}/files/pose").status_code == 404
    assert client.get(f"/api/jobs/{job_id}/files/nonsense").status_code == 404
    # the synthetic clip has no person: the test stage fails with a clear reason, the original stays
    assert client.post(f"/api/jobs/{job_id}/test").status_code == 202
    state = wait_for(client, job_id, "test")
    assert state["stages"]["test"]["state"] == "failed"
    assert "no person found" in state["stages"]["test"]["error"]
    assert state["stages"]["test"]["retry"] is True
    assert state["original_kept"] is True
    page = client.get(f"/jobs/{job_id}").text
    assert "no person" in page and "Retry test" in page


def test_image_is_anonymized_into_the_same_format_without_metadata(server, tmp_path, upload, wait_for):
    client = server(keep_original=False)
    jpg = tmp_path / "p.jpg"
    exif = Image.Exif()
    exif[0x010E] = SECRET_NAME  # ImageDescription
    Image.fromarray(np.full((60, 80, 3), 90, np.uint8)).save(jpg, exif=exif)
    job_id = upload(client, jpg, name="p.jpg", content_type="image/jpeg").json()["id"]
    client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur"})
    state = wait_for(client, job_id, "anonymize")
    assert state["stages"]["anonymize"]["state"] == "done", state["stages"]["anonymize"]["error"]
    d = state["downloads"]["anonymized"]
    assert d["filename"] == f"{state['label']}_anonymized.jpg"
    r = client.get(d["url"])
    img = Image.open(io.BytesIO(r.content))
    assert img.format == "JPEG" and img.size == (80, 60) and not img.getexif()
    assert SECRET_NAME.encode() not in r.content
    # images have no pose test; the original goes as soon as the anonymized image exists (the worker
    # deletes it right after marking the stage done, so a poll may see "done" a moment before)
    assert client.post(f"/api/jobs/{job_id}/test").status_code == 409
    wait_until(lambda: client.get(f"/api/jobs/{job_id}").json()["original_kept"] is False, 30,
               what="the original upload was deleted")
    assert not (tmp_path / "data" / "jobs" / job_id / "original.jpg").exists()


def test_the_original_is_kept_by_default_until_the_user_ends_the_session(server, tmp_path, upload, wait_for):
    client = server()
    png = tmp_path / "p.png"
    Image.fromarray(np.full((30, 40, 3), 200, np.uint8)).save(png)
    job_id = upload(client, png, name="p.png", content_type="image/png").json()["id"]
    client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "pixelate"})
    state = wait_for(client, job_id, "anonymize")
    assert state["stages"]["anonymize"]["state"] == "done" and state["original_kept"] is True
    assert (tmp_path / "data" / "jobs" / job_id / "original.png").is_file()
    assert state["downloads"]["anonymized"]["filename"] == f"{state['label']}_anonymized.png"
    page = client.get(f"/jobs/{job_id}").text  # the page says when the original goes
    assert "It is deleted when you end the" in page and 'id="end-session"' in page and "(retention)" in page
    # ending the session deletes the original now; the results stay
    assert client.delete(f"/api/jobs/{job_id}/original").status_code == 204
    state = client.get(f"/api/jobs/{job_id}").json()
    assert state["original_kept"] is False and "anonymized" in state["downloads"]
    assert not (tmp_path / "data" / "jobs" / job_id / "original.png").exists()
    assert client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur"}).status_code == 409


def test_unknown_and_expired_ids_get_the_same_404(server, clip_factory, tmp_path, upload):
    client = server(retention_seconds=0.5)
    job_id = upload(client, clip_factory(frames=3)).json()["id"]
    assert client.get(f"/api/jobs/{job_id}").status_code == 200
    time.sleep(0.6)
    unknown = "A" * len(job_id)
    for path in ("/api/jobs/{}", "/api/jobs/{}/files/anonymized", "/jobs/{}"):
        a, b = client.get(path.format(job_id)), client.get(path.format(unknown))
        assert a.status_code == b.status_code == 404
        assert a.text == b.text
    a = client.post(f"/api/jobs/{job_id}/anonymize", json={})
    b = client.post(f"/api/jobs/{unknown}/anonymize", json={})
    assert a.status_code == b.status_code == 404 and a.json() == b.json()


def test_sweeper_deletes_every_file_of_a_job_after_retention(server, clip_factory, tmp_path, upload, wait_for):
    client = server(retention_seconds=3600)
    job_id = upload(client, clip_factory(frames=5)).json()["id"]
    client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "block"})
    assert wait_for(client, job_id, "anonymize")["stages"]["anonymize"]["state"] == "done"
    folder = tmp_path / "data" / "jobs" / job_id
    assert (folder / "anonymized.mp4").is_file()
    settings = client.app.state.settings
    store = JobStore(settings.db_path)
    assert sweep(store, settings, now=time.time() + 1800) == 0 and folder.is_dir()
    assert sweep(store, settings, now=time.time() + 3601) == 1
    assert not folder.exists()
    assert client.get(f"/api/jobs/{job_id}").status_code == 404
    assert store.all_ids() == set()


def test_background_sweeper_runs_on_its_own(server, clip_factory, tmp_path, upload):
    client = server(retention_seconds=0.3, sweep_interval=0.1)
    job_id = upload(client, clip_factory(frames=3)).json()["id"]
    folder = tmp_path / "data" / "jobs" / job_id
    wait_until(lambda: not folder.exists(), 30, what="the background sweeper removed the expired job")
    assert JobStore(tmp_path / "data" / "jobs.sqlite3").all_ids() == set()


def test_restart_marks_the_interrupted_job_failed_removes_partial_files_and_retry_works(server, clip_factory,
                                                                                          tmp_path, upload, wait_for):
    first = server()
    clip = clip_factory(frames=150, size=(256, 192))
    job_id = upload(first, clip).json()["id"]
    first.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur"})
    def encoding() -> dict | None:  # the worker has encoded frames (or, too fast, finished)
        task = first.get(f"/api/jobs/{job_id}").json()["stages"]["anonymize"]
        return task if task["state"] == "running" and task["done"] > 0 or task["state"] == "done" else None

    task = wait_until(encoding, 120, what="the worker started encoding")
    assert task["state"] == "running", "the clip finished before the restart; make it longer"
    folder = tmp_path / "data" / "jobs" / job_id
    first.__exit__(None, None, None)  # server stops; its worker is terminated mid-video
    partial = [p.name for p in folder.iterdir() if ".part" in p.name]
    assert partial, "the interrupted run should have left half-written files"

    second = server()
    state = second.get(f"/api/jobs/{job_id}").json()
    task = state["stages"]["anonymize"]
    assert task["state"] == "failed" and task["retry"] is True
    assert "restart" in task["error"]
    assert sorted(p.name for p in folder.iterdir()) == ["original.mp4"]
    assert "Retry" in second.get(f"/jobs/{job_id}").text
    assert second.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur"}).status_code == 202
    state = wait_for(second, job_id, "anonymize")
    assert state["stages"]["anonymize"]["state"] == "done"
    assert state["stages"]["anonymize"]["result"]["frames"] == 150


def test_two_jobs_run_at_the_same_time(server, clip_factory, tmp_path, upload, wait_for):
    client = server(workers=2)
    clip = clip_factory(frames=60, size=(192, 144))
    ids = [upload(client, clip).json()["id"] for _ in range(2)]
    for job_id in ids:
        assert client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur"}).status_code == 202
    for job_id in ids:
        assert wait_for(client, job_id, "anonymize")["stages"]["anonymize"]["state"] == "done"
    store = JobStore(tmp_path / "data" / "jobs.sqlite3")
    a, b = (store.get(i).task("anonymize") for i in ids)
    assert a.started_at < b.finished_at and b.started_at < a.finished_at  # the runs overlapped


def test_a_job_runs_one_stage_at_a_time_and_checks_its_input(client, clip_factory, upload, wait_for):
    job_id = upload(client, clip_factory(frames=30, size=(160, 120))).json()["id"]
    assert client.post(f"/api/jobs/{job_id}/test").status_code == 409  # nothing anonymized yet
    r = client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "no-such-method"})
    assert r.status_code == 422 and "blur" in r.json()["detail"]
    assert client.post(f"/api/jobs/{job_id}/anonymize", json={"level": 9}).status_code == 422
    assert client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur"}).status_code == 202
    second = client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur"})
    assert second.status_code in (202, 409)  # 409 while the first run is active
    wait_for(client, job_id, "anonymize")


def test_post_requests_need_the_csrf_token(client, clip_factory, upload):
    clip = clip_factory(frames=3)
    token = client.headers.pop("X-CSRF-Token")
    r = upload(client, clip)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    client.headers["X-CSRF-Token"] = "wrong"
    assert upload(client, clip).status_code == 403
    client.headers["X-CSRF-Token"] = token
    assert client.post("/api/jobs", files={"file": ("a.mp4", clip.read_bytes())},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert upload(client, clip).status_code == 201


def test_access_token_protects_pages_and_api(server, clip_factory, upload):
    client = server(access_token="s3cret-token-123")
    client.cookies.clear()
    assert client.get("/api/methods").status_code == 401
    page = client.get("/")
    assert page.status_code == 401 and "Access token required" in page.text
    bearer = {"Authorization": "Bearer s3cret-token-123"}
    assert client.get("/api/methods", headers=bearer).status_code == 200
    assert upload(client, clip_factory(frames=3)).status_code == 401
    r = client.post("/api/jobs", files={"file": ("a.mp4", clip_factory(frames=3).read_bytes())}, headers=bearer)
    assert r.status_code == 201  # a bearer token needs no CSRF token (browsers never send one by themselves)
    # the login form (with its CSRF field) sets a session cookie holding an HMAC, never the token
    page = client.get("/")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    wrong = client.post("/login", data={"token": "nope", "csrf_token": csrf})
    assert wrong.status_code == 401
    ok = client.post("/login", data={"token": "s3cret-token-123", "csrf_token": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    assert "s3cret-token-123" not in ok.headers["set-cookie"]
    assert client.get("/").status_code == 200
    assert client.get("/api/methods").status_code == 200


def test_methods_page_openapi_and_no_directory_listing(client, tmp_path):
    methods = [m["name"] for m in client.get("/api/methods").json()["methods"]]
    assert methods[:4] == ["blur", "replace", "pixelate", "block"] and "reencode" not in methods
    page = client.get("/")
    assert page.status_code == 200 and 'id="upload-form"' in page.text
    assert "https://" not in page.text  # nothing from a CDN
    assert page.headers["x-frame-options"] == "DENY" and "default-src 'self'" in page.headers["content-security-policy"]
    spec = client.get("/openapi.json").json()
    assert {"/api/jobs", "/api/jobs/{job_id}", "/api/jobs/{job_id}/anonymize", "/api/jobs/{job_id}/test",
            "/api/jobs/{job_id}/files/{key}"} <= set(spec["paths"])
    for path in ("/static/", "/static", "/jobs/", "/static/../jobs.sqlite3", "/static/%2e%2e/jobs.sqlite3"):
        r = client.get(path)
        assert r.status_code in (404, 405) and "jobs.sqlite3" not in r.text and "app.css" not in r.text
    assert client.get("/static/app.css").status_code == 200
    data = (tmp_path / "data").resolve()
    assert not str(data).startswith(str(Path(__import__("anonymotion.web", fromlist=["x"]).__file__).parent))


def test_delete_now_removes_the_job(client, clip_factory, tmp_path, upload):
    job_id = upload(client, clip_factory(frames=3)).json()["id"]
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    assert client.get(f"/api/jobs/{job_id}").status_code == 404
    assert not (tmp_path / "data" / "jobs" / job_id).exists()


def test_uploads_take_the_csrf_token_and_a_case_code_as_form_fields(client, clip_factory, tmp_path):
    token = client.headers.pop("X-CSRF-Token")
    clip = clip_factory(frames=3)

    def post(url: str = "/api/jobs", **data: str):
        with open(clip, "rb") as fh:
            return client.post(url, files={"file": ("c.mp4", fh, "video/mp4")}, data=data)

    r = post(csrf_token=token, label="GAIT-017")  # a plain HTML form can upload: no header needed
    assert r.status_code == 201, r.text
    assert r.json()["label"] == "GAIT-017"
    assert post(csrf_token="forged", label="X").status_code == 403
    assert post(label="X").status_code == 403
    client.headers["X-CSRF-Token"] = token
    for bad in ("../etc", "Jane Doe", "a" * 33, "ü"):
        assert post(label=bad).status_code == 422, bad
        assert client.post(f"/api/jobs?label={bad}", content=clip.read_bytes()).status_code == 422
    r = client.post("/api/jobs?label=K_2", content=clip.read_bytes())
    assert r.status_code == 201 and r.json()["label"] == "K_2"
    data = tmp_path / "data"
    assert len(JobStore(data / "jobs.sqlite3").all_ids()) == 2  # refused uploads leave nothing behind
    assert not list((data / "incoming").iterdir())


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_test_stage_on_a_real_clip_names_the_person_judges_every_angle_and_deletes_the_original(
        server, real_snippet, tmp_path, upload, wait_for):
    client = server(keep_original=False)
    job_id = upload(client, real_snippet).json()["id"]
    client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur"})
    state = wait_for(client, job_id, "anonymize")
    assert state["stages"]["anonymize"]["state"] == "done", state["stages"]["anonymize"]["error"]
    assert state["original_kept"] is True  # still needed by the test
    assert client.post(f"/api/jobs/{job_id}/test", json={"person": 7}).status_code == 202  # unknown yet: runs
    state = wait_for(client, job_id, "test")
    assert "person 7 is not among" in state["stages"]["test"]["error"]
    assert client.post(f"/api/jobs/{job_id}/test").status_code == 202
    seen: list[dict] = []
    state = wait_for(client, job_id, "test", seen)
    test = state["stages"]["test"]
    assert test["state"] == "done", test["error"]
    # persons, then pose on the original, the anonymized video and the control (made while anonymizing)
    assert [(p["name"], p["total"]) for p in test["phases"]] == [
        ("persons", 1), ("pose_original", 8), ("pose_anonymized", 8), ("control", 8)]
    assert all(p["total"] in (1, 8) for s in seen for p in s["phases"])
    result = test["result"]
    assert result["person"]["id"] == 1 and len(result["persons"]) >= 1  # the most visible one by default
    summary = result["summary"]
    names = [a["angle"] for a in summary["angles"]]
    assert names[:8] == ["left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
                         "left_elbow", "right_elbow"]
    assert all(a["headline"] == (i < 8) for i, a in enumerate(summary["angles"]))
    assert summary["judged"] and "excess over the re-encode control" in summary["rule"]
    for a in summary["angles"]:
        assert a["frames"] == 8 and 0 <= a["n"] <= 8 and a["control_n"] is not None
        assert a["low_confidence"] == (a["n"] < 4 or (a["original"]["confidence"] or 0) < 0.5)
        assert a["verdict"] in ("ok", "sd", "fail", "n/a")
        if a["difference"]["rmse"] is not None and a["control"]["rmse"] is not None:
            assert a["excess_rmse"] == pytest.approx(a["difference"]["rmse"] - a["control"]["rmse"])
    assert 0 < summary["overall"]["ptk_pct"] <= 110 and summary["overall"]["control"]["epe_px"] >= 0
    # every person of the original (the measured one first) with frames found, matched and lost
    persons = summary["persons"]
    assert persons and persons[0]["subject"] and persons[0]["person"] == summary["overall"]["subject_person"]
    for p in persons:
        assert p["frames_matched"] + p["frames_lost"] == p["frames_ref"] and p["control_frames_lost"] is not None

    d = state["downloads"]
    label = state["label"]
    assert set(d) == {"anonymized", "manifest", "regions", "pose", "metrics", "plot", "report", "audit"} | (
        {"crops"} if state["review"]["crops"] else set())
    pose = client.get(d["pose"]["url"])
    assert pose.headers["content-disposition"] == f'attachment; filename="{label}_pose.mp4"'
    with av.open(io.BytesIO(pose.content)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 8
    inline = client.get(d["pose"]["url"] + "?inline=1", headers={"Range": "bytes=0-99"})
    assert inline.status_code == 206 and inline.headers["content-disposition"].startswith("inline")
    assert "left_knee" in client.get(d["metrics"]["url"]).text
    report = client.get(d["report"]["url"]).text
    assert "Left knee" in report and "snippet" not in report and "data:image/png;base64," in report
    overlay = client.get(state["review"]["overlay_url"]).json()
    assert len(overlay["frames"]) == 8 and len(overlay["skeleton"]["original"]) == 8
    window = client.get(state["review"]["overlay_url"] + "?start=5&count=2").json()  # long videos: by window
    assert window["start"] == 5 and [f["t"] for f in window["frames"]] == [f["t"] for f in overlay["frames"][5:7]]
    assert window["skeleton"]["anonymized"] == overlay["skeleton"]["anonymized"][5:7]
    assert client.get(state["review"]["overlay_url"] + "?count=100000").status_code == 422
    page = client.get(f"/jobs/{job_id}").text
    assert 'id="angle-table"' in page and "Measured: <strong>Person 1</strong>" in page
    assert " of 8</td>" in page and 'id="verdict-rule"' in page
    # without keep_original the upload and its re-encoded copy go once anonymized and tested
    state = wait_until(lambda: (s := client.get(f"/api/jobs/{job_id}").json())["original_kept"] is False and s, 30,
                       what="the original upload was deleted")
    assert state["review"]["original_url"] is None
    assert not (tmp_path / "data" / "jobs" / job_id / "original.mp4").exists()
    assert not (tmp_path / "data" / "jobs" / job_id / "control.mp4").exists()
    assert client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur"}).status_code == 409


@pytest.mark.timeout(300)
def test_a_damaged_video_is_refused_or_marked_damaged_never_plainly_done(client, clip_factory, tmp_path, upload,
                                                                         wait_for):
    from anonymotion.errors import AnonymotionError
    from anonymotion.io.damage import DecodeDamage
    from anonymotion.io.video import iter_frames

    data = clip_factory(frames=30, size=(160, 120)).read_bytes()
    damaged, count = None, 0
    for seed in range(20):  # seeded bit flips in the coded data, until the decoder reports damage
        buf = bytearray(data)
        rng = np.random.default_rng(seed)
        for pos in rng.integers(len(buf) // 5, len(buf) * 3 // 5, size=3):
            buf[int(pos)] ^= 1 << int(rng.integers(0, 8))
        path = tmp_path / f"damaged{seed}.mp4"
        path.write_bytes(bytes(buf))
        found = DecodeDamage()
        try:
            decoded = sum(1 for _ in iter_frames(path, damage=found))
        except AnonymotionError:
            continue
        if found.count and decoded:
            damaged, count = path, found.count
            break
    assert damaged is not None, "no seed gave a damaged but decodable copy"
    job_id = upload(client, damaged).json()["id"]
    client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur"})
    state = wait_for(client, job_id, "anonymize")
    task = state["stages"]["anonymize"]
    # frame-threaded decoding may flag one frame more or less than the probe above (README: damaged input)
    assert task["state"] == "failed" and task["error"].startswith("damaged: ")
    assert abs(int(task["error"].split()[1]) - count) <= 1, (task["error"], count)
    assert "anonymized" not in state["downloads"]
    page = client.get(f"/jobs/{job_id}").text
    assert f"damaged: {count} frame" in page and 'id="accept-damaged"' in page

    client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur", "accept_damaged": True})
    state = wait_for(client, job_id, "anonymize")
    result = state["stages"]["anonymize"]["result"]
    assert state["stages"]["anonymize"]["state"] == "done" and result["damaged_frames"] == count
    manifest = client.get(state["downloads"]["manifest"]["url"]).json()
    assert manifest["parameters"]["accept_damaged"] is True
    page = client.get(f"/jobs/{job_id}").text
    summary = page[page.index('id="anonymize-summary"'):page.index("</p>", page.index('id="anonymize-summary"'))]
    assert f"damaged: {count} frame" in summary and "Review needed" in summary and ">Anonymized<" not in summary
