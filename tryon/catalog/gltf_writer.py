"""A minimal glTF 2.0 binary (``.glb``) writer: triangle meshes with metallic-roughness materials.

Enough for tryon's procedural items (:mod:`tryon.catalog.procedural`) to become ordinary
retailer-style files that go through the catalog's upload pipeline like any other:

- one mesh with one primitive per part, under one node, in one scene; no transforms: the
  vertices are written as given (glTF's frame: metres, y up, +z front, see :mod:`tryon.frames`);
- ``POSITION`` (float32, with the ``min``/``max`` the spec requires), ``NORMAL`` (float32, unit),
  optional ``TEXCOORD_0`` (float32, glTF's v = 0 at the image top), ``uint32`` indices;
- one buffer (the GLB's ``BIN`` chunk), one bufferView per attribute, each starting on a
  4-byte boundary;
- ``pbrMetallicRoughness`` materials (linear ``baseColorFactor``, ``metallicFactor``,
  ``roughnessFactor``) with ``doubleSided``;
- optional colourways as ``KHR_materials_variants``: the variant list at the top level, and on
  every primitive the mapping from each of its materials to the variants that select it
  (listed in ``extensionsUsed``, not required: a viewer without it shows the default materials).

The output is deterministic: the same input gives the same bytes.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GLB_MAGIC = b"glTF"
GLB_VERSION = 2
CHUNK_JSON = 0x4E4F534A  # "JSON" little-endian
CHUNK_BIN = 0x004E4942  # "BIN\0" little-endian

FLOAT = 5126
UNSIGNED_INT = 5125
ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
TRIANGLES = 4

VARIANTS_EXT = "KHR_materials_variants"
GENERATOR = "tryon"


@dataclass
class GlbMaterial:
    """A glTF metallic-roughness material. base_color : (4,) linear RGBA in [0, 1]."""

    name: str
    base_color: Sequence[float] = (0.8, 0.8, 0.8, 1.0)
    metallic: float = 0.0
    roughness: float = 0.5
    double_sided: bool = False


@dataclass
class GlbPart:
    """One primitive. positions : (V, 3) metres; normals : (V, 3) unit; faces : (F, 3) int,
    counter-clockwise seen from outside (glTF's front faces); material : index into the
    materials; uvs : (V, 2) or None."""

    positions: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    material: int = 0
    uvs: np.ndarray | None = None
    name: str = ""
    extras: dict = field(default_factory=dict)


def _as_part(p) -> GlbPart:
    """A GlbPart from a GlbPart, a (positions, normals, faces, material[, uvs]) tuple, or any
    object with those attributes (tryon's MeshPart, RawPart)."""
    if isinstance(p, GlbPart):
        return p
    if isinstance(p, tuple | list):
        if len(p) not in (4, 5):
            raise ValueError(f"a part tuple is (positions, normals, faces, material[, uvs]), got {len(p)} items")
        return GlbPart(p[0], p[1], p[2], int(p[3]), p[4] if len(p) == 5 else None)
    return GlbPart(p.positions, p.normals, p.faces, int(p.material), getattr(p, "uvs", None), getattr(p, "name", ""))


def _as_material(m) -> GlbMaterial:
    if isinstance(m, GlbMaterial):
        return m
    if isinstance(m, Mapping):
        return GlbMaterial(**m)
    return GlbMaterial(m.name, m.base_color, m.metallic, m.roughness, getattr(m, "double_sided", False))


def _material_json(m: GlbMaterial) -> dict:
    color = [float(c) for c in np.asarray(m.base_color, dtype=np.float64).reshape(-1)]
    if len(color) == 3:
        color.append(1.0)
    if len(color) != 4 or not all(0.0 <= c <= 1.0 for c in color):
        raise ValueError(f"material {m.name!r}: base_color must be 3 or 4 linear values in [0, 1], got {color}")
    for key, value in (("metallic", m.metallic), ("roughness", m.roughness)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"material {m.name!r}: {key} must be in [0, 1], got {value}")
    return {
        "name": m.name,
        "pbrMetallicRoughness": {
            "baseColorFactor": color,
            "metallicFactor": float(m.metallic),
            "roughnessFactor": float(m.roughness),
        },
        "doubleSided": bool(m.double_sided),
    }


class _Bin:
    """The BIN chunk under construction: bufferViews and accessors, each view 4-aligned."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.length = 0
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, kind: str, target: int, with_bounds: bool = False) -> int:
        data = np.ascontiguousarray(array)
        raw = data.tobytes()
        view = {"buffer": 0, "byteOffset": self.length, "byteLength": len(raw), "target": target}
        self.views.append(view)
        pad = (-len(raw)) % 4
        self.chunks.append(raw + b"\0" * pad)
        self.length += len(raw) + pad
        accessor = {
            "bufferView": len(self.views) - 1,
            "componentType": UNSIGNED_INT if data.dtype == np.uint32 else FLOAT,
            "count": int(data.shape[0]) if kind != "SCALAR" else int(data.size),
            "type": kind,
        }
        if with_bounds:
            accessor["min"] = [float(x) for x in data.min(axis=0)]
            accessor["max"] = [float(x) for x in data.max(axis=0)]
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def bytes(self) -> bytes:
        return b"".join(self.chunks)


def glb_bytes(
    parts: Sequence,
    materials: Sequence,
    variants: Mapping[str, Sequence[int]] | None = None,
    name: str = "item",
    copyright: str | None = None,
    extras: Mapping | None = None,
) -> bytes:
    """The ``.glb`` file's bytes (see :func:`write_glb`)."""
    parts = [_as_part(p) for p in parts]
    mats = [_as_material(m) for m in materials]
    if not parts:
        raise ValueError("a glTF mesh needs at least one part")
    if not mats:
        raise ValueError("at least one material is needed")
    variants = dict(variants or {})
    for vname, mapping in variants.items():
        if len(mapping) != len(parts):
            raise ValueError(f"variant {vname!r} maps {len(mapping)} parts, there are {len(parts)}")
        if not all(0 <= int(i) < len(mats) for i in mapping):
            raise ValueError(f"variant {vname!r} uses a material index outside 0..{len(mats) - 1}")

    buf = _Bin()
    primitives = []
    for k, part in enumerate(parts):
        pos = np.asarray(part.positions, dtype=np.float32)
        nrm = np.asarray(part.normals, dtype=np.float32)
        faces = np.asarray(part.faces)
        v = len(pos)
        if pos.shape != (v, 3) or nrm.shape != (v, 3) or v == 0:
            raise ValueError(f"part {k}: positions {pos.shape} and normals {nrm.shape} must be (V > 0, 3)")
        if not (np.isfinite(pos).all() and np.isfinite(nrm).all()):
            raise ValueError(f"part {k}: positions and normals must be finite")
        if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
            raise ValueError(f"part {k}: faces must be (F > 0, 3), got {faces.shape}")
        if faces.min() < 0 or faces.max() >= v:
            raise ValueError(f"part {k}: face indices must be in [0, {v})")
        if not 0 <= part.material < len(mats):
            raise ValueError(f"part {k}: material {part.material} outside 0..{len(mats) - 1}")
        length = np.linalg.norm(nrm, axis=1, keepdims=True)
        if (length < 1e-6).any():
            raise ValueError(f"part {k}: zero-length normals")
        nrm = (nrm / length).astype(np.float32)
        attributes = {
            "POSITION": buf.add(pos, "VEC3", ARRAY_BUFFER, with_bounds=True),
            "NORMAL": buf.add(nrm, "VEC3", ARRAY_BUFFER),
        }
        if part.uvs is not None:
            uvs = np.asarray(part.uvs, dtype=np.float32)
            if uvs.shape != (v, 2):
                raise ValueError(f"part {k}: uvs must be ({v}, 2), got {uvs.shape}")
            attributes["TEXCOORD_0"] = buf.add(uvs, "VEC2", ARRAY_BUFFER)
        indices = buf.add(faces.astype(np.uint32).reshape(-1), "SCALAR", ELEMENT_ARRAY_BUFFER)
        prim: dict = {"attributes": attributes, "indices": indices, "material": int(part.material), "mode": TRIANGLES}
        if variants:
            by_material: dict[int, list[int]] = {}
            for vi, mapping in enumerate(variants.values()):
                by_material.setdefault(int(mapping[k]), []).append(vi)
            prim["extensions"] = {
                VARIANTS_EXT: {"mappings": [{"material": m, "variants": vs} for m, vs in sorted(by_material.items())]}
            }
        extras = ({"name": part.name} if part.name else {}) | dict(part.extras)
        if extras:
            prim["extras"] = extras
        primitives.append(prim)

    asset: dict = {"version": "2.0", "generator": GENERATOR}
    if copyright:
        asset["copyright"] = copyright
    doc: dict = {"asset": asset}
    if variants:
        doc["extensionsUsed"] = [VARIANTS_EXT]
        doc["extensions"] = {VARIANTS_EXT: {"variants": [{"name": n} for n in variants]}}
    doc["scene"] = 0
    doc["scenes"] = [{"name": name, "nodes": [0]}]
    doc["nodes"] = [{"name": name, "mesh": 0}]
    mesh: dict = {"name": name, "primitives": primitives}
    doc["meshes"] = [mesh]
    doc["materials"] = [_material_json(m) for m in mats]
    doc["accessors"] = buf.accessors
    doc["bufferViews"] = buf.views
    doc["buffers"] = [{"byteLength": buf.length}]
    if extras:
        doc["extras"] = dict(extras)

    json_bytes = json.dumps(doc, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")
    json_bytes += b" " * ((-len(json_bytes)) % 4)  # the JSON chunk is padded with spaces
    bin_bytes = buf.bytes()  # already a multiple of 4
    total = 12 + 8 + len(json_bytes) + 8 + len(bin_bytes)
    return b"".join(
        [
            struct.pack("<4sII", GLB_MAGIC, GLB_VERSION, total),
            struct.pack("<II", len(json_bytes), CHUNK_JSON),
            json_bytes,
            struct.pack("<II", len(bin_bytes), CHUNK_BIN),
            bin_bytes,
        ]
    )


def write_glb(
    path: str | Path,
    parts: Sequence,
    materials: Sequence,
    variants: Mapping[str, Sequence[int]] | None = None,
    name: str | None = None,
    copyright: str | None = None,
    extras: Mapping | None = None,
) -> Path:
    """Write a glTF 2.0 binary file; returns its path.

    parts : :class:`GlbPart`, ``(positions (V, 3) metres, normals (V, 3), faces (F, 3) int,
        material index[, uvs (V, 2)])`` tuples, or objects with those attributes; faces wind
        counter-clockwise seen from outside.
    materials : :class:`GlbMaterial`, dicts of its fields, or objects with ``name``,
        ``base_color`` (linear RGBA), ``metallic``, ``roughness`` (and ``double_sided``).
    variants : colourway name -> the material index of every part, in part order; written as
        ``KHR_materials_variants`` (the parts' own ``material`` is the default look).
    name : the mesh, node and scene name (the file's stem by default).
    copyright : ``asset.copyright`` (e.g. the licence). extras : top-level ``extras``.
    """
    path = Path(path)
    data = glb_bytes(parts, materials, variants, name=name or path.stem, copyright=copyright, extras=extras)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path
