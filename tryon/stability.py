"""Temporal stability: jitter and lag of garment anchor points on real clips.

Anchor points are garment vertices a shopper's eye locks onto: the collar's front, both
shoulder seams, the hem's front, both cuffs. Their image positions are tracked through a
clip with smoothing on and off.

- **jitter**: RMS (px) of the high-frequency part of each track, what is left after a
  centred 5-frame moving average; on a still person this is pure shake.
- **lag**: frames the smoothed track trails the raw one, from the peak of the
  cross-correlation of their velocities (parabolic sub-frame estimate).

The real clips show people who move, so part of what the moving average leaves is real
motion. Two clips made from a real photo have a known truth instead:

- **still**: the photo held still, with fresh sensor noise and JPEG compression on every
  frame, as a camera sees a shopper standing still: all motion of an anchor is shake.
- **sweep**: the photo panned sideways along a sine (fast at the centre, as a shopper
  swaying); the anchors' error around the known motion shows shake and lag together.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from tryon.catalog.catalog import Catalog
from tryon.catalog.item import Garment
from tryon.deform import deform_item
from tryon.frames import project

ROOT = Path(__file__).resolve().parent.parent
CLIPS = {"upper_body": ROOT / "samples" / "upper_body.mp4", "dance": ROOT / "samples" / "dance.mp4"}
PHOTOS = ROOT / "tests" / "data" / "photos"
#: (photo, frames) of the known-truth clips
STILL = (PHOTOS / "skimage_astronaut.png", 60)
SWEEP = (PHOTOS / "pixabay_image1.png", 90)
SWEEP_AMPLITUDE_PX = 60.0
SWEEP_PERIOD_FRAMES = 30
CAMERA_NOISE = 3.0  # grey levels, Gaussian, per pixel and frame


#: The anchors on the trunk (the cuffs follow the hands).
TORSO_ANCHORS = ("collar", "hem", "shoulder_left", "shoulder_right")


def anchor_vertices(garment: Garment) -> dict[str, int]:
    """Indices (in part 0) of the collar front, shoulder seams, hem front and cuffs."""
    p = garment.parts[0].positions
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    front = z > np.median(z)
    central = front & (np.abs(x) < 0.04)
    out = {
        "collar": int(np.flatnonzero(central)[np.argmax(y[central])]),
        "hem": int(np.flatnonzero(central)[np.argmin(y[central])]),
        "cuff_left": int(np.argmax(x)),
        "cuff_right": int(np.argmin(x)),
    }
    for name, sign in (("shoulder_left", 1), ("shoulder_right", -1)):
        # The top of the sleeve seam: highest vertex about 17 cm out from the midline.
        band = np.abs(sign * x - 0.17) < 0.02
        out[name] = int(np.flatnonzero(band)[np.argmax(y[band])])
    return out


def track(frames: list[np.ndarray], fps: float, garment: Garment, smoothing: bool, catalog=None) -> np.ndarray:
    """(T, A, 2) image px of the anchor vertices over the clip (NaN where nobody was found)."""
    from tryon.engine import EngineOptions, TryOnEngine

    options = EngineOptions()
    options = replace(options, smoothing=replace(options.smoothing, enabled=smoothing))
    idx = list(anchor_vertices(garment).values())
    out = np.full((len(frames), len(idx), 2), np.nan)
    with TryOnEngine(items=[garment], catalog=catalog, options=options) as engine:
        for t, result in enumerate(engine.process_stream(frames, fps=fps, pipelined=False)):
            if result.body is None:
                continue
            v = deform_item(garment, result.body)[0].positions_cam_m[idx]
            out[t] = project(v, result.body.intrinsics)
    return out


def jitter_rms(tr: np.ndarray, window: int = 5, size: tuple[int, int] | None = None) -> float:
    """RMS (px) of each track minus its centred moving average, over all anchors; with
    ``size`` = (w, h), only where the anchor is inside the frame (a cuff outside the picture
    shakes nothing the shopper sees)."""
    k = window // 2
    res = []
    for a in range(tr.shape[1]):
        x = tr[:, a]
        ok = np.isfinite(x).all(axis=1)
        x = x[ok]
        if len(x) < window + 2:
            continue
        kernel = np.ones(window) / window
        smooth = np.stack([np.convolve(x[:, d], kernel, mode="valid") for d in range(2)], axis=1)
        r = x[k : len(x) - k] - smooth
        if size is not None:
            mid = x[k : len(x) - k]
            r = r[(mid[:, 0] >= 0) & (mid[:, 0] < size[0]) & (mid[:, 1] >= 0) & (mid[:, 1] < size[1])]
        res.append(r)
    if not res:
        return float("nan")
    r = np.concatenate(res)
    return float(np.sqrt(np.mean(np.sum(r * r, axis=1))))


def camera_clip(photo: np.ndarray, frames: int, shift_px: np.ndarray | None = None, seed: int = 0) -> list[np.ndarray]:
    """The photo as a camera would deliver it ``frames`` times: shifted sideways by
    ``shift_px[t]`` (image px, edges replicated), with fresh Gaussian sensor noise
    (:data:`CAMERA_NOISE` grey levels) and JPEG compression (quality 85) on every frame."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = photo.shape[:2]
    out = []
    for t in range(frames):
        img = photo
        if shift_px is not None and shift_px[t] != 0:
            M = np.float32([[1, 0, shift_px[t]], [0, 1, 0]])
            img = cv2.warpAffine(photo, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        noisy = np.clip(img.astype(np.float32) + rng.normal(0.0, CAMERA_NOISE, img.shape), 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 85])
        out.append(cv2.imdecode(buf, cv2.IMREAD_COLOR))
    return out


def sweep_shift(frames: int) -> np.ndarray:
    """(frames,) px: the sweep clip's known sideways motion."""
    t = np.arange(frames)
    return SWEEP_AMPLITUDE_PX * np.sin(2 * np.pi * t / SWEEP_PERIOD_FRAMES)


def error_about_truth(tr: np.ndarray, shift_px: np.ndarray, size: tuple[int, int], settle: int = 10) -> float:
    """RMS (px) of the anchors around their known motion (``shift_px`` in x; the offset
    between BlazePose's reading of the photo and the garment's anchor is each track's
    median), after ``settle`` frames, where the anchor is inside the frame."""
    x = tr[settle:].copy()
    x[..., 0] -= shift_px[settle : settle + len(x), None]
    inside = (x[..., 0] >= 0) & (x[..., 0] < size[0]) & (x[..., 1] >= 0) & (x[..., 1] < size[1])
    x[~inside] = np.nan
    with warnings.catch_warnings():  # an anchor never inside the frame is all NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        r = x - np.nanmedian(x, axis=0, keepdims=True)
    r = r[np.isfinite(r).all(axis=2)]
    return float(np.sqrt(np.mean(np.sum(r * r, axis=1)))) if len(r) else float("nan")


def lag_frames(raw: np.ndarray, smooth: np.ndarray, max_lag: int = 8) -> float:
    """How many frames ``smooth`` trails ``raw`` (velocity cross-correlation peak)."""
    ok = np.isfinite(raw).all(axis=(1, 2)) & np.isfinite(smooth).all(axis=(1, 2))
    vr = np.diff(raw[ok], axis=0).reshape(-1, raw.shape[1] * 2)
    vs = np.diff(smooth[ok], axis=0).reshape(-1, raw.shape[1] * 2)
    if len(vr) <= 2 * max_lag:
        return float("nan")
    scores = []
    for lag in range(0, max_lag + 1):
        a, b = vr[: len(vr) - lag], vs[lag:]
        scores.append(float(np.sum(a * b)))
    k = int(np.argmax(scores))
    if 0 < k < max_lag:  # parabolic refinement
        y0, y1, y2 = scores[k - 1], scores[k], scores[k + 1]
        denom = y0 - 2 * y1 + y2
        if denom != 0:
            return float(k + 0.5 * (y0 - y2) / denom)
    return float(k)


def _raw_and_smoothed(frames, fps: float, garment: Garment, catalog) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """The anchors' tracks without and with smoothing, and the frame size (w, h)."""
    raw = track(frames, fps, garment, smoothing=False, catalog=catalog)
    smooth = track(frames, fps, garment, smoothing=True, catalog=catalog)
    return raw, smooth, (frames[0].shape[1], frames[0].shape[0])


def run(
    garment_id: str = "navy-longsleeve",
    clips: dict[str, Path] | None = None,
    max_frames: int | None = None,
    catalog: Catalog | None = None,
) -> dict:
    """Jitter (px RMS) with and without smoothing, and lag (frames), per clip."""
    from tryon.video import VideoFile

    catalog = catalog or Catalog()
    garment = catalog.get(garment_id)
    out = {}
    trunk = [i for i, name in enumerate(anchor_vertices(garment)) if name in TORSO_ANCHORS]
    for name, path in (clips or CLIPS).items():
        src = VideoFile(path, max_frames=max_frames)
        frames, fps = [f for f, _ in src], src.fps
        src.close()
        raw, smooth, size = _raw_and_smoothed(frames, fps, garment, catalog)
        out[name] = {
            "frames": len(frames),
            "fps": round(fps, 2),
            "jitter_px_raw": round(jitter_rms(raw, size=size), 2),
            "jitter_px_smoothed": round(jitter_rms(smooth, size=size), 2),
            # the collar, shoulder seams and hem alone (the cuffs follow gesturing hands)
            "torso_jitter_px_smoothed": round(jitter_rms(smooth[:, trunk], size=size), 2),
            "lag_frames": round(lag_frames(raw, smooth), 2),
        }
    return out


def run_known_truth(
    garment_id: str = "navy-longsleeve", max_frames: int | None = None, catalog: Catalog | None = None
) -> dict:
    """Shake (px RMS about the known motion) with and without smoothing on the still and
    sweep clips, and the sweep's lag (frames); see the module docstring."""
    import cv2

    catalog = catalog or Catalog()
    garment = catalog.get(garment_id)
    out = {}
    for name, (path, n) in (("still", STILL), ("sweep", SWEEP)):
        n = min(n, max_frames) if max_frames else n
        shift = np.zeros(n) if name == "still" else sweep_shift(n)
        frames = camera_clip(cv2.imread(str(path), cv2.IMREAD_COLOR), n, shift)
        raw, smooth, size = _raw_and_smoothed(frames, 30.0, garment, catalog)
        settle = min(10, n // 3)
        out[name] = {
            "photo": path.stem,
            "frames": n,
            "shake_px_raw": round(error_about_truth(raw, shift, size, settle), 2),
            "shake_px_smoothed": round(error_about_truth(smooth, shift, size, settle), 2),
            "lag_frames": round(lag_frames(raw, smooth), 2) if name == "sweep" else None,
        }
    return out


def markdown_known_truth(report: dict) -> str:
    lines = [
        f"On clips with a known truth, made from a real photo with camera noise ({CAMERA_NOISE:g} grey levels and"
        f" JPEG on every frame): **still** held still, **sweep** panned ±{SWEEP_AMPLITUDE_PX:g} px along a sine"
        f" of {SWEEP_PERIOD_FRAMES} frames (up to {2 * np.pi * SWEEP_AMPLITUDE_PX / SWEEP_PERIOD_FRAMES:.0f} px a"
        " frame). Shake is the anchors' RMS about where they should be; on the sweep it includes the smoothing's lag.",
        "",
        "| clip | photo | frames | shake px RMS, raw | shake px RMS, smoothed | lag (frames) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, r in report.items():
        lag = "-" if r["lag_frames"] is None else r["lag_frames"]
        lines.append(
            f"| {name} | {r['photo']} | {r['frames']} | {r['shake_px_raw']} | {r['shake_px_smoothed']} | {lag} |"
        )
    return "\n".join(lines)


def markdown(report: dict) -> str:
    lines = [
        "Stability of garment anchor points (collar, shoulders, hem, cuffs) on the sample clips, where"
        " they are inside the frame:",
        "",
        "| clip | frames | jitter px RMS, raw | jitter px RMS, smoothed | collar, shoulders, hem only, smoothed"
        " | lag (frames) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in report.items():
        lines.append(
            f"| {name} | {r['frames']} | {r['jitter_px_raw']} | {r['jitter_px_smoothed']} |"
            f" {r.get('torso_jitter_px_smoothed', '-')} | {r['lag_frames']} |"
        )
    return "\n".join(lines)
