"""Every flag of the `trichotrack` command, called through main([...])."""

import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from trichotrack.cli import main
from trichotrack.synth.shedding import shed_photo

CONTRACT_KEYS = {
    "hair_count",
    "count_low",
    "count_high",
    "countable",
    "problems",
    "mm_per_px",
    "scale_source",
    "hairs",
    "short_hair_fraction",
    "algorithm",
    "seconds",
}


@pytest.fixture(scope="module")
def photo():
    return shed_photo(
        7, shape=(900, 1200), n_hairs=6, background="white_paper", hair_colour="black", clump=False
    )


@pytest.fixture
def photo_jpeg(tmp_path, photo):
    path = tmp_path / "shed.jpg"
    Image.fromarray(photo.image).save(path, quality=95)
    return path


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_measure_json_follows_the_contract(capsys, photo, photo_jpeg):
    code, out, err = _run(
        capsys, ["measure", "shedding", photo_jpeg, "--json", "--mm-per-px", photo.mm_per_px]
    )
    report = json.loads(out)
    assert set(report) >= CONTRACT_KEYS
    assert code == (0 if report["countable"] else 1)
    assert report["scale_source"] == "given"
    assert report["mm_per_px"] == pytest.approx(photo.mm_per_px, rel=1e-4)
    assert isinstance(report["hair_count"], int)
    assert report["count_low"] <= report["hair_count"] <= report["count_high"]
    assert abs(report["hair_count"] - photo.hair_count) <= 1
    assert all(h["length_mm"] > 0 and h["width_mm"] > 0 for h in report["hairs"])
    assert report["algorithm"]["name"] and report["algorithm"]["version"]
    assert err == ""


def test_measure_with_the_hair_colour_declared(capsys, photo, photo_jpeg):
    argv = ["measure", "shedding", photo_jpeg, "--json", "--mm-per-px", photo.mm_per_px]
    code, out, _ = _run(capsys, argv)
    plain = json.loads(out)
    assert plain["hair_colour"] is None
    code, out, _ = _run(capsys, [*argv, "--hair-colour", "black"])
    black = json.loads(out)
    assert black["hair_colour"] == "black"
    assert (black["hair_count"], black["countable"]) == (plain["hair_count"], plain["countable"])
    # Grey: a mix whose white hairs do not show on white paper; never countable from one photo.
    code, out, _ = _run(capsys, [*argv, "--hair-colour", "grey"])
    grey = json.loads(out)
    assert code == 1 and not grey["countable"]
    assert grey["hair_count"] == plain["hair_count"]
    assert grey["count_high"] > plain["count_high"]
    assert any(p.startswith("Grey hair mixes") for p in grey["problems"])
    code, out, err = _run(capsys, ["measure", "shedding", photo_jpeg, "--hair-colour", "grey"])
    assert "! Grey hair mixes" in out and err == ""


def test_measure_refuses_an_unknown_hair_colour(capsys, photo_jpeg):
    with pytest.raises(SystemExit) as exit_info:
        main(["measure", "shedding", str(photo_jpeg), "--hair-colour", "purple"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2 and out == ""
    assert "--hair-colour" in err and "invalid choice" in err


def test_the_cli_offers_the_hair_colours_the_engine_knows():
    from trichotrack import cli
    from trichotrack.measure.shedding import HAIR_COLOURS

    assert cli.HAIR_COLOURS == HAIR_COLOURS


def test_the_cli_offers_the_card_fields_the_card_knows():
    from trichotrack import cli
    from trichotrack.measure.card import FIELDS

    assert cli.CARD_FIELDS == FIELDS


def test_measure_without_scale_says_so(capsys, photo_jpeg):
    _code, out, _ = _run(capsys, ["measure", "shedding", photo_jpeg, "--json"])
    report = json.loads(out)
    assert report["scale_source"] == "none"
    assert report["mm_per_px"] is None
    assert report["short_hair_fraction"] is None
    assert all(h["length_mm"] is None for h in report["hairs"])
    assert any("card" in p.lower() for p in report["problems"])


def test_summary_of_an_uncountable_photo_leaves_out_the_short_share(capsys, tmp_path, photo):
    # The same hairs, heavily blurred: traced, measured, but not countable, so no share of short hairs.
    blurred = np.asarray(Image.fromarray(photo.image).resize((300, 225)).resize((1200, 900)))
    path = tmp_path / "blurred.png"
    Image.fromarray(blurred).save(path)
    code, out, _ = _run(capsys, ["measure", "shedding", path, "--json", "--mm-per-px", photo.mm_per_px])
    report = json.loads(out)
    assert code == 1 and not report["countable"]
    assert report["short_hair_fraction"] is None
    code, out, err = _run(capsys, ["measure", "shedding", path, "--mm-per-px", photo.mm_per_px])
    assert code == 1 and err == ""
    assert "not countable" in out and "shorter than 30 mm" not in out


def test_measure_summary_is_short_and_human(capsys, photo, photo_jpeg):
    _code, out, _ = _run(capsys, ["measure", "shedding", photo_jpeg, "--mm-per-px", photo.mm_per_px])
    assert "hairs" in out and "{" not in out
    assert len(out.splitlines()) < 12


def test_measure_writes_the_overlay(capsys, tmp_path, photo, photo_jpeg):
    overlay = tmp_path / "overlay.png"
    _code, _, _ = _run(
        capsys, ["measure", "shedding", photo_jpeg, "--overlay", overlay, "--mm-per-px", "0.08"]
    )
    with Image.open(overlay) as im:
        assert im.size == (1200, 900)


def test_measure_refuses_an_overlay_it_cannot_write(capsys, photo_jpeg, tmp_path):
    code, out, err = _run(capsys, ["measure", "shedding", photo_jpeg, "--overlay", tmp_path / "x.gif"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "overlay" in err


@pytest.mark.parametrize("value", ["-1", "0", "nan", "abc"])
def test_measure_refuses_an_impossible_scale(capsys, photo_jpeg, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["measure", "shedding", str(photo_jpeg), f"--mm-per-px={value}"])
    assert exit_info.value.code == 2
    assert "--mm-per-px" in capsys.readouterr().err


def _truncated_jpeg(path):
    data = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8)).save(
        data, "JPEG"
    )
    path.write_bytes(data.getvalue()[:5000])


def _tiny(path):
    Image.new("RGB", (1, 1)).save(path, "PNG")


def _bomb(path):
    Image.new("1", (40000, 40000)).save(path, "PNG")


def _text(path):
    path.write_text("not a photo at all\n" * 20)


@pytest.mark.parametrize(
    ("make", "name", "words"),
    [
        (_text, "notes.jpg", "not an image"),
        (_truncated_jpeg, "cut.jpg", "truncated"),
        (_tiny, "dot.png", "too small"),
        (_bomb, "bomb.png", "limit|decompression bomb"),
        (None, "missing.jpg", "no such file"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code_2(capsys, tmp_path, make, name, words):
    path = tmp_path / name
    if make is not None:
        make(path)
    code, out, err = _run(capsys, ["measure", "shedding", path, "--json"])
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and re.search(words, err) and "Traceback" not in err


def test_it_reads_a_16_bit_png(capsys, tmp_path, photo):
    path = tmp_path / "deep.png"
    Image.fromarray(photo.image[..., 1].astype(np.uint16) * 257).save(path)
    _code, out, _ = _run(capsys, ["measure", "shedding", path, "--json", "--mm-per-px", photo.mm_per_px])
    assert abs(json.loads(out)["hair_count"] - photo.hair_count) <= 1


def test_it_reads_an_exif_rotated_phone_jpeg(capsys, tmp_path, photo):
    # The phone stores the pixels turned and says so in EXIF; the count must not change.
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.fromarray(np.rot90(photo.image, k=-1).copy()).save(path, quality=95, exif=exif)
    _code, out, _ = _run(capsys, ["measure", "shedding", path, "--json", "--mm-per-px", photo.mm_per_px])
    assert abs(json.loads(out)["hair_count"] - photo.hair_count) <= 1


def test_it_reads_an_iphone_heic(capsys, tmp_path, photo):
    from pillow_heif import from_bytes

    height, width = photo.image.shape[:2]
    heif = from_bytes(mode="RGB", size=(width, height), data=photo.image.tobytes())
    path = tmp_path / "IMG_0001.HEIC"
    heif.save(path, quality=95)
    _code, out, _ = _run(capsys, ["measure", "shedding", path, "--json", "--mm-per-px", photo.mm_per_px])
    assert abs(json.loads(out)["hair_count"] - photo.hair_count) <= 1


@pytest.mark.parametrize(("paper", "dpi", "size"), [("a4", 150, (1240, 1754)), ("letter", 100, (850, 1100))])
def test_card_png_has_exact_geometry(capsys, tmp_path, paper, dpi, size):
    out = tmp_path / "card.png"
    code, stdout, _ = _run(capsys, ["card", "--out", out, "--paper", paper, "--dpi", dpi])
    assert code == 0 and "100 %" in stdout
    with Image.open(out) as im:
        assert im.size == size
        assert im.info["dpi"][0] == pytest.approx(dpi, abs=0.05)  # PNG stores dots per metre


def test_card_pdf_has_the_paper_size(capsys, tmp_path):
    out = tmp_path / "card.pdf"
    code, _, _ = _run(capsys, ["card", "--out", out, "--paper", "letter", "--dpi", "150"])
    data = out.read_bytes()
    assert code == 0 and data.startswith(b"%PDF")
    assert b"612" in data and b"792" in data  # 8.5 × 11 inches in points


def test_card_with_a_dark_field_for_light_hair(capsys, tmp_path):
    from trichotrack.measure.card import card_layout

    pages = {}
    for field in ("white", "dark"):
        out = tmp_path / f"{field}.png"
        code, stdout, _ = _run(capsys, ["card", "--out", out, "--dpi", "72", "--field", field])
        assert code == 0 and f"{field} field" in stdout
        with Image.open(out) as im:
            pages[field] = np.asarray(im.convert("L"))
    top, left, bottom, right = (round(v * 72 / 25.4) for v in card_layout("a4").hair_area_mm)
    inside = (slice(top + 3, bottom - 3), slice(left + 3, right - 3))
    assert pages["white"][inside].min() == 255
    assert pages["dark"][inside].max() < 60
    # Everything else, markers and ruler, is the same (the text line names the field: left out).
    same = np.ones(pages["white"].shape, bool)
    same[top - 2 : bottom + 2, left - 2 : right + 2] = False
    same[round(card_layout("a4").ruler_mm[2] * 72 / 25.4) + 1 :, :] = False
    assert np.array_equal(pages["white"][same], pages["dark"][same])
    with pytest.raises(SystemExit) as exit_info:
        main(["card", "--out", str(tmp_path / "c.png"), "--field", "grey"])
    assert exit_info.value.code == 2


def test_card_refuses_other_formats_and_dpi(capsys, tmp_path):
    code, _, err = _run(capsys, ["card", "--out", tmp_path / "card.svg"])
    assert code == 2 and ".pdf or .png" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["card", "--out", str(tmp_path / "c.png"), "--dpi", "5"])
    assert exit_info.value.code == 2


def test_demo_writes_its_files(capsys, tmp_path):
    code, _out, _ = _run(capsys, ["demo", "--out", tmp_path, "--seed", "3"])
    assert code == 0
    for name in ("card-a4.pdf", "shed-photo.jpg", "shed-overlay.png", "shed-result.json"):
        assert (tmp_path / name).stat().st_size > 0
    result = json.loads((tmp_path / "shed-result.json").read_text())
    assert result["scale_source"] == "card"
    assert result["card"]["field"] == "white"


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert "trichotrack" in capsys.readouterr().out
