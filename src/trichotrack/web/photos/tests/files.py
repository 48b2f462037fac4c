"""Upload fixtures made in memory: real JPEG, PNG and HEIC files, an EXIF-rotated JPEG with GPS, and the
malicious cases (decompression bomb, polyglots, truncated, markup renamed .jpg)."""

import io
import struct
import zipfile
import zlib

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from trichotrack.synth.shedding import shed_photo


def shed_image(seed=1, n_hairs=4, shape=(300, 400)):
    return shed_photo(seed, shape=shape, n_hairs=n_hairs, background="white_paper", hair_colour="black")


def asymmetric(shape=(120, 200)):
    """Left half red, right half blue: shows which way a photo was turned."""
    image = np.zeros((*shape, 3), np.uint8)
    image[:, : shape[1] // 2] = (220, 30, 30)
    image[:, shape[1] // 2 :] = (30, 30, 220)
    return image


def jpeg(image, *, orientation=None, gps=False, comment=None) -> bytes:
    im = Image.fromarray(image)
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x010F] = "PhoneMaker"
        exif[0x0110] = "Phone 12"
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = (48.0, 51.0, 29.0)
        gps_ifd[3] = "E"
        gps_ifd[4] = (2.0, 17.0, 40.0)
    buffer = io.BytesIO()
    options = {"quality": 92}
    if orientation or gps:
        options["exif"] = exif.tobytes()
    if comment:
        options["comment"] = comment
    im.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def png(image) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def heic(image) -> bytes:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="HEIF", quality=90)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bomb(side=60_000) -> bytes:
    """A valid-looking PNG that declares side×side pixels (3.6 gigapixels) in a few hundred bytes."""
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * (side // 8)
    idat = zlib.compress(row * 16, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def jpeg_zip_polyglot(image) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.html", "<html><script>alert(1)</script></html>")
    return jpeg(image) + archive.getvalue()


def jpeg_html_polyglot(image) -> bytes:
    return jpeg(image, comment=b"<html><body><script>alert(document.cookie)</script></body></html>")


def jpeg_html_trailer(image) -> bytes:
    return jpeg(image) + b"<!DOCTYPE html><html><script>alert(1)</script></html>"


def truncated_jpeg(image) -> bytes:
    data = jpeg(image)
    return data[: len(data) * 2 // 3]


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def upload(name, data, content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def trichoscopy(seed=1, *, width_px=320, field_width_mm=3.6, **options):
    """A small synthetic trichoscopy image (exact truth) whose field is `field_width_mm` wide."""
    from trichotrack.synth.trichoscopy import trichoscopy_image

    options = {"n_units": 6, **options}
    return trichoscopy_image(
        seed, shape=(round(width_px * 0.8), width_px), mm_per_px=field_width_mm / width_px, **options
    )


def head(view="top", seed=1, *, side_px=200, **options):
    """A small synthetic global photo (exact truth): `view` is the synth's name (top, front, part)."""
    from trichotrack.synth.scalp import render_head

    return render_head(seed, view=view, shape=(side_px, side_px), **options)
