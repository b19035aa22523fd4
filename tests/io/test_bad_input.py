"""Bad input: one clear error line naming the file, non-zero exit, nothing left behind."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from anonymotion.cli import main

pytestmark = pytest.mark.timeout(120)  # video files


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(["anonymize", "--quiet", *argv])
    err = capsys.readouterr().err.strip()
    return code, err


def _outputs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if "anonymized" in p.name or p.name.startswith("."))


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=48000)
        s.layout = "mono"
        tone = np.zeros((1, 48000), np.float32)
        for start in range(0, 48000, 1024):
            f = av.AudioFrame.from_ndarray(tone[:, start:start + 1024], format="fltp", layout="mono")
            f.sample_rate, f.pts = 48000, start
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def test_missing_file(capsys, tmp_path):
    code, err = _run(capsys, str(tmp_path / "nope.mp4"))
    assert code == 2
    assert "nope.mp4" in err and "not found" in err
    assert len(err.splitlines()) == 1


def test_non_video_bytes_named_mp4(capsys, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is a shopping list, not a video\n" * 50)
    code, err = _run(capsys, str(bad))
    assert code == 2 and "notes.mp4" in err and "not a readable video" in err
    assert _outputs(tmp_path) == []


def test_zero_byte_file(capsys, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    code, err = _run(capsys, str(empty))
    assert code == 2 and "empty.mp4" in err and "empty" in err
    assert _outputs(tmp_path) == []


def test_truncated_without_moov(capsys, clip_factory, tmp_path):
    src = clip_factory("cut.mp4", frames=30, size=(96, 64))  # moov at the end: cut it off
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    code, err = _run(capsys, str(src))
    assert code == 2 and "cut.mp4" in err
    assert _outputs(tmp_path) == []


def test_moov_present_but_data_cut_is_reported_as_partial(capsys, tmp_path):
    from fractions import Fraction

    from anonymotion.io.writer import VideoWriter

    src = tmp_path / "faststart.mp4"  # our writer puts the moov first (faststart)
    rng = np.random.default_rng(1)
    with VideoWriter(src, 96, 64, Fraction(1, 25)) as w:
        for i in range(40):
            w.write(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8), i)
    data = src.read_bytes()
    src.write_bytes(data[: int(len(data) * 0.6)])
    code, err = _run(capsys, str(src))
    assert code == 2
    assert "faststart.mp4" in err and "partly" in err
    assert _outputs(tmp_path) == []


def test_audio_only_file(capsys, tmp_path):
    src = _audio_only(tmp_path / "voice.mp4")
    code, err = _run(capsys, str(src))
    assert code == 2 and "voice.mp4" in err and "no video stream" in err
    assert _outputs(tmp_path) == []


def test_absurd_size_is_refused_before_decoding(capsys, tmp_path):
    big = tmp_path / "huge.mp4"
    with av.open(str(big), "w") as c:
        s = c.add_stream("libx264", rate=60)
        s.width, s.height, s.pix_fmt = 8192, 4320, "yuv420p"
        s.options = {"preset": "ultrafast"}
        frame = av.VideoFrame(8192, 4320, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for i in range(2):
            frame.pts = i
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    code, err = _run(capsys, str(big))
    assert code == 2 and "huge.mp4" in err and "8192x4320" in err
    assert _outputs(tmp_path) == []


def test_configurable_limit(capsys, clip_factory, tmp_path):
    src = clip_factory("small.mp4", frames=3)
    code, err = _run(capsys, str(src), "--max-pixels", "1000")
    assert code == 2 and "small.mp4" in err and "exceeds" in err


def test_unwritable_output_folder(capsys, clip_factory, tmp_path):
    src = clip_factory("ok.mp4", frames=3)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, err = _run(capsys, str(src), "-o", str(blocker / "sub" / "out.mp4"))
    assert code == 2 and "a_file" in err
    assert not (tmp_path / "ok_anonymized.mp4").exists()


def test_folder_run_continues_after_a_bad_file(capsys, clip_factory, tmp_path):
    src_dir = tmp_path / "in"
    src_dir.mkdir()
    clip_factory("good.mp4", frames=4).rename(src_dir / "good.mp4")
    (src_dir / "broken.mp4").write_bytes(b"\x00" * 1000)
    out = tmp_path / "out"
    code, err = _run(capsys, str(src_dir), "-o", str(out))
    assert code == 1
    assert "broken.mp4" in err
    assert (out / "good_anonymized.mp4").exists()
    assert not (out / "broken_anonymized.mp4").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
