"""One synthetic, identity-free face, drawn procedurally and turned to a given yaw.

The face is not derived from anybody: a neutral head (an ellipsoid with a nose bump and a
brow ridge) carries a painted texture (eye sockets, eyes with iris and pupil, brows, a nose
with nostrils, lips and a mouth line) defined once, in constants, in face coordinates. It is
lit from the front and above, so it has the soft shading detectors expect of a real face.
:func:`face_template` renders it turned by ``yaw`` degrees about the vertical axis
(positive: the face turns to the image's right) at a given resolution; the result depends
on nothing else, so every person gets exactly the same pixels before colour and placement.

Units: "face units" are half the face's width; the face spans u in [-1, 1] across and v in
[-1.25, 1.25] down (the aspect of a CenterFace box, width/height ~0.8). The canvas covers
u, v in [-EXTENT, EXTENT] x [-EXTENT * 1.25, EXTENT * 1.25] with square pixels.

A template has four layers (all (H, W) or (H, W, 3) float32): ``shade`` (lighting, 0..1),
``skin`` (1 where the skin colour shows, 0 on eyes, brows, lips), ``paint`` (RGB 0..1 of the
non-skin parts, for a reference skin of luma :data:`REFERENCE_LUMA`), ``alpha`` (coverage,
soft at the silhouette); ``landmarks`` (5, 2) px are its eyes, nose tip and mouth corners in
image order, as CenterFace reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

ASPECT = 1.25  # face height / width
EXTENT = 1.4  # canvas half-width in face units (room for the hair and the soft edge)
DEPTH = 1.0  # head ellipsoid depth semi-axis, face units
REFERENCE_LUMA = 0.62  # luma (0..1) of the skin the paint colours were chosen for
LIGHT = np.array([0.0, -0.45, 1.0]) / np.linalg.norm([0.0, -0.45, 1.0])  # camera frame, y down
AMBIENT = 0.42
SHADE_REF = 0.88  # shade of a cheek facing the camera: there the face shows the measured skin colour
OVERSAMPLE = 2.5  # texture samples per canvas pixel and axis (forward splatting leaves no holes)

# The five landmarks on the frontal face (u, v), face units; depth comes from the surface.
EYES = ((-0.43, -0.27), (0.43, -0.27))
NOSE_TIP = (0.0, 0.27)
MOUTH = ((-0.34, 0.63), (0.34, 0.63))

SCLERA = (0.86, 0.84, 0.82)
IRIS = (0.28, 0.22, 0.19)
PUPIL = (0.05, 0.05, 0.05)
BROW = (0.22, 0.17, 0.14)
LIP = (0.62, 0.36, 0.34)
MOUTH_LINE = (0.25, 0.12, 0.12)
NOSTRIL = (0.18, 0.10, 0.09)
HAIR = (0.24, 0.19, 0.16)
# The skull (the hair's surface): an ellipsoid behind the face, semi-axes and centre, face units.
SKULL_AXES = (1.14, 1.36, 1.08)
SKULL_CENTRE = (0.0, -0.12, -0.2)


@dataclass(frozen=True)
class FaceTemplate:
    """The synthetic face at one yaw and resolution (layers as described in the module docstring)."""

    yaw: float  # degrees
    shade: np.ndarray  # (H, W) float32 lighting 0..1
    skin: np.ndarray  # (H, W) float32 share of skin colour
    paint: np.ndarray  # (H, W, 3) float32 RGB 0..1 of the non-skin parts
    alpha: np.ndarray  # (H, W) float32 coverage 0..1
    landmarks: np.ndarray  # (5, 2) float32 px in the canvas: eyes, nose tip, mouth corners (image order)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the canvas in px."""
        return self.alpha.shape[1], self.alpha.shape[0]

    def colored(self, skin_rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) float32 RGB 0..255 of the face painted for a skin of colour ``skin_rgb`` (3,) 0..255.

        The non-skin parts keep their hue and follow the skin's brightness, so the face sits in
        a dark or a bright scene alike.
        """
        skin = np.asarray(skin_rgb, np.float32).reshape(3) / 255.0
        luma = float(skin @ np.array([0.299, 0.587, 0.114], np.float32))
        k = np.clip(luma / REFERENCE_LUMA, 0.35, 1.4)
        base = self.skin[..., None] * skin + (1.0 - self.skin[..., None]) * np.clip(self.paint * k, 0.0, 1.0)
        return np.clip(base * (self.shade[..., None] / SHADE_REF) * 255.0, 0.0, 255.0).astype(np.float32)


def surface_depth(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Depth z (face units, towards the camera) of the frontal face at (u, v); NaN outside the head.

    Head ellipsoid (1, ASPECT, DEPTH) plus a nose bump (tip at NOSE_TIP), a brow ridge and a
    slightly flattened cheek area, all smooth.
    """
    r = 1.0 - u ** 2 - (v / ASPECT) ** 2
    z = DEPTH * np.sqrt(np.clip(r, 0.0, None))
    nose = 0.30 * np.exp(-(u / 0.13) ** 2 - ((v - 0.12) / 0.26) ** 2) * np.clip((v + 0.25) / 0.3, 0.0, 1.0)
    brow = 0.06 * np.exp(-((v + 0.42) / 0.1) ** 2) * np.exp(-(np.abs(u) - 0.42) ** 2 / 0.08)
    sockets = -0.07 * sum(np.exp(-((u - ex) / 0.2) ** 2 - ((v - ey) / 0.12) ** 2) for ex, ey in EYES)
    z = z + nose + brow + sockets
    return np.where(r > 0, z, np.nan)


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def texture(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Painted parts of the frontal face at (u, v): (skin share (N,), paint RGB (N, 3)), 0..1.

    Eyes (sclera, iris, pupil, a dark upper lid), brows, nostrils, lips and a mouth line;
    skin elsewhere. A constant drawing: nothing here depends on any input image.
    """
    skin = np.ones_like(u)
    premult = np.zeros(u.shape + (3,), np.float64)  # paint colour x its share

    def over(weight: np.ndarray, rgb: tuple[float, float, float]) -> None:
        """Paint ``rgb`` with coverage ``weight`` over whatever is there (skin or paint)."""
        w = np.clip(weight, 0.0, 1.0)[..., None]
        premult[:] = premult * (1 - w) + np.asarray(rgb) * w
        skin[:] = skin * (1 - w[..., 0])

    put = layer = over
    soft = 0.018
    hairline = v - (-0.93 - 0.12 * u ** 2 + 0.05 * np.cos(np.pi * u))  # a gently arched hairline
    over(_smoothstep(0.03, -0.03, hairline), HAIR)
    for ex, ey in EYES:
        du, dv = u - ex, v - ey
        # almond: the eye opening, a lens between two arcs
        lens = 1.0 - (du / 0.17) ** 2 - (dv / 0.065) ** 2 * (1.0 + 0.6 * np.sign(dv))
        put(_smoothstep(-soft * 6, soft * 6, lens), SCLERA)
        iris = 0.072 - np.hypot(du, dv + 0.005)
        layer(_smoothstep(-soft, soft, iris) * _smoothstep(-0.1, 0.1, lens), IRIS)
        pupil = 0.03 - np.hypot(du, dv + 0.005)
        layer(_smoothstep(-soft, soft, pupil) * _smoothstep(-0.1, 0.1, lens), PUPIL)
        lid = np.exp(-((dv + 0.062 * np.sqrt(np.clip(1 - (du / 0.19) ** 2, 0, 1))) / 0.018) ** 2)
        layer(0.85 * lid * _smoothstep(0.2, 0.17, np.abs(du)), BROW)
        # brow: an arc above the eye, thicker towards the nose
        bu = du * np.sign(ex)
        arc = v - (ey - 0.19 - 0.05 * (1 - (bu / 0.2) ** 2))
        thick = 0.045 - 0.015 * (bu + 0.2) / 0.45
        brow = _smoothstep(thick, thick - 0.02, np.abs(arc)) * _smoothstep(-0.24, -0.17, bu) * _smoothstep(0.27, 0.2, bu)
        put(0.9 * brow, BROW)
    nx, ny = NOSE_TIP
    for side in (-1.0, 1.0):
        nostril = 1.0 - ((u - side * 0.075) / 0.05) ** 2 - ((v - ny - 0.06) / 0.025) ** 2
        put(0.85 * _smoothstep(-0.3, 0.3, nostril), NOSTRIL)
    mx, my = MOUTH[1]
    du, dv = u / mx, v - my
    curve = 0.025 * (du ** 2)  # corners a little up: a neutral, relaxed mouth
    upper = _smoothstep(0.0, 0.15, 1 - du ** 2) * _smoothstep(-0.06, -0.045, dv + curve) * _smoothstep(0.01, 0.0, dv + curve)
    lower = _smoothstep(0.0, 0.25, 1 - du ** 2) * _smoothstep(0.0, 0.01, dv + curve) * _smoothstep(0.075, 0.05, dv + curve)
    put(0.75 * (upper + lower), LIP)
    line = np.exp(-((dv + curve) / 0.012) ** 2) * _smoothstep(1.05, 0.95, np.abs(du))
    layer(0.9 * line, MOUTH_LINE)
    paint = premult / np.maximum(1.0 - skin, 1e-6)[..., None]
    return skin.astype(np.float32), np.clip(paint, 0.0, 1.0).astype(np.float32)


def landmarks_3d() -> np.ndarray:
    """(5, 3) the frontal face's landmarks (u, v, depth) in face units, image order."""
    pts = np.array([*EYES, NOSE_TIP, *MOUTH], np.float64)
    z = surface_depth(pts[:, 0], pts[:, 1])
    z[2] = z[2] + 0.02  # the tip stands a little proud of the bump's sampled centre
    return np.column_stack([pts, z])


def rotate_yaw(points: np.ndarray, yaw: float) -> np.ndarray:
    """Rotate (N, 3) face-unit points (x right, y down, z towards the camera) by ``yaw`` degrees
    about the vertical axis; positive yaw turns the face's front towards the image's right."""
    a = np.radians(yaw)
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    return np.column_stack([x * np.cos(a) + z * np.sin(a), y, -x * np.sin(a) + z * np.cos(a)])


def canvas_size(width: int) -> tuple[int, int]:
    """(width, height) px of a canvas ``width`` px wide."""
    return int(width), int(round(width * ASPECT))


def to_canvas(points: np.ndarray, width: int) -> np.ndarray:
    """(N, 2) face-unit x, y -> canvas px for a canvas ``width`` px wide."""
    w, h = canvas_size(width)
    scale = w / (2 * EXTENT)
    return np.column_stack([(points[:, 0] + EXTENT) * scale, (points[:, 1] + EXTENT * ASPECT) * scale])


def template_landmarks(yaw: float, width: int) -> np.ndarray:
    """(5, 2) float32 canvas px of the landmarks of the face turned by ``yaw`` degrees."""
    return to_canvas(rotate_yaw(landmarks_3d(), yaw), width).astype(np.float32)


@lru_cache(maxsize=4)
def _samples(width: int) -> tuple[np.ndarray, ...]:
    """The textured front half of the head sampled for a canvas ``width`` px wide (any yaw).

    Uniform in angle so the rim is as dense as the centre (a turned face shows its rim
    face-on), about OVERSAMPLE samples per canvas pixel. Returns points (N, 3) face units,
    normals (N, 3), skin share (N,), paint (N, 3).
    """
    w, _ = canvas_size(width)
    per_unit = w * OVERSAMPLE / (2 * EXTENT)
    phi = np.linspace(-np.pi / 2, np.pi / 2, int(np.pi / 2 * per_unit) + 1)
    lam = np.linspace(-np.pi / 2, np.pi / 2, int(np.pi / 2 * ASPECT * per_unit) + 1)
    phi, lam = np.meshgrid(phi, lam)
    u, v = np.sin(phi) * np.cos(lam), ASPECT * np.sin(lam)
    z = np.nan_to_num(surface_depth(u, v), nan=0.0)
    z = np.maximum(z, DEPTH * np.cos(phi) * np.cos(lam))  # the rim itself: the bare ellipsoid
    pos = np.stack([u, v, z], axis=-1)
    normals = np.cross(np.gradient(pos, axis=1), np.gradient(pos, axis=0)).reshape(-1, 3)
    # the nose's flanks face a turned camera almost head-on: sample them four times as densely
    step = 1.0 / (4 * per_unit)
    nu, nv = np.meshgrid(np.arange(-0.3, 0.3, step), np.arange(-0.3, 0.45, step))
    nz = surface_depth(nu, nv)
    npos = np.stack([nu, nv, nz], axis=-1)
    nnorm = np.cross(np.gradient(npos, axis=1), np.gradient(npos, axis=0)).reshape(-1, 3)
    # the skull, all round (a turned head shows its back), hair-coloured; in front only above the ears
    phi = np.linspace(-np.pi, np.pi, int(np.pi * per_unit * 1.1) + 1)
    lam = np.linspace(-np.pi / 2, np.pi / 2, int(np.pi / 2 * ASPECT * per_unit * 1.1) + 1)
    phi, lam = np.meshgrid(phi, lam)
    (ax, ay, az), (cx, cy, cz) = SKULL_AXES, SKULL_CENTRE
    spos = np.stack([cx + ax * np.sin(phi) * np.cos(lam), cy + ay * np.sin(lam),
                     cz + az * np.cos(phi) * np.cos(lam)], axis=-1)
    snorm = np.stack([np.sin(phi) * np.cos(lam) / ax, np.sin(lam) / ay, np.cos(phi) * np.cos(lam) / az],
                     axis=-1).reshape(-1, 3)
    spos = spos.reshape(-1, 3)
    keep = (spos[:, 1] < 0.05 + 0.6 * np.clip(-spos[:, 2], 0.0, None))  # hair down to the nape at the back
    spos, snorm = spos[keep], snorm[keep]
    pos = np.concatenate([pos.reshape(-1, 3), npos.reshape(-1, 3)])
    normals = np.concatenate([normals, nnorm])
    skin, paint = texture(pos[:, 0], pos[:, 1])
    pos = np.concatenate([pos, spos])
    normals = np.concatenate([normals, snorm])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    skin = np.concatenate([skin, np.zeros(len(spos), np.float32)])
    paint = np.concatenate([paint, np.tile(np.asarray(HAIR, np.float32), (len(spos), 1))])
    return pos, normals, skin, paint


@lru_cache(maxsize=64)
def face_template(yaw: float, width: int = 128) -> FaceTemplate:
    """The synthetic face turned by ``yaw`` degrees (|yaw| <= 90) on a canvas ``width`` px wide.

    Rendered by forward splatting of the textured surface (nearest sample wins), lit by
    LIGHT, edges softened by about a pixel. Cached: the same (yaw, width) always returns
    the same arrays, shared read-only.
    """
    import cv2

    if not -90.0 <= yaw <= 90.0:
        raise ValueError(f"yaw must be within [-90, 90] degrees, got {yaw}")
    if width < 16:
        raise ValueError(f"template width must be at least 16 px, got {width}")
    w, h = canvas_size(width)
    points, normals, skin, paint = _samples(w)
    pts = rotate_yaw(points, yaw)
    light = AMBIENT + (1 - AMBIENT) * np.clip(rotate_yaw(normals, yaw) @ LIGHT, 0.0, 1.0)
    xy = to_canvas(pts, w)
    px = np.floor(xy[:, 0]).astype(np.int64)
    py = np.floor(xy[:, 1]).astype(np.int64)
    ok = np.flatnonzero((px >= 0) & (px < w) & (py >= 0) & (py < h))
    flat = py[ok] * w + px[ok]
    order = np.lexsort((-pts[ok, 2], flat))  # per pixel, the nearest sample first
    first = np.ones(len(order), bool)
    first[1:] = flat[order][1:] != flat[order][:-1]
    pick = ok[order[first]]
    idx = flat[order[first]]
    shade = np.zeros(h * w, np.float32)
    skin_l = np.ones(h * w, np.float32)
    paint_l = np.zeros((h * w, 3), np.float32)
    alpha = np.zeros(h * w, np.float32)
    shade[idx] = light[pick]
    skin_l[idx] = skin[pick]
    paint_l[idx] = paint[pick]
    alpha[idx] = 1.0
    shade, skin_l, alpha = shade.reshape(h, w), skin_l.reshape(h, w), alpha.reshape(h, w)
    paint_l = np.ascontiguousarray(paint_l.reshape(h, w, 3))
    # holes between samples (where the nose's sides are seen face-on) take their neighbours' values
    covered = alpha > 0
    kernel = np.ones((3, 3), np.uint8)
    for _ in range(2):
        holes = (cv2.morphologyEx(covered.astype(np.uint8), cv2.MORPH_CLOSE, kernel) > 0) & ~covered
        if not holes.any():
            break
        weight = cv2.blur(covered.astype(np.float32), (3, 3))
        for layer in (shade, skin_l, *np.moveaxis(paint_l, 2, 0)):
            mean = cv2.blur(layer * covered, (3, 3)) / np.maximum(weight, 1e-6)
            layer[holes] = mean[holes]
        covered = covered | holes
    alpha = covered.astype(np.float32)
    alpha = cv2.GaussianBlur(alpha, (0, 0), max(0.6, w / 160))
    shade = cv2.GaussianBlur(shade, (0, 0), 0.5)
    for arr in (shade, skin_l, paint_l, alpha):
        arr.setflags(write=False)
    return FaceTemplate(yaw=float(yaw), shade=shade, skin=skin_l, paint=paint_l, alpha=alpha,
                        landmarks=template_landmarks(yaw, w))
