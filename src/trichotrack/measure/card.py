"""The printable calibration card, and finding it in a phone photo.

The card is a sheet of paper (A4 or Letter, portrait) with a frame of ArUco markers (``DICT_5X5_100``) along
its four edges, a plain white field in the middle on which the shed hairs are laid, a printed millimetre
ruler and one or two lines of text. A4 and Letter cards carry disjoint marker ids, so the paper is
recognised from the photo.

Coordinates
-----------
Card coordinates are millimetres ``(x_mm, y_mm)``: x to the right, y down, from the top-left corner of the
page. Photo coordinates follow OpenCV: ``(x, y) = (col, row)`` with the centre of pixel ``(row, col)`` at
``x = col, y = row``. A card rendered at ``px_per_mm`` therefore has the centre of its pixel ``(row, col)``
at ``x_mm = (col + 0.5) / px_per_mm, y_mm = (row + 0.5) / px_per_mm``.

Typical use::

    detection = detect_card(photo)
    if not detection.found:
        ...  # show detection.problems to the person
    rectified = rectify(photo, detection)  # measure in rectified.image, ignore rectified.ignore_mask
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from ._validate import as_rgb_uint8, positive_finite

__all__ = [
    "ALGORITHM",
    "PAPERS",
    "CardDetection",
    "CardLayout",
    "RectifiedPhoto",
    "card_layout",
    "detect_card",
    "printed_mask",
    "rectify",
    "render_card",
]

#: Name and version of the card design and of its detection; recorded in every result.
ALGORITHM = "trichotrack.card/1"

PAPERS = ("a4", "letter")
#: The hair field's colour: white for dark hair, dark for light hair (blonde, white, grey), which barely
#: shows on white paper. Everything else on the card is the same, and the analysis tells the two apart.
FIELDS = ("white", "dark")
_DARK_FIELD_DARKNESS = 0.85  # the dark field's ink: printer black over most of it, a dark grey
_PAPER_SIZE_MM = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
_PAPER_LABEL = {"a4": "A4", "letter": "Letter"}
#: First marker id of each paper; ids are disjoint so that the paper is recognised from the photo.
_FIRST_ID = {"a4": 0, "letter": 40}
_DICTIONARY = cv2.aruco.DICT_5X5_100

_EDGE_MARGIN_MM = 8.0  # paper edge to markers: outside most printers' unprintable margin
_MARKER_MM = 18.0  # marker side, black border included (7 × 7 cells of 18/7 mm)
_QUIET_MM = 5.0  # white gap between markers and the hair area
_N_ACROSS = 5  # markers along the top and the bottom edge (corners included)
_N_DOWN = 7  # markers along the left and the right edge (corners included)
_RULER_LENGTH_MM = 150.0
_RULER_HEIGHT_MM = 9.0
_RULER_END_MM = 4.5  # room for the numbers and the 'mm' label either end
_TEXT_LINE_MM = 2.2  # cap height of the text
_TEXT_GAP_MM = 1.4
_OUTLINE_MM = 0.3
_OUTLINE_DARKNESS = 0.2  # light grey: 255 * (1 - 0.2) = 204

#: Detection thresholds.
_DETECT_MAX_SIDE_PX = 1600  # markers are found on a gray copy no larger than this, then refined at full size
_MIN_MARKERS = 4
_MIN_SPREAD = 0.1  # hull of the visible markers over hull of all markers, below which the fit extrapolates
_MAX_OBLIQUITY_DEG = 40.0
_WARN_OBLIQUITY_DEG = 25.0
_MAX_ERROR_MM = 1.0
_WARN_ERROR_MM = 0.3
_WARN_ERROR_PX = 1.0
_RANSAC_THRESHOLD_MM = 1.5

#: Rectification limits.
_MAX_OUTPUT_PIXEL_RATIO = 1.5  # output pixels over photo pixels
_SURROUND_CARDS = 1.0  # how far the output may reach beyond the card, in card sizes, on each side
_EDGE_BAND_MM = 4.0  # ignored band either side of the paper edge
_PRINT_MARGIN_MM = 2.0  # ignored round the markers, the ruler and the text (blur, rectification error)
#: ignored either side of the hair field's 0.3-mm outline: its blur and the rectification's error (well under
#: 0.3 mm where the card is found), and no more, since hairs often lie along it
_OUTLINE_MARGIN_MM = 0.75
_MAX_CARD_PIXELS = 100_000_000


@dataclass(frozen=True)
class CardLayout:
    """Geometry of one printed card, in millimetres from the page's top-left corner (x right, y down).

    Attributes
    ----------
    paper : str
        One of `PAPERS`.
    width_mm, height_mm : float
        Page size, portrait.
    marker_ids : tuple of int
        ArUco ids (``DICT_5X5_100``) of the K markers.
    marker_corners_mm : (K, 4, 2) ndarray of float
        Outer corners of each marker's black border as ``(x_mm, y_mm)``, in the order OpenCV's ArUco
        detector reports them: top-left, top-right, bottom-right, bottom-left.
    hair_area_mm : (top_mm, left_mm, bottom_mm, right_mm)
        The plain white field where hairs are laid (inside its thin light-grey outline).
    ruler_mm : (top_mm, left_mm, bottom_mm, right_mm)
        Bounding box of the printed ruler, numbers included.
    """

    paper: str
    width_mm: float
    height_mm: float
    marker_ids: tuple[int, ...]
    marker_corners_mm: np.ndarray
    hair_area_mm: tuple[float, float, float, float]
    ruler_mm: tuple[float, float, float, float]


@dataclass(frozen=True)
class CardDetection:
    """The calibration card as found in a photo.

    Attributes
    ----------
    found : bool
        True only if the scale can be trusted.
    problems : tuple of str
        One plain-English sentence per problem, for a patient or a nurse; may be non-empty when `found` is
        True (for instance when a few markers are covered).
    paper : str or None
        The recognised paper, one of `PAPERS`.
    n_markers : int
        Markers of that paper found and consistent with the card's geometry.
    card_mm_from_image_px : (3, 3) ndarray of float or None
        Homography mapping photo ``(x=col, y=row)`` pixels to card ``(x_mm, y_mm)``. Filled whenever one
        could be fitted, even if `found` is False (then it is not to be trusted).
    mm_per_px : float or None
        Scale of the photo on the card plane at the card centre (square root of the local area scale).
    obliquity_deg : float or None
        Angle between the card's normal and the camera's axis (0° when the phone is held straight above
        the card), estimated from the homography.
    reprojection_error_mm : float or None
        Root-mean-square distance between the found marker corners, mapped onto the card, and where the
        layout puts them.
    algorithm : str
        Name and version of the card design and of the detection.
    """

    found: bool
    problems: tuple[str, ...]
    paper: str | None
    n_markers: int
    card_mm_from_image_px: np.ndarray | None
    mm_per_px: float | None
    obliquity_deg: float | None
    reprojection_error_mm: float | None
    algorithm: str = ALGORITHM


@dataclass(frozen=True)
class RectifiedPhoto:
    """A photo warped onto the card plane: distances in pixels are distances on the card.

    Attributes
    ----------
    image : (M, N, 3) ndarray of uint8
        The photo warped onto the card plane.
    px_per_mm, mm_per_px : float
        Scale of `image`.
    valid_mask : (M, N) ndarray of bool
        False where no photo pixel maps.
    ignore_mask : (M, N) ndarray of bool
        True over the card's printed elements (`printed_mask`) and over a band of a few millimetres either
        side of the paper's edge.
    card_px_from_image_px : (3, 3) ndarray of float
        Homography mapping photo ``(x=col, y=row)`` pixels to `image` ``(x=col, y=row)`` pixels.
    card_origin_px : (row, col)
        Position of the card's top-left corner in `image`, in the same pixel coordinates: the card point
        ``(x_mm, y_mm)`` lies at ``col = card_origin_px[1] + x_mm * px_per_mm`` and
        ``row = card_origin_px[0] + y_mm * px_per_mm``. Both are half-integers, so the card rendered at
        `px_per_mm` occupies whole pixels starting at ``(row + 0.5, col + 0.5)``.
    paper : str
        The card's paper.
    algorithm : str
        Name and version of the card design and of the rectification.
    """

    image: np.ndarray
    px_per_mm: float
    mm_per_px: float
    valid_mask: np.ndarray
    ignore_mask: np.ndarray
    card_px_from_image_px: np.ndarray
    card_origin_px: tuple[float, float]
    paper: str = ""
    algorithm: str = ALGORITHM


# --------------------------------------------------------------------------------------------- layout


def card_layout(paper: str = "a4") -> CardLayout:
    """Geometry of the calibration card for one paper size.

    Parameters
    ----------
    paper : {"a4", "letter"}
        Portrait A4 (210 × 297 mm) or US Letter (215.9 × 279.4 mm).

    Returns
    -------
    layout : CardLayout
    """
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {PAPERS}, got {paper!r}")
    return _layout(paper)


@cache
def _layout(paper: str) -> CardLayout:
    width_mm, height_mm = _PAPER_SIZE_MM[paper]
    lo, size = _EDGE_MARGIN_MM, _MARKER_MM
    xs = np.linspace(lo, width_mm - lo - size, _N_ACROSS)
    ys = np.linspace(lo, height_mm - lo - size, _N_DOWN)
    # Clockwise from the top-left corner: top row, right column, bottom row, left column.
    origins = (
        [(x, ys[0]) for x in xs]
        + [(xs[-1], y) for y in ys[1:-1]]
        + [(x, ys[-1]) for x in xs[::-1]]
        + [(xs[0], y) for y in ys[-2:0:-1]]
    )
    corners = np.array([[(x, y), (x + size, y), (x + size, y + size), (x, y + size)] for x, y in origins])
    corners.setflags(write=False)
    ids = tuple(range(_FIRST_ID[paper], _FIRST_ID[paper] + len(origins)))

    inner = lo + size + _QUIET_MM
    bottom_markers_mm = height_mm - lo - size
    text_bottom_mm = bottom_markers_mm - 4.0
    text_top_mm = text_bottom_mm - 2 * _TEXT_LINE_MM - _TEXT_GAP_MM
    ruler_bottom_mm = text_top_mm - 3.0
    ruler_top_mm = ruler_bottom_mm - _RULER_HEIGHT_MM
    ruler_left_mm = (width_mm - _RULER_LENGTH_MM) / 2 - _RULER_END_MM
    ruler = (ruler_top_mm, ruler_left_mm, ruler_bottom_mm, width_mm - ruler_left_mm)
    hair = (inner, inner, ruler_top_mm - 4.0, width_mm - inner)
    return CardLayout(
        paper=paper,
        width_mm=width_mm,
        height_mm=height_mm,
        marker_ids=ids,
        marker_corners_mm=corners,
        hair_area_mm=hair,
        ruler_mm=ruler,
    )


def _text_lines(layout: CardLayout, field: str = "white") -> list[str]:
    label = _PAPER_LABEL.get(layout.paper, layout.paper)
    what = "the hairs in the white field" if field == "white" else "light hair in the dark field"
    return [
        f"trichotrack calibration card - {label} - lay {what}",
        "print at 100 % (no scaling): 0 to 100 on the ruler must measure 100 mm",
    ]


def _text_box_mm(layout: CardLayout) -> tuple[float, float, float, float]:
    """(top_mm, left_mm, bottom_mm, right_mm) of the text lines, below the ruler."""
    top = layout.ruler_mm[2] + 3.0
    return (
        top,
        _EDGE_MARGIN_MM + _MARKER_MM + _QUIET_MM,
        top + 2 * _TEXT_LINE_MM + _TEXT_GAP_MM + 0.6,
        layout.width_mm - _EDGE_MARGIN_MM - _MARKER_MM - _QUIET_MM,
    )


def _check_layout(layout) -> CardLayout:
    if not isinstance(layout, CardLayout):
        raise ValueError(f"layout must be a CardLayout (from card_layout()), got {type(layout).__name__}")
    return layout


# ------------------------------------------------------------------------------------------- rendering


def _marker_cells(marker_id: int) -> np.ndarray:
    """(7, 7) bool, True for black cells (border included)."""
    dictionary = cv2.aruco.getPredefinedDictionary(_DICTIONARY)
    return cv2.aruco.generateImageMarker(dictionary, int(marker_id), 7, borderBits=1) == 0


def _coverage(lo_px: float, hi_px: float, n: int) -> tuple[int, np.ndarray]:
    """Fraction of each pixel [i, i + 1) covered by [lo_px, hi_px); returns the first index and fractions."""
    first = max(int(np.floor(lo_px)), 0)
    last = min(int(np.ceil(hi_px)), n)
    if last <= first:
        return first, np.zeros(0, np.float32)
    i = np.arange(first, last, dtype=np.float64)
    frac = np.clip(np.minimum(hi_px, i + 1) - np.maximum(lo_px, i), 0.0, 1.0)
    return first, frac.astype(np.float32)


def _fill(dark: np.ndarray, box_mm, px_per_mm: float, darkness: float = 1.0, origin_px=(0, 0)) -> None:
    """Add `darkness` × exact area coverage of the box (top, left, bottom, right mm) to `dark`, whose pixel
    (0, 0) is the page's pixel `origin_px`."""
    top, left, bottom, right = (v * px_per_mm for v in box_mm)
    r0, fr = _coverage(top - origin_px[0], bottom - origin_px[0], dark.shape[0])
    c0, fc = _coverage(left - origin_px[1], right - origin_px[1], dark.shape[1])
    if fr.size and fc.size:
        dark[r0 : r0 + fr.size, c0 : c0 + fc.size] += darkness * np.outer(fr, fc)


def _draw(page: np.ndarray, boxes_mm, px_per_mm: float, darkness: float = 1.0) -> None:
    """Darken `page` by the exact coverage of the boxes (which may touch), summed within their bounding box:
    only that part of the page is touched."""
    boxes = np.asarray(boxes_mm, np.float64) * px_per_mm
    r0, c0 = max(int(np.floor(boxes[:, 0].min())), 0), max(int(np.floor(boxes[:, 1].min())), 0)
    r1 = min(int(np.ceil(boxes[:, 2].max())), page.shape[0])
    c1 = min(int(np.ceil(boxes[:, 3].max())), page.shape[1])
    if r1 <= r0 or c1 <= c0:
        return
    dark = np.zeros((r1 - r0, c1 - c0), np.float32)
    for box in boxes_mm:
        _fill(dark, box, px_per_mm, darkness, origin_px=(r0, c0))
    shade = 255.0 - 255.0 * np.clip(dark, 0.0, 1.0) + 0.5
    np.minimum(page[r0:r1, c0:c1], shade.astype(np.uint8), out=page[r0:r1, c0:c1])


def _ruler_elements(layout: CardLayout):
    """Rectangles (top, left, bottom, right mm) of the ruler and its labels [(text, x_mm, top_mm, h_mm)]."""
    top, left, _, _ = layout.ruler_mm
    x0 = left + _RULER_END_MM
    line = 0.2
    rects = [(top, x0 - line / 2, top + 0.25, x0 + _RULER_LENGTH_MM + line / 2)]
    labels = []
    for mm in range(int(_RULER_LENGTH_MM) + 1):
        length = 5.0 if mm % 10 == 0 else 3.5 if mm % 5 == 0 else 2.2
        rects.append((top, x0 + mm - line / 2, top + length, x0 + mm + line / 2))
        if mm % 10 == 0:
            labels.append((str(mm), x0 + mm, top + 6.2, 2.2))
    labels.append(("mm", x0 + _RULER_LENGTH_MM + 0.5, top + 1.0, 1.6))
    return rects, labels


def _put_text(page, text, *, x_mm, top_mm, height_mm, px_per_mm, centred=False, max_width_mm=None) -> None:
    font = cv2.FONT_HERSHEY_SIMPLEX
    (w1, h1), _ = cv2.getTextSize(text, font, 1.0, 1)
    scale = height_mm * px_per_mm / h1
    if max_width_mm is not None:
        scale = min(scale, max_width_mm * px_per_mm / w1)
    thickness = max(1, round(0.22 * px_per_mm))
    width_px = w1 * scale
    x_px = x_mm * px_per_mm - (width_px / 2 if centred else 0.0)
    y_px = top_mm * px_per_mm + h1 * scale
    if scale * h1 < 3:  # too small to be drawn legibly at this resolution
        return
    cv2.putText(page, text, (round(x_px), round(y_px)), font, scale, 0, thickness, cv2.LINE_AA)


def render_card(layout: CardLayout, *, px_per_mm: float, field: str = "white") -> np.ndarray:
    """Draw the card as a page image.

    Parameters
    ----------
    layout : CardLayout
        From `card_layout`.
    px_per_mm : float
        Resolution; write the PNG with ``dpi = px_per_mm * 25.4`` to print at true size (11.811 px/mm is
        300 dpi).
    field : {"white", "dark"}
        The hair field: white (dark hair) or printed dark (light hair: blonde, white, grey).

    Returns
    -------
    page : (M, N) ndarray of uint8
        White paper is 255; ``M = round(height_mm * px_per_mm)``, ``N = round(width_mm * px_per_mm)``.
        Markers, ruler ticks and outline are drawn with exact area coverage (anti-aliased), so their edges
        are where the layout says to a small fraction of a pixel.
    """
    layout = _check_layout(layout)
    px_per_mm = positive_finite(px_per_mm, name="px_per_mm")
    if field not in FIELDS:
        raise ValueError(f"field must be one of {FIELDS}, got {field!r}")
    shape = (round(layout.height_mm * px_per_mm), round(layout.width_mm * px_per_mm))
    if shape[0] * shape[1] > _MAX_CARD_PIXELS:
        raise ValueError(f"px_per_mm = {px_per_mm} would make a page of {shape[1]}×{shape[0]} px; too large")
    if min(shape) < 1:
        raise ValueError(f"px_per_mm = {px_per_mm} makes an empty page")
    page = np.full(shape, 255, np.uint8)

    cell = _MARKER_MM / 7
    for marker_id, corners in zip(layout.marker_ids, layout.marker_corners_mm, strict=True):
        x0, y0 = corners[0]
        cells = _marker_cells(marker_id)
        runs = []
        for r in range(7):
            # Runs of black cells in a row are filled as one rectangle: no seams between cells.
            c = 0
            while c < 7:
                if not cells[r, c]:
                    c += 1
                    continue
                start = c
                while c < 7 and cells[r, c]:
                    c += 1
                runs.append((y0 + r * cell, x0 + start * cell, y0 + (r + 1) * cell, x0 + c * cell))
        _draw(page, runs, px_per_mm)

    top, left, bottom, right = layout.hair_area_mm
    if field == "dark":
        _draw(page, [layout.hair_area_mm], px_per_mm, _DARK_FIELD_DARKNESS)
    w = _OUTLINE_MM
    # Each line drawn on its own (small bounding boxes), the side lines overlapping the top and bottom ones
    # rather than touching them: the overlap of two equal shades is exact.
    for box in (
        (top - w, left - w, top, right + w),
        (bottom, left - w, bottom + w, right + w),
        (top - w, left - w, bottom + w, left),
        (top - w, right, bottom + w, right + w),
    ):
        _draw(page, [box], px_per_mm, _OUTLINE_DARKNESS)

    rects, labels = _ruler_elements(layout)
    _draw(page, rects, px_per_mm)

    for text, x_mm, top_mm, h_mm in labels:
        _put_text(
            page, text, x_mm=x_mm, top_mm=top_mm, height_mm=h_mm, px_per_mm=px_per_mm, centred=text != "mm"
        )
    t_top, t_left, _, t_right = _text_box_mm(layout)
    for i, line in enumerate(_text_lines(layout, field)):
        _put_text(
            page,
            line,
            x_mm=t_left,
            top_mm=t_top + i * (_TEXT_LINE_MM + _TEXT_GAP_MM),
            height_mm=_TEXT_LINE_MM,
            px_per_mm=px_per_mm,
            max_width_mm=t_right - t_left,
        )
    return page


def _printed_boxes_mm(layout: CardLayout) -> list[tuple[float, float, float, float]]:
    """Boxes (top, left, bottom, right mm) covering everything printed on the card."""
    boxes = []
    for corners in layout.marker_corners_mm:
        (left, top), (right, bottom) = corners.min(axis=0), corners.max(axis=0)
        boxes.append((top, left, bottom, right))
    return [*boxes, *_outline_boxes_mm(layout), layout.ruler_mm, _text_box_mm(layout)]


def _outline_boxes_mm(layout: CardLayout) -> list[tuple[float, float, float, float]]:
    """The four strips (top, left, bottom, right mm) of the thin outline round the hair field."""
    top, left, bottom, right = layout.hair_area_mm
    w = _OUTLINE_MM
    return [
        (top - w, left - w, top, right + w),
        (bottom, left - w, bottom + w, right + w),
        (top, left - w, bottom, left),
        (top, right, bottom, right + w),
    ]


def _paint_boxes(mask: np.ndarray, boxes, *, px_per_mm: float, margin_mm: float, origin_px=(0, 0)) -> None:
    """Set True every pixel whose centre lies within the boxes grown by margin_mm."""
    r_off, c_off = origin_px
    rows, cols = mask.shape
    for top, left, bottom, right in boxes:
        # Pixel i has its centre at (i + 0.5) / px_per_mm mm from the card's edge.
        r0 = max(int(np.ceil((top - margin_mm) * px_per_mm - 0.5)) + r_off, 0)
        r1 = min(int(np.floor((bottom + margin_mm) * px_per_mm - 0.5)) + 1 + r_off, rows)
        c0 = max(int(np.ceil((left - margin_mm) * px_per_mm - 0.5)) + c_off, 0)
        c1 = min(int(np.floor((right + margin_mm) * px_per_mm - 0.5)) + 1 + c_off, cols)
        if r1 > r0 and c1 > c0:
            mask[r0:r1, c0:c1] = True


def printed_mask(layout: CardLayout, *, px_per_mm: float, margin_mm: float = 2.0) -> np.ndarray:
    """Where the card is printed, grown by a margin: the regions a hair analysis must ignore.

    Parameters
    ----------
    layout : CardLayout
        From `card_layout`.
    px_per_mm : float
        Resolution, as for `render_card`.
    margin_mm : float
        Growth of each printed element (markers, ruler, text, outline) in millimetres, >= 0.

    Returns
    -------
    mask : (M, N) ndarray of bool
        Same shape as ``render_card(layout, px_per_mm=px_per_mm)``; True within `margin_mm` of the bounding
        box of each printed element (markers are masked whole).
    """
    layout = _check_layout(layout)
    px_per_mm = positive_finite(px_per_mm, name="px_per_mm")
    margin_mm = float(margin_mm)
    if not np.isfinite(margin_mm) or margin_mm < 0:
        raise ValueError(f"margin_mm must be a finite number >= 0, got {margin_mm}")
    shape = (round(layout.height_mm * px_per_mm), round(layout.width_mm * px_per_mm))
    if shape[0] * shape[1] > _MAX_CARD_PIXELS:
        raise ValueError(f"px_per_mm = {px_per_mm} would make a page of {shape[1]}×{shape[0]} px; too large")
    mask = np.zeros(shape, bool)
    _paint_boxes(mask, _printed_boxes_mm(layout), px_per_mm=px_per_mm, margin_mm=margin_mm)
    return mask


# ------------------------------------------------------------------------------------------- detection


@cache
def _detector() -> cv2.aruco.ArucoDetector:
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_NONE  # refined at full resolution instead
    # Larger threshold windows than the default (3 to 23 px) keep markers whole when hairs cross them.
    params.adaptiveThreshWinSizeMin = 5
    params.adaptiveThreshWinSizeMax = 35
    params.adaptiveThreshWinSizeStep = 10
    params.minMarkerPerimeterRate = 0.02  # markers down to ~8 px a side in the reduced copy
    # Nested squares (a marker in a white margin cut out of something dark) are otherwise taken for one
    # candidate, and the wrong one kept.
    params.minMarkerDistanceRate = 0.05
    return cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(_DICTIONARY), params)


@cache
def _id_table() -> dict[int, tuple[str, int]]:
    """Marker id -> (paper, index of the marker in that paper's layout)."""
    table = {}
    for paper in PAPERS:
        for index, marker_id in enumerate(_layout(paper).marker_ids):
            table[marker_id] = (paper, index)
    return table


def _gray(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2 and image.dtype == np.uint8:
        if min(image.shape) < 16:
            raise ValueError(f"image is {image.shape[1]}×{image.shape[0]} px; need at least 16 px a side")
        return np.ascontiguousarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be (M, N) or (M, N, 3), got shape {image.shape}")
    rgb = as_rgb_uint8(image, name="image")
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def _find_markers(gray: np.ndarray, max_side_px: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Markers with known ids: ids (K,), corners (K, 4, 2) in full-resolution pixels, sub-pixel refined;
    and the number of squares the detector saw that could be markers, read or not (see `_dark_squares`)."""
    scale = min(1.0, max_side_px / max(gray.shape))
    small = gray
    if scale < 1.0:
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    corners, ids, rejected = _detector().detectMarkers(small)
    n_candidates = _dark_squares(small, rejected) + (0 if ids is None else len(ids))
    if ids is None or len(ids) == 0:
        return np.zeros(0, int), np.zeros((0, 4, 2)), n_candidates
    ids = ids.ravel().astype(int)
    keep = np.array([i in _id_table() for i in ids])
    if not keep.any():
        return np.zeros(0, int), np.zeros((0, 4, 2)), n_candidates
    ids = ids[keep]
    corners = np.stack([c.reshape(4, 2) for c, k in zip(corners, keep, strict=True) if k]).astype(np.float64)
    if scale < 1.0:
        corners = (corners + 0.5) * (gray.shape[1] / small.shape[1], gray.shape[0] / small.shape[0]) - 0.5
    # One window for all corners: a third of a marker cell, so that it sees the two edges of the outer
    # corner but not the next cell's edges.
    sides = np.linalg.norm(np.diff(corners, axis=1, append=corners[:, :1]), axis=2)
    half_win = int(np.clip(np.median(sides) / 7 * 0.4, 2, 30))
    initial = corners.reshape(-1, 1, 2).astype(np.float32)
    refined = cv2.cornerSubPix(
        gray,
        initial.copy(),
        (half_win, half_win),
        (-1, -1),
        (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 40, 0.01),
    ).astype(np.float64)
    moved = np.linalg.norm(refined - initial, axis=2).ravel()
    refined = refined.reshape(-1, 2)
    bad = moved > max(1.5 / scale, half_win)
    refined[bad] = initial.reshape(-1, 2)[bad]
    # Twice: the second pass samples the edges where the first found them (a hair touching a marker can
    # drag the detector's corner along it by several pixels).
    return ids, _fit_marker_edges(gray, _fit_marker_edges(gray, refined.reshape(-1, 4, 2))), n_candidates


def _dark_squares(gray: np.ndarray, quads, *, max_ratio: float = 0.75) -> int:
    """How many of the detector's unread square candidates are dark inside against a light surround, as a
    marker too small to read is (a black border round a half-black pattern, on white card). Crossing hairs
    also enclose squares, but of the surface's own shade."""
    n = 0
    for quad in quads:
        pts = quad.reshape(4, 2)
        left, top = np.floor(pts.min(axis=0)).astype(int) - 3
        right, bottom = np.ceil(pts.max(axis=0)).astype(int) + 4
        left, top = max(left, 0), max(top, 0)
        window = gray[top:bottom, left:right]
        if window.size == 0:
            continue
        inside = np.zeros(window.shape, np.uint8)
        cv2.fillConvexPoly(inside, np.round(pts - (left, top)).astype(np.int32), 1)
        ring = cv2.dilate(inside, np.ones((5, 5), np.uint8)) > inside
        inside = inside > 0
        if inside.any() and ring.any() and window[inside].mean() <= max_ratio * window[ring].mean():
            n += 1
    return n


def _fit_marker_edges(gray: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Corners (K, 4, 2) re-estimated as the intersections of lines fitted to each marker's four outer edges.

    Across each edge, at points along its middle 70 %, the gray profile is sampled along the edge's normal
    within ±0.7 marker cell; the edge is where the profile rises from the black border to the white quiet
    zone (the centroid of the positive derivative), which a symmetric blur does not move. A corner whose
    edges cannot be fitted (a hair or a finger across them) keeps its previous estimate.
    """
    k = len(corners)
    if k == 0:
        return corners
    side = np.roll(corners, -1, axis=1) - corners  # side j runs from corner j to corner j + 1
    length = np.linalg.norm(side, axis=2)
    direction = side / np.maximum(length, 1e-9)[..., None]
    normal = np.stack([direction[..., 1], -direction[..., 0]], axis=-1)  # outward for clockwise corners
    centre = corners.mean(axis=1, keepdims=True)
    flip = np.sign(np.sum((corners + side / 2 - centre) * normal, axis=2, keepdims=True))
    normal = normal * np.where(flip == 0, 1, flip)

    n_along, n_across = 24, 25
    cell_px = length.mean(axis=1) / 7  # (K,) each marker's own cell size
    fraction = np.linspace(-0.7, 0.7, n_across)  # (A,) of a cell, along the outward normal
    t = np.linspace(0.15, 0.85, n_along)  # (T,)
    base = corners[:, :, None, :] + t[None, None, :, None] * side[:, :, None, :]  # (K, 4, T, 2)
    reach = fraction[None, None, None, :, None] * cell_px[:, None, None, None, None]
    points = base[:, :, :, None, :] + reach * normal[:, :, None, None, :]  # (K, 4, T, A, 2)
    maps = points.reshape(-1, n_across, 2).astype(np.float32)
    profiles = cv2.remap(gray, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    profiles = profiles.astype(np.float64)
    rise = np.clip(np.diff(profiles, axis=1), 0, None)  # dark border -> white quiet zone, going outward
    # Only the strongest rise and its flanks: a hair lying in the quiet zone makes a second, weaker one.
    profile_cell_px = np.repeat(cell_px, 4 * n_along)  # (K * 4 * T,)
    step_px = (fraction[1] - fraction[0]) * profile_cell_px
    half = np.maximum(2, np.ceil(np.maximum(3.0, 0.3 * profile_cell_px) / step_px))
    peak = rise.argmax(axis=1)
    near = np.abs(np.arange(n_across - 1)[None, :] - peak[:, None]) <= half[:, None]
    rise = np.where(near, rise, 0.0)
    contrast = profiles.max(axis=1) - profiles.min(axis=1)
    weight = rise.sum(axis=1)
    mid = (fraction[:-1] + fraction[1:]) / 2
    offset = (rise * mid).sum(axis=1) / np.maximum(weight, 1e-9) * profile_cell_px
    ok = (contrast > 20) & (weight > 0.5 * contrast)
    edge_points = (
        base.reshape(-1, 2) + offset[:, None] * normal.repeat(n_along, axis=1).reshape(-1, 2)
    ).reshape(k, 4, n_along, 2)
    ok = ok.reshape(k, 4, n_along)

    lines = np.full((k, 4, 3), np.nan)  # a x + b y = c with (a, b) the unit normal
    for m in range(k):
        for j in range(4):
            pts = edge_points[m, j][ok[m, j]]
            if len(pts) < n_along // 2:
                continue
            line = _fit_line(pts)
            if line is not None:
                lines[m, j] = line
    refined = corners.copy()
    for j in range(4):
        a, b = lines[:, j - 1], lines[:, j]  # corner j joins side j - 1 and side j
        det = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]  # sine of the angle between the edges
        det = np.where(np.abs(det) > 0.5, det, np.nan)  # NaN lines stay NaN; near-parallel ones too
        x = (a[:, 2] * b[:, 1] - a[:, 1] * b[:, 2]) / det
        y = (a[:, 0] * b[:, 2] - a[:, 2] * b[:, 0]) / det
        new = np.stack([x, y], axis=1)
        good = np.isfinite(new).all(axis=1)
        good &= np.linalg.norm(np.where(good[:, None], new, 0) - corners[:, j], axis=1) < cell_px
        refined[good, j] = new[good]
    return refined


def _fit_line(points: np.ndarray):
    """(a, b, c) with a x + b y = c and (a, b) a unit normal, fitted robustly; None if too few agree."""
    keep = np.ones(len(points), bool)
    for _ in range(3):
        vx, vy, x0, y0 = cv2.fitLine(points[keep].astype(np.float32), cv2.DIST_L2, 0, 0.01, 0.01).ravel()
        a, b = -float(vy), float(vx)
        c = a * float(x0) + b * float(y0)
        residual = np.abs(points @ (a, b) - c)
        spread = 1.4826 * np.median(residual[keep])
        new_keep = residual <= max(0.3, 3 * spread)
        if new_keep.sum() < len(points) // 2:
            return None
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    return a, b, c


def _apply(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, np.float64)
    p = np.c_[points.reshape(-1, 2), np.ones(points.size // 2)] @ h.T
    return (p[:, :2] / p[:, 2:]).reshape(points.shape)


def _jacobian(h: np.ndarray, point: np.ndarray) -> np.ndarray:
    """2 × 2 derivative of the homography `h` at `point` (x, y)."""
    x, y = point
    u, v, w = h @ (x, y, 1.0)
    return np.array(
        [
            [(h[0, 0] * w - u * h[2, 0]) / w**2, (h[0, 1] * w - u * h[2, 1]) / w**2],
            [(h[1, 0] * w - v * h[2, 0]) / w**2, (h[1, 1] * w - v * h[2, 1]) / w**2],
        ]
    )


def _focal_px(image_px_from_mm: np.ndarray, shape: tuple[int, int]) -> float:
    """Focal length of the camera, from the homography of a square-pixel camera with its principal point at
    the photo's centre (Zhang's two constraints, in least squares). Clipped to 0.5–2 × the photo's larger
    side, which is also the answer when the view is too straight to tell."""
    rows, cols = shape
    nominal = float(max(rows, cols))
    g = np.array([[1, 0, -(cols - 1) / 2], [0, 1, -(rows - 1) / 2], [0, 0, 1.0]]) @ image_px_from_mm
    g = g / np.linalg.norm(g[:, :2])
    (x1, y1, z1), (x2, y2, z2) = g[:, 0], g[:, 1]
    # r1 . r2 = 0 and |r1| = |r2| for r = K^-1 g, linear in u = 1 / f^2: a u + b = 0.
    a = np.array([x1 * x2 + y1 * y2, x1**2 + y1**2 - x2**2 - y2**2])
    b = np.array([z1 * z2, z1**2 - z2**2])
    denominator = a @ a
    if denominator <= 0:
        return nominal
    u = -(a @ b) / denominator
    if not np.isfinite(u) or u <= 0:
        return nominal
    return float(np.clip(1 / np.sqrt(u), 0.5 * nominal, 2.0 * nominal))


def _obliquity_deg(image_px_from_mm: np.ndarray, shape: tuple[int, int]) -> float:
    """Angle between the card's normal and the camera's optical axis."""
    rows, cols = shape
    f = _focal_px(image_px_from_mm, shape)
    k_inv = np.linalg.inv(np.array([[f, 0, (cols - 1) / 2], [0, f, (rows - 1) / 2], [0, 0, 1.0]]))
    a = k_inv @ image_px_from_mm
    r1, r2 = a[:, 0] / np.linalg.norm(a[:, 0]), a[:, 1] / np.linalg.norm(a[:, 1])
    normal = np.cross(r1, r2)
    normal /= np.linalg.norm(normal)
    return float(np.degrees(np.arccos(min(1.0, abs(normal[2])))))


def _hull_area(points: np.ndarray) -> float:
    if len(points) < 3:
        return 0.0
    return float(cv2.contourArea(cv2.convexHull(points.astype(np.float32))))


def _fit(ids: np.ndarray, corners_px: np.ndarray, layout: CardLayout):
    """MAGSAC, then least squares on the consistent corners of the consistent markers.

    Returns (H, inlier marker mask) or (None, None). A marker is consistent when at least 3 of its corners
    are; a corner when it lies within 3 px (0.3 to 1.5 mm) of where the fit puts it. Of several detections
    of one id, the best fitting is kept.
    """
    index = np.array([_id_table()[i][1] for i in ids])
    expected = layout.marker_corners_mm[index]
    sides_px = np.linalg.norm(np.diff(corners_px, axis=1), axis=2)
    threshold_mm = float(np.clip(3 * _MARKER_MM / np.median(sides_px), 0.3, _RANSAC_THRESHOLD_MM))
    h, corner_ok = cv2.findHomography(
        corners_px.reshape(-1, 2),
        expected.reshape(-1, 2),
        cv2.USAC_MAGSAC,
        threshold_mm,
        maxIters=2000,
        confidence=0.999,
    )
    if h is None:
        return None, None
    corner_ok = corner_ok.reshape(-1, 4).astype(bool)
    for _ in range(2):
        inliers = corner_ok.sum(axis=1) >= 3
        residual = np.linalg.norm(_apply(h, corners_px) - expected, axis=2)
        mean_residual = residual.mean(axis=1)
        for marker_id in np.unique(ids[inliers]):
            same = np.flatnonzero((ids == marker_id) & inliers)
            if same.size > 1:
                inliers[same[np.argsort(mean_residual[same])[1:]]] = False
        use = corner_ok & inliers[:, None]
        if use.sum() < 4:
            return None, None
        refit, _ = cv2.findHomography(corners_px[use], expected[use], 0)
        if refit is None:
            break
        h = refit / refit[2, 2]
        corner_ok = np.linalg.norm(_apply(h, corners_px) - expected, axis=2) <= threshold_mm
    inliers &= corner_ok.sum(axis=1) >= 3
    return h / h[2, 2], inliers


_NO_CARD = (
    "No calibration card found in the photo. Lay the hairs on the printed card and photograph the whole card "
    "from straight above, in good light."
)


def _not_flat(detail: str) -> str:
    return (
        f"The card's markers do not line up ({detail}): make sure the card lies flat, is not bent or folded, "
        "that nothing lies on its black squares, and that the photo is sharp."
    )


def _not_found(problems, *, paper=None, n_markers=0, **values) -> CardDetection:
    defaults = dict(
        card_mm_from_image_px=None, mm_per_px=None, obliquity_deg=None, reprojection_error_mm=None
    )
    defaults.update(values)
    return CardDetection(found=False, problems=tuple(problems), paper=paper, n_markers=n_markers, **defaults)


def detect_card(image: np.ndarray) -> CardDetection:
    """Find the calibration card in a photo and map the photo onto the card.

    Markers are found on a gray copy reduced to at most 1600 px a side (twice that if too few are found
    but at least as many dark square candidates as the card needs markers are seen).
    Their corners are refined on the full-resolution gray image, first with `cv2.cornerSubPix`, then as
    the intersections of straight lines fitted to each marker's outer edges (unbiased by blur, unlike
    corner detectors). A homography is fitted with MAGSAC, which rejects false and duplicated markers,
    then by least squares on the consistent ones. Every paper layout is tried; the one with most markers
    wins. The obliquity is estimated from the homography with a focal length self-calibrated from it
    (square pixels, principal point at the photo's centre).

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8 RGB, or (M, N) gray
        The photo. Not modified.

    Returns
    -------
    detection : CardDetection
        ``found`` is False, with a sentence in ``problems`` saying why, when there is no card, too few
        markers, markers along one edge only, a view more oblique than 40° or corners that do not line up
        to within 1 mm.
    """
    gray = _gray(image)
    ids, corners, n_candidates = _find_markers(gray, _DETECT_MAX_SIDE_PX)
    if len(ids) < _MIN_MARKERS <= n_candidates and max(gray.shape) > _DETECT_MAX_SIDE_PX:
        # A card far from the camera has small markers: look again at twice the resolution. (Only where
        # enough dark squares were seen to be its markers: a marker too small to read is still one, and a
        # photo without a card, even of crossing hairs, has hardly any.)
        ids2, corners2, _ = _find_markers(gray, 2 * _DETECT_MAX_SIDE_PX)
        if len(ids2) > len(ids):
            ids, corners = ids2, corners2
    if len(ids) == 0:
        return _not_found([_NO_CARD])

    papers = [_id_table()[i][0] for i in ids]
    paper = max(PAPERS, key=papers.count)
    layout = _layout(paper)
    mine = np.array([p == paper for p in papers])
    ids, corners = ids[mine], corners[mine]
    n_total = len(layout.marker_ids)
    seen_ids = ids
    n_seen = len(np.unique(ids))

    def covered(n: int) -> str:
        return (
            f"The card is partly covered or outside the photo: {n} of {n_total} markers are visible. "
            "Make sure the whole card is in the picture and uncover the black squares along its edges."
        )

    if n_seen < _MIN_MARKERS:
        return _not_found([covered(n_seen)], paper=paper, n_markers=n_seen)

    h, inliers = _fit(ids, corners, layout)
    if h is None or inliers.sum() < _MIN_MARKERS:
        n = 0 if inliers is None else int(inliers.sum())
        return _not_found(
            [_not_flat(f"only {n} of the {n_seen} visible markers agree")], paper=paper, n_markers=n
        )
    out_of_line = n_seen - len(np.unique(ids[inliers]))  # seen, but not where the others say they should be
    ids, corners = ids[inliers], corners[inliers]
    n_markers = len(ids)
    index = np.array([_id_table()[i][1] for i in ids])
    expected_mm = layout.marker_corners_mm[index]

    residual_mm = np.linalg.norm(_apply(h, corners) - expected_mm, axis=2)
    error_mm = float(np.sqrt(np.mean(residual_mm**2)))
    centre_mm = np.array([layout.width_mm / 2, layout.height_mm / 2])
    image_px_from_mm = np.linalg.inv(h)
    centre_px = _apply(image_px_from_mm, centre_mm)
    mm_per_px = float(np.sqrt(abs(np.linalg.det(_jacobian(h, centre_px)))))
    obliquity = _obliquity_deg(image_px_from_mm, gray.shape)
    values = dict(
        card_mm_from_image_px=h, mm_per_px=mm_per_px, obliquity_deg=obliquity, reprojection_error_mm=error_mm
    )

    problems, found = [], True
    all_centres = layout.marker_corners_mm.mean(axis=1)
    spread = _hull_area(expected_mm.mean(axis=1)) / _hull_area(all_centres)
    if spread < _MIN_SPREAD:
        found = False
        problems.append(
            f"Only the markers along one edge of the card are visible ({n_markers} of {n_total}), "
            "so its scale cannot be trusted. Make sure the whole card is in the picture and uncover the "
            "black squares along its edges."
        )
    elif n_seen < n_total:
        missing = np.setdiff1d(np.arange(n_total), [_id_table()[i][1] for i in np.unique(seen_ids)])
        missing_px = _apply(image_px_from_mm, layout.marker_corners_mm[missing]).reshape(-1, 2)
        rows, cols = gray.shape
        outside = (missing_px[:, 0] < 0) | (missing_px[:, 0] > cols - 1)
        outside |= (missing_px[:, 1] < 0) | (missing_px[:, 1] > rows - 1)
        if outside.any():
            problems.append(
                f"The card is partly outside the photo: {n_seen} of {n_total} markers are visible. "
                "Move the phone back so that the whole card is in the picture."
            )
        else:
            problems.append(
                f"The card is partly covered: {n_seen} of {n_total} markers are visible. "
                "Uncover the black squares along its edges."
            )
    if obliquity > _MAX_OBLIQUITY_DEG:
        found = False
        problems.append(
            f"The card is photographed too obliquely (about {obliquity:.0f}°); "
            "hold the phone straight above it."
        )
    elif obliquity > _WARN_OBLIQUITY_DEG:
        problems.append(
            f"The card is photographed at an angle (about {obliquity:.0f}°); "
            "for the best measurements hold the phone straight above it."
        )
    if error_mm > _MAX_ERROR_MM:
        found = False
        problems.append(_not_flat(f"error about {error_mm:.1f} mm"))
    elif error_mm > max(_WARN_ERROR_MM, _WARN_ERROR_PX * mm_per_px):  # not just corner noise in a small card
        problems.append(_not_flat(f"error about {error_mm:.1f} mm"))
    elif out_of_line:
        problems.append(_not_flat(f"{out_of_line} of them {'is' if out_of_line == 1 else 'are'} out of line"))
    return CardDetection(found=found, problems=tuple(problems), paper=paper, n_markers=n_markers, **values)


# ----------------------------------------------------------------------------------------- rectifying


def _output_box_mm(h: np.ndarray, layout: CardLayout, shape: tuple[int, int], px_per_mm: float):
    """(top, left, bottom, right) mm of the rectified output: the photo's footprint, clipped."""
    rows, cols = shape
    t = np.linspace(0.0, 1.0, 33)
    border = np.concatenate(
        [
            np.c_[t * (cols - 1), np.zeros_like(t)],
            np.c_[np.full_like(t, cols - 1), t * (rows - 1)],
            np.c_[t * (cols - 1), np.full_like(t, rows - 1)],
            np.c_[np.zeros_like(t), t * (rows - 1)],
        ]
    )
    w = np.c_[border, np.ones(len(border))] @ h[2]
    sign = np.sign(h[2] @ (*_apply(np.linalg.inv(h), [[layout.width_mm / 2, layout.height_mm / 2]])[0], 1.0))
    reach_w, reach_h = _SURROUND_CARDS * layout.width_mm, _SURROUND_CARDS * layout.height_mm
    limit = np.array([-reach_h, -reach_w, layout.height_mm + reach_h, layout.width_mm + reach_w])
    if (w * sign <= 0).any():  # the horizon crosses the photo: its footprint on the card plane is unbounded
        top, left, bottom, right = limit
    else:
        mm = _apply(h, border)
        left, top = mm.min(axis=0)
        right, bottom = mm.max(axis=0)
        top, left = max(top, limit[0]), max(left, limit[1])
        bottom, right = min(bottom, limit[2]), min(right, limit[3])
    # Always keep the whole card; shrink the surroundings until the output fits the pixel budget.
    top, left = min(top, 0.0), min(left, 0.0)
    bottom, right = max(bottom, layout.height_mm), max(right, layout.width_mm)
    budget_px = _MAX_OUTPUT_PIXEL_RATIO * rows * cols
    card_px = layout.width_mm * layout.height_mm * px_per_mm**2
    if card_px > _MAX_CARD_PIXELS:
        raise ValueError(f"px_per_mm = {px_per_mm} makes the card alone {card_px / 1e6:.0f} Mpx; too large")
    area_px = (bottom - top) * (right - left) * px_per_mm**2
    if area_px > budget_px:
        if card_px >= budget_px:
            f = 0.0
        else:  # the surrounding margins shrink by a common factor f in [0, 1]: solve area(f) = budget
            lo, hi = 0.0, 1.0
            for _ in range(40):
                f = (lo + hi) / 2
                a = layout.height_mm - f * top + f * (bottom - layout.height_mm)
                b = layout.width_mm - f * left + f * (right - layout.width_mm)
                lo, hi = (f, hi) if a * b * px_per_mm**2 <= budget_px else (lo, f)
            f = lo
        top, left = f * top, f * left
        bottom = layout.height_mm + f * (bottom - layout.height_mm)
        right = layout.width_mm + f * (right - layout.width_mm)
    return top, left, bottom, right


def _valid_mask(card_px_from_image_px, photo_shape, out_shape, card_centre_px) -> np.ndarray:
    """Where the rectified image has photo pixels (all four bilinear neighbours inside the photo)."""
    rows, cols = photo_shape
    out_rows, out_cols = out_shape
    # The photo's rectangle, in from its border by a pixel and by what a rectified pixel touching its
    # edge spans in the photo. Unless the horizon crosses it, its image on the card plane is a convex
    # quadrilateral.
    photo_corners = np.array([(0, 0), (cols - 1, 0), (cols - 1, rows - 1), (0, rows - 1)], np.float64)
    w = np.c_[photo_corners, np.ones(4)] @ card_px_from_image_px[2]
    if np.all(w > 0) or np.all(w < 0):
        image_from_card_px = np.linalg.inv(card_px_from_image_px)
        corners = _apply(card_px_from_image_px, photo_corners)
        spread = max(np.linalg.norm(_jacobian(image_from_card_px, c), 2) for c in corners)
        inset = 1.0 + 0.75 * spread
        inner = photo_corners + inset * np.array([(1, 1), (-1, 1), (-1, -1), (1, -1)])
        polygon = _apply(card_px_from_image_px, inner)
        if np.abs(polygon).max() < 1e7 and min(rows, cols) > 2 * inset:
            mask = np.zeros(out_shape, np.uint8)
            cv2.fillConvexPoly(mask, np.round(polygon * 16).astype(np.int32), 1, cv2.LINE_8, 4)
            return mask.view(bool)
    ones = np.full((rows, cols), 255, np.uint8)
    valid = (
        cv2.warpPerspective(
            ones,
            card_px_from_image_px,
            (out_cols, out_rows),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        == 255
    )
    # Card-plane points behind the camera also map into the photo (through the projection centre): keep
    # those on the card's side of the camera.
    g = np.linalg.inv(card_px_from_image_px)[2]
    front = np.sign(g @ (*card_centre_px, 1.0))
    cc, rr = np.meshgrid(np.arange(out_cols), np.arange(out_rows), sparse=True)
    return valid & ((g[0] * cc + g[1] * rr + g[2]) * front > 0)


def rectify(image: np.ndarray, detection: CardDetection, *, px_per_mm: float | None = None) -> RectifiedPhoto:
    """Warp the whole photo onto the card plane, so that pixels are a fixed size on the card.

    Hairs may lie on the card or on the surface around it: the output covers the card and as much of the
    photo around it as fits in 1.5× the photo's pixel count and within one card size of the card.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8 RGB, or (M, N) gray
        The photo given to `detect_card`. Not modified.
    detection : CardDetection
        From ``detect_card(image)``; ``found`` must be True.
    px_per_mm : float, optional
        Resolution of the output. By default the photo's own resolution at the card centre
        (``1 / detection.mm_per_px``): no needless up- or down-sampling.

    Returns
    -------
    rectified : RectifiedPhoto
    """
    if not isinstance(detection, CardDetection):
        raise ValueError(f"detection must be a CardDetection, got {type(detection).__name__}")
    if not detection.found:
        reason = " ".join(detection.problems) or "no card found"
        raise ValueError(f"detection.found is False; cannot rectify: {reason}")
    rgb = np.ascontiguousarray(as_rgb_uint8(image, name="image"))
    px_per_mm = (
        1.0 / detection.mm_per_px if px_per_mm is None else positive_finite(px_per_mm, name="px_per_mm")
    )
    layout = _layout(detection.paper)
    h = np.asarray(detection.card_mm_from_image_px, np.float64)
    rows, cols = rgb.shape[:2]

    top, left, bottom, right = _output_box_mm(h, layout, (rows, cols), px_per_mm)
    # Whole-pixel offsets, so that the card's own pixel grid (render_card, printed_mask) lines up.
    off_r, off_c = int(np.ceil(-top * px_per_mm - 1e-9)), int(np.ceil(-left * px_per_mm - 1e-9))
    out_rows = off_r + int(np.ceil(bottom * px_per_mm - 1e-9))
    out_cols = off_c + int(np.ceil(right * px_per_mm - 1e-9))
    origin = (off_r - 0.5, off_c - 0.5)
    px_from_mm = np.array([[px_per_mm, 0, origin[1]], [0, px_per_mm, origin[0]], [0, 0, 1.0]])
    card_px_from_image_px = px_from_mm @ h
    card_px_from_image_px /= card_px_from_image_px[2, 2]

    warped = cv2.warpPerspective(
        rgb,
        card_px_from_image_px,
        (out_cols, out_rows),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    card_centre_px = (
        origin[1] + layout.width_mm / 2 * px_per_mm,
        origin[0] + layout.height_mm / 2 * px_per_mm,
    )
    valid = _valid_mask(card_px_from_image_px, (rows, cols), (out_rows, out_cols), card_centre_px)
    warped = cv2.copyTo(warped, valid.view(np.uint8))  # zero also the part-photo pixels along its border

    ignore = np.zeros((out_rows, out_cols), bool)
    # Markers, ruler and text with a margin for their blur and the rectification's error; the hair field's
    # thin outline with a narrow one, so that hairs laid close to it (long ones bend along it) are not cut.
    boxes = _printed_boxes_mm(layout)
    outline = _outline_boxes_mm(layout)
    _paint_boxes(
        ignore,
        [b for b in boxes if b not in outline],
        px_per_mm=px_per_mm,
        margin_mm=_PRINT_MARGIN_MM,
        origin_px=(off_r, off_c),
    )
    _paint_boxes(ignore, outline, px_per_mm=px_per_mm, margin_mm=_OUTLINE_MARGIN_MM, origin_px=(off_r, off_c))
    b = _EDGE_BAND_MM
    w_mm, h_mm = layout.width_mm, layout.height_mm
    edges = [
        (-b, -b, b, w_mm + b),
        (h_mm - b, -b, h_mm + b, w_mm + b),
        (-b, -b, h_mm + b, b),
        (-b, w_mm - b, h_mm + b, w_mm + b),
    ]
    _paint_boxes(ignore, edges, px_per_mm=px_per_mm, margin_mm=0.0, origin_px=(off_r, off_c))
    return RectifiedPhoto(
        image=warped,
        px_per_mm=float(px_per_mm),
        mm_per_px=1.0 / float(px_per_mm),
        valid_mask=valid,
        ignore_mask=ignore,
        card_px_from_image_px=card_px_from_image_px,
        card_origin_px=origin,
        paper=layout.paper,
    )
