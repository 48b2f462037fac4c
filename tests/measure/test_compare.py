import datetime as dt

import cv2
import numpy as np
import pytest

from trichotrack.measure import compare


def textured(shape=(360, 480), seed=0):
    """A scalp-like texture: smoothed noise plus dark strokes (features to match)."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 2.0)
    image = (noise - noise.min()) / np.ptp(noise) * 200 + 30
    for _ in range(60):
        r, c = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        dr, dc = rng.integers(-40, 40, size=2)
        cv2.line(image, (int(c), int(r)), (int(c + dc), int(r + dr)), 10.0, 2)
    gray = np.clip(image, 0, 255).astype(np.uint8)
    return np.stack([gray] * 3, axis=-1)


def similarity(angle_deg, scale, shift_rc, centre_cr):
    m = cv2.getRotationMatrix2D(centre_cr, angle_deg, scale)
    m[0, 2] += shift_rc[1]
    m[1, 2] += shift_rc[0]
    return np.vstack([m, [0, 0, 1]])


def corners_error(h_found, h_true, shape):
    rows, cols = shape[:2]
    pts = np.float32([[0, 0], [cols, 0], [cols, rows], [0, rows]]).reshape(-1, 1, 2)
    a = cv2.perspectiveTransform(pts, h_found)
    b = cv2.perspectiveTransform(pts, h_true)
    return float(np.abs(a - b).max())


def test_it_recovers_a_known_rotation_scale_and_shift():
    base = textured()
    # The follow-up is the baseline seen rotated 4°, 5 % closer and shifted.
    follow_from_base = similarity(4.0, 1.05, (6, -9), (240, 180))
    follow = cv2.warpPerspective(base, follow_from_base, (480, 360))
    reg = compare.register(base, follow)
    assert reg.found
    assert reg.method == "orb"
    true = np.linalg.inv(follow_from_base)  # follow-up -> baseline
    # Compare on the central region that both photos show.
    assert corners_error(reg.homography, true, (200, 200)) < 2.0
    assert reg.scale == pytest.approx(1 / 1.05, abs=0.01)
    expected_deg = np.degrees(np.arctan2(true[1, 0], true[0, 0]))
    assert abs(expected_deg) == pytest.approx(4.0, abs=0.01)
    assert reg.rotation_deg == pytest.approx(expected_deg, abs=0.5)


def test_it_registers_photos_of_different_sizes():
    base = textured((400, 520), seed=3)
    follow = cv2.resize(base, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_LINEAR)
    reg = compare.register(base, follow)
    assert reg.found
    assert reg.scale == pytest.approx(1 / 1.5, abs=0.02)
    warped = compare.warp_onto(base.shape, follow, reg)
    assert warped.shape == base.shape
    inner = (slice(40, -40), slice(40, -40))
    assert np.abs(warped[inner].astype(int) - base[inner].astype(int)).mean() < 12


def test_ecc_is_used_when_features_are_too_few():
    base = textured(seed=5)
    shifted = np.roll(base, (3, 4), axis=(0, 1))
    reg = compare.register(base, shifted, min_inliers=100_000)
    assert reg.found
    assert reg.method == "ecc"
    assert reg.homography[0, 2] == pytest.approx(-4, abs=0.7)
    assert reg.homography[1, 2] == pytest.approx(-3, abs=0.7)


def test_unrelated_flat_images_are_not_aligned():
    flat = np.full((200, 200, 3), 128, np.uint8)
    reg = compare.register(flat, flat.copy() // 2)
    assert not reg.found or reg.method == "ecc"
    if not reg.found:
        assert reg.problems


def test_input_not_modified():
    base, follow = textured(seed=1), textured(seed=1)
    before_b, before_f = base.copy(), follow.copy()
    reg = compare.register(base, follow)
    compare.warp_onto(base.shape, follow, reg)
    compare.exposure(base)
    compare.sharpness(follow)
    assert np.array_equal(base, before_b)
    assert np.array_equal(follow, before_f)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_exposure_and_sharpness_accept_common_dtypes(dtype):
    image = textured(seed=2)
    scaled = {np.uint8: image, np.uint16: image.astype(np.uint16) * 257, np.float64: image / 255.0}[dtype]
    assert compare.exposure(scaled) == pytest.approx(compare.exposure(image), abs=0.6)
    assert compare.sharpness(scaled) == pytest.approx(compare.sharpness(image), rel=0.02)


def test_blur_lowers_sharpness_and_light_raises_exposure():
    image = textured(seed=4)
    blurred = cv2.GaussianBlur(image, (0, 0), 3)
    assert compare.sharpness(blurred) < compare.sharpness(image) / 3
    brighter = np.clip(image.astype(int) + 40, 0, 255).astype(np.uint8)
    assert compare.exposure(brighter) == pytest.approx(compare.exposure(image) + 40, abs=3)


def test_bad_arguments_raise_value_error_naming_them():
    with pytest.raises(ValueError, match="max_side_px"):
        compare.register(textured(), textured(), max_side_px=10)
    with pytest.raises(ValueError, match="baseline"):
        compare.register(np.zeros((5, 5, 3), np.uint8), textured())
    with pytest.raises(ValueError, match="followup_exposure"):
        verdict(followup_exposure=float("nan"))


def good_registration(scale=1.0):
    return compare.Registration(np.eye(3), True, "orb", 100, scale, 0.0)


def verdict(**overrides):
    args = {
        "baseline_view": "vertex",
        "followup_view": "vertex",
        "baseline_exposure": 120.0,
        "followup_exposure": 122.0,
        "baseline_sharpness": 300.0,
        "followup_sharpness": 280.0,
        "registration": good_registration(),
        "baseline_tags": ["washed", "dry"],
        "followup_tags": ["dry", "washed"],
        "baseline_date": dt.date(2026, 3, 1),
        "followup_date": dt.date(2026, 4, 1),
    }
    return compare.assess_comparability(**(args | overrides))


def test_a_well_matched_pair_is_comparable():
    result = verdict()
    assert result.verdict == "comparable"
    assert result.comparable
    assert result.reasons == ()
    assert result.measures["season_days"] == 31


@pytest.mark.parametrize(
    ("overrides", "expected", "reason"),
    [
        ({"followup_view": "frontal"}, "not_comparable", "Different views"),
        ({"followup_exposure": 150.0}, "caution", "Exposure differs"),
        ({"followup_exposure": 200.0}, "not_comparable", "Exposure differs"),
        ({"followup_sharpness": 100.0}, "caution", "follow-up photo is blurrier"),
        ({"followup_sharpness": 50.0}, "not_comparable", "blurrier"),
        ({"registration": good_registration(1.2)}, "caution", "distance or zoom"),
        ({"registration": good_registration(0.6)}, "not_comparable", "distance or zoom"),
        ({"registration": None}, "not_comparable", "could not be aligned"),
        ({"followup_tags": ["product"]}, "caution", "Hair state differs"),
        ({"followup_date": dt.date(2026, 9, 1)}, "not_comparable", "season"),
    ],
)
def test_each_measured_difference_grades_the_verdict(overrides, expected, reason):
    result = verdict(**overrides)
    assert result.verdict == expected
    assert any(reason in r for r in result.reasons), result.reasons


def test_season_distance_wraps_around_the_new_year():
    assert compare.season_days(dt.date(2025, 12, 20), dt.date(2026, 1, 10)) == 21
