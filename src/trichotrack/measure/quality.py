"""Photo quality checks for the shed-hair count: over-exposure and blur."""

from __future__ import annotations

import cv2
import numpy as np


def overexposed_mask(
    image, *, level: int = 250, cell_px: int = 64, min_cell_fraction: float = 0.5
) -> np.ndarray:
    """Cells of the photo where most pixels are clipped white (light hairs vanish there).

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
    level : int
        A pixel is clipped when all three channels reach `level`.
    cell_px : int
        Side of the cells judged together.
    min_cell_fraction : float
        A cell is over-exposed when this share of its pixels is clipped.

    Returns
    -------
    mask : (M, N) ndarray of bool
    """
    rows, cols = image.shape[:2]
    clipped = cv2.inRange(image, (level, level, level), (255, 255, 255))  # all three channels clipped
    small = cv2.resize(
        clipped, (max(cols // cell_px, 1), max(rows // cell_px, 1)), interpolation=cv2.INTER_AREA
    )
    bad = (small >= 255 * min_cell_fraction).astype(np.uint8)
    return cv2.resize(bad, (cols, rows), interpolation=cv2.INTER_NEAREST).astype(bool)


def edge_width_px(mean_profile, *, step_px: float) -> tuple[float, float]:
    """10–90 % rise of the edges of a hair's mean cross-profile, and its equivalent width.

    A sharp hair, thin or wide, has edges about a pixel or two wide (the lens); blur widens them. A thin
    hair's profile is all edge (its rise is about 0.7 of its width, sharp or not), so the rise, in
    pixels, tells blur; a wide hair's rise is a small share of its width.

    Parameters
    ----------
    mean_profile : (T,) ndarray of float
        Contrast across the hair (hair positive), sampled every `step_px`, centred.

    Returns
    -------
    rise_px, width_px : float
        NaN when the profile has no peak.
    """
    prof = np.asarray(mean_profile, float)
    k = int(np.argmax(prof))
    peak = prof[k]
    if not peak > 0 or k == 0 or k == len(prof) - 1:
        return float("nan"), float("nan")
    width = float(np.clip(prof, 0, None).sum() * step_px / peak)
    rises = []
    for side in (prof[k::-1], prof[k:]):
        below9 = np.flatnonzero(side < 0.9 * peak)
        below1 = np.flatnonzero(side < 0.1 * peak)
        if len(below9) == 0 or len(below1) == 0:
            continue
        rises.append(
            (_crossing(side, 0.1 * peak, below1[0]) - _crossing(side, 0.9 * peak, below9[0])) * step_px
        )
    # The sharper side: a hair's own soft shadow, or a neighbour, widens one side only.
    return (float(np.min(rises)) if rises else float("nan")), width


def edge_widths_px(mean_profiles, *, step_px: float) -> np.ndarray:
    """`edge_width_px` of many profiles at once.

    Parameters
    ----------
    mean_profiles : (K, T) ndarray of float
        One profile per row, as for `edge_width_px`.

    Returns
    -------
    stats : (K, 2) ndarray of float
        ``rise_px, width_px`` per profile (NaN where it has no peak).
    """
    prof = np.asarray(mean_profiles, float)
    n, t = prof.shape
    out = np.full((n, 2), np.nan)
    if n == 0 or t == 0:
        return out
    row = np.arange(n)
    k = np.argmax(prof, axis=1)
    peak = prof[row, k]
    ok = (peak > 0) & (k > 0) & (k < t - 1)
    prof, k, peak, row = prof[ok], k[ok], peak[ok], row[: ok.sum()]
    out[ok, 1] = np.clip(prof, 0, None).sum(axis=1) * step_px / peak
    col = np.arange(t)[None, :]
    rises = []
    for right in (False, True):
        side_cols = col >= k[:, None] if right else col <= k[:, None]
        crossings = []
        for level in (0.1 * peak, 0.9 * peak):
            below = (prof < level[:, None]) & side_cols
            found = below.any(axis=1)
            # The first column below the level going out from the peak, and the one before it.
            at = np.argmax(below, axis=1) if right else t - 1 - np.argmax(below[:, ::-1], axis=1)
            first_below = np.where(right, at - k, k - at)
            prev = np.clip(at - 1 if right else at + 1, 0, t - 1)
            hi, lo = prof[row, prev], prof[row, at]
            same = hi == lo
            pos = np.where(
                same, first_below, first_below - 1 + (hi - level) / np.where(same, 1.0, hi - lo)
            ).astype(float)
            pos[first_below == 0] = 0.0
            crossings.append((found, pos))
        (found1, at1), (found9, at9) = crossings
        rises.append(np.where(found1 & found9, (at1 - at9) * step_px, np.nan))
    both = np.stack(rises, axis=1)
    has = np.isfinite(both).any(axis=1)
    rise = np.full(len(both), np.nan)
    rise[has] = np.nanmin(both[has], axis=1)
    out[ok, 0] = rise
    return out


def _crossing(side, level, first_below):
    """Sub-sample position where the falling `side` crosses `level` just before index `first_below`."""
    if first_below == 0:
        return 0.0
    hi, lo = side[first_below - 1], side[first_below]
    return first_below - 1 + (hi - level) / (hi - lo) if hi != lo else float(first_below)
