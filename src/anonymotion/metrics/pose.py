"""Keypoint agreement between a reference pose track and a test track (pure numpy).

Inputs are matched frames: ref_xy, test_xy (T, K, 2) pixels; ref_score, test_score (T, K)
in [0, 1]. The reference is the original video's pose unless a ground truth is given.
A keypoint is *detected* when its score ≥ ``threshold`` (default 0.5).

- EPE: Euclidean distance in pixels, over keypoints detected in both tracks; also divided
  by the reference torso length (mid-shoulder to mid-hip, px) of the same frame.
- PTK: keypoints detected in the test track / keypoints detected in the reference, in %.
- PCK@α: share of keypoints detected in the reference whose test keypoint is detected and
  within α × reference torso length.
- MPJPE: mean 3D distance between world keypoints, in millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anonymotion.pose.skeletons import point


def torso_length(xy: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """(T,) distance mid-shoulder → mid-hip in pixels (NaN where missing or zero)."""
    ones = np.ones(xy.shape[:-1], np.float32)
    sho, _ = point(xy, ones, names, "mid_shoulder")
    hip, _ = point(xy, ones, names, "mid_hip")
    d = np.linalg.norm(np.asarray(sho, np.float64) - hip, axis=-1)
    return np.where(d > 1e-6, d, np.nan)


def keypoint_errors(ref_xy: np.ndarray, test_xy: np.ndarray) -> np.ndarray:
    """(T, K) Euclidean distance in pixels (NaN where either is missing)."""
    return np.linalg.norm(np.asarray(test_xy, np.float64) - np.asarray(ref_xy, np.float64), axis=-1)


@dataclass(frozen=True)
class KeypointStats:
    """Per-keypoint statistics, each an array (K,) in ``names`` order.

    epe_px / epe_norm: mean EPE (px / torso lengths); epe_sd_px: SD of the per-frame EPE
    (px); epe_max_px: largest EPE (px); n: frames with the keypoint detected in both;
    ptk_pct: PTK (%); pck_005 / pck_01: PCK@0.05 / @0.1 (%);
    score_ref / score_test: mean score over frames where a person was found.
    """

    names: tuple[str, ...]
    epe_px: np.ndarray
    epe_norm: np.ndarray
    epe_sd_px: np.ndarray
    epe_max_px: np.ndarray
    n: np.ndarray
    ptk_pct: np.ndarray
    pck_005: np.ndarray
    pck_01: np.ndarray
    score_ref: np.ndarray
    score_test: np.ndarray

    def rows(self) -> list[dict]:
        """One dict per keypoint (JSON/CSV friendly, NaN kept as float nan)."""
        keys = ("epe_px", "epe_norm", "epe_sd_px", "epe_max_px", "n", "ptk_pct", "pck_005", "pck_01",
                "score_ref", "score_test")
        return [{"keypoint": n, **{k: _num(getattr(self, k)[i]) for k in keys}} for i, n in enumerate(self.names)]


def _num(v) -> float | int:
    return int(v) if isinstance(v, (np.integer,)) else float(v)


def _safe_mean(x: np.ndarray, axis=None) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        cnt = np.sum(np.isfinite(x), axis=axis)
        tot = np.nansum(x, axis=axis)
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def _safe_sd(x: np.ndarray, axis=0) -> np.ndarray:
    cnt = np.sum(np.isfinite(x), axis=axis)
    mean = _safe_mean(x, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.nansum((x - np.expand_dims(mean, axis)) ** 2, axis=axis) / np.maximum(cnt - 1, 1)
    return np.where(cnt > 1, np.sqrt(var), np.where(cnt == 1, 0.0, np.nan))


def _safe_max(x: np.ndarray, axis=0) -> np.ndarray:
    ok = np.isfinite(x).any(axis=axis)
    return np.where(ok, np.nanmax(np.where(np.isfinite(x), x, -np.inf), axis=axis), np.nan)


def _pct(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 100.0 * num / np.maximum(den, 1), np.nan)


def keypoint_stats(
    ref_xy: np.ndarray, ref_score: np.ndarray, test_xy: np.ndarray, test_score: np.ndarray,
    names: tuple[str, ...], threshold: float = 0.5,
) -> tuple[KeypointStats, dict[str, float]]:
    """Per-keypoint stats and the overall dict (epe_px, epe_norm, ptk_pct, pck_005, pck_01, ...)."""
    err = keypoint_errors(ref_xy, test_xy)
    torso = torso_length(ref_xy, names)[:, None]
    det_r = (ref_score >= threshold) & np.isfinite(ref_xy).all(-1)
    det_t = (test_score >= threshold) & np.isfinite(test_xy).all(-1)
    both = det_r & det_t
    e = np.where(both, err, np.nan)
    en = e / torso
    with np.errstate(invalid="ignore"):
        hit05 = det_r & det_t & (err <= 0.05 * torso)
        hit10 = det_r & det_t & (err <= 0.1 * torso)
    pres_r = np.isfinite(ref_xy).all(-1).any(-1)
    pres_t = np.isfinite(test_xy).all(-1).any(-1)
    ks = KeypointStats(
        names=names,
        epe_px=_safe_mean(e, 0), epe_norm=_safe_mean(en, 0), epe_sd_px=_safe_sd(e, 0), epe_max_px=_safe_max(e, 0),
        n=both.sum(0).astype(np.int64), ptk_pct=_pct(det_t.sum(0), det_r.sum(0)),
        pck_005=_pct(hit05.sum(0), det_r.sum(0)), pck_01=_pct(hit10.sum(0), det_r.sum(0)),
        score_ref=_safe_mean(np.where(pres_r[:, None], ref_score, np.nan), 0),
        score_test=_safe_mean(np.where(pres_t[:, None], test_score, np.nan), 0),
    )
    t = len(ref_xy)
    conf_r = float(_safe_mean(np.where(pres_r[:, None], ref_score, np.nan)))
    conf_t = float(_safe_mean(np.where(pres_t[:, None], test_score, np.nan)))
    overall = {
        "frames": t,
        "epe_px": float(_safe_mean(e)),
        "epe_norm": float(_safe_mean(en)),
        "epe_sd_px": float(_safe_sd(e[np.isfinite(e)].ravel(), 0)) if np.isfinite(e).any() else float("nan"),
        "epe_max_px": float(np.nanmax(e)) if np.isfinite(e).any() else float("nan"),
        "ptk_pct": float(_pct(np.array(det_t.sum()), np.array(det_r.sum()))),
        "pck_005": float(_pct(np.array(hit05.sum()), np.array(det_r.sum()))),
        "pck_01": float(_pct(np.array(hit10.sum()), np.array(det_r.sum()))),
        "keypoints_ref": int(det_r.sum()),
        "keypoints_test": int(det_t.sum()),
        "detection_rate_ref": float(pres_r.mean()) if t else float("nan"),
        "detection_rate_test": float(pres_t.mean()) if t else float("nan"),
        "confidence_ref": conf_r,
        "confidence_test": conf_t,
        "confidence_change_pct": 100.0 * (conf_t - conf_r) / conf_r if conf_r > 0 else float("nan"),
        "torso_px": float(np.nanmedian(torso)) if np.isfinite(torso).any() else float("nan"),
    }
    return ks, overall


def mpjpe_mm(ref_world: np.ndarray, test_world: np.ndarray) -> float:
    """Mean per-joint position error (mm) between (T, K, 3) world keypoints in metres."""
    d = np.linalg.norm(np.asarray(test_world, np.float64) - ref_world, axis=-1)
    return float(1000.0 * np.nanmean(d)) if np.isfinite(d).any() else float("nan")
