"""The one typed configuration of an anonymization run, shared by CLI, web app and batch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from anonymotion.errors import ConfigError
from anonymotion.io.video import Limits

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
#: Share of the face threshold down to which a tracked face is followed (see --weak-factor).
WEAK_FACTOR = 0.5


def option(default: Any, help: str, **cli: Any) -> Any:
    """A config field with its command-line description: ``help`` (units included) and argparse
    extras (``choices``, ``metavar``, ``type``, ``flag`` to name the option differently, ``cli=False``
    to keep it off the command line). The CLI's options are generated from these fields
    (:mod:`anonymotion.commands.options`), so CLI, Python API, web and batch share one definition."""
    factory = cli.pop("default_factory", None)
    meta = {"help": help, **cli}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class AnonymizeConfig:
    """Every parameter of an anonymization; the manifest records all of them (see each field's help)."""

    method: str = option("blur", "anonymization method: blur, replace, pixelate, block, head, body-blur, "
                                 "body-pixelate, body-block, lowres, skeleton (default blur)")
    detector: str = option("centerface", "face detector: centerface, yunet, blazeface, centerface-ms (CenterFace "
                                         "plus an enlarged look at small faces), or a comma list of them for their "
                                         "union, e.g. centerface,yunet ('both' = centerface,blazeface) "
                                         "(default centerface)", metavar="DETECTOR[,DETECTOR...]")
    face_threshold: float | None = option(None, "face detector score threshold, 0-1 (default: the detector's own)",
                                          type=float, aliases=("--threshold",))
    weak_factor: float = option(WEAK_FACTOR, "a face already tracked stays tracked while its detector score stays above "
                                     "this share of the threshold (ByteTrack-style; weak candidates never start "
                                     "a track; 1 = off, default 0.5; CenterFace)", type=float)
    detect_size: int | None = option(None, "longest side in px of the image the face detector sees "
                                           "(default: the detector's own)", type=int)
    regions: tuple[str, ...] | None = option(None, "comma-separated region sources, e.g. faces,head "
                                                   "(default: what the method needs)", type="csv")
    hold: float = option(0.2, "seconds a missed face stays covered before and after detections (default 0.2)",
                         type=float)
    detect_every: int | None = option(None, "run the face detector on every n-th frame, tracking in between "
                                            "(default: about every 60 ms, e.g. 3 at 50 fps; 1 = every frame)", type=int)
    mask_scale: float = option(1.3, "grow each face box by this factor (default 1.3)", type=float)
    shape: str = option("ellipse", "shape of the covered area (default ellipse)", choices=("ellipse", "rect"))
    strength: float | None = option(None, "blur: sigma as a share of the face size (default 0.3); head: the same "
                                          "instead of the kernel; body-blur: of the person size", type=float)
    blocks: int | None = option(None, "pixelate: mosaic cells across the face (default 8); body-pixelate: across "
                                      "the person (default 16)", type=int)
    kernel: int | None = option(None, "head: Gaussian kernel size in px, odd (default 25, the study's)", type=int)
    background: str | None = option(None, "skeleton: background (default neutral)", choices=("neutral", "blur"))
    size: str | None = option(None, "lowres: target size WxH (default 80x60)")
    crf: int = option(18, "H.264 quality, 0-51, lower is better (default 18)", type=int)
    preset: str = option("veryfast", "x264 preset (default veryfast)", choices=PRESETS)
    keep_audio: bool = option(False, "keep the audio (re-encoded to AAC); dropped by default")
    recoverable: bool = option(False, "store the original pixels of anonymized regions, encrypted, in a "
                                      "*.recovery sidecar (videos only)")
    key_file: Path | None = option(None, "key file for --recoverable (see 'anonymotion keygen')", type=Path,
                                   flag="--key")
    passphrase_env: str | None = option(None, "environment variable holding a passphrase for --recoverable")
    audit: bool = option(False, "audit each output right away; the verdict goes in the manifest "
                                "(exit code 3 if one fails; videos only)")
    accept_damaged: bool = option(False, "anonymize a video the decoder reports damaged (refused by default): "
                                         "every damaged frame is blurred whole and listed in the manifest")
    limits: Limits = option(None, "input size limits", default_factory=Limits, cli=False)

    @property
    def threshold(self) -> float | None:
        """Deprecated name of :attr:`face_threshold`."""
        return self.face_threshold

    def validated(self) -> "AnonymizeConfig":
        """Return self after checking every value; ConfigError names the bad option."""
        if not 0 <= self.crf <= 51:
            raise ConfigError(None, f"--crf must be between 0 and 51, not {self.crf}")
        if self.preset not in PRESETS:
            raise ConfigError(None, f"--preset must be one of {', '.join(PRESETS)}, not {self.preset!r}")
        if self.shape not in ("ellipse", "rect"):
            raise ConfigError(None, f"--shape must be ellipse or rect, not {self.shape!r}")
        if not 0.5 <= self.mask_scale <= 5:
            raise ConfigError(None, f"--mask-scale must be between 0.5 and 5, not {self.mask_scale}")
        if self.hold < 0 or self.hold > 10:
            raise ConfigError(None, f"--hold must be between 0 and 10 seconds, not {self.hold}")
        if self.detect_every is not None and not 1 <= self.detect_every <= 30:
            raise ConfigError(None, f"--detect-every must be between 1 and 30 frames, not {self.detect_every}")
        from anonymotion.detect.faces import detector_names

        try:
            names = detector_names(self.detector)
        except ValueError as exc:
            raise ConfigError(None, f"--detector: {exc}") from None
        if not 0 < self.weak_factor <= 1:
            raise ConfigError(None, f"--weak-factor must be above 0 and at most 1, not {self.weak_factor}")
        if self.weak_factor != WEAK_FACTOR and "centerface" not in names:
            raise ConfigError(None, f"--weak-factor does not apply to --detector {self.detector}: only CenterFace "
                                    "gives weak candidates (use --detector centerface or a union with it)")
        if self.face_threshold is not None and not 0 < self.face_threshold < 1:
            raise ConfigError(None, f"--face-threshold must be between 0 and 1, not {self.face_threshold}")
        if self.detect_size is not None and not 64 <= self.detect_size <= 4096:
            raise ConfigError(None, f"--detect-size must be between 64 and 4096 px, not {self.detect_size}")
        if self.recoverable and self.key_file is None and self.passphrase_env is None:
            raise ConfigError(None, "--recoverable needs --key KEYFILE or --passphrase-env VAR")
        return self

    def with_overrides(self, **overrides: Any) -> "AnonymizeConfig":
        """A copy with the given fields changed; ConfigError for unknown names."""
        if "threshold" in overrides:  # deprecated name
            overrides["face_threshold"] = overrides.pop("threshold")
        names = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ConfigError(None, f"unknown option(s): {', '.join(unknown)}")
        return replace(self, **overrides)

    def method_params(self) -> dict[str, Any]:
        """The fields a method may take (make_method keeps those its dataclass declares)."""
        return {k: v for k, v in asdict(self).items() if v is not None and k not in ("limits", "key_file")}

    def to_json(self) -> dict[str, Any]:
        """JSON-friendly view for the manifest (no secrets: the key file is named, never read)."""
        data = asdict(self)
        data["key_file"] = "given" if self.key_file else None  # where keys live is nobody's business
        data["regions"] = list(self.regions) if self.regions else None
        return data


@dataclass(frozen=True)
class StudyOptions:
    """How an anonymized video is compared with its original (CLI evaluate/compare, batch, web).

    score_threshold: keypoint score (visibility) a keypoint needs to count in EPE/PTK and in the
    angle confidence filter, 0..1. subject: whom to report first ("auto" or None = the person
    most visible over the whole clip, a person id, "X,Y" or "X1,Y1,X2,Y2" pixels). filter_hz:
    zero-phase Butterworth cut-off (Hz) applied to every trajectory compared, None = raw.
    backend: pose backend name ("mediapipe-multi": every person with ids, compared person to
    person; "mediapipe-legacy": one person). num_poses, detect_persons_every: options of the
    multi-person backend (most persons per frame; full-frame person model on every n-th frame).
    control: also compare a plain re-encode of the original (the control every verdict is
    judged against). lossless: also pose each method's frames before encoding.
    """

    score_threshold: float = option(0.5, "keypoint score (visibility) a keypoint needs to count in EPE/PTK and "
                                         "the angle confidence filter, 0-1 (default 0.5)", type=float)
    subject: str | None = option(None, "the person reported first: 'auto' (the most visible person over the "
                                       "whole clip), a person id, or the person at a point / inside a box, in "
                                       "pixels of the upright frame (mediapipe-legacy: followed on crops)",
                                 metavar="auto|ID|X,Y|X1,Y1,X2,Y2")
    filter_hz: float | None = option(None, "zero-phase Butterworth low-pass of the trajectories, cut-off in Hz "
                                           "(6 when given without a value)", type=float, flag="--filter",
                                     nargs="?", const=6.0, metavar="HZ")
    backend: str = option("mediapipe-multi", "pose model: mediapipe-multi (default: every person, with ids) or "
                                             "mediapipe-legacy (one person; 'mediapipe' is its old name)",
                          flag="--pose-backend", aliases=("--backend",),
                          choices=("mediapipe-multi", "mediapipe-legacy", "mediapipe"))
    num_poses: int = option(4, "most persons per frame (multi-person backend, default 4)", type=int, metavar="N")
    detect_persons_every: int = option(1, "run the full-frame person model on every N-th frame and follow the "
                                          "persons on crops in between (multi-person backend; default 1 = every "
                                          "frame, higher is faster)", type=int, metavar="N")
    control: bool = option(True, "compare a plain re-encode of the original too (the control verdicts are "
                                 "judged against)", flag="--no-control", negate=True)
    lossless: bool = option(False, "also pose each method's frames before encoding (separates method from codec)")

    def validated(self) -> "StudyOptions":
        """Return self after checking every value; ConfigError names the bad option."""
        if not 0 < self.score_threshold < 1:
            raise ConfigError(None, f"--score-threshold must be between 0 and 1, not {self.score_threshold}")
        if self.filter_hz is not None and not 0 < self.filter_hz < 100:
            raise ConfigError(None, f"--filter must be a cut-off between 0 and 100 Hz, not {self.filter_hz}")
        if self.num_poses < 1 or self.detect_persons_every < 1:
            raise ConfigError(None, "--num-poses and --detect-persons-every must be at least 1, not "
                                    f"{self.num_poses} and {self.detect_persons_every}")
        return self

    def pose_options(self) -> dict[str, Any]:
        """Options for the pose backend (empty for a single-person backend)."""
        if self.backend != "mediapipe-multi":
            return {}
        return {"num_poses": self.num_poses, "detect_every": self.detect_persons_every}
