"""Wavefront OBJ (+ MTL libraries and ``map_Kd`` textures) -> :class:`~tryon.catalog.assets.RawAsset`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from tryon.catalog.assets import (
    BufferMismatchError,
    ImportLimits,
    NotAMeshError,
    RawAsset,
    RawMaterial,
    RawPart,
    UnreadableFileError,
)
from tryon.catalog.formats.images import decode_image
from tryon.catalog.formats.safety import DEFAULT_LIMITS, confined_path, read_file
from tryon.image import srgb_to_linear

_OBJ_KEYWORDS = frozenset(
    "v vt vn vp f fo l p o g s mg usemtl mtllib usemap maplib cstype deg bmat step curv curv2 surf parm trim "
    "hole scrv sp end con bevel c_interp d_interp lod shadow_obj trace_obj ctech stech call csh".split()
)
#: map_* options and how many values follow them (-o/-s/-t/-texres take up to 3 numbers).
_MAP_OPTIONS = {"-blendu": 1, "-blendv": 1, "-bm": 1, "-boost": 1, "-cc": 1, "-clamp": 1, "-imfchan": 1, "-mm": 2}
_MAP_VECTOR_OPTIONS = {"-o", "-s", "-t", "-texres"}
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?", re.IGNORECASE)


def map_filename(tokens: list[str]) -> str:
    """The file name of an MTL ``map_Kd [options] file`` statement (file names may hold spaces)."""
    i = 0
    while i < len(tokens) and tokens[i].startswith("-"):
        opt = tokens[i].lower()
        i += 1
        if opt in _MAP_OPTIONS:
            i += _MAP_OPTIONS[opt]
        elif opt in _MAP_VECTOR_OPTIONS:
            k = 0
            while i < len(tokens) and k < 3 and _NUMBER.fullmatch(tokens[i]):
                i, k = i + 1, k + 1
        else:
            break
    return " ".join(tokens[i:])


def _parse_mtl(text: str) -> dict[str, dict[str, Any]]:
    """Material name -> the MTL statements we use (kd, d, tr, ns, pr, pm as float lists; map_kd)."""
    mats: dict[str, dict[str, Any]] = {}
    cur: dict[str, Any] | None = None
    for line in text.splitlines():
        tok = line.split()
        if not tok or tok[0].startswith("#"):
            continue
        key = tok[0].lower()
        if key == "newmtl":
            cur = mats.setdefault(" ".join(tok[1:]), {})
        elif cur is None:
            continue
        elif key == "map_kd" and len(tok) > 1:
            cur["map_kd"] = map_filename(tok[1:])
        elif key in ("kd", "d", "tr", "ns", "pr", "pm"):
            try:
                values = [float(x) for x in tok[1 : 4 if key == "kd" else 2]]
            except ValueError:
                continue
            if values and np.all(np.isfinite(values)):
                cur[key] = values
    return mats


class _ObjReader:
    def __init__(self, path: Path, limits: ImportLimits):
        self.path = path
        self.name = path.name
        self.base_dir = path.absolute().parent
        self.limits = limits
        self.warnings: list[str] = []
        self.files = [str(path)]

    def bad_line(self, lineno: int, msg: str) -> NoReturn:
        raise UnreadableFileError(f"{self.name} line {lineno}: {msg}. The file is not a valid OBJ: re-export it.")

    def read(self) -> RawAsset:
        data = read_file(self.path, self.limits, self.name)
        if b"\x00" in data[:65536]:
            raise UnreadableFileError(f"{self.name} is a binary file, not a text OBJ. Check that it is an OBJ export.")
        text = data.decode("utf-8", errors="replace").replace("\\\r\n", " ").replace("\\\n", " ")
        v_rows: list[list[str]] = []
        v_lines: list[int] = []
        vt_rows: list[list[str]] = []
        vn_rows: list[list[str]] = []
        corners: list[tuple[int, int, int]] = []
        face_k: list[int] = []
        face_counts: list[tuple[int, int, int]] = []
        face_mat: list[int] = []
        face_line: list[int] = []
        mat_names: list[str | None] = []
        mat_of: dict[str | None, int] = {}
        current: str | None = None
        mtllibs: list[str] = []
        unknown = short_faces = lines_or_points = 0
        for lineno, line in enumerate(text.splitlines(), 1):
            tok = line.split()
            if not tok or tok[0].startswith("#"):
                continue
            key = tok[0]
            if key == "v":
                if len(tok) < 4:
                    self.bad_line(lineno, "a vertex needs 3 coordinates")
                v_rows.append(tok[1:4])
                v_lines.append(lineno)
            elif key == "vt":
                vt_rows.append((tok[1:3] + ["0"])[:2] if len(tok) > 1 else ["0", "0"])
            elif key == "vn":
                if len(tok) < 4:
                    self.bad_line(lineno, "a normal needs 3 values")
                vn_rows.append(tok[1:4])
            elif key in ("f", "fo"):
                if len(tok) < 4:
                    short_faces += 1
                    continue
                corner = ""
                try:
                    for corner in tok[1:]:
                        a = corner.split("/")
                        corners.append(
                            (
                                int(a[0]),
                                int(a[1]) if len(a) > 1 and a[1] else 0,
                                int(a[2]) if len(a) > 2 and a[2] else 0,
                            )
                        )
                except ValueError:
                    self.bad_line(lineno, f"face corner '{corner}' is not a vertex number")
                if current not in mat_of:
                    mat_of[current] = len(mat_names)
                    mat_names.append(current)
                face_k.append(len(tok) - 1)
                face_counts.append((len(v_rows), len(vt_rows), len(vn_rows)))
                face_mat.append(mat_of[current])
                face_line.append(lineno)
            elif key == "usemtl":
                current = " ".join(tok[1:]) or None
            elif key == "mtllib":
                mtllibs.append(" ".join(tok[1:]))
            elif key in ("l", "p"):
                lines_or_points += 1
            elif key not in _OBJ_KEYWORDS:
                unknown += 1
        if not v_rows or unknown > len(v_rows) + len(face_k):
            raise UnreadableFileError(
                f"{self.name} does not look like an OBJ file (no vertex lines 'v x y z', or mostly unknown "
                "lines). Check that the file is a Wavefront OBJ export."
            )
        try:
            positions = np.array(v_rows, dtype=np.float64)
        except ValueError:
            for row, ln in zip(v_rows, v_lines):
                try:
                    [float(x) for x in row]
                except ValueError:
                    self.bad_line(ln, f"vertex coordinates {' '.join(row)!r} are not numbers")
            raise
        try:
            texcoords = np.array(vt_rows, dtype=np.float64).reshape(-1, 2)
            vnormals = np.array(vn_rows, dtype=np.float64).reshape(-1, 3)
        except ValueError:
            raise UnreadableFileError(
                f"{self.name} has texture coordinates or normals that are not numbers. Re-export it."
            ) from None
        if not face_k:
            extra = f" and {lines_or_points} line/point elements" if lines_or_points else ""
            raise NotAMeshError(
                f"{self.name} holds {len(v_rows)} vertices{extra} but no faces: it is a point cloud or wireframe, "
                "not a surface. Export the garment as a mesh with faces."
            )
        if short_faces:
            self.warnings.append(f"ignored {short_faces} faces with fewer than 3 corners")
        raw = np.array(corners, dtype=np.int64).reshape(-1, 3)
        k = np.array(face_k, dtype=np.int64)
        counts = np.repeat(np.array(face_counts, dtype=np.int64), k, axis=0)
        # 1-based, or negative = relative to the elements defined so far; 0 = absent (uv, normal)
        idx = np.where(raw > 0, raw - 1, np.where(raw < 0, counts + raw, -1))
        totals = (len(positions), len(texcoords), len(vnormals))
        for col, label in ((0, "vertex"), (1, "texture coordinate"), (2, "normal")):
            bad = (idx[:, col] >= totals[col]) | ((idx[:, col] < 0) & ((raw[:, col] != 0) | (col == 0)))
            if bad.any():
                first = int(np.argmax(bad))
                face = int(np.searchsorted(np.cumsum(k), first, side="right"))
                raise BufferMismatchError(
                    f"{self.name} line {face_line[face]}: a face uses {label} {int(raw[first, col])} but the file "
                    f"defines only {totals[col]} {label}s. The file is damaged or incomplete: re-export it."
                )
        # fan-triangulate every polygon: corners (0, j, j + 1) for j in 1 .. k - 2
        start = np.concatenate([[0], np.cumsum(k)[:-1]])
        tri_face = np.repeat(np.arange(len(k)), k - 2)
        first_tri = np.concatenate([[0], np.cumsum(k - 2)[:-1]])
        j = np.arange(len(tri_face)) - first_tri[tri_face] + 1
        a = start[tri_face]
        tri_corners = np.stack([a, a + j, a + j + 1], axis=1)
        tri_mat = np.array(face_mat, dtype=np.int64)[tri_face]
        materials = self._materials(mtllibs, mat_names)
        parts: list[RawPart] = []
        for m, mname in enumerate(mat_names):
            sel = tri_corners[tri_mat == m]
            if len(sel):
                part = self._part(idx[sel.ravel()], positions, texcoords, vnormals, mname or "default")
                part.material = m
                parts.append(part)
        return RawAsset(
            parts=parts,
            materials=materials,
            source_format="obj",
            units_hint=None,
            up_axis_hint=None,
            warnings=self.warnings,
            files=self.files,
        )

    def _part(self, corners: np.ndarray, positions, texcoords, vnormals, label: str) -> RawPart:
        """Split vertices so each distinct (position, uv, normal) corner is one vertex."""
        uniq, inverse = np.unique(corners, axis=0, return_inverse=True)
        faces = inverse.reshape(-1, 3).astype(np.int64)
        uvs = normals = None
        has_uv = uniq[:, 1] >= 0
        if has_uv.any():
            uvs = np.zeros((len(uniq), 2), np.float64)
            uvs[has_uv] = texcoords[uniq[has_uv, 1]]
            uvs[:, 1] = np.where(has_uv, 1.0 - uvs[:, 1], 0.0)  # OBJ's v points up, glTF's down
            if not has_uv.all():
                self.warnings.append(f"part '{label}': {int((~has_uv).sum())} vertices had no UV and got (0, 0)")
            uvs = uvs.astype(np.float32)
        if (uniq[:, 2] >= 0).all():
            normals = vnormals[uniq[:, 2]].astype(np.float32)
        return RawPart(positions=positions[uniq[:, 0]], faces=faces, normals=normals, uvs=uvs, name=label)

    def _materials(self, mtllibs: list[str], used: list[str | None]) -> list[RawMaterial]:
        """One material per used name (first-use order), from the MTL libraries."""
        defs: dict[str, tuple[dict[str, Any], Path]] = {}
        missing_lib = False
        for lib in mtllibs:
            if not lib:
                continue
            # "mtllib a.mtl b.mtl" lists several; a single name may also hold spaces
            whole = confined_path(lib, self.base_dir, self.name, "material library", is_uri=False)
            for name in [lib] if " " not in lib or whole.is_file() else lib.split():
                file = confined_path(name, self.base_dir, self.name, "material library", is_uri=False)
                data = read_file(file, self.limits, f"{self.name}: material library '{name}'", missing_ok=True)
                if data is None:
                    self.warnings.append(f"material library '{name}' is missing; using plain grey materials")
                    missing_lib = True
                    continue
                self.files.append(str(file))
                for mname, spec in _parse_mtl(data.decode("utf-8", errors="replace")).items():
                    defs.setdefault(mname, (spec, file.parent))
        materials: list[RawMaterial] = []
        for mname in used:
            if mname is None:
                materials.append(RawMaterial(name="default"))
            elif mname in defs:
                materials.append(self._material(mname, *defs[mname]))
            else:
                if mtllibs and not missing_lib:  # a missing library was reported: it may define it
                    self.warnings.append(f"material '{mname}' is not defined in the .mtl; using plain grey")
                materials.append(RawMaterial(name=mname))
        return materials

    def _material(self, mname: str, spec: dict[str, Any], mtl_dir: Path) -> RawMaterial:
        mat = RawMaterial(name=mname)
        if len(spec.get("kd", ())) == 3:
            mat.base_color[:3] = srgb_to_linear(spec["kd"])
        elif "map_kd" in spec:
            mat.base_color[:3] = 1.0
        if "d" in spec:
            mat.base_color[3] = float(np.clip(spec["d"][0], 0, 1))
        elif "tr" in spec:
            mat.base_color[3] = float(np.clip(1.0 - spec["tr"][0], 0, 1))
        if "pr" in spec:
            mat.roughness = float(np.clip(spec["pr"][0], 0, 1))
        elif "ns" in spec:
            mat.roughness = float(np.clip(np.sqrt(2.0 / (max(spec["ns"][0], 0.0) + 2.0)), 0, 1))
        if "pm" in spec:
            mat.metallic = float(np.clip(spec["pm"][0], 0, 1))
        tex = spec.get("map_kd")
        if tex:
            file = confined_path(
                tex, mtl_dir, self.name, f"texture of material '{mname}'", is_uri=False, root=self.base_dir
            )
            data = read_file(file, self.limits, f"{self.name}: texture '{tex}'", missing_ok=True)
            if data is None:
                self.warnings.append(f"texture '{tex}' is missing; using the material colour")
            else:
                self.files.append(str(file))
                rgba = decode_image(data, f"'{tex}'", self.warnings)
                if rgba is not None:
                    mat.base_texture = rgba
                    mat.texture_source = tex
        return mat


def load_obj(path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> RawAsset:
    """A Wavefront OBJ (+ its MTL libraries and ``map_Kd`` textures) -> RawAsset, in file units and axes.

    One part per material (first-use order); polygons fan-triangulated; negative indices resolved;
    UVs flipped to glTF's convention (v' = 1 - v). MTL: ``Kd`` (sRGB -> linear base colour), ``d`` /
    ``Tr`` (alpha), ``Ns`` (roughness = sqrt(2 / (Ns + 2))), ``Pr`` / ``Pm`` (PBR extension), ``map_Kd``.
    Vertex colours (``v x y z r g b``) are ignored. Missing MTL or texture files are warnings.
    """
    return _ObjReader(Path(path), limits).read()
