"""Item categories: every fact about a kind of item, one record per category.

A category says how an item follows the body (skinned clothes, or a rigid item riding one
bone), how big it plausibly is (to guess a file's units), where it is drawn among the layers,
whether the person mask clips it, whether it is thin wire, which detail model (face mesh, hand
model) places it, which mirror slot takes it, which words shop staff use for it, and for
clothes, where they hang from and which size chart they use. Every other module reads
:data:`CATEGORIES`; none spells a category's name in a condition.

Adding a category is one :class:`Category` record here plus its fitter: a skinned category
uses the clothes fitter (its record says where it hangs and whether it has sleeves); a rigid
one adds its placement to :data:`tryon.catalog.fit.accessories.ACCESSORY_FITTERS`.

Lengths are metres. Bones are reduced-skeleton names (:data:`tryon.body.skeleton.BONE_NAMES`);
``.L`` is the person's left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tryon.frames import Side

#: How a size is measured for unit guessing: "height" (y extent), "length" (the longest
#: horizontal extent), "width" (x extent), "max" (the largest extent).
SIZE_MEASURES = ("height", "length", "width", "max")
#: Where clothes hang from on the mannequin (see :mod:`tryon.catalog.fit.clothes`): the base
#: of the neck at the back, or the hip joints.
HANG_POINTS = ("nape", "hips")
#: The detail models (:mod:`tryon.details`) an item may need.
DETAIL_MODELS = ("face", "hand")
#: A garment's half of the body: "upper" ends at the hips (its cloth there follows the pelvis,
#: not the thighs, and a MakeHuman outfit gives its upper pieces), "lower" is a MakeHuman
#: outfit's lower pieces; None: the whole garment.
BODY_HALVES = ("upper", "lower")


@dataclass(frozen=True)
class SizeRule:
    """The plausible size of an item's main dimension: ``measure`` (one of SIZE_MEASURES)
    between ``low_m`` and ``high_m`` metres."""

    measure: str
    low_m: float
    high_m: float

    def __post_init__(self) -> None:
        if self.measure not in SIZE_MEASURES:
            raise ValueError(f"size measure must be one of {SIZE_MEASURES}, got {self.measure!r}")
        if not 0.0 < self.low_m < self.high_m:
            raise ValueError(f"size range must be 0 < low < high metres, got {self.low_m}-{self.high_m}")


@dataclass(frozen=True)
class Category:
    """One category's facts.

    name : the catalog's word (manifests, the CLI). noun : the item with its article, for
        messages ("implausible for a pair of glasses").
    skinned : True: deforms with the body (skin weights); False: rides ``bone`` rigidly.
    bone : a rigid item's bone (its left one, for a pair); the part is drawn only while the
        image supports this bone (:func:`tryon.deform.part_visible`). right_bone : a pair's
        right one rides this bone (shoes: each foot its shoe); None: every part rides ``bone``.
    finger : a hand-model finger frame the item rides when the hand model found it (a ring:
        ``"ring_finger"``; the side from ``bone``); its part counts as seen then.
    size : the plausible size for unit guessing.
    layer_bias_m : how far in front of what lies at the same place it is drawn (for the depth
        test only): a shirt over the jeans' waistband, a jacket over the shirt, a necklace,
        watch or bracelet over the collar or cuff it touches. Anything thicker still hides them.
    under_hands_and_hair : the shopper's hands and hair come out in front of it
        (:mod:`tryon.render.keepout`): what is worn under them. Hats sit on the hair; glasses,
        shoes, watches, bracelets and rings are on or around the hands and face themselves.
    clip_to_person : clipped by the person's segmentation mask (clothes, shoes: yes; a hat's
        brim, glasses or jewelry reach outside it).
    thin_wire : wire jewelry, thickened on screen so it never gets thinner than a pixel
        (:func:`tryon.deform.thicken_wire`).
    detail : the detail model that places it (``"face"``: the face mesh; ``"hand"``: the hand
        model, for ``finger``), or None: BlazePose alone.
    slot : the mirror's outfit slot (:mod:`tryon.mirror.ui`). covers_legs : a top-slot item
        that covers the legs too (a dress): it and a bottom replace each other.
    synonyms : words shop staff use for it (lower case, words joined by "-").
    size_chart : the default size chart family (:data:`tryon.sizing.DEFAULT_CHARTS`), or None
        (one size).
    body_half : see BODY_HALVES. sleeves : a garment that may have sleeves (turned onto the
        mannequin's arms when modelled in another pose).
    hang_from, hang_offset_m : clothes hang with their top this far above the hang point
        (one of HANG_POINTS).
    swings : a rigid item whose pieces swing as a particle chain (a necklace, earrings; see
        :mod:`tryon.cloth.chains`). Loose clothes are found by their mesh instead
        (:mod:`tryon.catalog.fit.looseness`).
    hem_swings : a skinned garment whose hem, fronts and sleeve ends swing a little (tops,
        jackets; see :func:`tryon.cloth.tethers.top_part_cloth`).
    """

    name: str
    noun: str
    skinned: bool
    size: SizeRule
    bone: str | None = None
    right_bone: str | None = None
    finger: str | None = None
    layer_bias_m: float = 0.0
    under_hands_and_hair: bool = False
    clip_to_person: bool = False
    thin_wire: bool = False
    detail: str | None = None
    slot: str | None = None
    covers_legs: bool = False
    synonyms: tuple[str, ...] = field(default=())
    size_chart: str | None = None
    body_half: str | None = None
    sleeves: bool = False
    hang_from: str = "nape"
    hang_offset_m: float = 0.0
    swings: bool = False
    hem_swings: bool = False

    def __post_init__(self) -> None:
        if self.skinned == (self.bone is not None):
            raise ValueError(f"category {self.name!r}: a skinned category has no bone, a rigid one needs one")
        if self.detail not in (None, *DETAIL_MODELS):
            raise ValueError(f"category {self.name!r}: detail must be one of {DETAIL_MODELS} or None")
        if (self.detail == "hand") != (self.finger is not None):
            raise ValueError(f"category {self.name!r}: the hand model places an item that rides a finger")
        if self.body_half not in (None, *BODY_HALVES):
            raise ValueError(f"category {self.name!r}: body_half must be one of {BODY_HALVES} or None")
        if self.hang_from not in HANG_POINTS:
            raise ValueError(f"category {self.name!r}: hang_from must be one of {HANG_POINTS}")

    @property
    def is_rigid(self) -> bool:
        return not self.skinned

    @property
    def hand_side(self) -> str | None:
        """The person's hand ("left" / "right") whose hand model places it, or None."""
        if self.detail != "hand" or self.bone is None:
            return None
        return Side.of(self.bone).value


def _clothes(name: str, noun: str, size: SizeRule, **facts) -> Category:
    """Clothes: skinned, clipped to the person, under the hands and hair, in the top slot."""
    defaults = dict(skinned=True, clip_to_person=True, under_hands_and_hair=True, slot="top", size_chart="top")
    return Category(name, noun, size=size, **{**defaults, **facts})


#: Every category, in the order the CLI lists them.
CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        _clothes(
            "top",
            "a top",
            SizeRule("height", 0.25, 0.95),
            layer_bias_m=0.003,
            synonyms=("shirt", "t-shirt", "tshirt", "tee", "blouse", "sweater", "tops"),
            body_half="upper",
            sleeves=True,
            hang_offset_m=-0.01,
            hem_swings=True,
        ),
        _clothes(
            "bottom",
            "a bottom (trousers, skirt)",
            SizeRule("height", 0.25, 1.2),
            slot="bottom",
            synonyms=("pants", "trousers", "jeans", "shorts", "bottoms"),
            size_chart="bottom",
            body_half="lower",
            hang_from="hips",
            hang_offset_m=0.12,
        ),
        _clothes(
            "skirt",
            "a skirt",
            SizeRule("height", 0.25, 1.2),
            slot="bottom",
            synonyms=("skirts", "miniskirt", "maxi-skirt"),
            size_chart="bottom",
            body_half="lower",
            hang_from="hips",
            hang_offset_m=0.12,
        ),
        _clothes(
            "dress",
            "a dress",
            SizeRule("height", 0.6, 1.55),
            covers_legs=True,
            synonyms=("dresses",),
            sleeves=True,
            hang_offset_m=-0.01,
        ),
        _clothes(
            "outerwear",
            "a jacket or coat",
            SizeRule("height", 0.45, 1.25),
            layer_bias_m=0.008,
            synonyms=("jacket", "coat"),
            body_half="upper",
            sleeves=True,
            hang_offset_m=-0.01,
            hem_swings=True,
        ),
        _clothes(
            "full-outfit",
            "a full outfit",
            SizeRule("height", 1.1, 1.95),
            covers_legs=True,
            synonyms=("outfit",),
            sleeves=True,
            hang_offset_m=0.02,
        ),
        Category(
            "shoes",
            "a shoe",
            skinned=False,
            size=SizeRule("length", 0.18, 0.36),
            bone="foot.L",
            right_bone="foot.R",
            clip_to_person=True,
            slot="shoes",
            synonyms=("shoe", "sneaker", "sneakers", "boot", "boots"),
        ),
        Category(
            "hat",
            "a hat",
            skinned=False,
            size=SizeRule("width", 0.16, 0.6),
            bone="head",
            detail="face",
            slot="head",
            synonyms=("cap", "beanie", "hats"),
        ),
        Category(
            "glasses",
            "a pair of glasses",
            skinned=False,
            size=SizeRule("length", 0.11, 0.2),  # width or temple length, whichever way the file lies
            bone="head",
            detail="face",
            slot="head",
            synonyms=("sunglasses", "eyeglasses", "spectacles"),
        ),
        Category(
            "earrings",
            "an earring",
            skinned=False,
            size=SizeRule("max", 0.004, 0.1),
            bone="head",
            under_hands_and_hair=True,
            thin_wire=True,
            swings=True,
            detail="face",
            slot="head",
            synonyms=("earring",),
        ),
        Category(
            "necklace",
            "a necklace",
            skinned=False,
            size=SizeRule("width", 0.08, 0.4),
            bone="spine01",
            layer_bias_m=0.03,
            under_hands_and_hair=True,
            thin_wire=True,
            swings=True,
            slot="neck",
            synonyms=("pendant", "chain", "necklaces"),
        ),
        Category(
            "bracelet",
            "a bracelet",
            skinned=False,
            size=SizeRule("max", 0.045, 0.13),
            bone="lowerarm02.L",
            layer_bias_m=0.02,
            thin_wire=True,
            slot="wrist",
            synonyms=("bangle", "bracelets"),
        ),
        Category(
            "watch",
            "a watch",
            skinned=False,
            size=SizeRule("max", 0.03, 0.3),
            bone="lowerarm02.L",
            layer_bias_m=0.02,
            slot="wrist",
            synonyms=("watches",),
        ),
        Category(
            "ring",
            "a ring",
            skinned=False,
            size=SizeRule("max", 0.012, 0.04),
            bone="wrist.L",
            finger="ring_finger",
            thin_wire=True,
            detail="hand",
            slot="wrist",
            synonyms=("rings",),
        ),
    )
}


def lookup(name: str) -> Category:
    """The record of category ``name``; a ValueError naming the categories if there is none."""
    try:
        return CATEGORIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown category {name!r}; choose one of: {', '.join(CATEGORIES)}") from None


def from_word(word: str) -> str:
    """The category a word names: any case, spaces and "_" read as "-", a synonym mapped
    ("Sneakers" -> "shoes"); the normalised word itself when it names none (for the caller's
    message)."""
    key = "-".join(word.strip().lower().replace("_", " ").split())
    if key in CATEGORIES:
        return key
    return next((c.name for c in CATEGORIES.values() if key in c.synonyms), key)
