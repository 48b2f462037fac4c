"""Before/after: register a follow-up photo onto its baseline and judge whether the pair is comparable.

Pure functions on arrays. `register` finds the homography that maps the follow-up onto the baseline (ORB
features with RANSAC, then OpenCV's ECC on an affine model when too few features match); `warp_onto` applies
it; `exposure` and `sharpness` measure one photo; `assess_comparability` turns the measured differences and
the capture facts (view, hair-state tags, date) into a verdict with its reasons.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import cv2
import numpy as np

from trichotrack.measure._validate import as_rgb_uint8

ALGORITHM = "trichotrack.compare"
VERSION = "1.0"

COMPARABLE, CAUTION, NOT_COMPARABLE = "comparable", "caution", "not_comparable"

#: Limits of the verdict: (caution beyond, not comparable beyond). Ratios are follow-up / baseline.
LIMITS = {
    "exposure_ratio": (1.15, 1.35),  # mean brightness, either direction
    "sharpness_ratio": (1.6, 3.0),  # variance of the Laplacian, either direction
    "scale_ratio": (1.10, 1.30),  # magnification from the registration, either direction
    "season_days": (45, 120),  # distance between the days of the year
}


@dataclass(frozen=True)
class Registration:
    """How a follow-up photo maps onto its baseline.

    Attributes
    ----------
    homography : (3, 3) ndarray of float
        Follow-up (col, row) -> baseline (col, row), full-resolution pixels. Identity when not found.
    found : bool
    method : str
        "orb", "ecc" or "none".
    inliers : int
        Matched features consistent with the homography (0 for ECC).
    scale, rotation_deg : float
        Magnification and rotation of the follow-up relative to the baseline.
    problems : tuple of str
    """

    homography: np.ndarray
    found: bool
    method: str
    inliers: int
    scale: float
    rotation_deg: float
    problems: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Comparability:
    """The verdict on a before/after pair: "comparable", "caution" or "not_comparable", with reasons."""

    verdict: str
    reasons: tuple[str, ...]
    measures: dict
    algorithm: str = ALGORITHM
    version: str = VERSION

    @property
    def comparable(self) -> bool:
        return self.verdict == COMPARABLE


def _gray(image, name, max_side_px):
    rgb = as_rgb_uint8(image, name=name)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    factor = min(1.0, max_side_px / max(gray.shape))
    if factor < 1.0:
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return gray, factor


def register(baseline, followup, *, max_side_px: int = 1000, min_inliers: int = 15) -> Registration:
    """Find the homography that maps `followup` onto `baseline`.

    Parameters
    ----------
    baseline, followup : (M, N, 3) or (M, N) ndarray
        The two photos, upright. Not modified. They may differ in size.
    max_side_px : int, keyword-only
        Both are reduced to this longest side for matching; the homography is for full resolution.
    min_inliers : int, keyword-only
        Fewer RANSAC inliers than this and the feature match is not trusted (ECC is tried).
    """
    if max_side_px < 64:
        raise ValueError(f"max_side_px must be at least 64, got {max_side_px}")
    if min_inliers < 4:
        raise ValueError(f"min_inliers must be at least 4, got {min_inliers}")
    g_base, f_base = _gray(baseline, "baseline", max_side_px)
    g_follow, f_follow = _gray(followup, "followup", max_side_px)
    params = {"max_side_px": max_side_px, "min_inliers": min_inliers}
    # Small homography -> full resolution: H_full = S_base^-1 · H_small · S_follow
    s_base = np.diag([f_base, f_base, 1.0])
    s_follow = np.diag([f_follow, f_follow, 1.0])

    small, inliers = _orb_homography(g_base, g_follow)
    method = "orb"
    if small is None or inliers < min_inliers:
        small, method, inliers = _ecc_affine(g_base, g_follow), "ecc", 0
    if small is None:
        return Registration(
            np.eye(3), False, "none", 0, 1.0, 0.0, ("The two photos could not be aligned.",), params
        )
    full = np.linalg.inv(s_base) @ small @ s_follow
    full = full / full[2, 2]
    affine = full[:2, :2]
    scale = float(np.sqrt(abs(np.linalg.det(affine))))
    rotation = float(np.degrees(np.arctan2(affine[1, 0], affine[0, 0])))
    problems = ()
    if not 0.25 < scale < 4.0:
        return Registration(
            np.eye(3), False, "none", inliers, 1.0, 0.0, ("The alignment found is implausible.",), params
        )
    return Registration(full, True, method, int(inliers), scale, rotation, problems, params)


def _orb_homography(g_base, g_follow):
    orb = cv2.ORB_create(nfeatures=3000)
    kp_b, des_b = orb.detectAndCompute(g_base, None)
    kp_f, des_f = orb.detectAndCompute(g_follow, None)
    if des_b is None or des_f is None or len(kp_b) < 8 or len(kp_f) < 8:
        return None, 0
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(des_f, des_b, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    if len(good) < 8:
        return None, 0
    src = np.float32([kp_f[m.queryIdx].pt for m in good]).reshape(-1, 1, 2)
    dst = np.float32([kp_b[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
    homography, mask = cv2.findHomography(src, dst, cv2.RANSAC, 4.0)
    if homography is None:
        return None, 0
    return homography, int(mask.sum())


def _ecc_affine(g_base, g_follow):
    # ECC needs equal sizes: resample the follow-up onto the baseline's size first, and undo that after.
    resize = np.diag([g_base.shape[1] / g_follow.shape[1], g_base.shape[0] / g_follow.shape[0], 1.0])
    if g_base.shape != g_follow.shape:
        g_follow = cv2.resize(g_follow, (g_base.shape[1], g_base.shape[0]), interpolation=cv2.INTER_AREA)
    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
    try:
        _, warp = cv2.findTransformECC(
            g_base.astype(np.float32), g_follow.astype(np.float32), warp, cv2.MOTION_AFFINE, criteria, None, 5
        )
    except cv2.error:
        return None
    # ECC gives baseline -> follow-up (for sampling); invert it to map the follow-up onto the baseline.
    forward = np.vstack([warp, [0.0, 0.0, 1.0]]).astype(np.float64)
    return np.linalg.inv(forward) @ resize


def warp_onto(baseline_shape, followup, registration: Registration) -> np.ndarray:
    """The follow-up photo resampled onto the baseline's pixel grid ((M, N) of `baseline_shape`)."""
    rgb = as_rgb_uint8(followup, name="followup")
    rows, cols = int(baseline_shape[0]), int(baseline_shape[1])
    if rows < 1 or cols < 1:
        raise ValueError(f"baseline_shape must be positive, got {baseline_shape}")
    return cv2.warpPerspective(rgb, registration.homography, (cols, rows), flags=cv2.INTER_LINEAR)


def exposure(image) -> float:
    """Mean luma of `image`, 0–255."""
    rgb = as_rgb_uint8(image)
    return float(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).mean())


def sharpness(image, *, max_side_px: int = 1000) -> float:
    """Variance of the Laplacian of the luma, on the photo reduced to `max_side_px` (higher is sharper)."""
    gray, _ = _gray(image, "image", max_side_px)
    return float(cv2.Laplacian(gray.astype(np.float64), cv2.CV_64F).var())


def _ratio(a: float, b: float) -> float:
    """max/min of two positive values (1.0 = equal)."""
    a, b = max(float(a), 1e-9), max(float(b), 1e-9)
    return max(a, b) / min(a, b)


def _grade(value: float, limits: tuple[float, float]) -> str:
    return NOT_COMPARABLE if value > limits[1] else CAUTION if value > limits[0] else COMPARABLE


def season_days(a: dt.date, b: dt.date) -> int:
    """Days between the two dates' positions in the year (0–182): shedding follows the seasons."""
    diff = abs(a.timetuple().tm_yday - b.timetuple().tm_yday)
    return min(diff, 365 - diff)


def assess_comparability(
    *,
    baseline_view: str,
    followup_view: str,
    baseline_exposure: float,
    followup_exposure: float,
    baseline_sharpness: float,
    followup_sharpness: float,
    registration: Registration | None,
    baseline_tags=(),
    followup_tags=(),
    baseline_date: dt.date | None = None,
    followup_date: dt.date | None = None,
) -> Comparability:
    """The verdict on a before/after pair from measured differences and the capture facts.

    Each difference is graded against `LIMITS`; the verdict is the worst grade. Tags are hair-state tags
    (washed, dry, product, dyed, recent_haircut): any difference is a caution.
    """
    for name, value in (
        ("baseline_exposure", baseline_exposure),
        ("followup_exposure", followup_exposure),
        ("baseline_sharpness", baseline_sharpness),
        ("followup_sharpness", followup_sharpness),
    ):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite value >= 0, got {value!r}")
    grades: list[str] = []
    reasons: list[str] = []

    def note(grade, text):
        grades.append(grade)
        if grade != COMPARABLE:
            reasons.append(text)

    if baseline_view != followup_view:
        note(NOT_COMPARABLE, f"Different views: {baseline_view} and {followup_view}.")
    exp_ratio = _ratio(baseline_exposure, followup_exposure)
    note(
        _grade(exp_ratio, LIMITS["exposure_ratio"]),
        f"Exposure differs: mean brightness {baseline_exposure:.0f} vs {followup_exposure:.0f} "
        f"({(exp_ratio - 1) * 100:.0f} %); more or less scalp shows with the light alone.",
    )
    sharp_ratio = _ratio(baseline_sharpness, followup_sharpness)
    blurrier = "follow-up" if followup_sharpness < baseline_sharpness else "baseline"
    note(
        _grade(sharp_ratio, LIMITS["sharpness_ratio"]),
        f"The {blurrier} photo is blurrier (sharpness ratio {sharp_ratio:.1f}).",
    )
    measures = {
        "exposure_ratio": round(exp_ratio, 3),
        "sharpness_ratio": round(sharp_ratio, 3),
        "baseline_exposure": round(float(baseline_exposure), 1),
        "followup_exposure": round(float(followup_exposure), 1),
    }
    if registration is None or not registration.found:
        note(NOT_COMPARABLE, "The photos could not be aligned, so the same area cannot be compared.")
    else:
        scale_ratio = _ratio(registration.scale, 1.0)
        measures |= {
            "scale": round(registration.scale, 3),
            "rotation_deg": round(registration.rotation_deg, 1),
        }
        note(
            _grade(scale_ratio, LIMITS["scale_ratio"]),
            f"Different distance or zoom: the follow-up is at {registration.scale:.2f}× the baseline's "
            "scale.",
        )
    tags_b, tags_f = set(baseline_tags), set(followup_tags)
    if tags_b != tags_f:
        only_b = ", ".join(sorted(tags_b - tags_f)) or "none"
        only_f = ", ".join(sorted(tags_f - tags_b)) or "none"
        note(CAUTION, f"Hair state differs (baseline only: {only_b}; follow-up only: {only_f}).")
    if baseline_date is not None and followup_date is not None:
        days = season_days(baseline_date, followup_date)
        measures["season_days"] = days
        note(
            _grade(days, LIMITS["season_days"]),
            f"Taken {days} days apart in the year: shedding and hair density vary with the season.",
        )
    order = [COMPARABLE, CAUTION, NOT_COMPARABLE]
    verdict = max(grades, key=order.index) if grades else COMPARABLE
    return Comparability(verdict, tuple(reasons), measures)
