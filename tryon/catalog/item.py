"""Catalog items: what a garment or accessory is once imported, fitted and rigged.

Geometry is in model metres on the canonical mannequin (y up, +z front, see
:mod:`tryon.frames`). Clothes carry skin weights on the reduced skeleton; rigid items
(shoes, glasses, watches, jewelry) carry the bone they ride on and a fixed offset. What a
category implies (skinned or rigid, layer, clipping...) is its record in
:mod:`tryon.catalog.categories`; :data:`CATEGORIES` is that table.
UVs follow glTF (v = 0 at the top row of the texture image).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tryon.body.mannequin import SkinWeights
from tryon.catalog.categories import CATEGORIES, Category, lookup
from tryon.render.types import Material

__all__ = ["CATEGORIES", "Attachment", "Garment", "Material", "MeshPart"]


@dataclass
class MeshPart:
    """One drawable piece with one material.

    positions : (V, 3) float32 bind model metres. normals : (V, 3) float32.
    uvs : (V, 2) float32 or None. faces : (F, 3) int32. material : index into the item's
    materials. skin : per-vertex weights for skinned items, None for rigid ones.
    bone : for a rigid item, the bone this part rides when not the item's attachment bone
    (the right shoe of a pair, the second earring).
    ao : (V,) float32 in [0, 1] ambient occlusion baked at import on the mannequin (see
    :mod:`tryon.catalog.bake`), or None (not baked: unoccluded).
    """

    positions: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray | None = None
    material: int = 0
    skin: SkinWeights | None = None
    bone: str | None = None
    ao: np.ndarray | None = None

    def __post_init__(self) -> None:
        v = len(self.positions)
        if self.ao is not None and np.shape(self.ao) != (v,):
            raise ValueError(f"ambient occlusion must be ({v},), got {np.shape(self.ao)}")

        if self.positions.shape != (v, 3) or self.normals.shape != (v, 3):
            raise ValueError(f"positions {self.positions.shape} and normals {self.normals.shape} must be (V, 3)")
        if self.uvs is not None and self.uvs.shape != (v, 2):
            raise ValueError(f"uvs must be ({v}, 2), got {self.uvs.shape}")
        if self.faces.ndim != 2 or self.faces.shape[1] != 3:
            raise ValueError(f"faces must be (F, 3), got {self.faces.shape}")
        if self.skin is not None and len(self.skin) != v:
            raise ValueError(f"skin weights cover {len(self.skin)} vertices, the part has {v}")


@dataclass
class Attachment:
    """A rigid item's mount: ``bone`` (reduced-skeleton name) and how the item sits.

    The item's bind geometry is already placed on the mannequin, so the bone's skinning
    transform alone poses it; ``offset`` (3, 4) is applied first (identity by default)."""

    bone: str
    offset: np.ndarray = field(default_factory=lambda: np.eye(3, 4, dtype=np.float32))


@dataclass
class Garment:
    """A try-on item: id, name, category, parts and materials, and how it follows the body.

    variants : colourway name -> material index for every part (``KHR_materials_variants``).
    clip_to_person : clip the item to the person's segmentation mask (clothes: yes; a hat's
    brim or glasses reach outside it).
    """

    id: str
    name: str
    category: str
    parts: list[MeshPart]
    materials: list[Material]
    attachment: Attachment | None = None
    variants: dict[str, list[int]] = field(default_factory=dict)
    clip_to_person: bool = True
    attribution: str = ""
    manifest: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        lookup(self.category)  # a clear message for an unknown one
        if not self.parts:
            raise ValueError(f"item {self.id!r} has no mesh parts")
        for part in self.parts:
            if not 0 <= part.material < len(self.materials):
                raise ValueError(
                    f"item {self.id!r}: a part uses material {part.material}, it has {len(self.materials)}"
                )
        if self.is_rigid and self.attachment is None:
            raise ValueError(f"item {self.id!r} is a {self.category}: it needs an attachment bone")
        if not self.is_rigid and any(p.skin is None for p in self.parts):
            raise ValueError(f"item {self.id!r} is a {self.category}: every part needs skin weights")

    def __repr__(self) -> str:  # not the mesh arrays
        variants = f", variants={list(self.variants)}" if self.variants else ""
        return (
            f"Garment(id={self.id!r}, name={self.name!r}, category={self.category!r}, "
            f"parts={len(self.parts)}, triangles={self.triangle_count}{variants})"
        )

    @property
    def kind(self) -> Category:
        """The category's record: everything the item's category implies."""
        return CATEGORIES[self.category]

    @property
    def is_rigid(self) -> bool:
        return self.kind.is_rigid

    @property
    def keepout(self) -> bool:
        """Whether the shopper's hands and hair come out in front of this item."""
        return self.kind.under_hands_and_hair

    @property
    def layer_bias_m(self) -> float:
        """How far in front of clothes at the same place it is drawn (``Category.layer_bias_m``)."""
        return self.kind.layer_bias_m

    @property
    def triangle_count(self) -> int:
        return sum(len(p.faces) for p in self.parts)

    def materials_for(self, variant: str | None) -> list[Material]:
        """The material of each part, for a colourway (None: the default materials)."""
        if variant is None:
            return [self.materials[p.material] for p in self.parts]
        name = next((v for v in self.variants if v.lower() == variant.lower()), None)  # any case
        if name is None:
            if not self.variants:
                raise KeyError(f"item {self.id!r} comes in one colour only (no colourway {variant!r})")
            raise KeyError(f"item {self.id!r} has no colourway {variant!r}; it has: {', '.join(self.variants)}")
        return [self.materials[i] for i in self.variants[name]]
