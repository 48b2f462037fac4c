"""Global scalp photos: trichotrack against crude baselines, on real photos and synthetic renders.

    .venv/bin/python bench/scalp.py [--data DIR] [--shots 5] [--out bench/results/scalp.md]

Real photos: ``scalp-views-dev`` (42 men, five views, Norwood stages 2–7; evaluation only, never
committed, read from ``../shared/data`` or ``$TRICHOTRACK_SHARED_DATA``). Nothing is fitted and saved:
the staging model's templates come from the Norwood definitions (`trichotrack.measure.staging`); the
"cross-validated" rows refit the same model's templates at run time on the other subjects
(leave-one-subject-out) and are reported only to show what the measurements could support.

Measures: Spearman rank correlation of the top-view visible-scalp fraction with stage; stage accuracy
(exact, within one, mean absolute error) per subject; repeatability as the standard deviation of the
fraction over simulated re-photographs of the same photo (pose, distance, light; `simulate_rephotography`);
seconds per photo. Baselines, in the same run: the skin-colour fraction of the image centre (YCrCb skin
box, disc of 30 % of the shorter side) and the constant answer "stage 4".
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
VIEWS = {"top-down": "top", "front": "front", "back": "back", "left": "left", "right": "right"}


def find_data(explicit: Path | None) -> Path | None:
    candidates = [explicit] if explicit else []
    if os.environ.get("TRICHOTRACK_SHARED_DATA"):
        candidates.append(Path(os.environ["TRICHOTRACK_SHARED_DATA"]) / "scalp-views-dev")
    candidates.append(ROOT.parent / "shared" / "data" / "scalp-views-dev")
    return next((c for c in candidates if c and (c / "labels.csv").is_file()), None)


def crude_fraction(image) -> float:
    """Skin-colour fraction of the image centre: the baseline the issue names."""
    small = cv2.resize(image, (160, 160), interpolation=cv2.INTER_AREA)
    ycrcb = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycrcb[..., 1], ycrcb[..., 2]
    skin = (cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127)
    rr, cc = np.ogrid[0:160, 0:160]
    disc = (rr - 80) ** 2 + (cc - 80) ** 2 < (0.3 * 160) ** 2
    return float(skin[disc].mean())


def accuracy(pred: dict, truth: dict) -> dict:
    subjects = sorted(truth)
    err = np.array([abs(pred[s] - truth[s]) for s in subjects], float)
    return {"exact": float((err == 0).mean()), "within1": float((err <= 1).mean()), "mae": float(err.mean())}


def fit_templates(rows: list[dict], keys: list[str]) -> dict:
    """Per-stage means and a pooled SD of each measure: the staging model's own form, refitted."""
    stages = sorted({r["stage"] for r in rows})
    templates = {}
    for key in keys:
        values = {s: [r[key] for r in rows if r["stage"] == s and key in r] for s in stages}
        if any(len(v) == 0 for v in values.values()):
            continue
        means = {s: float(np.mean(v)) for s, v in values.items()}
        resid = [x - means[s] for s, v in values.items() for x in v]
        templates[key] = {"mean": means, "sd": max(0.03, float(np.std(resid, ddof=1)))}
    return templates


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--shots", type=int, default=5, help="re-photographs per photo (default 5)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scalp.md")
    args = parser.parse_args(argv)

    from trichotrack.measure.io import read_image
    from trichotrack.measure.scalp import VERSION, measure_scalp, simulate_rephotography
    from trichotrack.measure.staging import stage_from_measurements, view_measurements
    from trichotrack.synth.scalp import render_head

    data = find_data(args.data)
    if data is None:
        print("scalp-views-dev not found: give --data or set TRICHOTRACK_SHARED_DATA", file=sys.stderr)
        return 2
    with open(data / "labels.csv", newline="") as handle:
        labels = list(csv.DictReader(handle))

    # --- measure every photo -----------------------------------------------------------------------------
    per_subject: dict[str, dict] = {}
    ours_s, crude_s, unusable = [], [], []
    upright_kept = []
    images_top = {}
    for row in labels:
        image = read_image(data / row["file"])
        view = VIEWS[row["view"]]
        started = time.perf_counter()
        result = measure_scalp(image, view=view)
        ours_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        crude = crude_fraction(image)
        crude_s.append(time.perf_counter() - started)
        subject = per_subject.setdefault(row["subject"], {"stage": int(row["norwood_stage"])})
        if not result.usable:
            unusable.append(f"{row['subject']} {view}: {'; '.join(result.problems)}")
        subject.update(view_measurements(result))
        subject[f"{view}.raw_fraction"] = result.scalp_visible_fraction
        subject[f"{view}.crude"] = crude
        if view == "top":
            images_top[row["subject"]] = image
        elif row["pre_rotated"] == "no":
            upright_kept.append(result.quarter_turns == 0)

    subjects = sorted(per_subject)
    truth = {s: per_subject[s]["stage"] for s in subjects}
    stages = np.array([truth[s] for s in subjects])
    top_ours = np.array([per_subject[s]["top.raw_fraction"] for s in subjects], float)
    top_crude = np.array([per_subject[s]["top.crude"] for s in subjects], float)
    rho_ours = float(spearmanr(top_ours, stages)[0])
    rho_crude = float(spearmanr(top_crude, stages)[0])

    # --- staging -------------------------------------------------------------------------------------------
    keys_ours = ["top.scalp_visible_fraction", "front.recession_index", "back.scalp_visible_fraction"]
    model = {}
    for s in subjects:
        measurements = {k: per_subject[s][k] for k in keys_ours if k in per_subject[s]}
        model[s] = stage_from_measurements(measurements, sex="male").stage or 4
    model_top = {}
    for s in subjects:
        measurements = {k: per_subject[s][k] for k in keys_ours[:1] if k in per_subject[s]}
        model_top[s] = stage_from_measurements(measurements, sex="male").stage or 4
    cv_ours, cv_crude = {}, {}
    for held in subjects:
        train = [per_subject[s] for s in subjects if s != held]
        fitted = fit_templates(train, keys_ours)
        measurements = {k: per_subject[held][k] for k in fitted if k in per_subject[held]}
        cv_ours[held] = stage_from_measurements(measurements, sex="male", templates=fitted).stage or 4
        crude_rows = [{"stage": r["stage"], "top.crude": r["top.crude"]} for r in train]
        fitted_crude = fit_templates(crude_rows, ["top.crude"])
        cv_crude[held] = stage_from_measurements(
            {"top.crude": per_subject[held]["top.crude"]}, sex="male", templates=fitted_crude
        ).stage
    constant = dict.fromkeys(subjects, 4)

    # --- repeatability ---------------------------------------------------------------------------------
    sd_ours, sd_crude = [], []
    for s in subjects:
        image = images_top[s]
        turns = measure_scalp(image, view="top").quarter_turns
        f_ours, f_crude = [], []
        for shot in range(args.shots):
            reshot = simulate_rephotography(image, seed=shot)
            f_ours.append(measure_scalp(reshot, view="top", orientation=turns).scalp_visible_fraction)
            f_crude.append(crude_fraction(reshot))
        sd_ours.append(np.std(f_ours, ddof=1))
        sd_crude.append(np.std(f_crude, ddof=1))
    syn_ours, syn_crude, syn_err = [], [], []
    for stage in range(1, 8):
        for k, (skin, hair) in enumerate(
            [("light", "dark_brown"), ("brown", "black"), ("very_light", "grey")]
        ):
            render = render_head(1000 * stage + k, norwood_stage=stage, skin=skin, hair=hair)
            measured = measure_scalp(render.image, view="top", orientation=0)
            roi = cv2.resize(measured.roi.astype(np.uint8), render.image.shape[1::-1], interpolation=0) > 0
            syn_err.append(measured.scalp_visible_fraction - render.visible_fraction(roi))
            f_ours = [
                measure_scalp(
                    simulate_rephotography(render.image, seed=i), view="top", orientation=0
                ).scalp_visible_fraction
                for i in range(args.shots)
            ]
            f_crude = [
                crude_fraction(simulate_rephotography(render.image, seed=i)) for i in range(args.shots)
            ]
            syn_ours.append(np.std(f_ours, ddof=1))
            syn_crude.append(np.std(f_crude, ddof=1))

    # --- report --------------------------------------------------------------------------------------------
    def rms(values):
        return float(np.sqrt(np.mean(np.square(values))))

    acc = {
        "trichotrack, templates from the Norwood definitions (top + front + back)": accuracy(model, truth),
        "trichotrack, templates from the Norwood definitions (top only)": accuracy(model_top, truth),
        "trichotrack, templates refitted leave-one-subject-out (top + front + back)": accuracy(
            cv_ours, truth
        ),
        "crude centre skin fraction, templates refitted leave-one-subject-out": accuracy(cv_crude, truth),
        'constant "stage 4"': accuracy(constant, truth),
    }
    command = "python bench/scalp.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "# Global scalp photos: trichotrack against crude baselines",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, OpenCV {cv2.__version__}, "
        f"trichotrack.scalp {VERSION}",
        f"- command: `{command.strip()}`",
        f"- data: scalp-views-dev, {len(labels)} real photos of {len(subjects)} men (Norwood 2–7), "
        f"{args.shots} simulated re-photographs per top view; synthetic renders: 21 (Norwood 1–7 × 3 "
        "skin/hair colours)",
        "- nothing in the repository was fitted to these photos: the staging templates come from the "
        "Norwood definitions drawn as synthetic heads; the 'refitted' rows fit the same model at run "
        "time on 41 men and test on the 42nd, and nothing fitted is saved.",
        "",
        "## Top-view visible-scalp fraction against stage",
        "",
        "| method | Spearman ρ | mean fraction at stage 2 / 3 / 4 / 5 / 6 / 7 |",
        "|---|---|---|",
    ]
    for name, values, rho in (
        ("trichotrack", top_ours, rho_ours),
        ("crude centre skin fraction", top_crude, rho_crude),
    ):
        means = " / ".join(f"{values[stages == s].mean():.2f}" for s in range(2, 8))
        lines.append(f"| {name} | {rho:.3f} | {means} |")
    lines += [
        "",
        "Other views (visible-scalp fraction of the view's region against stage, Spearman ρ): "
        + ", ".join(
            f"{view} {spearmanr([per_subject[s][f'{view}.raw_fraction'] for s in subjects], stages)[0]:.2f}"
            for view in ("front", "back", "left", "right")
        )
        + "; front hairline recession index: "
        + f"{
            spearmanr(
                [per_subject[s].get('front.recession_index', np.nan) for s in subjects],
                stages,
                nan_policy='omit',
            )[0]:.2f}.",
        "",
        f"Orientation: of the {len(upright_kept)} non-top photos that arrived upright (pre_rotated=no), "
        f"{np.mean(upright_kept):.0%} were left upright by `find_orientation` (the top view needs none).",
    ]
    lines += [
        "",
        "## Stage accuracy per subject (42 men)",
        "",
        "| method | exact | within one | mean absolute error |",
        "|---|---|---|---|",
    ]
    for name, a in acc.items():
        lines.append(f"| {name} | {a['exact']:.0%} | {a['within1']:.0%} | {a['mae']:.2f} |")
    lines += [
        "",
        "## Repeatability under simulated re-photography (SD of the top-view fraction)",
        "",
        "Each photo re-shot with an in-plane turn of up to 8°, a shift of up to 4 %, distance ±10 %, light "
        "gain 0.8–1.2 with a ±15 % gradient, white balance ±3 %, JPEG 80–95.",
        "",
        "| photos | trichotrack: median / RMS of per-photo SD | crude: median / RMS |",
        "|---|---|---|",
        f"| real top views (42) | {np.median(sd_ours):.3f} / {rms(sd_ours):.3f} | "
        f"{np.median(sd_crude):.3f} / {rms(sd_crude):.3f} |",
        f"| synthetic renders (21) | {np.median(syn_ours):.3f} / {rms(syn_ours):.3f} | "
        f"{np.median(syn_crude):.3f} / {rms(syn_crude):.3f} |",
        "",
        f"Synthetic renders, measured minus exact visible fraction: mean {np.mean(syn_err):+.3f}, "
        f"mean absolute {np.mean(np.abs(syn_err)):.3f}, worst {np.max(np.abs(syn_err)):.3f}.",
        "",
        "## Speed",
        "",
        f"- trichotrack: {np.mean(ours_s):.3f} s per photo (mean; max {np.max(ours_s):.3f}), "
        "640 × 640 input, one process on a shared machine, reading the file not included",
        f"- crude baseline: {np.mean(crude_s):.4f} s per photo",
        "",
        f"## Photos reported unusable ({len(unusable)})",
        "",
    ]
    lines += [f"- {u}" for u in unusable] or ["- none"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
