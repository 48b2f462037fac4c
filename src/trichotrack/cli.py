"""The `trichotrack` command: argparse → io → measure → JSON or a short summary.

Exit codes: 0 measured, 1 the photo could not be measured (``countable`` is false) or an internal error,
2 bad input (a file that is not a readable photo, an impossible option). Errors are one line on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from trichotrack import __version__

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
#: `trichotrack.measure.shedding.HAIR_COLOURS`, here so that `--help` needs no image libraries (a test keeps
#: the two the same).
HAIR_COLOURS = ("black", "brown", "red", "blonde", "grey", "white")
#: `trichotrack.measure.card.FIELDS`, for the same reason.
CARD_FIELDS = ("white", "dark")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own exit code 2 with a one-line message, kept
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def _dpi(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 72 <= value <= 1200:
        raise argparse.ArgumentTypeError(f"dpi must be between 72 and 1200, got {value}")
    return value


def _quarter_turns(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= 3:
        raise argparse.ArgumentTypeError(f"turns must be 0, 1, 2 or 3, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1–65535, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="trichotrack", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"trichotrack {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    measure = commands.add_parser("measure", help="measure a photo")
    kinds = measure.add_subparsers(dest="kind", required=True, parser_class=_Parser)
    shedding = kinds.add_parser("shedding", help="count and measure shed hairs in a photo")
    shedding.add_argument("photo", type=Path, help="JPEG, PNG, TIFF or HEIC photo of the shed hairs")
    shedding.add_argument(
        "--mm-per-px", type=_positive_float, help="the photo's scale, if known (the card is then not used)"
    )
    shedding.add_argument(
        "--hair-colour",
        choices=HAIR_COLOURS,
        help="the hairs' colour, if known: light hair on light paper (or dark on dark) and grey hair, a mix"
        " of dark and white hairs, are then not counted as if all of it showed",
    )
    shedding.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    shedding.add_argument(
        "--overlay", type=Path, metavar="OUT.png", help="write a picture of what was counted"
    )

    tricho = kinds.add_parser("trichoscopy", help="hair count, density and widths in a trichoscopy image")
    tricho.add_argument("image", type=Path, help="JPEG, PNG, TIFF or HEIC dermatoscope image of the scalp")
    tricho_scale = tricho.add_mutually_exclusive_group()
    tricho_scale.add_argument("--mm-per-px", type=_positive_float, help="the image's scale, from the device")
    tricho_scale.add_argument(
        "--field-mm2", type=_positive_float, metavar="A", help="the area the whole image covers, mm²"
    )
    tricho.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    tricho.add_argument("--overlay", type=Path, metavar="OUT.png", help="write a picture of what was counted")

    scalp = kinds.add_parser("scalp", help="visible scalp, hairline and part width in a global head photo")
    scalp.add_argument("photo", type=Path, help="JPEG, PNG, TIFF or HEIC photo of the head")
    scalp.add_argument("--view", required=True, choices=("top", "front", "back", "left", "right", "part"))
    scalp.add_argument("--mm-per-px", type=_positive_float, help="the photo's scale, if known (part width)")
    scalp.add_argument(
        "--turns",
        type=_quarter_turns,
        metavar="N",
        help="quarter turns counter-clockwise that make the photo upright (0-3; 0: upright as given); "
        "default: found from the picture",
    )
    scalp.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    scalp.add_argument("--overlay", type=Path, metavar="OUT.png", help="write a picture of what was measured")

    stage = commands.add_parser("stage", help="Norwood (men) or Ludwig (women) stage from global photos")
    stage.add_argument("--sex", required=True, choices=("male", "female"))
    stage.add_argument("photos", nargs="+", metavar="VIEW=PHOTO", help="e.g. top=vertex.jpg front=front.jpg")
    stage.add_argument(
        "--turns",
        action="append",
        default=[],
        metavar="VIEW=N",
        help="quarter turns counter-clockwise that make that view's photo upright (0-3), as for measure "
        "scalp --turns; repeat for more views; default: found from each picture",
    )
    stage.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")

    card = commands.add_parser("card", help="write the printable calibration card")
    card.add_argument("--out", type=Path, required=True, metavar="FILE.pdf|FILE.png")
    card.add_argument("--paper", choices=("a4", "letter"), default="a4")
    card.add_argument("--dpi", type=_dpi, default=300, help="dots per inch of the page (default 300)")
    card.add_argument(
        "--field",
        choices=CARD_FIELDS,
        default="white",
        help="the hair field: white for dark hair (default), dark for light hair (blonde, white, grey)",
    )

    demo = commands.add_parser("demo", help="print a card, make a synthetic shed-hair photo and measure it")
    demo.add_argument("--out", type=Path, default=Path("var/demo"), help="folder for the files (var/demo)")
    demo.add_argument("--seed", type=int, default=2016)

    serve = commands.add_parser("serve", help="migrate, then run the clinic web app and a task worker")
    serve.add_argument("--port", type=_port, default=8000)
    commands.add_parser("demo-data", help="load the demo clinic, its users and the documented case")
    remeasure = commands.add_parser(
        "remeasure", help="measure the shed-hair photos of the clinic app again after an algorithm change"
    )
    remeasure.add_argument("--all", action="store_true", help="every photo, even those already up to date")
    remeasure.add_argument("--enqueue", action="store_true", help="queue them for the task workers instead")

    report = commands.add_parser("report", help="PDF report of a patient or of the cohort")
    report_kinds = report.add_subparsers(dest="kind", required=True, metavar="{patient,cohort}")
    report_patient = report_kinds.add_parser("patient", help="case report of one patient")
    report_patient.add_argument("patient", metavar="ID", help="the patient's study code (or numeric id)")
    report_cohort = report_kinds.add_parser("cohort", help="cohort report: every treated patient")
    for sub in (report_patient, report_cohort):
        sub.add_argument("--out", type=Path, required=True, metavar="FILE.pdf")
        sub.add_argument("--clinic", help="clinic name or id (needed when the database holds several)")

    export = commands.add_parser("export", help="analysis-ready tables, SPSS/Stata files or a FHIR bundle")
    export.add_argument("format", choices=["csv", "parquet", "spss", "stata", "fhir"])
    export.add_argument("--out", type=Path, required=True, metavar="DIR")
    export.add_argument("--deidentified", action="store_true", help="hashed ids, shifted dates, no names")
    export.add_argument("--clinic", help="clinic name or id (needed when the database holds several)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"measure": _measure, "card": _card, "demo": _demo, "serve": _serve, "demo-data": _demo_data}
    handlers["stage"] = _stage
    handlers["remeasure"] = _remeasure
    handlers["report"] = _report
    handlers["export"] = _export
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        return EXIT_FAILED
    except Exception as error:  # the one place errors become a message and an exit code
        from trichotrack.measure.io import ImageReadError

        if isinstance(error, (ImageReadError, ValueError, OSError)):
            print(f"trichotrack: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"trichotrack: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILED


def _measure(args) -> int:
    if args.kind == "scalp":
        return _measure_scalp(args)
    if args.kind == "trichoscopy":
        return _measure_trichoscopy(args)
    from trichotrack.measure.io import read_image, write_image
    from trichotrack.measure.photo import measure_shedding_photo
    from trichotrack.measure.shedding import render_overlay

    if args.overlay is not None and args.overlay.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"--overlay must end in .png or .jpg, got {args.overlay.name!r}")
    started = time.perf_counter()
    image = read_image(args.photo)
    measured = measure_shedding_photo(image, mm_per_px=args.mm_per_px, hair_colour=args.hair_colour)
    seconds = time.perf_counter() - started
    if args.overlay is not None:
        write_image(args.overlay, render_overlay(measured.analysed_image, measured.result))
    report = shedding_report(measured, seconds=seconds)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(_summary(report, args.photo))
    return EXIT_OK if report["countable"] else EXIT_FAILED


def shedding_report(measured, *, seconds: float) -> dict:
    """The JSON contract of `trichotrack measure shedding --json` (later tools depend on it)."""
    result = measured.result
    hairs = [
        {
            "number": number,
            "length_mm": _round(hair.length_mm, 2),
            "width_mm": _round(hair.width_mm, 4),
            "length_px": _round(hair.length_px, 1),
            "width_px": _round(hair.width_px, 2),
            "touches_border": bool(hair.touches_border),
            "crossings": int(hair.crossings),
            "centerline_rc": [[round(float(r), 1), round(float(c), 1)] for r, c in hair.centerline_rc[::4]],
        }
        for number, hair in enumerate(result.hairs, start=1)
    ]
    card = measured.card
    return {
        "hair_count": int(result.hair_count),
        "count_low": int(result.count_low),
        "count_high": int(result.count_high),
        "countable": bool(result.countable),
        "problems": list(measured.problems),
        "mm_per_px": _round(result.mm_per_px, 6),
        "scale_source": measured.scale_source,
        "short_hair_fraction": _round(result.short_hair_fraction, 4),
        "hair_colour": result.params.get("hair_colour"),
        "crossings": len(result.crossings_rc),
        "hairs": hairs,
        "card": None
        if card is None
        else {
            "found": bool(card.found),
            "paper": card.paper,
            "markers": int(card.n_markers),
            "field": measured.card_field,
            "obliquity_deg": _round(card.obliquity_deg, 1),
            "reprojection_error_mm": _round(card.reprojection_error_mm, 3),
        },
        "algorithm": {"name": result.algorithm, "version": result.version, "params": result.params},
        "seconds": round(seconds, 3),
    }


def _round(value, digits):
    return None if value is None else round(float(value), digits)


def _summary(report: dict, photo: Path) -> str:
    lines = [f"{photo.name}:"]
    if report["countable"]:
        lines.append(
            f"  {report['hair_count']} hairs (likely {report['count_low']}–{report['count_high']}), "
            f"{report['crossings']} crossings"
        )
    else:
        lines.append(f"  not countable ({report['hair_count']} hairs traced outside excluded regions)")
    lengths = sorted(h["length_mm"] for h in report["hairs"] if h["length_mm"] is not None)
    if lengths:
        median = lengths[len(lengths) // 2]
        short = report["short_hair_fraction"]
        lines.append(
            f"  median length {median:.0f} mm"
            + ("" if short is None else f"; shorter than 30 mm: {short:.0%}")
        )
    scale = report["scale_source"]
    if report["mm_per_px"] is not None:
        lines.append(
            f"  scale {report['mm_per_px']:.4f} mm/px from {'the card' if scale == 'card' else 'you'}"
        )
    lines.extend(f"  ! {problem}" for problem in report["problems"])
    lines.append(
        f"  {report['algorithm']['name']} {report['algorithm']['version']}, {report['seconds']:.2f} s"
    )
    return "\n".join(lines)


def _measure_trichoscopy(args) -> int:
    from trichotrack.measure.io import read_image, write_image
    from trichotrack.measure.trichoscopy import analyze_trichoscopy, render_trichoscopy_overlay

    if args.overlay is not None and args.overlay.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"--overlay must end in .png or .jpg, got {args.overlay.name!r}")
    started = time.perf_counter()
    image = read_image(args.image)
    result = analyze_trichoscopy(image, mm_per_px=args.mm_per_px, field_mm2=args.field_mm2)
    report = trichoscopy_report(result, seconds=time.perf_counter() - started)
    if args.overlay is not None:
        write_image(args.overlay, render_trichoscopy_overlay(image, result))
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        lines = [f"{args.image.name}:"]
        if report["countable"]:
            count, low, high = report["hair_count"], report["count_low"], report["count_high"]
            lines.append(f"  {count} hairs (likely {low}–{high})")
        else:
            lines.append(f"  not countable ({report['hair_count']} hairs found)")
        if report["density_per_cm2"] is not None:
            density, area = report["density_per_cm2"], report["field_mm2"]
            lines.append(f"  density {density:.0f} hairs/cm² over {area:.2f} mm²")
        if report["thin_hair_fraction"] is not None:
            thin, vellus = report["thin_hair_fraction"], report["vellus_fraction"]
            lines.append(f"  thin (< 30 µm): {thin:.0%}; vellus (≤ 40 µm): {vellus:.0%}")
        units = report["follicular_units"]
        lines.append(f"  follicular units of 1 / 2 / 3+ hairs: {units['1']} / {units['2']} / {units['3+']}")
        lines.extend(f"  ! {problem}" for problem in report["problems"])
        algorithm = report["algorithm"]
        lines.append(f"  {algorithm['name']} {algorithm['version']}, {report['seconds']:.2f} s")
        print("\n".join(lines))
    return EXIT_OK if report["countable"] else EXIT_FAILED


def trichoscopy_report(result, *, seconds: float) -> dict:
    """The JSON contract of `trichotrack measure trichoscopy --json`."""
    hairs = [
        {
            "number": number,
            "hairs": int(shaft.hairs),
            # A shaft cut by the field edge counts by how far it reaches in; hair_count = Σ hairs × weight.
            "count_weight": round(float(shaft.count_weight), 3),
            "width_um": _round(shaft.width_um, 1),
            "width_px": _round(shaft.width_px, 2),
            "length_px": _round(shaft.length_px, 1),
            "touches_border": bool(shaft.touches_border),
            "unit": int(shaft.unit),
            "centerline_rc": [[round(float(r), 1), round(float(c), 1)] for r, c in shaft.centerline_rc[::8]],
        }
        for number, shaft in enumerate(result.shafts, start=1)
    ]
    return {
        "hair_count": int(result.hair_count),
        "count_low": int(result.count_low),
        "count_high": int(result.count_high),
        "countable": bool(result.countable),
        "problems": list(result.problems),
        "mm_per_px": _round(result.mm_per_px, 6),
        "field_mm2": _round(result.field_mm2, 4),
        "density_per_cm2": _round(result.density_per_cm2, 1),
        "thin_hair_fraction": _round(result.thin_hair_fraction, 4),
        "vellus_fraction": _round(result.vellus_fraction, 4),
        "follicular_units": dict(result.unit_sizes),
        "hairs": hairs,
        "algorithm": {"name": result.algorithm, "version": result.version, "params": result.params},
        "seconds": round(seconds, 3),
    }


def _measure_scalp(args) -> int:
    from trichotrack.measure.io import read_image, write_image
    from trichotrack.measure.scalp import measure_scalp, render_scalp_overlay

    if args.overlay is not None and args.overlay.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"--overlay must end in .png or .jpg, got {args.overlay.name!r}")
    started = time.perf_counter()
    orientation = "auto" if args.turns is None else args.turns
    result = measure_scalp(
        read_image(args.photo), view=args.view, mm_per_px=args.mm_per_px, orientation=orientation
    )
    report = scalp_report(result, seconds=time.perf_counter() - started)
    if args.overlay is not None:
        write_image(args.overlay, render_scalp_overlay(result))
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        fraction = report["scalp_visible_fraction"]
        lines = [f"{args.photo.name} ({report['view']} view):"]
        shown = "not measured" if fraction is None else f"{fraction:.1%} of the region"
        lines.append(f"  visible scalp: {shown}")
        if report["hairline"] is not None:
            lines.append(f"  hairline recession index {report['hairline']['recession_index']}")
        if report["part_width_mm"] is not None:
            lines.append(f"  part width {report['part_width_mm']:.1f} mm")
        lines.extend(f"  ! {problem}" for problem in report["problems"])
        algorithm = report["algorithm"]
        lines.append(f"  {algorithm['name']} {algorithm['version']}, {report['seconds']:.2f} s")
        print("\n".join(lines))
    return EXIT_OK if report["usable"] else EXIT_FAILED


def scalp_report(result, *, seconds: float) -> dict:
    """The JSON contract of `trichotrack measure scalp --json`."""
    hairline = result.hairline
    params = {k: v for k, v in result.params.items() if isinstance(v, (int, float, str, type(None)))}
    return {
        "view": result.view,
        "usable": bool(result.usable),
        "problems": list(result.problems),
        "scalp_visible_fraction": _round(result.scalp_visible_fraction, 4),
        "hairline": None
        if hairline is None
        else {
            "midline_depth_fraction": _round(_finite(hairline.midline_depth_fraction), 4),
            "left_temple_depth_fraction": _round(_finite(hairline.left_temple_depth_fraction), 4),
            "right_temple_depth_fraction": _round(_finite(hairline.right_temple_depth_fraction), 4),
            "recession_index": _round(_finite(hairline.recession_index), 4),
        },
        "part_width_mm": _round(result.part_width_mm, 2),
        "quarter_turns": int(result.quarter_turns),
        "algorithm": {"name": result.algorithm, "version": result.version, "params": params},
        "seconds": round(seconds, 3),
    }


def _finite(value):
    return value if value is not None and math.isfinite(value) else None


def _stage(args) -> int:
    from trichotrack.measure.io import read_image
    from trichotrack.measure.scalp import VIEWS, measure_scalp
    from trichotrack.measure.staging import stage_from_results

    photos = {}
    for item in args.photos:
        view, sep, path = item.partition("=")
        if not sep or not path:
            raise ValueError(f"expected VIEW=PHOTO, got {item!r}")
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r} in {item!r}; use one of {', '.join(VIEWS)}")
        if view in photos:
            raise ValueError(f"view {view!r} given twice")
        photos[view] = Path(path)
    turns = {}
    for item in args.turns:
        view, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"expected --turns VIEW=N, got {item!r}")
        if view not in photos:
            raise ValueError(f"--turns {item!r}: no photo given for view {view!r}")
        if view in turns:
            raise ValueError(f"--turns for view {view!r} given twice")
        try:
            turns[view] = _quarter_turns(value)
        except argparse.ArgumentTypeError as error:
            raise ValueError(f"--turns {item!r}: {error}") from None
    results = [
        measure_scalp(read_image(path), view=view, orientation=turns.get(view, "auto"))
        for view, path in photos.items()
    ]
    estimate = stage_from_results(results, sex=args.sex)
    report = {
        "scale": estimate.scale,
        "stage": estimate.stage,
        "probabilities": {str(k): v for k, v in estimate.probabilities.items()},
        "measurements": {k: round(v, 4) for k, v in estimate.measurements.items()},
        "problems": list(estimate.problems),
        "algorithm": {"name": estimate.algorithm, "version": estimate.version},
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        shown = "not estimated" if report["stage"] is None else report["stage"]
        lines = [f"{report['scale']} stage: {shown}"]
        lines += [f"  P({k}) = {p:.2f}" for k, p in report["probabilities"].items() if p >= 0.01]
        lines += [f"  {k} = {v}" for k, v in report["measurements"].items()]
        lines += [f"  ! {problem}" for problem in report["problems"]]
        print("\n".join(lines))
    return EXIT_OK if report["stage"] is not None else EXIT_FAILED


def _card(args) -> int:
    from trichotrack.measure.card import card_layout, render_card
    from trichotrack.measure.io import write_image

    suffix = args.out.suffix.lower()
    if suffix not in (".pdf", ".png"):
        raise ValueError(f"--out must end in .pdf or .png, got {args.out.name!r}")
    layout = card_layout(args.paper)
    page = render_card(layout, px_per_mm=args.dpi / 25.4, field=args.field)
    write_image(args.out, page, dpi=args.dpi)
    print(
        f"wrote {args.out} ({layout.paper.upper()}, {args.field} field, {args.dpi} dpi): print at 100 %,"
        " check the 100 mm ruler"
    )
    return EXIT_OK


def _demo(args) -> int:
    from trichotrack.measure.io import write_image
    from trichotrack.measure.photo import measure_shedding_photo
    from trichotrack.measure.shedding import render_overlay
    from trichotrack.synth.shedding import shed_photo

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    _card(argparse.Namespace(out=out / "card-a4.pdf", paper="a4", dpi=300, field="white"))
    photo = shed_photo(args.seed, background="card", n_hairs=40)
    write_image(out / "shed-photo.jpg", photo.image)
    started = time.perf_counter()
    measured = measure_shedding_photo(photo.image)
    report = shedding_report(measured, seconds=time.perf_counter() - started)
    write_image(out / "shed-overlay.png", render_overlay(measured.analysed_image, measured.result))
    (out / "shed-result.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(_summary(report, out / "shed-photo.jpg"))
    print(f"  truth: {photo.hair_count} hairs (synthetic photo, seed {args.seed})")
    print(f"wrote {out}/shed-photo.jpg, shed-overlay.png, shed-result.json and card-a4.pdf")
    return EXIT_OK


def _serve(args) -> int:
    from trichotrack.web.commands import serve

    return serve(port=args.port)


def _demo_data(args) -> int:
    from trichotrack.web.commands import demo_data

    return demo_data()


def _remeasure(args) -> int:
    from trichotrack.web.commands import remeasure

    return remeasure(all_photos=args.all, enqueue=args.enqueue)


def _report(args) -> int:
    from trichotrack.web.reports.pdf_cli import run_report

    return run_report(args)


def _export(args) -> int:
    from trichotrack.web.reports.export_cli import run_export

    return run_export(args)


if __name__ == "__main__":
    sys.exit(main())
