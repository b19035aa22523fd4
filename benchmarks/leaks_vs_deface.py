"""Leaked face-frames of anonymotion's anonymization vs deface, by the same audit.

    .venv/bin/python benchmarks/leaks_vs_deface.py [VIDEO] [--work DIR] [--max-frames N]
        [--detector centerface,yunet] [--reuse]

Runs ``anonymize(VIDEO)`` (library defaults, or ``--detector``) and ``deface VIDEO`` (default
settings, encoded with libx264 at crf 18 like ours so both carry the same codec noise),
audits both against the original with ONE audit finder — the one the audit would use for an
output anonymized with the union of both tools' detectors (deface is CenterFace), so it holds
a detector neither used — and prints judged face-frames, leaks, leak rate by face size,
distinct faces leaked, the longest leak run overall and for faces >= 40 px, and residual
faces, side by side. Goal: fewer leaked face-frames than deface and no leak run longer than
2 frames for faces >= 40 px. The audit's own calibration is ``benchmarks/audit_calibration.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "street_720p50.avi"
#: imageio-ffmpeg maps quality q to crf int((1 - q/10) * 51): 6.47 -> crf 18, our encoder's default.
DEFACE_FFMPEG = {"codec": "libx264", "quality": 6.47}


def reencode(src: Path, dst: Path, crf: int = 18, max_frames: int | None = None) -> Path:
    """Re-encode ``src`` unanonymized with the project's writer (the codec-noise control)."""
    from anonymotion.io.video import iter_frames, probe
    from anonymotion.io.writer import VideoWriter

    info = probe(src)
    with VideoWriter(dst, info.width, info.height, info.time_base, fps=info.fps, crf=crf) as w:
        for f in iter_frames(src, info, strict=max_frames is None):
            if max_frames is not None and f.index >= max_frames:
                break
            w.write(f.rgb, f.pts)
    return dst


def run_deface(src: Path, dst: Path) -> float:
    """Run the deface CLI with its default detection/blur settings; returns seconds taken."""
    exe = Path(sys.executable).with_name("deface")
    cmd = [str(exe if exe.exists() else shutil.which("deface") or "deface"), str(src), "-o", str(dst),
           "--ffmpeg-config", json.dumps(DEFACE_FFMPEG)]
    started = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def row(name: str, result) -> dict:
    from anonymotion.audit.faces import leak_rates, leak_runs

    rates = leak_rates(result.checks)
    runs = leak_runs(result.checks)
    large = leak_runs(result.checks, 40.0)
    judged = result.judged
    return {
        "method": name,
        "face_frames": rates["all"]["face_frames"],
        "leaked": rates["all"]["leaked"],
        "leak_rate": rates["all"]["rate"],
        "rate_lt32": rates["<32"]["rate"], "rate_32_96": rates["32-96"]["rate"], "rate_gt96": rates[">96"]["rate"],
        "faces_leaked": result.leaked_faces,
        "faces": len({c.track for c in judged}),
        "longest_run": runs[0].length if runs else 0,
        "longest_run_ge40": large[0].length if large else 0,
        "face_frames_ge40": sum(1 for c in judged if c.size >= 40),
        "leaked_ge40": sum(1 for c in judged if c.size >= 40 and c.leaked),
        "no_detail": sum(result.no_detail().values()),
        "residual": len(result.residual),
        "residual_failing": len(result.failing_residual),
        "metadata": len(result.metadata),
    }


def print_table(rows: list[dict]) -> None:
    keys = [("judged face-frames", "face_frames", "d"), ("leaked face-frames", "leaked", "d"),
            ("leak rate", "leak_rate", "%"), ("  faces < 32 px", "rate_lt32", "%"),
            ("  faces 32-96 px", "rate_32_96", "%"), ("  faces > 96 px", "rate_gt96", "%"),
            ("distinct faces leaked", "faces_leaked", "d"), ("distinct faces", "faces", "d"),
            ("longest leak run (frames)", "longest_run", "d"),
            ("face-frames >= 40 px", "face_frames_ge40", "d"), ("leaked face-frames >= 40 px", "leaked_ge40", "d"),
            ("longest run, faces >= 40 px", "longest_run_ge40", "d"),
            ("face-frames without identifiable detail", "no_detail", "d"),
            ("residual faces in output", "residual", "d"),
            ("  failing (kept the original's detail)", "residual_failing", "d"),
            ("metadata findings", "metadata", "d")]
    print(f"{'':32s}" + "".join(f"{r['method']:>16s}" for r in rows))
    for label, key, fmt in keys:
        vals = [r[key] for r in rows]
        cells = [f"{100 * v:15.1f}%" if fmt == "%" else f"{v:16d}" for v in vals]
        print(f"{label:32s}" + "".join(cells))


def benchmark(video: Path, work: Path, max_frames: int | None, reuse: bool = False,
              detector: str | None = None) -> list[dict]:
    from anonymotion.audit import audit
    from anonymotion.config import AnonymizeConfig
    from anonymotion.pipeline import anonymize

    src = video
    if max_frames is not None:
        src = reencode(video, work / "original.mp4", crf=10, max_frames=max_frames)
    ours = work / "anonymotion.mp4"
    detector = detector or AnonymizeConfig().detector
    if not (reuse and ours.exists()):
        t0 = time.monotonic()
        ours = anonymize(src, ours, detector=detector).output
        print(f"anonymize: anonymotion --detector {detector} {time.monotonic() - t0:.1f} s", file=sys.stderr)
    if not (reuse and (work / "deface.mp4").exists()):
        print(f"anonymize: deface {run_deface(src, work / 'deface.mp4'):.1f} s", file=sys.stderr)
    rows = []
    from anonymotion.audit import DetectorSetup, make_audit_finder
    from anonymotion.audit.finder import CachedFinder

    finder = CachedFinder(make_audit_finder(DetectorSetup.parse(f"{detector},centerface")))
    print("audit finder: " + ", ".join(f"{d['family']} {d['threshold']:g} x{d['upscale']:g}"
                                       for d in finder.describe()["detectors"]), file=sys.stderr)
    try:
        for name, out in (("anonymotion", ours), ("deface", work / "deface.mp4")):
            result = audit(src, out, json_path=work / f"{name}.audit.json", detector=finder)
            rows.append(row(name, result))
    finally:
        finder.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    p.add_argument("--work", type=Path, default=None, help="keep outputs here (default: a temporary folder)")
    p.add_argument("--max-frames", type=int, default=None, help="use only the first N frames")
    p.add_argument("--detector", default=None, help="our face detector (default: the library's)")
    p.add_argument("--reuse", action="store_true", help="reuse anonymized outputs already in --work")
    p.add_argument("--json", type=Path, default=None, help="also write the table as JSON")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not args.video.exists():
        print(f"{args.video}: not found", file=sys.stderr)
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="leaks_vs_deface_"))
    work.mkdir(parents=True, exist_ok=True)
    rows = benchmark(args.video, work, args.max_frames, args.reuse, args.detector)
    print_table(rows)
    ours, deface = rows
    print(f"\nleaked face-frames, deface / anonymotion: {deface['leaked']} / {ours['leaked']}"
          f" = {deface['leaked'] / max(1, ours['leaked']):.2f}x")
    goal = ours["leaked"] < deface["leaked"] and ours["longest_run_ge40"] <= 2
    print(f"goal (fewer leaks than deface, no run > 2 frames for faces >= 40 px): {'met' if goal else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
