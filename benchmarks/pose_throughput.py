"""Pose-estimation throughput beside decode-only throughput, on the real test clips.

Usage: python benchmarks/pose_throughput.py [--frames N] [--data DIR] [VIDEO ...]

For each video: decode-only frames/s (PyAV, upright RGB), pose frames/s (decode + MediaPipe
BlazePose full, video mode; the model's first frame, which loads it, is excluded), the
pose-only time per frame, the ratio pose/decode, and the video's own frame rate
(pose ≥ video fps means pose keeps up with playback). Goal: ≥ 30 frames/s at 720p on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from anonymotion.io.video import iter_frames, probe
from anonymotion.pose.backend import make_pose_backend

DEFAULT_DATA = Path(os.environ.get("ANONYMOTION_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
DEFAULT_VIDEOS = ("lab_single/cam01.mp4", "street_720p50.avi")


def decode_fps(path: Path, frames: int | None) -> tuple[float, int]:
    info = probe(path)
    n = 0
    start = time.perf_counter()
    for f in iter_frames(path, info, strict=False):
        n += 1
        if frames and n >= frames:
            break
    return n / (time.perf_counter() - start), n


def pose_fps(path: Path, frames: int | None) -> tuple[float, float, int]:
    """(end-to-end frames/s, pose-only ms per frame, frames) excluding the first (model load) frame."""
    info = probe(path)
    backend = make_pose_backend("mediapipe")
    n, pose_time, start = 0, 0.0, None
    try:
        for f in iter_frames(path, info, strict=False):
            t0 = time.perf_counter()
            backend.process(f.rgb, f.t)
            t1 = time.perf_counter()
            if start is None:
                start = t1  # first frame loads the model: not counted
            else:
                pose_time += t1 - t0
                n += 1
            if frames and n >= frames:
                break
    finally:
        backend.close()
    elapsed = time.perf_counter() - (start or time.perf_counter())
    return n / elapsed, 1000 * pose_time / max(n, 1), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="*", type=Path)
    ap.add_argument("--frames", type=int, default=None, help="frames per video (default: all)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    videos = args.videos or [args.data / v for v in DEFAULT_VIDEOS]
    print(f"{'video':28} {'size':>10} {'fps':>6} {'decode f/s':>11} {'pose f/s':>9} {'pose ms/f':>10} "
          f"{'pose/decode':>12} {'realtime':>9}")
    for path in videos:
        info = probe(path)
        dfps, _ = decode_fps(path, args.frames)
        pfps, ms, n = pose_fps(path, args.frames)
        print(f"{path.name:28} {info.width:>4}x{info.height:<5} {info.fps:6.1f} {dfps:11.1f} {pfps:9.1f} {ms:10.1f} "
              f"{pfps / dfps:12.2f} {pfps / info.fps:8.2f}x")


if __name__ == "__main__":
    main()
