from pathlib import Path

import cv2
import numpy as np
import pytest

from trichotrack.measure.shedding import (
    ALGORITHM,
    DEFAULTS,
    VERSION,
    Hair,
    SheddingResult,
    analyze_shedding,
    render_overlay,
)

PAPER = (236, 232, 224)
BLACK = (35, 28, 24)


def draw_hairs(shape, lines, *, width_px=1.5, background=PAPER, hair=BLACK, noise=3.0, seed=0, supersample=4):
    """A photo of hairs drawn by area coverage (sub-pixel widths), with Gaussian noise."""
    rows, cols = shape
    big = np.zeros((rows * supersample, cols * supersample), np.uint8)
    for line in lines:
        pts = np.round((np.asarray(line, float) + 0.5)[:, ::-1] * supersample * 16 - 8).astype(np.int32)
        thickness = max(1, round(width_px * supersample))
        cv2.polylines(big, [pts], False, 255, thickness, cv2.LINE_AA, shift=4)
    cover = cv2.resize(big, (cols, rows), interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
    image = np.asarray(background, np.float32) * (1 - cover) + np.asarray(hair, np.float32) * cover
    image += np.random.default_rng(seed).normal(0, noise, image.shape)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def segment(start, end, n=400):
    t = np.linspace(0, 1, n)[:, None]
    return np.asarray(start, float) * (1 - t) + np.asarray(end, float) * t


def arc_length(line):
    return float(np.hypot(*np.diff(line, axis=0).T).sum())


def loop_hair(n=3000):
    """A hair that runs left to right and loops over itself once in the middle (a trochoid)."""
    t = np.linspace(0, 1, n)
    phase = 2 * np.pi * t + np.pi
    return np.stack([200 - 100 * np.cos(phase), 60 + 380 * t - 100 * np.sin(phase)], axis=1)


X_LINES = [segment((50, 50), (350, 450)), segment((50, 450), (350, 50))]


def test_an_x_of_two_straight_hairs_is_two_hairs_and_one_crossing():
    result = analyze_shedding(draw_hairs((400, 500), X_LINES), mm_per_px=0.075)
    assert result.hair_count == 2
    assert len(result.crossings_rc) == 1
    np.testing.assert_allclose(result.crossings_rc[0], (200, 250), atol=3)
    for hair in result.hairs:
        assert hair.crossings == 1
        assert hair.length_px == pytest.approx(500, rel=0.03)
        assert hair.length_mm == pytest.approx(500 * 0.075, rel=0.03)
        assert not hair.touches_border
    assert result.countable
    assert result.count_low <= 2 <= result.count_high


def test_each_hair_runs_straight_through_the_crossing():
    result = analyze_shedding(draw_hairs((400, 500), X_LINES))
    for hair in result.hairs:
        first, last = hair.centerline_rc[0], hair.centerline_rc[-1]
        # both ends of one hair lie on one drawn line: opposite corners, not a V
        assert abs(first[0] - last[0]) > 250 and abs(first[1] - last[1]) > 350


def test_a_hair_that_loops_over_itself_is_one_hair():
    line = loop_hair()
    result = analyze_shedding(draw_hairs((400, 500), [line]))
    assert result.hair_count == 1
    assert result.hairs[0].length_px == pytest.approx(arc_length(line), rel=0.03)
    assert len(result.crossings_rc) == 1
    assert result.hairs[0].crossings == 2  # it passes the crossing twice


def test_two_parallel_hairs_are_two():
    lines = [segment((100, 50), (100, 450)), segment((110, 50), (110, 450))]
    result = analyze_shedding(draw_hairs((300, 500), lines))
    assert result.hair_count == 2
    for hair in result.hairs:
        assert hair.length_px == pytest.approx(400, rel=0.03)


def test_a_hair_cut_by_the_border_touches_it():
    lines = [segment((100, -40), (300, 300)), segment((60, 200), (60, 450))]
    result = analyze_shedding(draw_hairs((400, 500), lines))
    assert result.hair_count == 2
    cut = [h for h in result.hairs if h.touches_border]
    whole = [h for h in result.hairs if not h.touches_border]
    assert len(cut) == 1 and len(whole) == 1
    assert whole[0].length_px == pytest.approx(250, rel=0.03)


def test_a_hair_cut_by_the_ignore_mask_touches_it():
    ignore = np.zeros((400, 500), bool)
    ignore[:, 300:] = True
    result = analyze_shedding(draw_hairs((400, 500), [segment((200, 50), (200, 450))]), ignore_mask=ignore)
    assert result.hair_count == 1
    assert result.hairs[0].touches_border
    assert result.hairs[0].length_px < 260
    assert result.excluded_mask[:, 300:].all()


@pytest.mark.parametrize(
    ("background", "hair"),
    [
        (PAPER, BLACK),
        ((40, 38, 45), (215, 200, 160)),
        ((70, 90, 160), (30, 25, 20)),
        ((240, 238, 232), (120, 110, 100)),
    ],
    ids=["dark-on-light", "light-on-dark", "dark-on-blue", "grey-on-white"],
)
def test_it_finds_dark_and_light_hairs(background, hair):
    lines = [segment((60, 40), (80, 460)), segment((150, 60), (350, 420)), segment((340, 40), (200, 300))]
    result = analyze_shedding(draw_hairs((400, 500), lines, background=background, hair=hair))
    assert result.hair_count == 3
    assert sorted(h.length_px for h in result.hairs) == pytest.approx(
        sorted(arc_length(line) for line in lines), rel=0.04
    )


def test_input_not_modified():
    image = draw_hairs((300, 400), X_LINES[:1])
    mask = np.zeros((300, 400), bool)
    mask[:10] = True
    before, mask_before = image.copy(), mask.copy()
    analyze_shedding(image, mm_per_px=0.08, ignore_mask=mask)
    render_overlay(image, analyze_shedding(image))
    np.testing.assert_array_equal(image, before)
    np.testing.assert_array_equal(mask, mask_before)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_it_accepts_common_dtypes(dtype):
    image = draw_hairs((300, 400), [segment((50, 50), (250, 350))])
    if dtype == np.uint16:
        image = image.astype(np.uint16) * 257
    elif dtype != np.uint8:
        image = (image / 255.0).astype(dtype)
    result = analyze_shedding(image)
    assert result.hair_count == 1


def test_a_grey_image_is_accepted():
    image = draw_hairs((300, 400), [segment((50, 50), (250, 350))])[..., 0]
    assert analyze_shedding(image).hair_count == 1


def test_a_blank_photo_is_not_countable():
    result = analyze_shedding(draw_hairs((400, 500), []), mm_per_px=0.08)
    assert result.hair_count == 0
    assert not result.countable
    assert result.problems[0] == "No hairs were found."
    # (on white paper an empty photo may also be white hair that does not show)
    assert result.problems[1:] == (
        "White or grey hair does not show on a light surface; photograph it on dark paper.",
    )
    assert result.short_hair_fraction is None
    assert result.crossings_rc.shape == (0, 2)


def _clump(rng, centre, radius, n):
    lines = []
    for _ in range(n):
        angle = np.cumsum(rng.normal(0, 0.25, 200)) + rng.uniform(0, 2 * np.pi)
        steps = np.stack([np.sin(angle), np.cos(angle)], axis=1) * 1.5
        line = np.cumsum(steps, axis=0)
        line -= line.mean(axis=0)
        line *= min(1.0, radius / np.abs(line).max())
        lines.append(line + centre)
    return lines


def test_a_clump_is_not_countable():
    rng = np.random.default_rng(3)
    lines = [*_clump(rng, (300, 300), 70, 40), segment((60, 500), (60, 760)), segment((500, 520), (560, 760))]
    result = analyze_shedding(draw_hairs((600, 800), lines), mm_per_px=0.08)
    assert not result.countable
    assert any("clumped" in p for p in result.problems)
    assert result.excluded_mask[300, 300]
    assert not result.excluded_mask[60, 700]
    assert result.count_high >= 42  # the interval must admit the hairs hidden in the clump


def test_a_blurred_photo_is_flagged():
    lines = [segment((60, 40), (80, 460)), segment((150, 60), (350, 420))]
    sharp = draw_hairs((400, 500), lines, width_px=1.5, noise=0.5)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 3.0)
    assert not any("blurred" in p for p in analyze_shedding(sharp).problems)
    result = analyze_shedding(blurred)
    assert any("blurred" in p for p in result.problems)
    assert not result.countable


def test_an_over_exposed_photo_is_flagged():
    image = draw_hairs((400, 500), [segment((60, 40), (80, 460))])
    image[200:, :] = 255
    result = analyze_shedding(image)
    assert any("over-exposed" in p for p in result.problems)
    assert not result.countable
    assert result.excluded_mask[300:, :].all()


def test_short_hair_fraction_needs_a_scale():
    lines = [segment((50, 40), (50, 460)), segment((150, 40), (150, 140)), segment((250, 40), (250, 140))]
    image = draw_hairs((300, 500), lines)
    # 420 px and 2 × 100 px at 0.1 mm/px: 42 mm and 10 mm hairs
    result = analyze_shedding(image, mm_per_px=0.1)
    assert result.hair_count == 3
    assert result.short_hair_fraction == pytest.approx(2 / 3)
    unscaled = analyze_shedding(image)
    assert unscaled.short_hair_fraction is None
    assert all(h.length_mm is None and h.width_mm is None for h in unscaled.hairs)


def test_short_hairs_with_a_tip_against_another_hair_still_count_as_short():
    # Nine long hairs 4 mm apart; eight 10-12 mm hairs across them, four with both tips between the long
    # ones, four with one tip on a long hair (not whole: that end is a junction). Counting only the whole
    # short pieces gave 4 / 17 (0.24); the share of tips lying against a hair scales them up.
    longs = [segment((60 + 40 * k, 30), (60 + 40 * k, 770)) for k in range(9)]
    clear = [segment((80, 100 + 60 * k), (200, 110 + 60 * k)) for k in range(4)]
    touching = [segment((140, 400 + 60 * k), (240, 410 + 60 * k)) for k in range(4)]
    result = analyze_shedding(draw_hairs((460, 800), longs + clear + touching), mm_per_px=0.1)
    assert result.hair_count == 17
    assert result.short_hair_fraction == pytest.approx(8 / 17, abs=0.13)


def test_width_is_measured():
    image = draw_hairs((300, 400), [segment((150, 20), (150, 380))], width_px=6.0)
    result = analyze_shedding(image)
    assert result.hairs[0].width_px == pytest.approx(6.0, abs=1.0)


def test_result_records_algorithm_and_parameters():
    result = analyze_shedding(draw_hairs((300, 400), X_LINES[:1]), low_threshold=4.0)
    assert isinstance(result, SheddingResult)
    assert all(isinstance(h, Hair) for h in result.hairs)
    assert (result.algorithm, result.version) == (ALGORITHM, VERSION)
    assert result.params["low_threshold"] == 4.0
    assert result.excluded_mask.shape == (300, 400)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mm_per_px": 0}, "mm_per_px"),
        ({"mm_per_px": float("nan")}, "mm_per_px"),
        ({"ignore_mask": np.zeros((10, 10), bool)}, "ignore_mask"),
        ({"no_such_option": 1}, "no_such_option"),
        ({"photo_px": 0}, "photo_px"),
        ({"photo_px": 2.5e6}, "photo_px"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        analyze_shedding(np.zeros((100, 100, 3), np.uint8), **kwargs)


def test_the_working_scale_is_chosen_for_the_photo_a_crop_was_cut_from():
    # A 1000×1000 crop alone is analysed at full resolution; cut from a 12-MP photo, at half of it, as the
    # whole photo would be.
    crop = np.full((1000, 1000, 3), 235, np.uint8)
    assert analyze_shedding(crop).params["working_factor"] == 1
    assert analyze_shedding(crop, photo_px=12_000_000).params["working_factor"] == 2
    assert analyze_shedding(crop, min_factor=3).params["working_factor"] == 3


def test_a_bad_image_raises_value_error():
    with pytest.raises(ValueError, match="image"):
        analyze_shedding(np.zeros((100, 100, 5), np.uint8))


def test_overlay_draws_each_hair_in_its_colour_and_shades_exclusions():
    from trichotrack.measure.overlay import EXCLUDED_RGB, hair_colour

    image = draw_hairs((400, 500), X_LINES)
    ignore = np.zeros((400, 500), bool)
    ignore[:, :20] = True
    result = analyze_shedding(image, ignore_mask=ignore)
    overlay = render_overlay(image, result)
    assert overlay.shape == (400, 500, 3) and overlay.dtype == np.uint8
    for i in range(result.hair_count):
        colour = np.array(hair_colour(i))
        assert (np.abs(overlay.astype(int) - colour).sum(axis=2) < 30).sum() > 100
    shaded = overlay[200, 5].astype(int)
    assert shaded[0] > shaded[1] + 40  # red tint
    assert hair_colour(0) != hair_colour(1)
    assert EXCLUDED_RGB[0] > EXCLUDED_RGB[1]


def test_overlay_refuses_a_result_of_another_image():
    image = draw_hairs((300, 400), X_LINES[:1])
    result = analyze_shedding(image)
    with pytest.raises(ValueError, match="result"):
        render_overlay(np.zeros((200, 200, 3), np.uint8), result)


def _whole_hair_length_errors(result, photo, tolerance_px=6.0):
    """Relative length errors of traced hairs whose two ends lie on the two ends of one true hair."""
    errors = []
    for hair in result.hairs:
        ends = hair.centerline_rc[[0, -1]]
        for truth in photo.hairs:
            true_ends = truth.centerline_rc[[0, -1]]
            if (
                min(np.hypot(*(ends - true_ends).T).max(), np.hypot(*(ends - true_ends[::-1]).T).max())
                <= tolerance_px
            ):
                errors.append(hair.length_mm / truth.length_mm - 1)
                break
    return np.asarray(errors)


@pytest.mark.parametrize(
    ("seed", "background", "colour"),
    [(1, "white_paper", "black"), (2, "dark_paper", "blonde"), (3, "pillowcase", "dark_brown")],
)
def test_generated_photos_are_counted_and_measured(seed, background, colour):
    synth = pytest.importorskip("trichotrack.synth.shedding")
    photo = synth.shed_photo(
        seed,
        shape=(900, 1200),
        n_hairs=8,
        background=background,
        hair_colour=colour,
        curl="wavy",
        long_median_mm=60,
        short_fraction=0.3,
        blur_px=0,
        motion_blur_px=0,
        exposure=1.0,
    )
    result = analyze_shedding(photo.image, mm_per_px=photo.mm_per_px)
    assert result.countable, result.problems
    assert abs(result.hair_count - photo.hair_count) <= 1
    assert result.count_low <= photo.hair_count <= result.count_high
    errors = _whole_hair_length_errors(result, photo)
    assert len(errors) >= 3
    assert np.median(np.abs(errors)) <= 0.05
    true_short = synth.short_hair_fraction(photo.hairs)
    assert abs(result.short_hair_fraction - true_short) <= 0.3


def test_a_generated_clump_is_not_countable():
    synth = pytest.importorskip("trichotrack.synth.shedding")
    photo = synth.shed_photo(
        4,
        shape=(1200, 1600),
        n_hairs=6,
        clump=True,
        n_clump_hairs=40,
        background="white_paper",
        hair_colour="black",
        curl="wavy",
        long_median_mm=60,
        blur_px=0,
        motion_blur_px=0,
        exposure=1.0,
    )
    result = analyze_shedding(photo.image, mm_per_px=photo.mm_per_px)
    assert not result.countable
    assert any("clumped" in p for p in result.problems)
    assert result.count_high >= photo.hair_count
    # The share of short hairs rests on the count: not given when the count cannot be trusted.
    assert result.short_hair_fraction is None


def _scan(name):
    from PIL import Image

    path = Path(__file__).parents[1] / "data" / "scanned-hair-snippets" / f"{name}.png"
    return np.asarray(Image.open(path))


SCAN_MM_PER_PX = 1 / 132


def test_real_scan_of_straight_snippets():
    result = analyze_shedding(_scan("027_demo_nocurv"), mm_per_px=SCAN_MM_PER_PX)
    assert result.countable, result.problems
    assert result.hair_count == 8
    assert result.count_low <= 8 <= result.count_high
    for hair in result.hairs:
        assert 1.0 < hair.length_mm < 6.0
        assert 0.04 < hair.width_mm < 0.12


def test_real_scan_of_curved_snippets_flags_those_cut_by_the_frame():
    result = analyze_shedding(_scan("004_demo_curv"), mm_per_px=SCAN_MM_PER_PX)
    assert result.countable, result.problems
    assert 10 <= result.hair_count <= 14
    assert result.count_low <= 12 <= result.count_high
    cut = [h for h in result.hairs if h.touches_border]
    assert len(cut) >= 1
    rows, cols = result.excluded_mask.shape
    for hair in cut:  # a cut hair has an end at the frame
        ends = hair.centerline_rc[[0, -1]]
        margin = np.minimum.reduce([ends[:, 0], ends[:, 1], rows - 1 - ends[:, 0], cols - 1 - ends[:, 1]])
        assert margin.min() < 10


def test_light_hair_on_a_light_surface_is_not_countable():
    lines = [segment((60, 40), (80, 460)), segment((150, 60), (350, 420))]
    image = draw_hairs((400, 500), lines, background=(235, 233, 228), hair=(250, 250, 248), noise=1.0)
    result = analyze_shedding(image)
    assert result.hair_count == 2
    assert not result.countable
    assert any("dark paper" in p for p in result.problems)


#: Three straight hairs crossing a sheet of 1360 x 960 px or more.
_THREE_HAIRS = [
    segment((200, 120), (760, 1200)),
    segment((300, 1300), (900, 500)),
    segment((850, 200), (950, 1350)),
]


@pytest.mark.parametrize(
    ("table", "grain"),
    [
        ((120, 80, 50), (90, 60, 35)),  # dark wood
        ((200, 165, 120), (150, 110, 70)),  # light wood: within the sheet's colour range, but a step from it
        ((150, 150, 147), (105, 105, 102)),  # grey laminate with streaks
    ],
)
def test_the_table_around_the_sheet_is_not_analysed(table, grain):
    # a white sheet filling most of the photo, on a table whose grain runs in lines
    lines = [segment((r, 0), (r + 15, 1599)) for r in range(8, 1200, 24)]
    image = draw_hairs((1200, 1600), lines, background=table, hair=grain)
    image[120:1080, 120:1480] = draw_hairs((960, 1360), _THREE_HAIRS)
    result = analyze_shedding(image)
    assert result.hair_count == 3
    assert (
        result.excluded_mask[40, 40] and result.excluded_mask[600, 60] and not result.excluded_mask[600, 800]
    )


@pytest.mark.parametrize(
    ("table", "grain", "sheet", "hair"),
    [
        ((200, 165, 120), (150, 110, 70), (228, 226, 222), BLACK),  # light wood: another colour
        ((150, 150, 147), (195, 195, 192), (55, 55, 58), (235, 228, 205)),  # grey laminate by dark paper
    ],
)
def test_a_strip_of_table_along_one_side_is_not_analysed(table, grain, sheet, hair):
    # The sheet fills the frame but for a strip of table along the top (8 % of the photo) with grain along
    # it, as dark (light) as the hairs: it is no hair, though the strip reaches only three sides of the frame.
    lines = [segment((r, 0), (r + 3, 1599)) for r in range(6, 90, 14)]
    image = draw_hairs((1200, 1600), lines, background=table, hair=grain)
    image[96:, :] = draw_hairs((1104, 1600), _THREE_HAIRS, background=sheet, hair=hair)
    result = analyze_shedding(image)
    assert result.hair_count == 3
    assert result.excluded_mask[40, 800] and not result.excluded_mask[600, 800]


@pytest.mark.parametrize("edge_px", [60.0, 2.0])
def test_a_shadow_across_the_sheet_is_still_the_sheet(edge_px):
    # The phone's shadow darkens a third of the sheet by half, over a soft edge or (in sunlight) a sharp one
    # as much a step as a sheet's edge: hairs in it are counted.
    hairs = [segment((100 + 150 * k, 100), (150 + 150 * k, 1500)) for k in range(7)]
    image = draw_hairs((1200, 1600), hairs).astype(np.float32)
    cols = np.arange(1600, dtype=np.float32)
    shade = 1 - 0.5 / (1 + np.exp(np.clip(-(cols - 1100) / edge_px, -50, 50)))
    image = np.clip(image * shade[None, :, None], 0, 255).astype(np.uint8)
    result = analyze_shedding(image)
    assert not result.excluded_mask[600, 1400]
    # (A sharp shadow's edge is itself a line across the sheet, and may be traced as one more hair.)
    assert result.hair_count == 7 if edge_px > 10 else 7 <= result.hair_count <= 8


def _ring(centre, radius, n=80, start=0.0, stop=2 * np.pi):
    t = np.linspace(start, stop, n)
    return np.stack([centre[0] + radius * np.sin(t), centre[1] + radius * np.cos(t)], axis=1)


def test_small_rings_are_droplets_not_hairs():
    # A water droplet's rim is a small closed ring; a hair that closes on itself is long and smooth.
    rings = [_ring((60 + 80 * (k % 3), 80 + 120 * (k // 3)), 14.0) for k in range(6)]  # 7 mm round
    image = draw_hairs((400, 500), [segment((330, 40), (340, 460)), *rings])
    result = analyze_shedding(image, mm_per_px=0.08)
    assert result.hair_count == 1
    assert len(result.hairs) == 1


def test_a_droplet_rim_left_open_is_no_hair():
    # A droplet's rim 16 mm round (longer than `ring_max_mm`) with a gap where the rim fades: its ends meet,
    # so it is judged as the small ring it is, not as an open hair with two tips.
    rings = [
        _ring((90 + 150 * (k % 2), 90 + 160 * (k // 2)), 2.6 / 0.08, n=200, start=0.2, stop=2 * np.pi - 0.2)
        for k in range(4)
    ]
    image = draw_hairs((420, 520), [segment((380, 30), (390, 490)), *rings])
    result = analyze_shedding(image, mm_per_px=0.08)
    assert result.hair_count == 1
    assert len(result.hairs) == 1
    # (Judged as open pieces, each rim would count as a hair.)
    assert analyze_shedding(image, mm_per_px=0.08, loop_gap_share=0.0).hair_count == 5


def test_a_long_hair_curled_round_until_its_tips_nearly_meet_is_a_hair():
    hair = _ring((200, 250), 12.0 / 0.08, n=1500, start=0.05, stop=2 * np.pi - 0.05)  # 75 mm round
    result = analyze_shedding(draw_hairs((400, 500), [hair]), mm_per_px=0.08)
    assert result.hair_count == 1
    assert len(result.hairs) == 1
    assert result.hairs[0].length_mm == pytest.approx(arc_length(hair) * 0.08, rel=0.05)


def test_a_textured_surface_that_breaks_into_winding_pieces_is_not_countable():
    # A towel's loops: many short winding arcs, and longer ones that wind at the scale of the loops.
    rng = np.random.default_rng(5)
    loops = []
    for _ in range(260):
        centre = rng.uniform((10, 10), (590, 790))
        start = rng.uniform(0, 2 * np.pi)
        loops.append(_ring(centre, rng.uniform(5, 9), n=40, start=start, stop=start + rng.uniform(2.5, 4.5)))
    for _ in range(40):  # chains of loops, as long as a short hair
        centre = rng.uniform((40, 40), (560, 760))
        angle = rng.uniform(0, np.pi)
        t = np.linspace(0, 70, 300)
        wave = 6 * np.sin(t / 2.5)
        loops.append(
            np.stack(
                [
                    centre[0] + t * np.sin(angle) + wave * np.cos(angle),
                    centre[1] + t * np.cos(angle) - wave * np.sin(angle),
                ],
                axis=1,
            )
        )
    hairs = [segment((100, 30), (140, 770)), segment((500, 60), (420, 740))]
    image = draw_hairs((600, 800), [*hairs, *loops])
    result = analyze_shedding(image, mm_per_px=0.08)
    assert not result.countable
    assert any("texture" in p for p in result.problems)
    assert result.params["textured"]
    assert result.count_low <= 2 <= result.count_high


def test_a_towel_with_thousands_of_loose_ends_is_textured_before_it_is_traced():
    # Tracing a towel's loops takes most of the time, and none of their pieces is counted: a skeleton with
    # this many free ends goes straight to the towel's own line count, which gives the same answer.
    synth = pytest.importorskip("trichotrack.synth.shedding")
    towel = synth.shed_photo(
        1, shape=(1200, 1600), n_hairs=12, background="towel", hair_colour="black", card_format=None
    )
    traced = analyze_shedding(towel.image, mm_per_px=towel.mm_per_px)
    assert traced.params["textured"] and not traced.params["textured_before_tracing"]
    ends = traced.params["n_free_skeleton_ends"]
    assert ends > 100
    early = analyze_shedding(towel.image, mm_per_px=towel.mm_per_px, texture_many_ends=ends // 2)
    assert early.params["textured_before_tracing"]
    assert not early.countable
    assert (early.hair_count, early.count_low, early.count_high) == (
        traced.hair_count,
        traced.count_low,
        traced.count_high,
    )
    assert [h.length_mm for h in early.hairs] == [h.length_mm for h in traced.hairs]
    # Only the texture is blamed: the blur and faintness its pieces suggest are the towel's.
    assert len(early.problems) == 1 and "textured" in early.problems[0]
    # Hair on paper, even dense and curly, leaves far fewer free ends than the default.
    dense = synth.shed_photo(
        4, shape=(1200, 1600), n_hairs=120, background="white_paper", hair_colour="black", curl="curly"
    )
    plain = analyze_shedding(dense.image, mm_per_px=dense.mm_per_px)
    assert not plain.params["textured_before_tracing"]
    assert plain.params["n_free_skeleton_ends"] < DEFAULTS["texture_many_ends"] / 3


def test_tips_beside_another_hair_are_not_trusted_but_scaled():
    from trichotrack.measure.shedding import _clear_tips

    excluded = np.zeros((200, 300), bool)
    lone = (segment((20, 20), (20, 280)), False)
    crossing = (segment((60, 150), (180, 150)), False)
    touching = (segment((100, 20), (100, 146)), False)  # ends beside the crossing hair
    loop = (_ring((150, 60), 20), True)  # a loop has no ends
    paths = [lone, crossing, touching, loop]
    n_clear, cover, both_clear, cover_all = _clear_tips(paths, excluded, radius_px=6, reach_px=1000)
    assert n_clear == 5  # all but the end that touches the other hair
    assert both_clear == [True, True, False, False]
    # the surface within 6 px of a hair: roughly 13 px wide bands along 260 + 120 + 126 + 126 px of hair
    assert 0.1 < cover_all < 0.16
    assert cover == pytest.approx(cover_all)  # (every pixel is within reach of a hair)


def test_two_pieces_that_meet_end_to_end_are_one_hair_not_hidden_tips():
    # Five lone hairs and one hair broken at a sharp bend into two pieces whose ends meet: in a sparse photo
    # the ends beside another hair are scaled up as tips the other hair hides, but ends that meet end to
    # end are one hair's break, not two tips.
    hairs = [segment((40 + 60 * k, 40), (50 + 60 * k, 380)) for k in range(5)]
    hairs += [segment((60, 450), (200, 450)), segment((205, 455), (205, 590))]
    result = analyze_shedding(draw_hairs((360, 640), hairs), mm_per_px=0.08)
    assert len(result.hairs) == 7
    assert result.params["n_meeting_ends"] == 2
    assert result.hair_count == 6  # (7 when the two ends were taken for hidden tips)
    assert result.count_high >= 7


def test_the_share_beside_a_hair_is_measured_where_the_hairs_lie():
    # The same hairs on a sheet nine times as large: tips are as likely to lie beside another hair, though
    # most of the sheet is bare.
    from trichotrack.measure.shedding import _clear_tips

    paths = [
        (segment((20, 20), (20, 280)), False),
        (segment((60, 150), (180, 150)), False),
        (segment((100, 20), (100, 146)), False),
    ]
    _, small, _, small_all = _clear_tips(paths, np.zeros((200, 300), bool), radius_px=6, reach_px=15)
    _, large, _, large_all = _clear_tips(paths, np.zeros((600, 900), bool), radius_px=6, reach_px=15)
    assert large == pytest.approx(small, rel=0.05)
    assert large_all < small_all / 5


def test_the_rim_of_a_dark_object_is_no_hair():
    # A sink's drain: a dark disc whose rim is a line with another surface on either side.
    lines = [segment((40, 40), (60, 560)), segment((380, 60), (300, 560))]
    image = draw_hairs((450, 600), lines).astype(np.float32)
    rr, cc = np.ogrid[:450, :600]
    drain = np.hypot(rr - 220.0, cc - 300.0) <= 60
    image[drain] = 0.55 * image[drain]  # darker than the sink, lighter than a hair
    image = np.clip(image, 0, 255).astype(np.uint8)
    result = analyze_shedding(image, mm_per_px=0.08)
    assert result.params["n_edges"] >= 1
    assert result.hair_count == 2
    assert len(result.crossings_rc) == 0  # (the rim's pieces meet each other: no crossings of hairs)
    # (taken for a hair when edges are not looked for)
    assert analyze_shedding(image, mm_per_px=0.08, max_side_step=np.inf).hair_count > 2


def test_a_dark_hair_among_light_ones_is_not_taken_for_an_edge():
    dark_paper = (60, 60, 70)
    light = [segment((40, 40), (60, 560)), segment((380, 60), (300, 560))]
    image = draw_hairs((450, 600), light, background=dark_paper, hair=(225, 222, 215), width_px=2.0)
    image = draw_hairs(
        (450, 600),
        [segment((200, 40), (230, 560))],
        background=image.astype(np.float32),
        hair=(5, 5, 5),
        width_px=2.0,
        noise=0.0,
    )
    result = analyze_shedding(image, mm_per_px=0.08)
    assert result.params["n_edges"] == 0


def test_dark_hairs_among_light_ones_are_not_dropped_as_edges():
    # Grey hair on a pillowcase is a mix: the light-line filter sees a dark hair as light lines beside it,
    # with the hair on one side only; an edge has another surface farther out too.
    synth = pytest.importorskip("trichotrack.synth.shedding")
    photo = synth.shed_photo(
        2,
        shape=(900, 1200),
        n_hairs=25,
        background="pillowcase",
        hair_colour="grey",
        blur_px=0,
        motion_blur_px=0,
        exposure=1.0,
    )
    result = analyze_shedding(photo.image, mm_per_px=photo.mm_per_px)
    assert result.params["n_edges"] <= 5  # (11 when only the near side is looked at)
    assert abs(result.hair_count - photo.hair_count) <= 3


GREY_HAIR = (200, 198, 194)


def test_pale_grey_hairs_on_white_paper_are_not_countable():
    # Grey hair is a mix of pigmented and white hairs; the white ones do not show on white paper, so when
    # many of the hairs found are pale, the count says nothing of them.
    dark = [segment((40, 40), (60, 560)), segment((380, 60), (300, 560))]
    pale = [segment((120 + 60 * k, 40), (150 + 60 * k, 560)) for k in range(4)]
    image = draw_hairs((450, 600), dark)
    greyed = draw_hairs((450, 600), pale, background=image.astype(np.float32), hair=GREY_HAIR, noise=0.0)
    result = analyze_shedding(greyed, mm_per_px=0.08)
    assert result.hair_count == 6
    assert result.params["pale"]
    assert not result.countable
    assert any("pale" in p for p in result.problems)
    # The same hairs all dark are counted.
    darkened = draw_hairs((450, 600), pale, background=image.astype(np.float32), hair=BLACK, noise=0.0)
    result = analyze_shedding(darkened, mm_per_px=0.08)
    assert result.countable, result.problems
    assert result.hair_count == 6


def test_declared_grey_hair_is_never_countable_and_its_interval_reaches_the_hairs_that_do_not_show():
    # Four dark hairs on white paper are all that shows of a grey mix: the white ones leave no trace. Told
    # nothing, the engine counts four and calls them countable; told "grey", it keeps the count (of what
    # shows), says why it may be well short, and the interval reaches far above it.
    lines = [segment((40 + 90 * k, 40), (80 + 90 * k, 560)) for k in range(4)]
    image = draw_hairs((450, 600), lines)
    plain = analyze_shedding(image, mm_per_px=0.08)
    grey = analyze_shedding(image, mm_per_px=0.08, hair_colour="grey")
    assert plain.countable and plain.hair_count == 4
    assert not grey.countable
    assert grey.hair_count == 4
    assert grey.count_high >= 2 * 4
    assert any("Grey hair mixes dark and white hairs" in p for p in grey.problems)
    assert grey.params["hair_colour"] == "grey"
    assert plain.params["hair_colour"] is None


def test_declared_white_hair_on_white_paper_is_not_counted_from_the_lint_that_does_show():
    # Dark lint on white paper: with white hair declared, what shows is not the hair.
    lint = [segment((60, 40), (70, 300)), segment((200, 100), (260, 420))]
    image = draw_hairs((400, 500), lint)
    assert analyze_shedding(image, mm_per_px=0.08).countable
    result = analyze_shedding(image, mm_per_px=0.08, hair_colour="white")
    assert not result.countable
    assert "Light hair barely shows on a light surface; photograph it on dark paper." in result.problems
    # ... and when nothing shows at all, the same advice.
    empty = analyze_shedding(draw_hairs((400, 500), []), mm_per_px=0.08, hair_colour="white")
    assert empty.hair_count == 0 and not empty.countable
    assert "Light hair barely shows on a light surface; photograph it on dark paper." in empty.problems


def test_declared_dark_hair_on_a_light_surface_is_measured_as_without_it():
    lines = [segment((40 + 90 * k, 40), (80 + 90 * k, 560)) for k in range(4)]
    image = draw_hairs((450, 600), lines)
    plain = analyze_shedding(image, mm_per_px=0.08)
    for colour in ("black", "brown", "red"):
        told = analyze_shedding(image, mm_per_px=0.08, hair_colour=colour)
        assert (told.hair_count, told.count_low, told.count_high, told.countable, told.problems) == (
            plain.hair_count,
            plain.count_low,
            plain.count_high,
            plain.countable,
            plain.problems,
        )


def test_declared_dark_hair_on_dark_paper_is_not_countable():
    lines = [segment((40 + 90 * k, 40), (80 + 90 * k, 560)) for k in range(4)]
    image = draw_hairs((450, 600), lines, background=(40, 38, 36), hair=(20, 18, 16), noise=1.0)
    result = analyze_shedding(image, mm_per_px=0.08, hair_colour="black")
    assert not result.countable
    assert "Dark hair barely shows on a dark surface; photograph it on white paper." in result.problems


def test_an_unknown_hair_colour_is_refused():
    with pytest.raises(ValueError, match="hair_colour must be one of"):
        analyze_shedding(draw_hairs((100, 100), []), hair_colour="auburn")


def test_medians_and_edge_shares_of_many_pieces_are_those_of_each():
    from trichotrack.measure import shedding

    rng = np.random.default_rng(0)
    counts = rng.integers(1, 40, 300)
    values = rng.normal(size=counts.sum()).astype(np.float32)
    values[::5] = np.round(values[::5])  # ties
    pieces = np.split(values, np.cumsum(counts)[:-1])
    np.testing.assert_array_equal(shedding._group_medians(values, counts), [np.median(p) for p in pieces])

    zone = np.zeros((50, 50), bool)
    zone[:, :10] = True
    paths = [
        np.stack([np.linspace(5, 45, 20), np.linspace(c0, c1, 20)], axis=1)
        for c0, c1 in [(2, 8), (2, 30), (20, 40), (9, 9.6), (-3, 4)]
    ]
    assert shedding._along_edge(paths, zone) == [True, False, False, True, True]


def _wavy(start_rc, length_px, *, angle, amplitude_px, wavelength_px, n=400):
    t = np.linspace(0, length_px, n)
    wave = amplitude_px * np.sin(2 * np.pi * t / wavelength_px)
    return np.stack(
        [
            start_rc[0] + t * np.sin(angle) + wave * np.cos(angle),
            start_rc[1] + t * np.cos(angle) - wave * np.sin(angle),
        ],
        axis=1,
    )


def test_a_texture_whose_loops_chain_into_long_winding_pieces_is_not_countable():
    # Where a towel's loops touch they chain into pieces as long as hairs, more of them than short ones;
    # they still wind at the scale of the loops, which no hair lying on a surface does.
    rng = np.random.default_rng(7)
    chains = [
        _wavy(
            rng.uniform((40, 40), (560, 700)),
            90,
            angle=rng.uniform(0, np.pi),
            amplitude_px=6,
            wavelength_px=15,
        )
        for _ in range(60)
    ]
    hairs = [segment((100, 30), (140, 770)), segment((500, 60), (420, 740))]
    image = draw_hairs((600, 800), [*hairs, *chains])
    result = analyze_shedding(image, mm_per_px=0.08)
    assert (
        result.params["n_long_candidates"] >= result.params["n_short_candidates"]
    )  # (the old rule's blind spot)
    assert result.params["textured"]
    assert not result.countable
    assert any("textured" in p for p in result.problems)
    # The texture's pieces may be all that was found: the interval reaches down to none.
    assert result.count_low == 0
    assert result.count_high >= 2


def test_curly_hairs_on_paper_are_not_a_texture():
    # Wavy hairs (curls of 2.5 mm radius at the crests) are smooth at the scale of a towel's loops.
    hairs = [_wavy((30 + 45 * k, 40), 700, angle=0.0, amplitude_px=8, wavelength_px=100) for k in range(12)]
    image = draw_hairs((600, 800), hairs)
    result = analyze_shedding(image, mm_per_px=0.08)
    assert not result.params["textured"]
    assert result.params["n_long_winding"] == 0
    assert result.countable, result.problems
    assert result.hair_count == 12


@pytest.mark.parametrize(
    ("seed", "n_hairs", "says"),
    [
        (4, 25, "curl or cross"),  # strong black curls, broken where they cross: not faint
        (1, 40, "barely stand out"),  # weaker lines in as many pieces: faint
    ],
)
def test_hairs_in_short_pieces_say_why(seed, n_hairs, says):
    synth = pytest.importorskip("trichotrack.synth.shedding")
    photo = synth.shed_photo(
        seed,
        shape=(1200, 1600),
        n_hairs=n_hairs,
        background="white_paper",
        hair_colour="black",
        curl="curly",
        blur_px=0,
        motion_blur_px=0,
        exposure=1.0,
        clump=False,
    )
    result = analyze_shedding(photo.image, mm_per_px=photo.mm_per_px)
    assert not result.countable
    assert [p for p in result.problems if says in p], result.problems
    other = "barely stand out" if says == "curl or cross" else "curl or cross"
    assert not [p for p in result.problems if other in p]
    assert result.count_low <= photo.hair_count <= result.count_high


def _reference_straightness(path, *, window_px, short_ok=False):
    """One piece at a time, as `_straightness` judges each."""
    arc = np.r_[0, np.cumsum(np.hypot(*np.diff(path, axis=0).T))]
    if arc[-1] < 2 * window_px:
        if not short_ok or arc[-1] < 4:
            return float("nan")
        window_px = arc[-1] / 2
    s = np.arange(0, arc[-1] - window_px, window_px / 4)
    a = np.stack([np.interp(s, arc, path[:, 0]), np.interp(s, arc, path[:, 1])], axis=1)
    b = np.stack(
        [np.interp(s + window_px, arc, path[:, 0]), np.interp(s + window_px, arc, path[:, 1])], axis=1
    )
    return float(np.median(np.hypot(*(b - a).T) / window_px))


def test_straightness_of_many_pieces_is_that_of_each():
    from trichotrack.measure.shedding import _arc_lengths, _straightness

    rng = np.random.default_rng(3)
    paths = [np.cumsum(rng.normal(0, 1, (int(n), 2)), axis=0) for n in rng.integers(2, 150, 200)]
    arcs = _arc_lengths(paths)
    for path, arc in zip(paths, arcs, strict=True):
        np.testing.assert_array_equal(arc, np.r_[0, np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
    for window in (3.0, 12.5):
        for short_ok in (False, True):
            got = _straightness(paths, arcs, window_px=window, short_ok=short_ok)
            want = [_reference_straightness(p, window_px=window, short_ok=short_ok) for p in paths]
            np.testing.assert_array_equal(got, want)
    which = np.arange(len(paths)) % 2 == 0
    assert np.isnan(_straightness(paths, arcs, window_px=3.0, which=which)[~which]).all()


def test_batch_medians_are_numpys():
    from trichotrack.measure.shedding import _group_medians, _median_lum, _row_medians

    rng = np.random.default_rng(4)
    counts = rng.integers(1, 40, 300)
    for dtype in (np.float32, np.float64):
        values = rng.integers(0, 20, counts.sum()).astype(dtype) / 3  # (ties, too)
        starts = np.cumsum(counts) - counts
        want = [np.median(values[s : s + n]) for s, n in zip(starts, counts, strict=True)]
        np.testing.assert_array_equal(_group_medians(values, counts), want)
        rows = rng.random((100, 6)).astype(dtype)
        np.testing.assert_array_equal(_row_medians(rows), np.median(rows, axis=1))
    for n in (1, 2, 7, 1000):
        work = rng.integers(0, 256, (n, 3), dtype=np.uint8)
        sums = work.astype(np.uint16).sum(axis=1, dtype=np.uint16)
        assert _median_lum(sums) == float(np.median(work.mean(axis=1, dtype=np.float32)))


def test_seeded_lines_are_the_hysteresis_without_dust():
    from trichotrack.measure import ridge
    from trichotrack.measure.shedding import _seeded_lines

    rng = np.random.default_rng(5)
    weak = cv2.dilate((rng.random((120, 160)) > 0.97).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    weak[60, 10:80] = True
    strong = weak & (rng.random(weak.shape) > 0.8)
    weak_before = weak.copy()
    kept = _seeded_lines(weak, strong, min_extent_px=10)
    want = ridge.hysteresis(weak, strong)
    _n, labels, stats, _ = cv2.connectedComponentsWithStats(want.astype(np.uint8), connectivity=8)
    small = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) < 10
    want &= ~small[labels]
    np.testing.assert_array_equal(kept, want)
    assert kept[60, 10:80].all()
    np.testing.assert_array_equal(weak, weak_before)
