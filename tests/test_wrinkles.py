"""Pose-driven wrinkles: fold strength follows the joints' bends, where the joints are."""

import numpy as np
from helpers import ROOT

from tryon.body.mannequin import load_mannequin
from tryon.body.skeleton import BONE_INDEX, NUM_BONES
from tryon.body.solver import PosedBody
from tryon.catalog.catalog import Catalog
from tryon.frames import CameraIntrinsics
from tryon.wrinkles import JOINTS, joint_bends, wrinkle_strength

K = CameraIntrinsics.from_fov(640, 480, 60)


def bent_elbow(deg: float, side: str = "L") -> PosedBody:
    sk = load_mannequin().skeleton
    palette = np.tile(np.eye(3, 4, dtype=np.float32), (NUM_BONES, 1, 1))
    a = np.radians(deg)
    R = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])  # forearm forward
    elbow = sk.head(f"lowerarm01.{side}")
    for bone in (f"lowerarm01.{side}", f"lowerarm02.{side}", f"wrist.{side}"):
        palette[BONE_INDEX[bone]] = np.concatenate([R, (elbow - R @ elbow)[:, None]], axis=1)
    return PosedBody.from_palette(palette, K, sk.heads)


def test_bends_are_zero_in_the_bind_pose_and_grow_with_the_elbow():
    names = [j.name for j in JOINTS]
    assert not joint_bends(bent_elbow(0.0)).any()
    last = -1.0
    for deg in (20, 45, 70, 90):
        b = joint_bends(bent_elbow(deg))
        assert b[names.index("elbow.L")] > last
        last = b[names.index("elbow.L")]
        assert b[names.index("elbow.R")] == 0 and b[names.index("waist")] == 0


def test_fold_strength_rises_at_the_elbow_only():
    g = Catalog(ROOT / "garments").get("navy-longsleeve")
    part = g.parts[0]
    sk = load_mannequin().skeleton
    near_elbow = np.linalg.norm(part.positions - sk.head("lowerarm01.L"), axis=1) < 0.06
    chest = (np.abs(part.positions[:, 0]) < 0.08) & (part.positions[:, 1] > sk.head("spine02")[1] + 0.1)
    other_elbow = np.linalg.norm(part.positions - sk.head("lowerarm01.R"), axis=1) < 0.06
    assert near_elbow.sum() > 5 and chest.sum() > 5
    means = []
    for deg in (0, 30, 60, 90):
        w, axes = wrinkle_strength(part, bent_elbow(deg))
        assert w.shape == (len(part.positions),) and 0 <= w.min() and w.max() <= 1
        assert np.allclose(np.linalg.norm(axes, axis=1), 1, atol=1e-4)
        means.append(w[near_elbow].mean())
        assert w[chest].max() < 0.05 and w[other_elbow].max() < 0.05
    assert means[0] == 0 and np.all(np.diff(means) > 0.05) and means[-1] > 0.5
