"""Trichoscopy benchmark: hair counts on real annotated 70x scalp images, against simple baselines.

    .venv/bin/python bench/trichoscopy.py [--data DIR] [--tune-n 100] [--synthetic 20]

The real images are read from ``../shared/data/trichoscopy-bsrl-dev`` (or ``$TRICHOTRACK_SHARED_DATA/
trichoscopy-bsrl-dev``, or ``--data``); they have no licence and are never copied into the project. The
truth of an image is its number of annotated boxes (one per hair shaft, all classes). The thresholds of
`trichotrack.measure.trichoscopy` were set by hand on the first ``--tune-n`` images by sorted name; the
rest are held out and reported separately.

Methods, run in the same process on the same images:

- ``trichotrack``: `analyze_trichoscopy` (its seconds include nothing but the analysis);
- ``constant``: the median count of the tuning images, for every image;
- ``naive black-hat``: grey image, morphological black-hat (15-px disc), Otsu threshold, connected
  components of at least 50 px counted as hairs.

Writes bench/results/trichoscopy.md. Not a timed test: run it by hand on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def default_data() -> Path:
    shared = os.environ.get("TRICHOTRACK_SHARED_DATA")
    base = Path(shared) if shared else ROOT.parent / "shared" / "data"
    return base / "trichoscopy-bsrl-dev"


def truth_count(xml_path: Path) -> int:
    return len(ET.parse(xml_path).getroot().findall("object"))


def naive_blackhat_count(image: np.ndarray) -> int:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    hat = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, kernel)
    _, mask = cv2.threshold(hat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return int((stats[1:, cv2.CC_STAT_AREA] >= 50).sum())


def summarise(estimates, truths, seconds=None, lows=None, highs=None) -> dict:
    est, tru = np.asarray(estimates, float), np.asarray(truths, float)
    out = {
        "n": len(tru),
        "mae": float(np.mean(np.abs(est - tru))),
        "mape": float(np.mean(np.abs(est - tru) / tru) * 100),
        "bias": float(np.mean(est - tru)),
    }
    if seconds is not None:
        out["seconds"] = float(np.mean(seconds))
        out["seconds_max"] = float(np.max(seconds))
    if lows is not None:
        out["coverage"] = float(np.mean((np.asarray(lows) <= tru) & (tru <= np.asarray(highs))) * 100)
    return out


def run_real(data: Path, tune_n: int) -> dict:
    from trichotrack.measure.io import read_image
    from trichotrack.measure.trichoscopy import analyze_trichoscopy

    names = sorted(p.stem for p in (data / "annotations").glob("*.xml"))
    if not names:
        raise SystemExit(f"no annotations under {data}")
    truths = np.array([truth_count(data / "annotations" / f"{n}.xml") for n in names])
    constant = float(np.median(truths[:tune_n]))
    rows = []
    for name, truth in zip(names, truths, strict=True):
        image = read_image(data / "images" / f"{name}.jpg")
        started = time.perf_counter()
        result = analyze_trichoscopy(image)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        naive = naive_blackhat_count(image)
        naive_seconds = time.perf_counter() - started
        rows.append(
            {
                "truth": int(truth),
                "count": result.hair_count,
                "low": result.count_low,
                "high": result.count_high,
                "countable": result.countable,
                "seconds": seconds,
                "naive": naive,
                "naive_seconds": naive_seconds,
            }
        )
    splits = {
        f"held-out ({len(names) - tune_n} images)": rows[tune_n:],
        f"tuning ({tune_n} images)": rows[:tune_n],
        f"all ({len(names)} images)": rows,
    }
    table = {}
    for label, part in splits.items():
        tru = [r["truth"] for r in part]
        table[label] = {
            "trichotrack": summarise(
                [r["count"] for r in part],
                tru,
                [r["seconds"] for r in part],
                [r["low"] for r in part],
                [r["high"] for r in part],
            ),
            "constant": summarise([constant] * len(part), tru),
            "naive black-hat": summarise([r["naive"] for r in part], tru, [r["naive_seconds"] for r in part]),
            "uncountable": sum(not r["countable"] for r in part),
        }
    return {"table": table, "constant": constant, "n": len(names)}


def run_synthetic(n: int) -> dict:
    from trichotrack.measure.trichoscopy import analyze_trichoscopy
    from trichotrack.synth.trichoscopy import trichoscopy_image

    kinds = [
        {},
        {"skin": "dark"},
        {"skin": "medium", "hair": "brown"},
        {"hair": "blond"},
        {"bubbles": 5, "glare": 2},
        {"header": True},
        {"vellus_share": 0.3},
        {"clipped": False, "n_units": 6},
    ]
    counts, truths, width_errors, seconds = [], [], [], []
    for i in range(n):
        image = trichoscopy_image(5000 + i, **kinds[i % len(kinds)])
        started = time.perf_counter()
        result = analyze_trichoscopy(image.image, mm_per_px=image.mm_per_px)
        seconds.append(time.perf_counter() - started)
        counts.append(result.hair_count)
        truths.append(image.hair_count)
        singles = [s.width_um for s in result.shafts if s.hairs == 1 and not s.touches_border]
        if singles:
            true_width = np.median([h.width_um for h in image.hairs])
            width_errors.append(abs(np.median(singles) - true_width) / true_width * 100)
    out = summarise(counts, truths, seconds)
    out["width_error"] = float(np.median(width_errors)) if width_errors else float("nan")
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, OpenCV {cv2.__version__}"


def write_report(path: Path, real: dict | None, synthetic: dict | None, command: str, data: Path) -> None:
    from trichotrack.measure.trichoscopy import ALGORITHM, VERSION

    lines = [
        "# Trichoscopy hair count benchmark",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()} (shared with other jobs while this ran: timings are upper bounds)",
        f"- Command: `{command}`",
        f"- Algorithm: {ALGORITHM} {VERSION}",
        "",
    ]
    if real is None:
        lines += [f"Real images not found at `{data}`: only the synthetic part ran.", ""]
    else:
        lines += [
            "## Real 70x scalp images (BSRL development subset, one annotated box per hair shaft)",
            "",
            "Truth: the number of annotated boxes. Thresholds were chosen by their score on the tuning "
            "images (the first ones by sorted name); held-out scores were printed during development and a "
            "few held-out images were looked at, but no choice was made on them. The constant answer is the "
            f"median tuning count ({real['constant']:g}). MAPE: mean absolute % error per image; coverage: "
            "share of images whose truth lies in [count_low, count_high] (aim: ≥ 80 %).",
            "",
            "| images | method | MAE (hairs) | MAPE | bias (hairs) | s / image (mean, max) | coverage |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for label, methods in real["table"].items():
            for method in ("trichotrack", "constant", "naive black-hat"):
                m = methods[method]
                timing = f"{m['seconds']:.3f}, {m['seconds_max']:.3f}" if "seconds" in m else "–"
                cover = f"{m['coverage']:.0f} %" if "coverage" in m else "–"
                lines.append(
                    f"| {label} | {method} | {m['mae']:.2f} | {m['mape']:.1f} % | {m['bias']:+.2f} | "
                    f"{timing} | {cover} |"
                )
        lines += [""]
        unc = {label: methods["uncountable"] for label, methods in real["table"].items()}
        lines += [f"Images trichotrack marked not countable: {unc}.", ""]
    if synthetic is not None:
        s = synthetic
        lines += [
            "## Synthetic images with exact truth (trichotrack.synth.trichoscopy, mixed conditions)",
            "",
            "| images | MAE (hairs) | MAPE | bias (hairs) | s / image | median width error (single hairs) |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {s['n']} | {s['mae']:.2f} | {s['mape']:.1f} % | {s['bias']:+.2f} | {s['seconds']:.3f} | "
            f"{s['width_error']:.1f} % |",
            "",
        ]
    lines += [
        "## Reading the figures",
        "",
        "- The issue's target, ≤ 10 % MAPE on held-out real images, is **not met**. The pipeline beats "
        "the constant answer and the naive black-hat count, but most of its remaining error is hairs that "
        "leave one follicle side by side and look like one thick shaft at this resolution (counted once, "
        "annotated twice), and the annotators' varying choice to count shafts cut by the field edge "
        "(counted here as one half each).",
        "- Anchors from the issue: the constant answer ~21 % on the data set's own held-out images, "
        "deep-learning projects 20–25 %, automatic phototrichogram counts 12 ± 2 %, manual recounts "
        "2.7–13 %.",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--tune-n", type=int, default=100)
    parser.add_argument("--synthetic", type=int, default=24, help="synthetic images (0: none)")
    parser.add_argument("--report", type=Path, default=ROOT / "bench/results/trichoscopy.md")
    args = parser.parse_args(argv)
    command = "python bench/trichoscopy.py " + " ".join(sys.argv[1:] if argv is None else argv)
    real = run_real(args.data, args.tune_n) if (args.data / "annotations").is_dir() else None
    synthetic = run_synthetic(args.synthetic) if args.synthetic > 0 else None
    write_report(args.report, real, synthetic, command.strip(), args.data)
    print(args.report.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
