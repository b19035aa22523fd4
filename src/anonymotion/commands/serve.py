"""``anonymotion serve``: run the web application (default http://127.0.0.1:8000)."""

from __future__ import annotations

import argparse
import copy
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anonymotion.web.settings import Settings

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the web application",
        description="Run the web application: upload, anonymize, test, pose, download. Every option can also "
                    "be set by an environment variable (shown in brackets); options win.",
    )
    p.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1) [ANONYMOTION_HOST]")
    p.add_argument("--port", type=int, default=None, help="port (default 8000) [ANONYMOTION_PORT]")
    p.add_argument("--data-dir", default=None,
                   help="folder for jobs, uploads and results (default ~/.local/share/anonymotion) "
                        "[ANONYMOTION_DATA_DIR]")
    p.add_argument("--max-upload-mb", type=float, default=None,
                   help="largest accepted upload in MB (default 2048) [ANONYMOTION_MAX_UPLOAD_MB]")
    p.add_argument("--retention-hours", type=float, default=None,
                   help="delete every file of a job this long after its upload (default 24) "
                        "[ANONYMOTION_RETENTION_HOURS]")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes running jobs (default 2) [ANONYMOTION_WORKERS]")
    p.add_argument("--access-token", default=None,
                   help="require this token (at least 8 characters) for every page and API call; prefer the "
                        "environment variable, which other users cannot see [ANONYMOTION_ACCESS_TOKEN]")
    p.add_argument("--keep-original", action=argparse.BooleanOptionalAction, default=None,
                   help="keep the upload until retention (or until the user ends the session) so another method "
                        "can be tried without uploading again (default); --no-keep-original deletes it once "
                        "anonymized and tested [ANONYMOTION_KEEP_ORIGINAL=1|0]")
    p.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace) -> "Settings":
    """Settings from the parsed flags, falling back to ANONYMOTION_* variables, then defaults."""
    from anonymotion.web.settings import load_settings

    return load_settings(
        host=args.host, port=args.port, data_dir=args.data_dir,
        max_upload_bytes=int(args.max_upload_mb * 1024**2) if args.max_upload_mb is not None else None,
        retention_seconds=args.retention_hours * 3600.0 if args.retention_hours is not None else None,
        workers=args.workers, access_token=args.access_token, keep_original=args.keep_original,
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from anonymotion.web.app import create_app

    from uvicorn.config import LOGGING_CONFIG

    settings = settings_from_args(args)
    logging.captureWarnings(True)  # warnings (which may name a file) reach the redacting handlers too
    app = create_app(settings)
    print(f"anonymotion: serving on http://{settings.host}:{settings.port}  (data in {settings.data_dir}, "
          f"{settings.workers} workers, files kept {settings.retention_seconds / 3600:g} h"
          f"{', access token required' if settings.access_token else ''})", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=log_config(LOGGING_CONFIG),
                timeout_graceful_shutdown=5)
    return 0


def log_config(base: dict[str, Any]) -> dict[str, Any]:
    """uvicorn's logging config plus the application's INFO log, every handler redacting job ids."""
    config = copy.deepcopy(base)
    config.setdefault("filters", {})["redact_job_ids"] = {"()": "anonymotion.web.logredact.RedactJobIds"}
    for handler in config.get("handlers", {}).values():
        handler.setdefault("filters", []).append("redact_job_ids")
    config["loggers"]["anonymotion"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config
