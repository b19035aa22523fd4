"""One method's output files: the video writer, the regions log, and their names.

``clip.mov`` -> ``clip_anonymized.mp4`` (images keep their format) with the sidecars
``clip_anonymized.regions.jsonl``, ``.manifest.json`` (and ``.recovery``, ``.keypoints.csv``).
Everything is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from anonymotion.config import AnonymizeConfig
from anonymotion.errors import ConfigError
from anonymotion.io.naming import output_name
from anonymotion.io.writer import VideoWriter, commit_file, ensure_writable_dir, temp_path_for
from anonymotion.methods.base import Method
from anonymotion.types import Frame, Regions, VideoInfo


def default_output(path: Path) -> Path:
    """``clip.mov`` -> ``clip_anonymized.mp4`` beside it; images keep their format."""
    return path.with_name(output_name(path))


def sidecar(output: Path, kind: str) -> Path:
    """``out.mp4`` -> ``out.<kind>`` (regions.jsonl, manifest.json, recovery)."""
    return output.with_name(f"{output.stem}.{kind}")


def check_output(path: Path, output: Path) -> None:
    if output.exists() and output.resolve() == path.resolve():
        raise ConfigError(output, "output would overwrite the input; choose another output name")
    if output.exists() and output.is_dir():
        raise ConfigError(output, "output is a folder; give a file name for a single input")
    ensure_writable_dir(output.parent)



class MethodOutput:
    """One method's output: its video writer, its regions log and its counts."""

    def __init__(self, name: str, method: Method, output: Path, sources: tuple[str, ...],
                 info: VideoInfo, config: AnonymizeConfig, audio: dict | None) -> None:
        self.name, self.method, self.output, self.sources = name, method, output, sources
        self.frames = self.detected = self.held = 0
        self.tracks: set[tuple[str, int]] = set()
        self.regions_path = sidecar(output, "regions.jsonl")
        self.writer = VideoWriter(output, info.width, info.height, info.time_base, fps=info.fps,
                                  crf=config.crf, preset=config.preset, audio=audio)
        self._tmp = temp_path_for(self.regions_path)
        self._log = open(self._tmp, "w", encoding="utf-8")
        if hasattr(method, "output_csv"):  # the skeleton method writes its keypoints beside the video
            method.output_csv = sidecar(output, "keypoints.csv")  # type: ignore[attr-defined]
            method.fps = info.fps  # type: ignore[attr-defined]

    def apply(self, frame: Frame, regions: Regions) -> np.ndarray:
        """The method's anonymized frame."""
        return self.method.apply(frame.rgb, regions, frame.t)

    def write(self, frame: Frame, regions: Regions, rgb: np.ndarray) -> None:
        self.frames += 1
        self.held += sum(1 for s in regions.sources if s == "held")
        self.detected += sum(1 for s in regions.sources if s != "held")
        self.tracks.update((s, int(i)) for s, i in zip(regions.sources, regions.track_ids) if i >= 0)
        self._log.write(json.dumps({"frame": frame.index, "t": round(frame.t, 6),
                                    "regions": regions.to_records()}) + "\n")
        self.writer.write(rgb, frame.pts if frame.pts is not None else frame.index)

    def close(self) -> None:
        self.writer.close()
        self._log.close()
        commit_file(self._tmp, self.regions_path)
        self.method.close()

    def abort(self) -> None:
        self.writer.abort()
        self._log.close()
        self._tmp.unlink(missing_ok=True)
        self.method.abort()
