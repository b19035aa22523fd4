"""Options that do not apply are refused, not silently ignored: exit 2, one line naming the
option (and the file), nothing written.

Issue 10 found ``--method blur --blocks 4`` accepted and ignored, and images silently ignoring
``--recoverable`` and ``--audit``: a user then believes a setting took effect that did not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anonymotion.cli import main
from anonymotion.errors import ConfigError

pytestmark = pytest.mark.timeout(120)


def _files(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` (hidden temporary names included), sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("anonymotion: error: "), err
    return err


#: method, the option that none of its parameters takes, the method that does take it
NOT_APPLICABLE = [
    ("blur", ["--blocks", "4"], "--blocks", "pixelate"),
    ("pixelate", ["--kernel", "25"], "--kernel", "head"),
    ("block", ["--strength", "0.5"], "--strength", "blur"),
    ("lowres", ["--background", "blur"], "--background", "skeleton"),
    ("skeleton", ["--size", "80x60"], "--size", "lowres"),
]


@pytest.mark.parametrize("method, option, flag, taker", NOT_APPLICABLE)
def test_anonymize_refuses_an_option_its_method_does_not_take(clip_factory, tmp_path, capsys, method, option,
                                                              flag, taker):
    clip = clip_factory("walk.mp4", frames=3)
    before = _files(tmp_path)
    code = main(["anonymize", str(clip), "--method", method, *option, "-q"])
    err = _error_line(capsys)
    assert code == 2
    assert f"{flag} does not apply to {method}" in err and taker in err, err
    assert _files(tmp_path) == before  # no video, regions log or manifest, not even a temporary file


def test_the_python_api_refuses_it_too(clip_factory, tmp_path):
    from anonymotion import anonymize

    clip = clip_factory("walk.mp4", frames=3)
    with pytest.raises(ConfigError, match="--blocks does not apply to blur"):
        anonymize(clip, tmp_path / "out.mp4", method="blur", blocks=4)
    assert not (tmp_path / "out.mp4").exists()


def test_batch_refuses_it_before_starting_any_work(clip_factory, tmp_path, capsys):
    """Before: every input failed one by one on a started Dask cluster (exit 1, an output folder)."""
    (tmp_path / "in").mkdir()
    clip_factory("in/walk.mp4", frames=3)
    out = tmp_path / "out"
    code = main(["batch", str(tmp_path / "in"), str(out), "--methods", "blur,block", "--blocks", "4", "-q"])
    err = _error_line(capsys)
    assert code == 2 and "--blocks does not apply to blur, block" in err, err
    assert not out.exists()


def test_an_option_one_of_several_methods_takes_is_accepted(clip_factory, tmp_path):
    """``--blocks`` with blur and pixelate: pixelate uses it, so the run goes ahead (batch)."""
    from anonymotion.batch.plan import check_methods
    from anonymotion.config import AnonymizeConfig

    check_methods(["blur", "pixelate"], AnonymizeConfig(blocks=4))  # no error
    with pytest.raises(ConfigError, match="--blocks does not apply to blur, block"):
        check_methods(["blur", "block"], AnonymizeConfig(blocks=4))


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A small PNG photo (the refusals happen before any detection)."""
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


def test_an_image_with_recoverable_is_refused(photo, tmp_path, capsys):
    from anonymotion.recovery.keys import generate_key_file

    key = generate_key_file(tmp_path / "clinic.key")
    before = {p: p.read_bytes() for p in (photo, key)}
    listing = _files(tmp_path)
    code = main(["anonymize", str(photo), "--recoverable", "--key", str(key), "-q"])
    err = _error_line(capsys)
    assert code == 2
    assert "photo.png" in err and "--recoverable works on videos only" in err, err
    assert _files(tmp_path) == listing  # no image, no .recovery sidecar, no regions or manifest
    assert all(p.read_bytes() == data for p, data in before.items())


@pytest.mark.parametrize("option, message", [
    (["--audit"], "--audit works on videos only"),
    (["--keep-audio"], "--keep-audio does not apply to an image"),
])
def test_an_image_with_a_video_only_option_is_refused(photo, tmp_path, capsys, option, message):
    listing = _files(tmp_path)
    code = main(["anonymize", str(photo), *option, "-q"])
    err = _error_line(capsys)
    assert code == 2 and "photo.png" in err and message in err, err
    assert _files(tmp_path) == listing


def test_weak_factor_is_refused_for_a_detector_without_weak_candidates(clip_factory, tmp_path, capsys):
    clip = clip_factory("walk.mp4", frames=3)
    before = _files(tmp_path)
    code = main(["anonymize", str(clip), "--detector", "yunet", "--weak-factor", "0.3", "-q"])
    err = _error_line(capsys)
    assert code == 2 and "--weak-factor does not apply to --detector yunet" in err, err
    assert _files(tmp_path) == before
