"""The on-disk form of one catalog item: ``<catalog>/<id>/``.

``manifest.json``   versioned description (see ``MANIFEST_VERSION``): id, name, category,
                    units, skeleton, attachment, materials and variants, triangle count,
                    source, licence and attribution, the original's checksum.
``geometry.npz``    the processed mesh: per part positions, normals, uvs, faces and skin
                    weights, model metres on the canonical mannequin.
``textures/*.png``  base colour textures referenced by the manifest.
``original/``       the retailer's upload, byte for byte.
``preview.png``     the item rendered on the mannequin.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np

from tryon.body.mannequin import SkinWeights
from tryon.body.skeleton import BONE_NAMES, SKELETON_ID
from tryon.catalog.item import Attachment, Garment, Material, MeshPart

MANIFEST_VERSION = 1
MANIFEST = "manifest.json"
GEOMETRY = "geometry.npz"


class CatalogItemError(ValueError):
    """A stored catalog item is missing files or does not make sense."""


def write_item(item: Garment, folder: Path, extra_manifest: dict | None = None) -> dict:
    """Write ``item`` into ``folder`` (which must exist). Returns the manifest written."""
    folder = Path(folder)
    arrays: dict[str, np.ndarray] = {}
    parts = []
    for i, p in enumerate(item.parts):
        arrays[f"p{i}_positions"] = p.positions.astype(np.float32)
        arrays[f"p{i}_normals"] = p.normals.astype(np.float32)
        arrays[f"p{i}_faces"] = p.faces.astype(np.int32)
        if p.uvs is not None:
            arrays[f"p{i}_uvs"] = p.uvs.astype(np.float32)
        if p.skin is not None:
            arrays[f"p{i}_skin_bones"] = p.skin.bones.astype(np.uint8)
            arrays[f"p{i}_skin_weights"] = p.skin.weights.astype(np.float32)
        if p.ao is not None:
            arrays[f"p{i}_ao"] = p.ao.astype(np.float32)
        entry = {"material": p.material, "vertices": len(p.positions), "triangles": len(p.faces)}
        if p.bone:
            entry["bone"] = p.bone
        parts.append(entry)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    (folder / GEOMETRY).write_bytes(buf.getvalue())

    materials = []
    for k, m in enumerate(item.materials):
        entry = {
            "name": m.name,
            "base_color": [round(float(x), 6) for x in m.base_color],
            "metallic": float(m.metallic),
            "roughness": float(m.roughness),
            "double_sided": bool(m.double_sided),
            "base_texture": None,
        }
        if m.base_texture is not None:
            (folder / "textures").mkdir(exist_ok=True)
            rel, data = _encode_texture(m.base_texture, f"textures/base_{k}")
            (folder / rel).write_bytes(data)
            entry["base_texture"] = rel
        if m.fabric:
            entry["fabric"] = m.fabric
        if m.sheen_color is not None:
            entry["sheen_color"] = [round(float(x), 6) for x in m.sheen_color]
        if m.sheen_roughness is not None:
            entry["sheen_roughness"] = round(float(m.sheen_roughness), 6)
        for attr, stem in _MAPS:
            img = getattr(m, attr)
            if img is not None:
                (folder / "textures").mkdir(exist_ok=True)
                rel, data = _encode_texture(img, f"textures/{stem}_{k}", lossless=True)
                (folder / rel).write_bytes(data)
                entry[attr] = rel
        if m.normal_texture is not None:
            entry["normal_scale"] = float(m.normal_scale)
        materials.append(entry)

    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "id": item.id,
        "name": item.name,
        "category": item.category,
        "units": "m",
        "skeleton": SKELETON_ID,
        "bones": list(BONE_NAMES),
        "attachment": None
        if item.attachment is None
        else {"bone": item.attachment.bone, "offset": np.asarray(item.attachment.offset).round(7).tolist()},
        "clip_to_person": item.clip_to_person,
        "materials": materials,
        "variants": item.variants,
        "parts": parts,
        "triangle_count": item.triangle_count,
        "attribution": item.attribution,
    }
    manifest.update(item.manifest)
    if extra_manifest:
        manifest.update(extra_manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


#: Longest side of a stored texture: a try-on item is a small part of a camera frame.
MAX_TEXTURE_SIDE = 1024
#: A material's own maps besides its colour: (Material attribute, file stem).
_MAPS = (("normal_texture", "normal"), ("occlusion_texture", "occlusion"), ("roughness_texture", "roughness"))


def _encode_texture(rgba: np.ndarray, stem: str, lossless: bool = False) -> tuple[str, bytes]:
    """The texture resized to at most MAX_TEXTURE_SIDE and encoded: JPEG when it is opaque
    (a tenth of the size), PNG when it has transparency or must be ``lossless`` (data maps:
    normals, occlusion, roughness)."""
    img = cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)
    h, w = img.shape[:2]
    if max(h, w) > MAX_TEXTURE_SIDE:
        s = MAX_TEXTURE_SIDE / max(h, w)
        img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    if not lossless and (img[:, :, 3] == 255).all():
        ok, data = cv2.imencode(".jpg", img[:, :, :3], [cv2.IMWRITE_JPEG_QUALITY, 92])
        rel = stem + ".jpg"
    else:
        ok, data = cv2.imencode(".png", img)
        rel = stem + ".png"
    if not ok:
        raise CatalogItemError(f"could not encode texture {stem}")
    return rel, data.tobytes()


def read_manifest(folder: Path) -> dict:

    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise CatalogItemError(f"{folder}: no {MANIFEST}")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CatalogItemError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise CatalogItemError(f"{path}: the manifest must be a JSON object")
    version = manifest.get("manifest_version")
    if version != MANIFEST_VERSION:
        raise CatalogItemError(f"{path}: manifest version {version!r}; this tryon reads version {MANIFEST_VERSION}")
    for key in ("id", "name", "category", "materials", "parts"):
        if key not in manifest:
            raise CatalogItemError(f"{path}: the manifest has no {key!r}")
    return manifest


def _load_texture(folder: Path, rel: str) -> np.ndarray:
    path = (folder / rel).resolve()
    if folder.resolve() not in path.parents:
        raise CatalogItemError(f"{folder}: texture path {rel!r} leaves the item's folder")
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise CatalogItemError(f"{folder}: cannot read texture {rel}")
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGRA)
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)
    return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)


def read_item(folder: Path) -> Garment:
    """Load the item stored in ``folder``; raises CatalogItemError on anything inconsistent."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("skeleton") != SKELETON_ID:
        raise CatalogItemError(
            f"{folder}: rigged for skeleton {manifest.get('skeleton')!r}, this tryon uses {SKELETON_ID!r}; re-import it"
        )
    try:
        with np.load(folder / GEOMETRY) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # a cut-short zip raises BadZipFile, EOFError, zlib.error...
        raise CatalogItemError(f"{folder}: cannot read {GEOMETRY} ({type(exc).__name__}: {exc})") from exc
    materials = []
    for m in manifest["materials"]:
        tex = _load_texture(folder, m["base_texture"]) if m.get("base_texture") else None
        materials.append(
            Material(
                name=m.get("name", ""),
                base_color=np.asarray(m.get("base_color", [0.8, 0.8, 0.8, 1.0]), np.float32),
                base_texture=tex,
                metallic=float(m.get("metallic", 0.0)),
                roughness=float(m.get("roughness", 0.8)),
                double_sided=bool(m.get("double_sided", True)),
                fabric=str(m.get("fabric", "")),
                sheen_color=None if m.get("sheen_color") is None else np.asarray(m["sheen_color"], np.float32),
                sheen_roughness=None if m.get("sheen_roughness") is None else float(m["sheen_roughness"]),
                normal_scale=float(m.get("normal_scale", 1.0)),
                **{attr: _load_texture(folder, m[attr]) for attr, _ in _MAPS if m.get(attr)},
            )
        )
    parts = []
    try:
        for i, p in enumerate(manifest["parts"]):
            skin = None
            if f"p{i}_skin_bones" in arrays:
                skin = SkinWeights(arrays[f"p{i}_skin_bones"].astype(np.int32), arrays[f"p{i}_skin_weights"])
            parts.append(
                MeshPart(
                    positions=arrays[f"p{i}_positions"],
                    normals=arrays[f"p{i}_normals"],
                    faces=arrays[f"p{i}_faces"].astype(np.int32),
                    uvs=arrays.get(f"p{i}_uvs"),
                    material=int(p["material"]),
                    skin=skin,
                    bone=p.get("bone"),
                    ao=arrays.get(f"p{i}_ao"),
                )
            )
    except KeyError as exc:
        raise CatalogItemError(f"{folder}: {GEOMETRY} lacks array {exc}") from exc
    for part in parts:
        if len(part.faces) and (part.faces.min() < 0 or part.faces.max() >= len(part.positions)):
            raise CatalogItemError(f"{folder}: a face refers to a vertex outside its part")
        if part.skin is not None and part.skin.bones.max(initial=0) >= len(BONE_NAMES):
            raise CatalogItemError(f"{folder}: skin weights refer to a bone the skeleton lacks")
    att = manifest.get("attachment")
    attachment = None
    if att:
        attachment = Attachment(bone=att["bone"], offset=np.asarray(att.get("offset", np.eye(3, 4)), np.float32))
    known = {
        "manifest_version",
        "id",
        "name",
        "category",
        "units",
        "skeleton",
        "bones",
        "attachment",
        "clip_to_person",
        "materials",
        "variants",
        "parts",
        "triangle_count",
        "attribution",
    }
    try:
        return Garment(
            id=manifest["id"],
            name=manifest["name"],
            category=manifest["category"],
            parts=parts,
            materials=materials,
            attachment=attachment,
            variants={k: list(v) for k, v in manifest.get("variants", {}).items()},
            clip_to_person=bool(manifest.get("clip_to_person", True)),
            attribution=manifest.get("attribution", ""),
            manifest={k: v for k, v in manifest.items() if k not in known},
        )
    except ValueError as exc:
        raise CatalogItemError(f"{folder}: {exc}") from exc
