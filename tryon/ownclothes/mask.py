"""What of the shopper's own clothes must go: the removal mask.

Each frame, from what the engine already knows, what should stay visible is:

- the bare body: the posed low-poly proxy (the occluder), grown a little along its normals
  for flesh, rasterized with OpenCV at the working resolution (no GL readback);
- the head (with a margin for hair and a cap), the hands (the proxy's hands and the
  keep-out's hand outlines), long hair (the keep-out's hair), and skin (pixels the colour of
  the face) -- bare arms and legs are never taken for clothes;
- what the items draw (they cover whatever lies under them: replacing it is harmless).

The shopper's pixels outside all of that, in the zone an item replaces, are their own
clothes. The zone is the body part the item dresses (:func:`replaced_regions`: torso and arms
for a top or a coat, hips and legs for trousers, the whole figure for a dress, the feet for
shoes), widened by ``reach`` shoulder widths (a wide coat's sides, a trouser leg's flare), in
the image rows the item covers. Unsure means remove less: around a limb the image does not
support (a guessed arm) nothing is removed, and without a person mask nothing at all.

Everything is worked at ``work_px`` on the longest side; the mask comes back as a soft (H, W)
float32 at the frame's size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.body.mannequin import Mannequin
from tryon.body.skinning import linear_blend_skinning
from tryon.body.solver import PosedBody
from tryon.catalog.categories import CATEGORIES
from tryon.catalog.item import Garment
from tryon.deform import GATED_REGIONS
from tryon.frames import project
from tryon.image import disc
from tryon.ownclothes.kernel import fill_regions
from tryon.ownclothes.kernel import removal as removal_kernel
from tryon.pose.landmarks import L
from tryon.pose.types import Pose

#: Occluder body regions (see :func:`tryon.body.mannequin.bone_region`).
TORSO, HEAD, ARMS, HANDS, LEGS, FEET = (0,), (1,), (2, 3), (4, 5), (6, 7), (8, 9)
NUM_REGIONS = 10


def replaced_regions(item: Garment) -> tuple[int, ...]:
    """The body regions whose own clothes ``item`` replaces (from its category's facts):
    shoes the feet; skinned clothes the torso and arms (an upper garment), the torso and legs
    (a lower one), or all three (a dress, an outfit); other accessories nothing."""
    cat = CATEGORIES[item.category]
    if not cat.skinned:
        return FEET if cat.right_bone is not None and cat.clip_to_person and cat.bone.startswith("foot") else ()
    if cat.body_half == "upper":
        return TORSO + ARMS
    if cat.body_half == "lower":
        return TORSO + LEGS
    return TORSO + ARMS + LEGS


@dataclass(frozen=True)
class OwnClothesOptions:
    """How the shopper's own clothes are found and replaced.

    enabled : the whole stage (``EngineOptions.own_clothes``).
    work_px : longest side the masks are worked at, and what is removed inpainted, in a
    stream, px (live: cheap); still_px : likewise for a still (a photo: finer).
    flesh_m : how far the body proxy is grown along its normals for flesh, metres.
    reach : how far beside the dressed body part own clothes are looked for, shoulder widths.
    shoe_reach : likewise around the feet (a real shoe's sole and toe), shoulder widths.
    row_margin : how far below the rows an item covers the zone extends, shoulder widths;
    row_above : how far above them (a coat's shoulders stand above a fitted top's).
    head_margin : kept around the head (hair volume, a cap), head widths.
    hand_margin : kept around the hands' proxy, shoulder widths. held : the radius of what a
    visible hand may hold, kept past its knuckles (a hat, a phone, a cup), shoulder widths;
    held_reach : out to this many such radii, ahead of the knuckles, what is nearer to the hand
    than to the dressed body is kept too (a hat hanging from the fingers; 1: nothing more).
    skin : keep pixels the colour of the face's skin. skin_tolerance : Lab distance.
    min_confidence : a limb whose bones the image supports less (``bone_confidence``) is unsure:
        nothing nearer to it than to a dressed part, or within ``unsure_reach`` shoulder
        widths of it, is removed; unless ``limb_on_person`` of its proxy lies on the person mask
        (the solver followed the image there).
    person_grow_px : the person mask is grown this much (working px) to catch its soft edge.
    edge_px : how far (working px) what is removed reaches into the outline of the body parts
        the items dress (the own clothes' edge there; bare skin is kept by its colour).
    plate : learn a clean plate in streams (still cameras); inpainting fills what it lacks.
    """

    enabled: bool = True
    work_px: int = 160
    still_px: int = 320
    flesh_m: float = 0.002
    reach: float = 0.6
    shoe_reach: float = 0.12
    row_margin: float = 0.05
    row_above: float = 0.25
    head_margin: float = 0.3
    hand_margin: float = 0.02
    held: float = 0.3
    held_reach: float = 2.0
    skin: bool = True
    skin_tolerance: float = 13.0
    min_confidence: float = 0.75
    unsure_reach: float = 0.25
    limb_on_person: float = 0.9
    person_grow_px: int = 2
    edge_px: int = 1
    plate: bool = True


@dataclass(frozen=True)
class RemovalMask:
    """Own clothes to remove in one frame.

    mask : (h, w) uint8 {0, 255} at the working size ``work_size`` = (w, h).
    person : (h, w) bool, the (grown) person mask at the working size.
    size : the frame's (width, height). empty : nothing to remove.
    box : (x0, y0, x1, y1) working px around what is removed (None: nothing is).
    """

    mask: np.ndarray
    person: np.ndarray
    size: tuple[int, int]
    box: tuple[int, int, int, int] | None = None

    @property
    def work_size(self) -> tuple[int, int]:
        return self.mask.shape[1], self.mask.shape[0]

    @property
    def empty(self) -> bool:
        return self.box is None

    def to_frame(self, strength: float = 1.0) -> np.ndarray:
        """(H, W) float32 in [0, strength]: the mask at the frame's size, softly edged."""
        w, h = self.size
        up = cv2.resize(self.mask, (w, h), interpolation=cv2.INTER_LINEAR)
        return up.astype(np.float32) * np.float32(strength / 255.0)


def work_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """(w, h) with the frame's aspect and the longest side at most ``longest``."""
    s = min(1.0, longest / max(width, height))
    return max(1, round(width * s)), max(1, round(height * s))


class BodyRaster:
    """The posed proxy body rasterized per region at a working size (OpenCV, no GL).

    ``regions(body, size)`` -> (NUM_REGIONS, h, w) uint8 {0, 255}; region r's triangles are
    the occluder's faces whose vertices' highest region is r (as :func:`body_occluder` cuts).
    """

    def __init__(self, mannequin: Mannequin) -> None:
        occ = mannequin.occluder
        self._occ = occ
        face_region = occ.regions[occ.faces].max(axis=1)
        self._faces = np.ascontiguousarray(occ.faces, np.int64)
        self._face_region = face_region.astype(np.int64)
        self._face_ids = [np.nonzero(face_region == r)[0] for r in range(NUM_REGIONS)]
        self._faces_by_region = [occ.faces[ids] for ids in self._face_ids]
        self._a, self._b, self._c = occ.faces[:, 0], occ.faces[:, 1], occ.faces[:, 2]
        #: The bones that drive each region's vertices, all regions' in a row (``_bone_starts``
        #: says where each begins; a region without vertices has none).
        bones = [np.unique(occ.skin.bones[occ.regions == r, 0]) for r in range(NUM_REGIONS)]
        self._has_bones = np.array([len(b) > 0 for b in bones])
        self._bones = np.concatenate([b for b in bones if len(b)]).astype(np.int64)
        self._bone_starts = np.cumsum([0] + [len(b) for b in bones if len(b)])[:-1]

    def region_confidence(self, body: PosedBody) -> np.ndarray:
        """(NUM_REGIONS,) the least support any of a region's bones has in the image."""
        out = np.ones(NUM_REGIONS)
        out[self._has_bones] = np.minimum.reduceat(np.asarray(body.bone_confidence)[self._bones], self._bone_starts)
        return out

    def regions(
        self,
        body: PosedBody,
        size: tuple[int, int],
        flesh_m: float,
        box: tuple[int, int, int, int] | None = None,
        posed: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """(NUM_REGIONS, h, w) uint8 {0, 255} at working ``size`` = (w, h), or only over
        ``box`` = (x0, y0, x1, y1) working px of it ((NUM_REGIONS, y1 - y0, x1 - x0)).
        posed : the occluder's vertices and normals already posed (camera metres), if known."""
        occ = self._occ
        if posed is None:
            posed = linear_blend_skinning(occ.positions_m, occ.skin, body.palette, occ.normals)
        pos, nrm = posed
        K = body.intrinsics
        w, h = size
        x0, y0, x1, y1 = box if box is not None else (0, 0, w, h)
        out = np.zeros((NUM_REGIONS, y1 - y0, x1 - x0), np.uint8)
        sx, sy = w / K.width, h / K.height
        if fill_regions is not None:
            cam = np.array([K.fx * sx, K.fy * sy, K.cx * sx, K.cy * sy, x0, y0], np.float64)
            if not fill_regions(pos, nrm, flesh_m, cam, self._faces, self._face_region, out):
                out[:] = 0
            return out
        pos = pos + nrm * np.float32(flesh_m)
        px = project(pos, K) * np.array([sx, sy]) - np.array([x0, y0])
        if not np.isfinite(px).all() or (pos[:, 2] <= 0.05).any():
            return out
        # Only the faces turned toward the camera are drawn: they cover a region's silhouette
        # once (its back faces the same pixels again; OpenCV's fillPoly fills by parity).
        # Facing the camera (at the origin): (b - a) x (c - a) . a = a . (b x c) < 0.
        a, b, c = pos[self._a].T, pos[self._b].T, pos[self._c].T
        bc = (b[1] * c[2] - b[2] * c[1], b[2] * c[0] - b[0] * c[2], b[0] * c[1] - b[1] * c[0])
        facing = a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2] < 0
        fixed = np.round(px * 16).astype(np.int32)  # 4 bits of sub-pixel precision
        for r, faces in enumerate(self._faces_by_region):
            sel = faces[facing[self._face_ids[r]]]
            if len(sel):
                cv2.fillPoly(out[r], fixed[sel], 255, lineType=cv2.LINE_8, shift=4)
        return out


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    """The distance between two image points (2,) (math.hypot: a numpy call's overhead less)."""
    return math.hypot(float(a[0] - b[0]), float(a[1] - b[1]))


def skin_colour(frame_small: np.ndarray, pose: Pose, size: tuple[int, int]) -> np.ndarray | None:
    """(3,) Lab median of the skin around the nose (below the eyes), or None when the face is
    not seen well. ``frame_small`` is the frame at ``size`` (the frame itself is best: the
    patch is sampled at most 8 px apart each way, so a close-up costs no more)."""
    face = [L.NOSE, L.LEFT_EYE, L.RIGHT_EYE, L.LEFT_EAR, L.RIGHT_EAR]
    if (pose.visibility[face] < 0.6).any():
        return None
    s = np.array([size[0] / pose.width, size[1] / pose.height])
    kp = pose.keypoints_px.astype(np.float64) * s
    head_w = _dist(kp[L.LEFT_EAR], kp[L.RIGHT_EAR])
    r = max(1, int(round(0.12 * head_w)))
    x, y = kp[L.NOSE]
    x0, x1 = int(min(max(x - r, 0), size[0])), int(min(max(x + r + 1, 0), size[0]))
    y0, y1 = int(min(max(y - r, 0), size[1])), int(min(max(y + 0.5 * r + 1, 0), size[1]))
    step = max(1, r // 8)
    patch = frame_small[y0:y1:step, x0:x1:step]
    if patch.size < 12:
        return None
    lab = cv2.cvtColor(patch, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    # The median per channel (as np.median, without its overhead on a few dozen pixels).
    lab.sort(axis=0)
    n = len(lab)
    return 0.5 * (lab[(n - 1) // 2] + lab[n // 2])


def _row_span(positions: np.ndarray, fy: float, cy: float) -> tuple[float, float]:
    """(top, bottom) image rows (px of a camera ``fy``, ``cy``) the points ``positions`` (V, 3)
    camera metres, all in front of it, project to (v = fy y / z + cy grows with y / z)."""
    t = positions[:, 1] / positions[:, 2]
    return fy * float(t.min()) + cy, fy * float(t.max()) + cy


def _rows(spans: Sequence[tuple[float, float]], h: int, above: float, below: float) -> np.ndarray:
    """(h,) bool: the rows the items span (each (top, bottom) px), ``above`` px higher and
    ``below`` px lower."""
    rows = np.zeros(h, bool)
    for lo, hi in spans:
        y0 = int(min(max(np.floor(lo - above), 0), h))
        y1 = int(min(max(np.ceil(hi + below) + 1, 0), h))
        rows[y0:y1] = True
    return rows


def _near(src: np.ndarray, dist_px: float) -> np.ndarray:
    """(h, w) bool: within ``dist_px`` of any nonzero pixel of ``src`` (uint8; L2 distance)."""
    if not cv2.countNonZero(src):
        return np.zeros(src.shape, bool)
    d = cv2.distanceTransform(cv2.bitwise_not(src), cv2.DIST_L2, 3)
    return d <= dist_px


def _distance(src: np.ndarray) -> np.ndarray:
    """(h, w) float32: each pixel's L2 distance to the nearest nonzero pixel of ``src`` (uint8);
    large everywhere when it has none."""
    if not cv2.countNonZero(src):
        return np.full(src.shape, 1e6, np.float32)
    return cv2.distanceTransform(cv2.bitwise_not(src), cv2.DIST_L2, 3)


def _union(images: Sequence[np.ndarray]) -> np.ndarray:
    """uint8 (h, w): the pixelwise maximum of some same-size uint8 images."""
    out = images[0].copy()
    for img in images[1:]:
        cv2.max(out, img, dst=out)
    return out


def _head_ellipse(kp: Sequence[Sequence[float]], head_w: float, unit: float, margin: float) -> np.ndarray:
    """The head (from the ears, or the nose on a turned head) with ``margin`` head widths around
    it for hair and a cap, as (cx, cy, ax, ay_above, ay_below) float64 working px: above its
    centre the head with its hair or cap all round, below it the face to the chin. kp : 33
    (x, y) working px (Python floats: a few scalars, numpy's per-call overhead less)."""
    head_w = max(head_w, 0.38 * unit)
    (lx, ly), (rx, ry) = kp[L.LEFT_EAR], kp[L.RIGHT_EAR]
    centre = (0.5 * (lx + rx), 0.5 * (ly + ry)) if abs(lx - rx) > 0.2 * head_w else kp[L.NOSE]
    c = (round(centre[0]), round(centre[1] - 0.1 * head_w))
    top = (max(round((0.55 + margin) * head_w), 1), max(round((0.95 + margin) * head_w), 1))
    return np.array([c[0], c[1], top[0], top[1], max(round(0.85 * head_w), 1)], np.float64)


HANDS_KP = (
    (L.LEFT_WRIST, L.LEFT_INDEX, L.LEFT_PINKY),
    (L.RIGHT_WRIST, L.RIGHT_INDEX, L.RIGHT_PINKY),
)


def _held(pose: Pose, kp: Sequence[Sequence[float]], unit: float, reach: float) -> np.ndarray:
    """What each visible hand may hold: a disc past the knuckles, cut at the wrist, away from
    the forearm and its sleeve's cuff (a hat, a phone, a bag's handle). Returns (n, 9) float64
    rows (cx, cy, radius, wrist x, wrist y, ux, uy, knuckles x, y), working px: the disc, kept on
    the side of the wrist the unit vector (ux, uy) (wrist to knuckles) points to. kp : 33 (x, y)
    working px (Python floats)."""
    rows = []
    if reach > 0:
        for wrist, index, pinky in HANDS_KP:
            if min(pose.visibility[wrist], pose.visibility[index], pose.visibility[pinky]) < 0.5:
                continue
            kx, ky = 0.5 * (kp[index][0] + kp[pinky][0]), 0.5 * (kp[index][1] + kp[pinky][1])
            wx, wy = kp[wrist]
            dx, dy = kx - wx, ky - wy
            n = math.hypot(dx, dy)
            if n < 1e-6:
                continue
            radius = max(1.6 * n, reach * unit)
            rows.append((round(kx + 0.6 * dx), round(ky + 0.6 * dy), round(radius), wx, wy, dx / n, dy / n, kx, ky))
    return np.array(rows, np.float64).reshape(-1, 9)


#: Stand-ins for the kernel's inputs a frame does not have (it takes arrays of fixed types).
_UNUSED_F = np.zeros((1, 1), np.float32)
_UNUSED_U = np.zeros(1, np.uint8)
_UNUSED_U2 = np.zeros((1, 1), np.uint8)
_UNUSED_LAB = np.zeros((1, 1, 3), np.uint8)


def removal_mask(
    frame_bgr: np.ndarray,
    pose: Pose,
    body: PosedBody,
    raster: BodyRaster,
    items: Sequence[tuple[Garment, np.ndarray]],
    keepout: np.ndarray | None = None,
    options: OwnClothesOptions | None = None,
    frame_small: np.ndarray | None = None,
    work_px: int | None = None,
    posed: tuple[np.ndarray, np.ndarray] | None = None,
) -> RemovalMask:
    """The own clothes to remove in this frame.

    frame_bgr : (H, W, 3) uint8. pose : the frame's pose, with its person ``segmentation``
    (without one nothing is removed). body : the solved body. items : each worn item with its
    drawn vertices in camera metres (concatenated (V, 3)) -- which rows it covers.
    keepout : the hands-and-hair mask (:func:`tryon.render.keepout.keepout_mask`), any
    resolution with the frame's aspect. frame_small : the frame already shrunk to the work size.
    work_px : the working size's longest side (default ``options.work_px``). posed : the
    occluder's posed vertices and normals (camera metres), when the engine has them.

    Everything is worked inside the box around the (grown) person at the working size: the
    rest of the frame is never removed.
    """
    o = options or OwnClothesOptions()
    H, W = frame_bgr.shape[:2]
    ws = work_size(W, H, work_px or o.work_px)
    w, h = ws

    def empty() -> RemovalMask:
        return RemovalMask(np.zeros((h, w), np.uint8), np.zeros((h, w), bool), (W, H))

    if pose.segmentation is None:
        return empty()
    replace = sorted({r for item, _ in items for r in replaced_regions(item)})
    if not replace:
        return empty()
    s = np.array([w / W, h / H])
    kp = pose.keypoints_px.astype(np.float64) * s
    shoulder_w = _dist(kp[L.LEFT_SHOULDER], kp[L.RIGHT_SHOULDER])
    # A side view narrows the shoulders to nothing: the hips' or the head's size stands in.
    hip_w = _dist(kp[L.LEFT_HIP], kp[L.RIGHT_HIP])
    head_w = _dist(kp[L.LEFT_EAR], kp[L.RIGHT_EAR])
    unit = max(shoulder_w, 1.3 * hip_w, 2.2 * head_w, 4.0)

    seg = cv2.resize(pose.segmentation, ws, interpolation=cv2.INTER_LINEAR) > 0.5
    person = cv2.dilate(seg.view(np.uint8), disc(o.person_grow_px))  # {0, 1}
    px, py, pw, ph = cv2.boundingRect(person)
    if pw == 0:
        return empty()
    person = person.view(bool)
    # The box: the person, and a margin for the body parts beside them (distances to a part
    # the person mask cuts off still count a little way out).
    pad = max(2, int(round(0.1 * unit)))
    x0, y0, x1, y1 = max(0, px - pad), max(0, py - pad), min(w, px + pw + pad), min(h, py + ph + pad)
    bw, bh = x1 - x0, y1 - y0
    kp = kp - np.array([x0, y0])
    in_box = person[y0:y1, x0:x1]

    regions = raster.regions(body, ws, o.flesh_m, (x0, y0, x1, y1), posed)
    conf = raster.region_confidence(body)
    # A limb whose joints the image does not all show (an elbow below the frame) is still sure
    # where its proxy lies on the person (the solver follows the mask there); a guessed limb
    # that strays off the person is unsure.
    unsure = []
    for r in GATED_REGIONS:
        if conf[r] < o.min_confidence:
            drawn = cv2.countNonZero(regions[r])
            on_person = cv2.countNonZero(cv2.bitwise_and(regions[r], in_box.view(np.uint8))) if drawn else 0
            if drawn and on_person < o.limb_on_person * drawn:
                unsure.append(r)

    K = body.intrinsics
    fy, cy = K.fy * h / K.height, K.cy * h / K.height - y0  # the box's rows
    margin = o.row_margin * unit
    clothes_px, shoes_px = [], []  # the rows each item spans, box px
    for item, positions in items:
        regs = replaced_regions(item)
        if not regs or len(positions) == 0 or not positions[:, 2].min() > 0.05:
            continue
        (shoes_px if regs == FEET else clothes_px).append(_row_span(positions, fy, cy))

    # Each pixel belongs to the body part nearest to it: only pixels nearest to a part an item
    # dresses, and within reach of it, are that item's to clean (a top never takes the
    # thighs beside a sitting shopper's waist, nor shoes the trouser hem).

    def nothing() -> RemovalMask:
        return RemovalMask(np.zeros((h, w), np.uint8), person, (W, H))

    kept_regions = set(range(NUM_REGIONS)) - set(unsure)
    dressed = [r for r in replace if r not in FEET and r not in unsure]
    feet = [r for r in FEET if r in replace and r not in unsure] if shoes_px else []
    dressed = dressed if clothes_px else []
    if not dressed and not feet:
        return nothing()
    # The other limbs (the head and hands have keep-outs of their own; a coat's collar or
    # cuff lies nearer to them than to the torso or arm it is worn on).
    others = [regions[r] for r in ARMS + LEGS + FEET if r not in dressed and r not in feet]
    d_other = _distance(_union(others)) if others else _UNUSED_F
    d_clothes, d_feet, rows_clothes, rows_feet = _UNUSED_F, _UNUSED_F, _UNUSED_U, _UNUSED_U
    if dressed:
        d_clothes = _distance(_union([regions[r] for r in dressed]))
        rows_clothes = _rows(clothes_px, bh, o.row_above * unit, margin).view(np.uint8)
    if feet:
        d_feet = _distance(_union([regions[r] for r in feet]))
        rows_feet = _rows(shoes_px, bh, o.shoe_reach * unit, o.shoe_reach * unit).view(np.uint8)
        kept_regions -= set(feet)  # the virtual shoe replaces the real foot: only it is drawn there
    unsure_near = _near(_union([regions[r] for r in unsure]), o.unsure_reach * unit) if unsure else None

    # The bare body stays; but where an item dresses it, the item is drawn over the body's
    # outline, and the own clothes' edge that lies on it (the proxy is a little wider than the
    # body it stands for) would show as a thin outline: those parts' outline goes too
    # (``edge_px``), bare skin there kept by its colour below.
    covered = [r for r in kept_regions if r in dressed or r in feet]
    kept = np.zeros(NUM_REGIONS, np.uint8)
    kept[sorted(kept_regions - set(covered))] = 1
    cover = np.zeros(NUM_REGIONS, np.uint8)
    cover[covered] = 1
    element = disc(max(o.edge_px, 0))
    kpl = kp.tolist()
    head = _head_ellipse(kpl, head_w, unit, o.head_margin)
    # The hands' proxy is kept (a region like the others); a margin around it, if any is wide
    # enough to reach a neighbour, on top.
    extra = _UNUSED_U2
    if o.hand_margin * unit >= 0.95:
        extra = _near(cv2.max(regions[HANDS[0]], regions[HANDS[1]]), o.hand_margin * unit).view(np.uint8)
    if unsure_near is not None:
        extra_unsure = unsure_near.view(np.uint8)
    else:
        extra_unsure = np.zeros((bh, bw), np.uint8)
    held = _held(pose, kpl, unit, o.held)
    d_hands = _UNUSED_F
    if len(held) and o.held_reach > 1.0:
        d_hands = _distance(cv2.max(regions[HANDS[0]], regions[HANDS[1]]))
    ko, ko_scale = _UNUSED_F, np.ones(2)
    if keepout is not None:
        kh, kw = keepout.shape
        qx, qy = kw / w, kh / h
        ko = keepout[int(y0 * qy) : max(int(np.ceil(y1 * qy)), int(y0 * qy) + 1),
                     int(x0 * qx) : max(int(np.ceil(x1 * qx)), int(x0 * qx) + 1)]  # fmt: skip
        ko_scale = np.array([ko.shape[1] / bw, ko.shape[0] / bh])
    lab, skin = _UNUSED_LAB, np.zeros(3, np.float32)
    if o.skin:
        face = skin_colour(frame_bgr, pose, (W, H))
        if face is not None:
            # Bare arms and legs are never taken for clothes: the face's colour stays.
            small = frame_small if frame_small is not None else cv2.resize(frame_bgr, ws, interpolation=cv2.INTER_AREA)
            lab, skin = cv2.cvtColor(small[y0:y1, x0:x1], cv2.COLOR_BGR2LAB), face.astype(np.float32)
    remove = np.empty((bh, bw), np.uint8)
    bx0, by0, bx1, by1 = removal_kernel(
        regions, kept, cover, element, d_clothes, o.reach * unit, rows_clothes, d_feet, o.shoe_reach * unit,
        rows_feet, d_other, extra_unsure, in_box.view(np.uint8), head, held, o.held_reach**2, d_hands, extra, ko,
        ko_scale, lab, skin, o.skin_tolerance**2, remove,
    )  # fmt: skip
    if bx1 == 0:
        return nothing()
    out = np.zeros((h, w), np.uint8)
    out[y0:y1, x0:x1] = remove
    bx, by, bw, bh = bx0, by0, bx1 - bx0, by1 - by0
    return RemovalMask(out, person, (W, H), (x0 + bx, y0 + by, x0 + bx + bw, y0 + by + bh))
