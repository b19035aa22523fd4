"""Anonymizing one image (jpg, png): the same detection, methods and sidecars as a video."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from anonymotion.config import AnonymizeConfig
from anonymotion.detect.sources import make_sources
from anonymotion.errors import ConfigError, InputError
from anonymotion.io.images import read_image, write_image
from anonymotion.io.writer import commit_file, temp_path_for
from anonymotion.pipeline.anonymize import AnonymizeResult, Progress, build_methods, method_sources
from anonymotion.pipeline.manifest import write_manifest
from anonymotion.pipeline.outputs import check_output, output_files, sidecar
from anonymotion.pipeline.review import nothing_found
from anonymotion.io.temps import remove_dead_temps
from anonymotion.pipeline.stream import select


def anonymize_image(path: Path, output: Path, config: AnonymizeConfig, progress: Progress | None = None, *,
                    regions: Regions | None = None, expected_size: tuple[int, int] | None = None,
                    note: dict | None = None) -> AnonymizeResult:
    """Images: detect, apply, write pixels only (no metadata), plus regions and manifest.

    regions: regions given by the caller (e.g. heads from COCO annotations) instead of running
    the method's region sources; expected_size: (width, height) the regions were made for (an
    image of another size is refused); note: extra facts for the manifest (``"source"`` key).
    Options that only make sense for videos are refused rather than ignored.
    """
    if config.recoverable:
        raise ConfigError(path, "--recoverable works on videos only; images cannot be restored from a sidecar")
    if config.audit:
        raise ConfigError(path, "--audit works on videos only; check the anonymized image by eye")
    if config.keep_audio:
        raise ConfigError(path, "--keep-audio does not apply to an image")
    check_output(path, output)
    remove_dead_temps(output_files(output))
    rgb = read_image(path)
    h, w = rgb.shape[:2]
    if expected_size is not None and (w, h) != tuple(expected_size):
        raise InputError(path, f"image is {w}x{h} px but its regions were made for {expected_size[0]}x"
                               f"{expected_size[1]}; they would not fit it")
    methods = build_methods([config.method], config)
    method = methods[config.method]
    review = []
    if regions is None:
        names = method_sources(method, config)
        regions = _detect(rgb, names, config)
        if names and not len(regions) and not (regions.mask is not None and regions.mask.any()):
            review.append(nothing_found(names, 1))
    ids = np.arange(len(regions), dtype=np.int64)
    regions = replace(regions, track_ids=ids)
    try:
        anonymized = method.apply(rgb, regions, 0.0)
    except BaseException:
        method.abort()
        raise
    method.close()
    write_image(output, anonymized)
    regions_path = sidecar(output, "regions.jsonl")
    tmp = temp_path_for(regions_path)
    tmp.write_text(json.dumps({"frame": 0, "t": 0.0, "regions": regions.to_records()}) + "\n", encoding="utf-8")
    commit_file(tmp, regions_path)
    if progress is not None:
        progress(1, 1)
    result = AnonymizeResult(input=path, output=output, method=config.method, regions_path=regions_path,
                             manifest_path=sidecar(output, "manifest.json"), frames=1,
                             faces=len(regions), held=0, tracks=len(regions), frames_in=1, review=review)
    info = {"width": w, "height": h, "frames": 1, "streams": ["image"]}
    write_manifest(result, config, info, 0.0, note=note)
    return result


def _detect(rgb: np.ndarray, names: tuple[str, ...], config: AnonymizeConfig) -> Regions:
    """The regions of the named sources in one image."""
    try:
        sources = make_sources(names, config)
    except ValueError as exc:
        raise ConfigError(None, str(exc)) from None
    try:
        h, w = rgb.shape[:2]
        return select({n: s.detect(rgb, 0.0) for n, s in zip(names, sources)}, names, h, w)
    finally:
        for s in sources:
            s.close()
