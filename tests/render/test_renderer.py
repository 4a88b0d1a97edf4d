import numpy as np
import pytest
from helpers import quad_draw

from tryon.frames import CameraIntrinsics, project
from tryon.render.compositor import Compositor
from tryon.render.lighting import Lighting
from tryon.render.renderer import Renderer, RenderOptions

K = CameraIntrinsics.from_fov(320, 240, 60)


quad = quad_draw


@pytest.fixture(scope="module")
def renderer():
    r = Renderer(RenderOptions(samples=0))
    yield r
    r.close()


def test_quad_lands_where_the_camera_projects_it(renderer):
    q = quad(-0.2, -0.1, 0.3, 0.2, 2.0, "q")
    lay = renderer.render_layers(K, [q])
    cov = lay.bgra[:, :, 3] > 127
    (u0, v0), (u1, v1) = project(np.array([[-0.2, -0.1, 2.0], [0.3, 0.2, 2.0]]), K)
    rows, cols = np.nonzero(cov)
    assert abs(cols.min() - u0) <= 1 and abs(cols.max() + 1 - u1) <= 1
    assert abs(rows.min() - v0) <= 1 and abs(rows.max() + 1 - v1) <= 1  # row 0 = image top: no flip
    assert np.allclose(lay.depth_m[cov], 2.0, atol=1e-3)
    assert np.isinf(lay.depth_m[~cov]).all()


def test_occluder_hides_what_is_behind_it(renderer):
    item = quad(-0.3, -0.3, 0.3, 0.3, 2.0, "item")
    body = quad(-0.1, -0.1, 0.1, 0.1, 1.5, "body")
    lay = renderer.render_layers(K, [item], occluder=body)
    u, v = project(np.array([0.0, 0.0, 2.0]), K).astype(int)
    assert lay.bgra[v, u, 3] == 0  # hidden by the body in front
    u2, v2 = project(np.array([0.2, 0.2, 2.0]), K).astype(int)
    assert lay.bgra[v2, u2, 3] == 255
    behind = quad(-0.1, -0.1, 0.1, 0.1, 2.5, "behind")  # an occluder behind the item hides nothing
    lay = renderer.render_layers(K, [item], occluder=behind)
    assert lay.bgra[v, u, 3] == 255


def test_two_draws_under_one_key_are_both_drawn_where_they_are(renderer):
    """The frame's vertices go up before its first draw; a key drawn twice (the same mesh in two
    places) still gets each draw's own vertices."""
    left = quad(-0.4, -0.1, -0.2, 0.1, 2.0, "twice")
    right = quad(0.2, -0.1, 0.4, 0.1, 2.0, "twice")
    layer = renderer.render_items(K, [left, right])
    full = renderer.render_layers(K, [left, right]).bgra[:, :, 3]
    for x in (-0.3, 0.3):
        u, v = project(np.array([x, 0.0, 2.0]), K).astype(int)
        assert full[v, u] == 255, x
    x0, y0, _, _ = layer.roi
    h, w = layer.bgra.shape[:2]
    assert np.array_equal(layer.bgra[:, :, 3], full[y0 : y0 + h, x0 : x0 + w])


def test_items_layer_covers_only_the_items_region(renderer):
    item = quad(-0.3, -0.2, 0.3, 0.25, 2.0, "item")
    layer = renderer.render_items(K, [item])
    (u0, v0), (u1, v1) = project(np.array([[-0.3, -0.2, 2.0], [0.3, 0.25, 2.0]]), K)
    x0, y0, x1, y1 = layer.roi
    assert x0 <= u0 and y0 <= v0 and x1 >= u1 and y1 >= v1
    assert x1 - x0 < u1 - u0 + 10 and y1 - y0 < v1 - v0 + 10
    full = renderer.render_layers(K, [item]).bgra
    assert np.array_equal(layer.bgra, full[y0:y1, x0:x1])
    assert full[:, :x0].max() == 0 and full[:y0].max() == 0
    assert renderer.render_items(K, []).empty


def test_composite_is_premultiplied_over_and_mirrors(renderer):
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:, :, 0] = 200  # blue in BGR
    frame[:, :160, 1] = 100
    mask = np.full((240, 320), 0.5, np.float32)  # half coverage wherever the item is
    item = quad(-0.3, -0.3, 0.3, 0.3, 2.0, "item")
    item.clip_to_person = True
    layer = renderer.render_items(K, [item], person_mask=mask, lighting=Lighting.studio())
    out = Compositor().composite(frame, layer)
    u, v = project(np.array([0.0, 0.0, 2.0]), K).astype(int)
    x0, y0 = layer.roi[:2]
    premult = layer.bgra[v - y0, u - x0, :3].astype(float)  # already times alpha
    assert layer.bgra[v - y0, u - x0, 3] == pytest.approx(128, abs=1)
    expect = frame[v, u] * (1 - layer.bgra[v - y0, u - x0, 3] / 255) + premult
    assert np.abs(out.image[v, u] - expect).max() <= 1
    assert out.alpha[v, u] == pytest.approx(0.5, abs=0.01)
    assert (out.image[5, 5] == frame[5, 5]).all() and out.alpha[5, 5] == 0  # untouched outside
    assert out.image.dtype == np.uint8 and out.alpha.dtype == np.float32
    mirrored = Compositor().composite(frame, layer, mirror=True)
    assert np.array_equal(mirrored.image, out.image[:, ::-1])
    assert np.array_equal(mirrored.alpha, out.alpha[:, ::-1])


def test_opaque_item_replaces_the_frame_exactly(renderer):
    frame = np.full((240, 320, 3), 77, np.uint8)
    layer = renderer.render_items(K, [quad(-0.3, -0.3, 0.3, 0.3, 2.0, "item")])
    out = Compositor().composite(frame, layer)
    u, v = project(np.array([0.0, 0.0, 2.0]), K).astype(int)
    x0, y0 = layer.roi[:2]
    assert np.array_equal(out.image[v, u], layer.bgra[v - y0, u - x0, :3]) and out.alpha[v, u] == 1.0


def test_msaa_softens_edges():
    item = quad(-0.3, -0.31, 0.3, 0.3, 2.0, "tilted")
    item.positions_cam_m[1, 1] += 0.1  # a slanted edge
    with Renderer(RenderOptions(samples=4)) as r:
        a = r.render_layers(K, [item]).bgra[:, :, 3]
    partial = ((a > 0) & (a < 255)).sum()
    assert partial > 20


def test_a_closed_renderer_refuses_to_draw_and_others_keep_drawing(renderer):
    q = quad(-0.2, -0.1, 0.3, 0.2, 2.0, "q")
    r = Renderer(RenderOptions(samples=0))
    assert r.render_layers(K, [q]).bgra[:, :, 3].max() == 255
    r.close()
    r.close()  # twice is safe
    with pytest.raises(RuntimeError, match="closed"):
        r.render_layers(K, [q])
    with pytest.raises(RuntimeError, match="closed"):
        r.render_items(K, [q])
    with Renderer(RenderOptions(samples=0)) as r2:
        assert not r2.render_items(K, [q]).empty
    with pytest.raises(RuntimeError, match="closed"):
        r2.render_items(K, [q])
    # closing those released their own GL objects only: another renderer draws as before
    assert renderer.render_layers(K, [q]).bgra[:, :, 3].max() == 255


@pytest.mark.slow
def test_pyrender_reference_agrees_on_silhouette_and_depth(mannequin, tmp_path):
    """The same posed garment and camera through pyrender (an independent renderer) and
    ours: same silhouette and depth, which pins our projection and camera conventions.

    pyrender always renders with 4x MSAA, so ours does too and silhouettes compare the
    resolved coverage (alpha > 1/2); depth compares away from the edges. pyrender runs in
    its own process (see pyrender_reference.py)."""
    pytest.importorskip("pyrender")
    import subprocess
    import sys
    from pathlib import Path

    import cv2

    from tryon import Catalog
    from tryon.body.solver import RigSolver
    from tryon.body.synthetic import arm_pose, forward_kinematics, place_in_camera, synthetic_person
    from tryon.deform import deform_item

    Kr = CameraIntrinsics.from_fov(640, 480, 55)
    pal = place_in_camera(forward_kinematics(mannequin, arm_pose(40)), 25, (0.05, 0.1, 2.6))
    body = RigSolver(mannequin).solve(synthetic_person(mannequin, pal, Kr).pose, Kr)
    draw = deform_item(Catalog().get("navy-longsleeve"), body)[0]
    draw.clip_to_person = False
    with Renderer(RenderOptions(samples=4)) as r:
        ours = r.render_layers(Kr, [draw])

    src, dst = tmp_path / "mesh.npz", tmp_path / "ref.npz"
    np.savez(
        src,
        positions=draw.positions_cam_m,
        faces=draw.faces,
        K=np.array([Kr.fx, Kr.fy, Kr.cx, Kr.cy, Kr.width, Kr.height]),
    )
    script = Path(__file__).with_name("pyrender_reference.py")
    proc = subprocess.run(
        [sys.executable, str(script), str(src), str(dst)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    with np.load(dst) as ref_data:
        ref_color, ref_depth = ref_data["color"], ref_data["depth"]
    ref = ref_color[:, :, 3] > 127
    mine = ours.bgra[:, :, 3] > 127
    assert mine.sum() > 10000
    iou = (ref & mine).sum() / (ref | mine).sum()
    assert iou >= 0.98, iou
    inner = cv2.erode((ref & mine).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    dz = np.abs(ours.depth_m[inner] - ref_depth[inner])
    assert np.median(dz) < 1e-3 and np.percentile(dz, 95) < 5e-3, (np.median(dz), np.percentile(dz, 95))


def test_edge_aware_resolve_softens_hard_edges_only(renderer):
    from tryon.render.compositor import smooth_edges

    item = quad(-0.3, -0.31, 0.3, 0.3, 2.0, "tilted2")
    item.positions_cam_m[1, 1] += 0.1
    layer = renderer.render_items(K, [item])
    hard = layer.bgra[:, :, 3]
    assert ((hard > 0) & (hard < 255)).sum() == 0  # no MSAA: binary coverage
    soft = smooth_edges(layer.bgra)[:, :, 3]
    partial = (soft > 0) & (soft < 255)
    assert partial.sum() > 50
    interior = hard == 255
    interior[1:-1] &= interior[:-2] & interior[2:]
    interior[:, 1:-1] &= interior[:, :-2] & interior[:, 2:]
    assert (soft[interior] == 255).all()
