"""How visible the worn items are drawn in a stream: the one place for fading.

* The whole outfit fades in when the shopper is found and out when lost (a
  :class:`~tryon.pose.filters.TrackFader`); a still image shows it at once, or not at all.
* While it fades out, the items stay on the body where the shopper was last seen (the
  last solved body), as long as the camera is the same.
* Each part of an item fades in or out as its body part comes into view or leaves it (shoes
  when the feet leave the frame, a ring when its hand is hidden); stills switch at once.

The engine asks, per frame, :meth:`ItemPresentation.outfit_opacity`, then
:meth:`ItemPresentation.body_to_draw`, then (only when it draws) :meth:`part_opacities`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tryon.body.solver import PosedBody
from tryon.catalog.item import Garment
from tryon.deform import part_visible
from tryon.frames import CameraIntrinsics
from tryon.pose.filters import TrackFader


class ItemPresentation:
    """Per-stream fading state. Not thread-safe: the engine's GL thread owns it.

    fade_in_ms, fade_out_ms : the outfit's fade when the shopper is found / lost.
    part_fade_ms : a part's fade as its body part comes into or leaves view.
    part_visible : whether an item's part is seen on a body (``deform.part_visible``;
        replaceable for tests).
    """

    def __init__(
        self,
        fade_in_ms: float = 200.0,
        fade_out_ms: float = 150.0,
        part_fade_ms: float = 120.0,
        part_visible: Callable[[Garment, int, PosedBody], bool] = part_visible,
    ) -> None:
        self.fader = TrackFader(fade_in_ms, fade_out_ms)
        self.part_fade_ms = part_fade_ms
        self._part_visible = part_visible
        self._part_opacity: dict[tuple[str, int], float] = {}
        self._last_part_ms: int | None = None
        self._last_body: PosedBody | None = None

    def reset(self) -> None:
        """A new stream: nothing shown, nothing remembered."""
        self.fader.reset()
        self._part_opacity.clear()
        self._last_part_ms = None
        self._last_body = None

    def outfit_opacity(self, found: bool, timestamp_ms: int | None) -> float:
        """The whole outfit's opacity in [0, 1] this frame (a still: 1 if found, else 0)."""
        if timestamp_ms is None:
            return 1.0 if found else 0.0
        return self.fader.update(found, timestamp_ms)

    def body_to_draw(
        self, solved: PosedBody | None, opacity: float, intrinsics: CameraIntrinsics
    ) -> PosedBody | None:
        """The body to dress this frame: the one just ``solved``; else, while fading out, the
        last one solved with the same camera; else None. Forgets the last body once the
        outfit has faded out."""
        if solved is not None:
            self._last_body = solved
            return solved
        last = self._last_body
        body = last if opacity > 0 and last is not None and last.intrinsics == intrinsics else None
        if opacity == 0:
            self._last_body = None
        return body

    def part_opacities(
        self, items: Sequence[Garment], body: PosedBody, opacity: float, timestamp_ms: int | None
    ) -> list[list[float]]:
        """For each item, each part's opacity: the outfit's ``opacity`` times whether the part's
        body part is seen (faded over ``part_fade_ms`` in a stream). Call once per drawn frame."""
        step = self._part_fade_step(timestamp_ms)
        return [self._item_part_opacities(item, body, step, opacity) for item in items]

    def _part_fade_step(self, timestamp_ms: int | None) -> float | None:
        """How far a part's opacity moves toward shown/hidden this frame (None: at once)."""
        last, self._last_part_ms = self._last_part_ms, timestamp_ms
        if timestamp_ms is None or last is None or timestamp_ms <= last:
            return None
        return min(1.0, (timestamp_ms - last) / max(self.part_fade_ms, 1e-3))

    def _item_part_opacities(self, item: Garment, body: PosedBody, step: float | None, opacity: float) -> list[float]:
        out = []
        for k in range(len(item.parts)):
            target = 1.0 if self._part_visible(item, k, body) else 0.0
            key = (item.id, k)
            if step is None:
                now = target
            else:
                now = self._part_opacity.get(key, target)
                now = now + float(np.clip(target - now, -step, step))
            self._part_opacity[key] = now
            out.append(now * opacity)
        return out
