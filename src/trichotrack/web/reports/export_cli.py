"""``trichotrack export csv|parquet|spss|stata|fhir --out DIR [--deidentified] [--clinic X]``.

Runs on the server, so it has the whole database: the clinic is named by id or name (or is the only one).
The audit trail records it as done by the system, with the operating-system user that ran it. On a terminal
a progress bar is drawn on stderr; stdout gets only the summary.
"""

import sys

from .cli_common import ClinicNotFound, ProgressBar, resolve_clinic, setup, via

EXIT_OK, EXIT_BAD_INPUT = 0, 2

__all__ = ["ClinicNotFound", "resolve_clinic", "run_export"]


def run_export(args, *, out=None, err=None) -> int:
    """The `export` command: write the files, print what was written; exit code 0, or 2 on bad input."""
    out, err = out or sys.stdout, err or sys.stderr
    setup()
    from . import exports

    try:
        clinic = resolve_clinic(args.clinic)
    except ClinicNotFound as error:
        print(f"trichotrack: error: {error}", file=err)
        return EXIT_BAD_INPUT
    if args.out.exists() and not args.out.is_dir():
        print(f"trichotrack: error: --out {args.out} exists and is not a folder", file=err)
        return EXIT_BAD_INPUT
    bar = ProgressBar(err)
    try:
        result = exports.write_export(
            clinic, args.format, args.out, deidentified=args.deidentified, user=None, via=via(), progress=bar
        )
    finally:
        bar.close()
    kind = "de-identified" if args.deidentified else "identified"
    excluded = f"; {result.n_excluded} left out without a valid research consent" if args.deidentified else ""
    print(f"{clinic.name}: {kind} {args.format} export of {result.n_patients} patients{excluded}", file=out)
    for path in result.files:
        print(f"  {path}", file=out)
    rows = ", ".join(f"{name} {n}" for name, n in result.rows.items())
    print(f"  ({rows})", file=out)
    return EXIT_OK
