"""audit() on small synthetic clips: matching rules, padding, JSON output, errors (real detectors)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from anonymotion.audit import EXIT_PASS, audit, report_path
from anonymotion.errors import ConfigError, InputError
from kit import trim_clip

pytestmark = pytest.mark.timeout(180)  # real face detectors on small clips


def test_clean_copy_of_a_faceless_odd_sized_clip_passes(clip_factory, tmp_path):
    original = clip_factory("odd.mp4", frames=4, size=(65, 49), pix_fmt="yuv444p")
    anonymized = trim_clip(original, tmp_path / "odd_anonymized.mp4")  # the writer pads to 66 x 50
    r = audit(original, anonymized, out_dir=tmp_path / "reports")
    assert r.frames == 4
    assert r.checks == [] and r.residual == [] and r.metadata == []
    assert r.verdict == "pass" and r.exit_code == EXIT_PASS
    doc = json.loads(report_path(anonymized, tmp_path / "reports").read_text())
    assert doc["verdict"] == "pass"
    assert doc["faces"]["face_frames"] == 0 and doc["faces"]["longest_leak_run"] is None
    assert set(doc["faces"]["leak_rates"]) == {"<32", "32-96", ">96", "all"}


def test_metadata_alone_makes_the_verdict_fail(clip_factory, tmp_path):
    tagged = clip_factory("tagged.mp4", frames=3, tags={"comment": "patient 17, ward B"})
    r = audit(tagged, json_path=tmp_path / "a.json")
    assert r.verdict == "fail" and r.exit_code == 3
    doc = json.loads((tmp_path / "a.json").read_text())
    assert any(f["value"] == "patient 17, ward B" for f in doc["metadata"]["findings"])
    assert "metadata" in doc["reasons"][0]


def test_frame_count_mismatch_is_an_error_naming_the_file(clip_factory, tmp_path):
    original = clip_factory("six.mp4", frames=6)
    shorter = trim_clip(original, tmp_path / "five.mp4", 5)
    with pytest.raises(InputError, match="five.mp4.*frame counts differ"):
        audit(original, shorter)


def test_size_mismatch_is_an_error_before_decoding(clip_factory):
    a = clip_factory("a.mp4", frames=2, size=(64, 48))
    b = clip_factory("b.mp4", frames=2, size=(96, 48))
    with pytest.raises(InputError, match="b.mp4.*does not match"):
        audit(a, b)


def test_bad_options(clip_factory, tmp_path):
    clip = clip_factory("c.mp4", frames=2)
    with pytest.raises(ConfigError):
        audit(clip, clip, max_frames=0)
    with pytest.raises(ConfigError, match="original"):
        audit(clip, leak_crops=tmp_path / "crops")
    assert not (tmp_path / "crops").exists()


def test_progress_is_reported_per_frame(clip_factory):
    clip = clip_factory("p.mp4", frames=5)
    seen: list[tuple[int, int]] = []
    audit(clip, progress=lambda done, total: seen.append((done, total)))
    assert [d for d, _ in seen] == [1, 2, 3, 4, 5]
    assert all(t == 5 for _, t in seen)
    assert np.all(np.diff([d for d, _ in seen]) == 1)
