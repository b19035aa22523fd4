"""The clinician's flow in real headless Chromium, on a real two-person lab clip.

Upload with a case code, anonymize (test right after), watch the phases, review the original and
the anonymized video side by side with the covered regions drawn, open a leak crop at its moment
and mark it "not a face", download the audit report, read the verdict table (n of N, the rule),
measure the second person, try another method without uploading again, and check the download
names. The page must never break its own Content-Security-Policy.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from anonymotion.evaluation.judge import RULE
from anonymotion.web.app import create_app
from anonymotion.web.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
MANDATORY_TAGS = {"major_brand", "minor_version", "compatible_brands"}
WAIT_MS = 240_000  # generous: the machine may be shared; every wait is still finite
PHASES = ["Anonymize", "Audit", "Find persons", "Pose original", "Pose anonymized", "Control"]
# collects Content-Security-Policy violations the page reports to itself (beside the console)
CSP_PROBE = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    settings = Settings(data_dir=tmp_path / "data", workers=1, port=_free_port()).validated()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{settings.port}"
    server.should_exit = True
    thread.join(timeout=30)


def _wait_for_job(page, selector: str, text: str) -> None:
    """Wait until the job page (reloaded by its poller when a stage ends) is idle and ``selector`` shows ``text``."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        try:
            if page.evaluate("([s, t]) => { const j = document.getElementById('job'), e = document.querySelector(s);"
                             " return !!j && !!e && j.dataset.busy === 'false' && e.innerText.includes(t); }",
                             [selector, text]):
                return
        except Error:  # the page is reloading
            pass
        time.sleep(0.3)
    pytest.fail(f"the page did not show {text!r} in time: {page.inner_text('#job')[:2000]}")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(600)
def test_clinician_reviews_measures_two_people_and_tries_another_method(live_server: str, two_person_clip: Path,
                                                                        tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    upload = tmp_path / "Patient Jane Doe 2024-03-01.mp4"  # a name that must never reach the server
    shutil.copyfile(two_person_clip, upload)
    console_errors: list[str] = []
    requests: list[tuple[str, str]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), timeout=60_000, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(60_000)
            page.add_init_script(CSP_PROBE)
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            page.on("request", lambda r: requests.append((r.method, r.url)))
            page.goto(live_server + "/")

            # a case code that would make a bad file name is refused in the page
            page.set_input_files("#file-input", str(upload))
            page.fill("#label-input", "../etc")
            page.click("#upload-button")
            page.wait_for_selector("#upload-error:not([hidden])")
            assert "letters, digits" in page.inner_text("#upload-error")

            # 1 Upload with a case code
            page.fill("#label-input", "GAIT-017")
            page.click("#upload-button")
            page.wait_for_url(re.compile(r"/jobs/[A-Za-z0-9_-]{32}$"))
            assert page.inner_text("#job-label") == "GAIT-017"
            assert "540 × 960" in page.inner_text("#step-upload")
            assert "kept so you can try another method" in page.inner_text("#original-status")

            # 2 Anonymize with the study's mild head blur (25 px kernel: it leaves faces the audit flags,
            # which the reviewer then sees), the Test right after: the whole job's phases with frame totals
            assert page.is_checked("#test-after")
            page.select_option("#method", "head")
            with page.expect_navigation():  # the page reloads to follow the job
                page.click("#anonymize-button")
            page.wait_for_selector("#phase-list li.phase-running", timeout=WAIT_MS)
            phases = page.locator("#phase-list li")
            assert [phases.nth(i).locator(".phase-label").inner_text() for i in range(phases.count())] == PHASES
            counts = [phases.nth(i).locator(".phase-count").inner_text() for i in range(phases.count())]
            assert [c.split("/ ")[1] for c in counts] == ["16 frames", "16 frames", "1 frame", "16 frames",
                                                          "16 frames", "16 frames"]
            assert "% of the whole job" in page.inner_text("#job-progress-text")
            _wait_for_job(page, "#measured-person", "Measured:")
            summary = page.inner_text("#anonymize-summary")
            assert "Head blur" in summary and "16 frames" in summary
            assert "Review needed" in summary  # the audit flagged frames: never a plain "done"

            # 3 Review: both videos play in the page, in sync, with the covered regions drawn
            for video in ("#review-original", "#review-anonymized"):
                page.locator(video).evaluate(
                    "v => new Promise(r => v.readyState >= 2 ? r() : v.addEventListener('loadeddata', r))")
                assert page.locator(video).evaluate("v => v.videoWidth") == 540
            page.wait_for_selector("#review[data-overlay='ready']")
            page.check("#show-regions")
            drawn = page.locator("#overlay-anonymized").evaluate(
                "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 == 3 && v)")
            assert drawn, "the covered regions are not drawn over the anonymized video"
            page.check("#show-skeleton")

            # the audit's leak crops, each a thumbnail that opens its moment in the player
            crops = page.locator("#leak-crops li")
            assert crops.count() >= 1
            first = crops.first
            assert first.locator("img").evaluate("i => i.complete && i.naturalWidth > 0")
            frame = int(first.locator(".crop-seek").get_attribute("data-frame"))
            assert f"frame {frame} ·" in first.inner_text()
            first.locator(".crop-seek").click()
            page.wait_for_function("f => document.getElementById('timecode').innerText.startsWith('frame ' + f + ' ')",
                                   arg=frame)
            times = [page.locator(v).evaluate("v => v.currentTime") for v in ("#review-anonymized", "#review-original")]
            assert abs(times[0] - times[1]) < 1 / 60 and abs(times[0] - (frame + 0.25) / 60) < 1 / 60
            first.locator(".not-a-face").check()
            page.wait_for_function("() => document.getElementById('review-marks').innerText.startsWith('1 of')")
            assert "crop-marked" in (first.get_attribute("class") or "")
            job_url = live_server + "/api/jobs/" + page.url.rsplit("/", 1)[1]
            manifest = page.request.get(page.request.get(job_url).json()["downloads"]["manifest"]["url"]).json()
            marks = manifest["reviewer"]["not_a_face"]  # which crop, nothing about who marked it
            assert [m["crop"] for m in marks] == [first.get_attribute("data-name")]
            assert set(marks[0]) == {"crop", "frame", "track"} and marks[0]["frame"] == frame
            for i in range(1, crops.count()):  # the rest were false alarms too: the result says so after a reload
                crops.nth(i).locator(".not-a-face").check()
                page.wait_for_function("n => document.getElementById('review-marks').innerText.startsWith(n + ' of')",
                                       arg=i + 1)
            audit_state = page.request.get(job_url).json()["review"]["audit"]
            page.reload()
            summary = page.inner_text("#anonymize-summary")
            if audit_state["residual"] == 0 and audit_state["metadata"] == 0:  # leaks were all it found
                assert "Reviewed" in summary and "Review needed" not in summary
            else:
                assert "Review needed" in summary
            with page.expect_download() as info:
                page.click("#review-download-audit")
            assert info.value.suggested_filename == "GAIT-017_audit.json"
            audit = json.loads(Path(info.value.path()).read_text())
            assert audit["verdict"] == "fail" and audit["faces"]["leaked_face_frames"] >= 1
            assert "Jane" not in json.dumps(audit) and "/jobs/" not in json.dumps(audit)

            # 4 Test: the verdict table says what each verdict was judged on, and by which rule
            assert "Person 1" in page.inner_text("#measured-person")
            assert RULE in page.inner_text("#verdict-rule")
            rows = page.locator("#angle-table tbody tr")
            names = [rows.nth(i).get_attribute("data-angle") for i in range(rows.count())]
            assert names == ["left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
                             "left_elbow", "right_elbow"]
            for i in range(rows.count()):
                n_of = rows.nth(i).locator(".n-of-n").inner_text()
                n, total = map(int, re.fullmatch(r"(\d+) of (\d+)", n_of).groups())
                assert total == 16 and 0 <= n <= 16
                low = "low" in (rows.nth(i).get_attribute("class") or "").split()
                assert low == (n < 8 or "low confidence" in rows.nth(i).inner_text())
            assert page.locator("#other-angles summary").is_visible()
            assert not page.locator("#other-angle-table").is_visible()  # behind the fold
            with page.expect_download() as info:
                page.click("#download-csv")
            assert info.value.suggested_filename == "GAIT-017_metrics.csv"

            # measure the second person instead
            persons = page.locator("#persons input[name=person]")
            assert persons.count() >= 2
            assert page.locator("#persons img").first.evaluate("i => i.complete && i.naturalWidth > 0")
            page.check("#persons input[value='2']")
            with page.expect_navigation():
                page.click("#test-button")
            _wait_for_job(page, "#measured-person", "Measured: Person 2")
            assert page.is_checked("#persons input[value='2']")

            # another method without uploading again
            uploads_before = sum(1 for m, u in requests if m == "POST" and u.endswith("/api/jobs"))
            page.select_option("#method", "pixelate")
            page.uncheck("#test-after")
            with page.expect_navigation():
                page.click("#anonymize-button")
            _wait_for_job(page, "#anonymize-summary", "Face pixelate")
            assert sum(1 for m, u in requests if m == "POST" and u.endswith("/api/jobs")) == uploads_before == 1
            with page.expect_download() as info:
                page.click("#download-anonymized")
            assert info.value.suggested_filename == "GAIT-017_anonymized.mp4"
            saved = tmp_path / "downloaded.mp4"
            info.value.save_as(saved)
            csp = page.evaluate("window.__csp")
        finally:
            browser.close()

    assert csp == [], csp
    assert not [e for e in console_errors if "Content Security Policy" in e or "Refused to" in e], console_errors
    assert all(u.startswith(live_server) for _, u in requests), "the page loaded something from elsewhere"
    assert not any("Jane" in u for _, u in requests)
    with av.open(str(saved)) as c:
        assert [s.type for s in c.streams] == ["video"]
        assert set(c.metadata) <= MANDATORY_TAGS
        assert sum(1 for _ in c.decode(video=0)) == 16
    assert not list((tmp_path / "data").rglob("*Jane*"))
