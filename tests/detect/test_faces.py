"""Face detectors on real images and the real street video (CenterFace, BlazeFace, both)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from anonymotion.detect import centerface
from anonymotion.detect.faces import DETECTORS, make_face_detector, merge_regions
from anonymotion.types import Regions
from kit import regions

pytestmark = pytest.mark.timeout(300)  # face detection models

# Landmarks of the one face in portrait.jpg (516 x 640), read off the image by eye:
# both eyes and the mouth. A box "around the face" contains all three.
PORTRAIT_LANDMARKS = [(165, 170), (205, 170), (180, 218)]


@pytest.fixture(scope="module")
def portrait(shared_data: Callable[[str], Path]) -> np.ndarray:
    return np.asarray(Image.open(shared_data("images/portrait.jpg")).convert("RGB"))


@pytest.fixture(scope="module")
def street_frames(shared_data: Callable[[str], Path]) -> list[np.ndarray]:
    """20 frames spread over street_720p50.avi (every 10th)."""
    frames = []
    with av.open(str(shared_data("street_720p50.avi"))) as c:
        for i, vf in enumerate(c.decode(video=0)):
            if i % 10 == 0:
                frames.append(vf.to_ndarray(format="rgb24"))
            if len(frames) == 20:
                break
    return frames


def check_regions(r: Regions, name: str, width: int, height: int) -> None:
    assert r.boxes.dtype == np.float32 and r.boxes.shape == (len(r), 4)
    assert r.scores.shape == (len(r),) and r.track_ids.tolist() == [-1] * len(r)
    allowed = {"centerface", "blazeface", "centerface+blazeface"}
    assert all(s in allowed for s in r.sources) and len(r.sources) == len(r)
    if len(r):
        assert (r.boxes[:, 2] > r.boxes[:, 0]).all() and (r.boxes[:, 3] > r.boxes[:, 1]).all()
        assert r.boxes[:, [0, 1]].min() >= 0 and r.boxes[:, 2].max() <= width and r.boxes[:, 3].max() <= height


@pytest.mark.slow
@pytest.mark.parametrize("name", ["centerface", "blazeface", "both"])
def test_one_face_found_around_the_face_in_portrait(portrait: np.ndarray, name: str) -> None:
    r = make_face_detector(name).detect(portrait)
    check_regions(r, name, portrait.shape[1], portrait.shape[0])
    assert len(r) == 1, f"{name} found {len(r)} faces in a one-face portrait"
    x1, y1, x2, y2 = r.boxes[0]
    for x, y in PORTRAIT_LANDMARKS:
        assert x1 < x < x2 and y1 < y < y2, f"{name} box {r.boxes[0]} misses landmark {(x, y)}"
    assert 60 < x2 - x1 < 200 and 60 < y2 - y1 < 200, "box has the size of the face"
    assert r.scores[0] > 0.5


@pytest.mark.slow
@pytest.mark.parametrize("name", ["centerface", "blazeface", "both"])
def test_blank_images_have_no_faces(name: str) -> None:
    det = make_face_detector(name)
    for value in (0, 128, 255):
        assert len(det.detect(np.full((480, 640, 3), value, np.uint8))) == 0


@pytest.mark.slow
def test_default_detector_finds_small_background_faces_in_street(street_frames: list[np.ndarray]) -> None:
    det = make_face_detector()
    results = [det.detect(f) for f in street_frames]
    for r in results:
        check_regions(r, "centerface", 1280, 720)
    with_faces = sum(1 for r in results if len(r))
    assert with_faces >= 0.8 * len(results), f"faces in only {with_faces}/{len(results)} frames"
    heights = np.concatenate([r.boxes[:, 3] - r.boxes[:, 1] for r in results])
    small = int((heights < 32).sum())
    assert small >= 3 * len(results), f"only {small} faces under 32 px high in {len(results)} frames"
    assert np.median([len(r) for r in results]) >= 5, "a busy street: several faces per frame"


@pytest.mark.slow
def test_small_network_input_misses_small_faces_so_default_keeps_resolution(
        street_frames: list[np.ndarray]) -> None:
    frames = street_frames[::5]
    full = sum(len(make_face_detector().detect(f)) for f in frames)
    small = sum(len(make_face_detector(input_size=640).detect(f)) for f in frames)
    assert full > 2 * small


@pytest.mark.slow
def test_input_size_and_threshold_are_honoured(portrait: np.ndarray) -> None:
    r = make_face_detector("centerface", input_size=256).detect(portrait)
    assert len(r) == 1  # a big face survives a small network input, box in original pixels
    x1, y1, x2, y2 = r.boxes[0]
    assert all(x1 < x < x2 and y1 < y < y2 for x, y in PORTRAIT_LANDMARKS)
    assert len(make_face_detector("centerface", threshold=0.99).detect(portrait)) == 0


@pytest.mark.slow
def test_onnx_session_is_cached_per_process(portrait: np.ndarray) -> None:
    a, b = make_face_detector(), make_face_detector(threshold=0.5)
    a.detect(portrait), b.detect(portrait[:300, :300])
    assert centerface._session() is centerface._session()


def test_unknown_detector_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError) as exc:
        make_face_detector("retinaface")
    for name in [*DETECTORS, "both"]:
        assert name in str(exc.value)
    assert set(DETECTORS) == {"centerface", "centerface-ms", "yunet", "blazeface"}


def test_detectors_reject_non_rgb_input() -> None:
    with pytest.raises(ValueError, match="RGB"):
        make_face_detector("centerface").detect(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError):
        make_face_detector("centerface", threshold=1.5)


def test_decode_turns_a_heatmap_peak_into_a_box() -> None:
    heat = np.zeros((20, 30), np.float32)
    heat[10, 5] = 0.9  # centre cell (row 10, col 5) at stride 4
    heat[10, 6] = 0.5  # a weaker neighbour: suppressed by NMS
    scale = np.zeros((2, 20, 30), np.float32)
    scale[:, 10, 5] = np.log(40 / 4)  # 40 px box
    scale[:, 10, 6] = np.log(40 / 4)
    offset = np.zeros((2, 20, 30), np.float32)
    boxes, scores = centerface.decode(heat, scale, offset, threshold=0.3)
    assert scores.tolist() == pytest.approx([0.9])
    cx, cy = (5 + 0.5) * 4, (10 + 0.5) * 4
    np.testing.assert_allclose(boxes[0], [cx - 20, cy - 20, cx + 20, cy + 20], atol=1e-4)
    assert centerface.decode(heat, scale, offset, threshold=0.95)[0].shape == (0, 4)


def test_network_size_pads_to_stride_and_never_upscales() -> None:
    assert centerface.network_size(1280, 720, 1920) == (1.0, 1280, 736)
    s, w, h = centerface.network_size(1920, 1080, 960)
    assert s == pytest.approx(0.5) and (w, h) == (960, 544)
    assert centerface.network_size(17, 9, 1920) == (1.0, 32, 32)


def test_patched_model_has_dynamic_input_and_no_weights_as_inputs() -> None:
    ort = pytest.importorskip("onnxruntime")
    model = centerface.patch_model(centerface.model_path().read_bytes())
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    inputs = sess.get_inputs()
    assert [i.name for i in inputs] == ["input.1"]
    assert inputs[0].shape[1] == 3 and all(isinstance(d, str) for d in inputs[0].shape[2:])
    heat = sess.run(["537"], {"input.1": np.zeros((1, 3, 64, 96), np.float32)})[0]
    assert heat.shape == (1, 1, 16, 24)


def test_merge_keeps_the_better_of_overlapping_boxes() -> None:
    a = regions((0, 0, 10, 10), (50, 50, 60, 60), scores=[0.9, 0.4], track_ids=-1, source="centerface")
    b = regions((1, 1, 11, 11), (100, 100, 120, 120), scores=[0.8, 0.7], track_ids=-1, source="blazeface")
    m = merge_regions([a, b])
    assert len(m) == 3
    assert sorted(m.sources) == ["blazeface", "centerface", "centerface+blazeface"]
    assert m.boxes[list(m.sources).index("centerface+blazeface")].tolist() == [0, 0, 10, 10]  # the better box
    assert len(merge_regions([Regions.empty(), Regions.empty()])) == 0


@pytest.mark.slow
def test_large_weak_candidates_are_not_faces(shared_data):
    """On lab_single/cam01 frames 85-88 CenterFace scores the participant's bare chest 0.2-0.25 at
    ~250 px; blurring it wrecked the pose. Large boxes need a higher score than small ones."""
    from anonymotion.detect.centerface import size_threshold
    from anonymotion.detect.faces import make_face_detector
    from anonymotion.io.video import iter_frames

    detector = make_face_detector()
    for frame in iter_frames(shared_data("lab_single/cam01.mp4")):
        if frame.index < 84 or frame.index > 89:
            continue
        regions = detector.detect(frame.rgb)
        sizes = np.maximum(regions.boxes[:, 2] - regions.boxes[:, 0], regions.boxes[:, 3] - regions.boxes[:, 1])
        assert (sizes < 200).all(), (frame.index, regions.boxes)
        # the bystander's face (~50 px, score 0.8) is still found
        assert any(b[0] < 150 and b[1] > 250 for b in regions.boxes), frame.index
    small = np.array([[0, 0, 20, 20], [0, 0, 300, 300]], np.float32)
    assert size_threshold(small, 0.2).tolist() == pytest.approx([0.2, 0.4])


@pytest.mark.slow
def test_weak_candidates_come_from_the_same_pass_and_stay_below_the_faces(street_frames: list[np.ndarray]) -> None:
    """detect_split gives exactly detect()'s faces, plus weak candidates scoring between half the
    (size-dependent) threshold and it, none of them a second box of a found face."""
    from anonymotion.detect.centerface import size_threshold
    from anonymotion.detect.faces import UnionDetector, same_face

    detector = make_face_detector("centerface")
    weak_total = 0
    for rgb in street_frames[:3]:
        faces, weak = detector.detect_split(rgb, 0.5)
        plain = detector.detect(rgb)
        np.testing.assert_array_equal(faces.boxes, plain.boxes)
        need = size_threshold(weak.boxes, detector.threshold)
        assert ((weak.scores < need) & (weak.scores >= 0.5 * need)).all()
        assert not same_face(weak.boxes, faces.boxes).any()
        weak_total += len(weak)
    assert weak_total > 0, "the street's small, motion-blurred faces give weak candidates"
    union_faces, union_weak = UnionDetector([detector]).detect_split(street_frames[0], 0.5)
    assert len(union_faces) == len(detector.detect(street_frames[0])) and len(union_weak) > 0
