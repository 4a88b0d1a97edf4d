"""One-time camera calibration with a printed chessboard (``tryon calibrate``).

Show the camera a flat printed chessboard in a dozen different tilts and places; OpenCV finds
its inner corners in each view (``findChessboardCorners``, refined to sub-pixel) and solves for
the camera's focal lengths, principal point and lens distortion (``calibrateCamera``). Then,
optionally, hold the board upright where the shopper will stand: its distance from the camera
(``solvePnP``) turns the shopper's pixel lengths into true metres, which is what makes size
advice trustworthy (:mod:`tryon.sizing`).

The result is a JSON file (default ``~/.config/tryon/camera.json``, or
``$XDG_CONFIG_HOME/tryon/camera.json``)::

    {
      "version": 1,
      "date": "2026-11-25T10:12:03+00:00",      # when it was calibrated (UTC)
      "width": 1280, "height": 720,             # the image size it holds for (px)
      "fx": 912.4, "fy": 911.8,                 # focal lengths (px)
      "cx": 641.2, "cy": 359.0,                 # principal point (px)
      "distortion": [k1, k2, p1, p2, k3],       # OpenCV's radial/tangential model
      "rms_px": 0.31,                           # RMS reprojection error over all corners (px)
      "views": 14,                              # board views used
      "board": {"cols": 9, "rows": 6, "square_mm": 25.0},   # inner corners, square size
      "standing_distance_m": 2.41               # camera depth of the standing spot, or null
    }

``tryon mirror`` reads it when present: the intrinsics go to the engine
(``EngineOptions(intrinsics=...)``), frames are undistorted, and the standing distance gives the
size advice a calibrated metric scale.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from tryon.frames import CameraIntrinsics
from tryon.video import IMAGE_SUFFIXES, SourceError, read_image

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
#: At least this many board views are needed for a calibration.
MIN_VIEWS = 3
DEFAULT_BOARD = (9, 6)
DEFAULT_SQUARE_MM = 25.0
#: Longest image side the corner search works at (larger frames are searched downscaled).
DETECT_MAX_SIDE = 1280


class CalibrationError(ValueError):
    """Calibration cannot be done from what was given (no board found, too few views)."""


def default_path() -> Path:
    """``$XDG_CONFIG_HOME/tryon/camera.json`` (``~/.config`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tryon" / "camera.json"


def parse_board(spec: str) -> tuple[int, int]:
    """``"9x6"`` -> (9, 6): inner corners per row and per column."""
    try:
        cols, rows = (int(v) for v in spec.lower().split("x"))
    except ValueError:
        raise ValueError(f"board must be COLSxROWS inner corners, like 9x6; got {spec!r}") from None
    if cols < 3 or rows < 3:
        raise ValueError(f"a board needs at least 3x3 inner corners, got {spec!r}")
    return cols, rows


def board_points(board: tuple[int, int], square_mm: float) -> np.ndarray:
    """(cols * rows, 3) float32: the inner corners on the board plane (z = 0), in metres,
    row by row as ``findChessboardCorners`` orders them."""
    cols, rows = board
    grid = np.mgrid[0:cols, 0:rows].T.reshape(-1, 2).astype(np.float32)
    return np.concatenate([grid * (square_mm / 1000.0), np.zeros((len(grid), 1), np.float32)], axis=1)


def find_corners(image: np.ndarray, board: tuple[int, int]) -> np.ndarray | None:
    """(N, 1, 2) float32 sub-pixel inner corners of the board in ``image`` (BGR or gray), or
    None: ``findChessboardCorners`` (fast check, refined with ``cornerSubPix``), then
    ``findChessboardCornersSB`` for boards too small for the first."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    scale = min(1.0, DETECT_MAX_SIDE / max(gray.shape))
    small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_FAST_CHECK
    found, corners = cv2.findChessboardCorners(small, board, flags=flags)
    if not found:
        # Small or far boards (the standing spot) defeat the fast check; the sector-based
        # detector finds them, already to sub-pixel accuracy.
        found, corners = cv2.findChessboardCornersSB(small, board)
        if not found:
            return None
        return (corners / scale).astype(np.float32)
    corners = corners / scale
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 40, 0.01)
    return cv2.cornerSubPix(gray, corners.astype(np.float32), (5, 5), (-1, -1), criteria)


@dataclass(frozen=True)
class CameraCalibration:
    """A calibrated camera (see the module docstring for the fields and the JSON)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    distortion: tuple[float, ...]
    rms_px: float
    views: int
    board: tuple[int, int] = DEFAULT_BOARD
    square_mm: float = DEFAULT_SQUARE_MM
    date: str = ""
    standing_distance_m: float | None = None

    @property
    def intrinsics(self) -> CameraIntrinsics:
        return CameraIntrinsics(self.fx, self.fy, self.cx, self.cy, self.width, self.height)

    @property
    def matrix(self) -> np.ndarray:
        return self.intrinsics.matrix

    def with_standing_distance(self, distance_m: float | None) -> CameraCalibration:
        return CameraCalibration(**{**asdict(self), "standing_distance_m": distance_m})

    def to_json(self) -> dict:
        return {
            "version": FORMAT_VERSION,
            "date": self.date,
            "width": self.width,
            "height": self.height,
            "fx": self.fx,
            "fy": self.fy,
            "cx": self.cx,
            "cy": self.cy,
            "distortion": list(self.distortion),
            "rms_px": self.rms_px,
            "views": self.views,
            "board": {"cols": self.board[0], "rows": self.board[1], "square_mm": self.square_mm},
            "standing_distance_m": self.standing_distance_m,
        }

    @classmethod
    def from_json(cls, data: dict) -> CameraCalibration:
        """ValueError naming the problem for a file that is not a calibration."""
        try:
            if data.get("version") != FORMAT_VERSION:
                raise ValueError(f"unsupported calibration version {data.get('version')!r}")
            board = data.get("board") or {}
            dist = data.get("standing_distance_m")
            calib = cls(
                fx=float(data["fx"]),
                fy=float(data["fy"]),
                cx=float(data["cx"]),
                cy=float(data["cy"]),
                width=int(data["width"]),
                height=int(data["height"]),
                distortion=tuple(float(v) for v in data.get("distortion") or ()),
                rms_px=float(data.get("rms_px", 0.0)),
                views=int(data.get("views", 0)),
                board=(int(board.get("cols", DEFAULT_BOARD[0])), int(board.get("rows", DEFAULT_BOARD[1]))),
                square_mm=float(board.get("square_mm", DEFAULT_SQUARE_MM)),
                date=str(data.get("date", "")),
                standing_distance_m=None if dist is None else float(dist),
            )
            calib.intrinsics  # validates sizes and focal lengths  # noqa: B018
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a camera calibration: missing or bad field {exc}") from None
        return calib

    def save(self, path: str | Path) -> Path:
        """Write the JSON atomically (folders created)."""
        path = Path(path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> CameraCalibration:
        path = Path(path).expanduser()
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read calibration {path}: {exc}") from None
        try:
            return cls.from_json(data)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    # -- using it ---------------------------------------------------------------------------
    def undistorter(self):
        """A function frame -> undistorted frame (maps built once per frame size, the same
        intrinsics kept so the engine's ``CameraIntrinsics`` stay valid), or None when the
        lens has no distortion to remove."""
        if not any(abs(v) > 1e-6 for v in self.distortion):
            return None
        maps: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        d = np.asarray(self.distortion, np.float64)

        def undistort(frame: np.ndarray) -> np.ndarray:
            size = (frame.shape[1], frame.shape[0])
            if size not in maps:
                K = self.intrinsics.scaled_to(*size).matrix
                maps[size] = cv2.initUndistortRectifyMap(K, d, None, K, size, cv2.CV_16SC2)
            return cv2.remap(frame, *maps[size], cv2.INTER_LINEAR)

        return undistort


def calibrate(
    images: Iterable[np.ndarray],
    board: tuple[int, int] = DEFAULT_BOARD,
    square_mm: float = DEFAULT_SQUARE_MM,
    source: str = "the images",
) -> CameraCalibration:
    """Calibrate from images of the board. CalibrationError when fewer than ``MIN_VIEWS``
    images show it (the message says how many did)."""
    obj = board_points(board, square_mm)
    obj_pts, img_pts = [], []
    size = None
    n = 0
    for img in images:
        n += 1
        if size is None:
            size = (img.shape[1], img.shape[0])
        elif (img.shape[1], img.shape[0]) != size:
            log.warning("skipping an image of another size (%dx%d)", img.shape[1], img.shape[0])
            continue
        corners = find_corners(img, board)
        if corners is not None:
            obj_pts.append(obj)
            img_pts.append(corners)
    spec = f"{board[0]}x{board[1]}"
    if n == 0:
        raise CalibrationError(f"no images in {source}")
    if not img_pts:
        raise CalibrationError(
            f"no {spec} chessboard found in any of the {n} images in {source} "
            f"(--board counts inner corners: a board of 10x7 squares is 9x6)"
        )
    if len(img_pts) < MIN_VIEWS:
        raise CalibrationError(
            f"the {spec} chessboard was found in only {len(img_pts)} of {n} images in {source}; "
            f"need at least {MIN_VIEWS} views (tilt and move the board between them)"
        )
    rms, K, dist, _, _ = cv2.calibrateCamera(obj_pts, img_pts, size, None, None, flags=cv2.CALIB_FIX_K3)
    return CameraCalibration(
        fx=float(K[0, 0]),
        fy=float(K[1, 1]),
        cx=float(K[0, 2]),
        cy=float(K[1, 2]),
        width=int(size[0]),
        height=int(size[1]),
        distortion=tuple(float(v) for v in np.ravel(dist)[:5]),
        rms_px=float(rms),
        views=len(img_pts),
        board=tuple(board),
        square_mm=float(square_mm),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )


def board_distance(image: np.ndarray, calib: CameraCalibration) -> float:
    """Camera depth (m) of the board's centre in ``image`` (the board held at the standing
    spot). CalibrationError if the board is not found."""
    corners = find_corners(image, calib.board)
    if corners is None:
        raise CalibrationError(f"no {calib.board[0]}x{calib.board[1]} chessboard in the standing-spot image")
    K = calib.intrinsics.scaled_to(image.shape[1], image.shape[0]).matrix
    obj = board_points(calib.board, calib.square_mm)
    ok, rvec, tvec = cv2.solvePnP(obj, corners, K, np.asarray(calib.distortion, np.float64))
    if not ok:
        raise CalibrationError("could not place the chessboard in the standing-spot image")
    R, _ = cv2.Rodrigues(rvec)
    centre = R @ obj.mean(axis=0).astype(np.float64) + tvec.ravel()
    return float(centre[2])


def images_from(path: str | Path, max_images: int = 60) -> Iterator[np.ndarray]:
    """Frames to calibrate from: every image in a folder, one image, or up to ``max_images``
    frames spread evenly over a video. SourceError for what cannot be read."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"input not found: {path}")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for f in files:
            try:
                yield read_image(f)
            except SourceError as exc:
                log.warning("skipping %s", exc)
        return
    if path.suffix.lower() in IMAGE_SUFFIXES:
        yield read_image(path)
        return
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise SourceError(f"cannot open {path} as a video")
    try:
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        step = max(1, count // max_images) if count > 0 else 1
        i = 0
        while True:
            ok = cap.grab()
            if not ok:
                break
            if i % step == 0:
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    yield frame
            i += 1
    finally:
        cap.release()


def capture_views(
    camera, board: tuple[int, int], views: int = 15, show: bool = True, min_gap_s: float = 0.8
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Collect board views from a live camera (``camera.read()`` -> frame or None).

    A view is taken automatically when the board is found and has moved since the last one
    (or on Space). With ``show``, a window shows the corners found and the count; after
    ``views`` views it asks for the standing spot: hold the board upright where the shopper
    stands and press D (Enter skips). Q or Esc ends early. Returns (views, standing image).
    """
    taken: list[np.ndarray] = []
    standing = None
    last_centre = None
    last_t = 0.0
    title = "tryon calibrate"
    if show:
        cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
    try:
        while True:
            frame = camera.read()
            if frame is None:
                time.sleep(0.05)
                if show and cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                    break
                continue
            corners = find_corners(frame, board)
            need_standing = len(taken) >= views
            key = -1
            if show:
                vis = frame.copy()
                if corners is not None:
                    cv2.drawChessboardCorners(vis, board, corners, True)
                msg = (
                    "Hold the board upright at the standing spot: D to measure, Enter to skip"
                    if need_standing
                    else f"views {len(taken)}/{views}: tilt and move the board (Space: take one)"
                )
                cv2.putText(vis, msg, (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4, cv2.LINE_AA)
                cv2.putText(vis, msg, (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 1, cv2.LINE_AA)
                cv2.imshow(title, vis)
                key = cv2.waitKey(1) & 0xFF
                if key in (ord("q"), 27):
                    break
            if need_standing:
                if not show or key in (10, 13):
                    break
                if key in (ord("d"), ord("D")) and corners is not None:
                    standing = frame.copy()
                    break
                continue
            if corners is None:
                continue
            centre = corners.reshape(-1, 2).mean(axis=0) / max(frame.shape[:2])
            now = time.monotonic()
            moved = last_centre is None or float(np.linalg.norm(centre - last_centre)) > 0.06
            if key == 32 or (moved and now - last_t >= min_gap_s):
                taken.append(frame.copy())
                last_centre, last_t = centre, now
                log.info("view %d/%d", len(taken), views)
    finally:
        if show:
            cv2.destroyWindow(title)
            cv2.waitKey(1)
    return taken, standing
