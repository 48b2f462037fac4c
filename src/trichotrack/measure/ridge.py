"""Hair foreground: contrast against a local background, a line (ridge) filter and a hysteresis threshold.

Hairs may be darker or lighter than the background and of any colour, so the contrast is taken per
colour channel against a large median background, whitened by each channel's noise, and projected on
the colour direction in which the strongest contrasts lie. A Hessian line filter (polarity-free) then
keeps thin lines and suppresses flat noise; its threshold is relative to a local noise level, so a
towel's texture raises the bar where it lies instead of filling the photo with false hairs.

A striped fabric (a pillowcase in bands a few millimetres wide) has colour changes at a finer scale than
that background: where the surface is banded (`band_background`), a finer background follows the bands,
and the line filter leaves out lines that lie along the band edges (what is left of them).
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


def band_background(
    image,
    background,
    grid,
    *,
    ignore=None,
    z_low: float = 3.0,
    z_high: float = 6.0,
    edge_low: float = 2.0,
    edge_high: float = 4.0,
    min_band_share: float = 0.3,
    min_edge_share: float = 0.03,
    min_coherence: float = 0.93,
    min_crossings: int = 6,
):
    """A background that follows a banded surface (stripes a few millimetres wide), or None on a plain one.

    The coarse `background` (a median over ~56 px) cannot follow bands narrower than its window, and it
    smears the edges of wider ones: a banded surface then stays in the contrast, raising the noise
    estimate and taking over the colour direction. A finer background, a 5-cell median of the photo at half
    size (~10 px: wider than a hair, narrower than a band), is taken where it departs from the coarse one
    by `z_low`..`z_high` (ramped) noise units (noise: the photo against the fine background).

    Only where the surface is banded, so that a plain surface keeps its answers: the fine background has
    edges (its gradient over `edge_low`..`edge_high` noise units a pixel, ramped, with a step across them:
    not the rim of a hair or clump that the median kept) nearly all of one orientation (`min_coherence`:
    the length of the mean doubled-angle unit vector; a sheet's border, a card's markers, a drain or a
    clump have edges in several directions), and either the fine background departs strongly from the
    coarse one over `min_band_share` of the surface (bands narrower than the coarse window) or the edges
    cover `min_edge_share` of it (wider bands, whose edges the coarse background smears) and lines across
    them cross at least `min_crossings` edges (the median of 9 lines; one straight edge, a sheet's border,
    is crossed once). The shares are judged on every other pixel of the half-size photo, the edges for
    the line filter on all of them.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
    background : (M, N, 3) ndarray of float32
        The coarse background (`background_rgb`). Not modified.
    grid : (m, n, 3) ndarray of uint8
        Its cells.
    ignore : (M, N) ndarray of bool, optional
        Pixels that are not the surface (the table around a sheet, a card's markers): they do not count.

    Returns
    -------
    banded : dict or None
        ``background`` ((M, N, 3) float32), ``edges`` (half-size (weight, cos 2θ, sin 2θ) of the band
        edges' normal, for `line_strength`), ``band_share``, ``edge_share``, ``coherence``.
    """
    rows, cols = image.shape[:2]
    hr, hc = rows // 2, cols // 2
    if min(hr, hc) < 16:
        return None
    half = cv2.resize(image, (hc, hr), interpolation=cv2.INTER_AREA)
    fine = cv2.medianBlur(half, 5)
    resid = cv2.subtract(half[::4, ::4], fine[::4, ::4], dtype=cv2.CV_32F).reshape(-1, 3)
    noise = np.array([max(robust_sigma(resid[:, c]), 1.0) for c in range(3)], np.float32)
    inv_var = (1.0 / noise**2).reshape(1, 3)
    fine = fine.astype(np.float32)
    step = cv2.subtract(fine, cv2.resize(grid.astype(np.float32), (hc, hr), interpolation=cv2.INTER_LINEAR))
    z = np.sqrt(cv2.transform(cv2.multiply(step, step), inv_var))
    surface = None
    if ignore is not None:
        surface = cv2.resize(np.asarray(ignore, np.uint8), (hc, hr), interpolation=cv2.INTER_AREA) == 0
        if surface.sum() < 0.05 * surface.size:
            return None

    def edges_of(fine, z, surface, gate):
        """Band edges of `fine`: weight, cos 2θ, sin 2θ of their normal; with `gate`, None where the shares
        say the surface is plain."""
        gr = cv2.Sobel(fine, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
        gc = cv2.Sobel(fine, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
        # Structure tensor of the whitened colours (summed over channels), smoothed.
        jrr, jcc, jrc = (
            cv2.GaussianBlur(cv2.transform(cv2.multiply(a, b), inv_var), (0, 0), 1.0)
            for a, b in ((gr, gr), (gc, gc), (gr, gc))
        )
        del gr, gc
        spread = np.maximum(cv2.magnitude(jrr - jcc, 2 * jrc), np.float32(1e-6))
        weight = np.sqrt(np.maximum(0.5 * (jrr + jcc + spread), 0))
        weight = np.clip((weight - edge_low) / (edge_high - edge_low), 0, 1)
        cos2, sin2 = (jrr - jcc) / spread, 2 * jrc / spread
        del jrr, jcc, jrc, spread
        on = weight if surface is None else weight[surface]
        band_share = float(np.mean(z > z_high)) if surface is None else float(np.mean(z[surface] > z_high))
        if gate and band_share < min_band_share and float(on.mean()) < min_edge_share:
            return None  # (most plain photos stop here)
        # A band edge is a step: the fine background differs 3 px either side of it, across it. A thick
        # hair or a clump that the median kept is a ridge, the same surface either side, and no band
        # edge: lines along it must not be taken away. (Looked at only where there is an edge.)
        at = np.nonzero(weight > 0)
        if len(at[0]) > 0.2 * weight.size:  # (mostly edges: all pixels at once)
            c2, s2, r, c = cos2, sin2, *np.indices(weight.shape, np.float32)
        else:
            c2, s2, r, c = cos2[at], sin2[at], at[0].astype(np.float32), at[1].astype(np.float32)
        if r.size:
            dr = 3.0 * np.sqrt(np.maximum(0.5 * (1 + c2), 0))  # (cos θ, sin θ) from the doubled angle
            dc = 3.0 * np.sqrt(np.maximum(0.5 * (1 - c2), 0))
            dc[s2 < 0] *= -1
            shape = r.shape if r.ndim == 2 else (-1, 1024)
            pad = 0 if r.ndim == 2 else -r.size % 1024

            def sample(rr, cc):
                maps = [
                    v if r.ndim == 2 else np.pad(v, (0, pad), mode="edge").reshape(shape) for v in (cc, rr)
                ]
                got = cv2.remap(fine, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                return got.reshape(-1, 3)[: r.size]

            jump = cv2.subtract(sample(r + dr, c + dc), sample(r - dr, c - dc))
            jump = np.sqrt((jump * jump) @ inv_var.ravel())
            ramp = np.clip((jump - 2 * edge_low) / (2 * edge_high - 2 * edge_low), 0, 1).astype(np.float32)
            if r.ndim == 2:
                weight *= ramp.reshape(weight.shape)
            else:
                weight[at] *= ramp
        on = weight if surface is None else weight[surface]
        total = float(on.sum())
        c2 = cos2 if surface is None else cos2[surface]
        s2 = sin2 if surface is None else sin2[surface]
        coherence = float(np.hypot((on * c2).sum(), (on * s2).sum())) / total if total > 0 else 0.0
        stats = {"band_share": band_share, "edge_share": float(on.mean()), "coherence": coherence}
        if gate and (
            coherence < min_coherence
            or (band_share < min_band_share and stats["edge_share"] < min_edge_share)
        ):
            return None
        if gate and band_share < min_band_share:
            # Bands repeat: lines across them (along the edges' mean normal) cross many edges; a sheet's
            # border or a fold once or twice.
            theta = 0.5 * np.arctan2((on * s2).sum(), (on * c2).sum())
            h, w = weight.shape
            t = np.arange(-np.hypot(h, w) / 2, np.hypot(h, w) / 2)
            crossings = []
            for offset in np.linspace(-0.4, 0.4, 9) * min(h, w):
                r = np.round(h / 2 + t * np.cos(theta) - offset * np.sin(theta)).astype(int)
                c = np.round(w / 2 + t * np.sin(theta) + offset * np.cos(theta)).astype(int)
                inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
                r, c = r[inside], c[inside]
                if surface is not None:
                    keep = surface[r, c]
                    r, c = r[keep], c[keep]
                edge = weight[r, c] > 0.5
                crossings.append(int(np.count_nonzero(edge[1:] & ~edge[:-1])))
            stats["crossings"] = float(np.median(crossings))
            if stats["crossings"] < min_crossings:
                return None
        return (weight, cos2, sin2), stats

    # Judged on every other pixel (a quarter of the work), then the edges at half size where banded.
    judged = edges_of(
        np.ascontiguousarray(fine[::2, ::2]),
        z[::2, ::2],
        None if surface is None else surface[::2, ::2],
        True,
    )
    if judged is None:
        return None
    edges, _ = edges_of(fine, z, surface, False)
    weight_z = np.clip((z - z_low) / (z_high - z_low), 0, 1)
    step *= weight_z[..., None]
    banded = background + cv2.resize(step, (cols, rows), interpolation=cv2.INTER_LINEAR)
    return {"background": banded, "edges": edges, **judged[1]}


def robust_sigma(values) -> float:
    """Noise level of `values` from the median absolute deviation (hairs are a small minority)."""
    values = np.asarray(values, dtype=np.float32).ravel()
    med = np.median(values)
    return float(_MAD_TO_SIGMA * np.median(np.abs(values - med)))


def contrast_image(image, *, block_px: int = 8, ignore=None) -> tuple[np.ndarray, dict]:
    """Signed contrast of each pixel against the background, in units of the noise level.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
    ignore : (M, N) ndarray of bool, optional
        Pixels that are not the surface; they do not decide whether the surface is banded.

    Returns
    -------
    contrast : (M, N) ndarray of float32
        Projection of the whitened colour difference on the main contrast direction; hairs are lines
        of one sign (which sign depends on the photo).
    info : dict
        ``noise_rgb`` (per-channel noise level, grey levels), ``direction`` (unit colour direction),
        ``weights`` (grey levels to contrast units), ``background_grid`` ((m, n, 3) uint8 background of
        cells of ``block_px``), ``band_edges`` (for `line_strength`; None on a plain surface) and
        ``banded`` (the statistics of `band_background`, or None).
    """
    background, small = background_rgb(image, block_px=block_px, with_grid=True)
    banded = band_background(image, background, small, ignore=ignore)
    if banded is not None:
        background = banded.pop("background")
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
        "band_edges": None if banded is None else banded.pop("edges"),
        "banded": banded,
    }


def line_strength(
    contrast,
    *,
    sigma_px: float = 1.0,
    polarity: int | None = None,
    edge_suppression: float = 1.5,
    ignore=None,
    band_edges=None,
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
    band_edges : tuple of three (m, n) ndarrays of float32, optional
        The edges of a banded surface (``contrast_image``'s ``info["band_edges"]``): their weight and the
        doubled angle (cos, sin) of their normal. A line lying along a band edge is what is left of the
        edge, not a hair: its response is taken away (a hair crossing the edge keeps it).

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
    along_edge = None
    if band_edges is not None:
        # cos of the doubled angle between the band edge's normal and the Hessian's main axis (that of
        # the larger eigenvalue, across a dark line; along a bright one)
        weight, cos2, sin2 = (
            cv2.resize(a, contrast.shape[::-1], interpolation=cv2.INTER_LINEAR) for a in band_edges
        )
        cos_d = (cv2.subtract(hrr, hcc) * cos2 * 0.5 + hrc * sin2) / np.maximum(root, np.float32(1e-6))
        along_edge = (weight, cos_d)
        del cos2, sin2
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
        response = cv2.addWeighted(a, 1.0, b, -0.5, 0.0)
        if along_edge is not None:
            # cos² of the angle between the line and the band edge: the response is taken away within
            # ~18 degrees of the edge's direction, and partly up to ~33
            parallel = (1 - sign * along_edge[1]) * 0.5
            response *= 1 - along_edge[0] * np.clip((parallel - 0.7) / 0.2, 0, 1)
        return response

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
    sheet = _sheet_hull(lum, chroma, inside & np.isin(labels, big), voting)
    if sheet is not None:
        surface &= sheet
    surface = cv2.erode(surface, np.ones((5, 5), np.uint8))  # two blocks in from the sheet's edge
    if not surface.any() or surface.all():
        return np.ones((rows, cols), bool)
    return cv2.resize(surface, (cols, rows), interpolation=cv2.INTER_NEAREST) > 0


def _sheet_hull(
    lum,
    chroma,
    inside,
    voting,
    *,
    step_log: float = 0.2,
    step_chroma: float = 0.04,
    seed_log: float = 0.1,
    seed_chroma: float = 0.02,
    min_share: float = 0.2,
    max_share: float = 0.97,
    max_share_strip: float = 0.995,
    strip_chroma: float = 0.06,
    strip_brighter: float = 1.25,
    max_like_outside: float = 0.05,
):
    """The hull of a sheet whose edge is a step in colour (uint8 mask on the block grid), or None.

    A table near the sheet's colour (grey laminate, light wood) passes `surface_mask`'s colour test, and its
    grain or its edge with the sheet then passes for hairs. Light changes smoothly over the surface (a
    shadow's edge is soft at the scale of the blocks) where a sheet's edge is a step: blocks where the
    brightness rises by more than `step_log` (log) or the chroma by more than `step_chroma` within three
    blocks are edges, and the sheet is the hull of the region within them that holds the most of the
    surface's typical blocks (within `seed_log` and `seed_chroma` of its median). Only when that hull is a
    sizeable part of the frame (`min_share` to `max_share`), what lies outside it is not more of the same
    surface (a striped fabric's next stripe: at most `max_like_outside` of it looks typical) and reaches all
    four sides of the frame (a table round the sheet, not a sharp shadow across one side of it) is it a sheet
    on a table. A sheet that fills nearly the whole frame leaves the table as a strip along one to three sides
    (up to `max_share_strip` of the frame is the sheet); such a strip is table, not a shadow, only when it is
    unlike a shadow on the sheet: another colour (its chroma `strip_chroma` or more from the sheet's rim; a
    shadow darkens all channels alike) or `strip_brighter` times as bright as the sheet or more.
    """
    ref_lum = np.median(lum[inside])
    ref_chroma = np.median(chroma[inside], axis=0)
    log_ratio = np.log(lum / ref_lum)
    distance = np.linalg.norm(chroma - ref_chroma, axis=2)
    typical = (np.abs(log_ratio) <= seed_log) & (distance <= seed_chroma) & voting
    # The rise over three blocks (a sheet's edge, blurred over one or two blocks, rises fully within it; a
    # shadow's soft edge, over many, does not), brightness and chroma.
    square = np.ones((3, 3), np.uint8)
    log_lum = np.log(lum).astype(np.float32)
    edge = cv2.morphologyEx(log_lum, cv2.MORPH_GRADIENT, square) > step_log
    for k in range(chroma.shape[2]):
        channel = np.ascontiguousarray(chroma[..., k], dtype=np.float32)
        edge |= cv2.morphologyEx(channel, cv2.MORPH_GRADIENT, square) > step_chroma
    # The surface: the part within those edges that holds the most typical blocks.
    n, parts = cv2.connectedComponents((~edge).view(np.uint8), connectivity=4)
    votes = np.bincount(parts[typical & ~edge], minlength=n)
    if n <= 1 or votes[1:].max() == 0:
        return None
    grown = (parts == 1 + int(np.argmax(votes[1:]))) & voting
    pts = np.argwhere(grown)[:, ::-1].astype(np.int32)
    if len(pts) < 3:
        return None
    hull = np.zeros(lum.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(pts), 1)
    hull = cv2.dilate(hull, square)  # (the sheet's own blocks on its edge)
    n_voting = int(voting.sum())
    share = int(np.count_nonzero(hull.view(bool) & voting)) / n_voting
    if not min_share <= share <= max_share_strip:
        return None
    outside = voting & ~cv2.dilate(hull, square).view(bool)
    if np.count_nonzero(typical & outside) > max_like_outside * np.count_nonzero(outside):
        return None
    # A table lies round the sheet, on every side of the frame; a shadow with a sharp edge (the sun's) lies
    # on one side of it and is still the sheet.
    if outside[0].any() and outside[-1].any() and outside[:, 0].any() and outside[:, -1].any():
        return hull if share <= max_share else None
    # A strip along some sides: the table where the sheet nearly fills the frame (its grain, or the edge
    # between them, passes for hair), or a shadow. Compare the blocks just outside the hull with the
    # sheet's own rim just inside it.
    near = np.ones((9, 9), np.uint8)
    band = outside & cv2.dilate(hull, near).view(bool)
    rim = hull.view(bool) & ~cv2.erode(hull, near).view(bool) & voting
    if not band.any() or not rim.any():
        return None
    step = float(np.linalg.norm(np.median(chroma[band], axis=0) - np.median(chroma[rim], axis=0)))
    brighter = float(np.median(lum[band]) / np.median(lum[rim]))
    return hull if step >= strip_chroma or brighter >= strip_brighter else None


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
