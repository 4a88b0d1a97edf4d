"""The soak's arithmetic and its refusals (the soak itself runs in tests/test_memory.py)."""

import numpy as np
import pytest

from tryon import soak


def test_slope_is_mb_per_1000_frames():
    frames = [100, 200, 300, 400]
    assert soak.slope_per_1000(frames, [500.0, 500.5, 501.0, 501.5]) == pytest.approx(5.0)
    assert soak.slope_per_1000(frames, [500.0, 500.0, 500.0, 500.0]) == pytest.approx(0.0)
    assert soak.slope_per_1000([100], [500.0]) == 0.0


def test_a_soak_too_short_to_measure_is_refused():
    clip = [np.zeros((48, 64, 3), np.uint8)]
    with pytest.raises(ValueError, match="at least 4 cycles"):
        soak.run(clip, 30.0, ["navy-longsleeve"], frames=100, cycles=3, log=None)
    with pytest.raises(ValueError, match="a frame per cycle"):
        soak.run(clip, 30.0, ["navy-longsleeve"], frames=5, cycles=10, log=None)


def test_summary_and_table_carry_the_figures():
    r = soak.SoakResult(
        frames=1500, cycles=20, resolution="640x480", items=["navy-longsleeve"], warmup_cycles=4, seconds=246,
        slope_mb_per_1000_frames=1.86, growth_mb=2.0, peak_mb=607, rss_mb=[367.0] + [384.0] * 19,
        frames_done=list(range(75, 1501, 75)),
    )
    assert "+1.86 MB per 1,000 frames" in r.summary() and "20 create/close cycles" in r.summary()
    assert "| 640x480, navy-longsleeve | 1500 | 20 | +1.86 MB / 1,000 frames | +2 MB | 607 MB |" in r.markdown()


def test_wrinkle_weights_of_a_garment_are_forgotten_with_it():
    """Each engine loads its items afresh; the per-part wrinkle weights must not keep the parts
    of every engine ever made (one garment part and its arrays per create/close cycle)."""
    import gc

    from helpers import ROOT

    from tryon import wrinkles
    from tryon.body.mannequin import load_mannequin
    from tryon.catalog.catalog import Catalog

    heads = load_mannequin().skeleton.heads
    gc.collect()  # parts an earlier test left in reference cycles go now, not mid-test
    before = len(wrinkles._WEIGHTS._cache)
    for _ in range(3):
        part = Catalog(ROOT / "garments").get("navy-longsleeve").parts[0]
        idx, w, axes = wrinkles._WEIGHTS.of(part, heads)
        assert len(axes) == len(part.positions) and len(idx) == len(w) > 0
        assert wrinkles._WEIGHTS.of(part, heads)[0] is idx  # kept while the part lives
        assert len(wrinkles._WEIGHTS._cache) == before + 1
        del part, idx, w, axes
        gc.collect()
        assert len(wrinkles._WEIGHTS._cache) == before
