"""Lighting estimated from the camera frame: a dim, warm room gives a dim, warm garment."""

import cv2
import numpy as np
import pytest
from helpers import load_photo

from tryon import EngineOptions, TryOnEngine
from tryon.render.light_estimate import LightEstimator, estimate_color_and_level, estimate_direction


def dim_warm(img: np.ndarray) -> np.ndarray:
    """The same scene under a dim, warm light (linear-space gain per channel)."""
    lin = (img.astype(np.float64) / 255.0) ** 2.2
    gain = np.array([0.12, 0.25, 0.42])  # B, G, R: dim and orange
    return (np.clip(lin * gain, 0, 1) ** (1 / 2.2) * 255).round().astype(np.uint8)


def test_colour_and_level_of_the_frame():
    neutral = np.full((120, 160, 3), 118, np.uint8)  # linear ~0.18: a mid-grey scene
    color, key = estimate_color_and_level(neutral)
    assert np.allclose(color, 1.0, atol=1e-3) and key == pytest.approx(0.18, rel=0.05)
    color, key = estimate_color_and_level(dim_warm(neutral))
    assert color[0] > color[1] > color[2]  # RGB: warm
    assert key < 0.1


def test_dim_warm_room_gives_a_dim_warm_shirt():
    photo = load_photo("pixabay_yoga")
    shirts = []
    # Camera matching off: this test is about the light estimate alone (the camera's black level
    # lifts the shirt a little; its white clip is tested in test_camera_match.py).
    opts = EngineOptions(lighting="estimate", camera_match=False)
    with TryOnEngine(items=["white-tee"], options=opts) as engine:
        for frame in (photo, dim_warm(photo)):
            r = engine.process(frame)
            covered = r.garment_alpha > 0.95
            assert covered.sum() > 2000
            shirts.append(r.image[covered].astype(np.float64).mean(axis=0))  # mean BGR
    normal, warm = shirts

    def luminance(bgr):
        lin = (bgr / 255.0) ** 2.2
        return 0.0722 * lin[0] + 0.7152 * lin[1] + 0.2126 * lin[2]

    # The scene lost ~70% of its light; the shirt (whose brightness is capped in bright
    # scenes, where over-lit garments look fake) loses at least a third of its own.
    assert luminance(warm) < 0.67 * luminance(normal)
    assert warm[2] / warm[0] > 1.25 * normal[2] / normal[0]  # redder relative to blue


def test_light_direction_from_shading(mannequin):
    """A body lit from the camera's left is shaded darker on the right: the estimate points left."""
    from tryon.body.skinning import linear_blend_skinning
    from tryon.body.synthetic import forward_kinematics, place_in_camera
    from tryon.catalog.item import Material
    from tryon.frames import CameraIntrinsics
    from tryon.render.lighting import Lighting, gradient_sh
    from tryon.render.renderer import Draw, Renderer

    K = CameraIntrinsics.from_fov(320, 480, 50)
    pal = place_in_camera(forward_kinematics(mannequin, {}), 0, (0.0, 0.0, 2.6))
    v, n = linear_blend_skinning(mannequin.positions_m, mannequin.skin, pal, mannequin.normals)
    occ = mannequin.occluder
    ov, on = linear_blend_skinning(occ.positions_m, occ.skin, pal, occ.normals)
    for side in (-1.0, 1.0):  # camera x: -1 = the image's left
        light = Lighting(
            sh=gradient_sh((0.15, 0.15, 0.15), (0.1, 0.1, 0.1)),
            key_direction=np.array([side, -0.2, -0.5]) / np.linalg.norm([side, -0.2, -0.5]),
            key_color=np.array([4.0, 4.0, 4.0]),
        )
        with Renderer() as r:
            lay = r.render_layers(
                K,
                [Draw("b", v, n, mannequin.faces, material=Material("s", [0.6, 0.6, 0.6, 1]), clip_to_person=False)],
                lighting=light,
            )
        frame = lay.bgra[:, :, :3].copy()
        mask = cv2.resize(lay.bgra[:, :, 3].astype(np.float32) / 255, (160, 240))
        d, strength = estimate_direction(frame, mask, ov, on, occ.regions, K)
        assert np.sign(d[0]) == side and strength > 0.2


def test_estimate_is_smoothed_over_a_stream():
    est = LightEstimator()
    bright = np.full((120, 160, 3), 200, np.uint8)
    dark = np.full((120, 160, 3), 40, np.uint8)
    est.update(bright, 0)
    s0 = est.current.scale
    alone = LightEstimator()
    alone.update(dark, None)
    sd = alone.current.scale
    lit = est.update(dark, 250)
    s1 = est.current.scale
    assert sd < s1 < s0 and s0 - s1 < 0.5 * (s0 - sd)  # moved toward the dark room, not jumped
    # refreshed at most every interval_ms: a frame 30 ms later reuses the same Lighting
    assert est.update(bright, 280) is lit and est.current.scale == s1
    est.reset()
    est.update(dark, None)
    assert est.current.scale == sd


def test_each_value_over_its_groups_median_as_numpy_gives_it():
    from tryon.render.light_estimate import _over_group_median

    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for n in (1, 2, 7, 120, 401):
            values = rng.random(n).astype(dtype)
            groups = rng.integers(0, 12, n)
            expected = np.empty_like(values)
            for g in np.unique(groups):
                sel = groups == g
                expected[sel] = values[sel] / max(float(np.median(values[sel])), 1e-6)
            assert np.array_equal(_over_group_median(values, groups), expected), (dtype, n)
