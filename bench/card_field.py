"""The card's dark field for light hair: the same synthetic photos on the white and on the dark field.

    .venv/bin/python bench/card_field.py [--seeds 12] [--colours white,blonde,grey,black]

Each seed draws one photo of the card (hair count, curl, camera, light, blur, ...) and renders it twice, with
the card's hair field white and printed dark (`trichotrack card --field dark`), with the same hairs; both
are measured as a user would (the card sets the scale). Writes bench/results/card_field.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from shedding import load_average, machine  # (bench/shedding.py, beside this file)
    from trichotrack.measure.photo import measure_shedding_photo
    from trichotrack.measure.shedding import VERSION
    from trichotrack.synth.shedding import shed_photo

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--colours", default="white,blonde,grey,black")
    parser.add_argument("--report", type=Path, default=ROOT / "bench/results/card_field.md")
    args = parser.parse_args()
    started_at = datetime.now(UTC)
    load_start = load_average()
    rows = []
    for colour in args.colours.split(","):
        for seed in range(args.seeds):
            for field in ("white", "dark"):
                photo = shed_photo(seed, background="card", hair_colour=colour, card_field=field, clump=False)
                t0 = time.perf_counter()
                measured = measure_shedding_photo(photo.image)
                seconds = time.perf_counter() - t0
                r = measured.result
                rows.append(
                    {
                        "colour": colour,
                        "seed": seed,
                        "field": field,
                        "true": photo.hair_count,
                        "count": r.hair_count,
                        "low": r.count_low,
                        "high": r.count_high,
                        "countable": r.countable,
                        "field_seen": measured.card_field,
                        "seconds": seconds,
                    }
                )
                print(rows[-1], file=sys.stderr, flush=True)
    lines = [
        "# The card's dark field for light hair",
        "",
        f"- Date: {started_at:%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}; load average {load_start} at the start, {load_average()} at the end"
        " (seconds are upper bounds when it is above 1)",
        f"- Command: `{' '.join(['python bench/card_field.py', *sys.argv[1:]])}`",
        f"- Engine: trichotrack.shedding {VERSION}; photos from `trichotrack.synth.shedding.shed_photo(seed,"
        " background='card', hair_colour=C, card_field=F)`, seeds 0 to "
        f"{args.seeds - 1}, unclumped, 12 MP: each seed's photo twice, the same hairs on the white and on the"
        " dark field.",
        "- Count error |measured − true| / true; *countable*: photos the engine called countable; *confident"
        " wrong*: countable and more than 25 % off; *coverage*: truth inside [count_low, count_high].",
        "",
        "| hair | field | photos | field seen as printed | count error median | p90 | called countable"
        " | error median, countable | confident wrong | coverage | s/photo median |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for colour in args.colours.split(","):
        for field in ("white", "dark"):
            sel = [r for r in rows if r["colour"] == colour and r["field"] == field]
            err = np.array([abs(r["count"] - r["true"]) / r["true"] for r in sel])
            ok = np.array([r["countable"] for r in sel])
            seen = sum(r["field_seen"] == field for r in sel)
            cover = np.mean([r["low"] <= r["true"] <= r["high"] for r in sel])
            wrong = int(np.sum(ok & (err > 0.25)))
            med_ok = f"{np.median(err[ok]):.1%}" if ok.any() else "—"
            lines.append(
                f"| {colour} | {field} | {len(sel)} | {seen} | {np.median(err):.1%}"
                f" | {np.percentile(err, 90):.1%} | {int(ok.sum())} | {med_ok} | {wrong} | {cover:.0%} |"
                f" {np.median([r['seconds'] for r in sel]):.2f} s |"
            )
    lines += [
        "",
        "## Photo by photo",
        "",
        "| hair | seed | true | white field | dark field |",
        "|---|---|---|---|---|",
    ]
    for colour in args.colours.split(","):
        for seed in range(args.seeds):
            pair = {r["field"]: r for r in rows if r["colour"] == colour and r["seed"] == seed}

            def cell(r):
                mark = "" if r["countable"] else " (not countable)"
                return f"{r['count']} [{r['low']}, {r['high']}]{mark}"

            white, dark = cell(pair["white"]), cell(pair["dark"])
            lines.append(f"| {colour} | {seed} | {pair['white']['true']} | {white} | {dark} |")
    args.report.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.report}", file=sys.stderr)


if __name__ == "__main__":
    main()
