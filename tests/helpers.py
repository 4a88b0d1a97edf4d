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
