"""Calibration readers: the lab's Qualisys file (conventions derived and checked), Calib.toml round trip, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anonymotion.errors import InputError
from anonymotion.multiview.calibration import read_calibration, write_calibration
from anonymotion.multiview.camera import Camera

QCA_CENTRES = {  # camera positions (mm) as written in lab_single/calibration.qca.txt
    "cam01": (1460.2, -1909.2, 1896.5), "cam02": (2582.0, 706.6, 1691.0),
    "cam03": (-3216.9, 2231.2, 2088.2), "cam04": (-3758.7, -1415.7, 1881.8),
}


def _axes_meeting_point(cams: list[Camera]) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares point nearest to every optical axis, and its distance (mm) to each axis."""
    A, b, rays = np.zeros((3, 3)), np.zeros(3), []
    for cam in cams:
        d = cam.R[2]  # optical axis (camera z) in world coordinates
        P = np.eye(3) - np.outer(d, d)
        A += P
        b += P @ cam.center
        rays.append((cam.center, d))
    x = np.linalg.solve(A, b)
    dist = np.array([np.linalg.norm((np.eye(3) - np.outer(d, d)) @ (x - c)) for c, d in rays])
    return x, dist


def test_lab_calibration_reads_four_portrait_cameras(lab_calibration):
    assert lab_calibration.names == ("cam01", "cam02", "cam03", "cam04")
    for cam in lab_calibration.cameras:
        assert cam.size == (1088, 1920)  # fov_video window: portrait, as the upright videos
        assert 1670 < cam.K[0, 0] < 1690 and 1670 < cam.K[1, 1] < 1690  # 107 600 / 64 px
        assert 0 < cam.K[0, 2] < 1088 and 0 < cam.K[1, 2] < 1920
        np.testing.assert_allclose(cam.center, QCA_CENTRES[cam.name], atol=0.1)  # centre in mm
        np.testing.assert_allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-9)
        assert np.linalg.det(cam.R) == pytest.approx(1.0)
    assert lab_calibration.up == (0.0, 0.0, 1.0)


def test_lab_cameras_surround_the_capture_volume_and_look_into_it(lab_calibration):
    cams = list(lab_calibration.cameras)
    meet, dist = _axes_meeting_point(cams)
    # the optical axes meet in one region (within 0.6 m of each axis) between the cameras, below their height
    assert dist.max() < 600
    centres = np.array([c.center for c in cams])
    azimuth = np.sort(np.arctan2(centres[:, 1] - meet[1], centres[:, 0] - meet[0]))
    gaps = np.diff(np.concatenate([azimuth, azimuth[:1] + 2 * np.pi]))
    assert gaps.max() < np.pi  # the cameras stand all around it (no half-plane without a camera)
    assert 0 < meet[2] < centres[:, 2].min()
    for cam in cams:  # the meeting point is in front of every camera and inside every image
        assert cam.depth(meet) > 2000
        u, v = cam.project(meet)
        assert 0 < u < 1088 and 0 < v < 1920


def test_transposed_rotation_would_not_see_the_volume(lab_calibration):
    """The derived convention matters: with R transposed the axes no longer meet in front of the cameras."""
    flip = np.diag([1.0, -1.0, -1.0])
    wrong = []
    for cam in lab_calibration.cameras:
        M = flip @ cam.R  # the file's matrix
        R = flip @ M.T
        wrong.append(Camera(cam.name, cam.K, cam.dist, R, -R @ cam.center, cam.size))
    meet, dist = _axes_meeting_point(wrong)
    in_front = [c.depth(meet) > 0 for c in wrong]
    assert dist.max() > 600 or not all(in_front)


def test_one_point_projects_consistently_into_all_cameras(lab_calibration):
    """A point triangulated from two cameras lands on the other two cameras' projections."""
    from anonymotion.multiview.triangulation import triangulate_points

    cams = lab_calibration.cameras
    X = np.array([[-1000.0, 0.0, 900.0], [-600.0, 300.0, 1500.0]])
    xy = np.stack([c.project(X) for c in cams], axis=1)
    two = triangulate_points(cams[:2], xy[:, :2])
    for cam, obs in zip(cams[2:], np.moveaxis(xy[:, 2:], 1, 0)):
        np.testing.assert_allclose(cam.project(two.points), obs, atol=1e-3)


def test_calib_toml_round_trip(lab_calibration, tmp_path):
    path = write_calibration(lab_calibration, tmp_path / "Calib.toml")
    back = read_calibration(path)
    assert back.names == lab_calibration.names
    for a, b in zip(lab_calibration.cameras, back.cameras):
        np.testing.assert_allclose(b.K, a.K)
        np.testing.assert_allclose(b.dist, a.dist)
        np.testing.assert_allclose(b.R, a.R, atol=1e-12)
        np.testing.assert_allclose(b.t, a.t, atol=1e-9)
        assert b.size == a.size
    assert "translation = [ " in path.read_text()


def test_pose2sim_toml_in_metres(tmp_path):
    text = """
[int_cam1_img]
name = "cam1"
size = [ 640.0, 480.0]
matrix = [ [ 500.0, 0.0, 320.0], [ 0.0, 500.0, 240.0], [ 0.0, 0.0, 1.0]]
distortions = [ -0.1, 0.01, 0.0, 0.0]
rotation = [ 0.0, 0.0, 0.0]
translation = [ 0.0, 0.0, 3.0]
fisheye = false

[metadata]
adjusted = false
error = 0.0
"""
    (tmp_path / "Calib.toml").write_text(text)
    cal = read_calibration(tmp_path / "Calib.toml")
    (cam,) = cal.cameras
    assert cam.name == "cam1" and cam.size == (640, 480)
    np.testing.assert_allclose(cam.t, [0, 0, 3000])  # mm
    np.testing.assert_allclose(cam.project(np.array([0.0, 0.0, 0.0])), [320, 240])


def _qca_with(lab_path: Path, tmp_path: Path, edit) -> Path:
    out = tmp_path / "bad.qca.txt"
    out.write_text(edit(lab_path.read_text()))
    return out


@pytest.mark.parametrize("edit, problem", [
    (lambda s: s[: len(s) // 2], "not valid Qualisys XML"),
    (lambda s: s.replace('focalLengthU="107599.671875"', ""), "lacks attribute 'focalLengthU'"),
    (lambda s: s.replace('r11="0.5536380477336265"', 'r11="2.5"'), "not a proper rotation"),
    (lambda s: s.replace('x="1460.2323709212087"', 'x="abc"'), "non-numeric"),
    (lambda s: "", "unknown calibration format"),
])
def test_corrupt_qualisys_file_is_refused_naming_it(lab_calibration_path, tmp_path, edit, problem):
    bad = _qca_with(lab_calibration_path, tmp_path, edit)
    with pytest.raises(InputError) as info:
        read_calibration(bad)
    assert str(bad) in str(info.value) and problem in str(info.value)


def test_bad_toml_and_missing_file(tmp_path):
    (tmp_path / "c.toml").write_text("[cam]\nname = 'x'\nsize = [1, 1]\n")
    with pytest.raises(InputError, match="missing 'matrix'"):
        read_calibration(tmp_path / "c.toml")
    (tmp_path / "d.toml").write_text("[cam\n")
    with pytest.raises(InputError, match="not valid TOML"):
        read_calibration(tmp_path / "d.toml")
    with pytest.raises(InputError, match="not found"):
        read_calibration(tmp_path / "none.toml")


def test_camera_count_must_match_the_videos(lab_calibration):
    with pytest.raises(InputError) as info:
        lab_calibration.for_videos([Path("cam01.mp4"), Path("cam02.mp4"), Path("cam03.mp4")])
    assert "calibration.qca.txt" in str(info.value) and "4 cameras" in str(info.value)


def test_videos_are_matched_to_cameras_by_name_else_order(lab_calibration):
    named = [Path(f"out/cam0{i}_anonymized.mp4") for i in (3, 1, 4, 2)]
    assert [c.name for c in lab_calibration.for_videos(named)] == ["cam03", "cam01", "cam04", "cam02"]
    plain = [Path(f"v{i}.mp4") for i in range(4)]
    assert [c.name for c in lab_calibration.for_videos(plain)] == ["cam01", "cam02", "cam03", "cam04"]


def test_video_size_against_calibration_size(lab_calibration):
    cam = lab_calibration.cameras[0]
    assert cam.for_video(1088, 1920) is cam
    cropped = cam.for_video(1080, 1920)  # encoder crop of 8 columns: same pixel grid
    np.testing.assert_allclose(cropped.K, cam.K)
    half = cam.for_video(544, 960)  # binned / down-scaled
    X = np.array([-1000.0, 0.0, 900.0])
    np.testing.assert_allclose(half.project(X), cam.project(X) / 2, atol=1e-9)
    with pytest.raises(InputError, match="rotated relative to the calibration"):
        cam.for_video(1920, 1088, source="cam01.mp4")
    with pytest.raises(InputError, match="640x480"):
        cam.for_video(640, 480, source="cam01.mp4")
