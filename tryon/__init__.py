"""tryon: real-time 3D virtual try-on.

The public API::

    from tryon import TryOnEngine
    engine = TryOnEngine(items=["navy-longsleeve"])   # ids from the bundled garments/ catalog
    result = engine.process(frame_bgr)                # a still: uint8 (H, W, 3) BGR
    result.image, result.pose, result.garment_alpha

    for result in engine.process_stream(frames, fps=30):   # a stream (tracking, smoothing)
        ...
    engine.process(frame_bgr, timestamp_ms=t)              # or one stream frame at a time
"""

from tryon.cpu import limit_blas_threads

limit_blas_threads()  # before numpy is imported below, where it can

from tryon.catalog.catalog import Catalog  # noqa: E402
from tryon.catalog.categories import CATEGORIES  # noqa: E402
from tryon.catalog.item import Garment  # noqa: E402
from tryon.engine import EngineOptions, FrameResult, TryOnEngine  # noqa: E402
from tryon.frames import CameraIntrinsics  # noqa: E402
from tryon.pose.types import Pose  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "CATEGORIES",
    "CameraIntrinsics",
    "Catalog",
    "EngineOptions",
    "FrameResult",
    "Garment",
    "Pose",
    "TryOnEngine",
    "__version__",
]
