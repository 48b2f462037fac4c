"""Every flag of `trichotrack measure trichoscopy`, called through main([...])."""

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from trichotrack.cli import main
from trichotrack.synth.trichoscopy import trichoscopy_image

CONTRACT_KEYS = {
    "hair_count",
    "count_low",
    "count_high",
    "countable",
    "problems",
    "density_per_cm2",
    "thin_hair_fraction",
    "vellus_fraction",
    "hairs",
    "algorithm",
    "seconds",
}


@pytest.fixture(scope="module")
def synthetic():
    return trichoscopy_image(3, shape=(512, 640), mm_per_px=0.0086, n_units=5, unit_weights=(1, 0, 0))


@pytest.fixture
def image_png(tmp_path, synthetic):
    path = tmp_path / "field.png"
    Image.fromarray(synthetic.image).save(path)
    return path


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_follows_the_contract(capsys, synthetic, image_png):
    code, out, err = _run(capsys, ["measure", "trichoscopy", image_png, "--json"])
    assert code == 0 and err == ""
    report = json.loads(out)
    assert set(report) >= CONTRACT_KEYS
    assert report["hair_count"] == synthetic.hair_count == 5
    assert report["count_low"] <= report["hair_count"] <= report["count_high"]
    assert report["countable"] is True and report["problems"] == []
    assert report["density_per_cm2"] is None and report["thin_hair_fraction"] is None
    assert all(hair["width_um"] is None for hair in report["hairs"])
    assert report["algorithm"]["name"] == "trichoscopy-shafts"
    assert report["seconds"] >= 0
    # The per-shaft hairs, weighted by how far an edge-cut shaft reaches in, add up to the count.
    assert sum(h["hairs"] * h["count_weight"] for h in report["hairs"]) == pytest.approx(
        report["hair_count"], abs=0.5
    )


def test_mm_per_px_gives_widths_and_density(capsys, synthetic, image_png):
    code, out, _ = _run(
        capsys, ["measure", "trichoscopy", image_png, "--json", "--mm-per-px", synthetic.mm_per_px]
    )
    report = json.loads(out)
    assert code == 0
    truth = np.median([h.width_um for h in synthetic.hairs])
    assert np.median([h["width_um"] for h in report["hairs"]]) == pytest.approx(truth, rel=0.15)
    assert report["density_per_cm2"] == pytest.approx(synthetic.density_per_cm2, rel=0.02)
    assert 0 <= report["thin_hair_fraction"] <= report["vellus_fraction"] <= 1


def test_field_mm2_gives_the_same_density(capsys, synthetic, image_png):
    code, out, _ = _run(
        capsys, ["measure", "trichoscopy", image_png, "--json", "--field-mm2", synthetic.field_mm2]
    )
    assert code == 0
    assert json.loads(out)["density_per_cm2"] == pytest.approx(synthetic.density_per_cm2, rel=0.02)


def test_summary_without_json(capsys, synthetic, image_png):
    code, out, _ = _run(capsys, ["measure", "trichoscopy", image_png, "--mm-per-px", synthetic.mm_per_px])
    assert code == 0
    assert out.startswith("field.png:")
    assert "5 hairs" in out and "hairs/cm²" in out and "thin (< 30 µm)" in out


def test_overlay_is_written(capsys, tmp_path, image_png):
    out_path = tmp_path / "overlay.png"
    code, _, _ = _run(capsys, ["measure", "trichoscopy", image_png, "--overlay", out_path])
    assert code == 0
    overlay = np.asarray(Image.open(out_path))
    assert overlay.shape == (512, 640, 3)


def test_overlay_must_be_png_or_jpeg(capsys, tmp_path, image_png):
    code, out, err = _run(capsys, ["measure", "trichoscopy", image_png, "--overlay", tmp_path / "o.gif"])
    assert code == 2 and out == ""
    assert err.startswith("trichotrack: error: --overlay") and err.count("\n") == 1


def test_both_scales_are_refused(capsys, image_png):
    with pytest.raises(SystemExit) as stop:
        main(["measure", "trichoscopy", str(image_png), "--mm-per-px", "0.004", "--field-mm2", "20"])
    assert stop.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--mm-per-px", "--field-mm2"])
@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan"])
def test_bad_scales_are_refused(capsys, image_png, flag, value):
    with pytest.raises(SystemExit) as stop:
        main(["measure", "trichoscopy", str(image_png), flag, value])
    assert stop.value.code == 2
    assert flag in capsys.readouterr().err


def test_a_file_that_is_not_an_image(capsys, tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not an image")
    code, out, err = _run(capsys, ["measure", "trichoscopy", path])
    assert code == 2 and out == ""
    assert err.startswith("trichotrack: error:") and err.count("\n") == 1


def test_a_missing_file(capsys, tmp_path):
    code, _, err = _run(capsys, ["measure", "trichoscopy", tmp_path / "nothing.jpg"])
    assert code == 2 and err.startswith("trichotrack: error:")


def test_an_unusable_image_exits_1_with_its_problems(capsys, tmp_path, synthetic):
    path = tmp_path / "blurred.png"
    Image.fromarray(cv2.GaussianBlur(synthetic.image, (0, 0), 8)).save(path)
    code, out, _ = _run(capsys, ["measure", "trichoscopy", path, "--json"])
    report = json.loads(out)
    assert code == 1
    assert report["countable"] is False and any("focus" in p for p in report["problems"])
    code, out, _ = _run(capsys, ["measure", "trichoscopy", path])
    assert code == 1 and "not countable" in out and "! the image is out of focus" in out
