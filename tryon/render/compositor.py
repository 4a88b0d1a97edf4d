"""The compositor: rendered items over the camera frame, in one GL pass and one readback.

Premultiplied "over" (no dark fringe at soft edges), pixel for pixel, optionally mirrored
for the kiosk view. Returns the BGR image and the items' coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tryon.render.context import program


@dataclass(frozen=True)
class Composite:
    """image : (H, W, 3) uint8 BGR. alpha : (H, W) float32 in [0, 1], item coverage (in
    the output's orientation: mirrored when the image is)."""

    image: np.ndarray
    alpha: np.ndarray


class Compositor:
    """Shares the renderer's GL context. ``close()`` is safe twice."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self._prog = program(ctx, "fullscreen.vert", "composite.frag")
        self._vao = ctx.vertex_array(self._prog, [])
        self._size: tuple[int, int] | None = None
        self._objects: list = []
        self._closed = False

    def _ensure_size(self, w: int, h: int) -> None:
        if self._size == (w, h):
            return
        for obj in self._objects:
            obj.release()
        self._frame_tex = self.ctx.texture((w, h), 3)
        self._out = self.ctx.renderbuffer((w, h), 4)
        self._fbo = self.ctx.framebuffer([self._out])
        self._objects = [self._frame_tex, self._out, self._fbo]
        self._size = (w, h)

    def upload_frame(self, frame_bgr: np.ndarray) -> None:
        h, w = frame_bgr.shape[:2]
        self._ensure_size(w, h)
        self._frame_tex.write(np.ascontiguousarray(frame_bgr).tobytes(), alignment=1)

    def composite(self, items_texture, mirror: bool = False) -> None:
        """Blend ``items_texture`` (premultiplied RGBA, frame-sized) over the uploaded frame;
        :meth:`read` fetches the result."""
        w, h = self._size
        if tuple(items_texture.size) != (w, h):
            raise ValueError(f"items are {items_texture.size}, the frame is {(w, h)}")
        ctx = self.ctx
        self._fbo.use()
        ctx.viewport = (0, 0, w, h)
        ctx.disable(ctx.DEPTH_TEST)
        ctx.disable(ctx.BLEND)
        self._frame_tex.use(0)
        items_texture.use(1)
        self._prog["u_frame"].value = 0
        self._prog["u_items"].value = 1
        self._prog["u_mirror"].value = bool(mirror)
        self._vao.render(vertices=3)

    def read(self) -> Composite:
        """The composited frame from the GPU (waits for the passes to finish)."""
        w, h = self._size
        rgba = np.frombuffer(self._fbo.read(components=4, alignment=1), np.uint8).reshape(h, w, 4)
        image = np.ascontiguousarray(rgba[:, :, :3])
        alpha = rgba[:, :, 3].astype(np.float32) * np.float32(1.0 / 255.0)
        return Composite(image=image, alpha=alpha)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for obj in [*self._objects, self._vao, self._prog]:
            obj.release()
        self._objects = []

    def __enter__(self) -> Compositor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
