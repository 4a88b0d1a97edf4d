import numpy as np
import pytest

from tryon import Catalog
from tryon.body.skeleton import BONE_NAMES
from tryon.catalog.store import CatalogItemError, read_item


def test_bundled_top_is_a_rigged_top():
    top = Catalog().get("navy-longsleeve")
    assert top.category == "top" and not top.is_rigid
    part = top.parts[0]
    assert np.allclose(part.skin.weights.sum(1), 1, atol=1e-5)
    # a top rides the spine, clavicles and arms, its hem the pelvis: nothing rides the legs
    legs = [i for i, n in enumerate(BONE_NAMES) if n.startswith(("upperleg", "lowerleg", "foot"))]
    assert (part.skin.weights * np.isin(part.skin.bones, legs)).sum() == 0
    root = BONE_NAMES.index("root")
    assert (part.skin.weights * (part.skin.bones == root)).sum() > 10  # the hem follows the pelvis
    y = part.positions[:, 1]
    assert y.min() > -0.05 and y.max() < 0.65  # from the hips to the neck, metres
    assert top.materials[0].base_color[2] > top.materials[0].base_color[0]  # navy: more blue than red


def test_item_roundtrip_and_atomic_store(tmp_path):
    cat = Catalog()
    item = cat.get("white-tee")
    dest = Catalog(tmp_path)
    folder = dest.store(item, [], {"licence": "CC0"})
    again = dest.get("white-tee")
    assert np.array_equal(again.parts[0].faces, item.parts[0].faces)
    assert np.allclose(again.parts[0].positions, item.parts[0].positions)
    assert dest.manifest("white-tee")["licence"] == "CC0"
    with pytest.raises(FileExistsError):
        dest.store(item, [])
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != ".lock")  # the lock file stays
    assert leftovers == ["white-tee"]  # no temp leftovers

    (folder / "geometry.npz").write_bytes(b"broken")
    with pytest.raises(CatalogItemError):
        read_item(folder)
    items, warnings = Catalog(tmp_path).load_all()
    assert items == [] and "white-tee" in warnings[0]


def test_unknown_item_names_the_catalog():
    with pytest.raises(KeyError, match="navy-longsleeve"):
        Catalog().get("no-such-item")
