"""A job's state as the server and the page see it: the upload's media facts, its tasks, progress.

Plain frozen dataclasses read from the store (:mod:`anonymotion.web.jobs`); progress by phase
is computed by :mod:`anonymotion.web.progress`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STAGES = ("anonymize", "test")
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class Media:
    """What decoding the upload found. Technical facts only: no container tags are kept."""

    kind: str  # "video" or "image"
    suffix: str  # suffix of the stored original, e.g. ".mp4", ".png"
    width: int  # px
    height: int  # px
    frames: int  # 1 for images; 0 when a video's container does not say
    fps: float  # frames/s (0 for images)
    duration: float  # seconds (0 for images)
    has_audio: bool
    bytes: int  # size of the upload

    @property
    def frame_estimate(self) -> int:
        """Frames the container states, else duration × fps (0 when neither is known)."""
        return self.frames or int(round(self.duration * self.fps))


@dataclass(frozen=True)
class Task:
    """One stage of a job. phases: see :mod:`anonymotion.web.progress`; times are Unix seconds."""

    stage: str
    state: str
    params: dict[str, Any]
    attempt: str
    phases: list[dict[str, Any]]
    queued_at: float | None
    started_at: float | None
    finished_at: float | None
    error: str | None
    result: dict[str, Any] | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def to_api(self, now: float | None = None) -> dict[str, Any]:
        """State, the current phase's frames, every phase, percent (cost-weighted) and ETA of this stage."""
        from anonymotion.web.progress import current, estimate

        percent, eta = estimate(self.phases, now)
        if self.state == "done":
            percent, eta = 100.0, None
        elif self.state != "running":
            eta = None
        cur = current(self.phases) if self.state == "running" else None
        return {
            "state": self.state,
            "params": self.params,
            "phase": cur["label"] if cur else None,
            "done": cur["done"] if cur else 0,
            "total": cur["total"] if cur else 0,
            "phases": [phase_to_api(p, self.state) for p in self.phases],
            "percent": round(percent, 1),
            "eta_seconds": None if eta is None else round(eta, 1),
            "error": self.error,
            "retry": self.state == "failed",
            "result": self.result,
        }


def phase_to_api(p: dict[str, Any], task_state: str) -> dict[str, Any]:
    """A phase as the page shows it: name, label, frames done/total and waiting|running|done|stopped."""
    if p.get("finished") is not None or task_state == "done":
        state = "done"
    elif task_state == "failed":
        state = "stopped"
    elif p.get("started") is not None:
        state = "running"
    else:
        state = "waiting"
    return {"name": p["name"], "label": p["label"], "done": p["total"] if state == "done" else p["done"],
            "total": p["total"], "state": state}


@dataclass(frozen=True)
class Job:
    """One upload and its tasks (keyed by stage)."""

    id: str
    created_at: float
    expires_at: float
    media: Media
    original: str | None
    label: str = ""
    tasks: dict[str, Task] = field(default_factory=dict)

    def task(self, stage: str) -> Task | None:
        return self.tasks.get(stage)

    def done(self, stage: str) -> bool:
        t = self.tasks.get(stage)
        return t is not None and t.state == "done"

    @property
    def busy(self) -> bool:
        return any(t.active for t in self.tasks.values())

    def progress(self, now: float | None = None) -> dict[str, Any] | None:
        """Progress of the whole run in flight (anonymize and a chained test): phases, percent, ETA."""
        from anonymotion.web.progress import current, estimate

        active = [self.tasks[s] for s in STAGES if s in self.tasks and self.tasks[s].active]
        if not active:
            return None
        # the run began with the earliest stage queued together with the first active one
        queued = active[0].queued_at
        tasks = [self.tasks[s] for s in STAGES if s in self.tasks
                 and (self.tasks[s].active or (queued is not None and self.tasks[s].queued_at == queued))]
        phases = [p for t in tasks for p in t.phases]
        percent, eta = estimate(phases, now)
        running = any(t.state == "running" for t in tasks)
        cur = current(phases)
        return {"phases": [phase_to_api(p, t.state) for t in tasks for p in t.phases],
                "phase": cur["label"] if cur else None, "percent": round(percent, 1),
                "eta_seconds": None if eta is None or not running else round(eta, 1),
                "queued": not running}
