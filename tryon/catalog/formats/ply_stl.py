"""PLY and STL (read with trimesh) -> untextured :class:`~tryon.catalog.assets.RawAsset`."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np

from tryon.catalog.assets import ImportLimits, NotAMeshError, RawAsset, RawMaterial, RawPart, UnreadableFileError
from tryon.catalog.formats.safety import DEFAULT_LIMITS, HARD_TRIANGLE_CAP, read_file, too_many_triangles
from tryon.image import srgb_to_linear


def _sniff_stl(data: bytes, name: str) -> None:
    if len(data) >= 84:
        n = struct.unpack_from("<I", data, 80)[0]
        if len(data) >= 84 + 50 * n:
            if n > HARD_TRIANGLE_CAP:
                raise too_many_triangles(name)
            return  # binary STL
    if data[:1024].lstrip()[:5].lower() == b"solid" and b"facet" in data[:65536]:
        if data.count(b"endfacet") > HARD_TRIANGLE_CAP:
            raise too_many_triangles(name)
        return  # ASCII STL
    raise UnreadableFileError(
        f"{name} is not a readable STL file (neither a complete binary STL nor ASCII 'solid ... facet'). "
        "It may be truncated or another format: re-export it as STL."
    )


#: Bytes of each PLY scalar type (binary formats).
_PLY_SIZES = {
    "char": 1, "uchar": 1, "int8": 1, "uint8": 1, "short": 2, "ushort": 2, "int16": 2, "uint16": 2,
    "int": 4, "uint": 4, "int32": 4, "uint32": 4, "float": 4, "float32": 4, "double": 8, "float64": 8,
}  # fmt: skip


def _check_ply_counts(data: bytes, name: str) -> None:
    """Refuse a PLY whose header declares more elements than its data could hold, before any
    reader allocates them: each binary row needs at least its fixed-size properties (a list at
    least its count), each text row at least two characters a property."""
    end = data.find(b"end_header")
    if end < 0:
        raise UnreadableFileError(f"{name} is not a complete PLY file: its header has no 'end_header'. Re-export it.")
    nl = data.find(b"\n", end)
    body = len(data) - (nl + 1 if nl >= 0 else len(data))
    binary = True
    elements: list[list] = []  # [name, count, minimum bytes a row]
    for line in data[:end].decode("ascii", "replace").splitlines():
        tok = line.split()
        if len(tok) >= 2 and tok[0] == "format":
            binary = tok[1] != "ascii"
        elif len(tok) >= 3 and tok[0] == "element":
            try:
                count = int(tok[2])
            except ValueError:
                raise UnreadableFileError(
                    f"{name}: the PLY element '{tok[1]}' has no valid count ({tok[2]!r}). Re-export it."
                ) from None
            elements.append([tok[1], count, 0])
        elif len(tok) >= 3 and tok[0] == "property" and elements:
            size = _PLY_SIZES.get(tok[2] if tok[1] == "list" else tok[1], 1)
            elements[-1][2] += size if binary else 2
    need = 0
    for el, count, row in elements:
        need += count * max(row, 1)
        if count < 0 or need > body:
            raise UnreadableFileError(
                f"{name} could not be read as PLY: it declares {count:,} '{el}' elements, more than its "
                f"{body:,} bytes of data can hold (damaged or truncated). Re-export it."
            )
        if el == "face" and count > HARD_TRIANGLE_CAP:
            raise too_many_triangles(name)


def load_ply_stl(path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> RawAsset:
    """A PLY or STL mesh (read by trimesh) -> RawAsset with untextured parts, in file units and axes.

    STL vertices, stored per triangle, are merged where positions are identical. Per-vertex (or
    per-face) colours are averaged into the single material's base colour (sRGB -> linear); UVs
    and normals are not read (:func:`validate_and_repair` computes normals). A file with vertices
    but no faces raises :class:`NotAMeshError`; anything trimesh fails on, :class:`UnreadableFileError`.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    data = read_file(path, limits, path.name)
    if fmt == "ply" and data[:3] != b"ply":
        raise UnreadableFileError(f"{path.name} is not a PLY file (it does not start with 'ply'). Re-export it.")
    if fmt == "ply":
        _check_ply_counts(data, path.name)
    if fmt == "stl":
        _sniff_stl(data, path.name)
    try:
        import trimesh

        loaded = trimesh.load(io.BytesIO(data), file_type=fmt, process=False)
        geoms = loaded.dump() if isinstance(loaded, trimesh.Scene) else [loaded]
        meshes = [g for g in geoms if isinstance(g, trimesh.Trimesh)]
        n_points = sum(len(getattr(g, "vertices", ())) for g in geoms if not isinstance(g, trimesh.Trimesh))
        arrays = []
        colors = []
        for m in meshes:
            pos = np.asarray(m.vertices, dtype=np.float64).reshape(-1, 3)
            faces = np.asarray(m.faces, dtype=np.int64).reshape(-1, 3)
            kind = getattr(m.visual, "kind", None)
            if kind == "vertex":
                colors.append(np.asarray(m.visual.vertex_colors, dtype=np.float64)[:, :4])
            elif kind == "face":
                colors.append(np.asarray(m.visual.face_colors, dtype=np.float64)[:, :4])
            arrays.append((pos, faces))
    except Exception as exc:  # trimesh raises anything on bad input
        raise UnreadableFileError(
            f"{path.name} could not be read as {fmt.upper()}: it is damaged or not really a {fmt.upper()} file. "
            f"Re-export it. (Technical detail: {type(exc).__name__}: {exc})"
        ) from None
    n_faces = sum(len(f) for _, f in arrays)
    if n_faces > HARD_TRIANGLE_CAP:  # polygons split into triangles
        raise too_many_triangles(path.name)
    n_verts = sum(len(p) for p, _ in arrays) + n_points
    if n_faces == 0 and n_verts > 0:
        raise NotAMeshError(
            f"{path.name} holds {n_verts} points but no faces: it is a point cloud, not a surface. "
            "Export the garment as a mesh with faces."
        )
    material = RawMaterial(name=path.stem)
    if colors:
        c = np.concatenate(colors) / 255.0
        if len(c):
            mean = c.mean(axis=0)
            material.base_color = np.array([*srgb_to_linear(mean[:3]), mean[3]], np.float32)
    parts = []
    for i, (pos, faces) in enumerate(arrays):
        if fmt == "stl" and len(pos):
            pos, inverse = np.unique(pos, axis=0, return_inverse=True)
            faces = inverse.reshape(-1)[faces]
        parts.append(RawPart(positions=pos, faces=faces, name=path.stem if len(arrays) == 1 else f"{path.stem}/{i}"))
    if not parts:
        parts = [RawPart(positions=np.zeros((0, 3)), faces=np.zeros((0, 3), np.int64), name=path.stem)]
    return RawAsset(parts=parts, materials=[material], source_format=fmt, files=[str(path)])
