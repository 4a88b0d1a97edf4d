"""Image-anchored tracking: the shopper's image motion per body region (optical flow) fused
with the pose model's keypoints and world landmarks (see :mod:`tryon.track.stabilizer`)."""

from tryon.track.stabilizer import StabilizeOptions, Stabilizer

__all__ = ["StabilizeOptions", "Stabilizer"]
