"""Staging from measured views: templates from the scale definitions, probabilities, what it rests on."""

import csv
import math
import os
from pathlib import Path

import numpy as np
import pytest

from trichotrack.measure.scalp import DEFAULTS as SCALP_DEFAULTS
from trichotrack.measure.scalp import measure_scalp
from trichotrack.measure.staging import (
    LUDWIG_TEMPLATES,
    NORWOOD_CURVES,
    NORWOOD_TEMPLATES,
    Stage,
    curve_value,
    stage_from_measurements,
    stage_from_results,
    templates_from_curves,
    view_measurements,
)
from trichotrack.synth.scalp import ludwig_crown_density, norwood_bald_mask, render_head, top_roi_mask

REPO = Path(__file__).resolve().parents[2]
TOP = "top.scalp_visible_fraction"


def test_norwood_templates_are_the_stated_curves():
    for key, curve in NORWOOD_CURVES.items():
        template = NORWOOD_TEMPLATES[key]
        assert template["sd"] == curve["sd"]
        assert sorted(template["mean"]) == list(range(1, 8))
        means = [template["mean"][s] for s in range(1, 8)]
        assert means == sorted(means)  # every measure rises with the stage
        assert curve["floor"] <= means[0] < means[-1] <= curve["ceiling"]
        # Half-way between floor and ceiling at the stated mid-point stage.
        halfway = (curve["floor"] + curve["ceiling"]) / 2
        assert curve_value(curve, curve["midpoint_stage"]) == pytest.approx(halfway)


def test_curve_templates_for_the_top_view_by_hand():
    template = NORWOOD_TEMPLATES[TOP]["mean"]
    # floor 0.05, ceiling 0.95, mid-point 4.2, steepness 2: at stage 4, 0.05 + 0.9 / (1 + e^0.4) = 0.411.
    assert template[4] == pytest.approx(0.411, abs=1e-3)
    assert template[1] == pytest.approx(0.05, abs=0.01) and template[7] == pytest.approx(0.95, abs=0.01)


def test_the_top_view_curve_orders_like_the_scale_drawings():
    """The drawn Norwood patterns (synthetic heads, exact truth) rise through the same stages."""
    shape, head = (300, 300), {"center_rc": (150.0, 150.0), "semi_axes_px": (125.0, 125.0)}
    roi = top_roi_mask(shape, **head)
    drawn = [norwood_bald_mask(stage, shape, **head)[roi].mean() for stage in range(1, 8)]
    assert drawn == sorted(drawn)
    fitted = [NORWOOD_TEMPLATES[TOP]["mean"][s] for s in range(1, 8)]
    assert np.corrcoef(drawn, fitted)[0, 1] > 0.9


def test_bad_curves_raise_naming_the_measure():
    with pytest.raises(ValueError, match=r"top\.x.*ceiling"):
        templates_from_curves({"top.x": {"midpoint_stage": 4, "steepness_per_stage": 1, "floor": 0, "sd": 1}})
    curve = dict(NORWOOD_CURVES[TOP], sd=0)
    with pytest.raises(ValueError, match="sd must be positive"):
        templates_from_curves({TOP: curve})


def test_ludwig_templates_are_synthetic_crowns_measured_exactly():
    for grade, mean in LUDWIG_TEMPLATES[TOP]["mean"].items():
        exact = []
        for seed in range(2):
            render = render_head(seed, ludwig_grade=grade)
            roi = top_roi_mask(
                render.image.shape[:2],
                center_rc=render.head_center_rc,
                semi_axes_px=render.head_semi_axes_px,
                radius_fraction=SCALP_DEFAULTS["top_roi_radius_fraction"],
            )
            exact.append(render.visible_fraction(roi))
        assert np.mean(exact) == pytest.approx(mean, abs=0.05), (grade, ludwig_crown_density(grade))


def test_probabilities_sum_to_one_and_stage_follows_the_measurements():
    stages = []
    for fraction in (0.0, 0.15, 0.45, 0.8, 1.0):
        estimate = stage_from_measurements({TOP: fraction, "front.recession_index": fraction}, sex="male")
        assert isinstance(estimate, Stage) and estimate.scale == "norwood"
        assert sum(estimate.probabilities.values()) == pytest.approx(1, abs=1e-3)
        assert set(estimate.probabilities) == set(range(1, 8))
        assert estimate.measurements[TOP] == fraction
        stages.append(estimate.stage)
    assert stages == sorted(stages)
    assert stages[0] <= 2 and stages[-1] >= 6


def test_front_view_separates_the_early_stages_the_top_view_cannot():
    early = stage_from_measurements({TOP: 0.0, "front.recession_index": 0.05}, sex="male")
    later = stage_from_measurements({TOP: 0.0, "front.recession_index": 0.7}, sex="male")
    assert early.stage < later.stage <= 4
    top_only = stage_from_measurements({TOP: 0.0}, sex="male")
    assert top_only.stage == 2
    assert any("front view" in p for p in top_only.problems)


def test_it_says_what_each_measure_alone_points_to():
    estimate = stage_from_measurements({TOP: 0.95, "front.recession_index": 0.1}, sex="male")
    alone = estimate.params["stage_by_measure"]
    assert alone[TOP] >= 6 and alone["front.recession_index"] <= 2
    assert alone["front.recession_index"] <= estimate.stage <= alone[TOP]
    assert estimate.params["curves"][TOP] == NORWOOD_CURVES[TOP]


def test_women_get_the_ludwig_scale():
    estimate = stage_from_measurements({TOP: 0.5}, sex="female")
    assert estimate.scale == "ludwig" and estimate.stage == 3
    assert stage_from_measurements({TOP: 0.0}, sex="female").stage <= 1


def test_without_a_usable_measure_there_is_no_stage():
    estimate = stage_from_measurements({"left.scalp_visible_fraction": 0.3}, sex="male")
    assert estimate.stage is None and estimate.probabilities == {}
    assert estimate.measurements == {"left.scalp_visible_fraction": 0.3}
    assert any("no measurement" in p for p in estimate.problems)


def test_templates_can_be_replaced():
    templates = {TOP: {"mean": {2: 0.1, 5: 0.5}, "sd": 0.1}}
    assert stage_from_measurements({TOP: 0.45}, sex="male", templates=templates).stage == 5


def test_stage_from_rendered_views():
    bald = measure_scalp(render_head(3, norwood_stage=7).image, view="top")
    full = measure_scalp(render_head(3, norwood_stage=1).image, view="top")
    front = measure_scalp(render_head(3, view="front", hairline_depth_fraction=0.45).image, view="front")
    assert stage_from_results([bald], sex="male").stage >= 6
    low = stage_from_results([full, front], sex="male")
    assert low.stage <= 2
    assert "front.recession_index" in low.measurements and low.params["sex"] == "male"
    assert view_measurements(front)["front.scalp_visible_fraction"] == front.scalp_visible_fraction


def test_unusable_views_are_left_out_and_said():
    blank = measure_scalp(np.full((200, 200, 3), 128, np.uint8), view="front")
    top = measure_scalp(render_head(5, norwood_stage=5).image, view="top")
    estimate = stage_from_results([top, blank], sex="male")
    assert estimate.stage is not None
    assert any(p.startswith("front view not used") for p in estimate.problems)
    assert view_measurements(blank) == {}


def test_bad_input_raises_naming_the_value():
    top = measure_scalp(render_head(5, norwood_stage=5).image, view="top")
    with pytest.raises(ValueError, match="sex"):
        stage_from_measurements({TOP: 0.1}, sex="other")
    with pytest.raises(ValueError, match="sex"):
        stage_from_results([top], sex="x")
    with pytest.raises(ValueError, match="twice"):
        stage_from_results([top, top], sex="male")
    with pytest.raises(ValueError, match="finite"):
        stage_from_measurements({TOP: math.nan}, sex="male")
    with pytest.raises(ValueError, match="ScalpResult"):
        stage_from_results([0.3], sex="male")


def real_data():
    candidates = []
    if os.environ.get("TRICHOTRACK_SHARED_DATA"):
        candidates.append(Path(os.environ["TRICHOTRACK_SHARED_DATA"]) / "scalp-views-dev")
    candidates.append(REPO.parent / "shared" / "data" / "scalp-views-dev")
    return next((c for c in candidates if (c / "labels.csv").is_file()), None)


@pytest.mark.slow
def test_real_photos_stage_within_one_for_most_men():
    data = real_data()
    if data is None:
        pytest.skip("scalp-views-dev not available (set TRICHOTRACK_SHARED_DATA)")
    from trichotrack.measure.io import read_image

    views = {"top-down": "top", "front": "front", "back": "back"}
    with open(data / "labels.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["view"] in views]
    by_subject: dict[str, list] = {}
    truth = {}
    for row in rows:
        result = measure_scalp(read_image(data / row["file"]), view=views[row["view"]])
        by_subject.setdefault(row["subject"], []).append(result)
        truth[row["subject"]] = int(row["norwood_stage"])
    errors = [abs(stage_from_results(r, sex="male").stage - truth[s]) for s, r in by_subject.items()]
    # In-sample: the curves' round numbers were chosen looking at these men (0.95 and 0.52 when set);
    # bench/scalp.py reports the leave-one-subject-out estimate for men the model has not seen.
    assert np.mean(np.array(errors) <= 1) >= 0.9
    assert np.mean(errors) <= 0.6
