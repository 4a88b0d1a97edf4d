"""Synthetic people whose pose is known exactly: the mannequin posed by forward kinematics.

Used by the tests and the accuracy benchmark: pose the mannequin (joint rotations, or a
MakeHuman BVH pose), put it in front of a camera, and read off the ground truth: the
bone palette, the 33 landmark positions and their projections.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tryon.body.mannequin import Mannequin
from tryon.body.rotations import axis_angle
from tryon.body.skeleton import BONE_INDEX, NUM_BONES, PARENTS
from tryon.frames import MODEL_TO_CAMERA, CameraIntrinsics, project
from tryon.pose.landmarks import NUM_LANDMARKS, L
from tryon.pose.types import Pose


def forward_kinematics(mannequin: Mannequin, local: dict[str, np.ndarray] | np.ndarray) -> np.ndarray:
    """Palette (J, 3, 4) in model metres for rotations about each bone's head.

    local : bone name -> (3, 3) rotation, or (J, 3, 3); each rotation is expressed in the
    model frame at bind (the bone's parent's motion is applied on top of it).
    """
    bh = mannequin.skeleton.heads
    rots = np.tile(np.eye(3), (NUM_BONES, 1, 1))
    if isinstance(local, dict):
        for name, r in local.items():
            rots[BONE_INDEX[name]] = r
    else:
        rots = np.asarray(local, dtype=np.float64)
    G = np.zeros((NUM_BONES, 3, 3))
    P = np.zeros((NUM_BONES, 3))
    for j in range(NUM_BONES):
        p = PARENTS[j]
        if p < 0:
            G[j], P[j] = rots[j], bh[j]
        else:
            G[j] = G[p] @ rots[j]
            P[j] = P[p] + G[p] @ (bh[j] - bh[p])
    trans = P - np.einsum("jab,jb->ja", G, bh)
    return np.concatenate([G, trans[:, :, None]], axis=2)


def place_in_camera(
    palette_model: np.ndarray,
    yaw_deg: float = 0.0,
    position_cam_m=(0.0, 0.0, 3.0),
    anchor_model_m: np.ndarray | None = None,
) -> np.ndarray:
    """Model palette -> camera palette: turn the body by ``yaw_deg`` about its vertical axis
    (positive turns the mannequin toward its own left), face it to the camera, and put
    ``anchor_model_m`` (default the model origin) at ``position_cam_m``."""
    R = MODEL_TO_CAMERA.astype(np.float64) @ axis_angle([0, 1, 0], np.radians(yaw_deg))
    anchor = np.zeros(3) if anchor_model_m is None else np.asarray(anchor_model_m, dtype=np.float64)
    t = np.asarray(position_cam_m, dtype=np.float64) - R @ anchor
    A = np.einsum("ab,jbc->jac", R, palette_model[:, :, :3])
    b = np.einsum("ab,jb->ja", R, palette_model[:, :, 3]) + t
    return np.concatenate([A, b[:, :, None]], axis=2)


def posed_landmarks(mannequin: Mannequin, palette: np.ndarray) -> np.ndarray:
    """(33, 3) landmark anchors moved by their bones' palette entries."""
    lm = mannequin.landmarks
    A = palette[lm.bones]
    return np.einsum("lab,lb->la", A[:, :, :3], lm.bind_m) + A[:, :, 3]


@dataclass(frozen=True)
class SyntheticPerson:
    """Ground truth for one synthetic frame. palette : (J, 3, 4) camera metres.
    landmarks_cam_m : (33, 3). pose : the Pose a perfect landmarker would report."""

    palette: np.ndarray
    landmarks_cam_m: np.ndarray
    pose: Pose


def synthetic_person(
    mannequin: Mannequin, palette_cam: np.ndarray, K: CameraIntrinsics, timestamp_ms: int | None = None
) -> SyntheticPerson:
    """A perfect Pose of a posed mannequin: keypoints are exact projections, world landmarks
    the posed anchors relative to the hip centre (camera axes), all fully visible."""
    lm = posed_landmarks(mannequin, palette_cam)
    kp = project(lm, K).astype(np.float32)
    mid_hip = 0.5 * (lm[L.LEFT_HIP] + lm[L.RIGHT_HIP])
    depth = ((lm[:, 2] - mid_hip[2]) * K.fx).astype(np.float32)
    pose = Pose(
        keypoints_px=kp,
        depth_px=depth,
        visibility=np.ones(NUM_LANDMARKS, np.float32),
        presence=np.ones(NUM_LANDMARKS, np.float32),
        world_m=(lm - mid_hip).astype(np.float32),
        segmentation=None,
        image_size=(K.width, K.height),
        timestamp_ms=timestamp_ms,
    )
    return SyntheticPerson(palette_cam.astype(np.float32), lm, pose)


#: MakeHuman's BVH files are z-up with the front along -y: model = BVH_TO_MODEL @ bvh.
BVH_TO_MODEL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

POSES_DIR = Path(__file__).resolve().parent.parent / "data" / "makehuman" / "poses"


def _euler(channels: list[str], values: np.ndarray) -> np.ndarray:
    """BVH rotation channels (degrees, in the listed order) as one matrix."""
    R = np.eye(3)
    for name, deg in zip(channels, values):
        if name.endswith("rotation"):
            axis = {"X": (1, 0, 0), "Y": (0, 1, 0), "Z": (0, 0, 1)}[name[0]]
            R = R @ axis_angle(axis, np.radians(deg))
    return R


def bvh_pose(path: str | Path) -> dict[str, np.ndarray]:
    """A single-frame MakeHuman BVH pose as local rotations for :func:`forward_kinematics`
    (model frame, relative to the bind A-pose). Bones the reduced skeleton does not keep
    (fingers, toes, face) are dropped; the root keeps its rotation, not its translation."""
    from tryon.body.makehuman import read_bvh

    bvh = read_bvh(path)
    out: dict[str, np.ndarray] = {}
    k = 0
    C = BVH_TO_MODEL
    for name, channels in zip(bvh.names, bvh.channels):
        values = bvh.frame[k : k + len(channels)]
        k += len(channels)
        if name in BONE_INDEX:
            out[name] = C @ _euler(channels, values) @ C.T
    return out


def bvh_poses() -> dict[str, Path]:
    """The bundled MakeHuman poses by name (fight01 ... tpose)."""
    return {p.stem: p for p in sorted(POSES_DIR.glob("*.bvh"))}


def random_pose(rng: np.random.Generator, strength: float = 1.0) -> dict[str, np.ndarray]:
    """A plausible random pose within rough joint limits: arms anywhere from hanging to
    raised, elbows and knees bent forward/back only, a little spine and neck motion."""

    def rot(axis, lo, hi):
        return axis_angle(axis, np.radians(rng.uniform(lo, hi) * strength))

    pose = {
        "spine03": rot([1, 0, 0], -10, 20) @ rot([0, 1, 0], -20, 20),
        "neck02": rot([1, 0, 0], -15, 15) @ rot([0, 1, 0], -30, 30),
    }
    for side, s in (("L", 1.0), ("R", -1.0)):
        # +z turns the left limbs outward and the right ones inward: mirror with s.
        abduct = rng.uniform(-35, 75) * strength
        pose[f"upperarm01.{side}"] = axis_angle([0, 0, 1], np.radians(s * abduct)) @ rot([1, 0, 0], -70, 40)
        pose[f"lowerarm01.{side}"] = rot([1, 0, 0], -110, 0)
        spread = rng.uniform(-10, 15) * strength
        pose[f"upperleg01.{side}"] = rot([1, 0, 0], -45, 20) @ axis_angle([0, 0, 1], np.radians(s * spread))
        pose[f"lowerleg01.{side}"] = rot([1, 0, 0], 0, 70)
    return pose


def arm_pose(raise_deg: float) -> dict[str, np.ndarray]:
    """Both upper arms rotated about the model's z (front) axis: positive raises them
    sideways from the A-pose, negative lowers them toward the body."""
    return {
        "upperarm01.L": axis_angle([0, 0, 1], np.radians(raise_deg)),
        "upperarm01.R": axis_angle([0, 0, 1], -np.radians(raise_deg)),
    }
