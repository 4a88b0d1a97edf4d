"""The moderngl renderer: items over the camera frame, occluded by the posed body.

Per frame: (1) the posed body is drawn into depth only (the occluder), so a garment's
inside and back and whatever the body covers never show; (2) the items are drawn with
metallic-roughness lighting into a multisampled premultiplied-alpha target, each
optionally clipped by the person mask. The :class:`~tryon.render.compositor.Compositor`
then lays that target over the camera frame. The projection keeps image rows top-first,
so nothing is flipped on readback (see :mod:`tryon.frames`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from tryon.catalog.item import Material
from tryon.frames import CameraIntrinsics, gl_projection, linearize_depth
from tryon.render.context import create_context, program
from tryon.render.lighting import Lighting

log = logging.getLogger(__name__)

NEAR_M = 0.05
FAR_M = 50.0


@dataclass(frozen=True)
class RenderOptions:
    """samples : MSAA samples for the item pass (0 = off). occluder_inset_m : how far the
    body occluder is pulled in along its normals."""

    samples: int = 4
    occluder_inset_m: float = 0.004

    def __post_init__(self) -> None:
        if self.samples not in (0, 2, 4, 8):
            raise ValueError(f"samples must be 0, 2, 4 or 8, got {self.samples}")


@dataclass
class Draw:
    """One mesh to draw this frame, already deformed.

    key : stable identity of the mesh; its faces and uvs are uploaded once under it.
    positions_cam_m, normals_cam : (V, 3) float32, camera metres / unit.
    faces : (F, 3) int32. uvs : (V, 2) float32 or None.
    """

    key: str
    positions_cam_m: np.ndarray
    normals_cam: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray | None = None
    material: Material | None = None
    clip_to_person: bool = True
    opacity: float = 1.0


@dataclass(frozen=True)
class Layers:
    """The items alone. rgba : (H, W, 4) uint8 premultiplied sRGB. depth_m : (H, W) float32
    camera z of the nearest surface (items or occluder), ``inf`` where nothing was drawn."""

    rgba: np.ndarray
    depth_m: np.ndarray


class _GpuMesh:
    def __init__(self, ctx, prog, n_vertices: int, faces: np.ndarray, uvs: np.ndarray | None):
        self.n_vertices = n_vertices
        self.dynamic = ctx.buffer(reserve=n_vertices * 24, dynamic=True)
        uv = uvs if uvs is not None else np.zeros((n_vertices, 2), np.float32)
        self.uv = ctx.buffer(np.ascontiguousarray(uv, dtype=np.float32).tobytes())
        self.ibo = ctx.buffer(np.ascontiguousarray(faces, dtype=np.int32).tobytes())
        self.vao = ctx.vertex_array(
            prog,
            [(self.dynamic, "3f 3f", "in_position", "in_normal"), (self.uv, "2f", "in_uv")],
            index_buffer=self.ibo,
            index_element_size=4,
        )
        self.vao_occ = None
        self.unused_frames = 0

    def upload(self, positions: np.ndarray, normals: np.ndarray) -> None:
        data = np.empty((self.n_vertices, 6), np.float32)
        data[:, :3] = positions
        data[:, 3:] = normals
        self.dynamic.write(data.tobytes())

    def release(self) -> None:
        for obj in (self.vao, self.vao_occ, self.dynamic, self.uv, self.ibo):
            if obj is not None:
                obj.release()


class Renderer:
    """Offscreen renderer. Owns its GL context (or shares one passed in); use from one thread.

    ``close()`` is safe to call twice; also a context manager.
    """

    def __init__(self, options: RenderOptions | None = None, ctx=None) -> None:
        self.options = options or RenderOptions()
        self._own_ctx = ctx is None
        self.ctx = ctx or create_context()
        ctx = self.ctx
        ctx.front_face = "cw"  # see tryon.frames: the projection keeps image rows top-first
        self._item_prog = program(ctx, "item.vert", "item.frag")
        self._occ_prog = program(ctx, "occluder.vert", "depth_only.frag")
        self._meshes: dict[str, _GpuMesh] = {}
        self._textures: dict[int, object] = {}
        self._white = ctx.texture((1, 1), 1, np.array([1.0], np.float32).tobytes(), dtype="f4")
        self._size: tuple[int, int] | None = None
        self._targets: list = []
        self._mask_tex = None
        self._closed = False

    # -- targets -------------------------------------------------------------------
    def _ensure_size(self, width: int, height: int) -> None:
        if self._size == (width, height):
            return
        for obj in self._targets:
            obj.release()
        ctx, s = self.ctx, self.options.samples
        size = (width, height)
        self._item_color = ctx.texture(size, 4)
        self._item_depth = ctx.depth_texture(size)
        self._item_fbo = ctx.framebuffer([self._item_color], self._item_depth)
        self._targets = [self._item_color, self._item_depth, self._item_fbo]
        if s:
            self._ms_color = ctx.renderbuffer(size, 4, samples=s)
            self._ms_depth = ctx.depth_renderbuffer(size, samples=s)
            self._ms_fbo = ctx.framebuffer([self._ms_color], self._ms_depth)
            self._targets += [self._ms_color, self._ms_depth, self._ms_fbo]
        self._mask_tex = ctx.texture(size, 1, dtype="f4")
        self._targets += [self._mask_tex]
        self._size = size

    def _texture(self, material: Material):
        img = material.base_texture
        entry = self._textures.get(id(img))
        if entry is None or entry[0] is not img:  # keep the array alive so its id stays unique
            if entry is not None:
                entry[1].release()
            tex = self.ctx.texture((img.shape[1], img.shape[0]), 4, img.tobytes())
            tex.build_mipmaps()
            tex.repeat_x = tex.repeat_y = True
            entry = self._textures[id(img)] = (img, tex)
        return entry[1]

    def _mesh(self, draw: Draw) -> _GpuMesh:
        mesh = self._meshes.get(draw.key)
        if mesh is None or mesh.n_vertices != len(draw.positions_cam_m):
            if mesh is not None:
                mesh.release()
            mesh = _GpuMesh(self.ctx, self._item_prog, len(draw.positions_cam_m), draw.faces, draw.uvs)
            self._meshes[draw.key] = mesh
        mesh.unused_frames = 0
        return mesh

    def _evict(self) -> None:
        for key in [k for k, m in self._meshes.items() if m.unused_frames > 120]:
            self._meshes.pop(key).release()
        for m in self._meshes.values():
            m.unused_frames += 1

    # -- passes --------------------------------------------------------------------
    def _draw_items(
        self,
        K: CameraIntrinsics,
        draws: list[Draw],
        occluder: Draw | None,
        person_mask: np.ndarray | None,
        lighting: Lighting,
    ) -> None:
        ctx = self.ctx
        w, h = K.width, K.height
        self._ensure_size(w, h)
        fbo = self._ms_fbo if self.options.samples else self._item_fbo
        fbo.use()
        ctx.viewport = (0, 0, w, h)
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        ctx.enable(ctx.DEPTH_TEST)
        ctx.disable(ctx.CULL_FACE)
        proj = gl_projection(K, NEAR_M, FAR_M).T.tobytes()
        self._occ_prog["u_projection"].write(proj)

        if occluder is not None:
            mesh = self._mesh(occluder)
            mesh.upload(occluder.positions_cam_m, occluder.normals_cam)
            if mesh.vao_occ is None:
                mesh.vao_occ = ctx.vertex_array(
                    self._occ_prog,
                    [(mesh.dynamic, "3f 3f", "in_position", "in_normal")],
                    index_buffer=mesh.ibo,
                    index_element_size=4,
                )
            self._occ_prog["u_inset_m"].value = self.options.occluder_inset_m
            fbo.color_mask = (False, False, False, False)
            fbo.use()  # moderngl applies a framebuffer's colour mask when it is bound
            mesh.vao_occ.render()
            fbo.color_mask = (True, True, True, True)
            fbo.use()

        if person_mask is not None:
            self._mask_tex.write(np.ascontiguousarray(person_mask, dtype=np.float32).tobytes())
            mask_tex = self._mask_tex
        else:
            mask_tex = self._white
        prog = self._item_prog
        prog["u_projection"].write(proj)
        prog["u_sh"].write(np.ascontiguousarray(lighting.sh, dtype=np.float32).tobytes())
        prog["u_light_dir"].value = tuple(float(x) for x in lighting.key_direction)
        prog["u_light_color"].value = tuple(float(x) for x in lighting.key_color)
        prog["u_env_strength"].value = float(lighting.env_strength)
        prog["u_viewport"].value = (float(w), float(h))
        prog["u_base_texture"].value = 0
        prog["u_person_mask"].value = 1
        mask_tex.use(1)
        ctx.enable(ctx.BLEND)
        ctx.blend_func = ctx.ONE, ctx.ONE_MINUS_SRC_ALPHA
        for d in draws:
            mat = d.material or Material("default")
            mesh = self._mesh(d)
            mesh.upload(d.positions_cam_m, d.normals_cam)
            prog["u_base_color"].value = tuple(float(x) for x in mat.base_color)
            prog["u_metallic"].value = float(mat.metallic)
            prog["u_roughness"].value = float(mat.roughness)
            prog["u_opacity"].value = float(d.opacity)
            prog["u_clip_to_person"].value = bool(d.clip_to_person and person_mask is not None)
            has_tex = mat.base_texture is not None and d.uvs is not None
            prog["u_has_texture"].value = has_tex
            if has_tex:
                self._texture(mat).use(0)
            mesh.vao.render()
        ctx.disable(ctx.BLEND)
        if self.options.samples:
            ctx.copy_framebuffer(self._item_fbo, self._ms_fbo)
        self._evict()

    def render_items(
        self,
        K: CameraIntrinsics,
        draws: list[Draw],
        occluder: Draw | None = None,
        person_mask: np.ndarray | None = None,
        lighting: Lighting | None = None,
    ):
        """Draw the items into the renderer's item texture (premultiplied RGBA, on the GPU)
        and return that texture for a :class:`~tryon.render.compositor.Compositor`."""
        self._draw_items(K, draws, occluder, person_mask, lighting or Lighting.studio())
        return self._item_color

    def render_layers(
        self,
        K: CameraIntrinsics,
        draws: list[Draw],
        occluder: Draw | None = None,
        person_mask: np.ndarray | None = None,
        lighting: Lighting | None = None,
    ) -> Layers:
        """The items alone with their depth (for previews, tests and the benchmark)."""
        self._draw_items(K, draws, occluder, person_mask, lighting or Lighting.studio())
        h, w = K.height, K.width
        rgba = np.frombuffer(self._item_fbo.read(components=4, alignment=1), np.uint8).reshape(h, w, 4).copy()
        if self.options.samples:
            # The resolve copies colour only; draw depth again single-sampled for the readback.
            depth = self._depth_pass(K, draws, occluder)
        else:
            depth = np.frombuffer(self._item_depth.read(alignment=1), np.float32).reshape(h, w)
        depth_m = linearize_depth(depth, NEAR_M, FAR_M)
        depth_m[depth >= 1.0] = np.inf
        return Layers(rgba=rgba, depth_m=depth_m)

    def _depth_pass(self, K: CameraIntrinsics, draws: list[Draw], occluder: Draw | None) -> np.ndarray:
        ctx = self.ctx
        self._item_fbo.use()
        ctx.viewport = (0, 0, K.width, K.height)
        self._item_fbo.color_mask = (False, False, False, False)
        self._item_fbo.use()
        self._item_fbo.clear(depth=1.0)
        ctx.enable(ctx.DEPTH_TEST)
        for d in ([occluder] if occluder is not None else []) + list(draws):
            mesh = self._meshes[d.key]
            if mesh.vao_occ is None:
                mesh.vao_occ = ctx.vertex_array(
                    self._occ_prog,
                    [(mesh.dynamic, "3f 3f", "in_position", "in_normal")],
                    index_buffer=mesh.ibo,
                    index_element_size=4,
                )
            self._occ_prog["u_inset_m"].value = self.options.occluder_inset_m if d is occluder else 0.0
            mesh.vao_occ.render()
        self._item_fbo.color_mask = (True, True, True, True)
        self._item_fbo.use()
        return np.frombuffer(self._item_depth.read(alignment=1), np.float32).reshape(K.height, K.width)

    # -- lifetime ------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for m in self._meshes.values():
            m.release()
        for _, t in self._textures.values():
            t.release()
        for obj in self._targets:
            obj.release()
        self._meshes.clear()
        self._textures.clear()
        self._targets = []
        if self._own_ctx:
            self.ctx.release()

    release = close

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
