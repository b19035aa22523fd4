"""``anonymotion batch`` on a 2-worker Dask LocalCluster: a folder with corrupt files, reruns
that skip what is done and redo what changed or failed, and COCO-annotated images."""

from __future__ import annotations

import json
import os
from pathlib import Path

import av
import numpy as np
import pytest

from anonymotion.batch.runner import run_batch
from anonymotion.batch.state import MANIFEST_NAME, TEMP_NAME, BatchManifest
from anonymotion.config import AnonymizeConfig
from anonymotion.io.images import read_image
from anonymotion.metrics.stats import friedman, rm_anova
from kit import trim_clip

pytestmark = pytest.mark.timeout(600)  # a Dask cluster and real videos


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if TEMP_NAME.match(p.name)]


@pytest.fixture
def dataset(tmp_path: Path, clip_factory, shared_data) -> Path:
    """in/: two synthetic clips (one in a sub-folder), 10 frames of a real lab clip, a shared
    COCO photo, a file that is not a video, and a real clip cut off in the middle."""
    src = tmp_path / "in"
    for sub in ("sub", "lab"):
        (src / sub).mkdir(parents=True)
    clip_factory("in/a.mp4", frames=10)
    clip_factory("in/sub/b.mp4", frames=7, size=(96, 64))
    trim_clip(shared_data("lab_single/cam01.mp4"), src / "lab" / "cam01.mp4", 10, scale=0.25)
    os.symlink(shared_data("images/portrait.jpg"), src / "portrait.jpg")
    (src / "notes.mp4").write_bytes(b"this is not a video\n" * 50)
    whole = clip_factory("whole.mp4", frames=30, size=(160, 120)).read_bytes()
    (src / "sub" / "cut.mp4").write_bytes(whole[: len(whole) // 2])
    return src


def test_folder_with_corrupt_files_then_reruns(dataset: Path, tmp_path: Path, clip_factory, dask_client) -> None:
    out = tmp_path / "out"
    lines: list[str] = []
    summary = run_batch(dataset, out, AnonymizeConfig(), "blur", client=dask_client, echo=lines.append)

    # the two bad files failed with an error naming them; the four good ones finished
    failed = dict(summary.failed)
    assert set(failed) == {"notes.mp4", "sub/cut.mp4"}
    assert "notes.mp4" in failed["notes.mp4"] and "cut.mp4" in failed["sub/cut.mp4"]
    assert summary.total == 6 and summary.processed == 6 and not summary.ok
    for rel, frames in (("a_anonymized.mp4", 10), ("sub/b_anonymized.mp4", 7), ("lab/cam01_anonymized.mp4", 10)):
        assert decoded_frames(out / rel) == frames
    assert read_image(out / "portrait_anonymized.jpg").shape == read_image(dataset / "portrait.jpg").shape
    assert not (out / "notes_anonymized.mp4").exists() and not (out / "sub" / "cut_anonymized.mp4").exists()
    assert not temp_files(out)
    manifest = BatchManifest.load(out)
    assert {k: e.status for k, e in manifest.entries.items()} == {
        "a.mp4": "done", "sub/b.mp4": "done", "lab/cam01.mp4": "done", "portrait.jpg": "done",
        "notes.mp4": "failed", "sub/cut.mp4": "failed"}
    assert manifest.entries["lab/cam01.mp4"].faces > 0  # the bystander's face in the lab clip
    report = (out / "report.html").read_text()
    assert "notes.mp4" in report and "Failed" in report
    assert any(line.startswith("[") and "FAILED" in line for line in lines)

    # rerun: what is done is skipped, what failed is tried again
    mtime = (out / "a_anonymized.mp4").stat().st_mtime_ns
    again = run_batch(dataset, out, AnonymizeConfig(), "blur", client=dask_client, echo=lines.append)
    assert (again.processed, again.skipped) == (2, 4)
    assert (out / "a_anonymized.mp4").stat().st_mtime_ns == mtime
    manifest = BatchManifest.load(out)
    assert manifest.entries["notes.mp4"].attempts == 2 and manifest.entries["a.mp4"].attempts == 1

    # a changed input is redone; so is everything after a parameter change
    clip_factory("in/a.mp4", frames=5)
    changed = run_batch(dataset, out, AnonymizeConfig(), "blur", client=dask_client, echo=lines.append)
    assert changed.processed == 3 and decoded_frames(out / "a_anonymized.mp4") == 5
    stronger = run_batch(dataset, out, AnonymizeConfig(strength=0.3), "blur", client=dask_client,
                         echo=lines.append)
    assert stronger.processed == 6 and stronger.skipped == 0


def test_several_methods_go_to_method_folders(tmp_path: Path, clip_factory, dask_client) -> None:
    (tmp_path / "in" / "x").mkdir(parents=True)
    clip_factory("in/x/a.mp4", frames=6)
    summary = run_batch(tmp_path / "in", tmp_path / "out", AnonymizeConfig(), "blur,pixelate", client=dask_client,
                        quiet=True)
    assert summary.ok and summary.processed == 1
    for m in ("blur", "pixelate"):
        assert decoded_frames(tmp_path / "out" / m / "x" / "a_anonymized.mp4") == 6
    entry = BatchManifest.load(tmp_path / "out").entries["x/a.mp4"]
    assert entry.outputs == {"blur": "blur/x/a_anonymized.mp4", "pixelate": "pixelate/x/a_anonymized.mp4"}


def test_output_inside_input_is_not_an_input(tmp_path: Path, clip_factory, dask_client) -> None:
    clip_factory("a.mp4", frames=4)
    first = run_batch(tmp_path, tmp_path / "anon", AnonymizeConfig(), "blur", client=dask_client, quiet=True)
    second = run_batch(tmp_path, tmp_path / "anon", AnonymizeConfig(), "blur", client=dask_client, quiet=True)
    assert first.total == second.total == 1 and second.skipped == 1


def test_coco_heads_from_annotated_keypoints(tmp_path: Path, shared_data, coco, dask_client) -> None:
    src = tmp_path / "images"
    src.mkdir()
    for name in ("portrait.jpg", "indoor_group.jpg"):
        os.symlink(shared_data(f"images/{name}"), src / name)
    ann = coco.write(tmp_path / "person_keypoints.json")
    out = tmp_path / "out"
    summary = run_batch(src, out, AnonymizeConfig(), "head", coco=ann, client=dask_client, quiet=True)
    assert summary.ok and summary.processed == 2

    # the annotation file is unchanged and still fits: same names, same sizes
    assert (out / ann.name).read_bytes() == ann.read_bytes()
    for name, faces in coco.FACES.items():
        before, after = read_image(src / name).astype(int), read_image(out / name).astype(int)
        assert before.shape == after.shape
        for x1, y1, x2, y2 in faces:  # every annotated head, the shoulder-only one included, is blurred
            assert np.abs(before[y1:y2, x1:x2] - after[y1:y2, x1:x2]).mean() > 5, (name, (x1, y1))
        x1, y1, x2, y2 = coco.BACKGROUND[name]  # the rest only went through JPEG again
        assert np.abs(before[y1:y2, x1:x2] - after[y1:y2, x1:x2]).mean() < 2.5
    counts = BatchManifest.load(out).entries["indoor_group.jpg"].extra["regions"]
    assert counts["coco-head"] == 2 and counts["coco-shoulders"] == 1
    # through the pipeline like any image: a regions file and a manifest that says where regions came from
    manifest = json.loads((out / "indoor_group.manifest.json").read_text())
    assert manifest["method"] == "head" and manifest["source"]["regions"] == "COCO keypoint annotations"
    regions = json.loads((out / "indoor_group.regions.jsonl").read_text())["regions"]
    assert sorted(r["source"] for r in regions) == ["coco-head", "coco-head", "coco-shoulders"]


def test_coco_size_mismatch_fails_that_image_only(tmp_path: Path, shared_data, coco, dask_client) -> None:
    src = tmp_path / "images"
    src.mkdir()
    for name in ("portrait.jpg", "indoor_group.jpg"):
        os.symlink(shared_data(f"images/{name}"), src / name)
    ann = coco.write(tmp_path / "ann.json", sizes={"portrait.jpg": (640, 516)})
    summary = run_batch(src, tmp_path / "out", AnonymizeConfig(), "blur", coco=ann, client=dask_client, quiet=True)
    assert [k for k, _ in summary.failed] == ["portrait.jpg"]
    assert "516x640" in summary.failed[0][1] and "640x516" in summary.failed[0][1]
    assert (tmp_path / "out" / "indoor_group.jpg").exists() and not (tmp_path / "out" / "portrait.jpg").exists()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_evaluate_and_audit_report_on_real_clips(tmp_path: Path, shared_data, dask_client) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for cam in ("cam01", "cam03"):
        trim_clip(shared_data(f"lab_single/{cam}.mp4"), src / f"{cam}.mp4", 8, scale=0.4)
    out = tmp_path / "out"
    summary = run_batch(src, out, AnonymizeConfig(), "blur,pixelate", evaluate=True, audit=True,
                        client=dask_client, quiet=True)
    assert summary.ok and summary.processed == 2
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    for entry in manifest["entries"].values():
        assert set(entry["evaluation"]) == {"reencode", "blur", "pixelate"}
        assert set(entry["audit"]) == {"blur", "pixelate"}
        for m, ev in entry["evaluation"].items():  # person to person, the subject first
            assert ev["persons"] and ev["persons"][0]["subject"], m
            o = ev["overall"]
            assert o["person_frames_matched"] + o["person_frames_lost"] == o["person_frames_ref"] > 0
        for m in ("blur", "pixelate"):
            a = entry["audit"][m]
            assert a["face_frames"] > 0 and a["face_frames"] >= a["judged_face_frames"]
            assert a["leak_rate"] == pytest.approx(a["leaks"] / max(1, a["judged_face_frames"]))
    # the re-encode control was compared, then its video deleted
    assert (out / "_evaluation" / "cam01" / "reencode" / "compare.json").exists()
    assert not list(out.rglob("*reencode*.mp4")) and not temp_files(out)

    import csv

    with open(out / "report_keypoints.csv") as fh:
        kp = {r["method"]: r for r in csv.DictReader(fh) if r["scope"] == "ALL" and r["keypoint"] == "left_hip"}
    assert set(kp) == {"reencode", "blur", "pixelate"}
    # face anonymization leaves the hips where they were: mean EPE and 2 SD under 2 px at 432 x 768
    # (measured 0.4 .. 0.75 px and 0.4 .. 0.7 px)
    for method, r in kp.items():
        assert float(r["epe_mean_px"]) < 2 and float(r["epe_2sd_px"]) < 2, (method, r)
    with open(out / "report_angles.csv") as fh:
        per_video = [r for r in csv.DictReader(fh) if r["scope"] != "ALL" and r["angle"] == "left_knee"]
    with open(out / "report_stats.csv") as fh:
        stats = {r["name"]: r for r in csv.DictReader(fh) if r["measure"] == "angle_rmse"}
    knee = stats["left_knee"]  # 2 videos x 3 labels: both tests computable
    # the tests ran on the per-video knee RMSEs the report lists (videos as units, methods as conditions)
    rmse = {(r["scope"], r["method"]): float(r["rmse"]) for r in per_video}
    table = np.array([[rmse[(v, m)] for m in ("reencode", "blur", "pixelate")] for v in ("cam01.mp4", "cam03.mp4")])
    assert knee["videos"] == "2" and knee["methods"] == "reencode,blur,pixelate"
    assert float(knee["anova_p"]) == pytest.approx(rm_anova(table)["p"], abs=1e-3)
    assert float(knee["friedman_p"]) == pytest.approx(friedman(table)["p"], abs=1e-3)
    with open(out / "report.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["method"] == "reencode"]
    assert rows and all(int(r["person_frames_ref"]) > 0 for r in rows)
    html = (out / "report.html").read_text()
    assert "RM-ANOVA p" in html and "Privacy audit" in html and "Δ RMSE" in html


def test_local_cluster_shares_the_cores(dask_client) -> None:
    from anonymotion.batch.runner import default_workers

    info = dask_client.scheduler_info()["workers"].values()
    assert len(info) == 2 and all(w["nthreads"] == 1 for w in info)
    expected = os.environ.get("ANONYMOTION_ORT_THREADS", str(max(1, default_workers() // 2)))
    threads = dask_client.run(lambda: __import__("os").environ.get("ANONYMOTION_ORT_THREADS"))
    assert set(threads.values()) == {expected}


def test_existing_cluster_by_scheduler_address(tmp_path: Path, clip_factory, dask_client) -> None:
    clip_factory("a.mp4", frames=5)
    address = dask_client.scheduler.address
    summary = run_batch(tmp_path, tmp_path / "out", AnonymizeConfig(), "pixelate", scheduler=address, quiet=True)
    assert summary.ok and summary.workers == 2 and decoded_frames(tmp_path / "out" / "a_anonymized.mp4") == 5
    assert summary.dashboard is not None and summary.dashboard.startswith("http://")


def test_bad_scheduler_address_is_a_clear_error(tmp_path: Path, clip_factory) -> None:
    from anonymotion.errors import ConfigError

    clip_factory("a.mp4", frames=3)
    with pytest.raises(ConfigError, match="--scheduler tcp://127.0.0.1:9: cannot connect"):
        run_batch(tmp_path, tmp_path / "out", AnonymizeConfig(), "blur", scheduler="tcp://127.0.0.1:9", quiet=True)
