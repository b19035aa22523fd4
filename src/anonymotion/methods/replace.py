"""``replace``: every face is covered, then one synthetic face is drawn where the face was.

Pose models such as BlazePose find a person from the face (their person detector derives
from a face detector): a blurred or blocked face makes them lose people. This method takes
the face away completely and gives the detector a face back, one that belongs to nobody.

Per region (the face box, grown by ``mask_scale`` into an ellipse or rectangle):

1. **Decide.** A face is drawn only on a region whose five landmarks look like a face
   seen from the front or the side (:func:`~anonymotion.methods.face_pose.fit_face`:
   residual, yaw within 60 degrees, size) with a detector score of at least ``min_score``.
   Faces smaller than ``min_face`` (40 px) get none: at 16-30 px a drawn face shares so much
   of the original's coarse layout (hair above, eyes, oval) that the audit's detail measure
   cannot tell it from the original (detail left 0.75-2.4 on street_720p50.avi), and pose
   models gain little there. The decision is smoothed per track (an evidence average with
   hysteresis), so a face does not blink on and off. A head seen from behind, a region without landmarks (held from a
   detector that gives none, a pose-head box), an implausible fit and a pixel mask
   (``--regions body``) get no face: they are covered exactly as ``blur`` covers them.
2. **Cover.** Every pixel of a face region's grown shape becomes a smooth interpolation of
   the pixels around it (:func:`~anonymotion.methods.cover.fill_from_surroundings`); the
   shape's soft edge lies outside it. Nothing of the original face survives, not even
   blurred. The shape keeps the largest size its track had over SIZE_WINDOW seconds, so it
   does not pulse between detected and (larger) held boxes.
3. **Draw.** The synthetic face (:mod:`~anonymotion.methods.face_template`), turned to the
   fitted yaw (5 degree steps, kept while it fits), placed by the similarity transform from
   its landmarks to the detected ones (position, size, roll), coloured with the skin colour
   of the region's border ring (:func:`~anonymotion.methods.cover.border_skin`, averaged
   per track over :data:`COLOUR_TAU` seconds), blended at its soft silhouette.

What it keeps of the original, and why that does not identify anyone: the face's position
and size (where a head is, which the body shows anyway), its orientation (yaw in 5 degree
steps and roll: where the person looks, which the body's pose also shows) and one skin
colour, the median of the lit skin-coloured pixels on the face box's border ring (forehead
edge, cheeks' edges, jaw), averaged over half a second: a colour the person's hands and
neck show in the video anyway. The drawn face is the same for everyone: no shape,
proportion, texture or feature of the person's face is measured or kept. Pixels in the
face's core (inside RING[0] of the box's half-axes: eyes, nose, mouth) never reach the
output, and the rest reaches it only through that one colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import cv2
import numpy as np

from anonymotion.methods.base import Lifecycle
from anonymotion.methods.basic import Blur
from anonymotion.methods.cover import FEATHER, border_skin, cover_weight, fill_from_surroundings, shape_distance
from anonymotion.methods.face_pose import FaceFit, fit_face
from anonymotion.methods.face_template import EXTENT, face_template
from anonymotion.methods.masks import SHAPES
from anonymotion.types import Regions

RING = (0.7, 1.0)  # the face's border ring (shares of the face box's half-axes) its skin colour comes from
MIN_FACE = 40.0  # px: below this a drawn face shares too much of the original's coarse layout (see below)
FILL_SIGMA = 0.35  # Gaussian of the fill, as a share of the grown region's size
COLOUR_TAU = 0.5  # seconds: time constant of a track's skin colour average
EVIDENCE_TAU = 0.1  # seconds: time constant of a track's "is a face from the front or side" evidence
ON, OFF = 0.6, 0.4  # evidence hysteresis: a face is drawn from ON until it falls to OFF
FORGET = 2.0  # seconds after which an unseen track's state is dropped
SIZE_WINDOW = 0.3  # seconds: a track's cover keeps the largest half-size it had over this window
TEMPLATE_WIDTHS = (48, 96, 192)  # canvas widths rendered; the smallest at least as wide as the face is used


@dataclass
class _TrackState:
    t: float
    colour: np.ndarray
    evidence: float
    drawn: bool
    yaw: float | None
    t_evidence: float = 0.0  # time of the last detected (not held) region that updated the evidence
    sizes: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (t, (2,) half-size px) recent


@dataclass
class Replace(Lifecycle):
    """Cover each face region, then draw one identity-free synthetic face on faces seen from the front or side.

    shape: "ellipse" or "rect" (the grown cover shape); mask_scale: growth of the face box
    for the cover (>= 1: the cover's soft edge and the colour ring lie outside the face box).
    min_score: detector score a region needs before a face is drawn on it (held regions carry
    their track's score). min_face: smallest face (longer side of the detector's box, px) a
    face is drawn on; smaller ones are covered as blur covers them.
    """

    shape: str = "ellipse"
    mask_scale: float = 1.3
    min_score: float = 0.4
    min_face: float = MIN_FACE
    name: ClassVar[str] = "replace"
    default_regions: ClassVar[tuple[str, ...]] = ("faces",)
    _tracks: dict[int, _TrackState] = field(default_factory=dict, init=False, repr=False)
    drawn: list[tuple[int, float, float, int]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        from anonymotion.errors import ConfigError

        if self.shape not in SHAPES:
            raise ConfigError(None, f"--shape must be one of {', '.join(SHAPES)}, not {self.shape!r}")
        if self.mask_scale < 1.0:
            raise ConfigError(None, f"replace needs --mask-scale >= 1 (the cover must reach beyond the face box), "
                                    f"not {self.mask_scale}")
        self._blur = Blur(shape=self.shape, mask_scale=self.mask_scale)

    # ------------------------------------------------------------------ the method

    def apply(self, rgb: np.ndarray, regions: Regions, t: float | None = None) -> np.ndarray:
        """The frame with every region covered and synthetic faces drawn; ``rgb`` is not modified.

        ``drawn`` lists (track id, yaw, roll, template width) of the faces drawn in this frame
        (degrees; yaw positive turned to the image's right, roll clockwise in the image).
        """
        t = 0.0 if t is None else float(t)
        self.drawn = []
        n = len(regions)
        fits: list[FaceFit | None] = [None] * n
        colours: list[np.ndarray] = []
        if n:
            boxes = np.asarray(regions.boxes, np.float64).reshape(-1, 4)
            covers = self._steady(_grown(boxes, self.mask_scale), regions.track_ids, t)
            marks = regions.landmarks_or_nan()
            for i in range(n):
                track = int(regions.track_ids[i])
                fit = fit_face(marks[i], boxes[i], self._prefer_yaw(track))
                fits[i], colour = self._decide(track, t, fit, float(regions.scores[i]),
                                               self._colour(rgb, boxes[i], covers[i]),
                                               detected=regions.sources[i] != "held",
                                               size=_detected_size(boxes[i], regions.sources[i]))
                colours.append(colour)
        faces = np.array([f is not None for f in fits], bool)
        # regions that get no face are covered exactly as ``blur`` covers them
        out = self._blur.apply(rgb, regions.take(~faces) if n else regions, t)
        for i in np.flatnonzero(faces):
            self._cover(out, covers, int(i))
        for i in np.flatnonzero(faces):
            fit = fits[i]
            assert fit is not None
            self._draw(out, fit, colours[i])
            self.drawn.append((int(regions.track_ids[i]), fit.yaw, fit.roll, _template_width(fit.width)))
        self._forget(t)
        return out

    # ------------------------------------------------------------------ steps

    def _colour(self, rgb: np.ndarray, box: np.ndarray, cover: np.ndarray) -> np.ndarray:
        """Skin colour from the border ring of the face box (original pixels, RING of its half-axes)."""
        h, w = rgb.shape[:2]
        x1, y1 = max(0, int(np.floor(cover[0]))), max(0, int(np.floor(cover[1])))
        x2, y2 = min(w, int(np.ceil(cover[2]))), min(h, int(np.ceil(cover[3])))
        if x2 <= x1 or y2 <= y1:
            return border_skin(np.zeros((0, 3)))
        d_face = shape_distance(box, x1, y1, x2 - x1, y2 - y1, self.shape)
        ring = (d_face >= RING[0]) & (d_face <= RING[1])
        return border_skin(rgb[y1:y2, x1:x2][ring])

    def _cover(self, out: np.ndarray, covers: np.ndarray, i: int) -> None:
        """Replace region i's grown shape (and its soft edge) by a fill from outside every region's shape."""
        h, w = out.shape[:2]
        box = covers[i]
        size = float(max(box[2] - box[0], box[3] - box[1]))
        if size < 1:
            return
        sigma = max(1.5, FILL_SIGMA * size)
        reach = 1.0 + FEATHER
        m = int(np.ceil(2 * sigma + FEATHER * size))
        x1, y1 = max(0, int(np.floor(box[0])) - m), max(0, int(np.floor(box[1])) - m)
        x2, y2 = min(w, int(np.ceil(box[2])) + m), min(h, int(np.ceil(box[3])) + m)
        if x2 <= x1 or y2 <= y1:
            return
        cw, ch = x2 - x1, y2 - y1
        excluded = np.zeros((ch, cw), bool)
        for other in covers:  # no region's own pixels feed any fill
            if other[2] < x1 or other[0] > x2 or other[3] < y1 or other[1] > y2:
                continue
            excluded |= shape_distance(other, x1, y1, cw, ch, self.shape) < reach
        d = shape_distance(box, x1, y1, cw, ch, self.shape)
        weight = cover_weight(d - FEATHER, FEATHER)[..., None]  # 1 up to the shape, soft edge outside it
        crop = out[y1:y2, x1:x2]
        fill = fill_from_surroundings(crop, excluded, sigma)
        out[y1:y2, x1:x2] = np.clip(weight * fill + (1 - weight) * crop, 0, 255).astype(np.uint8)

    def _decide(self, track: int, t: float, fit: FaceFit | None, score: float, colour: np.ndarray,
                detected: bool = True, size: float = np.inf) -> tuple[FaceFit | None, np.ndarray]:
        """(fit to draw or None, smoothed colour) for one region, updating its track's state.

        Only detected regions add evidence: a held region repeats its track's last landmarks.
        """
        evidence = 1.0 if fit is not None and fit.plausible and score >= self.min_score else 0.0
        if size < self.min_face:
            evidence = 0.0
        state = self._tracks.get(track) if track >= 0 else None
        if state is None or state.evidence < 0:  # first sight of this face
            fresh = _TrackState(t=t, colour=colour, evidence=evidence, drawn=evidence >= ON,
                                yaw=fit.yaw if fit is not None else None, t_evidence=t)
            if state is not None:
                fresh.sizes = state.sizes
            state = fresh
            if track >= 0:
                self._tracks[track] = state
        else:
            a_c = 1.0 - float(np.exp(-max(0.0, t - state.t) / COLOUR_TAU))
            state.colour = a_c * colour + (1 - a_c) * state.colour
            state.t = t
            if detected:
                a_e = 1.0 - float(np.exp(-max(0.0, t - state.t_evidence) / EVIDENCE_TAU))
                state.evidence = a_e * evidence + (1 - a_e) * state.evidence
                state.drawn = state.evidence >= (OFF if state.drawn else ON)
                state.t_evidence = t
            if fit is not None:
                state.yaw = fit.yaw
        if not state.drawn or fit is None or abs(fit.yaw) > 60.0 or not np.isfinite(fit.scale):
            return None, state.colour
        return fit, state.colour

    def _steady(self, covers: np.ndarray, tracks: np.ndarray, t: float) -> np.ndarray:
        """Cover shapes that do not pulse: each track's cover keeps the largest half-size of the
        last SIZE_WINDOW seconds (the tracker grows held boxes by 25 %, detected ones are not)."""
        out = covers.copy()
        for i, track in enumerate(int(v) for v in tracks):
            if track < 0:
                continue
            state = self._tracks.setdefault(track, _TrackState(t=t, colour=np.zeros(3, np.float32), evidence=-1.0,
                                                               drawn=False, yaw=None))
            half = (covers[i, 2:] - covers[i, :2]) / 2
            state.sizes = [(ts, hs) for ts, hs in state.sizes if t - ts <= SIZE_WINDOW] + [(t, half)]
            big = np.max([hs for _, hs in state.sizes], axis=0)
            c = (covers[i, :2] + covers[i, 2:]) / 2
            out[i] = np.concatenate([c - big, c + big])
        return out

    def _prefer_yaw(self, track: int) -> float | None:
        state = self._tracks.get(track) if track >= 0 else None
        return None if state is None else state.yaw

    def _draw(self, out: np.ndarray, fit: FaceFit, colour: np.ndarray) -> None:
        """Paint the synthetic face at ``fit`` into ``out`` (in place), blended at its silhouette."""
        h, w = out.shape[:2]
        tw = _template_width(fit.width)
        tpl = face_template(float(fit.yaw), tw)
        m = fit.matrix_for(tw)
        th, tw_ = tpl.alpha.shape
        corners = np.array([[0, 0], [tw_, 0], [0, th], [tw_, th]], np.float64) @ m[:, :2].T + m[:, 2]
        x1, y1 = max(0, int(np.floor(corners[:, 0].min()))), max(0, int(np.floor(corners[:, 1].min())))
        x2, y2 = min(w, int(np.ceil(corners[:, 0].max()))), min(h, int(np.ceil(corners[:, 1].max())))
        if x2 <= x1 or y2 <= y1:
            return
        local = m.copy()
        local[:, 2] -= (x1, y1)
        size = (x2 - x1, y2 - y1)
        face = cv2.warpAffine(tpl.colored(colour), local, size, flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        alpha = cv2.warpAffine(np.ascontiguousarray(tpl.alpha), local, size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)[..., None]
        crop = out[y1:y2, x1:x2].astype(np.float32)
        out[y1:y2, x1:x2] = np.clip(alpha * face + (1 - alpha) * crop, 0, 255).astype(np.uint8)

    def _forget(self, t: float) -> None:
        for track in [k for k, s in self._tracks.items() if t - s.t > FORGET]:
            del self._tracks[track]


def _detected_size(box: np.ndarray, source: str) -> float:
    """Longer side (px) of the face as its detector boxed it (held boxes are grown by the tracker)."""
    from anonymotion.track.regions import HELD, HELD_SCALE

    size = float(max(box[2] - box[0], box[3] - box[1]))
    return size / HELD_SCALE if source == HELD else size


def _grown(boxes: np.ndarray, scale: float) -> np.ndarray:
    """(N, 4) boxes grown about their centres by ``scale`` (not clipped: shapes may leave the frame)."""
    c = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]) * scale / 2
    return np.concatenate([c - half, c + half], axis=1)


def _template_width(face_width: float) -> int:
    """The smallest rendered canvas width at least as wide as the canvas around a face ``face_width`` px wide."""
    for w in TEMPLATE_WIDTHS:
        if w >= face_width * EXTENT:
            return w
    return TEMPLATE_WIDTHS[-1]
