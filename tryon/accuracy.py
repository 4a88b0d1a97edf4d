"""Accuracy against ground truth: synthetic people whose pose is known exactly.

Each scene is the MakeHuman mannequin posed by a MakeHuman BVH pose or a random plausible
pose, dressed (white T-shirt and jeans, so BlazePose sees a clothed person), turned by a
known yaw, rendered from a known camera over a plain or a photo background. The engine
processes the rendered image like any camera frame; what it draws for the garment under
test is compared with that garment rendered on the true pose:

- silhouette IoU of the garment as drawn vs the true garment (both occluded by the body),
- mean 2D error of the garment's vertices, in px and as a share of the body's height,
- mean 2D error of the solved rig's joints (shoulders, elbows, wrists, hips, knees, ankles).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from tryon.body.mannequin import Mannequin
from tryon.body.rotations import axis_angle
from tryon.body.skeleton import BONE_INDEX
from tryon.body.skinning import linear_blend_skinning
from tryon.body.synthetic import bvh_pose, bvh_poses, forward_kinematics, place_in_camera, random_pose
from tryon.catalog.catalog import Catalog
from tryon.catalog.item import Garment
from tryon.deform import body_occluder, deform_item
from tryon.frames import MODEL_TO_CAMERA, CameraIntrinsics, project
from tryon.image import srgb_to_linear
from tryon.render.compositor import Compositor
from tryon.render.renderer import Renderer
from tryon.render.types import Draw, Material

ROOT = Path(__file__).resolve().parent.parent
#: Joints whose 2D error is reported (bone heads of the solved rig).
EVAL_JOINTS = tuple(
    f"{b}.{s}" for s in ("L", "R") for b in ("upperarm01", "lowerarm01", "wrist", "upperleg01", "lowerleg01", "foot")
)
SKIN_SRGB = (0.78, 0.58, 0.47)
#: Poses a front camera cannot judge fairly: upside down, lying flat toward the camera.
SKIPPED_POSES = ("gym01", "fly02")


@dataclass
class Scene:
    """A rendered synthetic person. image : (H, W, 3) uint8 BGR. palette : (J, 3, 4) the
    true bone transforms (bind model metres -> camera metres). body_height_px : the posed
    body's projected height."""

    name: str
    image: np.ndarray
    K: CameraIntrinsics
    palette: np.ndarray
    body_height_px: float


@dataclass
class SceneResult:
    name: str
    detected: bool
    iou: float = 0.0
    vertex_error_px: float = float("nan")
    vertex_error_rel: float = float("nan")
    joint_error_px: float = float("nan")


def _skin_material() -> Material:
    lin = srgb_to_linear(SKIN_SRGB)
    return Material("skin", [*lin, 1.0], roughness=0.6)


def backgrounds(size: tuple[int, int]) -> dict[str, np.ndarray]:
    """A plain grey wall and a real street (a person-free strip of a test photo)."""
    w, h = size
    plain = np.full((h, w, 3), (150, 150, 146), np.uint8)
    out = {"plain": plain}
    photo = ROOT / "tests" / "data" / "photos" / "mediapipe_samples_pose_test_image.jpg"
    img = cv2.imread(str(photo))
    if img is not None:
        strip = img[:, :200]
        out["street"] = cv2.resize(strip, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def place_for_camera(
    mannequin: Mannequin, palette_model: np.ndarray, K: CameraIntrinsics, yaw_deg: float, fill: float = 0.8
) -> np.ndarray:
    """Put a posed body in front of the camera so it fills ``fill`` of the frame, centred."""
    v, _ = linear_blend_skinning(mannequin.positions_m, mannequin.skin, palette_model)
    R = MODEL_TO_CAMERA.astype(np.float64) @ axis_angle([0, 1, 0], np.radians(yaw_deg))
    pts = v @ R.T
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    size_x, size_y = hi[0] - lo[0], hi[1] - lo[1]
    depth = max(size_y * K.fy / (fill * K.height), size_x * K.fx / (fill * K.width)) + (hi[2] - lo[2]) / 2
    centre = 0.5 * (lo + hi)
    anchor = np.linalg.solve(R, centre)  # the model point at the bounding box centre
    return place_in_camera(palette_model, yaw_deg, (0.0, 0.0, depth), anchor_model_m=anchor)


def make_scene(
    name: str,
    local: dict,
    yaw_deg: float,
    K: CameraIntrinsics,
    renderer: Renderer,
    mannequin: Mannequin,
    wear: list[Garment],
    background: np.ndarray,
) -> Scene:
    from tryon.body.solver import PosedBody

    pal = place_for_camera(mannequin, forward_kinematics(mannequin, local), K, yaw_deg)
    body = PosedBody.from_palette(pal, K, mannequin.skeleton.heads)
    v, n = linear_blend_skinning(mannequin.positions_m, mannequin.skin, pal, mannequin.normals)
    draws = [Draw("__person__", v, n, mannequin.faces, material=_skin_material(), clip_to_person=False)]
    for g in wear:
        for d in deform_item(g, body):
            d.clip_to_person = False
            d.key = "__wear__" + d.key
            draws.append(d)
    layer = renderer.render_items(K, draws)
    image = Compositor(antialias=True).composite(background, layer).image
    proj = project(v, K)
    return Scene(name, image, K, pal.astype(np.float32), float(proj[:, 1].max() - proj[:, 1].min()))


def _true_heads(mannequin: Mannequin, palette: np.ndarray) -> np.ndarray:
    bh = mannequin.skeleton.heads
    return np.einsum("jab,jb->ja", palette[:, :, :3].astype(np.float64), bh) + palette[:, :, 3]


def evaluate(engine, scene: Scene, garment: Garment, renderer: Renderer) -> SceneResult:
    """Run the engine on the scene's image and compare with the true pose."""
    result = engine.process(scene.image)
    if result.body is None:
        return SceneResult(scene.name, False)
    mannequin = engine.mannequin
    K = scene.K
    part = garment.parts[0]
    true_v, true_n = linear_blend_skinning(part.positions, part.skin, scene.palette, part.normals)
    got_v = deform_item(garment, result.body)[0].positions_cam_m
    err = np.linalg.norm(project(got_v, K) - project(true_v, K), axis=1)

    from tryon.body.solver import PosedBody

    true_body = PosedBody.from_palette(scene.palette, K, mannequin.skeleton.heads)
    truth = Draw(
        "__truth__", true_v, true_n, part.faces, material=garment.materials[part.material], clip_to_person=False
    )
    true_alpha = renderer.render_layers(K, [truth], occluder=body_occluder(mannequin, true_body)).bgra[:, :, 3]
    drawn = result.garment_alpha > 0.5
    true_sil = true_alpha > 127
    union = (drawn | true_sil).sum()
    iou = float((drawn & true_sil).sum() / union) if union else 0.0

    idx = [BONE_INDEX[j] for j in EVAL_JOINTS]
    true_j = project(_true_heads(mannequin, scene.palette)[idx], K)
    got_j = project(result.body.heads_cam_m[idx], K)
    return SceneResult(
        scene.name,
        True,
        iou,
        float(err.mean()),
        float(err.mean() / scene.body_height_px),
        float(np.linalg.norm(true_j - got_j, axis=1).mean()),
    )


def scenes(
    mannequin: Mannequin,
    renderer: Renderer,
    wear: list[Garment],
    size=(640, 480),
    n_random: int = 12,
    seed: int = 0,
    hfov_deg: float = 60.0,
) -> list[Scene]:
    """The BVH poses (front, and turned) plus ``n_random`` random poses, over each background."""
    rng = np.random.default_rng(seed)
    K = CameraIntrinsics.from_fov(size[0], size[1], hfov_deg)
    bgs = backgrounds(size)
    poses = [(n, bvh_pose(p)) for n, p in bvh_poses().items() if n not in SKIPPED_POSES]
    poses += [(f"random{i:02d}", random_pose(rng)) for i in range(n_random)]
    out = []
    for k, (name, local) in enumerate(poses):
        yaw = float(rng.uniform(-35, 35))
        bg_name = list(bgs)[k % len(bgs)]
        out.append(
            make_scene(f"{name} yaw {yaw:+.0f} {bg_name}", local, yaw, K, renderer, mannequin, wear, bgs[bg_name])
        )
    return out


def run(
    garment_id: str = "navy-longsleeve",
    wear_ids=("white-tee", "blue-jeans"),
    size=(640, 480),
    n_random: int = 12,
    seed: int = 0,
    catalog: Catalog | None = None,
) -> dict:
    """Accuracy report: per-scene results and their summary."""
    from tryon.engine import EngineOptions, TryOnEngine

    catalog = catalog or Catalog()
    garment = catalog.get(garment_id)
    wear = [catalog.get(w) for w in wear_ids]
    with Renderer() as renderer, TryOnEngine(items=[garment], catalog=catalog, options=EngineOptions()) as engine:
        results = [
            evaluate(engine, s, garment, renderer)
            for s in scenes(engine.mannequin, renderer, wear, size, n_random, seed)
        ]
    found = [r for r in results if r.detected]

    def stat(key: str) -> float:
        vals = [getattr(r, key) for r in found]
        return round(float(np.median(vals)), 4) if vals else float("nan")

    summary = {
        "scenes": len(results),
        "detected": len(found),
        "garment": garment_id,
        "resolution": f"{size[0]}x{size[1]}",
        "iou_median": stat("iou"),
        "iou_mean": round(float(np.mean([r.iou for r in found])), 4) if found else float("nan"),
        "vertex_error_px_median": stat("vertex_error_px"),
        "vertex_error_rel_median": stat("vertex_error_rel"),
        "joint_error_px_median": stat("joint_error_px"),
    }
    return {"summary": summary, "scenes": [asdict(r) for r in results]}


def markdown(report: dict, photo_share: dict | None = None) -> str:
    s = report["summary"]
    lines = [
        f"Accuracy on {s['scenes']} synthetic scenes ({s['resolution']}, MakeHuman BVH and random poses, "
        f"yaw within ±35°, plain and street backgrounds); BlazePose found the person in {s['detected']}.",
        "",
        "| garment | silhouette IoU (median / mean) | vertex error px (median) | vertex error / body height "
        "| joint error px (median) |",
        "|---|---:|---:|---:|---:|",
        f"| {s['garment']} | {s['iou_median']:.3f} / {s['iou_mean']:.3f} | {s['vertex_error_px_median']:.1f} | "
        f"{s['vertex_error_rel_median'] * 100:.1f}% | {s['joint_error_px_median']:.1f} |",
    ]
    if photo_share:
        lines += [
            "",
            "Share of garment pixels inside the person mask on the real photos: "
            + ", ".join(f"{k} {v:.1%}" for k, v in photo_share.items())
            + ".",
        ]
    return "\n".join(lines)


def photo_mask_share(garment_id: str = "navy-longsleeve", catalog: Catalog | None = None) -> dict[str, float]:
    """On every real test photo: the share of drawn garment pixels inside the person mask."""
    from tryon.engine import TryOnEngine

    folder = ROOT / "tests" / "data" / "photos"
    out = {}
    with TryOnEngine(items=[garment_id], catalog=catalog) as engine:
        for path in sorted(p for p in folder.iterdir() if p.suffix in (".jpg", ".jpeg", ".png")):
            r = engine.process(cv2.imread(str(path)))
            if r.pose is None:
                continue
            drawn = r.garment_alpha > 0.5
            if drawn.any():
                out[path.stem] = float((drawn & (r.pose.mask > 0.5)).sum() / drawn.sum())
    return out
