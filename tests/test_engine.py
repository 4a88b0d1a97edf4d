"""The whole pipeline on real photos and clips: real MediaPipe, real EGL rendering."""

import cv2
import numpy as np
import pytest
from helpers import PERSON_PHOTOS, ROOT, TOP, load_photo

from tryon import EngineOptions, TryOnEngine
from tryon.pose.landmarks import TORSO, L
from tryon.render.keepout import hand_mask
from tryon.video import VideoFile


def torso_quad_mask(pose) -> np.ndarray:
    """The quad between the shoulders and hips, shrunk 10% toward its centre (in frame)."""
    quad = pose.keypoints_px[TORSO].astype(np.float64)
    centre = quad.mean(axis=0)
    quad = centre + 0.9 * (quad - centre)
    mask = np.zeros((pose.height, pose.width), np.uint8)
    cv2.fillPoly(mask, [np.round(quad).astype(np.int32)], 1)
    return mask.astype(bool)


@pytest.mark.parametrize("name", sorted(PERSON_PHOTOS))
def test_top_covers_the_torso_and_stays_on_the_person(photo_results, name):
    image, result = photo_results[name]
    assert result.pose is not None, "the pose model found nobody"
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    assert result.garment_alpha.shape == image.shape[:2] and result.garment_alpha.dtype == np.float32
    # The torso the top should cover: the quad, less where the shopper's own hands are in
    # front of it (they rightly come out in front of the shirt).
    hands = hand_mask(result.pose, (result.pose.width, result.pose.height)) > 0.5
    torso = torso_quad_mask(result.pose) & ~hands
    assert torso.sum() > 500
    covered = result.garment_alpha[torso] > 0.5
    assert covered.mean() > 0.85, f"{name}: the top covers {covered.mean():.0%} of the torso"
    garment = result.garment_alpha > 0.5
    person = result.pose.mask > 0.5
    assert (garment & person).sum() / garment.sum() > 0.97
    # the composite changed the torso and left the background alone (but for the soft edge of
    # the person mask, where the outline of the shopper's own clothes is removed)
    assert np.abs(result.image.astype(int) - image.astype(int))[torso].mean() > 10
    edge = cv2.dilate(person.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    scene = ~edge & (result.garment_alpha == 0)
    assert np.array_equal(result.image[scene], image[scene])


def test_frame_without_a_person_comes_back_unchanged(engine):
    street = np.ascontiguousarray(load_photo("mediapipe_sitting")[:, :200])
    result = engine.process(street)
    assert result.pose is None and result.body is None
    assert np.array_equal(result.image, street)
    assert result.garment_alpha.max() == 0


def test_public_api_stream_and_mirror():
    frames = [f for f, _ in VideoFile(ROOT / "samples" / "dance.mp4", max_frames=6)]
    with TryOnEngine(items=[TOP], options=EngineOptions(mirror=True)) as eng:
        results = list(eng.process_stream(frames, fps=20))
        assert len(results) == 6
        assert [r.timestamp_ms for r in results] == [0, 50, 100, 150, 200, 250]
        last = results[-1]
        assert last.pose is not None and last.garment_alpha.max() > 0.9
        # mirrored: the garment sits where the person is in the flipped frame
        u = last.pose.keypoints_px[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP], 0].mean()
        cols = np.nonzero(last.garment_alpha > 0.5)[1]
        assert abs(cols.mean() - (frames[-1].shape[1] - u)) < 40
        assert last.measurements is not None and last.measurements.shoulder_width_cm > 20
        assert set(last.timings_ms) >= {
            "pose",
            "smoothing",
            "rig_solve",
            "skinning",
            "render",
            "composite",
            "readback",
            "total",
        }


def test_bad_frames_are_refused_or_converted(engine):
    with pytest.raises(ValueError, match="None"):
        engine.process(None)
    with pytest.raises(ValueError, match="dtype"):
        engine.process(np.zeros((64, 64, 3), np.int64))
    gray = cv2.cvtColor(load_photo("pixabay_suit"), cv2.COLOR_BGR2GRAY)
    result = engine.process(gray)
    assert result.image.shape == gray.shape + (3,) and result.pose is not None
    bgra = cv2.cvtColor(load_photo("pixabay_suit"), cv2.COLOR_BGR2BGRA)
    assert engine.process(bgra).image.shape[2] == 3


def test_stream_skips_bad_frames_and_keeps_going():
    frames = [f for f, _ in VideoFile(ROOT / "samples" / "dance.mp4", max_frames=3)]
    with TryOnEngine(items=[TOP]) as eng:
        results = list(eng.process_stream([frames[0], None, np.zeros((2, 2), np.uint8), frames[1], frames[2]]))
    assert len(results) == 3


def test_unknown_item_is_a_clear_error():
    with pytest.raises(KeyError, match="no item 'nope'"):
        TryOnEngine(items=["nope"])


@pytest.mark.slow
def test_sleeves_follow_the_arms_on_the_real_clip():
    """On the dance clip the right wrist goes from above the shoulder to far below it: the
    skinned sleeve's cuff (compared as vertices, not pixels) follows the wrist all along."""
    from tryon import Catalog
    from tryon.deform import deform_item
    from tryon.frames import project

    top = Catalog().get(TOP)
    bind = top.parts[0].positions
    cuffs = {"L": bind[:, 0] > bind[:, 0].max() - 0.04, "R": bind[:, 0] < bind[:, 0].min() + 0.04}
    wrists = {"L": (L.LEFT_WRIST, L.LEFT_SHOULDER), "R": (L.RIGHT_WRIST, L.RIGHT_SHOULDER)}
    track = {"L": [], "R": []}
    frames = [f for f, _ in VideoFile(ROOT / "samples" / "dance.mp4")]
    with TryOnEngine(items=[TOP]) as eng:
        for result in eng.process_stream(frames, fps=20, pipelined=False):
            if result.body is None:
                continue
            v = deform_item(top, result.body)[0].positions_cam_m
            kp = result.pose.keypoints_px
            torso_px = np.linalg.norm(
                kp[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER]].mean(0) - kp[[L.LEFT_HIP, L.RIGHT_HIP]].mean(0)
            )
            for side in "LR":
                cuff = project(v[cuffs[side]].mean(axis=0), result.body.intrinsics)
                w, s = wrists[side]
                track[side].append((kp[w, 1] - kp[s, 1], cuff, kp[w].copy(), torso_px))
    for side in "LR":
        rel = np.array([t[0] for t in track[side]])
        # the cuff ends a centimetre or two up the forearm from BlazePose's wrist point
        cuff_err = np.array([np.linalg.norm(t[1] - t[2]) / t[3] for t in track[side]])
        assert len(rel) > 90
        assert np.median(cuff_err) < 0.06 and np.percentile(cuff_err, 90) < 0.1, side
    rel = np.array([t[0] for t in track["R"]])
    up, down = track["R"][int(np.argmin(rel))], track["R"][int(np.argmax(rel))]
    assert down[0] - up[0] > 100  # raised above the shoulder vs hanging below it
    wrist_move = down[2] - up[2]
    cuff_move = down[1] - up[1]
    assert np.dot(cuff_move, wrist_move) / np.dot(wrist_move, wrist_move) > 0.8
