"""Hair that is hair: dark hair and a dark cap over a dark jacket must not cut holes in the
garment tried on over the jacket (the keep-out's hair, :mod:`tryon.render.keepout`)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from tryon.body.synthetic import arm_pose, forward_kinematics, place_in_camera
from tryon.frames import CameraIntrinsics
from tryon.ownclothes.truth import background, dressed_scene
from tryon.pose.landmarks import L
from tryon.render.keepout import hair_mask

K = CameraIntrinsics.from_fov(640, 480, 55)
DARK = (0.01, 0.01, 0.012, 1.0)


@pytest.fixture(scope="module")
def dark_scene(mannequin):
    from tryon.render.renderer import Renderer

    pal = place_in_camera(forward_kinematics(mannequin, arm_pose(-5)), 0, (0.0, 0.3, 2.2))
    with Renderer() as r:
        return dressed_scene(mannequin, pal, K, r, background(640, 480, 2), colour=DARK)


def _paint_head(scene, long_hair: bool):
    """The frame and its pose with a cap on the crown and hair beside the face, both the
    jacket's own colour: down to the jaw and on behind the neck into the jacket's collar (the
    cap's case), or long strands falling over the shoulders in front (``long_hair``). The
    person mask grows by what was painted, as a segmentation would."""
    img = scene.frame.copy()
    kp = scene.pose.keypoints_px
    ears = kp[[L.LEFT_EAR, L.RIGHT_EAR]]
    head_w = float(np.linalg.norm(ears[0] - ears[1]))
    cx, eye_y = float(ears[:, 0].mean()), float(kp[[L.LEFT_EYE, L.RIGHT_EYE], 1].mean())
    shoulder_y = float(kp[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER], 1].mean())
    jacket = np.median(scene.frame[scene.outfit & ~scene.body], axis=0)
    dark = jacket if _dark_jacket(scene) else np.array([14, 14, 16])
    painted = np.zeros(img.shape[:2], np.uint8)
    crown = (int(cx), int(eye_y - 0.15 * head_w))
    cv2.ellipse(painted, crown, (int(0.7 * head_w), int(1.2 * head_w)), 0, 180, 360, 1, -1)
    bottom = shoulder_y + (1.6 * head_w if long_hair else 0.0)
    for side in (-1, 1):
        x0, x1 = sorted((cx + side * 0.45 * head_w, cx + side * 0.75 * head_w))
        cv2.rectangle(painted, (int(x0), int(eye_y - 0.2 * head_w)), (int(x1), int(bottom)), 1, -1)
    noise = np.random.default_rng(0).normal(0, 3, img.shape)
    img[painted > 0] = np.clip(dark + noise[painted > 0], 0, 255).astype(np.uint8)
    seg = scene.pose.segmentation
    grown = cv2.resize(painted.astype(np.float32), (seg.shape[1], seg.shape[0]), interpolation=cv2.INTER_AREA)
    return img, replace(scene.pose, segmentation=np.maximum(seg, grown))


def _dark_jacket(scene) -> bool:
    """Whether the scene's own outfit is the dark one."""
    return float(np.median(scene.frame[scene.outfit & ~scene.body])) < 100


def _upper_torso(scene, size) -> np.ndarray:
    w, h = size
    kp = scene.pose.keypoints_px * np.array([w / K.width, h / K.height])
    ls, rs, lh = kp[L.LEFT_SHOULDER], kp[L.RIGHT_SHOULDER], kp[L.LEFT_HIP]
    x0, x1 = sorted((ls[0], rs[0]))
    inset = 0.1 * (x1 - x0)
    y0 = min(ls[1], rs[1])
    y1 = y0 + 0.5 * (lh[1] - y0)
    out = np.zeros((h, w), bool)
    out[int(y0) : int(y1), int(x0 + inset) : int(x1 - inset)] = True
    return out


def test_a_dark_cap_over_a_dark_jacket_cuts_no_hole_in_the_garment(dark_scene):
    img, pose = _paint_head(dark_scene, long_hair=False)
    size = (pose.segmentation.shape[1], pose.segmentation.shape[0])
    hair = hair_mask(img, pose, size) > 0.5
    torso = _upper_torso(dark_scene, size)
    assert torso.sum() > 2000
    assert (hair & torso).sum() <= 0.02 * torso.sum(), (hair & torso).sum() / torso.sum()


def test_long_dark_hair_over_a_light_top_still_falls_in_front(mannequin):
    """The same hair over a light jacket: its strands over the shoulders are still hair."""
    from tryon.render.renderer import Renderer

    pal = place_in_camera(forward_kinematics(mannequin, arm_pose(-5)), 0, (0.0, 0.3, 2.2))
    with Renderer() as r:
        scene = dressed_scene(mannequin, pal, K, r, background(640, 480, 2), colour=(0.8, 0.75, 0.6, 1.0))
    img, pose = _paint_head(scene, long_hair=True)
    size = (pose.segmentation.shape[1], pose.segmentation.shape[0])
    hair = hair_mask(img, pose, size) > 0.5
    sy = size[1] / K.height
    shoulder_y = float(scene.pose.keypoints_px[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER], 1].mean()) * sy
    assert hair[int(shoulder_y) :].sum() > 300
