"""Item presentation on its own: the outfit's fade, the last-body fallback, per-part fades."""

from types import SimpleNamespace

import pytest

from tryon.frames import CameraIntrinsics
from tryon.presentation import ItemPresentation

K = CameraIntrinsics.from_fov(640, 480)


def _item(item_id="shoe", parts=2):
    return SimpleNamespace(id=item_id, parts=[object()] * parts)


def _body(K=K):
    return SimpleNamespace(intrinsics=K)


def test_outfit_fades_in_and_out_in_a_stream_and_switches_at_once_in_a_still():
    p = ItemPresentation(fade_in_ms=200, fade_out_ms=100)
    assert p.outfit_opacity(True, None) == 1.0 and p.outfit_opacity(False, None) == 0.0
    p.reset()
    assert p.outfit_opacity(True, 0) == 1.0  # the stream's first frame: no time step yet
    assert p.outfit_opacity(False, 50) == pytest.approx(0.5)
    assert p.outfit_opacity(True, 100) == pytest.approx(0.75)
    assert p.outfit_opacity(False, 300) == 0.0


def test_last_body_is_drawn_while_fading_out_only_with_the_same_camera():
    p = ItemPresentation(fade_in_ms=0, fade_out_ms=100)
    body = _body()
    assert p.body_to_draw(body, 1.0, K) is body
    assert p.body_to_draw(None, 0.5, K) is body  # lost: fading out where last seen
    assert p.body_to_draw(None, 0.5, CameraIntrinsics.from_fov(320, 240)) is None  # another camera
    assert p.body_to_draw(None, 0.0, K) is None  # faded out: forgotten
    assert p.body_to_draw(None, 0.5, K) is None  # ... for good
    p.body_to_draw(body, 1.0, K)
    p.reset()
    assert p.body_to_draw(None, 0.5, K) is None


def test_a_part_fades_as_its_body_part_leaves_view():
    seen = {"shoe": [True, True]}
    p = ItemPresentation(part_fade_ms=100, part_visible=lambda item, k, body: seen[item.id][k])
    shoe, body = _item(), _body()
    assert p.part_opacities([shoe], body, 1.0, 0) == [[1.0, 1.0]]
    seen["shoe"][1] = False
    assert p.part_opacities([shoe], body, 1.0, 25) == [[1.0, pytest.approx(0.75)]]
    assert p.part_opacities([shoe], body, 0.5, 50) == [[0.5, pytest.approx(0.25)]]  # times the outfit's
    assert p.part_opacities([shoe], body, 1.0, 200) == [[1.0, 0.0]]
    seen["shoe"][1] = True
    assert p.part_opacities([shoe], body, 1.0, 200) == [[1.0, 1.0]]  # no time step: at once
    assert p.part_opacities([shoe], body, 1.0, None) == [[1.0, 1.0]]


def test_parts_of_two_items_fade_independently():
    seen = {"a": [False], "b": [True]}
    p = ItemPresentation(part_fade_ms=100, part_visible=lambda item, k, body: seen[item.id][k])
    a, b = _item("a", 1), _item("b", 1)
    assert p.part_opacities([a, b], _body(), 1.0, 0) == [[0.0], [1.0]]
    seen["a"][0], seen["b"][0] = True, False
    assert p.part_opacities([a, b], _body(), 1.0, 50) == [[pytest.approx(0.5)], [pytest.approx(0.5)]]
