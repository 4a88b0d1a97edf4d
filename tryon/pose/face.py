"""Face landmarks (MediaPipe face mesh, 478 points with irises) and head pose, fully offline.

``FaceEstimator.detect(frame_bgr, roi=None)`` for stills, ``detect_for_video(frame_bgr,
timestamp_ms, roi=None)`` for streams (faces are tracked between frames; the detector runs
while fewer than ``max_faces`` are tracked). Either returns a :class:`Face`, or ``None`` when there is
no face. Used to place eyewear and earrings.

The model is the Tasks ``FaceLandmarker`` on a bundle built from the installed mediapipe wheel
(:func:`tryon.pose.bundle.face_landmarker_task`): BlazeFace short range, then the attention face
mesh (refined eyes, lips and irises). Its landmarks match the legacy ``mp.solutions.face_mesh``
(``refine_landmarks=True``) on the same photo to within 0.002 px.

**Sides.** ``left`` / ``right`` are the person's own sides (as in :mod:`tryon.pose.landmarks`),
for an unmirrored camera frame (the engine's input: ``EngineOptions.mirror`` flips only the
display). MediaPipe's own face-mesh names ("left eye" = landmark 33's eye) are the image's
sides, the opposite; :class:`FacePoint` uses the person's.

**ROI.** ``roi=(x0, y0, x1, y1)`` in image px (e.g. around the pose's head keypoints): the
estimator runs on that crop (padded with black where it leaves the frame) and maps the result
back to full-frame px. A face that is small in the frame then fills the detector's 128 x 128
input, so it is found; the landmark model always samples its 192 x 192 input from the original
pixels. In video mode the tracker works in the crop's coordinates, so the ROI should follow the
head smoothly (as pose keypoints do) rather than jump.

**Head pose.** :class:`HeadPose` maps MediaPipe's canonical face model (centimetres, ``y`` up,
``+z`` out of the face, ``+x`` the face's own left; ``tryon/data/face/canonical_face_model.obj``,
vertex ``i`` = landmark ``i``) into camera metres (:mod:`tryon.frames`): ``p_cam_m = R @ (0.01
* p_cm) + t``. It is a perspective-n-point fit (``cv2.solvePnP`` SQPnP, then Levenberg-Marquardt,
then once more without outliers) on :data:`HEAD_POSE_POINTS`, landmarks that move little with
expression (forehead, temples, nose, eye corners, cheekbones; no mouth, jaw or eyelids). Its
distance assumes the canonical (average adult) face size: expect roughly +-10 % in ``z``.
``yaw_deg`` / ``pitch_deg`` / ``roll_deg`` are taken against the camera's axes, not the line of
sight: a face looking straight at a 60-degree camera from high in the frame has a pitch of
about -20 (it looks down at the lens); they depend on the intrinsics, the rotation too.

**Speed** (2-core AMD EPYC shared with other jobs, 640 x 480 frame, one face, median ms per
call): ``detect`` 5.7 (detector + mesh), ``detect_for_video`` 4.0 (tracked: the mesh only), no
face 1.8 (the detector only); :attr:`Face.head_pose` adds 0.5 when read. ``irises=False``:
5.5 / 3.4. A ROI costs the same (both models have fixed input sizes). The legacy
``mp.solutions.face_mesh`` measured the same (5.2 / 3.9), so the Tasks path is used.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import cv2
import numpy as np

from tryon.frames import CM_TO_M, DEFAULT_HFOV_DEG, CameraIntrinsics, normalized_to_px
from tryon.pose.bundle import face_landmarker_task
from tryon.pose.tasks import TaskRunner, mp_image

#: The canonical face model (468 vertices in landmark order, centimetres).
CANONICAL_FACE_MODEL = Path(__file__).resolve().parent.parent / "data" / "face" / "canonical_face_model.obj"

MESH_POINTS = 468
MESH_WITH_IRISES_POINTS = 478


class FacePoint(IntEnum):
    """Named face-mesh landmark indices; ``LEFT`` / ``RIGHT`` are the person's own sides."""

    NOSE_TIP = 1
    NOSE_BRIDGE = 168  # between the eyes: where a glasses bridge rests
    FOREHEAD = 10
    CHIN = 152
    RIGHT_EYE_OUTER = 33
    RIGHT_EYE_INNER = 133
    LEFT_EYE_INNER = 362
    LEFT_EYE_OUTER = 263
    RIGHT_FACE_EDGE = 234  # the face outline at eye level, in front of the ear (tragus-ish)
    LEFT_FACE_EDGE = 454
    MOUTH_RIGHT = 61
    MOUTH_LEFT = 291
    UPPER_LIP = 13
    LOWER_LIP = 14
    RIGHT_IRIS = 468  # iris centres: only with irises (478 points)
    LEFT_IRIS = 473


#: The 16 eye-contour landmarks of each eye (person's sides); their mean is the eye centre
#: when the irises are off.
RIGHT_EYE_CONTOUR = (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173)
LEFT_EYE_CONTOUR = (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398)

#: Landmarks the head pose is fitted on: rigid parts of the face (symmetric pairs).
HEAD_POSE_POINTS = (
    (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1)  # midline: forehead, nose bridge, nose
    + (109, 338, 67, 297, 103, 332, 54, 284, 21, 251)  # forehead and temples
    + (33, 263, 133, 362, 130, 359)  # eye corners
    + (98, 327, 48, 278)  # nostrils
    + (116, 345, 123, 352, 50, 280, 117, 346)  # cheekbones
    + (127, 356, 234, 454, 93, 323)  # the face outline at eye level
)


@functools.lru_cache(maxsize=1)
def canonical_face_model_cm() -> np.ndarray:
    """(468, 3) float64: the canonical face model's vertices, centimetres (read-only)."""
    vertices = []
    with open(CANONICAL_FACE_MODEL, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("v "):
                vertices.append([float(v) for v in line.split()[1:4]])
    pts = np.asarray(vertices, dtype=np.float64)
    if pts.shape != (MESH_POINTS, 3):
        raise ValueError(f"{CANONICAL_FACE_MODEL} has {len(pts)} vertices, expected {MESH_POINTS}")
    pts.setflags(write=False)
    return pts


@dataclass(frozen=True)
class HeadPose:
    """The canonical face model placed in the camera.

    rotation : (3, 3) float64, canonical axes -> camera axes. A face looking straight into the
        camera has ``diag(1, -1, -1)`` (:data:`tryon.frames.MODEL_TO_CAMERA`).
    translation_m : (3,) float64, camera metres of the canonical model's origin (inside the
        head, about 7.6 cm behind the nose tip and at its height).
    rms_error_px : root-mean-square reprojection error of the fitted landmarks, image px.
    intrinsics : the camera it was solved for.
    """

    rotation: np.ndarray
    translation_m: np.ndarray
    rms_error_px: float
    intrinsics: CameraIntrinsics

    def to_camera_m(self, points_cm: np.ndarray) -> np.ndarray:
        """Canonical-model centimetres (..., 3) -> camera metres (..., 3)."""
        p = np.asarray(points_cm, dtype=np.float64) * CM_TO_M
        return p @ self.rotation.T + self.translation_m

    def landmarks_cam_m(self, indices: Sequence[int] | None = None) -> np.ndarray:
        """(K, 3) camera metres of canonical landmarks (all 468 when ``indices`` is None):
        the rigid head, e.g. ``[FacePoint.LEFT_FACE_EDGE]`` for an earring's anchor."""
        model = canonical_face_model_cm()
        return self.to_camera_m(model if indices is None else model[np.asarray(indices, dtype=int)])

    @property
    def matrix(self) -> np.ndarray:
        """(4, 4) float64 taking homogeneous canonical *centimetres* to camera *metres*
        (the 1/100 scale is in its upper-left block)."""
        m = np.eye(4)
        m[:3, :3] = self.rotation * CM_TO_M
        m[:3, 3] = self.translation_m
        return m

    @property
    def forward(self) -> np.ndarray:
        """(3,) unit vector, camera axes: where the face looks (canonical ``+z``)."""
        return self.rotation[:, 2].copy()

    @property
    def yaw_deg(self) -> float:
        """Turn about the vertical: 0 facing the camera, > 0 when the nose points to the image's
        right (the person turning to their own left in an unmirrored frame)."""
        f = self.forward
        return math.degrees(math.atan2(f[0], -f[2]))

    @property
    def pitch_deg(self) -> float:
        """Nod: > 0 when the face looks up."""
        f = self.forward
        return math.degrees(math.atan2(-f[1], math.hypot(f[0], f[2])))

    @property
    def roll_deg(self) -> float:
        """Tilt in the image plane: > 0 when the top of the head leans to the image's right."""
        up = self.rotation[:, 1]  # canonical +y in camera axes; (0, -1, 0) upright
        return math.degrees(math.atan2(up[0], -up[1]))


def solve_head_pose(landmarks_px: np.ndarray, intrinsics: CameraIntrinsics) -> HeadPose | None:
    """Fit the canonical face to (N >= 468, 2) face landmarks in image px; None if it fails."""
    pts = np.asarray(landmarks_px, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] < MESH_POINTS or pts.shape[1] != 2:
        raise ValueError(f"landmarks_px must be (N >= {MESH_POINTS}, 2), got {pts.shape}")
    idx = np.asarray(HEAD_POSE_POINTS)
    obj = canonical_face_model_cm()[idx] * CM_TO_M
    img = pts[idx]
    if not np.isfinite(img).all():
        return None
    K = intrinsics.matrix
    try:
        ok, rvec, tvec = cv2.solvePnP(obj, img, K, None, flags=cv2.SOLVEPNP_SQPNP)
        if not ok:
            return None
        rvec, tvec = cv2.solvePnPRefineLM(obj, img, K, None, rvec, tvec)
        err = np.linalg.norm(cv2.projectPoints(obj, rvec, tvec, K, None)[0][:, 0] - img, axis=1)
        inliers = err <= max(3.0 * float(np.median(err)), 1.5)
        if inliers.sum() >= 12 and not inliers.all():  # one more pass without the outliers
            rvec, tvec = cv2.solvePnPRefineLM(obj[inliers], img[inliers], K, None, rvec, tvec)
            err = np.linalg.norm(cv2.projectPoints(obj, rvec, tvec, K, None)[0][:, 0] - img, axis=1)
    except cv2.error:
        return None
    t = tvec.reshape(3)
    if not (np.isfinite(t).all() and t[2] > 0):
        return None
    R = cv2.Rodrigues(rvec)[0]
    rms = float(np.sqrt(np.mean(err[inliers] ** 2)))
    return HeadPose(rotation=R, translation_m=t, rms_error_px=rms, intrinsics=intrinsics)


@dataclass(frozen=True)
class FaceOptions:
    """Options of the face stage.

    max_faces : how many faces the model looks for (``detect`` returns the largest).
    min_detection_confidence, min_presence_confidence, min_tracking_confidence : MediaPipe's
        thresholds in [0, 1] (face detector score; landmark model's face flag; and the flag
        below which a tracked face is re-detected in video mode).
    irises : 478 points from the attention mesh (refined eyes and lips, iris centres and
        edges); False: the plain 468-point mesh, slightly faster.
    """

    max_faces: int = 1
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    irises: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.max_faces <= 10:
            raise ValueError(f"max_faces must be between 1 and 10, got {self.max_faces}")
        for name in ("min_detection_confidence", "min_presence_confidence", "min_tracking_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")


@dataclass(frozen=True)
class Face:
    """One face in one frame.

    landmarks_px : (N, 2) float32, image px of the whole frame (:mod:`tryon.frames`); N = 478
        with irises (468-477: the person's right iris centre and edges, then the left), else 468.
    depth_px : (N,) float32, MediaPipe's relative depth on the scale of ``u`` (px): smaller is
        nearer the camera, roughly 0 at the face's centre. Coarse; use :attr:`head_pose` for 3D.
    image_size : (width, height) of the frame in px.
    intrinsics : the camera :attr:`head_pose` is solved for (the estimator's, else a
        ``DEFAULT_HFOV_DEG`` pinhole for this frame size).
    timestamp_ms : the stream timestamp, or None for a still image.
    """

    landmarks_px: np.ndarray
    depth_px: np.ndarray
    image_size: tuple[int, int]
    intrinsics: CameraIntrinsics
    timestamp_ms: int | None = None

    def __post_init__(self) -> None:
        n = self.landmarks_px.shape[0]
        if n not in (MESH_POINTS, MESH_WITH_IRISES_POINTS) or self.landmarks_px.shape != (n, 2):
            raise ValueError(f"Face.landmarks_px must be (468 or 478, 2), got {self.landmarks_px.shape}")
        if self.depth_px.shape != (n,):
            raise ValueError(f"Face.depth_px must be ({n},), got {self.depth_px.shape}")

    @property
    def has_irises(self) -> bool:
        return self.landmarks_px.shape[0] == MESH_WITH_IRISES_POINTS

    @functools.cached_property
    def head_pose(self) -> HeadPose | None:
        """The canonical face in camera metres (see :class:`HeadPose`), solved on first access."""
        return solve_head_pose(self.landmarks_px, self.intrinsics)

    def point_px(self, point: FacePoint | int) -> np.ndarray:
        """(2,) float32 image px of one landmark."""
        return self.landmarks_px[int(point)]

    def eye_centre_px(self, side: str) -> np.ndarray:
        """(2,) float32: the person's ``"left"`` or ``"right"`` eye: the iris centre, or the mean
        of the eye contour without irises."""
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        if self.has_irises:
            return self.point_px(FacePoint.LEFT_IRIS if side == "left" else FacePoint.RIGHT_IRIS)
        contour = LEFT_EYE_CONTOUR if side == "left" else RIGHT_EYE_CONTOUR
        return self.landmarks_px[list(contour)].mean(axis=0)

    def named_points_px(self) -> dict[str, np.ndarray]:
        """Anchors for accessories, image px (person's sides): eye centres, nose bridge and tip,
        the face edges in front of the ears, chin, forehead."""
        return {
            "left_eye": self.eye_centre_px("left"),
            "right_eye": self.eye_centre_px("right"),
            "nose_bridge": self.point_px(FacePoint.NOSE_BRIDGE),
            "nose_tip": self.point_px(FacePoint.NOSE_TIP),
            "left_ear": self.point_px(FacePoint.LEFT_FACE_EDGE),
            "right_ear": self.point_px(FacePoint.RIGHT_FACE_EDGE),
            "chin": self.point_px(FacePoint.CHIN),
            "forehead": self.point_px(FacePoint.FOREHEAD),
        }

    def bbox_px(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the landmarks (not clipped to the frame)."""
        x0, y0 = self.landmarks_px.min(axis=0)
        x1, y1 = self.landmarks_px.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


# --- shared by the face and hand estimators --------------------------------------------------


def check_frame(frame_bgr: np.ndarray) -> np.ndarray:
    """The frame as a C-contiguous uint8 (H, W, 3) array, or a ValueError naming what arrived."""
    if not isinstance(frame_bgr, np.ndarray) or frame_bgr.dtype != np.uint8 or frame_bgr.ndim != 3:
        what = (
            type(frame_bgr).__name__
            if not isinstance(frame_bgr, np.ndarray)
            else f"{frame_bgr.dtype} {frame_bgr.shape}"
        )
        raise ValueError(f"expected a uint8 (H, W, 3) BGR frame, got {what}")
    if frame_bgr.shape[2] != 3 or frame_bgr.shape[0] == 0 or frame_bgr.shape[1] == 0:
        raise ValueError(f"expected a uint8 (H, W, 3) BGR frame, got shape {frame_bgr.shape}")
    return np.ascontiguousarray(frame_bgr)


#: A crop smaller than this (px, either side) is not searched: nothing can be found in it.
MIN_ROI_SIDE_PX = 16


def crop_roi(frame_bgr: np.ndarray, roi: Sequence[float] | None) -> tuple[np.ndarray, tuple[int, int]] | None:
    """Cut ``roi = (x0, y0, x1, y1)`` (image px) out of the frame, padding with black where it
    leaves the frame. Returns (crop, (x0, y0) integer offset of the crop in the frame), the
    whole frame with offset (0, 0) when ``roi`` is None, or None when the ROI is degenerate
    (not finite, smaller than ``MIN_ROI_SIDE_PX``, or outside the frame)."""
    if roi is None:
        return frame_bgr, (0, 0)
    values = np.asarray(roi, dtype=np.float64).reshape(-1)
    if values.shape != (4,):
        raise ValueError(f"roi must be (x0, y0, x1, y1), got {roi!r}")
    if not np.isfinite(values).all():
        return None
    h, w = frame_bgr.shape[:2]
    x0, y0 = math.floor(values[0]), math.floor(values[1])
    x1, y1 = math.ceil(values[2]), math.ceil(values[3])
    if x1 - x0 < MIN_ROI_SIDE_PX or y1 - y0 < MIN_ROI_SIDE_PX:
        return None
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx1 - cx0 < 1 or cy1 - cy0 < 1:
        return None
    crop = frame_bgr[cy0:cy1, cx0:cx1]
    pads = (cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1)
    if any(pads):
        crop = cv2.copyMakeBorder(crop, *pads, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return np.ascontiguousarray(crop), (x0, y0)


# --- the face estimator ----------------------------------------------------------------------


class FaceEstimator:
    """MediaPipe's face mesh from the installed wheel. Not thread-safe per mode; ``close()`` is
    idempotent; use as a context manager.

    intrinsics : the camera for :attr:`Face.head_pose` (rescaled to each frame's size); None
        assumes a ``DEFAULT_HFOV_DEG`` pinhole centred on the frame.
    """

    def __init__(self, options: FaceOptions | None = None, intrinsics: CameraIntrinsics | None = None) -> None:
        self.options = options or FaceOptions()
        self.intrinsics = intrinsics
        self._runner = TaskRunner("FaceEstimator", self._create)

    def _create(self, video: bool):
        from mediapipe.tasks.python import BaseOptions, vision

        o = self.options
        return vision.FaceLandmarker.create_from_options(
            vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(face_landmarker_task(o.irises))),
                running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
                num_faces=o.max_faces,
                min_face_detection_confidence=o.min_detection_confidence,
                min_face_presence_confidence=o.min_presence_confidence,
                min_tracking_confidence=o.min_tracking_confidence,
            )
        )

    def _camera(self, width: int, height: int) -> CameraIntrinsics:
        if self.intrinsics is None:
            return CameraIntrinsics.from_fov(width, height, DEFAULT_HFOV_DEG)
        if (self.intrinsics.width, self.intrinsics.height) == (width, height):
            return self.intrinsics
        return self.intrinsics.scaled_to(width, height)

    def detect_all(
        self, frame_bgr: np.ndarray, roi: Sequence[float] | None = None, timestamp_ms: int | None = None
    ) -> list[Face]:
        """Every face found (at most ``max_faces``), largest first; image mode when
        ``timestamp_ms`` is None."""
        frame = check_frame(frame_bgr)
        h, w = frame.shape[:2]
        cropped = crop_roi(frame, roi)
        if cropped is None:
            return []
        crop, (ox, oy) = cropped
        ch, cw = crop.shape[:2]
        result = self._runner.run(mp_image(crop), timestamp_ms)
        n = MESH_WITH_IRISES_POINTS if self.options.irises else MESH_POINTS
        camera = self._camera(w, h)
        faces = []
        for lms in result.face_landmarks:
            norm = np.array([[p.x, p.y, p.z] for p in lms[:n]], dtype=np.float32)
            faces.append(
                Face(
                    landmarks_px=normalized_to_px(norm, cw, ch, (ox, oy)),
                    depth_px=norm[:, 2] * np.float32(cw),
                    image_size=(w, h),
                    intrinsics=camera,
                    timestamp_ms=None if timestamp_ms is None else int(timestamp_ms),
                )
            )
        faces.sort(key=lambda f: -_area(f.bbox_px()))
        return faces

    def detect(self, frame_bgr: np.ndarray, roi: Sequence[float] | None = None) -> Face | None:
        """A still image (or the ``roi`` crop of it): the largest face, or None."""
        faces = self.detect_all(frame_bgr, roi)
        return faces[0] if faces else None

    def detect_for_video(
        self, frame_bgr: np.ndarray, timestamp_ms: int, roi: Sequence[float] | None = None
    ) -> Face | None:
        """One frame of a stream (timestamps in ms, increasing; repeats are bumped): the largest
        face, or None."""
        faces = self.detect_all(frame_bgr, roi, timestamp_ms=timestamp_ms)
        return faces[0] if faces else None

    def reset_stream(self) -> None:
        """Forget the stream (a new clip or camera): the next video frame starts afresh."""
        self._runner.reset_stream()

    def close(self) -> None:
        self._runner.close()

    def __enter__(self) -> FaceEstimator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _area(bbox: tuple[float, float, float, float]) -> float:
    return max(bbox[2] - bbox[0], 0.0) * max(bbox[3] - bbox[1], 0.0)


def face_roi_px(pose, scale: float = 3.0) -> tuple[float, float, float, float] | None:
    """A square ROI (x0, y0, x1, y1) in image px around the head of a BlazePose
    :class:`~tryon.pose.types.Pose`: ``scale`` x the spread of its present face keypoints (nose,
    eyes, ears, mouth), centred on them; None when fewer than 3 are present."""
    from tryon.pose.landmarks import L

    head = [L.NOSE, L.LEFT_EYE, L.RIGHT_EYE, L.LEFT_EAR, L.RIGHT_EAR, L.MOUTH_LEFT, L.MOUTH_RIGHT]
    pts = pose.keypoints_px[head][pose.presence[head] >= 0.5].astype(np.float64)
    if len(pts) < 3:
        return None
    centre = pts.mean(axis=0)
    half = 0.5 * scale * max(float(np.max(np.ptp(pts, axis=0))), 8.0)
    return float(centre[0] - half), float(centre[1] - half), float(centre[0] + half), float(centre[1] + half)
