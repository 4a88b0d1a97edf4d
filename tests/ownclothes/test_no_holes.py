"""No holes: a shopper in dark clothes with dark hair gets a whole garment over a clip (real
BlazePose, the rig, GL). The clips are the two such photos filmed by a slow handheld camera
(:func:`tryon.ownclothes.report.handheld`): the cameraman, short black hair seen side on over a
black coat, and the seated woman, a dark ponytail over a black top.

The measure (:func:`tryon.ownclothes.metrics.torso_hole`) is the issue's: the share of the
upper torso, below the neckline and away from the hands, the tried-on top is missing from. On
the cameraman's clip it was 5.1% on average, over 5% in a quarter of the frames, before the
hair keep-out stopped taking his coat's collar for hair behind his turned head.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TOP, load_photo

from tryon.ownclothes.metrics import torso_hole, upper_torso
from tryon.ownclothes.report import handheld

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["cameraman", "mediapipe_sitting"])
def test_dark_hair_over_dark_clothes_cuts_no_hole_in_the_top_over_a_clip(name):
    from tryon import TryOnEngine

    with TryOnEngine(items=[TOP]) as eng:
        results = list(eng.process_stream(handheld(load_photo(name), 24), fps=25, pipelined=False))
    share = [torso_hole(r.garment_alpha, r.pose) for r in results if r.pose is not None]
    share = np.array([x for x in share if x is not None])
    assert len(share) >= 20
    assert share.mean() <= 0.02, share
    assert (share > 0.05).mean() <= 0.02, share


def test_the_hole_measure_sees_a_hole(engine):
    """The measure can fail: the top with a hole cut in the middle of the chest."""
    r = engine.process(load_photo("cameraman"))
    alpha = r.garment_alpha.copy()
    torso = upper_torso(r.pose, (alpha.shape[1], alpha.shape[0]))
    assert torso.sum() > 1000
    before = torso_hole(alpha, r.pose)
    assert before <= 0.02
    ys, xs = np.nonzero(torso)
    cy, cx = int(np.median(ys)), int(np.median(xs))
    hole = np.zeros(torso.shape, bool)
    hole[cy - 10 : cy + 10, cx - 10 : cx + 10] = True
    alpha[hole] = 0.0
    assert torso_hole(alpha, r.pose) >= before + 0.9 * (hole & torso).sum() / torso.sum()
