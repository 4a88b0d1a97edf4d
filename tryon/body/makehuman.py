"""Readers for MakeHuman's file formats: OBJ meshes, ``.mhskel`` skeletons, ``.mhw`` skin
weights, ``.mhclo`` clothes fitting, ``.mhmat`` materials and single-frame ``.bvh`` poses.

Everything here returns MakeHuman's own units (decimetres) and axes (y up, +z front);
callers convert with :data:`tryon.frames.MAKEHUMAN_UNIT_M`.
"""

from __future__ import annotations

import json
import math
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "makehuman"
#: Vertices of MakeHuman's hm08 base mesh (helpers included): what a ``.mhclo`` refers to.
HM08_VERTICES = 19158
#: More triangles than any MakeHuman garment or proxy has: a mesh past this is refused while read.
MAX_TRIANGLES = 1_000_000


class MakeHumanFormatError(ValueError):
    """A MakeHuman file could not be understood."""


class NonFiniteError(MakeHumanFormatError):
    """A MakeHuman file's numbers are NaN or infinite, or make a fitted position so."""


@dataclass
class ObjMesh:
    """A polygon mesh as stored in an OBJ file, triangulated.

    positions : (V, 3) float64. uvs : (T, 2) float64 or empty.
    tri_v : (F, 3) int64 indices into positions; tri_vt : (F, 3) int64 into uvs, or -1.
    tri_group : (F,) int64 index into ``groups``; tri_material : (F,) int64 into ``materials``.
    """

    positions: np.ndarray
    uvs: np.ndarray
    tri_v: np.ndarray
    tri_vt: np.ndarray
    tri_group: np.ndarray
    groups: list[str]
    tri_material: np.ndarray
    materials: list[str]
    mtllibs: list[str] = field(default_factory=list)


def read_obj(path: str | Path, max_bytes: int | None = None, max_triangles: int = MAX_TRIANGLES) -> ObjMesh:
    """Parse an OBJ file (``v``, ``vt``, ``f``, ``g``/``o``, ``usemtl``, ``mtllib``).

    Polygons are fan-triangulated. Negative (relative) indices are resolved. Raises
    :class:`MakeHumanFormatError` naming the line on malformed input, and for more than
    ``max_triangles`` triangles (counted while reading, before they are stored).
    """
    path = Path(path)
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise MakeHumanFormatError(f"{path.name}: {path.stat().st_size} bytes exceeds the limit of {max_bytes}")
    # typed arrays, a few bytes a value (a list of tuples costs ~100 bytes a triangle)
    positions, uvs = array("d"), array("d")
    tri_v, tri_vt, tri_group, tri_mat = array("q"), array("q"), array("i"), array("i")
    groups: list[str] = ["default"]
    materials: list[str] = [""]
    mtllibs: list[str] = []
    group_idx = 0
    mat_idx = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line or line[0] == "#":
                continue
            tag, _, rest = line.partition(" ")
            try:
                if tag == "v":
                    xyz = rest.split()[:3]
                    positions.extend((float(xyz[0]), float(xyz[1]), float(xyz[2])))
                elif tag == "vt":
                    uv = rest.split()[:2]
                    uvs.extend((float(uv[0]), float(uv[1]) if len(uv) > 1 else 0.0))
                elif tag == "f":
                    corners = rest.split()
                    if len(corners) < 3:
                        raise MakeHumanFormatError(f"{path.name}:{lineno}: a face needs at least 3 corners")
                    if len(tri_group) + len(corners) - 2 > max_triangles:
                        raise MakeHumanFormatError(
                            f"{path.name}: more than {max_triangles:,} triangles, far more than a MakeHuman "
                            "garment has; use the garment's low-poly proxy"
                        )
                    n_v, n_vt = len(positions) // 3, len(uvs) // 2
                    vs, vts = [], []
                    for c in corners:
                        parts = c.split("/")
                        vi = int(parts[0])
                        vs.append(vi - 1 if vi > 0 else n_v + vi)
                        if len(parts) > 1 and parts[1]:
                            ti = int(parts[1])
                            vts.append(ti - 1 if ti > 0 else n_vt + ti)
                        else:
                            vts.append(-1)
                    for k in range(1, len(vs) - 1):
                        tri_v.extend((vs[0], vs[k], vs[k + 1]))
                        tri_vt.extend((vts[0], vts[k], vts[k + 1]))
                        tri_group.append(group_idx)
                        tri_mat.append(mat_idx)
                elif tag in ("g", "o"):
                    name = rest.strip() or "default"
                    if name not in groups:
                        groups.append(name)
                    group_idx = groups.index(name)
                elif tag == "usemtl":
                    name = rest.strip()
                    if name not in materials:
                        materials.append(name)
                    mat_idx = materials.index(name)
                elif tag == "mtllib":
                    mtllibs.append(rest.strip())
            except (ValueError, IndexError, OverflowError) as exc:
                if isinstance(exc, MakeHumanFormatError):
                    raise
                raise MakeHumanFormatError(
                    f"{path.name}:{lineno}: cannot read the {tag!r} line: {line[:80]!r}"
                ) from exc
    mesh = ObjMesh(
        positions=np.frombuffer(positions, np.float64).reshape(-1, 3).copy(),
        uvs=np.frombuffer(uvs, np.float64).reshape(-1, 2).copy(),
        tri_v=np.frombuffer(tri_v, np.int64).reshape(-1, 3).copy(),
        tri_vt=np.frombuffer(tri_vt, np.int64).reshape(-1, 3).copy(),
        tri_group=np.frombuffer(tri_group, np.int32).astype(np.int64),
        groups=groups,
        tri_material=np.frombuffer(tri_mat, np.int32).astype(np.int64),
        materials=materials,
        mtllibs=mtllibs,
    )
    n = len(mesh.positions)
    if len(mesh.tri_v) and (mesh.tri_v.min() < 0 or mesh.tri_v.max() >= n):
        raise MakeHumanFormatError(f"{path.name}: a face refers to a vertex that does not exist ({n} vertices)")
    if len(mesh.tri_vt) and mesh.tri_vt.max() >= len(mesh.uvs):
        raise MakeHumanFormatError(f"{path.name}: a face refers to a texture coordinate that does not exist")
    if not np.isfinite(mesh.positions).all() or not np.isfinite(mesh.uvs).all():
        raise NonFiniteError(f"{path.name}: some coordinates are NaN or infinite")
    return mesh


@dataclass
class MhSkeleton:
    """A MakeHuman skeleton: bones in file order with parents, head and tail joint names."""

    names: list[str]
    parents: list[str | None]
    heads: list[str]
    tails: list[str]
    joints: dict[str, list[int]]

    def joint_positions(self, body_positions: np.ndarray) -> dict[str, np.ndarray]:
        """Each joint is the mean of a list of body vertices (so it follows any body shape)."""
        return {name: body_positions[idx].mean(axis=0) for name, idx in self.joints.items()}


def read_mhskel(path: str | Path = DATA_DIR / "default.mhskel") -> MhSkeleton:
    data = json.loads(Path(path).read_text())
    names, parents, heads, tails = [], [], [], []
    for name, bone in data["bones"].items():
        names.append(name)
        parents.append(bone.get("parent"))
        heads.append(bone["head"])
        tails.append(bone["tail"])
    return MhSkeleton(names, parents, heads, tails, {k: list(v) for k, v in data["joints"].items()})


def read_mhw(path: str | Path = DATA_DIR / "default_weights.mhw") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Skin weights: bone name -> (vertex indices (n,) int64, weights (n,) float64)."""
    data = json.loads(Path(path).read_text())
    out = {}
    for bone, pairs in data["weights"].items():
        arr = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)
        out[bone] = (arr[:, 0].astype(np.int64), arr[:, 1])
    return out


@dataclass
class MhClothes:
    """A ``.mhclo`` fitting: each clothing vertex is a barycentric mix of 3 body vertices
    plus an offset scaled by the body's size along x, y and z.

    ref_verts : (N, 3) int64 body vertex indices. ref_weights : (N, 3) float64.
    offsets : (N, 3) float64, decimetres on the reference body.
    scale_refs : {"x"|"y"|"z": (body vertex a, body vertex b, reference distance)}.
    delete_verts : body vertex indices the garment hides (MakeHuman deletes them).
    other_files : the header's other ``*_file`` entries (``vertexboneweights_file``...),
        key -> file name beside the ``.mhclo``.
    """

    name: str
    obj_file: str
    material: str | None
    ref_verts: np.ndarray
    ref_weights: np.ndarray
    offsets: np.ndarray
    scale_refs: dict[str, tuple[int, int, float]]
    delete_verts: np.ndarray
    z_depth: int = 50
    tags: list[str] = field(default_factory=list)
    uuid: str = ""
    other_files: dict[str, str] = field(default_factory=dict)

    def fit(self, body_positions: np.ndarray) -> np.ndarray:
        """Clothing vertex positions (N, 3) on the given body (same topology as hm08)."""
        n = len(body_positions)
        used = [v for a, b, _ in self.scale_refs.values() for v in (a, b)]
        if (len(self.ref_verts) and not 0 <= self.ref_verts.min() <= self.ref_verts.max() < n) or any(
            not 0 <= v < n for v in used
        ):
            raise MakeHumanFormatError(f"{self.name}: refers to a body vertex the body (of {n:,}) does not have")
        scale = np.ones(3)
        for axis, k in (("x", 0), ("y", 1), ("z", 2)):
            if axis in self.scale_refs:
                a, b, ref = self.scale_refs[axis]
                scale[k] = abs(body_positions[a, k] - body_positions[b, k]) / ref
        with np.errstate(over="ignore", invalid="ignore"):
            mixed = np.einsum("nk,nkd->nd", self.ref_weights, body_positions[self.ref_verts])
            out = mixed + self.offsets * scale
        if not np.isfinite(out).all():
            raise NonFiniteError(
                f"{self.name}: its weights, offsets or scales put {int((~np.isfinite(out).all(axis=1)).sum())} "
                "vertices at infinity (numbers too large)"
            )
        return out


def read_mhclo(path: str | Path, n_body: int = HM08_VERTICES) -> MhClothes:
    """A ``.mhclo`` (or ``.proxy``) fitting file. Every number is checked while read: body vertex
    indices within ``n_body`` (the ``delete_verts`` ranges too, never expanded beyond it), weights,
    offsets and scale distances finite, scale distances above 0. Raises
    :class:`MakeHumanFormatError` in plain words naming the line."""
    path = Path(path)
    name = path.name
    header: dict[str, str] = {}
    tags: list[str] = []
    scale_refs: dict[str, tuple[int, int, float]] = {}
    refs = array("d")
    delete_tokens: list[str] = []
    section = None

    def vertex(word: str, lineno: int, what: str) -> int:
        try:
            v = int(word)
        except ValueError:
            raise MakeHumanFormatError(f"{name} line {lineno}: {what} {word!r} is not a vertex number") from None
        if not 0 <= v < n_body:
            raise MakeHumanFormatError(
                f"{name} line {lineno}: {what} {v} is not a vertex of the body (it has {n_body:,}, numbered from 0)"
            )
        return v

    def number(word: str, lineno: int, what: str) -> float:
        try:
            x = float(word)
        except ValueError:
            raise MakeHumanFormatError(f"{name} line {lineno}: {what} {word!r} is not a number") from None
        if not math.isfinite(x):
            raise NonFiniteError(f"{name} line {lineno}: {what} is {word!r}; it must be a finite number")
        return x

    for lineno, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "verts":
            section = "verts"
        elif words[0] == "delete_verts":
            section = "delete"
        elif section == "verts" and _is_number(words[0]):
            if len(words) == 1:  # an exact copy of one body vertex
                refs.extend((vertex(words[0], lineno, "body vertex"), 0, 0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0))
            elif len(words) < 9:
                raise MakeHumanFormatError(
                    f"{name} line {lineno}: a vertex reference needs 9 numbers (3 body vertices, 3 weights, "
                    f"3 offsets) or 1, not {len(words)}"
                )
            else:
                refs.extend(vertex(w, lineno, "body vertex") for w in words[:3])
                refs.extend(number(w, lineno, "weight") for w in words[3:6])
                refs.extend(number(w, lineno, "offset") for w in words[6:9])
        elif section == "delete" and (_is_number(words[0]) or words[0] == "-"):
            delete_tokens.extend(words)
        elif words[0] in ("x_scale", "y_scale", "z_scale"):
            if len(words) < 4:
                raise MakeHumanFormatError(f"{name} line {lineno}: {words[0]} needs two body vertices and a distance")
            a, b = vertex(words[1], lineno, words[0]), vertex(words[2], lineno, words[0])
            ref = number(words[3], lineno, f"{words[0]} distance")
            if not ref > 0:
                raise MakeHumanFormatError(
                    f"{name} line {lineno}: {words[0]} distance is {words[3]}; it must be above 0"
                )
            scale_refs[words[0][0]] = (a, b, ref)
        elif words[0] == "tag":
            tags.append(" ".join(words[1:]))
        else:  # a header key (some files put "material" between "verts 0" and the data)
            header[words[0]] = " ".join(words[1:])
    if not refs:
        raise MakeHumanFormatError(f"{name}: no 'verts' section with vertex references")
    deleted = _parse_ranges(delete_tokens, name, n_body)
    arr = np.frombuffer(refs, np.float64).reshape(-1, 9)
    if "obj_file" not in header:
        raise MakeHumanFormatError(f"{name}: no 'obj_file' line naming the mesh")
    try:
        z_depth = int(header.get("z_depth", 50))
    except ValueError:
        raise MakeHumanFormatError(f"{name}: z_depth {header['z_depth']!r} is not a whole number") from None
    return MhClothes(
        name=header.get("name", path.stem),
        obj_file=header["obj_file"],
        material=header.get("material"),
        ref_verts=arr[:, :3].astype(np.int64),
        ref_weights=arr[:, 3:6].copy(),
        offsets=arr[:, 6:9].copy(),
        scale_refs=scale_refs,
        delete_verts=deleted,
        z_depth=z_depth,
        tags=tags,
        uuid=header.get("uuid", ""),
        other_files={k: v for k, v in header.items() if k.endswith("_file") and k != "obj_file" and v},
    )


def _parse_ranges(tokens: list[str], name: str, n_max: int = HM08_VERTICES) -> np.ndarray:
    """``1 2 - 5 9`` (ranges may also be written ``2-5``) -> sorted unique indices [1, 2, 3, 4, 5, 9]
    (int64). Every index and range end must be below ``n_max``: a range is marked in a mask of
    ``n_max`` entries, never expanded into a list (a range of sixty million is refused in words)."""
    flat: list[str] = []
    for tok in tokens:
        if "-" in tok and tok != "-":
            a, _, b = tok.partition("-")
            flat += [a, "-", b] if a else ["-", b]
        else:
            flat.append(tok)
    mask = np.zeros(n_max, bool)

    def index(word: str) -> int:
        try:
            v = int(word)
        except ValueError:
            raise MakeHumanFormatError(f"{name}: delete_verts holds {word!r}, which is not a vertex number") from None
        if not 0 <= v < n_max:
            raise MakeHumanFormatError(
                f"{name}: delete_verts names vertex {v}, but the body has {n_max:,} (numbered from 0)"
            )
        return v

    i = 0
    while i < len(flat):
        if i + 2 < len(flat) and flat[i + 1] == "-":
            mask[index(flat[i]) : index(flat[i + 2]) + 1] = True
            i += 3
        else:
            mask[index(flat[i])] = True
            i += 1
    return np.flatnonzero(mask).astype(np.int64)


def _is_number(word: str) -> bool:
    try:
        float(word)
        return True
    except ValueError:
        return False


def read_mhmat(path: str | Path) -> dict[str, str]:
    """A ``.mhmat`` material as raw key -> value strings (colours stay "r g b")."""
    out: dict[str, str] = {}
    for raw in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            key, _, value = line.partition(" ")
            out[key] = value.strip()
    return out


@dataclass
class BvhPose:
    """A BVH file's skeleton and first frame.

    names, parents : joints in file order. offsets : (J, 3) rest offsets from the parent.
    channels : per joint, its channel names. frame : (C,) float64 values of frame 0.
    """

    names: list[str]
    parents: list[int]
    offsets: np.ndarray
    channels: list[list[str]]
    frame: np.ndarray


def read_bvh(path: str | Path) -> BvhPose:
    tokens = Path(path).read_text().split()
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    stack: list[int] = []
    i = 0
    pending_end = False
    while i < len(tokens):
        t = tokens[i]
        if t in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append([])
            i += 2
        elif t == "End":
            pending_end = True
            i += 2
        elif t == "{":
            stack.append(-2 if pending_end else len(names) - 1)
            i += 1
        elif t == "}":
            stack.pop()
            pending_end = False
            i += 1
        elif t == "OFFSET":
            if not pending_end:
                offsets[-1] = [float(x) for x in tokens[i + 1 : i + 4]]
            i += 4
        elif t == "CHANNELS":
            n = int(tokens[i + 1])
            channels[-1] = tokens[i + 2 : i + 2 + n]
            i += 2 + n
        elif t == "MOTION":
            i += 1
            break
        else:
            i += 1
    # Frames: N / Frame Time: dt / values
    while i < len(tokens) and tokens[i] != "Time:":
        i += 1
    n_channels = sum(len(c) for c in channels)
    values = np.asarray([float(x) for x in tokens[i + 2 : i + 2 + n_channels]], dtype=np.float64)
    if len(values) != n_channels:
        raise MakeHumanFormatError(f"{Path(path).name}: expected {n_channels} channel values, got {len(values)}")
    parents = [p if p >= 0 else -1 for p in parents]
    return BvhPose(names, parents, np.asarray(offsets), channels, values)
