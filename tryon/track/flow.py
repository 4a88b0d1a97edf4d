"""The shopper's image motion per body region, measured by sparse optical flow.

Corners inside the person mask are found on a reduced copy of the frame (longest side at
most ``work_max_side_px``) and followed to the next frame by pyramidal Lucas-Kanade; each feature
belongs to the body region whose capsule it lies in (:mod:`tryon.track.regions`). Per region,
a similarity transform (shift, rotation, scale) is fitted robustly (Tukey-weighted least
squares, started from the median shift), so a limb swinging about its joint is followed
along its length, and a feature that slid on a sleeve's edge or a hand passing in front
counts for little. A region with too few features says so (``ok`` False): the keypoints
then stand alone.

All coordinates handed out are full-frame image px (:mod:`tryon.frames`); the working
image's OpenCV coordinates are converted at the boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.frames import px_to_scaled_cv, scaled_cv_to_px, scaled_size
from tryon.track.kernels import carry_regions, displacements, fit_similarities
from tryon.track.regions import NUM_REGIONS, PARENT_INDEX, REGIONS, assign_regions, body_scale_px

_TRUNK = REGIONS.index("trunk")
_ERODE_3x3 = np.ones((3, 3), np.uint8)


@dataclass(frozen=True)
class FlowOptions:
    """How image motion is measured.

    work_max_side_px : the longest side of the reduced grey image the flow runs on, at most
        (the frame is shrunk by a whole factor where that keeps 90% of it: 640x480 -> 320x240,
        600x600 -> 300x300, 512x512 -> 320x320).
    max_features : corners looked for inside the person mask; they are followed from frame
        to frame and looked for afresh every ``redetect_every`` frames, or when fewer than
        ``redetect_below`` of those found are left.
    min_distance_work_px : least distance between two corners (working px); quality : the
        weakest corner kept, as a share of the strongest (low: a plain suit has few corners).
    lk_window_work_px, lk_levels : Lucas-Kanade's window (working px) and pyramid levels
        (3 levels follow up to about 40 working px a frame).
    max_lk_error : a feature whose patch changed more than this (mean absolute grey levels)
        is dropped (occluded, blurred).
    min_region_features : fewer followed features than this leave a region unmeasured.
    rotation_prior : each region's rotation and scale are drawn toward none as if its
        features spread this share of the body's scale further (a short forearm's few
        features would otherwise turn it by their noise).
    articulation : how far a limb part carried by its parent (its own motion unmeasured) may
        move on its own in a frame, as a share of the body's scale.
    max_region_noise : a region whose features stray from one motion by more than this
        (RMS, share of the body's scale) is not measured (hands crossing the chest).
    held_below : a limb carried by a parent that moved less than this in a frame (share of the
        body's scale) gets no articulation allowance: held, like its parent.
    rigid_noise_work_px : features' residual RMS (working px) that camera noise explains;
        beyond it a region's motion is not the body's (loose cloth, blur), and its
        prediction's variance grows by ``unrigid_gain`` times the excess, squared; a limb it
        carries may also move as fast as it does (``articulation_per_motion``).
    articulation_per_motion : share of the measured limbs' own motion (relative to the
        trunk's) that an unmeasured limb may have in the same frame; and of its parent's motion
        where that parent is not rigid (see ``rigid_noise_work_px``).
    """

    work_max_side_px: int = 320
    max_features: int = 120
    min_distance_work_px: int = 3
    quality: float = 0.001
    redetect_every: int = 5
    redetect_below: float = 0.6
    lk_window_work_px: int = 9
    lk_levels: int = 3
    max_lk_error: float = 20.0
    min_region_features: int = 6
    rotation_prior: float = 0.08
    articulation: float = 0.004
    held_below: float = 0.005
    rigid_noise_work_px: float = 0.15
    articulation_per_motion: float = 0.5
    unrigid_gain: float = 5.0
    max_region_noise: float = 0.03

    def __post_init__(self) -> None:
        if self.work_max_side_px < 32:
            raise ValueError(f"work_max_side_px must be at least 32, got {self.work_max_side_px}")
        if self.max_features < 1 or self.min_region_features < 2:
            raise ValueError("max_features must be >= 1 and min_region_features >= 2")
        if self.lk_window_work_px < 3 or self.lk_window_work_px % 2 == 0:
            raise ValueError(f"lk_window_work_px must be odd and >= 3, got {self.lk_window_work_px}")


@dataclass(frozen=True)
class RegionMotion:
    """How each body region moved in the image since the previous frame.

    Per region ``r``: ``x_now = [[a, -b], [b, a]] @ x_prev + t_px`` (image px), fitted to
    ``features`` followed features (Tukey weights summed) whose previous centroid is
    ``centre_px`` and mean squared distance from it ``spread_px2`` (prior included);
    ``noise_px`` is the features' residual RMS, ``ok`` whether the region was measured.
    A region not measured whose parent (:data:`tryon.track.regions.PARENT`) moved is carried
    by it (``borrowed``), less surely: ``extra_var_px2`` is added to its prediction's
    variance. Arrays are (R,) or (R, 2) in :data:`tryon.track.regions.REGIONS` order.
    """

    a: np.ndarray
    b: np.ndarray
    t_px: np.ndarray
    centre_px: np.ndarray
    spread_px2: np.ndarray
    noise_px: np.ndarray
    features: np.ndarray
    ok: np.ndarray
    borrowed: np.ndarray
    extra_var_px2: np.ndarray

    def displacement_px(
        self, points_px: np.ndarray, membership: np.ndarray, shift_only: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The image motion of points (N, 2) image px at the previous frame, each moving with
        the regions in its ``membership`` row ((N, R), rows summing to 1); a point flagged in
        ``shift_only`` ((N,) bool) moves by its regions' shift alone.

        Returns displacement (N, 2) px, its standard error (N,) px, and support (N,) in
        [0, 1]: the share of the point's regions that were measured, a borrowed one counting
        half (0: not predicted)."""
        out = self.displacement_table(points_px, membership, shift_only)
        return out[:, :2], out[:, 2], out[:, 3]

    def displacement_table(
        self, points_px: np.ndarray, membership: np.ndarray, shift_only: np.ndarray | None = None
    ) -> np.ndarray:
        """:meth:`displacement_px` as one (N, 4) float64 array: columns dx, dy (px), the
        standard error (px) and the support."""
        p = np.ascontiguousarray(points_px, dtype=np.float64)
        flags = np.zeros(len(p), dtype=bool) if shift_only is None else np.asarray(shift_only, dtype=bool)
        return displacements(
            p,
            flags,
            np.ascontiguousarray(membership, dtype=np.float64),
            self.a,
            self.b,
            self.t_px,
            self.centre_px,
            self.spread_px2,
            self.noise_px,
            self.features,
            self.ok,
            self.borrowed,
            self.extra_var_px2,
        )


def fit_region_motion(
    prev_px: np.ndarray,
    now_px: np.ndarray,
    region: np.ndarray,
    prior_px: float,
    min_features: int,
    articulation_px: float,
    max_noise_px: float = np.inf,
    iterations: int = 3,
    held_below_px: float = 0.0,
    rigid_noise_px: float = np.inf,
    unrigid_gain: float = 0.0,
    articulation_per_motion: float = 0.0,
) -> RegionMotion:
    """Robust similarity transforms per region from features' positions (N, 2) image px in the
    previous and this frame and their region (N,) (-1: none); see :class:`RegionMotion`.
    ``prior_px``: the spread (px) by which rotation and scale are drawn toward none;
    ``articulation_px``: how far (px, one frame) a region carried by its parent may move on
    its own; ``max_noise_px``: features' residual RMS beyond which a region is not measured;
    ``held_below_px``, ``rigid_noise_px`` (full-frame px), ``unrigid_gain`` and
    ``articulation_per_motion``: see :class:`FlowOptions`.

    The fit itself is :func:`tryon.track.kernels.fit_similarities` (compiled)."""
    R = NUM_REGIONS
    prev_px = np.ascontiguousarray(prev_px, np.float64)
    now_px = np.ascontiguousarray(now_px, np.float64)
    region = np.ascontiguousarray(region, np.int64)
    lam = prior_px**2
    fit = fit_similarities(prev_px, now_px, region, R, float(lam), iterations)
    a, b = fit[:, 0].copy(), fit[:, 1].copy()
    t, c0 = fit[:, 2:4].copy(), fit[:, 4:6].copy()
    den, sw, noise = fit[:, 6], fit[:, 7].copy(), fit[:, 8]
    # a region whose features disagree (hands moving in front of the chest) is not one motion
    ok = (sw >= min_features) & (noise <= max_noise_px)
    spread = den / np.maximum(sw, 1e-9)
    noise = np.maximum(noise, 0.02)
    borrowed = np.zeros(R, dtype=bool)
    # features straying from one motion more than camera noise explains (cloth sliding over a
    # dancing body, blur): the region's motion is not the body's, by about that much
    extra = (unrigid_gain * np.maximum(noise - rigid_noise_px, 0.0)) ** 2
    keep = region >= 0 if not ok[_TRUNK] and sw[_TRUNK] < min_features else None
    if keep is not None and np.count_nonzero(keep) >= min_features:
        # the trunk unmeasured (a plain shirt): the body's features together, shift only
        x0, y0 = prev_px[keep, 0], prev_px[keep, 1]
        dx, dy = now_px[keep, 0] - x0, now_px[keep, 1] - y0
        ax, ay = float(np.median(dx)), float(np.median(dy))
        borrowed[_TRUNK] = True
        a[_TRUNK], b[_TRUNK], t[_TRUNK] = 1.0, 0.0, (ax, ay)
        c0[_TRUNK] = (np.mean(x0), np.mean(y0))
        sw[_TRUNK] = len(dx)
        noise[_TRUNK] = max(1.4826 * float(np.median(np.hypot(dx - ax, dy - ay))), 0.02)
        spread[_TRUNK] = float(np.mean((x0 - x0.mean()) ** 2 + (y0 - y0.mean()) ** 2)) + lam
        # the body's features straying from one shift (hands waving in front of a plain shirt)
        # make it as unsure as any region whose features do not move as one
        extra[_TRUNK] = articulation_px**2 + (unrigid_gain * max(noise[_TRUNK] - rigid_noise_px, 0.0)) ** 2
    # the regions not measured whose parent moved, carried by it (compiled)
    carry_regions(
        a, b, t, c0, spread, noise, sw, ok, borrowed, extra, PARENT_INDEX, _TRUNK,
        float(articulation_px), float(held_below_px), float(rigid_noise_px), float(articulation_per_motion),
    )  # fmt: skip
    return RegionMotion(
        a=a,
        b=b,
        t_px=t,
        centre_px=c0,
        spread_px2=spread,
        noise_px=noise,
        features=sw,
        ok=ok,
        borrowed=borrowed,
        extra_var_px2=extra,
    )


class RegionFlow:
    """Follows features on the shopper from frame to frame; one instance per stream.

    ``__call__(frame_bgr, person_mask, keypoints_prev_px)`` returns the :class:`RegionMotion`
    since the previous call (None on the first frame or after ``reset``)."""

    def __init__(self, options: FlowOptions | None = None) -> None:
        self.options = options or FlowOptions()
        self.reset()

    def reset(self) -> None:
        self._prev_grey: np.ndarray | None = None
        self._size: tuple[int, int] | None = None
        self._pts_cv = np.zeros((0, 1, 2), np.float32)
        self._region: np.ndarray | None = None  # each followed feature's region
        self._since_detect = 0
        self._detected = 0
        self.last_features = 0

    def __call__(
        self, frame_bgr: np.ndarray, person_mask: np.ndarray | None, keypoints_prev_px: np.ndarray
    ) -> RegionMotion | None:
        """frame_bgr : (H, W, 3) uint8. person_mask : (h, w) float32 in [0, 1] at any size of
        the frame's aspect ratio (the Pose's segmentation), or None. keypoints_prev_px : (33, 2)
        image px, the body at the previous frame (features are sorted into regions by it)."""
        o = self.options
        h, w = frame_bgr.shape[:2]
        if self._size != (w, h):
            self.reset()
            self._size = (w, h)
        # the working image: where it loses little, the frame shrunk by a whole factor k (its
        # last k - 1 columns and rows left out: every working pixel averages k x k, OpenCV's
        # fast path; a fractional factor costs about a millisecond more at 600x600), else by
        # the exact factor to work_max_side_px (512x512 -> 320x320, not 256x256)
        k = max(1, math.ceil(max(w, h) / o.work_max_side_px))
        if max(w, h) // k >= 0.9 * o.work_max_side_px or k == 1:
            scale_xy = np.full(2, 1.0 / k)
            grey = cv2.cvtColor(frame_bgr[: h // k * k, : w // k * k], cv2.COLOR_BGR2GRAY)
            if k > 1:
                grey = cv2.resize(grey, (w // k, h // k), interpolation=cv2.INTER_AREA)
        else:
            work_size, scale_xy = scaled_size(w, h, o.work_max_side_px)
            grey = cv2.resize(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY), work_size, interpolation=cv2.INTER_AREA)
        win = (o.lk_window_work_px, o.lk_window_work_px)

        motion = None
        if self._prev_grey is not None and len(self._pts_cv):
            nxt, status, err = cv2.calcOpticalFlowPyrLK(
                self._prev_grey, grey, self._pts_cv, None, winSize=win, maxLevel=o.lk_levels
            )
            p0 = scaled_cv_to_px(self._pts_cv[:, 0], scale_xy)
            p1 = scaled_cv_to_px(nxt[:, 0], scale_xy)
            # followed, little changed, and still in the picture (a NaN is not)
            good = (status.ravel() == 1) & (err.ravel() < o.max_lk_error)
            good &= (p1[:, 0] >= 0) & (p1[:, 0] < w) & (p1[:, 1] >= 0) & (p1[:, 1] < h)
            p0, p1 = p0[good], p1[good]
            scale = body_scale_px(keypoints_prev_px)
            if self._region is None:  # found last frame: sorted into regions once, then kept
                region = assign_regions(p0, keypoints_prev_px, scale)
            else:
                region = self._region[good]
            motion = fit_region_motion(
                p0,
                p1,
                region,
                o.rotation_prior * scale,
                o.min_region_features,
                o.articulation * scale,
                o.max_region_noise * scale,
                held_below_px=o.held_below * scale,
                rigid_noise_px=o.rigid_noise_work_px / (0.5 * (scale_xy[0] + scale_xy[1])),
                unrigid_gain=o.unrigid_gain,
                articulation_per_motion=o.articulation_per_motion,
            )
            self._pts_cv = nxt[good]
            self._region = region
        self.last_features = len(self._pts_cv)

        self._since_detect += 1
        few = len(self._pts_cv) == 0 or len(self._pts_cv) < o.redetect_below * self._detected
        if few or self._since_detect >= o.redetect_every:
            self._pts_cv = self._detect(grey, person_mask, keypoints_prev_px, scale_xy)
            self._region = None
            self._since_detect = 0
            self._detected = len(self._pts_cv)
        self._prev_grey = grey
        return motion

    def _detect(
        self, grey: np.ndarray, person_mask: np.ndarray | None, keypoints_px: np.ndarray, scale_xy: np.ndarray
    ) -> np.ndarray:
        """(N, 1, 2) float32 corners (working OpenCV coordinates) on the person."""
        o = self.options
        hw, ww = grey.shape
        if person_mask is not None:
            m = cv2.resize(person_mask, (ww, hw), interpolation=cv2.INTER_LINEAR)
            mask = cv2.compare(m, 0.5, cv2.CMP_GT)  # 255 on the person
            mask = cv2.erode(mask, _ERODE_3x3, iterations=1)
        else:  # no segmentation: the keypoints' box
            mask = np.zeros((hw, ww), np.uint8)
            lo = np.floor(px_to_scaled_cv(np.nanmin(keypoints_px, axis=0), scale_xy)).astype(int)
            hi = np.ceil(px_to_scaled_cv(np.nanmax(keypoints_px, axis=0), scale_xy)).astype(int)
            mask[max(lo[1], 0) : max(hi[1], 0), max(lo[0], 0) : max(hi[0], 0)] = 1
        # only the person's box is searched (corner measures cost by the pixel)
        x0, y0, bw, bh = cv2.boundingRect(mask)
        if bw == 0 or bh == 0:
            return np.zeros((0, 1, 2), np.float32)
        x1, y1 = x0 + bw, y0 + bh
        pts = cv2.goodFeaturesToTrack(
            grey[y0:y1, x0:x1], o.max_features, o.quality, o.min_distance_work_px, mask=mask[y0:y1, x0:x1], blockSize=5
        )
        if pts is None:
            return np.zeros((0, 1, 2), np.float32)
        return (pts + np.array([x0, y0], np.float32)).astype(np.float32)
