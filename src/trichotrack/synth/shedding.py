"""Synthetic phone photos of shed hairs with exact ground truth.

A photo is a plane (a sheet of white or dark paper on a table, the calibration card, a terry towel, a
pillowcase, a ceramic sink) seen by a 12-MP phone camera (26 mm-equivalent lens) 20–35 cm above it,
tilted up to 25°, with hairs lying on it. Every hair is a smooth random curve on the plane in mm; it is
mapped into the image through the camera's homography and drawn by exact area coverage of its outline
(8 × 8 supersampled tiles), so a 0.06 mm hair at 13 px/mm is a faint 0.8-px line, as in a real photo.
The scene then goes through uneven light, optics blur (sometimes defocus or motion), auto-exposure,
a Bayer mosaic with signal-dependent noise, demosaicing, chroma noise reduction, phone sharpening,
8 bits and a JPEG round-trip (quality 70–95).

The truth is exact: every hair's centre line in image pixels and on the plane in mm, its arc length, its
width and colour, whether it belongs to an uncountable clump and whether the frame cuts it, and the number
of crossings. ``shed_photo(**photo.params)`` regenerates a photo.

Modelled
    Hairs: straight, wavy and curly (coils that loop over themselves) shapes, big loops of long hairs,
    lengths 50–350 mm for shed telogen hairs and 5–30 mm for broken and vellus hairs (their share set
    per photo), widths 0.04–0.12 mm (vellus 0.03–0.045 mm), a lighter, wider club root on most telogen
    hairs, tapered or blunt tips, hairs lying alongside each other (touching or nearly), tangled
    clumps, light hair semi-transparent, a sheen on dark hair that depends on its direction, soft
    shadows of the hairs. Distractors shorter than 5 mm that are not hairs: lint and fibres (many on a
    towel), dust, paper specks, the drain's slots, water droplets, the edges of the sheet and of a
    striped pillowcase. Backgrounds are usually chosen to contrast with the hair, as people do, but
    not always.
Not modelled
    Lens distortion and chromatic aberration, depth of field (the plane is flat and in one focus),
    hairs standing off the plane, hairs over the card's markers and ruler (they lie in its hair
    field), real textile or ceramic BRDFs (textures are procedural), HDR tone mapping and local
    contrast, rolling shutter, flash, EXIF orientation, compression other than one JPEG pass.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from trichotrack.synth import _backgrounds, _camera, _hairs

__all__ = [
    "BACKGROUNDS",
    "CURLS",
    "GENERATOR_VERSION",
    "HAIR_COLOURS",
    "HairTruth",
    "ShedPhoto",
    "count_crossings",
    "shed_photo",
    "shed_photo_set",
    "short_hair_fraction",
]

GENERATOR_VERSION = "1.0"

BACKGROUNDS = ("white_paper", "card", "towel", "pillowcase", "dark_paper", "sink")
HAIR_COLOURS = ("black", "dark_brown", "brown", "auburn", "blonde", "grey", "white")
CURLS = _hairs.CURLS
count_crossings = _hairs.count_crossings

#: display RGB and opacity of a hair shaft seen from above; light hair is semi-transparent.
_PIGMENTS = {
    "black": ((0.045, 0.04, 0.04), 0.96),
    "dark_brown": ((0.13, 0.09, 0.07), 0.94),
    "brown": ((0.3, 0.2, 0.13), 0.9),
    "auburn": ((0.45, 0.21, 0.11), 0.88),
    "blonde": ((0.78, 0.64, 0.42), 0.65),
    "grey": ((0.55, 0.54, 0.52), 0.75),  # a salt-and-pepper shaft, seen at phone resolution
    "white": ((0.94, 0.93, 0.9), 0.5),
}
_BULB_RGB = np.array([0.86, 0.82, 0.74])  # the keratinised club root of a telogen hair


@dataclass(frozen=True)
class HairTruth:
    """One hair as it was placed.

    Attributes
    ----------
    centerline_rc : (K, 2) ndarray of float
        Centre line in image pixels (row, col), pixel centres at integers, steps of at most 1 px.
    centerline_mm : (K, 2) ndarray of float
        The same points on the plane (x_mm, y_mm).
    length_mm : float
        Arc length of `centerline_mm`.
    width_mm : float
        Shaft width (the tip tapers, a club root is wider).
    colour : str
        One of `HAIR_COLOURS`.
    in_clump : bool
        Part of a tangled clump that no one could count.
    cut_by_frame : bool
        Part of the hair lies outside the photo.
    """

    centerline_rc: np.ndarray
    centerline_mm: np.ndarray
    length_mm: float
    width_mm: float
    colour: str
    in_clump: bool
    cut_by_frame: bool


@dataclass(frozen=True)
class ShedPhoto:
    """A synthetic shed-hair photo and its truth.

    Attributes
    ----------
    image : (M, N, 3) ndarray of uint8
        RGB, after blur, noise and a JPEG round-trip.
    hairs : tuple of HairTruth
    hair_count : int
        All hairs, those in clumps included.
    crossings : int
        Crossing points between hairs and within hairs.
    clumped : bool
        An uncountable clump is present.
    mm_per_px : float
        Scale on the plane at the image centre (geometric mean of both directions).
    plane_mm_from_image_px : (3, 3) ndarray
        Homography (x=col, y=row) px -> (x_mm, y_mm).
    background : str
    card : str or None
        "a4" or "letter" when the calibration card is in the photo.
    params : dict
        JSON-serialisable; ``shed_photo(**params)`` regenerates the photo.
    scene : dict
        What was drawn for the background, the light and the camera (for reports, not needed to
        regenerate).
    version : str
        Version of this generator.
    """

    image: np.ndarray
    hairs: tuple[HairTruth, ...]
    hair_count: int
    crossings: int
    clumped: bool
    mm_per_px: float
    plane_mm_from_image_px: np.ndarray
    background: str
    card: str | None
    params: dict
    scene: dict = dataclasses.field(default_factory=dict)
    version: str = GENERATOR_VERSION


def short_hair_fraction(hairs, *, cutoff_mm: float = 30.0) -> float:
    """Share of hairs shorter than `cutoff_mm` (0.0 for no hairs).

    Parameters
    ----------
    hairs : sequence of HairTruth, or of lengths in mm
    cutoff_mm : float
    """
    if not cutoff_mm > 0:
        raise ValueError(f"cutoff_mm must be positive, got {cutoff_mm}")
    lengths = np.array([getattr(h, "length_mm", h) for h in hairs], float)
    if lengths.size == 0:
        return 0.0
    return float(np.mean(lengths < cutoff_mm))


# ---------------------------------------------------------------------------------------------- options


def _draw_options(rng, given: dict, shape) -> dict:
    """Draw every option from `rng` in a fixed order, then let the caller's values win.

    Drawing even the given ones keeps the rest of the stream, and so the photo, the same when a
    parameter drawn at random is passed back explicitly.
    """
    drawn = {}
    drawn["background"] = str(rng.choice(BACKGROUNDS))
    drawn["hair_colour"] = str(rng.choice(HAIR_COLOURS, p=[0.2, 0.22, 0.16, 0.08, 0.12, 0.14, 0.08]))
    drawn["n_hairs"] = round(math.exp(rng.uniform(math.log(5), math.log(250))))
    drawn["n_clump_hairs"] = int(rng.integers(15, 70))
    drawn["curl"] = str(rng.choice(CURLS, p=[0.3, 0.35, 0.15, 0.2]))
    drawn["short_fraction"] = 0.0 if rng.random() < 0.25 else float(rng.uniform(0.0, 0.5))
    drawn["long_median_mm"] = float(rng.uniform(80, 220))
    drawn["width_median_mm"] = float(rng.uniform(0.05, 0.09))
    drawn["px_per_mm"] = float(rng.uniform(10.0, 15.0))
    drawn["tilt_deg"] = float(min(25.0, abs(rng.normal(0, 9))))
    drawn["tilt_axis_deg"] = float(rng.uniform(0, 360))
    drawn["roll_deg"] = float(rng.choice([0, 90, 180, 270]) + rng.normal(0, 4))
    drawn["card_format"] = str(rng.choice(["a4", "letter"], p=[0.7, 0.3]))
    drawn["parallel_fraction"] = float(rng.uniform(0, 0.15))
    drawn["distractors"] = int(rng.integers(0, 20))
    drawn["uneven_light"] = float(rng.uniform(0.2, 1.0))
    drawn["shadow"] = bool(rng.random() < 0.3)
    drawn["light_angle_deg"] = float(rng.uniform(0, 360))
    drawn["hair_shadow"] = float(rng.uniform(0, 0.35))
    drawn["optics_sigma_px"] = float(rng.uniform(0.45, 0.8))
    drawn["blur_px"] = float(rng.uniform(0.8, 2.5)) if rng.random() < 0.15 else 0.0
    drawn["motion_blur_px"] = float(rng.uniform(2, 8)) if rng.random() < 0.1 else 0.0
    drawn["motion_angle_deg"] = float(rng.uniform(0, 180))
    drawn["noise"] = float(math.exp(rng.uniform(math.log(3e-4), math.log(3e-3))))
    drawn["sharpen"] = float(rng.uniform(0, 1.2))
    drawn["exposure"] = (
        float(rng.uniform(1.15, 1.5)) if rng.random() < 0.08 else float(rng.uniform(0.9, 1.08))
    )
    drawn["white_balance"] = [float(v) for v in rng.uniform(0.93, 1.07, 3)]
    drawn["jpeg_quality"] = int(rng.integers(70, 96))
    card_roll = float(rng.choice([90, 270] if shape[1] >= shape[0] else [0, 180]) + rng.normal(0, 4))
    out = {k: (given[k] if given.get(k) is not None else v) for k, v in drawn.items()}
    if out["background"] == "card" and given.get("roll_deg") is None:
        out["roll_deg"] = card_roll  # a portrait page fills a landscape photo when the phone is turned
    return out


def _validate(opts: dict, shape) -> None:
    if opts["background"] not in BACKGROUNDS:
        raise ValueError(f"background must be one of {BACKGROUNDS}, got {opts['background']!r}")
    if opts["hair_colour"] not in HAIR_COLOURS:
        raise ValueError(f"hair_colour must be one of {HAIR_COLOURS}, got {opts['hair_colour']!r}")
    if opts["curl"] not in CURLS:
        raise ValueError(f"curl must be one of {CURLS}, got {opts['curl']!r}")
    if opts["card_format"] not in ("a4", "letter"):
        raise ValueError(f"card_format must be 'a4' or 'letter', got {opts['card_format']!r}")
    if len(shape) != 2 or min(shape) < 64:
        raise ValueError(f"shape must be (rows, cols) with at least 64 px a side, got {shape}")
    if opts["n_hairs"] < 0 or opts["n_clump_hairs"] < 0:
        raise ValueError(f"n_hairs must be >= 0, got {opts['n_hairs']}")
    if not 0 <= opts["short_fraction"] <= 1:
        raise ValueError(f"short_fraction must be in [0, 1], got {opts['short_fraction']}")
    if not 0 < opts["px_per_mm"] < 1000:
        raise ValueError(f"px_per_mm must be positive, got {opts['px_per_mm']}")
    if not 0 <= opts["tilt_deg"] <= 45:
        raise ValueError(f"tilt_deg must be in [0, 45], got {opts['tilt_deg']}")
    if not 1 <= opts["jpeg_quality"] <= 100:
        raise ValueError(f"jpeg_quality must be in [1, 100], got {opts['jpeg_quality']}")


# ---------------------------------------------------------------------------------------------- camera


def _place_camera(shape, opts, plan, card_layout_):
    """Homographies and scale; with the card, the camera backs off until the whole page is in view."""
    px_per_mm = float(opts["px_per_mm"])
    for _ in range(60):
        h = _camera.image_from_plane(
            shape,
            px_per_mm=px_per_mm,
            tilt_deg=opts["tilt_deg"],
            tilt_axis_deg=opts["tilt_axis_deg"],
            roll_deg=opts["roll_deg"],
            centre_mm=plan["centre_mm"],
        )
        if card_layout_ is None:
            break
        w, hh = plan["sheet_mm"]
        corners = _camera.apply_h(h, [[0, 0], [w, 0], [w, hh], [0, hh]])
        m, n = shape
        margin = 0.02 * min(m, n)
        if (
            (corners.min(axis=0) >= margin).all()
            and corners[:, 0].max() <= n - 1 - margin
            and (corners[:, 1].max() <= m - 1 - margin)
        ):
            break
        px_per_mm *= 0.97
    plane_from_image = np.linalg.inv(h)
    plane_from_image /= plane_from_image[2, 2]
    centre_px = ((shape[1] - 1) / 2, (shape[0] - 1) / 2)
    corners_px = [[0, 0], [shape[1] - 1, 0], [0, shape[0] - 1], [shape[1] - 1, shape[0] - 1], centre_px]
    max_px_per_mm = max(_camera.jacobian_scale(h, p) for p in _camera.apply_h(plane_from_image, corners_px))
    return {
        "image_from_plane": h,
        "plane_from_image": plane_from_image,
        "px_per_mm": px_per_mm,
        "max_px_per_mm": max_px_per_mm,
        "mm_per_px": _camera.jacobian_scale(plane_from_image, centre_px),
    }


def _card_plan(card_format: str, plan: dict):
    from trichotrack.measure.card import card_layout

    layout = card_layout(card_format)
    w, h = layout.width_mm, layout.height_mm
    plan = dict(plan, sheet=card_format, sheet_mm=(float(w), float(h)), centre_mm=[w / 2, h / 2])
    return layout, plan


# ---------------------------------------------------------------------------------------------- hairs


def _hair_colour(rng, photo_colour: str) -> str:
    if photo_colour == "grey":
        return str(rng.choice(["white", "grey", "dark_brown", "black"], p=[0.45, 0.25, 0.2, 0.1]))
    return photo_colour


def _lengths(rng, n: int, opts: dict, cap_mm: float) -> np.ndarray:
    n_short = round(opts["short_fraction"] * n)
    short = 5.0 + 25.0 * rng.beta(1.2, 1.5, n_short)
    long_ = np.exp(rng.normal(math.log(opts["long_median_mm"]), 0.45, n - n_short)).clip(50.0, 350.0)
    lengths = np.concatenate([short, np.minimum(long_, max(cap_mm, 31.0))])
    return lengths[rng.permutation(n)]


def _hair_kind(rng, length_mm: float, opts: dict) -> dict:
    """Width, root and tip of one hair."""
    w = float(np.clip(rng.lognormal(math.log(opts["width_median_mm"]), 0.22), 0.04, 0.12))
    if length_mm < 30:
        if rng.random() < 0.3:  # vellus
            return {
                "width_mm": float(rng.uniform(0.03, 0.045)),
                "club": False,
                "taper_mm": length_mm * 0.4,
                "lighten": 0.35,
            }
        return {"width_mm": w, "club": rng.random() < 0.3, "taper_mm": 0.0, "lighten": 0.0}  # broken
    return {
        "width_mm": w,
        "club": rng.random() < 0.85,
        "taper_mm": float(rng.uniform(3, 15)) if rng.random() < 0.6 else 0.0,
        "lighten": 0.0,
    }


def _fits(region: _hairs.Region, frame: _hairs.Region, points) -> bool:
    """Inside the region where hairs may lie, and at least partly in the frame."""
    return bool(region.depth(points).min() >= 0 and frame.depth(points).max() > 0)


def _make_hairs(rng, opts, region, frame, dense_step_mm, given_lines):
    """Centre lines (dense, mm) with their kinds. Returns a list of dicts."""
    hairs = []
    if given_lines is not None:
        for line in given_lines:
            pts = _hairs.resample(np.asarray(line, float), dense_step_mm)
            hairs.append(
                {
                    "mm": pts,
                    "width_mm": opts["width_mm"],
                    "club": False,
                    "taper_mm": 0.0,
                    "lighten": 0.0,
                    "in_clump": False,
                }
            )
        return hairs
    cap = 2.2 * math.sqrt(region.area_mm2)
    steer = min(5.0, math.sqrt(region.area_mm2) / 10)
    lengths = _lengths(rng, opts["n_hairs"], opts, cap)
    for length in lengths:
        kind = _hair_kind(rng, float(length), opts)
        pts = None
        if hairs and rng.random() < opts["parallel_fraction"]:
            host = hairs[int(rng.integers(len(hairs)))]
            gap = (host["width_mm"] + kind["width_mm"]) / 2 * rng.uniform(0.85, 1.6)
            cand = _hairs.follower(rng, host["mm"], float(length), gap)
            if cand is not None and _fits(region, frame, cand):
                pts = _hairs.resample(cand, dense_step_mm)
        target = float(length)
        attempt = 0
        while pts is None:
            # a free curve dropped at a random place and angle; a hair too long for the field is bent
            # by turning away from its edges, as a long hair on a sheet is
            shape = _hairs.shape_params(rng, opts["curl"])
            if attempt < 4:
                coarse = _hairs.walk(rng, target, None, shape)
                coarse = _hairs.place(rng, coarse, region, margin_mm=0.3)
            else:
                coarse = _hairs.walk(rng, target, region, shape, steer_mm=steer * min(4, 1 + attempt / 4))
                if attempt >= 12 and attempt % 2:
                    target = max(1.0, target * 0.85)  # a very long curl that keeps escaping a small field
            attempt += 1
            if attempt > 400:
                raise ValueError(
                    f"cannot place a hair in a field of {region.area_mm2:.0f} mm²; use a larger shape"
                )
            if coarse is None:
                continue
            cand = _hairs.densify(coarse, dense_step_mm)
            if _fits(region, frame, cand):
                pts = cand
        if rng.random() < 0.5:
            pts = pts[::-1].copy()
        hairs.append({"mm": pts, **kind, "in_clump": False})
    return hairs


def _make_clumps(rng, opts, region, dense_step_mm):
    hairs = []
    n_total = opts["n_clump_hairs"]
    n_clumps = 1 if n_total < 30 or rng.random() < 0.7 else 2
    per = np.diff(np.linspace(0, n_total, n_clumps + 1).round().astype(int))
    for n in per:
        radius = float(rng.uniform(4, 12)) * (1 + n / 80)
        radius = min(radius, math.sqrt(region.area_mm2) / 5)
        centre = region.random_point(rng, min_depth_mm=radius * 1.2)
        for _ in range(n):
            kind = _hair_kind(rng, 100.0, opts)
            shape = _hairs.shape_params(rng, "curly" if rng.random() < 0.5 else "wavy")
            shape["noise"] *= 3
            pts = None
            for _attempt in range(10):
                ball = _hairs.disk(centre, radius * rng.uniform(0.7, 1.5))
                ball = ball.clip(region) or region
                coarse = _hairs.walk(
                    rng,
                    float(rng.uniform(40, 220)),
                    ball,
                    shape,
                    start=ball.random_point(rng),
                    steer_mm=max(1.0, radius / 2),
                )
                cand = _hairs.densify(coarse, dense_step_mm)
                if _fits(region, region, cand):
                    pts = cand
                    break
            if pts is not None:
                hairs.append({"mm": pts, **kind, "in_clump": True})
    return hairs


def _hair_appearance(rng, hair: dict, colour_name: str, light_angle: float):
    """Colour (K, 3), opacity (K,) and width (K,) along a hair; index 0 is the root."""
    k = len(hair["mm"])
    rgb, opacity = _PIGMENTS[colour_name]
    rgb = np.clip(np.array(rgb) * rng.uniform(0.85, 1.15), 0, 1)
    if hair["lighten"]:
        rgb = rgb + (np.array([0.9, 0.85, 0.75]) - rgb) * hair["lighten"]
        opacity *= 0.8
    s = np.r_[0.0, np.cumsum(np.hypot(*np.diff(hair["mm"], axis=0).T))]
    s_tip = s[-1] - s
    width = np.full(k, hair["width_mm"])
    colour = np.tile(rgb, (k, 1))
    alpha = np.full(k, opacity)
    bulb_end = 0
    if hair["club"]:
        bulb_mm = rng.uniform(0.4, 0.9)
        bump = np.clip(1 - s / bulb_mm, 0, 1) ** 0.5
        width *= 1 + rng.uniform(0.3, 0.8) * bump
        on = s < bulb_mm
        colour[on] = colour[on] * 0.4 + _BULB_RGB * 0.6
        alpha[on] *= 0.8
        bulb_end = int(on.sum())
    if hair["taper_mm"] > 0:
        t = np.clip(s_tip / hair["taper_mm"], 0, 1)
        width *= 0.3 + 0.7 * t**0.7
    # a dark shaft shines where it lies across the light
    pts = hair["mm"]
    g = np.gradient(pts, axis=0)
    ang = np.arctan2(g[:, 1], g[:, 0])
    shine = np.abs(np.sin(ang - light_angle)) ** 6 * rng.uniform(0.08, 0.3) * (1 - rgb.mean())
    colour = colour + (0.92 - colour) * shine[:, None]
    return colour, alpha, width, bulb_end


def _render_all(rng, scene, current, total, hairs, colours, cam, light_angle):
    for hair, colour_name in zip(hairs, colours, strict=True):
        colour, alpha, width, bulb_end = _hair_appearance(rng, hair, colour_name, light_angle)
        nrm = _hairs.normals(hair["mm"])
        left = _camera.apply_h(cam["image_from_plane"], hair["mm"] + nrm * (width / 2)[:, None])
        right = _camera.apply_h(cam["image_from_plane"], hair["mm"] - nrm * (width / 2)[:, None])
        _hairs.render_hair(
            scene, current, total, left, right, colour, np.minimum(alpha, 0.97), breaks=(bulb_end,)
        )


def _distractors(rng, opts, region, bg_info, background, dense_step_mm):
    """Lint, fibres and dust: not hairs, not in the truth, all shorter than 5 mm."""
    count = opts["distractors"] + (int(rng.integers(30, 200)) if background == "towel" else 0)
    items = []
    base = bg_info.get("colour")
    towel_rgb = np.array(_backgrounds.TOWEL_COLOURS[base]) if background == "towel" else None
    for _ in range(count):
        shape = _hairs.shape_params(rng, "curly")
        length = float(rng.uniform(0.8, 4.5))
        coarse = _hairs.walk(rng, length, region, shape, steer_mm=0.5)
        pts = _hairs.densify(coarse, dense_step_mm)
        if towel_rgb is not None and rng.random() < 0.8:
            rgb = np.clip(towel_rgb * rng.uniform(0.6, 1.15), 0, 1)
            width = float(rng.uniform(0.02, 0.06))
        else:
            rgb = np.array([rng.uniform(0.1, 0.9)] * 3) * rng.uniform(0.8, 1.2, 3)
            width = float(rng.uniform(0.02, 0.05))
        items.append((pts, np.clip(rgb, 0, 1), width))
    return items


# ---------------------------------------------------------------------------------------------- API


def shed_photo(
    seed: int,
    *,
    shape: Sequence[int] = (3000, 4000),
    n_hairs: int | None = None,
    background: str | None = None,
    hair_colour: str | None = None,
    clump: bool = False,
    n_clump_hairs: int | None = None,
    curl: str | None = None,
    short_fraction: float | None = None,
    long_median_mm: float | None = None,
    width_median_mm: float | None = None,
    px_per_mm: float | None = None,
    tilt_deg: float | None = None,
    tilt_axis_deg: float | None = None,
    roll_deg: float | None = None,
    card_format: str | None = None,
    cut_hairs: bool = False,
    parallel_fraction: float | None = None,
    distractors: int | None = None,
    uneven_light: float | None = None,
    shadow: bool | None = None,
    light_angle_deg: float | None = None,
    hair_shadow: float | None = None,
    optics_sigma_px: float | None = None,
    blur_px: float | None = None,
    motion_blur_px: float | None = None,
    motion_angle_deg: float | None = None,
    noise: float | None = None,
    sharpen: float | None = None,
    exposure: float | None = None,
    white_balance: Sequence[float] | None = None,
    jpeg_quality: int | None = None,
    centerlines_mm: Sequence[np.ndarray] | None = None,
    width_mm: float = 0.08,
    card_field: str = "white",
) -> ShedPhoto:
    """A synthetic phone photo of shed hairs with exact truth.

    Every option left at None is drawn at random from `seed`; the drawn values are returned in
    ``params``, and ``shed_photo(**photo.params)`` gives the same photo.

    Parameters
    ----------
    seed : int
    shape : (rows, cols)
        Image size; (3000, 4000) is a 12-MP phone photo. The scale does not follow the size: a small
        shape is a crop of a photo at the same px/mm.
    n_hairs : int
        Loose hairs (not counting clumps). Drawn log-uniformly in 5..250.
    background : str
        One of `BACKGROUNDS`.
    hair_colour : str
        One of `HAIR_COLOURS`; "grey" mixes white, grey and pigmented hairs.
    clump : bool
        Add one or two tangled clumps of `n_clump_hairs` hairs in all.
    curl : str
        "straight", "wavy", "curly" (coils that loop over themselves) or "mixed".
    short_fraction : float
        Share of hairs of 5–30 mm (broken and vellus); the others are 50–350 mm.
    long_median_mm, width_median_mm : float
        Median length of the long hairs and median shaft width.
    px_per_mm : float
        Scale at the image centre (10–15 px/mm: a phone 20–35 cm above the sheet). With the card it is
        lowered until the whole page is in view.
    tilt_deg, tilt_axis_deg, roll_deg : float
        Camera tilt (0–25°) about an in-plane axis, and its roll about the optical axis.
    card_format : str
        "a4" or "letter", for ``background="card"``.
    card_field : str
        The card's hair field, "white" or "dark" (`trichotrack.measure.card.FIELDS`; never drawn at random,
        so that a seed's photo stays the same).
    cut_hairs : bool
        Let hairs run out of the frame (``HairTruth.cut_by_frame``).
    parallel_fraction : float
        Share of hairs laid alongside another one, touching or nearly.
    distractors : int
        Lint and fibres shorter than 5 mm (a towel adds its own).
    uneven_light, shadow, light_angle_deg, hair_shadow : float, bool, float, float
        Strength of vignetting and gradient (0–1), a soft shadow across the frame, the light's
        direction, and the depth of the hairs' own soft shadows.
    optics_sigma_px, blur_px, motion_blur_px, motion_angle_deg : float
        Lens blur, extra defocus, motion blur length and direction.
    noise, sharpen, exposure, white_balance, jpeg_quality
        Sensor noise (variance per unit signal), phone sharpening, exposure gain (> 1.1 over-exposes),
        RGB gains, JPEG quality.
    centerlines_mm : sequence of (K, 2) arrays, optional
        Draw exactly these hairs instead of random ones, in mm on the plane relative to the point seen
        at the image centre (x along the columns, y along the rows when tilt and roll are 0).
    width_mm : float
        Width of the hairs of `centerlines_mm`.

    Returns
    -------
    ShedPhoto
    """
    given = {
        k: v
        for k, v in locals().items()
        if k not in ("seed", "shape", "clump", "cut_hairs", "centerlines_mm", "width_mm", "card_field")
    }
    shape = (int(shape[0]), int(shape[1]))
    seq = np.random.SeedSequence(int(seed))
    opt_rng, geo_rng, bg_rng, cam_rng = (np.random.default_rng(s) for s in seq.spawn(4))
    opts = _draw_options(opt_rng, given, shape)
    if centerlines_mm is not None:
        centerlines_mm = [np.asarray(c, float) for c in centerlines_mm]
        opts["n_hairs"] = len(centerlines_mm)
        opts["clump"] = False
    _validate(opts, shape)
    from trichotrack.measure.card import FIELDS

    if card_field not in FIELDS:
        raise ValueError(f"card_field must be one of {FIELDS}, got {card_field!r}")
    if not width_mm > 0:
        raise ValueError(f"width_mm must be positive, got {width_mm}")
    opts["width_mm"] = float(width_mm)
    background = opts["background"]

    plan = _backgrounds.plan(background, bg_rng)
    layout = None
    if background == "card":
        layout, plan = _card_plan(opts["card_format"], plan)
    cam = _place_camera(shape, opts, plan, layout)

    # where hairs may lie: in the frame (a few px in), on the sheet, on the card's hair field
    margin_px = 3 + 2 * (opts["optics_sigma_px"] + opts["blur_px"]) + opts["motion_blur_px"]
    frame = _hairs.Region(_camera.footprint_mm(cam["plane_from_image"], shape, inset_px=margin_px))
    beyond_px = min(40 * cam["px_per_mm"], 0.25 * max(shape))  # how far cut hairs may reach out
    region = (
        _hairs.Region(_camera.footprint_mm(cam["plane_from_image"], shape, inset_px=-beyond_px))
        if (cut_hairs)
        else frame
    )
    if layout is not None:
        top, left, bottom, right = layout.hair_area_mm
        region = (
            region.clip(_hairs.Region([[left, top], [right, top], [right, bottom], [left, bottom]])) or region
        )
    elif plan["sheet_mm"] is not None:
        w, h = plan["sheet_mm"]
        region = region.clip(_hairs.Region([[4, 4], [w - 4, 4], [w - 4, h - 4], [4, h - 4]])) or region

    dense_step_mm = 0.5 / cam["max_px_per_mm"]
    centre = np.array(plan["centre_mm"], float)
    lines = None if centerlines_mm is None else [c + centre for c in centerlines_mm]
    loose = _make_hairs(geo_rng, opts, region, frame, dense_step_mm, lines)
    clump_region = (region.clip(frame) or frame) if cut_hairs else region
    clumped_hairs = (
        _make_clumps(geo_rng, opts, clump_region, dense_step_mm) if clump and lines is None else []
    )
    hairs = loose + clumped_hairs
    colours = [_hair_colour(geo_rng, opts["hair_colour"]) for _ in hairs]

    # scene: background, then distractors and hairs by coverage, then the hairs' soft shadows, then light
    scene, bg_info = _backgrounds.render_background(
        background, bg_rng, shape, cam, plan, layout, hair_colour=opts["hair_colour"], card_field=card_field
    )
    fluff = _distractors(geo_rng, opts, region, bg_info, background, dense_step_mm)
    light_angle = math.radians(opts["light_angle_deg"])
    order = geo_rng.permutation(len(hairs))
    m, n = shape
    current = np.zeros((m, n), np.float32)
    total = np.zeros((m, n), np.float32)
    for pts, rgb, width in fluff:
        nrm = _hairs.normals(pts)
        left = _camera.apply_h(cam["image_from_plane"], pts + nrm * width / 2)
        right = _camera.apply_h(cam["image_from_plane"], pts - nrm * width / 2)
        k = len(pts)
        _hairs.render_hair(scene, current, total, left, right, np.tile(rgb, (k, 1)), np.full(k, 0.85))
    _render_all(
        geo_rng,
        scene,
        current,
        total,
        [hairs[i] for i in order],
        [colours[i] for i in order],
        cam,
        light_angle,
    )
    del current
    light, light_info = _camera.lighting(
        cam_rng, shape, uneven=opts["uneven_light"], shadow=opts["shadow"], light_angle_rad=light_angle
    )
    if opts["hair_shadow"] >= 0.02 and hairs:
        # each hair's own soft shadow on the sheet, cast away from the light (not on the hair itself)
        import cv2

        shift = geo_rng.uniform(0.5, 3.0)
        mat = np.float32([[1, 0, shift * math.cos(light_angle)], [0, 1, shift * math.sin(light_angle)]])
        shade = cv2.warpAffine(total, mat, (n, m))
        cv2.GaussianBlur(shade, (0, 0), geo_rng.uniform(1.0, 3.0), dst=shade)
        shade *= np.float32(opts["hair_shadow"])
        shade *= 1 - total
        np.subtract(1, shade, out=shade)
        light *= shade
        del shade
    del total
    image = _camera.finish(
        cam_rng,
        scene,
        light,
        gains=opts["white_balance"],
        optics_sigma_px=opts["optics_sigma_px"],
        defocus_px=opts["blur_px"],
        motion_px=opts["motion_blur_px"],
        motion_angle_deg=opts["motion_angle_deg"],
        noise=opts["noise"],
        sharpen=opts["sharpen"],
        exposure=opts["exposure"],
        jpeg_quality=opts["jpeg_quality"],
    )

    # truth
    truths = []
    m1, n1 = m - 1, n - 1
    for hair, colour_name in zip(hairs, colours, strict=True):
        rc = np.ascontiguousarray(_camera.apply_h(cam["image_from_plane"], hair["mm"])[:, ::-1])
        rc.setflags(write=False)  # the truth is shared by every test that reads it
        hair["mm"].setflags(write=False)
        cut = bool((rc.min() < 0) or (rc[:, 0].max() > m1) or (rc[:, 1].max() > n1))
        truths.append(
            HairTruth(
                centerline_rc=rc,
                centerline_mm=hair["mm"],
                length_mm=_hairs.arc_length(hair["mm"]),
                width_mm=float(hair["width_mm"]),
                colour=colour_name,
                in_clump=hair["in_clump"],
                cut_by_frame=cut,
            )
        )
    params = {
        "seed": int(seed),
        "shape": list(shape),
        "clump": bool(clump),
        "cut_hairs": bool(cut_hairs),
        **{k: v for k, v in opts.items() if k not in ("width_mm", "clump")},
    }
    if background == "card":
        params["card_field"] = card_field
    params["px_per_mm"] = float(cam["px_per_mm"])
    if centerlines_mm is not None:
        params["centerlines_mm"] = [c.tolist() for c in centerlines_mm]
        params["width_mm"] = float(width_mm)
    return ShedPhoto(
        image=image,
        hairs=tuple(truths),
        hair_count=len(truths),
        crossings=_hairs.count_crossings([h.centerline_mm for h in truths]),
        clumped=any(h.in_clump for h in truths),
        mm_per_px=float(cam["mm_per_px"]),
        plane_mm_from_image_px=cam["plane_from_image"],
        background=background,
        card=opts["card_format"] if background == "card" else None,
        params=params,
        scene={
            "background": bg_info,
            "light": light_info,
            "camera": {"px_per_mm": float(cam["px_per_mm"]), "max_px_per_mm": float(cam["max_px_per_mm"])},
        },
    )


def shed_photo_set(
    n: int, *, seed: int = 0, shape: Sequence[int] = (3000, 4000), **fixed
) -> Iterator[ShedPhoto]:
    """A reproducible, varied set of `n` photos for a benchmark.

    Every pairing of background and hair colour comes up in turn (in a shuffled order), except that
    light hair on a light background is often moved to dark paper and dark hair on dark paper mostly
    to white paper, as people following the protocol would do; one photo in eight has a clump.
    Keyword options in `fixed` are passed to every photo.

    Yields
    ------
    ShedPhoto
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EED]))
    pairs = [(b, c) for b in BACKGROUNDS for c in HAIR_COLOURS]
    pairs = [pairs[k] for k in rng.permutation(len(pairs))]
    for i in range(n):
        background, colour = pairs[i % len(pairs)]
        # people mostly follow the protocol's advice on contrast, but not always
        if (
            colour in _backgrounds.LIGHT_HAIR
            and background in ("white_paper", "card", "sink")
            and rng.random() < 0.4
        ):
            background = "dark_paper"
        elif colour not in _backgrounds.LIGHT_HAIR and background == "dark_paper" and rng.random() < 0.8:
            background = "white_paper"
        choice = {"background": background, "hair_colour": colour, "clump": bool(i % 8 == 7)}
        photo_seed = int(rng.integers(0, 2**31 - 1))
        yield shed_photo(photo_seed, shape=shape, **{**choice, **fixed})
