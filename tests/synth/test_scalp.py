"""Synthetic global scalp photos: the truth they carry is exact and follows the scale definitions."""

import itertools

import numpy as np
import pytest

from trichotrack.synth.scalp import (
    HAIR_COLOURS,
    SKIN_TONES,
    ludwig_crown_density,
    norwood_bald_mask,
    render_head,
    top_roi_mask,
)

SHAPE = (240, 240)
HEAD = {"center_rc": (120.0, 120.0), "semi_axes_px": (100.0, 100.0)}


def test_same_seed_same_photo_and_params_regenerate_it():
    a = render_head(7, shape=SHAPE, norwood_stage=4)
    b = render_head(**a.params)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.scalp_visible, b.scalp_visible)
    assert a.image.shape == (*SHAPE, 3) and a.image.dtype == np.uint8


def test_norwood_bald_area_grows_with_stage():
    areas = [norwood_bald_mask(stage, SHAPE, **HEAD).sum() for stage in range(1, 8)]
    assert areas[0] == 0
    assert all(later > earlier for earlier, later in itertools.pairwise(areas))


def test_norwood_top_roi_is_bare_from_stage_6_and_covered_below_4():
    roi = top_roi_mask(SHAPE, **HEAD)
    fractions = {s: norwood_bald_mask(s, SHAPE, **HEAD)[roi].mean() for s in range(1, 8)}
    assert fractions[1] == fractions[2] == fractions[3] == 0
    assert 0.05 < fractions[4] < fractions[5] < 0.6
    assert fractions[6] > 0.95 and fractions[7] > 0.95


def test_full_hair_hides_the_scalp_and_a_bald_disc_shows_it():
    full = render_head(1, shape=SHAPE)
    assert full.scalp_visible[full.head].mean() < 0.03
    r0, c0 = full.head_center_rc
    disc = render_head(1, shape=SHAPE, bald_disc=(r0, c0, 40.0))
    rr, cc = np.ogrid[: SHAPE[0], : SHAPE[1]]
    inner = (rr - r0) ** 2 + (cc - c0) ** 2 < 6**2  # strands are at most 30 px long: none reaches here
    assert disc.bald.sum() == pytest.approx(np.pi * 40**2, rel=0.05)
    assert disc.scalp_visible[inner].all()
    assert disc.visible_fraction(disc.bald) > 0.6


@pytest.mark.parametrize("skin", sorted(SKIN_TONES))
def test_every_skin_tone_renders(skin):
    render = render_head(2, shape=SHAPE, skin=skin, hair="black", norwood_stage=7)
    assert render.scalp_visible[render.bald].mean() > 0.7


def test_hair_colours_are_all_known():
    assert {"black", "grey", "white", "blonde"} <= set(HAIR_COLOURS)


def test_ludwig_thins_the_crown_in_order():
    densities = [ludwig_crown_density(g) for g in range(4)]
    assert densities == sorted(densities, reverse=True)
    roi_fraction = []
    for grade in range(4):
        render = render_head(3, shape=SHAPE, ludwig_grade=grade)
        roi = top_roi_mask(SHAPE, center_rc=render.head_center_rc, semi_axes_px=render.head_semi_axes_px)
        roi_fraction.append(render.visible_fraction(roi))
    assert roi_fraction == sorted(roi_fraction)
    assert roi_fraction[3] > roi_fraction[0] + 0.2


def test_front_and_part_views_carry_their_truth():
    front = render_head(4, shape=SHAPE, view="front", hairline_depth_fraction=0.25)
    assert front.hairline_depth_fraction == 0.25 and front.part_width_px is None
    part = render_head(4, shape=SHAPE, view="part", part_width_px=10)
    assert part.part_width_px == 10 and part.hairline_depth_fraction is None
    column = part.bald[:, round(part.head_center_rc[1])]
    assert column[part.head[:, round(part.head_center_rc[1])]].all()


@pytest.mark.parametrize("view", ["front", "part"])
def test_seen_from_the_front_or_over_a_part_the_light_comes_from_above(view):
    """The room's light falls from above: the background is brighter at the top than at the bottom
    (generator 1.1 made it brightest across the middle, so the orientation cue had nothing to find)."""
    differences = []
    for seed in range(8):
        render = render_head(seed, shape=SHAPE, view=view, noise_sd=0.0, jpeg_quality=None)
        lightness = render.image.astype(float).mean(axis=2)
        background = ~render.head
        band = SHAPE[0] // 10
        top = lightness[:band][background[:band]].mean()
        bottom = lightness[-band:][background[-band:]].mean()
        differences.append(top - bottom)
    assert min(differences) >= 0
    assert np.mean(differences) > 10


@pytest.mark.parametrize(
    "kwargs",
    [
        {"view": "side"},
        {"skin": "green"},
        {"hair": "purple"},
        {"density_per_kpx2": -1.0},
        {"hairline_depth_fraction": 1.5},
        {"shape": (20, 20)},
    ],
)
def test_bad_arguments_raise_naming_the_value(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name if name != "shape" else "shape"):
        render_head(0, **kwargs)


def test_bad_stage_and_grade_raise():
    with pytest.raises(ValueError, match="stage"):
        norwood_bald_mask(8, SHAPE, **HEAD)
    with pytest.raises(ValueError, match="grade"):
        ludwig_crown_density(4)
