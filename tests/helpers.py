"""Test helpers shared by the test modules: the real photos in tests/data."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
PHOTOS = DATA / "photos"

#: Photos of a whole or upper body (every test photo shows one person).
PERSON_PHOTOS = {
    "mediapipe_sitting": "mediapipe_samples_pose_test_image.jpg",
    "pixabay_render": "pixabay_image1.png",
    "pixabay_suit": "pixabay_image2.jpeg",
    "pixabay_yoga": "pixabay_image3.jpeg",
    "coco_skier": "coco_000000000785.jpg",
    "astronaut_upper_body": "skimage_astronaut.png",
    "cameraman": "skimage_camera.png",
}

TOP = "navy-longsleeve"


def load_photo(name: str) -> np.ndarray:
    img = cv2.imread(str(PHOTOS / PERSON_PHOTOS.get(name, name)), cv2.IMREAD_COLOR)
    assert img is not None, name
    return img


def quad_draw(x0: float, y0: float, x1: float, y1: float, z: float, key: str):
    """A red camera-facing quad (camera metres, OpenCV frame) as a renderer Draw, unclipped."""
    from tryon.render.types import Draw, Material

    pos = np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], np.float32)
    nrm = np.tile([0, 0, -1], (4, 1)).astype(np.float32)
    faces = np.array([[0, 2, 1], [0, 3, 2]], np.int32)
    return Draw(key, pos, nrm, faces, material=Material(key, [0.9, 0.2, 0.1, 1.0], roughness=1.0), clip_to_person=False)


def tube_part(height: float, radius_x: float, radius_z: float, n: int = 48, rows: int = 24):
    """An open elliptic tube around the y axis (a sleeveless garment), metres, outward winding."""
    from tryon.catalog.assets import RawPart

    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ys = np.linspace(-height / 2, height / 2, rows)
    pos = np.array([[radius_x * np.cos(t), y, radius_z * np.sin(t)] for y in ys for t in ang])
    faces = []
    for r in range(rows - 1):
        for k in range(n):
            a, b = r * n + k, r * n + (k + 1) % n
            faces += [[a, a + n, b], [b, a + n, b + n]]
    return RawPart(pos, np.array(faces, np.int64))
