"""Hair foreground: contrast against a local background, a line (ridge) filter and a hysteresis threshold.

Hairs may be darker or lighter than the background and of any colour, so the contrast is taken per
colour channel against a large median background, whitened by each channel's noise, and projected on
the colour direction in which the strongest contrasts lie. A Hessian line filter (polarity-free) then
keeps thin lines and suppresses flat noise; its threshold is relative to a local noise level, so a
towel's texture raises the bar where it lies instead of filling the photo with false hairs.
"""

from __future__ import annotations

import cv2
import numpy as np

_MAD_TO_SIGMA = 1.4826


def background_rgb(image, *, block_px: int = 8, median_cells: int = 7, with_grid: bool = False):
    """Smooth background estimate: a median over `median_cells` cells of `block_px` pixels.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8

    Returns
    -------
    background : (M, N, 3) ndarray of float32
    grid : (m, n, 3) ndarray of uint8
        The background per cell (only with `with_grid`).
    """
    rows, cols = image.shape[:2]
    small = cv2.resize(
        image, (max(cols // block_px, 3), max(rows // block_px, 3)), interpolation=cv2.INTER_AREA
    )
    ksize = min(median_cells, (min(small.shape[:2]) // 2) * 2 - 1)
    if ksize >= 3:
        small = cv2.medianBlur(small, ksize)
    full = cv2.resize(small.astype(np.float32), (cols, rows), interpolation=cv2.INTER_LINEAR)
    return (full, small) if with_grid else full


def robust_sigma(values) -> float:
    """Noise level of `values` from the median absolute deviation (hairs are a small minority)."""
    values = np.asarray(values, dtype=np.float32).ravel()
    med = np.median(values)
    return float(_MAD_TO_SIGMA * np.median(np.abs(values - med)))


def contrast_image(image, *, block_px: int = 8) -> tuple[np.ndarray, dict]:
    """Signed contrast of each pixel against the background, in units of the noise level.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8

    Returns
    -------
    contrast : (M, N) ndarray of float32
        Projection of the whitened colour difference on the main contrast direction; hairs are lines
        of one sign (which sign depends on the photo).
    info : dict
        ``noise_rgb`` (per-channel noise level, grey levels), ``direction`` (unit colour direction),
        ``weights`` (grey levels to contrast units), ``background_grid`` ((m, n, 3) uint8 background of
        cells of ``block_px``).
    """
    background, small = background_rgb(image, block_px=block_px, with_grid=True)
    diff = image.astype(np.float32) - background
    sample = diff[::4, ::4].reshape(-1, 3)
    # At least one grey level: below that, 8-bit steps in a smooth (blurred) photo would pass for lines.
    noise = np.array([max(robust_sigma(sample[:, c]), 1.0) for c in range(3)], np.float32)
    white = sample / noise
    energy = np.einsum("ij,ij->i", white, white)
    strong = white[energy >= np.quantile(energy, 0.995)]
    if len(strong) >= 10:
        _, _, vt = np.linalg.svd(strong, full_matrices=False)
        direction = vt[0].astype(np.float32)
    else:
        direction = np.full(3, 1 / np.sqrt(3), np.float32)
    if direction.sum() < 0:
        direction = -direction
    weights = direction / noise
    # Project: contrast = sum_c w_c * diff_c, then rescale so that pure noise has unit spread.
    contrast = cv2.transform(diff[None].reshape(1, -1, 3), weights.reshape(1, 3)).reshape(diff.shape[:2])
    scale = robust_sigma(contrast[::4, ::4])
    contrast *= 1.0 / max(scale, 1.0)  # whitened noise has unit spread or more, never less
    return contrast, {
        "noise_rgb": noise.tolist(),
        "direction": direction.tolist(),
        "weights": (weights / max(scale, 1.0)).tolist(),
        "background_grid": small,
        "block_px": block_px,
    }


def line_strength(
    contrast,
    *,
    sigma_px: float = 1.0,
    polarity: int | None = None,
    edge_suppression: float = 1.5,
    ignore=None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Line filter from the Hessian eigenvalues at scale `sigma_px`, for lines of one polarity.

    For bright lines (``polarity=+1``) with eigenvalues ``la <= lb`` it returns
    ``max(0, -la) - 0.5 * max(0, -lb)``: high on thin lines, still half as high where two lines cross,
    lower on blobs, and zero on the opposite-sign flanks that a strong line (and a phone's sharpening)
    leaves beside itself. Dark lines (``-1``) are bright lines of ``-contrast``.

    Parameters
    ----------
    contrast : (M, N) ndarray of float32
    polarity : {+1, -1, 0}, optional
        Chosen from the data when not given: the sign whose strong responses carry more energy. 0 keeps
        lines of both signs.
    edge_suppression : float
        Weight of the slope subtracted from the response (0 keeps step edges).
    ignore : (M, N) ndarray of bool, optional
        Pixels that do not take part in choosing the polarity (a table around the sheet).

    Returns
    -------
    strength : (M, N) ndarray of float32
    raw : (M, N) ndarray of float32
        The response before edge suppression, whose local median measures the noise.
    polarity : int
    """
    smooth = cv2.GaussianBlur(contrast, (0, 0), sigma_px)
    hrr = cv2.Sobel(smooth, cv2.CV_32F, 0, 2, ksize=3)
    hcc = cv2.Sobel(smooth, cv2.CV_32F, 2, 0, ksize=3)
    hrc = cv2.Sobel(smooth, cv2.CV_32F, 1, 1, ksize=3)
    half_trace = cv2.add(hrr, hcc)
    half_trace *= 0.5
    root = cv2.magnitude(cv2.subtract(hrr, hcc) * 0.5, hrc)
    del hrr, hcc, hrc
    la = cv2.subtract(half_trace, root)  # smaller eigenvalue
    lb = cv2.add(half_trace, root)
    del half_trace, root

    # A step edge (a sheet's border, a shadow's) has a strong one-sided curvature too, but unlike a thin
    # line it keeps a strong slope at twice the scale. The slope at 2 sigma is at most 1/1.4 of the
    # curvature response beside an edge and about 1/10 of it on a line, so subtracting `edge_suppression`
    # (1.5) times it removes edges and keeps lines. (3×3 Sobel: second derivatives 4×, first ones 8×.)
    coarse = cv2.GaussianBlur(contrast, (0, 0), 2.0 * sigma_px)
    slope = cv2.magnitude(
        cv2.Sobel(coarse, cv2.CV_32F, 1, 0, ksize=3, scale=0.5),
        cv2.Sobel(coarse, cv2.CV_32F, 0, 1, ksize=3, scale=0.5),
    )
    del coarse
    slope *= np.float32(edge_suppression / sigma_px)

    def strength_of(sign):
        a, b = (la, lb) if sign > 0 else (lb, la)
        a = np.maximum(-sign * a, 0)
        b = np.maximum(-sign * b, 0)
        return cv2.addWeighted(a, 1.0, b, -0.5, 0.0)

    if polarity == 0:  # both: dark and light hairs on one photo (grey hair is white and dark shafts)
        raw = np.maximum(strength_of(1), strength_of(-1))
        strength = cv2.subtract(raw, slope)
        np.maximum(strength, 0, out=strength)
        scale = np.float32(sigma_px**2)
        return strength * scale, raw * scale, 0
    responses = {}
    if polarity is None:
        scores = []
        sub_slope = slope[::2, ::2]
        keep = None if ignore is None else ~np.asarray(ignore, bool)[::2, ::2]
        for sign in (1, -1):
            responses[sign] = strength_of(sign)  # (kept for the sign chosen)
            raw = responses[sign][::2, ::2]
            s = raw - sub_slope  # edges (a sheet's border) must not decide the polarity
            if keep is not None and keep.any():
                raw, s = raw[keep], s[keep]
            med = np.median(raw)
            scores.append(float(np.maximum(s - 6 * med, 0).sum()))
        polarity = 1 if scores[0] >= scores[1] else -1
    raw = responses[polarity] if polarity in responses else strength_of(polarity)
    del responses
    strength = cv2.subtract(raw, slope)
    np.maximum(strength, 0, out=strength)
    scale = np.float32(sigma_px**2)
    if scale == 1:  # (the fine scale: nothing to rescale)
        return strength, raw, int(polarity)
    return strength * scale, raw * scale, int(polarity)


def local_level(values, *, cell_px: int = 48, quantile: float = 0.5) -> np.ndarray:
    """Local `quantile` of `values` over cells of `cell_px`, smoothed and brought back to full size.

    Returns
    -------
    level : (M, N) ndarray of float32
    """
    rows, cols = values.shape
    nr, nc = max(rows // cell_px, 1), max(cols // cell_px, 1)
    core = values[: nr * cell_px : 2, : nc * cell_px : 2]
    half = cell_px // 2
    blocks = core.reshape(nr, half, nc, half).transpose(0, 2, 1, 3).reshape(nr, nc, -1)
    grid = np.quantile(blocks, quantile, axis=2).astype(np.float32)
    if min(nr, nc) >= 3:
        grid = cv2.medianBlur(grid, 3)
    return cv2.resize(grid, (cols, rows), interpolation=cv2.INTER_LINEAR)


def surface_mask(
    image,
    *,
    block_px: int = 16,
    max_log_ratio: float = 1.1,
    max_chroma: float = 0.15,
    min_share: float = 0.4,
    ignore=None,
):
    """The surface the hairs lie on: the largest region of the photo's dominant background colour.

    A sheet of paper on a table leaves the table in the frame, with its grain, and a sink its drain; they
    are not where hairs are counted. Shadows and uneven light change brightness by up to a factor of
    ``exp(max_log_ratio)`` and are kept; a patterned fabric whose dominant colour covers less than
    `min_share` of the frame is kept whole. The surface is the convex hull of that region.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
    ignore : (M, N) ndarray of bool, optional
        Pixels known not to be the surface (what lies off a calibration card): they neither set the
        dominant colour nor count towards it.

    Returns
    -------
    surface : (M, N) ndarray of bool
    """
    rows, cols = image.shape[:2]
    shape_small = (max(cols // block_px, 3), max(rows // block_px, 3))
    small = cv2.resize(image, shape_small, interpolation=cv2.INTER_AREA)
    small = cv2.medianBlur(small, 5 if min(small.shape[:2]) > 10 else 3).astype(np.float32) + 1.0
    lum = small.sum(axis=2)
    chroma = small / lum[..., None]
    voting = np.ones(lum.shape, bool)
    if ignore is not None:
        share = cv2.resize(np.asarray(ignore, np.float32), shape_small, interpolation=cv2.INTER_AREA)
        if (share < 0.5).any():
            voting = share < 0.5
    ref_lum = np.median(lum[voting])
    ref_chroma = np.median(chroma[voting], axis=0)
    inside = (
        (np.abs(np.log(lum / ref_lum)) <= max_log_ratio)
        & (np.linalg.norm(chroma - ref_chroma, axis=2) <= max_chroma)
        & voting
    )
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inside.astype(np.uint8), connectivity=4)
    if n <= 1:
        return np.ones((rows, cols), bool)
    n_voting = int(voting.sum())
    big = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= 0.01 * n_voting) + 1
    if stats[big, cv2.CC_STAT_AREA].sum() < min_share * n_voting:
        return np.ones((rows, cols), bool)  # no dominant colour: keep everything
    # A sheet is convex: its hull holds everything on it (clumps, a comb), and not the table around it; the
    # hull of all its sizeable pieces also spans a striped fabric whose stripes alternate in colour.
    pts = np.argwhere(np.isin(labels, big))[:, ::-1].astype(np.int32)
    hull = cv2.convexHull(pts)
    surface = np.zeros(inside.shape, np.uint8)
    cv2.fillConvexPoly(surface, hull, 1)
    surface = cv2.erode(surface, np.ones((5, 5), np.uint8))  # two blocks in from the sheet's edge
    if not surface.any() or surface.all():
        return np.ones((rows, cols), bool)
    return cv2.resize(surface, (cols, rows), interpolation=cv2.INTER_NEAREST) > 0


def hysteresis(weak, strong) -> np.ndarray:
    """Pixels of `weak` connected (8-way) to a pixel of `strong`.

    Parameters
    ----------
    weak, strong : (M, N) ndarray of bool

    Returns
    -------
    mask : (M, N) ndarray of bool
    """
    n, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[strong & weak])] = True
    keep[0] = False
    return keep[labels]
