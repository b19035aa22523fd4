"""``anonymotion triangulate`` on bad input: clear one-line errors, nothing half-written; no person -> empty result."""

from __future__ import annotations

import json

import pytest

from anonymotion.cli import main
from anonymotion.multiview.calibration import Calibration, write_calibration


@pytest.fixture
def small_setup(lab_calibration, tmp_path, clip_factory):
    """The lab's four cameras scaled to 68x120 px frames, and four person-less clips of that size."""
    cams = tuple(c.scaled(1 / 16, 1 / 16) for c in lab_calibration.cameras)
    calib = write_calibration(Calibration(cams), tmp_path / "Calib.toml")
    videos = [clip_factory(f"cam0{i}.mp4", frames=4, size=(68, 120)) for i in range(1, 5)]
    return calib, videos


def test_three_camera_calibration_for_four_videos(small_setup, tmp_path, capsys, lab_calibration):
    _, videos = small_setup
    three = write_calibration(lab_calibration.cameras[:3], tmp_path / "three.toml")
    out = tmp_path / "out"
    code = main(["triangulate", *map(str, videos), "--calibration", str(three), "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert err.startswith(f"anonymotion: error: {three}: calibration has 3 cameras") and "4 videos" in err
    assert not out.exists()


def test_corrupt_calibration(small_setup, tmp_path, capsys):
    _, videos = small_setup
    bad = tmp_path / "calibration.qca.txt"
    bad.write_text("<calibration><cameras><camera serial='cam01'>")
    code = main(["triangulate", *map(str, videos), "--calibration", str(bad), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"anonymotion: error: {bad}: not valid Qualisys XML")


def test_video_size_not_matching_the_calibration(lab_calibration_path, clip_factory, tmp_path, capsys):
    videos = [clip_factory(f"cam0{i}.mp4", frames=2, size=(96, 96)) for i in range(1, 5)]
    code = main(["triangulate", *map(str, videos), "--calibration", str(lab_calibration_path),
                 "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and str(videos[0]) in err and "calibrated on 1088x1920" in err


@pytest.mark.timeout(120)
def test_videos_without_a_person_give_an_empty_result_not_a_crash(small_setup, tmp_path, capsys):
    calib, videos = small_setup
    out = tmp_path / "out"
    code = main(["triangulate", *map(str, videos), "--calibration", str(calib), "-o", str(out), "-q", "--no-plots"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 4 and summary["persons"] == []
    assert (out / "reprojection.csv").read_text().strip() == \
        "person,camera,keypoint,frames_used,median_px,p95_px,views_mean,not_used"
    code = main(["triangulate", *map(str, videos), "--calibration", str(calib), "-o", str(out), "-q"])
    assert code == 2 and "use --force" in capsys.readouterr().err  # an earlier run is not overwritten silently
