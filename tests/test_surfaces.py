"""One config, one engine: what every surface (CLI, Python, batch) must agree on."""

from __future__ import annotations

import json

import pytest

from anonymotion.cli import main


@pytest.mark.timeout(120)
def test_two_inputs_that_would_share_an_output_name_are_refused(clip_factory, tmp_path, capsys):
    clip_factory("clip.mp4", frames=3)
    clip_factory("clip.mov", frames=3)
    out = tmp_path / "out"
    code = main(["anonymize", str(tmp_path), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert "clip.mp4" in err and "clip.mov" in err and "overwrite" in err
    assert not out.exists() or not any(out.iterdir())  # nothing written before the refusal


@pytest.mark.timeout(120)
def test_batch_refuses_the_same_collision(clip_factory, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    clip_factory("in/a.mp4", frames=3)
    clip_factory("in/a.mkv", frames=3)
    code = main(["batch", str(src), str(tmp_path / "out"), "-q", "--workers", "1"])
    assert code == 2 and "would both be written" in capsys.readouterr().err


@pytest.mark.timeout(60)
@pytest.mark.parametrize("argv, flag", [
    (["--method", "blur", "--blocks", "4"], "--blocks"),
    (["--method", "pixelate", "--kernel", "31"], "--kernel"),
    (["--method", "block", "--strength", "0.5"], "--strength"),
])
def test_an_option_the_method_does_not_use_is_refused(clip_factory, tmp_path, capsys, argv, flag):
    clip = clip_factory("c.mp4", frames=3)
    code = main(["anonymize", str(clip), "-o", str(tmp_path / "o.mp4"), "-q", *argv])
    err = capsys.readouterr().err
    assert code == 2 and flag in err and "does not apply" in err
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.timeout(60)
def test_deprecated_spellings_still_work_and_name_the_new_option(clip_factory, tmp_path, capsys):
    clip = clip_factory("c.mp4", frames=3)
    assert main(["anonymize", str(clip), "-o", str(tmp_path / "o.mp4"), "-q", "--threshold", "0.3"]) == 0
    assert "use --face-threshold" in capsys.readouterr().err
    manifest = json.loads((tmp_path / "o.manifest.json").read_text())
    assert manifest["parameters"]["face_threshold"] == 0.3


@pytest.mark.timeout(60)
def test_image_refuses_options_that_only_videos_have(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    img = tmp_path / "p.png"
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(img)
    key = tmp_path / "k.key"
    assert main(["keygen", str(key)]) == 0
    code = main(["anonymize", str(img), "-o", str(tmp_path / "o.png"), "--recoverable", "--key", str(key), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "--recoverable works on videos only" in err and str(img) in err
    assert not (tmp_path / "o.png").exists()
    assert main(["anonymize", str(img), "-o", str(tmp_path / "o.png"), "--audit", "-q"]) == 2
    assert not (tmp_path / "o.png").exists()


def test_every_cli_option_of_anonymize_is_a_config_field():
    """CLI ≡ Python ≡ web ≡ batch by construction: the options come from the config's fields."""
    from dataclasses import fields

    from anonymotion.cli import build_parser
    from anonymotion.commands.options import flag_of
    from anonymotion.config import AnonymizeConfig

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for command in ("anonymize", "batch"):
        flags = {s for a in sub[command]._actions for s in a.option_strings}
        for f in fields(AnonymizeConfig):
            if f.metadata.get("cli", True) and not (command == "batch" and f.name == "audit"):
                assert flag_of(f) in flags, (command, f.name)


def _trim(src, dst, frames):
    """The first ``frames`` frames of ``src`` re-encoded losslessly-enough (crf 10) with PyAV."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream("libx264", rate=vin.average_rate)
        vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        vout.options = {"crf": "10"}
        for i, frame in enumerate(inp.decode(vin)):
            if i >= frames:
                break
            for p in vout.encode(frame.reformat(format="yuv420p")):
                out.mux(p)
        for p in vout.encode(None):
            out.mux(p)
    return dst


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_cli_evaluate_and_batch_evaluate_give_identical_verdict_rows(shared_data, tmp_path):
    """The same clip through ``evaluate`` and ``batch --evaluate``: the one engine, the same verdicts."""
    src = tmp_path / "in"
    src.mkdir()
    clip = _trim(shared_data("lab_single/cam01.mp4"), src / "cam01.mp4", 24)
    assert main(["evaluate", str(clip), "--methods", "blur", "-o", str(tmp_path / "eval"), "-q"]) == 0
    cli_rows = json.loads((tmp_path / "eval" / "evaluation.json").read_text())["tables"]["verdicts"]
    assert main(["batch", str(src), str(tmp_path / "out"), "--methods", "blur", "--evaluate", "-q",
                 "--workers", "1"]) == 0
    manifest = json.loads((tmp_path / "out" / "batch_manifest.json").read_text())
    entry = next(iter(manifest["entries"].values()))
    batch_rows = entry["evaluation"]["blur"]["verdicts"]
    keys = ("angle", "method", "verdict", "n", "control_n", "frames")
    assert len(cli_rows) == len(batch_rows) > 10
    assert [tuple(r[k] for k in keys) for r in cli_rows] == [tuple(r[k] for k in keys) for r in batch_rows]
    for a, b in zip(cli_rows, batch_rows):
        for k in ("rmse", "control_rmse", "sd", "control_sd"):
            assert (a[k] is None and b[k] is None) or a[k] == pytest.approx(b[k], abs=1e-6), (a["angle"], k)
