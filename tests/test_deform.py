"""The items stage on its own (tryon/deform.py): bundled items posed on the real mannequin by
known palettes and by the solver on synthetic people, without the engine, MediaPipe or GL.

Behaviour through the public functions (deform_item, part_visible, body_occluder,
thicken_wire): which bone an item rides is read from the item and the catalog's categories,
never restated here."""

from __future__ import annotations

import numpy as np
import pytest

from tryon import Catalog
from tryon.body.rotations import axis_angle
from tryon.body.skeleton import BONE_INDEX, BONE_NAMES, NUM_BONES
from tryon.body.solver import PosedBody, RigSolver
from tryon.body.synthetic import arm_pose, forward_kinematics, place_in_camera, synthetic_person
from tryon.deform import body_occluder, deform_item, part_visible, thicken_wire
from tryon.frames import CameraIntrinsics, project

K = CameraIntrinsics.from_fov(640, 480, 60)
SKINNED, SHOES, GLASSES, WATCH, RING, NECKLACE = (
    "navy-longsleeve",
    "worn-sneakers",
    "red-glasses",
    "steel-watch",
    "solitaire-ring",
    "chain-necklace",
)


@pytest.fixture(scope="module")
def catalog():
    return Catalog()


def body_from(mannequin, palette) -> PosedBody:
    return PosedBody.from_palette(palette, K, mannequin.skeleton.heads)


def bind_palette() -> np.ndarray:
    return np.tile(np.eye(3, 4), (NUM_BONES, 1, 1))


def apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ np.asarray(transform[:, :3], np.float64).T + transform[:, 3]


def solved(mannequin, position_cam_m, raise_deg: float = 30.0) -> PosedBody:
    """The solver's body for a perfect synthetic person at ``position_cam_m``."""
    pal = place_in_camera(forward_kinematics(mannequin, arm_pose(raise_deg)), 0.0, position_cam_m)
    return RigSolver(mannequin).solve(synthetic_person(mannequin, pal, K).pose, K)


# -- skinned items ------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["lbs", "dqs"])
def test_in_bind_pose_a_skinned_item_stays_as_modelled(mannequin, catalog, method):
    item = catalog.get(SKINNED)
    draws = deform_item(item, body_from(mannequin, bind_palette()), method=method)
    assert len(draws) == len(item.parts)
    for draw, part in zip(draws, item.parts):
        assert np.allclose(draw.positions_cam_m, part.positions, atol=1e-5)
        assert np.allclose(draw.normals_cam, part.normals, atol=1e-4)


@pytest.mark.parametrize("method", ["lbs", "dqs"])
def test_a_body_moved_as_a_whole_moves_every_vertex_the_same_way(mannequin, catalog, method):
    pal = place_in_camera(bind_palette(), yaw_deg=35.0, position_cam_m=(0.2, 0.1, 2.5))
    item = catalog.get(SKINNED)
    (draw,) = deform_item(item, body_from(mannequin, pal), method=method)
    assert np.allclose(draw.positions_cam_m, apply(pal[0], item.parts[0].positions), atol=1e-4)


def test_a_skinned_sleeve_moves_with_its_arm_and_the_torso_stays(mannequin, catalog):
    item = catalog.get(SKINNED)
    part = item.parts[0]
    raised = forward_kinematics(mannequin, arm_pose(60.0))
    (draw,) = deform_item(item, body_from(mannequin, raised))
    bones, weights = part.skin.bones, part.skin.weights
    # the raise turns the left upper arm; everything below it turns with it
    arm = [BONE_INDEX[b] for b in ("upperarm01.L", "upperarm02.L", "lowerarm01.L", "lowerarm02.L", "wrist.L")]
    assert all(np.allclose(raised[j], raised[arm[0]]) for j in arm)
    on_arm = (np.isin(bones, arm) | (weights == 0)).all(axis=1)
    torso = [BONE_INDEX[b] for b in BONE_NAMES if b.startswith(("spine", "root"))]
    on_torso = (np.isin(bones, torso) | (weights == 0)).all(axis=1)
    assert on_arm.sum() > 100 and on_torso.sum() > 100
    # vertices held by the arm alone ride its transform exactly; the torso does not move
    assert np.allclose(draw.positions_cam_m[on_arm], apply(raised[arm[0]], part.positions[on_arm]), atol=1e-4)
    assert np.allclose(draw.positions_cam_m[on_torso], part.positions[on_torso], atol=1e-5)
    # the left sleeve went up (model +y) as the left arm was raised
    assert draw.positions_cam_m[on_arm, 1].mean() > part.positions[on_arm, 1].mean() + 0.1


def test_unknown_skinning_method_is_refused(mannequin, catalog):
    with pytest.raises(ValueError, match="lbs"):
        deform_item(catalog.get(SKINNED), body_from(mannequin, bind_palette()), method="nope")


# -- rigid items ----------------------------------------------------------------------------------
@pytest.mark.parametrize("item_id", [GLASSES, SHOES, WATCH, NECKLACE, RING])
def test_rigid_parts_follow_their_bone_and_only_it(mannequin, catalog, item_id):
    """Each part moves by the transform of the bone it rides; moving every other bone leaves it
    where it was."""
    item = catalog.get(item_id)
    rest = deform_item(item, body_from(mannequin, bind_palette()))
    rng = np.random.default_rng(7)
    for k, part in enumerate(item.parts):
        bone = BONE_INDEX[part.bone or item.attachment.bone]
        moved = bind_palette()
        shift = rng.normal(0, 0.2, 3) + [0.0, 0.0, 6.0]  # six metres from the camera
        moved[bone] = np.concatenate([axis_angle(rng.normal(size=3), 0.7), shift[:, None]], axis=1)
        posed = deform_item(item, body_from(mannequin, moved))[k].positions_cam_m
        rigid = apply(moved[bone], rest[k].positions_cam_m)
        if item.kind.thin_wire:  # wire is also thickened so it stays a pixel wide that far
            grown = np.linalg.norm(posed - rigid, axis=1)
            assert 0.002 < grown.max() < 0.01, (item_id, grown.max())
        else:
            assert np.allclose(posed, rigid, atol=1e-4), item_id
        others = place_in_camera(bind_palette(), 40.0, (0.3, 0.2, 2.0))
        others[bone] = np.eye(3, 4)
        unmoved = deform_item(item, body_from(mannequin, others))[k].positions_cam_m
        assert np.allclose(unmoved, rest[k].positions_cam_m, atol=1e-5), item_id


def test_a_pair_of_shoes_has_one_shoe_on_each_foot(mannequin, catalog):
    body = solved(mannequin, (0.0, -0.2, 3.3))
    left, right = (d.positions_cam_m.mean(axis=0) for d in deform_item(catalog.get(SHOES), body))
    foot_l, foot_r = body.heads_cam_m[BONE_INDEX["foot.L"]], body.heads_cam_m[BONE_INDEX["foot.R"]]
    assert np.linalg.norm(left - foot_l) < 0.15 and np.linalg.norm(right - foot_r) < 0.15
    assert np.linalg.norm(left - foot_r) > 0.15


def test_a_ring_rides_the_finger_the_hand_model_found(mannequin, catalog):
    item = catalog.get(RING)
    body = body_from(mannequin, bind_palette())
    on_wrist = deform_item(item, body)
    finger = np.concatenate([axis_angle([1, 0, 0], 0.5), [[0.05], [-0.02], [0.1]]], axis=1)
    side = (item.parts[0].bone or item.attachment.bone)[-1]
    body.finger_frames[f"ring_finger.{side}"] = finger
    on_finger = deform_item(item, body)
    for a, b in zip(on_wrist, on_finger):
        assert np.allclose(b.positions_cam_m, apply(finger, a.positions_cam_m), atol=2e-3)


def test_opacity_per_part_and_parts_at_zero_are_not_drawn(mannequin, catalog):
    item = catalog.get(SHOES)
    body = body_from(mannequin, bind_palette())
    draws = deform_item(item, body, opacity=[0.0, 0.4])
    assert [d.key for d in draws] == [f"{item.id}/1"] and draws[0].opacity == pytest.approx(0.4)
    assert [d.opacity for d in deform_item(item, body, opacity=0.7)] == pytest.approx([0.7, 0.7])


def test_wire_is_thickened_far_away_and_left_alone_close_up():
    pos = np.array([[0.0, 0.0, 0.3], [0.0, 0.0, 6.0]])
    nrm = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    out = thicken_wire(pos, nrm, fx_px=600.0)
    assert np.allclose(out[0], pos[0])  # near: already wider than the minimum on screen
    grown = out[1, 0]
    assert grown > 0.002 and np.allclose(out[1, 1:], pos[1, 1:])
    # the grown wire spans about the minimum width at that depth: radius + growth -> px
    width_px = 2 * (0.001 + grown) * 600.0 / 6.0
    assert 1.0 < width_px < 3.0


# -- visibility of rigid parts ----------------------------------------------------------------------
def test_parts_whose_keypoints_are_out_of_frame_are_hidden(mannequin, catalog):
    whole = solved(mannequin, (0.0, 0.0, 3.2))  # the whole body in the frame
    close = solved(mannequin, (0.0, 0.45, 1.3))  # close up: the legs below the frame
    kp = project(close.landmarks_cam_m, K)
    assert kp[:, 1].max() > K.height  # the feet are out of frame
    for item_id, seen_close in ((SHOES, False), (GLASSES, True), (WATCH, True), (SKINNED, True)):
        item = catalog.get(item_id)
        parts = range(len(item.parts))
        assert all(part_visible(item, k, whole) for k in parts), item_id
        assert all(part_visible(item, k, close) == seen_close for k in parts), item_id


def test_one_shoe_hidden_when_only_its_foot_is_unsupported(mannequin, catalog):
    item = catalog.get(SHOES)
    body = solved(mannequin, (0.0, -0.2, 3.3))
    hidden = [k for k, p in enumerate(item.parts) if (p.bone or item.attachment.bone) == "foot.L"]
    assert len(hidden) == 1
    body.bone_confidence[BONE_INDEX["foot.L"]] = 0.5  # guessed at the edge, not seen
    assert [part_visible(item, k, body) for k in range(len(item.parts))] == [
        k not in hidden for k in range(len(item.parts))
    ]


def test_a_ring_is_shown_when_the_hand_model_found_its_finger(mannequin, catalog):
    item = catalog.get(RING)
    body = solved(mannequin, (0.0, 0.0, 3.2))
    side = (item.parts[0].bone or item.attachment.bone)[-1]
    body.bone_confidence[BONE_INDEX[f"wrist.{side}"]] = 0.0
    body.bone_confidence[BONE_INDEX[f"lowerarm02.{side}"]] = 0.0
    assert not part_visible(item, 0, body)
    body.finger_frames[f"ring_finger.{side}"] = np.eye(3, 4)
    assert part_visible(item, 0, body)


# -- the occluder -------------------------------------------------------------------------------------
def test_the_occluder_is_the_posed_body_and_drops_the_limbs_out_of_frame(mannequin):
    whole = solved(mannequin, (0.0, 0.0, 3.2))
    occ = body_occluder(mannequin, whole)
    all_faces = len(mannequin.occluder.faces)
    assert occ.key == "__body__" and len(occ.faces) == all_faces
    # the posed proxy surrounds the posed landmarks (they lie on or inside the body)
    lo, hi = occ.positions_cam_m.min(axis=0), occ.positions_cam_m.max(axis=0)
    assert (whole.landmarks_cam_m > lo - 0.05).all() and (whole.landmarks_cam_m < hi + 0.05).all()

    close = solved(mannequin, (0.0, 0.45, 1.3))  # legs below the frame
    cut = body_occluder(mannequin, close)
    assert cut.key != "__body__" and 0.5 * all_faces < len(cut.faces) < all_faces
    # what is left is the upper body: no kept face reaches below the knees, and the faces that
    # went were the legs' (all below the hips)
    y = cut.positions_cam_m[:, 1]
    knees = close.heads_cam_m[[BONE_INDEX["lowerleg01.L"], BONE_INDEX["lowerleg01.R"]], 1].min()
    hips = close.heads_cam_m[[BONE_INDEX["upperleg01.L"], BONE_INDEX["upperleg01.R"]], 1].min()
    assert y[cut.faces].max(axis=1).max() < knees
    kept = {tuple(f) for f in cut.faces.tolist()}
    dropped = np.array([f for f in mannequin.occluder.faces.tolist() if tuple(f) not in kept])
    assert len(dropped) == all_faces - len(cut.faces)
    assert (y[dropped].max(axis=1) > hips - 0.05).all()
    # the torso and head always occlude, even when the image does not support them
    close.bone_confidence[:] = 0.0
    bare = body_occluder(mannequin, close)
    assert 0 < len(bare.faces) < len(cut.faces) and bare.key != cut.key
