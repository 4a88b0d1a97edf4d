"""The mirror's interaction logic: outfit slots, hands as pointers, dwell buttons, presence.

Everything here is pure state and geometry (no window, no engine, no drawing): times come in
as arguments (seconds, any monotonic clock), positions in display pixels. The display shows the
camera image mirrored, so keypoints map to display x as ``width - x``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tryon.catalog.categories import CATEGORIES
from tryon.pose.landmarks import L  # the landmark indices' one source of truth

if TYPE_CHECKING:
    from tryon import Pose

# -- outfit slots ------------------------------------------------------------------------------
#: The outfit's slots, in display order. Which slot takes a category is its record's
#: ``slot`` (:mod:`tryon.catalog.categories`); a top-slot item whose record says
#: ``covers_legs`` (a dress) and a bottom replace each other (as in a fitting room).
SLOTS: tuple[str, ...] = ("top", "bottom", "shoes", "head", "neck", "wrist")
#: The slot of each category, from the category table (for reading; the code asks the record).
CATEGORY_SLOT: dict[str, str] = {name: c.slot for name, c in CATEGORIES.items() if c.slot is not None}


def slot_of(category: str) -> str | None:
    """The outfit slot that takes items of ``category`` (None: no slot, or no such category)."""
    kind = CATEGORIES.get(category)
    return None if kind is None else kind.slot


def covers_legs(category: str) -> bool:
    """Whether an item of ``category`` covers the legs too (a dress, a full outfit)."""
    kind = CATEGORIES.get(category)
    return kind is not None and kind.covers_legs


@dataclass(frozen=True)
class CatalogEntry:
    """What the mirror needs to know of a catalog item: id, display name, category and
    colourway names (the manifest's ``variants``)."""

    id: str
    name: str
    category: str
    variants: tuple[str, ...] = ()

    @property
    def slot(self) -> str | None:
        return slot_of(self.category)


class Wardrobe:
    """The catalog's items by slot (sorted by id within a slot). Items whose category has no
    slot are left out."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self.entries = {e.id: e for e in entries}
        self.by_slot: dict[str, list[CatalogEntry]] = {s: [] for s in SLOTS}
        for e in sorted(self.entries.values(), key=lambda e: e.id):
            if e.slot is not None:
                self.by_slot[e.slot].append(e)

    @classmethod
    def from_garments(cls, garments: Iterable) -> Wardrobe:
        """From loaded :class:`~tryon.Garment` objects (``Catalog.load_all()``)."""
        return cls(CatalogEntry(g.id, g.name, g.category, tuple(g.variants)) for g in garments)

    @property
    def slots(self) -> list[str]:
        """Slots that have at least one item."""
        return [s for s in SLOTS if self.by_slot[s]]

    def __contains__(self, item_id: str) -> bool:
        return item_id in self.entries


@dataclass(frozen=True)
class Choice:
    """One worn item: its id and colourway (None: the item's own colours)."""

    item_id: str
    variant: str | None = None

    @property
    def spec(self) -> str:
        return self.item_id if self.variant is None else f"{self.item_id}:{self.variant}"


def parse_spec(spec: str) -> Choice:
    item_id, _, variant = spec.partition(":")
    return Choice(item_id, variant or None)


class Outfit:
    """What the shopper wears: at most one item per slot, plus the active slot that the
    next/previous/colour/add-remove actions apply to."""

    def __init__(self, wardrobe: Wardrobe, default: Sequence[str] = ()) -> None:
        self.wardrobe = wardrobe
        self.default = self._resolve(default)
        self.worn: dict[str, Choice] = {}
        self.active: str | None = None
        self.reset()

    def _resolve(self, specs: Sequence[str]) -> dict[str, Choice]:
        out: dict[str, Choice] = {}
        for spec in specs:
            choice = parse_spec(spec)
            entry = self.wardrobe.entries.get(choice.item_id)
            if entry is None:
                raise KeyError(f"no item {choice.item_id!r} in the catalog")
            if entry.slot is None:
                raise ValueError(f"item {entry.id!r} ({entry.category}) has no outfit slot")
            if choice.variant is not None and choice.variant not in entry.variants:
                raise KeyError(f"item {entry.id!r} has no colourway {choice.variant!r}")
            if entry.slot in out:
                raise ValueError(f"items {out[entry.slot].item_id!r} and {entry.id!r} both go in the {entry.slot} slot")
            out[entry.slot] = choice
        top = self.wardrobe.entries[out["top"].item_id] if "top" in out else None
        if top is not None and covers_legs(top.category) and "bottom" in out:
            raise ValueError(f"{top.id!r} ({top.category}) covers the legs: leave out {out['bottom'].item_id!r}")
        return out

    def reset(self) -> None:
        """Back to the default outfit, the first worn (or available) slot active."""
        self.worn = dict(self.default)
        slots = [s for s in SLOTS if s in self.worn] or self.wardrobe.slots
        self.active = slots[0] if slots else None

    def specs(self) -> list[str]:
        """Engine item specs (``"id"`` or ``"id:variant"``), in slot order."""
        return [self.worn[s].spec for s in SLOTS if s in self.worn]

    def entry(self, slot: str) -> CatalogEntry | None:
        choice = self.worn.get(slot)
        return None if choice is None else self.wardrobe.entries[choice.item_id]

    def select_slot(self, slot: str) -> bool:
        if slot not in self.wardrobe.slots:
            return False
        self.active = slot
        return True

    def cycle_slot(self, step: int) -> None:
        """Make the next (+1) or previous (-1) slot that has items active."""
        slots = self.wardrobe.slots
        if not slots:
            return
        i = slots.index(self.active) if self.active in slots else -step
        self.active = slots[(i + step) % len(slots)]

    def step_item(self, step: int, slot: str | None = None) -> Choice | None:
        """Wear the next (+1) or previous (-1) item of the slot (wrapping around; an empty
        slot starts at its first or last item). Returns the new choice."""
        slot = slot or self.active
        items = self.wardrobe.by_slot.get(slot or "", [])
        if not items:
            return None
        ids = [e.id for e in items]
        current = self.worn.get(slot)
        if current is None or current.item_id not in ids:
            i = 0 if step > 0 else len(ids) - 1
        else:
            i = (ids.index(current.item_id) + step) % len(ids)
        self.worn[slot] = Choice(ids[i])
        self._undo_clashes(slot)
        return self.worn[slot]

    def _undo_clashes(self, slot: str) -> None:
        """A dress or full outfit and a bottom do not go together: the newer one stays."""
        top = self.entry("top")
        if top is None or not covers_legs(top.category) or "bottom" not in self.worn:
            return
        del self.worn["bottom" if slot == "top" else "top"]

    def toggle_slot(self, slot: str | None = None) -> bool:
        """Remove the slot's item, or add the slot's first item when it is empty.
        Returns whether the slot is worn afterwards."""
        slot = slot or self.active
        if slot in self.worn:
            del self.worn[slot]
            return False
        return self.step_item(+1, slot) is not None

    def next_variant(self, slot: str | None = None) -> Choice | None:
        """The next colourway of the slot's item (the item's own colours count as the first)."""
        slot = slot or self.active
        choice = self.worn.get(slot)
        if choice is None:
            return None
        variants = [None, *self.wardrobe.entries[choice.item_id].variants]
        if len(variants) == 1:
            return choice
        i = variants.index(choice.variant) if choice.variant in variants else 0
        self.worn[slot] = Choice(choice.item_id, variants[(i + 1) % len(variants)])
        return self.worn[slot]

    def has_variants(self, slot: str | None = None) -> bool:
        entry = self.entry(slot or self.active or "")
        return bool(entry and entry.variants)

    def is_default(self) -> bool:
        return self.worn == self.default


# -- hands -------------------------------------------------------------------------------------
#: Each hand's landmarks: (wrist, index knuckle, pinky knuckle).
HAND_LANDMARKS: dict[str, tuple[int, int, int]] = {
    "left": (L.LEFT_WRIST, L.LEFT_INDEX, L.LEFT_PINKY),
    "right": (L.RIGHT_WRIST, L.RIGHT_INDEX, L.RIGHT_PINKY),
}


@dataclass(frozen=True)
class Hand:
    """A hand pointer in display pixels. side : the shopper's own side ("left"/"right")."""

    side: str
    x: float
    y: float


def hands_in_display(
    pose: Pose | None,
    display_size: tuple[int, int] | None = None,
    mirrored: bool = True,
    min_visibility: float = 0.5,
) -> list[Hand]:
    """The shopper's hands as pointers on the display: the mean of the index and pinky
    knuckles that are visible (the wrist when neither is), mirrored (``x' = width - x``)
    and scaled from the camera frame to ``display_size``. Hands below ``min_visibility``
    are ignored."""
    if pose is None:
        return []
    w, h = pose.image_size
    dw, dh = display_size or (w, h)
    sx, sy = dw / w, dh / h
    hands = []
    for side, (wrist, index, pinky) in HAND_LANDMARKS.items():
        ok = [i for i in (index, pinky) if pose.visibility[i] >= min_visibility]
        if not ok:
            ok = [wrist] if pose.visibility[wrist] >= min_visibility else []
        if not ok:
            continue
        x, y = np.mean(pose.keypoints_px[ok], axis=0)
        if mirrored:
            x = w - x
        hands.append(Hand(side, float(x * sx), float(y * sy)))
    return hands


# -- buttons and layout ------------------------------------------------------------------------
@dataclass(frozen=True)
class Button:
    """A dwell button. id : what it does ("prev", "next", "colour", "toggle", "photo",
    "slot:<name>"). rect : (x, y, w, h) display px. label, sublabel : its text. enabled :
    dwelling on a disabled button does nothing. active : drawn highlighted (the active slot)."""

    id: str
    rect: tuple[int, int, int, int]
    label: str
    sublabel: str = ""
    enabled: bool = True
    active: bool = False

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        bx, by, bw, bh = self.rect
        return bx - margin <= x < bx + bw + margin and by - margin <= y < by + bh + margin


@dataclass(frozen=True)
class Layout:
    """Where things go on a display of ``size``: the button columns and the size card."""

    size: tuple[int, int]
    margin: int
    column_w: int
    top: int
    card: tuple[int, int, int, int]


def layout_geometry(width: int, height: int, slots: int = 6) -> Layout:
    """Columns at both sides: the slot tabs left, the actions right (in display coordinates),
    the size card under the slot tabs. Scales with the display; portrait screens get
    relatively wider columns."""
    m = max(6, round(0.022 * min(width, height)))
    frac = 0.2 if width >= height else 0.27
    col = int(np.clip(frac * width, 96, 360))
    top = max(m, round(0.1 * height))
    card_h = round(min(0.3 * height, 1.15 * col))
    card = (m, height - m - card_h, col, card_h)
    return Layout((width, height), m, col, top, card)


def _column(x: int, top: int, bottom: int, count: int, gap: int, max_h: int) -> list[tuple[int, int, int, int]]:
    h = int(min(max_h, (bottom - top - gap * (count - 1)) / max(count, 1)))
    return [(0, top + i * (h + gap), 0, h) for i in range(count)]


ACTIONS = ("prev", "next", "colour", "toggle", "photo")


def layout_buttons(width: int, height: int, outfit: Outfit) -> list[Button]:
    """The buttons for the outfit's state on a ``width`` x ``height`` display: one tab per slot
    that has items (left), and prev / next / colour / remove-add / photo (right)."""
    g = layout_geometry(width, height)
    gap = max(6, g.margin // 2 + 4)
    buttons: list[Button] = []
    slots = outfit.wardrobe.slots
    max_h = round(0.125 * height)
    left_bottom = g.card[1] - gap
    for slot, (_, y, _, h) in zip(slots, _column(0, g.top, left_bottom, len(slots), gap, max_h)):
        entry = outfit.entry(slot)
        buttons.append(
            Button(
                f"slot:{slot}",
                (g.margin, y, g.column_w, h),
                slot.upper(),
                entry.name if entry else "none",
                active=slot == outfit.active,
            )
        )
    worn = outfit.active in outfit.worn if outfit.active else False
    has_items = bool(outfit.active and outfit.wardrobe.by_slot.get(outfit.active))
    specs = [
        ("prev", "Previous", has_items),
        ("next", "Next", has_items),
        ("colour", "Colour", worn and outfit.has_variants()),
        ("toggle", "Remove" if worn else "Add", has_items),
        ("photo", "Photo", True),
    ]
    x = width - g.margin - g.column_w
    rows = _column(0, g.top, height - g.margin, len(specs), gap, max_h)
    for (bid, label, enabled), (_, y, _, h) in zip(specs, rows):
        sub = (outfit.active or "").upper() if bid in ("prev", "next", "toggle") else ""
        buttons.append(Button(bid, (x, y, g.column_w, h), label, sub, enabled=enabled))
    return buttons


# -- dwell ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DwellOptions:
    """dwell_s : how long a hand must stay on a button to press it. cooldown_s : after a
    press, a hand that stays re-arms the button after this long (else it must leave first).
    grace_s : a hand lost for less than this (a missed keypoint) keeps the progress.
    margin_px : buttons catch a hand this far outside their edge."""

    dwell_s: float = 1.0
    cooldown_s: float = 2.0
    grace_s: float = 0.25
    margin_px: float = 0.0


@dataclass
class _DwellState:
    progress: float = 0.0
    last_over: float = -1e9
    latched: bool = False
    pressed_at: float = -1e9


class DwellTracker:
    """Presses buttons that a hand stays over for ``dwell_s``.

    ``update(buttons, hands, now)`` returns the ids pressed in this step. ``progress(id)``
    is the fill of the dwell ring, rising from 0 to 1. A press latches the button: it does
    not fire again until every hand has left it (for longer than ``grace_s``) or until
    ``cooldown_s`` has passed with the hand still there.
    """

    def __init__(self, options: DwellOptions | None = None) -> None:
        self.options = options or DwellOptions()
        self._state: dict[str, _DwellState] = {}
        self._last: float | None = None

    def reset(self) -> None:
        self._state.clear()
        self._last = None

    def progress(self, button_id: str) -> float:
        s = self._state.get(button_id)
        return 0.0 if s is None else min(1.0, s.progress)

    def hovered(self, button_id: str, now: float) -> bool:
        s = self._state.get(button_id)
        return s is not None and now - s.last_over <= self.options.grace_s

    def update(self, buttons: Sequence[Button], hands: Sequence[Hand | tuple[float, float]], now: float) -> list[str]:
        o = self.options
        dt = 0.0 if self._last is None else float(np.clip(now - self._last, 0.0, 0.25))
        self._last = now
        points = [(h.x, h.y) if isinstance(h, Hand) else (float(h[0]), float(h[1])) for h in hands]
        pressed: list[str] = []
        live = set()
        for b in buttons:
            live.add(b.id)
            s = self._state.setdefault(b.id, _DwellState())
            over = b.enabled and any(b.contains(x, y, o.margin_px) for x, y in points)
            if over:
                s.last_over = now
            gone = now - s.last_over > o.grace_s
            if s.latched:
                s.progress = 0.0
                if gone or (over and now - s.pressed_at >= o.cooldown_s):
                    s.latched = False
                    if over:  # re-armed by the cooldown: starts dwelling afresh
                        s.last_over = now
                continue
            if over:
                s.progress += dt / o.dwell_s
                if s.progress >= 1.0:
                    pressed.append(b.id)
                    s.progress = 0.0
                    s.latched = True
                    s.pressed_at = now
            elif gone:
                s.progress = 0.0
        for bid in list(self._state):
            if bid not in live:  # a button that went away forgets its dwell
                del self._state[bid]
        return pressed


# -- presence ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PresenceState:
    """idle : nobody for longer than ``idle_after_s`` (show the invitation). reset_due :
    True once per absence, when nobody has been there for ``reset_after_s`` after a shopper
    was seen (reset the session). arrived : a shopper appeared in this step after idling."""

    idle: bool
    reset_due: bool = False
    arrived: bool = False
    absent_s: float = 0.0


class PresenceTimer:
    """Who is in front of the mirror, over time (a fake clock in tests)."""

    def __init__(self, idle_after_s: float = 1.5, reset_after_s: float = 10.0) -> None:
        self.idle_after_s = idle_after_s
        self.reset_after_s = reset_after_s
        self._last_seen: float | None = None
        self._session = False  # someone was seen since the last reset
        self._idle = True

    def update(self, present: bool, now: float) -> PresenceState:
        arrived = False
        if present:
            arrived = self._idle
            self._last_seen = now
            self._session = True
            self._idle = False
            return PresenceState(False, arrived=arrived)
        absent = float("inf") if self._last_seen is None else now - self._last_seen
        self._idle = absent > self.idle_after_s
        reset = self._session and absent > self.reset_after_s
        if reset:
            self._session = False
        return PresenceState(self._idle, reset_due=reset, absent_s=absent)


# -- keys ----------------------------------------------------------------------------------------
#: Keyboard -> action. Letters are matched case-insensitively; arrows come from waitKeyEx.
KEY_ACTIONS: dict[str, str] = {
    "q": "quit",
    "esc": "quit",
    "right": "next",
    "n": "next",
    "left": "prev",
    "p": "prev",
    "up": "slot-prev",
    "down": "slot-next",
    "tab": "slot-next",
    "c": "colour",
    "r": "toggle",
    "s": "photo",
    "space": "photo",
    "o": "overlay",
    "f": "fullscreen",
    "h": "help",
    "0": "reset",
    **{str(i + 1): f"slot:{s}" for i, s in enumerate(SLOTS)},
}
KEY_HELP: tuple[tuple[str, str], ...] = (
    ("Left / Right, P / N", "previous / next item"),
    ("Up / Down, Tab, 1-6", "choose the slot"),
    ("C", "next colourway"),
    ("R", "remove / add the slot's item"),
    ("S, Space", "photo"),
    ("O", "speed overlay"),
    ("F", "full screen"),
    ("H", "this help"),
    ("0", "reset the outfit"),
    ("Q, Esc", "quit"),
)
#: waitKeyEx codes of the special keys (Qt/GTK on Linux, and Windows).
_SPECIAL = {
    27: "esc",
    9: "tab",
    32: "space",
    65361: "left",
    65362: "up",
    65363: "right",
    65364: "down",
    2424832: "left",
    2490368: "up",
    2555904: "right",
    2621440: "down",
}


def key_name(code: int) -> str | None:
    """A waitKeyEx code as a KEY_ACTIONS name (None for no key)."""
    if code is None or code < 0:
        return None
    if code in _SPECIAL:
        return _SPECIAL[code]
    low = code & 0xFF
    if low in _SPECIAL and code == low:
        return _SPECIAL[low]
    if 32 < low < 127:
        return chr(low).lower()
    return None


def action_for_key(name: str | None, mapping: Mapping[str, str] = KEY_ACTIONS) -> str | None:
    return None if name is None else mapping.get(name.strip().lower())


@dataclass
class FpsMeter:
    """Frames per second over a sliding window of frame times."""

    window: int = 30
    _times: list[float] = field(default_factory=list)

    def tick(self, now: float) -> None:
        self._times.append(now)
        del self._times[: -self.window]

    @property
    def fps(self) -> float:
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return 0.0
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])
