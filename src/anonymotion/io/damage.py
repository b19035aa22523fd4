"""What the decoder reported as damaged while reading one video.

A flipped bit in a compressed video rarely stops the decoder: FFmpeg conceals the broken
macroblocks (copies or smears neighbouring pixels) and marks the frame corrupt
(``AV_FRAME_FLAG_CORRUPT``, PyAV's ``VideoFrame.is_corrupt``); a packet it cannot decode at
all is dropped and its frame is missing. Such a frame shows smeared blocks where a face may
be, so a face detector cannot be trusted on it. Measured on ``lab_single/cam01.mp4`` (H.264,
100 frames): 40 of 40 copies with 1 or 3 bits flipped at seeded positions past the header
had at least one frame marked corrupt (one per flipped bit), while FFmpeg logged an error for
only 24 of them; VP9 drops the broken packet instead (caught as a lost packet). Intra-only
codecs without error resilience (MJPEG) decode damaged data silently: no decoder can tell.

Damage also spreads: later frames that predict from a damaged one carry part of its smear
until the next keyframe, in lighter form; the frames counted here are those the decoder
itself flagged, plus the first frame decoded after a lost packet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONCEALED = "concealed"  # the decoder found errors in this frame's data and concealed them
AFTER_LOSS = "after lost data"  # first frame decoded after a packet the decoder rejected


@dataclass
class DecodeDamage:
    """Damaged and lost frames of one decode, in decode order.

    frames: (index, t seconds, reason) of each damaged frame that was decoded (reason
    :data:`CONCEALED` or :data:`AFTER_LOSS`). lost: packets the decoder rejected (frames
    missing from the output); lost_t: the time (s) of each, estimated from its timestamp.
    """

    frames: list[tuple[int, float, str]] = field(default_factory=list)
    lost: int = 0
    lost_t: list[float] = field(default_factory=list)

    def add_frame(self, index: int, t: float, reason: str) -> None:
        self.frames.append((int(index), float(t), reason))

    def add_lost(self, t: float) -> None:
        self.lost += 1
        self.lost_t.append(float(t))

    @property
    def count(self) -> int:
        """Damaged frames: decoded ones the decoder flagged plus frames lost with their packet."""
        return len(self.frames) + self.lost

    def __bool__(self) -> bool:
        return self.count > 0

    @property
    def first_t(self) -> float | None:
        """Seconds from the start to the first damaged or lost frame (None when there is none)."""
        times = [t for _, t, _ in self.frames] + self.lost_t
        return min(times) if times else None

    def describe(self) -> str:
        """One line: how many frames, of which kind, and where the damage starts."""
        kinds = []
        concealed = sum(1 for f in self.frames if f[2] == CONCEALED)
        if concealed:
            kinds.append(f"{concealed} with errors the decoder had to conceal")
        if self.lost:
            kinds.append(f"{self.lost} lost (undecodable data)")
        after = len(self.frames) - concealed
        if after:
            kinds.append(f"{after} decoded after lost data")
        first = self.first_t
        where = f", first at {first:.2f} s" if first is not None else ""
        return f"damaged video: {self.count} damaged frame(s){where} ({'; '.join(kinds)})"

    def runs(self) -> list[dict[str, Any]]:
        """Damaged decoded frames as runs of consecutive indices: {"first", "last", "t_first", "t_last"}."""
        out: list[dict[str, Any]] = []
        for index, t, _ in sorted(self.frames):
            if out and index == out[-1]["last"] + 1:
                out[-1].update(last=index, t_last=round(t, 6))
            else:
                out.append({"first": index, "last": index, "t_first": round(t, 6), "t_last": round(t, 6)})
        return out

    def to_json(self, cover: str | None = None) -> dict[str, Any]:
        """For the manifest: counts, first time, the damaged frames as runs, and how they were covered."""
        first = self.first_t
        return {
            "frames": self.count,
            "concealed": sum(1 for f in self.frames if f[2] == CONCEALED),
            "after_lost_data": sum(1 for f in self.frames if f[2] == AFTER_LOSS),
            "lost": self.lost,
            "first_t": round(first, 6) if first is not None else None,
            "runs": self.runs(),
            "cover": cover,
        }
