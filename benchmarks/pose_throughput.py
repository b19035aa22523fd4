"""Pose throughput of the legacy and the multi-person backend beside decode-only throughput.

Usage: python benchmarks/pose_throughput.py [--frames N] [--data DIR] [--detect-every N ...] [VIDEO ...]

For each video (default: lab_single/cam01.mp4, one participant and a small bystander, and
street_720p50.avi, several persons at 720p), in one process, one after the other on the
same decoded frames:
- decode-only frames/s (PyAV, upright RGB);
- ``mediapipe-legacy`` (one person);
- ``mediapipe-multi`` with person ids (PersonsCollector: model + tracker), every frame;
- ``mediapipe-multi`` with the full-frame person model on every n-th frame only and the
  persons followed on crops in between (``--detect-persons-every n``), for each n given.
Printed per run: end-to-end frames/s (decode + pose; the first frame, which loads the
models, is excluded), pose-only ms per frame, persons per frame, ratio against decode and
against the legacy backend measured in the same process a moment before, and real-time
factor (≥ 1: keeps up with the video). The machine may be shared: the load average is
printed, and ratios (same process, back to back) are what to compare across machines.
Goal: ≥ 25 frames/s at 720p with up to 2 persons on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from anonymotion.io.video import iter_frames, probe

DEFAULT_DATA = Path(os.environ.get("ANONYMOTION_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
DEFAULT_VIDEOS = ("lab_single/cam01.mp4", "street_720p50.avi")


def decode_fps(path: Path, frames: int | None) -> float:
    info = probe(path)
    n = 0
    start = time.perf_counter()
    for _ in iter_frames(path, info, strict=False):
        n += 1
        if frames and n >= frames:
            break
    return n / (time.perf_counter() - start)


def pose_fps(path: Path, frames: int | None, backend: str, **options) -> tuple[float, float, float, int]:
    """(end-to-end frames/s, pose-only ms per frame, mean persons per frame, frames), first frame excluded."""
    from anonymotion.pose.people import PersonsCollector

    info = probe(path)
    collector = PersonsCollector(backend, **options)
    n, pose_time, persons, start = 0, 0.0, 0, None
    try:
        for f in iter_frames(path, info, strict=False):
            t0 = time.perf_counter()
            found = collector.add(f.rgb, f.t)
            t1 = time.perf_counter()
            if start is None:
                start = t1  # the first frame loads the models: not counted
                continue
            pose_time += t1 - t0
            persons += len(found)
            n += 1
            if frames and n >= frames:
                break
    finally:
        collector.close()
    elapsed = time.perf_counter() - (start or time.perf_counter())
    return n / elapsed, 1000 * pose_time / max(n, 1), persons / max(n, 1), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="*", type=Path)
    ap.add_argument("--frames", type=int, default=None, help="frames per video (default: all)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--detect-every", type=int, nargs="*", default=[3], metavar="N",
                    help="also run the multi-person backend with the person model on every N-th frame (default 3)")
    args = ap.parse_args()
    videos = args.videos or [args.data / v for v in DEFAULT_VIDEOS]
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{'video':22} {'size':>10} {'fps':>5} {'run':>22} {'f/s':>7} {'ms/f':>7} {'persons':>8} "
          f"{'/decode':>8} {'/legacy':>8} {'realtime':>9}")
    for path in videos:
        info = probe(path)
        dfps = decode_fps(path, args.frames)
        head = f"{path.name:22} {info.width:>4}x{info.height:<5} {info.fps:5.1f}"
        print(f"{head} {'decode only':>22} {dfps:7.1f} {'':>7} {'':>8} {1.0:8.2f} {'':>8} {dfps / info.fps:8.2f}x")
        runs = [("mediapipe-legacy", "mediapipe-legacy", {}), ("mediapipe-multi", "mediapipe-multi", {})]
        runs += [(f"multi, persons every {n}", "mediapipe-multi", {"detect_every": n}) for n in args.detect_every if n > 1]
        legacy = None
        for label, backend, options in runs:
            pfps, ms, persons, n = pose_fps(path, args.frames, backend, **options)
            legacy = legacy or pfps
            print(f"{head} {label:>22} {pfps:7.1f} {ms:7.1f} {persons:8.2f} {pfps / dfps:8.2f} {pfps / legacy:8.2f} "
                  f"{pfps / info.fps:8.2f}x")
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
