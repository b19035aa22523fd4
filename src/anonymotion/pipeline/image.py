"""Anonymizing one image (jpg, png): the same detection, methods and sidecars as a video."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from anonymotion.config import AnonymizeConfig
from anonymotion.detect.sources import make_sources
from anonymotion.errors import ConfigError
from anonymotion.io.images import read_image, write_image
from anonymotion.io.writer import commit_file, temp_path_for
from anonymotion.pipeline.anonymize import AnonymizeResult, Progress, build_methods, method_sources
from anonymotion.pipeline.manifest import write_manifest
from anonymotion.pipeline.outputs import check_output, sidecar
from anonymotion.pipeline.stream import select
from anonymotion.types import Regions


def anonymize_image(path: Path, output: Path, config: AnonymizeConfig,
                     progress: Progress | None) -> AnonymizeResult:
    """Images: detect, apply, write pixels only (no metadata), plus regions and manifest.

    Options that only make sense for videos are refused rather than ignored.
    """
    if config.recoverable:
        raise ConfigError(path, "--recoverable works on videos only; images cannot be restored from a sidecar")
    if config.audit:
        raise ConfigError(path, "--audit works on videos only; check the anonymized image by eye")
    if config.keep_audio:
        raise ConfigError(path, "--keep-audio does not apply to an image")
    check_output(path, output)
    rgb = read_image(path)
    methods = build_methods([config.method], config)
    method = methods[config.method]
    names = method_sources(method, config)
    try:
        sources = make_sources(names, config)
    except ValueError as exc:
        raise ConfigError(None, str(exc)) from None
    try:
        h, w = rgb.shape[:2]
        regions = select({n: s.detect(rgb, 0.0) for n, s in zip(names, sources)}, names, h, w)
    finally:
        for s in sources:
            s.close()
    ids = np.arange(len(regions), dtype=np.int64)
    regions = Regions(regions.boxes, regions.scores, ids, regions.sources, regions.mask)
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
                             faces=len(regions), held=0, tracks=len(regions))
    info = {"width": w, "height": h, "frames": 1, "streams": ["image"]}
    write_manifest(result, config, info, 0.0)
    return result
