"""Global scalp photos: synthetic heads with exact truth, and the real development photos when present."""

import math
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from trichotrack.measure.scalp import (
    UNCERTAIN_MARGIN,
    VIEWS,
    ScalpResult,
    _background_above,
    _body_below,
    _lower_border_contact,
    _mirror_symmetry_difference,
    _narrowing_downwards,
    find_head,
    find_orientation,
    measure_scalp,
    render_scalp_overlay,
    rephotography_errors,
    rephotography_sd,
    scalp_mask,
    simulate_rephotography,
)
from trichotrack.synth.scalp import render_head

REPO = Path(__file__).resolve().parents[2]


def real_data() -> Path | None:
    candidates = []
    if os.environ.get("TRICHOTRACK_SHARED_DATA"):
        candidates.append(Path(os.environ["TRICHOTRACK_SHARED_DATA"]) / "scalp-views-dev")
    candidates.append(REPO.parent / "shared" / "data" / "scalp-views-dev")
    return next((c for c in candidates if (c / "labels.csv").is_file()), None)


def truth_in_roi(render, result):
    """Exact visible fraction of the render inside the ROI the measurement used."""
    roi = cv2.resize(result.roi.astype(np.uint8), render.image.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    return render.visible_fraction(roi > 0)


@pytest.fixture(scope="module")
def stage5():
    return render_head(11, norwood_stage=5)


@pytest.mark.parametrize(
    ("skin", "hair"),
    [
        ("light", "dark_brown"),
        ("dark", "black"),
        ("very_light", "grey"),
        ("brown", "black"),
        ("tan", "brown"),
    ],
)
@pytest.mark.parametrize("stage", [1, 4, 7])
def test_fraction_matches_exact_truth_for_skin_and_hair_colours(stage, skin, hair):
    render = render_head(100 * stage + len(skin), norwood_stage=stage, skin=skin, hair=hair)
    result = measure_scalp(render.image, view="top")
    assert result.usable, result.problems
    assert result.scalp_visible_fraction == pytest.approx(truth_in_roi(render, result), abs=0.1)


def test_fraction_rises_with_norwood_stage():
    fractions = [
        measure_scalp(render_head(7 + s, norwood_stage=s).image, view="top").scalp_visible_fraction
        for s in range(1, 8)
    ]
    assert fractions[0] < 0.05
    assert fractions[6] > 0.9
    assert np.all(np.diff(fractions) > -0.03)


def test_result_records_params_and_version(stage5):
    result = measure_scalp(stage5.image, view="top", max_scalp_texture_pct=2.5)
    assert isinstance(result, ScalpResult)
    assert result.algorithm == "trichotrack.scalp" and result.version
    assert result.params["max_scalp_texture_pct"] == 2.5 and result.params["view"] == "top"
    assert result.scalp.shape == result.roi.shape == result.work_image.shape[:2]
    assert result.hairline is None and result.part_width_mm is None


def test_input_not_modified(stage5):
    image = stage5.image.copy()
    measure_scalp(image, view="front")
    scalp_mask(image)
    simulate_rephotography(image, seed=1)
    assert np.array_equal(image, stage5.image)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_dtypes_give_the_same_answer(stage5, dtype):
    image = stage5.image
    if dtype == np.uint16:
        converted = image.astype(np.uint16) * 257
    elif dtype in (np.float32, np.float64):
        converted = image.astype(dtype) / 255.0
    else:
        converted = image
    expected = measure_scalp(image, view="top").scalp_visible_fraction
    assert measure_scalp(converted, view="top").scalp_visible_fraction == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_top_view_fraction_does_not_depend_on_rotation_or_mirroring(stage5, turns):
    expected = measure_scalp(stage5.image, view="top").scalp_visible_fraction
    turned = np.rot90(stage5.image, turns)
    assert measure_scalp(turned, view="top").scalp_visible_fraction == pytest.approx(expected, abs=0.03)
    mirrored = turned[:, ::-1]
    assert measure_scalp(mirrored, view="top").scalp_visible_fraction == pytest.approx(expected, abs=0.03)


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_orientation_of_a_front_view_is_found_from_the_picture(turns):
    render = render_head(21, view="front", hairline_depth_fraction=0.3)
    turned = np.rot90(render.image, turns)
    found = find_orientation(turned, view="front")
    assert (turns + found) % 4 == 0
    assert find_orientation(turned, view="top") == 0


def test_orientation_is_right_for_most_renders_and_all_turns():
    """The cues are statistical (skin low, light from above, hair high): most renders, not all."""
    right = 0
    for seed in range(8):
        image = render_head(100 + seed, view="front", hairline_depth_fraction=0.3).image
        right += sum(
            (turns + find_orientation(np.rot90(image, turns), view="front")) % 4 == 0 for turns in range(4)
        )
    assert right >= 0.7 * 8 * 4  # 24 of 32; the misses are renders on a skin-red background


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_front_view_measures_are_the_same_whichever_way_the_photo_arrives(turns):
    image = render_head(21, view="front", hairline_depth_fraction=0.3).image
    upright = measure_scalp(image, view="front")
    assert upright.quarter_turns == 0
    turned = measure_scalp(np.rot90(image, turns), view="front")
    assert (turns + turned.quarter_turns) % 4 == 0
    assert turned.scalp_visible_fraction == pytest.approx(upright.scalp_visible_fraction, abs=0.02)
    for name in ("midline_depth_fraction", "left_temple_depth_fraction", "recession_index"):
        assert getattr(turned.hairline, name) == pytest.approx(getattr(upright.hairline, name), abs=0.03), (
            name
        )


def test_orientation_does_not_depend_on_the_turn_the_photo_arrived_in():
    """The cues are computed once and scored for every turn: a render gets one answer however it is
    turned (right or wrong), so an error is a property of the picture, not of its rotation."""
    for seed in range(100, 106):
        image = render_head(seed, view="front", hairline_depth_fraction=0.3).image
        upright = {(turns + find_orientation(np.rot90(image, turns), view="front")) % 4 for turns in range(4)}
        assert len(upright) == 1, seed


def _phantom_profile(*, neck: bool):
    """A head seen from the side on a plain blue-grey wall: skin-coloured head, dark hair on top, and
    (if `neck`) a neck reaching the lower border. Upright."""
    image = np.full((240, 240, 3), (150, 170, 190), np.uint8)
    cv2.ellipse(image, (120, 125), (60, 65), 0, 0, 360, (205, 150, 120), -1)
    cv2.ellipse(image, (120, 118), (62, 62), 0, 180, 360, (40, 30, 25), -1)
    if neck:
        cv2.rectangle(image, (92, 180), (148, 239), (200, 145, 115), -1)
    rng = np.random.default_rng(0)
    return np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_side_view_is_set_upright_by_the_neck(turns):
    image = _phantom_profile(neck=True)
    found, margin = find_orientation(np.rot90(image, turns), view="left", return_margin=True)
    assert (turns + found) % 4 == 0
    assert margin >= UNCERTAIN_MARGIN
    # Without the neck only weak cues are left (hair on top, nothing below): right, or said to be uncertain.
    found, margin = find_orientation(
        np.rot90(_phantom_profile(neck=False), turns), view="left", return_margin=True
    )
    assert (turns + found) % 4 == 0 or margin < UNCERTAIN_MARGIN


def _phantom_round_head():
    """A head seen from behind with nothing that tells up from down: a skin disc in a ring of dark hair
    on a plain wall, the same under every quarter turn."""
    image = np.full((240, 240, 3), (150, 170, 190), np.uint8)
    cv2.circle(image, (120, 120), 80, (40, 30, 25), -1)
    cv2.circle(image, (120, 120), 60, (205, 150, 120), -1)
    rng = np.random.default_rng(0)
    return np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("view", ["front", "back", "left", "right"])
def test_a_head_without_up_or_down_is_reported_as_orientation_uncertain(view):
    image = _phantom_round_head()
    _, margin = find_orientation(image, view=view, return_margin=True)
    assert margin < UNCERTAIN_MARGIN
    result = measure_scalp(image, view=view)
    assert not result.usable
    assert any(p.startswith("orientation uncertain") for p in result.problems)
    assert result.params["orientation_margin"] == pytest.approx(margin)
    # Given by the caller, the orientation is not in doubt; the top view has no up and down to find.
    assert not any("orientation" in p for p in measure_scalp(image, view=view, orientation=0).problems)


def test_top_view_orientation_is_never_uncertain():
    image = _phantom_round_head()
    assert find_orientation(image, view="top", return_margin=True) == (0, math.inf)
    assert not any("orientation" in p for p in measure_scalp(image, view="top").problems)


def _phantom_scene():
    """Upright: a plain wall above and beside a skin-coloured head, a red shirt along the lower border, in
    8-bit CIE Lab."""
    image = np.full((120, 120, 3), (150, 170, 190), np.uint8)
    cv2.ellipse(image, (60, 55), (30, 36), 0, 0, 360, (205, 150, 120), -1)
    cv2.rectangle(image, (10, 100), (110, 119), (170, 30, 40), -1)
    return cv2.cvtColor(image, cv2.COLOR_RGB2Lab).astype(np.float32)


def test_the_wall_is_above_and_the_body_below():
    lab = _phantom_scene()
    assert _background_above(lab) > 0.5
    assert _background_above(lab[::-1]) < -0.5
    assert _body_below(lab) > 0.5
    assert _body_below(lab[::-1]) < -0.5
    # On a plain picture neither cue says anything.
    plain = np.full((120, 120, 3), 100.0, np.float32)
    assert _background_above(plain) == 0.0 and _body_below(plain) == 0.0


def test_a_side_view_head_reaches_the_lower_border_only():
    head = np.zeros((100, 100), bool)
    cv2.circle(head.view(np.uint8), (50, 45), 30, 1, -1)  # the head, clear of every border
    head[60:, 35:65] = True  # the neck, down to the lower border
    assert _lower_border_contact(head) == pytest.approx(0.3)
    assert _lower_border_contact(head[::-1]) == pytest.approx(-0.3)
    assert _lower_border_contact(np.rot90(head)) == pytest.approx(-0.3)
    assert _lower_border_contact(np.zeros((100, 100), bool)) == 0.0


def test_mirror_symmetry_tells_the_vertical_axis():
    # A symmetric egg: mirror-symmetric left-right, not up-down.
    image = np.zeros((64, 64), np.float32)
    cv2.ellipse(image, (32, 26), (22, 18), 0, 0, 360, 1.0, -1)
    cv2.ellipse(image, (32, 40), (12, 16), 0, 0, 360, 1.0, -1)
    assert _mirror_symmetry_difference(image) > 0.1
    assert _mirror_symmetry_difference(image.T) < -0.1
    assert _mirror_symmetry_difference(np.zeros((64, 64), np.float32)) == pytest.approx(0.0)


def test_a_head_narrowing_downwards_scores_upright():
    head = np.zeros((100, 100), bool)
    rr, cc = np.ogrid[0:100, 0:100]
    head |= ((rr - 40) / 30) ** 2 + ((cc - 50) / 40) ** 2 < 1  # cranium
    head |= ((rr - 70) / 25) ** 2 + ((cc - 50) / 20) ** 2 < 1  # face, narrowing to the chin
    assert _narrowing_downwards(head) > 0.2
    assert _narrowing_downwards(head[::-1]) < -0.2
    assert _narrowing_downwards(np.zeros((100, 100), bool)) == 0.0


def test_front_view_hairline_depth_and_recession():
    results = {}
    for depth in (0.12, 0.3, 0.45):
        render = render_head(31, view="front", hairline_depth_fraction=depth)
        # Upright and said so: this render's dark red background fools the orientation cues (see below).
        result = measure_scalp(render.image, view="front", orientation=0)
        assert result.quarter_turns == 0
        results[depth] = result.hairline
        assert result.hairline.midline_depth_fraction == pytest.approx(depth, abs=0.1)
        assert result.hairline.hairline_rc.shape[1] == 2
    assert results[0.12].recession_index > results[0.3].recession_index > results[0.45].recession_index


def test_part_width_in_mm_only_with_a_scale():
    render = render_head(41, view="part", part_width_px=30)
    with_scale = measure_scalp(render.image, view="part", mm_per_px=0.05, orientation=0)
    assert with_scale.part_width_mm == pytest.approx(30 * 0.05, abs=0.4)
    assert measure_scalp(render.image, view="part", orientation=0).part_width_mm is None
    narrow = measure_scalp(render_head(41, view="part", part_width_px=18).image, view="part", orientation=0)
    assert narrow.part_width_px < with_scale.part_width_px


def test_head_is_found_where_it_is():
    render = render_head(51, norwood_stage=3)
    head = find_head(render.image)
    scale = 320 / 480
    assert head.found
    assert head.center_rc[0] == pytest.approx(render.head_center_rc[0] * scale, abs=12)
    assert head.center_rc[1] == pytest.approx(render.head_center_rc[1] * scale, abs=12)
    assert head.radius_px == pytest.approx(np.sqrt(np.prod(render.head_semi_axes_px)) * scale, rel=0.2)


def test_scalp_mask_matches_exact_truth(stage5):
    mask = scalp_mask(stage5.image)
    assert mask.shape == stage5.image.shape[:2]
    agree = (mask == stage5.scalp_visible)[stage5.head].mean()
    assert agree > 0.85


def _skin_with_pores(lightness, pore_depth, seed=1):
    """A flat patch of skin (CIE L* `lightness`) whose right half carries dark pores, the left half
    smooth: the grain of a bald, tanned scalp."""
    rng = np.random.default_rng(seed)
    lab = np.zeros((320, 320, 3), np.float32)
    lab[..., 0], lab[..., 1], lab[..., 2] = lightness, 14.0, 22.0
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * 255.0
    pores = np.zeros((320, 320), np.float32)
    rows, cols = rng.integers(0, 320, (2, 4000))
    pores[rows, cols // 2 + 160] = 1.0
    pores = cv2.GaussianBlur(pores, (0, 0), 0.7) * pore_depth
    noise = rng.normal(0.0, 1.0, (320, 320)).astype(np.float32)
    return np.clip(rgb - (pores - noise)[..., None], 0, 255).astype(np.uint8)


@pytest.mark.parametrize("lightness", [35, 70])
def test_pores_of_dark_or_tanned_skin_are_not_read_as_hair(lightness):
    # With the 0.2.0 texture floor (5) the pores of the dark patch read as hair on 15 % of it.
    grainy = scalp_mask(_skin_with_pores(lightness, pore_depth=45))[:, 170:]
    assert grainy.mean() > 0.92
    assert scalp_mask(_skin_with_pores(35, 45), texture_floor_lightness=5.0)[:, 170:].mean() < 0.9


def test_blank_picture_is_not_usable():
    result = measure_scalp(np.full((200, 200, 3), 128, np.uint8), view="top")
    assert not result.usable
    assert any("no head" in p for p in result.problems)


def test_blurred_photo_is_not_usable(stage5):
    blurred = cv2.GaussianBlur(stage5.image, (0, 0), 12)
    result = measure_scalp(blurred, view="top")
    assert not result.usable
    assert any("blurred" in p for p in result.problems)


def test_dark_photo_is_not_usable(stage5):
    result = measure_scalp((stage5.image // 12).astype(np.uint8), view="top")
    assert not result.usable
    assert any("dark" in p for p in result.problems)


def test_overlay_is_an_rgb_picture_of_the_working_copy(stage5):
    result = measure_scalp(render_head(61, view="front").image, view="front")
    overlay = render_scalp_overlay(result)
    assert overlay.shape == result.work_image.shape and overlay.dtype == np.uint8
    assert not np.array_equal(overlay, result.work_image)


def test_rephotography_is_seeded_and_the_fraction_repeatable(stage5):
    a = simulate_rephotography(stage5.image, seed=3)
    assert np.array_equal(a, simulate_rephotography(stage5.image, seed=3))
    assert not np.array_equal(a, stage5.image)
    assert rephotography_sd(stage5.image, view="top", n_shots=4) < 0.03


def test_rephotography_errors_give_a_band_for_every_number(stage5):
    top = rephotography_errors(stage5.image, view="top", n_shots=4)
    assert set(top) == {"scalp_visible_fraction"}
    # The same re-shots as rephotography_sd, so the same figure.
    assert top["scalp_visible_fraction"] == pytest.approx(
        rephotography_sd(stage5.image, view="top", n_shots=4)
    )

    front = render_head(31, view="front", hairline_depth_fraction=0.3).image
    errors = rephotography_errors(front, view="front", n_shots=4)
    hairline = {k for k in errors if k.startswith("hairline.")}
    assert hairline == {
        "hairline.midline_depth_fraction",
        "hairline.left_temple_depth_fraction",
        "hairline.right_temple_depth_fraction",
        "hairline.recession_index",
    }
    # Depths are fractions of head height: a few hundredths at most between re-shots of a clean render.
    assert all(0 <= errors[k] < 0.05 for k in hairline)


def test_part_width_error_band_in_mm_needs_a_scale_and_ignores_distance():
    image = render_head(41, view="part", part_width_px=20).image
    without = rephotography_errors(image, view="part", n_shots=4)
    assert "part_width_mm" not in without and without["part_width_px"] >= 0
    with_scale = rephotography_errors(image, view="part", n_shots=4, mm_per_px=0.4)
    # The part is 8 mm wide; distance changes of ±10 % would move it by up to 0.8 mm if the scale were
    # not re-measured in each shot.
    assert 0 <= with_scale["part_width_mm"] < 0.4
    with pytest.raises(ValueError, match="mm_per_px"):
        rephotography_errors(image, view="part", mm_per_px=0)
    with pytest.raises(ValueError, match="n_shots"):
        rephotography_errors(image, view="part", n_shots=1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"view": "side"}, "view"),
        ({"view": "top", "mm_per_px": -1}, "mm_per_px"),
        ({"view": "top", "orientation": "sideways"}, "orientation"),
        ({"view": "top", "bogus": 1}, "bogus"),
    ],
)
def test_bad_arguments_raise_naming_the_value(stage5, kwargs, match):
    with pytest.raises(ValueError, match=match):
        measure_scalp(stage5.image, **kwargs)


def test_bad_image_and_shots_raise(stage5):
    with pytest.raises(ValueError, match="image"):
        measure_scalp(np.zeros((10, 10, 3), np.uint8), view="top")
    with pytest.raises(ValueError, match="n_shots"):
        rephotography_sd(stage5.image, view="top", n_shots=1)
    assert set(VIEWS) == {"top", "front", "back", "left", "right", "part"}


# --- real development photos (evaluation only; skipped when absent) -------------------------------------


@pytest.fixture(scope="module")
def real_top():
    data = real_data()
    if data is None:
        pytest.skip("scalp-views-dev not available (set TRICHOTRACK_SHARED_DATA)")
    import csv

    from trichotrack.measure.io import read_image

    with open(data / "labels.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["view"] == "top-down"]
    return [(int(r["norwood_stage"]), read_image(data / r["file"])) for r in rows]


@pytest.mark.slow
def test_real_top_view_fraction_ranks_the_stages(real_top):
    from scipy.stats import spearmanr

    stages = [s for s, _ in real_top]
    fractions = [measure_scalp(image, view="top").scalp_visible_fraction for _, image in real_top]
    assert spearmanr(fractions, stages)[0] >= 0.75
    usable = [measure_scalp(image, view="top").usable for _, image in real_top]
    assert np.mean(usable) >= 0.9


@pytest.mark.slow
def test_real_upright_photos_turned_four_ways_are_mostly_set_upright():
    """Not fitted: the mirror axis, equal-weight cues, round scales and margins (chosen while looking at
    these photos); 93 % of turns found in 0.4 (0.3: 80 %, 0.2: 72 %, 0.1: 51 %), and at most 10 % set
    wrongly without the "orientation uncertain" warning (0.4: 6 %)."""
    data = real_data()
    if data is None:
        pytest.skip("scalp-views-dev not available (set TRICHOTRACK_SHARED_DATA)")
    import csv

    from trichotrack.measure.io import read_image

    with open(data / "labels.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["view"] != "top-down" and r["pre_rotated"] == "no"]
    found, silently_wrong = [], []
    for row in rows:
        image = read_image(data / row["file"])
        for turns in range(4):
            answer, margin = find_orientation(
                np.ascontiguousarray(np.rot90(image, turns)), view=row["view"], return_margin=True
            )
            found.append((turns + answer) % 4 == 0)
            silently_wrong.append(not found[-1] and margin >= UNCERTAIN_MARGIN)
    assert np.mean(found) >= 0.85
    assert np.mean(silently_wrong) <= 0.1
