"""Calibrated multi-view 3D: calibration readers, triangulation, cross-view person association.

Units: world millimetres, pixels of the upright video frames; see :mod:`.camera`.
Public API (imported lazily so that ``import anonymotion.multiview`` stays cheap)::

    from anonymotion.multiview import read_calibration, triangulate
    cal = read_calibration("calibration.qca.txt")           # Calibration of Camera objects
    result = triangulate(["cam01.mp4", "cam02.mp4", ...], cal)  # MultiviewResult (mm)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Camera": "camera", "Calibration": "calibration", "read_calibration": "calibration",
    "write_calibration": "calibration", "triangulate_points": "triangulation", "PointsResult": "triangulation",
    "Person2D": "association", "EpipolarAssociator": "association", "MultiviewTriangulator": "tracking",
    "TriangulationConfig": "tracking", "MultiviewResult": "results", "Person3D": "results",
    "triangulate": "run", "write_multiview_outputs": "outputs", "iter_synchronised": "sync",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'anonymotion.multiview' has no attribute {name!r}")
    return getattr(importlib.import_module(f"anonymotion.multiview.{module}"), name)
