"""The one Django-side module that imports the measurement core (trichotrack.measure).

Bytes in, plain values out: checking an upload, making the metadata-free derived copy, measuring a photo of
any kind (shed hairs, trichoscopy, a global view), estimating the stage from measured views, registering a
before/after pair. Nothing here touches the database or the storage.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import struct
import threading
import time
import zipfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import numpy as np
from PIL import Image, ImageFile

from trichotrack.measure import compare
from trichotrack.measure.io import ImageReadError, read_image

FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "heic": "image/heic"}
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
# Markup or script anywhere in an "image" makes it a polyglot a browser or a viewer could run.
MARKUP = (b"<html", b"<script", b"<svg", b"<!doctype", b"<?php", b"<?xml", b"<iframe", b"javascript:")


_strict_lock = threading.Lock()


@contextmanager
def strict_decoding():
    """Pillow refuses truncated files while this is active.

    WeasyPrint (the consent PDFs) sets Pillow's process-wide ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` when
    it is imported, which would let a truncated upload through `read_image` grey-padded; uploads are checked
    with the flag off again.
    """
    with _strict_lock:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


class UploadRefused(ValueError):
    """The file is not accepted; the message says why in one sentence."""


@dataclass(frozen=True)
class CheckedUpload:
    name: str
    data: bytes
    format: str  # jpeg, png, heic
    sha256: str
    image: np.ndarray  # (M, N, 3) uint8, upright


def sniff_format(data: bytes) -> str | None:
    """'jpeg', 'png' or 'heic' from the first bytes (never from the file name), else None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "heic"
    return None


def check_upload(name: str, data: bytes, *, max_bytes: int, max_pixels: int) -> CheckedUpload:
    """Accept a JPEG, PNG or HEIC photo or raise UploadRefused with a sentence a person can act on.

    Refused: too large, not one of the three formats (whatever the name says), a polyglot (a ZIP archive, or
    markup or script, inside the file), data after the end of a PNG, and whatever the core's safe decoder
    refuses (decompression bombs, truncated or damaged files, too many pixels).
    """
    label = name or "upload"
    if not data:
        raise UploadRefused(f"{label}: the file is empty.")
    if len(data) > max_bytes:
        raise UploadRefused(f"{label}: the file is larger than {max_bytes // (1024 * 1024)} MB.")
    fmt = sniff_format(data)
    if fmt is None:
        raise UploadRefused(f"{label}: not a JPEG, PNG or HEIC photo (whatever its name says).")
    hidden = _outside_pixels(data, fmt)
    if any(marker in hidden.lower() for marker in MARKUP) or b"PK\x03\x04" in hidden or _is_zip(data):
        raise UploadRefused(f"{label}: the file hides other content (markup, script or an archive).")
    if fmt == "png" and not _png_ends_cleanly(data):
        raise UploadRefused(f"{label}: the PNG file has data after its end.")
    try:
        with strict_decoding():
            image = read_image(data, max_pixels=max_pixels, max_bytes=max_bytes)
    except ImageReadError as error:
        message = str(error).removeprefix("upload: ")
        raise UploadRefused(f"{label}: {message[:1].lower()}{message[1:]}".rstrip(".") + ".") from None
    return CheckedUpload(label, data, fmt, hashlib.sha256(data).hexdigest(), image)


def _is_zip(data: bytes) -> bool:
    try:
        return zipfile.is_zipfile(io.BytesIO(data))
    except (OSError, ValueError):
        return True


def _outside_pixels(data: bytes, fmt: str) -> bytes:
    """Every byte of the file except the compressed pixels: metadata segments, chunks, boxes and trailers.

    Polyglots hide their second file there; the compressed pixels are not searched, since random bytes
    would match short markers by chance.
    """
    parts = []
    if fmt == "jpeg":
        at = 2
        while at + 4 <= len(data) and data[at] == 0xFF:
            marker = data[at + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                at += 2
                continue
            length = int.from_bytes(data[at + 2 : at + 4], "big")
            parts.append(data[at + 4 : at + 2 + length])
            at += 2 + length
            if marker == 0xDA:  # start of scan: the compressed pixels follow
                break
        end = data.rfind(b"\xff\xd9")
        parts.append(data[end + 2 :] if end != -1 else b"")
    elif fmt == "png":
        at = 8
        while at + 8 <= len(data):
            length = int.from_bytes(data[at : at + 4], "big")
            kind = data[at + 4 : at + 8]
            if kind != b"IDAT":
                parts.append(data[at + 4 : at + 12 + length])
            at += 12 + length
        parts.append(data[at:])
    else:  # ISO base media boxes: everything but the coded image data (mdat)
        at = 0
        while at + 8 <= len(data):
            size = int.from_bytes(data[at : at + 4], "big")
            kind = data[at + 4 : at + 8]
            if size == 1 and at + 16 <= len(data):
                size = int.from_bytes(data[at + 8 : at + 16], "big")
            elif size == 0:
                size = len(data) - at
            if size < 8:
                parts.append(data[at:])
                break
            if kind != b"mdat":
                parts.append(data[at : at + size])
            at += size
        parts.append(data[at:])
    return b"".join(parts)


def _png_ends_cleanly(data: bytes) -> bool:
    end = data.rfind(b"IEND")
    return end != -1 and len(data) - (end + 8) == 0


def derived_jpeg(image: np.ndarray, *, quality: int = 90) -> bytes:
    """The photo as a fresh JPEG: upright pixels only, no EXIF, GPS, maker notes, XMP or ICC data.

    Without Pillow's ``optimize`` (a second Huffman pass): half the encoding time of a 12-MP photo in the
    upload request for a file a few per cent larger (bench/photo_latency.py).
    """
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


_TURNS = {1: Image.Transpose.ROTATE_90, 2: Image.Transpose.ROTATE_180, 3: Image.Transpose.ROTATE_270}


def preview_jpeg(data: bytes, *, turns: int = 0, max_side_px: int = 1600, quality: int = 85) -> bytes:
    """A copy of a derived photo for showing on a page: at most `max_side_px` on its long side and turned
    `turns` quarter turns counter-clockwise (upright). A JPEG is decoded at a reduced scale directly (1/2,
    1/4 or 1/8: a 12-MP photo in a few tens of milliseconds), so thumbnails do not cost a full decode."""
    with Image.open(io.BytesIO(data)) as image:
        shrink = max_side_px / max(image.size)
        if shrink < 1:  # (the largest reduction that still leaves the long side at least `max_side_px`)
            image.draft("RGB", (math.ceil(image.width * shrink), math.ceil(image.height * shrink)))
        image = image.convert("RGB")
    image.thumbnail((max_side_px, max_side_px), Image.Resampling.BILINEAR, reducing_gap=2.0)
    if turns % 4:
        image = image.transpose(_TURNS[turns % 4])
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


# Segments a stripped JPEG keeps: frame (baseline, extended, progressive Huffman), Huffman and quantisation
# tables, restart interval, and Adobe's APP14 (its colour-transform flag says how to read the components).
# Everything else before the pixels goes: APP0-13 and APP15 (EXIF with GPS and maker notes, XMP, ICC,
# IPTC, MPF, Photoshop), comments. Any other marker makes the copy a re-encoding instead.
_JPEG_KEEP = {0xC0, 0xC1, 0xC2, 0xC4, 0xDB, 0xDD}
_JPEG_SOF = {0xC0, 0xC1, 0xC2}
_JPEG_DROP = {0xFE, *range(0xE0, 0xEE), 0xEF}
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # the first marker after entropy-coded data


def derived_copy(upload: CheckedUpload) -> bytes:
    """The metadata-free derived copy of a checked upload.

    A JPEG that needs no turning (no EXIF orientation other than 1) and whose pixels a browser reads as
    they are (8-bit Huffman-coded grey or YCbCr/RGB) keeps its compressed pixels byte for byte, without
    any metadata segment (`strip_jpeg_metadata`): no re-encoding (a generation loss and about 0.1 s of
    the upload of a 12-MP photo). Every other photo is re-encoded from its upright pixels (`derived_jpeg`).
    """
    if upload.format == "jpeg":
        stripped = strip_jpeg_metadata(upload.data, shape=upload.image.shape[:2])
        if stripped is not None:
            return stripped
    return derived_jpeg(upload.image)


def strip_jpeg_metadata(data: bytes, *, shape: tuple[int, int]) -> bytes | None:
    """`data` (a JPEG that decoded to `shape` rows × columns) without its metadata, pixels untouched.

    None when that is not possible or not enough: an EXIF orientation that turns or mirrors the picture
    (the derived copy must be upright), a frame other than 8-bit baseline/extended/progressive Huffman of
    1 or 3 components, a size other than `shape`, or a marker this function does not know.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.getexif().get(0x0112, 1) not in (0, 1):
                return None
    except (OSError, ValueError, SyntaxError):
        return None
    out = [b"\xff\xd8"]
    at, frame_seen = 2, False
    while at + 2 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xD9:
            out.append(b"\xff\xd9")
            return b"".join(out) if frame_seen else None
        if at + 4 > len(data):
            return None
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        end = at + 2 + length
        if length < 2 or end > len(data):
            return None
        segment = data[at:end]
        if marker in _JPEG_SOF:
            precision, rows, cols, components = segment[4], *struct.unpack(">HH", segment[5:9]), segment[9]
            if precision != 8 or components not in (1, 3) or (rows, cols) != tuple(shape) or frame_seen:
                return None
            frame_seen = True
            out.append(segment)
        elif marker in _JPEG_KEEP or (marker == 0xEE and segment[4:9] == b"Adobe"):
            out.append(segment)
        elif marker == 0xDA:  # start of scan: copy its entropy-coded data up to the next marker
            if not frame_seen:
                return None
            found = _SCAN_END.search(data, end)
            if found is None:
                return None
            out.append(data[at : found.start()])
            end = found.start()
        elif marker not in _JPEG_DROP:
            return None
        at = end
    return None


OVERLAY_JPEG_QUALITY = 88
# Global views are decoded reduced, to no less than this many times the scalp core's working side.
GLOBAL_DECODE_FACTOR = 4


def overlay_jpeg(image: np.ndarray) -> bytes:
    """An overlay as JPEG: about 0.1 s for 12 MP where a PNG took 4 s (and 11 MB) in the worker."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="JPEG", quality=OVERLAY_JPEG_QUALITY)
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    return read_image(data)


def quality_measures(image: np.ndarray) -> dict:
    """Exposure and sharpness of one photo, for the before/after verdict."""
    return {"mean_brightness": compare.exposure(image), "sharpness": compare.sharpness(image)}


def shedding_algorithm() -> tuple[str, str]:
    """(name, version) of the shed-hair algorithm now installed: `remeasure` compares it with stored ones."""
    from trichotrack.measure import shedding

    return shedding.ALGORITHM, shedding.VERSION


def installed_algorithms() -> dict[str, tuple[str, str]]:
    """(name, version) of the installed algorithm per measurement kind (shed, trichoscopy, scalp)."""
    from trichotrack.measure import scalp, trichoscopy

    return {
        "shed": shedding_algorithm(),
        "trichoscopy": (trichoscopy.ALGORITHM, trichoscopy.VERSION),
        "scalp": (scalp.ALGORITHM, scalp.VERSION),
    }


@dataclass(frozen=True)
class PhotoMeasurement:
    """A measurement's numbers, and its overlay still to draw.

    The numbers are stored (and shown) first; `overlay_bytes` draws and encodes the overlay afterwards, from
    the arrays the measurement already holds (the photo is not decoded again). For a 12-MP shed-hair photo
    the drawing and encoding take about a second (bench/photo_latency.py).
    """

    fields: dict  # Measurement model fields
    draw: Callable[[], np.ndarray]  # the overlay picture, RGB uint8
    overlay_ext: str = "jpg"  # JPEG; overlays stored before were PNG and keep their .png name

    def overlay_bytes(self) -> bytes:
        return overlay_jpeg(self.draw())

    @property
    def overlay(self) -> bytes:
        """The overlay drawn and encoded now (for callers that want both at once)."""
        return self.overlay_bytes()


ShedMeasurement = PhotoMeasurement  # the name before trichoscopy and global views were measured


def measure_shed_photo(data: bytes, *, hair_colour: str | None = None) -> PhotoMeasurement:
    """Measure a stored original (bytes) as the CLI does: fields for the Measurement row, and the overlay
    to draw afterwards (on the analysed image: the photo on the card plane, cut to the card). Full
    resolution: hair widths are a few pixels. `hair_colour`: the patient's, as ``--hair-colour`` gives it."""
    from trichotrack.cli import shedding_report
    from trichotrack.measure.photo import measure_shedding_photo
    from trichotrack.measure.shedding import render_overlay

    started = time.perf_counter()
    image = read_image(data)
    measured = measure_shedding_photo(image, hair_colour=hair_colour)
    seconds = time.perf_counter() - started
    report = shedding_report(measured, seconds=seconds)
    result = measured.result
    rows, cols = measured.analysed_image.shape[:2]
    fields = {
        "algorithm": result.algorithm,
        "version": result.version,
        "params": report["algorithm"]["params"],
        "hair_count": int(result.hair_count),
        "count_low": int(result.count_low),
        "count_high": int(result.count_high),
        "countable": bool(result.countable),
        "kind": "shed",
        "problems": list(measured.problems),
        "scale_source": measured.scale_source,
        "mm_per_px": report["mm_per_px"],
        "short_hair_fraction": report["short_hair_fraction"],
        "report": report,
        "analysed_width_px": cols,
        "analysed_height_px": rows,
        "seconds": seconds,
    }
    return PhotoMeasurement(fields, partial(render_overlay, measured.analysed_image, result))


def measure_trichoscopy_photo(data: bytes, *, mm_per_px: float | None = None) -> PhotoMeasurement:
    """Measure a trichoscopy image as ``trichotrack measure trichoscopy --json`` does.

    Density and the thin/vellus shares need the device's scale (`mm_per_px`); without it only the count is
    reported. Fields for the Measurement row and the overlay (at the image's size).
    """
    from trichotrack.cli import trichoscopy_report
    from trichotrack.measure.trichoscopy import analyze_trichoscopy, render_trichoscopy_overlay

    started = time.perf_counter()
    image = read_image(data)
    result = analyze_trichoscopy(image, mm_per_px=mm_per_px)
    seconds = time.perf_counter() - started
    report = trichoscopy_report(result, seconds=seconds)
    rows, cols = image.shape[:2]
    fields = {
        "kind": "trichoscopy",
        "algorithm": result.algorithm,
        "version": result.version,
        "params": _plain(report["algorithm"]["params"]),
        "hair_count": int(result.hair_count),
        "count_low": int(result.count_low),
        "count_high": int(result.count_high),
        "countable": bool(result.countable),
        "problems": list(result.problems),
        "scale_source": "given" if mm_per_px is not None else "none",
        "mm_per_px": report["mm_per_px"],
        "density_per_cm2": report["density_per_cm2"],
        "thin_hair_fraction": report["thin_hair_fraction"],
        "vellus_fraction": report["vellus_fraction"],
        "report": _plain(report),
        "analysed_width_px": cols,
        "analysed_height_px": rows,
        "seconds": seconds,
    }
    return PhotoMeasurement(fields, partial(render_trichoscopy_overlay, image, result))


def measure_global_photo(
    data: bytes, *, view: str, mm_per_px: float | None = None, orientation: str | int = "auto"
) -> PhotoMeasurement:
    """Measure a global photo as ``trichotrack measure scalp --view VIEW [--turns N] --json`` does.

    `view` is the core's name (top, front, part, left, right). `orientation`: ``"auto"`` (the core finds
    it from the picture) or the quarter turns counter-clockwise a person chose (`Photo.orientation_turns`).
    The overlay is at the core's working size, upright. The core measures a copy reduced to
    `scalp.WORK_SIDE_PX` (twice that for the part view), so a JPEG is decoded already reduced by its DCT
    scaling, to no less than `GLOBAL_DECODE_FACTOR` times that side (about a third of a 12-MP decode).
    """
    from trichotrack.cli import scalp_report
    from trichotrack.measure.scalp import WORK_SIDE_PX, measure_scalp, render_scalp_overlay

    started = time.perf_counter()
    work_side = 2 * WORK_SIDE_PX if view == "part" else WORK_SIDE_PX
    image = read_image(data, reduce_to_px=GLOBAL_DECODE_FACTOR * work_side)
    result = measure_scalp(image, view=view, mm_per_px=mm_per_px, orientation=orientation)
    seconds = time.perf_counter() - started
    report = scalp_report(result, seconds=seconds)
    work_rows, work_cols = result.work_image.shape[:2]
    hairline = report["hairline"] or {}
    fields = {
        "kind": "scalp",
        "algorithm": result.algorithm,
        "version": result.version,
        "params": _plain(report["algorithm"]["params"]),
        "problems": list(result.problems),
        "scale_source": "given" if mm_per_px is not None else "none",
        "mm_per_px": mm_per_px,
        "usable": bool(result.usable),
        "scalp_visible_fraction": report["scalp_visible_fraction"],
        "hairline_midline_depth_fraction": hairline.get("midline_depth_fraction"),
        "hairline_recession_index": hairline.get("recession_index"),
        "part_width_mm": report["part_width_mm"],
        "report": _plain(report),
        "analysed_width_px": work_cols,
        "analysed_height_px": work_rows,
        "seconds": seconds,
    }
    return PhotoMeasurement(fields, partial(render_scalp_overlay, result))


def _plain(value):
    """JSON-safe copy (numpy scalars and tuples from the core's params become plain Python)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class StageResult:
    scale: str
    stage: int | None
    probabilities: dict  # {"4": 0.61}
    measurements: dict
    problems: tuple[str, ...]
    algorithm: str
    version: str
    params: dict


def estimate_stage(measurements: dict[str, float], *, sex: str, problems=()) -> StageResult:
    """Norwood (``sex="male"``) or Ludwig (``"female"``) stage from stored view measurements keyed
    ``"<core view>.<measure>"`` (as `trichotrack.measure.staging.view_measurements` names them)."""
    from trichotrack.measure.staging import stage_from_measurements

    estimate = stage_from_measurements(measurements, sex=sex, problems=problems)
    return StageResult(
        scale=estimate.scale,
        stage=estimate.stage,
        probabilities={str(k): float(v) for k, v in estimate.probabilities.items()},
        measurements={k: round(float(v), 4) for k, v in estimate.measurements.items()},
        problems=tuple(estimate.problems),
        algorithm=estimate.algorithm,
        version=estimate.version,
        params=_plain(estimate.params),
    )


@dataclass(frozen=True)
class PairResult:
    registered_jpeg: bytes | None  # the follow-up warped onto the baseline
    verdict: str
    reasons: tuple[str, ...]
    measures: dict
    registration: dict


def compare_pair(baseline: bytes, followup: bytes, *, facts: dict, followup_turns: int = 0) -> PairResult:
    """Register the follow-up onto the baseline and judge the pair. `facts`: views, tags and dates.
    `followup_turns`: quarter turns counter-clockwise that bring the follow-up into the baseline's frame."""
    base_image, follow_image = read_image(baseline), read_image(followup)
    followup_turns %= 4
    if followup_turns:
        follow_image = np.ascontiguousarray(np.rot90(follow_image, k=followup_turns))
    registration = compare.register(base_image, follow_image)
    registered = None
    if registration.found:
        registered = derived_jpeg(compare.warp_onto(base_image.shape, follow_image, registration))
    verdict = compare.assess_comparability(
        baseline_exposure=compare.exposure(base_image),
        followup_exposure=compare.exposure(follow_image),
        baseline_sharpness=compare.sharpness(base_image),
        followup_sharpness=compare.sharpness(follow_image),
        registration=registration,
        **facts,
    )
    info = {
        "found": registration.found,
        "method": registration.method,
        "inliers": registration.inliers,
        "scale": round(registration.scale, 3),
        "rotation_deg": round(registration.rotation_deg, 1),
        "followup_quarter_turns": followup_turns,
        "algorithm": compare.ALGORITHM,
        "version": compare.VERSION,
        "params": registration.params,
    }
    return PairResult(registered, verdict.verdict, verdict.reasons, verdict.measures, info)
