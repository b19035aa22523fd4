"""Registers the research methods and their region sources (imported lazily by the registry).

Methods: ``head`` (pose-guided head blur), ``body-blur`` / ``body-pixelate`` / ``body-block``
(person mask), ``lowres`` (whole frame at 80 x 60), ``skeleton`` (pose skeleton only).
Region sources: ``head`` (head box from pose keypoints) and ``body`` (person mask). The
modules below import no model at import time; models load when a source or method is built.
"""

from __future__ import annotations

from anonymotion.anonymize.body import BodyBlock, BodyBlur, BodyPixelate
from anonymotion.anonymize.head import HeadBlur
from anonymotion.anonymize.lowres import LowRes
from anonymotion.anonymize.methods import register
from anonymotion.anonymize.skeleton import Skeleton
from anonymotion.detect.bodies import BodySource
from anonymotion.detect.heads import HeadSource
from anonymotion.detect.sources import register_source

for _method in (HeadBlur, BodyBlur, BodyPixelate, BodyBlock, LowRes, Skeleton):
    register(_method.name, _method)

register_source("head", HeadSource)
register_source("body", BodySource)
