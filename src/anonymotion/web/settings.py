"""Settings of the web application: flags override environment variables override defaults.

Environment variables (all optional): ANONYMOTION_HOST, ANONYMOTION_PORT, ANONYMOTION_DATA_DIR,
ANONYMOTION_MAX_UPLOAD_MB, ANONYMOTION_RETENTION_HOURS, ANONYMOTION_WORKERS,
ANONYMOTION_ACCESS_TOKEN, ANONYMOTION_KEEP_ORIGINAL (default 1: the upload is kept until retention or
until the user ends the session, so another method can be tried; 0 deletes it once anonymized and tested).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from anonymotion.errors import ConfigError

ENV_PREFIX = "ANONYMOTION_"


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/anonymotion`` (``~/.local/share/anonymotion`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "anonymotion"


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know.

    max_upload_bytes: uploads larger than this get HTTP 413 (bytes).
    retention_seconds: every file of a job is deleted this long after its upload.
    workers: processes in the job pool. access_token: when set, every page and API call
    needs it. keep_original: keep the upload after anonymization and test are done (so another
    method can be tried without uploading again) until retention or until the user deletes it;
    False deletes it as soon as anonymization and test are done
    (it is still deleted at retention). sweep_interval: seconds between sweeper passes.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = field(default_factory=default_data_dir)
    max_upload_bytes: int = 2 * 1024**3
    retention_seconds: float = 24 * 3600.0
    workers: int = 2
    access_token: str | None = None
    keep_original: bool = True
    sweep_interval: float = 60.0

    def validated(self) -> "Settings":
        """Return self after checking every value; ConfigError names the bad setting."""
        if not 0 < self.port < 65536:
            raise ConfigError(None, f"--port must be between 1 and 65535, not {self.port}")
        if self.max_upload_bytes <= 0:
            raise ConfigError(None, "--max-upload-mb must be positive")
        if self.retention_seconds <= 0:
            raise ConfigError(None, "--retention-hours must be positive")
        if not 1 <= self.workers <= 64:
            raise ConfigError(None, f"--workers must be between 1 and 64, not {self.workers}")
        if self.access_token is not None and len(self.access_token) < 8:
            raise ConfigError(None, "the access token must be at least 8 characters long")
        if self.sweep_interval <= 0:
            raise ConfigError(None, "the sweep interval must be positive")
        return self

    @property
    def db_path(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def incoming_dir(self) -> Path:
        """Uploads in flight (renamed into a job folder once they decoded)."""
        return self.data_dir / "incoming"


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _env_values(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    converters: dict[str, tuple[str, Any]] = {
        "HOST": ("host", str),
        "PORT": ("port", int),
        "DATA_DIR": ("data_dir", Path),
        "MAX_UPLOAD_MB": ("max_upload_bytes", lambda v: int(float(v) * 1024**2)),
        "RETENTION_HOURS": ("retention_seconds", lambda v: float(v) * 3600.0),
        "WORKERS": ("workers", int),
        "ACCESS_TOKEN": ("access_token", lambda v: v or None),
        "KEEP_ORIGINAL": ("keep_original", _bool),
    }
    for key, (name, conv) in converters.items():
        raw = env.get(ENV_PREFIX + key)
        if raw is None or raw == "":
            continue
        try:
            out[name] = conv(raw)
        except ValueError:
            raise ConfigError(None, f"environment variable {ENV_PREFIX}{key}={raw!r} is not valid") from None
    return out


def load_settings(env: Mapping[str, str] | None = None, **flags: Any) -> Settings:
    """Settings from defaults, then ``env`` (default os.environ), then non-None ``flags``."""
    values = _env_values(os.environ if env is None else env)
    values.update({k: v for k, v in flags.items() if v is not None})
    settings = replace(Settings(), **values)
    return replace(settings, data_dir=Path(settings.data_dir).expanduser().resolve()).validated()
