"""The mirror app: in process with a stand-in engine and fake clock/camera, and the real app
as a subprocess (real engine, real window under Xvfb, real HTTP, real files)."""

from __future__ import annotations

import http.client
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from helpers import ROOT

from tryon.calibration import CameraCalibration
from tryon.mirror.app import CameraFeed, MirrorApp, MirrorConfig
from tryon.mirror.ui import CatalogEntry, DwellOptions, Outfit, Wardrobe, layout_buttons
from tryon.pose.landmarks import NUM_LANDMARKS, L
from tryon.pose.types import Pose
from tryon.video import SourceError

pytestmark = pytest.mark.slow  # the real app in subprocesses, under Xvfb

DANCE = ROOT / "samples" / "dance.mp4"
W, H = 320, 240


# -- stand-ins ---------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class FakeEngine:
    """Stands in for TryOnEngine: "composites" by mirroring the frame and painting a garment
    box on it; ``pose_for(n)`` gives the pose of the n-th result; ``fail_at``: results that
    raise instead. Advances the fake clock by a frame per result."""

    GARMENT = (120, 40, 20)

    def __init__(self, clock: FakeClock, pose_for=lambda n: None, fail_at=()) -> None:
        self.clock = clock
        self.pose_for = pose_for
        self.fail_at = set(fail_at)
        self.items: list[list[str]] = []
        self.streams = 0
        self.n = 0

    def set_items(self, specs) -> None:
        self.items.append(list(specs))

    def composite(self, frame: np.ndarray) -> np.ndarray:
        img = frame[:, ::-1].copy()
        img[80:180, 120:200] = self.GARMENT
        return img

    def process_stream(self, frames, fps=30.0):
        self.streams += 1
        for frame, ts in frames:
            n = self.n
            self.n += 1
            self.clock.t += 1.0 / 30.0
            if n in self.fail_at:
                raise RuntimeError(f"boom at {n}")
            yield SimpleNamespace(
                image=self.composite(frame), pose=self.pose_for(n), timings_ms={"total": 5.0}, timestamp_ms=ts
            )


class FakeFeed:
    """Frames by schedule: ``frame_at(i)`` -> frame or None (camera gone)."""

    fps = 30.0
    label = "fake camera"

    def __init__(self, frame_at) -> None:
        self.frame_at = frame_at
        self.i = 0

    def read(self):
        i = self.i
        self.i += 1
        return self.frame_at(i), i * 33

    def close(self) -> None:
        pass


class Recorder:
    """Stands in for the MJPEG server: keeps every published frame."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def publish(self, image) -> None:
        self.frames.append(image.copy())

    def close(self) -> None:
        pass


def raw_frame() -> np.ndarray:
    """An asymmetric test frame (mirroring it is visible)."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:, :, 1] = np.linspace(0, 255, W, dtype=np.uint8)[None, :]
    img[:, : W // 3, 2] = 200
    return img


def wardrobe() -> Wardrobe:
    return Wardrobe(
        [
            CatalogEntry("tee-a", "Tee A", "top"),
            CatalogEntry("tee-b", "Tee B", "top", ("red",)),
            CatalogEntry("jeans", "Jeans", "bottom"),
        ]
    )


def hand_pose(x_cam: float, y: float) -> Pose:
    """A pose with only the left hand visible, at camera px (x_cam, y)."""
    kp = np.zeros((NUM_LANDMARKS, 2), np.float32)
    vis = np.zeros(NUM_LANDMARKS, np.float32)
    for i in (L.LEFT_WRIST, L.LEFT_INDEX, L.LEFT_PINKY):
        kp[i] = (x_cam, y)
        vis[i] = 0.95
    z = np.zeros(NUM_LANDMARKS, np.float32)
    return Pose(kp, z, vis, np.ones(NUM_LANDMARKS, np.float32), np.zeros((NUM_LANDMARKS, 3), np.float32), None, (W, H))


def make_app(engine, feed, tmp_path, clock, **config) -> tuple[MirrorApp, Recorder]:
    rec = Recorder()
    cfg = MirrorConfig(snapshots=tmp_path / "photos", unavailable_size=(W, H), **config)
    app = MirrorApp(engine, feed, Outfit(wardrobe(), ["tee-a"]), cfg, server=rec, clock=clock)
    return app, rec


# -- in process ----------------------------------------------------------------------------------
def test_a_dwell_on_photo_saves_the_composited_mirrored_frame(tmp_path):
    clock = FakeClock()
    photo = next(b for b in layout_buttons(W, H, Outfit(wardrobe(), ["tee-a"])) if b.id == "photo")
    bx, by, bw, bh = photo.rect
    pose = hand_pose(W - (bx + bw / 2), by + bh / 2)  # mirrored onto the Photo button
    engine = FakeEngine(clock, pose_for=lambda n: pose)
    feed = FakeFeed(lambda i: raw_frame())
    app, rec = make_app(engine, feed, tmp_path, clock, max_frames=60, snapshot_delay_s=0.5, dwell=DwellOptions(1.0))
    assert app.run() == 0
    files = sorted((tmp_path / "photos").iterdir())
    assert [f.suffix for f in files] == [".jpg"] and files[0].name.startswith("tryon-")  # one press, no raw
    snap = cv2.imread(str(files[0])).astype(np.float32)
    composite = engine.composite(raw_frame()).astype(np.float32)
    assert np.abs(snap - composite).mean() < 3.0  # the composited, mirrored frame, without the buttons
    assert np.abs(snap - raw_frame()).mean() > 40.0  # not the raw frame
    shown = rec.frames[-1].astype(np.float32)
    assert np.abs(shown - composite)[by : by + bh, bx : bx + bw].mean() > 20.0  # the display has buttons


def test_save_raw_keeps_the_camera_frame_beside_the_photo(tmp_path):
    clock = FakeClock()
    engine = FakeEngine(clock, pose_for=lambda n: None)
    app, _ = make_app(
        engine, FakeFeed(lambda i: raw_frame()), tmp_path, clock, max_frames=12, snapshot_delay_s=0, save_raw=True
    )
    app.config.script = {5: ["s"]}
    assert app.run() == 0
    photos = [p.name for p in (tmp_path / "photos").iterdir() if not p.name.endswith("-raw.jpg")]
    assert len(photos) == 1
    raw_path = tmp_path / "photos" / photos[0].replace(".jpg", "-raw.jpg")
    assert raw_path.is_file() and len(list((tmp_path / "photos").iterdir())) == 2
    raw = cv2.imread(str(raw_path)).astype(np.float32)
    assert np.abs(raw - raw_frame()).mean() < 3.0


def test_camera_outages_show_the_message_and_the_app_keeps_going(tmp_path, caplog):
    """A camera that cannot be opened at first, then delivers, then disconnects (read() ->
    None) and comes back: the app shows the retry message each time and never ends."""
    clock = FakeClock()

    class FlakyCamera:
        def __init__(self) -> None:
            self.reads = 0

        def read(self):
            self.reads += 1
            return None if 20 <= self.reads < 30 else raw_frame()

        def close(self) -> None:
            pass

    attempts = []
    camera = FlakyCamera()

    def factory(index, size, retry_s):
        attempts.append(index)
        if len(attempts) < 4:
            raise SourceError(f"cannot open camera {index}")
        return camera

    feed = CameraFeed(5, retry_s=0.0, factory=factory)
    engine = FakeEngine(clock, pose_for=lambda n: hand_pose(W - 160, 40))  # a shopper, hand up
    app, rec = make_app(engine, feed, tmp_path, clock, max_frames=60)
    with caplog.at_level(logging.WARNING, logger="tryon.mirror.app"):
        assert app.run() == 0
    assert len(attempts) == 4 and app.frames == 60
    assert sum("Camera unavailable, retrying" in r.getMessage() for r in caplog.records) == 2  # once per outage
    kinds = ["live" if (f[130, 160] == FakeEngine.GARMENT).all() else "message" for f in rec.frames]
    runs = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    assert runs == ["message", "live", "message", "live"]
    assert engine.streams == 2  # the stream restarted when the camera came back


def test_a_failing_frame_is_logged_and_the_loop_goes_on(tmp_path, caplog):
    clock = FakeClock()
    engine = FakeEngine(clock, fail_at={5, 6})
    app, rec = make_app(engine, FakeFeed(lambda i: raw_frame()), tmp_path, clock, max_frames=20)
    with caplog.at_level(logging.ERROR, logger="tryon.mirror.app"):
        assert app.run() == 0
    assert app.frames == 20 and len(rec.frames) == 20
    assert any("frame processing failed" in r.getMessage() for r in caplog.records)
    assert engine.streams == 3


def test_the_session_resets_after_the_shopper_leaves(tmp_path):
    clock = FakeClock()
    engine = FakeEngine(clock, pose_for=lambda n: hand_pose(10, 10) if n < 10 else None)
    app, rec = make_app(engine, FakeFeed(lambda i: raw_frame()), tmp_path, clock, max_frames=120, reset_after_s=2.0)
    app.config.script = {3: ["n"], 4: ["2"], 5: ["r"]}  # next top, choose bottom, add jeans
    assert app.run() == 0
    assert ["tee-b", "jeans"] in engine.items  # the shopper's outfit reached the engine
    assert engine.items[-1] == ["tee-a"] and app.outfit.is_default() and app.outfit.active == "top"
    assert engine.streams == 2  # tracking restarted for the next shopper
    idle = rec.frames[-1].astype(np.float32).mean()
    live = rec.frames[8].astype(np.float32).mean()
    assert idle < 0.6 * live  # the invitation dims the room


# -- the real app -----------------------------------------------------------------------------------
def mirror_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "tryon", "mirror", *args]


def run_mirror(*args, cwd, env=None, timeout=180):
    return subprocess.run(mirror_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory):
    """The three bundled basics only, so the layout is known whatever else the catalog holds."""
    root = tmp_path_factory.mktemp("catalog")
    for item in ("navy-longsleeve", "white-tee", "blue-jeans"):
        shutil.copytree(ROOT / "garments" / item, root / item)
    (root / "broken-item").mkdir()
    (root / "broken-item" / "manifest.json").write_text("{not json")  # skipped with a warning
    return root


def read_video(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            return frames
        frames.append(f)


def torso_polygon(engine, frame: np.ndarray, shrink: float = 0.7) -> np.ndarray:
    """The shoulders-hips quad of the person in ``frame``, mirrored to display px and shrunk
    toward its centre (to stay inside a top)."""
    pose = engine.process(frame).pose
    assert pose is not None
    quad = pose.keypoints_px[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.RIGHT_HIP, L.LEFT_HIP]].astype(np.float64)
    quad[:, 0] = frame.shape[1] - quad[:, 0]
    c = quad.mean(axis=0)
    return (c + shrink * (quad - c)).astype(np.int32)


def region_mask(shape, polygon) -> np.ndarray:
    m = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(m, polygon, 1)
    return m.astype(bool)


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    proc = run_mirror("--input", str(tmp_path / "nope.mp4"), "--headless", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "not found" in proc.stderr
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    proc = run_mirror("--input", str(junk), "--headless", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "cannot open" in proc.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = run_mirror("--input", str(DANCE), cwd=tmp_path, env=env)
    assert proc.returncode == 2 and "--headless" in proc.stderr


def test_a_missing_camera_shows_the_retry_message_and_does_not_crash(tmp_path, small_catalog):
    shot = tmp_path / "shot.png"
    proc = run_mirror(
        "--camera", "97", "--headless", "--max-frames", "12", "--catalog", str(small_catalog),
        "--screenshot", str(shot), "--resolution", "640x480", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("Camera unavailable, retrying...") == 1
    img = cv2.imread(str(shot))
    assert img.shape == (480, 640, 3) and img.mean() < 60 and (img > 200).any()  # dark screen, white words


def test_a_snapshot_key_saves_the_composited_mirrored_frame(tmp_path, small_catalog, engine):
    script = tmp_path / "keys.json"
    script.write_text(json.dumps([{"frame": 24, "key": "s"}]))
    photos = tmp_path / "photos"
    calib = CameraCalibration(519.6, 519.6, 300.0, 300.0, 600, 600, (0.0,) * 5, 0.2, 12, standing_distance_m=3.0)
    calib.save(tmp_path / "camera.json")
    proc = run_mirror(
        "--input", str(DANCE), "--headless", "--max-frames", "28", "--catalog", str(small_catalog),
        "--items", "white-tee", "blue-jeans", "--snapshots", str(photos), "--snapshot-delay", "0",
        "--script", str(script), "--save-raw", "--calibration", str(tmp_path / "camera.json"), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "camera calibration" in proc.stdout and "skipping catalog item 'broken-item'" in proc.stderr
    names = sorted((p.name for p in photos.iterdir()), key=len)
    assert len(names) == 2 and names[1] == names[0].replace(".jpg", "-raw.jpg"), names
    assert f"snapshot saved: {photos / names[0]}" in proc.stdout
    snap = cv2.imread(str(photos / names[0])).astype(np.float32)
    raw = cv2.imread(str(photos / names[1]))
    frames = read_video(DANCE)
    assert min(np.abs(raw.astype(np.float32) - f).mean() for f in frames) < 3.0  # the raw file is a camera frame
    mirrored = raw[:, ::-1].astype(np.float32)
    diff = np.abs(snap - mirrored).max(axis=2)
    torso = region_mask(snap.shape, torso_polygon(engine, raw))
    assert (diff[torso] > 40).mean() > 0.6  # the white tee covers the torso: composited
    assert np.median(diff[~torso]) < 6  # elsewhere the mirrored camera frame itself
    assert np.abs(snap - raw).mean() > 2 * np.abs(snap - mirrored).mean()  # mirrored, not the raw orientation


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port: int, path: str, timeout=10.0) -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read(), r.getheader("Content-Type", "")
    finally:
        conn.close()


def read_mjpeg_parts(port: int, n: int, timeout=30.0) -> list[np.ndarray]:
    """The first ``n`` JPEG parts of /stream.mjpg, decoded."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", "/stream.mjpg")
    r = conn.getresponse()
    assert r.status == 200
    ctype = r.getheader("Content-Type")
    assert ctype.startswith("multipart/x-mixed-replace") and "boundary=" in ctype
    boundary = ("--" + ctype.split("boundary=")[1]).encode()
    parts, deadline = [], time.monotonic() + timeout
    try:
        while len(parts) < n and time.monotonic() < deadline:
            line = r.fp.readline()
            if line.strip() != boundary:
                continue
            headers = {}
            while (h := r.fp.readline().strip()) != b"":
                k, _, v = h.decode().partition(":")
                headers[k.strip().lower()] = v.strip()
            assert headers["content-type"] == "image/jpeg"
            data = r.fp.read(int(headers["content-length"]))
            parts.append(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
    finally:
        conn.close()
    return parts


def stop(proc: subprocess.Popen, timeout=30) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out, err


def test_headless_mirror_serves_mjpeg_on_localhost(tmp_path, small_catalog):
    port = free_port()
    script = tmp_path / "keys.json"
    script.write_text(json.dumps([{"frame": 3, "key": "s"}]))
    photos = tmp_path / "photos"
    proc = subprocess.Popen(
        mirror_cmd(
            "--input", str(DANCE), "--headless", "--serve", str(port), "--max-frames", "5000",
            "--catalog", str(small_catalog), "--snapshots", str(photos), "--snapshot-delay", "0",
            "--script", str(script),
        ),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, body, ctype = http_get(port, "/snapshot.jpg")
            except OSError:
                status = None
            if status == 200:
                break
            time.sleep(0.3)
        assert status == 200, "the server never delivered /snapshot.jpg"
        assert ctype == "image/jpeg"
        img = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (600, 600, 3)
        status, page, ctype = http_get(port, "/")
        assert status == 200 and ctype.startswith("text/html") and b'src="/stream.mjpg"' in page
        assert http_get(port, "/nothing")[0] == 404
        parts = read_mjpeg_parts(port, 3)
        assert len(parts) == 3 and all(p.shape == (600, 600, 3) for p in parts)
        assert np.abs(parts[0].astype(np.float32) - parts[2]).mean() > 0.5  # live frames, not one still
        with pytest.raises(OSError):  # bound to 127.0.0.1 only
            non_local = socket.create_connection(("::1", port), timeout=2)
            non_local.close()
        while time.monotonic() < deadline and not (photos.is_dir() and any(photos.iterdir())):
            time.sleep(0.2)  # the scripted photo (frame 3)
    finally:
        code, out, err = stop(proc)
    assert code == 0, err[-2000:]
    assert f"http://127.0.0.1:{port}/" in out
    names = [p.name for p in photos.iterdir()]
    assert len(names) == 1 and not names[0].endswith("-raw.jpg")  # no raw frame unless asked


# -- a real window under Xvfb ------------------------------------------------------------------------
def ensure_xvfb() -> str | None:
    """Path of Xvfb, installing it (Debian: xvfb x11-utils) when missing and allowed."""
    found = shutil.which("Xvfb")
    if found or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    try:
        subprocess.run(["apt-get", "install", "-y", "-q", "xvfb", "x11-utils"], capture_output=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shutil.which("Xvfb")


@pytest.fixture(scope="module")
def xvfb():
    xvfb_bin = ensure_xvfb()
    if xvfb_bin is None:
        pytest.skip("Xvfb is not installed and could not be installed (apt-get install -y xvfb x11-utils)")
    for n in range(91, 120):
        if Path(f"/tmp/.X{n}-lock").exists() or Path(f"/tmp/.X11-unix/X{n}").exists():
            continue
        proc = subprocess.Popen(
            [xvfb_bin, f":{n}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            if Path(f"/tmp/.X11-unix/X{n}").exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        if proc.poll() is None:
            try:
                yield f":{n}"
            finally:
                proc.terminate()
                proc.wait(10)
            return
    pytest.skip("Xvfb could not be started on any display :91-:119")


def grab(display: str) -> np.ndarray:
    """A real screenshot of the X screen (XCB, through Pillow), BGR."""
    from PIL import ImageGrab

    return np.asarray(ImageGrab.grab(xdisplay=display))[:, :, ::-1].copy()


def test_the_mirror_window_under_xvfb(tmp_path, small_catalog, xvfb, engine):
    frame = read_video(DANCE)[30]
    still = tmp_path / "frame30.png"
    cv2.imwrite(str(still), frame)  # one known frame, played as a camera, so pixels can be compared
    env = dict(os.environ, DISPLAY=xvfb)
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.Popen(
        mirror_cmd(
            "--input", str(still), "--catalog", str(small_catalog), "--items", "white-tee", "blue-jeans",
            "--max-frames", "5000", "--snapshots", str(tmp_path / "photos"),
        ),
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    mirrored = frame[:, ::-1].astype(np.float32)
    torso = region_mask(frame.shape, torso_polygon(engine, frame))
    outfit = Outfit(Wardrobe([CatalogEntry("white-tee", "White T-shirt", "top"), CatalogEntry("b", "B", "bottom")]))
    buttons = layout_buttons(600, 600, outfit)
    shot, ok, why = None, False, "no window appeared"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None and not ok:
            time.sleep(0.5)
            screen = grab(xvfb)
            ys, xs = np.nonzero(screen.max(axis=2) > 0)
            if len(xs) == 0:
                continue
            x0, y0 = xs.min(), ys.min()
            shot = screen[y0 : y0 + 600, x0 : x0 + 600].astype(np.float32)
            if shot.shape != (600, 600, 3):
                why = f"window content is {shot.shape}"
                continue
            diff = np.abs(shot - mirrored).max(axis=2)
            garment = (diff[torso] > 40).mean()
            panels = [mirrored[y : y + h, x : x + w].mean() - shot[y : y + h, x : x + w].mean() for x, y, w, h in
                      (b.rect for b in buttons)]  # fmt: skip
            tab = shot[buttons[0].rect[1] + 5, buttons[0].rect[0] + 5]
            ok = garment > 0.6 and min(panels) > 20 and tab[0] > tab[2] + 60
            why = f"garment covers {garment:.0%} of the torso, panels darken by {min(panels):.0f}, tab {tab}"
    finally:
        if shot is not None:
            cv2.imwrite(str(tmp_path / "xvfb_window.png"), shot.astype(np.uint8))
        code, out, err = stop(proc)
    assert ok, f"{why} (screenshot: {tmp_path / 'xvfb_window.png'}); app stderr: {err[-1500:]}"
    assert code == 0, err[-2000:]
