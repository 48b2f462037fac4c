"""Trichoscopy analysis: synthetic images with exact truth, drawn phantoms, and (when present) the real
annotated images of ../shared/data/trichoscopy-bsrl-dev (tuning and evaluation only; never committed)."""

import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from trichotrack.measure.trichoscopy import (
    ALGORITHM,
    DEFAULTS,
    VERSION,
    analyze_trichoscopy,
    darkness_map,
    line_strength,
    overlay_line_mask,
    prune_skeleton,
    render_trichoscopy_overlay,
    text_band_rows,
    text_label_mask,
)
from trichotrack.synth.trichoscopy import trichoscopy_image


def _close(found: int, truth: int, *, share: float = 0.2, at_least: int = 2) -> bool:
    return abs(found - truth) <= max(at_least, share * truth)


# --- drawn phantoms ----------------------------------------------------------------------------------


def _phantom(widths_px=(12,), shape=(512, 640)):
    image = np.full((*shape, 3), (215, 190, 175), np.uint8)
    for k, width in enumerate(widths_px):
        c = 120 + 140 * k
        cv2.line(image, (c, 150), (c + 60, 330), (30, 25, 20), int(width), cv2.LINE_AA)
    return cv2.GaussianBlur(image, (0, 0), 1.0)


def test_straight_dark_lines_are_counted_one_each():
    result = analyze_trichoscopy(_phantom((10, 12, 14)))
    assert result.hair_count == 3
    assert all(shaft.hairs == 1 and not shaft.touches_border for shaft in result.shafts)


def test_a_round_dark_blob_is_not_a_hair():
    image = np.full((512, 640, 3), (215, 190, 175), np.uint8)
    cv2.circle(image, (320, 256), 30, (40, 35, 30), -1, cv2.LINE_AA)
    assert analyze_trichoscopy(image).hair_count == 0


def test_a_v_of_two_hairs_from_one_follicle_counts_two():
    image = np.full((512, 640, 3), (215, 190, 175), np.uint8)
    cv2.line(image, (300, 380), (220, 120), (30, 25, 20), 10, cv2.LINE_AA)
    cv2.line(image, (300, 380), (400, 130), (30, 25, 20), 10, cv2.LINE_AA)
    result = analyze_trichoscopy(image)
    assert result.hair_count == 2
    assert result.unit_sizes == {"1": 0, "2": 1, "3+": 0}


def test_a_long_shaft_cut_by_the_edge_counts_one():
    image = np.full((512, 640, 3), (215, 190, 175), np.uint8)
    for c in (100, 300):
        cv2.line(image, (c, 0), (c + 40, 160), (30, 25, 20), 10, cv2.LINE_AA)  # cut by the top edge
    result = analyze_trichoscopy(image)
    assert sum(s.touches_border for s in result.shafts) == 2
    # their inner ends lie 160 px (31 % of the short side) inside the field: beyond border_full_depth
    assert [s.count_weight for s in result.shafts] == [1.0, 1.0]
    assert result.hair_count == 2
    assert result.unit_sizes == {"1": 0, "2": 0, "3+": 0}  # units are counted only inside the field


def test_a_stub_cut_by_the_edge_counts_in_proportion_to_its_reach():
    image = np.full((512, 640, 3), (215, 190, 175), np.uint8)
    for c in (100, 300, 500):
        cv2.line(image, (c, 0), (c + 10, 38), (30, 25, 20), 10, cv2.LINE_AA)  # 38 px into the field
    result = analyze_trichoscopy(image)
    assert len(result.shafts) == 3 and all(s.touches_border for s in result.shafts)
    full_depth_px = DEFAULTS["border_full_depth"] * 512
    for shaft in result.shafts:
        assert shaft.count_weight == pytest.approx(38 / full_depth_px, abs=0.12)
    assert result.hair_count == round(3 * 38 / full_depth_px)  # 1, not 3 and not 1.5


def test_a_shaft_ending_just_short_of_the_edge_is_cut_by_it():
    # A tapered or blurred end fades out of the mask a few pixels before the frame: still a cut shaft.
    image = np.full((512, 640, 3), (215, 190, 175), np.uint8)
    cv2.line(image, (300, 8), (340, 200), (30, 25, 20), 10, cv2.LINE_AA)  # its mask ends 3-4 px short
    assert [s.touches_border for s in analyze_trichoscopy(image).shafts] == [True]
    assert [s.touches_border for s in analyze_trichoscopy(image, border_touch_px=2).shafts] == [False]
    cv2.line(image, (100, 40), (140, 230), (30, 25, 20), 10, cv2.LINE_AA)  # well inside: not cut
    assert sorted(s.touches_border for s in analyze_trichoscopy(image).shafts) == [False, True]


def test_a_drawn_circle_crossing_a_shaft_neither_cuts_nor_counts():
    # Some dermatoscopes draw a red measuring circle over the image; where it crossed a shaft it cut the
    # trace in two (counted twice), and its own rim drew short false traces.
    image = np.full((512, 640, 3), (215, 190, 175), np.uint8)
    cv2.line(image, (250, 100), (330, 400), (30, 25, 20), 10, cv2.LINE_AA)
    cv2.circle(image, (450, 250), 170, (255, 0, 0), 2, cv2.LINE_AA)
    lines = overlay_line_mask(image)
    assert lines[250, 279:283].any() and not lines[250, 200] and not lines[80, 240]
    result = analyze_trichoscopy(image)
    assert result.hair_count == 1 and len(result.shafts) == 1
    assert not result.excluded_mask[lines].any()  # drawn over the field, not an unusable area


def test_overlay_line_mask_ignores_skin_hair_halo_and_glare():
    image = trichoscopy_image(0, bubbles=3, glare=2)
    assert not overlay_line_mask(image.image).any()


def test_a_trace_around_one_thick_shaft_is_one_hair_a_v_with_skin_between_is_two():
    from trichotrack.measure.trichoscopy import _skin_between_arms

    corner = np.array([80.0, 50.0])
    v_dark = np.zeros((100, 100), np.float32)
    cv2.line(v_dark, (50, 80), (30, 20), 0.8, 5)
    cv2.line(v_dark, (50, 80), (70, 20), 0.8, 5)
    v_path = np.vstack([np.linspace([20.0, 30.0], corner, 40), np.linspace(corner, [20.0, 70.0], 40)[1:]])
    assert _skin_between_arms(v_path, 39, v_dark, gap_share=0.5)
    # A "U" traced up one edge of a 24-px shaft and down the other: hair, not skin, between its arms.
    u_dark = np.zeros((100, 100), np.float32)
    u_dark[15:85, 38:62] = 0.8
    u_path = np.vstack(
        [np.linspace([20.0, 42.0], [78.0, 42.0], 30), np.linspace([80.0, 50.0], [20.0, 58.0], 30)]
    )
    assert not _skin_between_arms(u_path, 29, u_dark, gap_share=0.5)


def test_a_tuft_is_traced_once_not_again_by_the_coarse_pass():
    # Three shafts side by side (a 36-px dark band): the coarse pass must not add its edges or its core
    # to what the fine pass traced.
    image = np.full((512, 640, 3), (215, 190, 175), np.uint8)
    for offset in (-12, 0, 12):
        cv2.line(image, (200 + offset, 120), (330 + offset, 380), (30, 25, 20), 12, cv2.LINE_AA)
    image = cv2.GaussianBlur(image, (0, 0), 1.0)
    assert DEFAULTS["coarse_sigmas_px"]
    assert (
        len(analyze_trichoscopy(image).shafts)
        == len(analyze_trichoscopy(image, coarse_sigmas_px=()).shafts)
        == 1
    )
    # Without the overlap rule the coarse pass traces the band a second time.
    assert len(analyze_trichoscopy(image, coarse_overlap=1.0).shafts) > 1


def test_a_scale_bar_is_not_a_hair():
    image = _phantom((12,))
    image[460, 40:300] = 20  # a one-pixel ruler line with a tick
    image[380:460, 40] = 20
    assert analyze_trichoscopy(image).hair_count == 1


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_dtypes_give_the_same_count(dtype):
    image = _phantom((10, 14))
    if dtype == np.uint16:
        image = image.astype(np.uint16) * 257
    elif dtype == np.float64:
        image = image / 255.0
    assert analyze_trichoscopy(image).hair_count == 2


def test_input_not_modified():
    image = _phantom((10, 14))
    ignore = np.zeros(image.shape[:2], bool)
    before, ignore_before = image.copy(), ignore.copy()
    result = analyze_trichoscopy(image, ignore_mask=ignore)
    render_trichoscopy_overlay(image, result)
    assert np.array_equal(image, before) and np.array_equal(ignore, ignore_before)


def test_ignore_mask_leaves_out_a_region():
    image = _phantom((10, 12, 14))
    ignore = np.zeros(image.shape[:2], bool)
    ignore[:, 100:240] = True  # the first hair
    assert analyze_trichoscopy(image, ignore_mask=ignore).hair_count == 2


# --- building blocks ---------------------------------------------------------------------------------


def test_darkness_is_high_on_hair_and_low_on_skin_and_halo():
    image = np.full((256, 256, 3), (215, 190, 175), np.uint8)
    image[100:110, 20:230] = (30, 25, 20)  # hair
    image[180:230, 100:150] = (150, 160, 190)  # blue-grey halo: bright in the red channel
    darkness = darkness_map(image)
    assert darkness[105, 128] > 0.8
    assert darkness[10, 10] < 0.05
    assert darkness[205, 125] < 0.35


def test_light_hair_darkness_sees_white_hair():
    image = np.full((256, 256, 3), (120, 90, 70), np.uint8)
    image[100:108, 20:230] = (240, 240, 235)
    assert darkness_map(image, light_hair=True)[104, 128] > 0.8
    assert darkness_map(image)[104, 128] == 0


def test_line_strength_prefers_lines_to_blobs():
    d = np.zeros((200, 200), np.float32)
    d[50:56, 20:180] = 1.0
    cv2.circle(d, (100, 150), 20, 1.0, -1)
    strength = line_strength(d, sigmas_px=(2.0, 3.0))
    assert strength[53, 100] > 3 * strength[150, 100]


def test_prune_skeleton_removes_short_spurs_only():
    sk = np.zeros((60, 60), bool)
    sk[30, 5:55] = True  # the shaft
    sk[25:30, 20] = True  # a 5-pixel spur
    sk[5:30, 40] = True  # a 25-pixel branch
    pruned = prune_skeleton(sk, min_branch_px=8)
    assert not pruned[25:29, 20].any()
    assert pruned[6:28, 40].all()
    assert pruned[30, 6:54].all()
    assert sk[25:30, 20].all()  # input not modified


def test_text_band_rows_finds_a_burned_in_header():
    image = trichoscopy_image(0, shape=(512, 640), header=True, n_units=2).image
    top, bottom = text_band_rows(image)
    assert top >= 20 and bottom == 0
    assert text_band_rows(trichoscopy_image(0, shape=(512, 640), n_units=2).image) == (0, 0)


def test_grey_skin_without_text_is_not_a_header():
    # Neutral grey, mottled skin (polarised light) once hid the top eighth of real images as a "header".
    rng = np.random.default_rng(3)
    mottling = cv2.resize(rng.normal(140, 20, (64, 80)).astype(np.float32), (640, 512), cv2.INTER_CUBIC)
    grey = mottling + rng.normal(0, 6, (512, 640)).astype(np.float32)
    image = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    assert text_band_rows(image) == (0, 0)


def test_a_uniform_footer_strip_is_excluded_and_draws_no_shaft_along_its_edge():
    image = _phantom((10, 12, 14))
    image[480:] = 220  # a light grey strip across the bottom, as some devices add
    top, bottom = text_band_rows(image)
    assert (top, bottom) == (0, 32)
    result = analyze_trichoscopy(image)
    assert result.hair_count == 3
    assert all(shaft.centerline_rc[:, 0].max() < 400 for shaft in result.shafts)
    assert result.excluded_mask[472:].all() and not result.excluded_mask[:470].any()


def _with_scale_label(image):
    image = image.copy()
    image[430:470, 296:400] = (70, 66, 72)  # a dark grey box with "1.0 mm" in white, as devices burn in
    cv2.putText(image, "1.0 mm", (308, 460), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (250, 250, 250), 2, cv2.LINE_AA)
    return image


def test_text_label_mask_covers_a_burned_in_scale_label():
    mask = text_label_mask(_with_scale_label(_phantom((10, 12, 14))))
    assert mask[433:467, 300:396].all()  # the box, give or take its outermost rows
    rows, cols = np.nonzero(mask)
    assert rows.min() >= 400 and rows.max() <= 500 and cols.min() >= 270 and cols.max() <= 420


def test_text_label_mask_ignores_glare_specks_on_skin():
    image = np.full((512, 640, 3), (215, 190, 175), np.uint8)
    for c in range(100, 400, 30):  # a row of white specks, but on skin, not on a grey box
        cv2.circle(image, (c, 250), 2, (255, 255, 255), -1)
    assert not text_label_mask(image).any()
    assert not text_label_mask(_phantom((10, 12, 14))).any()


def test_a_scale_label_is_not_counted_and_draws_no_shaft_along_its_box():
    result = analyze_trichoscopy(_with_scale_label(_phantom((10, 12, 14))))
    assert result.hair_count == 3
    assert all(shaft.centerline_rc[:, 0].max() < 400 for shaft in result.shafts)
    assert result.excluded_mask[433:467, 300:396].all()


def test_two_crossing_hairs_count_two_not_three():
    # An "X" has four free ends; "ends - 1" alone would call it three hairs from one follicle.
    image = np.full((512, 640, 3), (215, 190, 175), np.uint8)
    cv2.line(image, (150, 120), (490, 400), (30, 25, 20), 10, cv2.LINE_AA)
    cv2.line(image, (150, 400), (490, 120), (30, 25, 20), 10, cv2.LINE_AA)
    assert DEFAULTS["max_hairs_per_trace"] == 2
    assert analyze_trichoscopy(image).hair_count == 2
    assert analyze_trichoscopy(image, max_hairs_per_trace=3).hair_count == 3


# --- synthetic images with exact truth -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("skin", "hair"), [("fair", "black"), ("medium", "brown"), ("dark", "black"), ("fair", "blond")]
)
def test_counts_on_skin_tones_and_hair_colours(skin, hair):
    for seed in range(3):
        image = trichoscopy_image(seed, skin=skin, hair=hair)
        result = analyze_trichoscopy(image.image, mm_per_px=image.mm_per_px)
        assert result.countable, result.problems
        share = 0.5 if hair == "blond" else 0.2  # light hair on fair skin: its halos are stretched too
        assert _close(result.hair_count, image.hair_count, share=share), (seed, result.hair_count)


def test_device_overlays_are_left_out_and_not_counted():
    for seed in range(3):
        image = trichoscopy_image(seed, overlays=True)
        result = analyze_trichoscopy(image.image, mm_per_px=image.mm_per_px)
        assert _close(result.hair_count, image.hair_count, share=0.1, at_least=1), (seed, result.hair_count)
        top, bottom, left, right = image.label_box
        assert result.excluded_mask[top + 3 : bottom - 3, left + 3 : right - 3].all()  # the box, give or take
        assert result.excluded_mask[-image.footer_rows :].all()
        assert result.params["text_band_rows"] == [0, image.footer_rows]


@pytest.mark.parametrize(
    "kwargs", [{}, {"skin": "dark"}, {"bubbles": 5, "glare": 2}, {"header": True}, {"overlays": True}]
)
def test_bare_skin_has_no_hairs(kwargs):
    image = trichoscopy_image(1, n_units=0, **kwargs)
    result = analyze_trichoscopy(image.image, mm_per_px=image.mm_per_px)
    assert result.hair_count == 0 and result.shafts == () and result.density_per_cm2 == 0
    assert result.thin_hair_fraction is None and result.vellus_fraction is None


def test_the_interval_holds_the_truth_on_most_images():
    hits = 0
    for seed in range(10):
        image = trichoscopy_image(100 + seed)
        result = analyze_trichoscopy(image.image)
        hits += result.count_low <= image.hair_count <= result.count_high
        assert result.count_low <= result.hair_count <= result.count_high
    assert hits >= 8


def test_the_interval_is_no_wider_than_the_spread_seen_on_annotated_images():
    # truth / count lay in 0.80-1.30 on 87 % of the tuning images (0.3.1); 0.3.0's 0.78-1.38 held 91 %.
    result = analyze_trichoscopy(trichoscopy_image(104).image)
    n = result.hair_count
    assert n >= 5
    assert result.count_low == int(np.floor(0.80 * n - 0.5))
    assert result.count_high == int(np.ceil(1.30 * n + 0.5))


def test_white_hair_needs_light_hair():
    image = trichoscopy_image(4, skin="dark", hair="white")
    assert _close(analyze_trichoscopy(image.image, light_hair=True).hair_count, image.hair_count)
    assert analyze_trichoscopy(image.image).hair_count <= 1


def test_bubbles_and_glare_are_not_counted():
    for seed in range(3):
        clean = analyze_trichoscopy(trichoscopy_image(seed).image).hair_count
        wet = trichoscopy_image(seed, bubbles=6, glare=3)  # the same hairs, bubbles drawn after them
        result = analyze_trichoscopy(wet.image)
        assert abs(result.hair_count - clean) <= 1
        assert result.excluded_mask.any()  # the glare


def test_the_text_header_is_excluded_and_not_counted():
    image = trichoscopy_image(6, header=True)
    result = analyze_trichoscopy(image.image, mm_per_px=image.mm_per_px)
    assert result.excluded_mask[: image.header_rows].all()
    assert _close(result.hair_count, image.hair_count)
    assert result.field_mm2 < image.field_mm2


def test_unclipped_long_hairs_are_counted_roughly():
    image = trichoscopy_image(8, clipped=False, n_units=6)
    result = analyze_trichoscopy(image.image)
    assert _close(result.hair_count, image.hair_count, share=0.4, at_least=3)


@pytest.mark.parametrize("width_um", [25.0, 37.0, 60.0, 90.0])
def test_widths_in_micrometres(width_um):
    image = trichoscopy_image(4, width_um=(width_um - 1, width_um + 1), unit_weights=(1, 0, 0), n_units=8)
    result = analyze_trichoscopy(image.image, mm_per_px=image.mm_per_px)
    assert result.hair_count == image.hair_count
    assert np.median([s.width_um for s in result.shafts]) == pytest.approx(width_um, rel=0.12)
    assert result.thin_hair_fraction == (1.0 if width_um < 30 else 0.0)
    assert result.vellus_fraction == (1.0 if width_um <= 40 else 0.0)


def test_density_from_either_scale():
    image = trichoscopy_image(9)
    by_scale = analyze_trichoscopy(image.image, mm_per_px=image.mm_per_px)
    by_area = analyze_trichoscopy(image.image, field_mm2=image.field_mm2)
    assert by_scale.mm_per_px == pytest.approx(by_area.mm_per_px)
    assert by_scale.density_per_cm2 == pytest.approx(by_area.density_per_cm2)
    assert by_scale.density_per_cm2 == pytest.approx(by_scale.hair_count / (image.field_mm2 / 100), rel=0.02)
    assert by_scale.shafts[0].width_um == pytest.approx(by_scale.shafts[0].width_px * image.mm_per_px * 1000)


def test_without_a_scale_there_is_no_density_nor_widths_in_um():
    result = analyze_trichoscopy(trichoscopy_image(9).image)
    assert result.mm_per_px is None and result.density_per_cm2 is None and result.field_mm2 is None
    assert result.thin_hair_fraction is None and result.vellus_fraction is None
    assert all(s.width_um is None for s in result.shafts)
    assert result.hair_count > 0


def test_single_hairs_make_units_of_one():
    image = trichoscopy_image(2, unit_weights=(1, 0, 0), n_units=8)
    result = analyze_trichoscopy(image.image)
    assert result.unit_sizes == image.unit_sizes == {"1": 8, "2": 0, "3+": 0}
    assert len(result.units) == 8 and all(u.hairs == 1 for u in result.units)


def test_result_records_algorithm_and_params():
    result = analyze_trichoscopy(_phantom(), min_area_px=60)
    assert (result.algorithm, result.version) == (ALGORITHM, VERSION)
    assert result.params["min_area_px"] == 60 and result.params["thin_um"] == 30.0


# --- unusable images ---------------------------------------------------------------------------------


def test_out_of_focus_is_not_countable():
    image = cv2.GaussianBlur(trichoscopy_image(0).image, (0, 0), 8)
    result = analyze_trichoscopy(image)
    assert not result.countable
    assert any("focus" in p for p in result.problems)


def test_a_black_frame_is_not_countable():
    result = analyze_trichoscopy(np.full((512, 640, 3), 8, np.uint8))
    assert not result.countable
    assert any("too dark" in p for p in result.problems)


def test_a_dark_tangle_is_not_countable():
    rng = np.random.default_rng(0)
    image = np.full((512, 640, 3), (215, 190, 175), np.uint8)
    for _ in range(400):
        r, c = rng.integers(0, 512), rng.integers(0, 640)
        cv2.line(image, (int(c), int(r)), (int(c + rng.integers(-80, 80)), int(r + 80)), (30, 25, 20), 9)
    result = analyze_trichoscopy(image)
    assert not result.countable
    assert any("dark" in p for p in result.problems)


def test_mostly_glare_is_not_countable():
    image = trichoscopy_image(0, shape=(256, 320), n_units=2).image.copy()
    image[:, :200] = 255
    result = analyze_trichoscopy(image)
    assert not result.countable


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mm_per_px": -1}, "mm_per_px"),
        ({"mm_per_px": float("nan")}, "mm_per_px"),
        ({"field_mm2": 0}, "field_mm2"),
        ({"mm_per_px": 0.004, "field_mm2": 20}, "not both"),
        ({"no_such_knob": 1}, "no_such_knob"),
        ({"ignore_mask": np.zeros((3, 3), bool)}, "ignore_mask"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        analyze_trichoscopy(_phantom(), **kwargs)


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match="image"):
        analyze_trichoscopy(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="image"):
        analyze_trichoscopy(np.zeros((100, 100, 5), np.uint8))


# --- overlay -----------------------------------------------------------------------------------------


def test_overlay_draws_every_shaft():
    image = trichoscopy_image(1, shape=(512, 640), n_units=4, header=True)
    result = analyze_trichoscopy(image.image)
    overlay = render_trichoscopy_overlay(image.image, result)
    assert overlay.shape == image.image.shape and overlay.dtype == np.uint8
    for shaft in result.shafts:
        r, c = np.round(shaft.centerline_rc[len(shaft.centerline_rc) // 2]).astype(int)
        patch = overlay[r - 2 : r + 3, c - 2 : c + 3].astype(int)
        assert (patch.max(axis=2) - patch.min(axis=2)).max() > 60  # coloured, not the grey photo


def test_overlay_marks_the_share_a_cut_shaft_adds_to_the_count():
    image = np.full((512, 640, 3), (215, 190, 175), np.uint8)
    cv2.line(image, (300, 0), (310, 38), (30, 25, 20), 10, cv2.LINE_AA)  # a stub at the top edge
    result = analyze_trichoscopy(image)
    (stub,) = result.shafts
    assert stub.touches_border and stub.count_weight < 0.95
    marked = render_trichoscopy_overlay(image, result)
    plain = render_trichoscopy_overlay(image, replace(result, shafts=(replace(stub, count_weight=1.0),)))
    differs = np.nonzero((marked != plain).any(axis=2))
    assert len(differs[0]) > 20  # the "x0.5" text, beside the stub's middle
    assert abs(np.median(differs[0]) - stub.centerline_rc[:, 0].mean()) < 40


def test_overlay_refuses_another_images_result():
    result = analyze_trichoscopy(_phantom())
    with pytest.raises(ValueError, match="result"):
        render_trichoscopy_overlay(np.zeros((100, 100, 3), np.uint8), result)


# --- real annotated images (skipped when the data set is absent) -------------------------------------


def _real_data() -> Path | None:
    root = os.environ.get("TRICHOTRACK_SHARED_DATA")  # the shared data folder, if not ../shared/data
    base = Path(root) if root else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    folder = base / "trichoscopy-bsrl-dev"
    return folder if (folder / "annotations").is_dir() else None


REAL = _real_data()


@pytest.mark.slow
@pytest.mark.skipif(
    REAL is None, reason="real trichoscopy images absent (../shared/data/trichoscopy-bsrl-dev)"
)
def test_real_held_out_images_are_counted_within_the_anchors():
    from trichotrack.measure.io import read_image

    names = sorted(p.stem for p in (REAL / "annotations").glob("*.xml"))[100::5]  # held-out, every 5th
    errors, hits = [], 0
    for name in names:
        truth = len(ET.parse(REAL / "annotations" / f"{name}.xml").getroot().findall("object"))
        result = analyze_trichoscopy(read_image(REAL / "images" / f"{name}.jpg"))
        assert result.countable, (name, result.problems)
        errors.append(abs(result.hair_count - truth) / truth)
        hits += result.count_low <= truth <= result.count_high
    # On these 12 images the constant median answer scores 0.22 and version 0.2.0 0.21: a regression guard.
    assert np.mean(errors) < 0.30
    assert hits >= 0.6 * len(names)
