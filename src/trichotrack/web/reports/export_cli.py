"""``trichotrack export csv|parquet|spss|stata|fhir --out DIR [--deidentified] [--clinic X]``.

Runs on the server, so it has the whole database: the clinic is named by id or name (or is the only one).
The audit trail records it as done by the system, with the operating-system user that ran it.
"""

import getpass
import sys

EXIT_OK, EXIT_BAD_INPUT = 0, 2


class ClinicNotFound(ValueError):
    """The --clinic value names no clinic, or several, or none was given where several exist."""


def resolve_clinic(name_or_id: str | None):
    """The clinic with this id or exact name (case-insensitive), or the only clinic when none is named."""
    from trichotrack.web.clinics.models import Clinic

    clinics = Clinic.objects.order_by("pk")
    if name_or_id is None:
        found = list(clinics[:2])
        if len(found) == 1:
            return found[0]
        if not found:
            raise ClinicNotFound("the database holds no clinic")
        names = ", ".join(f"{c.pk} ({c.name})" for c in clinics)
        raise ClinicNotFound(f"the database holds several clinics; choose one with --clinic: {names}")
    text = name_or_id.strip()
    if text.isdigit():
        clinic = clinics.filter(pk=int(text)).first()
        if clinic is not None:
            return clinic
    matches = list(clinics.filter(name__iexact=text)[:2])
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ClinicNotFound(f"several clinics are named {text!r}; give the id instead")
    raise ClinicNotFound(f"no clinic with id or name {text!r}")


def run_export(args, *, out=None, err=None) -> int:
    """The `export` command: write the files, print what was written; exit code 0, or 2 on bad input."""
    from trichotrack.web.commands import _prepare

    out, err = out or sys.stdout, err or sys.stderr
    _prepare()
    from . import exports

    try:
        clinic = resolve_clinic(args.clinic)
    except ClinicNotFound as error:
        print(f"trichotrack: error: {error}", file=err)
        return EXIT_BAD_INPUT
    if args.out.exists() and not args.out.is_dir():
        print(f"trichotrack: error: --out {args.out} exists and is not a folder", file=err)
        return EXIT_BAD_INPUT
    result = exports.write_export(
        clinic, args.format, args.out, deidentified=args.deidentified, user=None, via=f"cli:{_os_user()}"
    )
    kind = "de-identified" if args.deidentified else "identified"
    excluded = f"; {result.n_excluded} left out without a valid research consent" if args.deidentified else ""
    print(f"{clinic.name}: {kind} {args.format} export of {result.n_patients} patients{excluded}", file=out)
    for path in result.files:
        print(f"  {path}", file=out)
    rows = ", ".join(f"{name} {n}" for name, n in result.rows.items())
    print(f"  ({rows})", file=out)
    return EXIT_OK


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
