"""Keep job ids out of every log line: an id is all it takes to download a job's results.

:class:`RedactJobIds` rewrites a log record's final message (arguments merged in, and the
traceback text when there is one) so that a job id never reaches a handler: a path segment
after ``/jobs/`` becomes ``…`` and any other stand-alone 32-character URL-safe token (the
shape of :func:`anonymotion.web.jobs.new_job_id`) becomes ``<id>``. :func:`install` puts it on
every handler of the given loggers (and the root logger), in the server and in every worker.
"""

from __future__ import annotations

import logging
import re

#: a job folder or URL: /jobs/<id> (also the start of an id cut short)
_PATH = re.compile(r"(/jobs/)[A-Za-z0-9_-]{6,}")
#: a bare id anywhere else: exactly 32 URL-safe characters, not part of a longer token
_BARE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])")


def redact(text: str) -> str:
    """``text`` with job ids replaced (see the module docstring)."""
    return _BARE.sub("<id>", _PATH.sub(r"\1…", text))


class RedactJobIds(logging.Filter):
    """A handler filter that redacts job ids from the message, its arguments and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        # arguments stay arguments (uvicorn's access formatter unpacks them), each one redacted
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _redact_arg(value: object) -> object:
    """A log argument with ids redacted; numbers (and anything printing without an id) unchanged."""
    if isinstance(value, (int, float)) or value is None:
        return value
    text = str(value)
    clean = redact(text)
    return value if clean == text else clean


def install(*logger_names: str) -> None:
    """Add the filter to every handler of the root logger and of ``logger_names`` (once each)."""
    for name in ("", *logger_names):
        for handler in logging.getLogger(name or None).handlers:
            if not any(isinstance(f, RedactJobIds) for f in handler.filters):
                handler.addFilter(RedactJobIds())
