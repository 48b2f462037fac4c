"""The phone: a pinhole camera over the plane the hairs lie on, and what its optics and ISP do to the scene.

Conventions: image points are (x=col, y=row) in pixels with pixel centres at integer coordinates; plane
points are (x_mm, y_mm). Scene images are float32 RGB in [0, 1] (display values, before tone clipping).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

#: focal length / long image side of a phone's main camera (26 mm equivalent lens, 4:3 sensor).
FOCAL_PER_SIDE = 0.78


def rotation(axis, angle_rad: float) -> np.ndarray:
    """Rotation matrix about a unit `axis` (Rodrigues)."""
    axis = np.asarray(axis, float)
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle_rad) * k + (1 - math.cos(angle_rad)) * (k @ k)


def apply_h(h, points_xy) -> np.ndarray:
    """Map (K, 2) points through the 3×3 homography `h`."""
    p = np.asarray(points_xy, float)
    w = p @ h[:2, :2].T + h[:2, 2]
    d = p @ h[2, :2] + h[2, 2]
    return w / d[:, None]


def jacobian_scale(h, point_xy) -> float:
    """sqrt|det J| of the homography `h` at `point_xy`: the local linear magnification."""
    w = h @ np.array([point_xy[0], point_xy[1], 1.0])
    j = (h[:2, :2] * w[2] - np.outer(w[:2], h[2, :2])) / w[2] ** 2
    return math.sqrt(abs(np.linalg.det(j)))


def image_from_plane(
    shape, *, px_per_mm: float, tilt_deg: float, tilt_axis_deg: float, roll_deg: float, centre_mm
) -> np.ndarray:
    """Homography (x_mm, y_mm) -> (col, row) of a camera looking at `centre_mm` on the plane.

    The camera sits on the ray through `centre_mm`, tilted by `tilt_deg` about an in-plane axis at
    `tilt_axis_deg` and rolled by `roll_deg` about its optical axis; its distance is chosen so that the
    magnification at the image centre is exactly `px_per_mm` (geometric mean of the two directions).
    """
    m, n = shape
    f = FOCAL_PER_SIDE * max(m, n)
    cx, cy = (n - 1) / 2.0, (m - 1) / 2.0
    k = np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])
    a = math.radians(tilt_axis_deg)
    r = rotation([0, 0, 1], math.radians(roll_deg)) @ rotation(
        [math.cos(a), math.sin(a), 0.0], math.radians(tilt_deg)
    )
    p = np.array([centre_mm[0], centre_mm[1], 0.0])

    def build(distance_mm):
        c = p - distance_mm * (r.T @ np.array([0, 0, 1.0]))
        t = -r @ c
        h = k @ np.column_stack([r[:, 0], r[:, 1], t])
        return h / h[2, 2]

    distance = f / px_per_mm
    h = build(distance)
    distance *= jacobian_scale(h, centre_mm) / px_per_mm
    return build(distance)


def footprint_mm(h_plane_from_image, shape, *, inset_px: float = 0.0) -> np.ndarray:
    """The plane quadrilateral (4, 2) seen by the image, shrunk by `inset_px` on every side."""
    m, n = shape
    i = inset_px - 0.5
    corners = np.array([[i, i], [n - 1 - i, i], [n - 1 - i, m - 1 - i], [i, m - 1 - i]], float)
    return apply_h(h_plane_from_image, corners)


def plane_coordinates(h_plane_from_image, shape):
    """x_mm, y_mm (float32 (M, N) each) of every pixel centre."""
    m, n = shape
    rows = np.arange(m, dtype=np.float32)[:, None]
    cols = np.arange(n, dtype=np.float32)[None, :]
    h = h_plane_from_image.astype(np.float32)
    d = h[2, 0] * cols + h[2, 1] * rows + h[2, 2]
    x = (h[0, 0] * cols + h[0, 1] * rows + h[0, 2]) / d
    y = (h[1, 0] * cols + h[1, 1] * rows + h[1, 2]) / d
    return x, y


def smooth_noise(rng, shape, cell_px: float) -> np.ndarray:
    """Zero-mean, roughly unit-variance smooth random field (float32 (M, N)), features ~`cell_px` across."""
    m, n = shape
    cell_px = max(cell_px, 1.0)
    gm, gn = math.ceil(m / cell_px) + 1, math.ceil(n / cell_px) + 1
    low = rng.standard_normal((gm, gn), dtype=np.float32)
    low -= low.mean()
    low /= max(float(low.std()), 1e-6) * 0.8  # cubic interpolation loses about a fifth of the spread
    return cv2.resize(low, (n, m), interpolation=cv2.INTER_CUBIC)


def lighting(rng, shape, *, uneven: float, shadow: bool, light_angle_rad: float) -> tuple[np.ndarray, dict]:
    """Multiplicative illumination (float32 (M, N)): vignetting, a gradient, maybe a soft shadow.

    `uneven` in [0, 1] scales how strongly the light varies over the frame.
    """
    m, n = shape
    small = (max(8, m // 8), max(8, n // 8))
    rows, cols = np.mgrid[0 : small[0], 0 : small[1]].astype(np.float32)
    u = (cols - (small[1] - 1) / 2) / (small[1] / 2)
    v = (rows - (small[0] - 1) / 2) / (small[0] / 2)
    vignette = float(rng.uniform(0.08, 0.4)) * uneven
    gradient = float(rng.uniform(0.05, 0.3)) * uneven
    light = (1 - vignette * (u**2 + v**2) / 2) * (
        1 + gradient * (u * math.cos(light_angle_rad) + v * math.sin(light_angle_rad)) / 2
    )
    info = {"vignetting": round(vignette, 4), "gradient": round(gradient, 4), "shadow_depth": 0.0}
    depth = float(rng.uniform(0.15, 0.5))
    edge = float(rng.uniform(-0.6, 0.6))
    angle = float(rng.uniform(0, 2 * math.pi))
    soft = float(rng.uniform(0.05, 0.25))
    if shadow:
        # the soft shadow of the phone or of a hand, entering from one side
        dist = u * math.cos(angle) + v * math.sin(angle) - edge
        shade = 1 / (1 + np.exp(-dist / soft))
        light = light * (1 - depth * shade)
        info["shadow_depth"] = round(depth, 4)
    light = cv2.resize(light.astype(np.float32), (n, m), interpolation=cv2.INTER_LINEAR)
    return light, info


def finish(
    rng,
    scene,
    light,
    *,
    gains,
    optics_sigma_px: float,
    defocus_px: float,
    motion_px: float,
    motion_angle_deg: float,
    noise: float,
    sharpen: float,
    exposure: float,
    jpeg_quality: int,
) -> np.ndarray:
    """Light, optics, sensor and ISP: blur, exposure, Bayer mosaic with signal-dependent noise,
    demosaicing, chroma noise reduction, sharpening, 8 bits, JPEG round-trip.

    Parameters
    ----------
    scene : (M, N, 3) float32
        Reflectance seen through the lens; consumed (modified in place, then dropped).
    light : (M, N) float32
        Illumination (smooth, so applying it after the optics blur is the same); consumed.
    gains : (3,) float
        White-balance gains.

    Returns
    -------
    image : (M, N, 3) uint8 RGB
    """
    m, n = scene.shape[:2]
    sigma = math.hypot(optics_sigma_px, defocus_px)
    cv2.GaussianBlur(scene, (0, 0), sigma, dst=scene)
    if motion_px >= 1.5:
        size = math.ceil(motion_px) | 1
        kernel = np.zeros((size, size), np.float32)
        c = size // 2
        a = math.radians(motion_angle_deg)
        p0 = (c - motion_px / 2 * math.cos(a), c - motion_px / 2 * math.sin(a))
        p1 = (c + motion_px / 2 * math.cos(a), c + motion_px / 2 * math.sin(a))
        cv2.line(
            kernel,
            (round(p0[0] * 16), round(p0[1] * 16)),
            (round(p1[0] * 16), round(p1[1] * 16)),
            1.0,
            1,
            cv2.LINE_AA,
            4,
        )
        kernel /= kernel.sum()
        cv2.filter2D(scene, -1, kernel, dst=scene)
    # auto-exposure pulls the frame's mean part of the way to mid-grey: white paper comes out light
    # grey, black paper dark grey, as from a phone; `exposure` is the photographer's correction on top
    small = (max(1, n // 16), max(1, m // 16))
    metered = (
        cv2.resize(scene, small, interpolation=cv2.INTER_AREA)
        * cv2.resize(light, small, interpolation=cv2.INTER_AREA)[..., None]
    )
    metered = max(float(metered.mean()), 1e-3)
    gain = exposure * min(1.8, max(0.85, (0.5 / metered) ** 0.5))
    light *= np.float32(gain)
    # the sensor sees one colour per pixel (RGGB Bayer mosaic) with photon + read noise of variance
    # a*I + b; the ISP interpolates the other two (colour fringes on 1-px hairs, as in real photos)
    raw = np.empty((m, n), np.float32)
    g = [np.float32(v) for v in gains]
    np.multiply(scene[0::2, 0::2, 0], g[0], out=raw[0::2, 0::2])
    np.multiply(scene[0::2, 1::2, 1], g[1], out=raw[0::2, 1::2])
    np.multiply(scene[1::2, 0::2, 1], g[1], out=raw[1::2, 0::2])
    np.multiply(scene[1::2, 1::2, 2], g[2], out=raw[1::2, 1::2])
    del scene
    raw *= light
    del light
    sd = np.clip(raw, 0, 1)
    sd *= np.float32(noise)
    sd += np.float32((noise * 0.02) ** 2 + 1e-6)
    np.sqrt(sd, out=sd)
    sd *= rng.standard_normal((m, n), dtype=np.float32)
    raw += sd
    del sd
    np.clip(raw, 0, 1, out=raw)
    raw *= 65535.0
    raw16 = raw.astype(np.uint16)
    del raw
    rgb = cv2.cvtColor(raw16, cv2.COLOR_BayerRGGB2RGB_EA)
    del raw16
    # chroma noise reduction (colour kept at half resolution, as phones and JPEG 4:2:0 do), then
    # sharpening of the luma (unsharp mask), then 8 bits; all in 16-bit integers
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    del rgb
    luma = cv2.extractChannel(ycc, 0)
    half = (max(1, n // 2), max(1, m // 2))
    ycc = cv2.resize(
        cv2.resize(ycc, half, interpolation=cv2.INTER_AREA), (n, m), interpolation=cv2.INTER_LINEAR
    )
    if sharpen > 0:
        luma = cv2.addWeighted(luma, 1 + sharpen, cv2.GaussianBlur(luma, (0, 0), 1.4), -sharpen, 0.0)
    cv2.insertChannel(luma, ycc, 0)
    del luma
    img = cv2.convertScaleAbs(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), alpha=1 / 257)
    del ycc
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
    if not ok:  # pragma: no cover - cv2 always encodes a valid uint8 array
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
