"""Shed-hair engine on photos from a second, independent renderer (not `trichotrack.synth`).

    .venv/bin/python bench/shedding_foreign.py [--n 40] [--seed 1] [--out-dir bench/out/foreign] [--reuse]
        [--declared] [--report bench/results/shedding_foreign.md]

The project's own benchmark (bench/shedding.py) draws its photos with the project's own generator. This one
draws them with a renderer written separately, without reading that generator, so that a shared blind spot
of generator and engine does not show as accuracy. Each photo (4000 × 3000 RGB, JPEG q80–95, decoded) is
one of three scenes, in the order a, b, a, b, c:

- a: dark hair (black, dark brown, brown, auburn) on plain white or off-white paper that fills most of the
  frame, 10–16 px/mm, the phone within 5° of square; the true scale at the image centre is given.
- b: the same hairs on the printed A4 calibration card (`card.render_card`, white field) seen by a pinhole
  camera tilted 0–15°, turned, the card filling 60–90 % of the frame, on a table; no scale is given.
- c: light hair (blonde, light blonde, white, silver) on the card's dark field (no scale given) or on dark
  paper (scale given), alternately.

Hairs: count log-uniform over 5–250, laid independently (they cross where they fall, no clumps), each wholly
inside the paper or the card's hair field. Centre line from a curvature process (a mean curvature plus
Gaussian-filtered white noise: straight, wavy or curly per person, varied per hair), lengths 60–300 mm (up to
500 for some people; 10–30 % short hairs of 5–30 mm), width 0.04–0.11 mm with a fine tip tapering over the
last 2–5 mm and a blunt club at the root. Drawn 4× supersampled in the photo (tapered quads, projected through
the camera), with per-hair colour and opacity, a specular stripe where the hair lies across the light, a soft
offset shadow. Then: light gradient and vignetting, lens blur (σ 0.4–1.0 px), signal-dependent sensor noise,
tone curve and colour cast, unsharp mask, JPEG. Truth: count, each hair's length on the paper, the share
under 30 mm, the scale, each centre line in photo pixels.

The engine runs as a user would (`measure_shedding_photo`, JPEG decode included in the time); the naive
baseline (Otsu, skeleton, endpoints / 2) runs on the same photos. Photos and truth are kept in --out-dir
(--reuse measures them again without rendering). Writes the report to --report and prints it.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]

SHAPE = (3000, 4000)  # rows, cols
SS = 4  # supersampling of the hair strokes
SHIFT = 4  # sub-pixel bits for cv2 drawing
DS_MM = 0.25  # centre-line step
SHORT_MM = 30.0
FOCAL_PX = 3100.0  # a phone's main camera at 4000 px wide (about 65° across)
CARD_PX_PER_MM = 24.0
MARGIN_PX = 40  # hairs stay this far inside the frame
GROUP_ORDER = ("a", "b", "a", "b", "c")
GROUP_NAMES = {
    "a": "a: dark hair, white paper, scale given",
    "b": "b: dark hair, card (white field)",
    "c-card": "c: light hair, card dark field",
    "c-paper": "c: light hair, dark paper, scale given",
}
# Albedo (0–1 RGB) of a hair shaft seen from above, the opacity range (thin hair lets light through), and the
# colour a user would declare (`shedding.HAIR_COLOURS`).
DARK_HAIR = {
    "black": ((0.055, 0.048, 0.045), (0.9, 1.0), "black"),
    "dark brown": ((0.12, 0.085, 0.065), (0.88, 1.0), "brown"),
    "brown": ((0.26, 0.18, 0.12), (0.85, 0.97), "brown"),
    "auburn": ((0.40, 0.19, 0.10), (0.85, 0.97), "red"),
}
LIGHT_HAIR = {
    "blonde": ((0.74, 0.60, 0.38), (0.8, 0.95), "blonde"),
    "light blonde": ((0.86, 0.78, 0.58), (0.75, 0.92), "blonde"),
    "white": ((0.92, 0.91, 0.88), (0.7, 0.9), "white"),
    "silver": ((0.74, 0.74, 0.74), (0.75, 0.92), "white"),
}
TABLES = {
    "wood": (0.55, 0.38, 0.22),
    "light wood": (0.72, 0.57, 0.40),
    "grey laminate": (0.46, 0.46, 0.47),
    "dark desk": (0.13, 0.12, 0.12),
    "white desk": (0.82, 0.82, 0.80),
}
WHITE_PAPERS = {"white": (0.93, 0.93, 0.94), "off-white": (0.92, 0.90, 0.84), "recycled": (0.86, 0.85, 0.82)}
DARK_PAPERS = {"black": (0.06, 0.06, 0.065), "navy": (0.07, 0.08, 0.15), "charcoal": (0.14, 0.14, 0.15)}
A4_MM = (297.0, 210.0)
#: One person's hairs are mostly of one kind; some are of a neighbouring kind (a straight-haired person does
#: not shed coils).
NEIGHBOUR_STYLES = {
    "straight": ["wavy"],
    "wavy": ["straight", "curly"],
    "curly": ["wavy"],
}  # plain paper laid landscape: width, height


# --- camera -------------------------------------------------------------------------------------------------


def camera(rot_deg, tilt_deg, tilt_axis_deg, z_mm, centre_mm, t_xy) -> np.ndarray:
    """Homography plane (x_mm, y_mm) -> photo (col, row) of a pinhole camera with square pixels and its
    principal point at the photo centre; the plane point `centre_mm` lies on the axis when t_xy = 0."""
    rz = cv2.Rodrigues(np.array([0.0, 0.0, math.radians(rot_deg)]))[0]
    a = math.radians(tilt_axis_deg)
    rt = cv2.Rodrigues(np.array([math.cos(a), math.sin(a), 0.0]) * math.radians(tilt_deg))[0]
    r = rt @ rz
    k = np.array([[FOCAL_PX, 0, (SHAPE[1] - 1) / 2], [0, FOCAL_PX, (SHAPE[0] - 1) / 2], [0, 0, 1]])
    m = k @ np.column_stack([r[:, 0], r[:, 1], [t_xy[0], t_xy[1], z_mm]])
    m = m @ np.array([[1, 0, -centre_mm[0]], [0, 1, -centre_mm[1]], [0, 0, 1]])
    return m / m[2, 2]


def project(h: np.ndarray, xy: np.ndarray) -> np.ndarray:
    p = np.c_[xy, np.ones(len(xy))] @ h.T
    return p[:, :2] / p[:, 2:3]


def mm_per_px_at(h: np.ndarray, col_row) -> float:
    """Scale on the plane at a photo point: square root of the local area ratio."""
    inv = np.linalg.inv(h)
    u = np.asarray(col_row, float)
    p = project(inv, np.array([u, u + np.array([1.0, 0.0]), u + np.array([0.0, 1.0])]))
    j = np.column_stack([p[1] - p[0], p[2] - p[0]])
    return float(math.sqrt(abs(np.linalg.det(j))))


def fit_camera(rng, plane_wh, fill, rot_deg, tilt_deg, tilt_axis_deg) -> np.ndarray:
    """A camera that shows the whole plane rectangle, its bounding box `fill` of the frame's limiting side,
    placed at random in the frame."""
    w, hgt = plane_wh
    corners = np.array([[0, 0], [w, 0], [w, hgt], [0, hgt]], float)
    centre = (w / 2, hgt / 2)
    z, t = 1000.0, np.zeros(2)
    target = None
    for _ in range(6):
        h = camera(rot_deg, tilt_deg, tilt_axis_deg, z, centre, t)
        c = project(h, corners)
        size = c.max(0) - c.min(0)
        occupied = max(size[0] / SHAPE[1], size[1] / SHAPE[0])
        z *= occupied / fill
        if target is None:
            slack = np.maximum(np.array([SHAPE[1], SHAPE[0]]) - size * fill / occupied, 0)
            target = np.array([SHAPE[1] / 2, SHAPE[0] / 2]) + rng.uniform(-0.45, 0.45, 2) * slack
        mid = (c.max(0) + c.min(0)) / 2
        t = t + (target - mid) * z / FOCAL_PX
    return camera(rot_deg, tilt_deg, tilt_axis_deg, z, centre, t)


# --- hairs --------------------------------------------------------------------------------------------------


def person(rng, group: str) -> dict:
    """What one person's shed hairs are like (one photo)."""
    style = rng.choice(["straight", "wavy", "curly"], p=[0.5, 0.33, 0.17])
    return {
        "style": str(style),
        "max_long_mm": float(rng.choice([150.0, 220.0, 300.0, 500.0], p=[0.25, 0.35, 0.3, 0.1])),
        "short_share": float(rng.uniform(0.1, 0.3)),
        "width_mm": float(rng.uniform(0.05, 0.09)),
        "count": round(math.exp(rng.uniform(math.log(5), math.log(250)))),
    }


def hair_path(rng, length_mm: float, style: str, wind: float = 1.0) -> np.ndarray:
    """Centre line (n, 2) in mm, every `DS_MM`, from the root (index 0) to the tip.

    Straight and wavy hair: a curvature process, a mean curvature plus Gaussian-filtered white noise. Curly
    hair is a coil: lying flat, a stretched helix is a trochoid (loops, or waves when stretched more)
    advancing along an axis that itself follows a gentle curvature process. `wind` > 1 bends it more (a hair
    that had to bend to lie in the field) or, for a coil, stretches it less.
    """
    n = max(round(length_mm / DS_MM) + 1, 3)
    if style == "curly":
        radius = rng.uniform(1.5, 6.0)
        pitch = 2 * math.pi * radius * rng.uniform(0.5, 1.8) / wind  # advance per turn along the axis
        turns_per_mm = 1 / (2 * math.pi * radius)  # (upper bound of the phase rate along the arc)
        m = int(length_mm * turns_per_mm * 2 * math.pi * 8) + 64
        phase = np.linspace(0, length_mm * turns_per_mm * 2 * math.pi * 1.3, m)
        jitter = gaussian_filter1d(rng.standard_normal(m), 8) * 3
        r = radius * (1 + 0.15 * jitter)
        along = pitch * phase / (2 * math.pi)
        local = np.c_[along + r * np.cos(phase), r * np.sin(phase) * rng.choice([-1, 1])]
        arc = np.r_[0, np.cumsum(np.linalg.norm(np.diff(local, axis=0), axis=1))]
        s = np.arange(n) * DS_MM
        s = s[s <= arc[-1]]
        local = np.c_[np.interp(s, arc, local[:, 0]), np.interp(s, arc, local[:, 1])]
        # bend the axis: rotate each point about the origin by a slowly varying angle of its axial position
        bend = rng.normal(0, 0.01) * wind
        angle = bend * local[:, 0] + rng.uniform(0, 2 * math.pi)
        ca, sa = np.cos(angle), np.sin(angle)
        x = local[:, 0]
        y = local[:, 1]
        axis = np.c_[np.cumsum(np.r_[0, np.diff(x)] * ca), np.cumsum(np.r_[0, np.diff(x)] * sa)]
        return axis + np.c_[-sa * y, ca * y]
    if style == "straight":
        k0, sig, corr = rng.normal(0, 0.004), rng.uniform(0.002, 0.012), rng.uniform(10, 40)
    else:
        k0, sig, corr = rng.normal(0, 0.012), rng.uniform(0.02, 0.06), rng.uniform(4, 12)
    sigma = corr / DS_MM
    pad = int(4 * sigma) + 1
    noise = gaussian_filter1d(rng.standard_normal(n + 2 * pad), sigma)[pad : pad + n]
    noise *= math.sqrt(2 * math.sqrt(math.pi) * sigma)  # unit variance (of the process, not of this sample)
    kappa = (k0 + sig * noise) * wind
    theta = np.cumsum(kappa * DS_MM) + rng.uniform(0, 2 * math.pi)
    xy = np.zeros((n, 2))
    xy[1:, 0] = np.cumsum(np.cos(theta[:-1]) * DS_MM)
    xy[1:, 1] = np.cumsum(np.sin(theta[:-1]) * DS_MM)
    return xy


def place(rng, path, inside, box) -> np.ndarray | None:
    """The path turned and moved at random so that every point is `inside`; None if no try fits."""
    x0, y0, x1, y1 = box
    for _ in range(40):
        a = rng.uniform(0, 2 * math.pi)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        p = path @ rot.T
        lo, hi = p.min(0), p.max(0)
        if hi[0] - lo[0] > x1 - x0 or hi[1] - lo[1] > y1 - y0:
            continue
        p = p + np.array([rng.uniform(x0 - lo[0], x1 - hi[0]), rng.uniform(y0 - lo[1], y1 - hi[1])])
        if inside(p):
            return p
    return None


def lay_hairs(rng, who: dict, inside, box) -> list[dict]:
    hairs = []
    for _ in range(who["count"]):
        short = rng.random() < who["short_share"]
        if short:
            length = rng.uniform(5.0, SHORT_MM)
        else:
            length = rng.uniform(60.0, who["max_long_mm"]) if rng.random() < 0.9 else rng.uniform(30, 60)
        style = who["style"] if rng.random() < 0.8 else str(rng.choice(NEIGHBOUR_STYLES[who["style"]]))
        placed, wind = None, 1.0
        for attempt in range(12):
            path = hair_path(rng, length, style, wind)
            placed = place(rng, path, inside, box)
            if placed is not None:
                break
            if attempt >= 3:  # it lies bent where it met the field's edge, or it does not fit at all: shorter
                length *= 0.85
            wind *= 1.4
        if placed is None:
            continue
        width = float(np.clip(who["width_mm"] * rng.uniform(0.8, 1.2), 0.04, 0.11))
        if short:
            width = float(np.clip(width * rng.uniform(0.7, 1.0), 0.04, 0.11))
        seg = np.linalg.norm(np.diff(placed, axis=0), axis=1)
        hairs.append(
            {
                "mm": placed,
                "length_mm": float(seg.sum()),
                "width_mm": width,
                "tip_mm": float(rng.uniform(2.0, 5.0)),
                "tapered": bool(not short or rng.random() < 0.5),  # broken short hairs: blunt both ends
            }
        )
    return hairs


def width_profile(hair: dict, n: int) -> np.ndarray:
    s = np.arange(n) * DS_MM
    total = s[-1]
    w = np.full(n, hair["width_mm"])
    if hair["tapered"]:
        tip = min(hair["tip_mm"], 0.5 * total)
        from_tip = total - s
        w *= np.clip(0.08 + 0.92 * from_tip / tip, 0.08, 1.0)
    w *= 1 + 0.05 * np.sin(s / 7.0 + hair["width_mm"] * 1000)
    return w


# --- drawing ------------------------------------------------------------------------------------------------


def draw_hair(img, cover, pts, w_px, colour, opacity, spec, light_deg):
    """Composite one hair (photo px centre line `pts`, widths `w_px`) onto the albedo `img`."""
    n = len(pts)
    t = np.gradient(pts, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True) + 1e-9
    nrm = np.c_[-t[:, 1], t[:, 0]]
    left, right = pts + nrm * w_px[:, None] / 2, pts - nrm * w_px[:, None] / 2
    if spec > 0:
        off = pts + nrm * (0.15 * w_px)[:, None]
        ws = 0.35 * w_px
        sl, sr = off + nrm * ws[:, None] / 2, off - nrm * ws[:, None] / 2
        across = np.abs(np.sin(np.arctan2(t[:, 1], t[:, 0]) - math.radians(light_deg))) ** 3
        spec_val = np.clip(255 * spec * across, 0, 255)
        spec_colour = np.asarray(colour) + 0.55 * (1 - np.asarray(colour))
    chunk = 120
    scale = SS * (1 << SHIFT)
    for start in range(0, n - 1, chunk):
        end = min(start + chunk, n - 1)
        seg = slice(start, end + 1)
        box_pts = np.r_[left[seg], right[seg]]
        x0, y0 = np.floor(box_pts.min(0)).astype(int) - 3
        x1, y1 = np.ceil(box_pts.max(0)).astype(int) + 4
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, SHAPE[1]), min(y1, SHAPE[0])
        if x1 <= x0 or y1 <= y0:
            continue
        origin = np.array([x0, y0], float)

        def ss(p, origin=origin):
            return np.round(((p - origin + 0.5) * SS - 0.5) * (1 << SHIFT)).astype(np.int32)

        quads = np.stack(
            [
                ss(left[start:end]),
                ss(left[start + 1 : end + 1]),
                ss(right[start + 1 : end + 1]),
                ss(right[start:end]),
            ],
            axis=1,
        )
        mask = np.zeros(((y1 - y0) * SS, (x1 - x0) * SS), np.uint8)
        for q in quads:
            cv2.fillConvexPoly(mask, q, 255, cv2.LINE_8, SHIFT)
        if start == 0:  # the club: a blunt, slightly swollen root end
            c = ss(pts[:1])[0]
            cv2.circle(mask, (int(c[0]), int(c[1])), round(0.6 * w_px[0] * scale), 255, -1, cv2.LINE_8, SHIFT)
        a = cv2.resize(mask, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        region = img[y0:y1, x0:x1]
        alpha = (a * opacity)[..., None]
        region *= 1 - alpha
        region += alpha * np.asarray(colour, np.float32)
        np.maximum(cover[y0:y1, x0:x1], a, out=cover[y0:y1, x0:x1])
        if spec > 0:
            squads = np.stack(
                [
                    ss(sl[start:end]),
                    ss(sl[start + 1 : end + 1]),
                    ss(sr[start + 1 : end + 1]),
                    ss(sr[start:end]),
                ],
                axis=1,
            )
            smask = np.zeros_like(mask)
            for q, v in zip(squads, spec_val[start:end], strict=True):
                if v >= 8:
                    cv2.fillConvexPoly(smask, q, int(v), cv2.LINE_8, SHIFT)
            if smask.any():
                s = (
                    cv2.resize(smask, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA).astype(np.float32)
                    / 255
                )
                s = (s * opacity)[..., None]
                region *= 1 - s
                region += s * spec_colour.astype(np.float32)


def smooth_noise(rng, shape, cells, aspect=1.0) -> np.ndarray:
    """Low-frequency noise (mean 0, std about 1) on `shape`, `cells` features across, stretched by
    `aspect`."""
    small = rng.standard_normal((max(int(cells / aspect), 2) + 2, cells + 2)).astype(np.float32)
    big = cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return big / (big.std() + 1e-6)


def white_noise(rng, shape) -> np.ndarray:
    """Standard normal float32 noise (OpenCV's generator seeded from `rng`: fast and reproducible)."""
    cv2.setRNGSeed(int(rng.integers(2**31 - 1)))
    out = np.empty(shape, np.float32)
    cv2.randn(out, 0.0, 1.0)
    return out


_CARD_CACHE: dict[str, np.ndarray] = {}


def card_texture(field: str) -> np.ndarray:
    if field not in _CARD_CACHE:
        from trichotrack.measure.card import card_layout, render_card

        page = render_card(card_layout("a4"), px_per_mm=CARD_PX_PER_MM, field=field)
        _CARD_CACHE[field] = cv2.GaussianBlur(page, (0, 0), 1.0)  # the print's own softness, anti-aliasing
    return _CARD_CACHE[field]


def render(index: int, seed: int) -> tuple[np.ndarray, dict]:
    """One photo (RGB uint8, after JPEG) and its truth."""
    from trichotrack.measure.card import card_layout

    rng = np.random.default_rng([seed, index])
    group = GROUP_ORDER[index % len(GROUP_ORDER)]
    if group == "c":
        group = "c-card" if (index // len(GROUP_ORDER)) % 2 == 0 else "c-paper"
    on_card = group in ("b", "c-card")
    light_hair = group.startswith("c")
    palette = LIGHT_HAIR if light_hair else DARK_HAIR
    colour_name = str(rng.choice(list(palette)))
    base, (op_lo, op_hi), declared = palette[colour_name]
    who = person(rng, group)
    table_name = str(rng.choice(list(TABLES)))
    rows, cols = SHAPE

    if on_card:
        layout = card_layout("a4")
        plane_wh = (layout.width_mm, layout.height_mm)
        rot = float(rng.choice([90.0, 270.0, 0.0, 180.0], p=[0.35, 0.35, 0.15, 0.15]) + rng.uniform(-15, 15))
        tilt = float(rng.uniform(0, 15))
        h = fit_camera(rng, plane_wh, rng.uniform(0.6, 0.9), rot, tilt, rng.uniform(0, 360))
        top, left_mm, bottom, right_mm = layout.hair_area_mm
        box = (left_mm + 2.0, top + 2.0, right_mm - 2.0, bottom - 2.0)
        paper_rgb = np.array(WHITE_PAPERS[str(rng.choice(["white", "off-white"], p=[0.7, 0.3]))], np.float32)
        paper_name = "card " + ("dark field" if light_hair else "white field")
    else:
        plane_wh = A4_MM
        rot = float(rng.uniform(-8, 8) + rng.choice([0.0, 180.0]))
        tilt = float(rng.uniform(0, 5))
        px_per_mm = rng.uniform(10, 16)
        z = FOCAL_PX / px_per_mm
        shift = rng.uniform(-8, 8, 2)
        h = camera(
            rot,
            tilt,
            rng.uniform(0, 360),
            z,
            (plane_wh[0] / 2 + shift[0], plane_wh[1] / 2 + shift[1]),
            (0, 0),
        )
        box = (5.0, 5.0, plane_wh[0] - 5.0, plane_wh[1] - 5.0)
        papers = DARK_PAPERS if light_hair else WHITE_PAPERS
        paper_name = str(rng.choice(list(papers)))
        paper_rgb = np.array(papers[paper_name], np.float32)
        paper_name += " paper"

    def inside(p):
        if (
            not ((p[:, 0] >= box[0]).all() and (p[:, 0] <= box[2]).all() and (p[:, 1] >= box[1]).all())
            or not (p[:, 1] <= box[3]).all()
        ):
            return False
        q = project(h, p)
        return bool(
            (q[:, 0] >= MARGIN_PX).all()
            and (q[:, 0] <= cols - 1 - MARGIN_PX).all()
            and (q[:, 1] >= MARGIN_PX).all()
            and (q[:, 1] <= rows - 1 - MARGIN_PX).all()
        )

    hairs = lay_hairs(rng, who, inside, box)

    # --- background albedo: table, then the paper or the card.
    table = np.array(TABLES[table_name], np.float32)
    grain = (
        smooth_noise(rng, SHAPE, 300, aspect=12.0) if "wood" in table_name else smooth_noise(rng, SHAPE, 40)
    )
    img = table[None, None, :] * (1 + 0.05 * grain[..., None])
    corners = np.array([[0, 0], [plane_wh[0], 0], [plane_wh[0], plane_wh[1]], [0, plane_wh[1]]])
    if on_card:
        s = np.array(
            [
                [1 / CARD_PX_PER_MM, 0, 0.5 / CARD_PX_PER_MM],
                [0, 1 / CARD_PX_PER_MM, 0.5 / CARD_PX_PER_MM],
                [0, 0, 1],
            ]
        )
        tex = card_texture("dark" if light_hair else "white")
        shade = cv2.warpPerspective(tex, h @ s, (cols, rows), flags=cv2.INTER_LINEAR, borderValue=255)
        surface = paper_rgb[None, None, :] * (shade.astype(np.float32)[..., None] / 255)
    else:
        surface = np.broadcast_to(paper_rgb, (rows, cols, 3))
    sheet = np.zeros(SHAPE, np.uint8)
    cv2.fillConvexPoly(sheet, np.round(project(h, corners) * 16).astype(np.int32), 255, cv2.LINE_AA, 4)
    m = (sheet.astype(np.float32) / 255)[..., None]
    img = img * (1 - m) + surface * m
    # paper texture: fine fibres and mottling, low contrast
    fibre_sigma = rng.uniform(0.6, 1.2)
    fibre = cv2.GaussianBlur(white_noise(rng, SHAPE), (0, 0), fibre_sigma) * (
        2 * math.sqrt(math.pi) * fibre_sigma
    )
    mottle = smooth_noise(rng, SHAPE, 60)
    texture = rng.uniform(0.004, 0.012) * fibre + rng.uniform(0.005, 0.015) * mottle
    texture *= m[..., 0]
    texture += 1
    img = np.ascontiguousarray(img, np.float32)
    img *= texture[..., None]
    del texture, fibre, mottle

    # --- hairs.
    cover = np.zeros(SHAPE, np.float32)
    light_deg = float(rng.uniform(0, 360))
    glossy = rng.uniform(0.2, 0.7)
    truth_lines = []
    for hair in hairs:
        pts = project(h, hair["mm"])
        seg_px = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        px_per_mm_local = float(seg_px.sum() / max(hair["length_mm"], 1e-6))
        w_px = width_profile(hair, len(pts)) * px_per_mm_local
        tint = rng.uniform(0.85, 1.15) * np.array(base) * (1 + rng.normal(0, 0.04, 3))
        colour = np.clip(tint, 0.01, 0.97)
        opacity = rng.uniform(op_lo, op_hi)
        spec = glossy * rng.uniform(0.5, 1.0) if rng.random() < 0.6 else 0.0
        draw_hair(img, cover, pts, w_px, colour, opacity, spec, light_deg)
        truth_lines.append(pts[::2].round(1).tolist())
    if rng.random() < 0.7:  # soft shadows, offset away from the light
        off_mm = rng.uniform(0.1, 0.3)
        ppm = 1 / mm_per_px_at(h, (cols / 2, rows / 2))
        dx = round(-math.cos(math.radians(light_deg)) * off_mm * ppm)
        dy = round(-math.sin(math.radians(light_deg)) * off_mm * ppm)
        shadow = np.zeros_like(cover)
        ys, yd = (
            (slice(0, rows - dy), slice(dy, rows)) if dy >= 0 else (slice(-dy, rows), slice(0, rows + dy))
        )
        xs, xd = (
            (slice(0, cols - dx), slice(dx, cols)) if dx >= 0 else (slice(-dx, cols), slice(0, cols + dx))
        )
        shadow[yd, xd] = cover[ys, xs]
        shadow = cv2.GaussianBlur(shadow, (0, 0), max(0.2 * ppm, 1.0))
        img *= (1 - rng.uniform(0.1, 0.3) * shadow * (1 - cover))[..., None]
    del cover

    # --- light, optics, sensor, phone processing.
    xx = ((np.arange(cols, dtype=np.float32) - cols / 2) / (cols / 2))[None, :]
    yy = ((np.arange(rows, dtype=np.float32) - rows / 2) / (cols / 2))[:, None]
    g_deg = math.radians(rng.uniform(0, 360))
    grad = rng.uniform(0.1, 0.3)
    illum = 1 + grad / 2 * (math.cos(g_deg) * xx + math.sin(g_deg) * yy) / 1.25
    illum *= 1 - rng.uniform(0.1, 0.25) * (xx**2 + yy**2) / 1.5625
    del xx, yy
    exposure = rng.uniform(1.2, 1.8) if group == "c-paper" else rng.uniform(0.88, 1.0)
    img *= (illum * exposure)[..., None]
    del illum
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.0))
    noise = (
        cv2.GaussianBlur(white_noise(rng, img.shape), (0, 0), 0.5) * 1.9
    )  # demosaicing correlates neighbours
    sd = np.maximum(img, 0)
    sd *= rng.uniform(0.8e-4, 2.0e-4)
    sd += 4e-6
    np.sqrt(sd, out=sd)
    noise *= sd
    img += noise
    del noise, sd
    knee = 0.72  # the tone curve's shoulder: highlights roll off instead of clipping
    excess = np.maximum(img - knee, 0)
    img -= excess
    excess *= -1 / (1 - knee)
    img += (1 - knee) * (1 - cv2.exp(excess))
    del excess
    cast = np.array([1.0, 1.0, 1.0], np.float32) + rng.uniform(-0.03, 0.03, 3).astype(np.float32)
    img *= cast / cast.max()
    sharp = rng.uniform(0.3, 0.8)
    img = cv2.addWeighted(img, 1 + sharp, cv2.GaussianBlur(img, (0, 0), rng.uniform(1.2, 2.2)), -sharp, 0)
    photo = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    del img
    quality = int(rng.integers(80, 96))
    ok, jpeg = cv2.imencode(
        ".jpg", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    assert ok

    if on_card:
        centre_px = project(h, np.array([[plane_wh[0] / 2, plane_wh[1] / 2]]))[0]
        true_scale = mm_per_px_at(h, centre_px)
    else:
        true_scale = mm_per_px_at(h, ((cols - 1) / 2, (rows - 1) / 2))
    lengths = [hr["length_mm"] for hr in hairs]
    truth = {
        "index": index,
        "group": group,
        "colour": colour_name,
        "declared": declared,
        "surface": paper_name,
        "table": table_name,
        "style": who["style"],
        "count": len(hairs),
        "lengths_mm": [round(v, 2) for v in lengths],
        "short_fraction": float(np.mean([v < SHORT_MM for v in lengths])) if lengths else None,
        "mm_per_px": true_scale,
        "given_mm_per_px": None if on_card else true_scale,
        "plane_to_photo": h.tolist(),
        "tilt_deg": tilt,
        "rot_deg": rot,
        "jpeg_quality": quality,
        "centerlines_xy": truth_lines,
    }
    return jpeg.tobytes(), truth


# --- measuring ----------------------------------------------------------------------------------------------


def decode(jpeg: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def naive_count(image: np.ndarray) -> int:
    """The textbook approach: Otsu threshold, skeleton, count endpoints / 2."""
    from skimage.morphology import skeletonize

    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    _, dark = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if dark.mean() > 127:  # hairs lighter than the background
        dark = 255 - dark
    skeleton = skeletonize(dark > 0).astype(np.uint8)
    neighbours = cv2.filter2D(skeleton, -1, np.ones((3, 3), np.float32), borderType=cv2.BORDER_CONSTANT)
    return int(np.count_nonzero((skeleton == 1) & (neighbours == 2))) // 2


def match_lengths(truth: dict, measured) -> list[tuple[float, float]]:
    """(true mm, reported mm) for each true hair traced whole by one reported hair: at least 90 % of the
    true centre line within reach of that hair and at least 90 % of that hair within reach of the true one."""
    hairs = [hr for hr in measured.result.hairs if hr.length_mm is not None and len(hr.centerline_rc) > 1]
    if not hairs or not truth["centerlines_xy"]:
        return []
    to_analysed = np.asarray(measured.analysed_px_from_image_px, float)
    pts, ids = [], []
    for i, hr in enumerate(hairs):
        xy = hr.centerline_rc[:, ::-1]
        pts.append(xy)
        ids.append(np.full(len(xy), i))
    pts, ids = np.concatenate(pts), np.concatenate(ids)
    tree = cKDTree(pts)
    scale = measured.result.mm_per_px or truth["mm_per_px"]
    reach = max(3.0, 0.3 / scale)
    out = []
    for line, true_mm in zip(truth["centerlines_xy"], truth["lengths_mm"], strict=True):
        xy = np.asarray(line, float)
        if len(xy) < 2:
            continue
        xy = project(to_analysed, xy)
        near = tree.query_ball_point(xy, reach)
        votes: dict[int, int] = {}
        for hits in near:
            for j in {int(ids[k]) for k in hits}:
                votes[j] = votes.get(j, 0) + 1
        if not votes:
            continue
        best = max(votes, key=votes.get)
        if votes[best] < 0.9 * len(xy):
            continue
        # densify the true line for the reverse check
        seg = np.linalg.norm(np.diff(xy, axis=0), axis=1)
        steps = np.maximum(np.ceil(seg / 1.0).astype(int), 1)
        dense = np.concatenate(
            [xy[i] + np.outer(np.arange(k) / k, xy[i + 1] - xy[i]) for i, k in enumerate(steps)] + [xy[-1:]]
        )
        d, _ = cKDTree(dense).query(hairs[best].centerline_rc[:, ::-1])
        if np.mean(d <= reach) >= 0.9:
            out.append((true_mm, float(hairs[best].length_mm)))
    return out


def card_scale_error(truth: dict, measured) -> tuple[float | None, float | None]:
    """The card's scale against the truth at the card centre (relative), and the mean distance (mm) between
    where the engine's homography and the true one put the photo points over the hair field."""
    det = measured.card
    if det is None or not det.found or det.mm_per_px is None:
        return None, None
    rel = det.mm_per_px / truth["mm_per_px"] - 1
    h = np.asarray(truth["plane_to_photo"])
    gx, gy = np.meshgrid(np.linspace(35, 175, 8), np.linspace(35, 240, 10))
    field = np.c_[gx.ravel(), gy.ravel()]
    back = project(np.asarray(det.card_mm_from_image_px), project(h, field))
    return rel, float(np.linalg.norm(back - field, axis=1).mean())


def measure(jpeg: bytes, truth: dict, declared: bool) -> dict:
    from trichotrack.measure.photo import measure_shedding_photo

    started = time.perf_counter()
    image = decode(jpeg)
    measured = measure_shedding_photo(
        image, mm_per_px=truth["given_mm_per_px"], hair_colour=truth["declared"] if declared else None
    )
    seconds = time.perf_counter() - started
    r = measured.result
    rel, field_err = card_scale_error(truth, measured) if truth["given_mm_per_px"] is None else (None, None)
    lengths = [hr.length_mm for hr in r.hairs if hr.length_mm is not None]
    return {
        "count": r.hair_count,
        "low": r.count_low,
        "high": r.count_high,
        "countable": r.countable,
        "problems": list(measured.problems),
        "scale_source": measured.scale_source,
        "card_field": measured.card_field,
        "short_fraction": r.short_hair_fraction,
        "mm_per_px": r.mm_per_px,
        "card_scale_rel": rel,
        "card_field_err_mm": field_err,
        "matched": match_lengths(truth, measured),
        "median_reported_mm": float(np.median(lengths)) if lengths else None,
        "seconds": seconds,
    }


# --- report -------------------------------------------------------------------------------------------------


def _shown(path: Path) -> str:
    """`path` relative to the repository where it lies inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def q(values, p):
    return float(np.quantile(values, p)) if len(values) else float("nan")


def pct(v) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.0f} %"


def summary_rows(records: list[dict], key: str) -> list[str]:
    groups = [*GROUP_NAMES, "all"]
    lines = [
        "| group | photos | count error median / p90 | interval holds truth | countable | error if countable "
        "median / p90 | short-fraction abs error median (n) | card scale error median / max (field mm) | "
        "hairs traced whole: all; < 30 mm | length error of those median abs / median signed | "
        "median length reported / true mm | s per photo median / max | naive count error median / p90 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for g in groups:
        rs = [r for r in records if g == "all" or r["truth"]["group"] == g]
        if not rs:
            continue
        err = [abs(r[key]["count"] - r["truth"]["count"]) / r["truth"]["count"] for r in rs]
        inside = [r[key]["low"] <= r["truth"]["count"] <= r[key]["high"] for r in rs]
        cnt = [r for r in rs if r[key]["countable"]]
        err_c = [abs(r[key]["count"] - r["truth"]["count"]) / r["truth"]["count"] for r in cnt]
        sf = [
            abs(r[key]["short_fraction"] - r["truth"]["short_fraction"])
            for r in rs
            if r[key]["short_fraction"] is not None and r["truth"]["short_fraction"] is not None
        ]
        cs = [abs(r[key]["card_scale_rel"]) for r in rs if r[key]["card_scale_rel"] is not None]
        cf = [r[key]["card_field_err_mm"] for r in rs if r[key]["card_field_err_mm"] is not None]
        matched = [m for r in rs for m in r[key]["matched"]]
        n_true = sum(r["truth"]["count"] for r in rs)
        n_short = sum(v < SHORT_MM for r in rs for v in r["truth"]["lengths_mm"])
        short_matched = sum(tr < SHORT_MM for tr, _ in matched)
        rel = [rep / tr - 1 for tr, rep in matched]
        med_rep = [r[key]["median_reported_mm"] for r in rs if r[key]["median_reported_mm"] is not None]
        med_true = [float(np.median(r["truth"]["lengths_mm"])) for r in rs if r["truth"]["lengths_mm"]]
        lengths_cell = (
            f"{statistics.median(med_rep):.0f} / {statistics.median(med_true):.0f}" if med_rep else "–"
        )
        secs = [r[key]["seconds"] for r in rs]
        nv = [abs(r["naive"] - r["truth"]["count"]) / r["truth"]["count"] for r in rs]
        card_cell = (
            f"{100 * q(cs, 0.5):.2f} % / {100 * max(cs):.2f} % ({statistics.median(cf):.3f})" if cs else "–"
        )
        cnt_cell = f"{pct(q(err_c, 0.5))} / {pct(q(err_c, 0.9))}" if err_c else "–"
        lines.append(
            f"| {GROUP_NAMES.get(g, g)} | {len(rs)} | {pct(q(err, 0.5))} / {pct(q(err, 0.9))} | "
            f"{pct(float(np.mean(inside)))} | {len(cnt)}/{len(rs)} | {cnt_cell} | "
            f"{(f'{100 * q(sf, 0.5):.1f} pts ({len(sf)})') if sf else '– (0)'} | {card_cell} | "
            f"{len(matched)}/{n_true}; {short_matched}/{n_short} | "
            f"{(f'{100 * q(np.abs(rel), 0.5):.1f} % / {100 * q(rel, 0.5):+.1f} %') if rel else '–'} | "
            f"{lengths_cell} | "
            f"{statistics.median(secs):.2f} / {max(secs):.2f} | {pct(q(nv, 0.5))} / {pct(q(nv, 0.9))} |"
        )
    return lines


def short(problems: list[str]) -> str:
    return "; ".join(p[:70].replace("|", "/") + ("…" if len(p) > 70 else "") for p in problems) or "–"


def main() -> None:
    from shedding import load_average, machine  # (bench/shedding.py, beside this file)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench/out/foreign")
    parser.add_argument("--reuse", action="store_true", help="measure the photos already in --out-dir")
    parser.add_argument(
        "--declared", action="store_true", help="also run the engine with the colour declared"
    )
    parser.add_argument("--report", type=Path, default=ROOT / "bench/results/shedding_foreign.md")
    args = parser.parse_args()
    command = " ".join(["python bench/shedding_foreign.py", *sys.argv[1:]])
    started_at = datetime.now(UTC)
    load_start = load_average()
    t_start = time.perf_counter()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    from trichotrack.measure.shedding import VERSION

    records = []
    render_s = []
    for i in range(args.n):
        jpg_path, truth_path = args.out_dir / f"{i:03d}.jpg", args.out_dir / f"{i:03d}.json"
        if args.reuse and jpg_path.exists() and truth_path.exists():
            jpeg, truth = jpg_path.read_bytes(), json.loads(truth_path.read_text())
        else:
            t0 = time.perf_counter()
            jpeg, truth = render(i, args.seed)
            render_s.append(time.perf_counter() - t0)
            jpg_path.write_bytes(jpeg)
            truth_path.write_text(json.dumps(truth))
        rec = {"truth": truth, "engine": measure(jpeg, truth, declared=False)}
        if args.declared:
            rec["declared"] = measure(jpeg, truth, declared=True)
        t0 = time.perf_counter()
        rec["naive"] = naive_count(decode(jpeg))
        rec["naive_s"] = time.perf_counter() - t0
        records.append(rec)
        e = rec["engine"]
        print(
            f"{i:03d} {truth['group']:7s} {truth['colour']:12s} true {truth['count']:3d} "
            f"engine {e['count']:3d} [{e['low']}-{e['high']}] countable={e['countable']} "
            f"naive {rec['naive']} {e['seconds']:.2f}s matched {len(e['matched'])}",
            file=sys.stderr,
            flush=True,
        )
    total_s = time.perf_counter() - t_start
    (args.out_dir / "results.json").write_text(
        json.dumps(
            [{k: v for k, v in r.items() if k != "truth"} | {"index": r["truth"]["index"]} for r in records]
        )
    )

    lines = [
        "# Shed hair on photos from an independent renderer",
        "",
        f"- Date: {started_at:%Y-%m-%d %H:%M} UTC; engine `trichotrack.shedding` {VERSION}",
        f"- Machine: {machine()}; load average {load_start} at the start, {load_average()} at the end",
        f"- Command: `{command}`",
        f"- Photos: {args.n}, seed {args.seed}, kept in {_shown(args.out_dir)} (JPEG + truth JSON); "
        f"whole run {total_s:.0f} s"
        + (f", rendering {statistics.median(render_s):.1f} s a photo (median)" if render_s else ""),
        "",
        "The renderer is bench/shedding_foreign.py's own (see its docstring); it was written without reading "
        "`trichotrack.synth` or bench/shedding.py's generator. Count error is |count − true| / true. Seconds "
        "are the engine's call with the JPEG decode. Hairs traced whole: true hairs for which one reported "
        "hair "
        "covers ≥ 90 % of the true centre line and lies ≥ 90 % along it; their length error is reported / "
        "true − 1 (true: length on the paper; scene a's tilt of up to 5° alone makes about ±1 %).",
        "",
        "## Engine, colour not declared",
        "",
        *summary_rows(records, "engine"),
    ]
    if args.declared:
        lines += ["", "## Engine, colour declared", "", *summary_rows(records, "declared")]
    lines += [
        "",
        "## Per photo",
        "",
        "| # | group | colour | surface | style | true | engine [interval] | countable | "
        "short true / engine | "
        "card scale err | naive | s | problems |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        t, e = r["truth"], r["engine"]
        sf_e = "–" if e["short_fraction"] is None else f"{e['short_fraction']:.2f}"
        sf_t = "–" if t["short_fraction"] is None else f"{t['short_fraction']:.2f}"
        cs = "–" if e["card_scale_rel"] is None else f"{100 * e['card_scale_rel']:+.2f} %"
        if t["given_mm_per_px"] is None and e["scale_source"] != "card":
            cs = "no card"
        lines.append(
            f"| {t['index']:03d} | {t['group']} | {t['colour']} | {t['surface']} | {t['style']} | "
            f"{t['count']} | {e['count']} [{e['low']}–{e['high']}] | {'yes' if e['countable'] else 'no'} | "
            f"{sf_t} / {sf_e} | "
            f"{cs} | {r['naive']} | {e['seconds']:.2f} | {short(e['problems'])} |"
        )
    text = "\n".join(lines) + "\n"
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
