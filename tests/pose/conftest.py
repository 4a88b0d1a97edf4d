import pytest

from tryon.pose.landmarker import PoseEstimator, PoseOptions


@pytest.fixture(scope="module")
def poses():
    """BlazePose without the segmentation (the face and hand tests need only keypoints)."""
    est = PoseEstimator(PoseOptions(segmentation=False))
    yield est
    est.close()
