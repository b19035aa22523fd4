"""The downloadable report: one self-contained HTML file (styles and the angle plot inlined).

It records what was done to the upload (method, parameters, counts, the metadata that was
dropped, by name only) and the Test step's results. Nothing of the uploaded file's name
appears in it. Written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from anonymotion.io.writer import write_text_atomic
from anonymotion.web.jobs import Job

HERE = Path(__file__).resolve().parent


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]))


def write_report(path: Path, job: Job, anonymize: dict[str, Any], test: dict[str, Any], folder: Path) -> Path:
    """Render ``report.html`` for a job whose anonymize and test stages are done."""
    plot_src = None
    plot = test["files"].get("plot")
    if plot and (folder / plot).is_file():
        plot_src = "data:image/png;base64," + base64.b64encode((folder / plot).read_bytes()).decode("ascii")
    manifest: dict[str, Any] = {}
    manifest_name = anonymize["files"].get("manifest")
    if manifest_name and (folder / manifest_name).is_file():
        manifest = json.loads((folder / manifest_name).read_text(encoding="utf-8"))
    html = _environment().get_template("report.html").render(
        job=job, anonymize=anonymize, test=test, summary=test["summary"], plot_src=plot_src, manifest=manifest,
        css=(HERE / "static" / "app.css").read_text(encoding="utf-8"),
        created=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    return write_text_atomic(path, html)
