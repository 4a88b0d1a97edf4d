"""tryon: real-time 3D virtual try-on.

The public API::

    from tryon import TryOnEngine
    engine = TryOnEngine(items=["navy-longsleeve"])   # ids from the bundled garments/ catalog
    result = engine.process(frame_bgr)                # a still: uint8 (H, W, 3) BGR
    result.image, result.pose, result.garment_alpha

    for result in engine.process_stream(frames, fps=30):   # a stream (tracking, smoothing)
        ...
    engine.process(frame_bgr, timestamp_ms=t)              # or one stream frame at a time

Importing tryon changes nothing process-wide (threads, BLAS, CPU affinity): a stream tunes
them for its duration, and a program that owns its process turns tuning on for good with
``tryon.runtime.configure_process()`` (see :mod:`tryon.runtime`).
"""

from tryon.catalog.catalog import Catalog
from tryon.catalog.categories import CATEGORIES
from tryon.catalog.item import Garment
from tryon.cloth.stage import ClothOptions
from tryon.engine import EngineOptions, FrameResult, TryOnEngine
from tryon.frames import CameraIntrinsics
from tryon.pose.types import Pose

__version__ = "0.1.0"

__all__ = [
    "CATEGORIES",
    "ClothOptions",
    "CameraIntrinsics",
    "Catalog",
    "EngineOptions",
    "FrameResult",
    "Garment",
    "Pose",
    "TryOnEngine",
    "__version__",
]
