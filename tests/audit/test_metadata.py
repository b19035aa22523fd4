"""Metadata audit: planted tags, data streams and the GoPro file fail; the writer's output passes."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from anonymotion.audit.metadata import ALLOWED_TAGS, scan_metadata, tag_allowed
from anonymotion.errors import InputError
from anonymotion.io.writer import MANDATORY_TAGS, VideoWriter

pytestmark = pytest.mark.timeout(120)  # small videos


def _clean_video(path: Path, frames: int = 4, size: tuple[int, int] = (64, 48)) -> Path:
    with VideoWriter(path, size[0], size[1], Fraction(1, 1000), fps=25) as w:
        for i in range(frames):
            w.write(np.full((size[1], size[0], 3), 20 * i, np.uint8), i * 40)
    return path


def _with_gopro_data_stream(path: Path, gopro: Path) -> Path:
    """A small clean video plus two packets of the GoPro's GPMF telemetry stream."""
    src = av.open(str(gopro))
    out = av.open(str(path), "w")
    try:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        met = next(s for s in src.streams if s.type == "data" and "MET" in s.metadata.get("handler_name", ""))
        ds = out.add_stream_from_template(met)
        for i in range(4):
            f = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            f.pts = i
            for p in vs.encode(f):
                out.mux(p)
        muxed = 0
        for pk in src.demux(met):
            if pk.dts is None:
                continue
            pk.stream = ds
            out.mux(pk)
            muxed += 1
            if muxed == 2:
                break
        for p in vs.encode(None):
            out.mux(p)
    finally:
        out.close()
        src.close()
    return path


def test_allow_list_is_exactly_the_muxers_mandatory_fields():
    assert set(ALLOWED_TAGS) == set(MANDATORY_TAGS)


def test_writer_output_has_no_findings(tmp_path):
    assert scan_metadata(_clean_video(tmp_path / "clean.mp4")) == []


@pytest.mark.parametrize("key,value,allowed", [
    ("handler_name", "VideoHandler", True),
    ("handler_name", "SoundHandler", True),
    ("handler_name", "\tGoPro AVC", False),
    ("language", "und", True),
    ("language", "Patient 17", False),
    ("vendor_id", "[0][0][0][0]", True),
    ("vendor_id", "appl", False),
    ("creation_time", "2017-04-17T19:27:57.000000Z", False),
    ("location", "+52.5200+013.4050/", False),
])
def test_allow_list_values(key, value, allowed):
    assert tag_allowed(key, value) is allowed


def test_planted_container_and_stream_tags_are_found(clip_factory):
    clip = clip_factory("tagged.mp4", frames=3, tags={"location": "+52.5200+013.4050/", "comment": "patient 17"},
                        stream_tags={"handler_name": "GoPro AVC", "title": "cam 2, room 4"})
    findings = scan_metadata(clip)
    found = {(f.kind, f.key, f.value) for f in findings}
    assert ("container_tag", "comment", "patient 17") in found
    assert ("stream_tag", "handler_name", "GoPro AVC") in found
    # the mp4 muxer renames some keys (title -> name, location -> location-eng): match on values
    values = {(f.kind, f.value) for f in findings}
    assert ("container_tag", "+52.5200+013.4050/") in values
    assert ("stream_tag", "cam 2, room 4") in values


def test_audio_stream_is_a_finding_unless_allowed(clip_factory):
    clip = clip_factory("voice.mp4", frames=5, audio=True)
    kinds = [(f.kind, f.key) for f in scan_metadata(clip)]
    assert ("stream", "audio") in kinds
    assert ("stream", "audio") not in [(f.kind, f.key) for f in scan_metadata(clip, allow_audio=True)]


def test_planted_telemetry_data_stream_fails(tmp_path, shared_data):
    clip = _with_gopro_data_stream(tmp_path / "gps.mp4", shared_data("metadata/gopro_karma_gps.mp4"))
    findings = scan_metadata(clip)
    streams = [f for f in findings if f.kind == "stream"]
    assert [f.key for f in streams] == ["data"]
    assert streams[0].where == "stream 1 (data)"


def test_gopro_original_fails_with_its_identifying_fields(shared_data):
    findings = scan_metadata(shared_data("metadata/gopro_karma_gps.mp4"))
    keys = {f.key for f in findings}
    assert {"creation_time", "firmware", "timecode", "encoder", "handler_name"} <= keys
    assert sum(1 for f in findings if f.kind == "stream" and f.key == "data") == 3
    assert any(f.kind == "stream" and f.key == "audio" for f in findings)


def test_chapters_are_findings(tmp_path):
    path = tmp_path / "chapters.mp4"
    c = av.open(str(path), "w")
    vs = c.add_stream("libx264", rate=25)
    vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
    c.set_chapters([{"id": 1, "start": 0, "end": 100, "time_base": Fraction(1, 1000),
                     "metadata": {"title": "Patient Smith walking"}}])
    for _ in range(3):
        for p in vs.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")):
            c.mux(p)
    for p in vs.encode(None):
        c.mux(p)
    c.close()
    chapters = [f for f in scan_metadata(path) if f.kind == "chapter"]
    assert [f.value for f in chapters] == ["Patient Smith walking"]


def test_unreadable_file_is_an_input_error_naming_it(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with pytest.raises(InputError, match="notes.mp4"):
        scan_metadata(bad)
    with pytest.raises(InputError, match="missing.mp4"):
        scan_metadata(tmp_path / "missing.mp4")
