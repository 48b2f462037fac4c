"""Synthetic trichoscopy images (a 70x video dermatoscope on the scalp) with exact ground truth.

A field of skin a few millimetres across with hair shafts leaving it in follicular units of one to
three hairs. Every hair is a straight (clipped) or gently curved (unclipped) shaft of known width in µm
drawn by exact area coverage (the distance of each pixel centre to the centre line), with a blue-grey
halo around its follicle opening, on procedural skin. Optional: air bubbles and glare from the contact
fluid, a burned-in text header, defocus blur.

The truth is exact: every hair lies entirely inside the field (none is cut by the frame), so the count
is the number of hairs drawn; each hair's width in µm, centre line in pixels and follicular unit are
recorded. ``trichoscopy_image(**image.params)`` regenerates an image.

Not modelled: hairs cut by the frame, hairs crossing each other outside a follicular unit, dandruff,
pigment network, pen marks and device overlays other than the header.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np

SKIN_RGB = {
    "fair": (222, 200, 188),
    "medium": (196, 158, 128),
    "dark": (122, 88, 68),
}
HAIR_RGB = {
    "black": (28, 22, 20),
    "brown": (80, 55, 38),
    "blond": (150, 118, 80),
    "white": (245, 243, 238),
}
HALO_RGB = (110, 122, 150)


@dataclass(frozen=True)
class SynthHair:
    """One drawn hair.

    Attributes
    ----------
    centerline_rc : (K, 2) ndarray of float
        From the follicle opening to the tip, image pixels (rows, columns).
    width_um, width_px : float
    length_px : float
    unit : int
        Index of its follicular unit.
    """

    centerline_rc: np.ndarray
    width_um: float
    width_px: float
    length_px: float
    unit: int


@dataclass(frozen=True)
class TrichoscopyImage:
    """A synthetic image and its truth.

    Attributes
    ----------
    image : (M, N, 3) ndarray of uint8
    hairs : tuple of SynthHair
    hair_count : int
    unit_sizes : dict
        Follicular units with ``"1"``, ``"2"`` and ``"3+"`` hairs.
    mm_per_px : float
    field_mm2 : float
        Area of the whole image on the scalp.
    density_per_cm2 : float
        ``hair_count`` per cm² of the whole image.
    thin_hair_fraction, vellus_fraction : float or None
        Share of hairs narrower than 30 µm and at most 40 µm (None without hairs).
    header_rows : int
        Rows covered by the burned-in text header (0 without one).
    params : dict
        The arguments that regenerate this image.
    footer_rows : int
        Rows covered by the burned-in footer strip (0 without one).
    label_box : tuple of int or None
        ``(top, bottom, left, right)`` of the burned-in scale label box, or None.
    """

    image: np.ndarray
    hairs: tuple[SynthHair, ...]
    hair_count: int
    unit_sizes: dict
    mm_per_px: float
    field_mm2: float
    density_per_cm2: float
    thin_hair_fraction: float | None
    vellus_fraction: float | None
    header_rows: int
    params: dict = field(default_factory=dict)
    footer_rows: int = 0
    label_box: tuple[int, int, int, int] | None = None


def trichoscopy_image(
    seed: int,
    *,
    shape: tuple[int, int] = (1024, 1280),
    mm_per_px: float = 0.0028,
    n_units: int = 8,
    unit_weights: tuple[float, float, float] = (0.5, 0.35, 0.15),
    width_um: tuple[float, float] = (45.0, 85.0),
    vellus_share: float = 0.0,
    length_mm: tuple[float, float] | None = None,
    clipped: bool = True,
    skin: str = "fair",
    hair: str = "black",
    bubbles: int = 0,
    glare: int = 0,
    header: bool = False,
    overlays: bool = False,
    blur_px: float = 1.0,
    noise: float = 2.0,
) -> TrichoscopyImage:
    """Make a synthetic trichoscopy image with exact truth.

    Parameters
    ----------
    seed : int
    shape : (2,) tuple of int
        Rows and columns.
    mm_per_px : float
        Scale (0.0028 mm/px: a 3.6 mm wide field at 1280 px, as in 70x dermatoscope images whose burned-in
        scale bar reads 1.0 mm over about 360 px).
    n_units : int
        Follicular units to place (fewer when the field is too crowded to place them apart).
    unit_weights : (3,) tuple of float
        Relative frequency of units of 1, 2 and 3 hairs.
    width_um : (2,) tuple of float
        Range of terminal hair widths.
    vellus_share : float
        Share of hairs drawn as vellus hairs (20–35 µm wide, paler, shorter).
    length_mm : (2,) tuple of float, optional
        Range of visible shaft lengths; default 0.35–0.9 mm clipped, 1.2–2.5 mm unclipped.
    clipped : bool
        Short straight shafts (hair clipped for a phototrichogram) or longer, gently curved ones.
    skin : {"fair", "medium", "dark"}
    hair : {"black", "brown", "blond", "white"}
    bubbles, glare : int
        Air bubbles and glare spots from the contact fluid.
    header : bool
        Burn a grey text header into the top rows, as some devices do.
    overlays : bool
        Burn in what other 70x devices add: a uniform light grey strip across the bottom rows, an
        L-shaped one-pixel scale bar and a "1.0 mm" label in white on a dark grey box. Hairs are placed
        clear of the strip and the label (truth stays exact); the scale bar may cross them.
    blur_px, noise : float
        Gaussian blur (pixels) and noise (grey levels).

    Returns
    -------
    TrichoscopyImage
    """
    if skin not in SKIN_RGB:
        raise ValueError(f"skin must be one of {sorted(SKIN_RGB)}, got {skin!r}")
    if hair not in HAIR_RGB:
        raise ValueError(f"hair must be one of {sorted(HAIR_RGB)}, got {hair!r}")
    rows, cols = (int(v) for v in shape)
    if rows < 64 or cols < 64:
        raise ValueError(f"shape must be at least 64 × 64, got {shape}")
    if not mm_per_px > 0:
        raise ValueError(f"mm_per_px must be positive, got {mm_per_px}")
    if n_units < 0:
        raise ValueError(f"n_units must be ≥ 0, got {n_units}")
    if not 0 <= vellus_share <= 1:
        raise ValueError(f"vellus_share must be in [0, 1], got {vellus_share}")
    params = {
        "seed": seed,
        "shape": (rows, cols),
        "mm_per_px": mm_per_px,
        "n_units": n_units,
        "unit_weights": tuple(unit_weights),
        "width_um": tuple(width_um),
        "vellus_share": vellus_share,
        "length_mm": None if length_mm is None else tuple(length_mm),
        "clipped": clipped,
        "skin": skin,
        "hair": hair,
        "bubbles": bubbles,
        "glare": glare,
        "header": header,
        "overlays": overlays,
        "blur_px": blur_px,
        "noise": noise,
    }
    rng = np.random.default_rng(seed)
    if length_mm is None:
        length_mm = (0.35, 0.9) if clipped else (1.2, 2.5)
    header_rows = max(24, rows // 24) if header else 0
    footer_rows = max(12, rows // 32) if overlays else 0
    label_box = _label_box(rows, cols) if overlays else None

    canvas = _skin(rng, rows, cols, SKIN_RGB[skin])
    direction = rng.uniform(0, 2 * np.pi)  # hairs in one patch of scalp point the same way
    weights = np.asarray(unit_weights, float) / np.sum(unit_weights)
    hairs: list[SynthHair] = []
    roots: list[np.ndarray] = []  # the centre-line points of the units placed so far
    unit_sizes = {"1": 0, "2": 0, "3+": 0}
    margin = 12.0
    top_limit = header_rows + margin
    for _ in range(n_units):
        placed = None
        for _attempt in range(200):
            size = int(rng.choice([1, 2, 3], p=weights))
            root = np.array([rng.uniform(top_limit, rows - margin), rng.uniform(margin, cols - margin)])
            shafts = []
            spread = np.deg2rad(rng.uniform(9, 18))
            base = direction + np.deg2rad(rng.normal(0, 8))
            for k in range(size):
                vellus = rng.random() < vellus_share
                w_um = rng.uniform(20, 35) if vellus else rng.uniform(*width_um)
                length = rng.uniform(*length_mm) / mm_per_px * (0.6 if vellus else 1.0)
                angle = base + (k - (size - 1) / 2) * spread
                bend = 0.0 if clipped else rng.normal(0, 0.25)
                shafts.append((_centerline(root, angle, length, bend), w_um, vellus))
            pts = np.concatenate([s[0] for s in shafts])
            inside = (
                (pts[:, 0] >= top_limit).all()
                and (pts[:, 0] <= rows - footer_rows - margin).all()
                and (pts[:, 1] >= margin).all()
                and (pts[:, 1] <= cols - margin).all()
            )
            if inside and label_box is not None:
                top, bottom, left, right = label_box
                inside = not (
                    (pts[:, 0] >= top - margin)
                    & (pts[:, 0] <= bottom + margin)
                    & (pts[:, 1] >= left - margin)
                    & (pts[:, 1] <= right + margin)
                ).any()
            clear = all(_far_from(pts, other, 30.0) for other in roots)
            if inside and clear:
                placed = shafts
                break
        if placed is None:
            continue
        roots.append(np.concatenate([s[0] for s in placed]))
        index = sum(unit_sizes.values())
        unit_sizes["3+" if len(placed) >= 3 else str(len(placed))] += 1
        for line, w_um, _vellus in placed:
            w_px = w_um / 1000.0 / mm_per_px
            hairs.append(
                SynthHair(
                    centerline_rc=line,
                    width_um=float(w_um),
                    width_px=float(w_px),
                    length_px=float(np.sum(np.hypot(*np.diff(line, axis=0).T))),
                    unit=index,
                )
            )
        _halo(canvas, placed[0][0][0], 6.0 + 2.5 * max(s[1] for s in placed) / 1000 / mm_per_px)
        for line, w_um, vellus in placed:
            colour = np.array(HAIR_RGB[hair], float)
            opacity = 0.95
            if vellus:  # vellus hairs are paler and translucent
                colour = 0.7 * colour + 0.3 * np.array(SKIN_RGB[skin], float)
                opacity = 0.9
            _draw_shaft(canvas, line, w_um / 1000.0 / mm_per_px, colour, opacity)

    for _ in range(int(bubbles)):
        _bubble(rng, canvas, header_rows)
    for _ in range(int(glare)):
        _glare(rng, canvas, header_rows)
    if blur_px > 0:
        canvas = cv2.GaussianBlur(canvas, (0, 0), blur_px)
    canvas += rng.normal(0, noise, canvas.shape).astype(np.float32)
    image = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
    if header:
        _header(image, header_rows, seed)
    if overlays:
        _overlays(image, footer_rows, label_box)

    widths = np.array([h.width_um for h in hairs])
    field_mm2 = rows * cols * mm_per_px**2
    return TrichoscopyImage(
        image=image,
        hairs=tuple(hairs),
        hair_count=len(hairs),
        unit_sizes=unit_sizes,
        mm_per_px=float(mm_per_px),
        field_mm2=float(field_mm2),
        density_per_cm2=len(hairs) / (field_mm2 / 100.0),
        thin_hair_fraction=float(np.mean(widths < 30.0)) if len(hairs) else None,
        vellus_fraction=float(np.mean(widths <= 40.0)) if len(hairs) else None,
        header_rows=header_rows,
        params=params,
        footer_rows=footer_rows,
        label_box=label_box,
    )


def _centerline(root, angle, length, bend) -> np.ndarray:
    """Points from `root` along `angle` for `length` px, curving by `bend` radians over the length."""
    n = max(8, int(length / 4))
    t = np.linspace(0, 1, n)
    theta = angle + bend * t
    step = length / (n - 1)
    dr = np.concatenate([[0], np.cumsum(np.sin(theta[:-1]) * step)])
    dc = np.concatenate([[0], np.cumsum(np.cos(theta[:-1]) * step)])
    return np.stack([root[0] + dr, root[1] + dc], axis=1)


def _far_from(points, other, gap) -> bool:
    a = points[:: max(1, len(points) // 40)]
    b = other[:: max(1, len(other) // 40)]
    return bool(np.min(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)) > gap)


def _skin(rng, rows, cols, rgb) -> np.ndarray:
    base = np.empty((rows, cols, 3), np.float32)
    base[:] = rgb
    coarse = cv2.resize(
        rng.normal(0, 1, (8, 10)).astype(np.float32), (cols, rows), interpolation=cv2.INTER_CUBIC
    )
    fine = cv2.GaussianBlur(rng.normal(0, 1, (rows, cols)).astype(np.float32), (0, 0), 2.0)
    tint = np.array([0.9, 1.0, 1.15], np.float32)  # dermoscopic light: a cool cast in the bright areas
    base += (6.0 * coarse + 20.0 * fine)[..., None] * tint
    # uneven light: darker towards the corners
    rr, cc = np.mgrid[0:rows, 0:cols].astype(np.float32)
    vignette = 1.0 - 0.12 * (((rr - rows / 2) / rows) ** 2 + ((cc - cols / 2) / cols) ** 2) * 4
    return base * vignette[..., None]


def _coverage(canvas_shape, line, width_px, pad=None):
    """Area coverage of a shaft `width_px` wide around `line`, in the line's bounding box.

    Each pixel's coverage is ``clip(width / 2 - distance + 0.5, 0, 1)`` with `distance` from the pixel
    centre to the nearest segment; every segment is evaluated in its own small box only.
    """
    rows, cols = canvas_shape[:2]
    pad = width_px / 2 + 2 if pad is None else pad
    r0 = max(0, int(np.floor(line[:, 0].min() - pad)))
    r1 = min(rows, int(np.ceil(line[:, 0].max() + pad)) + 1)
    c0 = max(0, int(np.floor(line[:, 1].min() - pad)))
    c1 = min(cols, int(np.ceil(line[:, 1].max() + pad)) + 1)
    cover = np.zeros((max(r1 - r0, 0), max(c1 - c0, 0)), np.float32)
    reach = width_px / 2 + 1
    for a, b in itertools.pairwise(line):
        sr0 = max(r0, int(np.floor(min(a[0], b[0]) - reach)))
        sr1 = min(r1, int(np.ceil(max(a[0], b[0]) + reach)) + 1)
        sc0 = max(c0, int(np.floor(min(a[1], b[1]) - reach)))
        sc1 = min(c1, int(np.ceil(max(a[1], b[1]) + reach)) + 1)
        if sr1 <= sr0 or sc1 <= sc0:
            continue
        rr, cc = np.mgrid[sr0:sr1, sc0:sc1].astype(np.float32)
        ab = b - a
        t = np.clip(((rr - a[0]) * ab[0] + (cc - a[1]) * ab[1]) / max(float(ab @ ab), 1e-9), 0, 1)
        dist = np.hypot(rr - (a[0] + t * ab[0]), cc - (a[1] + t * ab[1]))
        sub = cover[sr0 - r0 : sr1 - r0, sc0 - c0 : sc1 - c0]
        np.maximum(sub, np.clip(width_px / 2 - dist + 0.5, 0, 1), out=sub)
    return (slice(r0, r1), slice(c0, c1)), cover


def _draw_shaft(canvas, line, width_px, colour, opacity) -> None:
    box, cover = _coverage(canvas.shape, line, width_px)
    alpha = (opacity * cover)[..., None]
    canvas[box] = canvas[box] * (1 - alpha) + colour * alpha
    # a thin sheen along the shaft, as on real hair
    if width_px >= 4:
        _, core = _coverage(canvas.shape, line, max(1.0, width_px * 0.15), pad=width_px / 2 + 2)
        canvas[box] += (25.0 * opacity * core)[..., None]


def _halo(canvas, centre, radius) -> None:
    rows, cols = canvas.shape[:2]
    r0, r1 = max(0, int(centre[0] - 3 * radius)), min(rows, int(centre[0] + 3 * radius) + 1)
    c0, c1 = max(0, int(centre[1] - 3 * radius)), min(cols, int(centre[1] + 3 * radius) + 1)
    rr, cc = np.mgrid[r0:r1, c0:c1].astype(np.float32)
    weight = 0.45 * np.exp(-((rr - centre[0]) ** 2 + (cc - centre[1]) ** 2) / (2 * radius**2))
    canvas[r0:r1, c0:c1] = (
        canvas[r0:r1, c0:c1] * (1 - weight[..., None]) + np.array(HALO_RGB) * weight[..., None]
    )


def _bubble(rng, canvas, top) -> None:
    rows, cols = canvas.shape[:2]
    radius = rng.uniform(15, 45)
    centre = (rng.uniform(top + radius, rows - radius), rng.uniform(radius, cols - radius))
    c = (round(centre[1] * 16), round(centre[0] * 16))
    rim = np.zeros(canvas.shape[:2], np.float32)
    cv2.circle(rim, c, int(radius * 16), 1.0, 2, cv2.LINE_AA, shift=4)
    inner = np.zeros(canvas.shape[:2], np.float32)
    cv2.circle(inner, c, int(radius * 0.8 * 16), 1.0, -1, cv2.LINE_AA, shift=4)
    spot = np.zeros(canvas.shape[:2], np.float32)
    cv2.circle(
        spot,
        (c[0] - int(radius * 5), c[1] - int(radius * 5)),
        int(radius * 0.2 * 16),
        1.0,
        -1,
        cv2.LINE_AA,
        shift=4,
    )
    canvas *= (1 - 0.35 * rim)[..., None]
    canvas += (12.0 * inner + 120.0 * spot)[..., None]


def _glare(rng, canvas, top) -> None:
    rows, cols = canvas.shape[:2]
    axes = (int(rng.uniform(20, 60)), int(rng.uniform(10, 30)))
    centre = (int(rng.uniform(axes[0], cols - axes[0])), int(rng.uniform(top + axes[0], rows - axes[0])))
    spot = np.zeros(canvas.shape[:2], np.float32)
    cv2.ellipse(spot, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1, cv2.LINE_AA)
    spot = cv2.GaussianBlur(spot, (0, 0), 3)
    canvas[:] = canvas * (1 - spot[..., None]) + 300.0 * spot[..., None]


def _header(image, header_rows, seed) -> None:
    rows, cols = image.shape[:2]
    top, bottom = 4, header_rows - 4
    boxes = np.linspace(6, cols - 6, 7).astype(int)
    scale = (bottom - top) / 40.0
    for a, b in itertools.pairwise(boxes):
        image[top:bottom, a : b - 8] = (80, 80, 80)
    text = f"S{seed % 1000:03d}   {cols}x{rows}   2026/01/26 09:25   70x   unit: mm"
    cv2.putText(
        image,
        text,
        (12, bottom - int(8 * scale)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (245, 245, 245),
        max(1, int(2 * scale)),
        cv2.LINE_AA,
    )


def _label_box(rows, cols) -> tuple[int, int, int, int]:
    """Where the scale label goes: low in the image, a third of the way across (as on BSRL-like devices)."""
    height = max(14, rows // 26)
    top = int(rows * 0.875)
    left = int(cols * 0.32)
    return top, top + height, left, left + max(40, int(height * 3.1))


def _overlays(image, footer_rows, label_box) -> None:
    rows, cols = image.shape[:2]
    image[rows - footer_rows :] = (220, 220, 220)
    top, bottom, left, right = label_box
    bar_row, bar_col = top + (bottom - top) // 2, max(4, cols // 36)
    image[int(rows * 0.41) : bar_row, bar_col] = (60, 60, 64)  # the L-shaped scale bar
    image[bar_row, bar_col:left] = (60, 60, 64)
    image[top:bottom, left:right] = (70, 66, 72)
    scale = (bottom - top) / 40.0
    cv2.putText(
        image,
        "1.0 mm",
        (left + int(6 * scale), bottom - int(10 * scale)),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.9 * scale,
        (250, 250, 250),
        max(1, round(2 * scale)),
        cv2.LINE_AA,
    )
