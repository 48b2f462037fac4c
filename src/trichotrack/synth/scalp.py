"""Synthetic global scalp photos with exact truth: a head seen from above, the front or over a part.

Simple but honest. The head is an ellipse of one skin tone with soft shading, a few skin blemishes and
sensor noise, on a smooth, coloured background (lit from above in the front and part views). Hair is
drawn as strands: each strand grows from a root placed at random (Poisson) with a given density per
region of the head, runs 8–20 px along a smooth flow field (away from the crown whorl in the top view,
down and forward in the front view, away from the part in the part view) with a little curl, 1–2 px
wide, in the hair colour with per-strand variation.
The bald region has no roots; its area is known exactly from the geometry, and the *visible* scalp (head
pixels that no strand covers) is known exactly from the rendering.

Norwood-Hamilton stages 1–7 are drawn in the top view from the scale's published definitions: a
frontotemporal recession that deepens with the stage (II, III), a vertex (crown) bald spot from stage
IV that grows (V) and joins the front when the bridge of hair between them is lost (VI), and only the
horseshoe fringe at the sides and back at VII. Ludwig grades I–III (women) are diffuse thinning of the
crown with the frontal hairline kept: the crown's density falls to 60 %, 30 % and 8 % of the rest.

Not modelled: real hair optics (sheen, translucency), 3-D head shape and perspective, shadows cast by
hair, grey roots, scalp redness patterns, mixed hair colours, wet or styled hair, ears and faces (the
front view shows a plain forehead below the hairline), camera noise beyond Gaussian and one JPEG pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

__all__ = [
    "GENERATOR_VERSION",
    "HAIR_COLOURS",
    "SKIN_TONES",
    "ScalpRender",
    "ludwig_crown_density",
    "norwood_bald_mask",
    "render_head",
    "top_roi_mask",
]

GENERATOR_VERSION = "1.2"

#: sRGB skin tones from very light to very dark (approximate Fitzpatrick I–VI).
SKIN_TONES = {
    "very_light": (232, 192, 170),
    "light": (226, 176, 146),
    "medium": (198, 140, 104),
    "tan": (168, 112, 78),
    "brown": (126, 82, 56),
    "dark": (86, 56, 40),
}
HAIR_COLOURS = {
    "black": (22, 18, 16),
    "dark_brown": (52, 36, 26),
    "brown": (96, 66, 42),
    "blonde": (196, 160, 104),
    "grey": (150, 148, 146),
    "white": (224, 222, 218),
}

_NORWOOD = {
    # stage: (frontal depth at mid-line, frontal depth at temples, vertex radius, bridge lost, fringe |u|),
    # depths and radii in head radii, from the scale's drawings (Norwood 1975).
    1: (0.00, 0.00, 0.00, False, 1.0),
    2: (0.03, 0.15, 0.00, False, 1.0),
    3: (0.06, 0.28, 0.00, False, 1.0),
    4: (0.15, 0.33, 0.22, False, 0.85),
    5: (0.25, 0.40, 0.32, False, 0.78),
    6: (0.45, 0.50, 0.45, True, 0.72),
    7: (0.80, 0.80, 0.60, True, 0.66),
}
_LUDWIG = {0: 1.0, 1: 0.6, 2: 0.3, 3: 0.08}


@dataclass(frozen=True)
class ScalpRender:
    """A synthetic global photo and its truth.

    Attributes
    ----------
    image : (M, N, 3) ndarray of uint8
        RGB, upright.
    view : str
        ``"top"``, ``"front"`` or ``"part"``.
    head : (M, N) ndarray of bool
        The head ellipse.
    bald : (M, N) ndarray of bool
        Head pixels where no hair grows (the pattern's bald region; for the part view, the part).
    scalp_visible : (M, N) ndarray of bool
        Head pixels with no strand within 2 px: the exact answer for scalp segmentation.
    head_center_rc : (2,) tuple of float
    head_semi_axes_px : (2,) tuple of float
        Half height and half width of the head ellipse.
    hairline_depth_fraction : float or None
        Front view: depth of hair at the mid-line from the head top, divided by head height.
    part_width_px : float or None
        Part view: the width of the part.
    params : dict
        Everything needed to regenerate it: ``render_head(**params)``.
    """

    image: np.ndarray = field(repr=False)
    view: str
    head: np.ndarray = field(repr=False)
    bald: np.ndarray = field(repr=False)
    scalp_visible: np.ndarray = field(repr=False)
    head_center_rc: tuple[float, float]
    head_semi_axes_px: tuple[float, float]
    hairline_depth_fraction: float | None
    part_width_px: float | None
    params: dict
    version: str = GENERATOR_VERSION

    def visible_fraction(self, roi) -> float:
        """Exact share of `roi` ((M, N) bool) where scalp is visible."""
        roi = np.asarray(roi, bool)
        return float(self.scalp_visible[roi].mean())


def _head_coords(shape, center_rc, semi_axes_px):
    rows, cols = shape
    rr, cc = np.mgrid[0:rows, 0:cols].astype(np.float64)
    v = (rr - center_rc[0]) / semi_axes_px[0]
    u = (cc - center_rc[1]) / semi_axes_px[1]
    return v, u


def norwood_bald_mask(stage: int, shape, *, center_rc, semi_axes_px) -> np.ndarray:
    """The bald region of a Norwood-Hamilton stage, seen from above (front of the head at the top).

    Parameters
    ----------
    stage : int
        1–7.
    shape : (2,) tuple of int
        Image rows and columns.
    center_rc, semi_axes_px : (2,) tuple of float
        The head ellipse.

    Returns
    -------
    bald : (M, N) ndarray of bool
    """
    if stage not in _NORWOOD:
        raise ValueError(f"stage must be 1–7, got {stage!r}")
    front_mid, front_temple, vertex_r, bridge_lost, fringe = _NORWOOD[stage]
    v, u = _head_coords(shape, center_rc, semi_axes_px)
    inside = v**2 + u**2 < 1
    # Distance from the front edge of the head, along the front-back axis, in head radii.
    front_edge = -np.sqrt(np.clip(1 - u**2, 0, 1))
    depth = v - front_edge
    allowed = front_mid + (front_temple - front_mid) * np.clip(np.abs(u) / 0.6, 0, 1) ** 2
    bald = depth < 2 * allowed
    if vertex_r > 0:
        bald |= (v - 0.2) ** 2 + u**2 < vertex_r**2
    if bridge_lost:
        bald |= (v < 0.2) & (depth < 2 * front_mid + 0.1) | ((v < 0.2 + vertex_r) & (np.abs(u) < 0.5))
    bald &= np.abs(u) < fringe
    if stage == 7:
        # Only the horseshoe fringe is left: sides (|u| beyond the fringe) and the lower back.
        bald |= (np.abs(u) < fringe) & (v < 0.7)
    return bald & inside & (depth > 0)


def ludwig_crown_density(grade: int) -> float:
    """Relative hair density of the crown in Ludwig grade 0 (none), I, II or III."""
    if grade not in _LUDWIG:
        raise ValueError(f"grade must be 0–3, got {grade!r}")
    return _LUDWIG[grade]


def top_roi_mask(shape, *, center_rc, semi_axes_px, radius_fraction: float = 0.6) -> np.ndarray:
    """The top view's region of interest: a central disc of `radius_fraction` of the smaller half-axis
    (0.6 as `trichotrack.measure.scalp` defined it up to 0.4; since 0.5 it uses 0.7, its
    ``DEFAULTS["top_roi_radius_fraction"]``)."""
    rows, cols = shape
    rr, cc = np.ogrid[0:rows, 0:cols]
    radius = radius_fraction * min(semi_axes_px)
    return ((rr - center_rc[0]) ** 2 + (cc - center_rc[1]) ** 2 < radius**2) & np.ones(shape, bool)


def render_head(
    seed: int,
    *,
    view: str = "top",
    shape: tuple[int, int] = (480, 480),
    skin: str = "light",
    hair: str = "dark_brown",
    density_per_kpx2: float = 50.0,
    norwood_stage: int | None = None,
    ludwig_grade: int | None = None,
    bald_disc: tuple[float, float, float] | None = None,
    hairline_depth_fraction: float = 0.3,
    part_width_px: float = 8.0,
    noise_sd: float = 3.0,
    jpeg_quality: int | None = 90,
) -> ScalpRender:
    """Render a synthetic global photo of a head with exact truth.

    Parameters
    ----------
    seed : int
    view : {"top", "front", "part"}
    shape : (2,) tuple of int
        Rows and columns of the image.
    skin, hair : str
        Keys of `SKIN_TONES` and `HAIR_COLOURS`.
    density_per_kpx2 : float
        Hair roots per 1000 px² of head where hair grows at full density (50 hides the scalp).
    norwood_stage : int, optional
        Top view: draw this Norwood-Hamilton stage's bald pattern (1–7).
    ludwig_grade : int, optional
        Top view: thin the crown to this Ludwig grade's density (0–3).
    bald_disc : (3,) tuple of float, optional
        A bald disc (centre row, centre column, radius) in pixels, in any view.
    hairline_depth_fraction : float
        Front view: hair from the head top down to this fraction of the head height.
    part_width_px : float
        Part view: width of the part (no roots within half of it either side of the mid-line).
    noise_sd : float
        Gaussian sensor noise, in 8-bit levels.
    jpeg_quality : int or None
        One JPEG round-trip at this quality, or none.

    Returns
    -------
    ScalpRender
    """
    if view not in ("top", "front", "part"):
        raise ValueError(f"view must be 'top', 'front' or 'part', got {view!r}")
    if skin not in SKIN_TONES:
        raise ValueError(f"skin must be one of {', '.join(SKIN_TONES)}, got {skin!r}")
    if hair not in HAIR_COLOURS:
        raise ValueError(f"hair must be one of {', '.join(HAIR_COLOURS)}, got {hair!r}")
    if density_per_kpx2 < 0 or not math.isfinite(density_per_kpx2):
        raise ValueError(f"density_per_kpx2 must be a finite number >= 0, got {density_per_kpx2}")
    if not 0 <= hairline_depth_fraction <= 1:
        raise ValueError(f"hairline_depth_fraction must be in [0, 1], got {hairline_depth_fraction}")
    rows, cols = int(shape[0]), int(shape[1])
    if min(rows, cols) < 64:
        raise ValueError(f"shape must be at least 64 px a side, got {shape}")
    params = {
        "seed": seed,
        "view": view,
        "shape": (rows, cols),
        "skin": skin,
        "hair": hair,
        "density_per_kpx2": density_per_kpx2,
        "norwood_stage": norwood_stage,
        "ludwig_grade": ludwig_grade,
        "bald_disc": bald_disc,
        "hairline_depth_fraction": hairline_depth_fraction,
        "part_width_px": part_width_px,
        "noise_sd": noise_sd,
        "jpeg_quality": jpeg_quality,
    }
    rng = np.random.default_rng(seed)
    side = min(rows, cols)
    if view == "front":
        # The head from above-front: its top in the upper part of the frame, the forehead below.
        center = (rows * rng.uniform(0.55, 0.6), cols * rng.uniform(0.48, 0.52))
        semi = (side * rng.uniform(0.42, 0.46), side * rng.uniform(0.38, 0.42))
    else:
        center = (rows * rng.uniform(0.47, 0.53), cols * rng.uniform(0.47, 0.53))
        semi = (side * rng.uniform(0.40, 0.44), side * rng.uniform(0.38, 0.42))
    v, u = _head_coords((rows, cols), center, semi)
    head = v**2 + u**2 < 1

    # Where hair grows, and how densely (relative to full density).
    density = np.where(head, 1.0, 0.0)
    bald = np.zeros((rows, cols), bool)
    if view == "top" and norwood_stage is not None:
        bald |= norwood_bald_mask(norwood_stage, (rows, cols), center_rc=center, semi_axes_px=semi)
    if view == "top" and ludwig_grade is not None:
        crown = (v - 0.1) ** 2 + u**2 < 0.55**2
        density = np.where(crown, density * ludwig_crown_density(ludwig_grade), density)
    if view == "front":
        top_row = center[0] - semi[0]
        hairline_row = top_row + hairline_depth_fraction * 2 * semi[0]
        rr = np.arange(rows)[:, None] * np.ones((1, cols))
        bald |= head & (rr >= hairline_row)
    if view == "part":
        bald |= (
            head
            & (np.abs(np.arange(cols)[None, :] - center[1]) < part_width_px / 2)
            & np.ones((rows, 1), bool)
        )
    if bald_disc is not None:
        br, bc, brad = bald_disc
        bald |= head & (((v * semi[0] + center[0] - br) ** 2 + (u * semi[1] + center[1] - bc) ** 2) < brad**2)
    bald &= head
    density = np.where(bald, 0.0, density)

    # Background, skin and shading.
    background = np.array([rng.uniform(60, 230) for _ in range(3)], np.float32)
    canvas = np.empty((rows, cols, 3), np.float32)
    canvas[:] = background
    ramp = np.linspace(-1, 1, rows, dtype=np.float32)[:, None] * rng.uniform(-20, 20)
    if view != "top":
        # Seen from the front or over a part, the room's light comes from above: the top is brighter.
        # (Before generator 1.2 this was -|ramp|, brightest across the middle, not at the top.)
        ramp = -np.abs(ramp[-1, 0]) * np.linspace(-1, 1, rows, dtype=np.float32)[:, None]
    canvas += ramp[..., None]
    tone = np.array(SKIN_TONES[skin], np.float32) * rng.uniform(0.95, 1.05, 3).astype(np.float32)
    shade = np.clip(1.08 - 0.35 * (v**2 + u**2) ** 1.5, 0.6, 1.1).astype(np.float32)
    skin_img = tone[None, None, :] * shade[..., None]
    canvas[head] = skin_img[head]
    for _ in range(int(rng.integers(0, 6))):  # freckles and moles: small, smooth, not hair
        r0, c0 = center[0] + rng.uniform(-0.6, 0.6) * semi[0], center[1] + rng.uniform(-0.6, 0.6) * semi[1]
        cv2.circle(
            canvas, (round(c0), round(r0)), int(rng.integers(1, 3)), tuple(float(x) for x in tone * 0.8), -1
        )

    # Strands.
    colour = np.array(HAIR_COLOURS[hair], np.float32)
    area_kpx2 = float(density.sum()) / 1000.0
    n_strands = int(rng.poisson(density_per_kpx2 * area_kpx2)) if area_kpx2 > 0 else 0
    coverage = np.zeros((rows, cols), np.uint8)
    if n_strands:
        # Roots by rejection sampling on the density map.
        flat = density.ravel() / density.sum()
        roots = rng.choice(rows * cols, size=n_strands, p=flat)
        root_r = (roots // cols).astype(np.float64) + rng.uniform(-0.5, 0.5, n_strands)
        root_c = (roots % cols).astype(np.float64) + rng.uniform(-0.5, 0.5, n_strands)
        if view == "top":
            whorl = (center[0] + 0.2 * semi[0], center[1])
            angle = np.arctan2(root_r - whorl[0], root_c - whorl[1])
        elif view == "front":
            angle = np.arctan2(np.full(n_strands, 1.0), (root_c - center[1]) / semi[1] * 0.8)
        else:
            angle = np.where(root_c < center[1], math.pi, 0.0) + rng.normal(0, 0.25, n_strands)
        angle = angle + rng.normal(0, 0.35, n_strands)
        length = rng.uniform(12, 30, n_strands)
        curl = rng.normal(0, 0.08, n_strands)
        widths = rng.choice([1, 1, 2], n_strands)
        shades = np.clip(rng.normal(1.0, 0.12, n_strands), 0.6, 1.4)
        steps = 4
        for width in (1, 2):
            sel = np.nonzero(widths == width)[0]
            for group in np.array_split(sel, max(1, len(sel) // 400)):
                polylines, colours = [], []
                for i in group:
                    pts = [(root_c[i], root_r[i])]
                    heading = angle[i]
                    for _ in range(steps):
                        heading += curl[i] * length[i] / steps
                        c, r = pts[-1]
                        pts.append(
                            (
                                c + math.cos(heading) * length[i] / steps,
                                r + math.sin(heading) * length[i] / steps,
                            )
                        )
                    polylines.append(np.round(np.array(pts)).astype(np.int32))
                    colours.append(tuple(float(x) for x in np.clip(colour * shades[i], 0, 255)))
                for line, col in zip(polylines, colours, strict=True):
                    cv2.polylines(canvas, [line], False, col, width, cv2.LINE_8)
                cv2.polylines(coverage, polylines, False, 1, 1 if width == 1 else 2, cv2.LINE_8)

    canvas += rng.normal(0, noise_sd, canvas.shape).astype(np.float32)
    image = np.clip(canvas, 0, 255).astype(np.uint8)
    if jpeg_quality is not None:
        ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
        if ok:
            image = cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].copy()
    # Gaps of a pixel or two between neighbouring strands are part of the hair's texture, not scalp a
    # viewer sees: a scalp pixel counts as visible when no strand passes within 2 px of it.
    near_hair = cv2.dilate(coverage, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    scalp_visible = head & (near_hair == 0)
    return ScalpRender(
        image=image,
        view=view,
        head=head,
        bald=bald,
        scalp_visible=scalp_visible,
        head_center_rc=(float(center[0]), float(center[1])),
        head_semi_axes_px=(float(semi[0]), float(semi[1])),
        hairline_depth_fraction=hairline_depth_fraction if view == "front" else None,
        part_width_px=float(part_width_px) if view == "part" else None,
        params=params,
    )
