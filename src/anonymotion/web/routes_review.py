"""API routes of the review player: the two videos, the overlay, leak crops, marks, person thumbnails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from anonymotion.web import files
from anonymotion.web.jobs import Job
from anonymotion.web.settings import Settings


class ReviewRequest(BaseModel):
    """The reviewer's calls on leak crops: crop file name -> true ("not a face") or false (undo)."""

    not_a_face: dict[str, bool] = Field(default_factory=dict, description="leak crop name -> marked not a face")


def _anonymized(job: Job) -> dict[str, Any]:
    task = job.task("anonymize")
    if task is None or task.state != "done" or not task.result:
        raise HTTPException(status_code=409, detail="Anonymize the file first.")
    return task.result


def review_routes(api: APIRouter, settings: Settings, get_job: Callable[[str], Job],
                  require_csrf: Callable[..., None]) -> None:
    """Add the review routes to ``api`` (which already checks access)."""
    from anonymotion.web.views import job_file
    from anonymotion.web.review import CROP_NAME, MAX_WINDOW, PERSON_THUMB, mark_crops, overlay

    @api.get("/jobs/{job_id}/media/{which}", name="media",
             summary="The review player's videos: 'anonymized', or 'original' (the original re-encoded to H.264 "
                     "in the anonymization pass, while the original is kept)")
    def media(job_id: str, which: Literal["original", "anonymized"]) -> FileResponse:
        job = get_job(job_id)
        result = _anonymized(job)
        if which == "original" and job.original is None:
            raise HTTPException(status_code=404, detail="The original was deleted.")
        rel = result["files"].get("control" if which == "original" else "anonymized")
        path = job_file(settings, job, rel)
        kind = files.download_media_type("anonymized", job.media.kind, job.media.suffix)
        return FileResponse(path, media_type=kind, content_disposition_type="inline")

    @api.get("/jobs/{job_id}/overlay", name="overlay",
             summary="Covered regions per frame and the measured person's skeleton, for the player's overlay")
    def overlay_doc(job_id: str, start: int = Query(0, ge=0, description="first frame"),
                    count: int = Query(MAX_WINDOW, ge=1, le=MAX_WINDOW, description="frames")) -> dict[str, Any]:
        job = get_job(job_id)
        result = _anonymized(job)
        test = job.task("test")
        m = job.media
        return overlay(files.job_dir(settings.jobs_dir, job.id), result,
                       test.result if test is not None and test.state == "done" else None, m.width, m.height, m.fps,
                       start, count)

    @api.get("/jobs/{job_id}/crops/{name}", name="leak_crop",
             summary="One leak crop of the audit (PNG: the anonymized frame around a face the audit found uncovered)")
    def leak_crop(job_id: str, name: str, download: bool = False) -> FileResponse:
        job = get_job(job_id)
        result = _anonymized(job)
        crops = {c["name"] for c in (result.get("audit") or {}).get("crops", [])}
        if not CROP_NAME.fullmatch(name) or name not in crops:
            raise HTTPException(status_code=404, detail="No such crop.")
        path = job_file(settings, job, f"{files.CROPS_DIR}/{name}")
        return FileResponse(path, media_type="image/png", filename=f"{job.label}_{name}",
                            content_disposition_type="attachment" if download else "inline")

    @api.post("/jobs/{job_id}/review", name="review", dependencies=[Depends(require_csrf)],
              summary="Mark leak crops as 'not a face' (or undo); recorded in the manifest without user identity")
    def review(job_id: str, marks: ReviewRequest) -> dict[str, Any]:
        job = get_job(job_id)
        if job.busy:
            raise HTTPException(status_code=409, detail="The job is being processed; mark the crops when it finished.")
        result = _anonymized(job)
        try:
            marked = mark_crops(files.job_dir(settings.jobs_dir, job.id), result, marks.not_a_face)
        except KeyError as exc:
            raise HTTPException(status_code=422, detail=f"No leak crop named {exc.args[0]!r}.") from None
        return {"not_a_face": marked}

    @api.get("/jobs/{job_id}/persons/{name}", name="person_thumbnail",
             summary="Thumbnail of a person found by the Test (cut from the anonymized video)")
    def person_thumbnail(job_id: str, name: str) -> FileResponse:
        job = get_job(job_id)
        if not PERSON_THUMB.fullmatch(name):
            raise HTTPException(status_code=404, detail="No such person.")
        path = job_file(settings, job, f"{files.PERSONS_DIR}/{name}")
        return FileResponse(path, media_type="image/jpeg", content_disposition_type="inline")
