"""The only module of the core that touches files.

`read_image` turns whatever a phone, a scanner or a browser upload hands us into an (M, N, 3) uint8 RGB
array with the orientation the person saw, or raises `ImageReadError` with one sentence a person can act
on. It never trusts the file: the pixel count is checked before any pixel is decoded (decompression
bombs), truncated files are refused rather than padded with grey, and 16-bit files are scaled, not
clipped.
"""

from __future__ import annotations

import io
import math
import os
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()

#: 12 MP phones are the common case; 50 MP sensors exist. Anything larger is refused before decoding.
MAX_PIXELS = 64_000_000
MAX_BYTES = 80 * 1024 * 1024
MIN_SIDE_PX = 64

_WRITABLE = {".png": "PNG", ".pdf": "PDF", ".jpg": "JPEG", ".jpeg": "JPEG"}


class ImageReadError(ValueError):
    """The file cannot be read as a photo; the message says why in one sentence."""


def read_image(
    source, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES, reduce_to_px: int | None = None
) -> np.ndarray:
    """Read a photo as an (M, N, 3) uint8 RGB array, upright as EXIF orientation says.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A file path or the file's bytes (JPEG, PNG, TIFF, WebP, HEIC/HEIF, ...).
    max_pixels, max_bytes : int
        Limits checked before decoding.
    reduce_to_px : int, optional
        For callers that work on a reduced copy anyway: a JPEG is decoded at 1/2, 1/4 or 1/8 of its size
        (the decoder's DCT scaling, much faster than a full decode) as long as its longer side stays at
        least this long. Other formats, and JPEGs too small to reduce, are decoded at full size.

    Raises
    ------
    ImageReadError
        Not an image, truncated, too small, too large, or an unsupported pixel format.
    """
    data = _read_bytes(source, max_bytes=max_bytes)
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else "upload"
    try:
        with warnings.catch_warnings():
            # Pillow warns, then raises, above its own pixel limit; ours is checked explicitly below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageReadError(
                        f"{name}: {width}×{height} px is more than the {max_pixels / 1e6:.0f} MP limit"
                    )
                if min(width, height) < MIN_SIDE_PX:
                    raise ImageReadError(
                        f"{name}: {width}×{height} px is too small; need at least {MIN_SIDE_PX} px a side"
                    )
                if getattr(im, "n_frames", 1) > 1:
                    im.seek(0)
                if reduce_to_px is not None and im.format == "JPEG":
                    _reduce_jpeg(im, int(reduce_to_px))
                with _refuse_truncated():
                    im.load()
                    return _to_rgb8(im, data)
    except ImageReadError:
        raise
    except Image.DecompressionBombError:
        raise ImageReadError(f"{name}: the image declares too many pixels (decompression bomb)") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{name}: not an image file (JPEG, PNG, TIFF or HEIC expected)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(f"{name}: the image file is damaged or truncated ({error})") from None


def write_image(path, image: np.ndarray, *, dpi: float | None = None) -> None:
    """Write an (M, N) or (M, N, 3) uint8 array as PNG, JPEG or PDF.

    With `dpi`, the file records that resolution, so a PDF page or a printed PNG has exact physical size.
    """
    path = Path(path)
    fmt = _WRITABLE.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot write {path.name!r}: use one of {', '.join(sorted(_WRITABLE))}")
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"image must be a uint8 (M, N) or (M, N, 3) array, got {image.dtype} {image.shape}")
    im = Image.fromarray(image)
    options = {}
    if dpi is not None:
        options = {"resolution": float(dpi)} if fmt == "PDF" else {"dpi": (dpi, dpi)}
    if fmt == "JPEG":
        options["quality"] = 92
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    im.save(tmp, format=fmt, **options)
    tmp.replace(path)


def _reduce_jpeg(im: Image.Image, side_px: int) -> None:
    """Let the JPEG decoder scale down by 2, 4 or 8 while the longer side stays >= `side_px`."""
    width, height = im.size
    factor = side_px / max(width, height)
    if factor < 0.5:  # at least one halving fits
        im.draft(im.mode, (max(1, math.ceil(width * factor)), max(1, math.ceil(height * factor))))


_truncated_lock = threading.Lock()


@contextmanager
def _refuse_truncated():
    # WeasyPrint, imported by the web app for PDFs, sets Pillow's process-wide LOAD_TRUNCATED_IMAGES, which
    # would let a truncated photo through padded with grey. Decoding here is always strict.
    with _truncated_lock:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _read_bytes(source, *, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ImageReadError(f"{path}: no such file")
        if path.stat().st_size > max_bytes:
            raise ImageReadError(f"{path}: the file is larger than {max_bytes // (1024 * 1024)} MB")
        data = path.read_bytes()
    if len(data) > max_bytes:
        raise ImageReadError(f"upload: the file is larger than {max_bytes // (1024 * 1024)} MB")
    if not data:
        raise ImageReadError("the file is empty")
    return data


def _to_rgb8(im: Image.Image, data: bytes) -> np.ndarray:
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        gray = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if gray.max(initial=0) > 255 or im.mode != "I" else 255.0
        gray8 = np.clip(gray / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([gray8] * 3, axis=-1))
    if im.format == "PNG" and im.mode == "RGB" and _png_bit_depth(data) == 16:
        # Pillow reduces 16-bit colour PNGs itself; OpenCV keeps all 16 bits, so scale those instead.
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if decoded is not None and decoded.dtype == np.uint16 and decoded.ndim == 3:
            rgb = cv2.cvtColor(decoded[..., :3], cv2.COLOR_BGR2RGB)
            return (rgb / 257.0 + 0.5).astype(np.uint8)
    if im.mode not in ("RGB", "L"):
        im = im.convert("RGBA").convert("RGB") if "A" in im.mode or im.mode == "P" else im.convert("RGB")
    array = np.asarray(im)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    return np.ascontiguousarray(array, dtype=np.uint8)


def _png_bit_depth(data: bytes) -> int:
    # IHDR is the first chunk: 8-byte signature, 4 length, 4 type, 4 width, 4 height, then bit depth.
    return data[24] if len(data) > 25 and data[12:16] == b"IHDR" else 8
