"""What is drawn, and what comes back: the renderer's plain data types.

No GL and no catalog here, so the catalog (an item's :class:`Material`), the items stage
(:class:`Draw`, :mod:`tryon.deform`) and the compositor (:class:`ItemLayer`) share them without
importing the renderer or each other. Camera metres follow :mod:`tryon.frames`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Material:
    """A metallic-roughness material (glTF's model).

    base_color : (4,) float32 linear RGBA factor. base_texture : (H, W, 4) uint8 sRGB
    image or None. metallic, roughness : [0, 1].
    fabric : its kind (:data:`tryon.render.fabric.FABRICS`; "" = none: a plain surface).
    sheen_color : (3,) float32 linear RGB, KHR_materials_sheen's colour (None: the fabric's).
    sheen_roughness : KHR_materials_sheen's roughness (None: the fabric's).
    normal_texture : (H, W, 4) uint8 tangent-space normal map (glTF's, uv-mapped) or None;
    normal_scale its strength. occlusion_texture : (H, W, 4) uint8, occlusion in red, or None.
    roughness_texture : (H, W, 4) uint8 glTF metallic-roughness map (roughness in green), or None.
    """

    name: str
    base_color: np.ndarray = field(default_factory=lambda: np.array([0.8, 0.8, 0.8, 1.0], np.float32))
    base_texture: np.ndarray | None = None
    metallic: float = 0.0
    roughness: float = 0.8
    double_sided: bool = True
    fabric: str = ""
    sheen_color: np.ndarray | None = None
    sheen_roughness: float | None = None
    normal_texture: np.ndarray | None = None
    normal_scale: float = 1.0
    occlusion_texture: np.ndarray | None = None
    roughness_texture: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.base_color = np.asarray(self.base_color, dtype=np.float32).reshape(4)
        if self.sheen_color is not None:
            self.sheen_color = np.asarray(self.sheen_color, dtype=np.float32).reshape(3)
        for attr in ("normal_texture", "occlusion_texture", "roughness_texture"):
            tex = getattr(self, attr)
            if tex is not None:
                setattr(self, attr, _rgba8(tex, f"material {self.name!r}: {attr.replace('_', ' ')}"))
        if self.base_texture is not None:
            tex = np.asarray(self.base_texture)
            if tex.ndim != 3 or tex.shape[2] not in (3, 4) or tex.dtype != np.uint8:
                raise ValueError(
                    f"material {self.name!r}: base texture must be (H, W, 3|4) uint8, got {tex.shape} {tex.dtype}"
                )
            if tex.shape[2] == 3:
                tex = np.concatenate([tex, np.full(tex.shape[:2] + (1,), 255, np.uint8)], axis=2)
            self.base_texture = np.ascontiguousarray(tex)


def _rgba8(tex: np.ndarray, what: str) -> np.ndarray:
    tex = np.asarray(tex)
    if tex.ndim == 2:
        tex = tex[:, :, None]
    if tex.ndim != 3 or tex.shape[2] not in (1, 3, 4) or tex.dtype != np.uint8:
        raise ValueError(f"{what} must be (H, W[, 1|3|4]) uint8, got {tex.shape} {tex.dtype}")
    if tex.shape[2] == 1:
        tex = np.repeat(tex, 3, axis=2)
    if tex.shape[2] == 3:
        tex = np.concatenate([tex, np.full(tex.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return np.ascontiguousarray(tex)


@dataclass
class Draw:
    """One mesh to draw this frame, already deformed.

    key : stable identity of the mesh; its faces and uvs are uploaded once under it.
    positions_cam_m, normals_cam : (V, 3) float32, camera metres / unit.
    faces : (F, 3) int32. uvs : (V, 2) float32 or None.
    clip_to_person : multiply by the person mask. keepout : yield to the keep-out mask
    (hands and hair in front of clothes; see :mod:`tryon.render.keepout`).
    depth_bias_m : drawn this much nearer the camera for the depth test (layers: a jacket
    over a shirt, a necklace over a collar), its pixels unchanged.
    model_positions_m, model_normals : (V, 3) float32 bind-pose model metres and normals
    (static, uploaded once under ``key``): where the fabric's relief is laid (triplanar), None:
    no relief.
    ao : (V,) float32 in [0, 1] baked ambient occlusion (static), None: unoccluded.
    wrinkle : (V,) float32 in [0, 1], this frame's fold strength (joint bends), None: none.
    wrinkle_axis : (V, 3) float32 model-space direction across the folds (the limb's axis; static).
    """

    key: str
    positions_cam_m: np.ndarray
    normals_cam: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray | None = None
    material: Material | None = None
    clip_to_person: bool = True
    opacity: float = 1.0
    keepout: bool = True
    depth_bias_m: float = 0.0
    model_positions_m: np.ndarray | None = None
    model_normals: np.ndarray | None = None
    ao: np.ndarray | None = None
    wrinkle: np.ndarray | None = None
    wrinkle_axis: np.ndarray | None = None

    def problem(self) -> str | None:
        """Why this mesh cannot be drawn (non-finite positions or normals, faces outside its
        vertices), or None when it can. A broken mesh drawn anyway would blank every item (its
        bounds become NaN) or read outside its vertex buffer."""
        if not (np.isfinite(self.positions_cam_m).all() and np.isfinite(self.normals_cam).all()):
            return "non-finite vertex positions or normals"
        if len(self.faces) and (self.faces.min() < 0 or self.faces.max() >= len(self.positions_cam_m)):
            return "faces index vertices it does not have"
        return None


@dataclass(frozen=True)
class ItemLayer:
    """The items as read back for compositing.

    bgra : (y1 - y0, x1 - x0, 4) uint8, premultiplied sRGB in OpenCV's B, G, R, A order,
        covering ``roi``; a view of the renderer's buffer, valid until its next render.
    roi : (x0, y0, x1, y1) in image px of a frame ``size`` = (width, height); empty when
        nothing was drawn.
    """

    bgra: np.ndarray
    roi: tuple[int, int, int, int]
    size: tuple[int, int]

    @property
    def empty(self) -> bool:
        x0, y0, x1, y1 = self.roi
        return x1 <= x0 or y1 <= y0
