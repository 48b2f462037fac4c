"""What the hairs lie on, rendered straight into the image through the camera's homography."""

from __future__ import annotations

import math

import cv2
import numpy as np

from trichotrack.synth._camera import apply_h, footprint_mm, plane_coordinates, smooth_noise

PAPER_SIZES_MM = {"a4": (210.0, 297.0), "letter": (215.9, 279.4), "a3": (297.0, 420.0)}

TOWEL_COLOURS = {
    "white": (0.93, 0.93, 0.91),
    "cream": (0.92, 0.87, 0.76),
    "grey": (0.62, 0.63, 0.64),
    "light_blue": (0.62, 0.75, 0.88),
    "navy": (0.12, 0.16, 0.3),
    "pink": (0.93, 0.7, 0.75),
    "sage": (0.62, 0.7, 0.58),
    "charcoal": (0.2, 0.2, 0.21),
    "beige": (0.8, 0.72, 0.6),
}
DARK_PAPER_COLOURS = {
    "black": (0.05, 0.05, 0.055),
    "navy": (0.06, 0.08, 0.17),
    "dark_grey": (0.17, 0.17, 0.18),
    "dark_green": (0.06, 0.14, 0.09),
    "dark_brown": (0.16, 0.1, 0.07),
    "dark_red": (0.2, 0.05, 0.06),
}
TABLE_COLOURS = {
    "oak": (0.62, 0.45, 0.28),
    "walnut": (0.33, 0.21, 0.13),
    "white_laminate": (0.88, 0.88, 0.86),
    "grey_laminate": (0.55, 0.55, 0.54),
    "black_desk": (0.09, 0.09, 0.1),
    "beech": (0.78, 0.62, 0.45),
}


def plan(name: str, rng) -> dict:
    """Choices that must be made before the camera is placed: the sheet and where the camera looks."""
    if name in ("white_paper", "dark_paper"):
        size = str(rng.choice(["a4", "letter", "a3"], p=[0.6, 0.2, 0.2]))
        w, h = PAPER_SIZES_MM[size]
        centre = (w / 2 + rng.normal(0, w * 0.05), h / 2 + rng.normal(0, h * 0.05))
        return {
            "sheet": size,
            "sheet_mm": (w, h),
            "centre_mm": [float(centre[0]), float(centre[1])],
            "table": str(rng.choice(list(TABLE_COLOURS))),
        }
    return {"sheet": None, "sheet_mm": None, "centre_mm": [0.0, 0.0], "table": None}


def sheet_polygon_px(cam, shape, sheet_mm) -> np.ndarray:
    """The sheet's outline in image pixels, cut to a neighbourhood of the frame (parts of a big sheet
    may lie beyond the horizon of a close, tilted camera, where the homography folds over)."""
    from trichotrack.synth._hairs import Region

    w, h = sheet_mm
    near = Region(footprint_mm(cam["plane_from_image"], shape, inset_px=-0.25 * max(shape)))
    sheet = Region([[0, 0], [w, 0], [w, h], [0, h]]).clip(near)
    if sheet is None:
        return np.zeros((0, 2))
    return apply_h(cam["image_from_plane"], sheet.vertices)


def _fill_mask(shape, polygon_xy) -> np.ndarray:
    """Anti-aliased float32 mask of a polygon given in image (x, y) pixels."""
    mask = np.zeros(shape, np.uint8)
    pts = np.round(np.asarray(polygon_xy) * 16).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, cv2.LINE_AA, 4)
    return mask.astype(np.float32) / 255.0


def _grain(rng, shape, px_per_mm, amount):
    """Paper-like grain: fibres of a pixel or two plus sub-millimetre and centimetre mottle (float32 (M, N)).

    The finest grain is drawn at half resolution and interpolated: about the correlation of a
    Gaussian of 0.8 px, at a quarter of the cost.
    """
    m, n = shape
    fine = rng.standard_normal(((m + 1) // 2, (n + 1) // 2), dtype=np.float32)
    fine *= np.float32(amount * 1.6)
    fine = cv2.resize(fine, (n, m), interpolation=cv2.INTER_LINEAR)
    fine += smooth_noise(rng, shape, 0.6 * px_per_mm) * np.float32(amount * 0.6)
    fine += smooth_noise(rng, shape, 20 * px_per_mm) * np.float32(amount * 0.5)
    return fine


def _colour_image(shape, rgb, modulation) -> np.ndarray:
    """(M, N, 3) float32 = rgb * (1 + modulation)."""
    modulation += 1
    return cv2.transform(modulation[..., None], np.asarray(rgb, np.float32).reshape(3, 1))


def _table(rng, shape, name, px_per_mm):
    """A table top around the sheet, computed at half resolution (it only frames the sheet)."""
    m, n = shape
    half = (max(8, (m + 1) // 2), max(8, (n + 1) // 2))
    rgb = np.array(TABLE_COLOURS[name]) * rng.uniform(0.9, 1.1)
    mod = _grain(rng, half, px_per_mm / 2, 0.01)
    angle = rng.uniform(0, 180)
    if name in ("oak", "walnut", "beech"):
        hm, hn = half
        streak = cv2.resize(
            rng.standard_normal((max(4, hm // 3), 6), dtype=np.float32),
            (hn * 2, hm * 2),
            interpolation=cv2.INTER_CUBIC,
        )
        rot = cv2.getRotationMatrix2D((hn, hm), angle, 1.0)
        rot[:, 2] -= (hn / 2, hm / 2)
        mod += (
            cv2.warpAffine(streak, rot, (hn, hm), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            * 0.08
        )
    return cv2.resize(_colour_image(half, rgb, mod), (n, m), interpolation=cv2.INTER_LINEAR)


def _paper(rng, shape, cam, plan_, *, dark: bool):
    px_per_mm = cam["px_per_mm"]
    if dark:
        colour_name = str(rng.choice(list(DARK_PAPER_COLOURS)))
        rgb = np.array(DARK_PAPER_COLOURS[colour_name]) * rng.uniform(0.85, 1.3)
        amount = rng.uniform(0.03, 0.08)
    else:
        colour_name = "white"
        tint = rng.normal(0, 0.012, 3)
        rgb = np.clip(rng.uniform(0.88, 0.96) + tint, 0, 1)
        amount = rng.uniform(0.006, 0.018)
    sheet = _colour_image(shape, rgb, _grain(rng, shape, px_per_mm, amount))
    if dark:
        # light specks and paper fibres show on dark paper
        n_specks = int(rng.integers(30, 300) * math.prod(shape) / 12e6) + 3
        pts = rng.uniform((0, 0), (shape[1], shape[0]), (n_specks, 2))
        for (x, y), r in zip(pts, rng.uniform(0.04, 0.15, n_specks) * px_per_mm, strict=True):
            v = float(rng.uniform(0.25, 0.7))
            cv2.circle(sheet, (int(x * 16), int(y * 16)), max(1, int(r * 16)), (v, v, v), -1, cv2.LINE_AA, 4)
    poly = sheet_polygon_px(cam, shape, plan_["sheet_mm"])
    mask = _fill_mask(shape, poly) if len(poly) else np.zeros(shape, np.float32)
    if mask.min() >= 1.0:
        return sheet, {"colour": colour_name, "sheet": plan_["sheet"], "table": None}
    table = _table(rng, shape, plan_["table"], px_per_mm)
    # the sheet's thickness casts a hairline shadow on the table
    m, n = shape
    half = (max(1, n // 2), max(1, m // 2))
    shadow = cv2.GaussianBlur(
        cv2.resize(mask, half, interpolation=cv2.INTER_AREA), (0, 0), max(0.5, 0.2 * px_per_mm)
    )
    shadow = cv2.resize(shadow, (n, m), interpolation=cv2.INTER_LINEAR)
    shadow -= mask
    np.clip(shadow, 0, 1, out=shadow)
    shadow *= -0.7
    shadow += 1
    table *= shadow[..., None]
    sheet = cv2.blendLinear(sheet, table, mask, 1 - mask)
    return sheet, {"colour": colour_name, "sheet": plan_["sheet"], "table": plan_["table"]}


def _towel(rng, shape, cam, hair_colour):
    px_per_mm = cam["px_per_mm"]
    colour_name = _contrasting(rng, TOWEL_COLOURS, hair_colour)
    rgb = np.array(TOWEL_COLOURS[colour_name]) * rng.uniform(0.92, 1.05)
    pile_depth = rng.uniform(0.25, 0.5)  # how dark the gaps between the loops are
    base = _colour_image(shape, rgb * (1 - pile_depth), smooth_noise(rng, shape, 1.0 * px_per_mm) * 0.15)
    foot = footprint_mm(cam["plane_from_image"], shape, inset_px=-10)
    lo, hi = foot.min(axis=0), foot.max(axis=0)
    pitch = rng.uniform(1.1, 1.8)
    gx, gy = np.meshgrid(np.arange(lo[0], hi[0], pitch), np.arange(lo[1], hi[1], pitch))
    centres = np.stack([gx.ravel(), gy.ravel()], axis=1) + rng.uniform(-0.5, 0.5, (gx.size, 2)) * pitch
    n = len(centres)
    lean = rng.uniform(0, np.pi)
    orient = lean + rng.normal(0, 0.5, n)
    radius = rng.uniform(0.35, 0.8, n) * pitch
    aspect = rng.uniform(0.3, 0.9, n)
    start = rng.uniform(0, 2 * np.pi, n)
    sweep = rng.uniform(2.5, 5.5, n)
    t = np.linspace(0, 1, 8)
    ang = start[:, None] + sweep[:, None] * t[None, :]
    ex, ey = radius[:, None] * np.cos(ang), radius[:, None] * aspect[:, None] * np.sin(ang)
    co, si = np.cos(orient)[:, None], np.sin(orient)[:, None]
    pts = np.stack([centres[:, :1] + co * ex - si * ey, centres[:, 1:] + si * ex + co * ey], axis=2)
    img_pts = apply_h(cam["image_from_plane"], pts.reshape(-1, 2)).reshape(n, len(t), 2)
    inside = (
        (img_pts[..., 0].max(axis=1) > -10)
        & (img_pts[..., 0].min(axis=1) < shape[1] + 10)
        & (img_pts[..., 1].max(axis=1) > -10)
        & (img_pts[..., 1].min(axis=1) < shape[0] + 10)
    )
    img_pts = np.round(img_pts[inside] * 16).astype(np.int32)
    group = rng.integers(0, 4, len(img_pts))
    yarn_px = max(1, round(rng.uniform(0.25, 0.4) * px_per_mm))
    for g in range(4):
        shade = rgb * (0.78 + 0.1 * g) * rng.uniform(0.97, 1.03)
        cv2.polylines(
            base, list(img_pts[group == g]), False, tuple(float(v) for v in shade), yarn_px, cv2.LINE_AA, 4
        )
    # fibre-scale texture on the yarn
    fibre = rng.standard_normal(shape, dtype=np.float32)
    cv2.GaussianBlur(fibre, (0, 0), 0.7, dst=fibre)
    base *= (1 + 0.08 * fibre)[..., None]
    cv2.GaussianBlur(base, (0, 0), 0.6, dst=base)
    # the towel is not flat: soft shading of its folds
    base *= (1 + 0.08 * smooth_noise(rng, shape, 40 * px_per_mm))[..., None]
    return base, {"colour": colour_name, "loop_pitch_mm": round(float(pitch), 3)}


def _pillowcase(rng, shape, cam, hair_colour):
    px_per_mm = cam["px_per_mm"]
    light_hair = hair_colour in LIGHT_HAIR
    value = rng.integers(40, 120) if light_hair and rng.random() < 0.8 else rng.integers(110, 245)
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(40, 200), value]]])
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0] / 255.0
    x, y = plane_coordinates(cam["plane_from_image"], shape)
    pitch = rng.uniform(0.12, 0.35)
    pitch_px = pitch * px_per_mm
    # a camera's optics pass little of a weave finer than ~2 px: attenuate it like a Gaussian MTF would
    contrast = rng.uniform(0.06, 0.15) * math.exp(-2 * (math.pi * 0.7 / pitch_px) ** 2)
    weave = np.sin(x * np.float32(2 * np.pi / pitch)) * np.sin(y * np.float32(2 * np.pi / pitch))
    weave *= np.float32(contrast)
    stripes = bool(rng.random() < 0.25)
    info = {"hsv": [int(v) for v in hsv[0, 0]], "thread_pitch_mm": round(float(pitch), 4), "stripes": stripes}
    # slubs: thicker and thinner threads
    weave += smooth_noise(rng, shape, 0.5 * px_per_mm) * 0.02
    folds = np.zeros(shape, np.float32)
    for _ in range(int(rng.integers(1, 6))):
        a = rng.uniform(0, np.pi)
        c = rng.uniform(x.min(), x.max()) * math.cos(a) + rng.uniform(y.min(), y.max()) * math.sin(a)
        d = (x * np.float32(math.cos(a)) + y * np.float32(math.sin(a)) - np.float32(c)) / np.float32(
            rng.uniform(3, 15)
        )
        folds += np.float32(rng.uniform(0.05, 0.2)) * d * np.exp(-(d**2))
    folds += smooth_noise(rng, shape, 30 * px_per_mm) * 0.04
    weave += folds
    out = _colour_image(shape, rgb, weave)
    if stripes:
        period = rng.uniform(5, 25)
        rgb2 = np.clip(rgb * rng.uniform(0.4, 1.4, 3), 0, 1)
        band = (np.sin(x * np.float32(2 * np.pi / period)) > rng.uniform(-0.5, 0.5)).astype(np.float32)
        band = cv2.GaussianBlur(band, (0, 0), 1.0)
        out += (band[..., None] * (rgb2 - rgb).astype(np.float32)) * (1 + weave)[..., None]
    return out, info


def _sink(rng, shape, cam):
    px_per_mm = cam["px_per_mm"]
    m, n = shape
    rgb = np.clip(rng.uniform(0.86, 0.95) + rng.normal(0, 0.01, 3), 0, 1)
    shading = (
        smooth_noise(rng, shape, 120 * px_per_mm) * 0.06 + smooth_noise(rng, shape, 30 * px_per_mm) * 0.02
    )
    out = _colour_image(shape, rgb, shading)
    h = cam["image_from_plane"]
    # specular highlights of the lamp and the window on the glaze: soft, so drawn at 1/8 resolution
    small = (max(8, m // 8), max(8, n // 8))
    highlights = np.zeros(small, np.float32)
    for _ in range(int(rng.integers(1, 5))):
        c = (float(rng.uniform(0, n)) / 8, float(rng.uniform(0, m)) / 8)
        axes = (float(rng.uniform(5, 60) * px_per_mm) / 8, float(rng.uniform(1, 8) * px_per_mm) / 8)
        cv2.ellipse(highlights, (c, axes, float(rng.uniform(0, 180))), float(rng.uniform(0.15, 0.6)), -1)
    highlights = cv2.GaussianBlur(highlights, (0, 0), rng.uniform(1.5, 6) * px_per_mm / 8)
    highlights = cv2.resize(highlights, (n, m), interpolation=cv2.INTER_LINEAR)
    out += highlights[..., None]
    # the drain: a chrome ring with slots, somewhere on the plane in or near the frame
    foot = footprint_mm(cam["plane_from_image"], shape)
    centre = rng.uniform(foot.min(axis=0), foot.max(axis=0))
    radius = rng.uniform(16, 22)
    ring = apply_h(
        h,
        centre[None]
        + radius
        * np.stack([np.cos(np.linspace(0, 2 * np.pi, 64)), np.sin(np.linspace(0, 2 * np.pi, 64))], axis=1),
    )
    inner = apply_h(
        h,
        centre[None]
        + 0.78
        * radius
        * np.stack([np.cos(np.linspace(0, 2 * np.pi, 64)), np.sin(np.linspace(0, 2 * np.pi, 64))], axis=1),
    )
    chrome = (0.62, 0.63, 0.65)
    cv2.fillPoly(out, [np.round(ring * 16).astype(np.int32)], chrome, cv2.LINE_AA, 4)
    cv2.polylines(
        out,
        [np.round(ring * 16).astype(np.int32)],
        True,
        (0.35, 0.35, 0.36),
        max(1, int(0.6 * px_per_mm)),
        cv2.LINE_AA,
        4,
    )
    cv2.fillPoly(out, [np.round(inner * 16).astype(np.int32)], (0.5, 0.5, 0.52), cv2.LINE_AA, 4)
    for k in range(int(rng.integers(5, 10))):
        a = 2 * np.pi * k / 8 + rng.uniform(0, 0.1)
        slot = centre + np.outer(np.linspace(0.2, 0.68, 2) * radius, [math.cos(a), math.sin(a)])
        cv2.polylines(
            out,
            [np.round(apply_h(h, slot) * 16).astype(np.int32)],
            False,
            (0.05, 0.05, 0.05),
            max(1, int(1.5 * px_per_mm)),
            cv2.LINE_AA,
            4,
        )
    # water droplets: a dark rim and a bright glint
    for _ in range(int(rng.integers(0, 25))):
        c = rng.uniform(foot.min(axis=0), foot.max(axis=0))
        r = rng.uniform(0.4, 2.5)
        pc = apply_h(h, c[None])[0]
        rp = r * px_per_mm
        cv2.circle(
            out, (int(pc[0] * 16), int(pc[1] * 16)), int(rp * 16), (0.7, 0.72, 0.74), 1, cv2.LINE_AA, 4
        )
        cv2.circle(
            out,
            (int((pc[0] - rp / 3) * 16), int((pc[1] - rp / 3) * 16)),
            int(max(rp / 5, 0.7) * 16),
            (1.0, 1.0, 1.0),
            -1,
            cv2.LINE_AA,
            4,
        )
    return out, {"drain_mm": [round(float(v), 2) for v in centre], "drain_radius_mm": round(float(radius), 2)}


def _card(rng, shape, cam, layout, page, *, field="white"):
    """The calibration card, warped into the photo, over a table."""
    from trichotrack.measure.card import render_card

    px_per_mm = cam["px_per_mm"]
    page_px_per_mm = max(6.0, min(16.0, 1.25 * cam["max_px_per_mm"]))
    page_u8 = render_card(layout, px_per_mm=page_px_per_mm, field=field)
    # page pixel (i, j) has its centre at ((j + 0.5) / ppm, (i + 0.5) / ppm) mm
    plane_from_page = np.array(
        [
            [1 / page_px_per_mm, 0, 0.5 / page_px_per_mm],
            [0, 1 / page_px_per_mm, 0.5 / page_px_per_mm],
            [0, 0, 1],
        ]
    )
    h = cam["image_from_plane"] @ plane_from_page
    size = (shape[1], shape[0])
    warped = cv2.warpPerspective(page_u8, h, size, flags=cv2.INTER_LINEAR, borderValue=255)
    mask = cv2.warpPerspective(np.full_like(page_u8, 255), h, size, flags=cv2.INTER_LINEAR, borderValue=0)
    mask = mask.astype(np.float32) / 255.0
    table_name = str(rng.choice(list(TABLE_COLOURS)))
    table = _table(rng, shape, table_name, px_per_mm)
    paper = np.clip(rng.uniform(0.9, 0.97) + rng.normal(0, 0.01, 3), 0, 1).astype(np.float32)
    grain = _grain(rng, shape, px_per_mm, rng.uniform(0.005, 0.012))
    # printer black reflects about a tenth of the light
    ink = warped.astype(np.float32)
    ink *= np.float32(0.9 / 255.0)
    ink += np.float32(0.1)
    out = _colour_image(shape, paper, grain)
    out *= ink[..., None]
    out = cv2.blendLinear(out, table, mask, 1 - mask)
    return out, {"table": table_name, "page_px_per_mm": page_px_per_mm}


LIGHT_HAIR = ("blonde", "grey", "white")


def _contrasting(rng, colours: dict, hair_colour: str) -> str:
    """A colour name from `colours`, usually (85 %) one that contrasts with the hair, as people choose."""
    names = list(colours)
    value = np.array([np.mean(colours[k]) for k in names])
    light_hair = hair_colour in LIGHT_HAIR
    good = [k for k, v in zip(names, value, strict=True) if (v < 0.45 if light_hair else v > 0.45)]
    if good and rng.random() < 0.85:
        return str(rng.choice(good))
    return str(rng.choice(names))


def render_background(
    name: str,
    rng,
    shape,
    cam: dict,
    plan_: dict,
    card_layout=None,
    *,
    hair_colour="black",
    card_field="white",
):
    """Background scene (float32 (M, N, 3)) and a dict describing it."""
    if name == "white_paper":
        return _paper(rng, shape, cam, plan_, dark=False)
    if name == "dark_paper":
        return _paper(rng, shape, cam, plan_, dark=True)
    if name == "towel":
        return _towel(rng, shape, cam, hair_colour)
    if name == "pillowcase":
        return _pillowcase(rng, shape, cam, hair_colour)
    if name == "sink":
        return _sink(rng, shape, cam)
    if name == "card":
        return _card(rng, shape, cam, card_layout, plan_, field=card_field)
    raise ValueError(f"unknown background {name!r}")
