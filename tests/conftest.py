"""Shared fixtures: the mannequin, an engine with the bundled top, results on the photos."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("GLOG_minloglevel", "2")

from helpers import PERSON_PHOTOS, TOP, load_photo  # noqa: E402


@pytest.fixture(scope="session")
def mannequin():
    from tryon.body.mannequin import load_mannequin

    return load_mannequin()


@pytest.fixture(scope="session")
def engine():
    from tryon import TryOnEngine

    eng = TryOnEngine(items=[TOP])
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def photo_results(engine):
    """The engine's result on every person photo (a still each)."""
    return {name: (load_photo(name), engine.process(load_photo(name))) for name in PERSON_PHOTOS}
