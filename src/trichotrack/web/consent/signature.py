"""The patient's drawn signature: a PNG sent by the signature pad as a data URL, checked before it is stored.

Pure functions (bytes in, bytes out) so that the rules are tested without a browser.
"""

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"
MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SIGNATURE_SIDE_PX = 4000
# A signature is more than a dot or an accidental tap: at least this many inked pixels.
MIN_INK_PX = 80


class SignatureError(ValueError):
    """A message for the person at the screen: what is wrong with the signature and what to do."""


def decode_signature(data_url: str) -> bytes:
    """The PNG bytes of a signature pad's ``canvas.toDataURL("image/png")``.

    Raises SignatureError (a ValueError) with a message for the user when it is missing, not a PNG, too
    large, or blank.
    """
    if not data_url:
        raise SignatureError("The patient has not signed in the signature box.")
    if not data_url.startswith(DATA_URL_PREFIX):
        raise SignatureError("The signature was not received as a PNG image. Clear the box and sign again.")
    encoded = data_url[len(DATA_URL_PREFIX) :]
    if len(encoded) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
        raise SignatureError("The signature image is too large. Clear the box and sign again.")
    try:
        png = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("The signature image is damaged. Clear the box and sign again.") from None
    if not png.startswith(PNG_MAGIC):
        raise SignatureError("The signature was not received as a PNG image. Clear the box and sign again.")
    if ink_pixels(png) < MIN_INK_PX:
        raise SignatureError("The signature box is empty. The patient must sign in the box.")
    return png


def ink_pixels(png: bytes) -> int:
    """How many pixels of the signature are drawn: opaque and dark (the pad draws dark ink on white or on
    transparency)."""
    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG":
                raise SignatureError("The signature was not received as a PNG image.")
            rows_cols = (image.height, image.width)
            if max(rows_cols) > MAX_SIGNATURE_SIDE_PX:
                raise SignatureError("The signature image is too large. Clear the box and sign again.")
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise SignatureError("The signature image is damaged. Clear the box and sign again.") from None
    alpha = rgba.getchannel("A").point(lambda a: 255 if a > 64 else 0)
    dark = rgba.convert("L").point(lambda v: 255 if v < 160 else 0)
    inked = Image.composite(dark, Image.new("L", rgba.size, 0), alpha)
    return inked.histogram()[255]


def data_url(png: bytes) -> str:
    """A PNG as a data URL, to embed it in the PDF snapshot without a file path."""
    return DATA_URL_PREFIX + base64.b64encode(png).decode("ascii")
