"""Catalog previews: an item rendered on the bind-pose mannequin, front and three-quarter.

Clothes are shown on the whole body; small items (rings, watches, earrings, glasses) are
framed on their body part, with a small whole-body inset so a shopper sees where it goes.
"""

from __future__ import annotations

import cv2
import numpy as np

from tryon.body.mannequin import Mannequin, load_mannequin
from tryon.body.rotations import axis_angle
from tryon.catalog.item import Garment
from tryon.frames import MODEL_TO_CAMERA, CameraIntrinsics
from tryon.render.lighting import Lighting
from tryon.render.renderer import Renderer
from tryon.render.types import Draw, Material

SKIN = Material("skin", [0.62, 0.45, 0.36, 1.0], roughness=0.7)
BACKGROUND_BGR = (236, 234, 230)


def _posed(garment: Garment, variant: str | None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, object, object]]:
    """The item's parts in model metres (bind pose: every bone at rest, offsets applied)."""
    mats = garment.materials_for(variant)
    out = []
    for part, mat in zip(garment.parts, mats):
        pos = part.positions.astype(np.float64)
        if garment.is_rigid and garment.attachment is not None:
            off = np.asarray(garment.attachment.offset, np.float64)
            pos = pos @ off[:, :3].T + off[:, 3]
        out.append((pos, part.normals, part.faces, part.uvs, mat))
    return out


def _view(points: np.ndarray, yaw_deg: float, K: CameraIntrinsics, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and translation (model -> camera) that frame ``points`` at ``fill`` of the image."""
    R = (
        MODEL_TO_CAMERA.astype(np.float64)
        @ axis_angle([0, 1, 0], np.radians(yaw_deg))
        @ axis_angle([1, 0, 0], np.radians(-8))
    )
    q = points @ R.T
    lo, hi = q.min(axis=0), q.max(axis=0)
    size = max((hi[0] - lo[0]) * K.fx / K.width, (hi[1] - lo[1]) * K.fy / K.height) / fill
    centre = 0.5 * (lo + hi)
    t = np.array([-centre[0], -centre[1], size - centre[2] + (hi[2] - lo[2])])
    return R, t


def render_preview(
    garment: Garment,
    variant: str | None = None,
    size: int = 512,
    mannequin: Mannequin | None = None,
    renderer: Renderer | None = None,
) -> np.ndarray:
    """(size, 2 * size, 3) uint8 BGR: front and three-quarter views of the item on the mannequin."""
    m = mannequin or load_mannequin()
    parts = _posed(garment, variant)
    item_pts = np.concatenate([p[0] for p in parts])
    small = garment.is_rigid  # accessories: framed on their body part
    K = CameraIntrinsics.from_fov(size, size, 30)
    own = renderer is None
    r = renderer or Renderer()
    tiles = []
    try:
        for k, yaw in enumerate((0.0, 35.0)):
            if small:
                focus = item_pts
                lo, hi = focus.min(axis=0), focus.max(axis=0)
                c, half = 0.5 * (lo + hi), max(0.06, 0.9 * (hi - lo).max())
                focus = np.array([c - half, c + half])
                fill = 0.85
            else:
                focus = np.concatenate([m.positions_m, item_pts])
                fill = 0.92
            R, t = _view(focus, yaw, K, fill)
            # The body a few millimetres inside its skin, so it does not poke through clothes
            # that lie on it (the engine's occluder is pulled in the same way).
            inset = m.positions_m - 0.005 * m.normals
            draws = [
                Draw(
                    f"__preview_body__{k}",
                    (inset @ R.T + t).astype(np.float32),
                    (m.normals @ R.T).astype(np.float32),
                    m.faces,
                    material=SKIN,
                    clip_to_person=False,
                    keepout=False,
                )
            ]
            for j, (pos, nrm, faces, uvs, mat) in enumerate(parts):
                draws.append(
                    Draw(
                        f"__preview_{garment.id}_{j}_{k}",
                        (pos @ R.T + t).astype(np.float32),
                        (np.asarray(nrm, np.float64) @ R.T).astype(np.float32),
                        faces,
                        uvs,
                        mat,
                        clip_to_person=False,
                        keepout=False,
                    )
                )
            lay = r.render_layers(K, draws, lighting=Lighting.studio())
            a = lay.bgra[:, :, 3:4].astype(np.float32) / 255.0
            bg = np.empty((size, size, 3), np.float32)
            bg[:] = BACKGROUND_BGR
            tiles.append((bg * (1 - a) + lay.bgra[:, :, :3]).clip(0, 255).astype(np.uint8))
    finally:
        if own:
            r.close()
    img = np.hstack(tiles)
    label = f"{garment.name} ({garment.category})" + (f" - {variant}" if variant else "")
    cv2.putText(img, label, (10, size - 14), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (40, 40, 40), 1, cv2.LINE_AA)
    return img


__all__ = ["render_preview"]
