"""Dataset runs: ``anonymotion batch`` over folders on a Dask cluster, resumable, with a report.

- :mod:`anonymotion.batch.runner`: plan, skip what is done, run on Dask, record (:func:`run_batch`);
- :mod:`anonymotion.batch.tasks`: the work done for one input inside a worker;
- :mod:`anonymotion.batch.state`: the resumable manifest ``OUTPUT_DIR/batch_manifest.json``;
- :mod:`anonymotion.batch.report`: ``report.html`` and CSV tables over the dataset;
- :mod:`anonymotion.batch.coco`: head regions from COCO keypoint annotations.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_batch", "BatchSummary"]


def __getattr__(name: str) -> Any:  # lazy: importing the package must not import Dask
    if name in __all__:
        from anonymotion.batch import runner

        return getattr(runner, name)
    raise AttributeError(name)
