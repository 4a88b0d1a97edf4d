"""One broken mesh at render time is skipped with a warning; the others are drawn as alone."""

import logging

import numpy as np
import pytest
from helpers import quad_draw

from tryon.frames import CameraIntrinsics
from tryon.render.renderer import Draw, Renderer, RenderOptions

K = CameraIntrinsics.from_fov(320, 240, 60)


quad = quad_draw


@pytest.fixture(scope="module")
def renderer():
    r = Renderer(RenderOptions(samples=0))
    yield r
    r.close()


def _broken(kind: str) -> Draw:
    d = quad(-0.5, -0.4, 0.5, 0.4, 1.5, f"broken-{kind}")
    if kind == "nan":
        d.positions_cam_m[1, 0] = np.nan
    elif kind == "inf-normal":
        d.normals_cam[2] = np.inf
    elif kind == "faces":
        d.faces = np.array([[0, 2, 1], [0, 3, 7]], np.int32)
    return d


@pytest.mark.parametrize("kind", ["nan", "inf-normal", "faces"])
def test_a_broken_draw_is_skipped_and_the_other_drawn(renderer, caplog, kind):
    good = quad(-0.2, -0.1, 0.3, 0.2, 2.0, "good")
    alone = renderer.render_items(K, [good])
    with caplog.at_level(logging.WARNING, logger="tryon.render.renderer"):
        both = renderer.render_items(K, [_broken(kind), good])
        again = renderer.render_items(K, [good, _broken(kind)])
    assert both.roi == alone.roi and np.array_equal(both.bgra, alone.bgra)
    assert np.array_equal(again.bgra, alone.bgra)
    assert alone.bgra[..., 3].max() == 255
    warned = [r.getMessage() for r in caplog.records if f"broken-{kind}" in r.getMessage()]
    assert len(warned) == 1  # once per mesh, not once per frame
    layers = renderer.render_layers(K, [_broken(kind), good])
    assert np.array_equal(layers.bgra, renderer.render_layers(K, [good]).bgra)


def test_a_broken_occluder_is_dropped_not_the_items(renderer):
    good = quad(-0.2, -0.1, 0.3, 0.2, 2.0, "good")
    occ = quad(-0.1, -0.1, 0.1, 0.1, 1.5, "body-broken")
    occ.positions_cam_m[0, 2] = np.nan
    layer = renderer.render_items(K, [good], occluder=occ)
    assert np.array_equal(layer.bgra, renderer.render_items(K, [good]).bgra)


def test_draw_problem_names_what_is_wrong():
    assert quad(0, 0, 1, 1, 2.0, "ok").problem() is None
    assert "non-finite" in _broken("nan").problem()
    assert "non-finite" in _broken("inf-normal").problem()
    assert "faces" in _broken("faces").problem()
