"""The bind-pose mannequin's fitting anchors: named places items are fitted to.

Model metres (y up, +z front, +x the mannequin's left; :mod:`tryon.frames`), computed once
from the canonical mannequin; plus the body's nearest-point search trees.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from tryon.body import makehuman as mh
from tryon.body.mannequin import load_mannequin
from tryon.body.rotations import normalize
from tryon.body.skeleton import BONE_NAMES
from tryon.frames import MAKEHUMAN_UNIT_M
from tryon.pose.landmarks import L


@dataclass(frozen=True)
class Anchors:
    """Named places on the bind-pose mannequin, model metres."""

    nape: np.ndarray  # back of the neck at its base
    neck_centre: np.ndarray  # centre of the neck's cross-section at its base
    neck_radius: float
    head_top: np.ndarray
    head_width: float
    eyes: tuple[np.ndarray, np.ndarray]  # (left, right) eyeball centres
    ear_lobes: tuple[np.ndarray, np.ndarray]
    heels: tuple[np.ndarray, np.ndarray]  # back of each heel at the sole
    toes: tuple[np.ndarray, np.ndarray]
    sole_y: float
    wrist_centre: np.ndarray  # left forearm axis, 2.5 cm above the wrist joint
    wrist_axis: np.ndarray  # toward the hand
    wrist_dorsal: np.ndarray  # back of the left wrist
    wrist_radius: float  # mean radius of the wrist's cross-section
    wrist_radii: tuple[float, float]  # cross-section semi-axes: toward the back of the hand, and across
    ring_centre: np.ndarray  # middle of the left ring finger's first phalanx
    ring_axis: np.ndarray
    ring_radius: float
    torso_y: tuple[float, float]  # hips to shoulders


def _radius_around(body: np.ndarray, centre: np.ndarray, axis: np.ndarray, half_len: float, max_r: float) -> float:
    rel = body - centre
    along = rel @ axis
    perp = np.linalg.norm(rel - np.outer(along, axis), axis=1)
    sel = (np.abs(along) < half_len) & (perp < max_r)
    return float(np.median(perp[sel])) if sel.any() else max_r / 2


@functools.lru_cache(maxsize=1)
def anchors() -> Anchors:
    """The fitting anchors of the canonical mannequin (computed once)."""
    m = load_mannequin()
    body = m.positions_m.astype(np.float64)
    skel = mh.read_mhskel()
    J = {k: v * MAKEHUMAN_UNIT_M for k, v in skel.joint_positions(m.full_positions_dm).items()}
    B = load_mannequin(calibrated=False).landmarks.bind_m
    neck_y = float(J["neck01____head"][1]) + 0.015
    band = (np.abs(body[:, 1] - neck_y) < 0.008) & (np.abs(body[:, 0]) < 0.09) & (np.abs(body[:, 2]) < 0.12)
    nb = body[band]
    neck_centre = np.array([0.0, neck_y, 0.5 * (nb[:, 2].min() + nb[:, 2].max())])
    neck_radius = float(np.median(np.linalg.norm((nb - neck_centre)[:, [0, 2]], axis=1)))
    nape = np.array([0.0, neck_y, nb[:, 2].min()])
    top = body[np.argmax(body[:, 1])]
    ears = (B[L.LEFT_EAR], B[L.RIGHT_EAR])
    lobes = tuple(e + np.array([-np.sign(e[0]) * 0.004, -0.025, 0.008]) for e in ears)
    sole_y = float(body[:, 1].min())
    heels = tuple(np.array([B[i][0], sole_y, B[i][2]]) for i in (L.LEFT_HEEL, L.RIGHT_HEEL))
    toes = tuple(np.array([B[i][0], sole_y, B[i][2]]) for i in (L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX))
    wa = normalize(J["lowerarm02.L____tail"] - J["lowerarm02.L____head"])

    palm = np.cross(B[L.LEFT_INDEX] - B[L.LEFT_WRIST], B[L.LEFT_PINKY] - B[L.LEFT_WRIST])
    palm = normalize(palm - wa * np.dot(palm, wa))
    dorsal = palm if palm[0] > 0 else -palm  # the back of a relaxed left hand faces outward (+x)
    # The wrist's cross-section: forearm and hand vertices in a thin slab around the axis.
    from tryon.body.mannequin import bone_region

    region = np.array([bone_region(n) for n in BONE_NAMES])[m.skin.bones[:, 0]]
    arm = body[np.isin(region, (2, 4))]
    rel = arm - (J["lowerarm02.L____tail"] - 0.025 * wa)
    along = rel @ wa
    perp = rel - np.outer(along, wa)
    sl = perp[(np.abs(along) < 0.004) & (np.linalg.norm(perp, axis=1) < 0.05)]
    across = normalize(np.cross(wa, dorsal))
    wc = J["lowerarm02.L____tail"] - 0.025 * wa
    wrist_radii = (0.02, 0.028)
    if len(sl) > 8:  # the cross-section's own centre and half-extents (the bone is not centred in it)
        du, dv = sl @ dorsal, sl @ across
        wc = wc + dorsal * 0.5 * (du.max() + du.min()) + across * 0.5 * (dv.max() + dv.min())
        wrist_radii = (0.5 * float(du.max() - du.min()), 0.5 * float(dv.max() - dv.min()))
    from tryon.body.mannequin import ring_finger

    rc, ra = ring_finger("L").centre, ring_finger("L").axis
    return Anchors(
        nape=nape,
        neck_centre=neck_centre,
        neck_radius=neck_radius,
        head_top=top,
        head_width=float(np.linalg.norm(ears[0] - ears[1])),
        eyes=(J["eye.L____head"], J["eye.R____head"]),
        ear_lobes=lobes,
        heels=heels,
        toes=toes,
        sole_y=sole_y,
        wrist_centre=wc,
        wrist_axis=wa,
        wrist_dorsal=dorsal,
        wrist_radius=float(np.mean(wrist_radii)),
        wrist_radii=wrist_radii,
        ring_centre=rc,
        ring_axis=ra,
        ring_radius=_radius_around(body, rc, ra, 0.004, 0.013),
        torso_y=(float(B[L.LEFT_HIP][1]), float(B[L.LEFT_SHOULDER][1])),
    )


@functools.lru_cache(maxsize=1)
def body_tree() -> cKDTree:
    return cKDTree(load_mannequin().positions_m.astype(np.float64))


@functools.lru_cache(maxsize=1)
def occluder_tree() -> cKDTree:
    return cKDTree(load_mannequin().occluder.positions_m.astype(np.float64))
