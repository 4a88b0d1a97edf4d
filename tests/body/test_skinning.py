import numpy as np
import pytest

from tryon.body.mannequin import SkinWeights
from tryon.body.rotations import axis_angle
from tryon.body.skeleton import NUM_BONES
from tryon.body.skinning import dual_quaternion_skinning, linear_blend_skinning, rigid_transform


def _palette(rots, trans):
    return np.concatenate([np.asarray(rots), np.asarray(trans)[:, :, None]], axis=2).astype(np.float32)


def test_identity_palette_returns_input(mannequin):
    J = NUM_BONES
    pal = _palette(np.tile(np.eye(3), (J, 1, 1)), np.zeros((J, 3)))
    v, n = linear_blend_skinning(mannequin.positions_m, mannequin.skin, pal, mannequin.normals)
    assert v.shape == mannequin.positions_m.shape and v.dtype == np.float32
    assert np.allclose(v, mannequin.positions_m, atol=1e-6)
    assert np.allclose(n, mannequin.normals, atol=1e-5)


def test_lbs_blends_two_bones():
    pos = np.array([[1.0, 0, 0]], np.float32)
    skin = SkinWeights(np.array([[0, 1]], np.int32), np.array([[0.25, 0.75]], np.float32))
    pal = _palette([np.eye(3), np.eye(3)], [[0, 0, 0], [0, 4, 0]])
    v, _ = linear_blend_skinning(pos, skin, pal)
    assert np.allclose(v, [[1, 3, 0]])


def _twisted_tube(angle):
    """A tube along x, half on bone 0 (still) and half on bone 1 (twisted about x)."""
    theta = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    xs = np.linspace(-1, 1, 21)
    pos = np.array([[x, np.cos(t), np.sin(t)] for x in xs for t in theta], np.float32)
    w1 = np.clip((pos[:, 0] + 0.5), 0, 1)
    skin = SkinWeights(np.tile([0, 1], (len(pos), 1)).astype(np.int32), np.stack([1 - w1, w1], 1).astype(np.float32))
    R = np.stack([np.eye(3), axis_angle([1, 0, 0], angle)])
    return pos, skin, R


def test_dqs_keeps_volume_where_lbs_collapses():
    pos, skin, R = _twisted_tube(np.pi * 0.95)
    pal = _palette(R, np.zeros((2, 3)))
    lbs, _ = linear_blend_skinning(pos, skin, pal)
    dqs, _ = dual_quaternion_skinning(pos, skin, R, np.zeros((2, 3)))
    mid = np.abs(pos[:, 0]) < 0.05
    r_lbs = np.linalg.norm(lbs[mid, 1:], axis=1)
    r_dqs = np.linalg.norm(dqs[mid, 1:], axis=1)
    assert r_lbs.mean() < 0.2  # candy wrapper
    assert np.allclose(r_dqs, 1.0, atol=1e-4)


def test_dqs_matches_lbs_for_rigid_single_bone(mannequin):
    J = NUM_BONES
    R = np.tile(axis_angle([0.3, 1, 0.2], 0.7), (J, 1, 1))
    t = np.tile([0.1, -0.2, 2.0], (J, 1))
    lbs, _ = linear_blend_skinning(mannequin.positions_m, mannequin.skin, _palette(R, t))
    dqs, _ = dual_quaternion_skinning(mannequin.positions_m, mannequin.skin, R, t)
    assert np.allclose(lbs, dqs, atol=1e-4)


def test_lbs_matches_the_blended_palette_formula(mannequin):
    """The compiled pass gives what the vectorised definition does: per vertex, its bones' maps
    blended by weight (float32), applied to the position; the normal by the linear part,
    renormalised."""
    rng = np.random.default_rng(3)
    J = NUM_BONES
    R = np.stack([axis_angle(rng.normal(size=3), rng.uniform(0, 2)) for _ in range(J)])
    pal = _palette(R * rng.uniform(0.8, 1.2, (J, 1, 1)), rng.normal(size=(J, 3)))
    v, n = linear_blend_skinning(mannequin.positions_m, mannequin.skin, pal, mannequin.normals)
    m = np.einsum("vk,vkc->vc", mannequin.skin.weights, pal.reshape(J, 12)[mannequin.skin.bones]).reshape(-1, 3, 4)
    p = mannequin.positions_m.astype(np.float32)
    want_v = np.einsum("vij,vj->vi", m[:, :, :3], p) + m[:, :, 3]
    want_n = np.einsum("vij,vj->vi", m[:, :, :3], mannequin.normals.astype(np.float32))
    want_n /= np.linalg.norm(want_n, axis=1, keepdims=True)
    assert np.allclose(v, want_v, atol=1e-6)
    assert np.allclose(n, want_n, atol=1e-6)
    v_only, none = linear_blend_skinning(mannequin.positions_m, mannequin.skin, pal)
    assert none is None and np.array_equal(v_only, v)


def test_lbs_refuses_mismatched_inputs(mannequin):
    pal = _palette(np.tile(np.eye(3), (NUM_BONES, 1, 1)), np.zeros((NUM_BONES, 3)))
    with pytest.raises(ValueError):
        linear_blend_skinning(mannequin.positions_m[:-1], mannequin.skin, pal)
    with pytest.raises(ValueError):
        linear_blend_skinning(mannequin.positions_m, mannequin.skin, pal[:3])


def test_rigid_transform_matches_the_matrix_product():
    rng = np.random.default_rng(5)
    pos = rng.normal(size=(500, 3)).astype(np.float32)
    nrm = rng.normal(size=(500, 3)).astype(np.float32)
    T = np.concatenate([axis_angle(rng.normal(size=3), 1.1) * 1.3, rng.normal(size=(3, 1))], axis=1)
    A = T[:, :3].astype(np.float32)
    want_p = pos @ A.T + T[:, 3].astype(np.float32)
    want_n = nrm @ np.linalg.inv(A).T.astype(np.float32)
    want_n /= np.linalg.norm(want_n, axis=1, keepdims=True)
    got_p, got_n = rigid_transform(pos, T, nrm)
    assert got_p.dtype == np.float32 and np.allclose(got_p, want_p, atol=1e-6)
    assert np.allclose(got_n, want_n, atol=1e-6)
    assert rigid_transform(pos, T)[1] is None
