import io

import cv2
import numpy as np
import pytest
from PIL import Image

from trichotrack.measure.io import ImageReadError, read_image, write_image


def _jpeg_bytes(array, **kwargs):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", **kwargs)
    return buf.getvalue()


def test_it_reads_a_plain_jpeg():
    array = np.zeros((80, 100, 3), np.uint8)
    array[:, :50] = 200
    image = read_image(_jpeg_bytes(array, quality=95))
    assert image.shape == (80, 100, 3)
    assert image.dtype == np.uint8
    assert abs(int(image[40, 10, 0]) - 200) < 6


def test_it_applies_exif_orientation():
    array = np.zeros((80, 100, 3), np.uint8)
    array[:10, :] = 255  # a bright band along the top of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: the viewer turns it 90° clockwise
    image = read_image(_jpeg_bytes(array, exif=exif, quality=95))
    assert image.shape == (100, 80, 3)
    assert image[:, -10:].mean() > 200  # the band is now on the right
    assert image[:, :10].mean() < 30


def test_it_reads_heic(tmp_path):
    from pillow_heif import from_bytes

    array = np.full((96, 128, 3), 40, np.uint8)
    array[:, 64:] = 220
    heif = from_bytes(mode="RGB", size=(128, 96), data=array.tobytes())
    path = tmp_path / "phone.heic"
    heif.save(path, quality=95)
    image = read_image(path)
    assert image.shape == (96, 128, 3)
    assert image[:, :50].mean() < 70 and image[:, 80:].mean() > 190


@pytest.mark.parametrize("channels", [1, 3])
def test_it_scales_16_bit_png(tmp_path, channels):
    rng = np.random.default_rng(1)
    shape = (70, 90) if channels == 1 else (70, 90, 3)
    array = rng.integers(0, 65536, shape, dtype=np.uint16)
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), array)
    image = read_image(path)
    expected = array if channels == 1 else cv2.cvtColor(array, cv2.COLOR_BGR2RGB)
    expected = np.round(expected / 257.0)
    got = image[..., 0] if channels == 1 else image
    assert np.abs(got.astype(int) - expected).max() <= 1


def test_it_refuses_text():
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(b"hello, this is not a photo" * 10)


def test_it_refuses_a_truncated_jpeg():
    data = _jpeg_bytes(np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8))
    with pytest.raises(ImageReadError, match="damaged or truncated"):
        read_image(data[: len(data) // 2])


def test_it_refuses_a_truncated_jpeg_even_when_pillow_was_told_to_pad(monkeypatch):
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # what importing WeasyPrint does
    data = _jpeg_bytes(np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8))
    with pytest.raises(ImageReadError, match="damaged or truncated"):
        read_image(data[: len(data) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the caller's setting is left as it was


def test_it_refuses_a_tiny_image():
    with pytest.raises(ImageReadError, match="too small"):
        read_image(_jpeg_bytes(np.zeros((1, 1, 3), np.uint8)))


def test_it_refuses_a_decompression_bomb_before_decoding():
    # A 30000 x 30000 PNG of zeros compresses to a few hundred kB.
    buf = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buf, format="PNG")
    with pytest.raises(ImageReadError, match=r"MP limit|decompression bomb"):
        read_image(buf.getvalue(), max_pixels=64_000_000)


def test_it_refuses_a_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "nope.jpg")


def test_write_image_records_dpi_and_exact_pdf_size(tmp_path):
    page = np.full((297, 210), 255, np.uint8)  # 1 px per mm
    write_image(tmp_path / "page.png", page, dpi=25.4)
    with Image.open(tmp_path / "page.png") as im:
        assert im.info["dpi"][0] == pytest.approx(25.4, abs=0.01)
    write_image(tmp_path / "page.pdf", page, dpi=25.4)
    text = (tmp_path / "page.pdf").read_bytes()
    assert b"MediaBox [ 0 0 595.27" in text or b"MediaBox [0 0 595.27" in text


def test_write_image_refuses_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="cannot write"):
        write_image(tmp_path / "x.gif", np.zeros((5, 5), np.uint8))


def test_reduce_to_px_decodes_a_jpeg_reduced_but_never_below_the_side_asked_for():
    rng = np.random.default_rng(0)
    array = cv2.GaussianBlur(rng.integers(0, 256, (1200, 1600, 3), dtype=np.uint8), (0, 0), 3)
    data = _jpeg_bytes(array, quality=95)
    full = read_image(data)
    half = read_image(data, reduce_to_px=700)
    assert half.shape == (600, 800, 3)  # 1/2: 800 >= 700, and 1/4 (400) would be too small
    assert read_image(data, reduce_to_px=300).shape == (300, 400, 3)  # 1/4
    assert read_image(data, reduce_to_px=801).shape == (1200, 1600, 3)  # no halving keeps 801
    # The same picture, only smaller: close to the full decode reduced by area averaging.
    area = cv2.resize(full, (800, 600), interpolation=cv2.INTER_AREA)
    assert np.abs(half.astype(int) - area).mean() < 2.0
    png = io.BytesIO()
    Image.fromarray(array).save(png, format="PNG")
    assert read_image(png.getvalue(), reduce_to_px=300).shape == (1200, 1600, 3)  # JPEG only


def test_reduce_to_px_keeps_exif_orientation_and_the_truncation_check():
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90° clockwise to view
    array = np.zeros((400, 800, 3), np.uint8)
    array[:, :400] = 220
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", exif=exif.tobytes())
    image = read_image(buf.getvalue(), reduce_to_px=150)
    assert image.shape == (200, 100, 3)
    assert image[20, 50, 0] > 150 and image[180, 50, 0] < 60  # the bright half is on top, upright
    data = _jpeg_bytes(np.full((800, 800, 3), 128, np.uint8))
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(data[: len(data) // 2], reduce_to_px=200)
