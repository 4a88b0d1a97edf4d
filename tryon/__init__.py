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

from tryon.body.solver import SolverOptions
from tryon.catalog import Catalog, FitOverrides, ImportLimits, ImportOptions
from tryon.catalog.categories import CATEGORIES
from tryon.catalog.item import Garment
from tryon.cloth.stage import ClothOptions
from tryon.details import DetailOptions
from tryon.engine import EngineOptions, FrameResult, TryOnEngine
from tryon.frames import CameraIntrinsics
from tryon.ownclothes import OwnClothesOptions
from tryon.pose.filters import SmoothingOptions
from tryon.pose.landmarker import PoseOptions
from tryon.pose.types import Pose
from tryon.render.camera_match import CameraMatchOptions
from tryon.render.keepout import KeepoutOptions
from tryon.render.lighting import Lighting
from tryon.render.shadows import ShadowOptions
from tryon.track import StabilizeOptions

__version__ = "0.1.0"

__all__ = [
    "CATEGORIES",
    "CameraIntrinsics",
    "CameraMatchOptions",
    "Catalog",
    "ClothOptions",
    "DetailOptions",
    "EngineOptions",
    "FitOverrides",
    "FrameResult",
    "Garment",
    "ImportLimits",
    "ImportOptions",
    "KeepoutOptions",
    "Lighting",
    "OwnClothesOptions",
    "Pose",
    "PoseOptions",
    "ShadowOptions",
    "SmoothingOptions",
    "SolverOptions",
    "StabilizeOptions",
    "TryOnEngine",
    "__version__",
]
