import numpy as np

from tryon.body import makehuman as mh
from tryon.body.skeleton import BONE_NAMES, NUM_BONES, PARENTS, reduce_bone
from tryon.pose.landmarks import L


def test_body_geometry():
    from tryon.body.mannequin import load_mannequin

    m = load_mannequin(calibrated=False)
    assert m.positions_m.shape == (13380, 3) and m.faces.shape == (26756, 3)
    assert 1.6 < m.height_m < 1.75  # the hm08 body in metres
    nose = m.landmarks.bind_m[L.NOSE]
    assert nose[2] > 0.12 and abs(nose[0]) < 1e-6  # faces +z, on the midline
    assert m.landmarks.bind_m[L.LEFT_SHOULDER][0] > 0  # +x is the mannequin's left


def test_reduced_weights_are_normalised_and_merge_descendants(mannequin):
    w = mannequin.skin.weights
    assert np.allclose(w.sum(1), 1.0, atol=1e-5)
    assert mannequin.skin.bones.max() < NUM_BONES
    skel = mh.read_mhskel()
    parent_of = dict(zip(skel.names, skel.parents))
    assert reduce_bone("finger3-2.L", parent_of) == "wrist.L"
    assert reduce_bone("toe1-1.R", parent_of) == "foot.R"
    assert reduce_bone("jaw", parent_of) == "head"
    # fingertip vertices ride the hand
    tip = mannequin.landmarks.bind_m[L.LEFT_INDEX]
    near = np.linalg.norm(mannequin.positions_m - tip, axis=1) < 0.02
    hand = BONE_NAMES.index("wrist.L")
    assert (mannequin.skin.bones[near, 0] == hand).mean() > 0.6


def test_hierarchy_is_ordered():
    assert PARENTS[0] == -1
    assert all(PARENTS[j] < j for j in range(1, NUM_BONES))


def test_landmarks_lie_on_or_inside_the_body(mannequin):
    pts = mannequin.landmarks.bind_m
    d = np.min(np.linalg.norm(mannequin.positions_m[None, :, :] - pts[:, None, :], axis=2), axis=1)
    assert d.max() < 0.08, d  # joints sit inside limbs, surface points on the skin


def test_mhclo_ranges_parse():
    assert mh._parse_ranges(["1", "3", "-", "5", "9-10"], "x").tolist() == [1, 3, 4, 5, 9, 10]


def test_landmark_calibration_is_small_and_symmetric(mannequin):
    """The fitted anchor offsets (tools/calibrate_landmarks.py) move landmarks by a few
    centimetres at most, and mirror images of each other on the two sides."""
    from tryon.body.mannequin import load_mannequin
    from tryon.pose.landmarks import MIRROR

    raw = load_mannequin(calibrated=False).landmarks.bind_m
    delta = mannequin.landmarks.bind_m - raw
    assert np.abs(delta).max() <= 0.06
    assert np.abs(delta).max() > 0.005  # the calibration is in use
    mirrored = delta[MIRROR] * [-1, 1, 1]
    assert np.abs(delta - mirrored).max() < 0.025
