"""Keep-out: parts of the shopper that stay in front of clothes, found in the image itself.

The posed body occluder hides what the body covers, in 3D, where the pose is trustworthy.
Two things it cannot know well are handled in 2D, from the camera frame:

- **hands**: a visible hand that overlaps clothing in the image is in front of it (a hand
  behind the back is not visible). The hand's outline is the polygon of BlazePose's wrist,
  thumb, index and pinky points, grown toward the fingertips and dilated. This holds even
  when the elbow is outside the frame and the forearm's 3D pose is a guess.
- **hair**: long hair falling over the shoulders and the collar. Its colour is sampled at the
  crown (the top of the person mask over the head) and the skin's at the nose; a bald head
  (crown the colour of skin) has none. Pixels of the person near the head that are closer to
  the hair colour than to the skin, that connect to the crown, and that are not in front of
  the throat (hair falls to the sides) are hair. Dark hair or a dark cap over dark clothes is
  common, so below the chin hair is told from clothes by shape and connection, not colour:
  only a side with a strand beside the face (eyes to chin) has hair below the chin, within
  the columns the strand leaves the jaw in (fanning out a little) and joined to it there,
  and never lower than a reach below the shoulders; a garment never gets a hole in its middle.

The result is one soft mask (h, w) float32 in [0, 1] at the person segmentation's working
resolution; clothes are multiplied by ``1 - keepout``, jewelry and hats ignore it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.body.rotations import clamp
from tryon.frames import px_scale
from tryon.image import disc, shrink
from tryon.pose.landmarks import L
from tryon.pose.types import Pose, segmentation_size
from tryon.render.keepout_kernel import crown_seed, hair_candidates

HANDS = (
    (L.LEFT_WRIST, L.LEFT_THUMB, L.LEFT_INDEX, L.LEFT_PINKY),
    (L.RIGHT_WRIST, L.RIGHT_THUMB, L.RIGHT_INDEX, L.RIGHT_PINKY),
)


@dataclass(frozen=True)
class KeepoutOptions:
    hands: bool = True
    hair: bool = True
    min_visibility: float = 0.7
    #: How far past the knuckles the fingers reach, relative to wrist-to-knuckles.
    finger_reach: float = 0.9
    #: Hair colour distance threshold (Lab, in units of the sample's spread, at least 12).
    hair_tolerance: float = 2.5
    #: How far below the shoulders hair may reach, in head widths.
    hair_reach: float = 2.5
    #: The share of rows from the eyes to the chin with hair beside the face for a side to have
    #: a strand that falls below the chin (a cap or a short crop has none).
    strand_rows: float = 0.6
    #: How far a strand fans out sideways below the jaw, in head widths.
    hair_fan: float = 0.35
    #: Hair-coloured pixels in a row beside the strand's columns (as a share of their width)
    #: past which the colour is clothing's, not hair's.
    hair_beyond: float = 0.25
    #: A head's width over the nose's distance from the ears' midpoint seen side on.
    head_depth: float = 1.5
    #: Ears closer together than this share of the head's width: the head is turned away from
    #: the camera (a profile), and hair below the chin cannot be told from a dark collar by
    #: its shape: none is kept there (the garment stays whole).
    turned: float = 0.6


#: Longest side at which the hair is worked out, px.
HAIR_WORK_PX = 256


def _scale(pose: Pose, size: tuple[int, int]) -> np.ndarray:
    return np.array(px_scale((pose.width, pose.height), size))


#: A piece of the keep-out drawn locally: (x0, y0) where it lies in the mask, and its
#: (h, w) uint8 {0, 255} pixels.
Piece = tuple[tuple[int, int], np.ndarray]

#: The keep-out's soft edge (Gaussian sigma, mask px) and how far it reaches (its kernel's radius).
BLUR_SIGMA = 1.0
BLUR_REACH = 4


def _hand_pieces(pose: Pose, size: tuple[int, int], o: KeepoutOptions) -> list[Piece]:
    """The visible hands' outlines, each drawn in a box around the hand at ``size`` = (w, h).
    (Worked on Python floats: a hand is four points, numpy's per-call overhead was its cost.)"""
    w, h = size
    pieces = []
    sx, sy = (float(v) for v in _scale(pose, size))
    fw, fh = pose.image_size
    reach, seen = o.finger_reach, np.float32(o.min_visibility)
    for idx in HANDS:
        # Seen well and inside the frame (as Pose.in_frame), all four points.
        if any(pose.visibility[i] < seen for i in idx):
            continue
        raw = [(float(pose.keypoints_px[i, 0]), float(pose.keypoints_px[i, 1])) for i in idx]
        if not all(0 <= u <= fw and 0 <= v <= fh for u, v in raw):
            continue
        pts = [(u * sx, v * sy) for u, v in raw]
        (wx, wy), knuckles = pts[0], pts[1:]
        # The knuckles' mean, summed in numpy's order.
        ccx = (knuckles[0][0] + knuckles[1][0] + knuckles[2][0]) / 3
        ccy = (knuckles[0][1] + knuckles[1][1] + knuckles[2][1]) / 3
        tips = [(u + (u - wx) * reach, v + (v - wy) * reach) for u, v in knuckles]  # fingers go on past them
        poly = pts + tips + [(ccx + (ccx - wx) * reach, ccy + (ccy - wy) * reach)]
        size_px = math.sqrt((ccx - wx) * (ccx - wx) + (ccy - wy) * (ccy - wy))
        k = max(1, int(round(size_px * 0.35)))
        # Drawn grown by k (a dilation with a round kernel) in a box around the hand only.
        us, vs = [p[0] for p in poly], [p[1] for p in poly]
        x0, y0 = max(math.floor(min(us)) - k - 2, 0), max(math.floor(min(vs)) - k - 2, 0)
        x1, y1 = min(math.ceil(max(us)) + k + 3, w), min(math.ceil(max(vs)) + k + 3, h)
        if x1 <= x0 or y1 <= y0:
            continue
        local = np.zeros((y1 - y0, x1 - x0), np.uint8)
        hull = cv2.convexHull(np.round(np.array(poly) - (x0, y0)).astype(np.int32))
        cv2.fillConvexPoly(local, hull, 255)
        pieces.append(((x0, y0), cv2.dilate(local, disc(k))))
    return pieces


def _soft(pieces: list[Piece], size: tuple[int, int]) -> np.ndarray | None:
    """(h, w) float32 in [0, 1]: the pieces at ``size`` = (w, h), their edges softened (a
    Gaussian of BLUR_SIGMA, worked only around each piece), or None when there are none."""
    if not pieces:
        return None
    w, h = size
    r = BLUR_REACH
    # Each piece's box grown by the blur's reach; boxes that meet are blurred as one (two hands
    # pressed together are one shape, as drawn in one image).
    boxes = []
    for (x0, y0), img in pieces:
        ph, pw = img.shape
        boxes.append([[max(0, x0 - r), max(0, y0 - r), min(w, x0 + pw + r), min(h, y0 + ph + r)], [((x0, y0), img)]])
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i][0], boxes[j][0]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    union = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    boxes[i] = [union, boxes[i][1] + boxes[j][1]]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    out = np.zeros((h, w), np.float32)
    for (a0, b0, a1, b1), group in boxes:
        local = np.zeros((b1 - b0, a1 - a0), np.uint8)
        for (x0, y0), img in group:
            ph, pw = img.shape
            part = local[y0 - b0 : y0 - b0 + ph, x0 - a0 : x0 - a0 + pw]
            np.maximum(part, img, out=part)
        # (the boxes, once merged, do not meet: each is written once, over zeros)
        soft = cv2.GaussianBlur(local, (0, 0), BLUR_SIGMA)
        np.multiply(soft, np.float32(1.0 / 255.0), out=out[b0:b1, a0:a1], dtype=np.float32)
    return out


def hand_mask(pose: Pose, size: tuple[int, int], options: KeepoutOptions | None = None) -> np.ndarray:
    """(h, w) float32: the visible hands' outlines, at ``size`` = (w, h)."""
    out = _soft(_hand_pieces(pose, size, options or KeepoutOptions()), size)
    return out if out is not None else np.zeros((size[1], size[0]), np.float32)


def hair_mask(
    frame_bgr: np.ndarray, pose: Pose, size: tuple[int, int], options: KeepoutOptions | None = None
) -> np.ndarray:
    """(h, w) float32: the shopper's hair below the eyes, where it can fall over clothes."""
    piece = _hair_piece(frame_bgr, pose, size, options or KeepoutOptions())
    out = _soft([piece] if piece is not None else [], size)
    return out if out is not None else np.zeros((size[1], size[0]), np.float32)


def _median(px: np.ndarray) -> np.ndarray:
    """(3,) float32: the per-channel median of ``px`` (n, 3) (as ``np.median``, without its
    overhead on a few hundred px; exact here: the values are whole or half grey levels)."""
    px = np.sort(px.astype(np.float32, copy=False), axis=0)
    n = len(px)
    return (px[(n - 1) // 2] + px[n // 2]) / np.float32(2.0)


def _hair_piece(frame_bgr: np.ndarray, pose: Pose, size: tuple[int, int], o: KeepoutOptions) -> Piece | None:
    """The hair below the eyes, in its box around the head at ``size`` = (w, h), or None."""
    w, h = size
    empty = None
    if pose.segmentation is None:
        return empty
    face = [L.LEFT_EAR, L.RIGHT_EAR, L.LEFT_EYE, L.RIGHT_EYE, L.NOSE]
    if (pose.visibility[face] < 0.5).any():
        return empty
    s = _scale(pose, size)
    kp = pose.keypoints_px.astype(np.float64) * s
    ears = float(np.linalg.norm(kp[L.LEFT_EAR] - kp[L.RIGHT_EAR]))
    # A turned head's ears come together in the image: its size from the nose's distance to
    # them then. Its sides are the face and the back of the head, not strands of hair.
    head_w = max(ears, o.head_depth * float(np.linalg.norm(kp[L.NOSE] - 0.5 * (kp[L.LEFT_EAR] + kp[L.RIGHT_EAR]))))
    turned = ears < o.turned * head_w
    if head_w < 6:
        return empty
    cx = 0.5 * (kp[L.LEFT_EAR, 0] + kp[L.RIGHT_EAR, 0])
    eye_y = 0.5 * (kp[L.LEFT_EYE, 1] + kp[L.RIGHT_EYE, 1])
    shoulder_y = 0.5 * (kp[L.LEFT_SHOULDER, 1] + kp[L.RIGHT_SHOULDER, 1])
    # Everything happens in the box where hair can be (around the head, down past the
    # shoulders), at the working resolution: a small part of the frame.
    bx0, by0 = int(clamp(cx - 1.6 * head_w, 0, w)), int(clamp(eye_y - 1.3 * head_w, 0, h))
    bx1, by1 = int(clamp(cx + 1.6 * head_w, 0, w)), int(clamp(shoulder_y + o.hair_reach * head_w, 0, h))
    if bx1 - bx0 < 4 or by1 - by0 < 4:
        return empty
    fh, fw = frame_bgr.shape[:2]
    sx, sy = px_scale((w, h), (fw, fh))
    crop = frame_bgr[
        int(by0 * sy) : max(int(by1 * sy), int(by0 * sy) + 1), int(bx0 * sx) : max(int(bx1 * sx), int(bx0 * sx) + 1)
    ]
    out_w, out_h = bx1 - bx0, by1 - by0
    # Hair is coarse: a close-up is worked at most HAIR_WORK_PX wide (the mask is scaled back).
    r = min(1.0, HAIR_WORK_PX / max(out_w, out_h))
    bw, bh = max(4, round(out_w * r)), max(4, round(out_h * r))
    img = shrink(crop, (bw, bh))
    lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB)  # (bh, bw, 3) uint8
    seg = pose.segmentation
    seg_h, seg_w = seg.shape
    qx, qy = px_scale((w, h), (seg_w, seg_h))
    seg_crop = seg[
        int(by0 * qy) : max(int(by1 * qy), int(by0 * qy) + 1), int(bx0 * qx) : max(int(bx1 * qx), int(bx0 * qx) + 1)
    ]
    person = (cv2.resize(seg_crop, (bw, bh), interpolation=cv2.INTER_LINEAR) > 0.5).view(np.uint8)
    # Box coordinates (at the working scale) from here on.
    cx, eye_y, shoulder_y = (cx - bx0) * r, (eye_y - by0) * r, (shoulder_y - by0) * r
    kp = (kp - np.array([bx0, by0])) * r
    head_w *= r

    def box(x0, y0, x1, y1) -> tuple[slice, slice]:
        xs = slice(int(clamp(x0, 0, bw)), int(clamp(x1, 0, bw)))
        ys = slice(int(clamp(y0, 0, bh)), int(clamp(y1, 0, bh)))
        return ys, xs

    # Skin at the nose; hair at the crown: the top rows of the person over the head.
    nose = kp[L.NOSE]
    ys, xs = box(nose[0] - 0.12 * head_w, nose[1] - 0.12 * head_w, nose[0] + 0.12 * head_w, nose[1] + 0.05 * head_w)
    skin_px = lab[ys, xs].reshape(-1, 3)
    if len(skin_px) < 4:
        return empty
    skin = _median(skin_px)
    seed = np.empty((bh, bw), np.uint8)
    c0, c1 = int(clamp(cx - 0.3 * head_w, 0, bw - 1)), int(clamp(cx + 0.3 * head_w, 1, bw))
    depth = max(2, int(round(0.2 * head_w)))
    if crown_seed(person, c0, c1, int(eye_y), depth, seed) < 12:
        return empty
    seed = seed.view(bool)
    sample = lab[seed].astype(np.float32)
    centre = _median(sample)
    if np.linalg.norm(centre - skin) < 20.0:  # the crown looks like skin: no hair to find
        return empty
    spread = np.maximum(_median(np.abs(sample - centre)) * 1.4826, 4.0)
    tol = max(o.hair_tolerance, 12.0 / float(spread.mean()))
    # The face itself (between the ears, brows to chin) is never hair.
    face_mask = np.zeros((bh, bw), np.uint8)
    cv2.ellipse(
        face_mask, (int(cx), int(eye_y + 0.25 * head_w)), (int(0.42 * head_w), int(0.62 * head_w)), 0, 0, 360, 1, -1
    )
    chin_y = eye_y + 0.9 * head_w
    ys, xs = box(cx - 0.35 * head_w, chin_y, cx + 0.35 * head_w, bh)  # hair falls beside the throat, not across it
    # Near the hair's colour, closer to it than to the skin, on the person, off the face and the throat.
    cand = np.empty((bh, bw), np.uint8)
    hair_candidates(
        lab, person, face_mask, centre, spread.astype(np.float32), skin, np.float32(tol * tol),
        np.array((ys.start, ys.stop, xs.start, xs.stop), np.int64), cand,
    )  # fmt: skip
    n, labels = cv2.connectedComponents(cand, connectivity=8)
    cand = cand.view(bool)
    touching = np.unique(labels[seed & cand])
    touching = touching[touching > 0]
    if len(touching) == 0:
        return empty
    keep = np.zeros(n, bool)
    keep[touching] = True
    hair = keep[labels]
    # Hair reaches below the chin only as strands falling beside the face: told from clothes
    # of its colour by its shape and its connection to the head, not by the colour alone.
    # - On a side with no strand beside the face (hair in most rows from the eyes to the
    #   chin) the hair is short or under a cap, and "hair" below the chin there is clothing
    #   (a dark collar or jacket) joined to the crown through the neck, a dark face or the cap.
    # - Below the chin a strand stays within the columns it falls in beside the jaw (fanning
    #   out a little over the shoulder), and is what stays joined to it there: a dark jacket
    #   under dark hair keeps its middle, so a garment over it gets no hole.
    jaw = (int(clamp(eye_y, 0, bh)), int(clamp(chin_y, 0, bh)))
    low = hair[jaw[1] :].copy()
    for side in (-1.0, 1.0):
        x0, x1 = sorted((cx + side * 0.4 * head_w, cx + side * 1.2 * head_w))
        ys, xs = box(x0, jaw[0], x1, jaw[1])
        beside = hair[ys, xs]
        half = slice(0, int(clamp(cx, 0, bw))) if side < 0 else slice(int(clamp(cx, 0, bw)), bw)
        strand = not turned and beside.size > 0 and beside.any(axis=1).mean() >= o.strand_rows
        if not strand or beside.sum() < 0.1 * head_w * head_w:
            low[:, half] = False
            continue
        # The strand's columns where it leaves the jaw (its lowest quarter head width).
        ys, xs = box(x0, chin_y - 0.25 * head_w, x1, chin_y)
        cols = np.zeros(bw, np.uint8)
        cols[xs][hair[ys, xs].any(axis=0)] = 1
        fan = max(1, int(round(o.hair_fan * head_w)))
        cols = cv2.dilate(cols[None], np.ones((1, 2 * fan + 1), np.uint8))[0] > 0
        side_cols = np.zeros(bw, bool)
        side_cols[half] = True
        low[:, side_cols & ~cols] = False
        # A strand has edges: the shirt shows beside it. Where the hair's colour runs on past
        # the strand's columns (a dark jacket under dark hair) hair cannot be told from the
        # clothes: from that row down the garment is drawn (remove less when unsure).
        band = cols & side_cols
        beyond = (cand[jaw[1] :] & (side_cols & ~cols)[None, :]).sum(axis=1)
        ok = np.logical_and.accumulate(beyond <= max(2.0, o.hair_beyond * band.sum()))
        low[~ok] &= ~side_cols[None, :]
    if low.size:
        # What stays joined to the strands at the jaw line.
        n, labels = cv2.connectedComponents(low.astype(np.uint8), connectivity=8)
        top = np.unique(labels[: max(1, int(0.15 * head_w))][low[: max(1, int(0.15 * head_w))]])
        joined = np.zeros(n, bool)
        joined[top[top > 0]] = True
        hair[jaw[1] :] = joined[labels]
    hair[: int(clamp(eye_y, 0, bh))] = False  # above the eyes hair is behind nothing we draw
    if turned:
        # Side on, the back of the head runs into the collar behind the jaw: nothing below the
        # mouth is told from a dark collar by its shape, so none of it is hair.
        mouth_y = float(kp[[L.MOUTH_LEFT, L.MOUTH_RIGHT], 1].mean())
        hair[int(clamp(min(mouth_y, eye_y + 0.5 * head_w), 0, bh)) :] = False
    hair = cv2.morphologyEx(hair.astype(np.uint8) * 255, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    if not cv2.countNonZero(hair):
        return None
    return (bx0, by0), cv2.resize(hair, (out_w, out_h), interpolation=cv2.INTER_LINEAR)


def keepout_mask(frame_bgr: np.ndarray, pose: Pose, options: KeepoutOptions | None = None) -> np.ndarray | None:
    """Hands and hair as one soft mask at the segmentation's working size, or None if empty."""
    o = options or KeepoutOptions()
    size = segmentation_size(pose.width, pose.height)
    pieces = _hand_pieces(pose, size, o) if o.hands else []
    hair = _hair_piece(frame_bgr, pose, size, o) if o.hair else None
    if hair is not None:
        pieces.append(hair)
    pieces = [p for p in pieces if cv2.countNonZero(p[1])]
    return _soft(pieces, size)
