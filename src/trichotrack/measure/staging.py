"""Hair-loss stage from measured global photos: Norwood-Hamilton (men) and Ludwig (women).

An interpretable ordinal model, not a black box. Each measure a view provides is modelled as a smooth,
rising function of the stage, a logistic *curve* with four parameters that can be read off and argued
with:

- ``midpoint_stage``: the stage at which the measure is half-way between its floor and its ceiling;
- ``steepness_per_stage``: how fast it rises around that stage (logistic slope per stage);
- ``floor``: its value on a head without loss (forehead skin, partings and light reflections are
  measured as a little scalp even then);
- ``ceiling``: its value on a head with the most loss of the scale;

plus ``sd``, the spread of real heads about the curve (stage boundaries are fuzzy and the measure is
imperfect). The curve's value at each stage is that stage's *template*; a measured photo is compared
with each template under a normal error, the views' likelihoods multiply (treated as independent), the
prior is flat over the scale's stages, and the reported stage is the posterior median (the stage that
minimises the expected absolute error). The probabilities and the measurements the stage rests on are
returned with it, and so are the curves (``params``).

Where the Norwood parameters come from: 3 measures x 5 round numbers (`NORWOOD_CURVES`), chosen by
hand while looking at the real development photos of ``bench/scalp.py`` (42 men) and rounded; nothing
else was fitted. The benchmark reports how the same curve form does when it is refitted on 41 men and
tested on the 42nd (leave-one-subject-out): that, not the in-sample figure, is the estimate for men the
model has not seen. The Ludwig templates are still the exact visible fraction of synthetic crowns
(`trichotrack.synth.scalp.ludwig_crown_density`): no real photos of women were available.

What each view can tell: the top view (vertex and mid-scalp) rises between stages III and VI and
cannot tell I–III apart (their loss is frontal); the back view sees the crown from stage V on and
separates V, VI and VII, where the top view saturates; the front view's hairline recession rises from
stage I on and is the only one that helps with I–III. With the top view alone, stages I–III collapse
to their median (II).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from trichotrack.measure.scalp import ScalpResult

__all__ = [
    "LUDWIG_TEMPLATES",
    "NORWOOD_CURVES",
    "NORWOOD_TEMPLATES",
    "SCALES",
    "VERSION",
    "Stage",
    "curve_value",
    "stage_from_measurements",
    "stage_from_results",
    "templates_from_curves",
    "view_measurements",
]

VERSION = "0.3.0"
SCALES = {"male": "norwood", "female": "ludwig"}
NORWOOD_STAGES = tuple(range(1, 8))

#: Norwood-Hamilton: per measure, the logistic curve of its expected value over the stage (see the
#: module docstring for the meaning of each number). Hand-chosen round values; on the 42 development
#: men (scalp analysis 0.2.1) they follow the per-stage means within their spread: top 0.08 / 0.13 /
#: 0.45 / 0.82 / 0.94 / 0.93 at stages II–VII, back 0.25 / 0.09 / 0.12 / 0.28 / 0.55 / 0.73, front
#: 0.30 / 0.32 / 0.70 / 0.83 / 0.91 / 0.97. (The curves were chosen on 0.2.0's measurements and kept;
#: scalp analysis 0.3.0 turns 5 front views differently (4 now upright, 1 now on its side), all at
#: stages V–VII, which moves those front means by at most 0.04. Scalp analysis 0.4.0 sets 5 more front
#: views upright, 3 of them at stages III–IV, and calls one uncertain: the front means become 0.30 /
#: 0.20 / 0.68 / 0.87 / 0.96 / 0.97, so stage III no longer looks receded by accident; the curves are
#: kept, see bench/results/scalp.md. Scalp analysis 0.5.0 measures the top view over a wider
#: disc (0.7 of the head's half-axis, was 0.6): the top means become 0.10 / 0.12 / 0.46 / 0.82 / 0.94 /
#: 0.93, within 0.02 of the old ones, and the curves are kept.)
NORWOOD_CURVES = {
    "top.scalp_visible_fraction": {
        "midpoint_stage": 4.2,
        "steepness_per_stage": 2.0,
        "floor": 0.05,
        "ceiling": 0.95,
        "sd": 0.2,
    },
    "back.scalp_visible_fraction": {
        "midpoint_stage": 5.8,
        "steepness_per_stage": 2.0,
        "floor": 0.15,
        "ceiling": 0.75,
        "sd": 0.2,
    },
    "front.recession_index": {
        "midpoint_stage": 3.5,
        "steepness_per_stage": 1.5,
        "floor": 0.2,
        "ceiling": 0.95,
        "sd": 0.25,
    },
}


def curve_value(curve: Mapping, stage: float) -> float:
    """A measure's expected value at `stage` under its logistic curve (see `NORWOOD_CURVES`)."""
    z = float(curve["steepness_per_stage"]) * (float(stage) - float(curve["midpoint_stage"]))
    return float(curve["floor"] + (curve["ceiling"] - curve["floor"]) / (1.0 + math.exp(-z)))


def templates_from_curves(curves: Mapping, stages=NORWOOD_STAGES) -> dict:
    """Per-stage templates (the layout of `NORWOOD_TEMPLATES`) from logistic curves.

    Parameters
    ----------
    curves : mapping of str to mapping
        Per measure: ``midpoint_stage``, ``steepness_per_stage``, ``floor``, ``ceiling``, ``sd``.
    stages : iterable of int

    Returns
    -------
    templates : dict
        Per measure: ``{"mean": {stage: value}, "sd": sd}``.
    """
    templates = {}
    for key, curve in curves.items():
        missing = {"midpoint_stage", "steepness_per_stage", "floor", "ceiling", "sd"} - set(curve)
        if missing:
            raise ValueError(f"curve {key!r} lacks {', '.join(sorted(missing))}")
        if not float(curve["sd"]) > 0:
            raise ValueError(f"curve {key!r}: sd must be positive, got {curve['sd']}")
        templates[key] = {
            "mean": {int(s): round(curve_value(curve, s), 4) for s in stages},
            "sd": float(curve["sd"]),
        }
    return templates


#: Norwood-Hamilton stages I–VII: per measure, the template mean of each stage and the spread (SD),
#: computed from `NORWOOD_CURVES`.
NORWOOD_TEMPLATES = templates_from_curves(NORWOOD_CURVES)

#: Ludwig grades 0 (no loss), I, II, III: crown thinning seen from above, frontal line kept. Means are
#: the exact visible-scalp fraction of synthetic heads whose crown density is 100, 60, 30 and 8 %, in the
#: top view's region (since scalp 0.5.0 a disc of 0.7 of the head's half-axis, which takes in more of the
#: kept frontal hair: the means and the SD are about three quarters of those in the 0.6 disc:
#: 0.03 / 0.13 / 0.49, SD 0.08).
LUDWIG_TEMPLATES = {
    "top.scalp_visible_fraction": {
        "mean": {0: 0.0, 1: 0.02, 2: 0.11, 3: 0.37},
        "sd": 0.06,
    },
}


@dataclass(frozen=True)
class Stage:
    """A stage estimate with what it rests on.

    Attributes
    ----------
    scale : {"norwood", "ludwig"}
    stage : int or None
        Norwood 1–7 or Ludwig 0–3; None when no usable measurement was given.
    probabilities : dict of int to float
        Posterior probability of each stage (sums to 1), empty when `stage` is None.
    measurements : dict of str to float
        The measurements used, keyed ``"<view>.<measure>"``.
    problems : tuple of str
    algorithm, version : str
    params : dict
        ``sex``, the templates used, ``stage_by_measure`` (the stage each measure alone points to)
        and, for the built-in Norwood model, the curves the templates come from.
    """

    scale: str
    stage: int | None
    probabilities: dict[int, float]
    measurements: dict[str, float]
    problems: tuple[str, ...]
    algorithm: str = "trichotrack.staging.template_likelihood"
    version: str = VERSION
    params: dict = field(default_factory=dict)


def view_measurements(result: ScalpResult) -> dict[str, float]:
    """The staging measures a `ScalpResult` provides, keyed ``"<view>.<measure>"`` (usable photos only)."""
    if not result.usable or result.scalp_visible_fraction is None:
        return {}
    out = {f"{result.view}.scalp_visible_fraction": float(result.scalp_visible_fraction)}
    if result.hairline is not None and math.isfinite(result.hairline.recession_index):
        out["front.recession_index"] = float(result.hairline.recession_index)
    return out


def stage_from_results(results, *, sex: str, templates: Mapping | None = None) -> Stage:
    """Stage from one or more measured views.

    Parameters
    ----------
    results : iterable of ScalpResult
        At most one per view; unusable results are listed in ``problems`` and left out.
    sex : {"male", "female"}
        Picks the scale: Norwood-Hamilton for men, Ludwig for women.
    templates : mapping, optional
        Replaces the scale's templates (same layout as `NORWOOD_TEMPLATES`).
    """
    if sex not in SCALES:
        raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
    measurements: dict[str, float] = {}
    problems: list[str] = []
    seen = set()
    for result in results:
        if not isinstance(result, ScalpResult):
            raise ValueError(f"results must be ScalpResult objects, got {type(result).__name__}")
        if result.view in seen:
            raise ValueError(f"view {result.view!r} was given twice")
        seen.add(result.view)
        if not result.usable:
            problems.extend(f"{result.view} view not used: {p}" for p in result.problems)
            continue
        measurements.update(view_measurements(result))
    return stage_from_measurements(measurements, sex=sex, templates=templates, problems=problems)


def stage_from_measurements(
    measurements: Mapping[str, float],
    *,
    sex: str,
    templates: Mapping | None = None,
    problems=(),
) -> Stage:
    """Stage from measurements keyed ``"<view>.<measure>"`` (see `view_measurements`).

    Measures the scale has no template for are kept in the result but do not count.

    Parameters
    ----------
    measurements : mapping of str to float
    sex : {"male", "female"}
    templates : mapping, optional
        Replaces the scale's templates.
    problems : sequence of str
        Carried into the result.
    """
    if sex not in SCALES:
        raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
    scale = SCALES[sex]
    curves = None
    if templates is None:
        templates = NORWOOD_TEMPLATES if scale == "norwood" else LUDWIG_TEMPLATES
        curves = NORWOOD_CURVES if scale == "norwood" else None
    problems = list(problems)
    clean = {}
    for key, value in measurements.items():
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"measurement {key!r} must be finite, got {value}")
        clean[key] = value
    stages = sorted(next(iter(templates.values()))["mean"])
    log_post = np.zeros(len(stages))
    used = {k: v for k, v in clean.items() if k in templates}
    params = {"sex": sex, "templates": {k: templates[k] for k in used}}
    if curves is not None:
        params["curves"] = {k: dict(curves[k]) for k in used if k in curves}
    if not used:
        problems.append(f"no measurement the {scale} scale can use (need one of: {', '.join(templates)})")
        return Stage(scale, None, {}, clean, tuple(problems), params=params)
    by_measure = {}
    for key, value in used.items():
        template = templates[key]
        means = np.array([template["mean"][s] for s in stages], float)
        log_like = -0.5 * ((value - means) / float(template["sd"])) ** 2
        log_post += log_like
        by_measure[key] = _posterior_median(stages, log_like)
    # What each measure alone points to, so that a reader sees which view drives the estimate and
    # whether the views agree.
    params["stage_by_measure"] = by_measure
    stage = _posterior_median(stages, log_post)
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    probabilities = {int(s): round(float(p), 4) for s, p in zip(stages, post, strict=True)}
    if "top.scalp_visible_fraction" not in used:
        problems.append("no usable top view: the stage rests on weaker views only")
    if scale == "norwood" and "front.recession_index" not in used:
        problems.append("no usable front view: stages I–III cannot be told apart")
    return Stage(scale, int(stage), probabilities, clean, tuple(problems), params=params)


def _posterior_median(stages, log_post) -> int:
    """The stage that minimises the expected absolute error under a flat prior."""
    post = np.exp(log_post - np.max(log_post))
    cumulative = np.cumsum(post / post.sum())
    return int(stages[int(np.searchsorted(cumulative, 0.5))])
