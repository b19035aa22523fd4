"""Batch throughput: files per minute with 1 and 2 Dask workers on the same folder.

    .venv/bin/python benchmarks/batch_scaling.py [--folder DIR] [--files 8] [--frames 30]
                                                 [--scale 0.5] [--method blur] [--workers 1,2]

Without --folder, a folder is built in a temporary directory from the shared lab clips
(../shared/data/lab_single/cam01..04.mp4): ``--files`` segments of ``--frames`` frames,
scaled by ``--scale``. For each worker count the LocalCluster ``anonymotion batch --workers N``
uses (processes, 1 thread each, native thread pools sharing the cores) is started and
warmed up first; the time measured is the batch run itself (planning, hashing,
anonymizing every file, manifest, report) into a fresh output folder. Prints seconds,
files/min, frames/s and the workers' CPU time per worker count, and the scaling ratio
against the first count.
The machine's load average is printed too: on a shared machine the ratio is only as good
as the cores left free.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

DATA = Path(os.environ.get("ANONYMOTION_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def cut(src: Path, dst: Path, start: int, frames: int, scale: float) -> Path:
    """Frames [start, start + frames) of ``src`` scaled by ``scale``, as H.264 in ``dst``."""
    import av
    import cv2
    import numpy as np

    with av.open(str(src)) as inp:
        stream = inp.streams.video[0]
        rate = stream.average_rate or Fraction(30)
        out = av.open(str(dst), "w")
        vs = None
        for n, frame in enumerate(inp.decode(stream)):
            if n < start:
                continue
            if n >= start + frames:
                break
            rgb = frame.to_ndarray(format="rgb24")
            if vs is None:
                h, w = rgb.shape[:2]
                vs = out.add_stream("libx264", rate=rate)
                vs.width, vs.height, vs.pix_fmt = int(w * scale) // 2 * 2, int(h * scale) // 2 * 2, "yuv420p"
            small = cv2.resize(rgb, (vs.width, vs.height), interpolation=cv2.INTER_AREA)
            for packet in vs.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(small), format="rgb24")):
                out.mux(packet)
        if vs is not None:
            for packet in vs.encode(None):
                out.mux(packet)
        out.close()
    return dst


def build_folder(folder: Path, files: int, frames: int, scale: float) -> Path:
    cams = sorted((DATA / "lab_single").glob("cam0*.mp4"))
    if not cams:
        sys.exit(f"no lab clips under {DATA / 'lab_single'}; pass --folder or set ANONYMOTION_TEST_DATA")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        cam = cams[i % len(cams)]
        start = (i // len(cams)) * frames
        cut(cam, folder / f"{cam.stem}_{start:04d}.mp4", start, frames, scale)
    return folder


def _cpu_seconds() -> float:
    """User + system CPU seconds of this (worker) process and its threads."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(folder: Path, out: Path, workers: int, method: str) -> tuple[float, int, int, float]:
    """(seconds, files, frames, worker CPU seconds) of one batch run on a warmed-up LocalCluster
    of ``workers`` (the same cluster ``anonymotion batch --workers N`` starts)."""
    from distributed import Client

    from anonymotion.batch.runner import local_cluster, run_batch
    from anonymotion.config import AnonymizeConfig

    with local_cluster(workers, dashboard_address=":0") as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        client.run(lambda: __import__("anonymotion.pipeline"))  # imports paid before timing
        cpu0 = sum(client.run(_cpu_seconds).values())
        t0 = time.perf_counter()
        summary = run_batch(folder, out, AnonymizeConfig(), method, client=client, quiet=True, report=True)
        seconds = time.perf_counter() - t0
        cpu = sum(client.run(_cpu_seconds).values()) - cpu0
    if summary.failed:
        sys.exit(f"batch failed: {summary.failed}")
    return seconds, summary.processed, summary.frames, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folder", type=Path, default=None, help="input folder (default: built from the lab clips)")
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--method", default="blur")
    ap.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    args = ap.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="anonymotion-batch-bench-") as tmp:
        folder = args.folder or build_folder(Path(tmp) / "in", args.files, args.frames, args.scale)
        print(f"folder {folder}: {len(list(folder.rglob('*.mp4')))} videos; method {args.method}; "
              f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        rates = {}
        for w in counts:
            seconds, files, frames, cpu = measure(folder, Path(tmp) / f"out{w}", w, args.method)
            rates[w] = files / seconds * 60
            print(f"{w} worker(s): {files} files, {frames} frames in {seconds:.1f} s -> "
                  f"{rates[w]:.1f} files/min, {frames / seconds:.1f} frames/s; workers used {cpu:.0f} CPU s "
                  f"({cpu / files:.1f} per file, {cpu / seconds:.2f} cores busy on average; "
                  f"load average {os.getloadavg()[0]:.1f})")
        base = counts[0]
        for w in counts[1:]:
            print(f"scaling {w} vs {base} worker(s): {rates[w] / rates[base]:.2f}x (ideal {w / base:.0f}x)")


if __name__ == "__main__":
    main()
