"""The own-clothes stage: the shopper's own clothes, where the tried-on items do not cover
them, replaced by what is behind the shopper (the clean plate, else inpainting).

Runs after the items are posed and before they are composited: the items are then laid over
a frame in which a wide coat's sides, a trouser leg's flare or a real shoe's sole are gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.body.mannequin import Mannequin
from tryon.body.solver import PosedBody
from tryon.catalog.item import Garment
from tryon.ownclothes.fill import CleanPlate, Inpainter, InpaintOptions, PlateOptions
from tryon.ownclothes.mask import BodyRaster, OwnClothesOptions, RemovalMask, removal_mask, work_size
from tryon.pose.types import Pose


@dataclass(frozen=True)
class Cleanup:
    """One frame with the shopper's own clothes removed.

    image : (H, W, 3) uint8 BGR. removal : what was removed (see :class:`RemovalMask`).
    from_plate : the share of the removed pixels the clean plate filled (the rest inpainted).
    """

    image: np.ndarray
    removal: RemovalMask | None
    from_plate: float = 0.0


def _roi(mask: np.ndarray, size: tuple[int, int], pad: int = 2) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) frame px around the nonzero pixels of a working-size mask."""
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    h, w = mask.shape
    W, H = size
    sx, sy = W / w, H / h
    x0 = int(max(0, np.floor((xs[0] - pad) * sx)))
    x1 = int(min(W, np.ceil((xs[-1] + 1 + pad) * sx)))
    y0 = int(max(0, np.floor((ys[0] - pad) * sy)))
    y1 = int(min(H, np.ceil((ys[-1] + 1 + pad) * sy)))
    return x0, y0, x1, y1


#: The person mask's value (0..1) past which the scene is never changed: its soft edge, where
#: the outline of the shopper's clothes lies, is cleaned too.
PERSON_EDGE = 0.1
#: ... and at most this many px outside its 0.5 contour.
EDGE_PX = 2

#: Working px of surroundings kept around what is removed when a still is inpainted.
INPAINT_MARGIN_PX = 16


def _box(mask: np.ndarray, pad: int) -> tuple[slice, slice]:
    """Row and column slices around the nonzero pixels of ``mask``, ``pad`` px wider."""
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    h, w = mask.shape
    return slice(max(0, ys[0] - pad), min(h, ys[-1] + 1 + pad)), slice(max(0, xs[0] - pad), min(w, xs[-1] + 1 + pad))


def _up(img: np.ndarray, roi: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
    """The part of a reduced-size image over frame ``roi``, at the frame's resolution (bilinear)."""
    x0, y0, x1, y1 = roi
    W, H = size
    h, w = img.shape[:2]
    sx, sy = w / W, h / H
    # The source window that covers roi (+1 px), resized, then the exact frame window cut out.
    a0, b0 = max(0, int(np.floor(x0 * sx)) - 1), max(0, int(np.floor(y0 * sy)) - 1)
    a1, b1 = min(w, int(np.ceil(x1 * sx)) + 1), min(h, int(np.ceil(y1 * sy)) + 1)
    M = np.array([[sx, 0, (sx - 1) / 2 - a0 + x0 * sx], [0, sy, (sy - 1) / 2 - b0 + y0 * sy]], np.float64)
    return cv2.warpAffine(
        img[b0:b1, a0:a1],
        M,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


#: Frames in a row with nobody found before a frame counts as the empty scene.
EMPTY_FRAMES = 5


class OwnClothesRemover:
    """The stage. ``apply`` once per frame with items; ``observe`` for stream frames without
    them (nobody in view, nothing worn), so the clean plate keeps learning; ``reset`` for a new
    stream (or a moved camera)."""

    def __init__(
        self,
        mannequin: Mannequin,
        options: OwnClothesOptions | None = None,
        plate: PlateOptions | None = None,
        inpaint: InpaintOptions | None = None,
    ) -> None:
        self.options = options or OwnClothesOptions()
        self.raster = BodyRaster(mannequin)
        self.plate = CleanPlate(plate)
        self.inpainter = Inpainter(inpaint)
        self._empty = 0

    def reset(self) -> None:
        self.plate.reset()
        self.inpainter.reset()
        self._empty = 0

    def _small(self, frame: np.ndarray) -> np.ndarray:
        H, W = frame.shape[:2]
        return cv2.resize(frame, work_size(W, H, self.options.work_px), interpolation=cv2.INTER_LINEAR)

    def observe(self, frame_bgr: np.ndarray, pose: Pose | None) -> None:
        """A stream frame the stage does not change: learn the plate from it (``pose`` None:
        nobody in view, the whole frame after EMPTY_FRAMES such in a row; a person found but
        without a mask teaches nothing)."""
        if not (self.options.enabled and self.options.plate):
            return
        if pose is None:
            # Nobody in view: the whole frame is the scene, once it has stayed so a moment
            # (a pose model's miss for a frame or two must not bake the shopper in).
            self._empty += 1
            if self._empty >= EMPTY_FRAMES:
                self.plate.update(frame_bgr, self._small(frame_bgr), None)
            return
        self._empty = 0
        if pose.segmentation is not None:
            small = self._small(frame_bgr)
            seg = cv2.resize(pose.segmentation, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_LINEAR)
            self.plate.update(frame_bgr, small, seg > 0.5)

    def apply(
        self,
        frame_bgr: np.ndarray,
        pose: Pose,
        body: PosedBody,
        items: Sequence[tuple[Garment, np.ndarray]],
        keepout: np.ndarray | None = None,
        strength: float = 1.0,
        stream: bool = True,
    ) -> Cleanup:
        """frame_bgr : (H, W, 3) uint8. items : each worn item with its drawn vertices (camera
        metres, (V, 3)). strength : the items' opacity (own clothes fade out as they fade in).
        stream : a frame of a stream (plate + steady inpainting) or a still (Telea)."""
        o = self.options
        if not o.enabled or strength <= 0:
            return Cleanup(frame_bgr, None)
        H, W = frame_bgr.shape[:2]
        small = self._small(frame_bgr)
        removal = removal_mask(frame_bgr, pose, body, self.raster, items, keepout, o, small)
        use_plate = stream and o.plate
        if use_plate:
            self.plate.update(frame_bgr, small, removal.person if pose.segmentation is not None else None)
        if removal.empty:
            return Cleanup(frame_bgr, removal)
        ws = removal.work_size
        roi = _roi(removal.mask, (W, H))
        x0, y0, x1, y1 = roi
        known = self.plate.known(ws) if use_plate else np.zeros(ws[::-1], bool)
        hole = removal.mask > 0
        need_inpaint = bool((hole & ~known).any())
        fill = None
        from_plate = 0.0
        if need_inpaint:
            size = ws if not stream else work_size(W, H, o.inpaint_px)
            src = small if size == ws else cv2.resize(small, size, interpolation=cv2.INTER_AREA)
            person = removal.person if size == ws else cv2.resize(
                removal.person.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST
            ) > 0
            if stream:
                filled = self.inpainter.fill(src, person)
            else:
                # A still: Telea, on the part around what is removed only (its cost grows with
                # the hole).
                b = _box(removal.mask, INPAINT_MARGIN_PX)
                filled = src.copy()
                filled[b] = self.inpainter.fill(src[b], person[b], still_image=True)
            fill = _up(filled, roi, (W, H))
        if known.any():
            plate = self.plate.fill(roi)
            if fill is None:
                fill = plate
            else:
                k = _up(known.astype(np.float32), roi, (W, H))[:, :, None]
                fill = (plate * k + fill * (1.0 - k)).astype(np.uint8)
            from_plate = float((hole & known).sum()) / max(int(hole.sum()), 1)
        alpha = _up(removal.mask, roi, (W, H)).astype(np.float32) * np.float32(strength / 255.0)
        # Only the shopper changes (with the soft edge of their mask, where their clothes'
        # outline lies): the scene beyond it is left exactly as it came.
        near = pose.mask[y0:y1, x0:x1]
        person = cv2.dilate((near > 0.5).astype(np.uint8), np.ones((2 * EDGE_PX + 1,) * 2, np.uint8))
        alpha[(near <= PERSON_EDGE) | (person == 0)] = 0.0
        out = frame_bgr.copy()
        part = out[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = cv2.blendLinear(fill, part, alpha, 1.0 - alpha)
        return Cleanup(out, removal, from_plate)
