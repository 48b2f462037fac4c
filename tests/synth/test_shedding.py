"""The synthetic shed-hair photos: reproducible, with truth that matches the pixels."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from trichotrack.synth.shedding import (
    BACKGROUNDS,
    HAIR_COLOURS,
    HairTruth,
    ShedPhoto,
    count_crossings,
    shed_photo,
    shed_photo_set,
    short_hair_fraction,
)

SMALL = (600, 800)

#: a clean camera: no tilt, even light, little noise, no sharpening, no extra blur
CLEAN = {
    "tilt_deg": 0.0,
    "roll_deg": 0.0,
    "uneven_light": 0.0,
    "shadow": False,
    "hair_shadow": 0.0,
    "blur_px": 0.0,
    "motion_blur_px": 0.0,
    "noise": 1e-5,
    "sharpen": 0.0,
    "exposure": 1.0,
    "white_balance": [1.0, 1.0, 1.0],
    "jpeg_quality": 95,
    "distractors": 0,
    "optics_sigma_px": 0.5,
}


def _map(h, xy):
    p = np.c_[xy, np.ones(len(xy))] @ h.T
    return p[:, :2] / p[:, 2:]


def _gray(image):
    return image.astype(float).mean(axis=2)


def _profile(gray, rc, normal_rc, offsets):
    """Bilinear samples of `gray` at rc + t * normal for each t in offsets, averaged along the points."""
    from scipy import ndimage as ndi

    out = []
    for t in offsets:
        p = rc + t * normal_rc
        out.append(ndi.map_coordinates(gray, p.T, order=1).mean())
    return np.array(out)


@pytest.fixture(scope="module")
def photo() -> ShedPhoto:
    return shed_photo(3, shape=SMALL, n_hairs=12, background="white_paper", hair_colour="black", curl="mixed")


# ---------------------------------------------------------------------------------------------- basics


def test_it_returns_an_rgb_photo_with_truth(photo):
    assert photo.image.shape == (*SMALL, 3)
    assert photo.image.dtype == np.uint8
    assert photo.hair_count == len(photo.hairs) == 12
    assert all(isinstance(h, HairTruth) for h in photo.hairs)
    assert photo.background == "white_paper"
    assert photo.card is None
    assert not photo.clumped
    assert photo.crossings >= 0


def test_same_seed_gives_the_same_photo():
    a = shed_photo(11, shape=SMALL, n_hairs=8)
    b = shed_photo(11, shape=SMALL, n_hairs=8)
    assert np.array_equal(a.image, b.image)
    assert a.params == b.params
    for ha, hb in zip(a.hairs, b.hairs, strict=True):
        assert np.array_equal(ha.centerline_mm, hb.centerline_mm)


def test_another_seed_gives_another_photo():
    a = shed_photo(11, shape=SMALL, n_hairs=8, background="towel")
    b = shed_photo(12, shape=SMALL, n_hairs=8, background="towel")
    assert not np.array_equal(a.image, b.image)


def test_params_are_json_and_regenerate_the_photo():
    a = shed_photo(21, shape=SMALL, n_hairs=6)
    params = json.loads(json.dumps(a.params))
    b = shed_photo(**params)
    assert np.array_equal(a.image, b.image)
    assert a.hair_count == b.hair_count and a.crossings == b.crossings


def test_passing_a_drawn_value_back_changes_nothing():
    a = shed_photo(5, shape=SMALL, n_hairs=6)
    b = shed_photo(5, shape=SMALL, n_hairs=6, background=a.params["background"], noise=a.params["noise"])
    assert np.array_equal(a.image, b.image)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("background", "carpet"),
        ("hair_colour", "green"),
        ("curl", "frizzy"),
        ("n_hairs", -1),
        ("short_fraction", 1.5),
        ("tilt_deg", 60.0),
        ("jpeg_quality", 0),
        ("px_per_mm", -3.0),
        ("width_mm", 0.0),
    ],
)
def test_it_rejects_bad_options(option, value):
    with pytest.raises(ValueError, match=option):
        shed_photo(0, shape=SMALL, **{option: value})


def test_given_centre_lines_are_not_modified():
    line = np.array([[-5.0, 0.0], [5.0, 1.0]])
    before = line.copy()
    p = shed_photo(0, shape=SMALL, centerlines_mm=[line], **CLEAN)
    assert np.array_equal(line, before)
    assert p.hair_count == 1 and p.hairs[0].length_mm == pytest.approx(np.hypot(10, 1))


def test_no_hairs_is_a_valid_photo():
    p = shed_photo(0, shape=SMALL, n_hairs=0)
    assert p.hair_count == 0 and p.crossings == 0 and not p.clumped


def test_it_rejects_a_tiny_shape():
    with pytest.raises(ValueError, match="shape"):
        shed_photo(0, shape=(20, 30))


# ---------------------------------------------------------------------------------------------- truth


def test_length_is_the_arc_length_of_the_centre_line(photo):
    for h in photo.hairs:
        d = np.diff(h.centerline_mm, axis=0)
        assert h.length_mm == pytest.approx(np.hypot(d[:, 0], d[:, 1]).sum(), rel=1e-12)
        assert h.length_mm > 4.0


def test_centre_lines_in_pixels_and_mm_agree_through_the_homography(photo):
    h = photo.plane_mm_from_image_px
    for hair in photo.hairs:
        mm = _map(h, hair.centerline_rc[:, ::-1])
        np.testing.assert_allclose(mm, hair.centerline_mm, atol=1e-6)


def test_centre_lines_are_sampled_at_most_one_pixel_apart(photo):
    for hair in photo.hairs:
        steps = np.hypot(*np.diff(hair.centerline_rc, axis=0).T)
        assert steps.max() <= 1.0


def test_mm_per_px_is_the_scale_at_the_image_centre():
    p = shed_photo(8, shape=SMALL, n_hairs=1, tilt_deg=20.0, px_per_mm=12.5)
    assert p.mm_per_px == pytest.approx(1 / 12.5, rel=1e-6)
    c = np.array([[(SMALL[1] - 1) / 2, (SMALL[0] - 1) / 2]])
    eps = 0.5
    pts = _map(p.plane_mm_from_image_px, np.r_[c, c + np.array([eps, 0]), c + np.array([0, eps])])
    jac = np.c_[pts[1] - pts[0], pts[2] - pts[0]] / eps
    assert np.sqrt(abs(np.linalg.det(jac))) == pytest.approx(p.mm_per_px, rel=1e-3)
    # the tilt makes the scale differ across the frame
    corner = _map(p.plane_mm_from_image_px, np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    far = _map(p.plane_mm_from_image_px, np.array([[799.0, 599.0], [800.0, 599.0], [799.0, 600.0]]))
    s0 = np.sqrt(abs(np.linalg.det(np.c_[corner[1] - corner[0], corner[2] - corner[0]])))
    s1 = np.sqrt(abs(np.linalg.det(np.c_[far[1] - far[0], far[2] - far[0]])))
    assert abs(s0 - s1) / s0 > 0.02


def test_hairs_lie_inside_the_frame(photo):
    m, n = SMALL
    for hair in photo.hairs:
        assert not hair.cut_by_frame
        assert hair.centerline_rc.min() >= 0
        assert hair.centerline_rc[:, 0].max() <= m - 1
        assert hair.centerline_rc[:, 1].max() <= n - 1


def test_cut_hairs_run_out_of_the_frame_and_say_so():
    p = shed_photo(4, shape=SMALL, n_hairs=30, cut_hairs=True, background="towel")
    m, n = SMALL
    cut = [h for h in p.hairs if h.cut_by_frame]
    assert cut
    for hair in p.hairs:
        rc = hair.centerline_rc
        outside = (rc.min() < 0) or (rc[:, 0].max() > m - 1) or (rc[:, 1].max() > n - 1)
        assert hair.cut_by_frame == outside


def test_hairs_are_one_to_two_pixels_wide_at_12_mp_scale(photo):
    mm_per_px = photo.mm_per_px
    widths_px = np.array([h.width_mm for h in photo.hairs]) / mm_per_px
    assert widths_px.min() >= 0.4
    assert widths_px.max() <= 2.0


def test_a_dark_hair_is_darker_than_the_paper_along_its_centre_line(photo):
    gray = _gray(photo.image)
    for hair in photo.hairs:
        rc = hair.centerline_rc
        g = np.gradient(rc, axis=0)
        nrm = np.c_[g[:, 1], -g[:, 0]] / np.hypot(g[:, 0], g[:, 1])[:, None]
        centre, side = _profile(gray, rc, nrm, [0.0, 4.0])[0], _profile(gray, rc, nrm, [-4.0, 4.0]).mean()
        assert centre < side - 10, hair.length_mm


def _straight(**options):
    line = np.array([[-15.0, -3.0], [15.0, 3.0]])
    base = {**CLEAN, "background": "white_paper", "hair_colour": "black", "px_per_mm": 13.0}
    return shed_photo(1, shape=(300, 500), centerlines_mm=[line], **{**base, **options})


def _cross_profile(p, offsets):
    hair = p.hairs[0]
    rc = hair.centerline_rc[len(hair.centerline_rc) // 4 : 3 * len(hair.centerline_rc) // 4]
    g = np.gradient(rc, axis=0)
    nrm = np.c_[g[:, 1], -g[:, 0]] / np.hypot(g[:, 0], g[:, 1])[:, None]
    return _profile(_gray(p.image), rc, nrm, offsets)


def test_a_rendered_hair_is_one_to_two_pixels_wide():
    p = _straight(width_mm=0.09)  # 1.2 px
    offsets = np.arange(-6, 6.01, 0.25)
    prof = _cross_profile(p, offsets)
    paper = np.median(np.r_[prof[:8], prof[-8:]])
    dark = paper - prof
    assert dark.max() > 60  # clearly visible
    half = offsets[dark > dark.max() / 2]
    fwhm = half.max() - half.min() + 0.25
    assert 1.0 <= fwhm <= 2.75
    assert dark[np.abs(offsets) >= 3].max() < 0.15 * dark.max()  # no 3-px line


@pytest.mark.parametrize("roll_deg", [3.0, 87.0])  # a nearly horizontal and a nearly vertical hair
def test_the_centre_line_is_where_the_ink_is_to_a_tenth_of_a_pixel(roll_deg):
    offsets = np.arange(-4, 4.01, 0.25)
    p = _straight(width_mm=0.1, tilt_deg=10.0, tilt_axis_deg=70.0, roll_deg=roll_deg)
    prof = _cross_profile(p, offsets)
    dark = np.clip(np.median(np.r_[prof[:5], prof[-5:]]) - prof, 0, None)
    assert abs((dark * offsets).sum() / dark.sum()) < 0.1


def test_coverage_is_proportional_to_sub_pixel_width():
    offsets = np.arange(-5, 5.01, 0.25)
    ink = []
    for width in (0.04, 0.08):  # 0.5 and 1.0 px: both thinner than a pixel, drawn by coverage
        prof = _cross_profile(_straight(width_mm=width, hair_colour="dark_brown"), offsets)
        paper = np.median(np.r_[prof[:6], prof[-6:]])
        ink.append((paper - prof).sum())
    assert ink[1] / ink[0] == pytest.approx(2.0, rel=0.2)


def test_white_hair_is_lighter_than_dark_paper():
    p = _straight(background="dark_paper", hair_colour="white")
    prof = _cross_profile(p, np.array([-5.0, 0.0, 5.0]))
    assert prof[1] > max(prof[0], prof[2]) + 15


def test_centre_lines_given_in_mm_land_where_the_homography_says():
    p = _straight(tilt_deg=15.0, tilt_axis_deg=30.0, roll_deg=10.0)
    hair = p.hairs[0]
    assert hair.length_mm == pytest.approx(np.hypot(30, 6), rel=1e-6)
    # the darkest pixels are on the centre line
    gray = _gray(p.image)
    r, c = np.round(hair.centerline_rc[::10]).astype(int).T
    assert gray[r, c].mean() < np.median(gray) - 40


# ---------------------------------------------------------------------------------------------- crossings


def test_an_x_has_one_crossing():
    x = [np.array([[-10.0, -10.0], [10.0, 10.0]]), np.array([[-10.0, 10.0], [10.0, -10.0]])]
    assert count_crossings(x) == 1
    p = shed_photo(2, shape=SMALL, centerlines_mm=x, **CLEAN)
    assert p.crossings == 1
    assert p.hair_count == 2


def test_parallel_hairs_do_not_cross():
    lines = [np.array([[-10.0, 0.0], [10.0, 0.0]]), np.array([[-10.0, 0.1], [10.0, 0.1]])]
    assert count_crossings(lines) == 0


def test_a_hash_has_four_crossings_and_a_loop_one():
    lines = [np.array([[-10.0, y], [10.0, y]]) for y in (-3.0, 3.0)]
    lines += [np.array([[x, -10.0], [x, 10.0]]) for x in (-3.0, 3.0)]
    assert count_crossings(lines) == 4
    t = np.linspace(-0.5, 0.5, 401)
    loop = np.c_[10 * t - 4 * np.sin(2 * np.pi * t), 4 * (1 - np.cos(2 * np.pi * t))]  # a curl over itself
    assert count_crossings([loop]) == 1


def test_crossings_match_a_brute_force_count():
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(20):
        heading = np.cumsum(rng.normal(0, 0.2, 120))
        lines.append(np.c_[np.cos(heading), np.sin(heading)].cumsum(axis=0) * 0.3 + rng.uniform(0, 12, 2))
    p = np.concatenate([line[:-1] for line in lines])
    r = np.concatenate([np.diff(line, axis=0) for line in lines])
    owner = np.concatenate([np.full(len(line) - 1, k) for k, line in enumerate(lines)])
    index = np.concatenate([np.arange(len(line) - 1) for line in lines])
    brute = 0
    for a in range(len(p) - 1):
        q, s = p[a + 1 :], r[a + 1 :]
        den = r[a, 0] * s[:, 1] - r[a, 1] * s[:, 0]
        qp = q - p[a]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / den
            u = (qp[:, 0] * r[a, 1] - qp[:, 1] * r[a, 0]) / den
        neighbour = (owner[a + 1 :] == owner[a]) & (np.abs(index[a + 1 :] - index[a]) <= 1)
        brute += int(((den != 0) & (t >= 0) & (t < 1) & (u >= 0) & (u < 1) & ~neighbour).sum())
    assert count_crossings(lines, step_mm=None) == brute
    assert brute > 20


def test_random_photos_count_crossings_of_their_own_centre_lines(photo):
    assert photo.crossings == count_crossings([h.centerline_mm for h in photo.hairs])
    assert photo.crossings > 0


# ---------------------------------------------------------------------------------------------- content


def test_a_clump_is_flagged_and_counted():
    p = shed_photo(6, shape=SMALL, n_hairs=5, clump=True, n_clump_hairs=20)
    assert p.clumped
    in_clump = [h for h in p.hairs if h.in_clump]
    assert len(in_clump) >= 15
    assert p.hair_count == len(p.hairs) == 5 + len(in_clump)
    # the clump is a dense tangle: its hairs stay close together
    centres = np.array([h.centerline_mm.mean(axis=0) for h in in_clump])
    assert np.ptp(centres, axis=0).max() < 40


def test_no_clump_unless_asked(photo):
    assert not any(h.in_clump for h in photo.hairs)


def test_short_fraction_sets_the_share_of_short_hairs():
    p = shed_photo(9, shape=(1500, 2000), n_hairs=40, short_fraction=0.5, px_per_mm=10.0)
    assert short_hair_fraction(p.hairs) == pytest.approx(0.5, abs=0.1)
    q = shed_photo(9, shape=(1500, 2000), n_hairs=40, short_fraction=0.0, px_per_mm=10.0)
    assert short_hair_fraction(q.hairs) == 0.0
    assert min(h.length_mm for h in p.hairs) >= 4.9


def test_short_hair_fraction():
    assert short_hair_fraction([10.0, 20.0, 40.0, 100.0]) == 0.5
    assert short_hair_fraction([10.0, 20.0, 40.0, 100.0], cutoff_mm=15.0) == 0.25
    assert short_hair_fraction([]) == 0.0
    with pytest.raises(ValueError, match="cutoff_mm"):
        short_hair_fraction([1.0], cutoff_mm=0)


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_each_background_renders(background):
    p = shed_photo(7, shape=SMALL, n_hairs=4, background=background)
    assert p.background == background
    assert p.image.shape == (*SMALL, 3)
    assert p.image.std() > 1.0
    assert (p.card is not None) == (background == "card")


def test_the_card_is_in_view_and_hairs_lie_on_its_field():
    from trichotrack.measure.card import card_layout

    p = shed_photo(3, shape=(900, 1200), n_hairs=10, background="card", card_format="letter")
    assert p.card == "letter"
    top, left, bottom, right = card_layout("letter").hair_area_mm
    for h in p.hairs:
        x, y = h.centerline_mm.T
        assert x.min() >= left and x.max() <= right and y.min() >= top and y.max() <= bottom


@pytest.mark.parametrize("colour", HAIR_COLOURS)
def test_each_hair_colour_renders(colour):
    p = shed_photo(7, shape=SMALL, n_hairs=4, hair_colour=colour, background="white_paper")
    assert all(h.colour in HAIR_COLOURS for h in p.hairs)
    if colour != "grey":
        assert {h.colour for h in p.hairs} == {colour}


def test_the_set_is_reproducible_and_varied():
    a = list(shed_photo_set(6, seed=1, shape=(300, 400), n_hairs=3))
    b = list(shed_photo_set(6, seed=1, shape=(300, 400), n_hairs=3))
    assert [p.params for p in a] == [p.params for p in b]
    assert len({p.background for p in a}) >= 4
    assert len({p.params["hair_colour"] for p in a}) >= 4
    assert all(p.hair_count == 3 for p in a)


@pytest.mark.slow
def test_a_12_mp_photo_is_quick():
    start = time.perf_counter()
    p = shed_photo(1, n_hairs=100, background="towel")
    elapsed = time.perf_counter() - start
    assert p.image.shape == (3000, 4000, 3)
    assert 60 <= 1 / p.mm_per_px <= 200 or 8 <= 1 / p.mm_per_px <= 16
    assert elapsed < 12.0  # about 3 s on a free core; generous for a shared machine
