"""``lowres``: no more detail than the target size holds, same frame size back."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.methods.lowres import LowRes, parse_size, target_size
from anonymotion.methods.registry import make_method
from anonymotion.errors import ConfigError
from anonymotion.types import Regions


def _roundtrip_error(rgb: np.ndarray, size: str) -> float:
    """Mean |x - lowres(x)|: what reducing to ``size`` and back removes from ``rgb``."""
    return float(np.abs(LowRes(size=size).apply(rgb, Regions.empty()).astype(int) - rgb).mean())


@pytest.mark.parametrize("size", ["80x60", "64x48"])
def test_output_holds_no_more_detail_than_the_target_size(portrait, size):
    out = make_method("lowres", size=size).apply(portrait, Regions.empty())
    assert out.shape == portrait.shape and out.dtype == np.uint8
    # Reducing the output again to the same size and back barely changes it (it has no finer
    # detail left), while the same operation changes the original a lot.
    assert _roundtrip_error(out, size) < 1.5
    assert _roundtrip_error(portrait, size) > 4 * _roundtrip_error(out, size)


def test_smaller_target_removes_more(portrait):
    a = make_method("lowres", size="80x60").apply(portrait, Regions.empty())
    b = make_method("lowres", size="64x48").apply(portrait, Regions.empty())
    c = make_method("lowres", size="160x120").apply(portrait, Regions.empty())
    err = [float(np.abs(x.astype(int) - portrait).mean()) for x in (c, a, b)]
    assert err[0] < err[1] < err[2]


def test_size_follows_the_frame_orientation_and_bad_sizes_are_refused():
    assert target_size((80, 60), 1080, 1920) == (60, 80)
    assert target_size((80, 60), 1920, 1080) == (80, 60)
    assert parse_size("64x48") == (64, 48) and parse_size(" 100X50 ") == (100, 50)
    for bad in ("80", "80x", "0x10", "axb", "10000x10"):
        with pytest.raises(ConfigError, match="--size"):
            LowRes(size=bad)
    assert LowRes.default_regions == ()
