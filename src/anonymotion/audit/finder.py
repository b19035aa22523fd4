"""The audit's face finder: independent of the anonymizer by construction, and stricter than it.

What the output was anonymized with is read from its manifest (``<stem>.manifest.json``
beside it: ``parameters.detector``, ``face_threshold``, ``detect_size``). The finder is a
union of detector *families* that always holds one the anonymizer did not use:

==========================  =====================================================
anonymized with             audit finder
==========================  =====================================================
centerface (-ms)            CenterFace (stricter, enlarged look) + **YuNet**
yunet                       **CenterFace at a larger scale** + YuNet (stricter, enlarged)
centerface,yunet            both, stricter, + **BlazeFace**
blazeface / both            CenterFace + YuNet + BlazeFace (stricter)
all three                   all three, stricter (no family is left: recorded as not independent)
unknown (no manifest)       CenterFace + YuNet
==========================  =====================================================

Every member is *stricter* than the anonymizer's detector of its family (:func:`stricter`):
its score threshold is :data:`THRESHOLD_FACTOR` times the anonymizer's (never below the
family's floor: YuNet reports nothing under 0.2; nor below :data:`NOISE_FLOOR` when its look is
larger than the anonymizer's, unless the anonymizer's own threshold is lower) and it sees the frame at least as large (its
own size, never shrunk; CenterFace adds an enlarged look where small faces are expected,
YuNet is enlarged 1.5x when the anonymizer used it). At least one of the two is strictly so.

A low threshold finds more, including hands, torsos and objects (YuNet at 0.3-0.55 on a red
bin and hands in the lab clip). A candidate therefore *counts as a face* (is confirmed) when
(a) two families find it, or (b) a family the anonymizer used finds it at the frame's own
size with a score that family's anonymizer setting would have accepted (so the audit's faces
include every face the anonymizer's own detector could see), or (c) one family alone finds
it with a confident score (:data:`CONFIDENT`, higher for large boxes: on lab_single/cam01
YuNet scores hands up to 0.72 at 71 px and a torso 0.63-0.78 at 200-300 px, real faces of
40+ px 0.85-0.94). Unconfirmed candidates
are counted and reported, not judged.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.detect.faces import detector_names, merge_regions, source_names
from anonymotion.types import Regions

log = logging.getLogger(__name__)

#: The audit's threshold is this share of the anonymizer's.
THRESHOLD_FACTOR = 0.75
#: Lowest threshold a family can be run at.
FLOOR = {"centerface": 0.05, "yunet": 0.2, "blazeface": 0.1}
#: The audit does not lower a family's threshold below this (unless the anonymizer ran lower):
#: CenterFace's candidates under 0.15 are mostly objects, and enlarged 2x at 0.11 it agreed with
#: YuNet on the red bin of lab_single/cam01 in every frame. At the anonymizer's own threshold the
#: enlarged look still makes the member stricter.
NOISE_FLOOR = {"centerface": 0.15, "yunet": 0.0, "blazeface": 0.0}
#: Enlargement of CenterFace's second look (and of YuNet when the anonymizer used YuNet).
CENTERFACE_UPSCALE, YUNET_UPSCALE = 2.0, 1.5
#: Score one family alone needs for a face (boxes up to 48 px), rising linearly to
#: CONFIDENT_LARGE at 160 px: large faces score high, large weak boxes are torsos.
CONFIDENT = {"centerface": 0.5, "yunet": 0.75, "blazeface": 0.8}
CONFIDENT_LARGE, CONFIDENT_FROM, CONFIDENT_AT = 0.9, 48.0, 160.0
#: Detector name -> family.
FAMILY = {"centerface": "centerface", "centerface-ms": "centerface", "yunet": "yunet", "blazeface": "blazeface"}
FAMILIES = ("centerface", "yunet", "blazeface")


def _default_threshold(family: str) -> float:
    if family == "centerface":
        from anonymotion.detect.centerface import DEFAULT_THRESHOLD
    elif family == "yunet":
        from anonymotion.detect.yunet import DEFAULT_THRESHOLD
    else:
        from anonymotion.detect.blazeface import DEFAULT_THRESHOLD
    return float(DEFAULT_THRESHOLD)


def _default_input_size(family: str) -> int:
    if family == "centerface":
        from anonymotion.detect.centerface import DEFAULT_INPUT_SIZE
    elif family == "yunet":
        from anonymotion.detect.yunet import DEFAULT_INPUT_SIZE
    else:
        return 0
    return int(DEFAULT_INPUT_SIZE)


@dataclass(frozen=True)
class DetectorSetup:
    """The face detector(s) an output was anonymized with.

    names: detector names as configured ("centerface", "yunet", "centerface-ms" ...; empty =
    unknown). threshold / input_size: the configured score threshold and longest side in px
    (None = each detector's default).
    """

    names: tuple[str, ...] = ()
    threshold: float | None = None
    input_size: int | None = None

    @classmethod
    def parse(cls, spec: str | None, threshold: float | None = None, input_size: int | None = None) -> "DetectorSetup":
        """From a detector spec ("centerface,yunet", "both" ...); None or "" = unknown origin."""
        return cls(detector_names(spec) if spec else (), threshold, input_size)

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(f for f in FAMILIES if any(FAMILY[n] == f for n in self.names))

    def threshold_for(self, family: str) -> float:
        """Score threshold the anonymizer's detector of ``family`` used."""
        return float(self.threshold) if self.threshold is not None else _default_threshold(family)

    def scale_for(self, family: str, width: int, height: int) -> float:
        """Largest factor the anonymizer's detector of ``family`` resized a width x height frame by."""
        size = self.input_size if self.input_size is not None else _default_input_size(family)
        s = min(1.0, size / max(width, height)) if size else 1.0
        if family == "centerface" and "centerface-ms" in self.names:
            from anonymotion.detect.multiscale import DEFAULT_UPSCALE

            return max(s, DEFAULT_UPSCALE)  # its enlarged look
        return s

    def describe(self) -> dict[str, Any]:
        return {"detectors": list(self.names) or None, "threshold": self.threshold, "input_size": self.input_size}


def anonymizer_setup(anonymized: str | Path) -> DetectorSetup:
    """What ``anonymized`` was anonymized with, from ``<stem>.manifest.json`` beside it (unknown if absent)."""
    path = Path(anonymized)
    manifest = path.with_name(f"{path.stem}.manifest.json")
    try:
        params = json.loads(manifest.read_text()).get("parameters") or {}
        spec = params.get("detector")
        threshold = params.get("face_threshold", params.get("threshold"))
        return DetectorSetup.parse(spec, threshold, params.get("detect_size"))
    except (OSError, ValueError, AttributeError) as exc:
        log.info("%s: no readable manifest (%s); the audit assumes an unknown anonymizer", manifest, exc)
        return DetectorSetup()


@dataclass(frozen=True)
class Member:
    """One detector of the audit's finder: family, score threshold, input cap (0 = own size), enlargement."""

    family: str
    threshold: float
    input_size: int
    upscale: float

    def scale_for(self, width: int, height: int) -> float:
        """Largest factor this member resizes a width x height frame by.

        CenterFace: its first pass shrinks the frame to the input size, its enlarged look (when
        upscale > 1) is not capped. YuNet: enlarged, then capped by the input size. BlazeFace:
        shrunk to the input size.
        """
        cap = self.input_size / max(width, height) if self.input_size else float("inf")
        if self.family == "centerface":
            return max(min(1.0, cap), self.upscale) if self.upscale > 1 else min(1.0, cap)
        if self.family == "yunet":
            return min(self.upscale, cap)
        return min(1.0, cap)

    def build(self) -> Any:
        if self.family == "centerface":
            from anonymotion.detect.multiscale import MultiScaleCenterFace

            return MultiScaleCenterFace(threshold=self.threshold, input_size=self.input_size, upscale=self.upscale)
        if self.family == "yunet":
            from anonymotion.detect.yunet import YuNetDetector

            return YuNetDetector(threshold=self.threshold, input_size=self.input_size, upscale=self.upscale)
        from anonymotion.detect.blazeface import BlazeFaceDetector

        return BlazeFaceDetector(threshold=self.threshold, input_size=self.input_size)


def audit_members(setup: DetectorSetup, factor: float = THRESHOLD_FACTOR) -> list[Member]:
    """The audit finder's members for an output anonymized with ``setup`` (see the module table)."""
    used = set(setup.families)
    families = ["centerface", "yunet"]
    if "blazeface" in used or {"centerface", "yunet"} <= used:
        families.append("blazeface")
    members = []
    for family in families:
        base = setup.threshold_for(family) if family in used else _default_threshold(family)
        threshold = max(FLOOR[family], round(factor * base, 4))
        anon_scale = setup.scale_for(family, 1, 1) if family in used else 1.0
        if family == "centerface":
            upscale = max(CENTERFACE_UPSCALE, anon_scale)
        elif family == "yunet":
            upscale = YUNET_UPSCALE if family in used else 1.0
        else:
            upscale = 1.0
        if upscale > anon_scale:  # the larger look keeps it stricter at a threshold up to the anonymizer's
            threshold = max(threshold, min(base, NOISE_FLOOR[family]))
        members.append(Member(family, threshold, 0, upscale))
    return members


def stricter(member: Member, setup: DetectorSetup, width: int, height: int) -> bool:
    """True when ``member`` finds at least what the anonymizer's detector of its family would.

    Its threshold is not above the anonymizer's, it sees a ``width`` x ``height`` frame at
    least as large, and at least one of the two is strictly so. A family the anonymizer did
    not use is independent and counts as stricter.
    """
    if member.family not in setup.families:
        return True
    t_anon, t_audit = setup.threshold_for(member.family), member.threshold
    s_anon, s_audit = setup.scale_for(member.family, width, height), member.scale_for(width, height)
    return t_audit <= t_anon and s_audit >= s_anon and (t_audit < t_anon or s_audit > s_anon)


def confident_score(boxes: np.ndarray, family: str) -> np.ndarray:
    """(N,) score one family alone needs for each (N, 4) box to count as a face."""
    size = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    base = CONFIDENT[family]
    ramp = np.clip((size - CONFIDENT_FROM) / (CONFIDENT_AT - CONFIDENT_FROM), 0.0, 1.0)
    return base + ramp * max(0.0, CONFIDENT_LARGE - base)


def anonymizer_score(boxes: np.ndarray, family: str, threshold: float) -> np.ndarray:
    """(N,) score the anonymizer's detector of ``family`` at ``threshold`` needs for each box."""
    if family == "centerface":
        from anonymotion.detect.centerface import size_threshold
    elif family == "yunet":
        from anonymotion.detect.yunet import size_threshold
    else:
        return np.full(len(boxes), threshold, np.float32)
    return size_threshold(boxes, threshold)


@dataclass(frozen=True)
class Found:
    """The finder's answer for one frame: every candidate and which of them count as faces."""

    regions: Regions
    confirmed: np.ndarray  # (N,) bool

    @property
    def faces(self) -> Regions:
        keep = np.flatnonzero(self.confirmed)
        r = self.regions
        return Regions(r.boxes[keep], r.scores[keep], r.track_ids[keep], tuple(r.sources[i] for i in keep),
                       landmarks=None if r.landmarks is None else r.landmarks[keep])


class AuditFinder:
    """The union of the audit's members with the confirmation rule (module docstring).

    setup: what the output was anonymized with. members: default :func:`audit_members`.
    """

    def __init__(self, setup: DetectorSetup, members: list[Member] | None = None) -> None:
        self.setup = setup
        self.members = members if members is not None else audit_members(setup)
        self.independent = any(m.family not in setup.families for m in self.members)
        if not self.independent and set(FAMILIES) - set(setup.families):
            from anonymotion.errors import ConfigError

            raise ConfigError(None, "the audit needs a face detector the anonymizer did not use; "
                                    f"it used {', '.join(setup.names)}")
        if not self.independent:
            log.warning("the output was anonymized with every face detector available (%s): the audit can "
                        "only look with each at stricter settings", ", ".join(setup.names))
        self.detectors = [m.build() for m in self.members]
        self.name = "+".join(m.family for m in self.members)

    def find(self, rgb: np.ndarray) -> Found:
        """Candidates in an (H, W, 3) uint8 RGB frame, merged across members, with the confirmation rule."""
        merged = merge_regions([d.detect(rgb) for d in self.detectors])
        confirmed = np.zeros(len(merged), bool)
        used = set(self.setup.families)
        for i in range(len(merged)):
            names = source_names(merged.sources[i])
            families = {FAMILY.get(n, n) for n in names}
            box = merged.boxes[i:i + 1]
            score = float(merged.scores[i])
            if len(families) >= 2:
                confirmed[i] = True
                continue
            family = next(iter(families))
            native = family in names  # found at the frame's own size (not only by the enlarged look)
            if family in used and native and \
                    score >= anonymizer_score(box, family, self.setup.threshold_for(family))[0]:
                confirmed[i] = True
            elif score >= confident_score(box, family)[0]:
                confirmed[i] = True
        return Found(merged, confirmed)

    def detect(self, rgb: np.ndarray) -> Regions:
        """The faces (confirmed candidates) in ``rgb``."""
        return self.find(rgb).faces

    def describe(self) -> dict[str, Any]:
        """For audit.json: what the output was anonymized with and what the audit looked with."""
        return {"anonymized_with": self.setup.describe(), "independent": self.independent,
                "detectors": [{"family": m.family, "threshold": m.threshold,
                               "input_size": m.input_size or "frame size", "upscale": m.upscale,
                               "used_by_anonymizer": m.family in self.setup.families} for m in self.members],
                "confirmation": "two families agree; or the anonymizer's own family at its threshold at the "
                                "frame's size; or one family alone at a confident score "
                                f"({', '.join(f'{k} {v}' for k, v in CONFIDENT.items())}, "
                                f"rising to {CONFIDENT_LARGE} at {CONFIDENT_AT:.0f} px)"}

    def close(self) -> None:
        for d in self.detectors:
            close = getattr(d, "close", None)
            if callable(close):
                close()


class CachedFinder:
    """An audit finder answering once per frame content: several outputs audited against one
    original (benchmarks, calibration) have the original's frames searched once. Memory grows
    with the distinct frames seen: for short clips and benchmarks, not for the CLI."""

    def __init__(self, finder: AuditFinder) -> None:
        self.finder, self.name = finder, finder.name
        self.cache: dict[bytes, Found] = {}

    def find(self, rgb: np.ndarray) -> Found:
        import hashlib

        key = hashlib.sha1(rgb.tobytes()).digest()
        if key not in self.cache:
            self.cache[key] = self.finder.find(rgb)
        return self.cache[key]

    def describe(self) -> dict[str, Any]:
        return self.finder.describe()

    def close(self) -> None:
        self.finder.close()

