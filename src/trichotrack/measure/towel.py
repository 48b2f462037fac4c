"""Hair lines on a textured surface (a terry towel), for the count of `shedding.analyze_shedding`.

A towel's loops are yarn a few tenths of a millimetre wide, curled at the scale of a millimetre: the line
filter of the main analysis finds thousands of short line pieces in them and breaks the hairs up where they
cross the loops. A hair is thinner than the yarn and straight over a few millimetres, however curly. So, on
the photo at its own resolution (a hair is one or two pixels wide there):

1. A top-hat (a small disc) keeps what is thinner than the yarn and darker than its surroundings (lighter,
   for light hair on a dark towel).
2. An opening by a straight line of a few millimetres in 16 directions keeps only what holds a straight
   stretch that long: the loops' curls and the gaps between them do not, hairs do.
3. On the working grid of the main analysis (the largest value in each working pixel, so a hair's line stays
   whole): hysteresis relative to the top-hat's own level on the surface (the texture's), small pieces
   dropped, skeleton and tracing (`trace`), gaps bridged where the opened lines go on; pieces shorter than
   a short hair left out.

The caller counts hairs from the ends of the long pieces (`shedding`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage.morphology import skeletonize

from trichotrack.measure import trace

__all__ = ["TowelLines", "line_opening", "towel_lines"]

#: A phone photo's scale (12 MP, 20–35 cm above the surface), when none is given.
_DEFAULT_MM_PER_PX = 0.075


@dataclass(frozen=True)
class TowelLines:
    """Long line pieces found on a textured surface.

    Attributes
    ----------
    paths : tuple of (K, 2) ndarray
        Smoothed centre lines on the working grid (rows, columns), each at least `min_length_mm` long.
    closed : tuple of bool
    lengths_px : tuple of float
        Lengths in full-size pixels.
    polarity : int
        -1: hair darker than the surface, 1: lighter.
    threshold : float
        The seed level of the opened top-hat (0–255 grey levels).
    """

    paths: tuple[np.ndarray, ...]
    closed: tuple[bool, ...]
    lengths_px: tuple[float, ...]
    polarity: int
    threshold: float


def line_opening(image: np.ndarray, length_px: int, n_directions: int = 16) -> np.ndarray:
    """Grey-level opening of a uint8 `image` by a straight line of `length_px` pixels, the largest over
    `n_directions` directions: what holds a straight stretch that long keeps its value."""
    return _by_lines(image, length_px, n_directions, opening=True)


def _by_lines(image: np.ndarray, length_px: int, n_directions: int, *, opening: bool) -> np.ndarray:
    """The largest over `n_directions` straight lines of `length_px` pixels of the grey-level opening of
    `image` by the line (`opening`) or of its erosion (the centres of straight stretches that long)."""
    length_px = max(3, int(length_px) | 1)
    centre = (length_px - 1) // 2
    best = np.zeros_like(image)
    for angle in np.arange(n_directions) * np.pi / n_directions:
        kernel = np.zeros((length_px, length_px), np.uint8)
        dx, dy = centre * np.cos(angle), centre * np.sin(angle)
        ends = [(round(centre + s * dx), round(centre + s * dy)) for s in (-1, 1)]
        cv2.line(kernel, ends[0], ends[1], 1, 1)
        eroded = cv2.erode(image, kernel)
        np.maximum(best, cv2.dilate(eroded, kernel) if opening else eroded, out=best)
    return best


def _line_polarity(
    grey: np.ndarray,
    surface: np.ndarray,
    *,
    mm_per_px: float,
    line_mm: float,
    tophat_mm: float,
    min_ratio: float = 3.0,
    min_share: float = 1e-4,
) -> int | None:
    """Whether the straight lines on a textured surface are darker (-1) or lighter (1) than it, where the
    photo says so clearly; None where it does not.

    On the middle of the photo (two thirds of it each way, where the hairs are laid) at half size, the
    top-hat and the black-hat are each eroded by the straight line (the centres of `towel_lines`'s opening,
    in 8 directions) and the pixels above the texture's level counted: the hairs' polarity keeps many more
    of them than the other (a towel's loops, light on any towel, do not hold the straight stretch). Clear
    means at least `min_ratio` times as many, on at least `min_share` of the surface. On the benchmark's 18
    towels it was clear on 13 and right on all of them, among them black hair on a charcoal towel, which the
    towel's shade alone takes for light hair (about 0.035 s on a 12-MP photo).
    """
    rows, cols = grey.shape
    middle = np.s_[rows // 6 : rows - rows // 6, cols // 6 : cols - cols // 6]  # (where the hairs are laid)
    grey, surface = grey[middle], surface[middle]
    small = cv2.resize(grey, (grey.shape[1] // 2, grey.shape[0] // 2), interpolation=cv2.INTER_AREA)
    on = (
        cv2.resize(surface.view(np.uint8), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
        > 0
    )
    if not on.any():
        return None
    mm = 2.0 * mm_per_px
    disc_px = max(3, round(tophat_mm / mm) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (disc_px, disc_px))
    shares = {}
    for sign, operation in ((-1, cv2.MORPH_BLACKHAT), (1, cv2.MORPH_TOPHAT)):
        hat = cv2.morphologyEx(small, operation, disc)
        level = float(np.percentile(hat[on], 75))
        kept = _by_lines(hat, round(line_mm / mm), 8, opening=False)
        shares[sign] = float(np.count_nonzero(kept[on] > max(4.0, 0.75 * level))) / np.count_nonzero(on)
    best = max(shares, key=shares.get)
    if shares[best] >= min_share and shares[best] >= min_ratio * shares[-best]:
        return best
    return None


def towel_lines(
    rgb: np.ndarray,
    excluded: np.ndarray,
    excluded_work: np.ndarray,
    *,
    mm_per_px: float | None,
    factor: int,
    line_mm: float = 3.0,
    tophat_mm: float = 0.5,
    seed_level: float = 0.75,
    min_length_mm: float = 15.0,
    light_surface_lum: float = 85.0,
    long_gap_px: float = 40.0,
    polarity: int | None = None,
) -> TowelLines:
    """The long hair lines on a textured surface.

    Parameters
    ----------
    rgb : (M, N, 3) ndarray of uint8
        The photo at full size.
    excluded : (M, N) ndarray of bool
        Pixels not analysed.
    excluded_work : ndarray of bool
        The same on the working grid, ``(M // factor, N // factor)``.
    mm_per_px : float or None
    factor : int
        Working scale (full-size pixels per working pixel).
    line_mm : float
        Length of the straight line of the opening: longer than a towel loop's straight stretches.
    tophat_mm : float
        Diameter of the top-hat's disc: wider than a hair, about the yarn's width.
    seed_level : float
        Seeds reach this multiple of the top-hat's upper quartile on the surface (the texture's level);
        pieces grow down to half of it.
    min_length_mm : float
        Shorter pieces are left out (what a towel's loops can still chain into).
    light_surface_lum : float
        Where the photo does not say clearly whether the straight lines are darker or lighter than the
        surface (`_line_polarity`), on a surface brighter than this (median grey level) hairs are taken to be
        darker than it, else lighter: people lay dark hair on a light towel and light hair on a dark one.
    long_gap_px : float
        Working px: faint stretches this long are bridged where the opened line goes on (`trace`).
    polarity : {-1, 1}, optional
        Hair darker (-1) or lighter (1) than the surface, when known (the user said the hair colour); else
        the photo's straight lines say, or else `light_surface_lum`. (The main analysis's own choice is no
        guide here: a towel's loops are light lines on any towel.)
    """
    mm = mm_per_px if mm_per_px is not None else _DEFAULT_MM_PER_PX
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    surface = ~excluded
    sample = grey[::4, ::4][surface[::4, ::4]]
    lum = float(np.median(sample)) if sample.size else float(np.median(grey))
    if polarity not in (-1, 1):
        polarity = _line_polarity(grey, surface, mm_per_px=mm, line_mm=line_mm, tophat_mm=tophat_mm)
    if polarity not in (-1, 1):
        polarity = -1 if lum > light_surface_lum else 1
    disc_px = max(3, round(tophat_mm / mm) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (disc_px, disc_px))
    tophat = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT if polarity < 0 else cv2.MORPH_TOPHAT, disc)
    del grey
    on_surface = tophat[::2, ::2][surface[::2, ::2]]
    level = float(np.percentile(on_surface, 75)) if on_surface.size else 0.0
    high = max(4.0, seed_level * level)
    low = 0.5 * high
    opened = line_opening(tophat, round(line_mm / mm))
    del tophat

    wrows, wcols = excluded_work.shape
    if factor > 1:  # the largest value in each working pixel: a hair's line stays whole
        opened = cv2.dilate(opened, np.ones((factor, factor), np.uint8), anchor=(0, 0))
        opened = np.ascontiguousarray(opened[::factor, ::factor][:wrows, :wcols])
    mm_work = mm * factor
    # Hysteresis: pieces grown from seeds, those too small to hold a straight stretch of a hair left out.
    weak = (opened >= np.uint8(np.ceil(low))) & ~excluded_work
    n_lab, lab, stats, _ = cv2.connectedComponentsWithStats(weak.view(np.uint8), connectivity=8)
    keep = np.bincount(lab[weak & (opened >= np.uint8(min(np.ceil(high), 255)))], minlength=n_lab) > 0
    keep[0] = False
    keep &= (
        np.hypot(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) * mm_work >= 2.0 * line_mm / 3.0
    )
    fg_work = keep[lab]
    support = opened.astype(np.float32) * np.float32(2.0 / high)  # 2: `trace`'s minimum support
    del lab, weak, opened
    traced = trace.trace_skeleton(
        skeletonize(fg_work),
        width_px=1.5,
        spur_px=line_mm / mm_work,
        support=support,
        long_gap_px=long_gap_px,
    )
    smoothed = trace.smooth_paths(traced.paths, traced.closed, sigma_px=1.5)
    fulls = [(path + 0.5) * factor - 0.5 for path in smoothed]
    lengths = trace.path_lengths(fulls).tolist() if fulls else []
    kept = [i for i, length in enumerate(lengths) if length * mm >= min_length_mm]
    return TowelLines(
        paths=tuple(smoothed[i] for i in kept),
        closed=tuple(bool(traced.closed[i]) for i in kept),
        lengths_px=tuple(float(lengths[i]) for i in kept),
        polarity=polarity,
        threshold=round(high, 2),
    )
