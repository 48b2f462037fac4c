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
    analysed_image: np.ndarray  # (M, N, 3) uint8: with the card, the photo on the card plane cut to the card
    analysed_px_from_image_px: np.ndarray  # 3×3 homography, photo (col, row) -> analysed (col, row)
    problems: tuple[str, ...]  # the card's problems, then the analysis's
    card_field: str | None = None  # "white" or "dark" (`card.FIELDS`), as seen in the photo; None: no card


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
        field = _field_colour(rectified, ~ignore)
        if field == "dark":
            # Light hair on the dark field: the white paper round it is another surface, and its edge a line
            # as long as the field; only the field is analysed.
            ignore |= ~_in_field(rectified, inset_mm=_DARK_FIELD_INSET_MM)
        # Only the card is analysed, so the rectified frame is cut to the card. The working scale is the
        # one the whole photo would get (the hairs are as fine on the card as anywhere in the photo), and
        # at least half the rectified resolution: there, resampled onto the card plane, a hair a third of
        # a pixel wide breaks into pieces and the paper's grain passes for hair.
        crop = _box_of(~ignore, margin_px=_CROP_MARGIN_PX)
        analysed = np.ascontiguousarray(rectified.image[crop])
        result = analyze_shedding(
            analysed,
            mm_per_px=rectified.mm_per_px,
            ignore_mask=ignore[crop],
            hair_colour=hair_colour,
            photo_px=image.shape[0] * image.shape[1],
            min_factor=2,
        )
        problems = tuple(detection.problems) + tuple(_on_the_card(p, field) for p in result.problems)
        if field == "white" and not result.hairs and not any("light hair" in p for p in problems):
            # (White hairs on the white field leave no trace at all: say what else an empty card can mean.)
            problems += (_EMPTY_WHITE_FIELD,)
        shift = np.array([[1.0, 0.0, -crop[1].start], [0.0, 1.0, -crop[0].start], [0.0, 0.0, 1.0]])
        homography = shift @ rectified.card_px_from_image_px
        return ShedPhotoMeasurement(
            result, "card", detection, analysed, homography, problems, card_field=field
        )

    result = analyze_shedding(image, hair_colour=hair_colour)
    card_problems = tuple(detection.problems) or ("No calibration card found.",)
    scale_note = "Without the card or a given scale, lengths are in pixels only."
    problems = (*card_problems, scale_note, *result.problems)
    return ShedPhotoMeasurement(result, "none", detection, image, np.eye(3), problems)


#: The analysis's advice on paper, said of the card instead (its two fields): (ending, field) -> ending.
_CARD_ADVICE = {
    ("photograph it on dark paper.", "white"): "lay it on the dark field of the card for light hair.",
    ("photograph them on dark paper.", "white"): "lay them on the dark field of the card for light hair.",
    ("photograph it on white paper.", "dark"): "lay it on the white field of the card for dark hair.",
    (
        "photograph dark hair on white paper and light hair on dark paper, in good light.",
        "white",
    ): "lay dark hair on the card's white field and light hair on the dark field of the card for it, in good"
    " light.",
    (
        "photograph dark hair on white paper and light hair on dark paper, in good light.",
        "dark",
    ): "lay light hair on the card's dark field and dark hair on the white field of the card for it, in good"
    " light.",
}


_EMPTY_WHITE_FIELD = (
    "Light hair (blonde, white, grey) does not show here: lay it on the dark field of the card for light"
    " hair."
)


def _on_the_card(problem: str, field: str) -> str:
    """`problem` with its advice to change paper turned into advice to change the card's field."""
    for (ending, on), instead in _CARD_ADVICE.items():
        if on == field and problem.endswith(ending):
            return problem[: -len(ending)] + instead
    return problem


#: On the dark field, the band along its edge left out (the edge's blur and the rectification's error).
_DARK_FIELD_INSET_MM = 1.5
#: The rectified photo is cut this far (px) round the card's analysed pixels.
_CROP_MARGIN_PX = 16
#: The field is dark when its median luminance is below this share of the white paper round it.
_DARK_FIELD_RATIO = 0.4  # (printed dark: about 0.25; a phone's shadow over the field rarely halves it)


def _field_colour(rectified: card_module.RectifiedPhoto, usable: np.ndarray) -> str:
    """ "dark" when the card's hair field is printed dark (the card for light hair), else "white": its
    median gray against the paper between the field and the markers, both away from printing."""
    step = 4  # (a sample is plenty for two medians)
    gray = rectified.image[::step, ::step].mean(axis=2, dtype=np.float32)
    usable = usable[::step, ::step]  # (on the card's paper, away from printing)
    field = _in_field(rectified, inset_mm=_DARK_FIELD_INSET_MM, step=step) & usable
    paper = ~_in_field(rectified, inset_mm=-_DARK_FIELD_INSET_MM, step=step) & usable
    if not field.any() or not paper.any():
        return "white"
    return "dark" if np.median(gray[field]) < _DARK_FIELD_RATIO * np.median(gray[paper]) else "white"


def _in_field(rectified: card_module.RectifiedPhoto, *, inset_mm: float, step: int = 1) -> np.ndarray:
    """Pixels of the rectified photo (every `step`-th) inside the card's hair field, `inset_mm` in from its
    edge (out, if negative)."""
    top, left, bottom, right = card_module.card_layout(rectified.paper).hair_area_mm
    box = (top + inset_mm, left + inset_mm, bottom - inset_mm, right - inset_mm)
    return _in_box(rectified, box, step=step)


def _on_card(rectified: card_module.RectifiedPhoto) -> np.ndarray:
    """Pixels of the rectified photo that lie on the card's paper."""
    layout = card_module.card_layout(rectified.paper)
    return _in_box(rectified, (0.0, 0.0, layout.height_mm, layout.width_mm))


def _box_of(mask: np.ndarray, *, margin_px: int) -> tuple[slice, slice]:
    """The rows and columns of `mask`'s True pixels, `margin_px` wider on each side (the whole frame when
    none is True)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return slice(0, mask.shape[0]), slice(0, mask.shape[1])
    return (
        slice(max(int(rows[0]) - margin_px, 0), min(int(rows[-1]) + margin_px + 1, mask.shape[0])),
        slice(max(int(cols[0]) - margin_px, 0), min(int(cols[-1]) + margin_px + 1, mask.shape[1])),
    )


def _in_box(rectified: card_module.RectifiedPhoto, box_mm, *, step: int = 1) -> np.ndarray:
    """Pixels of the rectified photo (every `step`-th) inside `box_mm` (top, left, bottom, right mm on the
    card)."""
    top, left, bottom, right = (v * rectified.px_per_mm for v in box_mm)
    r0, c0 = rectified.card_origin_px
    rows, cols = rectified.image.shape[:2]
    r = np.arange(0, rows, step)[:, None]
    c = np.arange(0, cols, step)[None, :]
    return (r >= r0 + top) & (r <= r0 + bottom) & (c >= c0 + left) & (c <= c0 + right)
