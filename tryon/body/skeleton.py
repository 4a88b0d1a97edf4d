"""The rig: a reduced MakeHuman skeleton, the single source of the bone table.

MakeHuman's default skeleton has 163 bones (fingers, toes, face). BlazePose drives far
fewer, so tryon keeps the bones below and merges every other bone's skin weights into
its nearest kept ancestor. Bone names stay MakeHuman's, so MakeHuman poses (BVH) and
weights apply directly. The twist segments (``upperarm01/02``, ``lowerarm01/02``,
``upperleg01/02``, ``lowerleg01/02``) are kept so a twisted limb spreads its twist over
two bones instead of collapsing at one joint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: (bone, parent) in hierarchy order: a parent always comes before its children.
BONES: tuple[tuple[str, str | None], ...] = (
    ("root", None),
    ("spine05", "root"),
    ("spine04", "spine05"),
    ("spine03", "spine04"),
    ("spine02", "spine03"),
    ("spine01", "spine02"),
    ("neck01", "spine01"),
    ("neck02", "neck01"),
    ("neck03", "neck02"),
    ("head", "neck03"),
    *(
        bone
        for side in ("L", "R")
        for bone in (
            (f"clavicle.{side}", "spine01"),
            (f"shoulder01.{side}", f"clavicle.{side}"),
            (f"upperarm01.{side}", f"shoulder01.{side}"),
            (f"upperarm02.{side}", f"upperarm01.{side}"),
            (f"lowerarm01.{side}", f"upperarm02.{side}"),
            (f"lowerarm02.{side}", f"lowerarm01.{side}"),
            (f"wrist.{side}", f"lowerarm02.{side}"),
            (f"pelvis.{side}", "root"),
            (f"upperleg01.{side}", f"pelvis.{side}"),
            (f"upperleg02.{side}", f"upperleg01.{side}"),
            (f"lowerleg01.{side}", f"upperleg02.{side}"),
            (f"lowerleg02.{side}", f"lowerleg01.{side}"),
            (f"foot.{side}", f"lowerleg02.{side}"),
        )
    ),
)

BONE_NAMES: tuple[str, ...] = tuple(name for name, _ in BONES)
BONE_INDEX: dict[str, int] = {name: i for i, name in enumerate(BONE_NAMES)}
NUM_BONES = len(BONES)
PARENTS = np.array([-1 if p is None else BONE_INDEX[p] for _, p in BONES], dtype=np.int64)

#: Identifies this bone table in catalog manifests; bump when BONES changes.
SKELETON_ID = "tryon-makehuman-36"


def reduce_bone(mh_name: str, mh_parent_of: dict[str, str | None]) -> str:
    """The kept bone a MakeHuman bone's weights merge into: itself or its nearest kept ancestor."""
    name: str | None = mh_name
    while name is not None and name not in BONE_INDEX:
        name = mh_parent_of.get(name)
    if name is None:
        raise KeyError(f"MakeHuman bone {mh_name!r} has no ancestor in the reduced skeleton")
    return name


@dataclass(frozen=True)
class Skeleton:
    """The rig in its bind pose, model metres (y up, +z front).

    heads, tails : (J, 3) float64 bind positions of each bone's start and end.
    parents : (J,) int64, -1 for the root. names : bone names (``BONE_NAMES``).
    """

    heads: np.ndarray
    tails: np.ndarray
    parents: np.ndarray = field(default_factory=PARENTS.copy)
    names: tuple[str, ...] = BONE_NAMES

    def index(self, name: str) -> int:
        try:
            return BONE_INDEX[name]
        except KeyError:
            raise KeyError(f"no bone {name!r}; bones are: {', '.join(BONE_NAMES)}") from None

    def head(self, name: str) -> np.ndarray:
        return self.heads[self.index(name)]

    def tail(self, name: str) -> np.ndarray:
        return self.tails[self.index(name)]

    @property
    def axes(self) -> np.ndarray:
        """(J, 3) unit head-to-tail directions in the bind pose."""
        d = self.tails - self.heads
        return d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)

    @property
    def lengths(self) -> np.ndarray:
        return np.linalg.norm(self.tails - self.heads, axis=1)
