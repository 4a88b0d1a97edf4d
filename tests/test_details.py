"""The detail stage on its own (tryon/details.py): which models run for which worn items, the
regions of interest a pose gives them, and the smoothing and carrying of their landmarks
between frames. Real MediaPipe on real photos (one BlazePose run per photo, shared), without
the engine."""

from __future__ import annotations

from contextlib import closing
from dataclasses import replace

import cv2
import numpy as np
import pytest
from helpers import load_photo

from tryon.details import NO_DETAILS, DetailOptions, DetailTracker, needed
from tryon.frames import CameraIntrinsics
from tryon.pose.face import FaceEstimator
from tryon.pose.landmarker import PoseEstimator, PoseOptions
from tryon.pose.landmarks import L

ASTRONAUT = "astronaut_upper_body"  # a face, 512 x 512
SITTING = "mediapipe_sitting"  # both hands in view


@pytest.fixture(scope="module")
def photos():
    """name -> (image, BlazePose's pose of it)."""
    out = {}
    with PoseEstimator(PoseOptions(segmentation=False)) as est:
        for name in (ASTRONAUT, SITTING):
            img = load_photo(name)
            pose = est.detect(img)
            assert pose is not None, name
            out[name] = (img, pose)
    return out


def camera_for(img: np.ndarray) -> CameraIntrinsics:
    h, w = img.shape[:2]
    return CameraIntrinsics.from_fov(w, h, 60)


def shifted(img: np.ndarray, pose, dx: float, dy: float = 0.0):
    """The photo and its pose moved by (dx, dy) px, as if the person had moved."""
    h, w = img.shape[:2]
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    moved = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    return moved, replace(pose, keypoints_px=(pose.keypoints_px + [dx, dy]).astype(np.float32))


# -- which models run ---------------------------------------------------------------------------
def test_the_face_mesh_runs_for_headwear_and_earrings_and_the_hand_model_for_rings():
    auto = DetailOptions()
    for category in ("glasses", "hat", "earrings"):
        assert needed([category], auto) == (True, ()), category
    assert needed(["ring"], auto) == (False, ("left",))  # rings are fitted to the left hand
    for category in ("top", "bottom", "shoes", "watch", "necklace", "bracelet", "full-outfit"):
        assert needed([category], auto) == (False, ()), category
    assert needed(["top", "glasses", "ring", "shoes"], auto) == (True, ("left",))
    assert needed([], auto) == (False, ())
    # forced on or off whatever is worn
    assert needed(["top"], DetailOptions(face=True, hands=True)) == (True, ("left",))
    assert needed(["glasses", "ring"], DetailOptions(face=False, hands=False)) == (False, ())


def test_nothing_runs_without_a_person_or_without_an_item_that_needs_it(photos):
    img, pose = photos[ASTRONAUT]
    with closing(DetailTracker()) as tracker:
        assert tracker.update(img, None, camera_for(img), None, face=True, hands=("left",)) is NO_DETAILS
        assert tracker.update(img, pose, camera_for(img), None, face=False, hands=()) is NO_DETAILS
        found = tracker.update(img, pose, camera_for(img), None, face=True, hands=())
        assert found.face is not None and found.head_pose is not None and found.hands == {}


# -- regions of interest ----------------------------------------------------------------------------
def test_a_small_face_in_a_big_frame_is_found_in_the_region_the_pose_gives(photos):
    img, pose = photos[ASTRONAUT]
    scale, (x0, y0) = 0.25, (600, 400)
    small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((960, 1280, 3), 40, np.uint8)
    frame[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    small_pose = replace(
        pose, keypoints_px=(pose.keypoints_px * scale + [x0, y0]).astype(np.float32), image_size=(1280, 960)
    )
    with FaceEstimator() as whole_frame:
        assert whole_frame.detect(frame) is None  # a face of ~30 px: not found in the whole frame
    with closing(DetailTracker()) as tracker:
        found = tracker.update(frame, small_pose, camera_for(frame), None, face=True, hands=())
    assert found.face is not None
    nose = small_pose.keypoints_px[L.NOSE]
    face = found.face.landmarks_px
    assert np.linalg.norm(np.median(face, axis=0) - nose) < 10  # on the pose's face, in frame px
    assert 15 < np.ptp(face[:, 0]) < 60


def test_no_face_is_looked_for_when_the_pose_has_no_head(photos):
    img, pose = photos[ASTRONAUT]
    head = [L.NOSE, L.LEFT_EYE, L.RIGHT_EYE, L.LEFT_EAR, L.RIGHT_EAR, L.MOUTH_LEFT, L.MOUTH_RIGHT]
    presence = pose.presence.copy()
    presence[head] = 0.0
    with closing(DetailTracker()) as tracker:
        found = tracker.update(img, replace(pose, presence=presence), camera_for(img), None, face=True, hands=())
    assert found.face is None and found.head_pose is None


def test_the_hand_found_is_the_one_at_the_poses_wrist(photos):
    img, pose = photos[SITTING]
    with closing(DetailTracker()) as tracker:
        found = tracker.update(img, pose, camera_for(img), None, face=False, hands=("left", "right"))
    assert set(found.hands) == {"left", "right"}
    for side, wrist in (("left", L.LEFT_WRIST), ("right", L.RIGHT_WRIST)):
        hand_wrist = found.hands[side].landmarks_px[0]
        other = L.RIGHT_WRIST if wrist == L.LEFT_WRIST else L.LEFT_WRIST
        to_own = np.linalg.norm(hand_wrist - pose.keypoints_px[wrist])
        to_other = np.linalg.norm(hand_wrist - pose.keypoints_px[other])
        assert to_own < 0.5 * to_other, (side, to_own, to_other)


# -- smoothing and carrying -----------------------------------------------------------------------------
def face_x(details) -> float:
    assert details.face is not None
    return float(details.face.landmarks_px[:, 0].mean())


def test_a_jittering_face_is_steadied_in_a_stream_and_left_alone_in_stills(photos):
    img, pose = photos[ASTRONAUT]
    K = camera_for(img)
    frames = [shifted(img, pose, 3.0 if k % 2 else -3.0) for k in range(16)]  # 6 px of jitter
    with closing(DetailTracker(DetailOptions(model_every=1))) as tracker:
        streamed = [face_x(tracker.update(f, p, K, 1000 + 33 * k, True, ())) for k, (f, p) in enumerate(frames)]
    with closing(DetailTracker()) as tracker:
        stills = [face_x(tracker.update(f, p, K, None, True, ())) for f, p in frames[:4]]
    raw_jitter = abs(stills[1] - stills[0])
    assert 5.0 < raw_jitter < 7.5  # a still image is the model's own answer
    assert abs(stills[3] - stills[1]) < 0.5
    steady = np.abs(np.diff(streamed[-8:])).max()
    assert steady < 0.4 * raw_jitter, (steady, raw_jitter)


def test_after_a_gap_in_the_stream_the_face_follows_at_once(photos):
    img, pose = photos[ASTRONAUT]
    K = camera_for(img)

    def jump_after(gap_ms: int) -> tuple[float, float]:
        """(how far the face moved, how far the photo moved): 6 still frames, then a 30 px jump."""
        with closing(DetailTracker(DetailOptions(model_every=1))) as tracker:
            for k in range(6):
                before = face_x(tracker.update(img, pose, K, 1000 + 33 * k, True, ()))
            f, p = shifted(img, pose, 30.0)
            after = face_x(tracker.update(f, p, K, 1000 + 33 * 5 + gap_ms, True, ()))
        return after - before, 30.0

    moved_in_stream, jump = jump_after(33)
    moved_after_gap, _ = jump_after(2000)
    assert moved_in_stream < 0.9 * jump  # smoothed: it lags one frame behind a sudden jump
    assert abs(moved_after_gap - jump) < 1.5  # restarted: no lag


def test_between_model_runs_the_face_is_carried_by_the_pose(photos):
    """model_every=2: on every other frame of a stream the face mesh does not run; its last
    landmarks move as the pose's eyes and nose moved. Blank frames tell which frames were which:
    the model finds no face on them, a carried face is still there. Frames alternate photo and
    blank while the person (photo and pose) moves 4 px a frame; of the two phases, one puts the
    model on the photos and carries the face over the blanks."""
    img, pose = photos[ASTRONAUT]
    K = camera_for(img)
    blank = np.zeros_like(img)

    def run(model_every: int, blank_first: bool) -> list:
        with closing(DetailTracker(DetailOptions(model_every=model_every))) as tracker:
            out = []
            for k in range(8):
                frame, moved = shifted(img, pose, 4.0 * k)
                if (k % 2 == 0) == blank_first:
                    frame = blank
                out.append(tracker.update(frame, moved, K, 1000 + 33 * k, True, ()))
            return out

    blanks = {first: [k for k in range(8) if (k % 2 == 0) == first] for first in (True, False)}
    phases = {first: run(2, first) for first in (True, False)}
    carrying = [first for first, out in phases.items() if all(out[k].face is not None for k in blanks[first][1:])]
    assert len(carrying) == 1, {f: [r.face is not None for r in out] for f, out in phases.items()}
    out = phases[carrying[0]]
    for k in blanks[carrying[0]][1:]:
        step = np.median(out[k].face.landmarks_px - out[k - 1].face.landmarks_px, axis=0)
        assert np.allclose(step, [4.0, 0.0], atol=1.0), (k, step)
        assert out[k].head_pose is not None
    other = phases[not carrying[0]]
    assert all(other[k].face is None for k in blanks[not carrying[0]])
    # with the model on every frame nothing is carried: no face on any blank
    every = run(1, True)
    assert all(every[k].face is None for k in blanks[True]) and every[1].face is not None
