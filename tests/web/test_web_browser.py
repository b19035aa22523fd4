"""End to end in real headless Chromium: upload a lab clip, blur, test, see the angles, download."""

from __future__ import annotations

import re
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from anonymotion.web.app import create_app
from anonymotion.web.settings import Settings
from kit import wait_until

CHROMIUM = Path("/usr/bin/chromium")
MANDATORY_TAGS = {"major_brand", "minor_version", "compatible_brands"}
PAGE_TIMEOUT_MS = 300_000  # the longest any single step of the page may take (Playwright's unit: ms)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    settings = Settings(data_dir=tmp_path / "data", workers=2, port=_free_port()).validated()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def started() -> bool:
        if not thread.is_alive():
            pytest.fail("the server did not start")
        return server.started

    wait_until(started, 60, interval=0.05, what="uvicorn started")
    yield f"http://127.0.0.1:{settings.port}"
    server.should_exit = True
    thread.join(timeout=60)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(1200)
def test_clinician_flow_in_chromium(live_server: str, shared_data, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    clip = shared_data("lab_single/cam01.mp4")
    upload = tmp_path / "Patient Jane Doe 2024-03-01.mp4"  # a name that must never reach the server
    shutil.copyfile(clip, upload)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            # finite waits: a page that never shows a result fails the test instead of hanging it. Generous,
            # because the machine may be slow: anonymizing and posing 100 full-HD frames takes minutes.
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(live_server + "/")
            assert page.title() == "anonymotion"

            # a file that is not a video: a clear error in the page, and the page keeps working
            junk = tmp_path / "notes.mp4"
            junk.write_bytes(b"this is not a video\n" * 100)
            page.set_input_files("#file-input", str(junk))
            page.click("#upload-button")
            page.wait_for_selector("#upload-error:not([hidden])")
            assert "This file cannot be used" in page.inner_text("#upload-error")

            # 1 Upload
            page.set_input_files("#file-input", str(upload))
            assert "Patient Jane Doe" in page.inner_text("#file-label")  # shown locally only
            page.click("#upload-button")
            page.wait_for_url(re.compile(r"/jobs/[A-Za-z0-9_-]{32}$"))
            assert "1080 × 1920" in page.inner_text("#step-upload") and "100" in page.inner_text("#step-upload")

            # 2 Anonymize with blur; the progress bar appears, then the summary
            page.select_option("#method", "blur")
            page.click("#anonymize-button")
            # live progress: frames done / total, then an ETA, until the page shows the result
            page.wait_for_selector("#anonymize-progress-text:has-text('/ 100 frames')")
            eta = re.compile(r"\d+ / 100 frames \(\d+ %, about .+ left\)")
            def eta_shown() -> bool:
                assert page.locator("#anonymize-summary").count() == 0, "finished before an ETA was shown"
                return bool(eta.search(page.text_content("#anonymize-progress-text") or ""))

            wait_until(eta_shown, PAGE_TIMEOUT_MS / 1000, what="the progress text shows an ETA")
            page.wait_for_selector("#anonymize-summary")
            assert "Face blur applied to 100 frames" in page.inner_text("#anonymize-summary")

            # 3 Test: pose on both videos, angle numbers for knees and elbows
            page.click("#test-button")
            page.wait_for_selector("#angle-table")
            rows = page.locator("#angle-table tbody tr")
            assert rows.count() == 4
            labels = [rows.nth(i).locator("td").first.inner_text() for i in range(4)]
            assert [x.split()[0] + " " + x.split()[1] for x in labels] == [
                "Left knee", "Right knee", "Left elbow", "Right elbow"]
            for i in range(4):
                cells = rows.nth(i).locator("td").all_inner_texts()
                numbers = [float(m) for m in re.findall(r"-?\d+\.\d+", " ".join(cells))]
                assert len(numbers) >= 9, cells  # means, SDs, confidences and differences are shown
            assert "Re-encode control" in page.inner_text("#angle-table")
            assert re.search(r"\d+\.\d px", page.inner_text("#metric-epe"))
            assert re.search(r"\d+\.\d %", page.inner_text("#metric-ptk"))
            assert page.locator("#angle-plot").evaluate("img => img.naturalWidth") > 0
            assert page.locator("#download-csv").is_visible()

            # 4 Pose: the skeleton video plays in the page
            page.locator("#pose-video").evaluate(
                "v => new Promise(r => v.readyState >= 2 ? r() : v.addEventListener('loadeddata', r))")
            assert page.locator("#pose-video").evaluate("v => v.videoWidth") == 1080

            # 5 Download the anonymized video
            with page.expect_download() as info:
                page.click("#download-anonymized")
            download = info.value
            assert download.suggested_filename == "anonymized.mp4"
            saved = tmp_path / "downloaded.mp4"
            download.save_as(saved)

            page.screenshot(path=str(tmp_path / "anonymotion-web.png"), full_page=True)
        finally:
            browser.close()

    assert all(u.startswith(live_server) for u in requests), "the page loaded something from elsewhere"
    assert not any("Jane" in u for u in requests)
    with av.open(str(saved)) as c:
        assert [s.type for s in c.streams] == ["video"]
        assert set(c.metadata) <= MANDATORY_TAGS
        assert not c.streams.video[0].metadata.keys() - {"language", "handler_name", "vendor_id"}
        frames = sum(1 for _ in c.decode(video=0))
    assert frames == 100
    assert not list((tmp_path / "data").rglob("*Jane*"))
