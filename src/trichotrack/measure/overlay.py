"""A picture of what the shed-hair analysis counted: each hair in its own colour and number, crossings
marked, excluded regions shaded."""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from trichotrack.measure._validate import as_rgb_uint8

#: Shade laid over excluded regions (clumps, ignored or over-exposed areas).
EXCLUDED_RGB = (255, 40, 40)
CROSSING_RGB = (255, 255, 255)
# Grey level -> 55 % of it + 45 % of EXCLUDED_RGB, per channel: the shade of excluded regions.
_SHADE_LUT = np.clip(
    np.round(0.55 * np.arange(256.0)[:, None] + 0.45 * np.asarray(EXCLUDED_RGB, np.float64)), 0, 255
).astype(np.uint8)[:, None, :]


def hair_colour(index: int) -> tuple[int, int, int]:
    """A saturated colour for hair number `index` (0-based); neighbours in numbering differ clearly."""
    hue = (index * 0.6180339887) % 1.0
    value = 1.0 if index % 2 == 0 else 0.8
    r, g, b = colorsys.hsv_to_rgb(hue, 0.95, value)
    return round(255 * r), round(255 * g), round(255 * b)


def render_overlay(image, result) -> np.ndarray:
    """Draw `result` over a dimmed grey copy of `image`.

    Parameters
    ----------
    image : (M, N, 3) or (M, N) ndarray
        The photo `result` was computed on. Not modified.
    result : SheddingResult

    Returns
    -------
    overlay : (M, N, 3) ndarray of uint8
        Each hair drawn in its own colour with its number (1-based, the order of ``result.hairs``),
        crossings circled in white, excluded regions shaded red.
    """
    rgb = as_rgb_uint8(image, name="image")
    rows, cols = rgb.shape[:2]
    if result.excluded_mask.shape != (rows, cols):
        raise ValueError(f"result is for a {result.excluded_mask.shape} image, image is {(rows, cols)}")
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    dim = cv2.convertScaleAbs(grey, alpha=0.45, beta=70)  # keep the photo readable under coloured lines
    out = cv2.cvtColor(dim, cv2.COLOR_GRAY2RGB)
    excluded = np.ascontiguousarray(result.excluded_mask, dtype=bool)
    if excluded.any():
        # 55 % grey + 45 % shade, as one lookup per channel of the grey photo and a masked copy: a blend
        # and two boolean gathers of a 12-MP photo took most of a second.
        shaded = cv2.LUT(out, _SHADE_LUT)
        cv2.copyTo(shaded, excluded.view(np.uint8), out)

    scale = max(rows, cols) / 1000.0
    thick = max(2, round(scale))
    font_scale = max(0.35, 0.5 * scale)
    for i, hair in enumerate(result.hairs):
        colour = hair_colour(i)
        pts = np.round(hair.centerline_rc[:, ::-1] * 16).astype(np.int32)
        if len(pts) >= 2:
            cv2.polylines(out, [pts], False, colour, thick, cv2.LINE_AA, shift=4)
        mid = hair.centerline_rc[len(hair.centerline_rc) // 2]
        org = (int(mid[1] + 3 * thick), int(mid[0] - 3 * thick))
        label = str(i + 1)
        cv2.putText(out, label, org, cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(out, label, org, cv2.FONT_HERSHEY_SIMPLEX, font_scale, colour, thick, cv2.LINE_AA)
    radius = max(4, round(6 * scale))
    crossings = np.round(np.asarray(result.crossings_rc, np.float64).reshape(-1, 2)).astype(np.int64)
    if len(crossings):
        _stamp_rings(out, crossings, radius, thick)
    return out


def _stamp_rings(out: np.ndarray, centres_rc: np.ndarray, radius: int, thick: int) -> None:
    """A white ring with a black rim around each centre, as `cv2.circle` draws them one by one, but drawn
    once into a small stamp and blended in by its coverage (2000 `cv2.circle` calls on a 12-MP photo took
    half a second)."""
    half = radius + thick + 3
    side = 2 * half + 1
    black = np.zeros((side, side), np.uint8)
    white = np.zeros((side, side), np.uint8)
    cv2.circle(black, (half, half), radius, 255, thick + 2, cv2.LINE_AA)
    cv2.circle(white, (half, half), radius, 255, thick, cv2.LINE_AA)
    a_black = (black.astype(np.float32) / 255.0)[..., None]
    a_white = (white.astype(np.float32) / 255.0)[..., None]
    colour = np.asarray(CROSSING_RGB, np.float32)
    rows, cols = out.shape[:2]
    for r, c in centres_rc:
        top, left = r - half, c - half
        r0, c0 = max(top, 0), max(left, 0)
        r1, c1 = min(top + side, rows), min(left + side, cols)
        if r0 >= r1 or c0 >= c1:
            continue
        sr, sc = slice(r0 - top, r1 - top), slice(c0 - left, c1 - left)
        patch = out[r0:r1, c0:c1].astype(np.float32)
        patch *= 1.0 - a_black[sr, sc]
        patch += a_white[sr, sc] * (colour - patch)
        out[r0:r1, c0:c1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)
