"""The synthetic trichoscopy images: exact, reproducible truth."""

import numpy as np
import pytest

from trichotrack.synth.trichoscopy import trichoscopy_image


def test_it_is_reproducible_from_its_params():
    first = trichoscopy_image(3, shape=(256, 320), n_units=4)
    again = trichoscopy_image(**first.params)
    assert np.array_equal(first.image, again.image)
    assert first.hair_count == again.hair_count


def test_truth_adds_up():
    image = trichoscopy_image(5, n_units=9, vellus_share=0.3)
    assert image.image.shape == (1024, 1280, 3) and image.image.dtype == np.uint8
    assert image.hair_count == len(image.hairs)
    units = {hair.unit for hair in image.hairs}
    sizes = [sum(h.unit == u for h in image.hairs) for u in units]
    assert image.unit_sizes == {
        "1": sizes.count(1),
        "2": sizes.count(2),
        "3+": sum(s >= 3 for s in sizes),
    }
    assert image.field_mm2 == pytest.approx(1024 * 1280 * 0.0028**2)
    assert image.density_per_cm2 == pytest.approx(image.hair_count / (image.field_mm2 / 100))
    widths = np.array([h.width_um for h in image.hairs])
    assert image.thin_hair_fraction == pytest.approx(np.mean(widths < 30))
    assert image.vellus_fraction == pytest.approx(np.mean(widths <= 40))
    for hair in image.hairs:
        assert hair.width_px == pytest.approx(hair.width_um / 1000 / 0.0028)


def test_every_hair_lies_inside_the_field_below_the_header():
    image = trichoscopy_image(11, n_units=10, header=True, clipped=False)
    rows, cols = image.image.shape[:2]
    assert image.header_rows > 0
    for hair in image.hairs:
        line = hair.centerline_rc
        assert line[:, 0].min() >= image.header_rows and line[:, 0].max() < rows
        assert line[:, 1].min() >= 0 and line[:, 1].max() < cols


def test_overlays_burn_in_a_footer_a_scale_bar_and_a_label_clear_of_the_hairs():
    image = trichoscopy_image(4, n_units=12, overlays=True)
    rows = image.image.shape[0]
    assert image.footer_rows == 32 and (image.image[-32:] == 220).all()
    top, bottom, left, right = image.label_box
    box = image.image[top:bottom, left:right].astype(int)
    assert (box.max(axis=2) >= 240).mean() > 0.05  # white text ...
    assert (np.abs(box - (70, 66, 72)).max(axis=2) <= 2).mean() > 0.5  # ... on a dark grey box
    for hair in image.hairs:
        r, c = hair.centerline_rc.T
        assert r.max() < rows - image.footer_rows
        assert not ((r >= top) & (r <= bottom) & (c >= left) & (c <= right)).any()
    assert trichoscopy_image(4, n_units=12).label_box is None


def test_a_hair_is_dark_on_its_centre_line():
    image = trichoscopy_image(2, n_units=3, blur_px=0.5, noise=0.0, skin="fair", hair="black")
    hair = max(image.hairs, key=lambda h: h.width_px)
    r, c = np.round(hair.centerline_rc[len(hair.centerline_rc) // 2]).astype(int)
    assert image.image[r, c].max() < 120
    assert np.median(image.image.max(axis=2)) > 170  # the skin


def test_no_units_gives_bare_skin():
    image = trichoscopy_image(1, shape=(128, 160), n_units=0)
    assert image.hair_count == 0 and image.thin_hair_fraction is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"skin": "green"}, "skin"),
        ({"hair": "purple"}, "hair"),
        ({"shape": (32, 32)}, "shape"),
        ({"mm_per_px": 0}, "mm_per_px"),
        ({"n_units": -1}, "n_units"),
        ({"vellus_share": 2}, "vellus_share"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        trichoscopy_image(0, **kwargs)
