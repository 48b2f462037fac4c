"""Hair-loss stage from measured global photos: Norwood-Hamilton (men) and Ludwig (women).

An interpretable model, not a black box: every stage of a scale has a *template*, the value each view's
measure takes on a head of that stage, derived from the scale's published definitions: for the top
view drawn as synthetic heads (`trichotrack.synth.scalp.norwood_bald_mask`, `ludwig_crown_density`)
and measured there with exact truth; for the front and back views set from the verbal definitions.
A measured photo is compared with each template under a normal error (the spread of real heads
within a stage and the measurement's own error); the views' likelihoods multiply
(they are treated as independent), the prior is flat over the scale's stages, and the reported stage
is the posterior median (the stage that minimises the expected absolute error). The probabilities and
the measurements the stage rests on are returned with it.

Nothing here was fitted to real photos. The templates come from the scale definitions; the spreads
are set wide on purpose (real stage boundaries are fuzzy and the measure is imperfect). A benchmark
may fit the same model's templates on some subjects and test on others (``templates=``), which is
how the real-photo evaluation in ``bench/scalp.py`` reports a cross-validated variant.

What each view can tell: the top view (vertex and mid-scalp) separates stages IV–VII and cannot tell
I–III apart (their loss is frontal only); the front view's hairline recession separates I–III; the back
view sees the crown only from stage VI on. With the top view alone, stages I–III collapse to their
median (II).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from trichotrack.measure.scalp import ScalpResult

__all__ = [
    "LUDWIG_TEMPLATES",
    "NORWOOD_TEMPLATES",
    "SCALES",
    "VERSION",
    "Stage",
    "stage_from_measurements",
    "stage_from_results",
    "view_measurements",
]

VERSION = "0.1.0"
SCALES = {"male": "norwood", "female": "ludwig"}

#: Norwood-Hamilton stages I–VII: per measure, the template mean of each stage and the spread (SD).
#: top: visible-scalp fraction of the top view's central disc, exact on `norwood_bald_mask` (tests
#: recompute it). front: hairline recession index (0 full hairline, 1 none) and back: visible-scalp
#: fraction of the back view (the crown shows from VI on) are set by hand from the scale's verbal
#: definitions, not computed, and carry wide spreads accordingly.
NORWOOD_TEMPLATES = {
    "top.scalp_visible_fraction": {
        "mean": {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.14, 5: 0.42, 6: 0.99, 7: 1.0},
        "sd": 0.15,
    },
    "front.recession_index": {
        "mean": {1: 0.0, 2: 0.2, 3: 0.4, 4: 0.55, 5: 0.7, 6: 0.9, 7: 1.0},
        "sd": 0.25,
    },
    "back.scalp_visible_fraction": {
        "mean": {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.05, 5: 0.1, 6: 0.25, 7: 0.45},
        "sd": 0.15,
    },
}

#: Ludwig grades 0 (no loss), I, II, III: crown thinning seen from above, frontal line kept. Means are
#: the exact visible-scalp fraction of synthetic heads whose crown density is 100, 60, 30 and 8 %.
LUDWIG_TEMPLATES = {
    "top.scalp_visible_fraction": {
        "mean": {0: 0.0, 1: 0.03, 2: 0.13, 3: 0.49},
        "sd": 0.08,
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
    if templates is None:
        templates = NORWOOD_TEMPLATES if scale == "norwood" else LUDWIG_TEMPLATES
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
    if not used:
        problems.append(f"no measurement the {scale} scale can use (need one of: {', '.join(templates)})")
        return Stage(scale, None, {}, clean, tuple(problems), params=params)
    for key, value in used.items():
        template = templates[key]
        means = np.array([template["mean"][s] for s in stages], float)
        log_post += -0.5 * ((value - means) / float(template["sd"])) ** 2
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    cumulative = np.cumsum(post)
    stage = stages[int(np.searchsorted(cumulative, 0.5))]
    probabilities = {int(s): round(float(p), 4) for s, p in zip(stages, post, strict=True)}
    if "top.scalp_visible_fraction" not in used:
        problems.append("no usable top view: the stage rests on weaker views only")
    if scale == "norwood" and "front.recession_index" not in used:
        problems.append("no usable front view: stages I–III cannot be told apart")
    return Stage(scale, int(stage), probabilities, clean, tuple(problems), params=params)
