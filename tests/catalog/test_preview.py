"""The catalog preview's store mannequin: a clean face (no open sockets, inside-out lips or a
dark patch under the chin), its silhouette and ears kept, real EGL renders read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tryon.body.mannequin import load_mannequin
from tryon.catalog.catalog import Catalog
from tryon.catalog.preview import BACKGROUND_BGR, BODY_INSET_M, preview_body, render_preview

GARMENTS = Path(__file__).resolve().parents[2] / "garments"


def _dark_fraction(img: np.ndarray, size: int = 512) -> float:
    """Of the front tile's body pixels (neither background nor the red of glasses; the label's
    rows left out), the fraction darker than 0.6 of their median luma: the old preview's
    eye-socket blobs, inside-out lips and neck patch were 1.8-2.2 % of them, a clean face ~0.1 %."""
    t = img[: size - 40, :size].astype(np.int32)
    b, g, r = t[..., 0], t[..., 1], t[..., 2]
    body = (np.abs(t - np.array(BACKGROUND_BGR)).max(axis=-1) > 12) & (r - g <= 40)
    luma = 0.114 * b + 0.587 * g + 0.299 * r
    assert body.sum() > 20000, "the mannequin is missing from the preview"
    return float((luma[body] < 0.6 * np.median(luma[body])).mean())


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog(GARMENTS)


def test_head_previews_show_a_clean_face(catalog):
    earrings = render_preview(catalog.get("hoop-earrings"))  # framed on the head, the face bare
    assert _dark_fraction(earrings) < 0.005
    glasses = render_preview(catalog.get("red-glasses"))
    assert _dark_fraction(glasses) < 0.008
    # the glasses still drawn on the face: red frame pixels, with the face's skin inside the frame
    front = glasses[:, :512].astype(np.int32)
    red = (front[..., 2] - front[..., 1]) > 60
    assert red.sum() > 800
    ys, xs = np.nonzero(red)
    inside = front[int(ys.mean()) - 5 : int(ys.mean()) + 5, int(xs.min()) + 20 : int(xs.max()) - 20]
    assert (np.abs(inside - np.array(BACKGROUND_BGR)).max(axis=-1) > 12).mean() > 0.9


def test_preview_body_keeps_the_silhouette_and_fills_the_eyes():
    m = load_mannequin()
    body = preview_body()
    n = len(m.positions_m)
    assert len(body.positions_m) > n  # the two eyeball helpers appended
    assert body.faces.max() < len(body.positions_m) and len(body.normals) == len(body.positions_m)
    eyes = body.positions_m[n:]
    ears = m.landmarks.bind_m[[7, 8]]
    assert eyes[:, 1].min() > ears[:, 1].min() - 0.03 and eyes[:, 2].min() > ears[:, 2].max()  # in the face
    moved = np.linalg.norm(body.positions_m[:n] - m.positions_m, axis=1)
    assert 0.0005 < moved.max() < 0.006  # features softened by millimetres
    side = np.abs(m.positions_m[:, 0]) > 0.5 * abs(ears[0, 0] - ears[1, 0]) - 0.01
    assert moved[side].max() == 0.0  # ears and the head's sides (where glasses and earrings sit) kept
    below = m.positions_m[:, 1] < m.landmarks.bind_m[[11, 12], 1].min()  # below the shoulders
    assert moved[below].max() == 0.0
    # drawn inside the skin where clothes lie on it, not on the head (thin lips turned inside out)
    assert np.allclose(body.inset_m[:n][below], BODY_INSET_M)
    nose = np.argmax(np.where(m.positions_m[:, 1] > ears[:, 1].min() - 0.05, m.positions_m[:, 2], -np.inf))
    assert body.inset_m[nose] == 0.0 and moved[nose] < 0.001
