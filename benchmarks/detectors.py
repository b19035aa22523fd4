"""Face detectors side by side: faces found, faces only one detector finds, frames/s.

    .venv/bin/python benchmarks/detectors.py [--every 5] [--lab-every 10] [--work DIR]
        [--detectors centerface,yunet,centerface-ms,...] [--sheet-limit 160]

Runs every detector (and union) on the same decoded frames of ``street_720p50.avi`` (every
``--every``-th frame) and of ``lab_single/cam01..04.mp4`` (every ``--lab-every``-th), one
after the other in this process, and prints per video and detector:

- boxes found (and those of at least 16 px, the smallest face the audit judges),
- boxes no other detector of the comparison finds (the pairs CenterFace / YuNet and
  CenterFace / multi-scale CenterFace; "same face" as in unions: IoU >= 0.3 or centre inside
  with sizes within 2x),
- milliseconds of wall time and of CPU time (process_time: all threads) per frame.

Contact sheets (PNG, in --work) show every box found by only one of CenterFace and YuNet
(``only_<a>_not_<b>_<video>.png``), so a person can judge which are faces. YuNet is also
run on the whole frame in one call (``yunet-whole``) to show why it is cut into tiles of at
most 960 px, and at threshold 0.3 (``yunet@0.3``) to show why its default is 0.5.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ANONYMOTION_TEST_DATA", ROOT.parent / "shared" / "data"))
VIDEOS = ["street_720p50.avi", *(f"lab_single/cam0{i}.mp4" for i in range(1, 5))]
DETECTORS = ["centerface", "yunet", "yunet@0.3", "yunet-whole", "centerface-ms", "blazeface", "centerface,yunet",
             "centerface-ms,yunet"]
PAIRS = [("centerface", "yunet"), ("yunet", "centerface"), ("yunet@0.3", "centerface"), ("centerface-ms", "centerface"),
         ("centerface,yunet", "centerface"), ("centerface-ms,yunet", "centerface,yunet")]
MIN_FACE = 16.0


def frames_of(path: Path, every: int) -> list[np.ndarray]:
    import av

    out = []
    with av.open(str(path)) as c:
        for i, vf in enumerate(c.decode(video=0)):
            if i % every == 0:
                out.append(vf.to_ndarray(format="rgb24"))
    return out


def build(name: str):
    """A detector by name; "name@T" sets its threshold, "yunet-whole" is YuNet on the whole frame in one call."""
    from anonymotion.detect.faces import make_face_detector

    name, _, threshold = name.partition("@")
    if name == "yunet-whole":
        from anonymotion.detect.yunet import YuNetDetector

        return YuNetDetector(tile=0, threshold=float(threshold) if threshold else None)
    return make_face_detector(name, threshold=float(threshold) if threshold else None)


def run(name: str, frames: list[np.ndarray]) -> tuple[list, float, float]:
    """Per-frame Regions, wall ms/frame and CPU ms/frame (first frame excluded: model loading)."""
    det = build(name)
    first = det.detect(frames[0])
    t0, c0 = time.perf_counter(), time.process_time()
    rest = [det.detect(f) for f in frames[1:]]
    n = max(1, len(frames) - 1)
    wall, cpu = (time.perf_counter() - t0) / n * 1000, (time.process_time() - c0) / n * 1000
    close = getattr(det, "close", None)
    if callable(close):
        close()
    return [first, *rest], wall, cpu


def only_in(a: list, b: list) -> list[tuple[int, int]]:
    """(frame, box index) of boxes of ``a`` that no box of ``b`` in the same frame matches."""
    from anonymotion.detect.faces import same_face

    out = []
    for f, (ra, rb) in enumerate(zip(a, b)):
        if not len(ra):
            continue
        hit = same_face(ra.boxes, rb.boxes).any(axis=1) if len(rb) else np.zeros(len(ra), bool)
        out.extend((f, int(i)) for i in np.flatnonzero(~hit))
    return out


def sheet(frames: list[np.ndarray], results: list, picks: list[tuple[int, int]], path: Path, limit: int) -> None:
    """A grid of 96 px crops (box + its own size around it), labelled with score and size."""
    import cv2

    tiles = []
    step = max(1, len(picks) // limit)
    for f, i in picks[::step][:limit]:
        h, w = frames[f].shape[:2]
        x1, y1, x2, y2 = results[f].boxes[i]
        s = max(x2 - x1, y2 - y1)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        a, b, c, d = int(max(0, cx - s)), int(max(0, cy - s)), int(min(w, cx + s)), int(min(h, cy + s))
        tile = cv2.resize(frames[f][b:d, a:c], (96, 96), interpolation=cv2.INTER_CUBIC).copy()
        cv2.putText(tile, f"{results[f].scores[i]:.2f} {s:.0f}px", (2, 92), cv2.FONT_HERSHEY_PLAIN, 0.8,
                    (255, 255, 0))
        tiles.append(tile)
    if not tiles:
        return
    cols = 12
    grid = np.zeros((((len(tiles) + cols - 1) // cols) * 96, cols * 96, 3), np.uint8)
    for k, t in enumerate(tiles):
        grid[(k // cols) * 96:(k // cols + 1) * 96, (k % cols) * 96:(k % cols + 1) * 96] = t
    cv2.imwrite(str(path), grid[:, :, ::-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--every", type=int, default=5, help="street: every n-th frame")
    ap.add_argument("--lab-every", type=int, default=10, help="lab clips: every n-th frame")
    ap.add_argument("--videos", default=",".join(VIDEOS))
    ap.add_argument("--detectors", default=",".join(f"[{d}]" for d in DETECTORS),
                    help="bracketed list, e.g. [centerface],[centerface,yunet]")
    ap.add_argument("--work", type=Path, default=Path("/tmp/anonymotion_detectors"))
    ap.add_argument("--sheet-limit", type=int, default=144)
    args = ap.parse_args(argv)
    names = [d.strip("[]") for d in args.detectors.split("],[")]
    args.work.mkdir(parents=True, exist_ok=True)
    import logging

    logging.basicConfig(level=logging.WARNING)
    print(f"detectors on the same frames, one after the other; CPU = process time of all threads")
    for video in args.videos.split(","):
        path = DATA / video
        if not path.exists():
            print(f"{video}: not found, skipped")
            continue
        frames = frames_of(path, args.every if "street" in video else args.lab_every)
        h, w = frames[0].shape[:2]
        print(f"\n== {video}: {len(frames)} frames ({w}x{h})")
        print(f"{'detector':24s} {'boxes':>6s} {'>=16px':>7s} {'per frame':>9s} {'wall ms':>8s} {'CPU ms':>7s}")
        results = {}
        for name in names:
            r, wall, cpu = run(name, frames)
            results[name] = r
            n = sum(len(x) for x in r)
            big = sum(int((np.maximum(x.boxes[:, 2] - x.boxes[:, 0], x.boxes[:, 3] - x.boxes[:, 1]) >= MIN_FACE).sum())
                      for x in r)
            print(f"{name:24s} {n:6d} {big:7d} {n / len(frames):9.1f} {wall:8.0f} {cpu:7.0f}", flush=True)
        print("found by one and not by the other:")
        for a, b in PAIRS:
            if a in results and b in results:
                picks = only_in(results[a], results[b])
                print(f"  {a:22s} not {b:22s} {len(picks):5d} of {sum(len(x) for x in results[a])}")
                if b == "centerface" and a.startswith("yunet") or (a, b) == ("centerface", "yunet"):
                    stem = Path(video).stem if "lab" not in video else "lab_" + Path(video).stem
                    png = args.work / f"only_{a.replace('@', '_at_')}_not_{b}_{stem}.png"
                    sheet(frames, results[a], picks, png, args.sheet_limit)
                    print(f"    contact sheet: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
