"""Contact shadows: the items shade the shopper (and each other) from the key light.

Screen-space, like a game engine's contact shadows (HDRP marches the depth buffer): the
renderer hands back the depth it drew (the posed body occluder and the items, camera z in
metres) around the items, with where the items are; at every ``STEP_PX``-th pixel the surface
point is rebuilt from its depth and marched toward the key light (``Lighting.key_direction``)
a few centimetres at a time; where the march passes behind an *item* (the depth there nearer
than the ray, by more than a bias and less than a slab's thickness) the point is in shadow.
The body itself casts nothing (its shadows are already in the photo). The coarse map is
blurred (a soft shadow) and brought to full size, then darkens the camera frame where the
person is (a collar on the neck, a brim on the forehead, a sleeve on the hand) and the items
themselves (a top's hem on the jeans), by the share of the light the key light carries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.frames import CameraIntrinsics
from tryon.render.lighting import Lighting
from tryon.render.shadow_kernel import prepare, shade_samples
from tryon.render.types import ItemLayer

#: Distances marched toward the light, metres: contact first, a hat brim's reach last.
MARCH_M = (0.005, 0.01, 0.016, 0.024, 0.034, 0.046, 0.06, 0.075)
#: Beyond this march the shadow fades (to FAR_WEIGHT at the last step): a contact shadow
#: is darkest where the caster touches, and a far caster's shadow is softer and fainter.
CONTACT_M = 0.03
FAR_WEIGHT = 0.35
#: A surface facing the key light at this cosine or more loses all of its shadow's share
#: (``key_share``'s typical 55-degree incidence); less as it turns away, none edge-on or behind.
FACING_FULL = 0.57


@dataclass(frozen=True)
class ShadowOptions:
    """step_px : the shadow map's pixel pitch (shadows are soft: a coarse map will do).
    margin_px : how far around the items the body's depth is drawn (where shadows may fall).
    bias_m : a caster must be this much nearer than the marched point (no self-shadowing of a
    surface by its own depth steps). thickness_m : ... and no more than this (a hand far in
    front is not touching). blur_px : the softness (Gaussian sigma, full-size px).
    max_darkening : the deepest a shadow goes, a share of the pixel's brightness."""

    step_px: int = 4
    margin_px: int = 24
    bias_m: float = 0.008
    thickness_m: float = 0.25
    blur_px: float = 5.0
    max_darkening: float = 0.5


@dataclass(frozen=True)
class SceneDepth:
    """What the renderer drew around the items, sampled every ``step`` px.

    depth_m : (h, w) float32 camera z in metres of the nearest surface drawn (body occluder or
    item), ``inf`` where nothing was. roi : (x0, y0, x1, y1) full-size image px it covers
    (sample (i, j) is pixel (x0 + j step, y0 + i step)). step : its pitch in px."""

    depth_m: np.ndarray
    roi: tuple[int, int, int, int]
    step: int


def key_share(lighting: Lighting) -> float:
    """The share of a front-facing surface's light the key light gives (what a shadow takes
    away): key irradiance at a typical 55-degree incidence over key plus SH ambient."""
    lum = np.array([0.2126, 0.7152, 0.0722])
    # sh_irradiance at the normal (0, 0, -1), its zero terms left out
    c2, c3, c4, c5 = 0.511664, 0.743125, 0.886227, 0.247708
    sh = np.asarray(lighting.sh, np.float64)
    ambient = float(((c3 * sh[6] + c4 * sh[0]) - c5 * sh[6] - 2 * c2 * sh[2]) @ lum)
    key = float(np.asarray(lighting.key_color) @ lum) * 0.57 * math.pi
    return key / max(key + max(ambient, 0.0), 1e-6)


def shadow_map(
    scene: SceneDepth, caster: np.ndarray, light_dir_cam: np.ndarray, K: CameraIntrinsics, options: ShadowOptions
) -> np.ndarray:
    """(h, w) float32 in [0, 1] at the scene's pitch: how much each sampled point is shadowed
    by the items. caster : (h, w) bool, the samples where an item was drawn."""
    z = scene.depth_m
    h, w = z.shape
    x0, y0 = scene.roi[0], scene.roi[1]
    s = scene.step
    shade = np.zeros((h, w), np.float32)
    zf, zc = np.empty((h, w), np.float32), np.empty((h, w), np.float32)
    n, n_cast, mi, mj, zm = prepare(np.ascontiguousarray(z, np.float32), np.ascontiguousarray(caster), zf, zc)
    if n == 0 or n_cast == 0:
        return shade
    # Every point marched the same image-space steps, those of the scene's median point: at a
    # shopper's distance perspective changes a few-centimetre march by a fraction of a sample.
    pm = np.array([(x0 + mj * s - K.cx) / K.fx * zm, (y0 + mi * s - K.cy) / K.fy * zm, zm])
    L = np.asarray(light_dir_cam, np.float64)
    L = L / max(float(np.linalg.norm(L)), 1e-9)
    um, vm = K.fx * pm[0] / pm[2], K.fy * pm[1] / pm[2]
    du, dv, ray_dz, weight = [], [], [], []
    (p0, p1, p2), (l0, l1, l2) = pm.tolist(), L.tolist()  # (Python floats: the same sums, no array calls)
    for t in MARCH_M:
        q0, q1, q2 = p0 + t * l0, p1 + t * l1, p2 + t * l2
        if q2 <= 0.05:
            break
        # sample (i, j) looks at the caster at (i + dv, j + du)
        du.append(int(round((K.fx * q0 / q2 - um) / s)))
        dv.append(int(round((K.fy * q1 / q2 - vm) / s)))
        if abs(du[-1]) >= w or abs(dv[-1]) >= h:
            du.pop(), dv.pop()
            break
        ray_dz.append(t * l2)
        far = max(0.0, (t - CONTACT_M) / (MARCH_M[-1] - CONTACT_M))
        weight.append(1.0 - (1.0 - FAR_WEIGHT) * far)
    # Only the key light a point receives can be taken away: none where its surface is turned
    # from the light (the shader's, or the photo's, own shading already has it dark there; a
    # hanging dress lit from above and behind marched into its own depth and was blotched).
    u = ((x0 + np.arange(w, dtype=np.float32) * s - K.cx) / K.fx).astype(np.float32)
    v = ((y0 + np.arange(h, dtype=np.float32) * s - K.cy) / K.fy).astype(np.float32)
    shade_samples(
        zf,
        zc,
        u,
        v,
        np.array(du, np.int64),
        np.array(dv, np.int64),
        np.array(ray_dz, np.float32),
        np.array(weight, np.float32),
        np.float32(options.bias_m),
        np.float32(options.thickness_m),
        L.astype(np.float32),
        np.float32(FACING_FULL),
        shade,
    )
    return shade


@dataclass(frozen=True)
class ContactShadow:
    """How much the items' shadow darkens each pixel: darkening (h, w) uint8, the share of the
    pixel's brightness it takes times 255, over ``roi`` (x0, y0, x1, y1) image px, the box it
    touches."""

    darkening: np.ndarray
    roi: tuple[int, int, int, int]


def _grid_window(lo: int, hi: int, origin: int, step: int, n: int) -> tuple[int, int]:
    """The samples ``origin + k step`` (k < n) that fall in [lo, hi): (k0, k1)."""
    k0 = min(max(0, -((origin - lo) // step)), n)
    k1 = min(max(k0, -((origin - hi) // step)), n)
    return k0, k1


def _box_of(mask: np.ndarray, box: tuple[int, int, int, int], frame_size: tuple[int, int]) -> np.ndarray:
    """(y1 - y0, x1 - x0) float32: ``mask`` ((h, w) at any size with the frame's aspect) at the
    frame's pixels of ``box`` (x0, y0, x1, y1): ``cv2.resize`` to the frame's size then cropped
    (bilinear, pixel centres aligned, edges replicated), but only the box resampled (the whole
    frame's resize was a third of the stage). The mask's part under the box, from a whole
    block on each side (``_aligned``: the same scale, so the same weights), is resized."""
    x0, y0, x1, y1 = box
    W, H = frame_size
    h, w = mask.shape[:2]
    src = mask if mask.dtype == np.float32 else mask.astype(np.float32)
    if (h, w) == (H, W):
        return src[y0:y1, x0:x1]
    ax, ay = _aligned(w, W, x0, x1), _aligned(h, H, y0, y1)
    if ax is None or ay is None:  # no small common block: resample the box alone
        M = np.array([[w / W, 0.0, (x0 + 0.5) * w / W - 0.5], [0.0, h / H, (y0 + 0.5) * h / H - 0.5]])
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        return cv2.warpAffine(src, M, (x1 - x0, y1 - y0), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    (sx0, sx1, dx0), (sy0, sy1, dy0) = ax, ay
    up = cv2.resize(src[sy0:sy1, sx0:sx1], ((sx1 - sx0) * W // w, (sy1 - sy0) * H // h), interpolation=cv2.INTER_LINEAR)
    return up[y0 - dy0 : y1 - dy0, x0 - dx0 : x1 - dx0]


def _aligned(n_src: int, n_dst: int, lo: int, hi: int) -> tuple[int, int, int] | None:
    """The source span [s0, s1) whose resize by ``n_dst / n_src`` covers destination [lo, hi)
    with the whole resize's weights: it starts and ends on a block (``n_src / g`` source pixels
    are ``n_dst / g`` destination ones, g their gcd), one block beyond the span on each side
    unless at the edge (where the whole resize replicates it too); and its destination start.
    None when a block is over 16 source pixels."""
    g = math.gcd(n_src, n_dst)
    bs, bd = n_src // g, n_dst // g
    if bs > 16:
        return None
    k0 = max(lo // bd - 1, 0)
    k1 = min(-(-hi // bd) + 1, g)
    return k0 * bs, k1 * bs, k0 * bd


def darken(
    frame_bgr: np.ndarray,
    layer: ItemLayer,
    scene: SceneDepth,
    lighting: Lighting,
    K: CameraIntrinsics,
    person_mask: np.ndarray | None = None,
    options: ShadowOptions | None = None,
    in_front: np.ndarray | None = None,
) -> tuple[np.ndarray, ItemLayer, ContactShadow | None]:
    """The frame and the items' layer with the items' contact shadows.

    person_mask : (h, w) float32 in [0, 1] at any size with the frame's aspect
    (``Pose.segmentation``): the frame darkens only where it is over 0.5 (brought to the
    frame's size, bilinear). in_front : (h, w) float32 in [0, 1]
    at any size with the frame's aspect, what is in front of the clothes (the keep-out mask:
    hands, hair): not shadowed by them. Returns (frame, layer, shadow): a darkened copy of the
    frame (the frame itself when nothing is shadowed), the layer with its own shadowed pixels
    darkened (a new array), and the items' shadow over the box it touches (None when none).

    Only the box the shadow touches is worked on at full size."""
    o = options or ShadowOptions()
    if layer.empty:
        return frame_bgr, layer, None
    sx0, sy0, sx1, sy1 = scene.roi
    s = scene.step
    lx0, ly0, lx1, ly1 = layer.roi
    # Where the items are, on the scene's grid: the layer's alpha sampled at the same pixels.
    hs, ws = scene.depth_m.shape
    caster = np.zeros((hs, ws), bool)
    i0, i1 = _grid_window(ly0, ly1, sy0, s, hs)
    j0, j1 = _grid_window(lx0, lx1, sx0, s, ws)
    if i1 > i0 and j1 > j0:
        alpha = layer.bgra[sy0 + i0 * s - ly0 :: s, sx0 + j0 * s - lx0 :: s, 3]
        caster[i0:i1, j0:j1] = alpha[: i1 - i0, : j1 - j0] > 128
    coarse = shadow_map(scene, caster, lighting.key_direction, K, o)
    if not coarse.any():
        return frame_bgr, layer, None
    coarse = cv2.GaussianBlur(coarse, (0, 0), max(o.blur_px / s, 0.5))
    fw, fh = sx1 - sx0, sy1 - sy0
    ys, xs = np.nonzero(coarse > 0.01)
    if not len(xs):  # only faint shadow left after the blur
        return frame_bgr, layer, None
    bx0, by0 = int(xs.min()) * s, int(ys.min()) * s
    bx1, by1 = min((int(xs.max()) + 1) * s, fw), min((int(ys.max()) + 1) * s, fh)
    if bx1 <= bx0 or by1 <= by0:
        return frame_bgr, layer, None
    # The box at full size: the coarse samples around it (one more each side, so the linear
    # interpolation is the whole map's) brought up by the pitch, their pixel centres aligned.
    ci0, cj0 = max(by0 // s - 1, 0), max(bx0 // s - 1, 0)
    ci1, cj1 = min(-(-by1 // s) + 1, hs), min(-(-bx1 // s) + 1, ws)
    up = cv2.resize(coarse[ci0:ci1, cj0:cj1], ((cj1 - cj0) * s, (ci1 - ci0) * s), interpolation=cv2.INTER_LINEAR)
    strength = min(key_share(lighting), o.max_darkening)
    # uint8 from here on (OpenCV's fixed-point paths), 255 = all the pixel's light taken
    shade = cv2.convertScaleAbs(
        up[by0 - ci0 * s : by1 - ci0 * s, bx0 - cj0 * s : bx1 - cj0 * s], alpha=255.0 * strength
    )
    sx0, sy0, sx1, sy1 = sx0 + bx0, sy0 + by0, sx0 + bx1, sy0 + by1
    # The frame: only on the person (the body proxy's depth is rough at its outline).
    receive = shade
    frame_size = (frame_bgr.shape[1], frame_bgr.shape[0])
    if person_mask is not None:
        # the person for sure: none where the mask says half or less (the background stays
        # untouched), full from 0.9: 255 clip((m - 0.5) 2.5, 0, 1)
        m = cv2.max(_box_of(person_mask, (sx0, sy0, sx1, sy1), frame_size), 0.5)
        receive = cv2.multiply(receive, cv2.convertScaleAbs(m, alpha=637.5, beta=-318.75), scale=1.0 / 255.0)
    if in_front is not None:
        k = _box_of(in_front, (sx0, sy0, sx1, sy1), frame_size)
        # 255 (1 - clip(2 k, 0, 1))
        lit = cv2.convertScaleAbs(cv2.min(k, 0.5), alpha=-510.0, beta=255.0)
        receive = cv2.multiply(receive, lit, scale=1.0 / 255.0)
    keep = cv2.bitwise_not(receive)  # 255 - receive
    out = frame_bgr.copy()
    roi = out[sy0:sy1, sx0:sx1]
    cv2.multiply(roi, cv2.merge([keep] * 3), dst=roi, scale=1.0 / 255.0)
    # The items: their own pixels in another item's (or a fold's) shadow.
    bgra = layer.bgra.copy()
    ox0, oy0 = max(lx0, sx0), max(ly0, sy0)
    ox1, oy1 = min(lx1, sx1), min(ly1, sy1)
    if ox1 > ox0 and oy1 > oy0:
        sub = bgra[oy0 - ly0 : oy1 - ly0, ox0 - lx0 : ox1 - lx0]
        k1 = cv2.bitwise_not(shade[oy0 - sy0 : oy1 - sy0, ox0 - sx0 : ox1 - sx0])
        cv2.multiply(sub, cv2.merge([k1, k1, k1, np.full_like(k1, 255)]), dst=sub, scale=1.0 / 255.0)
    return out, ItemLayer(bgra, layer.roi, layer.size), ContactShadow(shade, (sx0, sy0, sx1, sy1))
