"""Occlusion that looks right: hands and hair in front of clothes, no holes from limbs the
camera does not see. Real photos and the real upper-body clip."""

import numpy as np
import pytest
from helpers import ROOT, load_photo

from tryon import EngineOptions, TryOnEngine
from tryon.pose.landmarks import L
from tryon.pose.types import segmentation_size
from tryon.render.keepout import KeepoutOptions, hair_mask, hand_mask
from tryon.video import VideoFile


@pytest.fixture(scope="module")
def upper_body_results():
    frames = [f for f, _ in VideoFile(ROOT / "samples" / "upper_body.mp4", max_frames=130)]
    with TryOnEngine(items=["white-tee"]) as eng:
        results = {i: r for i, r in enumerate(eng.process_stream(frames, fps=25, pipelined=False)) if i in (20, 120)}
    return frames, results


def test_praying_hands_come_out_in_front_of_the_shirt(engine):
    img = load_photo("pixabay_yoga")
    r = engine.process(img)
    wrists = r.pose.keypoints_px[[L.LEFT_WRIST, L.RIGHT_WRIST, L.LEFT_INDEX, L.RIGHT_INDEX]].mean(axis=0)
    u, v = np.round(wrists).astype(int)
    patch = (slice(v - 4, v + 5), slice(u - 4, u + 5))
    assert r.garment_alpha[patch].mean() < 0.1  # the hands, not the shirt
    assert np.abs(r.image[patch].astype(int) - img[patch].astype(int)).mean() < 3
    # ... while the rest of the torso is dressed
    torso = (
        r.pose.keypoints_px[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER]].mean(axis=0) * 0.5
        + r.pose.keypoints_px[[L.LEFT_HIP, L.RIGHT_HIP]].mean(axis=0) * 0.5
    )
    tu, tv = np.round(torso).astype(int)
    assert r.garment_alpha[tv + 10, tu] > 0.9 or r.garment_alpha[tv - 10, tu] > 0.9


def test_hand_mask_follows_the_hands_and_ignores_hidden_ones(engine):
    r = engine.process(load_photo("mediapipe_sitting"))
    size = segmentation_size(r.pose.width, r.pose.height)
    m = hand_mask(r.pose, size)
    s = np.array(size) / np.array([r.pose.width, r.pose.height])
    for i in (L.LEFT_INDEX, L.RIGHT_INDEX):
        u, v = np.round(r.pose.keypoints_px[i] * s).astype(int)
        assert m[v, u] > 0.9
    hidden = r.pose.with_arrays(visibility=np.zeros(33, np.float32))
    assert hand_mask(hidden, size).max() == 0


def test_long_hair_falls_over_the_shirt(upper_body_results):
    frames, results = upper_body_results
    r = results[120]
    hair = hair_mask(frames[120], r.pose, (r.pose.width, r.pose.height)) > 0.5
    kp = r.pose.keypoints_px
    below_shoulders = np.zeros_like(hair)
    below_shoulders[int(kp[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER], 1].min()) :] = True
    strands = hair & below_shoulders
    assert strands.sum() > 300  # her hair reaches down over the shoulders
    with TryOnEngine(items=["white-tee"], options=EngineOptions(keepout=KeepoutOptions(hair=False))) as eng:
        without = eng.process(frames[120])
    shirt_would_cover = strands & (without.garment_alpha > 0.5)
    assert shirt_would_cover.sum() > 100
    assert r.garment_alpha[shirt_would_cover].mean() < 0.3  # the hair stays in front


def test_no_hair_on_a_bald_head_or_a_short_crop(engine):
    for name in ("pixabay_suit", "skimage_astronaut.png"):
        img = load_photo(name)
        r = engine.process(img)
        hair = hair_mask(img, r.pose, (r.pose.width, r.pose.height))
        neck_down = hair[int(r.pose.keypoints_px[L.LEFT_SHOULDER, 1]) :]
        assert (neck_down > 0.5).sum() < 0.002 * hair.size, name


def test_limbs_out_of_frame_cut_no_holes(upper_body_results):
    """Frame 120: her elbows and forearms are below the frame; their guessed 3D pose must
    not punch holes in the shirt (the real arms are not there)."""
    frames, results = upper_body_results
    r = results[120]
    assert r.pose.presence[[L.LEFT_ELBOW, L.RIGHT_ELBOW]].max() < 0.5
    kp = r.pose.keypoints_px
    top = int(kp[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER], 1].max()) + 20
    left, right = sorted(kp[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER], 0])
    chest = r.garment_alpha[top : r.pose.height - 40, int(left) + 15 : int(right) - 15]
    hands = hand_mask(r.pose, (r.pose.width, r.pose.height))[top : r.pose.height - 40, int(left) + 15 : int(right) - 15]
    assert chest[hands < 0.5].mean() > 0.9
