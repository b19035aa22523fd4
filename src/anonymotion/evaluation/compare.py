"""Compare: how far keypoints and joint angles moved between an original and another video.

:func:`compare_poses` is the pure computation on two pose tracks (frames matched by
timestamp); :func:`compare` poses both videos first; :func:`write_compare_outputs` writes
compare.json, compare.csv and the plots.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.errors import InputError
from anonymotion.io.video import probe
from anonymotion.kinematics.angles import ANGLES_2D, angles_2d
from anonymotion.kinematics.angles3d import angles_3d
from anonymotion.metrics.angles import angle_stats
from anonymotion.metrics.pose import keypoint_stats, mpjpe_mm
from anonymotion.evaluation.posing import Progress, pose_video
from anonymotion.pose.run import VideoPoses
from anonymotion.pose.subject import SubjectSpec, parse_subject
from anonymotion.types import Poses

log = logging.getLogger(__name__)


class VideoMismatchError(InputError):
    """Two videos to compare do not have the same frames (different length or timing)."""



@dataclass
class CompareResult:
    """How far pose moved between an original (reference) and an anonymized video.

    keypoints: one row per keypoint (epe_px, epe_norm, epe_sd_px, epe_max_px, n, ptk_pct,
    pck_005, pck_01, score_ref, score_test). overall: epe_px, epe_norm, ptk_pct, pck_005,
    pck_01, detection_rate_ref/test, confidence_ref/test, confidence_change_pct, mpjpe_mm,
    frames, lost frames... angles: one row per 2D angle (rmse, bias, sd, max_abs,
    within_5deg_pct, conf_orig, conf_anon, conf_change_pct, n), left knee and left elbow
    first; angles_3d likewise for world-landmark angles. t: (T,) matched times (s);
    angle arrays (T, A) degrees for plots and paired tests.
    """

    original: str
    anonymized: str
    threshold: float
    keypoints: list[dict]
    overall: dict[str, Any]
    angles: list[dict]
    angles_3d: list[dict]
    t: np.ndarray = field(repr=False)
    angle_names: tuple[str, ...] = ()
    angles_orig: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    angles_anon: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    angle_diff: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    keypoint_names: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)

    def angle(self, name: str) -> dict:
        """The row of one 2D angle (e.g. "left_knee")."""
        return next(r for r in self.angles if r["angle"] == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "original": self.original, "anonymized": self.anonymized, "threshold": self.threshold,
            "overall": self.overall, "angles": self.angles, "angles_3d": self.angles_3d,
            "keypoints": self.keypoints, "files": self.files,
        }


def match_frames(ref: Poses, test: Poses, ref_name: str, test_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices (ref_idx, test_idx) of frames with the same timestamp (± half a frame).

    Raises VideoMismatchError when the videos differ in length or timing.
    """
    tr, tt = np.asarray(ref.t, np.float64), np.asarray(test.t, np.float64)
    if len(tr) == 0 or len(tt) == 0:
        raise VideoMismatchError(test_name if len(tt) == 0 else ref_name, "has no frames to compare")
    dt = np.diff(tr)
    tol = 0.5 * float(np.median(dt)) if dt.size else 1e-3
    j = np.clip(np.searchsorted(tt, tr), 1, max(1, len(tt) - 1)) if len(tt) > 1 else np.zeros(len(tr), int)
    if len(tt) > 1:
        j = np.where(np.abs(tt[j - 1] - tr) <= np.abs(tt[j] - tr), j - 1, j)
    ok = np.abs(tt[j] - tr) <= tol
    if len(tr) != len(tt) or ok.sum() < len(tr):
        raise VideoMismatchError(
            test_name,
            f"has {len(tt)} frames over {tt[-1]:.2f} s but the original {ref_name} has {len(tr)} frames over "
            f"{tr[-1]:.2f} s ({int(ok.sum())} matched by timestamp); compare needs the same clip, "
            "anonymized frame for frame",
        )
    return np.flatnonzero(ok), j[ok]


def compare_poses(ref: Poses, test: Poses, *, threshold: float = 0.5, min_conf: float | None = None,
                  ref_name: str = "original", test_name: str = "anonymized",
                  body_altered: np.ndarray | None = None) -> CompareResult:
    """Compare two pose tracks (pure computation). min_conf: angle confidence filter (default threshold).

    body_altered: optional (T_ref,) share (0..1) of the subject's body (head excluded) the
    anonymization changed in each original frame (:func:`anonymotion.pose.alteration.body_alteration`).
    With it, overall also holds ``body_altered_frames`` (matched-frame indices with share >=
    ALTERED_SHARE), their count ``body_altered_frame_count``, the first one's time
    ``body_altered_first_t`` (s, None without),
    ``body_altered_max_pct`` and the keypoint/angle figures over the frames whose body was
    left intact (``epe_px_body_intact``, ``ptk_pct_body_intact``, ``angle_rmse_mean_body_intact``):
    the effect of anonymizing the face, apart from collateral masking of the body.
    """
    min_conf = threshold if min_conf is None else min_conf
    ri, ti = match_frames(ref, test, ref_name, test_name)
    names = ref.names
    rxy, rs, txy, ts = ref.xy[ri], ref.score[ri], test.xy[ti], test.score[ti]
    scale = None
    if all(ref.size) and all(test.size) and tuple(ref.size) != tuple(test.size):
        # a method that changes the frame size: express its keypoints in the original's pixels
        scale = (ref.size[0] / test.size[0], ref.size[1] / test.size[1])
        txy = txy * np.array(scale, np.float32)
        log.info("%s: %dx%d frames, keypoints scaled to the original's %dx%d", test_name, *test.size, *ref.size)
    ks, overall = keypoint_stats(rxy, rs, txy, ts, names, threshold)
    ra, rc, anames = angles_2d(rxy, rs, names)
    ta, tc, _ = angles_2d(txy, ts, names)
    pres_r = np.isfinite(rxy).all(-1).any(-1)
    pres_t = np.isfinite(txy).all(-1).any(-1)
    wraps = tuple(d.wraps for d in ANGLES_2D)
    arows, diff = angle_stats(ra, ta, rc, tc, anames, wraps, ref_present=pres_r, test_present=pres_t,
                              min_conf=min_conf)
    rows3: list[dict] = []
    if ref.world is not None and test.world is not None:
        r3, n3 = angles_3d(ref.world[ri], names)
        t3, _ = angles_3d(test.world[ti], names)
        ones_r = np.isfinite(r3).astype(np.float32)
        ones_t = np.isfinite(t3).astype(np.float32)
        rows3, _ = angle_stats(r3, t3, ones_r, ones_t, n3, (False,) * len(n3), ref_present=pres_r,
                               test_present=pres_t, min_conf=1.0)
        for r in rows3:
            r.pop("conf_orig"), r.pop("conf_anon"), r.pop("conf_change_pct")
        overall["mpjpe_mm"] = mpjpe_mm(ref.world[ri], test.world[ti])
    rl, tl = getattr(ref, "lost", None), getattr(test, "lost", None)
    overall["lost_frames_ref"] = [int(i) for i in np.flatnonzero(rl[ri])] if rl is not None else []
    overall["lost_frames_test"] = [int(i) for i in np.flatnonzero(tl[ti])] if tl is not None else []
    overall["size_scale"] = list(scale) if scale else None
    finite = [r["rmse"] for r in arows if np.isfinite(r["rmse"])]
    overall["angle_rmse_mean"] = float(np.mean(finite)) if finite else float("nan")
    if body_altered is not None:
        overall.update(_body_intact_stats(np.asarray(body_altered, np.float64)[ri], rxy, rs, txy, ts, ra, ta, rc, tc,
                                          names, anames, wraps, pres_r, pres_t, threshold, min_conf))
        frames = overall["body_altered_frames"]
        overall["body_altered_first_t"] = float(ref.t[ri][frames[0]]) if frames else None
        if frames:
            log.warning("%s: the anonymization altered the subject's body, not only the face, in %d frames "
                        "(first at %.2f s, up to %.0f %% of the body); pose error there is the method masking "
                        "the body. Over the %d frames with the body intact: EPE %.2f px, mean angle RMSE %.2f deg",
                        test_name, len(frames), overall["body_altered_first_t"], overall["body_altered_max_pct"],
                        len(ri) - len(frames), overall["epe_px_body_intact"], overall["angle_rmse_mean_body_intact"])
    return CompareResult(
        original=ref_name, anonymized=test_name, threshold=threshold, keypoints=ks.rows(), overall=overall,
        angles=arows, angles_3d=rows3, t=ref.t[ri], angle_names=anames, angles_orig=ra, angles_anon=ta,
        angle_diff=diff, keypoint_names=names,
    )


def _body_intact_stats(share: np.ndarray, rxy: np.ndarray, rs: np.ndarray, txy: np.ndarray, ts: np.ndarray,
                       ra: np.ndarray, ta: np.ndarray, rc: np.ndarray, tc: np.ndarray, names: tuple[str, ...],
                       anames: tuple[str, ...], wraps: tuple[bool, ...], pres_r: np.ndarray, pres_t: np.ndarray,
                       threshold: float, min_conf: float) -> dict[str, Any]:
    """Body-alteration summary and EPE/PTK/angle RMSE over the matched frames whose body was intact."""
    from anonymotion.pose.alteration import ALTERED_SHARE

    altered = np.isfinite(share) & (share >= ALTERED_SHARE)
    out: dict[str, Any] = {
        "body_altered_frames": [int(i) for i in np.flatnonzero(altered)],
        "body_altered_frame_count": int(altered.sum()),
        "body_altered_max_pct": float(np.nanmax(share) * 100) if np.isfinite(share).any() else float("nan"),
    }
    keep = ~altered
    nan = float("nan")
    if keep.sum() == 0:
        out.update(epe_px_body_intact=nan, ptk_pct_body_intact=nan, angle_rmse_mean_body_intact=nan)
        return out
    _, ov = keypoint_stats(rxy[keep], rs[keep], txy[keep], ts[keep], names, threshold)
    rows, _ = angle_stats(ra[keep], ta[keep], rc[keep], tc[keep], anames, wraps, ref_present=pres_r[keep],
                          test_present=pres_t[keep], min_conf=min_conf)
    finite = [r["rmse"] for r in rows if np.isfinite(r["rmse"])]
    out.update(epe_px_body_intact=ov["epe_px"], ptk_pct_body_intact=ov["ptk_pct"],
               angle_rmse_mean_body_intact=float(np.mean(finite)) if finite else nan)
    return out


def compare(
    original: str | os.PathLike,
    anonymized: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    *,
    threshold: float = 0.5,
    subject: str | SubjectSpec | None = None,
    filter_hz: float | None = None,
    progress: Progress | None = None,
    max_frames: int | None = None,
    backend: str = "mediapipe",
) -> CompareResult:
    """Pose both videos and compare them frame by frame (matched by timestamp).

    With ``subject``, the original follows that subject and the anonymized video is posed
    on exactly the same crops (the same person, the same input regions). Raises NoPersonError when
    the original has no person, VideoMismatchError when the videos' frames differ. Writes
    compare.json, compare.csv, angles.png and keypoint_error.png into out_dir when given.
    """
    original, anonymized = Path(original), Path(anonymized)
    spec = parse_subject(subject)
    probe(anonymized)  # fail early on a bad second file
    n1 = [0]

    def prog1(done: int, total: int) -> None:
        n1[0] = total
        if progress:
            progress(done, 2 * total)

    ref = pose_video(original, backend=backend, subject=spec, filter_hz=filter_hz, progress=prog1,
                     max_frames=max_frames, require_person=True)
    test_spec = ref.replay() if spec is not None else None

    def prog2(done: int, total: int) -> None:
        if progress:
            progress(n1[0] + done, n1[0] + total)

    test = pose_video(anonymized, backend=backend, subject=test_spec, filter_hz=filter_hz, progress=prog2,
                      max_frames=max_frames)
    altered = _alteration(original, anonymized, ref, max_frames)
    result = compare_poses(ref, test, threshold=threshold, ref_name=str(original), test_name=str(anonymized),
                           body_altered=altered)
    result.overall["subject"] = ref.subject
    result.overall["filter_hz"] = filter_hz
    if out_dir is not None:
        write_compare_outputs(result, Path(out_dir))
    return result


def _alteration(original: Path, anonymized: Path, ref: VideoPoses, max_frames: int | None = None) -> np.ndarray | None:
    """Body alteration per original frame, or None (with a warning) when it cannot be measured."""
    from anonymotion.errors import AnonymotionError
    from anonymotion.pose.alteration import body_alteration

    try:
        return body_alteration(original, anonymized, ref, max_frames=max_frames)
    except (AnonymotionError, OSError, ValueError) as exc:
        log.warning("%s: body alteration not measured: %s", anonymized, exc)
        return None


def write_compare_outputs(result: CompareResult, out_dir: Path, prefix: str = "") -> dict[str, Path]:
    """compare.json, compare.csv (one row per angle then per keypoint), angles.png, keypoint_error.png."""
    from anonymotion.report.plots import angle_traces, keypoint_error_bars
    from anonymotion.report.tables import write_dict_rows, write_json

    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    rows = [{"kind": "angle", "name": r["angle"], **{k: v for k, v in r.items() if k != "angle"}}
            for r in result.angles]
    rows += [{"kind": "angle3d", "name": r["angle"], **{k: v for k, v in r.items() if k != "angle"}}
             for r in result.angles_3d]
    rows += [{"kind": "keypoint", "name": r["keypoint"], **{k: v for k, v in r.items() if k != "keypoint"}}
             for r in result.keypoints]
    files["csv"] = write_dict_rows(out_dir / f"{prefix}compare.csv", rows)
    files["angles_png"] = angle_traces(out_dir / f"{prefix}angles.png", result.t,
                                       {"original": result.angles_orig, "anonymized": result.angles_anon},
                                       result.angle_names, title="joint angles: original vs anonymized")
    k = result.keypoint_names
    mean = np.array([r["epe_px"] for r in result.keypoints])
    sd = np.array([r["epe_sd_px"] for r in result.keypoints])
    files["keypoint_error_png"] = keypoint_error_bars(out_dir / f"{prefix}keypoint_error.png", k,
                                                      {"anonymized": mean}, {"anonymized": sd})
    result.files.update({kk: str(v) for kk, v in files.items()})
    files["json"] = out_dir / f"{prefix}compare.json"
    result.files["json"] = str(files["json"])
    write_json(files["json"], result.to_json())
    return files
