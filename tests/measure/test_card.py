import time

import cv2
import numpy as np
import pytest

from trichotrack.measure.card import (
    PAPERS,
    CardDetection,
    CardLayout,
    RectifiedPhoto,
    card_layout,
    detect_card,
    printed_mask,
    rectify,
    render_card,
)

# ------------------------------------------------------------------------------------- fake phone photos


def _camera_homography(
    layout,
    *,
    shape,
    tilt_deg=0.0,
    tilt_axis_deg=0.0,
    roll_deg=0.0,
    card_fraction=0.8,
    shift=(0.0, 0.0),
    focal_ratio=1.0,
):
    """Homography image px <- card mm of a pinhole camera (focal length `focal_ratio` × the photo's larger
    side, principal point at the centre) looking at the card.

    The card is tilted by `tilt_deg` about an in-plane axis at `tilt_axis_deg`, rolled by `roll_deg` about the
    optical axis, placed so that its longer side spans about `card_fraction` of the photo's shorter side,
    and shifted by `shift` (fractions of the photo's width and height).
    """
    rows, cols = shape
    f = focal_ratio * max(rows, cols)
    k = np.array([[f, 0, (cols - 1) / 2], [0, f, (rows - 1) / 2], [0, 0, 1.0]])
    centre = np.array([[1, 0, -layout.width_mm / 2], [0, 1, -layout.height_mm / 2], [0, 0, 1.0]])

    def rot(axis, deg):
        return cv2.Rodrigues(np.asarray(axis, float) * np.radians(deg))[0]

    a = np.radians(tilt_axis_deg)
    r = rot([0, 0, 1], roll_deg) @ rot([np.cos(a), np.sin(a), 0], tilt_deg)
    distance_mm = f * max(layout.width_mm, layout.height_mm) / (card_fraction * min(rows, cols))
    t = np.array([shift[0] * cols * distance_mm / f, shift[1] * rows * distance_mm / f, distance_mm])
    h = k @ np.c_[r[:, :2], t] @ centre
    return h / h[2, 2]


def _background(shape, rng):
    """A textured, uneven table top (a wavy woven pattern and blotches), float32."""
    rows, cols = shape
    small = rng.normal(0, 1, (rows // 16 + 2, cols // 16 + 2)).astype(np.float32)
    blotches = cv2.resize(small, (cols, rows), interpolation=cv2.INTER_LINEAR)
    x = np.arange(cols, dtype=np.float32)
    weave = np.sin(x / 7.0)[None, :] * 18 + np.sin(np.arange(rows, dtype=np.float32) / 37.0)[:, None] * 10
    gray = weave + 25 * blotches
    return np.clip(np.array([120.0, 90.0, 60.0], np.float32) + gray[..., None], 0, 255)


def _fake_photo(
    layout,
    image_px_from_mm,
    *,
    shape=(900, 1200),
    seed=0,
    cover=(),
    lines_mm=(),
    page_edit=None,
    blur_sigma=1.0,
    noise=3.0,
    jpeg_quality=85,
):
    """A phone photo of the printed card: perspective, lighting, blur, noise and JPEG compression.

    `cover` lists (4, 2) card-mm quadrilaterals painted over (someone's thumb, a towel); `lines_mm` lists
    axis-parallel dark lines (top_mm, left_mm, bottom_mm, right_mm) drawn on the card, with exact coverage;
    `page_edit(page, px_per_mm)` returns a changed page (a bent or folded card).
    """
    rng = np.random.default_rng(seed)
    px_per_mm = 1.5 * np.sqrt(abs(np.linalg.det(_jacobian(image_px_from_mm, layout))))
    px_per_mm = float(np.clip(px_per_mm, 2.0, 12.0))
    page = render_card(layout, px_per_mm=px_per_mm)
    for box in lines_mm:
        _draw_box(page, box, px_per_mm)
    if page_edit is not None:
        page = page_edit(page, px_per_mm)
    # page pixel (x, y) centre is at card mm ((x + 0.5) / px_per_mm, (y + 0.5) / px_per_mm)
    mm_from_page = np.array(
        [[1 / px_per_mm, 0, 0.5 / px_per_mm], [0, 1 / px_per_mm, 0.5 / px_per_mm], [0, 0, 1]]
    )
    h = image_px_from_mm @ mm_from_page
    size = (shape[1], shape[0])
    card = cv2.warpPerspective(page, h, size, flags=cv2.INTER_LINEAR, borderValue=0)
    inside = cv2.warpPerspective(
        np.full(page.shape, 255, np.uint8), h, size, flags=cv2.INTER_LINEAR
    ) / np.float32(255)
    rows, cols = shape
    light = (0.8 + 0.12 * np.arange(cols, dtype=np.float32) / cols)[None, :] - (
        0.08 * np.arange(rows, dtype=np.float32) / rows
    )[:, None]  # uneven lighting
    inside = inside.astype(np.float32)[..., None]
    paper = (card.astype(np.float32) * light)[..., None] * np.array([1.0, 0.97, 0.92], np.float32)
    photo = inside * paper + (1 - inside) * _background(shape, rng)
    for quad in cover:
        pts = cv2.perspectiveTransform(np.asarray(quad, np.float64).reshape(-1, 1, 2), image_px_from_mm)
        cv2.fillPoly(photo, [np.round(pts).astype(np.int32)], (150, 110, 90))
    if blur_sigma:
        photo = cv2.GaussianBlur(photo, (0, 0), blur_sigma)
    photo = np.clip(photo + rng.standard_normal(photo.shape, np.float32) * noise, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    assert ok
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)  # channel order does not matter for a gray card


def _jacobian(image_px_from_mm, layout, point_mm=None):
    """2 × 2 derivative of image px with respect to card mm at `point_mm` (default: the card centre)."""
    x, y = point_mm if point_mm is not None else (layout.width_mm / 2, layout.height_mm / 2)
    h = image_px_from_mm
    u, v, w = h @ (x, y, 1.0)
    return np.array(
        [
            [(h[0, 0] * w - u * h[2, 0]) / w**2, (h[0, 1] * w - u * h[2, 1]) / w**2],
            [(h[1, 0] * w - v * h[2, 0]) / w**2, (h[1, 1] * w - v * h[2, 1]) / w**2],
        ]
    )


def _true_mm_per_px(image_px_from_mm, layout):
    return 1.0 / np.sqrt(abs(np.linalg.det(_jacobian(image_px_from_mm, layout))))


def _map(h, points):
    return cv2.perspectiveTransform(np.asarray(points, np.float64).reshape(-1, 1, 2), h).reshape(-1, 2)


def _card_grid_mm(layout, n=9):
    xs = np.linspace(5, layout.width_mm - 5, n)
    ys = np.linspace(5, layout.height_mm - 5, n)
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


def _draw_box(page, box_mm, px_per_mm, value=30):
    """Darken the box (top, left, bottom, right mm) of a page, with exact area coverage at its edges."""

    def coverage(lo_mm, hi_mm, n):
        i = np.arange(n)
        return np.clip(np.minimum(hi_mm * px_per_mm, i + 1) - np.maximum(lo_mm * px_per_mm, i), 0, 1)

    top, left, bottom, right = box_mm
    cover = np.outer(coverage(top, bottom, page.shape[0]), coverage(left, right, page.shape[1]))
    page[...] = np.round(page * (1 - cover) + value * cover).astype(np.uint8)


def _quad_mm(box):
    top, left, bottom, right = box
    return [(left, top), (right, top), (right, bottom), (left, bottom)]


def _marker_box_mm(layout, index, grow_mm=1.0):
    (left, top), (right, bottom) = (
        layout.marker_corners_mm[index].min(0),
        layout.marker_corners_mm[index].max(0),
    )
    return (top - grow_mm, left - grow_mm, bottom + grow_mm, right + grow_mm)


def _photo_of(paper="a4", *, shape=(900, 1200), seed=0, cover_markers=(), blur_sigma=1.0, **camera):
    layout = card_layout(paper)
    h = _camera_homography(layout, shape=shape, **camera)
    cover = [_quad_mm(_marker_box_mm(layout, i)) for i in cover_markers]
    return layout, h, _fake_photo(layout, h, shape=shape, seed=seed, cover=cover, blur_sigma=blur_sigma)


def _assert_maps_card_within(detection, image_px_from_mm, layout, tol_mm):
    grid_mm = _card_grid_mm(layout)
    mapped_mm = _map(detection.card_mm_from_image_px, _map(image_px_from_mm, grid_mm))
    assert np.abs(mapped_mm - grid_mm).max() < tol_mm


# ---------------------------------------------------------------------------------------------- layout


@pytest.mark.parametrize("paper", PAPERS)
def test_it_lays_out_a_frame_of_markers_a_hair_area_and_a_ruler(paper):
    layout = card_layout(paper)
    assert isinstance(layout, CardLayout)
    assert (layout.width_mm, layout.height_mm) == {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}[paper]
    corners = layout.marker_corners_mm
    assert corners.shape == (len(layout.marker_ids), 4, 2)
    assert len(set(layout.marker_ids)) == len(layout.marker_ids) >= 16
    sides = np.linalg.norm(np.diff(corners, axis=1), axis=2)
    assert np.all((sides >= 15) & (sides <= 22))
    # OpenCV's corner order: top-left, top-right, bottom-right, bottom-left.
    assert np.all(corners[:, 1, 0] > corners[:, 0, 0]) and np.all(corners[:, 3, 1] > corners[:, 0, 1])
    # Markers near all four edges, all inside the page with a margin printers can print.
    assert corners[..., 0].min() >= 5 and corners[..., 0].max() <= layout.width_mm - 5
    assert corners[..., 1].min() >= 5 and corners[..., 1].max() <= layout.height_mm - 5
    centres = corners.mean(axis=1)
    assert (centres[:, 0] < 30).sum() >= 3 and (centres[:, 0] > layout.width_mm - 30).sum() >= 3
    assert (centres[:, 1] < 30).sum() >= 3 and (centres[:, 1] > layout.height_mm - 30).sum() >= 3
    top, left, bottom, right = layout.hair_area_mm
    assert (right - left) > 140 and (bottom - top) > 190
    ruler_top, ruler_left, _, ruler_right = layout.ruler_mm
    assert ruler_right - ruler_left >= 100 and ruler_top > bottom  # below the hair area, not in it
    boxes = [_marker_box_mm(layout, i, grow_mm=0) for i in range(len(corners))] + [layout.ruler_mm]
    for b_top, b_left, b_bottom, b_right in boxes:  # nothing printed in the hair area
        assert b_bottom <= top or b_top >= bottom or b_right <= left or b_left >= right


def test_a4_and_letter_cards_use_different_markers():
    assert not set(card_layout("a4").marker_ids) & set(card_layout("letter").marker_ids)
    assert card_layout().paper == "a4"


def test_it_rejects_an_unknown_paper():
    with pytest.raises(ValueError, match="paper"):
        card_layout("A3")


# ------------------------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("px_per_mm", [2.0, 4.7, 300 / 25.4])
def test_it_renders_a_page_of_the_printed_size(paper, px_per_mm):
    layout = card_layout(paper)
    page = render_card(layout, px_per_mm=px_per_mm)
    assert page.dtype == np.uint8
    assert page.shape == (round(layout.height_mm * px_per_mm), round(layout.width_mm * px_per_mm))
    assert page[0, 0] == 255 and page[-1, -1] == 255  # white paper
    printed = printed_mask(layout, px_per_mm=px_per_mm, margin_mm=0.5)
    assert np.all(page[~printed] == 255)  # nothing printed outside the printed elements


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("px_per_mm", [4.7, 8.0])
def test_it_renders_markers_where_the_layout_says(paper, px_per_mm):
    layout = card_layout(paper)
    page = render_card(layout, px_per_mm=px_per_mm)
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_5X5_100), params)
    corners, ids, _ = detector.detectMarkers(page)
    assert sorted(ids.ravel().tolist()) == sorted(layout.marker_ids)
    for marker_id, found in zip(ids.ravel(), corners, strict=True):
        expected_mm = layout.marker_corners_mm[layout.marker_ids.index(marker_id)]
        found_mm = (found.reshape(4, 2) + 0.5) / px_per_mm
        assert np.abs(found_mm - expected_mm).max() < 0.6 / px_per_mm


@pytest.mark.parametrize("px_per_mm", [3.3, 10.0])
def test_its_markers_have_exactly_the_printed_amount_of_ink(px_per_mm):
    layout = card_layout("a4")
    page = render_card(layout, px_per_mm=px_per_mm)
    ink = (255.0 - page) / 255.0
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_5X5_100)
    cell_mm = 18.0 / 7
    for index in (0, 7, 13):
        top, left, bottom, right = _marker_box_mm(layout, index, grow_mm=2.0)
        window = ink[
            int(top * px_per_mm) : int(bottom * px_per_mm), int(left * px_per_mm) : int(right * px_per_mm)
        ]
        bits = cv2.aruco.generateImageMarker(dictionary, layout.marker_ids[index], 7, borderBits=1)
        expected_px = (bits == 0).sum() * (cell_mm * px_per_mm) ** 2
        assert window.sum() == pytest.approx(expected_px, rel=0.005)


def test_it_prints_a_ruler_with_a_tick_every_mm():
    px_per_mm = 10.0
    layout = card_layout("a4")
    page = render_card(layout, px_per_mm=px_per_mm)
    top, left, _, right = layout.ruler_mm
    row = page[round((top + 1.5) * px_per_mm), round(left * px_per_mm) : round(right * px_per_mm)]
    dark = (row < 128).astype(int)
    starts = np.flatnonzero(np.diff(dark) == 1) + 1
    assert len(starts) == 151  # 0 to 150 mm
    assert np.all(np.abs(np.diff(starts) - px_per_mm) <= 1)
    assert (starts[100] - starts[0]) == pytest.approx(100 * px_per_mm, abs=1)


@pytest.mark.parametrize("paper", PAPERS)
def test_printed_mask_covers_everything_printed_but_leaves_the_hair_area(paper):
    layout = card_layout(paper)
    px_per_mm = 5.0
    page = render_card(layout, px_per_mm=px_per_mm)
    mask = printed_mask(layout, px_per_mm=px_per_mm)
    assert mask.shape == page.shape and mask.dtype == bool
    assert np.all(mask[page < 255])
    top, left, bottom, right = (round(v * px_per_mm) for v in layout.hair_area_mm)
    inner = mask[top + 11 : bottom - 11, left + 11 : right - 11]  # 2 mm margin + outline
    assert inner.size > 0 and not inner.any()
    assert mask[top + 9, (left + right) // 2]  # within 2 mm of the outline
    assert printed_mask(layout, px_per_mm=px_per_mm, margin_mm=0).sum() < mask.sum()


@pytest.mark.parametrize("bad", [0, -1.0, np.nan, np.inf, "ten"])
def test_it_rejects_a_bad_resolution(bad):
    with pytest.raises(ValueError, match="px_per_mm"):
        render_card(card_layout(), px_per_mm=bad)
    with pytest.raises(ValueError, match="px_per_mm"):
        printed_mask(card_layout(), px_per_mm=bad)


def test_it_rejects_a_bad_margin_or_layout():
    with pytest.raises(ValueError, match="margin_mm"):
        printed_mask(card_layout(), px_per_mm=2.0, margin_mm=-1)
    with pytest.raises(ValueError, match="layout"):
        render_card("a4", px_per_mm=2.0)


# ------------------------------------------------------------------------------------------- detection

CAMERAS = {
    "straight": dict(tilt_deg=0),
    "tilted": dict(tilt_deg=20, tilt_axis_deg=30, roll_deg=17),
    "turned-90": dict(tilt_deg=12, tilt_axis_deg=-60, roll_deg=90, shift=(0.08, 0.02)),
    "upside-down": dict(tilt_deg=8, tilt_axis_deg=120, roll_deg=183),
    "turned-270-close": dict(tilt_deg=15, tilt_axis_deg=80, roll_deg=268, card_fraction=1.0),
}


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("camera", CAMERAS, ids=list(CAMERAS))
def test_it_finds_the_card_and_its_scale(paper, camera):
    layout, h, photo = _photo_of(paper, seed=len(camera), **CAMERAS[camera])
    detection = detect_card(photo)
    assert isinstance(detection, CardDetection)
    assert detection.found, detection.problems
    assert detection.problems == ()
    assert detection.paper == paper
    assert detection.n_markers == len(layout.marker_ids)
    assert detection.mm_per_px == pytest.approx(_true_mm_per_px(h, layout), rel=0.005)
    _assert_maps_card_within(detection, h, layout, tol_mm=0.3)
    assert detection.obliquity_deg == pytest.approx(CAMERAS[camera]["tilt_deg"], abs=3)
    assert detection.reprojection_error_mm < 0.3


def test_it_finds_the_card_with_a_dark_field_for_light_hair():
    from trichotrack.synth.shedding import shed_photo

    photo = shed_photo(3, shape=(1500, 2000), n_hairs=0, background="card", card_field="dark", clump=False)
    detection = detect_card(photo.image)
    assert detection.found, detection.problems
    assert detection.problems == ()
    assert detection.mm_per_px == pytest.approx(photo.mm_per_px, rel=0.25)


def test_it_renders_a_dark_field_only_when_asked():
    layout = card_layout("a4")
    white = render_card(layout, px_per_mm=4.0)
    dark = render_card(layout, px_per_mm=4.0, field="dark")
    top, left, bottom, right = (round(v * 4.0) for v in layout.hair_area_mm)
    assert white[top + 2 : bottom - 2, left + 2 : right - 2].min() == 255
    assert dark[top + 2 : bottom - 2, left + 2 : right - 2].max() == int(255 * (1 - 0.85) + 0.5)  # 85 % ink
    with pytest.raises(ValueError, match="field must be one of"):
        render_card(layout, px_per_mm=4.0, field="grey")


def test_it_accepts_gray_rgba_and_float_photos():
    layout, h, photo = _photo_of("a4", tilt_deg=10, roll_deg=5)
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    for variant in (gray, rgba, photo / 255.0):
        detection = detect_card(variant)
        assert detection.found
        assert detection.mm_per_px == pytest.approx(_true_mm_per_px(h, layout), rel=0.005)
        rectified = rectify(variant, detection)
        assert rectified.image.ndim == 3 and rectified.image.dtype == np.uint8


def test_it_reports_a_photo_without_a_card():
    rng = np.random.default_rng(1)
    photo = np.clip(_background((900, 1200), rng) + rng.normal(0, 4, (900, 1200, 3)), 0, 255).astype(np.uint8)
    detection = detect_card(photo)
    assert not detection.found
    assert detection.paper is None and detection.n_markers == 0
    assert detection.mm_per_px is None and detection.card_mm_from_image_px is None
    assert detection.problems[0].startswith("No calibration card found in the photo.")


def _record_marker_searches(monkeypatch):
    """The resolutions (longer side, px) at which `detect_card` looks for markers."""
    from trichotrack.measure import card

    searches = []
    find = card._find_markers

    def recorded(gray, max_side_px):
        searches.append(max_side_px)
        return find(gray, max_side_px)

    monkeypatch.setattr(card, "_find_markers", recorded)
    return searches


def test_it_looks_again_at_twice_the_resolution_for_a_card_far_away(monkeypatch):
    # Markers of about 10 px a side: unreadable at 1600 px, readable at 3200 px.
    layout, h, photo = _photo_of("a4", shape=(2400, 3200), card_fraction=0.12, blur_sigma=0.8)
    searches = _record_marker_searches(monkeypatch)
    detection = detect_card(photo)
    assert searches == [1600, 3200]
    assert detection.found, detection.problems
    assert detection.n_markers == 20
    assert detection.mm_per_px == pytest.approx(_true_mm_per_px(h, layout), rel=0.01)


def test_it_does_not_look_again_where_nothing_looks_like_a_marker(monkeypatch):
    # Long hairs crossing on white paper, no card: they enclose dozens of squares, all as light as the paper.
    rng = np.random.default_rng(1)
    paper = np.full((2400, 3200), 225, np.uint8)
    for _ in range(40):
        cols, rows = rng.integers(0, 3200, 2), rng.integers(0, 2400, 2)
        cv2.line(paper, (int(cols[0]), int(rows[0])), (int(cols[1]), int(rows[1])), 60, 3)
    photo = np.clip(paper[..., None] + rng.normal(0, 4, (2400, 3200, 3)), 0, 255).astype(np.uint8)
    searches = _record_marker_searches(monkeypatch)
    detection = detect_card(photo)
    assert searches == [1600]  # (the second look costs more than the first)
    assert not detection.found
    assert detection.problems[0].startswith("No calibration card found in the photo.")


def test_it_reports_a_partly_covered_card():
    layout = card_layout("a4")
    centres = layout.marker_corners_mm.mean(axis=1)
    right_half = np.flatnonzero(centres[:, 0] > layout.width_mm / 2)
    layout, h, photo = _photo_of("a4", cover_markers=right_half, tilt_deg=10, roll_deg=-20)
    detection = detect_card(photo)
    n_left = len(layout.marker_ids) - len(right_half)
    assert detection.found  # enough markers remain for a good fit
    assert detection.n_markers == n_left
    assert detection.problems == (
        f"The card is partly covered: {n_left} of {len(layout.marker_ids)} markers are visible. "
        "Uncover the black squares along its edges.",
    )
    assert detection.mm_per_px == pytest.approx(_true_mm_per_px(h, layout), rel=0.005)
    _assert_maps_card_within(detection, h, layout, tol_mm=0.5)


def test_it_refuses_a_card_with_too_few_markers_visible():
    layout = card_layout("letter")
    _, _, photo = _photo_of("letter", cover_markers=range(3, len(layout.marker_ids)))
    detection = detect_card(photo)
    assert not detection.found
    assert detection.paper == "letter"
    assert "3 of 20 markers are visible" in detection.problems[0]
    assert detection.mm_per_px is None


def test_it_refuses_a_card_seen_only_along_one_edge():
    layout = card_layout("a4")
    centres = layout.marker_corners_mm.mean(axis=1)
    not_top = np.flatnonzero(centres[:, 1] > 40)
    _, _, photo = _photo_of("a4", cover_markers=not_top, tilt_deg=5)
    detection = detect_card(photo)
    assert not detection.found
    assert detection.n_markers == 5
    assert "one edge" in detection.problems[0]


def test_it_reports_a_card_partly_outside_the_photo():
    layout, h, photo = _photo_of("a4", card_fraction=1.0, roll_deg=90, shift=(0.3, 0.0))
    detection = detect_card(photo)
    assert detection.found
    assert 4 <= detection.n_markers < 20
    assert any("partly outside the photo" in p for p in detection.problems)
    assert detection.mm_per_px == pytest.approx(_true_mm_per_px(h, layout), rel=0.005)


def test_it_refuses_a_too_oblique_view():
    _, _, photo = _photo_of("a4", shape=(1200, 1600), tilt_deg=60, card_fraction=0.9)
    detection = detect_card(photo)
    assert not detection.found
    assert detection.obliquity_deg == pytest.approx(60, abs=5)
    assert any("too obliquely (about 6" in p and "straight above" in p for p in detection.problems)


def test_it_warns_about_a_somewhat_oblique_view():
    _, _, photo = _photo_of("letter", tilt_deg=32, tilt_axis_deg=45)
    detection = detect_card(photo)
    assert detection.found
    assert any("at an angle (about 3" in p for p in detection.problems)


def test_it_measures_the_angle_whatever_the_focal_length():
    # A typical phone's main camera: focal length about 0.72 × the larger side.
    layout, h, photo = _photo_of("a4", tilt_deg=33, tilt_axis_deg=-20, focal_ratio=0.72, card_fraction=0.7)
    detection = detect_card(photo)
    assert detection.obliquity_deg == pytest.approx(33, abs=2)
    assert detection.mm_per_px == pytest.approx(_true_mm_per_px(h, layout), rel=0.005)


def test_it_reports_a_card_that_is_not_flat():
    def bend(page, px_per_mm):  # a wavy sheet: columns shift sideways by up to 1 mm
        rows, cols = page.shape
        y = np.arange(rows, dtype=np.float32)[:, None]
        map_x = np.arange(cols, dtype=np.float32)[None, :] + 1.0 * px_per_mm * np.sin(2 * np.pi * y / rows)
        map_y = np.broadcast_to(y, (rows, cols)).astype(np.float32)
        return cv2.remap(page, map_x.astype(np.float32), map_y, cv2.INTER_LINEAR, borderValue=255)

    layout = card_layout("a4")
    h = _camera_homography(layout, shape=(900, 1200), tilt_deg=10, card_fraction=0.95)
    detection = detect_card(_fake_photo(layout, h, page_edit=bend))
    assert detection.reprojection_error_mm > 0.3
    assert any(p.startswith("The card's markers do not line up (error about") for p in detection.problems)


def test_it_reports_a_folded_corner():
    def fold(page, px_per_mm):  # the top-left corner, folded back, lies 5 mm off
        page = page.copy()
        n, shift = round(35 * px_per_mm), round(5 * px_per_mm)
        page[shift:n, shift:n] = page[: n - shift, : n - shift].copy()
        page[:shift, :n] = 255
        page[:n, :shift] = 255
        return page

    layout = card_layout("letter")
    h = _camera_homography(layout, shape=(900, 1200), tilt_deg=10, roll_deg=30)
    detection = detect_card(_fake_photo(layout, h, page_edit=fold))
    assert detection.found
    assert detection.n_markers == 19
    assert detection.problems == (
        "The card's markers do not line up (1 of them is out of line): make sure the card lies flat, "
        "is not bent or folded, that nothing lies on its black squares, and that the photo is sharp.",
    )
    assert detection.mm_per_px == pytest.approx(_true_mm_per_px(h, layout), rel=0.005)


@pytest.mark.parametrize("card_copy_covered", [False, True])
def test_it_ignores_a_stray_marker_off_the_card(card_copy_covered):
    cover = (5,) if card_copy_covered else ()
    layout, h, photo = _photo_of("a4", tilt_deg=10, card_fraction=0.7, shift=(-0.12, 0), cover_markers=cover)
    # A copy of marker 5 (a torn-off corner of another card) on the table.
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_5X5_100)
    stray = cv2.aruco.generateImageMarker(dictionary, layout.marker_ids[5], 70, borderBits=1)
    stray = np.pad(stray, 20, constant_values=255)
    photo[380:490, 1050:1160] = stray[..., None]
    detection = detect_card(photo)
    assert detection.found, detection.problems
    assert detection.n_markers == 19 if card_copy_covered else 20
    assert detection.mm_per_px == pytest.approx(_true_mm_per_px(h, layout), rel=0.005)
    _assert_maps_card_within(detection, h, layout, tol_mm=0.3)
    if card_copy_covered:  # the stray was seen, and rejected
        assert detection.problems[-1].startswith(
            "The card's markers do not line up (1 of them is out of line)"
        )
    else:
        assert detection.problems == ()


@pytest.mark.parametrize("shape", [(5,), (10, 10, 10, 3), (100, 100, 2), (8, 200, 3)])
def test_it_rejects_images_of_the_wrong_shape(shape):
    with pytest.raises(ValueError, match="image"):
        detect_card(np.zeros(shape, np.uint8))


def test_it_detects_and_rectifies_a_12_megapixel_photo_quickly():
    shape = (3000, 4000)
    # Made at half size and enlarged: a fake 12 MP photo in a fraction of the time.
    layout, h_half, half = _photo_of(
        "a4", shape=(1500, 2000), tilt_deg=15, tilt_axis_deg=40, card_fraction=0.9
    )
    photo = cv2.resize(half, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    photo = cv2.add(photo, np.random.default_rng(3).integers(0, 4, photo.shape, np.uint8))
    h = np.array([[2.0, 0, 0.5], [0, 2.0, 0.5], [0, 0, 1]]) @ h_half  # x_full = 2 (x_half + 0.5) - 0.5
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        detection = detect_card(photo)
        rectified = rectify(photo, detection)
        timings.append(time.perf_counter() - start)
    assert detection.found, detection.problems
    assert detection.mm_per_px == pytest.approx(_true_mm_per_px(h, layout), rel=0.005)
    _assert_maps_card_within(detection, h, layout, tol_mm=0.3)
    assert rectified.image.shape[0] * rectified.image.shape[1] <= 1.5 * shape[0] * shape[1]
    assert min(timings) < 1.0  # about 0.2 s on a quiet machine; room for a busy CI runner


# ------------------------------------------------------------------------------------------ rectifying


def test_it_rectifies_lines_drawn_on_the_card_to_their_mm_position():
    layout = card_layout("a4")
    h = _camera_homography(layout, shape=(1200, 1600), tilt_deg=18, tilt_axis_deg=20, roll_deg=-75)
    lines = [(60.0, 99.8, 200.0, 100.2), (150.0, 50.0, 150.4, 160.0)]  # x = 100 mm; y = 150.2 mm
    photo = _fake_photo(layout, h, lines_mm=lines)
    detection = detect_card(photo)
    rectified = rectify(photo, detection)
    assert isinstance(rectified, RectifiedPhoto)
    assert rectified.px_per_mm == pytest.approx(1 / detection.mm_per_px)
    assert rectified.mm_per_px == pytest.approx(detection.mm_per_px)
    gray = rectified.image.mean(axis=2)
    origin_row, origin_col = rectified.card_origin_px
    ppm = rectified.px_per_mm

    def dark_centre(profile, around):
        lo = int(around) - 6
        window = 255.0 - profile[lo : lo + 13]
        window = np.clip(window - np.median(window), 0, None)
        return lo + (window * np.arange(13)).sum() / window.sum()

    row = round(origin_row + 120 * ppm)
    expected_col = origin_col + 100.0 * ppm
    assert dark_centre(gray[row], expected_col) == pytest.approx(expected_col, abs=0.3)
    col = round(origin_col + 120 * ppm)
    expected_row = origin_row + 150.2 * ppm
    assert dark_centre(gray[:, col], expected_row) == pytest.approx(expected_row, abs=0.3)
    # The homography agrees with the image: a photo point of the line lands on it.
    photo_point = _map(h, [(100.0, 120.0)])
    rect_point = _map(rectified.card_px_from_image_px, photo_point)[0]
    assert rect_point == pytest.approx((expected_col, origin_row + 120 * ppm), abs=0.3)


def test_it_rectifies_the_whole_photo_within_a_pixel_budget():
    layout, _, photo = _photo_of("letter", tilt_deg=25, tilt_axis_deg=0, card_fraction=0.7)
    detection = detect_card(photo)
    rectified = rectify(photo, detection)
    rows, cols = rectified.image.shape[:2]
    assert rectified.image.dtype == np.uint8 and rectified.image.shape[2] == 3
    assert rows * cols <= 1.5 * photo.shape[0] * photo.shape[1]
    assert rectified.valid_mask.shape == rectified.ignore_mask.shape == (rows, cols)
    # The surroundings are kept: the card is not all there is.
    ppm = rectified.px_per_mm
    assert rows * cols > 1.2 * layout.width_mm * layout.height_mm * ppm**2
    assert rectified.valid_mask.mean() > 0.7
    assert not rectified.image[~rectified.valid_mask].any()
    # The card's printed elements and its paper edge are ignored; the hair area is not.
    origin_row, origin_col = rectified.card_origin_px
    r0, c0 = round(origin_row + 0.5), round(origin_col + 0.5)
    mask = printed_mask(layout, px_per_mm=ppm, margin_mm=0.75)
    card_ignore = rectified.ignore_mask[r0 : r0 + mask.shape[0], c0 : c0 + mask.shape[1]]
    assert np.all(card_ignore[mask])
    top, left, bottom, right = layout.hair_area_mm
    # Markers and the ruler keep a 2 mm margin; the field's thin outline only 0.75 mm, so hairs laid along
    # it are measured up to 1 mm from it.
    ruler_top = layout.ruler_mm[0]
    assert card_ignore[round((ruler_top - 1.8) * ppm), round((left + right) / 2 * ppm)]
    assert not card_ignore[
        round((top + 1) * ppm) : round((bottom - 1) * ppm), round((left + 1) * ppm) : round((right - 1) * ppm)
    ].any()
    edge_col = round(origin_col + layout.width_mm * ppm)
    assert rectified.ignore_mask[r0 + mask.shape[0] // 2, edge_col - 5 : edge_col + 6].all()
    assert not rectified.ignore_mask[r0 + mask.shape[0] // 2, edge_col + round(8 * ppm)]


def test_it_keeps_at_most_one_card_size_around_the_card():
    layout, _, photo = _photo_of("a4", card_fraction=0.3, roll_deg=20)
    detection = detect_card(photo)
    assert detection.found, detection.problems
    rectified = rectify(photo, detection)
    rows, cols = rectified.image.shape[:2]
    ppm = rectified.px_per_mm
    assert rows <= 3 * layout.height_mm * ppm + 2 and cols <= 3 * layout.width_mm * ppm + 2
    origin_row, origin_col = rectified.card_origin_px
    assert origin_row == pytest.approx(layout.height_mm * ppm, abs=1.5)  # centred: one card size each side
    assert origin_col == pytest.approx(layout.width_mm * ppm, abs=1.5)


def test_it_rectifies_at_the_requested_resolution():
    layout, h, photo = _photo_of("a4", tilt_deg=10)
    detection = detect_card(photo)
    rectified = rectify(photo, detection, px_per_mm=2.0)
    assert rectified.px_per_mm == 2.0 and rectified.mm_per_px == 0.5
    origin_row, origin_col = rectified.card_origin_px
    corner_px = _map(rectified.card_px_from_image_px, _map(h, [(layout.width_mm, layout.height_mm)]))[0]
    assert corner_px == pytest.approx(
        (origin_col + 2.0 * layout.width_mm, origin_row + 2.0 * layout.height_mm), abs=0.2
    )


def test_it_keeps_only_the_card_plane_in_front_of_the_camera():
    # A view so steep that the horizon is in the photo (not trusted by detect_card, but rectify must not
    # fold the sky onto the plane behind the camera).
    layout = card_layout("a4")
    shape = (600, 800)
    h = _camera_homography(layout, shape=shape, tilt_deg=85, card_fraction=1.5)
    photo = np.full((*shape, 3), 200, np.uint8)
    detection = CardDetection(
        found=True,
        problems=(),
        paper="a4",
        n_markers=20,
        card_mm_from_image_px=np.linalg.inv(h),
        mm_per_px=_true_mm_per_px(h, layout),
        obliquity_deg=85.0,
        reprojection_error_mm=0.0,
    )
    rectified = rectify(photo, detection, px_per_mm=1.0)
    rows, cols = np.nonzero(rectified.valid_mask)
    assert rows.size > 0
    image_from_card_px = np.linalg.inv(rectified.card_px_from_image_px)
    w = np.c_[cols, rows, np.ones_like(rows)] @ image_from_card_px[2]
    centre_w = image_from_card_px[2] @ (
        *_map(rectified.card_px_from_image_px, _map(h, [(105, 148.5)]))[0],
        1.0,
    )
    assert np.all(w * np.sign(centre_w) > 0)
    photo_px = _map(image_from_card_px, np.c_[cols, rows])
    assert np.all((photo_px > -0.01) & (photo_px < np.array([shape[1], shape[0]]) - 0.99))
    assert np.all(rectified.image[rectified.valid_mask] == 200)


@pytest.mark.parametrize("px_per_mm", [0.25, 3.0, 9.0])
def test_its_valid_mask_marks_the_pixels_the_photo_covers(px_per_mm):
    layout = card_layout("letter")
    shape = (300, 400)
    h = _camera_homography(layout, shape=shape, tilt_deg=30, tilt_axis_deg=20, roll_deg=10, card_fraction=0.8)
    photo = np.full((*shape, 3), 200, np.uint8)
    detection = CardDetection(True, (), "letter", 20, np.linalg.inv(h), _true_mm_per_px(h, layout), 30.0, 0.0)
    rectified = rectify(photo, detection, px_per_mm=px_per_mm)
    valid = rectified.valid_mask
    assert np.all(rectified.image[valid] == 200)  # no pixel blended with the black outside
    assert not rectified.image[~valid].any()
    out_rows, out_cols = valid.shape
    covered = cv2.warpPerspective(
        np.full(shape, 255, np.uint8), rectified.card_px_from_image_px, (out_cols, out_rows)
    )
    assert np.all(covered[valid] == 255)
    lost = (covered == 255) & ~valid  # a thin rim only
    assert lost.sum() < 4 * (out_rows + out_cols)


def test_it_refuses_to_rectify_without_a_card():
    rng = np.random.default_rng(2)
    photo = _background((300, 400), rng).astype(np.uint8)
    detection = detect_card(photo)
    with pytest.raises(ValueError, match="found"):
        rectify(photo, detection)
    _, _, photo = _photo_of("a4", tilt_deg=5)
    detection = detect_card(photo)
    with pytest.raises(ValueError, match="px_per_mm"):
        rectify(photo, detection, px_per_mm=-3)
    with pytest.raises(ValueError, match="image"):
        rectify(photo[..., 0:2], detection)


def test_input_not_modified():
    _, _, photo = _photo_of("a4", tilt_deg=10)
    before = photo.copy()
    detection = detect_card(photo)
    rectify(photo, detection)
    np.testing.assert_array_equal(photo, before)
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    gray_before = gray.copy()
    detect_card(gray)
    np.testing.assert_array_equal(gray, gray_before)
