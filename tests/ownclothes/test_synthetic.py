"""The own-clothes stage against synthetic truth: the mannequin in a wide green outfit of its
own (coat, trousers, big shoes) before a known backdrop, trying on a fitted top, jeans and
sneakers (see :mod:`tryon.ownclothes.truth`). Real GL renders, the real rig solve."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from tryon.body.synthetic import arm_pose, forward_kinematics, place_in_camera
from tryon.frames import CameraIntrinsics
from tryon.ownclothes import OwnClothesOptions, OwnClothesRemover
from tryon.ownclothes.stage import EMPTY_FRAMES
from tryon.ownclothes.truth import background, dressed_scene, fill_error, leak_share, try_on
from tryon.render.compositor import Compositor

K = CameraIntrinsics.from_fov(640, 480, 55)
ITEMS = ("navy-longsleeve", "blue-jeans", "worn-sneakers")
POSES = {
    "front": dict(raise_deg=15, yaw=0, pos=(0.0, 0.05, 3.4)),
    "turned_arms_down": dict(raise_deg=-5, yaw=20, pos=(0.0, 0.05, 3.4)),
    "arms_up_aside": dict(raise_deg=40, yaw=-30, pos=(0.3, 0.05, 3.0)),
}


@pytest.fixture(scope="module")
def gl():
    from tryon.render.renderer import Renderer

    with Renderer() as r:
        yield r


@pytest.fixture(scope="module")
def items():
    from tryon import Catalog

    cat = Catalog()
    return [cat.get(i) for i in ITEMS]


class Case:
    """One synthetic frame dressed, solved and with the items rendered (:func:`try_on`)."""

    def __init__(self, mannequin, gl, items, raise_deg, yaw, pos, seed=1, backdrop=None):
        bg = background(640, 480, seed) if backdrop is None else backdrop
        pal = place_in_camera(forward_kinematics(mannequin, arm_pose(raise_deg)), yaw, pos)
        trial = try_on(mannequin, dressed_scene(mannequin, pal, K, gl, bg), K, gl, items)
        self.scene, self.body, self.posed, self.layer = trial.scene, trial.body, trial.items, trial.layer
        self.comp = Compositor()

    def composite(self, image):
        c = self.comp.composite(image, self.layer)
        return c.image, c.alpha

    def leak(self, image):
        out, alpha = self.composite(image)
        return leak_share(self.scene, out, alpha)

    def error(self, image):
        out, alpha = self.composite(image)
        return fill_error(self.scene, out, alpha)


@pytest.fixture(scope="module")
def cases(mannequin, gl, items):
    return {name: Case(mannequin, gl, items, **p) for name, p in POSES.items()}


@pytest.mark.parametrize("name", list(POSES))
def test_with_a_clean_plate_the_wide_outfit_is_gone_and_the_backdrop_is_back(mannequin, cases, name):
    case = cases[name]
    # Without the stage the wide outfit shows beside the items: the test can fail.
    assert case.leak(case.scene.frame) > 0.3
    stage = OwnClothesRemover(mannequin)
    for _ in range(EMPTY_FRAMES + 1):  # the kiosk's empty scene between shoppers
        stage.observe(case.scene.background, None)
    out = stage.apply(case.scene.frame, case.scene.pose, case.body, case.posed)
    assert out.from_plate > 0.99
    leak, err = case.leak(out.image), case.error(out.image)
    assert leak <= 0.02, leak
    assert err <= 6.0, err


@pytest.mark.parametrize("name", list(POSES))
def test_inpainted_without_a_plate(mannequin, cases, name):
    case = cases[name]
    stage = OwnClothesRemover(mannequin)
    still = stage.apply(case.scene.frame, case.scene.pose, case.body, case.posed, stream=False)
    assert still.from_plate == 0.0
    assert case.leak(still.image) <= 0.05
    first = stage.apply(case.scene.frame, case.scene.pose, case.body, case.posed, stream=True)
    assert case.leak(first.image) <= 0.05
    # The fill looks like the backdrop around the shopper, not the outfit's green.
    assert case.error(still.image) <= 20.0, case.error(still.image)


def test_the_shopper_is_never_eaten(mannequin, cases):
    """The bare body (head, hands, the skin the outfit leaves bare) comes out unchanged."""
    case = cases["front"]
    stage = OwnClothesRemover(mannequin)
    out = stage.apply(case.scene.frame, case.scene.pose, case.body, case.posed, stream=False)
    bare = case.scene.body & ~case.scene.outfit
    assert bare.sum() > 1000
    changed = cv2.absdiff(out.image, case.scene.frame).max(axis=2) > 12
    # At most the soft edge where the removed sleeve meets the wrist or the collar the neck.
    assert (changed & bare).sum() <= 0.03 * bare.sum()
    inner = cv2.erode(bare.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert not (changed & inner).any()


def test_a_guessed_arm_removes_nothing_around_it(mannequin, cases):
    """An arm the image does not support, guessed where the person is not (raised, while the
    shopper's hangs): around it the stage removes nothing; where the guess lies on the person
    it is trusted."""
    from tryon.body.skeleton import BONE_INDEX

    case = cases["front"]
    arm = [BONE_INDEX[b] for b in ("upperarm01.L", "upperarm02.L", "lowerarm01.L", "lowerarm02.L", "wrist.L")]
    conf = case.body.bone_confidence.copy()
    conf[arm] = 0.5
    raised = place_in_camera(forward_kinematics(mannequin, arm_pose(75)), 0, POSES["front"]["pos"])
    palette = case.body.palette.copy()
    palette[arm] = raised[arm]
    stage = OwnClothesRemover(mannequin)
    sure = stage.apply(case.scene.frame, case.scene.pose, case.body, case.posed, stream=False).removal.mask
    on_person = replace(case.body, bone_confidence=conf)
    trusted = stage.apply(case.scene.frame, case.scene.pose, on_person, case.posed, stream=False).removal.mask
    assert np.array_equal(trusted, sure)
    guessed = replace(case.body, bone_confidence=conf, palette=palette)
    less = stage.apply(case.scene.frame, case.scene.pose, guessed, case.posed, stream=False).removal.mask
    assert (less > 0).sum() < 0.9 * (sure > 0).sum()
    assert not ((less > 0) & (sure == 0)).any()


def test_switched_off_it_changes_nothing(mannequin, cases):
    case = cases["front"]
    stage = OwnClothesRemover(mannequin, OwnClothesOptions(enabled=False))
    out = stage.apply(case.scene.frame, case.scene.pose, case.body, case.posed)
    assert np.array_equal(out.image, case.scene.frame)


def test_a_missed_detection_or_two_does_not_bake_the_shopper_into_the_plate(mannequin, cases):
    case = cases["front"]
    stage = OwnClothesRemover(mannequin)
    for _ in range(EMPTY_FRAMES - 1):
        stage.observe(case.scene.frame, None)  # the shopper is there, the pose model missed them
    assert stage.plate.plate() is None


def test_the_real_shoes_outside_the_virtual_ones_go(mannequin, gl):
    from tryon import Catalog

    case = Case(mannequin, gl, [Catalog().get("worn-sneakers")], **POSES["front"])
    feet_rows = np.zeros(case.scene.outfit.shape, bool)
    ys = np.nonzero(case.scene.outfit.any(axis=1))[0]
    feet_rows[ys[-1] - 30 :] = True  # the bottom of the figure: the shoes
    before, alpha = case.composite(case.scene.frame)
    shoe = case.scene.outfit & feet_rows & ~case.scene.body & (alpha <= 0.5)
    assert shoe.sum() > 200
    stage = OwnClothesRemover(mannequin)
    out = stage.apply(case.scene.frame, case.scene.pose, case.body, case.posed, stream=False)
    after, _ = case.composite(out.image)
    unchanged = cv2.absdiff(after, case.scene.frame).max(axis=2) <= 12
    assert (shoe & unchanged).sum() <= 0.1 * shoe.sum()


def test_stream_plate_learns_from_where_the_shopper_is_not(mannequin, gl, items):
    """No empty frames: the shopper walks across; each pixel is learnt once uncovered."""
    bg = background(640, 480, 3)
    stage = OwnClothesRemover(mannequin)
    for x in (-0.9, -0.5, 0.5, 0.9):
        c = Case(mannequin, gl, items, 15, 0, (x, 0.05, 3.4), backdrop=bg)
        for _ in range(4):  # a slow walk: a few frames at each place
            stage.apply(c.scene.frame, c.scene.pose, c.body, c.posed)
    case = Case(mannequin, gl, items, 15, 0, (0.0, 0.05, 3.4), backdrop=bg)
    out = stage.apply(case.scene.frame, case.scene.pose, case.body, case.posed)
    assert out.from_plate > 0.9  # the rest (always hidden) inpainted
    assert case.leak(out.image) <= 0.02
    assert case.error(out.image) <= 6.0


def test_plate_follows_the_light_and_starts_over_when_the_camera_moves(mannequin, gl, items):
    bg = background(640, 480, 4)
    case = Case(mannequin, gl, items, **POSES["front"], backdrop=bg)
    stage = OwnClothesRemover(mannequin)
    for _ in range(EMPTY_FRAMES + 1):
        stage.observe(bg, None)
    # The room gets 12% brighter: the shopper's frame and the backdrop alike.
    bright = cv2.convertScaleAbs(case.scene.frame, alpha=1.12)
    for _ in range(6):
        out = stage.apply(bright, case.scene.pose, case.body, case.posed)
    truth = replace(case.scene, frame=bright, background=cv2.convertScaleAbs(bg, alpha=1.12))
    comp, alpha = case.composite(out.image)
    assert fill_error(truth, comp, alpha) <= 6.0
    # The camera turns: the scene is another one. The plate starts over within a few updates.
    moved = np.roll(bg, 120, axis=1)
    for _ in range(3 * stage.plate.options.update_every * stage.plate.options.change_strikes):
        stage.observe(moved, None)
    assert stage.plate.restarts >= 1
    assert np.abs(stage.plate.plate().astype(int) - moved).mean() < 2.0


def test_inpainting_holds_still_on_a_still_shopper(mannequin, cases):
    """Camera noise on a still shopper: the live fill does not shimmer."""
    case = cases["front"]
    stage = OwnClothesRemover(mannequin)
    rng = np.random.default_rng(0)
    outs = []
    for _ in range(6):
        noisy = np.clip(case.scene.frame + rng.normal(0, 4, case.scene.frame.shape), 0, 255).astype(np.uint8)
        res = stage.apply(noisy, case.scene.pose, case.body, case.posed, stream=True)
        outs.append((res.image.astype(np.float32), res.removal.to_frame() > 0.99))
    a, m = outs[-2]
    b, _ = outs[-1]
    assert m.sum() > 1000
    # Frame-to-frame change of the filled pixels well under the camera noise itself (4 levels).
    assert np.abs(a - b)[m].mean() < 1.5


def _opencv_push_pull(img: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The push-pull fill as it was written with numpy and OpenCV before its numba kernels."""
    wgt = valid.astype(np.float32)
    levels = [cv2.merge([*cv2.split(img.astype(np.float32) * wgt[:, :, None]), wgt])]
    while min(levels[-1].shape[:2]) > 2:
        levels.append(cv2.pyrDown(levels[-1]))
    top = levels[-1]
    m = top[:, :, 3:]
    out = top[:, :, :3] / np.maximum(m, 1e-6)
    for level in reversed(levels[:-1]):
        m = level[:, :, 3:]
        up = cv2.pyrUp(out, dstsize=(m.shape[1], m.shape[0]))
        out = up + np.minimum(m * 2.0, 1.0) * (level[:, :, :3] / np.maximum(m, 1e-6) - up)
    return out


def test_the_push_pull_kernels_fill_as_the_opencv_steps_did(cases):
    from tryon.ownclothes.fill import push_pull

    frame = cv2.resize(cases["front"].scene.frame, (160, 120), interpolation=cv2.INTER_AREA)
    hole = np.zeros((120, 160), bool)
    hole[20:100, 50:110] = True
    got, want = push_pull(frame, ~hole), _opencv_push_pull(frame, ~hole)
    assert np.abs(got - want).max() < 1e-3
    assert np.abs(got[hole] - frame[hole]).mean() > 5  # the hole was filled, not left as it was


@pytest.mark.parametrize("plate", ["learnt", "partly", "none"])
def test_the_one_pass_blend_matches_the_opencv_steps(mannequin, cases, monkeypatch, plate):
    """The fused kernel (mask and fills brought up to the frame only where something is removed,
    blended there) gives the frame the OpenCV steps give, within a grey level: from the plate,
    from the plate and inpainting (the plate knows only part of what is removed), inpainted."""
    import tryon.ownclothes.stage as stage_module

    case = cases["arms_up_aside"]

    def run():
        stage = OwnClothesRemover(mannequin)
        if plate == "learnt":
            for _ in range(EMPTY_FRAMES + 1):
                stage.observe(case.scene.background, None)
        elif plate == "partly":
            # The scene with the left half of the frame hidden: what is removed there is inpainted.
            half = case.scene.background.copy()
            half[:, : half.shape[1] // 2] = case.scene.frame[:, : half.shape[1] // 2]
            seen = np.zeros((120, 160), bool)
            seen[:, :80] = True
            for _ in range(3):
                stage.plate.update(half, cv2.resize(half, (160, 120), interpolation=cv2.INTER_AREA), seen)
        res = stage.apply(case.scene.frame, case.scene.pose, case.body, case.posed, strength=0.8)
        return res.image, res.from_plate

    fused, share = run()
    monkeypatch.setattr(stage_module, "blend_fill", None)
    steps, share_steps = run()
    assert share == share_steps
    assert {"learnt": share > 0.99, "partly": 0.05 < share < 0.95, "none": share == 0.0}[plate], share
    changed = cv2.absdiff(fused, case.scene.frame).max(axis=2) > 12
    assert changed.sum() > 2000
    assert np.abs(fused.astype(int) - steps.astype(int)).max() <= 1


def test_the_plate_learns_every_frame_pixel_it_counts_as_known():
    """A dancer moving over a still scene, at a size the working one does not divide (600 px
    to 160): wherever the plate counts a working px as known, all the frame px in it were
    learnt (they were left black at some boxes' edges, and came back as dark specks where the
    plate filled)."""
    from tryon.ownclothes.fill import CleanPlate

    rng = np.random.default_rng(3)
    scene = cv2.GaussianBlur(rng.integers(150, 230, (600, 600, 3)).astype(np.uint8), (0, 0), 2)
    small = cv2.resize(scene, (160, 160), interpolation=cv2.INTER_AREA)
    plate = CleanPlate()
    for i in range(40):
        person = np.zeros((160, 160), bool)
        x = 30 + 2 * i
        person[20:150, x : x + 35] = True
        person[60:80, x - 15 : x + 50] = True  # the arms
        plate.update(scene, small, person)
    known = plate.known((160, 160))
    own = known[np.arange(600) * 160 // 600][:, np.arange(600) * 160 // 600]
    assert own.mean() > 0.5
    off = np.abs(plate.plate().astype(int) - scene).max(axis=2)
    assert (off[own] > 3).sum() == 0, (off[own] > 3).sum()

