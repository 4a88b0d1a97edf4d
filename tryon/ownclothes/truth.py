"""Synthetic truth for the own-clothes stage: the posed mannequin in a wide outfit of its own.

The mannequin's skin is grown along its normals into a wide coat and wide trousers (torso,
arms, legs) and big shoes (feet), in one distinct colour; head and hands stay bare. It stands
before a known background. What a perfect stage would show is known exactly: the outfit's
pixels, the bare body's, and the background behind them. Used by the tests, the figures and
the benchmark (:func:`leak_share`, :func:`fill_error`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from tryon.body.mannequin import Mannequin, bone_region
from tryon.body.skeleton import BONE_NAMES
from tryon.body.skinning import linear_blend_skinning
from tryon.body.synthetic import synthetic_person
from tryon.frames import CameraIntrinsics
from tryon.pose.types import Pose, segmentation_size
from tryon.render.lighting import Lighting
from tryon.render.types import Draw, Material

#: How far the own outfit stands out from the skin, metres, per body region (0 = bare).
OUTFIT_GROWTH_M = {0: 0.07, 2: 0.06, 3: 0.06, 6: 0.07, 7: 0.07, 8: 0.03, 9: 0.03}
#: The outfit's colour (linear RGB): a saturated green, unlike skin, denim and the background.
OUTFIT_COLOUR = (0.05, 0.45, 0.08, 1.0)
SKIN_COLOUR = (0.75, 0.45, 0.32, 1.0)


def _box_colour(rng: np.random.Generator) -> list[float]:
    """A poster's or shelf's BGR colour, never green (the outfit's)."""
    b, g, r = rng.uniform(40, 230, 3)
    return [float(b), float(min(g, 0.8 * max(b, r))), float(r)]


def background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 BGR: a shop-like backdrop: a lit wall (gradient), a floor, shelves and
    posters (flat boxes), fine texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    base = np.array([170, 180, 190], np.float32) * (0.8 + 0.2 * (x / width))[:, :, None]
    img[:] = base
    floor = y > 0.8 * height
    img[floor] = np.array([90, 110, 130], np.float32) * (0.8 + 0.3 * (y[floor] / height))[:, None]
    for _ in range(8):
        x0, y0 = rng.integers(0, width - 40), rng.integers(0, int(0.75 * height) - 30)
        w, h = rng.integers(30, width // 4), rng.integers(15, height // 5)
        cv2.rectangle(img, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)), _box_colour(rng), -1)
    img += rng.normal(0, 3, img.shape).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), 0.7)
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class DressedScene:
    """One synthetic frame.

    frame : (H, W, 3) uint8 BGR, the person in their own outfit before ``background``.
    pose : the Pose a perfect landmarker would report, with the true person mask.
    outfit : (H, W) bool, where the own outfit shows. body : (H, W) bool, the bare body
    (skin) as it would show without the outfit.
    """

    frame: np.ndarray
    background: np.ndarray
    pose: Pose
    outfit: np.ndarray
    body: np.ndarray


def _region_of_vertices(mannequin: Mannequin) -> np.ndarray:
    names = [BONE_NAMES[b] for b in mannequin.skin.bones[:, 0]]
    return np.array([bone_region(n) for n in names])


def dressed_scene(
    mannequin: Mannequin,
    palette_cam: np.ndarray,
    K: CameraIntrinsics,
    renderer,
    backdrop: np.ndarray,
    timestamp_ms: int | None = None,
    colour: tuple[float, float, float, float] = OUTFIT_COLOUR,
) -> DressedScene:
    """Render the mannequin posed by ``palette_cam`` in its wide outfit (``colour``, linear
    RGBA) over ``backdrop``."""
    m = mannequin
    pos, nrm = linear_blend_skinning(m.positions_m, m.skin, palette_cam, m.normals)
    region = _region_of_vertices(m)
    grow = np.array([OUTFIT_GROWTH_M.get(int(r), 0.0) for r in region], np.float32)
    worn = grow > 0
    faces_outfit = m.faces[worn[m.faces].all(axis=1)]
    bare = Draw("__truth_body__", pos, nrm, m.faces, material=Material("skin", np.array(SKIN_COLOUR, np.float32)))
    outfit = Draw(
        "__truth_outfit__",
        pos + nrm * grow[:, None],
        nrm,
        faces_outfit,
        material=Material("outfit", np.array(colour, np.float32), roughness=0.9),
    )
    light = Lighting.studio()
    both = renderer.render_layers(K, [bare, outfit], lighting=light)
    body_only = renderer.render_layers(K, [bare], lighting=light)
    outfit_only = renderer.render_layers(K, [outfit], lighting=light)
    a = both.bgra[:, :, 3:4].astype(np.float32) / 255.0
    frame = np.clip(backdrop.astype(np.float32) * (1.0 - a) + both.bgra[:, :, :3] + 0.5, 0, 255).astype(np.uint8)
    outfit_px = (outfit_only.bgra[:, :, 3] > 127) & (outfit_only.depth_m <= body_only.depth_m + 1e-4)
    body_px = body_only.bgra[:, :, 3] > 127
    truth = synthetic_person(m, palette_cam, K, timestamp_ms)
    seg = cv2.resize(a[:, :, 0], segmentation_size(K.width, K.height), interpolation=cv2.INTER_AREA)
    pose = replace(truth.pose, segmentation=seg.astype(np.float32))
    return DressedScene(frame, backdrop, pose, outfit_px, body_px)


def leak_share(scene: DressedScene, out_bgr: np.ndarray, items_alpha: np.ndarray, level: float = 12.0) -> float:
    """Own-outfit pixels still visible (unchanged by more than ``level`` grey levels) outside
    the tried-on items and the bare body, over the items' area."""
    items = items_alpha > 0.5
    changed = cv2.absdiff(out_bgr, scene.frame).max(axis=2) > level
    leak = scene.outfit & ~scene.body & ~items & ~changed
    return float(leak.sum()) / max(int(items.sum()), 1)


def fill_error(scene: DressedScene, out_bgr: np.ndarray, items_alpha: np.ndarray, level: float = 12.0) -> float:
    """Mean grey-level error against the true background of the pixels the stage replaced that
    show (outside the items) where the true scene is background behind the outfit."""
    items = items_alpha > 0.5
    changed = cv2.absdiff(out_bgr, scene.frame).max(axis=2) > level
    sel = changed & ~items & scene.outfit & ~scene.body
    if not sel.any():
        return 0.0
    g_out = cv2.cvtColor(out_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    g_bg = cv2.cvtColor(scene.background, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(np.abs(g_out - g_bg)[sel].mean())


@dataclass(frozen=True)
class Trial:
    """The dressed scene with items tried on: the solved ``body``, ``items`` (each with its
    drawn vertices, camera metres), and ``layer`` (the items rendered, a copy)."""

    scene: DressedScene
    body: object
    items: list
    layer: object


def try_on(mannequin: Mannequin, scene: DressedScene, K: CameraIntrinsics, renderer, garments) -> Trial:
    """Solve the body from the scene's perfect pose, pose the ``garments`` on it and render
    them (occluded by the body, clipped by the person mask) as the engine would."""
    from tryon.body.solver import RigSolver
    from tryon.deform import body_occluder, deform_item

    body = RigSolver(mannequin).solve(scene.pose, K)
    draws, items = [], []
    for garment in garments:
        d = deform_item(garment, body)
        draws += d
        if d:
            items.append((garment, np.concatenate([x.positions_cam_m for x in d])))
    layer = renderer.render_items(K, draws, body_occluder(mannequin, body), scene.pose.segmentation, Lighting.studio())
    return Trial(scene, body, items, replace(layer, bgra=layer.bgra.copy()))
