"""Readers for MakeHuman's file formats: OBJ meshes, ``.mhskel`` skeletons, ``.mhw`` skin
weights, ``.mhclo`` clothes fitting, ``.mhmat`` materials and single-frame ``.bvh`` poses.

Everything here returns MakeHuman's own units (decimetres) and axes (y up, +z front);
callers convert with :data:`tryon.frames.MAKEHUMAN_UNIT_M`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "makehuman"


class MakeHumanFormatError(ValueError):
    """A MakeHuman file could not be understood."""


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


def read_obj(path: str | Path, max_bytes: int | None = None) -> ObjMesh:
    """Parse an OBJ file (``v``, ``vt``, ``f``, ``g``/``o``, ``usemtl``, ``mtllib``).

    Polygons are fan-triangulated. Negative (relative) indices are resolved. Raises
    :class:`MakeHumanFormatError` naming the line on malformed input.
    """
    path = Path(path)
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise MakeHumanFormatError(f"{path.name}: {path.stat().st_size} bytes exceeds the limit of {max_bytes}")
    positions: list[list[float]] = []
    uvs: list[list[float]] = []
    tri_v: list[tuple[int, int, int]] = []
    tri_vt: list[tuple[int, int, int]] = []
    tri_group: list[int] = []
    tri_mat: list[int] = []
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
                    positions.append([float(xyz[0]), float(xyz[1]), float(xyz[2])])
                elif tag == "vt":
                    uv = rest.split()[:2]
                    uvs.append([float(uv[0]), float(uv[1]) if len(uv) > 1 else 0.0])
                elif tag == "f":
                    corners = rest.split()
                    if len(corners) < 3:
                        raise MakeHumanFormatError(f"{path.name}:{lineno}: a face needs at least 3 corners")
                    vs, vts = [], []
                    for c in corners:
                        parts = c.split("/")
                        vi = int(parts[0])
                        vs.append(vi - 1 if vi > 0 else len(positions) + vi)
                        if len(parts) > 1 and parts[1]:
                            ti = int(parts[1])
                            vts.append(ti - 1 if ti > 0 else len(uvs) + ti)
                        else:
                            vts.append(-1)
                    for k in range(1, len(vs) - 1):
                        tri_v.append((vs[0], vs[k], vs[k + 1]))
                        tri_vt.append((vts[0], vts[k], vts[k + 1]))
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
            except (ValueError, IndexError) as exc:
                raise MakeHumanFormatError(f"{path.name}:{lineno}: cannot read {tag!r} line ({exc})") from exc
    mesh = ObjMesh(
        positions=np.asarray(positions, dtype=np.float64).reshape(-1, 3),
        uvs=np.asarray(uvs, dtype=np.float64).reshape(-1, 2),
        tri_v=np.asarray(tri_v, dtype=np.int64).reshape(-1, 3),
        tri_vt=np.asarray(tri_vt, dtype=np.int64).reshape(-1, 3),
        tri_group=np.asarray(tri_group, dtype=np.int64),
        groups=groups,
        tri_material=np.asarray(tri_mat, dtype=np.int64),
        materials=materials,
        mtllibs=mtllibs,
    )
    n = len(mesh.positions)
    if len(mesh.tri_v) and (mesh.tri_v.min() < 0 or mesh.tri_v.max() >= n):
        raise MakeHumanFormatError(f"{path.name}: a face refers to a vertex that does not exist ({n} vertices)")
    if len(mesh.tri_vt) and mesh.tri_vt.max() >= len(mesh.uvs):
        raise MakeHumanFormatError(f"{path.name}: a face refers to a texture coordinate that does not exist")
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
        scale = np.ones(3)
        for axis, k in (("x", 0), ("y", 1), ("z", 2)):
            if axis in self.scale_refs:
                a, b, ref = self.scale_refs[axis]
                scale[k] = abs(body_positions[a, k] - body_positions[b, k]) / ref
        mixed = np.einsum("nk,nkd->nd", self.ref_weights, body_positions[self.ref_verts])
        return mixed + self.offsets * scale


def read_mhclo(path: str | Path) -> MhClothes:
    path = Path(path)
    header: dict[str, str] = {}
    tags: list[str] = []
    scale_refs: dict[str, tuple[int, int, float]] = {}
    refs: list[list[float]] = []
    delete_tokens: list[str] = []
    section = None
    for lineno, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        try:
            if words[0] == "verts":
                section = "verts"
            elif words[0] == "delete_verts":
                section = "delete"
            elif section == "verts" and _is_number(words[0]):
                if len(words) == 1:  # an exact copy of one body vertex
                    refs.append([int(words[0]), 0, 0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
                else:
                    refs.append([float(w) for w in words[:9]])
            elif section == "delete" and (_is_number(words[0]) or words[0] == "-"):
                delete_tokens.extend(words)
            elif words[0] in ("x_scale", "y_scale", "z_scale"):
                scale_refs[words[0][0]] = (int(words[1]), int(words[2]), float(words[3]))
            elif words[0] == "tag":
                tags.append(" ".join(words[1:]))
            else:  # a header key (some files put "material" between "verts 0" and the data)
                header[words[0]] = " ".join(words[1:])

        except (ValueError, IndexError) as exc:
            raise MakeHumanFormatError(f"{path.name}:{lineno}: cannot read line ({exc})") from exc
    if not refs:
        raise MakeHumanFormatError(f"{path.name}: no 'verts' section with vertex references")
    deleted = _parse_ranges(delete_tokens, path.name)
    arr = np.asarray(refs, dtype=np.float64)
    if arr.shape[1] != 9:
        raise MakeHumanFormatError(f"{path.name}: vertex references must have 9 numbers each")
    if "obj_file" not in header:
        raise MakeHumanFormatError(f"{path.name}: no 'obj_file' line naming the mesh")
    return MhClothes(
        name=header.get("name", path.stem),
        obj_file=header["obj_file"],
        material=header.get("material"),
        ref_verts=arr[:, :3].astype(np.int64),
        ref_weights=arr[:, 3:6],
        offsets=arr[:, 6:9],
        scale_refs=scale_refs,
        delete_verts=np.asarray(sorted(set(deleted)), dtype=np.int64),
        z_depth=int(header.get("z_depth", 50)),
        tags=tags,
        uuid=header.get("uuid", ""),
        other_files={k: v for k, v in header.items() if k.endswith("_file") and k != "obj_file" and v},
    )


def _parse_ranges(tokens: list[str], name: str) -> list[int]:
    """``1 2 - 5 9`` (ranges may also be written ``2-5``) -> [1, 2, 3, 4, 5, 9]."""
    flat: list[str] = []
    for tok in tokens:
        if "-" in tok and tok != "-":
            a, _, b = tok.partition("-")
            flat += [a, "-", b] if a else ["-", b]
        else:
            flat.append(tok)
    out: list[int] = []
    i = 0
    try:
        while i < len(flat):
            if i + 2 < len(flat) and flat[i + 1] == "-":
                out.extend(range(int(flat[i]), int(flat[i + 2]) + 1))
                i += 3
            else:
                out.append(int(flat[i]))
                i += 1
    except ValueError as exc:
        raise MakeHumanFormatError(f"{name}: bad delete_verts range ({exc})") from exc
    return out


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
