"""Is a face covered? Judged by the identity-bearing detail left, not by changed pixels.

Definitions (DESIGN.md, Metric definitions: Privacy). For a face box of the original
(measured on its core, :attr:`DetailLimits.core` of its width and height about its centre,
the part an elliptical mask always covers):

- The original *carries identifiable detail* unless it is smaller than
  :attr:`DetailLimits.min_face` px (longer side; for a face cut by the frame's edge, the
  shorter side of its visible part), holds less fine detail than :attr:`DetailLimits.fine`
  (:func:`~anonymotion.audit.detail.fine_detail`: smeared by motion or focus) or is a coarse
  mosaic already (:func:`~anonymotion.audit.detail.blockiness` >= :attr:`DetailLimits.blocky`:
  pixelated in the source). Such faces are reported separately ("no-detail", with the
  reason), never as leaks. The blur limit is a conservative one: sharp faces (portrait,
  indoor_group, the larger lab and street faces) blurred to the detail of a face 6 px across
  keep 0.007-0.021 (median 0.012), 8 px across 0.012-0.031 (median 0.024). (A limit at the
  16 px size floor, 0.03, would excuse every face in the first 10 frames of
  street_720p50.avi, so that an untouched copy would pass: too lenient.)
- A face is judged only when its track (:class:`~anonymotion.audit.faces.FaceTracker`) shows
  identifiable detail in at least :data:`MIN_TRACK_FRAMES` frames (in videos of 3 frames or
  more): a real face stays in view, while the detectors' errors at the margin (a hand both
  detectors call a face at 0.2 and 0.76 in one frame of lab_single/cam01) and a fine-detail
  value that crosses the blur limit in one frame of an otherwise smeared face (codec noise)
  flicker. Such faces are reported apart ("one-frame"). The same holds for residual faces.
- A face with identifiable detail is *covered* when the anonymized box is structurally
  different (SSIM < :attr:`DetailLimits.ssim`) and keeps little of the original's gradient
  energy (detail left < :attr:`DetailLimits.detail`); otherwise it *leaked*.

Calibration (``benchmarks/audit_calibration.py``, street_720p50.avi and lab_single/cam01.mp4):
a crf-18 re-encode keeps SSIM >= 0.95 and detail >= 0.8 on 99 % of face-frames (must leak);
the faces our blur, block and pixelate masked reach SSIM 0.16-0.85 and detail 0-0.7 (must be
covered). Small faces under a mosaic of 8 cells keep much of the little detail they had and
are judged on it.

Residual faces (found in the anonymized video) are labelled by :data:`RESIDUAL_RULES`, an
ordered list of rules; the first that answers names the face. A label in
:data:`FAILING_RESIDUAL` fails the audit. New kinds of residual face (e.g. a synthetic
replacement face) are added as a rule placed first, before :func:`judged_on_the_original`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from anonymotion.audit.detail import blockiness, detail_left, fine_detail, ssim
from anonymotion.detect.boxes import box_sizes, core

COVERED, LEAKED, NO_DETAIL, ONE_FRAME = "covered", "leaked", "no-detail", "one-frame"
#: A leaked face (or failing residual face) the close look found no face in (audit.close_look).
NOT_VERIFIED = "not-verified"
#: Frames with identifiable detail a face's track needs before the face is judged (videos of >= 3 frames).
MIN_TRACK_FRAMES = 2


@dataclass(frozen=True)
class DetailLimits:
    """The coverage rule's limits (see the module docstring for their calibration).

    ssim / detail: a covered face has SSIM below ``ssim`` and detail left below ``detail``.
    min_face: faces smaller than this (px, longer side) carry no identifiable detail.
    fine: fine-detail share below which the original is too smeared to identify anyone.
    blocky: blockiness from which the original counts as pixelated in the source.
    core: share of the box's width and height (about its centre) the measures are taken on.
    """

    ssim: float = 0.9
    detail: float = 0.75
    min_face: float = 16.0
    fine: float = 0.015
    blocky: float = 0.5
    core: float = 0.8

    def validated(self) -> "DetailLimits":
        from anonymotion.errors import ConfigError

        for name in ("ssim", "detail", "fine", "blocky", "core"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise ConfigError(None, f"audit limit {name} must be in (0, 1], not {v}")
        if self.min_face < 0:
            raise ConfigError(None, f"audit min_face must be >= 0 px, not {self.min_face}")
        return self


@dataclass(frozen=True)
class Judgement:
    """How one face box fared: status covered / leaked / no-detail, why, and the measures."""

    status: str
    reason: str | None
    ssim: float | None
    detail: float | None
    fine: float
    blockiness: float


def face_size(box: np.ndarray | tuple, width: int, height: int) -> float:
    """The size (px) the floor applies to: the box's longer side, or for a box cut by the frame's
    edge (within 1 px of it) the shorter side of what is visible."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if x1 <= 1 or y1 <= 1 or x2 >= width - 1 or y2 >= height - 1:
        return min(x2 - x1, y2 - y1)
    return float(box_sizes(np.asarray(box, np.float64))[0])


def no_detail_reason(image: np.ndarray, box: np.ndarray | tuple, limits: DetailLimits) -> tuple[str | None, float, float]:
    """Why the face in ``box`` of grey ``image`` carries no identifiable detail ("small",
    "pixelated", "blurred"), or None when it does; with its fine-detail share and blockiness."""
    size = face_size(box, image.shape[1], image.shape[0])
    inner = core(box, limits.core)
    fine = fine_detail(image, inner)
    blocks = blockiness(image, box)
    if size < limits.min_face:
        return "small", fine, blocks
    if blocks >= limits.blocky:
        return "pixelated", fine, blocks
    if fine < limits.fine:
        return "blurred", fine, blocks
    return None, fine, blocks


def kept(orig: np.ndarray, anon: np.ndarray, box: np.ndarray | tuple, limits: DetailLimits) -> tuple[bool, float, float]:
    """Whether the anonymized box kept the original's detail (SSIM or detail left at or above
    their limits), with the SSIM and the detail left measured on the box's core."""
    inner = core(box, limits.core)
    s = ssim(orig, anon, inner)
    d = detail_left(orig, anon, inner)
    return (s >= limits.ssim or d >= limits.detail), s, d


def judge_face(orig: np.ndarray, anon: np.ndarray, box: np.ndarray | tuple, limits: DetailLimits) -> Judgement:
    """Judge one original face (``box``, px) given both grey frames ((H, W) float32, same size)."""
    reason, fine, blocks = no_detail_reason(orig, box, limits)
    kept_detail, s, d = kept(orig, anon, box, limits)
    if reason is not None:
        return Judgement(NO_DETAIL, reason, s, d, fine, blocks)
    return Judgement(LEAKED if kept_detail else COVERED, None, s, d, fine, blocks)


# --------------------------------------------------------------------------- residual faces

@dataclass
class ResidualContext:
    """What a residual rule may look at: the face's box in the anonymized frame, both grey
    frames (``orig`` None when the anonymized video is audited alone), this frame's original
    faces as (box, status) pairs (status "unconfirmed" for candidates the finder did not
    confirm), the limits, and ``measures`` a rule may fill (ssim, detail)
    for the report."""

    box: np.ndarray
    anon: np.ndarray
    orig: np.ndarray | None
    originals: list[tuple[np.ndarray, str]]
    limits: DetailLimits
    measures: dict[str, float] = field(default_factory=dict)


def judged_on_the_original(ctx: ResidualContext) -> str | None:
    """The same face as one of this frame's original faces: its judgement stands (a leak is counted once)."""
    if not ctx.originals:
        return None
    from anonymotion.detect.faces import same_face

    boxes = np.asarray([b for b, _ in ctx.originals], np.float64).reshape(-1, 4)
    hit = np.flatnonzero(same_face(ctx.box[None], boxes)[0])
    if not len(hit):
        return None
    status = {ctx.originals[i][1] for i in hit}
    if LEAKED in status:
        return "leaked-face"  # counted among the leaks already
    if COVERED in status:
        return "on-covered-face"
    if NO_DETAIL in status:
        return "no-detail"
    if ONE_FRAME in status:
        return "one-frame"
    return "unconfirmed-on-original"  # the original's look at these pixels did not call it a face


def no_identifiable_detail(ctx: ResidualContext) -> str | None:
    """The face, as it stands in the output (and in the original, when given), carries no identifiable detail."""
    reason, _, _ = no_detail_reason(ctx.anon, ctx.box, ctx.limits)
    if reason is None and ctx.orig is not None:
        reason, _, _ = no_detail_reason(ctx.orig, ctx.box, ctx.limits)
    return "no-detail" if reason is not None else None


def identifiable_alone(ctx: ResidualContext) -> str | None:
    """Without the original nothing else can be known: a face with identifiable detail fails."""
    return "identifiable" if ctx.orig is None else None


#: Share of a residual face's box an original face or candidate must overlap to count as "seen there".
SEEN_OVERLAP = 0.1


def kept_original_detail(ctx: ResidualContext) -> str:
    """On an area that kept the original's detail (a face the anonymization left), or on one that lost it.

    A face found on kept pixels where the original's look saw nothing at all (no face and no
    candidate overlapping :data:`SEEN_OVERLAP` of its box, with the audit's lower thresholds and
    enlarged input) is "new-in-output": the same pixels did not look like a face in the original,
    so the detector fired on changed surroundings (a blurred face beside a cardboard sign made
    CenterFace score the sign 0.38-0.48 where it scored below 0.15 in the original). Reported,
    not failing: a face the anonymization left would have been seen, and judged, on the original.
    """
    assert ctx.orig is not None
    was_kept, s, d = kept(ctx.orig, ctx.anon, ctx.box, ctx.limits)
    ctx.measures.update(ssim=s, detail=d)
    if not was_kept:
        return "on-anonymized-area"
    return "kept-original-detail" if _seen_on_original(ctx) else "new-in-output"


def _seen_on_original(ctx: ResidualContext) -> bool:
    """Whether any of this frame's original faces or candidates overlaps the residual box."""
    if not ctx.originals:
        return False
    boxes = np.asarray([b for b, _ in ctx.originals], np.float64).reshape(-1, 4)
    x1, y1, x2, y2 = (float(v) for v in ctx.box)
    w = np.clip(np.minimum(boxes[:, 2], x2) - np.maximum(boxes[:, 0], x1), 0, None)
    h = np.clip(np.minimum(boxes[:, 3], y2) - np.maximum(boxes[:, 1], y1), 0, None)
    area = max((x2 - x1) * (y2 - y1), 1e-6)
    return bool((w * h / area >= SEEN_OVERLAP).any())


#: Ordered rules; the first returning a label names the residual face.
RESIDUAL_RULES: list[Callable[[ResidualContext], str | None]] = [
    judged_on_the_original, no_identifiable_detail, identifiable_alone, kept_original_detail]
#: Labels that fail the audit.
FAILING_RESIDUAL = frozenset({"identifiable", "kept-original-detail"})


def one_frame_tracks(tracks: list[int], frames: int, min_frames: int = MIN_TRACK_FRAMES) -> set[int]:
    """Track ids seen fewer than ``min_frames`` times (none when the video has under 3 frames)."""
    if frames < 3:
        return set()
    counts: dict[int, int] = {}
    for t in tracks:
        counts[t] = counts.get(t, 0) + 1
    return {t for t, n in counts.items() if n < min_frames}


def classify_residual(ctx: ResidualContext) -> str:
    """The label of the first rule in :data:`RESIDUAL_RULES` that answers for ``ctx``."""
    for rule in RESIDUAL_RULES:
        label = rule(ctx)
        if label is not None:
            return label
    return "kept-original-detail"
