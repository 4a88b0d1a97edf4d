import numpy as np
import pytest

from tryon.image import as_bgr_uint8


def test_bgr_passes_through():
    f = np.zeros((32, 48, 3), np.uint8)
    assert as_bgr_uint8(f) is f


@pytest.mark.parametrize(
    "frame, expect",
    [
        (np.full((20, 30), 7, np.uint8), 7),
        (np.full((20, 30, 1), 9, np.uint8), 9),
        (np.full((20, 30, 4), 5, np.uint8), 5),
        (np.full((20, 30, 3), 1.0, np.float32), 255),
        (np.full((20, 30, 3), 0.5, np.float64), 128),
        (np.full((20, 30, 3), 65535, np.uint16), 255),
    ],
)
def test_unambiguous_conversions(frame, expect):
    out = as_bgr_uint8(frame)
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert int(out[0, 0, 0]) == expect


@pytest.mark.parametrize(
    "frame, words",
    [
        (None, "None"),
        ([[1, 2]], "numpy array"),
        (np.zeros((0, 10, 3), np.uint8), "empty"),
        (np.zeros((20, 30, 2), np.uint8), "shape"),
        (np.full((20, 30, 3), 200.0), "[0, 1]"),
        (np.full((20, 30, 3), np.nan), "NaN"),
        (np.zeros((20, 30, 3), np.int32), "dtype"),
        (np.zeros((4, 4, 3), np.uint8), "size"),
    ],
)
def test_bad_frames_are_refused_clearly(frame, words):
    with pytest.raises(ValueError, match=None) as err:
        as_bgr_uint8(frame)
    assert words in str(err.value)
