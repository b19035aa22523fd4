"""The audit's result: verdict, JSON document and a readable summary.

Exit codes of ``anonymotion audit`` (see :data:`EXIT_CODES`): 0 pass, 3 fail (something
recognisable or identifying was found), 2 error (bad input, unreadable file: the CLI's
error code).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonymotion.audit.faces import FaceCheck, LeakRun, any_leak_runs, leak_rates, leak_runs
from anonymotion.audit.metadata import MetadataFinding
from anonymotion.io.writer import write_text_atomic

EXIT_PASS = 0
EXIT_ERROR = 2
EXIT_FAIL = 3
EXIT_CODES = {"pass": EXIT_PASS, "fail": EXIT_FAIL, "error": EXIT_ERROR}

#: Leak runs are also reported for faces at least this large (px), the size the
#: benchmark's goal is stated for (no run longer than 2 frames).
LARGE_FACE = 40.0


@dataclass(frozen=True)
class ResidualFace:
    """A face the audit finder still finds in the anonymized video (box in its pixels).

    label: what it is (:mod:`anonymotion.audit.coverage`): "leaked-face" / "on-covered-face" /
    "no-detail" / "unconfirmed-on-original" (the same face as an original face or candidate of
    the frame, judged there: a leak is counted once, detector noise between two near-identical
    images does not count twice), "no-detail" (a blurred head keeps a face shape but no identifiable detail),
    "on-anonymized-area" (the area lost the original's detail), "kept-original-detail" (a face
    the anonymization left, on pixels where the original's look saw a face or candidate too:
    fails), "new-in-output" (on kept pixels where the original's look saw nothing: the detector
    fired on changed surroundings; reported, not failing), "identifiable" (auditing the output alone: a face with
    identifiable detail, fails), "one-frame" (a failing kind seen in one frame only: not
    counted, as for original faces), "not-verified" (a failing kind the close look found no face in, in
    any frame of its track). ssim / detail: of its box against the original, when measured; track:
    the residual face's track id; verified: the close look's answer (failing kinds only).
    """

    frame: int
    t: float
    box: tuple[float, float, float, float]
    size: float
    score: float
    source: str
    label: str
    ssim: float | None = None
    detail: float | None = None
    track: int = -1
    verified: bool | None = None

    @property
    def failing(self) -> bool:
        from anonymotion.audit.coverage import FAILING_RESIDUAL

        return self.label in FAILING_RESIDUAL

    def to_json(self) -> dict:
        return {"frame": self.frame, "t": round(self.t, 4), "box": [round(v, 1) for v in self.box],
                "size": round(self.size, 1), "score": round(self.score, 4), "source": self.source,
                "label": self.label, "track": self.track, "verified": self.verified,
                "ssim": None if self.ssim is None else round(self.ssim, 4),
                "detail": None if self.detail is None else round(self.detail, 4)}


@dataclass
class AuditResult:
    """Everything one audit found.

    checks: every original face-frame found, with its judgement (empty when no original was
    given). unconfirmed: candidates the finder saw but did not confirm as faces (not judged).
    residual: faces found in the anonymized video. metadata: tags/streams left in it.
    verdict: "pass" or "fail"; reasons: why it failed (empty on pass).
    """

    original: Path | None
    anonymized: Path
    frames: int
    fps: float
    settings: dict[str, Any]
    checks: list[FaceCheck] = field(default_factory=list)
    residual: list[ResidualFace] = field(default_factory=list)
    metadata: list[MetadataFinding] = field(default_factory=list)
    json_path: Path | None = None
    crops: list[Path] = field(default_factory=list)
    unconfirmed: int = 0
    original_damaged: int = 0  # frames of the original the decoder flagged damaged or lost

    # --- derived figures -------------------------------------------------------------
    @property
    def leaks(self) -> list[FaceCheck]:
        return [c for c in self.checks if c.leaked]

    @property
    def leak_count(self) -> int:
        """Leaked face-frames (one face in one frame = 1)."""
        return sum(1 for c in self.checks if c.leaked)

    @property
    def leaked_faces(self) -> int:
        """Distinct faces (tracks) leaked in at least one frame."""
        return len({c.track for c in self.checks if c.leaked})

    @property
    def runs(self) -> list[LeakRun]:
        return leak_runs(self.checks)

    @property
    def longest_run(self) -> int:
        runs = self.runs
        return runs[0].length if runs else 0

    @property
    def failing_residual(self) -> list[ResidualFace]:
        """Residual faces that fail the audit (kept the original's detail, or identifiable when alone)."""
        return [r for r in self.residual if r.failing]

    @property
    def judged(self) -> list[FaceCheck]:
        """Face-frames whose original carried identifiable detail (covered or leaked)."""
        return [c for c in self.checks if c.judged]

    def no_detail(self) -> dict[str, int]:
        """Face-frames without identifiable detail in the original, by reason."""
        return _count(c.reason or "?" for c in self.checks if c.status == "no-detail")

    @property
    def one_frame(self) -> list[FaceCheck]:
        """Face-frames of faces the finder saw in one frame only (not judged)."""
        return [c for c in self.checks if c.status == "one-frame"]

    @property
    def not_verified(self) -> list[FaceCheck]:
        """Face-frames that leaked but whose track the close look found no face in (not counted)."""
        return [c for c in self.checks if c.status == "not-verified"]

    @property
    def reasons(self) -> list[str]:
        out = []
        if self.leak_count:
            out.append(f"{self.leak_count} leaked face-frame(s) of {self.leaked_faces} distinct face(s)")
        if self.failing_residual:
            where = " on areas that kept the original's detail" if self.original is not None else \
                " with identifiable detail"
            out.append(f"{len(self.failing_residual)} face(s) still detected in the anonymized video{where}")
        if self.metadata:
            out.append(f"{len(self.metadata)} metadata finding(s)")
        return out

    @property
    def verdict(self) -> str:
        return "fail" if self.reasons else "pass"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    # --- output ----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The audit.json document (JSON-serialisable dict)."""
        runs = self.runs
        large_runs = leak_runs(self.checks, LARGE_FACE)
        any_runs = any_leak_runs(self.checks)
        leak_frames = sorted({c.frame for c in self.checks if c.leaked})
        times = {c.frame: c.t for c in self.checks}
        return {
            "verdict": self.verdict,
            "reasons": self.reasons,
            "exit_code": self.exit_code,
            "original": str(self.original) if self.original else None,
            "anonymized": str(self.anonymized),
            "frames": self.frames,
            "original_damaged_frames": self.original_damaged,
            "fps": round(self.fps, 4),
            "settings": self.settings,
            "faces": None if self.original is None else {
                "face_frames": len(self.checks),
                "judged_face_frames": len(self.judged),
                "no_identifiable_detail": self.no_detail(),
                "seen_in_one_frame": {"face_frames": len(self.one_frame),
                                      "would_be": _count(c.reason or "?" for c in self.one_frame)},
                "not_verified": {"face_frames": len(self.not_verified),
                                 "faces": len({c.track for c in self.not_verified}),
                                 "face_frames_list": [c.to_json() for c in self.not_verified]},
                "unconfirmed_candidates": self.unconfirmed,
                "distinct_faces": len({c.track for c in self.checks}),
                "leaked_face_frames": self.leak_count,
                "leaked_faces": self.leaked_faces,
                "leak_rates": leak_rates(self.checks),
                "leaked_frames": [{"frame": f, "t": round(times[f], 4)} for f in leak_frames],
                "longest_leak_run": runs[0].to_json() if runs else None,
                "longest_run_of_frames_with_a_leak": (
                    {"first_frame": any_runs[0][0], "last_frame": any_runs[0][1],
                     "frames": any_runs[0][1] - any_runs[0][0] + 1} if any_runs else None),
                "longest_leak_run_large": large_runs[0].to_json() if large_runs else None,
                "large_face_px": LARGE_FACE,
                "leak_runs": [r.to_json() for r in runs],
                "leaks": [c.to_json() for c in self.leaks],
            },
            "residual_faces": {"count": len(self.residual), "failing": len(self.failing_residual),
                               "by_label": _count(r.label for r in self.residual),
                               "faces": [r.to_json() for r in self.residual]},
            "metadata": {"count": len(self.metadata), "findings": [m.to_json() for m in self.metadata]},
            "leak_crops": [str(p) for p in self.crops],
        }

    def summary(self) -> str:
        """A few readable lines for the terminal."""
        lines = [f"audit of {self.anonymized}" + (f" against {self.original}" if self.original else ""),
                 f"  frames audited: {self.frames}" + (f" (the original has {self.original_damaged} damaged "
                                                       "frame(s) the decoder flagged or lost)"
                                                       if self.original_damaged else ""),
                 f"  face finder: {_finder_line(self.settings)}"]
        if self.original is not None:
            rates = leak_rates(self.checks)
            a = rates["all"]
            lines.append(f"  faces: {a['leaked']} of {a['face_frames']} face-frames with identifiable detail leaked "
                         f"({100 * a['rate']:.1f} %), {self.leaked_faces} of "
                         f"{len({c.track for c in self.judged})} distinct faces")
            nd = self.no_detail()
            if nd:
                lines.append("  without identifiable detail in the original (not judged): " + ", ".join(
                    f"{v} {k}" for k, v in sorted(nd.items())) + " face-frame(s)")
            if self.one_frame:
                lines.append(f"  faces seen in one frame only (not judged): {len(self.one_frame)} "
                             f"({_count(c.reason or '?' for c in self.one_frame).get('leaked', 0)} of them unchanged)")
            if self.not_verified:
                lines.append(f"  unchanged, but no face up close (not counted): {len(self.not_verified)} face-frame(s) "
                             f"of {len({c.track for c in self.not_verified})} track(s), frames "
                             + ", ".join(str(f) for f in sorted({c.frame for c in self.not_verified})[:12])
                             + (" ..." if len({c.frame for c in self.not_verified}) > 12 else ""))
            if self.unconfirmed:
                lines.append(f"  unconfirmed candidates (one detector, low score; not judged): {self.unconfirmed}")
            lines.append("  by size: " + ", ".join(
                f"{k} px {v['leaked']}/{v['face_frames']} ({100 * v['rate']:.1f} %)"
                for k, v in rates.items() if k != "all"))
            runs = self.runs
            if runs:
                r = runs[0]
                lines.append(f"  longest leak run: {r.length} frame(s), face {r.track}, frames {r.first}-{r.last} "
                             f"({r.t_first:.2f}-{r.t_last:.2f} s)")
                frames = sorted({c.frame for c in self.checks if c.leaked})
                shown = ", ".join(str(f) for f in frames[:20]) + (" ..." if len(frames) > 20 else "")
                lines.append(f"  leaked frames: {shown}")
        labels = _count(r.label for r in self.residual)
        lines.append(f"  residual faces in the output: {len(self.residual)}"
                     + (" (" + ", ".join(f"{v} {k}" for k, v in sorted(labels.items())) + ")" if labels else ""))
        for r in self.failing_residual[:5]:
            lines.append(f"    frame {r.frame} ({r.t:.2f} s) box {[round(v) for v in r.box]} score {r.score:.2f}")
        lines.append(f"  metadata findings: {len(self.metadata)}")
        for m in self.metadata[:10]:
            lines.append(f"    {m}")
        if len(self.metadata) > 10:
            lines.append(f"    ... {len(self.metadata) - 10} more")
        lines.append(f"verdict: {self.verdict.upper()}" + (f" ({'; '.join(self.reasons)})" if self.reasons else ""))
        if self.json_path:
            lines.append(f"report: {self.json_path}")
        return "\n".join(lines)


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in items:
        out[k] = out.get(k, 0) + 1
    return out


def _finder_line(settings: dict[str, Any]) -> str:
    """One line naming the audit's detectors and what the output was anonymized with."""
    dets = settings.get("detectors") or []
    names = ", ".join(f"{d['family']}" + (f" {d['threshold']:g}" if "threshold" in d else "")
                      + (f" x{d['upscale']:g}" if d.get("upscale", 1) != 1 else "") for d in dets)
    origin = (settings.get("anonymized_with") or {}).get("detectors")
    return names + (f" (output anonymized with {', '.join(origin)})" if origin else " (anonymizer unknown)")


def write_json(doc: dict[str, Any], path: Path) -> Path:
    """Write ``doc`` to ``path`` atomically (temporary name in the same folder, then rename)."""
    return write_text_atomic(path, json.dumps(doc, indent=2) + "\n")
