"""The face detector choice ("Advanced" on the page) reaches the same config field as --detector."""

from __future__ import annotations

import pytest

from anonymotion.web.stages import method_overrides


def test_page_choice_maps_to_the_config_field() -> None:
    assert method_overrides({"method": "blur", "detector": "centerface,yunet"})["detector"] == "centerface,yunet"
    assert "detector" not in method_overrides({"method": "blur", "detector": None})  # null = library default


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_api_takes_the_detector_and_the_manifest_records_it(client, clip_factory, upload, wait_for):
    job_id = upload(client, clip_factory(frames=6, size=(160, 120))).json()["id"]
    bad = client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur", "detector": "retinaface"})
    assert bad.status_code == 422 and "retinaface" in bad.text and "yunet" in bad.text
    assert client.get("/api/methods").json()["detectors"][0]["label"].endswith("(default)")
    r = client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur", "detector": "yunet"})
    assert r.status_code == 202
    state = wait_for(client, job_id, "anonymize")
    assert state["stages"]["anonymize"]["state"] == "done", state["stages"]["anonymize"]["error"]
    manifest = client.get(state["downloads"]["manifest"]["url"]).json()
    assert manifest["parameters"]["detector"] == "yunet"
    page = client.get(f"/jobs/{job_id}").text
    assert 'id="advanced"' in page and '<option value="yunet" selected' in page
