"""A maxi dress derived from the MakeHuman base mesh (CC0), written as an ordinary OBJ.

No third-party dress with a clean licence was at hand, so one is made from MakeHuman's own
CC0 geometry: the hm08 base mesh's **skirt helper** (a long, flared skirt shape the MakeHuman
team modelled for clothes makers: waist to mid-calf, 684 quads), hanging straight from the
hips down (eased out to its convex hull, where the helper follows the legs in toward the
knees), and a strapless **bodice** cut from the body's own torso (waist to under the arms),
set 8 mm off the skin.
It is written in MakeHuman's units (decimetres, y up), like a file from a modelling tool, and
enters the catalog through the same upload pipeline as a retailer's OBJ (units guessed, fitted
to the mannequin, rigged; recognised as loose by its mesh).

Licence: CC0 1.0 (derived from the CC0 hm08 base mesh; see tryon/data/makehuman/SOURCES.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tryon.body.skeleton import BONE_INDEX

BASE_OBJ = Path(__file__).resolve().parent.parent / "data" / "makehuman" / "base.obj"
FILE_NAME = "hm08-maxi-dress.obj"
#: The bodice: body quads between these heights (model metres), off the skin by BODICE_OFFSET_M.
BODICE_LOW_M = 0.10
BODICE_HIGH_M = 0.43
BODICE_OFFSET_M = 0.008
#: The skirt below this height (model metres, 6.5 cm above the crotch) hangs straight: eased
#: out to its convex hull (see hang_straight). Above it the dress keeps its fit (easing the
#: bodice widens it, and the importer's fit then shrinks the whole dress).
HANG_STRAIGHT_BELOW_M = 0.02
#: Body parts the bodice never takes (the arms hang beside it in the A-pose).
ARM_BONES = tuple(f"{b}.{s}" for s in "LR" for b in ("upperarm01", "upperarm02", "lowerarm01", "lowerarm02", "wrist"))


def _groups_quads(path: Path) -> dict[str, np.ndarray]:
    """The OBJ's faces (quads, 0-based vertex ids) per group."""
    out: dict[str, list[list[int]]] = {}
    group = "default"
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("g "):
                group = line.split()[1]
            elif line.startswith("f "):
                out.setdefault(group, []).append([int(t.split("/")[0]) - 1 for t in line.split()[1:]])
    return {g: np.array([f for f in faces if len(f) == 4], np.int64) for g, faces in out.items()}


def dress_mesh() -> tuple[np.ndarray, np.ndarray]:
    """(V, 3) decimetres (MakeHuman's units, y up) and (F, 4) quads of the dress."""
    from tryon.body.mannequin import load_mannequin, vertex_normals
    from tryon.frames import MAKEHUMAN_UNIT_M

    m = load_mannequin()
    full_m = m.full_positions_dm * MAKEHUMAN_UNIT_M
    quads = _groups_quads(BASE_OBJ)
    skirt = quads["helper-skirt"]
    body = quads["body"]
    dominant = m.full_skin.bones[np.arange(len(m.full_skin)), np.argmax(m.full_skin.weights, axis=1)]
    trunk = ~np.isin(dominant, [BONE_INDEX[b] for b in ARM_BONES])
    y = full_m[:, 1]
    in_bodice = trunk & (y > BODICE_LOW_M) & (y < BODICE_HIGH_M)
    bodice = body[in_bodice[body].all(axis=1)]
    # The bodice off the skin along the body's normals.
    tri = np.concatenate([body[:, [0, 1, 2]], body[:, [0, 2, 3]]])
    normals = vertex_normals(full_m.astype(np.float32), tri.astype(np.int32)).astype(np.float64)
    used_b = np.unique(bodice)
    used_s = np.unique(skirt)
    pos_b = full_m[used_b] + BODICE_OFFSET_M * normals[used_b]
    pos_s = full_m[used_s]
    pos_s = hang_straight(pos_s, HANG_STRAIGHT_BELOW_M)
    remap_b = np.full(len(full_m), -1, np.int64)
    remap_b[used_b] = np.arange(len(used_b))
    remap_s = np.full(len(full_m), -1, np.int64)
    remap_s[used_s] = len(used_b) + np.arange(len(used_s))
    positions_m = np.concatenate([pos_b, pos_s])
    faces = np.concatenate([remap_b[bodice], remap_s[skirt]])
    return positions_m / MAKEHUMAN_UNIT_M, faces


def hang_straight(positions_m: np.ndarray, below_m: float) -> np.ndarray:
    """(V, 3) ``positions_m`` with the part below ``below_m`` eased out to its convex hull:
    each vertex inside the hull moves horizontally away from the body's axis (x = 0, at the
    cloth's mean depth) until it meets it. The skirt helper follows the legs in toward the
    knees; cloth hanging from the hips falls straight past that hollow instead (an A-line)."""
    from scipy.spatial import ConvexHull

    p = np.asarray(positions_m, dtype=np.float64).copy()
    idx = np.flatnonzero(p[:, 1] <= below_m)
    hull = ConvexHull(p[idx])
    normal, offset = hull.equations[:, :3], hull.equations[:, 3]  # n . x + offset <= 0 inside
    centre = np.zeros((len(idx), 3))
    centre[:, 1] = p[idx, 1]
    centre[:, 2] = p[idx, 2].mean()
    ray = p[idx] - centre
    along = ray @ normal.T  # (n, facets)
    room = -(centre @ normal.T + offset[None])  # > 0: the axis point is inside
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(along > 1e-12, room / along, np.inf)  # where the ray leaves each facet's plane
    p[idx] = centre + np.clip(t.min(axis=1), 1.0, None)[:, None] * ray
    return p


def write_dress(folder: str | Path) -> Path:
    """Write the dress OBJ (decimetres) into ``folder``; returns its path. Deterministic."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pos, quads = dress_mesh()
    lines = [
        "# Maxi dress derived from the MakeHuman hm08 base mesh (CC0 1.0): its skirt helper and a",
        "# bodice cut from the body's torso. Units: MakeHuman decimetres, y up. Made by tryon.",
        "o maxi_dress",
    ]
    lines += [f"v {x:.5f} {y:.5f} {z:.5f}" for x, y, z in pos]
    lines += ["f " + " ".join(str(i + 1) for i in q) for q in quads]
    path = folder / FILE_NAME
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
