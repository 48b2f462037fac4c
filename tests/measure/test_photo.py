"""The photo pipeline picks the scale the way the CLI and the app rely on."""

import numpy as np
import pytest

from trichotrack.measure.card import card_layout
from trichotrack.measure.photo import measure_shedding_photo
from trichotrack.synth.shedding import shed_photo


@pytest.fixture(scope="module")
def card_photo():
    return shed_photo(11, shape=(1500, 2000), n_hairs=6, background="card", hair_colour="black", clump=False)


def test_it_measures_on_the_card_plane(card_photo):
    measured = measure_shedding_photo(card_photo.image)
    assert measured.scale_source == "card"
    assert measured.card is not None and measured.card.found
    # the rectified photo keeps roughly the photo's own resolution, so the scale is close to the truth
    assert measured.result.mm_per_px == pytest.approx(card_photo.mm_per_px, rel=0.25)
    assert measured.analysed_px_from_image_px.shape == (3, 3)
    assert not np.allclose(measured.analysed_px_from_image_px, np.eye(3))
    # Each hair measured whole (not cut by the frame or an excluded region, such as the 2 mm round the
    # field's printed outline) has the length of the true hair it lies on.
    homography = measured.analysed_px_from_image_px
    errors = []
    for hair in measured.result.hairs:
        if hair.touches_border:
            continue
        for truth in card_photo.hairs:
            xy = np.c_[truth.centerline_rc[:, ::-1], np.ones(len(truth.centerline_rc))] @ homography.T
            rc = xy[:, 1::-1] / xy[:, 2:]
            near = np.hypot(*(hair.centerline_rc[:, None, :] - rc[None, :, :]).transpose(2, 0, 1)).min(axis=1)
            if np.mean(near <= 4.0) >= 0.9:
                errors.append(hair.length_mm / truth.length_mm - 1)
                break
        else:
            errors.append(np.inf)  # a measured hair that lies on no true hair
    assert len(errors) >= 4
    assert np.median(np.abs(errors)) <= 0.05
    assert np.max(np.abs(errors)) <= 0.15


def test_only_the_card_is_analysed_at_the_scale_of_the_whole_photo(card_photo):
    # The rectified frame holds the table round the card too; it is cut to the card (plus a margin of a few
    # pixels), and the card worked at no finer than half its resolution (this 3-MP photo alone would be
    # worked at full resolution).
    measured = measure_shedding_photo(card_photo.image)
    layout = card_layout(measured.card.paper)
    rows, cols = measured.analysed_image.shape[:2]
    px_per_mm = 1 / measured.result.mm_per_px
    assert rows == pytest.approx(layout.height_mm * px_per_mm, abs=40)
    assert cols == pytest.approx(layout.width_mm * px_per_mm, abs=40)
    assert measured.result.params["working_factor"] == 2
    assert measured.result.excluded_mask.shape == (rows, cols)


def test_light_hair_is_counted_on_the_cards_dark_field_and_lost_on_its_white_one():
    # The same white hairs, the same camera: on the white field they barely show; on the field printed dark
    # they are counted, with the card's scale. The white card is still seen as white.
    options = dict(shape=(1500, 2000), n_hairs=8, background="card", hair_colour="white", clump=False)
    on_dark = shed_photo(5, card_field="dark", curl="straight", **options)
    on_white = shed_photo(5, card_field="white", curl="straight", **options)
    dark = measure_shedding_photo(on_dark.image)
    white = measure_shedding_photo(on_white.image)
    assert (dark.card_field, white.card_field) == ("dark", "white")
    assert dark.scale_source == "card"
    assert dark.result.countable, dark.problems
    assert abs(dark.result.hair_count - on_dark.hair_count) <= 1
    assert not white.result.countable
    assert white.result.hair_count < on_white.hair_count / 2
    # The advice is to change the card's field, not to leave the card for dark paper.
    assert any(p.endswith("dark field of the card for light hair.") for p in white.problems), white.problems
    assert not any("dark paper" in p for p in white.problems)
    # On the dark field only the field is analysed: the white paper round it and its edge are cut away or
    # excluded; on the white one, the whole card.
    assert dark.analysed_image.size < 0.8 * white.analysed_image.size
    analysed = dark.analysed_image[~dark.result.excluded_mask]
    assert np.percentile(analysed.mean(axis=1), 99) < 128


def test_a_shadow_over_the_white_field_does_not_pass_for_the_dark_one(card_photo):
    # The phone's shadow halves the light over the middle of the card: still the white field.
    shaded = card_photo.image.astype(np.float32)
    rows, cols = shaded.shape[:2]
    shaded[rows // 4 : 3 * rows // 4, cols // 4 : 3 * cols // 4] *= 0.5
    measured = measure_shedding_photo(shaded.astype(np.uint8))
    assert measured.card is not None and measured.card.found
    assert measured.card_field == "white"


def test_the_analysis_advice_to_change_paper_becomes_advice_to_change_the_cards_field():
    from trichotrack.measure.photo import _on_the_card

    light = "Light hair barely shows on a light surface; photograph it on dark paper."
    assert _on_the_card(light, "white") == (
        "Light hair barely shows on a light surface; lay it on the dark field of the card for light hair."
    )
    dark = "Dark hair barely shows on a dark surface; photograph it on white paper."
    assert _on_the_card(dark, "dark").endswith("lay it on the white field of the card for dark hair.")
    assert _on_the_card(dark, "white") == dark  # (not said on the white field)
    assert _on_the_card("The photo is blurred.", "white") == "The photo is blurred."


def test_a_given_scale_wins_over_the_card(card_photo):
    measured = measure_shedding_photo(card_photo.image, mm_per_px=0.1)
    assert measured.scale_source == "given"
    assert measured.card is None
    assert measured.result.mm_per_px == 0.1
    np.testing.assert_array_equal(measured.analysed_px_from_image_px, np.eye(3))


def test_without_card_or_scale_lengths_stay_in_pixels():
    photo = shed_photo(12, shape=(900, 1200), n_hairs=5, background="white_paper", hair_colour="black")
    measured = measure_shedding_photo(photo.image)
    assert measured.scale_source == "none"
    assert measured.result.mm_per_px is None
    assert any("card" in problem for problem in measured.problems)
    assert all(h.length_mm is None and h.length_px > 0 for h in measured.result.hairs)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "x"])
def test_it_refuses_an_impossible_scale(bad):
    with pytest.raises(ValueError, match="mm_per_px"):
        measure_shedding_photo(np.full((100, 100, 3), 200, np.uint8), mm_per_px=bad)


def test_input_not_modified(card_photo):
    image = card_photo.image.copy()
    image.flags.writeable = True
    before = image.copy()
    measure_shedding_photo(image)
    np.testing.assert_array_equal(image, before)


def test_a_hair_laid_along_the_fields_outline_is_measured_whole():
    # Long hairs bend along the edges of the card's field; only the thin outline itself (with 0.75 mm either
    # side) is not analysed, so a hair 1.3 mm inside it is found, whole, at its length.
    from trichotrack.measure.card import card_layout

    layout = card_layout("a4")
    top, left, _bottom, _right = layout.hair_area_mm
    centre = np.array([layout.width_mm / 2, layout.height_mm / 2])
    along_left = np.array([[left + 1.3, top + 40.0], [left + 1.3, top + 140.0]]) - centre
    across = np.array([[left + 30.0, top + 60.0], [left + 120.0, top + 80.0]]) - centre
    photo = shed_photo(
        21,
        shape=(1700, 1400),
        background="card",
        card_format="a4",
        hair_colour="black",
        px_per_mm=5.5,
        tilt_deg=0.0,
        roll_deg=0.0,
        blur_px=0.0,
        motion_blur_px=0.0,
        exposure=1.0,
        centerlines_mm=[along_left, across],
        width_mm=0.2,
    )
    measured = measure_shedding_photo(photo.image)
    assert measured.scale_source == "card"
    result = measured.result
    assert result.hair_count == 2
    lengths = sorted(h.length_mm for h in result.hairs)
    assert len(lengths) == 2
    assert lengths[0] == pytest.approx(float(np.hypot(90.0, 20.0)), rel=0.05)
    assert lengths[1] == pytest.approx(100.0, rel=0.05)


def test_the_overlay_shades_excluded_regions_and_rings_crossings_as_before():
    """render_overlay's faster drawing (lookup-table shade, stamped rings) matches the direct one."""
    from types import SimpleNamespace

    import cv2

    from trichotrack.measure.overlay import CROSSING_RGB, EXCLUDED_RGB, render_overlay

    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 256, (1200, 1600, 3), dtype=np.uint8), (0, 0), 2)
    excluded = np.zeros((1200, 1600), bool)
    excluded[100:400, 200:900] = True
    crossings = np.array([[600.0, 800.0], [610.0, 820.0], [0.0, 0.0], [1199.0, 1599.0], [-30.0, 5.0]])
    result = SimpleNamespace(excluded_mask=excluded, hairs=(), crossings_rc=crossings)
    out = render_overlay(image, result)

    # The direct drawing: a blend of the dimmed grey photo with the shade, then cv2.circle per crossing.
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    expected = cv2.cvtColor(cv2.convertScaleAbs(grey, alpha=0.45, beta=70), cv2.COLOR_GRAY2RGB)
    shade = np.empty_like(expected)
    shade[:] = EXCLUDED_RGB
    blended = cv2.addWeighted(expected, 0.55, shade, 0.45, 0.0)
    expected[excluded] = blended[excluded]
    scale = 1600 / 1000.0
    thick, radius = max(2, round(scale)), max(4, round(6 * scale))
    for r, c in crossings:
        cv2.circle(expected, (round(c), round(r)), radius, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.circle(expected, (round(c), round(r)), radius, CROSSING_RGB, thick, cv2.LINE_AA)

    # Anti-aliasing rounding only (cv2.circle's anti-aliasing in a photo's outermost pixels differs: a
    # ring cut by the frame is compared away from it).
    difference = np.abs(out.astype(int) - expected.astype(int))[2:-2, 2:-2]
    assert difference.max() <= 8
    assert difference.mean() < 0.05
    assert (out[600, 800 + radius] > 230).all()  # on the ring: white
    assert out[250, 500, 0] > out[250, 500, 1] + 40  # excluded: red tint
    assert not np.array_equal(
        out, render_overlay(image, SimpleNamespace(**{**vars(result), "crossings_rc": []}))
    )
