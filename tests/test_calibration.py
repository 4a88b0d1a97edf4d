"""Chessboard calibration on synthetic board photos with known intrinsics."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from helpers import ROOT

from tryon.calibration import (
    CalibrationError,
    CameraCalibration,
    board_distance,
    board_points,
    calibrate,
    capture_views,
    images_from,
    parse_board,
)

SIZE = (640, 480)
K_TRUE = np.array([[620.0, 0.0, 318.0], [0.0, 616.0, 243.0], [0.0, 0.0, 1.0]])
BOARD = (9, 6)
SQUARE_MM = 25.0


def render_board(K, rvec, tvec, rng, size=SIZE, board=BOARD, square_mm=SQUARE_MM, ss=2):
    """A photo of a printed board: the board's squares projected with K and filled
    (2x supersampled), on a white sheet over a grey room, mildly blurred and noisy."""
    cols, rows = board
    s = square_mm / 1000.0
    Kss = K.copy()
    Kss[:2] *= ss
    Kss[:2, 2] += (ss - 1) / 2.0

    def proj(pts):
        p, _ = cv2.projectPoints(np.asarray(pts, np.float64), rvec, tvec, Kss, None)
        return np.round(p.reshape(-1, 2) * 16).astype(np.int32)  # 4 bits of subpixel

    img = np.full((size[1] * ss, size[0] * ss), 90, np.uint8)
    sheet = [(-1.8 * s, -1.8 * s, 0), ((cols + 0.8) * s, -1.8 * s, 0), ((cols + 0.8) * s, (rows + 0.8) * s, 0)]
    sheet.append((-1.8 * s, (rows + 0.8) * s, 0))
    cv2.fillConvexPoly(img, proj(sheet), 235, cv2.LINE_AA, shift=4)
    for i in range(-1, cols):
        for j in range(-1, rows):
            if (i + j) % 2 == 0:
                sq = [
                    (i * s, j * s, 0),
                    ((i + 1) * s, j * s, 0),
                    ((i + 1) * s, (j + 1) * s, 0),
                    (i * s, (j + 1) * s, 0),
                ]
                cv2.fillConvexPoly(img, proj(sq), 25, cv2.LINE_AA, shift=4)
    img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    img = cv2.GaussianBlur(img, (0, 0), 0.7)
    img = np.clip(img + rng.normal(0.0, 3.0, img.shape), 0, 255).astype(np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)


def board_pose(rng, distance_m, tilt_deg=30.0):
    """(rvec, tvec) of a board turned up to ``tilt_deg`` with its centre ~``distance_m`` away."""
    ax, ay, az = np.radians([rng.uniform(-tilt_deg, tilt_deg), rng.uniform(-tilt_deg, tilt_deg), rng.uniform(-15, 15)])
    R = cv2.Rodrigues(np.array([ax, 0, 0]))[0] @ cv2.Rodrigues(np.array([0, ay, 0]))[0]
    R = R @ cv2.Rodrigues(np.array([0, 0, az]))[0]
    centre = board_points(BOARD, SQUARE_MM).mean(axis=0)
    t = np.array([rng.uniform(-0.08, 0.08), rng.uniform(-0.05, 0.05), distance_m]) - R @ centre
    return cv2.Rodrigues(R)[0], t


@pytest.fixture(scope="module")
def views():
    rng = np.random.default_rng(7)
    return [render_board(K_TRUE, *board_pose(rng, rng.uniform(0.45, 0.7)), rng) for _ in range(10)]


def test_calibration_recovers_the_intrinsics(views):
    calib = calibrate(views, BOARD, SQUARE_MM)
    assert calib.views == 10 and (calib.width, calib.height) == SIZE
    assert calib.fx == pytest.approx(K_TRUE[0, 0], rel=0.02)
    assert calib.fy == pytest.approx(K_TRUE[1, 1], rel=0.02)
    assert calib.cx == pytest.approx(K_TRUE[0, 2], abs=6) and calib.cy == pytest.approx(K_TRUE[1, 2], abs=6)
    assert calib.rms_px < 0.3
    assert max(abs(d) for d in calib.distortion) < 0.1  # the synthetic lens has none
    assert calib.intrinsics.matrix.shape == (3, 3)


def test_standing_distance_from_the_board_at_the_spot(views):
    calib = calibrate(views, BOARD, SQUARE_MM)
    rng = np.random.default_rng(3)
    rvec, tvec = board_pose(rng, 1.4, tilt_deg=8.0)
    spot = render_board(K_TRUE, rvec, tvec, rng)
    assert board_distance(spot, calib) == pytest.approx(1.4, rel=0.03)
    with pytest.raises(CalibrationError, match="chessboard"):
        board_distance(np.full((480, 640, 3), 128, np.uint8), calib)


def test_json_round_trip(tmp_path, views):
    calib = calibrate(views, BOARD, SQUARE_MM).with_standing_distance(2.35)
    path = calib.save(tmp_path / "deep" / "camera.json")
    data = json.loads(path.read_text())
    for key in ("fx", "fy", "cx", "cy", "width", "height", "distortion", "rms_px", "date", "standing_distance_m"):
        assert key in data
    assert data["board"] == {"cols": 9, "rows": 6, "square_mm": 25.0} and len(data["distortion"]) == 5
    again = CameraCalibration.load(path)
    assert again == calib
    assert again.intrinsics == calib.intrinsics
    (tmp_path / "bad.json").write_text('{"version": 1, "fx": 1}')
    with pytest.raises(ValueError, match="bad.json"):
        CameraCalibration.load(tmp_path / "bad.json")


def test_undistortion_keeps_the_frame_and_straightens_lines():
    calib = CameraCalibration(600.0, 600.0, 320.0, 240.0, 640, 480, (-0.25, 0.05, 0, 0, 0), 0.2, 10)
    undistort = calib.undistorter()
    grid = np.zeros((480, 640, 3), np.uint8)
    grid[::40] = 255
    out = undistort(grid)
    assert out.shape == grid.shape and not np.array_equal(out, grid)
    assert undistort(cv2.resize(grid, (320, 240))).shape == (240, 320, 3)  # another size: maps rebuilt
    assert CameraCalibration(600.0, 600.0, 320.0, 240.0, 640, 480, (0.0,) * 5, 0.2, 10).undistorter() is None


def test_too_few_views_and_bad_boards_are_clear():
    with pytest.raises(CalibrationError, match="no 9x6 chessboard found in any of the 2 images"):
        calibrate([np.full((480, 640, 3), v, np.uint8) for v in (30, 200)])
    rng = np.random.default_rng(1)
    one = render_board(K_TRUE, *board_pose(rng, 0.5), rng)
    with pytest.raises(CalibrationError, match="only 1 of 2"):
        calibrate([one, np.zeros_like(one)])
    assert parse_board("9x6") == (9, 6)
    with pytest.raises(ValueError, match="9x6"):
        parse_board("nine by six")


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "tryon", "calibrate", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_calibrate_command(tmp_path, views):
    folder = tmp_path / "boards"
    folder.mkdir()
    for i, img in enumerate(views):
        cv2.imwrite(str(folder / f"view{i:02d}.png"), img)
    rng = np.random.default_rng(5)
    spot = tmp_path / "spot.png"
    cv2.imwrite(str(spot), render_board(K_TRUE, *board_pose(rng, 1.2, 5.0), rng))
    out = tmp_path / "camera.json"
    proc = run_cli("--input", str(folder), "--standing", str(spot), "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "calibrated from 10 views" in proc.stdout and "1.2" in proc.stdout
    calib = CameraCalibration.load(out)
    assert calib.fx == pytest.approx(620.0, rel=0.02)
    assert calib.standing_distance_m == pytest.approx(1.2, rel=0.03)
    assert len(list(images_from(folder))) == 10


def test_a_folder_without_a_chessboard_is_one_line_and_exit_2(tmp_path):
    folder = tmp_path / "nothing"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.jpg"), rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    proc = run_cli("--input", str(folder), "--output", str(tmp_path / "c.json"), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no 9x6 chessboard found" in proc.stderr
    assert not (tmp_path / "c.json").exists()
    proc = run_cli("--input", str(tmp_path / "missing"), cwd=tmp_path)
    assert proc.returncode == 2 and "not found" in proc.stderr
    assert (ROOT / "tryon" / "calibration.py").is_file()


def test_views_are_taken_from_a_live_camera_when_the_board_moves(views):
    class FakeCamera:
        def __init__(self) -> None:
            self.frames = [None, np.zeros_like(views[0])] + [v for v in views for _ in range(2)]

        def read(self):
            return self.frames.pop(0) if self.frames else views[-1]

    taken, standing = capture_views(FakeCamera(), BOARD, views=6, show=False, min_gap_s=0.0)
    assert len(taken) == 6 and standing is None  # the blank and the repeated frames were not taken
    assert all(any(t is not v and np.array_equal(t, v) for v in views) for t in taken)
    assert len({t.tobytes() for t in taken}) == 6  # six different views, no repeats
    assert calibrate(taken).fx == pytest.approx(K_TRUE[0, 0], rel=0.03)
