"""Stored rig-solver cases: solver inputs (a Pose, the camera, the shopper's shape, the face
landmarker's head pose, the hand model's hands) and the solver's outputs for them, kept in
``tests/data/solver/*.npz`` so a change in what the solver computes shows (``test_solver_golden``).

The inputs come from the test photos and clips through the pose, face and hand models, and from
synthetic poses (:mod:`tryon.body.synthetic`), some degraded (noise, low presence, joints out of
frame, a drawn person mask). Segmentations are stored as 8-bit (the stored input is what the
test solves, so this loses nothing there).

Regenerate, after a deliberate change of the solver's behaviour (say so in the commit):

    PYTHONPATH=$PWD python tests/solver_cases.py            # expected outputs only
    PYTHONPATH=$PWD python tests/solver_cases.py --inputs   # inputs too (runs the models)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tryon.body.solver import BodyShape
from tryon.frames import CameraIntrinsics
from tryon.pose.face import HeadPose
from tryon.pose.hands import Hand
from tryon.pose.types import Pose

CASES_DIR = Path(__file__).resolve().parent / "data" / "solver"


@dataclass(frozen=True)
class SolverCase:
    name: str
    pose: Pose
    K: CameraIntrinsics
    shape: BodyShape | None = None
    head_pose: HeadPose | None = None
    hands: dict[str, Hand] | None = None


def _K_array(K: CameraIntrinsics) -> np.ndarray:
    return np.array([K.fx, K.fy, K.cx, K.cy, K.width, K.height], dtype=np.float64)


def _K_from(a: np.ndarray) -> CameraIntrinsics:
    fx, fy, cx, cy = (float(v) for v in a[:4])
    return CameraIntrinsics(fx=fx, fy=fy, cx=cx, cy=cy, width=int(a[4]), height=int(a[5]))


def save_case(case: SolverCase, expected: dict[str, np.ndarray], folder: Path = CASES_DIR) -> Path:
    p = case.pose
    arrays = {
        "keypoints_px": p.keypoints_px,
        "depth_px": p.depth_px,
        "visibility": p.visibility,
        "presence": p.presence,
        "world_m": p.world_m,
        "image_size": np.array(p.image_size),
        "K": _K_array(case.K),
    }
    if p.segmentation is not None:
        arrays["segmentation_u8"] = np.round(p.segmentation * 255).astype(np.uint8)
    if case.shape is not None:
        arrays["bone_scale"] = case.shape.bone_scale
        arrays["girth"] = np.array(case.shape.girth)
    if case.head_pose is not None:
        hp = case.head_pose
        arrays |= {"head_rotation": hp.rotation, "head_translation_m": hp.translation_m}
        arrays |= {"head_rms_px": np.array(hp.rms_error_px), "head_K": _K_array(hp.intrinsics)}
    for side, h in (case.hands or {}).items():
        arrays |= {f"hand_{side}_landmarks_px": h.landmarks_px, f"hand_{side}_depth_px": h.depth_px}
        arrays |= {f"hand_{side}_world_m": h.world_m, f"hand_{side}_score": np.array(h.score)}
    arrays |= {f"expected_{k}": v for k, v in expected.items()}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{case.name}.npz"
    np.savez_compressed(path, **arrays)
    return path


def load_case(path: Path) -> tuple[SolverCase, dict[str, np.ndarray]]:
    """(the case, its expected outputs: name -> array)."""
    with np.load(path) as z:
        a = {k: z[k] for k in z.files}
    size = (int(a["image_size"][0]), int(a["image_size"][1]))
    seg = a["segmentation_u8"].astype(np.float32) / 255.0 if "segmentation_u8" in a else None
    pose = Pose(
        keypoints_px=a["keypoints_px"],
        depth_px=a["depth_px"],
        visibility=a["visibility"],
        presence=a["presence"],
        world_m=a["world_m"],
        segmentation=seg,
        image_size=size,
    )
    shape = BodyShape(a["bone_scale"], float(a["girth"])) if "bone_scale" in a else None
    head_pose = None
    if "head_rotation" in a:
        head_pose = HeadPose(a["head_rotation"], a["head_translation_m"], float(a["head_rms_px"]), _K_from(a["head_K"]))
    hands = {}
    for side in ("left", "right"):
        if f"hand_{side}_landmarks_px" in a:
            hands[side] = Hand(
                landmarks_px=a[f"hand_{side}_landmarks_px"],
                depth_px=a[f"hand_{side}_depth_px"],
                world_m=a[f"hand_{side}_world_m"],
                handedness=side,
                score=float(a[f"hand_{side}_score"]),
                image_size=size,
            )
    expected = {k.removeprefix("expected_"): v for k, v in a.items() if k.startswith("expected_")}
    return SolverCase(path.stem, pose, _K_from(a["K"]), shape, head_pose, hands or None), expected


def solver_outputs(body) -> dict[str, np.ndarray]:
    """What the stored cases pin down of a PosedBody."""
    out = {"palette": body.palette, "bone_confidence": body.bone_confidence, "translation_m": body.translation_m}
    out |= {f"finger_{k}": v for k, v in body.finger_frames.items()}
    return out


def _quantized(pose: Pose, max_side: int = 256) -> Pose:
    """The pose with its segmentation at most ``max_side`` px and 8-bit, as it is stored."""
    import cv2

    seg = pose.segmentation
    if seg is None:
        return pose
    h, w = seg.shape
    scale = min(1.0, max_side / max(w, h))
    if scale < 1.0:
        seg = cv2.resize(seg, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return replace(pose, segmentation=np.round(seg * 255).astype(np.uint8).astype(np.float32) / 255.0)


def build_cases() -> list[SolverCase]:
    """The stored cases' inputs, from the test photos and clips (runs the models) and synthetic poses."""
    import cv2
    from helpers import ROOT, load_photo

    from tryon.body.mannequin import load_mannequin
    from tryon.body.skeleton import NUM_BONES
    from tryon.body.synthetic import bvh_pose, bvh_poses, forward_kinematics, place_in_camera, synthetic_person
    from tryon.pose.face import FaceEstimator
    from tryon.pose.hands import HandEstimator
    from tryon.pose.landmarker import PoseEstimator
    from tryon.pose.landmarks import L
    from tryon.video import VideoFile

    rng = np.random.default_rng(12)

    def shape() -> BodyShape:
        return BodyShape(rng.uniform(0.85, 1.15, NUM_BONES), float(rng.uniform(0.9, 1.2)))

    def details(img, K):
        with FaceEstimator(intrinsics=K) as fes, HandEstimator() as hes:
            face = fes.detect(img)
            hands = {h.handedness: h for h in hes.detect(img)}
        return (face.head_pose if face is not None else None), (hands or None)

    cases = []
    with PoseEstimator() as est:
        for name in ("mediapipe_sitting", "astronaut_upper_body", "cameraman"):
            img = load_photo(name)
            K = CameraIntrinsics.from_fov(img.shape[1], img.shape[0], 60.0)
            pose = _quantized(est.detect(img))
            head_pose, hands = details(img, K)
            cases.append(SolverCase(f"photo-{name}", pose, K, shape(), head_pose, hands))
    for clip, wanted in (("upper_body.mp4", (36, 81)), ("dance.mp4", (80,))):
        src = VideoFile(ROOT / "samples" / clip, max_frames=max(wanted) + 1)
        with PoseEstimator() as est:
            for i, (frame, _) in enumerate(src):
                pose = est.detect_for_video(frame, round(i * 1000 / src.fps))
                if i not in wanted or pose is None:
                    continue
                K = CameraIntrinsics.from_fov(frame.shape[1], frame.shape[0], 60.0)
                pose = _quantized(pose)
                head_pose, hands = details(frame, K)
                stem = f"clip-{Path(clip).stem}-{i}"
                cases.append(SolverCase(stem, pose, K, None, head_pose, hands))
                if clip == "upper_body.mp4" and i == 81:  # the left elbow's guess moved off the person
                    kp = pose.keypoints_px.copy()
                    side = np.sign(kp[L.LEFT_SHOULDER, 0] - kp[L.RIGHT_SHOULDER, 0])
                    kp[L.LEFT_ELBOW] = kp[L.LEFT_SHOULDER] + np.array([1.0, 0.15]) * pose.width * 0.6 * side
                    cases.append(SolverCase(f"{stem}-elbow-off-person", replace(pose, keypoints_px=kp), K))
    m = load_mannequin()
    K = CameraIntrinsics.from_fov(640, 480, 60)
    for bvh, yaw in (("fight01", 30), ("fight02", -60)):
        pal = place_in_camera(forward_kinematics(m, bvh_pose(bvh_poses()[bvh])), yaw, (0.1, -0.05, 2.6))
        pose = synthetic_person(m, pal, K).pose
        cases.append(SolverCase(f"synthetic-{bvh}", pose, K, shape()))
        # degraded: pixel noise, some keypoints barely present, joints pushed out of frame, a mask
        kp = pose.keypoints_px + rng.normal(0, 2.0, pose.keypoints_px.shape).astype(np.float32)
        pres, vis = pose.presence.copy(), pose.visibility.copy()
        drop = rng.choice(33, 8, replace=False)
        pres[drop], vis[drop] = rng.uniform(0.0, 1.0, 8), rng.uniform(0.0, 1.0, 8)
        kp[[L.LEFT_WRIST, L.RIGHT_ELBOW, L.LEFT_ANKLE]] += np.array([0.0, 400.0], np.float32)
        seg = np.zeros((192, 256), np.float32)
        pts = (kp * 0.4).astype(np.int32)
        for a, b in ((11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (25, 27), (24, 26), (26, 28), (11, 12)):
            cv2.line(seg, tuple(map(int, pts[a])), tuple(map(int, pts[b])), 1.0, 12)
        seg = cv2.GaussianBlur(seg, (5, 5), 2)
        world = pose.world_m + rng.normal(0, 0.01, pose.world_m.shape).astype(np.float32)
        degraded = replace(pose, keypoints_px=kp, presence=pres, visibility=vis, segmentation=seg, world_m=world)
        cases.append(SolverCase(f"synthetic-{bvh}-degraded", _quantized(degraded), K, shape()))
        # too few reliable points: the placement's fallback weights
        dim = replace(pose, visibility=np.full(33, 0.2, np.float32))
        cases.append(SolverCase(f"synthetic-{bvh}-low-visibility", dim, K))
    return cases


def write(with_inputs: bool) -> None:
    from tryon.body.mannequin import load_mannequin
    from tryon.body.solver import RigSolver

    solver = RigSolver(load_mannequin())
    cases = build_cases() if with_inputs else [load_case(p)[0] for p in sorted(CASES_DIR.glob("*.npz"))]
    if with_inputs:
        for old in CASES_DIR.glob("*.npz"):
            old.unlink()
    for case in cases:
        body = solver.solve(case.pose, case.K, case.shape, case.head_pose, case.hands)
        print(save_case(case, solver_outputs(body)))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    write("--inputs" in sys.argv)
