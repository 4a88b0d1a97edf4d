"""Catalog previews: an item rendered on the bind-pose mannequin, front and three-quarter.

Clothes are shown on the whole body; small items (rings, watches, earrings, glasses) are
framed on their body part, with a small whole-body inset so a shopper sees where it goes.

The body drawn is a store mannequin made from the engine's (:func:`preview_body`): the eye
sockets filled with the hm08 eyeball helpers, the face's features softened, a matte
grey-beige. The engine's own mannequin is not changed.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.body import makehuman as mh
from tryon.body.mannequin import cached_arrays, load_mannequin
from tryon.body.rotations import axis_angle
from tryon.body.skeleton import BONE_NAMES
from tryon.catalog.item import Garment
from tryon.frames import MAKEHUMAN_UNIT_M, MODEL_TO_CAMERA, CameraIntrinsics
from tryon.geometry import vertex_normals
from tryon.render.lighting import Lighting
from tryon.render.renderer import Renderer
from tryon.render.types import Draw, Material

log = logging.getLogger(__name__)

#: A store mannequin's matte grey-beige (linear RGBA).
SKIN = Material("mannequin", [0.50, 0.43, 0.36, 1.0], roughness=0.9)
BACKGROUND_BGR = (236, 234, 230)
#: How far the body is drawn inside its skin (metres) where clothes lie on it; none on the head,
#: whose lips and eyelids are thinner than that (pulled in, they turned inside out and the
#: mouth's inner surface showed through the chin as a dark patch).
BODY_INSET_M = 0.005
_EYE_GROUPS = ("helper-l-eye", "helper-r-eye")
_PREVIEW_BODY_VERSION = b"preview-body-v1"


@dataclass(frozen=True)
class PreviewBody:
    """The mannequin as a preview shows it, model metres (bind pose).

    positions_m : (V, 3) float64. normals : (V, 3) float32. faces : (F, 3) int32.
    inset_m : (V,) float64 how far each vertex is drawn inside the skin (along its normal)."""

    positions_m: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    inset_m: np.ndarray


def _read_eyes() -> dict[str, np.ndarray]:
    """hm08's two eyeball helpers, read from its OBJ (seconds): ``positions_m`` (E, 3) float64
    model metres, ``faces`` (G, 3) int32."""
    obj = mh.read_obj(mh.DATA_DIR / "base.obj")
    tris = obj.tri_v[np.isin(obj.tri_group, [obj.groups.index(g) for g in _EYE_GROUPS])]
    ids, faces = np.unique(tris, return_inverse=True)
    return {"positions_m": obj.positions[ids] * MAKEHUMAN_UNIT_M, "faces": faces.reshape(-1, 3).astype(np.int32)}


def _eye_meshes() -> tuple[np.ndarray, np.ndarray]:
    """hm08's two eyeball helpers: (E, 3) float64 positions, model metres; (G, 3) int32 faces.

    Read from the hm08 OBJ once (seconds), then cached on disk beside the mannequin's cache."""
    eyes = cached_arrays("preview-eyes", _read_eyes)
    if not {"positions_m", "faces"} <= eyes.keys():
        log.warning("ignoring a preview-eyes cache without its arrays")
        eyes = _read_eyes()
    return eyes["positions_m"], eyes["faces"]


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _soften(pos: np.ndarray, faces: np.ndarray, weight: np.ndarray, passes: int) -> np.ndarray:
    """Taubin smoothing (lambda/mu passes of the umbrella Laplacian: softens without shrinking),
    each vertex moved by ``weight`` (V,) in [0, 1] of a full step. pos : (V, 3); returns a copy."""
    import scipy.sparse as sp

    n = len(pos)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    adj = sp.coo_matrix((np.ones(2 * len(e)), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(n, n)).tocsr()
    adj.data[:] = 1.0  # each shared edge once
    deg = np.asarray(adj.sum(axis=1)).ravel()
    mean = sp.diags(1.0 / np.maximum(deg, 1.0)) @ adj
    out = pos.copy()
    w = weight[:, None]
    for _ in range(passes):
        for step in (0.5, -0.53):
            out = out + step * w * (mean @ out - out)
    return out


@functools.lru_cache(maxsize=1)
def preview_body() -> PreviewBody:
    """The preview's store mannequin (built once a process, from the mannequin and the cached eyes).

    The face (the head's front, ears excluded) is softened by a few Taubin passes; the
    silhouette, ears, nose bridge height and skull (where glasses, earrings and hats sit) stay
    within a millimetre or so. The eyeball helpers fill the open eye sockets."""
    m = load_mannequin()
    pos = m.positions_m.astype(np.float64)
    head = m.skin.to_dense()[:, BONE_NAMES.index("head")]
    ears = m.landmarks.bind_m[[7, 8]]  # BlazePose's left and right ear
    ear_z, half_x = float(ears[:, 2].mean()), 0.5 * float(abs(ears[0, 0] - ears[1, 0]))
    face = (
        _smoothstep(head, 0.5, 0.9)
        * _smoothstep(pos[:, 2], ear_z + 0.02, ear_z + 0.05)
        * (1.0 - _smoothstep(np.abs(pos[:, 0]), half_x - 0.03, half_x - 0.01))
    )
    pos = _soften(pos, m.faces, face, passes=6)
    inset = BODY_INSET_M * (1.0 - _smoothstep(head, 0.0, 0.5))
    eye_pos, eye_faces = _eye_meshes()
    positions = np.concatenate([pos, eye_pos])
    faces = np.concatenate([m.faces, eye_faces + len(pos)]).astype(np.int32)
    return PreviewBody(
        positions_m=positions,
        normals=vertex_normals(positions, faces),
        faces=faces,
        inset_m=np.concatenate([inset, np.zeros(len(eye_pos))]),
    )


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
    body: PreviewBody | None = None,
    renderer: Renderer | None = None,
) -> np.ndarray:
    """(size, 2 * size, 3) uint8 BGR: front and three-quarter views of the item on the mannequin
    (``body``: :func:`preview_body` unless given)."""
    body = body or preview_body()
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
                focus = np.concatenate([body.positions_m, item_pts])
                fill = 0.92
            R, t = _view(focus, yaw, K, fill)
            # The body a few millimetres inside its skin below the head, so it does not poke
            # through clothes that lie on it (the engine's occluder is pulled in the same way).
            inset = body.positions_m - body.inset_m[:, None] * body.normals
            draws = [
                Draw(
                    f"__preview_body__{k}",
                    (inset @ R.T + t).astype(np.float32),
                    (body.normals @ R.T).astype(np.float32),
                    body.faces,
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


__all__ = ["PreviewBody", "preview_body", "render_preview"]
