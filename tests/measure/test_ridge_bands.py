"""Striped (banded) surfaces: a background that follows the bands, and band edges that are not hairs."""

import cv2
import numpy as np
import pytest

from trichotrack.measure import ridge
from trichotrack.measure.shedding import analyze_shedding

MAGENTA, RED = (228, 66, 190), (180, 50, 52)
PAPER = (236, 232, 224)
BROWN = (70, 45, 30)


def striped(shape, *, period_px=24.0, share=0.45, slope=0.05, colours=(MAGENTA, RED)):
    """Bands of two colours, `period_px` apart and a little tilted, with edges as soft as a lens makes."""
    rows, cols = shape
    r, c = np.mgrid[0:rows, 0:cols].astype(np.float32)
    phase = ((r + slope * c) / period_px) % 1.0
    band = cv2.GaussianBlur((phase < share).astype(np.float32), (0, 0), 0.7)[..., None]
    return np.asarray(colours[0], np.float32) * (1 - band) + np.asarray(colours[1], np.float32) * band


def with_hairs(background, lines, *, width_px=1.5, hair=BROWN, noise=3.0, seed=0, supersample=4):
    """Hairs drawn by area coverage on `background` ((M, N, 3) float), then Gaussian noise."""
    rows, cols = background.shape[:2]
    big = np.zeros((rows * supersample, cols * supersample), np.uint8)
    for line in lines:
        pts = np.round((np.asarray(line, float) + 0.5)[:, ::-1] * supersample * 16 - 8).astype(np.int32)
        cv2.polylines(big, [pts], False, 255, max(1, round(width_px * supersample)), cv2.LINE_AA, shift=4)
    cover = cv2.resize(big, (cols, rows), interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
    image = background * (1 - cover) + np.asarray(hair, np.float32) * cover
    image += np.random.default_rng(seed).normal(0, noise, image.shape)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def wave(start, end, *, amplitude=25.0, n=600):
    """A gently waving hair from `start` to `end` (rows, cols)."""
    t = np.linspace(0, 1, n)[:, None]
    start, end = np.asarray(start, float), np.asarray(end, float)
    along = end - start
    normal = np.array([-along[1], along[0]]) / np.hypot(*along)
    return start * (1 - t) + end * t + amplitude * np.sin(2 * np.pi * t) * normal


# Steep enough to cross the bands (a hair along a band edge is not told from it).
HAIRS = [
    wave((40, 60), (440, 200)),
    wave((30, 330), (450, 260)),
    wave((60, 420), (420, 600)),
    wave((250, 40), (450, 560), amplitude=15.0),
    wave((40, 520), (200, 620), amplitude=8.0),
]


@pytest.fixture(scope="module")
def striped_photo():
    # Thin hairs, as a 12-MP photo of shed hair has them at the working scale (~0.18 mm a pixel).
    return with_hairs(striped((480, 640)), HAIRS, width_px=0.6, noise=4.0)


def plain_band_background(monkeypatch):
    """Switch the banded background off (what the engine did before)."""
    monkeypatch.setattr(ridge, "band_background", lambda *args, **kwargs: None)


def test_contrast_on_stripes_is_noise_not_bands():
    image = with_hairs(striped((480, 640)), [])
    contrast, info = ridge.contrast_image(image)
    assert info["banded"] is not None
    assert info["banded"]["coherence"] > 0.95
    # The noise is about the photo's (3 grey levels; what is left at the band edges adds a little), not
    # the stripes' (over 10 without the banded background).
    assert max(info["noise_rgb"]) < 7.0
    inner = contrast[20:-20, 20:-20]
    assert np.quantile(np.abs(inner), 0.99) < 6.0


def test_contrast_on_stripes_was_the_bands_without_the_banded_background(monkeypatch):
    plain_band_background(monkeypatch)
    image = with_hairs(striped((480, 640)), [])
    _contrast, info = ridge.contrast_image(image)
    assert max(info["noise_rgb"]) > 10.0  # (the stripes took over the noise estimate)


def test_a_plain_surface_is_not_banded_and_keeps_its_contrast(monkeypatch):
    image = with_hairs(np.broadcast_to(np.float32(PAPER), (480, 640, 3)).copy(), HAIRS, hair=(35, 28, 24))
    contrast, info = ridge.contrast_image(image)
    assert info["banded"] is None
    assert info["band_edges"] is None
    plain_band_background(monkeypatch)
    before, _ = ridge.contrast_image(image)
    np.testing.assert_array_equal(contrast, before)


def test_a_sheet_edge_is_not_a_banded_surface():
    # One long straight edge (a sheet on a table) has one orientation but covers little of the surface.
    image = np.broadcast_to(np.float32(PAPER), (480, 640, 3)).copy()
    image[:, 500:] = (150, 110, 70)
    _contrast, info = ridge.contrast_image(with_hairs(image, HAIRS[:2], hair=(35, 28, 24)))
    assert info["banded"] is None


def test_band_background_leaves_its_inputs_alone():
    image = with_hairs(striped((240, 320)), [])
    background, grid = ridge.background_rgb(image, with_grid=True)
    copies = image.copy(), background.copy(), grid.copy()
    assert ridge.band_background(image, background, grid) is not None
    for before, after in zip(copies, (image, background, grid), strict=True):
        np.testing.assert_array_equal(before, after)


def test_a_line_along_a_band_edge_is_taken_away_a_crossing_one_kept():
    contrast = np.random.default_rng(1).normal(0, 1, (200, 200)).astype(np.float32)
    contrast[100, 20:180] -= 8.0  # along the band edges (their normal runs along the rows)
    contrast[20:180, 60] -= 8.0  # across them
    half = (100, 100)
    edges = (np.ones(half, np.float32), np.ones(half, np.float32), np.zeros(half, np.float32))
    strength, _raw, _ = ridge.line_strength(contrast, polarity=-1)
    kept, _raw, _ = ridge.line_strength(contrast, polarity=-1, band_edges=edges)
    assert strength[100, 120] > 4 and kept[100, 120] < 0.1 * strength[100, 120]
    assert kept[140, 60] == pytest.approx(strength[140, 60], rel=0.01)


def test_hairs_on_a_striped_pillowcase_are_counted_and_the_stripes_are_not(striped_photo):
    result = analyze_shedding(striped_photo, mm_per_px=0.18)
    assert abs(result.hair_count - len(HAIRS)) <= 1
    assert result.params["n_edges"] == 0
    assert result.params["banded"]["coherence"] > 0.95
    # ... but a striped surface hides hairs that lie along its stripes: not countable, and it says why.
    assert not result.countable
    assert any("striped" in p for p in result.problems)
    assert result.count_low <= len(HAIRS) <= result.count_high


def test_hairs_on_a_striped_pillowcase_were_broken_up_without_the_banded_background(
    striped_photo, monkeypatch
):
    plain_band_background(monkeypatch)
    result = analyze_shedding(striped_photo, mm_per_px=0.18)
    assert result.hair_count > 3 * len(HAIRS)  # (53: pieces of faint hairs)
    assert not result.countable
