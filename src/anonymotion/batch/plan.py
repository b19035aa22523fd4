"""Planning a batch: which inputs, which outputs (mirroring the tree), which parameters.

:func:`plan_tasks` turns INPUT_DIR (or a COCO annotation file) into :class:`Task` objects,
refusing two inputs that would share an output; :func:`task_parameters` is what a rerun
compares to decide whether a done input must be redone.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from anonymotion.batch.tasks import Task
from anonymotion.config import AnonymizeConfig, StudyOptions
from anonymotion.errors import ConfigError
from anonymotion.io.images import is_image
from anonymotion.io.naming import find_media, output_name, refuse_collisions

EVAL_DIR = "_evaluation"


def parse_methods(text: str | list[str]) -> list[str]:
    """``"blur,pixelate"`` -> ["blur", "pixelate"] (order kept, duplicates dropped)."""
    items = text if isinstance(text, list) else text.split(",")
    methods = list(dict.fromkeys(m.strip() for m in items if m.strip()))
    if not methods:
        raise ConfigError(None, "--method needs at least one method name")
    return methods


def check_methods(methods: list[str], config: AnonymizeConfig) -> None:
    """Build each method once here, so an unknown name, a bad parameter or an option none of the
    methods uses fails before any work (the same check as the pipeline's)."""
    from anonymotion.methods.registry import check_method_options, make_method

    check_method_options(methods, config.method_params())
    for m in methods:
        make_method(m, **config.with_overrides(method=m).method_params()).close()


def _output_for(output_dir: Path, rel: Path, methods: list[str], keep_name: bool) -> dict[str, Path]:
    name = rel.name if keep_name else output_name(rel)
    if len(methods) == 1:
        return {methods[0]: output_dir / rel.parent / name}
    return {m: output_dir / m / rel.parent / name for m in methods}


def plan_tasks(input_dir: Path, output_dir: Path, config: AnonymizeConfig, methods: list[str], *,
               evaluate: bool, audit: bool, options: StudyOptions | None = None,
               coco_images: list[Any] | None = None) -> tuple[list[Task], list[str]]:
    """Every input under ``input_dir`` (or every image the COCO file lists) as a Task.

    Files under ``output_dir`` are never inputs. Returns (tasks, warnings).
    """
    warnings: list[str] = []
    tasks: list[Task] = []
    out_res = output_dir.resolve()
    if coco_images is not None:
        listed = set()
        for img in coco_images:
            rel = Path(img.file_name)
            listed.add(rel.as_posix())
            tasks.append(Task(key=rel.as_posix(), input=input_dir / rel, kind="coco",
                              outputs=_output_for(output_dir, rel, methods, keep_name=True), config=config,
                              coco=img))
        extra = [p for p in find_media(input_dir, True) if is_image(p)
                 and p.relative_to(input_dir).as_posix() not in listed and not _under(p, out_res)]
        if extra:
            warnings.append(f"{len(extra)} image(s) in {input_dir} are not in the annotation file and were "
                            f"not processed (e.g. {extra[0].relative_to(input_dir)})")
        return tasks, warnings
    for path in find_media(input_dir, True):
        if _under(path, out_res):
            continue
        rel = path.relative_to(input_dir)
        kind = "image" if is_image(path) else "video"
        eval_dir = (output_dir / EVAL_DIR / rel.parent / rel.stem) if evaluate and kind == "video" else None
        tasks.append(Task(key=rel.as_posix(), input=path, kind=kind,
                          outputs=_output_for(output_dir, rel, methods, keep_name=False), config=config,
                          eval_dir=eval_dir, audit=audit and kind == "video",
                          options=options or StudyOptions()))
    refuse_collisions([(t.input, o) for t in tasks for o in t.outputs.values()])
    return tasks, warnings


def _under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def task_parameters(task: Task, methods: list[str], evaluate: bool, audit: bool) -> dict[str, Any]:
    """Everything that shapes a task's outputs; its fingerprint decides whether a rerun redoes it."""
    params: dict[str, Any] = {"config": task.config.to_json(), "methods": methods}
    params["config"].pop("method", None)
    params["config"].pop("audit", None)
    if task.kind == "video":
        params.update(evaluate=evaluate, audit=audit, study=asdict(task.options) if evaluate else None)
    if task.coco is not None:
        params["coco"] = task.coco.to_json()
    return params
