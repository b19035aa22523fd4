"""The web page's strength levels: level 1 (its default) anonymizes exactly as the library default.

A clinician who keeps the page's defaults must get the same anonymization as a script user who
calls ``anonymotion anonymize`` with none of the tuning options (issue 10: the page's "Standard"
blur used to be weaker than the library's).
"""

from __future__ import annotations

import dataclasses

import av
import numpy as np
import pytest

from anonymotion.methods.registry import METHODS, level_value, make_method

#: the methods whose strength the page lets the user choose (Block and the re-encode control have none)
LEVELLED = {"blur", "pixelate", "head", "body-blur", "body-pixelate", "lowres"}


def _class_default(cls: type, param: str):
    """The default of ``param`` as the method's dataclass declares it (not via the registry)."""
    (field,) = [f for f in dataclasses.fields(cls) if f.name == param]
    return field.default


def test_level_one_is_the_class_default_for_every_method_with_levels():
    levelled = {name for name, cls in METHODS.items() if cls.level_param}
    assert levelled == LEVELLED
    for name in sorted(levelled):
        cls = METHODS[name]
        param = cls.level_param
        assert level_value(name, 1) == (param, _class_default(cls, param)), name
        assert getattr(cls(), param) == level_value(name, 1)[1], name  # what a default-built method uses
        assert sorted(cls.levels) == [1, 2, 3, 4], name


def test_the_api_and_the_page_default_to_level_one(client, clip_factory, upload):
    from anonymotion.web.app import AnonymizeRequest

    assert AnonymizeRequest().level == 1
    schema = client.get("/openapi.json").json()["components"]["schemas"]["AnonymizeRequest"]
    assert schema["properties"]["level"]["default"] == 1
    job_id = upload(client, clip_factory(frames=2)).json()["id"]
    page = client.get(f"/jobs/{job_id}").text  # the Anonymize step of a fresh upload
    level_select = page.split('id="level"')[1].split("</select>")[0]
    assert '<option value="1" selected>' in level_select and level_select.count("selected") == 1


@pytest.mark.parametrize("name", sorted(n for n in METHODS if n != "reencode"))
def test_the_pages_default_choice_builds_the_library_default_method(name):
    """The worker turns the page's default choice into the same method object as the CLI's defaults."""
    from anonymotion.config import AnonymizeConfig
    from anonymotion.web.app import AnonymizeRequest
    from anonymotion.web.stages import method_overrides

    web = AnonymizeConfig().with_overrides(**method_overrides(AnonymizeRequest(method=name).model_dump()))
    cli = AnonymizeConfig(method=name)
    assert make_method(name, **web.method_params()) == make_method(name, **cli.method_params())


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_default_web_job_writes_the_same_pixels_as_the_default_cli(server, shared_data, clip_factory, tmp_path,
                                                                     upload, wait_for):
    """End to end: the page's default blur and ``anonymotion anonymize`` without options give
    identical anonymized frames (one real face, 4 frames)."""
    from anonymotion.cli import main
    from anonymotion.io.images import read_image

    face = read_image(shared_data("images/portrait.jpg"))  # (640, 516, 3): one man facing the camera

    def paint(i: int, rgb: np.ndarray) -> None:
        rgb[:] = face

    clip = clip_factory("portrait.mp4", frames=4, size=(516, 640), painter=paint)
    client = server()
    job_id = upload(client, clip).json()["id"]
    assert client.post(f"/api/jobs/{job_id}/anonymize", json={"method": "blur"}).status_code == 202
    state = wait_for(client, job_id, "anonymize", timeout=240)
    assert state["stages"]["anonymize"]["state"] == "done", state["stages"]["anonymize"]["error"]
    web_manifest = client.get(state["downloads"]["manifest"]["url"]).json()
    assert web_manifest["parameters"]["strength"] == _class_default(METHODS["blur"], "strength")
    web_video = tmp_path / "web.mp4"
    web_video.write_bytes(client.get(state["downloads"]["anonymized"]["url"]).content)

    cli_video = tmp_path / "cli.mp4"
    assert main(["anonymize", str(clip), "-o", str(cli_video), "-q"]) == 0

    def frames(path):
        with av.open(str(path)) as c:
            return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]

    web_frames, cli_frames = frames(web_video), frames(cli_video)
    assert len(web_frames) == len(cli_frames) == 4
    original = frames(clip)
    for w, c, o in zip(web_frames, cli_frames, original):
        assert np.array_equal(w, c)
        assert np.abs(w.astype(int) - o).max() > 50  # and the face really was anonymized
