"""The canonical mannequin: MakeHuman's CC0 base body with the reduced skeleton and weights.

Everything is in model metres (y up, +z front, +x the mannequin's left). The body is
about 1.67 m tall in an A-pose. Built once from the OBJ/JSON sources in
``tryon/data/makehuman`` and cached as an ``.npz`` in the tryon cache folder.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tryon.body import makehuman as mh
from tryon.body.skeleton import BONE_NAMES, NUM_BONES, Skeleton, reduce_bone
from tryon.frames import MAKEHUMAN_UNIT_M
from tryon.geometry import vertex_normals
from tryon.pose.bundle import cache_dir
from tryon.pose.landmarks import NUM_LANDMARKS, L

log = logging.getLogger(__name__)

#: Skin influences kept per vertex.
MAX_INFLUENCES = 4


@dataclass(frozen=True)
class SkinWeights:
    """Per-vertex bone influences. bones : (V, 4) int32 bone indices; weights : (V, 4)
    float32, each row summing to 1 (unused slots have weight 0)."""

    bones: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        if self.bones.shape != self.weights.shape or self.bones.ndim != 2:
            raise ValueError(f"skin bones {self.bones.shape} and weights {self.weights.shape} must match (V, k)")

    def __len__(self) -> int:
        return len(self.bones)

    def take(self, idx: np.ndarray) -> SkinWeights:
        return SkinWeights(self.bones[idx], self.weights[idx])

    @staticmethod
    def from_dense(dense: np.ndarray, k: int = MAX_INFLUENCES) -> SkinWeights:
        """(V, J) weights -> the k largest per vertex, renormalised.

        A stable sort: ties (equal weights) keep bone order on every CPU (numpy's default sort
        orders ties differently with and without AVX-512, which changed stored garments)."""
        order = np.argsort(-dense, axis=1, kind="stable")[:, :k]
        w = np.take_along_axis(dense, order, axis=1)
        w = np.clip(w, 0.0, None)
        s = w.sum(axis=1, keepdims=True)
        w = np.where(s > 0, w / np.where(s > 0, s, 1.0), 0.0)
        return SkinWeights(order.astype(np.int32), w.astype(np.float32))

    def to_dense(self, num_bones: int = NUM_BONES) -> np.ndarray:
        dense = np.zeros((len(self.bones), num_bones), dtype=np.float64)
        np.add.at(dense, (np.arange(len(self.bones))[:, None], self.bones), self.weights)
        return dense


@dataclass(frozen=True)
class LandmarkAnchors:
    """Where each of the 33 BlazePose landmarks sits on the mannequin.

    bones : (33,) int64 the bone each landmark rides on. bind_m : (33, 3) its bind
    position, model metres. Posed position = the bone's skinning transform applied to it.
    """

    bones: np.ndarray
    bind_m: np.ndarray


def bone_region(name: str) -> int:
    """Body region of a bone: 0 torso, 1 head and neck, 2/3 left/right arm, 4/5 hands,
    6/7 left/right leg, 8/9 feet (regions of one colour, roughly: shirt, skin, trousers...)."""
    base, _, side = name.partition(".")
    right = side == "R"
    if base.startswith(("neck", "head")):
        return 1
    if base.startswith(("upperarm", "lowerarm")):
        return 3 if right else 2
    if base == "wrist":
        return 5 if right else 4
    if base.startswith(("upperleg", "lowerleg")):
        return 7 if right else 6
    if base == "foot":
        return 9 if right else 8
    return 0


@dataclass(frozen=True)
class OccluderMesh:
    """positions_m : (P, 3) float32. normals : (P, 3) float32. faces : (F, 3) int32. skin : (P).
    regions : (P,) int body region of each vertex (see :func:`bone_region`)."""

    positions_m: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    skin: SkinWeights
    regions: np.ndarray

    @functools.cached_property
    def region_bones(self) -> dict[int, np.ndarray]:
        """Region -> the bones (sorted, unique) its vertices' main influence is on."""
        return {int(r): np.unique(self.skin.bones[self.regions == r, 0]) for r in np.unique(self.regions)}

    @functools.cached_property
    def face_regions(self) -> np.ndarray:
        """(F,) each face's region: a face between regions goes with the limb (the larger number)."""
        return self.regions[self.faces].max(axis=1)

    def faces_without(self, regions: tuple[int, ...]) -> np.ndarray:
        """(F', 3) the faces outside ``regions`` (kept per set of regions: a frame's set is
        usually the last one's)."""
        cache = self.__dict__.setdefault("_faces_without", {})
        faces = cache.get(regions)
        if faces is None:
            faces = cache[regions] = self.faces[~np.isin(self.face_regions, regions)]
        return faces


@dataclass(frozen=True)
class Mannequin:
    """The canonical body.

    positions_m : (V, 3) float32 body vertices (the ``body`` group of hm08, V = 13380).
    normals : (V, 3) float32. faces : (F, 3) int32 triangles. skin : SkinWeights (V).
    full_positions_dm : (19158, 3) float64, every hm08 vertex in decimetres (clothes
        ``.mhclo`` files refer to these indices). full_skin : SkinWeights for all of them.
    body_vertex_ids : (V,) int64 hm08 index of each body vertex.
    occluder : the low-poly proxy body drawn depth-only to hide what the body covers
        (positions (P, 3) model metres, normals, faces, skin).
    """

    positions_m: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    skin: SkinWeights
    skeleton: Skeleton
    landmarks: LandmarkAnchors
    full_positions_dm: np.ndarray
    full_skin: SkinWeights
    body_vertex_ids: np.ndarray
    occluder: OccluderMesh

    @property
    def height_m(self) -> float:
        return float(self.positions_m[:, 1].max() - self.positions_m[:, 1].min())


def _source_files() -> list[Path]:
    return [
        mh.DATA_DIR / n for n in ("base.obj", "default.mhskel", "default_weights.mhw", "proxy741.obj", "proxy741.proxy")
    ]


def _cache_key() -> str:
    h = hashlib.sha256(b"mannequin-v6")
    for p in _source_files():
        h.update(p.read_bytes())
    h.update(repr(BONE_NAMES).encode())
    return h.hexdigest()[:16]


def _reduced_weights(skel: mh.MhSkeleton, weights: dict, n_vertices: int) -> SkinWeights:
    parent_of = dict(zip(skel.names, skel.parents))
    dense = np.zeros((n_vertices, NUM_BONES), dtype=np.float64)
    for bone, (verts, w) in weights.items():
        target = BONE_NAMES.index(reduce_bone(bone, parent_of))
        np.add.at(dense[:, target], verts, w)
    return SkinWeights.from_dense(dense)


def _landmark_anchors(joints: dict[str, np.ndarray], body_m: np.ndarray, skeleton: Skeleton) -> LandmarkAnchors:
    """Default anchors from the MakeHuman joints and the body surface."""
    bones = np.zeros(NUM_LANDMARKS, dtype=np.int64)
    pos = np.zeros((NUM_LANDMARKS, 3))

    def joint(name: str) -> np.ndarray:
        return joints[name] * MAKEHUMAN_UNIT_M

    head = skeleton.index("head")
    # Face: nose tip is the front-most body vertex on the midline of the head.
    head_region = body_m[:, 1] > joint("neck03____head")[1]
    mid = head_region & (np.abs(body_m[:, 0]) < 0.005)
    nose = body_m[mid][np.argmax(body_m[mid][:, 2])]
    pos[L.NOSE] = nose
    for side, sign, eye, inner, outer, ear, mouth in (
        ("L", 1, L.LEFT_EYE, L.LEFT_EYE_INNER, L.LEFT_EYE_OUTER, L.LEFT_EAR, L.MOUTH_LEFT),
        ("R", -1, L.RIGHT_EYE, L.RIGHT_EYE_INNER, L.RIGHT_EYE_OUTER, L.RIGHT_EAR, L.MOUTH_RIGHT),
    ):
        centre = joint(f"eye.{side}____head")
        pos[eye] = centre + [0.0, 0.0, 0.012]
        pos[inner] = centre + [-sign * 0.014, 0.0, 0.009]
        pos[outer] = centre + [sign * 0.016, 0.0, 0.006]
        # Ear: the outermost head vertex around eye height.
        band = head_region & (np.abs(body_m[:, 1] - centre[1]) < 0.015) & (sign * body_m[:, 0] > 0)
        pos[ear] = body_m[band][np.argmax(sign * body_m[band][:, 0])]
        # Mouth corner: the body vertex nearest a point beside and below the nose tip.
        target = nose + [sign * 0.024, -0.040, -0.015]
        cand = np.flatnonzero(head_region)
        pos[mouth] = body_m[cand[np.argmin(np.linalg.norm(body_m[cand] - target, axis=1))]]
    for i in range(11):
        bones[i] = head

    for side, sh, el, wr, pk, ix, th, hp, kn, an, he, fi in (
        (
            "L",
            L.LEFT_SHOULDER,
            L.LEFT_ELBOW,
            L.LEFT_WRIST,
            L.LEFT_PINKY,
            L.LEFT_INDEX,
            L.LEFT_THUMB,
            L.LEFT_HIP,
            L.LEFT_KNEE,
            L.LEFT_ANKLE,
            L.LEFT_HEEL,
            L.LEFT_FOOT_INDEX,
        ),
        (
            "R",
            L.RIGHT_SHOULDER,
            L.RIGHT_ELBOW,
            L.RIGHT_WRIST,
            L.RIGHT_PINKY,
            L.RIGHT_INDEX,
            L.RIGHT_THUMB,
            L.RIGHT_HIP,
            L.RIGHT_KNEE,
            L.RIGHT_ANKLE,
            L.RIGHT_HEEL,
            L.RIGHT_FOOT_INDEX,
        ),
    ):
        # Limb landmarks ride the bone whose end they mark (the elbow ends the humerus...).
        pos[sh], bones[sh] = joint(f"upperarm01.{side}____head"), skeleton.index(f"shoulder01.{side}")
        pos[el], bones[el] = joint(f"lowerarm01.{side}____head"), skeleton.index(f"upperarm02.{side}")
        pos[wr], bones[wr] = joint(f"wrist.{side}____head"), skeleton.index(f"lowerarm02.{side}")
        hand = skeleton.index(f"wrist.{side}")
        pos[pk], bones[pk] = joint(f"finger5-1.{side}____head"), hand
        pos[ix], bones[ix] = joint(f"finger2-1.{side}____head"), hand
        pos[th], bones[th] = joint(f"finger1-2.{side}____head"), hand
        pos[hp], bones[hp] = joint(f"upperleg01.{side}____head"), skeleton.index(f"pelvis.{side}")
        pos[kn], bones[kn] = joint(f"lowerleg01.{side}____head"), skeleton.index(f"upperleg02.{side}")
        pos[an], bones[an] = joint(f"foot.{side}____head"), skeleton.index(f"lowerleg02.{side}")
        foot = skeleton.index(f"foot.{side}")
        ankle = pos[an]
        sole = (np.abs(body_m[:, 0] - ankle[0]) < 0.05) & (body_m[:, 1] < ankle[1] + 0.02)
        heel_zone = sole & (body_m[:, 2] < ankle[2])
        pos[he] = body_m[heel_zone][np.argmin(body_m[heel_zone][:, 2])]
        pos[he][1] = body_m[sole][:, 1].min() + 0.02
        toe = joint(f"toe2-3.{side}____tail")
        pos[fi], bones[fi] = toe, foot
        bones[he] = foot
    return LandmarkAnchors(bones=bones, bind_m=pos.astype(np.float64))


def _proxy_occluder(full_dm: np.ndarray, full_skin: SkinWeights) -> tuple[np.ndarray, np.ndarray, SkinWeights]:
    """proxy741 fitted to the base body (like clothes), its weights mixed from the body's."""
    fitting = mh.read_mhclo(mh.DATA_DIR / "proxy741.proxy")
    obj = mh.read_obj(mh.DATA_DIR / "proxy741.obj")
    positions = fitting.fit(full_dm) * MAKEHUMAN_UNIT_M
    dense = full_skin.to_dense()
    skin = SkinWeights.from_dense(np.einsum("nk,nkj->nj", fitting.ref_weights, dense[fitting.ref_verts]))
    faces = obj.tri_v
    normals = vertex_normals(positions, faces)
    if np.mean(np.einsum("ij,ij->i", normals, positions - positions.mean(axis=0))) < 0:
        faces = faces[:, ::-1]
    return positions.astype(np.float32), faces.astype(np.int32), skin


def _build() -> dict[str, np.ndarray]:
    obj = mh.read_obj(mh.DATA_DIR / "base.obj")
    skel = mh.read_mhskel()
    weights = mh.read_mhw()
    full_dm = obj.positions
    joints = skel.joint_positions(full_dm)

    body_group = obj.groups.index("body")
    tris = obj.tri_v[obj.tri_group == body_group]
    body_ids = np.unique(tris)
    remap = -np.ones(len(full_dm), dtype=np.int64)
    remap[body_ids] = np.arange(len(body_ids))
    faces = remap[tris].astype(np.int32)
    body_m = full_dm[body_ids] * MAKEHUMAN_UNIT_M

    heads = np.array([joints[skel.heads[skel.names.index(n)]] for n in BONE_NAMES]) * MAKEHUMAN_UNIT_M
    tails = np.array([joints[skel.tails[skel.names.index(n)]] for n in BONE_NAMES]) * MAKEHUMAN_UNIT_M
    skeleton = Skeleton(heads=heads, tails=tails)
    full_skin = _reduced_weights(skel, weights, len(full_dm))
    anchors = _landmark_anchors(joints, body_m, skeleton)
    occ_pos, occ_faces, occ_skin = _proxy_occluder(full_dm, full_skin)
    return {
        "occluder_positions_m": occ_pos,
        "occluder_faces": occ_faces,
        "occluder_bones": occ_skin.bones,
        "occluder_weights": occ_skin.weights,
        "positions_m": body_m.astype(np.float32),
        "normals": vertex_normals(body_m, faces),
        "faces": faces,
        "heads": heads,
        "tails": tails,
        "landmark_bones": anchors.bones,
        "landmark_bind_m": anchors.bind_m,
        "full_positions_dm": full_dm,
        "full_bones": full_skin.bones,
        "full_weights": full_skin.weights,
        "body_vertex_ids": body_ids,
    }


def cached_arrays(stem: str, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``build()``'s arrays, kept on disk as ``{stem}-{key}.npz`` (key: a hash of the
    mannequin's source files, so a new MakeHuman asset or version builds afresh) in the user
    cache, else the temp folder: built once per machine, then loaded. An unreadable file is
    ignored (with a warning) and built again."""
    name = f"{stem}-{_cache_key()}.npz"
    folders = (cache_dir(), Path(tempfile.gettempdir()) / "tryon-cache")
    for folder in folders:
        path = folder / name
        if path.is_file():
            try:
                with np.load(path) as data:
                    return {k: data[k] for k in data.files}
            except (OSError, ValueError) as exc:
                log.warning("ignoring unreadable cache %s (%s)", path, exc)
    arrays = build()
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npz")
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, folder / name)
            break
        except OSError as exc:
            log.warning("cannot cache %s in %s (%s)", stem, folder, exc)
    return arrays


def _load_arrays() -> dict[str, np.ndarray]:
    return cached_arrays("mannequin", _build)


CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "data" / "landmark_calibration.json"


def _calibrated(bind_m: np.ndarray) -> np.ndarray:
    """Default anchors moved by the fitted offsets of ``landmark_calibration.json``, if any
    (see ``tools/calibrate_landmarks.py``)."""
    if not CALIBRATION_FILE.is_file():
        return bind_m
    import json

    from tryon.pose.landmarks import NAMES

    offsets = json.loads(CALIBRATION_FILE.read_text()).get("offsets_m", {})
    out = bind_m.copy()
    for i, name in enumerate(NAMES):
        if name in offsets:
            out[i] = out[i] + np.asarray(offsets[name], dtype=np.float64)
    return out


@functools.lru_cache(maxsize=2)
def load_mannequin(calibrated: bool = True) -> Mannequin:
    """The canonical mannequin (built on first use, then cached on disk and in memory).

    calibrated : move the landmark anchors to where BlazePose puts its landmarks on this
    body (False: the anatomical defaults, which the calibration tool starts from)."""
    a = _load_arrays()
    full_skin = SkinWeights(a["full_bones"].astype(np.int32), a["full_weights"].astype(np.float32))
    body_ids = a["body_vertex_ids"].astype(np.int64)
    occ_pos = a["occluder_positions_m"]
    occ_faces = a["occluder_faces"].astype(np.int32)
    occ_skin = SkinWeights(a["occluder_bones"].astype(np.int32), a["occluder_weights"].astype(np.float32))
    region_of_bone = np.array([bone_region(n) for n in BONE_NAMES])
    occluder = OccluderMesh(
        positions_m=occ_pos,
        normals=vertex_normals(occ_pos, occ_faces),
        faces=occ_faces,
        skin=occ_skin,
        regions=region_of_bone[occ_skin.bones[:, 0]],
    )
    return Mannequin(
        occluder=occluder,
        positions_m=a["positions_m"],
        normals=a["normals"],
        faces=a["faces"].astype(np.int32),
        skin=full_skin.take(body_ids),
        skeleton=Skeleton(heads=a["heads"], tails=a["tails"]),
        landmarks=LandmarkAnchors(
            bones=a["landmark_bones"].astype(np.int64),
            bind_m=_calibrated(a["landmark_bind_m"]) if calibrated else a["landmark_bind_m"],
        ),
        full_positions_dm=a["full_positions_dm"],
        full_skin=full_skin,
        body_vertex_ids=body_ids,
    )


@dataclass(frozen=True)
class FingerFrame:
    """A ring finger's first phalanx on the bind-pose mannequin (model metres): where a ring
    sits, and the frame a hand tracker's ring finger is matched to.

    centre : (3,) the middle of the phalanx. axis : (3,) unit, knuckle toward the tip.
    dorsal : (3,) unit, perpendicular to ``axis``, toward the back of the hand.
    palm_sign : +1 or -1 such that ``palm_sign * cross(index_knuckle - wrist,
        little_knuckle - wrist)`` points to the back of this hand (also in camera space: the
        hand's own points give its dorsal direction).
    """

    centre: np.ndarray
    axis: np.ndarray
    dorsal: np.ndarray
    palm_sign: float


@functools.lru_cache(maxsize=2)
def ring_finger(side: str = "L") -> FingerFrame:
    """The ring finger of the mannequin's ``side`` ("L" or "R") hand (see FingerFrame)."""
    if side not in ("L", "R"):
        raise ValueError(f"side must be 'L' or 'R', got {side!r}")
    m = load_mannequin(calibrated=False)
    J = {k: v * MAKEHUMAN_UNIT_M for k, v in mh.read_mhskel().joint_positions(m.full_positions_dm).items()}
    head, tail = J[f"finger4-1.{side}____head"], J[f"finger4-1.{side}____tail"]
    axis = (tail - head) / np.linalg.norm(tail - head)
    wrist = J[f"metacarpal1.{side}____head"]
    palm = np.cross(J[f"finger2-1.{side}____head"] - wrist, J[f"finger5-1.{side}____head"] - wrist)
    outward = 1.0 if side == "L" else -1.0  # the back of a relaxed hand faces away from the body
    sign = 1.0 if palm[0] * outward > 0 else -1.0
    dorsal = sign * palm
    dorsal = dorsal - axis * np.dot(dorsal, axis)
    return FingerFrame(centre=0.5 * (head + tail), axis=axis, dorsal=dorsal / np.linalg.norm(dorsal), palm_sign=sign)
