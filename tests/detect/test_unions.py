"""Detector unions (any comma list), provenance per region, multi-scale CenterFace."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from anonymotion.detect.faces import detector_names, make_face_detector, merge_regions, same_face
from anonymotion.types import Regions


def regions(boxes: list[list[float]], scores: list[float], source: str, marks: bool = False) -> Regions:
    n = len(boxes)
    lm = np.arange(n * 10, dtype=np.float32).reshape(n, 5, 2) if marks else None
    return Regions(np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32),
                   np.full(n, -1, np.int64), (source,) * n, landmarks=lm)


def test_names_parse_any_comma_list_in_a_fixed_order() -> None:
    assert detector_names("yunet,centerface") == ("centerface", "yunet")
    assert detector_names("both") == ("centerface", "blazeface")
    assert detector_names(" YuNet , both ") == ("centerface", "yunet", "blazeface")
    assert detector_names("centerface-ms,yunet") == ("centerface-ms", "yunet")
    with pytest.raises(ValueError, match="retinaface.*centerface.*yunet"):
        detector_names("centerface,retinaface")


def test_merge_records_every_detector_that_found_a_face_and_keeps_landmarks() -> None:
    cf = regions([[100, 100, 130, 140], [300, 50, 320, 75]], [0.6, 0.3], "centerface")
    yn = regions([[103, 106, 129, 136], [500, 500, 520, 520]], [0.9, 0.4], "yunet", marks=True)
    m = merge_regions([cf, yn])
    assert len(m) == 3
    by_source = dict(zip(m.sources, m.boxes.tolist()))
    assert set(m.sources) == {"centerface+yunet", "centerface", "yunet"}
    assert by_source["centerface+yunet"] == [103, 106, 129, 136]  # the best-scoring box of the face
    both = m.sources.index("centerface+yunet")
    assert m.landmarks is not None and not np.isnan(m.landmarks[both]).any()
    assert np.isnan(m.landmarks[m.sources.index("centerface")]).all()  # CenterFace gives none here
    again = merge_regions([m, regions([[101, 101, 131, 141]], [0.2], "blazeface")])
    assert "centerface+yunet+blazeface" in again.sources  # provenance accumulates in registry order


def test_same_face_joins_a_tight_box_inside_a_loose_one_of_similar_size() -> None:
    loose = np.array([[100, 90, 130, 135]], np.float32)  # CenterFace: forehead to chin
    tight = np.array([[104, 104, 126, 126]], np.float32)  # YuNet: eyes to mouth, IoU 0.36
    far = np.array([[140, 90, 170, 135]], np.float32)
    tiny = np.array([[112, 112, 116, 116]], np.float32)  # centre inside but 8x smaller: another thing
    assert same_face(loose, tight)[0, 0] and same_face(tight, loose)[0, 0]
    assert not same_face(loose, far)[0, 0] and not same_face(loose, tiny)[0, 0]


@pytest.fixture(scope="module")
def street_frames(shared_data: Callable[[str], Path]) -> list[np.ndarray]:
    """Two frames of street_720p50.avi, 100 frames apart."""
    out = []
    with av.open(str(shared_data("street_720p50.avi"))) as c:
        for i, vf in enumerate(c.decode(video=0)):
            if i in (20, 120):
                out.append(vf.to_ndarray(format="rgb24"))
            if i >= 120:
                break
    return out


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_union_covers_every_face_either_detector_finds_alone(street_frames: list[np.ndarray]) -> None:
    cf, yn, union = (make_face_detector(n) for n in ("centerface", "yunet", "centerface,yunet"))
    for rgb in street_frames:
        a, b, u = cf.detect(rgb), yn.detect(rgb), union.detect(rgb)
        assert len(a) >= 5 and len(b) >= 5
        for alone in (a, b):
            hit = same_face(alone.boxes, u.boxes).any(axis=1)
            assert hit.all(), f"{int((~hit).sum())} faces found alone are missing from the union"
        assert len(u) >= max(len(a), len(b)) and len(u) <= len(a) + len(b)
        assert {s for s in u.sources} <= {"centerface", "yunet", "centerface+yunet"}
        assert "centerface+yunet" in u.sources


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_multiscale_centerface_adds_small_faces_and_keeps_the_single_pass_ones(street_frames: list[np.ndarray]) -> None:
    single, multi = make_face_detector("centerface"), make_face_detector("centerface-ms")
    added = 0
    for rgb in street_frames:
        a, m = single.detect(rgb), multi.detect(rgb)
        assert same_face(a.boxes, m.boxes).any(axis=1).all()
        extra = ~same_face(m.boxes, a.boxes).any(axis=1)
        added += int(extra.sum())
        sizes = np.maximum(m.boxes[:, 2] - m.boxes[:, 0], m.boxes[:, 3] - m.boxes[:, 1])
        assert (sizes[extra] < 48).all(), "the enlarged look adds small faces"
        assert all(s == "centerface-ms" for s, e in zip(m.sources, extra) if e)
    assert added >= 4


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_regions_file_names_the_detectors_of_each_region(shared_data: Callable[[str], Path], tmp_path: Path) -> None:
    from anonymotion.io.video import iter_frames, probe
    from anonymotion.io.writer import VideoWriter
    from anonymotion.pipeline import anonymize

    street = shared_data("street_720p50.avi")
    info = probe(street)
    clip = tmp_path / "street6.mp4"
    with VideoWriter(clip, info.width, info.height, info.time_base, fps=info.fps, crf=8) as w:
        for f in iter_frames(street, info, strict=False):
            if f.index >= 6:
                break
            w.write(f.rgb, f.pts)
    result = anonymize(clip, tmp_path / "out.mp4", detector="centerface,yunet", detect_every=1)
    sources = set()
    for line in result.regions_path.read_text().splitlines():
        sources |= {r["source"] for r in json.loads(line)["regions"]}
    assert {"centerface+yunet", "yunet"} <= sources
    assert sources <= {"centerface", "yunet", "centerface+yunet", "held"}
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["parameters"]["detector"] == "centerface,yunet"
