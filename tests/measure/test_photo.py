"""The photo pipeline picks the scale the way the CLI and the app rely on."""

import numpy as np
import pytest

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
    lengths = sorted(h.length_mm for h in measured.result.hairs if not h.touches_border)
    truth = sorted(h.length_mm for h in card_photo.hairs)
    assert lengths and truth
    assert np.median(lengths) == pytest.approx(np.median(truth), rel=0.1)


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
