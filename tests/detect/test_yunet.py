"""YuNet (yuface) on the real photos; its tiling; a clear error without the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anonymotion.detect.yunet import TILE, YuNetDetector, tiles

SRC = Path(__file__).resolve().parents[2] / "src"
# Eyes and mouth of the one face in portrait.jpg, read off the image by eye (as test_faces.py).
PORTRAIT_LANDMARKS = [(165, 170), (205, 170), (180, 218)]
# Centres of the three faces in indoor_group.jpg (480 x 640), read off the image by eye:
# the man standing, the man sitting on the left, the woman on the sofa.
GROUP_FACES = [(208, 70), (60, 294), (357, 296)]


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_yunet_finds_the_portrait_face_with_its_landmarks(shared_data: Callable[[str], Path]) -> None:
    rgb = _rgb(shared_data("images/portrait.jpg"))
    r = YuNetDetector().detect(rgb)
    assert len(r) == 1 and r.sources == ("yunet",)
    x1, y1, x2, y2 = r.boxes[0]
    for x, y in PORTRAIT_LANDMARKS:
        assert x1 < x < x2 and y1 < y < y2
    assert r.scores[0] > 0.8
    lm = r.landmarks[0]  # image order: eye left, eye right, nose, mouth left, mouth right
    assert lm.shape == (5, 2)
    assert abs(lm[0, 0] - 165) < 12 and abs(lm[1, 0] - 205) < 12 and abs(lm[0, 1] - 170) < 12
    assert lm[0, 1] < lm[2, 1] < lm[3, 1]  # eyes above the nose above the mouth
    assert lm[3, 0] < lm[4, 0] and lm[0, 0] < lm[1, 0]


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_yunet_finds_the_three_faces_of_the_indoor_group(shared_data: Callable[[str], Path]) -> None:
    rgb = _rgb(shared_data("images/indoor_group.jpg"))
    r = YuNetDetector().detect(rgb)
    assert len(r) == 3, r.boxes
    for cx, cy in GROUP_FACES:
        inside = [(b[0] < cx < b[2]) and (b[1] < cy < b[3]) for b in r.boxes]
        assert sum(inside) == 1, f"face at {(cx, cy)} not found once: {r.boxes}"
    assert (r.scores > 0.5).all()


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_threshold_and_input_size_act(shared_data: Callable[[str], Path]) -> None:
    rgb = _rgb(shared_data("images/indoor_group.jpg"))
    assert len(YuNetDetector(threshold=0.99).detect(rgb)) == 0
    tiny = YuNetDetector(input_size=96).detect(rgb)  # the whole photo at 72 x 96 px: faces of ~6 px
    assert len(tiny) < 3
    with pytest.raises(ValueError):
        YuNetDetector(threshold=1.5)


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_the_gil_free_call_gives_what_the_wheels_own_call_gives(shared_data: Callable[[str], Path]) -> None:
    import yuface

    from anonymotion.detect.yunet import native_detector

    native = native_detector(yuface)
    assert native is not None
    for name in ("images/portrait.jpg", "images/indoor_group.jpg"):
        bgr = np.ascontiguousarray(_rgb(shared_data(name))[:, :, ::-1])
        ours, theirs = native(bgr), yuface.c_detect(bgr)
        assert len(ours) >= 1 and np.array_equal(ours, theirs)


def test_tiles_cover_the_image_with_overlap_and_stay_within_the_wrappers_limit() -> None:
    for w, h in [(640, 480), (1280, 720), (1080, 1920), (3840, 2160), (961, 100)]:
        grid = tiles(w, h)
        assert all(x2 - x1 <= TILE and y2 - y1 <= TILE for x1, y1, x2, y2 in grid)
        covered = np.zeros((h, w), bool)
        for x1, y1, x2, y2 in grid:
            covered[y1:y2, x1:x2] = True
        assert covered.all()
        xs = sorted({x1 for x1, _, _, _ in grid})
        for a, b in zip(xs, xs[1:]):  # neighbours overlap by at least 128 px
            assert a + TILE - b >= 128
    assert tiles(640, 480) == [(0, 0, 640, 480)]


BLOCKER = '''
import importlib.abc, sys
class _NoYuface(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "yuface" or name.startswith("yuface."):
            raise ImportError("yuface blocked for this test")
        return None
sys.meta_path.insert(0, _NoYuface())
'''


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_without_the_yuface_wheel_yunet_is_a_clear_error_and_the_rest_works(clip_factory, tmp_path: Path) -> None:
    """A wheel-less environment: a sitecustomize makes ``import yuface`` fail in the child process."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    clip = clip_factory("clip.mp4", frames=3)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(SRC)])}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "anonymotion.cli", *args], env=env, capture_output=True,
                              text=True, timeout=100)

    probe = subprocess.run([sys.executable, "-c", "import yuface"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "blocked" in probe.stderr  # the import really fails there
    bad = cli("anonymize", str(clip), "--detector", "yunet", "-o", str(tmp_path / "y.mp4"), "-q")
    assert bad.returncode == 2
    line = bad.stderr.strip().splitlines()[-1]
    assert line.startswith("anonymotion: error:") and "yuface" in line and "pip install" in line
    assert not (tmp_path / "y.mp4").exists()
    union = cli("anonymize", str(clip), "--detector", "centerface,yunet", "-o", str(tmp_path / "u.mp4"), "-q")
    assert union.returncode == 2 and "yuface" in union.stderr
    ok = cli("anonymize", str(clip), "--detector", "centerface", "-o", str(tmp_path / "c.mp4"), "-q")
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "c.mp4").exists()
