"""``anonymotion anonymize CAM... --calibration FILE`` refuses what it cannot do, before writing anything."""

from __future__ import annotations

import pytest

from anonymotion.cli import main
from anonymotion.multiview.calibration import Calibration, write_calibration


@pytest.fixture
def views(lab_calibration, tmp_path, clip_factory):
    cams = tuple(c.scaled(1 / 16, 1 / 16) for c in lab_calibration.cameras)
    calib = write_calibration(Calibration(cams), tmp_path / "Calib.toml")
    return calib, [clip_factory(f"cam0{i}.mp4", frames=3, size=(68, 120)) for i in range(1, 5)]


@pytest.mark.parametrize("extra, problem", [
    (["-o", "out.mp4"], "-o is an output folder"),
    (["--keep-audio"], "not available with --calibration"),
])
def test_refused_options(views, tmp_path, capsys, extra, problem):
    calib, videos = views
    extra = [str(tmp_path / e) if e.endswith(".mp4") else e for e in extra]
    code = main(["anonymize", *map(str, videos), "--calibration", str(calib), "-q", *extra])
    err = capsys.readouterr().err
    assert code == 2 and problem in err
    assert not list(tmp_path.glob("*_anonymized*"))


def test_camera_count_mismatch_writes_nothing(views, tmp_path, capsys):
    calib, videos = views
    code = main(["anonymize", *map(str, videos[:3]), "--calibration", str(calib), "-o", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"anonymotion: error: {calib}: calibration has 4 cameras")
    assert not (tmp_path / "o").exists()


@pytest.mark.timeout(180)
def test_views_without_people_are_copied_frame_for_frame(views, tmp_path):
    import json

    calib, videos = views
    code = main(["anonymize", *map(str, videos), "--calibration", str(calib), "-o", str(tmp_path / "o"), "-q"])
    assert code == 0
    for v in videos:
        manifest = json.loads((tmp_path / "o" / f"{v.stem}_anonymized.manifest.json").read_text())
        assert manifest["frames_out"] == 3
        assert manifest["multiview"]["head_frames"] == 0 and manifest["multiview"]["covered_only_by_other_views"] == 0
