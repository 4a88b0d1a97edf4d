"""The mirror's interaction logic with synthetic hands, a fake catalog listing and a fake clock."""

import numpy as np
import pytest

from tryon import CATEGORIES
from tryon.mirror.ui import (
    HAND_LANDMARKS,
    Button,
    CatalogEntry,
    DwellOptions,
    DwellTracker,
    Hand,
    Outfit,
    PresenceTimer,
    Wardrobe,
    action_for_key,
    hands_in_display,
    key_name,
    layout_buttons,
)
from tryon.pose.landmarks import NUM_LANDMARKS, L
from tryon.pose.types import Pose

FPS = 30.0


def fake_wardrobe() -> Wardrobe:
    return Wardrobe(
        [
            CatalogEntry("tee-a", "Tee A", "top"),
            CatalogEntry("tee-b", "Tee B", "top", ("red", "green")),
            CatalogEntry("coat", "Coat", "outerwear"),
            CatalogEntry("jeans", "Jeans", "bottom"),
            CatalogEntry("chinos", "Chinos", "bottom"),
            CatalogEntry("sneaker", "Sneaker", "shoes"),
            CatalogEntry("fedora", "Fedora", "hat"),
            CatalogEntry("specs", "Specs", "glasses"),
        ]
    )


# -- slots ---------------------------------------------------------------------------------------
def test_every_catalog_category_can_be_worn_from_the_mirror():
    """An item of any category lands in a slot that has a button, and can be worn alone."""
    entries = [CatalogEntry(f"item-{name}", name.title(), name) for name in CATEGORIES]
    wardrobe = Wardrobe(entries)
    placed = [e.id for s in wardrobe.slots for e in wardrobe.by_slot[s]]
    assert sorted(placed) == sorted(e.id for e in entries)  # none lost, none twice
    for e in entries:
        outfit = Outfit(wardrobe, [e.id])
        assert outfit.specs() == [e.id], e.category
        slot = next(s for s in wardrobe.slots if e in wardrobe.by_slot[s])
        assert f"slot:{slot}" in {b.id for b in layout_buttons(640, 480, outfit)}, e.category


def test_wardrobe_groups_items_by_slot():
    w = fake_wardrobe()
    assert w.slots == ["top", "bottom", "shoes", "head"]
    assert [e.id for e in w.by_slot["top"]] == ["coat", "tee-a", "tee-b"]  # sorted by id
    assert [e.id for e in w.by_slot["head"]] == ["fedora", "specs"]
    assert w.by_slot["neck"] == [] and w.by_slot["wrist"] == []


def test_items_cycle_within_the_active_slot_and_wrap():
    o = Outfit(fake_wardrobe(), ["tee-a", "jeans"])
    assert o.active == "top" and o.specs() == ["tee-a", "jeans"]
    assert o.step_item(+1).item_id == "tee-b"
    assert o.step_item(+1).item_id == "coat"  # wraps around the sorted list
    assert o.step_item(-1).item_id == "tee-b"
    assert o.specs() == ["tee-b", "jeans"]
    o.select_slot("bottom")
    assert o.step_item(+1).item_id == "chinos"  # sorted: chinos, jeans; wraps from jeans
    assert o.specs() == ["tee-b", "chinos"]


def test_slot_cycling_visits_only_slots_with_items():
    o = Outfit(fake_wardrobe(), ["tee-a"])
    seen = []
    for _ in range(5):
        o.cycle_slot(+1)
        seen.append(o.active)
    assert seen == ["bottom", "shoes", "head", "top", "bottom"]
    o.cycle_slot(-1)
    assert o.active == "top"
    assert not o.select_slot("wrist")  # nothing to wear there
    assert o.active == "top"


def test_add_remove_slot_and_colourways():
    o = Outfit(fake_wardrobe(), ["tee-b"])
    assert o.has_variants()
    assert [o.next_variant().spec for _ in range(3)] == ["tee-b:red", "tee-b:green", "tee-b"]
    assert not o.toggle_slot()  # remove the top
    assert o.specs() == []
    assert o.next_variant() is None
    o.select_slot("shoes")
    assert o.toggle_slot() and o.specs() == ["sneaker"]  # add: the slot's first item
    assert not o.has_variants()
    assert o.next_variant().spec == "sneaker"  # no colourways: unchanged


def test_a_full_outfit_and_a_bottom_do_not_clash():
    w = Wardrobe([*fake_wardrobe().entries.values(), CatalogEntry("overall", "Overall", "full-outfit")])
    o = Outfit(w, ["tee-a", "jeans"])
    while o.worn["top"].item_id != "overall":
        o.step_item(+1)
    assert o.specs() == ["overall"]  # the overall took the jeans off
    o.select_slot("bottom")
    o.toggle_slot()
    assert o.specs() == ["chinos"]  # and putting trousers on takes the overall off
    with pytest.raises(ValueError, match="covers the legs"):
        Outfit(w, ["overall", "jeans"])


def test_reset_goes_back_to_the_default_outfit():
    o = Outfit(fake_wardrobe(), ["tee-a", "jeans:"])
    o.step_item(+1)
    o.select_slot("head")
    o.toggle_slot()
    assert not o.is_default()
    o.reset()
    assert o.specs() == ["tee-a", "jeans"] and o.active == "top" and o.is_default()


def test_bad_default_outfits_are_refused():
    w = fake_wardrobe()
    with pytest.raises(KeyError, match="nope"):
        Outfit(w, ["nope"])
    with pytest.raises(ValueError, match="both go in the top slot"):
        Outfit(w, ["tee-a", "coat"])
    with pytest.raises(KeyError, match="colourway"):
        Outfit(w, ["tee-b:purple"])


# -- hands ---------------------------------------------------------------------------------------
def make_pose(points: dict[int, tuple[float, float]], visibility: dict[int, float], size=(640, 480)) -> Pose:
    kp = np.zeros((NUM_LANDMARKS, 2), np.float32)
    vis = np.zeros(NUM_LANDMARKS, np.float32)
    for i, p in points.items():
        kp[i] = p
    for i, v in visibility.items():
        vis[i] = v
    return Pose(
        keypoints_px=kp,
        depth_px=np.zeros(NUM_LANDMARKS, np.float32),
        visibility=vis,
        presence=np.ones(NUM_LANDMARKS, np.float32),
        world_m=np.zeros((NUM_LANDMARKS, 3), np.float32),
        segmentation=None,
        image_size=size,
    )


def hand_pose(side: str, x: float, y: float, vis: float = 0.9, size=(640, 480)) -> Pose:
    """A pose whose ``side`` hand (wrist, index, pinky) is around camera px (x, y)."""
    wrist, index, pinky = HAND_LANDMARKS[side]
    pts = {wrist: (x, y + 20), index: (x - 5, y), pinky: (x + 5, y)}
    return make_pose(pts, dict.fromkeys(pts, vis), size)


def test_hands_are_mirrored_into_display_coordinates():
    pose = hand_pose("left", 100, 200)
    (hand,) = hands_in_display(pose, mirrored=True)
    assert hand.side == "left"
    assert hand.x == pytest.approx(640 - 100) and hand.y == pytest.approx(200)  # x' = width - x
    (raw,) = hands_in_display(pose, mirrored=False)
    assert raw.x == pytest.approx(100)
    (big,) = hands_in_display(pose, display_size=(1280, 960), mirrored=True)
    assert (big.x, big.y) == pytest.approx((1080, 400))


def test_low_visibility_hands_are_ignored_and_the_wrist_is_a_fallback():
    assert hands_in_display(hand_pose("right", 300, 200, vis=0.2)) == []
    wrist, index, pinky = HAND_LANDMARKS["right"]
    pose = make_pose({wrist: (300, 250), index: (290, 200), pinky: (310, 200)}, {wrist: 0.9, index: 0.1, pinky: 0.2})
    (hand,) = hands_in_display(pose, mirrored=True)
    assert (hand.x, hand.y) == pytest.approx((640 - 300, 250))
    assert hands_in_display(None) == []


def test_a_hand_on_the_camera_left_presses_the_button_on_the_display_right():
    """The shopper raises a hand toward the mirror's right column: in the camera image that
    hand is at the left; the mapping must put it over the right-column button."""
    outfit = Outfit(fake_wardrobe(), ["tee-a"])
    buttons = layout_buttons(640, 480, outfit)
    photo = next(b for b in buttons if b.id == "photo")
    bx, by, bw, bh = photo.rect
    assert bx > 320  # right column
    cam_x = 640 - (bx + bw / 2)
    pose = hand_pose("left", cam_x, by + bh / 2)
    dwell = DwellTracker(DwellOptions(dwell_s=1.0))
    pressed = []
    for i in range(40):
        pressed += dwell.update(buttons, hands_in_display(pose, mirrored=True), i / FPS)
    assert pressed == ["photo"]
    unmirrored = DwellTracker(DwellOptions(dwell_s=1.0))
    wrong = []
    for i in range(40):
        wrong += unmirrored.update(buttons, hands_in_display(pose, mirrored=False), i / FPS)
    assert "photo" not in wrong


# -- dwell -----------------------------------------------------------------------------------------
BUTTON = Button("next", (100, 100, 120, 80), "Next")
OVER, AWAY = Hand("right", 160, 140), Hand("right", 400, 400)


def run(dwell, hands_at, t0, t1):
    """Step at 30 fps from t0 to t1 (s); hands_at(t) -> hands. Returns [(t, progress, pressed)]."""
    out = []
    for i in range(round((t1 - t0) * FPS)):
        t = t0 + i / FPS
        pressed = dwell.update([BUTTON], hands_at(t), t)
        out.append((t, dwell.progress("next"), pressed))
    return out


def test_holding_a_hand_presses_once_with_a_rising_ring():
    dwell = DwellTracker(DwellOptions(dwell_s=1.0, cooldown_s=2.0))
    steps = run(dwell, lambda t: [OVER], 0.0, 1.9)
    presses = [t for t, _, p in steps if p]
    assert len(presses) == 1 and 0.97 <= presses[0] <= 1.07
    before = [pr for t, pr, _ in steps if t < presses[0]]
    assert before[0] == 0.0 and all(b >= a for a, b in zip(before, before[1:]))  # rises 0 -> 1
    assert max(before) > 0.9
    assert dwell.progress("next") == 0.0  # latched after the press: no ring


def test_no_double_press_without_leaving_or_cooldown():
    dwell = DwellTracker(DwellOptions(dwell_s=1.0, cooldown_s=2.0))
    steps = run(dwell, lambda t: [OVER], 0.0, 4.5)
    presses = [t for t, _, p in steps if p]
    # The second press comes only after the cooldown (2 s) plus a fresh dwell (1 s).
    assert len(presses) == 2
    assert presses[1] - presses[0] == pytest.approx(3.0, abs=0.1)


def test_leaving_rearms_and_moving_away_resets():
    dwell = DwellTracker(DwellOptions(dwell_s=1.0, cooldown_s=5.0, grace_s=0.25))
    steps = run(dwell, lambda t: [OVER] if t < 1.2 or t >= 1.6 else [AWAY], 0.0, 2.8)
    presses = [t for t, _, p in steps if p]
    assert len(presses) == 2  # left at 1.2 s, came back at 1.6 s: a new press one dwell later
    assert presses[1] == pytest.approx(2.6, abs=0.1)
    # Moving away mid-dwell: after the grace the progress is back to zero.
    dwell = DwellTracker(DwellOptions(dwell_s=1.0, grace_s=0.25))
    steps = run(dwell, lambda t: [OVER] if t < 0.6 or t >= 1.2 else [AWAY], 0.0, 2.5)
    mid = dict((round(t, 3), pr) for t, pr, _ in steps)
    assert mid[round(18 / FPS, 3)] > 0.5
    assert mid[round(33 / FPS, 3)] == 0.0  # 0.5 s away
    presses = [t for t, _, p in steps if p]
    assert len(presses) == 1 and presses[0] == pytest.approx(2.2 - 1 / FPS, abs=0.12)


def test_a_brief_dropout_keeps_the_progress():
    dwell = DwellTracker(DwellOptions(dwell_s=1.0, grace_s=0.25))
    steps = run(dwell, lambda t: [] if 0.5 <= t < 0.6 else [OVER], 0.0, 1.3)
    dropped = [pr for t, pr, _ in steps if 0.5 <= t < 0.6]
    assert all(p > 0.4 for p in dropped)
    presses = [t for t, _, p in steps if p]
    assert len(presses) == 1 and presses[0] <= 1.15


def test_disabled_buttons_and_hands_elsewhere_do_nothing():
    dwell = DwellTracker()
    off = Button("colour", (100, 100, 120, 80), "Colour", enabled=False)
    for i in range(60):
        assert dwell.update([off], [OVER], i / FPS) == []
        assert dwell.update([BUTTON], [AWAY], i / FPS) == []
    assert dwell.progress("colour") == 0.0 and dwell.progress("next") == 0.0


# -- presence --------------------------------------------------------------------------------------
def test_idle_after_a_short_absence_and_one_reset_after_a_long_one():
    p = PresenceTimer(idle_after_s=1.5, reset_after_s=10.0)
    assert p.update(False, 0.0).idle  # nobody yet: the invitation
    assert not p.update(False, 30.0).reset_due  # no shopper was there: nothing to reset
    first = p.update(True, 31.0)
    assert not first.idle and first.arrived
    assert not p.update(True, 32.0).arrived
    assert not p.update(False, 33.4).idle  # gone 1.4 s: not idle yet
    assert p.update(False, 33.6).idle
    resets = [t for t in np.arange(33.6, 60.0, 0.1) if p.update(False, float(t)).reset_due]
    assert len(resets) == 1 and resets[0] == pytest.approx(42.0, abs=0.11)
    back = p.update(True, 61.0)
    assert back.arrived and not back.idle


# -- keys and layout -------------------------------------------------------------------------------
def test_keys_map_to_actions():
    assert action_for_key(key_name(ord("q"))) == "quit"
    assert action_for_key(key_name(27)) == "quit"
    assert action_for_key(key_name(ord("S"))) == "photo"
    assert action_for_key(key_name(32)) == "photo"
    assert action_for_key(key_name(65363)) == "next"  # right arrow (Qt/GTK)
    assert action_for_key(key_name(65361)) == "prev"
    assert action_for_key(key_name(ord("2"))) == "slot:bottom"
    assert action_for_key(key_name(ord("o"))) == "overlay"
    assert key_name(-1) is None and action_for_key(key_name(ord("z"))) is None


@pytest.mark.parametrize("size", [(600, 600), (1280, 720), (720, 1280), (640, 360)])
def test_buttons_fit_the_display_without_overlapping(size):
    w, h = size
    o = Outfit(fake_wardrobe(), ["tee-b"])
    buttons = layout_buttons(w, h, o)
    assert [b.id for b in buttons] == ["slot:top", "slot:bottom", "slot:shoes", "slot:head", *ACTIONS_ORDER]
    for b in buttons:
        x, y, bw, bh = b.rect
        assert 0 <= x and x + bw <= w and 0 <= y and y + bh <= h
        assert bh >= 0.06 * h and bw >= 0.15 * w  # big enough to hit with a hand
    for i, a in enumerate(buttons):
        for b in buttons[i + 1 :]:
            ax, ay, aw, ah = a.rect
            bx, by, bw, bh = b.rect
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a.id, b.id)
    tabs = [b for b in buttons if b.id.startswith("slot:")]
    assert all(b.rect[0] < w / 2 for b in tabs) and all(b.rect[0] > w / 2 for b in buttons if b not in tabs)
    assert [b.id for b in tabs if b.active] == ["slot:top"]
    assert next(b for b in buttons if b.id == "colour").enabled  # tee-b has colourways
    assert next(b for b in buttons if b.id == "toggle").label == "Remove"


ACTIONS_ORDER = ["prev", "next", "colour", "toggle", "photo"]


def test_button_labels_follow_the_outfit():
    o = Outfit(fake_wardrobe(), ["tee-a"])
    o.select_slot("shoes")
    buttons = {b.id: b for b in layout_buttons(640, 480, o)}
    assert buttons["toggle"].label == "Add" and not buttons["colour"].enabled
    assert buttons["slot:shoes"].active and buttons["slot:shoes"].sublabel == "none"
    assert buttons["slot:top"].sublabel == "Tee A"
    assert L.LEFT_INDEX in HAND_LANDMARKS["left"]


def test_script_keys_are_named_as_the_help_writes_them(tmp_path):
    """A script may say "Right", "Esc" or "TAB"; an unknown key is refused by name."""
    import json

    from tryon.mirror.app import load_script

    path = tmp_path / "keys.json"
    path.write_text(json.dumps([{"frame": 2, "key": "Right"}, {"frame": 3, "key": "TAB"}, {"frame": 4, "key": "Esc"}]))
    script = load_script(path)
    assert [action_for_key(k) for f in sorted(script) for k in script[f]] == ["next", "slot-next", "quit"]
    path.write_text(json.dumps([{"frame": 2, "key": "Bogus"}]))
    with pytest.raises(ValueError, match="Bogus"):
        load_script(path)
