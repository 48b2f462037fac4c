"""From a whole shed-hair photo to a measurement: find the card, choose the scale, analyse.

This is what the CLI and the web app call. The steps themselves live in `card` and `shedding`; this module
only decides which scale to trust and in which coordinates to measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trichotrack.measure import card as card_module
from trichotrack.measure._validate import as_rgb_uint8, positive_finite
from trichotrack.measure.shedding import SheddingResult, analyze_shedding

SCALE_SOURCES = ("card", "given", "none")


@dataclass(frozen=True)
class ShedPhotoMeasurement:
    """A shed-hair photo measured in the coordinates where its scale is known."""

    result: SheddingResult
    scale_source: str  # "card", "given" or "none"
    card: card_module.CardDetection | None
    analysed_image: np.ndarray  # (M, N, 3) uint8: the photo on the card plane when the card was used
    analysed_px_from_image_px: np.ndarray  # 3×3 homography, photo (col, row) -> analysed (col, row)
    problems: tuple[str, ...]  # the card's problems, then the analysis's


def measure_shedding_photo(
    image, *, mm_per_px: float | None = None, hair_colour: str | None = None
) -> ShedPhotoMeasurement:
    """Measure the shed hairs in a photo.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
        The photo, upright. Not modified.
    mm_per_px : float, optional
        A scale given by the caller. When given, it is used as is and the card is not searched for;
        otherwise the calibration card sets the scale, and without a card lengths stay in pixels.
    hair_colour : str, optional
        The hairs' colour as the user declares it (`shedding.HAIR_COLOURS`); see `analyze_shedding`.
    """
    image = as_rgb_uint8(image)
    if mm_per_px is not None:
        mm_per_px = positive_finite(mm_per_px, name="mm_per_px")
        result = analyze_shedding(image, mm_per_px=mm_per_px, hair_colour=hair_colour)
        return ShedPhotoMeasurement(result, "given", None, image, np.eye(3), result.problems)

    detection = card_module.detect_card(image)
    if detection.found:
        rectified = card_module.rectify(image, detection)
        # The card is the surface: the table around it (often larger than the card in the frame, and
        # darker) must not pass for the surface, nor decide whether the hairs are dark or light.
        ignore = rectified.ignore_mask | ~rectified.valid_mask | ~_on_card(rectified)
        result = analyze_shedding(
            rectified.image, mm_per_px=rectified.mm_per_px, ignore_mask=ignore, hair_colour=hair_colour
        )
        problems = tuple(detection.problems) + tuple(result.problems)
        homography = rectified.card_px_from_image_px
        return ShedPhotoMeasurement(result, "card", detection, rectified.image, homography, problems)

    result = analyze_shedding(image, hair_colour=hair_colour)
    card_problems = tuple(detection.problems) or ("No calibration card found.",)
    scale_note = "Without the card or a given scale, lengths are in pixels only."
    problems = (*card_problems, scale_note, *result.problems)
    return ShedPhotoMeasurement(result, "none", detection, image, np.eye(3), problems)


def _on_card(rectified: card_module.RectifiedPhoto) -> np.ndarray:
    """Pixels of the rectified photo that lie on the card's paper."""
    layout = card_module.card_layout(rectified.paper)
    top, left = rectified.card_origin_px
    rows, cols = rectified.image.shape[:2]
    r = np.arange(rows)[:, None]
    c = np.arange(cols)[None, :]
    inside_rows = (r >= top) & (r <= top + layout.height_mm * rectified.px_per_mm)
    inside_cols = (c >= left) & (c <= left + layout.width_mm * rectified.px_per_mm)
    return inside_rows & inside_cols
