"""glTF 2.0 (``.glb`` container, or ``.gltf`` JSON with its files beside it) -> :class:`~tryon.catalog.assets.RawAsset`.

Our own reader (``json`` + ``struct`` + numpy). Node transforms are baked into the positions and
normals, ``KHR_materials_variants`` become ``RawAsset.variants``. The container, the JSON and
the checked reading of buffers and accessors are in :mod:`tryon.catalog.formats.gltf_buffers`;
this module reads materials, images, primitives and the scene.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tryon.catalog.assets import (
    AssetError,
    BufferMismatchError,
    ImportLimits,
    NotAMeshError,
    RawAsset,
    RawMaterial,
    RawPart,
    UnreadableFileError,
    UnsupportedExtensionError,
)
from tryon.catalog.formats.gltf_buffers import (
    GLB_MAGIC,
    INDEX_TYPES,
    MODE_NAMES,
    GltfDocument,
    parse_glb,
    parse_json,
)
from tryon.catalog.formats.images import TextureBudget, decode_image
from tryon.catalog.formats.safety import (
    DEFAULT_LIMITS,
    HARD_TRIANGLE_CAP,
    confined_path,
    decode_data_uri,
    is_data_uri,
    read_file,
    too_many_triangles,
)

#: glTF extensions this reader honours; any other name in ``extensionsRequired`` is refused
#: (:class:`UnsupportedExtensionError`), but for ``KHR_texture_transform`` (see :data:`PARTLY_SUPPORTED`).
SUPPORTED_GLTF_EXTENSIONS = frozenset(
    {"KHR_materials_variants", "KHR_mesh_quantization", "EXT_texture_webp", "KHR_materials_sheen"}
)
#: Required extensions accepted as long as only what the try-on does not show uses them:
#: ``KHR_texture_transform`` on a normal, occlusion, metallic-roughness or emissive map (the map is
#: left out, with a warning); on the colour texture the file is refused.
PARTLY_SUPPORTED = frozenset({"KHR_texture_transform"})

_EXTENSION_HINTS = {
    "KHR_draco_mesh_compression": "turn off Draco mesh compression (in Blender's glTF export, untick 'Compression')",
    "EXT_meshopt_compression": "turn off meshopt compression",
    "KHR_texture_basisu": "save the textures as PNG or JPEG instead of KTX2/Basis",
    "KHR_texture_transform": "bake the texture's offset, scale and rotation into the UVs "
    "(in Blender, remove the Mapping node before the colour image, or bake the texture)",
}
#: Where a material keeps the texture maps the try-on does not show, and what to call them.
_UNUSED_MAPS = {
    "normalTexture": "normal map",
    "occlusionTexture": "occlusion map",
    "emissiveTexture": "emissive map",
    "metallicRoughnessTexture": "metallic-roughness map",
}
#: The ``asset.extras`` keys read as credits (Sketchfab's glTF exports write these four).


def _quat_matrix(q: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(q)
    x, y, z, w = q / n if n > 0 else (0.0, 0.0, 0.0, 1.0)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _strip_triangles(idx: np.ndarray) -> np.ndarray:
    n = len(idx) - 2
    if n <= 0:
        return np.zeros((0, 3), np.int64)
    i = np.arange(n)
    odd = i % 2
    return np.stack([idx[i], idx[i + 1 + odd], idx[i + 2 - odd]], axis=1)


def _fan_triangles(idx: np.ndarray) -> np.ndarray:
    if len(idx) < 3:
        return np.zeros((0, 3), np.int64)
    i = np.arange(1, len(idx) - 1)
    return np.stack([idx[i], idx[i + 1], np.full(len(i), idx[0])], axis=1)


class _GltfReader(GltfDocument):
    """One glTF read: :class:`GltfDocument` plus the extensions, materials, images and the scene."""

    def __init__(self, path: Path, limits: ImportLimits, doc: dict, bin_chunk: memoryview | None, is_glb: bool):
        super().__init__(path, limits, doc, bin_chunk, is_glb)
        self._images: dict[int, tuple[np.ndarray | None, str]] = {}
        self._prims: dict[tuple[int, int], Any] = {}
        self.required: frozenset[str] = frozenset()
        self.texture_budget = TextureBudget()

    # -- checks and buffers --------------------------------------------------------------------

    def check_extensions(self) -> None:
        required = self.doc.get("extensionsRequired", [])
        if not isinstance(required, list) or not all(isinstance(e, str) for e in required):
            self.malformed("'extensionsRequired' is not a list of names")
        self.required = frozenset(required)
        missing = sorted(set(required) - SUPPORTED_GLTF_EXTENSIONS - PARTLY_SUPPORTED)
        if missing:
            hints = [_EXTENSION_HINTS[e] for e in missing if e in _EXTENSION_HINTS]
            hint = f": {'; '.join(hints)}" if hints else ""
            raise UnsupportedExtensionError(
                f"{self.name} requires glTF extension(s) this importer does not support: {', '.join(missing)}. "
                f"Export it again without them{hint}. Supported: {', '.join(sorted(SUPPORTED_GLTF_EXTENSIONS))}."
            )

    def texture_transform(self, info: dict, mname: str, label: str, shown: bool) -> bool:
        """Whether the texture reference ``info`` of material ``mname`` moves its texture with
        ``KHR_texture_transform``. A required transform on a map the try-on shows (``shown``: the
        colour texture) refuses the file; on another map it leaves that map out, with a warning;
        an optional one (a viewer may ignore it) is ignored, with a warning on the colour texture."""
        ext = info.get("extensions")
        tt = ext.get("KHR_texture_transform") if isinstance(ext, dict) else None
        if not isinstance(tt, dict) or _identity_transform(tt, info):
            return False
        if "KHR_texture_transform" in self.required:
            if shown:
                raise UnsupportedExtensionError(
                    f"{self.name} requires glTF extension KHR_texture_transform, which this importer does not support "
                    f"on a colour texture (material '{mname}'): export it again without it: "
                    f"{_EXTENSION_HINTS['KHR_texture_transform']}."
                )
            self.warnings.append(
                f"material '{mname}': left out its {label}, which uses KHR_texture_transform "
                "(the try-on does not show that map)"
            )
        elif shown:
            self.warnings.append(
                f"material '{mname}': its {label} is moved by KHR_texture_transform, which is ignored; "
                "check that the texture sits right in the preview"
            )
        return True

    def check_unused_maps(self, mat: dict, mname: str) -> None:
        """Look at the texture maps the try-on does not show, for :meth:`texture_transform`."""
        if "KHR_texture_transform" not in self.required:
            return
        pbr = mat.get("pbrMetallicRoughness")
        places = [mat] + ([pbr] if isinstance(pbr, dict) else [])
        for place in places:
            for key, label in _UNUSED_MAPS.items():
                if isinstance(place.get(key), dict):
                    self.texture_transform(place[key], mname, label, shown=False)
        extensions = mat.get("extensions")
        for ext_name, ext in extensions.items() if isinstance(extensions, dict) else ():
            if not isinstance(ext, dict):
                continue
            for key, info in ext.items():
                if key.endswith("Texture") and isinstance(info, dict):
                    self.texture_transform(info, mname, f"{key} ({ext_name})", shown=False)

    # -- materials -----------------------------------------------------------------------------

    def image(self, src: Any, what: str) -> tuple[np.ndarray | None, str]:
        """Image ``src`` decoded to (H, W, 4) uint8 RGBA (or None, with a warning), and where it came from."""
        idx = self.index(src, "images", what)
        if idx in self._images:
            return self._images[idx]
        img = self.item("images", idx, what)
        uri = img.get("uri")
        name = str(img.get("name") or f"image {idx}")
        data: bytes | None
        if img.get("bufferView") is not None:
            view = self.item("bufferViews", img["bufferView"], f"image {idx}")
            length = self.integer(view, "byteLength", f"bufferView {img['bufferView']}", minimum=1)
            data = self.read_view(img["bufferView"], 0, length, np.dtype(np.uint8), 1, f"image {idx}").tobytes()
            source = f"{name} (embedded)"
            label = f"'{name}' (embedded)"
        elif isinstance(uri, str) and is_data_uri(uri):
            data = decode_data_uri(uri, self.name, f"image {idx}")
            source = f"{name} (embedded)"
            label = f"'{name}' (embedded)"
        elif isinstance(uri, str):
            file = confined_path(uri, self.base_dir, self.name, f"image {idx}", is_uri=True)
            source = uri
            label = f"'{uri}'"
            data = read_file(file, self.limits, f"{self.name}: texture {label}", missing_ok=True)
            if data is None:
                self.warnings.append(f"texture {label} is missing; using the material colour")
            else:
                self.files.append(str(file))
        else:
            self.malformed(f"image {idx} has neither a 'uri' nor a 'bufferView'")
        rgba = decode_image(data, label, self.warnings, self.texture_budget) if data is not None else None
        self._images[idx] = (rgba, source)
        return self._images[idx]

    def material(self, i: int) -> RawMaterial:
        mat = self.item("materials", i, f"material {i}")
        name = str(mat.get("name") or f"material {i}")
        pbr = mat.get("pbrMetallicRoughness", {})
        if not isinstance(pbr, dict):
            self.malformed(f"material {i} has an invalid 'pbrMetallicRoughness'")
        color = self.numbers(pbr.get("baseColorFactor", [1.0, 1.0, 1.0, 1.0]), 4, f"material {i} baseColorFactor")
        metallic = self.numbers([pbr.get("metallicFactor", 1.0)], 1, f"material {i} metallicFactor")[0]
        roughness = self.numbers([pbr.get("roughnessFactor", 1.0)], 1, f"material {i} roughnessFactor")[0]
        mr = self.metal_rough_means(pbr.get("metallicRoughnessTexture"), name)
        if mr is not None:
            # The try-on shades a part with one metalness and roughness: the map's averages.
            metallic, roughness = metallic * mr[0], roughness * mr[1]
        elif "metallicFactor" not in pbr:
            # glTF's default of 1 turns every material an exporter left unset into polished
            # metal; an upload that says nothing is taken as not metal.
            self.warnings.append(f"material '{name}' sets no metalness; taken as not metal (metallicFactor 0)")
            metallic = 0.0
        out = RawMaterial(
            name=name,
            base_color=np.clip(color, 0.0, 1.0).astype(np.float32),
            metallic=float(np.clip(metallic, 0.0, 1.0)),
            roughness=float(np.clip(roughness, 0.0, 1.0)),
            double_sided=bool(mat.get("doubleSided", False)),
        )
        self.check_unused_maps(mat, name)
        self.surface_maps(mat, pbr, name, out)
        info = pbr.get("baseColorTexture")
        if info is None:
            return out
        if not isinstance(info, dict):
            self.malformed(f"material {i} has an invalid baseColorTexture")
        self.texture_transform(info, name, "colour texture", shown=True)
        tex = self.item("textures", info.get("index"), f"material {i} baseColorTexture")
        src = tex.get("source")
        ext = tex.get("extensions") if isinstance(tex.get("extensions"), dict) else {}
        if src is None and isinstance(ext.get("EXT_texture_webp"), dict):
            src = ext["EXT_texture_webp"].get("source")
        if src is None:
            self.warnings.append(f"material '{name}': its texture has no image this importer reads; using the colour")
            return out
        if info.get("texCoord", 0) != 0:
            self.warnings.append(
                f"material '{name}': its texture uses UV set {info.get('texCoord')!r}, only the first is read; "
                "using the material colour"
            )
            return out
        rgba, label = self.image(src, f"texture {info.get('index')}")
        if rgba is not None:
            out.base_texture = rgba
            out.texture_source = label
        return out

    def map_image(self, info: Any, name: str, label: str) -> np.ndarray | None:
        """The image of a material's map reference ``info`` (RGBA uint8), or None when there is
        none this importer uses (no image, a second UV set, or moved by KHR_texture_transform)."""
        if not isinstance(info, dict) or info.get("texCoord", 0) != 0:
            return None
        ext = info.get("extensions")
        if isinstance(ext, dict) and isinstance(ext.get("KHR_texture_transform"), dict):
            if not _identity_transform(ext["KHR_texture_transform"], info):
                return None
        tex = self.item("textures", info.get("index"), f"material '{name}' {label}")
        src = tex.get("source")
        if src is None:
            return None
        rgba, _ = self.image(src, f"texture {info.get('index')}")
        return rgba

    def surface_maps(self, mat: dict, pbr: dict, name: str, out: RawMaterial) -> None:
        """The material's normal, occlusion and metallic-roughness maps and its
        ``KHR_materials_sheen`` factors, into ``out``."""
        normal = mat.get("normalTexture")
        out.normal_texture = self.map_image(normal, name, "normalTexture")
        if out.normal_texture is not None:
            out.normal_scale = float(self.numbers([normal.get("scale", 1.0)], 1, f"material '{name}' normal scale")[0])
        out.occlusion_texture = self.map_image(mat.get("occlusionTexture"), name, "occlusionTexture")
        out.roughness_texture = self.map_image(pbr.get("metallicRoughnessTexture"), name, "metallicRoughnessTexture")
        ext = mat.get("extensions")
        sheen = ext.get("KHR_materials_sheen") if isinstance(ext, dict) else None
        if isinstance(sheen, dict):
            what = f"material '{name}' KHR_materials_sheen"
            colour = self.numbers(sheen.get("sheenColorFactor", [0.0, 0.0, 0.0]), 3, f"{what} sheenColorFactor")
            rough = self.numbers([sheen.get("sheenRoughnessFactor", 0.0)], 1, f"{what} sheenRoughnessFactor")
            out.sheen_color = np.clip(colour, 0.0, 1.0).astype(np.float32)
            out.sheen_roughness = float(np.clip(rough[0], 0.0, 1.0))

    def metal_rough_means(self, info: Any, name: str) -> tuple[float, float] | None:
        """(metalness, roughness) averaged over a metallic-roughness map (glTF: blue and green
        channels), or None when there is none this importer can read."""
        if not isinstance(info, dict):
            return None
        tex = self.item("textures", info.get("index"), f"material '{name}' metallicRoughnessTexture")
        src = tex.get("source")
        if src is None:
            return None
        rgba, _ = self.image(src, f"texture {info.get('index')}")
        if rgba is None:
            return None
        px = rgba[..., :3].reshape(-1, 3).astype(np.float64) / (255.0 if rgba.dtype == np.uint8 else 1.0)
        return float(px[:, 2].mean()), float(px[:, 1].mean())

    # -- geometry ------------------------------------------------------------------------------

    def primitive(self, mesh_idx: int, prim_idx: int, prim: Any) -> Any:
        """(positions, normals, uvs, triangles) of a primitive in mesh space, a mode name, or None."""
        key = (mesh_idx, prim_idx)
        if key in self._prims:
            return self._prims[key]
        what = f"mesh {mesh_idx} primitive {prim_idx}"
        if not isinstance(prim, dict) or not isinstance(prim.get("attributes"), dict):
            self.malformed(f"{what} has no 'attributes'")
        mode = prim.get("mode", 4)
        if mode in MODE_NAMES:
            self._prims[key] = MODE_NAMES[mode]
            return self._prims[key]
        if mode not in (4, 5, 6):
            self.malformed(f"{what} has an unknown mode {mode!r}")
        attrs = prim["attributes"]
        if "POSITION" not in attrs:
            self.warnings.append(f"{what} has no POSITION attribute and was skipped")
            self._prims[key] = None
            return None
        pos = self.accessor(attrs["POSITION"], f"{what} POSITION", ("VEC3",)).astype(np.float64)
        n = len(pos)
        normals = uvs = None
        if "NORMAL" in attrs:
            normals = self.accessor(attrs["NORMAL"], f"{what} NORMAL", ("VEC3",)).astype(np.float64)
        if "TEXCOORD_0" in attrs:
            uvs = self.accessor(attrs["TEXCOORD_0"], f"{what} TEXCOORD_0", ("VEC2",)).astype(np.float64)
        for label, arr in (("NORMAL", normals), ("TEXCOORD_0", uvs)):
            if arr is not None and len(arr) != n:
                raise BufferMismatchError(
                    f"{self.name}: {what} has {len(arr)} {label} values for {n} positions. Re-export it."
                )
        if prim.get("indices") is not None:
            iacc = self.item("accessors", prim["indices"], f"{what} indices")
            if iacc.get("componentType") not in INDEX_TYPES:
                self.malformed(f"{what} indices are not unsigned integers")
            idx = self.accessor(prim["indices"], f"{what} indices", ("SCALAR",))[:, 0].astype(np.int64)
            if len(idx) and idx.max() >= n:
                raise BufferMismatchError(
                    f"{self.name}: accessor {prim['indices']} (indices of {what}) refers to vertex "
                    f"{int(idx.max())} but the primitive has only {n} vertices. The file is damaged: re-export it."
                )
        else:
            idx = np.arange(n, dtype=np.int64)
        if mode == 4:
            if len(idx) % 3:
                self.warnings.append(f"{what}: {len(idx) % 3} trailing indices do not form a triangle; ignored")
            tris = idx[: len(idx) // 3 * 3].reshape(-1, 3)
        elif mode == 5:
            tris = _strip_triangles(idx)
        else:
            tris = _fan_triangles(idx)
        self._prims[key] = (pos, normals, uvs, tris)
        return self._prims[key]

    def node_instances(self) -> list[tuple[int, np.ndarray, str]]:
        """(mesh index, (4, 4) world matrix, node name) for every mesh the shown scene places."""
        nodes = self.array("nodes")
        scenes = self.array("scenes")
        if self.doc.get("scene") is not None:
            roots = self.item("scenes", self.doc["scene"], "'scene'").get("nodes", [])
        elif scenes:
            roots = self.item("scenes", 0, "scenes").get("nodes", [])
        else:
            if not nodes and self.array("meshes"):
                self.warnings.append("the file has meshes but no scene nodes; all meshes were used as they are")
                return [(m, np.eye(4), "") for m in range(len(self.array("meshes")))]
            children = {
                c
                for nd in nodes
                if isinstance(nd, dict) and isinstance(nd.get("children"), list)
                for c in nd["children"]
                if isinstance(c, int)
            }
            roots = [i for i in range(len(nodes)) if i not in children]
        if not isinstance(roots, list):
            self.malformed("a scene's 'nodes' is not a list")
        out = []
        seen: set[int] = set()
        stack = [(r, np.eye(4)) for r in reversed(roots)]
        while stack:
            ni, parent = stack.pop()
            node = self.item("nodes", ni, "the node hierarchy")
            if ni in seen:
                self.malformed(f"node {ni} appears twice in the node hierarchy (a cycle or a shared child)")
            seen.add(ni)
            world = parent @ self.node_matrix(node, ni)
            if node.get("mesh") is not None:
                out.append((self.index(node["mesh"], "meshes", f"node {ni}"), world, str(node.get("name") or "")))
            children = node.get("children", [])
            if not isinstance(children, list):
                self.malformed(f"node {ni} has invalid 'children'")
            stack.extend((c, world) for c in reversed(children))
        return out

    def node_matrix(self, node: dict, ni: int) -> np.ndarray:
        """The node's local (4, 4) transform: its column-major ``matrix``, else T @ R @ S."""
        if "matrix" in node:
            return self.numbers(node["matrix"], 16, f"node {ni} matrix").reshape(4, 4).T
        m = np.eye(4)
        t = self.numbers(node.get("translation", [0, 0, 0]), 3, f"node {ni} translation")
        r = self.numbers(node.get("rotation", [0, 0, 0, 1]), 4, f"node {ni} rotation")
        s = self.numbers(node.get("scale", [1, 1, 1]), 3, f"node {ni} scale")
        m[:3, :3] = _quat_matrix(r) * s[None, :]
        m[:3, 3] = t
        return m

    def variant_names(self) -> list[str]:
        ext = self.doc.get("extensions", {})
        ext = ext.get("KHR_materials_variants") if isinstance(ext, dict) else None
        if ext is None:
            return []
        variants = ext.get("variants") if isinstance(ext, dict) else None
        if not isinstance(variants, list):
            self.malformed("KHR_materials_variants has no 'variants' list")
        names: list[str] = []
        for i, v in enumerate(variants):
            name = str(v.get("name") or f"variant {i}") if isinstance(v, dict) else f"variant {i}"
            base, k = name, 2
            while name in names:
                name, k = f"{base} ({k})", k + 1
            names.append(name)
        return names

    def variant_mapping(self, prim: dict, what: str, n_variants: int) -> dict[int, int]:
        """variant index -> material index for one primitive."""
        ext = prim.get("extensions", {})
        ext = ext.get("KHR_materials_variants") if isinstance(ext, dict) else None
        if ext is None:
            return {}
        mappings = ext.get("mappings") if isinstance(ext, dict) else None
        if not isinstance(mappings, list):
            self.malformed(f"{what} has an invalid KHR_materials_variants mapping")
        out: dict[int, int] = {}
        for m in mappings:
            if not isinstance(m, dict) or not isinstance(m.get("variants"), list):
                self.malformed(f"{what} has an invalid KHR_materials_variants mapping")
            mat = self.index(m.get("material"), "materials", f"{what} variant mapping")
            for v in m["variants"]:
                if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n_variants:
                    self.malformed(f"{what} maps variant {v!r}, but {n_variants} variants are defined")
                out[v] = mat
        return out

    def read(self) -> RawAsset:
        self.check_extensions()
        for i in range(len(self.array("buffers"))):
            self.buffer(i)  # every buffer's length is checked, used or not
        materials = [self.material(i) for i in range(len(self.array("materials")))]
        variant_names = self.variant_names()
        default_mat: int | None = None
        parts: list[RawPart] = []
        part_variants: list[dict[int, int]] = []
        skipped: dict[str, int] = {}
        total = 0
        for mesh_idx, world, node_name in self.node_instances():
            mesh = self.item("meshes", mesh_idx, f"mesh {mesh_idx}")
            prims = mesh.get("primitives")
            if not isinstance(prims, list):
                self.malformed(f"mesh {mesh_idx} has no 'primitives' list")
            lin, t = world[:3, :3], world[:3, 3]
            det = float(np.linalg.det(lin))
            # normals transform with the cofactor matrix (det * inverse transpose; defined when singular)
            cof = np.stack([np.cross(lin[1], lin[2]), np.cross(lin[2], lin[0]), np.cross(lin[0], lin[1])])
            for p_idx, prim in enumerate(prims):
                got = self.primitive(mesh_idx, p_idx, prim)
                if got is None:
                    continue
                if isinstance(got, str):
                    skipped[got] = skipped.get(got, 0) + 1
                    continue
                pos, normals, uvs, tris = got
                total += len(tris)
                if total > HARD_TRIANGLE_CAP:
                    raise too_many_triangles(self.name, "expands (every placed copy, strip and fan counted) to")
                if det < 0:
                    tris = tris[:, [0, 2, 1]]  # a mirroring transform flips the winding
                if normals is not None:
                    normals = (normals @ cof.T) * (1.0 if det >= 0 else -1.0)
                if prim.get("material") is not None:
                    mat = self.index(prim["material"], "materials", f"mesh {mesh_idx} primitive {p_idx}")
                else:
                    if default_mat is None:
                        default_mat = len(materials)
                        materials.append(RawMaterial(name="default"))
                    mat = default_mat
                base_name = str(mesh.get("name") or node_name or f"mesh {mesh_idx}")
                with np.errstate(invalid="ignore", over="ignore"):  # NaN is reported by validate_and_repair
                    world_pos = pos @ lin.T + t
                parts.append(
                    RawPart(
                        positions=world_pos,
                        faces=tris.astype(np.int64),
                        normals=None if normals is None else normals.astype(np.float32),
                        uvs=None if uvs is None else uvs.astype(np.float32),
                        material=mat,
                        name=base_name if len(prims) == 1 else f"{base_name}/{p_idx}",
                    )
                )
                part_variants.append(
                    self.variant_mapping(prim, f"mesh {mesh_idx} primitive {p_idx}", len(variant_names))
                )
        if not parts:
            if skipped:
                kinds = ", ".join(f"{n} {k}" for k, n in skipped.items())
                raise NotAMeshError(
                    f"{self.name} holds no triangles, only {kinds}. Export the garment as a surface mesh."
                )
            raise NotAMeshError(f"{self.name} holds no mesh in its scene. Export the garment as a mesh.")
        if skipped:
            kinds = ", ".join(f"{n} {k}" for k, n in skipped.items())
            self.warnings.append(f"skipped {kinds} (only triangles are shown)")
        variants = {
            name: [pv.get(v, part.material) for pv, part in zip(part_variants, parts)]
            for v, name in enumerate(variant_names)
        }
        return RawAsset(
            parts=parts,
            materials=materials,
            variants=variants,
            source_format="glb" if self.is_glb else "gltf",
            units_hint="m",
            up_axis_hint="y",
            warnings=self.warnings,
            files=self.files,
            credits=self.credits(),
        )


def _identity_transform(tt: dict, info: dict) -> bool:
    """Whether a ``KHR_texture_transform`` leaves the texture where it is."""

    def close(value: Any, default: list[float]) -> bool:
        try:
            return bool(np.allclose(np.asarray(value, dtype=np.float64), default, atol=1e-9))
        except (TypeError, ValueError):
            return False

    return (
        close(tt.get("offset", [0.0, 0.0]), [0.0, 0.0])
        and close(tt.get("scale", [1.0, 1.0]), [1.0, 1.0])
        and close(tt.get("rotation", 0.0), [0.0])
        and tt.get("texCoord", info.get("texCoord", 0)) == info.get("texCoord", 0)
    )


def load_gltf(path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> RawAsset:
    """A glTF 2.0 file (``.glb`` container, or ``.gltf`` JSON with its files beside it) -> RawAsset.

    Positions (V, 3) in metres (glTF: y up, +z front) with every node transform of the default
    scene (else the first scene, else all root nodes) applied; one part per placed primitive.
    Triangles, strips and fans are read; points and lines are skipped. Materials keep their glTF
    index; primitives without one share an extra plain "default" material at the end.
    """
    path = Path(path)
    is_glb = path.suffix.lower() == ".glb"
    data = read_file(path, limits, path.name)
    if is_glb:
        raw_json, bin_chunk = parse_glb(data, path.name)
    else:
        if data[:4] == GLB_MAGIC:
            raise UnreadableFileError(f"{path.name} is a binary glTF, not JSON: rename it to .glb.")
        raw_json, bin_chunk = data, None
    doc = parse_json(raw_json, path.name)
    reader = _GltfReader(path, limits, doc, bin_chunk, is_glb)
    try:
        return reader.read()
    except AssetError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
        # A schema violation the explicit checks did not name: still a problem of the uploaded file.
        raise UnreadableFileError(
            f"{path.name} is not a valid glTF ({type(exc).__name__}: {exc}). Re-export it from your 3D tool."
        ) from exc
