"""Privacy audit: prove that nothing recognisable or identifying survived an anonymization.

``audit(original, anonymized)`` streams both videos frame by frame (matched by index). On
the original, a face finder independent of the anonymizer by construction and stricter
than it (:mod:`anonymotion.audit.finder`: always a detector family the anonymizer did not
use, read from the output's manifest) finds the faces; each face-frame is judged by the
identity-bearing detail left in the anonymized video (:mod:`anonymotion.audit.coverage`:
SSIM and detail left, faces without identifiable detail in the original reported apart).
A face that leaked counts only if a closer look at it finds a face
(:mod:`anonymotion.audit.close_look`: the face alone, enlarged to 64 px, in at least one leaked
frame of its track); the rest are reported apart as "not-verified". The finder then looks for
faces still in the anonymized video, and the anonymized file's metadata is scanned (:mod:`anonymotion.audit.metadata`). ``audit(anonymized)`` alone does
the last two.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.audit.close_look import CloseLook, unverified_tracks
from anonymotion.audit.coverage import FAILING_RESIDUAL, NOT_VERIFIED, ONE_FRAME, DetailLimits, ResidualContext, \
    classify_residual, judge_face, one_frame_tracks
from anonymotion.audit.detail import grey
from anonymotion.audit.faces import FaceCheck, FaceTracker, global_shift
from anonymotion.audit.finder import THRESHOLD_FACTOR, AuditFinder, DetectorSetup, Found, anonymizer_setup, \
    audit_members
from anonymotion.audit.frames import pairs, write_crop
from anonymotion.audit.metadata import scan_metadata
from anonymotion.audit.report import EXIT_CODES, EXIT_ERROR, EXIT_FAIL, EXIT_PASS, AuditResult, ResidualFace, write_json
from anonymotion.detect.boxes import box_sizes
from anonymotion.errors import ConfigError, InputError

__all__ = ["audit", "AuditSettings", "AuditResult", "make_audit_finder", "EXIT_PASS", "EXIT_FAIL", "EXIT_ERROR",
           "EXIT_CODES", "report_path", "DetectorSetup", "DetailLimits"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class AuditSettings:
    """How the audit looks and judges.

    anonymized_with: the detector spec the output was anonymized with ("centerface",
    "centerface,yunet" ...), overriding its manifest; "unknown" = assume nothing; None = read
    the manifest beside the anonymized video. threshold_factor: the audit's score thresholds
    are this share of the anonymizer's (< 1: stricter). limits: the coverage rule.
    """

    anonymized_with: str | None = None
    threshold_factor: float = THRESHOLD_FACTOR
    limits: DetailLimits = field(default_factory=DetailLimits)

    def validated(self) -> "AuditSettings":
        if not 0.0 < self.threshold_factor < 1.0:
            raise ConfigError(None, f"audit threshold_factor must be in (0, 1): the audit must be stricter than "
                                    f"the anonymizer, not {self.threshold_factor}")
        self.limits.validated()
        if self.anonymized_with not in (None, "unknown"):
            try:
                DetectorSetup.parse(self.anonymized_with)
            except ValueError as exc:
                raise ConfigError(None, f"--anonymized-with: {exc}") from None
        return self

    def setup_for(self, anonymized: Path) -> DetectorSetup:
        """What ``anonymized`` was made with: the override, else its manifest, else unknown."""
        if self.anonymized_with == "unknown":
            return DetectorSetup()
        if self.anonymized_with is not None:
            return DetectorSetup.parse(self.anonymized_with)
        return anonymizer_setup(anonymized)


def make_audit_finder(setup: DetectorSetup | None = None, settings: AuditSettings | None = None) -> AuditFinder:
    """The audit's face finder for an output anonymized with ``setup`` (None = unknown origin)."""
    settings = (settings or AuditSettings()).validated()
    setup = setup or DetectorSetup()
    return AuditFinder(setup, audit_members(setup, settings.threshold_factor))


def report_path(anonymized: Path, out_dir: Path | None = None) -> Path:
    """Where the audit JSON of ``anonymized`` goes: ``<out_dir or its folder>/<stem>.audit.json``."""
    anonymized = Path(anonymized)
    return Path(out_dir or anonymized.parent) / f"{anonymized.stem}.audit.json"


def _find(finder: Any, rgb: np.ndarray) -> Found:
    """Candidates and confirmed faces from the audit finder, or from any ``detect(rgb)`` object (all confirmed)."""
    if hasattr(finder, "find"):
        return finder.find(rgb)
    regions = finder.detect(rgb)
    return Found(regions, np.ones(len(regions), bool))


def audit(
    original: str | os.PathLike,
    anonymized: str | os.PathLike | None = None,
    *,
    out_dir: str | os.PathLike | None = None,
    json_path: str | os.PathLike | None = None,
    progress: Progress | None = None,
    max_frames: int | None = None,
    leak_crops: str | os.PathLike | None = None,
    allow_audio: bool = False,
    settings: AuditSettings | None = None,
    detector: Any | None = None,
    anonymizer: DetectorSetup | None = None,
) -> AuditResult:
    """Audit an anonymized video against its original, or an anonymized video alone.

    ``audit(original, anonymized)``: face coverage + residual faces + metadata.
    ``audit(anonymized)`` (second argument omitted): residual faces + metadata only.

    out_dir: write ``<anonymized stem>.audit.json`` there; json_path: exact JSON path
    (wins over out_dir); neither: nothing is written. progress(done, total) is called
    per frame. max_frames: audit only the first N frames. leak_crops: folder to write a
    PNG crop of every leaked face-frame (never written otherwise: they show faces).
    allow_audio: accept an audio stream in the output. detector: an :class:`AuditFinder`
    (or any object with ``detect(rgb) -> Regions``, all of whose boxes count as faces)
    replacing the finder built from the manifest. anonymizer: what the output was anonymized
    with (wins over ``settings.anonymized_with`` and the manifest).
    Raises InputError (unreadable files, frame count/size mismatch), ConfigError, OutputError.
    """
    settings = (settings or AuditSettings()).validated()
    limits = settings.limits
    if anonymized is None:
        orig_path, anon_path = None, Path(original)
    else:
        orig_path, anon_path = Path(original), Path(anonymized)
    if max_frames is not None and max_frames < 1:
        raise ConfigError(None, f"max_frames must be >= 1, not {max_frames}")
    crops_dir = Path(leak_crops) if leak_crops is not None else None
    if crops_dir is not None and orig_path is None:
        raise ConfigError(crops_dir, "leak crops need the original video (audit ORIGINAL ANONYMIZED)")

    from anonymotion.io.video import probe

    anon_info = probe(anon_path)
    orig_info = probe(orig_path) if orig_path is not None else None
    if orig_info is not None:
        if anon_info.width < orig_info.width or anon_info.height < orig_info.height or \
                anon_info.width > orig_info.width + 1 or anon_info.height > orig_info.height + 1:
            raise InputError(anon_path, f"frame size {anon_info.width}x{anon_info.height} does not match the "
                                        f"original's {orig_info.width}x{orig_info.height}; cannot compare them")
    metadata = scan_metadata(anon_path, allow_audio=allow_audio)

    own = detector is None
    setup = anonymizer if anonymizer is not None else settings.setup_for(anon_path)
    finder = make_audit_finder(setup, settings) if own else detector
    members = getattr(getattr(finder, "finder", finder), "members", None)
    look = CloseLook(members) if members else None
    result = AuditResult(original=orig_path, anonymized=anon_path, frames=0,
                         fps=(orig_info or anon_info).fps, settings=_settings_doc(settings, finder, look),
                         metadata=metadata)
    total = (orig_info or anon_info).frame_count
    if max_frames:
        total = min(total, max_frames) if total else max_frames
    tracker, residual_tracker = FaceTracker(), FaceTracker()
    previous: np.ndarray | None = None
    from anonymotion.io.damage import DecodeDamage

    damage = DecodeDamage()
    try:
        for orig, anon in pairs(orig_path, orig_info, anon_path, anon_info, max_frames, damage):
            base = orig if orig is not None else anon
            h, w = base.rgb.shape[:2]
            anon_rgb = np.ascontiguousarray(anon.rgb[:h, :w])
            g_orig = g_anon = None
            originals: list[tuple[np.ndarray, str]] = []
            if orig is not None:
                found = _find(finder, orig.rgb)
                faces = found.faces
                result.unconfirmed += int((~found.confirmed).sum())
                for i in np.flatnonzero(~found.confirmed):
                    originals.append((found.regions.boxes[i].astype(np.float64), "unconfirmed"))
                shift = global_shift(previous, orig.rgb) if previous is not None and len(faces) else None
                previous = orig.rgb
                ids = tracker.update(orig.index, faces.boxes, shift)
                if len(faces):
                    g_orig, g_anon = grey(orig.rgb), grey(anon_rgb)
                sizes = box_sizes(faces.boxes)
                for i in range(len(faces)):
                    j = judge_face(g_orig, g_anon, faces.boxes[i], limits)
                    check = FaceCheck(frame=orig.index, t=orig.t, box=tuple(float(v) for v in faces.boxes[i]),  # type: ignore[arg-type]
                                      size=float(sizes[i]), score=float(faces.scores[i]), source=faces.sources[i],
                                      track=int(ids[i]), status=j.status, reason=j.reason, ssim=j.ssim,
                                      detail=j.detail, fine=j.fine, blockiness=j.blockiness)
                    if check.leaked and look is not None:
                        seen = look.look(orig.rgb, faces.boxes[i])
                        check = replace(check, verified=seen.verified, look_score=seen.score)
                    result.checks.append(check)
                    originals.append((faces.boxes[i].astype(np.float64), check.status))
                    if check.leaked and crops_dir is not None:
                        result.crops.append(write_crop(crops_dir, anon_rgb, check))
            residual = _find(finder, anon_rgb).faces
            if len(residual):
                g_anon = g_anon if g_anon is not None else grey(anon_rgb)
                if orig is not None and g_orig is None:
                    g_orig = grey(orig.rgb)
                rsizes = box_sizes(residual.boxes)
                rtracks = residual_tracker.update(anon.index, residual.boxes)
                for i in range(len(residual)):
                    ctx = ResidualContext(box=residual.boxes[i].astype(np.float64), anon=g_anon, orig=g_orig,
                                          originals=originals, limits=limits)
                    label = classify_residual(ctx)
                    verified = look.look(anon_rgb, residual.boxes[i]).verified \
                        if look is not None and label in FAILING_RESIDUAL else None
                    result.residual.append(ResidualFace(
                        frame=anon.index, t=base.t, box=tuple(float(v) for v in residual.boxes[i]),  # type: ignore
                        size=float(rsizes[i]), score=float(residual.scores[i]), source=residual.sources[i],
                        label=label, ssim=ctx.measures.get("ssim"), detail=ctx.measures.get("detail"),
                        track=int(rtracks[i]), verified=verified))
            result.frames += 1
            if progress is not None:
                progress(result.frames, total)
    finally:
        if own:
            finder.close()
        if look is not None:
            look.close()
    result.original_damaged = damage.count
    _set_aside(result, one_frame_tracks([c.track for c in result.checks if c.judged], result.frames), ONE_FRAME)
    _relabel_failing(result, one_frame_tracks([r.track for r in result.residual if r.failing], result.frames),
                     ONE_FRAME)
    if look is not None:
        _set_aside(result, unverified_tracks([(c.track, c.verified) for c in result.checks if c.leaked]), NOT_VERIFIED,
                   only_leaked=True)
        _relabel_failing(result, unverified_tracks([(r.track, r.verified) for r in result.residual if r.failing]),
                         NOT_VERIFIED)
    target = Path(json_path) if json_path is not None else (report_path(anon_path, Path(out_dir))
                                                             if out_dir is not None else None)
    if target is not None:
        result.json_path = target
        write_json(result.to_json(), target)
    log.info("audit of %s: %s (%s)", anon_path, result.verdict, "; ".join(result.reasons) or "nothing found")
    return result


def _set_aside(result: AuditResult, tracks: set[int], status: str, only_leaked: bool = False) -> None:
    """Mark the judged (``only_leaked``: leaked) face-frames of ``tracks`` ``status`` ("one-frame":
    identifiable in one frame only; "not-verified": no face up close), reason = the status they had,
    and the residual faces judged on them; drop their leak crops."""
    from anonymotion.detect.faces import same_face

    if not tracks:
        return
    marked: dict[int, list[tuple[float, ...]]] = {}
    checks = []
    for c in result.checks:
        if c.track in tracks and (c.leaked if only_leaked else c.judged):
            marked.setdefault(c.frame, []).append(c.box)
            c = replace(c, status=status, reason=c.status)
        checks.append(c)
    result.checks = checks
    leaked = {f"leak_f{c.frame:06d}_face{c.track:04d}.png" for c in checks if c.leaked}
    for crop in [p for p in result.crops if p.name not in leaked]:  # no longer a leak: no crop of it
        crop.unlink(missing_ok=True)
    result.crops = [p for p in result.crops if p.name in leaked]
    residual = []
    for r in result.residual:
        boxes = marked.get(r.frame)
        if boxes and r.label in ("leaked-face", "on-covered-face") and \
                same_face(np.asarray([r.box]), np.asarray(boxes)).any():
            r = replace(r, label=status)
        residual.append(r)
    result.residual = residual


def _relabel_failing(result: AuditResult, tracks: set[int], label: str) -> None:
    """Give the failing residual faces of ``tracks`` ``label`` (so they no longer fail)."""
    result.residual = [replace(r, label=label) if r.failing and r.track in tracks else r for r in result.residual]


def _settings_doc(settings: AuditSettings, finder: Any, look: CloseLook | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"threshold_factor": settings.threshold_factor, "limits": asdict(settings.limits)}
    if hasattr(finder, "describe"):
        doc.update(finder.describe())
    else:
        doc["detectors"] = [{"family": getattr(finder, "name", type(finder).__name__)}]
    doc["close_look"] = look.describe() if look is not None else None
    doc["coverage_rule"] = (f"a face with identifiable detail (>= {settings.limits.min_face:g} px, fine detail >= "
                            f"{settings.limits.fine:g}, blockiness < {settings.limits.blocky:g}) is covered when, on "
                            f"the central {settings.limits.core:.0%} of its box, SSIM < {settings.limits.ssim:g} and "
                            f"detail left < {settings.limits.detail:g}")
    return doc
