"""Synthetic keypoint trajectories of a known gait (numpy only), in MediaPipe's 33-point layout.

The walker is built so that its events and angles are known exactly:
- each ankle, relative to the pelvis along the walking direction, follows
  A·cos(π φ / s) in stance (φ ∈ [0, s)) and −A·cos(π (φ − s)/(1 − s)) in swing, where φ is the
  phase of that foot's cycle and s the stance share: its maximum (heel strike) is at φ = 0 and
  its minimum (toe off) at φ = s; heel and foot index are fixed offsets of the ankle, so
  they peak at the same frames;
- the right foot runs half a cycle after the left;
- the knee is placed so that the knee flexion 180° − ∠(hip, knee, ankle) is exactly
  ``knee_mean + knee_amp · cos(2π (φ − knee_peak))`` (peak at ``knee_peak`` of the cycle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from anonymotion.pose.skeletons import MEDIAPIPE_33

NAMES = MEDIAPIPE_33


@dataclass(frozen=True)
class Walk:
    """A synthetic walk: points (T, 33, D), score (T, 33), t (T,) and the truth it was built from."""

    points: np.ndarray
    score: np.ndarray
    t: np.ndarray
    fps: float
    stride_s: float
    stance: float
    heel_strikes: dict[str, np.ndarray]  # frame indices (exact, inside the clip)
    toe_offs: dict[str, np.ndarray]
    knee: dict[str, np.ndarray]  # (T,) true knee flexion, degrees


def _phase(t: np.ndarray, t0: float, stride: float) -> np.ndarray:
    return np.mod((t - t0) / stride, 1.0)


def _ankle_rel(phi: np.ndarray, s: float, amp: float) -> np.ndarray:
    stance = amp * np.cos(np.pi * phi / s)
    swing = -amp * np.cos(np.pi * (phi - s) / (1 - s))
    return np.where(phi < s, stance, swing)


def _knee_at(hip: np.ndarray, ankle: np.ndarray, flex_deg: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Knee position (T, 2) making 180° − ∠(hip, knee, ankle) = flex_deg, bending towards ``forward``."""
    ha = ankle - hip
    length = np.linalg.norm(ha, axis=1, keepdims=True)
    u = ha / length
    n = np.stack([-u[:, 1], u[:, 0]], axis=1)
    n *= np.sign(np.sum(n * forward, axis=1, keepdims=True))
    alpha = np.radians(180.0 - flex_deg)[:, None]
    with np.errstate(divide="ignore"):
        d = np.where(alpha < np.pi - 1e-9, (length / 2) / np.tan(alpha / 2), 0.0)
    return hip + ha / 2 + d * n


def make_walk(*, fps: float = 50.0, seconds: float = 4.4, stride_s: float = 1.1, stance: float = 0.6,
              t0: float = 0.2, leg: float = 200.0, speed_legs: float = 1.2, direction: int = 1,
              dims: int = 2, treadmill: bool = False, knee_mean: float = 32.5, knee_amp: float = 27.5,
              knee_peak: float = 0.72, noise: float = 0.0, seed: int = 0, pan: float = 0.0) -> Walk:
    """A walker in the image plane (2D pixels, x right, y down) or MediaPipe-world-like 3D metres.

    direction +1 walks to the image right, −1 to the left. pan: a camera panning so every
    point drifts ``pan`` leg lengths per second to the image left (2D only). With dims=3 the same sagittal
    motion lies in the x–y plane (z = ±0.1 leg for left/right) and the pelvis stays at the
    origin (hip-centred, like MediaPipe world landmarks); ``leg`` is then in metres.
    """
    n = int(round(seconds * fps))
    t = np.arange(n) / fps
    fwd = np.array([float(direction), 0.0])
    travel = 0.0 if (treadmill or dims == 3) else speed_legs * leg
    pelvis = np.stack([direction * travel * t, np.zeros(n)], axis=1) + ([0.0, 0.0] if dims == 3 else [640.0, 300.0])
    pts = np.zeros((n, len(NAMES), 2))
    placed: set[str] = set()

    def put(name: str, xy: np.ndarray) -> None:
        pts[:, NAMES.index(name)] = xy
        placed.add(name)

    hs, to, knee = {}, {}, {}
    for side, start in (("left", t0), ("right", t0 + stride_s / 2)):
        phi = _phase(t, start, stride_s)
        rel = _ankle_rel(phi, stance, 0.35 * leg)
        lift = np.where(phi >= stance, 0.08 * leg * np.sin(np.pi * (phi - stance) / (1 - stance)), 0.0)
        ankle = pelvis + rel[:, None] * fwd + np.stack([np.zeros(n), 0.95 * leg - lift], axis=1)
        put(f"{side}_hip", pelvis)
        put(f"{side}_ankle", ankle)
        put(f"{side}_heel", ankle + [-0.06 * leg * direction, 0.04 * leg])
        put(f"{side}_foot_index", ankle + [0.2 * leg * direction, 0.05 * leg])
        flex = knee_mean + knee_amp * np.cos(2 * np.pi * (phi - knee_peak))
        put(f"{side}_knee", _knee_at(pelvis, ankle, flex, np.broadcast_to(fwd, (n, 2))))
        knee[side] = flex
        k = np.arange(-1, int(seconds / stride_s) + 2)
        frames = np.round((start + k * stride_s) * fps).astype(int)
        hs[side] = frames[(frames > 0) & (frames < n - 1)]
        frames = np.round((start + (k + stance) * stride_s) * fps).astype(int)
        to[side] = frames[(frames > 0) & (frames < n - 1)]
        sho = pelvis + [0.0, -0.75 * leg]
        put(f"{side}_shoulder", sho)
        swing = np.radians(20 * np.cos(2 * np.pi * (phi - 0.5)))
        elbow = sho + 0.4 * leg * np.stack([np.sin(swing), np.cos(swing)], axis=1)
        bend = swing + np.radians(25 + 10 * np.cos(2 * np.pi * phi))
        wrist = elbow + 0.35 * leg * np.stack([np.sin(bend) * direction, np.cos(bend)], axis=1)
        put(f"{side}_elbow", elbow)
        put(f"{side}_wrist", wrist)
        for name in ("pinky", "index", "thumb"):
            put(f"{side}_{name}", wrist + [0.0, 0.05 * leg])
        put(f"{side}_ear", sho + [0.05 * leg * direction, -0.3 * leg])
    head = pelvis + [0.08 * leg * direction, -1.1 * leg]
    for name in NAMES:
        if name not in placed:
            put(name, head)
    if noise:
        pts += np.random.default_rng(seed).normal(0.0, noise, pts.shape)
    if pan:
        pts[:, :, 0] -= pan * leg * t[:, None]
    if dims == 3:
        z = np.array([0.1 * leg if nm.startswith("left") else -0.1 * leg if nm.startswith("right") else 0.0
                      for nm in NAMES])
        pts = np.concatenate([pts, np.broadcast_to(z[None, :, None], (n, len(NAMES), 1))], axis=2)
    return Walk(pts, np.ones((n, len(NAMES))), t, fps, stride_s, stance, hs, to, knee)


def make_standing(*, fps: float = 50.0, seconds: float = 4.0, sway: float = 0.0, noise: float = 0.005,
                  dims: int = 2, seed: int = 1) -> Walk:
    """A person standing still, feet planted; the body above the feet sways ``sway`` leg lengths
    at 0.5 Hz; Gaussian noise of ``noise`` leg lengths on every point."""
    leg = 200.0 if dims == 2 else 0.9
    w = make_walk(fps=fps, seconds=seconds, treadmill=True, dims=dims, knee_amp=0.0, leg=leg)
    n = len(w.t)
    pts = w.points[:1].repeat(n, axis=0).copy()
    # feet planted under the pelvis, heel and toe around the ankle
    for side in ("left", "right"):
        for name, dx in (("ankle", 0.0), ("heel", -0.06), ("foot_index", 0.2)):
            pts[:, NAMES.index(f"{side}_{name}"), 0] = w.points[0, NAMES.index("left_hip"), 0] + dx * leg
    hips = [NAMES.index(n_) for n_ in NAMES if not any(f in n_ for f in ("ankle", "heel", "foot_index"))]
    pts[:, hips, 0] += sway * leg * np.sin(2 * np.pi * 0.5 * w.t)[:, None]
    pts += np.random.default_rng(seed).normal(0.0, noise * leg, pts.shape)
    return Walk(pts, w.score, w.t, fps, float("nan"), float("nan"), {}, {}, {})


@pytest.fixture
def walk():
    return make_walk


@pytest.fixture
def standing():
    return make_standing
