"""Hair geometry on the plane (mm), its rasterisation by exact area coverage, and crossing counts."""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy.interpolate import CubicSpline

# ---------------------------------------------------------------------------------------------- regions


class Region:
    """A convex polygon on the plane (counter-clockwise or clockwise), with inward edge normals."""

    def __init__(self, vertices_mm):
        v = np.asarray(vertices_mm, float)
        area2 = np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1])
        if area2 < 0:
            v = v[::-1]
        self.vertices = v
        e = np.roll(v, -1, axis=0) - v
        length = np.hypot(e[:, 0], e[:, 1])
        self.normals = (
            np.stack([-e[:, 1], e[:, 0]], axis=1) / length[:, None]
        )  # inward for CCW (x right, y up)
        self.offsets = np.einsum("ij,ij->i", self.normals, v)
        self.edges = [
            (float(a[0]), float(a[1]), float(nv[0]), float(nv[1]))
            for a, nv in zip(v, self.normals, strict=True)
        ]

    @property
    def area_mm2(self) -> float:
        v = self.vertices
        return 0.5 * abs(np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]))

    def depth(self, points) -> np.ndarray:
        """Distance inside the polygon (negative outside) of (K, 2) points."""
        return np.min(np.asarray(points) @ self.normals.T - self.offsets, axis=1)

    def clip(self, other: Region) -> Region | None:
        """Intersection with another convex region (Sutherland–Hodgman)."""
        poly = [tuple(p) for p in self.vertices]
        for nx, ny, off in zip(other.normals[:, 0], other.normals[:, 1], other.offsets, strict=True):
            out = []
            for i in range(len(poly)):
                p, q = poly[i], poly[(i + 1) % len(poly)]
                dp = p[0] * nx + p[1] * ny - off
                dq = q[0] * nx + q[1] * ny - off
                if dp >= 0:
                    out.append(p)
                if (dp >= 0) != (dq >= 0):
                    t = dp / (dp - dq)
                    out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
            poly = out
            if len(poly) < 3:
                return None
        return Region(poly)

    def random_point(self, rng, *, min_depth_mm: float = 0.0):
        lo, hi = self.vertices.min(axis=0), self.vertices.max(axis=0)
        best, best_depth = None, -np.inf
        for _ in range(64):
            p = rng.uniform(lo, hi)
            d = float(self.depth(p[None])[0])
            if d >= min_depth_mm:
                return p
            if d > best_depth:
                best, best_depth = p, d
        return self.vertices.mean(axis=0) if best_depth < 0 else best


def disk(centre, radius_mm, n=16) -> Region:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return Region(np.stack([centre[0] + radius_mm * np.cos(a), centre[1] + radius_mm * np.sin(a)], axis=1))


# ---------------------------------------------------------------------------------------------- geometry

CURLS = ("straight", "wavy", "curly", "mixed")


def shape_params(rng, curl: str) -> dict:
    """Random shape parameters of one hair for a photo whose hair is `curl`.

    noise: spread of the random curvature (1/mm), corr_mm: its correlation length; wave_rad, wave_mm:
    amplitude and wavelength of a heading oscillation; coil_per_mm: mean curvature of a coil; loops:
    how many times the hair turns a full circle somewhere along its length (long hairs do).
    """
    if curl == "mixed":
        curl = str(rng.choice(["straight", "wavy", "curly"], p=[0.4, 0.4, 0.2]))
    loops = int(rng.random() < 0.3) + int(rng.random() < 0.08)
    if curl == "straight":
        return {
            "kind": curl,
            "noise": rng.uniform(0.004, 0.02),
            "corr_mm": rng.uniform(10, 40),
            "wave_rad": rng.uniform(0.0, 0.2),
            "wave_mm": rng.uniform(30, 100),
            "coil_per_mm": 0.0,
            "loops": loops,
        }
    if curl == "wavy":
        return {
            "kind": curl,
            "noise": rng.uniform(0.01, 0.035),
            "corr_mm": rng.uniform(8, 25),
            "wave_rad": rng.uniform(0.15, 0.75),
            "wave_mm": rng.uniform(20, 80),
            "coil_per_mm": 0.0,
            "loops": loops,
        }
    radius = rng.uniform(2.5, 9.0)
    return {
        "kind": curl,
        "noise": rng.uniform(0.02, 0.08),
        "corr_mm": rng.uniform(3, 10),
        "wave_rad": rng.uniform(0.5, 1.8),
        "wave_mm": 2 * np.pi * radius * rng.uniform(0.8, 1.3),
        "coil_per_mm": rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 1.0) / radius,
        "loops": loops,
    }


def _heading_steps(rng, n: int, step_mm: float, p: dict) -> np.ndarray:
    """Heading increments (n,) of the free (unsteered) curve."""
    rho = math.exp(-step_mm / p["corr_mm"])
    white = rng.standard_normal(n) * p["noise"] * math.sqrt(1 - rho**2)
    kappa = np.empty(n)
    k = rng.standard_normal() * p["noise"]
    for i in range(n):  # OU curvature; n is at most a few hundred
        k = rho * k + white[i]
        kappa[i] = k
    s = np.arange(n + 1) * step_mm
    wave = p["wave_rad"] * np.sin(2 * np.pi * s / p["wave_mm"] + rng.uniform(0, 2 * np.pi))
    coil = p["coil_per_mm"]
    if coil:
        # coils change hand now and then
        flips = np.cumsum(rng.random(n) < step_mm / rng.uniform(40, 150)) % 2
        coil = coil * np.where(flips == 0, 1.0, -1.0)
    dth = kappa * step_mm + np.diff(wave) + coil * step_mm
    total = n * step_mm
    for _ in range(params_loops(p) if total > 40 else 0):
        # a loop: the heading turns a full circle over 30-150 mm, so the hair crosses itself
        span = rng.uniform(30, 150) * min(1.0, total / 160)
        a = rng.uniform(0, total - span)
        s_mid = s[:-1] + step_mm / 2
        bump = np.clip(1 - np.abs(s_mid - a - span / 2) / (span / 2), 0, None)
        if bump.sum() > 0:
            dth += rng.choice([-1.0, 1.0]) * 2 * np.pi * bump / bump.sum()
    return dth


def params_loops(p: dict) -> int:
    return int(p.get("loops", 0))


def walk(
    rng,
    length_mm: float,
    region: Region | None,
    params: dict,
    *,
    start=None,
    heading=None,
    steer_mm: float = 12.0,
) -> np.ndarray:
    """A coarse centre line (n+1, 2) in mm; with a `region` it turns away from the region's edges."""
    step = min(1.0, length_mm / 40)
    if params["coil_per_mm"]:
        step = min(step, 0.3 / abs(params["coil_per_mm"]) if abs(params["coil_per_mm"]) > 0 else step)
        step = min(step, params["wave_mm"] / 12)
    n = max(8, math.ceil(length_mm / step))
    step = length_mm / n
    dth = _heading_steps(rng, n, step, params)
    if start is None:
        start = (0.0, 0.0) if region is None else region.random_point(rng, min_depth_mm=min(steer_mm, 5.0))
    th = float(rng.uniform(0, 2 * np.pi)) if heading is None else float(heading)
    x, y = float(start[0]), float(start[1])
    out = np.empty((n + 1, 2))
    out[0] = x, y
    edges = [] if region is None else region.edges
    dist = max(steer_mm, 1e-3)
    rate = 6.0 / dist * step
    for i in range(n):
        th += dth[i]
        c, s = math.cos(th), math.sin(th)
        for ax, ay, nx, ny in edges:
            d = (x - ax) * nx + (y - ay) * ny
            if d < dist and c * nx + s * ny < 0.6:
                turn = rate * (1 - d / dist) if d > 0 else rate * 1.5
                th += turn if c * ny - s * nx >= 0 else -turn
                c, s = math.cos(th), math.sin(th)
        x += step * c
        y += step * s
        out[i + 1] = x, y
    return out


def place(rng, points_mm: np.ndarray, region: Region, *, margin_mm: float = 0.0, tries: int = 12):
    """Rotate and shift a free curve so that it lies inside `region`; None when no try fits.

    For a rotation, the shifts that fit form a convex polygon (one half-plane per region edge); a
    random point of it is taken.
    """
    centred = points_mm - points_mm.mean(axis=0)
    extent = np.abs(centred).max() + np.abs(region.vertices).max() + 1.0
    box = Region([[-extent, -extent], [extent, -extent], [extent, extent], [-extent, extent]])
    for _ in range(tries):
        a = rng.uniform(0, 2 * np.pi)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        p = centred @ rot.T
        # shift t fits when n_j . (p_i + t) >= o_j + margin for all i, j
        need = region.offsets + margin_mm - (p @ region.normals.T).min(axis=0)
        feasible = box
        for nv, b in zip(region.normals, need, strict=True):
            # half-plane n . t >= b as a huge triangle-free polygon: clip by a one-edge region
            feasible = _clip_half_plane(feasible, nv, b)
            if feasible is None:
                break
        if feasible is not None:
            return p + feasible.random_point(rng)
    return None


def _clip_half_plane(region: Region, normal, offset) -> Region | None:
    poly = [tuple(v) for v in region.vertices]
    out = []
    for i in range(len(poly)):
        p, q = poly[i], poly[(i + 1) % len(poly)]
        dp = p[0] * normal[0] + p[1] * normal[1] - offset
        dq = q[0] * normal[0] + q[1] * normal[1] - offset
        if dp >= 0:
            out.append(p)
        if (dp >= 0) != (dq >= 0):
            t = dp / (dp - dq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    if len(out) < 3 or Region(out).area_mm2 <= 0:
        return None
    return Region(out)


def densify(coarse_mm: np.ndarray, step_mm: float) -> np.ndarray:
    """Cubic spline through a coarse centre line, sampled every ~`step_mm`."""
    seg = np.hypot(*np.diff(coarse_mm, axis=0).T)
    keep = np.concatenate([[True], seg > 1e-9])
    pts = coarse_mm[keep]
    s = np.concatenate([[0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
    if len(pts) < 3:
        n = max(2, math.ceil(s[-1] / step_mm) + 1)
        t = np.linspace(0, 1, n)[:, None]
        return pts[0] * (1 - t) + pts[-1] * t
    spline = CubicSpline(s, pts, axis=0, bc_type="natural")
    n = max(2, math.ceil(s[-1] / step_mm) + 1)
    return spline(np.linspace(0, s[-1], n))


def arc_length(points) -> float:
    d = np.diff(np.asarray(points, float), axis=0)
    return float(np.hypot(d[:, 0], d[:, 1]).sum())


def resample(points, step_mm: float) -> np.ndarray:
    """Resample a polyline at (almost) uniform arc-length steps no longer than `step_mm`."""
    points = np.asarray(points, float)
    s = np.concatenate([[0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    n = max(2, math.ceil(s[-1] / step_mm) + 1)
    t = np.linspace(0, s[-1], n)
    return np.stack([np.interp(t, s, points[:, 0]), np.interp(t, s, points[:, 1])], axis=1)


def normals(points) -> np.ndarray:
    """Unit normals (K, 2) of a polyline (central differences)."""
    g = np.gradient(points, axis=0)
    length = np.hypot(g[:, 0], g[:, 1])
    length[length == 0] = 1.0
    return np.stack([-g[:, 1], g[:, 0]], axis=1) / length[:, None]


def follower(rng, host_mm: np.ndarray, length_mm: float, gap_mm: float) -> np.ndarray | None:
    """A hair lying alongside part of `host_mm`, `gap_mm` from it, peeling away towards its end."""
    s = np.concatenate([[0], np.cumsum(np.hypot(*np.diff(host_mm, axis=0).T))])
    if s[-1] < length_mm * 1.05:
        return None
    s0 = rng.uniform(0, s[-1] - length_mm)
    sel = (s >= s0) & (s <= s0 + length_mm)
    part = host_mm[sel]
    if len(part) < 4:
        return None
    u = (s[sel] - s0) / length_mm
    split = rng.uniform(0.4, 1.0)
    side = rng.choice([-1.0, 1.0])
    offset = gap_mm + rng.uniform(2.0, 12.0) * np.clip(u - split, 0, None) ** 2 / max(1 - split, 0.05) ** 2
    out = part + side * normals(part) * offset[:, None]
    return out[::-1] if rng.random() < 0.5 else out


# ---------------------------------------------------------------------------------------------- crossings


def _segments(polylines, step_mm):
    segs, owner, index = [], [], []
    for k, p in enumerate(polylines):
        p = np.asarray(p, float)
        if len(p) < 2:
            continue
        q = resample(p, step_mm) if step_mm is not None and arc_length(p) > step_mm else p
        segs.append(np.stack([q[:-1], q[1:]], axis=1))
        owner.append(np.full(len(q) - 1, k))
        index.append(np.arange(len(q) - 1))
    if not segs:
        return np.zeros((0, 2, 2)), np.zeros(0, int), np.zeros(0, int)
    return np.concatenate(segs), np.concatenate(owner), np.concatenate(index)


def count_crossings(polylines, *, step_mm: float | None = 0.5) -> int:
    """Number of points where centre lines cross each other or themselves.

    Parameters
    ----------
    polylines : sequence of (K, 2) arrays
        Centre lines in mm. Not modified.
    step_mm : float or None
        Each line is resampled at this step first (smooth hairs bend little over it); None uses the
        vertices as given.

    Returns
    -------
    crossings : int
        Segments that share a vertex along one line do not count; a crossing at a vertex counts once.
    """
    segs, owner, index = _segments(polylines, step_mm)
    if len(segs) < 2:
        return 0
    lo_xy = segs.min(axis=1)
    hi_xy = segs.max(axis=1)
    cell = 1.01 * float((hi_xy - lo_xy).max())  # a segment's bounding box touches at most 2 × 2 cells
    if cell <= 0:
        return 0
    origin = lo_xy.min(axis=0)
    a = np.floor((lo_xy - origin) / cell).astype(np.int64)
    b = np.floor((hi_xy - origin) / cell).astype(np.int64)
    width = int(b[:, 0].max()) + 2
    ids, cells = [], []
    for dx in (0, 1):
        for dy in (0, 1):
            ok = (a[:, 0] + dx <= b[:, 0]) & (a[:, 1] + dy <= b[:, 1])
            ids.append(np.nonzero(ok)[0])
            cells.append((a[ok, 1] + dy) * width + (a[ok, 0] + dx))
    ids, cells = np.concatenate(ids), np.concatenate(cells)
    order = np.argsort(cells, kind="stable")
    ids, cells = ids[order], cells[order]
    # all pairs within each cell, generated without a Python loop over cells
    starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    sizes = np.diff(np.r_[starts, len(cells)])
    group_end = np.repeat(starts + sizes, sizes)
    pos = np.arange(len(cells))
    n_after = group_end - pos - 1
    first = np.repeat(pos, n_after)
    if first.size == 0:
        return 0
    run_start = np.repeat(np.cumsum(n_after) - n_after, n_after)
    second = first + 1 + (np.arange(first.size) - run_start)
    i, j = ids[first], ids[second]
    # a pair met in several cells is kept only in the cell holding the corner of its boxes' overlap
    corner = np.maximum(a[i], a[j])
    keep = cells[first] == corner[:, 1] * width + corner[:, 0]
    i, j = i[keep], j[keep]
    adjacent = (owner[i] == owner[j]) & (np.abs(index[i] - index[j]) <= 1)
    i, j = i[~adjacent], j[~adjacent]
    p, r = segs[i, 0], segs[i, 1] - segs[i, 0]
    q, s = segs[j, 0], segs[j, 1] - segs[j, 0]
    den = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    qp = q - p
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / den
        u = (qp[:, 0] * r[:, 1] - qp[:, 1] * r[:, 0]) / den
    # half-open segments [0, 1) so that a crossing exactly at a shared vertex counts once
    hit = (den != 0) & (t >= 0) & (t < 1) & (u >= 0) & (u < 1)
    return int(hit.sum())


# ---------------------------------------------------------------------------------------------- rendering

SUPERSAMPLE = 8
CHUNK = 96  # points per rasterised piece (about 48 px of hair; too short to cross itself)
_SHIFT = 4


def render_hair(img, current, total, left_xy, right_xy, colour, alpha, breaks=()):
    """Composite one hair into `img` by exact area coverage of its outline.

    Parameters
    ----------
    img : (M, N, 3) float32
        Scene, modified in place.
    current : (M, N) float32
        Zeros on entry; used as this hair's coverage so far, and zeroed again on return.
    total : (M, N) float32
        Maximum coverage of all hairs so far (for shadows), updated in place.
    left_xy, right_xy : (K, 2) float
        The two edges of the hair in image (x=col, y=row) pixels.
    colour : (K, 3) float
        Colour along the hair.
    alpha : (K,) float
        Opacity along the hair, < 1.
    breaks : sequence of int
        Indices where a chunk must start (where the colour changes abruptly, e.g. at the root bulb).
    """
    m, n = current.shape
    k = len(left_xy)
    # shrink each side by half a sub-pixel: cv2.fillPoly also fills the pixels its outline touches
    d = right_xy - left_xy
    w = np.hypot(d[:, 0], d[:, 1])
    shrink = np.minimum(0.5 / SUPERSAMPLE, w / 2 - 1e-3).clip(0) / np.maximum(w, 1e-9)
    left = left_xy + d * shrink[:, None]
    right = right_xy - d * shrink[:, None]
    starts = sorted({0, *[b for b in breaks if 0 < b < k - 1]})
    bounds = []
    for a, b in zip(starts, [*starts[1:], k - 1], strict=True):
        bounds.extend((i, min(i + CHUNK, b)) for i in range(a, b, CHUNK))
    if not bounds:
        return
    s = SUPERSAMPLE
    scale = s * (1 << _SHIFT)
    # fixed-point outline in tile units, up to the integer offset of each tile's origin
    fixed_left = np.round((left + 0.5) * scale - (1 << _SHIFT) / 2).astype(np.int32)
    fixed_right = np.round((right + 0.5) * scale - (1 << _SHIFT) / 2).astype(np.int32)
    # chunks overlap their neighbours by a few points; coverage is merged by maximum
    lo = np.array([max(0, i0 - 2) for i0, _ in bounds])
    hi = np.array([min(k, i1 + 3) for _, i1 in bounds])
    first = np.array([i0 for i0, _ in bounds])
    last = np.array([i1 + 1 for _, i1 in bounds])
    pmin = np.vstack([np.minimum(left, right), [np.inf, np.inf]])
    pmax = np.vstack([np.maximum(left, right), [-np.inf, -np.inf]])
    idx = np.stack([lo, hi], axis=1).ravel()
    box_lo = np.floor(np.minimum.reduceat(pmin, idx)[::2]).astype(int) - 1
    box_hi = np.ceil(np.maximum.reduceat(pmax, idx)[::2]).astype(int) + 2
    idx = np.stack([first, last], axis=1).ravel()
    counts = (last - first)[:, None]
    colour_pad = np.vstack([colour, np.zeros((1, 3))])
    alpha_pad = np.r_[alpha, 0.0]
    chunk_colour = (np.add.reduceat(colour_pad, idx)[::2] / counts).astype(np.float32)
    chunk_alpha = (np.add.reduceat(alpha_pad, idx)[::2] / counts[:, 0] / 255.0).astype(np.float32)
    boxes = []
    for c, ((x0, y0), (x1, y1), j0, j1) in enumerate(
        zip(box_lo.tolist(), box_hi.tolist(), lo.tolist(), hi.tolist(), strict=True)
    ):
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, n), min(y1, m)
        if x1 <= x0 or y1 <= y0:
            continue
        tile = np.zeros(((y1 - y0) * s, (x1 - x0) * s), np.uint8)
        pts = np.concatenate([fixed_left[j0:j1], fixed_right[j0:j1][::-1]])
        pts -= np.array([x0 * scale, y0 * scale], np.int32)
        cv2.fillPoly(tile, [pts], 255, cv2.LINE_8, _SHIFT)
        cov = cv2.resize(tile, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
        a_chunk = cov * chunk_alpha[c]
        cur = current[y0:y1, x0:x1]
        a_new = np.maximum(cur, a_chunk)
        ratio = (1 - a_new) / (1 - cur)
        h = chunk_colour[c]
        region = img[y0:y1, x0:x1]
        region -= h
        region *= ratio[..., None]
        region += h
        cur[...] = a_new
        boxes.append((y0, y1, x0, x1))
    for y0, y1, x0, x1 in boxes:
        np.maximum(total[y0:y1, x0:x1], current[y0:y1, x0:x1], out=total[y0:y1, x0:x1])
    for y0, y1, x0, x1 in boxes:
        current[y0:y1, x0:x1] = 0
