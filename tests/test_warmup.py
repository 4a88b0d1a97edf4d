"""The set-up's warm-up: the frame path's kernels compiled once, never failing the set-up."""

import logging

import pytest

from tryon import warmup


def test_a_missing_clip_is_reported_not_raised(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="tryon.warmup"):
        seconds = warmup.warm_up(frames=2, clip=tmp_path / "nowhere.mp4")
    assert seconds >= 0
    assert "no frames" in caplog.text


@pytest.mark.slow
def test_the_warm_up_runs_every_outfit_on_the_bundled_clip(caplog, monkeypatch):
    ran = []
    from tryon import engine as engine_module

    class Recording(engine_module.TryOnEngine):
        def __init__(self, items, **kw):
            ran.append(tuple(items))
            super().__init__(items=items, **kw)

    monkeypatch.setattr(engine_module, "TryOnEngine", Recording)
    with caplog.at_level(logging.WARNING, logger="tryon.warmup"):
        warmup.warm_up(frames=2)
    assert "stopped" not in caplog.text, caplog.text
    assert ran == [tuple(o) for o in warmup.OUTFITS]
