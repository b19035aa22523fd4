"""Benchmark: `anonymotion anonymize` against the `deface` CLI on the same video.

Runs each tool end to end, one after the other, and prints for each:
- frames/s end to end (wall clock) and CPU seconds per frame (user + sys of the tool's
  process tree; fairer than wall clock on a machine shared with other work),
- the share of the OTHER tool's detected faces that its output covers.

Faces. deface cannot export its boxes, so "deface's faces" are found with deface's own
detector class (``deface.centerface.CenterFace``, OpenCV backend, its CLI defaults: full
resolution, threshold 0.2) on every decoded frame of the input: the same model, settings and
decoding as the deface CLI. "Our faces" are what our default detector
(``make_face_detector()``) finds on every frame of the input. Both lists are cached in the
work folder (``faces_*.json``).

Covered. A face box is covered in an output frame when >= 90 % of its pixels changed
beyond codec noise: |output - original| > 12 in any RGB channel, both decoded with PyAV.

Backends. deface offers ``--backend opencv`` and ``--backend onnxrt``; both are tried, one
that fails (onnxrt needs the ``onnx`` package) is reported, and the faster one is compared.

Usage:
  .venv/bin/python benchmarks/anonymize_vs_deface.py [VIDEO] [--work DIR] [--ours-args "..."]
      [--fill blur|solid] [--repeat N] [--skip-deface]
  (default VIDEO: ../shared/data/street_720p50.avi)
  --engine direct runs our detector + tracker + method + writer loop in a subprocess instead
  of the CLI, detecting on every n-th frame (--detect-every, default track.detect_every(fps):
  3 at 50 fps) with the frames between pushed to the tracker as "not examined".
  --fill solid compares detection + tracking alone (ours --method block, deface
  --replacewith solid): blur leaves smooth skin within codec noise, so under the 90 % rule
  blur coverage mostly measures blur strength.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "street_720p50.avi"
NOISE = 12  # |diff| above this in any channel = pixel changed (codec noise stays below)
COVERED_SHARE = 0.9  # share of a box's pixels that must change for the face to be covered
GOAL_SPEEDUP = 3.0


@dataclass
class Run:
    tool: str
    output: Path
    ok: bool
    wall: float = 0.0
    cpu: float = 0.0
    frames: int = 0
    error: str = ""

    @property
    def fps(self) -> float:
        return self.frames / self.wall if self.wall else 0.0

    @property
    def cpu_per_frame(self) -> float:
        return self.cpu / self.frames if self.frames else float("inf")


def frame_count(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def run_timed(tool: str, cmd: list[str], output: Path, frames: int) -> Run:
    """Run ``cmd`` once; wall time and CPU time of the whole process tree."""
    output.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0 or not output.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return Run(tool, output, False, wall, cpu, 0, f"exit {proc.returncode}: {tail[0][:200]}")
    return Run(tool, output, True, wall, cpu, frames)


# ---------------------------------------------------------------------------- faces

def iter_rgb(path: Path):
    import av

    with av.open(str(path)) as c:
        for vf in c.decode(video=0):
            yield vf.to_ndarray(format="rgb24")


def detect_all(video: Path, which: str, cache: Path) -> list[np.ndarray]:
    """Per frame (N, 4) boxes x1, y1, x2, y2 found by ``which`` ("deface" or "ours"), cached."""
    if cache.exists():
        data = json.loads(cache.read_text())
        if data.get("video") == str(video) and data.get("mtime") == video.stat().st_mtime:
            return [np.asarray(b, np.float32).reshape(-1, 4) for b in data["boxes"]]
    if which == "deface":
        from deface.centerface import CenterFace

        net = CenterFace(backend="opencv")  # deface CLI defaults: in_shape None (full res)

        def find(rgb: np.ndarray) -> np.ndarray:
            dets, _ = net(rgb, threshold=0.2)
            return np.asarray(dets, np.float32).reshape(-1, 5)[:, :4]
    else:
        from anonymotion.detect.faces import make_face_detector

        det = make_face_detector()

        def find(rgb: np.ndarray) -> np.ndarray:
            return det.detect(rgb).boxes

    boxes = [find(rgb) for rgb in iter_rgb(video)]
    cache.write_text(json.dumps({"video": str(video), "mtime": video.stat().st_mtime,
                                 "boxes": [b.round(2).tolist() for b in boxes]}))
    return boxes


def coverage(video: Path, output: Path, faces: list[np.ndarray]) -> tuple[int, int, int]:
    """(covered face-frames, all face-frames, frames compared) of ``output`` against ``faces``."""
    covered = total = n = 0
    for i, (orig, out) in enumerate(zip(iter_rgb(video), iter_rgb(output))):
        if i >= len(faces):
            break
        n += 1
        if out.shape != orig.shape:
            out = out[:orig.shape[0], :orig.shape[1]]
        changed = (np.abs(orig.astype(np.int16) - out.astype(np.int16)) > NOISE).any(axis=2)
        h, w = changed.shape
        for x1, y1, x2, y2 in faces[i]:
            xa, ya = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
            xb, yb = min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
            if xb <= xa or yb <= ya:
                continue
            total += 1
            covered += bool(changed[ya:yb, xa:xb].mean() >= COVERED_SHARE)
    return covered, total, n


# ---------------------------------------------------------------------------- our direct loop

def direct_run(video: Path, output: Path, every: int, method_name: str = "blur",
               overlap: bool = True) -> None:
    """Our detector + tracker + method + writer, detecting on every ``every``-th frame.

    overlap: run the detector in a worker thread (onnxruntime releases the GIL) while the main
    thread anonymizes and encodes the frames the tracker has finished; at most ``every`` + 1
    frames wait for their detection, so memory stays bounded.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from anonymotion.methods.registry import make_method
    from anonymotion.detect.faces import make_face_detector
    from anonymotion.io.video import iter_frames, probe
    from anonymotion.io.writer import VideoWriter
    from anonymotion.track.regions import RegionTracker, detect_every

    info = probe(video)
    every = every or detect_every(info.fps)
    det, tracker, method = make_face_detector(), RegionTracker(), make_method(method_name)
    queue: deque = deque()  # frames pushed to the tracker, waiting for their final regions
    inflight: deque = deque()  # (frame, future or None) waiting for their detections
    with VideoWriter(output, info.width, info.height, info.time_base, fps=info.fps) as writer, \
            ThreadPoolExecutor(max_workers=1) as pool:
        def emit(ready):
            for index, regions in ready:
                frame = queue.popleft()
                assert frame.index == index
                writer.write(method.apply(frame.rgb, regions), frame.pts if frame.pts is not None else index)

        def drain(limit: int) -> None:
            while inflight and (len(inflight) > limit or inflight[0][1] is None or inflight[0][1].done()):
                frame, fut = inflight.popleft()
                queue.append(frame)
                emit(tracker.push(frame.index, frame.t, fut.result() if fut is not None else None))

        for frame in iter_frames(video, info):
            examine = frame.index % every == 0
            if overlap:
                inflight.append((frame, pool.submit(det.detect, frame.rgb) if examine else None))
                drain(every)
            else:
                queue.append(frame)
                emit(tracker.push(frame.index, frame.t, det.detect(frame.rgb) if examine else None))
        drain(0)
        emit(tracker.flush())


# ---------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--work", type=Path, default=Path("/tmp/anonymotion_bench"))
    ap.add_argument("--ours-args", default="", help="extra arguments for `anonymotion anonymize`")
    ap.add_argument("--engine", choices=("cli", "direct"), default="cli")
    ap.add_argument("--detect-every", type=int, default=0,
                    help="direct engine: detect on every n-th frame (0 = auto, track.detect_every)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each tool this many times, alternating, and keep each one's fastest run")
    ap.add_argument("--fill", choices=("blur", "solid"), default="blur",
                    help="blur: both tools' default; solid: ours --method block, deface --replacewith "
                         "solid (compares detection and tracking without the blur strength)")
    ap.add_argument("--backends", default="opencv,onnxrt", help="deface backends to try")
    ap.add_argument("--skip-deface", action="store_true", help="reuse the last deface run's numbers")
    ap.add_argument("--_direct", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._direct:
        direct_run(args._direct[0], args._direct[1], args.detect_every,
                   "block" if args.fill == "solid" else "blur")
        return 0

    video = args.video.resolve()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    frames = frame_count(video)
    print(f"fill: {args.fill}; video: {video} ({frames} frames); machine: {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}")

    def deface_cmd(backend: str) -> tuple[list[str], Path]:
        out = work / f"deface_{backend}_{args.fill}.mp4"
        cmd = [str(VENV_BIN / "deface"), str(video), "-o", str(out), "--backend", backend]
        return cmd + (["--replacewith", "solid"] if args.fill == "solid" else []), out

    deface_runs: list[Run] = []
    saved = work / f"deface_runs_{args.fill}.json"
    if args.skip_deface and saved.exists():
        for d in json.loads(saved.read_text()):
            deface_runs.append(Run(d["tool"], Path(d["output"]), d["ok"], d["wall"], d["cpu"],
                                   d["frames"], d["error"]))
    else:
        for backend in [b for b in args.backends.split(",") if b]:
            cmd, out = deface_cmd(backend)
            deface_runs.append(run_timed(f"deface --backend {backend}", cmd, out, frames))
        saved.write_text(json.dumps([{**r.__dict__, "output": str(r.output)} for r in deface_runs]))
    for r in deface_runs:
        status = f"{r.fps:6.2f} frames/s, {r.cpu_per_frame:.3f} CPU s/frame" if r.ok else f"FAILED ({r.error})"
        print(f"  {r.tool:28s} {status}")
    ok = [r for r in deface_runs if r.ok]
    if not ok:
        print("deface did not run; nothing to compare")
        return 1
    deface = max(ok, key=lambda r: r.fps)

    ours_out = work / f"anonymotion_{args.fill}.mp4"
    if args.engine == "cli":
        cmd = [str(VENV_BIN / "anonymotion"), "anonymize", str(video), "-o", str(ours_out), "--quiet",
               *(["--method", "block"] if args.fill == "solid" else []), *shlex.split(args.ours_args)]
        label = "anonymotion " + (args.ours_args or "(defaults)")
    else:
        cmd = [sys.executable, __file__, "--detect-every", str(args.detect_every), "--fill", args.fill,
               "--_direct", str(video), str(ours_out)]
        label = f"anonymotion direct loop, detect every {args.detect_every or 'auto'}"
    ours = run_timed(label, cmd, ours_out, frames)
    for _ in range(args.repeat - 1):  # alternate the tools so both see the same machine load
        if not args.skip_deface:
            again = run_timed(deface.tool, deface_cmd(deface.tool.rsplit(" ", 1)[-1])[0], deface.output,
                              frames)
            if again.ok and again.wall < deface.wall:
                deface = again
        again = run_timed(label, cmd, ours_out, frames)
        if again.ok and again.wall < ours.wall:
            ours = again
    if not ours.ok:
        print(f"  {label}: FAILED ({ours.error})")
        return 1
    print(f"  {label:28s} {ours.fps:6.2f} frames/s, {ours.cpu_per_frame:.3f} CPU s/frame")

    deface_faces = detect_all(video, "deface", work / "faces_deface.json")
    our_faces = detect_all(video, "ours", work / "faces_ours.json")
    c_ours, n_ours, _ = coverage(video, ours.output, deface_faces)
    c_def, n_def, _ = coverage(video, deface.output, our_faces)
    share_ours = c_ours / n_ours if n_ours else 1.0
    share_def = c_def / n_def if n_def else 1.0
    speed = ours.fps / deface.fps
    cpu_speed = deface.cpu_per_frame / ours.cpu_per_frame

    print()
    print(f"{'tool':34s} {'frames/s':>9s} {'CPU s/frame':>12s}  covers the other's faces")
    print(f"{label[:34]:34s} {ours.fps:9.2f} {ours.cpu_per_frame:12.3f}  "
          f"{c_ours}/{n_ours} = {share_ours:.1%} of deface's")
    print(f"{deface.tool[:34]:34s} {deface.fps:9.2f} {deface.cpu_per_frame:12.3f}  "
          f"{c_def}/{n_def} = {share_def:.1%} of ours")
    print(f"speed ratio (frames/s ours / deface): {speed:.2f}x   CPU-time ratio: {cpu_speed:.2f}x")
    print(f"coverage ratio (ours of deface's / deface's of ours): "
          f"{share_ours / share_def if share_def else float('inf'):.3f}")
    speed_ok = speed >= GOAL_SPEEDUP
    cover_ok = share_ours >= share_def
    print(f"goal: >= {GOAL_SPEEDUP:.0f}x frames/s: {'MET' if speed_ok else 'NOT MET'}; "
          f"coverage >= deface's: {'MET' if cover_ok else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
