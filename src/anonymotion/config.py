"""The one typed configuration of an anonymization run, shared by CLI, web app and batch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from anonymotion.errors import ConfigError
from anonymotion.io.video import Limits

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass(frozen=True)
class AnonymizeConfig:
    """Every parameter of an anonymization; the manifest records all of them.

    method: anonymization method name (blur, pixelate, block, and those later modules add).
    detector: face detector (centerface, blazeface, both); threshold: its score threshold
    (None = detector default); detect_size: network input size, longest side in px
    (None = detector default). regions: region sources (None = the method's default, e.g. faces).
    hold: seconds a missed face stays covered (temporal hold/interpolation).
    detect_every: run the face detector on every n-th frame, the tracker interpolating between
    (None = about every 60 ms, never more than half of ``hold``; 1 = every frame).
    mask_scale: box growth factor; shape: ellipse or rect. strength/blocks/kernel/background/size:
    method parameters (None = method default). crf/preset: x264 quality and speed.
    keep_audio: re-encode the first audio stream (dropped by default).
    """

    method: str = "blur"
    detector: str = "centerface"
    threshold: float | None = None
    detect_size: int | None = None
    regions: tuple[str, ...] | None = None
    hold: float = 0.2
    detect_every: int | None = None
    mask_scale: float = 1.3
    shape: str = "ellipse"
    strength: float | None = None
    blocks: int | None = None
    kernel: int | None = None
    background: str | None = None
    size: str | None = None
    crf: int = 18
    preset: str = "veryfast"
    keep_audio: bool = False
    recoverable: bool = False
    key_file: Path | None = None
    passphrase_env: str | None = None
    audit: bool = False
    limits: Limits = field(default_factory=Limits)

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
        if self.threshold is not None and not 0 < self.threshold < 1:
            raise ConfigError(None, f"--threshold must be between 0 and 1, not {self.threshold}")
        if self.detect_size is not None and not 64 <= self.detect_size <= 4096:
            raise ConfigError(None, f"--detect-size must be between 64 and 4096 px, not {self.detect_size}")
        if self.recoverable and self.key_file is None and self.passphrase_env is None:
            raise ConfigError(None, "--recoverable needs --key KEYFILE or --passphrase-env VAR")
        return self

    def with_overrides(self, **overrides: Any) -> "AnonymizeConfig":
        """A copy with the given fields changed; ConfigError for unknown names."""
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
