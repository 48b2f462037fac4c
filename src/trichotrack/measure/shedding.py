"""Shed-hair analysis: find, trace and measure every hair on a photo of hairs lying on a surface.

Method, in order:

1. Regions not analysed: the caller's ignore mask, over-exposed cells, and what lies off the surface (a
   sheet's hull, not the table around it; `ridge.surface_mask`).
2. A working scale where hairs are one to two pixels wide: a 12-MP phone photo is halved, a 130 px/mm scan
   is reduced further (from the width of its strong lines).
3. Contrast against a local median background per colour channel, whitened and projected on the main
   colour direction; a Hessian line filter of one polarity (hairs darker or lighter, chosen from the
   data away from excluded regions and their outlines) with step edges suppressed, and a second, coarser
   scale where a photo analysed at its own resolution has hairs at the detection limit; hysteresis
   relative to the local noise level (`ridge`).
4. Clumps (dense patches, or patches wider than the background's reach with a fuzzy rim of strands) are
   excluded; they make the photo not countable.
5. Skeleton, graph of branches and junctions, ends paired straight through crossings (a hair's own loop
   threaded, not left as a hair of its own), gaps bridged, tapering tips followed (`trace`); pieces lying
   along the outline of an excluded region (a warped photo's black border) dropped. Lengths from the
   smoothed centre lines in full-size pixels, widths from each hair's mean cross-profile in the full-size
   photo.

The count is taken from the hair tips: every hair has two (a loop none). Only tips clear of every other hair
are trusted: a faint hair broken where it crosses a strong one, or a piece the tracing could not follow
through a crossing, leaves its ends beside another hair, and so do real tips that happen to lie there. Real
tips lie beside another hair as often as any point of the surface where hairs lie does, so the clear tips are
scaled up by the share of that surface clear of hairs, measured on the photo within a few millimetres of the
hairs (the bare rest of a sheet says nothing of where tips lie), and by no more than the ends that do lie
beside a hair, less those that meet another piece's end (one hair broken, not two tips). The number of traced
centre lines (``len(hairs)``, ``params["n_traced"]``) can therefore differ from `hair_count`. Pieces that are
no hair are left out first: short ones that are neither long nor visibly thick (lint), short ones curled
tighter than a hair lies and small closed rings (water droplets' rims, also where the skeleton leaves a rim
open but its ends meet), edges (a drain's rim, a sheet's or a stripe's edge: another surface on either side,
near the line and farther out), and, on a textured surface (a towel: more short pieces than long ones, or many
long pieces that wind at the scale of its loops, or, before any tracing, thousands of loose ends), pieces that
wind so. The interval widens with the sampling
error of the scaled tip count, short pieces and close calls in joining gaps. On a textured surface the count
is taken again, the same way, from the long pieces of what an opening by a straight line of a few millimetres
keeps of the photo at its own resolution (`towel`: hairs are straight at that scale, a towel's loops are not);
its interval is that of a photo not countable. A photo is not countable (with a plain sentence saying why)
when hairs are clumped, the photo is blurred or over-exposed, the hairs are too faint to trace (or, faint or
not, come out in short pieces: strong ones where curls and tangles cross), the hair and the surface are both
light or both dark, many of the hairs are pale on a light surface (grey hair: its white hairs do not show),
the surface's texture breaks the hairs up, the hairs lie so close together that most tips are beside another
hair, or no hairs were found; its interval is then wide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import cv2
import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree
from skimage.morphology import skeletonize

from trichotrack.measure import quality, ridge, towel, trace
from trichotrack.measure._validate import as_bool_2d, as_rgb_uint8, positive_finite
from trichotrack.measure.overlay import render_overlay

__all__ = [
    "ALGORITHM",
    "HAIR_COLOURS",
    "SHORT_HAIR_MM",
    "VERSION",
    "Hair",
    "SheddingResult",
    "analyze_shedding",
    "render_overlay",
]

ALGORITHM = "trichotrack.shedding"
VERSION = "1.12"
#: The hair colours a user may declare (`analyze_shedding`'s `hair_colour`): dark, light, or grey, a mix.
HAIR_COLOURS = ("black", "brown", "red", "blonde", "grey", "white")
_DARK_HAIR = ("black", "brown", "red")
_LIGHT_HAIR = ("blonde", "white")

#: The wash-test cut-off: hairs shorter than this are "short" (telogen vs broken/vellus).
SHORT_HAIR_MM = 30.0

DEFAULTS = {
    "polarity": "auto",  # hair darker or lighter than the background: "auto" (one, chosen), "both", ".."
    "surface_only": True,  # analyse only the surface of the dominant background colour
    "work_max_px": 3_500_000,  # the working image has at most this many pixels ...
    "min_factor": 1,  # ... and is reduced at least this many times (a resampled, rectified card: 2)
    "max_work_width_px": 4.0,  # hairs wider than this on the working image make it shrink further
    "line_sigma_px": 1.0,  # line filter scale on the working image
    "line_sigma_coarse_px": 1.5,  # a second, coarser scale for hairs at the detection limit (0: none)
    "edge_suppression": 1.5,  # how much of the slope is subtracted from the line response (step edges)
    "low_threshold": 3.5,  # hysteresis thresholds, in multiples of the local line-filter level
    "high_threshold": 7.0,
    "relative_floor": 0.0,  # foreground pixels reach this share of the line filter's local maximum
    "level_cell_px": 32,
    "min_level": 0.4,  # the line response of unit white noise has a median of about 0.5
    "level_quantile": 0.5,  # the local noise level is this quantile of the line response (hairs are many)
    "long_gap_px": 40.0,  # working px: faint stretches this long are bridged where the line goes on
    "min_extent_px": 10,  # components whose bounding box is smaller than this (working px) are dust
    "end_extension_px": 0.0,  # added to the length at each free end (the line filter reaches the tips)
    "min_length_mm": 5.0,  # shorter pieces count only when their width is resolved (lint is short too)
    "min_length_unscaled_px": 60.0,  # the same without a scale
    "stark_exclusion_lum": 40.0,  # excluded pixels this far (0-255) from the surface's brightness: an edge
    "min_fragment_mm": 1.0,  # shorter pieces are never counted
    "min_length_px": 14.0,  # ... nor pieces shorter than this on the full-size photo
    "resolved_width_px": 6.0,  # a width this many full-size pixels is measured, not just blur and shadow
    "min_width_mm": 0.04,  # a short piece thinner than this is a fibre
    "min_elongation": 12.0,  # ... and a short piece is at least this many times longer than wide
    "max_side_step": 0.5,  # surfaces either side of a piece differ by this share of its contrast: an edge
    "tip_clear_px": 6.0,  # working px: a hair end with another hair this close is not a trusted tip ...
    "tip_clear_widths": 2.0,  # ... nor with one this many hair widths away
    "texture_min_pieces": 20,  # a surface is textured when more short pieces than this ...
    "texture_piece_ratio": 1.0,  # ... and this many times the pieces long enough to be hairs are found
    "texture_window_mm": 2.0,  # on it, a piece's chord over this stretch ...
    "texture_window_widths": 12.0,  # (without a scale: this many hair widths)
    "texture_min_straightness": 0.96,  # ... is at least this share of the arc (median along it), or it winds
    "texture_winding_share": 0.25,  # ... and where more than this share of the long pieces wind (and > 20)
    "texture_many_ends": 5000,  # a line skeleton with this many free ends is a texture before it is traced
    "ring_max_mm": 15.0,  # a piece shorter than this ...
    "ring_min_straightness": 0.9,  # ... winding tighter than this over 1.5 `texture_window_mm` is no hair
    "ring_min_chord_share": 0.75,  # ... or curled so that its ends are closer than this share of its length
    "min_loop_lengths": 6.0,  # a closed piece is a hair only when this many times `min_length_mm` long ...
    "min_loop_straightness": 0.9,  # ... and no tighter than this (chord over arc across `texture_window_mm`)
    "loop_gap_share": 0.1,  # an open piece whose ends are closer than this share of its length ...
    "loop_gap_radii": 2.0,  # ... and than this many `tip_clear_px` radii is a loop with a gap (a rim)
    "tip_zone_radii": 16.0,  # tips are scaled by the share of the surface near a hair where hairs lie: here
    "max_tip_cover": 0.45,  # hairs within tip reach of this share of the surface: tips are mostly hidden
    "count_sampling_z": 1.5,  # the interval's reach, in standard deviations of the scaled tip count
    "count_rel_spread": 0.08,  # relative spread of the count beyond what the tracing says (interval)
    "uncountable_low": 0.3,  # an uncountable photo's interval reaches at least this share of the estimate
    "uncountable_high": 5.0,  # ... and this multiple of it, plus ten
    "uncertain_length_mm": 8.0,  # shorter pieces may be lint or broken off: they widen the interval
    "clump_window": 8.0,  # hair widths: where hair covers `clump_cover` of such a window, it is a clump
    "clump_cover": 0.5,
    "clump_min_lines": 0.2,  # share of hair-line pixels in a dense patch for a clump (a drain has few)
    "clump_blob_contrast": 3.0,  # a clump wider than the background's reach: its bump, noise units
    "clump_blob_fringe": 2.0,  # hair lines round a clump are this many times denser than on average
    "clump_blob_max_rim": 0.4,  # a clump's rim is fuzzy: steepest slope (per cell) / peak at most this
    "clump_min_area_mm2": 40.0,
    "blur_edge_px": 2.5,  # hair edges (10-90 % rise) wider than this, in photo pixels, are blurred ...
    "blur_edge_mm": 0.15,  # ... and, with a scale, wider than this on the surface
    "blur_edge_share": 0.5,  # ... or, without one, this share of the hair's width (not a wide hair)
    "overexposed_fraction": 0.02,
    "min_line_snr": 8.5,  # median line evidence along the hairs (over its noise level) below this: faint
    "strong_line_snr": 17.0,  # ... above this, hairs in many short pieces are not faint but tangled
    "light_surface_lum": 190,  # light hair on a surface at least this bright (0-255) is not countable
    "dark_surface_lum": 70,  # dark hair on a surface at most this bright is not countable
    "pale_quantile": 0.25,  # when this share of the hair length (dark lines on a light surface) ...
    "pale_shade_mm": 0.026,  # ... darkens less than this (darkening x width), hairs are pale: not countable
    "max_short_share": 0.25,  # more short pieces than this share of the count: hairs broken up (faint)
    "towel_line_mm": 3.0,  # on a textured surface, hair lines hold a straight stretch this long (`towel`) ...
    "towel_seed_level": 0.75,  # ... reach this multiple of the texture's top-hat level ...
    "towel_min_length_mm": 15.0,  # ... and are counted from pieces at least this long
    "towel_few_hairs": 3.0,  # fewer long lines than this many hairs' on a towel say little of the hairs
}


#: Working px round excluded regions and the frame that take no part in choosing the polarity: the outline
#: of an excluded dark object (a card's printed marker) leaves light ridges beside it, and narrow light
#: strips between printed elements are light lines too.
_POLARITY_MARGIN_PX = 6


@dataclass(frozen=True)
class Hair:
    """One traced hair.

    Attributes
    ----------
    centerline_rc : (K, 2) ndarray of float
        Centre line in photo pixels (rows, columns), ordered from one end to the other, through crossings.
    length_px, length_mm : float
        Length along the smoothed centre line; `length_mm` is None without a scale.
    width_px, width_mm : float
        Mean shaft width (equivalent width of the mean cross-profile); `width_mm` None without a scale, both
        None where not measured (a towel's lines: its texture widens every profile).
    touches_border : bool
        Cut by the photo edge or by an excluded region: the length is a lower bound.
    crossings : int
        Crossings this hair passes through (a self-crossing counts on each pass).
    """

    centerline_rc: np.ndarray
    length_px: float
    length_mm: float | None
    width_px: float | None
    width_mm: float | None
    touches_border: bool
    crossings: int


@dataclass(frozen=True)
class SheddingResult:
    """What `analyze_shedding` found.

    Attributes
    ----------
    hairs : tuple of Hair
    hair_count : int
        Estimated from the hair tips (see the module notes); ``len(hairs)`` may be larger.
    count_low, count_high : int
        An interval meant to hold the true count at least 80 % of the time; it widens with unresolved
        junctions, short pieces and close calls, and is wide when the photo is not countable.
    countable : bool
        False when the count cannot be trusted; `problems` says why.
    problems : tuple of str
        One plain sentence each.
    mm_per_px : float or None
    short_hair_fraction : float or None
        Share of hairs shorter than 30 mm (whole short hairs, scaled for those with a tip against another
        hair, over the count); None without a scale, without hairs, or when the photo is not countable.
    crossings_rc : (C, 2) ndarray of float
    excluded_mask : (M, N) ndarray of bool
        Regions not analysed: clumps, the caller's ignore mask, over-exposed areas.
    algorithm, version : str
    params : dict
    """

    hairs: tuple[Hair, ...]
    hair_count: int
    count_low: int
    count_high: int
    countable: bool
    problems: tuple[str, ...]
    mm_per_px: float | None
    short_hair_fraction: float | None
    crossings_rc: np.ndarray
    excluded_mask: np.ndarray
    algorithm: str = ALGORITHM
    version: str = VERSION
    params: dict = field(default_factory=dict)


def analyze_shedding(
    image,
    *,
    mm_per_px: float | None = None,
    ignore_mask=None,
    hair_colour: str | None = None,
    photo_px: int | None = None,
    **tuning,
) -> SheddingResult:
    """Count, trace and measure shed hairs on a photo.

    Parameters
    ----------
    image : (M, N, 3) or (M, N) ndarray
        The photo (uint8, uint16 or float in [0, 1]), ideally warped to the card plane. Not modified.
    mm_per_px : float, optional
        Scale of `image`; without it lengths and widths are in pixels only.
    ignore_mask : (M, N) ndarray of bool, optional
        Pixels not to analyse (the card's printed markers, anything that is not the surface).
    hair_colour : str, optional
        The colour of the hairs as the user knows it, one of `HAIR_COLOURS`. The photo shows only the hairs
        that stand out from the surface: declared light hair on a light surface (or dark on dark) is not
        countable whatever lines were found there, and grey hair, a mix of dark and white hairs, is never
        countable in one photo (one kind or the other barely shows). Without it, the engine judges from
        the lines it finds.
    photo_px : int, optional
        Pixel count of the photo that `image` was cut from (the card cut out of a rectified photo). The
        working scale is chosen for the whole photo, whose hairs are as fine as the cut-out's; by default
        for `image` itself.
    **tuning
        Overrides of `DEFAULTS` (for experiments and benchmarks).

    Returns
    -------
    SheddingResult

    Raises
    ------
    ValueError
        Bad image, scale, mask shape or unknown tuning key.
    """
    rgb = as_rgb_uint8(image, name="image")
    rows, cols = rgb.shape[:2]
    if mm_per_px is not None:
        mm_per_px = positive_finite(mm_per_px, name="mm_per_px")
    if ignore_mask is not None:
        ignore_mask = as_bool_2d(ignore_mask, name="ignore_mask")
        if ignore_mask.shape != (rows, cols):
            raise ValueError(f"ignore_mask shape {ignore_mask.shape} differs from image shape {(rows, cols)}")
    if hair_colour is not None and hair_colour not in HAIR_COLOURS:
        raise ValueError(f"hair_colour must be one of {HAIR_COLOURS}, got {hair_colour!r}")
    if photo_px is not None and (isinstance(photo_px, bool) or not isinstance(photo_px, int) or photo_px < 1):
        raise ValueError(f"photo_px must be a positive int, got {photo_px!r}")
    unknown = set(tuning) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown tuning parameter(s): {sorted(unknown)}")
    p = {**DEFAULTS, **tuning}
    problems: list[str] = []

    # --- excluded regions of the full photo.
    excluded = np.zeros((rows, cols), bool) if ignore_mask is None else ignore_mask.copy()
    if p["surface_only"]:
        excluded |= ~ridge.surface_mask(rgb, ignore=ignore_mask)
    over = quality.overexposed_mask(rgb)
    over_fraction = float(over.mean())
    overexposed = over_fraction >= p["overexposed_fraction"]
    if over.any():
        excluded |= over
    if overexposed:
        problems.append(
            "Part of the photo is over-exposed; lower the exposure or move away from direct light."
        )

    # --- working scale: about 3.5 MP, hairs at most ~4 px wide.
    factor = max(p["min_factor"], math.ceil(math.sqrt((photo_px or rows * cols) / p["work_max_px"]) - 1e-9))
    work, contrast, info, excluded_work = _prepare(rgb, factor, excluded)
    # (Excluded regions, a card's printed markers, would pass for very wide hairs.)
    width_est = _foreground_width_px(contrast, excluded_work)
    if width_est > p["max_work_width_px"]:
        factor = factor * max(2, round(width_est / 2.0))
        work, contrast, info, excluded_work = _prepare(rgb, factor, excluded)
        width_est = _foreground_width_px(contrast, excluded_work)
    wrows, wcols = work.shape[:2]

    polarity = {"auto": None, "both": 0, "dark": -1, "light": 1}[p["polarity"]]
    # Line evidence over the local noise level, at the fine scale and (for faint, blurred hairs, whose
    # evidence a wider filter gathers along and across them) a coarser one: the larger wins.
    # The coarse scale only where the hairs are at the detection limit (the median evidence on the lines
    # found is below the seed level) in a photo analysed at its own resolution: it would merge strong
    # hairs that lie close together, and in a larger photo the reduction to the working scale has already
    # averaged the noise away (a coarse scale there mostly finds a towel's texture).
    evidence, seeds = None, None
    fine_snr, coarse_used = float("nan"), False
    for sigma in (p["line_sigma_px"], p["line_sigma_coarse_px"]):
        if evidence is not None:
            if not sigma or sigma <= p["line_sigma_px"] or factor > 1:
                continue  # (a larger photo's reduction has already gathered the evidence of its pixels)
            on_lines = ridge.hysteresis(
                (evidence > np.float32(p["low_threshold"])) & ~excluded_work,
                seeds > np.float32(p["high_threshold"]),
            )
            fine_snr = float(np.median(evidence[on_lines])) if on_lines.any() else 0.0
            if fine_snr >= p["high_threshold"]:
                continue  # the hairs stand out at the fine scale
            coarse_used = True
        strength, raw, polarity = ridge.line_strength(
            contrast,
            sigma_px=sigma,
            edge_suppression=p["edge_suppression"],
            polarity=polarity,
            # (Only where the polarity is still to be chosen.)
            ignore=_edge_zone(excluded_work, margin_px=_POLARITY_MARGIN_PX) if polarity is None else None,
            band_edges=info["band_edges"],
        )
        level = ridge.local_level(raw, cell_px=p["level_cell_px"], quantile=p["level_quantile"])
        # A floor: in a smooth (blurred, noiseless) photo the 8-bit steps must not pass for lines (the
        # response of noise falls as the scale grows).
        np.maximum(level, np.float32(p["min_level"] * p["line_sigma_px"] / sigma), out=level)
        raw /= level
        strength /= level
        if evidence is None:
            evidence, seeds = raw, strength
        else:
            np.maximum(evidence, raw, out=evidence)
            np.maximum(seeds, strength, out=seeds)
        del strength, raw, level
    # Seeds must be lines (edge-suppressed response); the hair grows from them on the plain response, so
    # crossings, where the other hair's slope would cut it, stay joined.
    weak = (evidence > np.float32(p["low_threshold"])) & ~excluded_work
    if p["relative_floor"] > 0:
        weak &= evidence >= np.float32(p["relative_floor"]) * cv2.dilate(evidence, np.ones((5, 5), np.uint8))
    fg = _seeded_lines(weak, seeds > np.float32(p["high_threshold"]), min_extent_px=p["min_extent_px"])
    support = cv2.dilate(evidence, np.ones((3, 3), np.uint8))  # line evidence, a pixel either way
    support[excluded_work] = 0
    del evidence, seeds, weak

    # --- clumps: places where hair covers most of the surface.
    hair_w = max(1.0, min(width_est, p["max_work_width_px"]))
    clump_work = _clump_mask(
        contrast,
        polarity,
        fg,
        excluded_work,
        info,
        hair_width_px=hair_w,
        window=p["clump_window"],
        min_cover=p["clump_cover"],
        min_lines=p["clump_min_lines"],
        blob_contrast=p["clump_blob_contrast"],
        blob_max_rim=p["clump_blob_max_rim"],
        blob_fringe=p["clump_blob_fringe"],
    )
    clump_area_px = float(clump_work.sum()) * factor**2
    min_clump_px = (
        p["clump_min_area_mm2"] / mm_per_px**2 if mm_per_px is not None else 4.0 * (20 * factor) ** 2
    )
    n_clumps = 0
    clump_fg_px = 0
    if clump_area_px >= min_clump_px:
        n_lab, lab, stats, _ = cv2.connectedComponentsWithStats(clump_work.astype(np.uint8), connectivity=8)
        big = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] * factor**2 >= min_clump_px) + 1
        keep = np.zeros(n_lab, bool)
        keep[big] = True
        clump_work = keep[lab]
        n_clumps = len(big)
        clump_fg_px = int((fg & clump_work).sum())
        fg &= ~clump_work
        excluded |= _grow_mask(clump_work, (rows, cols))
        excluded_work |= clump_work
    if n_clumps:
        regions = "1 region" if n_clumps == 1 else f"{n_clumps} regions"
        problems.append(f"Hairs are clumped together in {regions}; spread them out so each hair lies apart.")

    skeleton = skeletonize(fg)
    # A towel's loops leave thousands of short pieces with free ends. Tracing them takes most of the time
    # and their pieces are not counted: such a surface is textured before it is traced, and the count is
    # taken from the towel's lines alone, as below. (On the two benchmarks' 192 photos, hair on paper, a
    # pillowcase or the card leaves at most 3,300 free ends, 242 curly white hairs on the card's dark
    # field; six of the 18 towels leave 5,900 to 13,400, and their counts come out as when traced.)
    n_free_ends = _free_ends(skeleton)
    textured_early = n_free_ends >= p["texture_many_ends"]
    if textured_early:
        skeleton[:] = False
    traced = trace.trace_skeleton(skeleton, width_px=hair_w, support=support, long_gap_px=p["long_gap_px"])
    # Median line evidence along each path (all paths at once).
    if traced.paths:
        along = np.round(np.concatenate(traced.paths)).astype(int)
        along_values = support[np.clip(along[:, 0], 0, wrows - 1), np.clip(along[:, 1], 0, wcols - 1)]
        path_snr = _group_medians(along_values, [len(pth) for pth in traced.paths]).tolist()
    else:
        path_snr = []
    del support

    # --- hairs in full-size pixels.
    floor_px = p["min_length_px"]
    if mm_per_px is not None:
        floor_px = max(floor_px, p["min_fragment_mm"] / mm_per_px)
        full_px = p["min_length_mm"] / mm_per_px
    else:
        full_px = p["min_length_unscaled_px"]
    margin = max(2, round(1.5 * hair_w + 1))
    near_edge = _edge_zone(excluded_work, margin_px=margin)
    near_frame = _frame_band(excluded_work.shape, width_px=2 * margin)  # (= _edge_zone of nothing excluded)
    # The background estimate next to an excluded region (a black warp border) leaves a line along it.
    # Only where the excluded region looks unlike the surface (a black border, the table, printed markers):
    # a region excluded for what it is, not for how it looks (the thin margin round a card's field outline,
    # white paper), leaves no such line, and hairs are often laid along it.
    channel_sum = work[..., 0].astype(np.uint16)
    channel_sum += work[..., 1]
    channel_sum += work[..., 2]
    lum_work = channel_sum.astype(np.float32) / np.float32(3)  # (= work.mean(axis=2, dtype=np.float32))
    surface_lum_work = _median_lum(channel_sum[~excluded_work]) if (~excluded_work).any() else 0.0
    del channel_sum
    stark = excluded_work & (np.abs(lum_work - np.float32(surface_lum_work)) > p["stark_exclusion_lum"])
    outline_zone = _edge_zone(stark, margin_px=2 * margin)
    del lum_work, stark
    along_outline = _along_edge(traced.paths, outline_zone)
    candidates = []
    smoothed = trace.smooth_paths(traced.paths, traced.closed, sigma_px=1.5)
    fulls = [(smooth + 0.5) * factor - 0.5 for smooth in smoothed]
    # Whether either end of each piece lies near an excluded region or the frame (all pieces at once).
    end_near_edge, end_near_frame = _at_ends(traced.paths, near_edge), _at_ends(traced.paths, near_frame)
    for path_i, (full, length, closed, at_junction, n_cross, snr, on_outline, smooth) in enumerate(
        zip(
            fulls,
            trace.path_lengths(fulls).tolist(),
            traced.closed,
            traced.ends_at_junction,
            traced.crossings,
            path_snr,
            along_outline,
            smoothed,
            strict=True,
        )
    ):
        if not closed and p["end_extension_px"]:
            # Where the skeleton stops short of a free end (working pixels).
            length += factor * p["end_extension_px"] * (int(not at_junction[0]) + int(not at_junction[1]))
        touches = at_frame = False
        if not closed and on_outline:
            continue  # the outline of an excluded region (a warped photo's border, a sheet's), not a hair
        if not closed:
            touches, at_frame = end_near_edge[path_i], end_near_frame[path_i]
        # A piece cut by the photo's frame is reported (flagged), even when little of it shows.
        if length >= (0.5 * floor_px if at_frame else floor_px):
            candidates.append((full, length, touches, at_frame, n_cross, closed, at_junction, snr, smooth))

    cand_paths = [c[0] for c in candidates]
    cand_arcs = _arc_lengths(cand_paths)
    widths, (edge_px, profile_w_px), shades_px, steps = _cross_profiles(
        rgb, cand_paths, info, factor=factor, width_est=width_est, arcs=cand_arcs
    )
    resolved_all, long_enough = [], []
    for (_full, length, _t, at_frame, *_rest), width in zip(candidates, widths, strict=True):
        # Lint and fibres are short too: a short piece counts only when it is visibly as thick as a hair.
        resolved = bool(math.isfinite(width) and width >= p["resolved_width_px"])
        if mm_per_px is not None:
            resolved = resolved and width * mm_per_px >= p["min_width_mm"]
        # ... and is a line, not a speck of dust: many times longer than wide.
        resolved = resolved and length >= p["min_elongation"] * width
        resolved_all.append(resolved)
        long_enough.append(resolved or length >= (0.5 * full_px if at_frame else full_px))
    # A textured surface (a towel's loops) breaks into more short line pieces than there are pieces long
    # enough to be hairs; the longer ones it leaves wind at the scale of its loops, where a hair lying on a
    # surface is smooth. There, pieces that wind are not counted. Where the loops touch, the texture also
    # chains into long pieces (more long pieces than short ones), but they still wind: many long pieces
    # that wind, and a good share of them, make a surface textured too (a hair is smooth at the scale of a
    # towel's loops, however curly: a curl's radius is millimetres).
    wind_px = (
        p["texture_window_mm"] / mm_per_px
        if mm_per_px is not None
        else p["texture_window_widths"] * hair_w * factor
    )
    judge = np.array(long_enough, bool) & ~np.array(resolved_all, bool)
    straightness = _straightness(cand_paths, cand_arcs, window_px=wind_px, which=judge).tolist()
    # (Over a longer stretch, for the pieces that may be rings: those kept and not edges.)
    ring_straightness = _straightness(
        cand_paths,
        cand_arcs,
        window_px=1.5 * wind_px,
        short_ok=True,
        which=np.array(long_enough, bool) & ~(np.array(steps, float) > p["max_side_step"]),
    ).tolist()
    judged = np.array([v for v in straightness if np.isfinite(v)])
    n_long_judged = len(judged)
    n_long_winding = int((judged < p["texture_min_straightness"]).sum())
    n_short_pieces_all = len(long_enough) - sum(long_enough)
    textured = n_short_pieces_all > max(p["texture_min_pieces"], p["texture_piece_ratio"] * sum(long_enough))
    textured |= n_long_winding > max(p["texture_min_pieces"], p["texture_winding_share"] * n_long_judged)
    textured |= textured_early
    tip_radius = max(p["tip_clear_px"], p["tip_clear_widths"] * hair_w)
    hairs = []
    n_fragments = 0
    n_edges = 0
    n_texture = 0
    n_open_ends = n_junction_ends = n_closed = 0
    resolved_flags = []
    hair_ends = []
    snrs = []
    kept_shades = []  # (shade px, length px) of each hair kept
    kept_work = []  # (working-scale centre line, closed) of each hair kept
    for (
        full,
        length,
        touches,
        _at_frame,
        n_cross,
        closed,
        at_junction,
        snr,
        smooth,
    ), width, resolved, keep, shade, side_step, straight, ring_straight in zip(
        candidates,
        widths,
        resolved_all,
        long_enough,
        shades_px,
        steps,
        straightness,
        ring_straightness,
        strict=True,
    ):
        if not keep:
            n_fragments += 1
            continue
        if side_step > p["max_side_step"]:
            # One surface on one side, another on the other: the edge of an object (a drain's rim, the
            # border of a shadow or of a sheet), not a hair lying on the surface.
            n_edges += 1
            continue
        ring_like = ring_straight < p["ring_min_straightness"]
        looped = closed
        if not closed:
            chord = float(np.hypot(*(full[-1] - full[0])))
            ring_like |= chord < p["ring_min_chord_share"] * length
            # Ends that meet: a ring the skeleton left open where its rim fades or a speck touches it (a
            # water droplet's rim), judged as a closed piece; a hair's two tips seldom lie side by side.
            looped = chord < min(p["loop_gap_share"] * length, p["loop_gap_radii"] * tip_radius * factor)
        # (Not a piece whose width is resolved, as on a scan: a snippet of a tightly curled hair.)
        if (
            not resolved
            and length < p["ring_max_mm"] / (mm_per_px or 1.0) * (1.0 if mm_per_px else wind_px / 2.0)
            and ring_like
        ):
            # A short piece curled tighter than a hair lies: the rim of a water droplet, a speck's outline.
            n_fragments += 1
            continue
        if (
            looped
            and not resolved
            and (length < p["min_loop_lengths"] * full_px or straight < p["min_loop_straightness"])
        ):
            # A small tight ring is the rim of a water droplet or a speck, not a hair that closes on itself.
            n_fragments += 1
            continue
        if textured and not resolved and straight < p["texture_min_straightness"]:
            n_fragments += 1
            n_texture += 1
            continue
        resolved_flags.append(resolved)
        open_ends = 0 if closed else 2 - int(at_junction[0]) - int(at_junction[1])
        n_open_ends += open_ends
        n_junction_ends += 0 if closed else 2 - open_ends
        n_closed += int(closed)
        hair_ends.append(open_ends)
        kept_work.append((smooth, closed))
        snrs.append((snr, length))
        kept_shades.append((shade, length))
        hairs.append(
            Hair(
                centerline_rc=full,
                length_px=float(length),
                length_mm=None if mm_per_px is None else float(length * mm_per_px),
                width_px=float(width),
                width_mm=None if mm_per_px is None or not np.isfinite(width) else float(width * mm_per_px),
                touches_border=bool(touches),
                crossings=int(n_cross),
            )
        )
    hairs = tuple(hairs)

    # Blur spreads hair edges over more pixels than the lens does. A scan's pixels are much finer than its
    # optics, so with a scale the spread must also be large on the surface; without one, a wide hair's
    # edges are a small share of its width while a blurred thin hair is all edge.
    blurred = bool(hairs and edge_px > p["blur_edge_px"])
    if blurred and mm_per_px is not None:
        blurred = edge_px * mm_per_px > p["blur_edge_mm"]
    elif blurred:
        blurred = edge_px > p["blur_edge_share"] * profile_w_px
    if blurred:
        problems.append("The photo is blurred; hold the phone still and tap to focus.")
    line_snr = _weighted_median(*np.array(snrs).T) if snrs else float("nan")
    # Faint hairs, or hairs lost in a texture, come out in short pieces (and lint looks alike).
    short_px = full_px * p["uncertain_length_mm"] / p["min_length_mm"]
    # (A short piece as thick as a hair, as on a scan, is a snippet of hair, not a doubt.)
    n_short_pieces = sum(
        1
        for h, resolved in zip(hairs, resolved_flags, strict=True)
        if h.length_px < short_px and not resolved
    )
    broken_up = n_short_pieces > p["max_short_share"] * (n_open_ends / 2 + n_closed) + 2
    faint = bool(hairs) and (line_snr < p["min_line_snr"] or broken_up)
    # Strong hairs in many short pieces are not faint: curls and tangles broken where they cross, which the
    # count from clear tips does not hold up against either; the photo is not countable for that reason.
    crossed = faint and line_snr >= p["strong_line_snr"]
    if crossed:
        problems.append(
            "Many hairs come out in short pieces where they curl or cross one another, so the count is"
            " uncertain; spread them out so that fewer cross."
        )
    elif faint:
        problems.append(
            "The hairs barely stand out from the background, so some are missed or broken up; photograph dark"
            " hair on white paper and light hair on dark paper, in good light."
        )
    # Light hair on a light surface (or dark on dark) is mostly invisible: the few found say nothing of the
    # rest. The protocol asks for dark paper under light hair and white paper under dark hair.
    grid = info["background_grid"].astype(np.float32).mean(axis=2)
    inside = ~_shrink_mask(excluded_work, grid.shape)
    surface_lum = float(np.median(grid[inside])) if inside.any() else float(np.median(grid))
    # (Hair declared light or dark is judged as declared: lint or shadows on white paper are dark lines, but
    # white hair there is not seen at all.)
    declared = hair_colour in (*_LIGHT_HAIR, *_DARK_HAIR)
    light_hair = hair_colour in _LIGHT_HAIR if declared else polarity > 0
    dark_hair = hair_colour in _DARK_HAIR if declared else polarity < 0
    unsuited = light_hair and surface_lum >= p["light_surface_lum"]
    unsuited |= dark_hair and surface_lum <= p["dark_surface_lum"]
    if (hairs or hair_colour is not None) and unsuited:
        problems.append(
            "Light hair barely shows on a light surface; photograph it on dark paper."
            if light_hair
            else "Dark hair barely shows on a dark surface; photograph it on white paper."
        )
    # Grey hair mixes dark, grey and white hairs: on a light surface the white ones do not show, on a dark
    # one the dark ones, on a mid-tone one the grey ones. What is found is a part of the hairs.
    mixed = hair_colour == "grey"
    if mixed:
        problems.append(
            "Grey hair mixes dark and white hairs, and no one surface shows them all (white ones are missed"
            " on light paper, dark ones on dark paper), so the count is of the hairs that show and may be"
            " well short of all of them."
        )
    # Dark lines on a light surface, but many of them pale (grey, white or blonde hair; grey hair is a mix
    # of pigmented and white hairs): the whitest of them do not show at all, and the count found says
    # nothing of them. A hair's shade (its darkening times its width) does not depend on focus or
    # exposure; a pigmented hair at least 0.04 mm wide darkens more than `pale_shade_mm`.
    pale_shade = _weighted_quantile(kept_shades, p["pale_quantile"])
    if mm_per_px is not None and np.isfinite(pale_shade):
        pale_shade *= mm_per_px
    pale = bool(
        hairs
        and not unsuited
        and not mixed
        and polarity < 0
        and mm_per_px is not None
        and pale_shade < p["pale_shade_mm"]
    )
    if pale:
        problems.append(
            "Many hairs are pale (grey, white or blonde) and barely show on a light surface, so white ones"
            " are missed; photograph them on dark paper."
        )
    if not hairs and not n_clumps and not textured_early:
        problems.append("No hairs were found.")
        if surface_lum >= p["light_surface_lum"] and hair_colour is None:
            # (White hairs on white paper leave no trace at all: say what else an empty photo can mean.)
            problems.append(
                "White or grey hair does not show on a light surface; photograph it on dark paper."
            )
    if (hairs or textured_early) and textured:
        # Winding pieces are left out, but the texture also breaks the hairs themselves into pieces.
        problems.append(
            "The surface is textured (a towel's loops, a rough paper): its pattern passes for hairs and"
            " breaks real ones up, so the count may be far off either way; lay the hairs on the card or on"
            " plain paper."
        )
    # On a striped surface the background follows the bands, but a hair lying along a band edge is lost
    # with it and hairs break where they cross the bands: the count is not to be trusted.
    banded = info["banded"] is not None
    if hairs and banded:
        problems.append(
            "The surface is striped: hairs that lie along the stripes are lost and others break up where"
            " they cross them, so the count may be far off; lay the hairs on the card or on plain paper."
        )

    # --- the count, from hair tips: every hair has two (a loop none). Only tips lying clear of every other
    # hair are trusted: a hair broken where it crosses another (a faint hair fades next to a strong one)
    # leaves ends beside that hair, and so does a piece the tracing could not follow through a crossing.
    # A real tip lies beside another hair as often as any point of the surface does, so the clear tips are
    # scaled up by the share of the surface clear of hairs, measured on the photo itself.
    # (... but never by more than the ends that do lie beside another hair: in a sparse photo all are clear.
    # Two ends that meet end to end are one hair broken where the tracing could not join it, at a crossing
    # or a faint stretch, not two tips: they are not among the ends that may hide tips.)
    tips = _tips(kept_work, excluded_work, p, tip_radius)
    cover, cover_all = tips.cover, tips.cover_all
    # (If some that meet were two hairs' tips after all, the count is higher: the interval reaches there.)
    met_tips = tips.met
    tip_count = tips.clear + tips.hidden
    estimate = tip_count / 2 + n_closed
    count = max(round(estimate), 1) if hairs else 0
    unc_len_px = full_px * p["uncertain_length_mm"] / p["min_length_mm"]
    n_short = sum(
        1
        for h, resolved in zip(hairs, resolved_flags, strict=True)
        if h.length_px < unc_len_px and not resolved
    )
    # The scaled tip count varies as a binomial share of the tips does (its standard deviation, in hairs,
    # is sqrt(tips * cover / (1 - cover)) / 2); beyond that: gaps in faint hairs (two false tips each) and
    # short pieces downward, close ends that may be one hair's gap or two hairs upward.
    sampling = math.sqrt(max(tip_count, 0.0) * cover / max(1.0 - cover, 0.05)) / 2
    spread = p["count_rel_spread"] * estimate + 1.0 + p["count_sampling_z"] * sampling
    # (A short piece may be a short hair, lint, or a stretch of a faint hair between two gaps.)
    down = spread + n_short + 0.5 * traced.n_weak_joins
    up = spread + 0.5 * traced.n_near_misses + met_tips / 2
    count_low = max(0, math.floor(estimate - down)) if hairs else 0
    count_high = math.ceil(estimate + up) if hairs else 0
    if n_clumps:
        # Hairs inside a clump: at least one per clump, and roughly its foreground area over a hair's.
        med_len = np.median([h.length_px for h in hairs]) / factor if hairs else 50.0 * hair_w
        guess = clump_fg_px / max(med_len * hair_w, 1.0)
        count_high = max(count_high, math.ceil(count + 3 * guess + 2 * n_clumps))
    count_low = min(count_low, count)
    count_high = max(count_high, count)

    crossings_rc = (traced.crossings_rc + 0.5) * factor - 0.5
    # Only crossings on hairs that were kept (not those of an edge, a droplet's rim or lint).
    crossings_rc = crossings_rc[
        _on_paths(traced.crossings_rc, [pth for pth, _c in kept_work], (wrows, wcols))
    ]
    # The count rests on the tips clear of other hairs. Where hairs lie so close that most of the surface is
    # next to one, few tips are clear and the count is guesswork.
    tangled = bool(hairs) and not n_clumps and cover_all > p["max_tip_cover"]
    if tangled:
        problems.append(
            "Too many hairs lie across one another to count them reliably; spread them out so fewer cross."
        )
    countable = (
        count > 0
        and not n_clumps
        and not blurred
        and not overexposed
        and not faint
        and not unsuited
        and not mixed
        and not pale
        and not tangled
        and not textured
        and not banded
    )
    short_fraction = None
    if mm_per_px is not None and countable:
        # Short hairs cross few others and come out whole, both ends free, unless an end lies against another
        # hair: the whole short pieces, and as many more as the tips (scaled by the chance of a tip lying
        # beside another hair, never beyond the short pieces that are not whole), against the estimated
        # count. (Unscaled, the share came out low wherever hairs lie close: by 0.056 in the median on an
        # independent renderer's photos.) On a photo that is not countable neither is trustworthy: a
        # towel's loops come out as short pieces, a blurred hair as broken ones.
        short = [ends for h, ends in zip(hairs, hair_ends, strict=True) if h.length_mm < SHORT_HAIR_MM]
        whole_short = short.count(2)
        hidden_short = min(whole_short * cover / max(1.0 - cover, 0.05), len(short) - whole_short)
        short_fraction = float(min(1.0, (whole_short + hidden_short) / max(estimate, 1.0)))
    if hairs and not countable:
        # What made the photo uncountable (blur, glare, faint hairs, a clump, a tangle) hides or breaks up
        # hairs in ways the tracing cannot measure: the interval says so.
        count_low = min(count_low, math.floor(p["uncountable_low"] * estimate))
        count_high = max(count_high, math.ceil(p["uncountable_high"] * estimate + 10))
    towel_lines = None
    if (hairs or textured_early) and textured:
        # The texture's own pieces pass for hairs and break real ones up. Hairs are thinner than a towel's
        # yarn and straight over a few millimetres where its loops are not: the count is taken again from
        # the ends of the long pieces of what a straight line's opening keeps (`towel`), clear tips scaled
        # as above. The photo stays not countable; the interval is an uncountable photo's.
        towel_lines = towel.towel_lines(
            rgb,
            excluded,
            excluded_work,
            mm_per_px=mm_per_px,
            factor=factor,
            line_mm=p["towel_line_mm"],
            seed_level=p["towel_seed_level"],
            min_length_mm=p["towel_min_length_mm"],
            long_gap_px=p["long_gap_px"],
            polarity=-1 if hair_colour in _DARK_HAIR else 1 if hair_colour in _LIGHT_HAIR else None,
        )
        # (Tips are judged at the width the lines were traced at.)
        towel_tip_radius = max(p["tip_clear_px"], p["tip_clear_widths"] * 1.5)
        lines = list(zip(towel_lines.paths, towel_lines.closed, strict=True))
        towel_tips = _tips(lines, excluded_work, p, towel_tip_radius)
        estimate = (towel_tips.clear + towel_tips.hidden) / 2 + sum(towel_lines.closed)
        count = round(estimate)
        count_low = math.floor(p["uncountable_low"] * estimate)
        count_high = math.ceil(p["uncountable_high"] * estimate + 10)
        # What was counted is what is shown and reported: the long lines, not the texture's pieces.
        hairs = _hairs_of_lines(towel_lines, near_edge, factor=factor, mm_per_px=mm_per_px)
        crossings_rc = crossings_rc[:0]
        if estimate < p["towel_few_hairs"]:
            # Next to no long lines: the hairs may not stand out from this towel at all (auburn on a
            # red-brown one); they are not known to be few. The interval reaches every piece found.
            count_low = 0
            count_high = max(count_high, n_free_ends // 2 if textured_early else len(candidates))
        if n_clumps:
            count_high = max(count_high, math.ceil(count + 3 * guess + 2 * n_clumps))
    params = {
        **p,
        "hair_colour": hair_colour,
        "working_factor": factor,
        "hair_width_work_px": round(float(hair_w), 3),
        "edge_width_px": None if not np.isfinite(edge_px) else round(float(edge_px), 3),
        "profile_width_px": None if not np.isfinite(profile_w_px) else round(float(profile_w_px), 3),
        "overexposed_share": round(over_fraction, 5),
        "colour_direction": [round(v, 4) for v in info["direction"]],
        "n_ambiguous_junctions": traced.n_ambiguous,
        "n_unpaired_ends": traced.n_unpaired_ends,
        "n_weak_joins": traced.n_weak_joins,
        "n_near_misses": traced.n_near_misses,
        "n_short": n_short,
        "n_fragments": n_fragments,
        "n_edges": n_edges,
        "textured": bool(textured),
        "textured_before_tracing": bool(textured_early),
        "n_free_skeleton_ends": int(n_free_ends),
        "banded": None if info["banded"] is None else {k: round(v, 4) for k, v in info["banded"].items()},
        "n_texture_pieces": n_texture,
        "n_short_candidates": int(n_short_pieces_all),
        "n_long_candidates": int(sum(long_enough)),
        "n_long_judged": n_long_judged,
        "n_long_winding": n_long_winding,
        "n_open_ends": n_open_ends,
        "n_junction_ends": n_junction_ends,
        "n_clear_ends": tips.clear,
        "n_meeting_ends": tips.meeting,
        "tip_cover": round(float(cover), 4),
        "surface_cover": round(float(cover_all), 4),
        "n_traced": len(hairs),
        "polarity": int(polarity),
        "surface_lum": round(surface_lum, 1),
        "count_estimate": round(float(estimate), 2),
        "line_snr": None if not np.isfinite(line_snr) else round(float(line_snr), 2),
        "fine_line_snr": None if not np.isfinite(fine_snr) else round(fine_snr, 2),
        "coarse_scale_used": coarse_used,
        "pale_shade": None if not np.isfinite(pale_shade) else round(float(pale_shade), 5),
        "pale": pale,
        "towel_pieces": None if towel_lines is None else len(towel_lines.paths),
        "towel_polarity": None if towel_lines is None else towel_lines.polarity,
        "towel_threshold": None if towel_lines is None else towel_lines.threshold,
    }
    return SheddingResult(
        hairs=hairs,
        hair_count=count,
        count_low=int(count_low),
        count_high=int(count_high),
        countable=bool(countable),
        problems=tuple(problems),
        mm_per_px=mm_per_px,
        short_hair_fraction=short_fraction,
        crossings_rc=crossings_rc,
        excluded_mask=excluded,
        algorithm=ALGORITHM,
        version=VERSION,
        params=params,
    )


def _hairs_of_lines(lines, near_edge, *, factor, mm_per_px) -> tuple[Hair, ...]:
    """`towel.TowelLines` as hairs: centre lines in photo pixels and lengths; widths not measured (the
    texture beside a hair widens its cross-profile several times over)."""
    touches = _at_ends(list(lines.paths), near_edge)
    return tuple(
        Hair(
            centerline_rc=(path + 0.5) * factor - 0.5,
            length_px=float(length),
            length_mm=None if mm_per_px is None else float(length * mm_per_px),
            width_px=None,
            width_mm=None,
            touches_border=bool(touch),
            crossings=0,
        )
        for path, length, touch in zip(lines.paths, lines.lengths_px, touches, strict=True)
    )


class _Tips(NamedTuple):
    clear: int  # open ends with no other hair within the tip radius
    cover: float  # share of the surface near hairs that lies within the tip radius of one
    cover_all: float  # the same share over the whole surface
    hidden: float  # tips beside another hair, estimated from the clear ones and `cover`
    met: float  # ends that meet another end and might, after all, be two hairs' tips
    meeting: int  # open ends within the tip radius of another piece's end


def _tips(kept_work, excluded_work, p, tip_radius) -> _Tips:
    """The hair tips of `kept_work` ((working-scale centre line, closed) each): the clear ones, and those
    hidden beside other hairs, scaled from the clear ones by the share of the surface near hairs that lies
    beside one (never more than the ends that do lie beside another hair, and not counting ends that meet
    end to end: one hair broken)."""
    n_clear, cover, _both_clear, cover_all = _clear_tips(
        kept_work, excluded_work, radius_px=tip_radius, reach_px=p["tip_zone_radii"] * tip_radius
    )
    n_ends = 2 * sum(1 for _path, closed in kept_work if not closed)
    n_meeting_ends = _meeting_ends(kept_work, radius_px=tip_radius)
    scaled = n_clear * cover / max(1.0 - cover, 0.05)
    hidden = max(0.0, min(scaled, n_ends - n_clear - n_meeting_ends))
    return _Tips(n_clear, cover, cover_all, hidden, min(scaled, n_ends - n_clear) - hidden, n_meeting_ends)


def _on_paths(points_rc, paths, shape, *, reach_px=3):
    """Which of `points_rc` (working px) lie within `reach_px` of one of `paths`."""
    if len(points_rc) == 0:
        return np.zeros(0, bool)
    drawn = np.zeros(shape, np.uint8)
    for path in paths:
        cv2.polylines(drawn, [np.round(path[:, ::-1]).astype(np.int32).reshape(-1, 1, 2)], False, 1, 1)
    near = cv2.dilate(drawn, np.ones((2 * reach_px + 1, 2 * reach_px + 1), np.uint8)) > 0
    r = np.clip(np.round(points_rc[:, 0]).astype(int), 0, shape[0] - 1)
    c = np.clip(np.round(points_rc[:, 1]).astype(int), 0, shape[1] - 1)
    return near[r, c]


def _weighted_quantile(pairs, q):
    """The `q` quantile of values weighted by length, from (value, length) pairs; NaN values are left out."""
    arr = np.array([(v, w) for v, w in pairs if np.isfinite(v)], float).reshape(-1, 2)
    if not len(arr):
        return float("nan")
    order = np.argsort(arr[:, 0])
    cum = np.cumsum(arr[order, 1])
    return float(arr[order, 0][min(np.searchsorted(cum, q * cum[-1]), len(arr) - 1)])


def _arc_lengths(paths):
    """Arc length from the first point to each point of each path: a list of (K,) arrays, each
    ``np.r_[0, np.cumsum(np.hypot(*np.diff(path, axis=0).T))]`` (paths of as many points summed together)."""
    sizes = np.array([len(pth) for pth in paths], np.int64)
    arcs = [np.zeros(1)] * len(paths)
    if not (sizes >= 2).any():
        return arcs
    seg = np.hypot(*np.diff(np.concatenate(paths), axis=0).T)
    starts = np.cumsum(sizes) - sizes
    for n in np.unique(sizes[sizes >= 2]).tolist():
        which = np.flatnonzero(sizes == n)
        cum = np.cumsum(seg[starts[which, None] + np.arange(n - 1)], axis=1)
        rows = np.concatenate([np.zeros((len(which), 1)), cum], axis=1)
        for k, row in zip(which.tolist(), rows, strict=True):
            arcs[k] = row
    return arcs


def _straightness(paths, arcs, *, window_px, short_ok=False, which=None):
    """Median over each piece of chord / arc across stretches of `window_px`: 1 on a line, about 0.99 on a
    hair curled to a 3-mm radius over 2 mm, lower on a towel's loops. NaN (not judged) on a piece under two
    windows long, unless `short_ok`: then over half its length.

    Parameters
    ----------
    paths : list of (K, 2) ndarray of float
    arcs : list of (K,) ndarray of float
        `_arc_lengths` of `paths`.
    which : (P,) ndarray of bool, optional
        The pieces to judge (NaN for the others); all by default.

    Returns
    -------
    straightness : (P,) ndarray of float
    """
    out = np.full(len(paths), np.nan)
    total = np.array([arc[-1] for arc in arcs], float)
    window = np.full(len(paths), float(window_px))
    short = total < 2 * window
    if short_ok:
        window[short] = total[short] / 2  # (a short piece: over half its length)
        judged = ~short | (total >= 4)
    else:
        judged = ~short
    if which is not None:
        judged &= which
    judged = np.flatnonzero(judged)
    if not len(judged):
        return out
    # Stretches from s to s + window, s every quarter window: ``np.arange(0, total - window, window / 4)``.
    step = window[judged] / 4
    n_stretch = np.ceil((total[judged] - window[judged]) / step).astype(np.int64)
    piece = np.repeat(np.arange(len(judged)), n_stretch)
    start = (np.arange(len(piece)) - np.repeat(np.cumsum(n_stretch) - n_stretch, n_stretch)) * step[piece]
    stretch = np.stack([start, start + window[judged][piece]])  # (2, S)
    ends = np.empty((2, len(piece), 2))
    bounds = np.cumsum(n_stretch) - n_stretch
    for i, k in enumerate(judged.tolist()):  # (np.interp one piece at a time: each has its own arc)
        at = slice(bounds[i], bounds[i] + n_stretch[i])
        for axis in (0, 1):
            ends[:, at, axis] = np.interp(stretch[:, at], arcs[k], paths[k][:, axis])
    ratio = np.hypot(*(ends[1] - ends[0]).T) / window[judged][piece]
    out[judged] = _group_medians(ratio, n_stretch)
    return out


def _clear_tips(paths, excluded, *, radius_px, reach_px):
    """Hair ends with no other hair within `radius_px`, and the share of the surface that close to a hair.

    Parameters
    ----------
    paths : list of ((K, 2) ndarray, bool)
        Working-scale centre lines and whether each is closed (a loop has no ends).
    excluded : (M, N) ndarray of bool
        Not the surface: left out of the share.
    reach_px : float
        The share is measured where hairs lie: on the surface within this distance of a hair.

    Returns
    -------
    n_clear : int
    cover : float
        Share of the surface within `reach_px` of a hair that lies within `radius_px` of one: the chance
        that a tip lies beside another hair by chance. Tips lie where hairs lie; the bare rest of a sheet
        (hairs dropped in one part of it) would make that chance look smaller than it is.
    clear_both : list of bool
        Per path: both ends clear (False for a loop).
    cover_all : float
        The same share over the whole surface.
    """
    rows, cols = excluded.shape
    labels = np.zeros((rows, cols), np.int32)
    for k, (path, _closed) in enumerate(paths, start=1):
        pts = np.round(path[:, ::-1]).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(labels, [pts], False, k, 1)
    r = max(1, round(radius_px))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    near = cv2.dilate((labels > 0).view(np.uint8), disc) > 0
    surface = ~excluded
    # (Shares as ``near[surface].mean()`` gives them.)
    n_surface = int(np.count_nonzero(surface))
    cover_all = int(np.count_nonzero(near & surface)) / n_surface if n_surface else 0.0
    zone = surface & (cv2.distanceTransform((labels == 0).view(np.uint8), cv2.DIST_L2, 3) <= reach_px)
    n_zone = int(np.count_nonzero(zone))
    cover = int(np.count_nonzero(near & zone)) / n_zone if n_zone else cover_all
    # The labels within the disc round both ends of each open path (all at once; none beyond the frame).
    clear_both = [not closed for _path, closed in paths]
    is_open = np.flatnonzero(clear_both)
    if not len(is_open):
        return 0, cover, clear_both, cover_all
    ends = np.round(np.array([[paths[i][0][0], paths[i][0][-1]] for i in is_open.tolist()])).astype(int)
    dr, dc = np.nonzero(disc)
    at_r, at_c = ends[..., 0, None] + (dr - r), ends[..., 1, None] + (dc - r)  # (E, 2 ends, disc pixels)
    on_photo = (at_r >= 0) & (at_r < rows) & (at_c >= 0) & (at_c < cols)
    values = labels[np.clip(at_r, 0, rows - 1), np.clip(at_c, 0, cols - 1)]
    clear = ~(on_photo & (values > 0) & (values != (is_open + 1)[:, None, None])).any(axis=2)
    for i, both in zip(is_open.tolist(), clear.all(axis=1).tolist(), strict=True):
        clear_both[i] = both
    return int(clear.sum()), cover, clear_both, cover_all


def _meeting_ends(paths, *, radius_px):
    """How many ends of open paths lie within `radius_px` of an end of another open path, paired one to one
    (closest pairs first; two per pair).

    Parameters
    ----------
    paths : list of ((K, 2) ndarray, bool)
        Centre lines and whether each is closed (a loop has no ends).
    """
    ends = np.array([pt for path, closed in paths if not closed for pt in (path[0], path[-1])]).reshape(-1, 2)
    if len(ends) < 2:
        return 0
    pairs = cKDTree(ends).query_pairs(radius_px, output_type="ndarray")
    pairs = pairs[pairs[:, 0] // 2 != pairs[:, 1] // 2]  # (the two ends of one path are not a break)
    dist = np.hypot(*(ends[pairs[:, 0]] - ends[pairs[:, 1]]).T)
    used = np.zeros(len(ends), bool)
    n = 0
    for a, b in pairs[np.argsort(dist, kind="stable")].tolist():
        if not used[a] and not used[b]:
            used[a] = used[b] = True
            n += 2
    return n


def _prepare(rgb, factor, excluded):
    """The working image, its contrast (`ridge.contrast_image`) and the excluded regions at its size."""
    rows, cols = rgb.shape[:2]
    if factor > 1:
        work = cv2.resize(rgb, (max(cols // factor, 1), max(rows // factor, 1)), interpolation=cv2.INTER_AREA)
    else:
        work = rgb
    excluded_work = _shrink_mask(excluded, work.shape[:2])
    # (Whether the surface is banded is judged on the surface, not on the table around it.)
    contrast, info = ridge.contrast_image(work, ignore=excluded_work)
    return work, contrast, info, excluded_work


def _foreground_width_px(contrast, excluded) -> float:
    """Typical width of strong lines in `contrast` outside `excluded`: twice the median ridge of the distance
    transform."""
    mag = np.abs(cv2.GaussianBlur(contrast, (0, 0), 1.0))
    peak = cv2.dilate(mag, np.ones((15, 15), np.uint8))
    # Half-maximum width, whatever the contrast; faint hairs (a small photo's) are measured at a lower bar.
    for bar in (6.0, 3.0):
        strong = ((mag > bar) & (mag >= 0.5 * peak) & ~excluded).astype(np.uint8)
        if strong.sum() >= 50:
            break
    else:
        return 1.5
    dist = cv2.distanceTransform(strong, cv2.DIST_L2, 3)
    ridge_px = (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))) & (dist > 0)
    values = dist[ridge_px]
    return float(2 * np.median(values)) if len(values) else 1.5


def _shrink_mask(mask, shape):
    if mask.shape == shape:
        return mask.copy()
    small = cv2.resize(mask.view(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return small > 0


def _grow_mask(mask, shape):
    if mask.shape == shape:
        return mask.copy()
    return cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 0


def _free_ends(skeleton) -> int:
    """Pixels of a one-pixel skeleton with exactly one of their eight neighbours on it."""
    on = skeleton.view(np.uint8)
    neighbours = cv2.filter2D(on, cv2.CV_8U, np.ones((3, 3), np.float32), borderType=cv2.BORDER_CONSTANT)
    return int(np.count_nonzero((neighbours == 2) & skeleton))


def _seeded_lines(weak, strong, *, min_extent_px):
    """`ridge.hysteresis` of `weak` and `strong`, without its components whose bounding box is smaller than
    `min_extent_px` (dust): one labelling for both."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(weak.view(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[strong & weak])] = True
    keep &= np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= min_extent_px
    keep[0] = False
    return keep[labels]


def _solid_mask(contrast, polarity):
    """Pixels at more than half the local peak contrast of hair polarity (a width that ignores contrast)."""
    mag = cv2.GaussianBlur(contrast, (0, 0), 1.0)
    if polarity == 0:
        mag = np.abs(mag)
    elif polarity < 0:
        mag = -mag
    peak = cv2.dilate(mag, np.ones((15, 15), np.uint8))
    return (mag > 6.0) & (mag >= 0.5 * peak)


def _clump_mask(
    contrast,
    polarity,
    fg,
    excluded,
    info,
    *,
    hair_width_px,
    window,
    min_cover,
    min_lines,
    blob_contrast,
    blob_max_rim,
    blob_fringe,
):
    """Clumps: patches of hair too dense to trace, fringed and shot through with hair lines.

    Two kinds of patch: where hair (at more than half its peak contrast) covers `min_cover` of a window
    `window` hair widths wide, and, for a clump wider than the background estimate's reach (which then
    takes it for background), where the background itself stands out by `blob_contrast` (noise units)
    in the hairs' direction from a much wider median. A patch is a clump only where hair lines make up
    `min_lines` of its pixels: a solid dark object (a drain, a comb) has lines only along its rim.
    """
    solid = _solid_mask(contrast, polarity) & ~excluded
    size = max(3, round(window * hair_width_px)) | 1
    density = cv2.boxFilter(solid.astype(np.float32), -1, (size, size))
    dense = density >= min_cover
    if dense.any():
        region = cv2.dilate(dense.astype(np.uint8), np.ones((size, size), np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
        lines = np.bincount(labels[fg], minlength=n) / np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
        keep = lines >= min_lines
        keep[0] = False
        clumps = keep[labels]
    else:
        clumps = np.zeros(dense.shape, bool)
    grid = info["background_grid"]
    ksize = min(31, (min(grid.shape[:2]) // 2) * 2 - 1)
    if ksize >= 5:
        # Too wide for the background estimate: the clump is in the background, standing out from a much
        # wider median in the hairs' own colour direction (a grey drain under blonde hair does not).
        diff = grid.astype(np.float32) - cv2.medianBlur(grid, ksize).astype(np.float32)
        weights = np.asarray(info["weights"], np.float32)
        bump = diff @ weights
        if polarity == 0:
            bump = np.abs(bump)
        elif polarity < 0:
            bump = -bump
        blob = (bump >= blob_contrast).astype(np.uint8)
        if blob.any():
            # A pile of hair has a fuzzy rim, strands sticking out all round; a drain or a tile has a crisp
            # one: the steepest slope of the bump next to the patch, over its peak, tells them apart.
            nb, blab = cv2.connectedComponents(blob, connectivity=8)
            index = np.arange(nb)
            peak = np.asarray(ndi.maximum(bump, blab, index=index))
            slope = np.hypot(*np.gradient(bump))
            rim = cv2.dilate(blab.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32)
            steepest = np.asarray(ndi.maximum(slope, rim, index=index))
            ok = steepest <= blob_max_rim * np.maximum(peak, 1e-6)
            # ... and strands stick out of it: hair lines are denser round a clump than elsewhere.
            lines_grid = cv2.resize(fg.astype(np.float32), grid.shape[1::-1], interpolation=cv2.INTER_AREA)
            ring = cv2.dilate(blab.astype(np.float32), np.ones((7, 7), np.uint8)).astype(np.int32)
            ring[blab > 0] = 0
            # (A patch may have no ring left where it fills the frame: its fringe is then empty, zero.)
            ring_sum = np.bincount(ring.ravel(), weights=lines_grid.ravel(), minlength=nb)[:nb]
            ring_n = np.bincount(ring.ravel(), minlength=nb)[:nb]
            fringe = ring_sum / np.maximum(ring_n, 1)
            ok &= fringe >= blob_fringe * max(float(lines_grid.mean()), 1e-6)
            ok[0] = False
            blob = (
                cv2.resize(ok[blab].astype(np.uint8), dense.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
            )
            clumps |= blob & ~excluded
    return clumps


def _along_edge(paths, zone, *, share=0.8):
    """Whether most of each piece lies in `zone`, the margin of an excluded region or of the frame (a list
    of bool, one per path; all paths at once)."""
    if not paths:
        return []
    rows, cols = zone.shape
    points = np.concatenate(paths)
    r = np.clip(np.round(points[:, 0]).astype(int), 0, rows - 1)
    c = np.clip(np.round(points[:, 1]).astype(int), 0, cols - 1)
    counts = np.array([len(p) for p in paths])
    inside = np.add.reduceat(zone[r, c].astype(np.int64), np.cumsum(counts) - counts)
    return (inside / counts >= share).tolist()


def _at_ends(paths, zone):
    """Whether the first or the last point of each path (nearest pixel, clipped to `zone`) lies in `zone`: a
    list of bool."""
    if not paths:
        return []
    sizes = np.array([len(pth) for pth in paths])
    points = np.concatenate(paths)
    limit = np.array(zone.shape) - 1
    first, last = (
        np.clip(np.round(points[i]), 0, limit).astype(int)
        for i in (np.cumsum(sizes) - sizes, np.cumsum(sizes) - 1)
    )
    return (zone[first[:, 0], first[:, 1]] | zone[last[:, 0], last[:, 1]]).tolist()


def _median_lum(channel_sums) -> float:
    """``np.median`` of the luminances ``channel_sums / 3`` (float32) of pixels whose three channels (uint8)
    add up to `channel_sums` (uint16, not empty): counted in a histogram, as sums are 0 to 765."""
    counts = np.cumsum(np.bincount(channel_sums, minlength=766))
    n = int(counts[-1])
    middle = np.searchsorted(counts, [(n - 1) // 2, n // 2], side="right")  # (one value when n is odd)
    low, high = middle.astype(np.float32) / np.float32(3)
    return float((low + high) / np.float32(2))


def _frame_band(shape, *, width_px):
    """Pixels within `width_px` of the frame of an image of `shape`."""
    band = np.zeros(shape, bool)
    band[:width_px, :] = True
    band[-width_px:, :] = True
    band[:, :width_px] = True
    band[:, -width_px:] = True
    return band


def _edge_zone(excluded_work, *, margin_px):
    """Pixels within `margin_px` of the photo edge or of an excluded region."""
    zone = excluded_work.astype(np.uint8)
    zone[:margin_px, :] = 1
    zone[-margin_px:, :] = 1
    zone[:, :margin_px] = 1
    zone[:, -margin_px:] = 1
    kernel = np.ones((2 * margin_px + 1, 2 * margin_px + 1), np.uint8)
    return cv2.dilate(zone, kernel) > 0


def _cross_profiles(rgb, paths, info, *, factor, width_est, arcs=None, step_px=2.0, max_points=150):
    """Mean width (px) of each hair from its mean cross-profile; the photo's edge rise and hair width (px);
    and each hair's shade: the integral across it of its darkening relative to the surface beside it
    (``(surface - hair) / surface`` luminance, in px; negative for a hair lighter than the surface). Blur
    spreads a hair's shade but keeps its integral: it is its opacity times its width, whatever the focus.

    All hairs are sampled at once (a textured surface leaves thousands of pieces): one remap for all the
    cross-sections, statistics per cross-section, then means over each hair's cross-sections. `arcs`: the
    paths' `_arc_lengths`, when known."""
    if not paths:
        return [], (float("nan"), float("nan")), [], []
    half = max(4.0, 1.5 * width_est * factor)
    dt = 0.5
    offsets = np.arange(-half, half + dt / 2, dt)
    far = np.array([-3.0 * half, -2.5 * half, 2.5 * half, 3.0 * half], np.float32)
    noise = np.asarray(info["noise_rgb"], np.float32)
    weights = np.asarray(info["direction"], np.float32) / noise
    n = len(paths)
    # Points every `step` along each hair, and the unit normal there.
    arcs = _arc_lengths(paths) if arcs is None else arcs
    total = np.array([arc[-1] for arc in arcs], float)
    which = np.flatnonzero(total >= 4 * step_px)
    widths = [float("nan")] * n
    shades = [float("nan")] * n
    steps = [float("nan")] * n
    if not len(which):
        return widths, (float("nan"), float("nan")), shades, steps
    lengths = total[which]
    step = np.maximum(step_px, lengths / max_points)  # a long hair's width is well known from fewer samples
    # ``np.arange(step, length - step / 2, step)`` of each hair, all at once.
    counts = np.ceil((lengths - step / 2 - step) / step).astype(np.int64)
    starts = np.cumsum(counts) - counts
    ends = starts + counts - 1
    hair = np.repeat(np.arange(len(which)), counts)
    along = step[hair] + (np.arange(len(hair)) - starts[hair]) * step[hair]
    pr, pc = np.empty(len(hair)), np.empty(len(hair))
    for i, k in enumerate(which.tolist()):
        at = slice(starts[i], starts[i] + counts[i])
        pr[at] = np.interp(along[at], arcs[k], paths[k][:, 0])
        pc[at] = np.interp(along[at], arcs[k], paths[k][:, 1])
    # np.gradient of each hair's points (central differences, one-sided at its ends).
    tr, tc = np.empty_like(pr), np.empty_like(pc)
    for grad, values in ((tr, pr), (tc, pc)):
        grad[1:-1] = (values[2:] - values[:-2]) / 2.0
        grad[starts] = values[starts + 1] - values[starts]
        grad[ends] = values[ends] - values[ends - 1]
    norm = np.hypot(tr, tc)
    norm[norm == 0] = 1
    nr, nc = tc / norm, -tr / norm  # unit normal

    def remap_across(at):
        map_r = np.multiply.outer(nr, at)
        map_r += pr[:, None]
        map_r = map_r.astype(np.float32)
        map_c = np.multiply.outer(nc, at)
        map_c += pc[:, None]
        map_c = map_c.astype(np.float32)
        out = np.empty((len(pr), len(at), 3), np.float32)
        chunk = 30_000  # (OpenCV's remap takes maps of fewer than 32767 rows)
        for i in range(0, len(pr), chunk):
            out[i : i + chunk] = cv2.remap(
                rgb,
                map_c[i : i + chunk],
                map_r[i : i + chunk],
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT,
            )
        return out

    def hair_means(values):  # (float32, as ``values[start:end].mean(axis=0)`` of each hair gives)
        sums = np.add.reduceat(values, starts, axis=0)
        return (sums / counts.reshape((-1,) + (1,) * (values.ndim - 1))).astype(values.dtype)

    samples = remap_across(offsets)
    proj = samples @ weights
    edge = max(2, len(offsets) // 8)
    # (= samples.mean(axis=2), whose reduction over three channels is slow)
    lum = samples[..., 0] + samples[..., 1]
    lum += samples[..., 2]
    lum /= np.float32(3)
    del samples
    lum_base = _row_medians(np.concatenate([lum[:, :edge], lum[:, -edge:]], axis=1))
    shade = hair_means((lum_base[:, None] - lum) / np.maximum(lum_base[:, None], 1.0))
    shade_px = shade.sum(axis=1) * dt
    base = _row_medians(np.concatenate([proj[:, :edge], proj[:, -edge:]], axis=1))
    prof = hair_means(proj - base[:, None])
    middle = len(offsets) // 2
    flip = prof[:, middle - 2 : middle + 3].mean(axis=1) < 0
    prof[flip] *= -1
    peak = prof.max(axis=1)
    # The surface on one side against the other, along the whole piece: a hair lies on one surface, the
    # edge of an object (a drain's rim, a sheet's edge, a stripe) has a different one either side, near
    # and a little farther out. (A line beside a hair of the other shade, a dark hair among light ones,
    # differs on one side only near it: farther out the surface is the same again.)
    side_step = hair_means(_row_medians(proj[:, :edge]) - _row_medians(proj[:, -edge:]))
    far_proj = remap_across(far) @ weights
    far_step = hair_means(far_proj[:, :2].mean(axis=1) - far_proj[:, 2:].mean(axis=1))
    has_peak = peak > 0
    # (Per hair, in float32: the width of its profile, and the step between the surfaces on its two sides.)
    with np.errstate(divide="ignore", invalid="ignore"):
        hair_widths = np.where(has_peak, np.clip(prof, 0, None).sum(axis=1) * dt / peak, np.nan)
        hair_steps = np.minimum(np.abs(side_step), np.abs(far_step)) / peak
        profiles = np.where(has_peak[:, None], prof / peak[:, None], prof)
    hair_steps = np.where(side_step * far_step > 0, hair_steps, 0.0)
    hair_steps[~has_peak] = np.nan  # (no profile: not judged)
    for i, k in enumerate(which.tolist()):
        shades[k] = float(shade_px[i])
        widths[k] = float(hair_widths[i])
        steps[k] = float(hair_steps[i])
    stats = quality.edge_widths_px(profiles, step_px=dt)
    ok = np.isfinite(stats).all(axis=1)
    if not ok.any():
        return widths, (float("nan"), float("nan")), shades, steps
    # Length-weighted medians: long hairs say most about the photo.
    edge_w = (_weighted_median(stats[ok, 0], lengths[ok]), _weighted_median(stats[ok, 1], lengths[ok]))
    return widths, edge_w, shades, steps


def _row_medians(values):
    """``np.median(values, axis=1)`` (the same numbers) of a (K, T) array of short rows: faster by sorting."""
    ordered = np.sort(values, axis=1)
    t = values.shape[1]
    return (ordered[:, (t - 1) // 2] + ordered[:, t // 2]) / values.dtype.type(2)


def _group_medians(values, counts):
    """``np.median`` of consecutive groups of `values` of the given sizes (all non-empty), all at once: groups
    of one size are sorted together, one row each."""
    counts = np.asarray(counts, np.int64)
    start = np.cumsum(counts) - counts
    medians = np.empty(len(counts), values.dtype)
    for n in np.unique(counts).tolist():
        which = np.flatnonzero(counts == n)
        rows = np.sort(values[start[which, None] + np.arange(n)], axis=1)
        medians[which] = (rows[:, (n - 1) // 2] + rows[:, n // 2]) / values.dtype.type(2)
    return medians


def _weighted_median(values, weights):
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])
