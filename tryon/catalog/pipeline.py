"""The retailer's import pipeline: a file in, a try-on-ready catalog item out.

``import_file(path, ImportOptions(...))``: read (:mod:`tryon.catalog.formats`, or the
MakeHuman ``.mhclo`` importer), validate and repair, detect units, orient, fit to the mannequin
by category and rig (:mod:`tryon.catalog.fit`). Every refusal is an
:class:`~tryon.catalog.assets.AssetError` with a message a non-engineer can act on; warnings
say what was repaired, rescaled or substituted. ``Catalog.add`` stores the result atomically.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tryon.body import makehuman as mh
from tryon.body.mannequin import vertex_normals
from tryon.catalog.assets import (
    AssetError,
    BadCoordinatesError,
    ImportLimits,
    RawAsset,
    TooManyTrianglesError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from tryon.catalog.categories import lookup
from tryon.catalog.fit import FitOverrides, fit, rig
from tryon.catalog.item import Attachment, Garment, Material, MeshPart
from tryon.image import srgb_to_linear

SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl", ".mhclo")


@dataclass(frozen=True)
class ImportOptions:
    """category : one of :data:`tryon.catalog.categories.CATEGORIES`. name : shown to shoppers.
    item_id : catalog id (default: from the name). limits : file size and triangle budget.
    overrides : a manual fit. licence, attribution, source : carried into the manifest
    (CC BY assets must credit their authors). size_chart : per-size measurement ranges (see
    :mod:`tryon.sizing`)."""

    category: str
    name: str
    item_id: str | None = None
    limits: ImportLimits = field(default_factory=ImportLimits)
    overrides: FitOverrides = field(default_factory=FitOverrides)
    licence: str = ""
    attribution: str = ""
    source: str = ""
    size_chart: dict | None = None
    color_srgb: tuple[float, float, float] | None = None
    bottom_color_srgb: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        lookup(self.category)  # a clear message for an unknown one
        if not self.name.strip():
            raise ValueError("the item needs a name")
        if is_cc_by(self.licence) and not self.attribution.strip():
            raise ValueError(
                f"the licence {self.licence!r} is a CC BY licence, which requires a credit line "
                "(attribution) naming the author"
            )

    def replay(self) -> dict:
        """What a re-fit needs besides the manifest's id, name, category, licence and credit:
        the manual overrides, colours and limits (stored as the manifest's ``"import"``)."""
        return {
            "overrides": {k: v for k, v in asdict(self.overrides).items() if v is not None},
            "color_srgb": None if self.color_srgb is None else list(self.color_srgb),
            "bottom_color_srgb": None if self.bottom_color_srgb is None else list(self.bottom_color_srgb),
            "max_triangles": self.limits.max_triangles,
            "decimate": self.limits.allow_decimate,
        }

    @classmethod
    def from_manifest(cls, manifest: dict, overrides: FitOverrides | None = None) -> ImportOptions:
        """The options an item was imported with (from its manifest), the stored manual
        overrides updated by ``overrides`` (their set fields win)."""
        rec = manifest.get("import", {})
        stored = dict(rec.get("overrides", {}))
        if overrides is not None:
            stored.update({k: v for k, v in asdict(overrides).items() if v is not None})
        for key in ("rotate_deg", "offset_m", "keep_height"):
            if stored.get(key) is not None:
                stored[key] = tuple(stored[key])
        colour = rec.get("color_srgb")
        bottom = rec.get("bottom_color_srgb")
        return cls(
            category=manifest["category"],
            name=manifest["name"],
            item_id=manifest["id"],
            limits=ImportLimits(
                max_triangles=int(rec.get("max_triangles", ImportLimits.max_triangles)),
                allow_decimate=bool(rec.get("decimate", False)),
            ),
            overrides=FitOverrides(**stored),
            licence=manifest.get("licence", ""),
            attribution=manifest.get("attribution", ""),
            source=manifest.get("source", {}).get("origin", ""),
            size_chart=manifest.get("size_chart"),
            color_srgb=None if colour is None else tuple(colour),
            bottom_color_srgb=None if bottom is None else tuple(bottom),
        )


def is_cc_by(licence: str) -> bool:
    """Whether ``licence`` names a Creative Commons Attribution licence (CC BY, CC-BY-SA...)."""
    import re

    return bool(re.search(r"\bCC[\s_-]*BY\b", licence or "", re.IGNORECASE))


def slug(name: str) -> str:
    """A catalog id from a name: lower-case ASCII letters and digits joined by '-' (accents
    dropped: 'Café' -> 'cafe'), at most 64 characters. A name with nothing left (other
    scripts, only punctuation) gets 'item-' and 8 hex digits of its hash, so different names
    give different ids."""
    import hashlib
    import re
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64].strip("-")
    return s or "item-" + hashlib.sha256(name.strip().encode("utf-8")).hexdigest()[:8]


@dataclass
class ImportResult:
    """garment : the item. files : the files it was made from (to keep as the original).
    manifest : what the import adds to the manifest. warnings : repairs and substitutions."""

    garment: Garment
    files: list[Path]
    manifest: dict
    warnings: list[str]


def _materials(asset: RawAsset) -> list[Material]:
    return [
        Material(
            name=m.name or f"material {i}",
            base_color=m.base_color,
            base_texture=m.base_texture,
            metallic=float(m.metallic),
            roughness=float(m.roughness),
            double_sided=bool(m.double_sided),
            normal_texture=m.normal_texture,
            normal_scale=float(m.normal_scale),
            occlusion_texture=m.occlusion_texture,
            roughness_texture=m.roughness_texture,
            sheen_color=m.sheen_color,
            sheen_roughness=m.sheen_roughness,
        )
        for i, m in enumerate(asset.materials)
    ] or [Material("default")]


def finish_surface(garment: Garment, fabric_spec: str | None = None) -> dict:
    """What the import adds to how the item looks, in place: each material's fabric kind (the
    spec's, else guessed: :func:`tryon.render.fabric.guess_fabric`), normals smoothed across
    split vertices, and ambient occlusion baked on the mannequin (:mod:`tryon.catalog.bake`).
    Returns the fabric per material name, for the manifest."""
    from tryon.body.mannequin import load_mannequin
    from tryon.catalog.bake import bake_ambient_occlusion, smooth_normals
    from tryon.render.fabric import guess_fabric, parse_fabric_spec

    given = parse_fabric_spec(fabric_spec) if fabric_spec else {}
    unknown = sorted(set(given) - {"*"} - {m.name for m in garment.materials})
    if unknown:
        names = ", ".join(repr(m.name) for m in garment.materials)
        listed = ", ".join(map(repr, unknown))
        raise ValueError(f"--fabric names material(s) {listed}; the item's materials are {names}")
    for mat in garment.materials:
        mat.fabric = given.get(mat.name) or given.get("*") or guess_fabric(
            garment.name, garment.category, mat.name, mat.metallic
        )
    occ = load_mannequin().occluder
    meshes = [(p.positions, p.faces) for p in garment.parts]
    for part in garment.parts:
        part.normals = smooth_normals(part.positions, part.faces, part.normals)
        part.ao = bake_ambient_occlusion(part.positions, part.normals, meshes, (occ.positions_m, occ.faces))
    return {m.name: m.fabric for m in garment.materials}


def import_file(path: str | Path, options: ImportOptions) -> ImportResult:
    """Read, validate, fit and rig one upload (see the module docstring)."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise UnsupportedFormatError(
            f"{path.name}: .{path.suffix.lstrip('.') or '?'} files are not supported; "
            f"upload one of: {', '.join(SUFFIXES)}"
        )
    if not path.is_file():
        raise UnreadableFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise UnreadableFileError(f"{path.name} is empty (0 bytes): was the upload cut short?")

    if path.suffix.lower() == ".mhclo":
        return _import_mhclo(path, options)
    from tryon.catalog.formats import load_asset
    from tryon.catalog.repair import validate_and_repair

    asset = validate_and_repair(load_asset(path, options.limits), options.limits)
    kind = lookup(options.category)
    fitted = fit(asset.parts, options.category, asset.units_hint, asset.up_axis_hint, options.overrides)
    materials = _materials(asset)
    if fitted.report.added_strap:
        materials.append(Material("strap", np.array([0.045, 0.025, 0.015, 1.0], np.float32), roughness=0.55))
    if options.color_srgb is not None:
        lin = srgb_to_linear(options.color_srgb)
        for mat in materials:
            if mat.base_texture is None and mat.name != "strap":
                mat.base_color = np.array([*lin, mat.base_color[3]], np.float32)
    parts = []
    for p, bone in zip(fitted.parts, fitted.bones):
        pos = p.positions.astype(np.float32)
        faces = p.faces.astype(np.int32)
        nrm = vertex_normals(pos, faces) if p.normals is None else p.normals.astype(np.float32)
        skin = rig(pos, kind, faces=faces) if kind.skinned else None
        uvs = None if p.uvs is None else p.uvs.astype(np.float32)
        parts.append(MeshPart(pos, nrm, faces, uvs, min(p.material, len(materials) - 1), skin, bone))
    n_orig = len(asset.parts)
    variants = {}
    for name, per_part in asset.variants.items():
        # Mirrored copies (the other shoe, the other earring) wear the same material.
        variants[name] = [per_part[i % n_orig] for i in range(len(parts))]
    garment = Garment(
        id=options.item_id or slug(options.name),
        name=options.name,
        category=options.category,
        parts=parts,
        materials=materials,
        attachment=Attachment(fitted.report.bone) if kind.is_rigid else None,
        variants=variants,
        clip_to_person=kind.clip_to_person,
        attribution=options.attribution,
    )
    warnings = list(asset.warnings) + fitted.report.warnings
    fabrics = finish_surface(garment, options.overrides.fabric)
    manifest = {
        "fabric": fabrics,
        "source": {"file": path.name, "format": asset.source_format, "origin": options.source},
        "licence": options.licence,
        "units": {"file": fitted.report.units, "declared": fitted.report.declared_units, "model": "m"},
        "fit": {k: v for k, v in asdict(fitted.report).items() if k not in ("warnings", "units", "declared_units")},
        "import_warnings": warnings,
        "import": options.replay(),
    }
    if kind.skinned:
        manifest["looseness"] = _looseness(parts)
    if options.size_chart:
        manifest["size_chart"] = options.size_chart
    files = _unique_files([*(asset.files or [str(path)]), *_referenced_files(path)])
    return ImportResult(garment, files, manifest, warnings)


def _looseness(parts: list[MeshPart]) -> dict:
    """The garment's looseness (:mod:`tryon.catalog.fit.looseness`), for the manifest."""
    from tryon.body.mannequin import load_mannequin
    from tryon.catalog.fit.looseness import measure_looseness

    offsets = np.cumsum([0] + [len(p.positions) for p in parts])
    pos = np.concatenate([p.positions for p in parts])
    faces = np.concatenate([p.faces.astype(np.int64) + o for p, o in zip(parts, offsets[:-1])])
    return measure_looseness(pos, faces, load_mannequin()).to_manifest()


def _unique_files(files) -> list[Path]:
    """``files`` as absolute paths (links not followed), each once, in their first order."""
    import os

    out: list[Path] = []
    for f in files:
        p = Path(os.path.normpath(os.path.abspath(f)))
        if p not in out:
            out.append(p)
    return out


def _referenced_files(path: Path) -> list[Path]:
    """Every file of the upload beside the main one that it names (glTF buffers and images,
    OBJ material libraries and their maps), inside its folder (subfolders included): kept with
    the original even when the try-on does not use them (normal maps...)."""
    import json
    import re

    from tryon.catalog.formats.obj import map_filename
    from tryon.catalog.formats.safety import confined_path

    folder = path.absolute().parent
    is_uri = path.suffix.lower() == ".gltf"
    refs: list[tuple[str, Path]] = []  # (name, the folder it is relative to)
    try:
        if is_uri:
            doc = json.loads(path.read_text(encoding="utf-8"))
            refs = [
                (e["uri"], folder)
                for key in ("buffers", "images")
                for e in (doc.get(key) or [] if isinstance(doc, dict) else [])
                if isinstance(e, dict) and isinstance(e.get("uri"), str) and not e["uri"].lower().startswith("data:")
            ]
        elif path.suffix.lower() == ".obj":
            libs = re.findall(r"^[ \t]*mtllib[ \t]+(.+?)[ \t]*$", path.read_text(errors="replace"), re.MULTILINE)
            for lib in libs:
                try:
                    whole = confined_path(lib, folder, path.name, "reference", is_uri=False)
                except AssetError:
                    continue
                # "mtllib a.mtl b.mtl" names several; a single name may also hold spaces
                for name in [lib] if " " not in lib or whole.is_file() else lib.split():
                    refs.append((name, folder))
                    try:
                        mtl = confined_path(name, folder, path.name, "reference", is_uri=False)
                    except AssetError:
                        continue
                    if mtl.is_file():
                        maps = re.findall(
                            r"^[ \t]*(?:map_\w+|bump|disp|decal|refl)[ \t]+(.+?)[ \t]*$",
                            mtl.read_text(errors="replace"),
                            re.MULTILINE | re.IGNORECASE,
                        )
                        refs += [(map_filename(m.split()), mtl.parent) for m in maps]
    except (OSError, ValueError):
        return []
    out = []
    for name, base in refs:
        try:
            f = confined_path(name, base, path.name, "reference", is_uri=is_uri, root=folder)
        except AssetError:
            continue
        if f.is_file():
            out.append(f)
    return out


def _import_mhclo(path: Path, options: ImportOptions) -> ImportResult:
    """MakeHuman clothes: fitted by their own .mhclo data (no auto-fit needed)."""
    from tryon.catalog.makehuman_clothes import import_makehuman_clothes, piece_for

    try:
        files = _mhclo_files(path, options.limits)  # refused before anything is read further
        garment = import_makehuman_clothes(
            path,
            item_id=options.item_id or slug(options.name),
            name=options.name,
            category=options.category,
            piece=piece_for(lookup(options.category)),
            base_color_srgb=options.color_srgb,
            bottom_color_srgb=options.bottom_color_srgb,
        )
    except mh.MakeHumanFormatError as exc:
        refusal = BadCoordinatesError if isinstance(exc, mh.NonFiniteError) else UnreadableFileError
        raise refusal(str(exc)) from exc
    garment.attribution = options.attribution
    if garment.triangle_count > options.limits.max_triangles:
        raise TooManyTrianglesError(
            f"{path.name} has {garment.triangle_count:,} triangles, over the real-time budget of "
            f"{options.limits.max_triangles:,} per item (MakeHuman clothes are not reduced automatically: "
            "use the low-poly proxy of the garment, or raise --max-triangles)."
        )
    warnings = []
    if any(v is not None for k, v in asdict(options.overrides).items() if k != "fabric"):
        warnings.append("manual fit overrides do not apply to MakeHuman clothes: their .mhclo fits them to the body")
    fabrics = finish_surface(garment, options.overrides.fabric)
    manifest = {
        "fabric": fabrics,
        "source": {"file": path.name, "format": "makehuman", "origin": options.source},
        "licence": options.licence,
        "units": {"file": "dm", "declared": "dm", "model": "m"},
        "fit": {"method": "mhclo"},
        "import_warnings": warnings,
        "import": options.replay(),
    }
    if not garment.is_rigid:
        manifest["looseness"] = _looseness(garment.parts)
    if options.size_chart:
        manifest["size_chart"] = options.size_chart
    return ImportResult(garment, files, manifest, warnings)


def _mhclo_files(path: Path, limits) -> list[Path]:
    """The files a ``.mhclo`` upload consists of, to keep as the original: itself, the mesh,
    material and weights it names, the textures that material names and its thumbnail, each
    a regular file inside the upload folder (links leaving it are refused, like a glTF's
    references) and within the size limit. Nothing else in the folder is read or copied."""
    from tryon.catalog.formats.safety import confined_path, read_file

    def checked(ref: str, owner: Path, what: str) -> Path | None:
        p = confined_path(ref, path.parent, owner.name, what, is_uri=False)
        if p.is_symlink() or not p.is_file():
            return None
        read_file(p, limits, f"{owner.name}: {what} '{ref}'")
        return p

    read_file(path, limits, path.name)
    clothes = mh.read_mhclo(path)
    files = [path]
    thumb = checked(path.stem + ".thumb", path, "thumbnail")  # MakeHuman's convention
    if thumb is not None:
        files.append(thumb)
    mesh = checked(clothes.obj_file, path, "obj_file")
    if mesh is None:
        raise UnreadableFileError(f"{path.name}: the mesh {clothes.obj_file!r} it names is missing beside it")
    files.append(mesh)
    for key, name in clothes.other_files.items():  # the weights file...
        extra = checked(name, path, key)
        if extra is not None:
            files.append(extra)
    if clothes.material:
        material = checked(clothes.material, path, "material")
        if material is not None:
            files.append(material)
            for key, value in mh.read_mhmat(material).items():
                if key.lower().endswith("texture") and value.strip():
                    texture = checked(value.strip(), material, key)
                    if texture is not None:
                        files.append(texture)
    return sorted(set(files))


__all__ = ["AssetError", "ImportOptions", "ImportResult", "import_file", "slug"]
