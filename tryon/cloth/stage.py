"""The cloth stage: after skinning, loose garments, tops' hems and sleeve ends, and swinging
jewelry are simulated.

For each worn item it finds (once, cached) the cloth of each part: a loose garment's or a
top's tethered particles (:mod:`tryon.cloth.tethers`) or a jewelry item's particle chain
(:mod:`tryon.cloth.chains`); each frame it steps their simulations (:mod:`tryon.cloth.xpbd`)
to the skinned positions in the Draws and writes the simulated positions back. Stills
(no timestamp) and the first frame of a stream are drawn as skinned; a gap in the stream
(tracking lost) restarts the cloth where the body is.

Positions are camera metres (:mod:`tryon.frames`: y down), times milliseconds as the engine
gives them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import numpy as np

from tryon.body.mannequin import Mannequin
from tryon.body.skeleton import BONE_INDEX
from tryon.body.solver import PosedBody
from tryon.catalog.item import Garment
from tryon.cloth.chains import ChainCloth, chain_cloth, rotations_between
from tryon.cloth.colliders import (
    GARMENT_CAPSULES,
    JEWELRY_CAPSULES,
    TOP_CAPSULES,
    Capsules,
    PosedCapsules,
    body_capsules,
)
from tryon.cloth.drape import DRAPE_CLEARANCE_M, LEG_CAPSULES, draped_targets_m, draping_legs
from tryon.cloth.kernel import pieces_moved
from tryon.cloth.tethers import PartCloth, part_cloth, top_part_cloth
from tryon.cloth.xpbd import ClothFrame, ClothModel, ClothParams, ClothSim
from tryon.render.types import Draw

#: Gravity, camera metres per second squared (an upright camera: y down).
GRAVITY_CAM_M_S2 = np.array([0.0, 9.81, 0.0])
#: Gravity in the model's bind frame (y up).
GRAVITY_MODEL_M_S2 = np.array([0.0, -9.81, 0.0])


@dataclass(frozen=True)
class ClothOptions:
    """garments : simulate loose garments (skirts, dresses, long coats); tops : swing the hems,
    fronts and sleeve ends of tops and jackets; jewelry : swing necklaces and earrings.
    params : the simulation's (:class:`ClothParams`). drape : drape loose garments' targets
    over the legs (:mod:`tryon.cloth.drape`: a striding shin stays inside a maxi dress); off
    by default: on the dance clip it lowers the dress's silhouette over its hull from 0.901
    to 0.896 (the skirt covers legs set wide or turned across the camera, and widens)."""

    garments: bool = True
    tops: bool = True
    jewelry: bool = True
    params: ClothParams = field(default_factory=ClothParams)
    drape: bool = False


def _geometry_key(item: Garment, k: int) -> tuple:
    part = item.parts[k]
    return (item.id, k, len(part.positions), float(np.asarray(part.positions[:64], np.float64).sum()))


_PART_CLOTH: dict[tuple, PartCloth | None] = {}
_TOP_CLOTH: dict[tuple, PartCloth | None] = {}
_CHAIN_CLOTH: dict[tuple, ChainCloth | None] = {}


@functools.lru_cache(maxsize=1)
def _default_mannequin() -> Mannequin:
    from tryon.body.mannequin import load_mannequin

    return load_mannequin()


def garment_part_cloth(item: Garment, k: int, mannequin: Mannequin | None = None) -> PartCloth | None:
    """The cloth of a skinned item's part ``k`` (None when it is not loose); cached."""
    if item.is_rigid:
        return None
    key = _geometry_key(item, k)
    if key not in _PART_CLOTH:
        part = item.parts[k]
        m = mannequin or _default_mannequin()
        _PART_CLOTH[key] = part_cloth(part.positions, part.faces, m, normals=part.normals)
    return _PART_CLOTH[key]


def top_cloth(item: Garment, k: int, mannequin: Mannequin | None = None) -> PartCloth | None:
    """The swinging cloth of a top's or jacket's part ``k`` (None for other items, loose
    garments and parts with nothing free); cached."""
    if item.is_rigid or not item.kind.hem_swings or garment_part_cloth(item, k, mannequin) is not None:
        return None
    key = _geometry_key(item, k)
    if key not in _TOP_CLOTH:
        part = item.parts[k]
        _TOP_CLOTH[key] = top_part_cloth(part.positions, part.faces, part.skin, mannequin or _default_mannequin())
    return _TOP_CLOTH[key]


def jewelry_chain(item: Garment, mannequin: Mannequin) -> ChainCloth | None:
    """The particle chain over all of a swinging item's parts (None for other items); cached."""
    if not item.kind.swings:
        return None
    key = tuple(_geometry_key(item, k) for k in range(len(item.parts)))
    if key not in _CHAIN_CLOTH:
        pos = np.concatenate([p.positions for p in item.parts])
        offsets = np.cumsum([0] + [len(p.positions) for p in item.parts])
        faces = np.concatenate([p.faces.astype(np.int64) + o for p, o in zip(item.parts, offsets[:-1])])
        _CHAIN_CLOTH[key] = chain_cloth(pos, faces, mannequin.positions_m, mannequin)
    return _CHAIN_CLOTH[key]


def _centroids(chain: ChainCloth):
    """(K, V) sparse: each piece's centroid from the item's (V, 3) vertices (cached)."""
    cached = _CENTROIDS.get(id(chain))
    if cached is None or cached[0] is not chain:
        import scipy.sparse as sp

        n = np.bincount(chain.labels).astype(np.float64)
        v = np.arange(len(chain.labels))
        m = sp.csr_matrix((1.0 / n[chain.labels], (chain.labels, v)), shape=(len(n), len(v)))
        cached = _CENTROIDS[id(chain)] = (chain, m)
    return cached[1]


_CENTROIDS: dict[int, tuple[ChainCloth, object]] = {}


def _pieces_moved(pos: np.ndarray, labels: np.ndarray, rot: np.ndarray, origin: np.ndarray, dest: np.ndarray):
    """(V, 3) float32: each vertex of ``pos`` (V, 3) moved with its piece ``labels`` (V,):
    dest[k] + rot[k] @ (pos - origin[k]) (compiled, or numpy where numba is missing)."""
    if pieces_moved is not None:
        out = np.empty(pos.shape, np.float32)
        pieces_moved(pos, labels, rot, origin, dest, out)
        return out
    return (dest[labels] + np.einsum("vij,vj->vi", rot[labels], pos - origin[labels])).astype(np.float32)


#: Loose cloth is drawn this much nearer the camera for the depth test: the legs it hangs
#: around are inside it (a knee raised into a skirt's front must not punch through it; the
#: body's capsules push the cloth out, but the capsules are thinner than the thigh).
LOOSE_DEPTH_BIAS_M = 0.04


def split_loose(draw: Draw, loose_faces: np.ndarray) -> list[Draw]:
    """A garment's Draw as two: its tight faces clipped to the person mask as before, its
    loose faces (where it hangs free) drawn where they are, outside the shopper's silhouette
    too, and in front of the legs inside them (LOOSE_DEPTH_BIAS_M); the arms' occluder and
    the hands' keep-out still hide what is in front of them."""
    if not loose_faces.any():
        return [draw]
    tight = replace(draw, faces=draw.faces[~loose_faces])
    loose = replace(
        draw,
        key=draw.key + "/loose",
        faces=draw.faces[loose_faces],
        clip_to_person=False,
        depth_bias_m=max(draw.depth_bias_m, LOOSE_DEPTH_BIAS_M),
    )
    return [d for d in (tight, loose) if len(d.faces)]


@functools.lru_cache(maxsize=1)
def _warm_up() -> None:
    """Compile (or load from numba's cache) the substep loop now, not on a stream's first
    frame: two particles, one step."""
    model = ClothModel.from_rest(np.zeros((2, 3)) + [[0, 0, 0], [0, 0.01, 0]], [[0, 1]], [0.0, 0.01])
    sim = ClothSim(model)
    sim.step(ClothFrame(np.zeros((2, 3)) + [[0, 0, 0], [0, 0.01, 0]]), 0.0)
    sim.step(ClothFrame(np.zeros((2, 3)) + [[0, 0.001, 0], [0, 0.011, 0]]), 1 / 30)
    _pieces_moved(np.zeros((2, 3)), np.zeros(2, np.int64), np.eye(3)[None], np.zeros((1, 3)), np.zeros((1, 3)))


class ClothStage:
    """Secondary motion for the worn items, one simulation per loose part or jewelry item."""

    def __init__(self, mannequin: Mannequin, options: ClothOptions | None = None) -> None:
        self.mannequin = mannequin
        self.options = options or ClothOptions()
        capsules = body_capsules(mannequin)
        self._capsules: dict[str, Capsules] = {
            "garment": capsules.subset(GARMENT_CAPSULES),
            "jewelry": capsules.subset(JEWELRY_CAPSULES),
            "top": capsules.subset(TOP_CAPSULES),
            "legs": capsules.subset(LEG_CAPSULES),
        }
        self._sims: dict[tuple, tuple[ClothSim, int]] = {}  # key -> (sim, last timestamp ms)
        self._chain_shift: dict[tuple, np.ndarray] = {}  # jewelry: each piece's last shift (K, 3)
        _warm_up()
        self._posed: list[tuple[PosedBody, str, PosedCapsules]] = []  # this frame's (held: ids get reused)

    def reset(self) -> None:
        """Forget all motion (a new stream, or the shopper left)."""
        self._sims.clear()
        self._chain_shift.clear()
        self._posed.clear()

    def capsules_for(self, body: PosedBody, which: str) -> PosedCapsules:
        """The ``which`` ("garment", "top", "jewelry" or "legs") capsules posed on ``body`` (once a frame)."""
        for b, w, posed in self._posed:
            if b is body and w == which:
                return posed
        if self._posed and self._posed[0][0] is not body:
            self._posed.clear()  # a new frame
        posed = self._capsules[which].posed(body.palette)
        self._posed.append((body, which, posed))
        return posed

    def _sim(self, key: tuple, model, timestamp_ms: int) -> tuple[ClothSim, float]:
        """The simulation under ``key`` and the seconds since its last step (0: it starts now)."""
        entry = self._sims.get(key)
        if entry is None or entry[0].model is not model:
            sim = ClothSim(model, self.options.params)
            self._sims[key] = (sim, timestamp_ms)
            return sim, 0.0
        sim, last = entry
        self._sims[key] = (sim, timestamp_ms)
        return sim, (timestamp_ms - last) / 1000.0

    def apply(self, item: Garment, draws: list[Draw], body: PosedBody, timestamp_ms: int | None) -> list[Draw]:
        """``item``'s Draws (as :func:`tryon.deform.deform_item` made them, keys ``id/k``) with
        their loose vertices simulated; unchanged for stills and items that do not move."""
        if timestamp_ms is None or not draws:
            return draws
        if item.is_rigid:
            return self._apply_chain(item, draws, body, timestamp_ms) if self.options.jewelry else draws
        if not (self.options.garments or self.options.tops):
            return draws
        out = []
        moved: dict[int, np.ndarray] = {}  # part -> simulated positions (its loose and tight Draws share them)
        for d in draws:
            k = int(d.key.split("/")[1])
            cloth = garment_part_cloth(item, k, self.mannequin) if self.options.garments else None
            colliders = "garment"
            if cloth is None and self.options.tops:
                cloth, colliders = top_cloth(item, k, self.mannequin), "top"
            if cloth is None:
                out.append(d)
                continue
            if k in moved:
                out.append(replace(d, positions_cam_m=moved[k]))
                continue
            sim, dt = self._sim((item.id, k), cloth.model, timestamp_ms)
            idx = cloth.particles
            root = body.rotations[BONE_INDEX["root"]]
            targets = d.positions_cam_m[idx].astype(np.float64)
            normals = self._normals(cloth, d, body)
            gap = None
            if self.options.drape and cloth.hang is not None:  # draped over the legs
                targets, draped = self._draped(cloth, targets, normals, body)
                gap = np.maximum(cloth.model.body_gap_m - draped, 0.0)
            frame = ClothFrame(
                targets_m=targets,
                normals=normals,
                capsules=self.capsules_for(body, colliders),
                extra_accel_m_s2=GRAVITY_CAM_M_S2 - root @ GRAVITY_MODEL_M_S2,
                body_gap_m=gap,
            )
            x = sim.step(frame, dt)
            pos = d.positions_cam_m.copy()
            pos[cloth.vertices] = x[cloth.vertex_particle]
            moved[k] = pos
            out.append(replace(d, positions_cam_m=pos))
        return out

    def _draped(self, cloth: PartCloth, targets: np.ndarray, normals: np.ndarray | None, body: PosedBody):
        """A loose garment's (N, 3) targets pushed out of the legs and spread over its cloth,
        and (N,) how far each moved (:func:`tryon.cloth.drape.draped_targets_m`)."""
        model = cloth.model
        return draped_targets_m(
            targets,
            normals,
            draping_legs(self.capsules_for(body, "legs"), self._capsules["legs"].names),
            np.flatnonzero(model.collides),
            cloth.hang,
            self.options.params.collision_margin_m + DRAPE_CLEARANCE_M,
            cloth.drape_slack_m,
            cloth.drape_reach_m,
            body.rotations[BONE_INDEX["root"]] @ np.array([0.0, 0.0, 1.0]),
        )

    @staticmethod
    def _normals(cloth: PartCloth, draw: Draw, body: PosedBody) -> np.ndarray | None:
        """(N, 3) the particles' half-space normals: their away-from-body directions turned
        by their bones (tops), or the Draw's normals (loose garments)."""
        if cloth.away_bind is not None:
            return np.einsum("nij,nj->ni", body.rotations[cloth.away_bone], cloth.away_bind)
        return draw.normals_cam[cloth.particles] if draw.normals_cam is not None else None

    def _apply_chain(self, item: Garment, draws: list[Draw], body: PosedBody, timestamp_ms: int) -> list[Draw]:
        chain = jewelry_chain(item, self.mannequin)
        if chain is None:
            return draws
        parts = {int(d.key.split("/")[1]): d for d in draws}  # jewelry: one Draw per part
        if len(parts) != len(item.parts):
            return draws  # a part hidden: leave the item rigid this frame
        # The chain's targets: each piece's bind centroid carried by the item's transform,
        # recovered from the drawn positions (the item is rigid: any part's map will do).
        pos = np.concatenate([parts[k].positions_cam_m for k in range(len(item.parts))]).astype(np.float64)
        k_count = len(chain.rest_centroids_m)
        rigid = _centroids(chain) @ pos
        bone = item.parts[0].bone or item.attachment.bone
        R = body.rotations[BONE_INDEX[bone]]
        away = chain.away_bind @ R.T
        key = (item.id, "chain")
        sim, dt = self._sim(key, chain.model, timestamp_ms)
        # A pendant hangs from where its parent was simulated last (zero on a fresh start).
        hung = chain.pendant & (chain.parent >= 0)
        parent_shift = np.zeros((k_count, 3))
        last = self._chain_shift.get(key)
        if last is not None and dt > 0 and len(last) == k_count:
            parent_shift[hung] = last[chain.parent[hung]]
        frame = ClothFrame(
            targets_m=rigid + parent_shift,
            normals=away,
            capsules=self.capsules_for(body, "jewelry"),
            extra_accel_m_s2=GRAVITY_CAM_M_S2 - R @ GRAVITY_MODEL_M_S2,
        )
        x = sim.step(frame, dt)
        shift = x - rigid
        self._chain_shift[key] = shift.copy()
        # Each piece: moved with its particle (rot identity, from its rigid to its simulated
        # centre), a link also turned with its chain, a pendant turned about its pivot.
        rot = np.broadcast_to(np.eye(3), (k_count, 3, 3)).copy()
        origin, dest = rigid, x.copy()
        links = chain.links
        if len(links):
            # Links turn about their centre with the segment between their neighbours.
            prev, nxt = chain.link_prev[links], chain.link_next[links]
            rot[links] = rotations_between(rigid[nxt] - rigid[prev], x[nxt] - x[prev])
        if chain.pendant.any():
            # Pendants turn about their pivot (moved with their parent) to point at their particle.
            origin = rigid.copy()
            pend = np.flatnonzero(chain.pendant)
            pivot_rigid = pos[chain.pivot_vertex[pend]]
            pivot_now = pivot_rigid + np.where(hung[pend, None], shift[np.maximum(chain.parent[pend], 0)], 0.0)
            # the swing: the particle's lag behind where it would hang (not the parent's own
            # one-frame move, which the pivot takes)
            hang = rigid[pend] - pivot_rigid
            rot[pend] = rotations_between(hang, hang + x[pend] - frame.targets_m[pend])
            origin[pend], dest[pend] = pivot_rigid, pivot_now
        moved = _pieces_moved(pos, chain.labels, rot, origin, dest)
        out, start = [], 0
        for k in range(len(item.parts)):
            d = parts[k]
            n = len(d.positions_cam_m)
            out.append(replace(d, positions_cam_m=moved[start : start + n]))
            start += n
        return out
