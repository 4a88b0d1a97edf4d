import numpy as np
import pytest

from tryon.body.rotations import axis_angle
from tryon.body.skinning import linear_blend_skinning
from tryon.body.solver import RigSolver, point_on_ray, solve_translation
from tryon.body.synthetic import arm_pose, forward_kinematics, place_in_camera, synthetic_person
from tryon.frames import CameraIntrinsics, project

K = CameraIntrinsics.from_fov(640, 480, 60)


@pytest.fixture(scope="module")
def solver(mannequin):
    return RigSolver(mannequin)


@pytest.mark.parametrize(
    "local, yaw",
    [({}, 0), (arm_pose(60), 0), (arm_pose(-30), 0), ({}, 30), ({}, -45), (arm_pose(80), 15)],
    ids=["bind", "arms-raised", "arms-lowered", "turned-30", "turned-minus-45", "raised-turned"],
)
def test_known_poses_are_recovered(mannequin, solver, local, yaw):
    pal = place_in_camera(forward_kinematics(mannequin, local), yaw, (0.1, 0.05, 3.0))
    truth = synthetic_person(mannequin, pal, K)
    body = solver.solve(truth.pose, K)
    gt, _ = linear_blend_skinning(mannequin.positions_m, mannequin.skin, truth.palette)
    got, _ = linear_blend_skinning(mannequin.positions_m, mannequin.skin, body.palette)
    err_px = np.linalg.norm(project(got, K) - project(gt, K), axis=1)
    assert err_px.mean() < 0.5 and np.percentile(err_px, 99) < 3.0
    assert np.linalg.norm(got - gt, axis=1).mean() < 0.005  # metres


def test_bent_elbow_and_knee_land_on_keypoints(mannequin, solver):
    local = {"lowerarm01.L": axis_angle([1, 0, 0], -1.2), "lowerleg01.R": axis_angle([1, 0, 0], 0.9)}
    pal = place_in_camera(forward_kinematics(mannequin, local), 20, (0.0, 0.1, 2.5))
    truth = synthetic_person(mannequin, pal, K)
    body = solver.solve(truth.pose, K)
    err = np.linalg.norm(project(body.landmarks_cam_m, K) - truth.pose.keypoints_px, axis=1)
    assert err[11:17].max() < 1.0 and err[23:29].max() < 1.0


def test_translation_solve_is_exact_for_consistent_data():
    rng = np.random.default_rng(3)
    world = rng.normal(0, 0.3, (33, 3))
    t = np.array([0.2, -0.1, 3.0])
    kp = project(world + t, K)
    assert np.allclose(solve_translation(world, kp, np.ones(33), K), t, atol=1e-9)


def test_point_on_ray_picks_the_hinted_depth():
    parent = np.array([0.0, 0.0, 2.0])
    ray = np.array([0.1, 0.0, 1.0])
    near = point_on_ray(parent, ray, 0.25, 1.9, 1.2)
    far = point_on_ray(parent, ray, 0.25, 2.2, 1.2)
    for p in (near, far):
        assert np.isclose(np.linalg.norm(p - parent), 0.25)
        assert np.allclose(np.cross(p, ray), 0, atol=1e-9)
    assert near[2] < 2.0 < far[2]
    # unreachable by far: falls short at the allowed stretch
    short = point_on_ray(parent, np.array([1.0, 0, 1.0]), 0.1, 2.0, 1.2)
    assert np.isclose(np.linalg.norm(short - parent), 0.12)


def test_arms_raised_moves_the_sleeves(mannequin, solver):
    from tryon import Catalog
    from tryon.deform import deform_item

    top = Catalog().get("navy-longsleeve")
    sleeves = {}
    for name, deg in (("down", -25), ("up", 70)):
        pal = place_in_camera(forward_kinematics(mannequin, arm_pose(deg)), 0, (0, 0, 3.0))
        body = solver.solve(synthetic_person(mannequin, pal, K).pose, K)
        v = deform_item(top, body)[0].positions_cam_m
        sleeves[name] = v
    left = top.parts[0].positions[:, 0] > 0.35  # the left sleeve's far end in the bind pose
    assert left.sum() > 20
    rise = sleeves["down"][left, 1] - sleeves["up"][left, 1]  # camera y points down
    assert rise.mean() > 0.25  # the sleeve ends rise by tens of centimetres
    torso = np.abs(top.parts[0].positions[:, 0]) < 0.08
    assert np.abs(sleeves["down"][torso] - sleeves["up"][torso]).max() < 0.03
