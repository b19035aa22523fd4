"""``anonymotion anonymize``: de-identify videos, images and folders of them."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from anonymotion.config import AnonymizeConfig
from anonymotion.errors import AnonymotionError
from anonymotion.io.naming import plan_jobs
from anonymotion.io.video import Limits
from anonymotion.progress import progress_bar

log = logging.getLogger(__name__)


def add_config_arguments(p: argparse.ArgumentParser) -> None:
    """Options of :class:`AnonymizeConfig`, shared by every command that anonymizes."""
    d = AnonymizeConfig()
    p.add_argument("--method", default=d.method,
                   help="blur (default), pixelate, block, or a method added by a plug-in (head, body-blur, lowres ...)")
    p.add_argument("--detector", default=d.detector, choices=["centerface", "blazeface", "both"],
                   help="face detector (default centerface)")
    p.add_argument("--threshold", type=float, default=None, help="detector score threshold (default: detector's own)")
    p.add_argument("--detect-size", type=int, default=None,
                   help="longest side in px of the image the detector sees (default: detector's own)")
    p.add_argument("--regions", default=None,
                   help="comma-separated region sources, e.g. faces,head (default: what the method needs)")
    p.add_argument("--hold", type=float, default=d.hold,
                   help="seconds a missed face stays covered before and after detections (default 0.2)")
    p.add_argument("--detect-every", type=int, default=None,
                   help="run the face detector on every n-th frame, tracking in between "
                        "(default: about every 60 ms, e.g. 3 at 50 fps; 1 = every frame)")
    p.add_argument("--mask-scale", type=float, default=d.mask_scale, help="grow each box by this factor (default 1.3)")
    p.add_argument("--shape", default=d.shape, choices=["ellipse", "rect"], help="shape of the covered area")
    p.add_argument("--strength", type=float, default=None, help="method strength (blur: sigma as a share of the face size)")
    p.add_argument("--blocks", type=int, default=None, help="pixelate: mosaic cells across the face (default 8)")
    p.add_argument("--kernel", type=int, default=None, help="head: Gaussian kernel size in px (default 25)")
    p.add_argument("--background", default=None, choices=["neutral", "blur"], help="skeleton: background")
    p.add_argument("--size", default=None, help="lowres: target size WxH (default 80x60)")
    p.add_argument("--crf", type=int, default=d.crf, help="H.264 quality, 0-51, lower is better (default 18)")
    p.add_argument("--preset", default=d.preset, help="x264 preset (default veryfast)")
    p.add_argument("--keep-audio", action="store_true", help="keep the audio (re-encoded to AAC); dropped by default")
    p.add_argument("--recoverable", action="store_true",
                   help="store the original pixels of anonymized regions, encrypted, in a *.recovery sidecar")
    p.add_argument("--key", type=Path, default=None, help="key file for --recoverable (see 'anonymotion keygen')")
    p.add_argument("--passphrase-env", default=None, help="environment variable holding a passphrase for --recoverable")
    p.add_argument("--max-pixels", type=int, default=Limits().max_pixels, help="refuse frames larger than this")
    p.add_argument("--max-fps", type=float, default=Limits().max_fps, help="refuse frame rates above this")


def config_from_args(args: argparse.Namespace) -> AnonymizeConfig:
    limits = Limits(max_pixels=args.max_pixels, max_fps=args.max_fps,
                    max_width=max(Limits().max_width, int(args.max_pixels ** 0.5)),
                    max_height=max(Limits().max_height, int(args.max_pixels ** 0.5)))
    return AnonymizeConfig(
        method=args.method, detector=args.detector, threshold=args.threshold, detect_size=args.detect_size,
        regions=tuple(r.strip() for r in args.regions.split(",") if r.strip()) if args.regions else None,
        hold=args.hold, detect_every=args.detect_every, mask_scale=args.mask_scale, shape=args.shape, strength=args.strength,
        blocks=args.blocks, kernel=args.kernel, background=args.background, size=args.size, crf=args.crf,
        preset=args.preset, keep_audio=args.keep_audio, recoverable=args.recoverable, key_file=args.key,
        passphrase_env=args.passphrase_env, audit=getattr(args, "audit", False), limits=limits,
    ).validated()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("anonymize", help="de-identify faces in videos and images",
                       description="De-identify videos and images. Outputs: X_anonymized.mp4 (or image), "
                                   "X_anonymized.regions.jsonl and X_anonymized.manifest.json.")
    p.add_argument("inputs", nargs="+", type=Path, help="video/image files or folders")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="output file for one input, output folder for several or for a folder")
    p.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders")
    p.add_argument("--audit", action="store_true",
                   help="audit each output right away; the verdict goes in the manifest (exit code 3 if one fails)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    p.add_argument("--calibration", type=Path, default=None, metavar="FILE",
                   help="the inputs are synchronised views of one calibrated set-up (Qualisys .qca.txt or "
                        "Calib.toml): anonymize them together, a head found in any view covered in every view")
    add_config_arguments(p)
    p.set_defaults(func=run)


def run_views(args: argparse.Namespace, config: AnonymizeConfig) -> int:
    """``anonymize CAM1 CAM2 ... --calibration FILE``: cross-view masking (see :mod:`anonymotion.multiview.masking`)."""
    from anonymotion.errors import ConfigError
    from anonymotion.multiview.masking import anonymize_views
    from anonymotion.pipeline.outputs import default_output

    if args.recursive or any(p.is_dir() for p in args.inputs):
        raise ConfigError(None, "with --calibration give one video file per camera, not folders")
    outputs = None
    if args.output is not None:
        if args.output.suffix:
            raise ConfigError(args.output, "with --calibration -o is an output folder (one output per view)")
        outputs = [args.output / default_output(p).name for p in args.inputs]
    with progress_bar("anonymize views", quiet=args.quiet) as progress:
        results = anonymize_views(args.inputs, args.calibration, outputs, config=config, progress=progress)
    if not args.quiet:
        import json

        for r in results:
            block = json.loads(r.manifest_path.read_text())["multiview"]
            print(f"{r.input} -> {r.output} ({r.frames} frames, {r.faces} regions, {r.held} held; "
                  f"{block['covered_only_by_other_views']} head-frames covered only thanks to other views)")
    return 0


def run(args: argparse.Namespace) -> int:
    from anonymotion.pipeline import anonymize

    config = config_from_args(args)
    if args.calibration is not None:
        return run_views(args, config)
    jobs = plan_jobs(args.inputs, args.output, args.recursive)
    if not jobs:
        print("anonymotion: error: no video or image files found in "
              + ", ".join(str(p) for p in args.inputs), file=sys.stderr)
        return 2
    failed = audits_failed = 0
    for n, job in enumerate(jobs, 1):
        label = job.input.name if len(jobs) == 1 else f"[{n}/{len(jobs)}] {job.input.name}"
        try:
            with progress_bar(label, quiet=args.quiet) as progress:
                result = anonymize(job.input, job.output, config=config, progress=progress)
        except AnonymotionError as exc:
            failed += 1
            print(f"anonymotion: error: {exc}", file=sys.stderr)
            if len(jobs) == 1:
                return exc.exit_code
            continue
        if result.audit and result.audit["verdict"] != "pass":
            audits_failed += 1
            print(f"anonymotion: audit failed for {result.output}: see {result.audit['report']}", file=sys.stderr)
        if not args.quiet:
            audit = (f", audit {result.audit['verdict']} ({result.audit['leaked_face_frames']} leaked face-frames)"
                     if result.audit else "")
            print(f"{job.input} -> {result.output} ({result.frames} frames, {result.faces} faces, "
                  f"{result.held} held{audit})")
    if failed:
        print(f"anonymotion: {failed} of {len(jobs)} files failed", file=sys.stderr)
        return 1
    return 3 if audits_failed else 0
