"""The PoseLandmarker .task built offline from the installed mediapipe wheel: contents,
verification of the cache (a damaged file is rebuilt, never used), and refused models."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from anonymotion.errors import ConfigError
from anonymotion.pose import task_bundle
from anonymotion.pose.task_bundle import (LANDMARKS_MEMBER, MEMBERS, BundleError, bundle_path, load_task_bundle,
                                          verify_bundle)


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ANONYMOTION_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _landmark_metadata(data: bytes) -> dict:
    from mediapipe.tasks.python.metadata import metadata

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        model = zf.read(LANDMARKS_MEMBER)
    return json.loads(metadata.MetadataDisplayer.with_model_buffer(model).get_metadata_json())


@pytest.mark.timeout(120)
def test_bundle_is_built_from_the_wheel_with_metadata_and_finds_a_group(cache, shared_data):
    data = load_task_bundle()
    path = bundle_path()
    assert path.parent == cache and path.read_bytes() == data  # cached
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == sorted(MEMBERS)
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    md = _landmark_metadata(data)
    image_input = md["subgraph_metadata"][0]["input_tensor_metadata"][0]
    norm = next(u for u in image_input["process_units"] if u["options_type"] == "NormalizationOptions")
    assert norm["options"] == {"mean": [0.0], "std": [255.0]}  # 0..255 -> 0..1
    assert len(md["subgraph_metadata"][0]["output_tensor_metadata"]) == 5
    # the Tasks API accepts the bundle and finds the people of a COCO group photo
    import cv2

    from anonymotion.pose.landmarker import PoseLandmarkerModel

    rgb = cv2.cvtColor(cv2.imread(str(shared_data("images/indoor_group.jpg"))), cv2.COLOR_BGR2RGB)
    model = PoseLandmarkerModel(num_poses=8, video=False, masks=True)
    try:
        found = model.process_all(rgb, 0.0)
    finally:
        model.close()
    assert len(found) >= 3
    h, w = rgb.shape[:2]
    assert found.masks is not None and found.masks.shape == (len(found), h, w)
    assert (found.xy[..., 0] > -w).all() and np.isfinite(found.world).all()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("damage", ["truncate", "flip", "foreign"])
def test_a_damaged_cache_file_is_rebuilt_never_used(cache, damage):
    good = load_task_bundle()
    path = bundle_path()
    raw = bytearray(good)
    if damage == "truncate":
        path.write_bytes(bytes(raw[: len(raw) // 2]))
    elif damage == "flip":
        raw[len(raw) // 2] ^= 0xFF  # one byte inside the landmark model
        path.write_bytes(bytes(raw))
    else:  # a valid zip with other content
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name in MEMBERS:
                zf.writestr(name, b"not a model")
        path.write_bytes(buf.getvalue())
    with pytest.raises(BundleError):
        verify_bundle(path.read_bytes())
    again = load_task_bundle()
    assert again == good
    assert path.read_bytes() == good  # the cache was repaired
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_only_the_full_model_is_offered():
    for model in ("lite", "heavy"):
        with pytest.raises(ConfigError, match=f"pose model '{model}' is not available offline: mediapipe 0.10.21 "
                                              "bundles only the 'full'"):
            task_bundle.check_model(model)
    from anonymotion.pose.backend import make_pose_backend

    with pytest.raises(ConfigError, match="pose model 'heavy' is not available offline"):
        make_pose_backend("mediapipe-multi", model="heavy")
    with pytest.raises(ConfigError, match="pose model 'lite' is not available offline"):
        make_pose_backend("mediapipe-legacy", model_complexity=0)


@pytest.mark.timeout(120)
def test_an_unwritable_cache_still_gives_a_verified_bundle(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ANONYMOTION_CACHE", str(blocker / "cache"))
    data = load_task_bundle()
    assert verify_bundle(data)["model"] == "full"
