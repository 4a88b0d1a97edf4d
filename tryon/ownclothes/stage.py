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
from tryon.ownclothes.kernel import blend_fill, hole_counts
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


def _frame_box(box: tuple[int, int, int, int], work: tuple[int, int], size: tuple[int, int], pad: int = 1):
    """(x0, y0, x1, y1) frame px covering ``box`` (working px at ``work`` = (w, h)) and ``pad``
    working px around it, within the frame ``size`` = (W, H)."""
    x0, y0, x1, y1 = box
    (w, h), (W, H) = work, size
    sx, sy = W / w, H / h
    return (
        int(max(0, np.floor((x0 - pad) * sx))),
        int(max(0, np.floor((y0 - pad) * sy))),
        int(min(W, np.ceil((x1 + pad) * sx))),
        int(min(H, np.ceil((y1 + pad) * sy))),
    )


#: The person mask's value (0..1) past which the scene is never changed: its soft edge, where
#: the outline of the shopper's clothes lies, is cleaned too.
PERSON_EDGE = 0.1
#: ... and at most this many px outside its 0.5 contour.
EDGE_PX = 2

#: Surroundings kept around what is removed when it is inpainted, as a share of the working
#: size's longest side (16 px at 320).
INPAINT_MARGIN = 0.05
#: The inpainted box is snapped to this grid (working px), so a still shopper's keeps still.
INPAINT_GRID = 8


def _up(
    img: np.ndarray,
    origin: tuple[int, int],
    work: tuple[int, int],
    size: tuple[int, int],
    roi: tuple[int, int, int, int],
) -> np.ndarray:
    """The part over frame ``roi`` = (x0, y0, x1, y1) of ``img``, a crop from working px
    ``origin`` of an image at ``work`` = (w, h), at the frame's resolution ``size`` = (W, H)
    (bilinear, pixel centres aligned as ``cv2.resize`` aligns them)."""
    x0, y0, x1, y1 = roi
    (w, h), (W, H) = work, size
    k = W // w
    if k * w == W and k * h == H and not (x0 % k or y0 % k or x1 % k or y1 % k):
        # A whole number of frame px per working px, the roi on their grid: a plain resize of
        # the crop (with a working px of context each side, cut off after) is the same, faster.
        ih, iw = img.shape[:2]
        a0, b0 = x0 // k - origin[0], y0 // k - origin[1]
        a1, b1 = x1 // k - origin[0], y1 // k - origin[1]
        c0, d0, c1, d1 = max(a0 - 1, 0), max(b0 - 1, 0), min(a1 + 1, iw), min(b1 + 1, ih)
        if c0 <= a0 and d0 <= b0 and c1 >= a1 and d1 >= b1:
            big = cv2.resize(img[d0:d1, c0:c1], ((c1 - c0) * k, (d1 - d0) * k), interpolation=cv2.INTER_LINEAR)
            return big[(b0 - d0) * k : (b1 - d0) * k, (a0 - c0) * k : (a1 - c0) * k]
    sx, sy = w / W, h / H
    M = np.array(
        [[sx, 0, (sx - 1) / 2 + x0 * sx - origin[0]], [0, sy, (sy - 1) / 2 + y0 * sy - origin[1]]], np.float64
    )
    return cv2.warpAffine(
        img, M, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )


def box_shrink(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``img`` averaged down to ``size`` = (w, h): bilinear halvings (each, sampling between
    pixels, a 2x2 box average) while it stays at least twice as large, then bilinear. Within
    a grey level of ``INTER_AREA``, at a quarter of its cost (0.14 ms for 640x480 to 160x120)."""
    w, h = size
    while img.shape[1] >= 2 * w and img.shape[0] >= 2 * h:
        img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
    if (img.shape[1], img.shape[0]) == (w, h):
        return img
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)


def _person_gate(seg: np.ndarray, size: tuple[int, int], roi: tuple[int, int, int, int]) -> np.ndarray:
    """(y1 - y0, x1 - x0) uint8 {0, 1} over frame ``roi`` = (x0, y0, x1, y1): where the shopper
    may change, the person mask ``seg`` (any size, the frame's aspect) above PERSON_EDGE and
    within EDGE_PX frame px of its 0.5 contour. Worked on the mask's own pixels under ``roi``."""
    W, H = size
    sh, sw = seg.shape
    qx, qy = sw / W, sh / H
    x0, y0, x1, y1 = roi
    a0, b0 = max(0, int(x0 * qx) - 2), max(0, int(y0 * qy) - 2)
    a1, b1 = min(sw, int(np.ceil(x1 * qx)) + 2), min(sh, int(np.ceil(y1 * qy)) + 2)
    part = seg[b0:b1, a0:a1]
    r = _gate_px(size, seg.shape)
    near = cv2.dilate((part > 0.5).view(np.uint8), np.ones((2 * r + 1,) * 2, np.uint8))
    gate = cv2.bitwise_and(near, (part > PERSON_EDGE).view(np.uint8))
    M = np.array([[qx, 0, (qx - 1) / 2 + x0 * qx - a0], [0, qy, (qy - 1) / 2 + y0 * qy - b0]], np.float64)
    return cv2.warpAffine(gate, M, (x1 - x0, y1 - y0), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)


def _gate_px(size: tuple[int, int], seg_shape: tuple[int, int]) -> int:
    """EDGE_PX frame px in the person mask's px (at least one)."""
    return max(1, round(EDGE_PX * max(seg_shape[1] / size[0], seg_shape[0] / size[1])))


#: Stand-ins for the fills a frame does not have (the kernel takes arrays of fixed types).
_NO_PLATE = np.zeros((1, 1, 3), np.float32)
_NO_GAIN = np.ones(3, np.float64)
_NO_KNOWN = np.zeros((1, 1), np.uint8)
_NO_FILL = np.zeros((1, 1, 3), np.uint8)


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

    def _small(self, frame: np.ndarray, longest: int | None = None) -> np.ndarray:
        H, W = frame.shape[:2]
        return box_shrink(frame, work_size(W, H, longest or self.options.work_px))

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
        posed: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Cleanup:
        """frame_bgr : (H, W, 3) uint8. items : each worn item with its drawn vertices (camera
        metres, (V, 3)). strength : the items' opacity (own clothes fade out as they fade in).
        stream : a frame of a stream (plate + steady inpainting, at ``work_px``) or a still
        (Telea, at ``still_px``). posed : the body occluder's posed vertices and normals
        (camera metres), when the caller has them (the engine's occluder)."""
        o = self.options
        if not o.enabled or strength <= 0:
            return Cleanup(frame_bgr, None)
        H, W = frame_bgr.shape[:2]
        longest = o.work_px if stream else o.still_px
        small = self._small(frame_bgr, longest)
        removal = removal_mask(frame_bgr, pose, body, self.raster, items, keepout, o, small, longest, posed)
        use_plate = stream and o.plate
        if use_plate:
            self.plate.update(frame_bgr, small, removal.person if pose.segmentation is not None else None)
        if removal.empty:
            return Cleanup(frame_bgr, removal)
        ws = removal.work_size
        w, h = ws
        bx0, by0, bx1, by1 = removal.box
        roi = _frame_box(removal.box, ws, (W, H))
        x0, y0, x1, y1 = roi
        known_all = self.plate.known(ws) if use_plate else None
        counts = np.empty(3, np.int64)
        hole_counts(removal.mask, _NO_KNOWN if known_all is None else known_all.view(np.uint8), removal.box, counts)
        known_any, n_hole, n_hole_known = bool(counts[0]), int(counts[1]), int(counts[2])
        filled = None
        from_plate = 0.0
        if not known_any or n_hole_known < n_hole:
            # Inpainted from the surroundings: the box around what is removed, with a margin,
            # on a coarse grid (a still shopper's box keeps still, and so does the fill).
            m, g = max(4, round(INPAINT_MARGIN * max(ws))), INPAINT_GRID
            ix0, iy0 = max(0, (bx0 - m) // g * g), max(0, (by0 - m) // g * g)
            ix1, iy1 = min(w, -(-(bx1 + m) // g) * g), min(h, -(-(by1 + m) // g) * g)
            src, person = small[iy0:iy1, ix0:ix1], removal.person[iy0:iy1, ix0:ix1]
            filled = self.inpainter.fill(src, person, still_image=not stream)
        if known_any:
            from_plate = n_hole_known / max(n_hole, 1)
        out = frame_bgr.copy()
        if blend_fill is not None:
            # One pass over the region: the mask and fills brought up to the frame's size only
            # where something is removed, and blended there.
            seg = pose.segmentation
            acc, gain = self.plate.scene() if known_any else (_NO_PLATE, _NO_GAIN)
            blend_fill(
                out, frame_bgr, np.array(roi, np.int64), removal.mask, seg,
                np.array((seg.shape[1] / W, seg.shape[0] / H)), _gate_px((W, H), seg.shape), PERSON_EDGE,
                acc, gain, known_all.view(np.uint8) if known_any else _NO_KNOWN, known_any,
                filled if filled is not None else _NO_FILL, np.array((ix0, iy0), np.float64) if filled is not None
                else np.zeros(2), filled is not None, float(strength),
            )  # fmt: skip
            return Cleanup(out, removal, from_plate)
        fill = None if filled is None else _up(filled, (ix0, iy0), ws, (W, H), roi)
        # Only the shopper changes (with the soft edge of their mask, where their clothes'
        # outline lies): the scene beyond it is left exactly as it came.
        alpha = cv2.multiply(
            _up(removal.mask, (0, 0), ws, (W, H), roi),
            _person_gate(pose.segmentation, (W, H), roi),
            scale=strength / 255.0,
            dtype=cv2.CV_32F,
        )
        if known_any:
            plate = self.plate.fill(roi)
            # The plate is learnt frame px by frame px with the working px each lies in.
            own = known_all[np.arange(y0, y1) * h // H][:, np.arange(x0, x1) * w // W].astype(np.float32)
            if fill is None:
                fill = plate
                alpha *= own
            else:
                k = _up(known_all.astype(np.float32), (0, 0), ws, (W, H), roi) * own
                fill = cv2.blendLinear(plate, fill, k, 1.0 - k)
        out[y0:y1, x0:x1] = cv2.blendLinear(fill, out[y0:y1, x0:x1], alpha, 1.0 - alpha)
        return Cleanup(out, removal, from_plate)
