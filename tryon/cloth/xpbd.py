"""Position-based cloth (XPBD, "small steps"): particles that follow a target (their skinned
positions) with lag, swing and settle.

Each particle is pulled toward its target by a damped spring (frequency and damping ratio in
:class:`ClothParams`: how fast a hem catches up and how much it overshoots), kept at its
neighbours' rest distances by XPBD distance constraints (one Jacobi pass per substep,
compliance per edge), tethered: never further from its target than its radius (Unity Cloth's
``maxDistance``; 0 pins it), and then pushed out of its own half-space of the body and the
body's capsules (collisions win over the tethers). Air drag slows it in the room's frame.
The substep loop runs compiled (:mod:`tryon.cloth.kernel`, numba) or, without numba, as
the numpy reference here; the two take the same steps.

Frame-rate independence: a frame's time is cut into equal substeps no longer than
``max_substep_s`` and the targets (and capsules) are interpolated linearly across them, so
15, 30 and 60 fps, or 30 fps with a dropped frame, integrate the same motion with the same
step. A frame after a gap longer than ``max_gap_s`` (tracking lost, a stall) restarts the
cloth at its targets instead of integrating the jump.

Units: metres and seconds; positions in whatever frame the targets come in (camera metres in
the engine), all of a frame's inputs in the same one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from tryon.cloth.colliders import PosedCapsules, push_out_of_capsules
from tryon.cloth.kernel import substeps as substeps_kernel

#: A frame up to this share of a substep longer than a whole number of substeps takes that number.
SUBSTEP_SLACK = 0.15


@dataclass(frozen=True)
class ClothParams:
    """How the cloth moves.

    max_substep_s : the longest substep (a frame is cut into equal substeps no longer).
    frequency_hz, damping_ratio : the pull toward the target, as a damped oscillator's
        natural frequency and damping ratio (0.7: settles in about 4 / (0.7 * 2 pi f) s,
        overshoots about 5%).
    edge_compliance_m_per_n : XPBD compliance of the distance constraints (inverse
        stiffness; 0 is rigid).
    collision_margin_m : how far outside the capsules particles are kept.
    max_gap_s : a frame later than this after the previous one restarts the cloth.
    max_speed_m_s : particle speed relative to the target is clamped to this (a bad frame
        cannot fling the cloth).
    air_drag_per_s : drag on the particles' velocity through still air (the camera's frame
        is the room's): a moving skirt trails by about drag x speed / (2 pi f)^2.
    """

    max_substep_s: float = 1.0 / 60.0
    frequency_hz: float = 2.0
    damping_ratio: float = 0.7
    edge_compliance_m_per_n: float = 1e-7
    collision_margin_m: float = 0.004
    max_gap_s: float = 0.25
    max_speed_m_s: float = 6.0
    air_drag_per_s: float = 3.0

    def __post_init__(self) -> None:
        if not 0.0 < self.max_substep_s <= 0.05:
            raise ValueError(f"max_substep_s must be in (0, 0.05], got {self.max_substep_s}")
        if self.frequency_hz <= 0 or self.damping_ratio < 0:
            raise ValueError("frequency_hz must be > 0 and damping_ratio >= 0")


@dataclass(frozen=True)
class ClothModel:
    """A cloth's fixed data, in particle indices.

    edges : (E, 2) int64 particle pairs kept at their rest distance. rest_length_m : (E,).
    tether_radius_m : (N,) how far each particle may leave its target (0: pinned).
    body_gap_m : (N,) how far each particle may go toward the body along its normal, from its
        target (its bind gap to the body surface); inf: no half-space.
    collides : (N,) bool, particles pushed out of the capsules (pinned ones too: they stay
        on their targets unless a capsule pushes them off).
    capsule_slack_m : (N,) how deep each particle may be in the capsules grown by the margin:
        as deep as it is at bind (:func:`tryon.cloth.colliders.capsule_slack_m`); None: 0.
    constraint_passes, final_passes : Jacobi passes over the distance constraints a substep,
        before the tethers and after the collisions (cloth: 1 and 0, its stretch is soft; a
        chain: several of each, a chain does not stretch).
    """

    edges: np.ndarray
    rest_length_m: np.ndarray
    tether_radius_m: np.ndarray
    body_gap_m: np.ndarray
    collides: np.ndarray
    capsule_slack_m: np.ndarray | None = None
    constraint_passes: int = 1
    final_passes: int = 0

    def __post_init__(self) -> None:
        n = len(self.tether_radius_m)
        if self.edges.ndim != 2 or self.edges.shape[1] != 2 or len(self.rest_length_m) != len(self.edges):
            raise ValueError(
                f"edges {self.edges.shape} and rest lengths {self.rest_length_m.shape} must be (E, 2) and (E,)"
            )
        if self.capsule_slack_m is not None and len(self.capsule_slack_m) != n:
            raise ValueError("capsule slack must have one entry per particle")
        if len(self.body_gap_m) != n or len(self.collides) != n:
            raise ValueError("tether radius, body gap and collides must have one entry per particle")
        if len(self.edges) and (self.edges.min() < 0 or self.edges.max() >= n):
            raise ValueError(f"edges refer to particles outside 0..{n - 1}")

    @property
    def num_particles(self) -> int:
        return len(self.tether_radius_m)

    @classmethod
    def from_rest(
        cls,
        rest_m: np.ndarray,
        edges: np.ndarray,
        tether_radius_m: np.ndarray,
        body_gap_m: np.ndarray | None = None,
        collides: np.ndarray | None = None,
    ) -> ClothModel:
        """A model whose edges keep the lengths they have in ``rest_m`` (N, 3)."""
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        rest = np.linalg.norm(rest_m[edges[:, 0]] - rest_m[edges[:, 1]], axis=1)
        n = len(rest_m)
        r = np.asarray(tether_radius_m, dtype=np.float64)
        return cls(
            edges=edges,
            rest_length_m=rest,
            tether_radius_m=r,
            body_gap_m=np.full(n, np.inf) if body_gap_m is None else np.asarray(body_gap_m, np.float64),
            collides=(r > 0) if collides is None else np.asarray(collides, bool),
        )


@dataclass(frozen=True)
class ClothFrame:
    """One frame's inputs. targets_m : (N, 3) where each particle would be without
    dynamics (its skinned position). normals : (N, 3) unit outward normals at the targets
    (for the half-spaces), or None. capsules : the posed body colliders, or None.
    extra_accel_m_s2 : (3,) an acceleration on every particle besides the pull (gravity's
    change relative to the body: the targets already hang under gravity in the bind pose).
    body_gap_m : (N,) this frame's half-space gaps in place of the model's (a loose garment's
    targets draped over a leg: no further behind them than the model's gap less the drape;
    see :mod:`tryon.cloth.drape`), or None."""

    targets_m: np.ndarray
    normals: np.ndarray | None = None
    capsules: PosedCapsules | None = None
    extra_accel_m_s2: np.ndarray | None = None
    body_gap_m: np.ndarray | None = None


def _profile_args(caps0: PosedCapsules | None, caps1: PosedCapsules | None, use_caps: bool) -> tuple:
    """The compiled loop's profiled-capsule inputs: (cref0, cref1, cprofiled, cprofile, cmax)."""
    if not use_caps or not caps1.any_profiled or caps0.ref_m is None:
        c = len(caps1.radius_m) if use_caps else 0
        return np.zeros((c, 3)), np.zeros((c, 3)), np.zeros(c, np.bool_), np.zeros((c, 2, 1)), np.zeros(c)
    table = np.ascontiguousarray(caps1.profile_m, dtype=np.float64)
    return (
        np.ascontiguousarray(caps0.ref_m, dtype=np.float64),
        np.ascontiguousarray(caps1.ref_m, dtype=np.float64),
        np.ascontiguousarray(caps1.profiled, dtype=np.bool_),
        table,
        table.reshape(len(table), -1).max(axis=1),
    )


class ClothSim:
    """One cloth's state; ``step`` advances it to a frame's targets.

    >>> sim = ClothSim(model)                         # doctest: +SKIP
    >>> positions_m = sim.step(ClothFrame(targets_m), dt_s=1 / 30)
    """

    def __init__(self, model: ClothModel, params: ClothParams | None = None) -> None:
        self.model = model
        self.params = params or ClothParams()
        self.positions_m: np.ndarray | None = None
        self.velocities_m_s: np.ndarray | None = None
        self._last: ClothFrame | None = None
        n = model.num_particles
        self._free = model.tether_radius_m > 0
        e = model.edges
        # Jacobi averaging: each particle's correction divided by how many edges move it.
        free_e = self._free[e]
        self._w = self._free.astype(np.float64)
        self._edge_w = self._w[e[:, 0]] + self._w[e[:, 1]]
        live = self._edge_w > 0
        self._edges, self._rest = e[live], model.rest_length_m[live]
        self._edge_w = self._edge_w[live]
        counts = np.bincount(self._edges[free_e[live]].ravel(), minlength=n).astype(np.float64)
        inv_count = 1.0 / np.maximum(counts, 1.0)
        # Each edge's correction onto its two particles, Jacobi-averaged: one sparse product.
        m = len(self._edges)
        rows = np.concatenate([self._edges[:, 0], self._edges[:, 1]])
        self._scale0 = self._w[self._edges[:, 0]] * inv_count[self._edges[:, 0]]
        self._scale1 = self._w[self._edges[:, 1]] * inv_count[self._edges[:, 1]]
        vals = np.concatenate([self._scale0, -self._scale1])
        self._scatter = sp.csr_matrix((vals, (rows, np.concatenate([np.arange(m), np.arange(m)]))), shape=(n, m))
        self._e0 = np.ascontiguousarray(self._edges[:, 0])
        self._e1 = np.ascontiguousarray(self._edges[:, 1])
        # Pinned particles may collide too: skinned, but pushed out of a limb that comes through.
        self._collides = np.flatnonzero(model.collides)
        self._gap = model.body_gap_m
        self._gap_now = self._gap  # this frame's (ClothFrame.body_gap_m)
        slack = model.capsule_slack_m
        self._slack = np.zeros(n) if slack is None else np.ascontiguousarray(slack, dtype=np.float64)
        self._halfspace = np.isfinite(self._gap) & self._free
        #: Run the numpy reference instead of the compiled loop (tests compare the two).
        self.use_numpy = False

    def reset(self, frame: ClothFrame | None = None) -> None:
        """Forget the motion: the next step starts at rest on its targets (or on ``frame``'s)."""
        self._last = None
        self.positions_m = None
        self.velocities_m_s = None
        if frame is not None:
            self._start(frame)

    def _start(self, frame: ClothFrame) -> None:
        self.positions_m = np.array(frame.targets_m, dtype=np.float64)
        self.velocities_m_s = np.zeros_like(self.positions_m)
        self._last = frame

    def substeps(self, dt_s: float) -> int:
        """How many equal substeps a frame of ``dt_s`` seconds takes (timestamps come in whole
        milliseconds: a 34 ms frame at 30 fps takes the same two substeps as a 33 ms one)."""
        return max(1, int(np.ceil(dt_s / self.params.max_substep_s - SUBSTEP_SLACK)))

    def step(self, frame: ClothFrame, dt_s: float) -> np.ndarray:
        """Advance by ``dt_s`` seconds to ``frame``; returns (N, 3) positions (a view of the state)."""
        targets = np.asarray(frame.targets_m, dtype=np.float64)
        if targets.shape != (self.model.num_particles, 3):
            raise ValueError(f"targets must be ({self.model.num_particles}, 3), got {targets.shape}")
        if not np.isfinite(targets).all():
            raise ValueError("cloth targets hold NaN or inf")
        if self._last is None or not (0.0 < dt_s <= self.params.max_gap_s):
            self._start(frame)
            return self.positions_m
        p = self.params
        n_sub = self.substeps(dt_s)
        h = dt_s / n_sub
        omega = 2.0 * np.pi * p.frequency_hz
        k_spring = omega * omega
        c_damp = 2.0 * p.damping_ratio * omega
        alpha = p.edge_compliance_m_per_n / (h * h)
        extra = np.zeros(3) if frame.extra_accel_m_s2 is None else np.asarray(frame.extra_accel_m_s2, np.float64)
        t0 = np.asarray(self._last.targets_m, dtype=np.float64)
        dt_target = (targets - t0) / n_sub  # per-substep target motion (linear across the frame)
        normals = frame.normals
        self._gap_now = self._gap if frame.body_gap_m is None else np.ascontiguousarray(frame.body_gap_m, np.float64)
        caps0, caps1 = self._last.capsules, frame.capsules
        if caps0 is None or caps1 is None or len(caps0.radius_m) != len(caps1.radius_m):
            caps0 = caps1
        args = (t0, dt_target, n_sub, h, k_spring, c_damp, extra, alpha, normals, caps0, caps1)
        if substeps_kernel is not None and not self.use_numpy:
            self._substeps_compiled(*args)
        else:
            self._substeps_numpy(*args)
        self._last = frame
        return self.positions_m

    def _substeps_compiled(self, t0, dt_target, n_sub, h, k_spring, c_damp, extra, alpha, normals, caps0, caps1):
        """The substeps with the compiled loop (:mod:`tryon.cloth.kernel`)."""
        p = self.params
        use_caps = caps1 is not None and len(self._collides) > 0
        empty3 = np.zeros((0, 3))
        substeps_kernel(
            self.positions_m, self.velocities_m_s, t0, np.ascontiguousarray(dt_target), n_sub, h, k_spring, c_damp,
            p.air_drag_per_s, extra, p.max_speed_m_s,
            self._free, self._e0, self._e1, self._rest, self._edge_w, alpha, self._scale0,
            self._scale1, self.model.tether_radius_m, self._gap_now, self._halfspace,
            np.ascontiguousarray(normals, dtype=np.float64) if normals is not None else empty3, normals is not None,
            self._collides,
            *(np.ascontiguousarray(a, dtype=np.float64) for a in (
                (caps0.start_m, caps0.end_m, caps1.start_m, caps1.end_m) if use_caps else (empty3,) * 4)),
            np.ascontiguousarray(caps1.radius_m, dtype=np.float64) if use_caps else np.zeros(0), use_caps,
            p.collision_margin_m, *_profile_args(caps0, caps1, use_caps), self._slack, self.model.constraint_passes,
            self.model.final_passes,
        )  # fmt: skip

    def _substeps_numpy(self, t0, dt_target, n_sub, h, k_spring, c_damp, extra, alpha, normals, caps0, caps1):
        """The substeps in plain numpy: the reference the compiled loop is held to, and the
        fallback where numba is missing."""
        p = self.params
        v_target = dt_target / h
        x, v = self.positions_m, self.velocities_m_s
        free = self._free
        e0 = self._edges[:, 0]
        for k in range(1, n_sub + 1):
            prev_target = t0 + (k - 1) * dt_target
            target = t0 + k * dt_target
            # The pull toward the target (damped on the velocity relative to it), then move.
            rel_v = v - v_target
            v = v + h * (-k_spring * (x - prev_target) - c_damp * rel_v - p.air_drag_per_s * v + extra)
            rel_v = v - v_target
            speed = np.sqrt(np.einsum("ij,ij->i", rel_v, rel_v))
            too_fast = speed > p.max_speed_m_s
            if too_fast.any():
                v[too_fast] = v_target[too_fast] + rel_v[too_fast] * (p.max_speed_m_s / speed[too_fast])[:, None]
            x_prev = x
            x = np.where(free[:, None], x + h * v, target)
            # Distance constraints, Jacobi passes (XPBD with a fresh multiplier each substep).
            for _ in range(self.model.constraint_passes if len(e0) else 0):
                x = self._constraint_pass(x, alpha)
            # Tethers: within the radius of the target; pinned particles on it.
            offset = x - target
            dist = np.sqrt(np.einsum("ij,ij->i", offset, offset))
            over = dist > self.model.tether_radius_m
            if over.any():
                offset[over] *= (self.model.tether_radius_m[over] / np.maximum(dist[over], 1e-12))[:, None]
            # Collisions last (they win over the tethers): the body's half-space under each
            # particle, then the capsules (interpolated across the frame).
            if normals is not None and self._halfspace.any():
                depth = -np.einsum("ij,ij->i", offset, normals) - self._gap_now
                inside = self._halfspace & (depth > 0)
                if inside.any():
                    offset[inside] += normals[inside] * depth[inside, None]
            x = target + offset
            if caps1 is not None and len(self._collides):
                caps = caps0.lerp(caps1, k / n_sub)
                x[self._collides] = push_out_of_capsules(
                    x[self._collides],
                    caps,
                    p.collision_margin_m,
                    self._slack[self._collides],
                    None if normals is None else normals[self._collides],
                )
            for it in range(self.model.final_passes if len(e0) else 0):
                x = self._gauss_seidel_pass(x, alpha, backward=it % 2 == 1)
            v = (x - x_prev) / h
        self.positions_m, self.velocities_m_s = x, v

    def _constraint_pass(self, x: np.ndarray, alpha: float) -> np.ndarray:
        """One Jacobi pass over the distance constraints (numpy reference)."""
        e0, e1 = self._edges[:, 0], self._edges[:, 1]
        d = x[e0] - x[e1]
        length = np.sqrt(np.einsum("ij,ij->i", d, d))
        dlam = -(length - self._rest) / (self._edge_w + alpha)
        return x + self._scatter @ (d * (dlam / np.maximum(length, 1e-12))[:, None])

    def _gauss_seidel_pass(self, x: np.ndarray, alpha: float, backward: bool) -> np.ndarray:
        """One Gauss-Seidel pass over the distance constraints, in edge order or backward
        (numpy reference: a Python loop, for the tests and where numba is missing)."""
        x = x.copy()
        w = self._w
        order = range(len(self._edges) - 1, -1, -1) if backward else range(len(self._edges))
        for j in order:
            p, q = self._edges[j]
            wsum = w[p] + w[q]
            if wsum == 0.0:
                continue
            d = x[p] - x[q]
            length = float(np.sqrt(d @ d))
            g = -(length - self._rest[j]) / (wsum + alpha) / max(length, 1e-12)
            x[p] += w[p] * g * d
            x[q] -= w[q] * g * d
        return x

    def kinetic_energy_j_per_kg(self) -> float:
        """½|v|² of the free particles, averaged (J/kg; camera frame)."""
        if self.velocities_m_s is None or not self._free.any():
            return 0.0
        v = self.velocities_m_s[self._free]
        return float(0.5 * np.mean(np.einsum("ij,ij->i", v, v)))
