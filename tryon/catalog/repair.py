"""Validation and repair every upload gets after loading, whatever its format.

Empty meshes, NaN coordinates, faces referring to missing vertices, degenerate and duplicate
faces, the triangle budget (decimation by vertex clustering when allowed), missing or broken
normals and UVs: :func:`validate_and_repair`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tryon.catalog.assets import (
    BadCoordinatesError,
    BufferMismatchError,
    EmptyMeshError,
    ImportLimits,
    RawAsset,
    RawMaterial,
    RawPart,
    TooManyTrianglesError,
)
from tryon.catalog.formats.safety import DEFAULT_LIMITS
from tryon.geometry import vertex_normals

#: A face whose area is below this fraction of the squared bounding-box diagonal is degenerate.
DEGENERATE_AREA_REL = 1e-12


def _drop_unused(part: RawPart, faces: np.ndarray) -> RawPart:
    """The part with only the vertices ``faces`` (indices into the part's vertices) use."""
    used, inverse = np.unique(faces, return_inverse=True)
    return RawPart(
        positions=np.asarray(part.positions, dtype=np.float64)[used],
        faces=inverse.reshape(-1, 3).astype(np.int64),
        normals=None if part.normals is None else np.asarray(part.normals)[used].astype(np.float32),
        uvs=None if part.uvs is None else np.asarray(part.uvs)[used].astype(np.float32),
        material=part.material,
        name=part.name,
    )


def _clean_faces(faces: np.ndarray, positions: np.ndarray, min_area: float) -> tuple[np.ndarray, int, int]:
    """(faces without degenerate and duplicate ones, number degenerate, number duplicate)."""
    rep = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    p = positions
    area = 0.5 * np.linalg.norm(np.cross(p[faces[:, 1]] - p[faces[:, 0]], p[faces[:, 2]] - p[faces[:, 0]]), axis=1)
    degenerate = rep | ~(area > min_area)
    faces = faces[~degenerate]
    n_dup = 0
    if len(faces):
        _, first = np.unique(np.sort(faces, axis=1), axis=0, return_index=True)
        n_dup = len(faces) - len(first)
        faces = faces[np.sort(first)]
    return faces, int(degenerate.sum()), n_dup


def _cluster(part: RawPart, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertex clustering on a grid of ``cells`` along the longest side (and across the UV range):
    (cluster id per vertex (V,), surviving faces (F', 3) in cluster ids)."""
    p = part.positions
    lo = p.min(axis=0)
    size = float((p.max(axis=0) - lo).max()) / cells or 1.0
    keys = [np.floor((p - lo) / size).astype(np.int64)]
    if part.uvs is not None:
        uv = np.asarray(part.uvs, dtype=np.float64)
        uv_lo = uv.min(axis=0)
        uv_size = float((uv.max(axis=0) - uv_lo).max()) / cells or 1.0
        keys.append(np.floor((uv - uv_lo) / uv_size).astype(np.int64))  # keeps UV islands apart
    _, cid = np.unique(np.concatenate(keys, axis=1), axis=0, return_inverse=True)
    cid = cid.reshape(-1)
    f = cid[part.faces]
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
    if len(f):
        _, first = np.unique(np.sort(f, axis=1), axis=0, return_index=True)
        f = f[np.sort(first)]
    return cid, f


def decimate_part(part: RawPart, target: int) -> RawPart | None:
    """Vertex-clustering decimation of one part to at most ``target`` triangles (None if it vanishes).

    The finest grid that meets the target is found by bisection; each cluster becomes one vertex at
    its members' mean position, mean UV and mean (renormalised) normal. UV islands are clustered
    apart so texture seams survive.
    """
    if len(part.faces) <= target:
        return part
    if target < 1:
        return None
    lo, hi = 1, max(2, 4 * int(np.ceil(np.sqrt(len(part.faces)))))
    cid, f = _cluster(part, hi)
    best = (cid, f) if len(f) <= target else None
    if best is None:
        while lo < hi - 1:
            mid = (lo + hi) // 2
            cid, f = _cluster(part, mid)
            if len(f) <= target:
                lo, best = mid, (cid, f)
            else:
                hi = mid
        if best is None:
            cid, f = _cluster(part, 1)
            best = (cid, f) if len(f) <= target else None
    if best is None or not len(best[1]):
        return None
    cid, f = best
    n = int(cid.max()) + 1
    counts = np.bincount(cid, minlength=n).astype(np.float64)[:, None]

    def mean(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        return np.stack([np.bincount(cid, weights=a[:, c], minlength=n) for c in range(a.shape[1])], 1) / counts

    normals = None
    if part.normals is not None:
        normals = mean(part.normals)
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-30)
    merged = RawPart(
        positions=mean(part.positions),
        faces=f,
        normals=None if normals is None else normals.astype(np.float32),
        uvs=None if part.uvs is None else mean(part.uvs).astype(np.float32),
        material=part.material,
        name=part.name,
    )
    return _drop_unused(merged, f)


def validate_and_repair(asset: RawAsset, limits: ImportLimits = DEFAULT_LIMITS) -> RawAsset:
    """The checks every format gets after loading; returns a repaired copy with new arrays.

    Raises :class:`EmptyMeshError` (no faces, or none left after repair), :class:`BufferMismatchError`
    (faces referring to missing vertices, attribute arrays of the wrong shape),
    :class:`BadCoordinatesError` (NaN or infinite coordinates on vertices that faces use) and
    :class:`TooManyTrianglesError` (over ``limits.max_triangles`` unless ``limits.allow_decimate``).

    Repairs, each with a warning in the returned asset's ``warnings`` (the input's warnings first;
    the input asset is not modified): degenerate faces (a repeated corner, or an area below
    ``DEGENERATE_AREA_REL`` x the squared bounding-box diagonal) and duplicate faces (the same
    vertices in any order) removed; parts left empty dropped (with their ``variants`` entries);
    invalid UVs zeroed; decimation to the budget when allowed. Silently: unused vertices dropped,
    missing or zero normals recomputed (area-weighted), all normals unit length. Positions stay
    (V, 3) float64 in file units; normals (V, 3) and uvs (V, 2) become float32.
    """
    name = Path(asset.files[0]).name if asset.files else "the asset"
    warnings = list(asset.warnings)
    parts = list(asset.parts)
    for i, p in enumerate(parts):
        label = f"part {i} ('{p.name}')" if p.name else f"part {i}"
        pos, faces = np.asarray(p.positions), np.asarray(p.faces)
        if pos.ndim != 2 or pos.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
            raise BufferMismatchError(
                f"{name}: {label} has positions {pos.shape} and faces {faces.shape}; expected (V, 3) and (F, 3)."
            )
        for attr, width in (("normals", 3), ("uvs", 2)):
            arr = getattr(p, attr)
            if arr is not None and np.asarray(arr).shape != (len(pos), width):
                raise BufferMismatchError(
                    f"{name}: {label} has {np.asarray(arr).shape} {attr} for {len(pos)} vertices. Re-export it."
                )
    total = sum(len(p.faces) for p in parts)
    if total == 0:
        raise EmptyMeshError(
            f"{name} has no faces (0 triangles): there is no surface to show. Export the garment as a mesh with faces."
        )
    for i, p in enumerate(parts):
        faces = np.asarray(p.faces)
        if len(faces) and (faces.min() < 0 or faces.max() >= len(p.positions)):
            bad = int(faces.max()) if faces.max() >= len(p.positions) else int(faces.min())
            raise BufferMismatchError(
                f"{name}: part {i} ('{p.name}') has faces that use vertex {bad} but it has only "
                f"{len(p.positions)} vertices. The file is damaged: re-export it."
            )
    n_bad = n_used = 0
    for p in parts:
        used = np.unique(np.asarray(p.faces))
        n_used += len(used)
        n_bad += int((~np.isfinite(np.asarray(p.positions, dtype=np.float64)[used]).all(axis=1)).sum())
    if n_bad:
        raise BadCoordinatesError(
            f"{name}: {n_bad} of {n_used} vertices have NaN or infinite coordinates, so the mesh cannot be "
            "placed. Fix or delete those vertices in your 3D tool and re-export."
        )
    used_pts = np.concatenate(
        [np.asarray(p.positions, dtype=np.float64)[np.unique(np.asarray(p.faces))] for p in parts if len(p.faces)]
    )
    min_area = DEGENERATE_AREA_REL * float(((used_pts.max(axis=0) - used_pts.min(axis=0)) ** 2).sum())
    repaired: list[RawPart] = []
    keep_idx: list[int] = []
    n_degenerate = n_duplicate = 0
    for i, p in enumerate(parts):
        part = RawPart(
            positions=np.asarray(p.positions, dtype=np.float64),
            faces=np.asarray(p.faces, dtype=np.int64).reshape(-1, 3),
            normals=None if p.normals is None else np.asarray(p.normals),
            uvs=None if p.uvs is None else np.asarray(p.uvs),
            material=p.material,
            name=p.name,
        )
        faces, n_deg, n_dup = _clean_faces(part.faces, part.positions, min_area)
        n_degenerate += n_deg
        n_duplicate += n_dup
        if not len(faces):
            if len(part.faces):
                warnings.append(f"part '{p.name or i}' had only broken faces and was removed")
            continue
        repaired.append(_drop_unused(part, faces))
        keep_idx.append(i)
    if n_degenerate:
        warnings.append(f"removed {n_degenerate} degenerate faces (zero area or a repeated corner)")
    if n_duplicate:
        warnings.append(f"removed {n_duplicate} duplicate faces (the same corners as another face)")
    if not repaired:
        raise EmptyMeshError(
            f"{name}: all {total} faces are broken (zero area, a repeated corner or duplicates): nothing is left "
            "to show. Check the export settings (e.g. the scale) in your 3D tool and re-export."
        )
    variants = {
        k: [v[i] if i < len(v) else repaired[j].material for j, i in enumerate(keep_idx)]
        for k, v in asset.variants.items()
    }
    count = sum(len(p.faces) for p in repaired)
    if count > limits.max_triangles:
        if not limits.allow_decimate:
            raise TooManyTrianglesError(
                f"{name} has {count:,} triangles, over the real-time budget of {limits.max_triangles:,} per item. "
                "Simplify it in your 3D tool, or re-run with --decimate to reduce it automatically."
            )
        decimated: list[RawPart] = []
        kept: list[int] = []
        for j, p in enumerate(repaired):
            d = decimate_part(p, int(limits.max_triangles * len(p.faces) // count))
            if d is not None:
                decimated.append(d)
                kept.append(j)
        if not decimated:
            raise TooManyTrianglesError(
                f"{name} has {count:,} triangles and could not be reduced to the budget of "
                f"{limits.max_triangles:,}. Simplify it in your 3D tool."
            )
        after = sum(len(p.faces) for p in decimated)
        warnings.append(
            f"decimated from {count:,} to {after:,} triangles to fit the budget of {limits.max_triangles:,} "
            "(vertex clustering: check the look)"
        )
        if len(kept) < len(repaired):
            warnings.append(f"{len(repaired) - len(kept)} small parts vanished in the decimation")
        variants = {k: [v[j] for j in kept] for k, v in variants.items()}
        repaired = decimated
    materials = list(asset.materials)
    default_mat: int | None = None
    for p in repaired:
        if not 0 <= p.material < len(materials):
            if default_mat is None:
                default_mat = len(materials)
                materials.append(RawMaterial(name="default"))
                warnings.append(f"part '{p.name}' referred to a material that does not exist; using plain grey")
            p.material = default_mat
    for k, v in variants.items():
        variants[k] = [m if 0 <= m < len(materials) else p.material for m, p in zip(v, repaired)]
    for p in repaired:
        if p.uvs is not None:
            uvs = np.asarray(p.uvs, dtype=np.float32)
            bad = ~np.isfinite(uvs).all(axis=1)
            if bad.any():
                uvs = uvs.copy()
                uvs[bad] = 0.0
                warnings.append(f"part '{p.name}': {int(bad.sum())} invalid (NaN) texture coordinates set to 0")
            p.uvs = uvs
        computed = vertex_normals(p.positions, p.faces, np.float64)
        if p.normals is None:
            p.normals = computed.astype(np.float32)
            continue
        n = np.asarray(p.normals, dtype=np.float64)
        length = np.linalg.norm(n, axis=1)
        bad = ~np.isfinite(length) | (length < 1e-12)
        n = np.where(bad[:, None], computed, n / np.where(bad, 1.0, length)[:, None])
        if bad.any():
            warnings.append(f"part '{p.name}': recomputed {int(bad.sum())} invalid normals")
        p.normals = n.astype(np.float32)
    return RawAsset(
        parts=repaired,
        materials=materials,
        variants=variants,
        source_format=asset.source_format,
        units_hint=asset.units_hint,
        up_axis_hint=asset.up_axis_hint,
        warnings=warnings,
        files=list(asset.files),
        credits=dict(asset.credits),
    )


def require_finite(garment) -> None:
    """Raise :class:`BadCoordinatesError` if anything numeric a catalog item stores is NaN or
    infinite: every part's positions, normals, uvs and skin weights, the materials' colours,
    metalness and roughness, the attachment's offset. The catalog runs this before it writes an
    item (whatever path the numbers came by: the file, ``.mhclo`` maths, fit overrides, refit)."""
    bad: list[str] = []
    for i, p in enumerate(garment.parts):
        arrays = {"positions": p.positions, "normals": p.normals, "uvs": p.uvs}
        if p.skin is not None:
            arrays["skin weights"] = p.skin.weights
        for what, a in arrays.items():
            if a is not None and not np.isfinite(np.asarray(a, dtype=np.float64)).all():
                bad.append(f"part {i} {what}")
    for k, m in enumerate(garment.materials):
        values = np.array([*np.asarray(m.base_color, dtype=np.float64).ravel(), m.metallic, m.roughness])
        if not np.isfinite(values).all():
            bad.append(f"material {k} ('{m.name}')")
    if garment.attachment is not None and not np.isfinite(np.asarray(garment.attachment.offset, float)).all():
        bad.append("the attachment offset")
    if bad:
        raise BadCoordinatesError(
            f"{garment.id}: NaN or infinite values in {', '.join(bad[:4])}{' ...' if len(bad) > 4 else ''}; "
            "nothing was stored. Check the file's numbers and the fit options (--scale, --offset, --rotate)."
        )
