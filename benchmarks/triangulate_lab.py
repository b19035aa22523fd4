"""Multi-view triangulation on lab_single: throughput, reprojection error, and MPJPE of face blur vs the control.

Usage: python benchmarks/triangulate_lab.py [--frames N] [--backend NAME] [--out DIR] [--data DIR]

Prints, side by side in one process:
- 2D pose frames/s of one view (cam01, the same pose backend, first frame excluded) and the
  multi-view run's synchronised frames/s over the four views (pose x4 + association +
  triangulation), with their ratio (the ideal for four views on one core is ~0.25);
- the participant's median reprojection error (px) and segment-length CVs;
- the study (``evaluate --calibration``, methods blur + the reencode control): MPJPE (mm) of
  face blur and of the control against the original triangulation, the goal
  blur <= 1.25 x control + 2 mm, then Table 1 (MPJPE per joint, μ and 2σ) and Table 3
  (3D angle RMSE (SD), Δ) as the report shows them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from fractions import Fraction
from pathlib import Path


from anonymotion.io.video import iter_frames, probe
from anonymotion.multiview import read_calibration, triangulate
from anonymotion.multiview.outputs import summary_error
from anonymotion.multiview.persons import default_backend, make_person_source
from anonymotion.multiview.results import coefficient_of_variation, segment_lengths
from anonymotion.multiview.study import evaluate_multiview
from anonymotion.multiview.tables import TABLE1_JOINTS
from anonymotion.report.tables import table_text

DEFAULT_DATA = Path(os.environ.get("ANONYMOTION_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
VIEWS = tuple(f"cam0{i}.mp4" for i in range(1, 5))


def pose_fps(path: Path, backend: str, frames: int | None) -> float:
    """2D pose frames/s of one view (decode + person source), the model-loading first frame excluded."""
    source = make_person_source(backend)
    n, start = 0, None
    try:
        for f in iter_frames(path, probe(path), strict=False):
            if frames and f.index >= frames:
                break
            source.persons(f.rgb, f.t)
            if start is None:
                start = time.perf_counter()
            else:
                n += 1
    finally:
        source.close()
    return n / (time.perf_counter() - start) if start and n else float("nan")


def trim(src: Path, dst: Path, frames: int) -> Path:
    """The first ``frames`` frames of ``src`` re-encoded at crf 12 (the study's original then)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vs = inp.streams.video[0]
        os_ = out.add_stream("libx264", rate=vs.average_rate)
        os_.width, os_.height, os_.pix_fmt = vs.width, vs.height, "yuv420p"
        os_.time_base = Fraction(1, int(round(float(vs.average_rate))))
        os_.options = {"crf": "12", "preset": "veryfast"}
        for i, f in enumerate(inp.decode(vs)):
            if i >= frames:
                break
            g = f.reformat(format="yuv420p")
            g.pts, g.time_base = i, os_.time_base
            for p in os_.encode(g):
                out.mux(p)
        for p in os_.encode(None):
            out.mux(p)
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=None, help="only the first N frames of each view (default: all)")
    ap.add_argument("--backend", default=None, help="pose backend (default: multi-person when available)")
    ap.add_argument("--out", type=Path, default=None, help="keep the study's outputs here (default: temporary)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    backend = args.backend or default_backend()
    lab = args.data / "lab_single"
    calibration = read_calibration(lab / "calibration.qca.txt")
    with tempfile.TemporaryDirectory() as tmp:
        videos = [lab / v for v in VIEWS]
        if args.frames:
            videos = [trim(v, Path(tmp) / v.name, args.frames) for v in videos]
        print(f"lab_single: {len(videos)} views, backend {backend}, "
              f"{probe(videos[0]).frame_count or args.frames} frames per view")
        fps2d = pose_fps(videos[0], backend, args.frames)
        start = time.perf_counter()
        run = triangulate(videos, calibration, backend=backend)
        fps3d = len(run.t) / (time.perf_counter() - start)
        print(f"\n{'run':34} {'frames/s':>9}")
        print(f"{'2D pose, one view (cam01)':34} {fps2d:9.2f}")
        print(f"{'multi-view, 4 views + triangulate':34} {fps3d:9.2f}   ratio {fps3d / fps2d:.2f} "
              f"({4 * fps3d:.1f} view-frames/s)")
        for p in run.persons:
            cv = {k: coefficient_of_variation(v) for k, v in segment_lengths(p.points, run.names).items()}
            print(f"{p.id}: {int(p.present.sum())} frames, {p.views[p.views > 0].mean():.2f} views per point, "
                  f"median reprojection error {summary_error(p):.2f} px, implausible points removed "
                  f"{p.implausible}; segment CV " + ", ".join(f"{k} {v:.3f}" for k, v in cv.items()))
        out = args.out or Path(tmp) / "study"
        start = time.perf_counter()
        result = evaluate_multiview(videos, calibration, ["blur"], out, backend=backend)
        print(f"\nstudy (anonymize 4 views x 2 labels, triangulate 3 sets): {time.perf_counter() - start:.1f} s")
        rows = result.tables["mpjpe"]
        for person in dict.fromkeys(r["person"] for r in rows):
            by = {r["method"]: r for r in rows if r["person"] == person}
            for key, what in (("mpjpe_mm", "COCO-17 joints"), ("mpjpe_all_mm", "all 33 keypoints")):
                blur, ctl = by["blur"][key], by["reencode"][key]
                goal = 1.25 * ctl + 2.0
                print(f"{person}: MPJPE ({what}) vs original: reencode {ctl:.2f} mm   blur {blur:.2f} mm   ratio "
                      f"{blur / ctl:.2f}   goal blur <= 1.25 x control + 2 = {goal:.2f} mm: "
                      f"{'met' if blur <= goal else 'NOT met'}")
        print("\nTable 1: MPJPE per joint (mm, μ and 2σ)")
        cols = ["person", "method", "frames", "mpjpe_mm", "mpjpe_all_mm"] + [f"{j}_{s}" for j in TABLE1_JOINTS for s in ("mean", "2sd")]
        print(table_text(rows, cols, digits=1))
        print("\nTable 3: 3D angles, RMSE and SD of the difference to the original (degrees)")
        t3 = result.tables["angles3d"]
        labels = result.methods
        print(table_text(t3, ["person", "angle"] + [f"{lab}_{s}" for lab in labels for s in ("rmse", "sd")]
                         + ["delta_rmse", "delta_sd"]))
        print("\nVerdicts (excess over the control; 5° / 1.27°)")
        print(table_text(result.tables["verdicts"], ["person", "angle", "method", "n", "excess_rmse", "sd_change",
                                                     "verdict"]))
        stats = result.tables["stats"]
        print(f"\nstatistics: {stats[0].get('test')}: {stats[0].get('note', '')}")
        print(f"report: {result.report_path}" + ("" if args.out else " (temporary, use --out to keep it)"))


if __name__ == "__main__":
    main()
