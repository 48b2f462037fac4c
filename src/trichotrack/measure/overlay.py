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
    if result.excluded_mask.any():
        shade = np.empty_like(out)
        shade[:] = EXCLUDED_RGB
        blended = cv2.addWeighted(out, 0.55, shade, 0.45, 0.0)
        out[result.excluded_mask] = blended[result.excluded_mask]

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
    for r, c in np.asarray(result.crossings_rc).reshape(-1, 2):
        centre = (round(c), round(r))
        cv2.circle(out, centre, radius, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.circle(out, centre, radius, CROSSING_RGB, thick, cv2.LINE_AA)
    return out
