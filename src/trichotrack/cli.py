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
    shedding.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    shedding.add_argument(
        "--overlay", type=Path, metavar="OUT.png", help="write a picture of what was counted"
    )

    card = commands.add_parser("card", help="write the printable calibration card")
    card.add_argument("--out", type=Path, required=True, metavar="FILE.pdf|FILE.png")
    card.add_argument("--paper", choices=("a4", "letter"), default="a4")
    card.add_argument("--dpi", type=_dpi, default=300, help="dots per inch of the page (default 300)")

    demo = commands.add_parser("demo", help="print a card, make a synthetic shed-hair photo and measure it")
    demo.add_argument("--out", type=Path, default=Path("var/demo"), help="folder for the files (var/demo)")
    demo.add_argument("--seed", type=int, default=2016)

    serve = commands.add_parser("serve", help="migrate, then run the clinic web app and a task worker")
    serve.add_argument("--port", type=_port, default=8000)
    commands.add_parser("demo-data", help="load the demo clinic, its users and the documented case")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"measure": _measure, "card": _card, "demo": _demo, "serve": _serve, "demo-data": _demo_data}
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
    from trichotrack.measure.io import read_image, write_image
    from trichotrack.measure.photo import measure_shedding_photo
    from trichotrack.measure.shedding import render_overlay

    if args.overlay is not None and args.overlay.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"--overlay must end in .png or .jpg, got {args.overlay.name!r}")
    started = time.perf_counter()
    image = read_image(args.photo)
    measured = measure_shedding_photo(image, mm_per_px=args.mm_per_px)
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
        "crossings": len(result.crossings_rc),
        "hairs": hairs,
        "card": None
        if card is None
        else {
            "found": bool(card.found),
            "paper": card.paper,
            "markers": int(card.n_markers),
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
        lines.append(
            f"  median length {median:.0f} mm; shorter than 30 mm: {report['short_hair_fraction']:.0%}"
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


def _card(args) -> int:
    from trichotrack.measure.card import card_layout, render_card
    from trichotrack.measure.io import write_image

    suffix = args.out.suffix.lower()
    if suffix not in (".pdf", ".png"):
        raise ValueError(f"--out must end in .pdf or .png, got {args.out.name!r}")
    layout = card_layout(args.paper)
    page = render_card(layout, px_per_mm=args.dpi / 25.4)
    write_image(args.out, page, dpi=args.dpi)
    print(
        f"wrote {args.out} ({layout.paper.upper()}, {args.dpi} dpi): print at 100 %, check the 100 mm ruler"
    )
    return EXIT_OK


def _demo(args) -> int:
    from trichotrack.measure.io import write_image
    from trichotrack.measure.photo import measure_shedding_photo
    from trichotrack.measure.shedding import render_overlay
    from trichotrack.synth.shedding import shed_photo

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    _card(argparse.Namespace(out=out / "card-a4.pdf", paper="a4", dpi=300))
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


if __name__ == "__main__":
    sys.exit(main())
