"""The moderngl renderer: the items, lit and occluded by the posed body, read back.

Per frame: (1) the posed body is drawn into depth only (the occluder), so a garment's
inside and back and whatever the body covers never show; (2) the items are drawn with
metallic-roughness lighting into a (multisampled) premultiplied-alpha target, each
optionally clipped by the person mask, each by a variant of the item program that holds only
the parts it uses (:data:`FEATURES`: llvmpipe pays for every branch compiled in); (3) only
the region the items cover is read back, as premultiplied BGRA (OpenCV's channel order), for
the :class:`~tryon.render.compositor.Compositor`. The projection keeps image rows top-first,
so nothing is flipped on readback (see :mod:`tryon.frames`).

About 700 lines: the GL objects of one frame (the item program's variants, the per-item
vertex arrays and textures, the targets and the readback) share one context and one cache,
kept in one class.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.frames import GL_NEAR_M, CameraIntrinsics, gl_projection, linearize_depth
from tryon.image import srgb8_to_linear
from tryon.render import lod
from tryon.render.context import create_context, program, shader_source
from tryon.render.fabric import FABRICS, relief_visible, sheen_color
from tryon.render.fabric import relief as fabric_relief
from tryon.render.lighting import Lighting
from tryon.render.shadows import SceneDepth
from tryon.render.types import Draw, ItemLayer, Material

log = logging.getLogger(__name__)

#: OpenGL's sRGB texture formats: the sampler decodes them to linear (llvmpipe by a table or a
#: short polynomial; the shader's sRGB curve was two polynomials per channel per fetch).
GL_SRGB8, GL_SRGB8_ALPHA8 = 0x8C41, 0x8C43

#: Pixels added around the items' projected bounds (smooth edges, normals pointing out).
ROI_MARGIN_PX = 3


@dataclass(frozen=True)
class RenderOptions:
    """samples : MSAA samples for the item pass (0 = off: the compositor's edge-aware
    resolve is far cheaper on a software rasterizer). occluder_inset_m : how far the body
    occluder is pulled in along its normals. fabric : the materials' fabric relief and sheen
    (:mod:`tryon.render.fabric`). ambient_occlusion : the items' baked occlusion. wrinkles :
    folds at bent joints. wrinkle_depth_m, fold_period_m : the folds' depth at full bend and
    their spacing. lod : items small on screen drawn with fewer faces (:mod:`tryon.render.lod`)."""

    samples: int = 0
    occluder_inset_m: float = 0.006
    fabric: bool = True
    ambient_occlusion: bool = True
    wrinkles: bool = True
    lod: bool = True
    wrinkle_depth_m: float = 0.004
    fold_period_m: float = 0.03

    def __post_init__(self) -> None:
        if self.samples not in (0, 2, 4, 8):
            raise ValueError(f"samples must be 0, 2, 4 or 8, got {self.samples}")


@dataclass(frozen=True)
class Layers:
    """The items alone, full frame. bgra : (H, W, 4) uint8 premultiplied sRGB.
    depth_m : (H, W) float32 camera z of the nearest surface drawn (items, or the occluder
    if given), ``inf`` where nothing was drawn."""

    bgra: np.ndarray
    depth_m: np.ndarray


def _current(method):
    """Run a Renderer method with its GL context current: several contexts may live in one
    process (two engines, a preview renderer), and GL calls go to whichever is current."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self._closed:
            raise RuntimeError("this Renderer is closed")
        with self.ctx:
            return method(self, *args, **kwargs)

    return wrapper


def items_roi(draws: list[Draw], K: CameraIntrinsics, margin_px: int = ROI_MARGIN_PX) -> tuple[int, int, int, int]:
    """Bounding box (x0, y0, x1, y1) of the draws' projections, clipped to the frame. The
    whole frame if any vertex is at or behind the near plane (its projection is unbounded)."""
    if not draws:
        return (0, 0, 0, 0)
    lo = np.array([np.inf, np.inf])
    hi = -lo
    for d in draws:
        p = d.positions_cam_m
        if len(p) == 0:
            continue
        z = p[:, 2]
        if z.min() <= GL_NEAR_M:
            return (0, 0, K.width, K.height)
        # The bounds of x / z and y / z, then to pixels (project() for every vertex, in
        # float64, took 1.6 ms a frame for a full outfit's 15k vertices).
        inv_z = np.reciprocal(z)
        sx, sy = p[:, 0] * inv_z, p[:, 1] * inv_z
        lo = np.minimum(lo, (K.fx * float(sx.min()) + K.cx, K.fy * float(sy.min()) + K.cy))
        hi = np.maximum(hi, (K.fx * float(sx.max()) + K.cx, K.fy * float(sy.max()) + K.cy))
    x0 = int(np.clip(np.floor(lo[0]) - margin_px, 0, K.width))
    y0 = int(np.clip(np.floor(lo[1]) - margin_px, 0, K.height))
    x1 = int(np.clip(np.ceil(hi[0]) + margin_px, 0, K.width))
    y1 = int(np.clip(np.ceil(hi[1]) + margin_px, 0, K.height))
    return (x0, y0, max(x0, x1), max(y0, y1))


#: The item shader's optional parts (``#define``s of ``shaders/item.frag``), compiled in only
#: for the draws that use them: a software rasterizer (llvmpipe) runs every branch of a shader
#: whether a uniform switches it off or not, and pays for each texture fetch.
FEATURES = (
    "HAS_TEXTURE",
    "RELIEF",
    "WRINKLES",
    "NORMAL_MAP",
    "OCCLUSION_MAP",
    "ROUGHNESS_MAP",
    "ENV",
    "SHEEN",
    "CLIP_TO_PERSON",
    "KEEPOUT",
    "SINGLE_SIDED",
)


#: Fabric kinds whose single-sided materials (glTF's default) are culled behind: jewelry and
#: frames are closed solids, never seen from inside (the chain necklace's back faces cost a
#: third of its draw). Cloth, leather and shoes keep both sides whatever the file says: an
#: exported garment is often one sheet, its inside seen at a collar, a hem or a shoe's opening.
SOLID_FABRICS = frozenset({"metal", "plastic"})


def _reflects_env(mat: Material) -> bool:
    """Whether a material gets sharp reflections of the surroundings (``ENV``): only metal; a
    dielectric reflects a few per cent, the SH will do."""
    return mat.metallic > 0.05


#: Below this fold strength (per vertex, ``Draw.wrinkle``) the shader draws no fold (its
#: ``v_wrinkle > 0.01``): a draw with none above it is compiled without ``WRINKLES``.
WRINKLE_MIN = 0.01


def _with_defines(source: str, defines: frozenset[str]) -> str:
    """GLSL source with ``#define`` lines after its ``#version`` line."""
    head, _, body = source.partition("\n")
    return "\n".join([head, *(f"#define {d}" for d in sorted(defines)), body])


def _nearest_pixel_m(d: Draw, K: CameraIntrinsics) -> float:
    """Metres one pixel spans at the draw's nearest vertex, on a surface facing the camera."""
    z = float(d.positions_cam_m[:, 2].min()) if len(d.positions_cam_m) else 1.0
    return max(z, GL_NEAR_M) / max(K.fx, K.fy)


class _Variant:
    """One variant of the item program and the uniform values it was last given: a value is
    sent again only when it changes (the outfit's draws share variants; most values stay)."""

    def __init__(self, prog) -> None:
        self.prog = prog
        self._last: dict[str, object] = {}

    def set(self, name: str, value) -> None:
        """A uniform's value (bytes: written raw), if this variant has it (the compiler drops
        unused ones)."""
        if self._last.get(name, _UNSET) == value:
            return
        member = self.prog.get(name, None)
        if member is not None:
            if isinstance(value, bytes):
                member.write(value)
            else:
                member.value = value
        self._last[name] = value

    def release(self) -> None:
        self.prog.release()


_UNSET = object()


#: Per-vertex floats: dynamic (position, normal, wrinkle), static (uv, model position,
#: model normal, occlusion, fold axis).
_DYNAMIC = 7
_STATIC = 12


class _GpuMesh:
    def __init__(self, ctx, draw: Draw):
        self.ctx = ctx
        n = self.n_vertices = len(draw.positions_cam_m)
        self.dynamic = ctx.buffer(reserve=n * _DYNAMIC * 4, dynamic=True)
        self._staging = np.zeros((n, _DYNAMIC), np.float32)
        static = np.zeros((n, _STATIC), np.float32)
        for cols, value in (
            (slice(0, 2), draw.uvs),
            (slice(2, 5), draw.model_positions_m),
            (slice(5, 8), draw.model_normals),
            (8, draw.ao),
            (slice(9, 12), draw.wrinkle_axis),
        ):
            if value is not None:
                static[:, cols] = value
        if draw.ao is None:
            static[:, 8] = 1.0
        self.static = ctx.buffer(static.tobytes())
        self.faces = np.ascontiguousarray(draw.faces, dtype=np.int32)
        self.ibo = ctx.buffer(self.faces.tobytes())
        # Levels of detail (tryon.render.lod): the space the vertices are clustered in (bind
        # pose when the draw has it: the same coarse faces every frame) and its median edge.
        self._lod_points = draw.model_positions_m if draw.model_positions_m is not None else draw.positions_cam_m
        self._lod_points = np.array(self._lod_points, np.float32)
        self._lod_normals = draw.model_normals if draw.model_positions_m is not None else draw.normals_cam
        self.edge_m = lod.median_edge_m(self._lod_points, self.faces)
        self.lods: dict[int, object] = {}  # level -> its index buffer
        self.vaos: dict[tuple[frozenset[str], int | None], object] = {}  # per variant and level
        self.vao_occ = None
        self.unused_frames = 0

    def lod_level(self, pixel_m: float) -> int | None:
        """The level of detail to draw at where a pixel spans ``pixel_m`` metres (None: all
        the faces), its index buffer made on first use."""
        level = lod.level_for(self.edge_m, pixel_m, len(self.faces))
        if level is not None and level not in self.lods:
            faces = lod.cluster_faces(self._lod_points, self.faces, lod.cell_m(level), self._lod_normals)
            self.lods[level] = self.ctx.buffer(faces.tobytes()) if len(faces) else None
        if level is not None and self.lods[level] is None:
            return None  # (nothing left at that level: drawn whole)
        return level

    def vao(self, features: frozenset[str], prog, level: int | None = None):
        """This mesh's vertex array for one variant of the item program (inputs a variant does
        not read are left out), at a level of detail (None: all its faces)."""
        vao = self.vaos.get((features, level))
        if vao is None:
            vao = self.vaos[(features, level)] = self.ctx.vertex_array(
                prog,
                [
                    (self.dynamic, "3f 3f 1f", "in_position", "in_normal", "in_wrinkle"),
                    (self.static, "2f 3f 3f 1f 3f", "in_uv", "in_model", "in_model_normal", "in_ao", "in_axis"),
                ],
                index_buffer=self.ibo if level is None else self.lods[level],
                index_element_size=4,
                skip_errors=True,
            )
        return vao

    def upload(self, positions: np.ndarray, normals: np.ndarray, wrinkle: np.ndarray | None = None) -> None:
        self._staging[:, :3] = positions
        self._staging[:, 3:6] = normals
        self._staging[:, 6] = 0.0 if wrinkle is None else wrinkle
        self.dynamic.write(self._staging)

    def release(self) -> None:
        for obj in (*self.vaos.values(), self.vao_occ, self.dynamic, self.static, self.ibo, *self.lods.values()):
            if obj is not None:
                obj.release()


@functools.lru_cache(maxsize=1)
def _ctypes_gl_finish():
    """``glFinish`` called through ctypes, which releases the GIL while the GPU (or llvmpipe's
    rasterizer threads) finish: moderngl holds it, and the pose thread would wait for every
    frame's render. None when no GL library can be loaded this way."""
    import ctypes
    import ctypes.util

    for name in ("libOpenGL.so.0", "libGL.so.1", ctypes.util.find_library("GL")):
        if not name:
            continue
        try:
            fn = ctypes.CDLL(name).glFinish
        except (OSError, AttributeError):
            continue
        fn.restype, fn.argtypes = None, []
        return fn
    return None


def _finish(ctx) -> None:
    """Wait for the draw calls to complete, letting other Python threads run meanwhile."""
    fn = _ctypes_gl_finish()
    if fn is None:
        ctx.finish()
    else:
        fn()


class Renderer:
    """Offscreen renderer. Owns its GL context (or shares one passed in); use it from one
    thread. ``close()`` is safe to call twice; also a context manager."""

    def __init__(self, options: RenderOptions | None = None, ctx=None) -> None:
        self.options = options or RenderOptions()
        self._own_ctx = ctx is None
        self.ctx = ctx or create_context()
        ctx = self.ctx
        ctx.front_face = "cw"  # see tryon.frames: the projection keeps image rows top-first
        self._item_progs: dict[frozenset[str], _Variant] = {}
        self._occ_prog = program(ctx, "occluder.vert", "depth_only.frag")
        self._meshes: dict[str, _GpuMesh] = {}
        self._textures: dict[int, tuple] = {}
        self._reliefs: dict[str, object] = {}
        self._masks = None  # the masks' RG8 texture (moderngl.Texture), made on first use
        self._env: tuple | None = None  # (the picture, its texture, its gain)
        self._size: tuple[int, int] | None = None
        self._targets: list = []
        self._closed = False
        self._skipped: set[str] = set()  # mesh keys warned about as not drawable
        #: Milliseconds the last ``render_items`` spent drawing (until the GPU finished).
        self.last_draw_ms = 0.0
        #: The depth the last ``render_items`` drew around the items, when asked for (shadows).
        self.last_scene_depth: SceneDepth | None = None

    # -- targets -------------------------------------------------------------------
    def _ensure_size(self, width: int, height: int) -> None:
        if self._size == (width, height):
            return
        for obj in self._targets:
            obj.release()
        ctx, s = self.ctx, self.options.samples
        size = (width, height)
        self._color = ctx.texture(size, 4)
        self._depth = ctx.depth_texture(size)
        self._fbo = ctx.framebuffer([self._color], self._depth)
        self._targets = [self._color, self._depth, self._fbo]
        if s:
            self._ms_color = ctx.renderbuffer(size, 4, samples=s)
            self._ms_depth = ctx.depth_renderbuffer(size, samples=s)
            self._ms_fbo = ctx.framebuffer([self._ms_color], self._ms_depth)
            self._targets += [self._ms_color, self._ms_depth, self._ms_fbo]
        self._readback = bytearray(width * height * 4)
        self._size = size

    def _masks_texture(
        self,
        person_mask: np.ndarray | None,
        keepout: np.ndarray | None,
        roi: tuple[int, int, int, int],
        frame_size: tuple[int, int],
    ):
        """The person mask (red) and the keep-out mask (green) in one RG8 texture (one fetch
        per pixel for both), at the person mask's resolution (the keep-out's without one; the
        other resized to it); red 1 without a person mask, green 0 without a keep-out. The
        masks : float in [0, 1] at any resolution with the frame's aspect. Only the part under
        ``roi`` (x0, y0, x1, y1 frame px of a ``frame_size`` (w, h) frame), and a texel around
        it for the bilinear filter, is uploaded: nothing is drawn elsewhere. None without
        either mask."""
        if person_mask is None and keepout is None:
            return None
        h, w = (person_mask if person_mask is not None else keepout).shape[:2]
        if self._masks is None or self._masks.size != (w, h):
            if self._masks is not None:
                self._masks.release()
            self._masks = self.ctx.texture((w, h), 2)
            self._masks.repeat_x = self._masks.repeat_y = False  # the frame's edge does not wrap
        tex = self._masks
        fw, fh = frame_size
        tx0, ty0 = max(int(roi[0] * w / fw) - 2, 0), max(int(roi[1] * h / fh) - 2, 0)
        tx1, ty1 = min(int(np.ceil(roi[2] * w / fw)) + 2, w), min(int(np.ceil(roi[3] * h / fh)) + 2, h)
        if tx1 <= tx0 or ty1 <= ty0:
            return tex
        channels = []
        for mask, default in ((person_mask, 255), (keepout, 0)):
            if mask is None:
                channels.append(np.full((ty1 - ty0, tx1 - tx0), default, np.uint8))
                continue
            if mask.shape[:2] != (h, w):
                mask = cv2.resize(np.asarray(mask, np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
            channels.append(cv2.convertScaleAbs(mask[ty0:ty1, tx0:tx1], alpha=255.0))
        # (one interleaving pass: the strided writes into a buffer and its copy cost three)
        tex.write(cv2.merge(channels), viewport=(tx0, ty0, tx1 - tx0, ty1 - ty0), alignment=1)
        return tex

    def _environment(self, lighting: Lighting):
        """The reflection picture as a mipmapped texture, and the gain that brings its mean
        to the SH's (re-uploaded only when the picture changes)."""
        img = lighting.environment
        if self._env is not None and self._env[0] is img:
            return self._env[1], self._env[2]
        h, w = img.shape[:2]
        tex = self._env[1] if self._env is not None and self._env[1].size == (w, h) else None
        if tex is None:
            if self._env is not None:
                self._env[1].release()
            tex = self.ctx.texture((w, h), 3, internal_format=GL_SRGB8)
            tex.filter = (self.ctx.LINEAR_MIPMAP_LINEAR, self.ctx.LINEAR)
            tex.repeat_x = tex.repeat_y = False
        tex.write(np.ascontiguousarray(img, dtype=np.uint8), alignment=1)
        tex.build_mipmaps()
        mean_linear = float(np.mean(srgb8_to_linear(img.reshape(-1, 3)[:: max(1, h * w // 2048)])))
        mean_sh = float(np.mean(np.asarray(lighting.sh)[0]) * 0.282095)
        gain = mean_sh / max(mean_linear, 1e-3)
        self._env = (img, tex, gain)
        return tex, gain

    def _texture(self, material: Material):
        """A material's base colour texture: sRGB (the sampler decodes it to linear, and its
        mipmaps and filtering are linear), repeating, mipmapped."""
        img = material.base_texture
        entry = self._textures.get(id(img))
        if entry is None or entry[0] is not img:  # keep the array alive so its id stays unique
            if entry is not None:
                entry[1].release()
            tex = self.ctx.texture((img.shape[1], img.shape[0]), 4, img.tobytes(), internal_format=GL_SRGB8_ALPHA8)
            tex.build_mipmaps()
            tex.repeat_x = tex.repeat_y = True
            entry = self._textures[id(img)] = (img, tex)
        return entry[1]

    def _map(self, img: np.ndarray):
        """A material's own map (normal, occlusion, roughness): RGBA, repeating, mipmapped."""
        entry = self._textures.get(id(img))
        if entry is None or entry[0] is not img:
            if entry is not None:
                entry[1].release()
            tex = self.ctx.texture((img.shape[1], img.shape[0]), 4, img.tobytes())
            tex.build_mipmaps()
            tex.repeat_x = tex.repeat_y = True
            entry = self._textures[id(img)] = (img, tex)
        return entry[1]

    def _relief(self, kind: str):
        """The fabric kind's height map as an R8 texture, tiled and mipmapped (kept per kind)."""
        tex = self._reliefs.get(kind)
        if tex is None:
            img = fabric_relief(kind)
            tex = self.ctx.texture((img.shape[1], img.shape[0]), 1, np.ascontiguousarray(img).tobytes(), alignment=1)
            tex.build_mipmaps()
            tex.repeat_x = tex.repeat_y = True
            tex.filter = (self.ctx.LINEAR_MIPMAP_NEAREST, self.ctx.LINEAR)  # cheaper than trilinear
            self._reliefs[kind] = tex
        return tex

    def _mesh(self, draw: Draw) -> _GpuMesh:
        mesh = self._meshes.get(draw.key)
        if mesh is None or mesh.n_vertices != len(draw.positions_cam_m):
            if mesh is not None:
                mesh.release()
            mesh = _GpuMesh(self.ctx, draw)
            self._meshes[draw.key] = mesh
        mesh.unused_frames = 0
        return mesh

    def _occluder_vao(self, mesh: _GpuMesh):
        if mesh.vao_occ is None:
            mesh.vao_occ = self.ctx.vertex_array(
                self._occ_prog,
                [(mesh.dynamic, "3f 3f 4x", "in_position", "in_normal")],
                index_buffer=mesh.ibo,
                index_element_size=4,
            )
        return mesh.vao_occ

    def _evict(self) -> None:
        for key in [k for k, m in self._meshes.items() if m.unused_frames > 120]:
            self._meshes.pop(key).release()
        for m in self._meshes.values():
            m.unused_frames += 1

    # -- the item pass ---------------------------------------------------------------
    def _draw(
        self,
        K: CameraIntrinsics,
        draws: list[Draw],
        occluder: Draw | None,
        person_mask: np.ndarray | None,
        lighting: Lighting,
        roi: tuple[int, int, int, int],
        keepout: np.ndarray | None = None,
    ) -> None:
        ctx = self.ctx
        w, h = K.width, K.height
        self._ensure_size(w, h)
        o = self.options
        has_env = lighting.environment is not None
        # Everything the frame uploads goes up before its first draw: llvmpipe draws when it
        # must, and a texture or buffer written after a draw was queued makes it rasterize what
        # is queued first (the masks written after the occluder cost 0.7 ms a frame that way).
        if occluder is not None:
            occ_mesh = self._mesh(occluder)
            occ_mesh.upload(occluder.positions_cam_m, occluder.normals_cam)
        meshes: list[_GpuMesh | None] = []
        for d in draws:
            if any(d.key == other.key for other in draws[: len(meshes)]):
                meshes.append(None)  # a key drawn twice: its buffer is written again at its draw
                continue
            mesh = self._mesh(d)
            mesh.upload(d.positions_cam_m, d.normals_cam, d.wrinkle if o.wrinkles else None)
            meshes.append(mesh)
        masks_tex = self._masks_texture(person_mask, keepout, roi, (w, h))
        env = None
        if has_env and any(_reflects_env(d.material or Material("default")) for d in draws):
            env = self._environment(lighting)
        x0, y0, x1, y1 = roi
        region = (x0, y0, x1 - x0, y1 - y0)  # window y = image row: no flip
        fbo = self._ms_fbo if self.options.samples else self._fbo
        fbo.use()
        ctx.viewport = (0, 0, w, h)
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0, viewport=region)
        ctx.scissor = region
        ctx.enable(ctx.DEPTH_TEST)
        ctx.disable(ctx.CULL_FACE)
        proj = gl_projection(K).T.tobytes()
        self._occ_prog["u_projection"].write(proj)

        if occluder is not None:
            self._occ_prog["u_inset_m"].value = self.options.occluder_inset_m
            fbo.color_mask = (False, False, False, False)
            fbo.use()  # moderngl applies a framebuffer's colour mask when it is bound
            self._occluder_vao(occ_mesh).render()
            fbo.color_mask = (True, True, True, True)
            fbo.use()

        if masks_tex is not None:
            masks_tex.use(1)
        light = np.asarray(lighting.key_direction, np.float64)
        frame_uniforms = {
            "u_sh": np.ascontiguousarray(lighting.sh, dtype=np.float32).tobytes(),
            "u_light_dir": tuple(float(x) for x in light / max(float(np.linalg.norm(light)), 1e-9)),
            "u_light_color": tuple(float(x) for x in lighting.key_color),
            "u_env_strength": float(lighting.env_strength),
            "u_viewport": (float(w), float(h)),
            "u_base_texture": 0,
            "u_masks": 1,
            "u_env": 3,
            "u_relief": 4,
            "u_normal_map": 5,
            "u_occlusion_map": 6,
            "u_roughness_map": 7,
            "u_fold_period_m": o.fold_period_m,
            "u_use_ao": o.ambient_occlusion,
        }
        if env is not None:
            env_tex, gain = env
            env_tex.use(3)
            frame_uniforms["u_env_gain"] = gain
            frame_uniforms["u_env_max_lod"] = float(np.log2(max(env_tex.size)))
        ready: set[frozenset[str]] = set()  # the variants given this frame's uniforms already
        ctx.enable(ctx.BLEND)
        ctx.blend_func = ctx.ONE, ctx.ONE_MINUS_SRC_ALPHA
        for d, mesh in zip(draws, meshes):
            if mesh is None:
                mesh = self._mesh(d)
                mesh.upload(d.positions_cam_m, d.normals_cam, d.wrinkle if o.wrinkles else None)
            mat = d.material or Material("default")
            features, surface = self._surface(mat, d, env is not None, person_mask is not None, keepout is not None, K)
            variant = self._item_program(features)
            if features not in ready:
                ready.add(features)
                variant.set("u_projection", proj)
                for name, value in frame_uniforms.items():
                    variant.set(name, value)
            for name, value in surface.items():
                variant.set(name, value)
            variant.set("u_base_color", tuple(float(x) for x in mat.base_color))
            variant.set("u_metallic", float(mat.metallic))
            variant.set("u_roughness", float(mat.roughness))
            variant.set("u_opacity", float(d.opacity))
            variant.set("u_depth_bias_m", float(d.depth_bias_m))
            if "SINGLE_SIDED" in features:
                ctx.enable(ctx.CULL_FACE)
            else:
                ctx.disable(ctx.CULL_FACE)
            level = mesh.lod_level(_nearest_pixel_m(d, K)) if o.lod else None
            mesh.vao(features, variant.prog, level).render()
        ctx.disable(ctx.BLEND)
        ctx.disable(ctx.CULL_FACE)
        ctx.scissor = None
        if self.options.samples:
            ctx.copy_framebuffer(self._fbo, self._ms_fbo)
        self._evict()

    def _item_program(self, features: frozenset[str]) -> _Variant:
        """The item program compiled with these optional parts (:data:`FEATURES`), kept."""
        variant = self._item_progs.get(features)
        if variant is None:
            variant = self._item_progs[features] = _Variant(
                self.ctx.program(
                    vertex_shader=_with_defines(shader_source("item.vert"), features),
                    fragment_shader=_with_defines(shader_source("item.frag"), features),
                )
            )
        return variant

    def _surface(
        self,
        mat: Material,
        d: Draw,
        has_env: bool,
        has_person_mask: bool,
        has_keepout: bool,
        K: CameraIntrinsics | None = None,
    ) -> tuple[frozenset[str], dict]:
        """Which of the item shader's parts a draw needs (:data:`FEATURES`) and their uniforms;
        the material's own maps and the fabric's relief bound to texture units 0 and 4-7. A
        part that would change nothing this frame is left out: the relief where the weave is
        finer than the mip level a pixel reads shows (:func:`~tryon.render.fabric.relief_visible`
        at the draw's nearest point; always drawn without ``K``), the folds when no vertex is bent
        enough to fold."""
        o = self.options
        features: set[str] = set()
        uniforms: dict = {}
        if mat.base_texture is not None and d.uvs is not None:
            features.add("HAS_TEXTURE")
            self._texture(mat).use(0)
        if has_env and _reflects_env(mat):
            features.add("ENV")
        if d.clip_to_person and has_person_mask:
            features.add("CLIP_TO_PERSON")
        if d.keepout and has_keepout:
            features.add("KEEPOUT")
        if not mat.double_sided and mat.fabric in SOLID_FABRICS:
            features.add("SINGLE_SIDED")  # culled behind: no back side to light
        fabric = FABRICS.get(mat.fabric) if o.fabric else None
        if (
            fabric is not None
            and d.model_positions_m is not None
            and d.model_normals is not None
            and (K is None or relief_visible(fabric, _nearest_pixel_m(d, K)))
        ):
            features.add("RELIEF")
            self._relief(fabric.name).use(4)
            uniforms["u_tile_m"] = fabric.tile_m
            uniforms["u_relief_m"] = fabric.relief_m
        folds = d.wrinkle is not None and len(d.wrinkle) and float(d.wrinkle.max()) > WRINKLE_MIN
        if fabric is not None and fabric.cloth and o.wrinkles and d.wrinkle_axis is not None and folds:
            features.add("WRINKLES")
            uniforms["u_wrinkle_m"] = o.wrinkle_depth_m
        sheen = None
        sheen_rough = 0.5
        if o.fabric and mat.sheen_color is not None:
            sheen = mat.sheen_color
            sheen_rough = mat.sheen_roughness if mat.sheen_roughness is not None else 0.5
        elif fabric is not None and fabric.sheen > 0:
            sheen = sheen_color(fabric, mat.base_color)
            sheen_rough = mat.sheen_roughness if mat.sheen_roughness is not None else fabric.sheen_roughness
        if sheen is not None and np.any(np.asarray(sheen) != 0):
            features.add("SHEEN")
            uniforms["u_sheen_color"] = tuple(float(x) for x in sheen)
            uniforms["u_sheen_roughness"] = float(max(sheen_rough, 0.05))
        if d.uvs is not None:
            for feature, img, unit in (
                ("NORMAL_MAP", mat.normal_texture, 5),
                ("OCCLUSION_MAP", mat.occlusion_texture if o.ambient_occlusion else None, 6),
                ("ROUGHNESS_MAP", mat.roughness_texture, 7),
            ):
                if img is not None:
                    features.add(feature)
                    self._map(img).use(unit)
            if mat.normal_texture is not None:
                uniforms["u_normal_scale"] = float(mat.normal_scale)
            if mat.roughness_texture is not None:
                mean_g = float(mat.roughness_texture[::4, ::4, 1].mean()) / 255.0
                uniforms["u_roughness_map_gain"] = 1.0 / max(mean_g, 1e-3)
        return frozenset(features), uniforms

    @_current
    def render_items(
        self,
        K: CameraIntrinsics,
        draws: list[Draw],
        occluder: Draw | None = None,
        person_mask: np.ndarray | None = None,
        lighting: Lighting | None = None,
        keepout: np.ndarray | None = None,
        depth_margin_px: int = 0,
        depth_step_px: int = 4,
    ) -> ItemLayer:
        """Draw the items and read back the region they cover.

        person_mask : (h, w) float32 in [0, 1] at any resolution with the frame's aspect
        (e.g. ``Pose.segmentation``); items with ``clip_to_person`` are multiplied by it.
        keepout : likewise; items with ``keepout`` are multiplied by ``1 - keepout``.
        depth_margin_px : when > 0, the occluder's depth is drawn this far around the items too
        and the depth drawn (every ``depth_step_px``-th pixel) is kept in ``last_scene_depth``
        (contact shadows; single-sampled rendering only)."""
        self.last_scene_depth = None
        draws, occluder = self._drawable(draws, occluder)
        roi = items_roi(draws, K)
        x0, y0, x1, y1 = roi
        if x1 <= x0 or y1 <= y0:
            return ItemLayer(np.zeros((0, 0, 4), np.uint8), (0, 0, 0, 0), (K.width, K.height))
        want_depth = depth_margin_px > 0 and not self.options.samples
        draw_roi = roi
        if want_depth:
            m = depth_margin_px
            draw_roi = (max(0, x0 - m), max(0, y0 - m), min(K.width, x1 + m), min(K.height, y1 + m))
        t0 = time.perf_counter()
        self._draw(K, draws, occluder, person_mask, lighting or Lighting.studio(), draw_roi, keepout)
        _finish(self.ctx)
        self.last_draw_ms = (time.perf_counter() - t0) * 1e3
        if want_depth:
            self.last_scene_depth = self._scene_depth(draw_roi, depth_step_px)
        rw, rh = x1 - x0, y1 - y0
        view = memoryview(self._readback)[: rw * rh * 4]
        self._fbo.read_into(view, viewport=(x0, y0, rw, rh), components=4, alignment=1)
        bgra = np.frombuffer(self._readback, np.uint8, count=rw * rh * 4).reshape(rh, rw, 4)
        return ItemLayer(bgra, roi, (K.width, K.height))

    def _drawable(self, draws: list[Draw], occluder: Draw | None) -> tuple[list[Draw], Draw | None]:
        """The draws (and occluder) that can be drawn; a broken one is skipped with a warning
        (once per mesh key and renderer), never blanking the others."""
        kept = []
        for d in draws:
            problem = d.problem()
            if problem is None:
                kept.append(d)
            else:
                self._warn_skipped(d.key, problem)
        if occluder is not None and (problem := occluder.problem()) is not None:
            self._warn_skipped(occluder.key, problem)
            occluder = None
        return kept, occluder

    def _warn_skipped(self, key: str, problem: str) -> None:
        if key not in self._skipped:
            self._skipped.add(key)
            log.warning("not drawing %r: %s (the other items are drawn)", key, problem)

    def _scene_depth(self, roi: tuple[int, int, int, int], step: int) -> SceneDepth:
        x0, y0, x1, y1 = roi
        w, h = x1 - x0, y1 - y0
        raw = self._fbo.read(viewport=(x0, y0, w, h), components=1, attachment=-1, dtype="f4", alignment=1)
        d01 = np.frombuffer(raw, np.float32).reshape(h, w)[::step, ::step]
        depth_m = linearize_depth(d01)
        depth_m[d01 >= 1.0] = np.inf
        return SceneDepth(depth_m, roi, step)

    @_current
    def render_layers(
        self,
        K: CameraIntrinsics,
        draws: list[Draw],
        occluder: Draw | None = None,
        person_mask: np.ndarray | None = None,
        lighting: Lighting | None = None,
        keepout: np.ndarray | None = None,
    ) -> Layers:
        """The items alone over the whole frame, with depth (previews, tests, benchmark)."""
        draws, occluder = self._drawable(draws, occluder)
        w, h = K.width, K.height
        self._draw(K, draws, occluder, person_mask, lighting or Lighting.studio(), (0, 0, w, h), keepout)

        bgra = np.frombuffer(self._fbo.read(components=4, alignment=1), np.uint8).reshape(h, w, 4).copy()
        if self.options.samples:
            # The resolve copies colour only; draw depth again single-sampled for the readback.
            depth = self._depth_pass(K, draws, occluder)
        else:
            depth = np.frombuffer(self._depth.read(alignment=1), np.float32).reshape(h, w)
        depth_m = linearize_depth(depth)
        depth_m[depth >= 1.0] = np.inf
        return Layers(bgra=bgra, depth_m=depth_m)

    def _depth_pass(self, K: CameraIntrinsics, draws: list[Draw], occluder: Draw | None) -> np.ndarray:
        ctx = self.ctx
        self._fbo.color_mask = (False, False, False, False)
        self._fbo.use()
        ctx.viewport = (0, 0, K.width, K.height)
        self._fbo.clear(depth=1.0)
        ctx.enable(ctx.DEPTH_TEST)
        for d in ([occluder] if occluder is not None else []) + list(draws):
            self._occ_prog["u_inset_m"].value = self.options.occluder_inset_m if d is occluder else 0.0
            self._occluder_vao(self._meshes[d.key]).render()
        self._fbo.color_mask = (True, True, True, True)
        self._fbo.use()
        return np.frombuffer(self._depth.read(alignment=1), np.float32).reshape(K.height, K.width)

    # -- lifetime ------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        with self.ctx:
            self._release()
        self._closed = True
        if self._own_ctx:
            self.ctx.release()

    def _release(self) -> None:
        for m in self._meshes.values():
            m.release()
        for _, t in self._textures.values():
            t.release()
        for t in self._reliefs.values():
            t.release()
        self._reliefs.clear()
        for obj in [
            *self._targets,
            *([self._env[1]] if self._env is not None else []),
            *([self._masks] if self._masks is not None else []),
            *self._item_progs.values(),
            self._occ_prog,
        ]:
            obj.release()
        self._meshes.clear()
        self._item_progs.clear()
        self._textures.clear()
        self._targets = []

    release = close

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
