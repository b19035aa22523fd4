"""The JSON views of a job the page and the API share: state, progress, review data, downloads."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request

from anonymotion.web import files
from anonymotion.web.jobs import Job
from anonymotion.web.settings import Settings


def job_to_api(job: Job, request: Request, settings: Settings) -> dict[str, Any]:
    """The JSON view of a job: media facts, progress by phase, each stage's result, review data, downloads."""
    now = time.time()
    downloads = {}
    for key, d in files.DOWNLOADS.items():
        if stored_file(job, key) is not None:
            label = d.label.replace("video", "image") if job.media.kind == "image" else d.label
            downloads[key] = {"label": label, "url": str(request.url_for("download", job_id=job.id, key=key)),
                              "filename": files.download_name(key, job.media.kind, job.media.suffix, job.label)}
    m = job.media
    return {
        "id": job.id,
        "label": job.label,
        "url": str(request.url_for("job_page", job_id=job.id)),
        "created_at": job.created_at,
        "expires_at": job.expires_at,
        "expires_in_seconds": round(max(0.0, job.expires_at - now)),
        "media": {"kind": m.kind, "width": m.width, "height": m.height, "frames": m.frames, "fps": m.fps,
                  "duration": m.duration, "has_audio": m.has_audio, "bytes": m.bytes},
        "original_kept": job.original is not None,
        "original_deleted": ("when the session ends (DELETE .../original) or at expires_at" if settings.keep_original
                             else "once anonymized and tested"),
        "busy": job.busy,
        "progress": job.progress(now),
        "stages": {stage: job.tasks[stage].to_api(now) if stage in job.tasks else None
                   for stage in ("anonymize", "test")},
        "review": review_api(job, request, settings),
        "downloads": downloads,
    }


def review_api(job: Job, request: Request, settings: Settings) -> dict[str, Any] | None:
    """What the review player needs: media URLs, overlay, leak crops (with the reviewer's marks), persons."""
    from anonymotion.web.review import marked_crops

    anon = job.task("anonymize")
    if anon is None or anon.state != "done" or not anon.result:
        return None
    folder = files.job_dir(settings.jobs_dir, job.id)
    url = request.url_for
    audit = anon.result.get("audit")
    marked = set(marked_crops(folder, anon.result)) if audit else set()
    crops = [{**c, "url": str(url("leak_crop", job_id=job.id, name=c["name"])), "not_a_face": c["name"] in marked}
             for c in (audit or {}).get("crops", [])]
    control = anon.result["files"].get("control")
    test = job.task("test")
    persons = []
    if test is not None and test.result:
        persons = [{**p, "thumbnail_url": str(url("person_thumbnail", job_id=job.id, name=p["thumbnail"]))
                    if p.get("thumbnail") else None} for p in test.result.get("persons", [])]
    return {
        "original_url": str(url("media", job_id=job.id, which="original"))
        if job.original is not None and control and (folder / control).is_file() else None,
        "anonymized_url": str(url("media", job_id=job.id, which="anonymized")),
        "overlay_url": str(url("overlay", job_id=job.id)),
        "audit": None if audit is None else {k: audit[k] for k in ("verdict", "leaks", "leaked_faces", "residual",
                                                                   "metadata", "reasons")},
        "crops": crops,
        "marked": len(marked),
        "persons": persons,
        "person": test.result.get("person") if test is not None and test.result else None,
    }


def stored_file(job: Job, key: str) -> str | None:
    """Relative path of download ``key`` in the job folder, when its stage finished and made it."""
    d = files.DOWNLOADS[key]
    task = job.task(d.stage)
    if task is None or task.state != "done" or not task.result:
        return None
    name = (task.result.get("files") or {}).get(key)
    return name or None


def job_file(settings: Settings, job: Job, rel: str | None) -> Path:
    """The file ``rel`` of a job's folder; 404 unless it exists inside that folder."""
    folder = files.job_dir(settings.jobs_dir, job.id).resolve()
    path = (folder / rel).resolve() if rel else None
    if path is None or folder not in path.parents or not path.is_file():
        raise HTTPException(status_code=404, detail="This file is not available (yet).")
    return path
