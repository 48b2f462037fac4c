"""Every flag of `trichotrack measure scalp` and `trichotrack stage`, called through main([...])."""

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from trichotrack.cli import main
from trichotrack.measure.io import write_image
from trichotrack.synth.scalp import render_head

SCALP_KEYS = {
    "view",
    "usable",
    "problems",
    "scalp_visible_fraction",
    "hairline",
    "part_width_mm",
    "algorithm",
    "seconds",
}
STAGE_KEYS = {"scale", "stage", "probabilities", "measurements", "problems"}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scalp")
    paths = {
        "top": folder / "top.png",
        "front": folder / "front.png",
        "part": folder / "part.png",
        "blank": folder / "blank.png",
        "round": folder / "round.png",
    }
    write_image(paths["top"], render_head(1, norwood_stage=6).image)
    write_image(paths["front"], render_head(2, view="front", hairline_depth_fraction=0.2).image)
    write_image(paths["part"], render_head(3, view="part", part_width_px=30).image)
    # The same front view lying on its side: one quarter turn counter-clockwise from upright.
    paths["front_turned"] = folder / "front_turned.png"
    write_image(
        paths["front_turned"], np.rot90(render_head(2, view="front", hairline_depth_fraction=0.2).image)
    )
    write_image(paths["blank"], np.full((200, 200, 3), 128, np.uint8))
    # A head from behind with nothing that tells up from down: skin in a ring of hair on a plain wall.
    round_head = np.full((240, 240, 3), (150, 170, 190), np.uint8)
    cv2.circle(round_head, (120, 120), 80, (40, 30, 25), -1)
    cv2.circle(round_head, (120, 120), 60, (205, 150, 120), -1)
    noise = np.random.default_rng(0).normal(0, 2, round_head.shape)
    write_image(paths["round"], np.clip(round_head + noise, 0, 255).astype(np.uint8))
    (folder / "not-a-photo.png").write_text("hello")
    paths["bad"] = folder / "not-a-photo.png"
    return paths


def test_measure_scalp_json_has_the_contract_keys(photos, capsys):
    assert main(["measure", "scalp", str(photos["top"]), "--view", "top", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= SCALP_KEYS
    assert report["view"] == "top" and report["usable"] is True
    assert report["scalp_visible_fraction"] > 0.8
    assert report["hairline"] is None and report["part_width_mm"] is None
    assert report["algorithm"]["name"] == "trichotrack.scalp"


def test_measure_scalp_summary_without_json(photos, capsys):
    assert main(["measure", "scalp", str(photos["top"]), "--view", "top"]) == 0
    out = capsys.readouterr().out
    assert "top view" in out and "visible scalp" in out


def test_front_view_reports_the_hairline(photos, capsys):
    assert main(["measure", "scalp", str(photos["front"]), "--view", "front", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["hairline"]) >= {"midline_depth_fraction", "recession_index"}
    assert 0 <= report["hairline"]["recession_index"] <= 1


def test_part_width_needs_mm_per_px(photos, capsys):
    assert main(["measure", "scalp", str(photos["part"]), "--view", "part", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["part_width_mm"] is None
    assert (
        main(["measure", "scalp", str(photos["part"]), "--view", "part", "--mm-per-px", "0.05", "--json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["part_width_mm"] == pytest.approx(1.5, abs=0.5)
    assert main(["measure", "scalp", str(photos["part"]), "--view", "part", "--mm-per-px", "0.05"]) == 0
    assert "part width" in capsys.readouterr().out


def test_overlay_is_written(photos, tmp_path, capsys):
    out = tmp_path / "overlay.png"
    assert main(["measure", "scalp", str(photos["top"]), "--view", "top", "--overlay", str(out)]) == 0
    with Image.open(out) as im:
        assert im.mode == "RGB" and min(im.size) > 100


def test_overlay_with_a_wrong_suffix_is_bad_input(photos, tmp_path, capsys):
    assert (
        main(["measure", "scalp", str(photos["top"]), "--view", "top", "--overlay", str(tmp_path / "o.gif")])
        == 2
    )
    assert "--overlay" in capsys.readouterr().err


def test_unusable_photo_exits_1_with_problems(photos, capsys):
    assert main(["measure", "scalp", str(photos["blank"]), "--view", "top", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["usable"] is False and report["problems"]


def test_orientation_uncertain_is_a_problem_and_exits_1(photos, capsys):
    assert main(["measure", "scalp", str(photos["round"]), "--view", "back", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= SCALP_KEYS
    assert report["usable"] is False
    assert any(p.startswith("orientation uncertain") for p in report["problems"])
    assert main(["measure", "scalp", str(photos["round"]), "--view", "back"]) == 1
    assert "! orientation uncertain" in capsys.readouterr().out


def test_stage_leaves_out_a_view_whose_orientation_is_uncertain(photos, capsys):
    argv = ["stage", "--sex", "male", f"top={photos['top']}", f"back={photos['round']}", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert not any(k.startswith("back.") for k in report["measurements"])
    assert any(p.startswith("back view not used: orientation uncertain") for p in report["problems"])


def test_stage_turns_put_back_a_view_whose_orientation_is_uncertain(photos, capsys):
    argv = ["stage", "--sex", "male", f"top={photos['top']}", f"back={photos['round']}", "--json"]
    assert main([*argv, "--turns", "back=0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert any(k.startswith("back.") for k in report["measurements"])
    assert not any(p.startswith("back view not used") for p in report["problems"])


@pytest.mark.parametrize(
    ("turns", "message"),
    [
        ("front=0", "no photo given for view 'front'"),
        ("top=4", "turns must be 0, 1, 2 or 3"),
        ("top", "VIEW=N"),
    ],
)
def test_stage_bad_turns_exit_2(photos, capsys, turns, message):
    assert main(["stage", "--sex", "male", f"top={photos['top']}", "--turns", turns]) == 2
    assert message in capsys.readouterr().err


def test_stage_turns_for_a_view_twice_exit_2(photos, capsys):
    argv = ["stage", "--sex", "male", f"top={photos['top']}", "--turns", "top=0", "--turns", "top=1"]
    assert main(argv) == 2
    assert "given twice" in capsys.readouterr().err


def test_turns_0_measures_an_uncertain_photo_as_given(photos, capsys):
    assert main(["measure", "scalp", str(photos["round"]), "--view", "back", "--turns", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["usable"] is True and report["problems"] == []
    assert report["quarter_turns"] == 0
    assert report["algorithm"]["params"]["orientation"] == 0
    assert report["scalp_visible_fraction"] > 0.5


def test_turns_undo_a_turned_photo_as_the_upright_one_measures(photos, capsys):
    assert main(["measure", "scalp", str(photos["front"]), "--view", "front", "--turns", "0", "--json"]) == 0
    upright = json.loads(capsys.readouterr().out)
    argv = ["measure", "scalp", str(photos["front_turned"]), "--view", "front", "--turns", "3", "--json"]
    assert main(argv) == 0
    turned = json.loads(capsys.readouterr().out)
    assert turned["quarter_turns"] == 3 and turned["algorithm"]["params"]["orientation"] == 3
    assert turned["scalp_visible_fraction"] == pytest.approx(upright["scalp_visible_fraction"], abs=0.01)
    assert turned["hairline"]["recession_index"] == pytest.approx(
        upright["hairline"]["recession_index"], abs=0.02
    )
    # The wrong turn is obeyed too: the head is then measured upside down, not silently corrected.
    argv[-2] = "1"
    main(argv)
    wrong = json.loads(capsys.readouterr().out)
    assert wrong["quarter_turns"] == 1
    assert wrong["hairline"] != turned["hairline"]


def test_default_turns_are_found_from_the_picture(photos, capsys):
    main(["measure", "scalp", str(photos["round"]), "--view", "back", "--json"])
    assert json.loads(capsys.readouterr().out)["algorithm"]["params"]["orientation"] == "auto"


@pytest.mark.parametrize(
    "argv",
    [
        ["measure", "scalp", "PHOTO", "--view", "top", "--turns", "4"],
        ["measure", "scalp", "PHOTO", "--view", "top", "--turns", "-1"],
        ["measure", "scalp", "PHOTO", "--view", "top", "--turns", "half"],
        ["measure", "scalp", "PHOTO"],
        ["measure", "scalp", "PHOTO", "--view", "sideways"],
        ["measure", "scalp", "PHOTO", "--view", "top", "--mm-per-px", "-1"],
    ],
)
def test_bad_flags_exit_2(photos, capsys, argv):
    argv = [str(photos["top"]) if a == "PHOTO" else a for a in argv]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert "error" in capsys.readouterr().err


def test_unreadable_photo_exits_2_with_one_line(photos, capsys):
    assert main(["measure", "scalp", str(photos["bad"]), "--view", "top"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("trichotrack: error:") and err.count("\n") == 1


def test_stage_json_has_the_contract_keys(photos, capsys):
    argv = ["stage", "--sex", "male", f"top={photos['top']}", f"front={photos['front']}", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= STAGE_KEYS
    assert report["scale"] == "norwood" and 1 <= report["stage"] <= 7
    assert sum(report["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    assert "top.scalp_visible_fraction" in report["measurements"]


def test_stage_summary_and_female_scale(photos, capsys):
    assert main(["stage", "--sex", "female", f"top={photos['top']}"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ludwig stage:")


def test_stage_without_a_usable_view_exits_1(photos, capsys):
    assert main(["stage", "--sex", "male", f"top={photos['blank']}", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["stage"] is None and report["problems"]


@pytest.mark.parametrize("item", ["top", "side=PHOTO", "top="])
def test_stage_with_a_bad_view_argument_exits_2(photos, capsys, item):
    item = item.replace("PHOTO", str(photos["top"]))
    assert main(["stage", "--sex", "male", item]) == 2
    assert "trichotrack: error:" in capsys.readouterr().err


def test_stage_with_a_view_twice_exits_2(photos, capsys):
    assert main(["stage", "--sex", "male", f"top={photos['top']}", f"top={photos['top']}"]) == 2
    assert "twice" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [["stage", "top=x.png"], ["stage", "--sex", "other", "top=x.png"], ["stage", "--sex", "male"]]
)
def test_stage_bad_flags_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
