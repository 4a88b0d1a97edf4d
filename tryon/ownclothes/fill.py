"""What is behind the shopper: a clean plate learnt in a stream, and inpainting where none is known.

- :class:`CleanPlate`: for a still camera (the mirror, a kiosk). Every pixel outside the
  (grown) person is the empty scene: the plate takes it at once the first time and follows it
  slowly after (the light drifts); frames with nobody in view teach the whole plate. When
  most of what the plate knows stops matching the frame for a few updates in a row (the camera
  moved, the scene changed), it starts over. A per-channel gain, from the scene around the
  shopper, brings the plate to the current exposure for the pixels the shopper hides.
- :class:`Inpainter`: where no plate is known (a photo, a stream's first seconds, a pixel the
  shopper always hides). Live, a push-pull fill (a mask-weighted Gaussian pyramid down and up:
  the surroundings' colours spread smoothly into the hole, under a millisecond at the reduced
  size) held steady by averaging it over frames while the hole keeps still; stills use
  OpenCV's Telea inpainting, which keeps more of the surroundings' structure.

Frames are (H, W, 3) uint8 BGR; masks at a working size (w, h) say it in their names.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon.image import disc
from tryon.ownclothes.kernel import masked_sums, premultiply, pull, steady_fill


@dataclass(frozen=True)
class PlateOptions:
    """update_every : frames between plate updates (a still camera's scene changes slowly).
    rate : how much of the plate one update replaces where it is known. known_after : updates
    a pixel needs to count as known. change_level : grey levels a pixel must differ by to
    count as changed (after the exposure is matched); change_share : the share of known pixels
    that must, change_strikes :
    for this many updates in a row, to start over. person_margin_px : the person mask is
    grown this much (working px) before its outside is learnt. refresh_bands : the known
    pixels of the full-size plate are refreshed one of this many bands of rows an update."""

    update_every: int = 4
    rate: float = 0.15
    known_after: int = 2
    change_level: float = 25.0
    change_share: float = 0.25
    change_strikes: int = 3
    person_margin_px: int = 4
    refresh_bands: int = 4


_NOTHING_HIDDEN = np.zeros((1, 1), np.uint8)


def _hidden(mask: np.ndarray | None) -> np.ndarray:
    """``mask`` (bool or uint8) as uint8, or the kernel's stand-in for none."""
    return _NOTHING_HIDDEN if mask is None else mask.view(np.uint8)


class CleanPlate:
    """The empty scene of a still camera, learnt pixel by pixel from where the shopper is not."""

    def __init__(self, options: PlateOptions | None = None) -> None:
        self.options = options or PlateOptions()
        self.reset()

    def reset(self) -> None:
        self._acc: np.ndarray | None = None  # (H, W, 3) float32
        self._plate8: np.ndarray | None = None  # (H, W, 3) uint8, cached from _acc
        self._count: np.ndarray | None = None  # (h, w) uint8 at the working size
        self._acc_small: np.ndarray | None = None  # (h, w, 3) float32, the plate at the working size
        self._small: np.ndarray | None = None  # (h, w, 3) uint8, cached from _acc_small
        self._known: np.ndarray | None = None  # (h, w) bool, cached from _count
        self._mature = False  # some pixel is known (stays so until a restart: counts only grow)
        self._frames = 0
        self._updates = 0
        self._strikes = 0
        self.gain = np.ones(3, np.float32)
        #: How many times the plate started over (camera moved, scene changed).
        self.restarts = 0

    def known(self, work_size: tuple[int, int]) -> np.ndarray:
        """(h, w) bool: pixels the plate knows, at ``work_size`` (read-only: kept until the
        next update)."""
        w, h = work_size
        if self._count is None or self._count.shape != (h, w):
            return np.zeros((h, w), bool)
        if self._known is None:
            self._known = self._count >= self.options.known_after
            self._known.flags.writeable = False
        return self._known

    def update(self, frame_bgr: np.ndarray, frame_small: np.ndarray, person_work: np.ndarray | None) -> None:
        """Learn from one frame. frame_small : the frame at the working size (w, h);
        person_work : (h, w) bool, the person there (None: nobody in view)."""
        o = self.options
        H, W = frame_bgr.shape[:2]
        h, w = frame_small.shape[:2]
        if self._acc is None or self._acc.shape[:2] != (H, W) or self._count.shape != (h, w):
            self._start((H, W), (h, w))
        self._frames += 1
        self._mature = self._mature or int(self._count.max()) >= o.known_after
        young = not self._mature
        if not young and (self._frames - 1) % o.update_every:
            self._gain(frame_small, person_work)
            return
        if person_work is None:
            bg, hidden = np.ones((h, w), np.uint8), None
        else:
            hidden = cv2.dilate(person_work.view(np.uint8), disc(o.person_margin_px))
            bg = 1 - hidden
        # The exposure now against the plate's (the same for the change test and the drift).
        ratio = self._ratio(frame_small, hidden)
        if self._changed(frame_small, bg > 0, ratio):
            restarts = self.restarts + 1
            self._start((H, W), (h, w))
            self.restarts = restarts
            ratio = None  # nothing known any more
        # The light drifts: the whole plate (the pixels the shopper hides too) follows the
        # exposure change seen on what is visible, then the visible pixels are learnt exactly.
        if ratio is not None and np.abs(ratio - 1.0).max() > 0.01:
            scale = tuple(float(x) for x in ratio) + (0.0,)
            cv2.multiply(self._acc, scale, dst=self._acc)
            cv2.multiply(self._acc_small, scale, dst=self._acc_small)
            self.gain = np.ones(3, np.float32)
        # Learnt at both sizes (the frame's for the fill, the working one to compare and match
        # the exposure), with the same masks: new pixels taken as they are, in the box around
        # them; known ones refreshed at full size one band of rows an update (the exposure is
        # followed above, whole), at the working size everywhere.
        new = ((bg > 0) & (self._count == 0)).view(np.uint8)
        old = ((bg > 0) & (self._count > 0)).view(np.uint8)
        x, y, bw, bh = cv2.boundingRect(new)
        if bw:
            self._learn(frame_bgr, frame_small, new, 1.0, (x, y, x + bw, y + bh))
        if cv2.countNonZero(old):
            n = o.refresh_bands
            band = (self._updates % n) * h // n, (self._updates % n + 1) * h // n
            cv2.accumulateWeighted(frame_small, self._acc_small, o.rate, mask=old)
            self._learn(frame_bgr, None, old, o.rate, (0, band[0], w, band[1]))
        self._updates += 1
        cv2.add(self._count, bg, dst=self._count)  # saturates at 255
        self._known = None
        self._plate8 = None
        self._small = cv2.convertScaleAbs(self._acc_small)
        self._gain(frame_small, person_work)

    def _learn(
        self,
        frame_bgr: np.ndarray,
        frame_small: np.ndarray | None,
        mask: np.ndarray,
        rate: float,
        box: tuple[int, int, int, int],
    ) -> None:
        """Blend ``frame_bgr`` into the plate by ``rate`` where ``mask`` ((h, w) uint8 at the
        working size) is set, within ``box`` = (x0, y0, x1, y1) working px (and
        ``frame_small`` into the working-size plate, unless None)."""
        x0, y0, x1, y1 = box
        h, w = mask.shape
        H, W = self._acc.shape[:2]
        part = mask[y0:y1, x0:x1]
        if not cv2.countNonZero(part):
            return
        # Each frame px takes the flag of its own working px, floor(X w / W), the same whatever
        # the box (a resize of the box's part would shift it by a px at some boxes' edges: frame
        # px left unlearnt, black, under working px counted as known).
        X0, Y0, X1, Y1 = -(-x0 * W // w), -(-y0 * H // h), -(-x1 * W // w), -(-y1 * H // h)
        if W % w == 0 and H % h == 0:  # whole frame px a working px: a plain resize is the same
            full = cv2.resize(part, (X1 - X0, Y1 - Y0), interpolation=cv2.INTER_NEAREST)
        else:
            rows = np.arange(Y0, Y1) * h // H - y0
            cols = np.arange(X0, X1) * w // W - x0
            full = part[rows[:, None], cols[None, :]]
        cv2.accumulateWeighted(frame_bgr[Y0:Y1, X0:X1], self._acc[Y0:Y1, X0:X1], rate, mask=full)
        if frame_small is not None:
            cv2.accumulateWeighted(frame_small[y0:y1, x0:x1], self._acc_small[y0:y1, x0:x1], rate, mask=part)

    def _start(self, size: tuple[int, int], work: tuple[int, int]) -> None:
        """Forget everything; a plate of the frame's ``size`` = (H, W) and ``work`` = (h, w)."""
        self.reset()
        self._acc = np.zeros(size + (3,), np.float32)
        self._acc_small = np.zeros(work + (3,), np.float32)
        self._count = np.zeros(work, np.uint8)

    def _changed(self, frame_small: np.ndarray, bg: np.ndarray, ratio: np.ndarray | None) -> bool:
        """Whether the scene no longer matches the plate (counted over updates); ``ratio`` : the
        frame's exposure over the plate's (:meth:`_ratio`, outside the hidden px)."""
        o = self.options
        if self._small is None:
            return False
        # Every fourth pixel each way is plenty to tell a moved camera.
        sel = (bg & (self._count >= o.known_after))[::4, ::4]
        if sel.sum() < 0.05 * sel.size:
            return False
        now, then = frame_small[::4, ::4], self._small[::4, ::4]
        ref = then if ratio is None else cv2.convertScaleAbs(then.astype(np.float32) * ratio)
        diff = cv2.absdiff(now, ref).max(axis=2)[sel]
        if float((diff > o.change_level).mean()) > o.change_share:
            self._strikes += 1
        else:
            self._strikes = 0
        return self._strikes >= o.change_strikes

    def _ratio(self, frame_small: np.ndarray, hidden: np.ndarray | None) -> np.ndarray | None:
        """(3,) the frame's exposure over the plate's, per channel, where both show the scene
        (outside ``hidden`` (h, w) bool or uint8 at the working size; None: everywhere), or None
        when too little is known."""
        if self._small is None:
            return None
        sums = np.empty(7)
        masked_sums(frame_small, self._small, self._count, self.options.known_after, _hidden(hidden), sums)
        if sums[0] < 64:
            return None
        now, then = sums[1:4] / sums[0], sums[4:7] / sums[0]
        return np.clip((now + 1.0) / (then + 1.0), 0.6, 1.6).astype(np.float32)

    def _gain(self, frame_small: np.ndarray, person_work: np.ndarray | None) -> None:
        """Between updates: the exposure now against the plate's, from the scene around the shopper."""
        g = self._ratio(frame_small, person_work)
        if g is not None:
            self.gain = (0.5 * self.gain + 0.5 * g).astype(np.float32)

    def plate(self) -> np.ndarray | None:
        """(H, W, 3) uint8: the learnt scene (zeros where never seen), or None before any frame."""
        if self._acc is None:
            return None
        if self._plate8 is None:
            self._plate8 = cv2.convertScaleAbs(self._acc)
        return self._plate8

    def scene(self) -> tuple[np.ndarray, np.ndarray]:
        """The plate as learnt, (H, W, 3) float32 (zeros where never seen), and the per-channel
        gain (3,) float64 that brings it to the current exposure."""
        return self._acc, self.gain.astype(np.float64)

    def fill(self, roi: tuple[int, int, int, int]) -> np.ndarray:
        """(y1 - y0, x1 - x0, 3) uint8: the plate over ``roi`` = (x0, y0, x1, y1), brought to the
        current exposure."""
        x0, y0, x1, y1 = roi
        crop = self._acc[y0:y1, x0:x1]
        if float(np.abs(self.gain - 1.0).max()) > 0.01:
            crop = cv2.multiply(crop, tuple(float(g) for g in self.gain) + (0.0,))
        return cv2.convertScaleAbs(crop)


def push_pull(img: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32: ``img`` (uint8) with the pixels where ``valid`` (h, w) is 0 filled
    smoothly from their surroundings (mask-weighted Gaussian pyramid down, then up; known
    pixels kept). The weight rides along as a fourth channel, so each level is one pyramid call."""
    h, w = valid.shape
    first = np.empty((h, w, 4), np.float32)
    premultiply(img, valid.view(np.uint8), first)
    levels = [first]
    while min(levels[-1].shape[:2]) > 2:
        levels.append(cv2.pyrDown(levels[-1]))
    top = levels[-1]
    m = top[:, :, 3:]
    out = top[:, :, :3] / np.maximum(m, 1e-6)
    if (m <= 1e-6).any():  # nothing known at all at the top: the mean of what is
        total = max(float(first[:, :, 3].sum()), 1e-6)
        mean = first[:, :, :3].reshape(-1, 3).sum(axis=0) / total
        out[m[:, :, 0] <= 1e-6] = mean
    for level in reversed(levels[:-1]):
        up = cv2.pyrUp(out, dstsize=(level.shape[1], level.shape[0]))
        out = np.empty_like(up)
        pull(level, up, out)
    return out


@dataclass(frozen=True)
class InpaintOptions:
    """hole_grow_px : the person's hole is grown this much (inpainting px), past its soft edge.
    steady : how much of the previous frame's fill is kept while the hole keeps still (0: none).
    still_iou : the hole's overlap with the last one above which it counts as still.
    telea_radius_px : Telea's neighbourhood for stills."""

    hole_grow_px: int = 2
    steady: float = 0.8
    still_iou: float = 0.9
    telea_radius_px: int = 4


class Inpainter:
    """Fills the person's region from the scene around it, at a reduced size."""

    def __init__(self, options: InpaintOptions | None = None) -> None:
        self.options = options or InpaintOptions()
        self.reset()

    def reset(self) -> None:
        self._last_hole: np.ndarray | None = None
        self._last_fill: np.ndarray | None = None

    def fill(self, frame_small: np.ndarray, person: np.ndarray, still_image: bool = False) -> np.ndarray:
        """(h, w, 3) uint8: ``frame_small`` (h, w, 3) with the (grown) ``person`` (h, w) bool
        replaced by the scene around it. ``still_image``: a photo (Telea, no history)."""
        o = self.options
        hole = cv2.dilate(person.view(np.uint8), disc(o.hole_grow_px))
        if still_image:
            self.reset()
            return cv2.inpaint(frame_small, hole * 255, o.telea_radius_px, cv2.INPAINT_TELEA)
        new = push_pull(frame_small, hole == 0)
        last, last_hole = self._last_fill, self._last_hole
        prior = _NOTHING_HIDDEN
        if last is not None and last.shape == new.shape and o.steady > 0:
            inter = cv2.countNonZero(cv2.bitwise_and(hole, last_hole))
            union = max(cv2.countNonZero(cv2.bitwise_or(hole, last_hole)), 1)
            if inter / union >= o.still_iou:
                prior = last_hole
        out = np.empty_like(frame_small)
        steady_fill(new, last if last is not None else new, prior, float(o.steady), hole, frame_small, out)
        self._last_fill, self._last_hole = new, hole
        return out
