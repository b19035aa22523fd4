"""The web application: one server-rendered page (upload -> anonymize -> test -> pose -> download)
and the JSON API behind it (documented at ``/openapi.json``).

Create it with :func:`create_app`; ``anonymotion serve`` runs it with uvicorn. Uploads are
kept in the data directory (never under ``static/``), jobs in SQLite, work in a pool of
worker processes. Unknown and expired job ids get the same 404.
"""

from __future__ import annotations

import hmac
import logging
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from anonymotion.errors import InputError
from anonymotion.web import files, security, uploads
from anonymotion.web.jobs import Job, JobStore, new_job_id
from anonymotion.web.settings import Settings, load_settings
from anonymotion.web.stages import audit_available, detector_choices
from anonymotion.web.sweeper import Sweeper, clear_incoming
from anonymotion.web.views import job_file, job_to_api, stored_file
from anonymotion.web.worker import Runner, delete_original

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
NOT_FOUND = "No such job. It may have expired and been deleted."
METHOD_LABELS = {
    "blur": "Face blur", "replace": "Face replaced by a synthetic face (keeps pose detectors working)",
    "pixelate": "Face pixelate", "block": "Face solid block",
    "head": "Head blur (from pose keypoints)", "body-blur": "Whole body blur", "body-pixelate": "Whole body pixelate",
    "body-block": "Whole body solid", "lowres": "Low resolution (whole frame)", "skeleton": "Skeleton only (no image)",
}
LEVEL_LABELS = {1: "Standard (default)", 2: "Strong", 3: "Stronger", 4: "Maximum"}
INTERRUPTED = "interrupted by a server restart; its partial files were removed. Retry to run it again."


class AnonymizeRequest(BaseModel):
    """The choices of the Anonymize step."""

    method: str = Field("blur", description="anonymization method, one of GET /api/methods")
    level: int = Field(1, ge=1, le=4, description="strength: 1 standard (the library default), 2 strong, 3 stronger, 4 maximum")
    shape: Literal["ellipse", "rect"] = Field("ellipse", description="shape of each anonymized region")
    keep_audio: bool = Field(False, description="re-encode the audio track instead of dropping it")
    accept_damaged: bool = Field(False, description="anonymize a video the decoder reports damaged (refused by "
                                                    "default), every damaged frame blurred whole")
    test: bool = Field(False, description="videos: run the Test (for the most visible person) right after")

    detector: str | None = Field(None, description="face detector (AnonymizeConfig.detector): centerface, yunet, "
                                                   "blazeface, centerface-ms or a comma list of them; "
                                                   "null = the library default")


class TestRequest(BaseModel):
    """The choice of the Test step."""

    person: int | None = Field(None, ge=1, description="id of the person to measure (see `persons` of the job); "
                                                      "default: the most visible one")


def available_methods() -> list[dict[str, str]]:
    """Methods offered on the page (the re-encode control is not an anonymization)."""
    from anonymotion.methods.registry import METHODS, method_class
    names = [n for n in METHODS if n != "reencode"]
    names.sort(key=lambda n: (list(METHOD_LABELS).index(n) if n in METHOD_LABELS else len(METHOD_LABELS), n))
    return [{"name": n, "label": METHOD_LABELS.get(n, n.replace("_", " ").replace("-", " ").capitalize()),
             "levels": method_class(n).level_param is not None} for n in names]



def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for ``settings`` (default: flags-free :func:`load_settings`)."""
    settings = settings or load_settings()
    store = JobStore(settings.db_path)
    runner = Runner(store, settings.jobs_dir, settings.workers, settings.keep_original)
    sweeper = Sweeper(store, settings)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    token = settings.access_token

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prepare_data_dir(settings, store)
        sweeper.start()
        log.info("serving; data in %s, %d worker(s), retention %.1f h", settings.data_dir, settings.workers,
                 settings.retention_seconds / 3600)
        try:
            yield
        finally:
            sweeper.stop()
            runner.shutdown()

    app = FastAPI(title="anonymotion", version=_version(),
                  description="De-identify videos of people and test that the motion data survived. "
                              "POST and DELETE requests need the CSRF token from GET /api/session in the "
                              "X-CSRF-Token header (uploads may send it as the `csrf_token` form field instead), "
                              "or an `Authorization: Bearer` access token when one is configured.",
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(security.SecurityHeaders)
    app.state.settings, app.state.store, app.state.runner = settings, store, runner
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def require_access(request: Request) -> None:
        if not security.authorized(request, token):
            raise HTTPException(status_code=401, detail="An access token is required.",
                                headers={"WWW-Authenticate": "Bearer"})

    def require_csrf(request: Request) -> None:
        security.check_csrf(request, token)

    def get_job(job_id: str) -> Job:
        job = store.get(job_id)
        if job is None:
            raise HTTPException(status_code=404, detail=NOT_FOUND)
        return job

    # --- pages ---------------------------------------------------------------------------------

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        csrf = security.csrf_cookie(request) or security.new_csrf_token()
        context.update(csrf_token=csrf, token_required=token is not None, settings=settings,
                       detectors=detector_choices(),
                       max_upload_mb=settings.max_upload_bytes / 1024**2,
                       retention_hours=settings.retention_seconds / 3600)
        response = templates.TemplateResponse(request, name, context, status_code=status)
        if security.csrf_cookie(request) != csrf:
            response.set_cookie(security.CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        if not security.authorized(request, token):
            return render(request, "login.html", 401)
        return render(request, "index.html", job=None, methods=available_methods(), levels=LEVEL_LABELS)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False, name="job_page")
    def job_page(request: Request, job_id: str) -> HTMLResponse:
        if not security.authorized(request, token):
            return render(request, "login.html", 401)
        job = store.get(job_id)
        if job is None:
            return render(request, "index.html", 404, job=None, methods=available_methods(), levels=LEVEL_LABELS,
                          error=NOT_FOUND)
        return render(request, "index.html", job=job, api=job_to_api(job, request, settings),
                      methods=available_methods(), levels=LEVEL_LABELS, audit_available=audit_available())

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        security.check_csrf(request, None, form_value=str(form.get("csrf_token", "")))
        given = str(form.get("token", ""))
        if token is None or not hmac.compare_digest(given.encode(), token.encode()):
            return render(request, "login.html", 401, error="That access token is not correct.")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(security.AUTH_COOKIE, security.session_value(token), httponly=True,
                            samesite="strict", path="/")
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # --- API -----------------------------------------------------------------------------------

    api = APIRouter(prefix="/api", dependencies=[Depends(require_access)])

    @api.get("/session", summary="CSRF token for scripts; sets the matching cookie")
    def session(request: Request) -> JSONResponse:
        csrf = security.csrf_cookie(request) or security.new_csrf_token()
        response = JSONResponse({"csrf_token": csrf, "header": "X-CSRF-Token",
                                 "max_upload_bytes": settings.max_upload_bytes,
                                 "retention_seconds": settings.retention_seconds})
        response.set_cookie(security.CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
        return response

    @api.get("/methods", summary="Anonymization methods and strength levels")
    def methods() -> dict[str, Any]:
        return {"methods": available_methods(), "levels": LEVEL_LABELS, "shapes": ["ellipse", "rect"],
                "detectors": detector_choices()}

    @api.post("/jobs", status_code=201,
              summary="Upload a video or image (multipart field 'file', or the raw bytes as the body)",
              description="An optional `label` (query parameter or multipart field: 1-32 letters, digits, '-' "
                          "or '_', e.g. a case code) names the downloads `<label>_anonymized.mp4` ...; without "
                          "one the job gets a random 6-character code. The CSRF token goes in the X-CSRF-Token "
                          "header or the `csrf_token` multipart field.",
              responses={413: {"description": "larger than the upload limit"},
                         422: {"description": "not a decodable video or image, or a bad label"}},
              openapi_extra={"requestBody": {"content": {
                  "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                      "file": {"type": "string", "format": "binary"}, "label": {"type": "string"},
                      "csrf_token": {"type": "string"}}}},
                  "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def create_job(request: Request, label: str | None = None) -> JSONResponse:
        header_checked = security.bearer_ok(request, token) or security.CSRF_HEADER in request.headers
        if header_checked:
            security.check_csrf(request, token)
        elif not security.same_origin(request):
            raise HTTPException(status_code=403, detail="Cross-site request refused.")
        if label is not None:
            _check_label(label)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_upload_bytes + uploads.MULTIPART_OVERHEAD:
            raise HTTPException(status_code=413, detail=_too_large(settings))
        try:
            path, size, fields = await uploads.receive(request.stream(), request.headers.get("content-type", ""),
                                                       settings.incoming_dir, settings.max_upload_bytes)
        except uploads.TooLarge:
            raise HTTPException(status_code=413, detail=_too_large(settings)) from None
        except uploads.BadUpload as exc:
            raise HTTPException(status_code=400, detail=f"Upload refused: {exc}.") from None
        try:
            if not header_checked:  # the form field, checked once the body was read
                security.check_csrf(request, token, form_value=fields.get("csrf_token", ""))
            if label is None and fields.get("label"):
                label = _check_label(fields["label"].strip())
            media = await run_in_threadpool(uploads.inspect, path)
        except InputError as exc:
            path.unlink(missing_ok=True)
            log.info("upload refused (%d bytes): %s", size, exc.problem)
            raise HTTPException(status_code=422, detail=f"This file cannot be used: {exc.problem}.") from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        job = await run_in_threadpool(_store_upload, settings, store, path, media, label or files.random_label())
        job_id = job.id
        log.info("job %s…: %s upload accepted (%d bytes)", job_id[:6], media.kind, size)
        return JSONResponse(job_to_api(job, request, settings), status_code=201,
                            headers={"Location": str(request.url_for("get_job_state", job_id=job_id))})

    @api.get("/jobs/{job_id}", name="get_job_state", summary="State, progress and downloads of a job")
    def job_state(request: Request, job_id: str) -> dict[str, Any]:
        return job_to_api(get_job(job_id), request, settings)

    @api.delete("/jobs/{job_id}", status_code=204, dependencies=[Depends(require_csrf)],
                summary="Delete a job and all its files now")
    def delete_job(job_id: str) -> Response:
        job = get_job(job_id)
        if job.busy:
            raise HTTPException(status_code=409, detail="The job is still running; delete it when it finished.")
        store.delete_job(job_id)
        shutil.rmtree(files.job_dir(settings.jobs_dir, job_id), ignore_errors=True)
        return Response(status_code=204)

    @api.delete("/jobs/{job_id}/original", status_code=204, dependencies=[Depends(require_csrf)],
                summary="End the session: delete the original upload now (the results stay until retention)")
    def delete_original_now(job_id: str) -> Response:
        job = get_job(job_id)
        if job.busy:
            raise HTTPException(status_code=409, detail="The job is still running; delete it when it finished.")
        if job.original is not None:
            delete_original(store, job_id, files.job_dir(settings.jobs_dir, job_id), job.original)
        return Response(status_code=204)

    @api.post("/jobs/{job_id}/anonymize", status_code=202, dependencies=[Depends(require_csrf)],
              summary="Start (or retry) anonymization with the given choices (and, with test: true, the Test)")
    def start_anonymize(request: Request, job_id: str, choice: AnonymizeRequest) -> dict[str, Any]:
        job = get_job(job_id)
        names = [m["name"] for m in available_methods()]
        if choice.method not in names:
            raise HTTPException(status_code=422, detail=f"Unknown method {choice.method!r}; choose one of "
                                                        f"{', '.join(names)}.")
        if choice.detector is not None:
            from anonymotion.detect.faces import detector_names

            try:
                detector_names(choice.detector)
            except ValueError as exc:
                raise HTTPException(status_code=422, detail=str(exc)) from None
        _need_original(job)
        params = choice.model_dump(exclude={"test"})
        stages = [("anonymize", params)] + ([("test", {"person": None})]
                                            if choice.test and job.media.kind == "video" else [])
        if not runner.submit(job_id, stages, job.media.kind, job.media.frame_estimate):
            raise HTTPException(status_code=409, detail="This job is already being processed.")
        return job_to_api(get_job(job_id), request, settings)

    @api.post("/jobs/{job_id}/test", status_code=202, dependencies=[Depends(require_csrf)],
              summary="Start (or retry) the test for a person: pose on original, anonymized and control, "
                      "metrics, verdicts, skeleton video")
    def start_test(request: Request, job_id: str, choice: TestRequest | None = None) -> dict[str, Any]:
        job = get_job(job_id)
        if job.media.kind != "video":
            raise HTTPException(status_code=409, detail="The pose test needs a video; images are anonymized only.")
        if not job.done("anonymize"):
            raise HTTPException(status_code=409, detail="Anonymize the video before testing it.")
        _need_original(job)
        person = choice.person if choice is not None else None
        test = job.task("test")
        known = [p["id"] for p in (test.result or {}).get("persons", [])] if test is not None and test.result else None
        if person is not None and known is not None and person not in known:
            raise HTTPException(status_code=422, detail=f"There is no person {person}; the persons found are "
                                                        f"{', '.join(map(str, known)) or 'none'}.")
        if not runner.submit(job_id, [("test", {"person": person})], job.media.kind, job.media.frame_estimate):
            raise HTTPException(status_code=409, detail="This job is already being processed.")
        return job_to_api(get_job(job_id), request, settings)

    @api.get("/jobs/{job_id}/files/{key}", name="download",
             summary="Download a result: " + ", ".join(files.DOWNLOADS))
    def download(job_id: str, key: str, inline: bool = False) -> FileResponse:
        job = get_job(job_id)
        if key not in files.DOWNLOADS:
            raise HTTPException(status_code=404, detail="No such file.")
        path = job_file(settings, job, stored_file(job, key))
        return FileResponse(path, media_type=files.download_media_type(key, job.media.kind, job.media.suffix),
                            filename=files.download_name(key, job.media.kind, job.media.suffix, job.label),
                            content_disposition_type="inline" if inline else "attachment")

    from anonymotion.web.routes_review import review_routes

    review_routes(api, settings, get_job, require_csrf)
    app.include_router(api)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/") or request.method != "GET":
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return render(request, "index.html", exc.status_code, job=None, methods=available_methods(),
                      levels=LEVEL_LABELS, error=str(exc.detail))

    return app


def prepare_data_dir(settings: Settings, store: JobStore) -> None:
    """Create the data folders (owner-only), the database, and fail every interrupted task.

    A task that was queued or running when the server stopped cannot be resumed: it is
    marked failed (the page offers a retry) and its half-written files are removed.
    """
    for folder in (settings.data_dir, settings.jobs_dir, settings.incoming_dir):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    store.init()
    clear_incoming(settings)
    for job_id, stage in store.interrupt_active(INTERRUPTED):
        job = store.get(job_id)
        files.clear_stage(files.job_dir(settings.jobs_dir, job_id), stage, job.original if job else None)
        log.warning("job %s…: %s was interrupted by the restart; marked failed", job_id[:6], stage)


def _check_label(label: str) -> str:
    try:
        return files.check_label(label)
    except files.LabelError as exc:
        raise HTTPException(status_code=422, detail=f"Label refused: {exc}.") from None


def _store_upload(settings: Settings, store: JobStore, path: Path, media: Any, label: str) -> Job:
    """Record the job, then move the decoded upload into its folder as ``original<suffix>``.

    The row comes first, so the sweeper never sees the folder as an orphan.
    """
    job_id = new_job_id()
    original = files.original_name(media.suffix)
    job = store.create_job(job_id, media, original, settings.retention_seconds, label=label)
    folder = files.job_dir(settings.jobs_dir, job_id)
    try:
        folder.mkdir(mode=0o700, parents=True)
        os.replace(path, folder / original)
    except OSError:
        store.delete_job(job_id)
        path.unlink(missing_ok=True)
        raise
    return job


def _need_original(job: Job) -> None:
    if job.original is None:
        raise HTTPException(status_code=409, detail="The original upload was deleted after processing; "
                                                    "upload the file again to process it differently.")


def _too_large(settings: Settings) -> str:
    return f"The file is larger than the upload limit of {settings.max_upload_bytes / 1024**2:.0f} MB."


def _version() -> str:
    from anonymotion import __version__

    return __version__
