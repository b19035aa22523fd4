"""When an anonymization needs a person to look at it: "absent" is not "could not tell".

A video in which the face detector finds nothing is either a video without faces or one
whose faces it could not see (too small, turned away, blurred by motion). The pipeline cannot
tell these apart, so it says so: the result and the manifest carry ``review: needed`` with the
reason, the CLI warns (``--strict``: exit code 3), batch and web show it.

Rules (per method, over the region sources it uses):

- the method covers regions (faces, pose heads, person masks) and none was found in any frame;
- the pose model ran (source ``head``) and face regions (detected or held by the tracker) were
  present in fewer than :data:`FEW_FACES` of the frames in which it saw a person.
"""

from __future__ import annotations

from collections import Counter

from anonymotion.types import Regions

#: Faces present in fewer than this share of the frames with a pose-model person count as "far fewer".
FEW_FACES = 0.5


class Coverage:
    """Per region source: frames with at least one region, and regions found by a detector.

    Call :meth:`add` once per frame with that frame's final regions by source name.
    """

    def __init__(self) -> None:
        self.frames = 0
        self.with_region: Counter[str] = Counter()
        self.detected: Counter[str] = Counter()

    def add(self, found: dict[str, Regions]) -> None:
        self.frames += 1
        for name, regions in found.items():
            has_mask = regions.mask is not None and bool(regions.mask.any())
            if len(regions) or has_mask:
                self.with_region[name] += 1
            self.detected[name] += sum(1 for s in regions.sources if s != "held") + int(has_mask)

    def reasons(self, sources: tuple[str, ...], pose_ran: bool) -> list[str]:
        """Why the output of a method using ``sources`` needs review (empty list: it does not)."""
        if not sources or not self.frames:
            return []
        reasons = []
        if not any(self.detected[s] for s in sources):
            reasons.append(nothing_found(sources, self.frames))
        if pose_ran and "faces" in sources:
            people, faces = self.with_region["head"], self.with_region["faces"]
            if people and faces < FEW_FACES * people:
                reasons.append(f"faces found in only {faces} of the {people} frames in which the pose model "
                               f"saw a person")
        return reasons


def nothing_found(sources: tuple[str, ...], frames: int) -> str:
    """The review reason when the sources found nothing in ``frames`` frames (1: an image)."""
    what = "face" if tuple(sources) == ("faces",) else f"region to anonymize ({', '.join(sources)})"
    where = "in the image" if frames == 1 else f"in {frames} frames"
    return f"no {what} found {where}: faces may be too small, turned away, hidden or absent; check it by eye"
