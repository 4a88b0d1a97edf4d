"""Render a mesh with pyrender in its own process (run by the reference test).

pyrender's EGL platform calls eglTerminate when its renderer is deleted, which would kill
every other EGL context of the process (the test session's engines); so it runs here.

    python pyrender_reference.py IN.npz OUT.npz
IN: positions (V, 3) camera metres (OpenCV), faces (F, 3), K = [fx, fy, cx, cy, width, height].
OUT: color (H, W, 4) uint8 RGBA, depth (H, W) float32 metres (0 = nothing drawn).
"""

import os
import sys

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402
import pyrender  # noqa: E402
import trimesh  # noqa: E402


def main(src: str, dst: str) -> None:
    data = np.load(src)
    fx, fy, cx, cy, w, h = data["K"]
    scene = pyrender.Scene(bg_color=[0, 0, 0, 0])
    mesh = trimesh.Trimesh(data["positions"], data["faces"], process=False)
    scene.add(pyrender.Mesh.from_trimesh(mesh, smooth=False))
    cam = pyrender.IntrinsicsCamera(fx, fy, cx, cy, znear=0.05, zfar=50.0)
    scene.add(cam, pose=np.diag([1.0, -1.0, -1.0, 1.0]))  # OpenCV camera -> OpenGL camera
    offscreen = pyrender.OffscreenRenderer(int(w), int(h))
    flags = pyrender.RenderFlags.RGBA | pyrender.RenderFlags.FLAT | pyrender.RenderFlags.SKIP_CULL_FACES
    color, depth = offscreen.render(scene, flags=flags)
    offscreen.delete()
    np.savez(dst, color=color, depth=depth)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
