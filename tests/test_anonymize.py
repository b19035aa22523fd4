"""The anonymizer end to end: real faces covered, timing kept, nothing identifying left."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from anonymotion import anonymize
from anonymotion.cli import main
from anonymotion.io.metadata import describe_container
from anonymotion.io.video import iter_frames, probe
from anonymotion.io.writer import MANDATORY_TAGS
from kit import regions, trim_clip

pytestmark = pytest.mark.timeout(300)  # the face detector over videos


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _assert_clean(path: Path, *, audio: bool = False) -> None:
    desc = describe_container(path)
    kinds = [s["type"] for s in desc["streams"]]
    assert kinds == (["video", "audio"] if audio else ["video"]), kinds
    assert set(desc["container_tags"]) <= MANDATORY_TAGS, desc["container_tags"]
    for s in desc["streams"]:
        assert set(s["tags"]) <= MANDATORY_TAGS, s
    assert desc["chapters"] == 0
    with av.open(str(path)) as c:
        for s in c.streams:
            handler = s.metadata.get("handler_name", "")
            assert handler in ("", "VideoHandler", "SoundHandler"), handler


def _detail(patch: np.ndarray) -> float:
    """Fine detail of a patch (mean |grey - grey smoothed with sigma 1 px|): what makes a face recognisable."""
    from scipy.ndimage import gaussian_filter

    grey = patch.astype(float).mean(axis=2)
    return float(np.abs(grey - gaussian_filter(grey, 1.0, mode="nearest")).mean())


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_street_faces_found_and_covered(shared_data, tmp_path):
    src = trim_clip(shared_data("street_720p50.avi"), tmp_path / "street50.mp4", 50)
    result = anonymize(src, tmp_path / "street.mp4")
    lines = [json.loads(x) for x in result.regions_path.read_text().splitlines()]
    assert len(lines) == result.frames == 50
    with_faces = sum(1 for x in lines if x["regions"])
    assert with_faces >= 0.9 * len(lines)
    small = [r for x in lines for r in x["regions"] if r["box"][3] - r["box"][1] < 32]
    assert len(small) > 50, "the small background faces must be found too"
    # every reported region lost its detail in the output
    checked = 0
    for orig, anon, line in zip(iter_frames(src), iter_frames(result.output), lines):
        if orig.index % 10:
            continue
        for r in line["regions"]:
            x1, y1, x2, y2 = (int(round(v)) for v in r["box"])
            a, b = orig.rgb[max(0, y1):y2, max(0, x1):x2], anon.rgb[max(0, y1):y2, max(0, x1):x2]
            moved = np.abs(a.astype(int) - b).mean()
            # pixels moved beyond codec noise (~2 levels at crf 18), unless the patch was already
            # featureless (the street clip is soft: many tiny boxes hold no detail a blur could remove)
            assert moved > 3 or _detail(a) < 1.5, (orig.index, r, moved, _detail(a))
            checked += 1
    assert checked > 40
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["frames_in"] == manifest["frames_out"] == 50
    _assert_clean(result.output)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_gopro_telemetry_and_tags_do_not_survive(shared_data, tmp_path):
    src = shared_data("metadata/gopro_karma_gps.mp4")
    before = describe_container(src)
    assert "data" in [s["type"] for s in before["streams"]]
    code = main(["anonymize", "--quiet", str(src), "-o", str(tmp_path / "gopro.mp4")])
    assert code == 0
    out = tmp_path / "gopro.mp4"
    _assert_clean(out)
    data = out.read_bytes()
    for needle in (b"GoPro", b"HD5.02", b"gpmd", b"GPS", b"x264", b"Lavf", b"2017-04"):
        assert needle not in data, needle
    manifest = json.loads((tmp_path / "gopro.manifest.json").read_text())
    assert "firmware" in manifest["dropped"]["container_tags"]
    assert "timecode" in manifest["dropped"]["stream_tags"]
    assert sum(1 for s in manifest["dropped"]["streams"] if s["type"] == "data") == 3
    assert "HD5.02" not in json.dumps(manifest)  # names of dropped tags, never their values
    assert len(list(iter_frames(out))) == probe(src).frame_count


def test_planted_tags_subtitles_and_chapters_are_dropped(clip_factory, tmp_path):
    clip = clip_factory("plain.mp4", frames=10, audio=True)
    srt = tmp_path / "subs.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,300\nPatient: Jane Doe, DOB 1950-01-01\n")
    chapters = tmp_path / "meta.txt"
    chapters.write_text(";FFMETADATA1\ntitle=Jane Doe gait\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=200\n"
                        "title=Visit one\n")
    tagged = tmp_path / "tagged.mov"
    subprocess.run([_ffmpeg(), "-v", "error", "-y", "-i", str(clip), "-i", str(srt), "-i", str(chapters),
                    "-map", "0", "-map", "1", "-map_metadata", "2", "-map_chapters", "2", "-c", "copy",
                    "-c:s", "mov_text", "-movflags", "use_metadata_tags", "-metadata", "location=+48.8584+002.2945/", "-metadata", "make=Apple",
                    "-metadata", "model=iPhone 15", "-metadata", "creation_time=2026-01-02T03:04:05Z",
                    "-metadata:s:v", "serial_number=C02XYZ", str(tagged)], check=True)
    desc = describe_container(tagged)
    assert {"subtitle", "audio"} <= {s["type"] for s in desc["streams"]} and desc["chapters"] == 1
    result = anonymize(tagged, tmp_path / "clean.mp4")
    _assert_clean(result.output)
    data = result.output.read_bytes()
    for needle in (b"Jane", b"Apple", b"iPhone", b"C02XYZ", b"48.8584", b"Visit one"):
        assert needle not in data
    manifest = json.loads(result.manifest_path.read_text())
    assert {"location", "make", "model"} <= set(manifest["dropped"]["container_tags"])
    assert {"subtitle", "audio"} <= {s["type"] for s in manifest["dropped"]["streams"]}
    assert manifest["dropped"]["chapters"] == 1


def test_audio_dropped_by_default_kept_when_asked(clip_factory, tmp_path):
    clip = clip_factory("talk.mp4", frames=25, audio=True)
    plain = anonymize(clip, tmp_path / "a.mp4")
    _assert_clean(plain.output)
    kept = anonymize(clip, tmp_path / "b.mp4", keep_audio=True)
    _assert_clean(kept.output, audio=True)
    with av.open(str(kept.output)) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
    assert samples >= 0.9 * 48000 * 25 / 25  # about one second of audio survives
    assert json.loads(kept.manifest_path.read_text())["audio"].startswith("re-encoded")


def test_vfr_rotated_odd_10bit_clip_keeps_frames_and_times(clip_factory, tmp_path):
    pts = [0, 33, 66, 150, 183, 400, 433, 700, 733, 766]
    src = clip_factory("phone.mp4", pts=pts, time_base=Fraction(1, 1000), size=(96, 64), rotation=90,
                       pix_fmt="yuv420p10le")
    result = anonymize(src, tmp_path / "phone_out.mp4")
    info = probe(result.output)
    assert info.rotation == 0  # the pixels are upright now
    frames = list(iter_frames(result.output, info))
    assert frames[0].rgb.shape[:2] == (96, 64)  # portrait after rotation
    assert [round(f.t, 3) for f in frames] == [p / 1000 for p in pts]
    assert result.frames == len(pts)


def test_odd_size_output_is_padded_by_one_pixel(clip_factory, tmp_path):
    src = clip_factory("odd.mkv", frames=5, size=(65, 49), codec="ffv1", pix_fmt="yuv420p")
    result = anonymize(src, tmp_path / "odd.mp4")
    first = next(iter(iter_frames(result.output)))
    assert first.rgb.shape == (50, 66, 3)


def test_input_is_never_modified_or_overwritten(clip_factory, tmp_path, capsys):
    src = clip_factory("keep.mp4", frames=5)
    before = src.read_bytes()
    code = main(["anonymize", "--quiet", str(src), "-o", str(src)])
    assert code == 2 and "overwrite the input" in capsys.readouterr().err
    anonymize(src)
    assert src.read_bytes() == before
    assert (tmp_path / "keep_anonymized.mp4").exists()
    assert (tmp_path / "keep_anonymized.regions.jsonl").exists()
    assert (tmp_path / "keep_anonymized.manifest.json").exists()


def test_an_output_without_suffix_is_a_folder_for_one_file(clip_factory, tmp_path, capsys):
    """`-o results` for one video writes results/<stem>_anonymized.mp4, not a file named "results"."""
    src = clip_factory("walk.mp4", frames=3)
    assert main(["anonymize", "--quiet", str(src), "-o", str(tmp_path / "results")]) == 0
    assert (tmp_path / "results").is_dir()
    assert (tmp_path / "results" / "walk_anonymized.mp4").is_file()
    assert (tmp_path / "results" / "walk_anonymized.manifest.json").is_file()
    assert main(["anonymize", "--quiet", str(src), "-o", str(tmp_path / "named.mp4")]) == 0
    assert (tmp_path / "named.mp4").is_file()


def test_folder_recursive_mirrors_tree(clip_factory, tmp_path, shared_data, capsys):
    tree = tmp_path / "recordings"
    (tree / "day1" / "cam").mkdir(parents=True)
    clip_factory("a.mp4", frames=3).rename(tree / "a.mp4")
    clip_factory("b.mov", frames=3).rename(tree / "day1" / "cam" / "b.mov")
    (tree / "notes.txt").write_text("not media")
    out = tmp_path / "out"
    assert main(["anonymize", "--quiet", str(tree), "-r", "-o", str(out), "--method", "pixelate"]) == 0
    assert (out / "a_anonymized.mp4").exists()
    assert (out / "day1" / "cam" / "b_anonymized.mp4").exists()
    manifest = json.loads((out / "day1" / "cam" / "b_anonymized.manifest.json").read_text())
    assert manifest["method"] == "pixelate"
    # without -r only the top level
    out2 = tmp_path / "out2"
    assert main(["anonymize", "--quiet", str(tree), "-o", str(out2)]) == 0
    assert not (out2 / "day1").exists()


@pytest.mark.parametrize("method", ["blur", "pixelate", "block"])
def test_image_face_covered_and_metadata_dropped(shared_data, tmp_path, method):
    from PIL import Image

    src = shared_data("images/portrait.jpg")
    tagged = tmp_path / "portrait.jpg"
    img = Image.open(src)
    exif = img.getexif()
    exif[0x010F] = "PlantedMake"  # Make
    exif[0x0110] = "PlantedModel"
    img.save(tagged, exif=exif, comment=b"patient Jane Doe")
    result = anonymize(tagged, tmp_path / f"out_{method}.jpg", method=method)
    out = Image.open(result.output)
    assert not out.getexif() and "exif" not in out.info and "comment" not in out.info
    assert "icc_profile" not in out.info
    data = result.output.read_bytes()
    assert b"Planted" not in data and b"Jane" not in data
    regions = json.loads(result.regions_path.read_text())["regions"]
    assert len(regions) >= 1
    before = np.asarray(Image.open(tagged).convert("RGB")).astype(int)
    after = np.asarray(out.convert("RGB")).astype(int)
    x1, y1, x2, y2 = (int(v) for v in regions[0]["box"])
    inner = np.abs(before[y1:y2, x1:x2] - after[y1:y2, x1:x2]).max(axis=2)
    assert (inner > 10).mean() > 0.6
    far = np.abs(before[:10, :10] - after[:10, :10]).max()
    assert far < 40  # far from the face only JPEG noise


def test_pixelate_and_block_change_what_they_say():
    from anonymotion.methods.registry import make_method

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    face = regions((40, 30, 100, 90))
    block = make_method("block", shape="rect", mask_scale=1.0).apply(rgb, face)
    assert (block[30:90, 40:100] == 0).all() and np.array_equal(block[:30], rgb[:30])
    pix = make_method("pixelate", shape="rect", mask_scale=1.0, blocks=6).apply(rgb, face)
    assert len(np.unique(pix[30:90, 40:100].reshape(-1, 3), axis=0)) <= 6 * 6 + 12
    blur = make_method("blur", shape="ellipse").apply(rgb, face)
    assert np.abs(blur[45:75, 55:85].astype(int) - rgb[45:75, 55:85]).mean() > 30
    assert rgb is not blur and np.array_equal(blur[:5, :5], rgb[:5, :5])
    from anonymotion.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown method"):
        make_method("sparkle")


def test_python_api_is_the_pipeline_function(clip_factory, tmp_path):
    import inspect

    import anonymotion
    import anonymotion.methods.registry  # noqa: F401
    from anonymotion.pipeline import anonymize

    assert anonymotion.anonymize is anonymize
    assert "config" in inspect.signature(anonymotion.anonymize).parameters

    result = anonymotion.anonymize(clip_factory("api.mp4", frames=3), tmp_path / "api_out.mp4", method="block")
    assert result.output.exists() and result.frames == 3 and result.method == "block"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_anonymize_with_audit_records_the_verdict(shared_data, tmp_path, capsys):
    src = trim_clip(shared_data("lab_single/cam01.mp4"), tmp_path / "lab10.mp4", 10)
    assert main(["anonymize", str(src), "-o", str(tmp_path / "lab.mp4"), "--audit", "--quiet"]) == 0
    manifest = json.loads((tmp_path / "lab.manifest.json").read_text())
    assert manifest["audit"]["verdict"] == "pass"  # exit code 0
    assert manifest["audit"]["detectors"] == ["centerface", "yunet"]  # CenterFace masked: YuNet looks too
    assert manifest["audit"]["metadata_findings"] == 0 and manifest["audit"]["leaked_face_frames"] == 0
    assert (tmp_path / manifest["audit"]["report"]).exists()
