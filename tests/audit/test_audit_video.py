"""The audit on real video with the real detectors (CenterFace + BlazeFace) and the real pipeline.

The first frames of street_720p50.avi (a street with many small faces) are enough: every
frame has 8-14 faces. One audit detector is shared by the tests of this module.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from anonymotion.audit import EXIT_FAIL, audit, make_audit_detector
from anonymotion.audit.faces import iou_matrix
from anonymotion.audit.metadata import scan_metadata
from anonymotion.cli import main
from anonymotion.io.video import iter_frames
from kit import trim_clip

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

N = 10  # frames audited
DROPPED = range(4, 7)  # frames whose anonymization is dropped in the tampered copy


def replacing(frames: dict[int, np.ndarray]):
    """A :func:`kit.trim_clip` transform putting in ``frames`` {index: rgb} instead of the source's."""
    return lambda index, rgb: frames.get(index, rgb)


@pytest.fixture(scope="module")
def detector():
    det = make_audit_detector()
    yield det
    det.close()


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("audit_video")


@pytest.fixture(scope="module")
def street(shared_data) -> Path:
    return shared_data("street_720p50.avi")


@pytest.fixture(scope="module")
def original(street, work) -> Path:
    """The first N frames of the street clip, near-lossless (crf 8): the 'original' of the pipeline tests."""
    return trim_clip(street, work / "street_n.mp4", N, crf=8)


@pytest.fixture(scope="module")
def anonymized(original, work) -> Path:
    from anonymotion.pipeline import anonymize

    return anonymize(original, work / "street_n_anonymized.mp4").output


@pytest.fixture(scope="module")
def copy_audit(street, work, detector):
    """Audit of an un-anonymized re-encoded copy (crf 18) against the untouched street clip."""
    copy = trim_clip(street, work / "street_copy.mp4", N, crf=18)
    return audit(street, copy, max_frames=N, detector=detector)


@pytest.fixture(scope="module")
def anon_audit(original, anonymized, detector):
    return audit(original, anonymized, detector=detector)


def test_unanonymized_copy_leaks_on_most_face_frames(copy_audit):
    r = copy_audit
    assert r.frames == N
    assert len(r.checks) >= 5 * N, "the street clip shows several faces in every frame"
    assert r.leak_count / len(r.checks) >= 0.9
    assert {c.frame for c in r.leaks} == set(range(N))
    assert r.longest_run == N
    assert r.metadata == []  # the writer's output carries no tags: the failure is the faces
    assert r.verdict == "fail" and r.exit_code == EXIT_FAIL


def test_our_anonymization_leaks_far_less(copy_audit, anon_audit):
    ours, copy = anon_audit, copy_audit
    assert ours.frames == N and len(ours.checks) >= 5 * N
    rate_ours = ours.leak_count / len(ours.checks)
    rate_copy = copy.leak_count / len(copy.checks)
    assert rate_ours <= 0.8 * rate_copy
    # faces of 20 px and more are the ones the anonymizer is built for: far fewer leaks there
    big_ours = [c for c in ours.checks if c.size >= 20]
    big_copy = [c for c in copy.checks if c.size >= 20]
    assert big_ours and big_copy
    assert sum(c.leaked for c in big_ours) / len(big_ours) <= 0.4
    assert sum(c.leaked for c in big_copy) / len(big_copy) >= 0.9
    assert ours.metadata == []


def test_dropped_anonymization_is_caught_on_the_right_frames(original, anonymized, anon_audit, work, detector):
    originals = {f.index: f.rgb for f in iter_frames(original) if f.index in DROPPED}
    tampered = trim_clip(anonymized, work / "tampered.mp4", N, crf=18, transform=replacing(originals))
    r = audit(original, tampered, detector=detector)
    clean = anon_audit
    assert len(r.checks) == len(clean.checks)  # same original frames, same detections
    # Re-encoding the tampered copy costs a few % of coverage everywhere (generation loss), so a
    # face near the 90 % limit may flip outside the range; dropped anonymization loses it all.
    dropped = [c for c, d in zip(r.checks, clean.checks) if not d.leaked and c.coverage < d.coverage - 0.5]
    assert {c.frame for c in dropped} == set(DROPPED)
    flipped_outside = [c for c, d in zip(r.checks, clean.checks)
                       if c.leaked != d.leaked and c.frame not in DROPPED]
    assert len(flipped_outside) <= 0.1 * len(r.checks)
    covered_in_range = [d for d in clean.checks if d.frame in DROPPED and not d.leaked]
    assert covered_in_range
    leaked_now = {(c.frame, c.track) for c in r.leaks}
    assert all((d.frame, d.track) in leaked_now for d in covered_in_range)
    # a face that was covered before and after the range leaks in a run spanning exactly the range
    assert any(run.first <= DROPPED[0] and run.last >= DROPPED[-1] for run in r.runs)
    doc = r.to_json()
    times = {e["frame"]: e["t"] for e in doc["faces"]["leaked_frames"]}
    for f in DROPPED:
        assert times[f] == pytest.approx(f / 50, abs=1e-3)  # 50 fps: time from the frame's pts


def test_anonymized_alone_reports_residual_faces_and_metadata(street, work, anonymized, detector):
    copy = trim_clip(street, work / "street_copy_alone.mp4", 4, crf=18)
    plain = audit(copy, detector=detector)
    ours = audit(anonymized, max_frames=4, detector=detector)
    assert plain.original is None and plain.checks == []
    assert plain.to_json()["faces"] is None
    assert len(plain.residual) >= 4 * 4, f"faces are plainly visible in the copy: {len(plain.residual)}"
    assert len(ours.residual) < len(plain.residual)
    assert plain.verdict == "fail"
    assert all(r.coverage is None and not r.on_changed_area for r in plain.residual + ours.residual)


def test_residual_faces_on_unchanged_areas_are_leaks(anon_audit):
    """Against the original, a face still found in the output either lies on an anonymized area
    (a blurred head keeps a face shape) or is one of the leaks the coverage check found."""
    r = anon_audit
    assert r.residual
    for res in r.failing_residual:
        same_frame = [c for c in r.leaks if c.frame == res.frame]
        ious = iou_matrix(np.array([res.box]), np.array([c.box for c in same_frame])) if same_frame else [[0.0]]
        assert np.max(ious) > 0.3, res
    covered = [c for c in r.checks if not c.leaked]
    for res in r.residual:
        if res.on_changed_area and res.coverage < 0.9:
            same = [c.box for c in covered if c.frame == res.frame]
            assert same and iou_matrix(np.array([res.box]), np.array(same)).max() >= 0.3


def test_cli_writes_json_and_crops_only_when_asked(original, anonymized, work, capsys):
    frames = 3
    originals = {f.index: f.rgb for f in iter_frames(original) if f.index < frames}
    leaky = trim_clip(anonymized, work / "leaky.mp4", frames, crf=18, transform=replacing({1: originals[1]}))
    src = trim_clip(original, work / "original3.mp4", frames, crf=8)
    out = work / "report"
    code = main(["audit", str(src), str(leaky), "--out-dir", str(out), "-q"])
    assert code == EXIT_FAIL
    doc = json.loads((out / "leaky.audit.json").read_text())
    assert doc["verdict"] == "fail" and doc["exit_code"] == EXIT_FAIL
    assert 1 in [e["frame"] for e in doc["faces"]["leaked_frames"]]
    assert doc["leak_crops"] == []
    assert not list(out.glob("*.png"))
    crops = work / "crops"
    code = main(["audit", str(src), str(leaky), "--out-dir", str(out), "--leak-crops", str(crops)])
    assert code == EXIT_FAIL
    pngs = sorted(crops.glob("*.png"))
    doc = json.loads((out / "leaky.audit.json").read_text())
    assert len(pngs) == doc["faces"]["leaked_face_frames"] > 0
    assert any("_f000001_" in p.name for p in pngs)
    printed = capsys.readouterr().out
    assert "verdict: FAIL" in printed and "leaked frames" in printed


def test_cli_error_exit_code_names_the_file(tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 100)
    code = main(["audit", str(bad), "-q"])
    assert code == 2
    assert "broken.mp4" in capsys.readouterr().err


def _short_gopro(src: Path, dst: Path, seconds: float = 0.5) -> Path:
    """The GoPro file's first half second, stream-copied with its tags, audio and GPS (MET) stream."""
    inp = av.open(str(src))
    out = av.open(str(dst), "w", format="mp4")
    try:
        for k, v in inp.metadata.items():
            out.metadata[k] = v
        streams = {}
        for s in inp.streams:
            if s.type in ("video", "audio") or "MET" in s.metadata.get("handler_name", ""):
                t = out.add_stream_from_template(s)
                for k, v in s.metadata.items():
                    t.metadata[k] = v
                streams[s.index] = t
        for p in inp.demux():
            if p.dts is None or p.stream.index not in streams or p.dts * p.stream.time_base > seconds:
                continue
            p.stream = streams[p.stream.index]
            out.mux(p)
    finally:
        out.close()
        inp.close()
    return dst


def test_gopro_metadata_fails_before_and_passes_after_anonymization(shared_data, work, detector):
    from anonymotion.pipeline import anonymize

    gopro = shared_data("metadata/gopro_karma_gps.mp4")
    assert audit(gopro, max_frames=1, detector=detector).metadata  # the real file fails
    short = _short_gopro(gopro, work / "gopro_short.mp4")
    before = scan_metadata(short)
    assert {"creation_time", "timecode", "handler_name"} <= {f.key for f in before}
    assert any(f.kind == "stream" and f.key == "data" for f in before)
    out = anonymize(short, work / "gopro_short_anonymized.mp4").output
    r = audit(short, out, detector=detector)
    assert r.metadata == []
    assert r.verdict == "pass", r.reasons  # no faces in this aerial footage either
    assert r.exit_code == 0
