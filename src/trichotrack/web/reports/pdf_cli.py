"""``trichotrack report patient ID --out FILE.pdf [--clinic X]`` and
``trichotrack report cohort --out FILE.pdf [--clinic X]``: the same PDFs as the web app, written to a file,
each written to the audit trail.

Exit codes: 0 written; 2 bad input (an unknown or ambiguous clinic, an unknown patient, an --out that does not
end in .pdf or cannot be written), with one line on stderr.
"""

import getpass
import sys

EXIT_OK, EXIT_BAD_INPUT = 0, 2


class ReportInputError(ValueError):
    """A clinic or patient that cannot be found; the message is the one line the user sees."""


def _setup() -> None:
    """Set Django up like `trichotrack serve` does, unless the caller (a test, a shell) already has."""
    from django.apps import apps

    if not apps.ready:
        from trichotrack.web.commands import _prepare

        _prepare()


def resolve_clinic(value: str | None):
    """The clinic named or numbered by `value`, or the only clinic when `value` is None."""
    from trichotrack.web.clinics.models import Clinic

    if value is None:
        clinics = list(Clinic.objects.order_by("pk")[:2])
        if not clinics:
            raise ReportInputError("the database holds no clinic (load one with `trichotrack demo-data`)")
        if len(clinics) > 1:
            raise ReportInputError("the database holds several clinics: choose one with --clinic NAME or ID")
        return clinics[0]
    value = value.strip()
    if value.isdigit():
        clinic = Clinic.objects.filter(pk=int(value)).first()
        if clinic is not None:
            return clinic
    matches = list(Clinic.objects.filter(name__iexact=value)[:2])
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ReportInputError(f"several clinics are named {value!r}: give the clinic's id with --clinic")
    raise ReportInputError(f"no clinic {value!r}")


def resolve_patient(clinic, value: str):
    """The clinic's patient with study code `value` (or, failing that, numeric id `value`)."""
    from trichotrack.web.patients.models import Patient

    value = value.strip()
    patient = Patient.objects.filter(clinic=clinic, code=value).select_related("clinic").first()
    if patient is None and value.isdigit():
        patient = Patient.objects.filter(clinic=clinic, pk=int(value)).select_related("clinic").first()
    if patient is None:
        raise ReportInputError(f"no patient {value!r} in clinic {clinic.name!r}")
    return patient


def _via() -> str:
    """The audit trail's note of who ran the command: the operating-system user (there is no app user)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def run_report(args) -> int:
    """Write the report named by the parsed arguments; the exit code."""
    out = args.out
    if out.suffix.lower() != ".pdf":
        print(f"trichotrack: error: --out must end in .pdf, got {out.name!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _setup()
    from . import pdf

    try:
        clinic = resolve_clinic(args.clinic)
        if args.kind == "patient":
            patient = resolve_patient(clinic, args.patient)
            data = pdf.case_report_pdf(patient, user=None, via=_via())
            what = f"case report of {patient.code}"
        else:
            data = pdf.cohort_report_pdf(clinic, user=None, via=_via())
            what = f"cohort report of {clinic.name}"
    except ReportInputError as error:
        print(f"trichotrack: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        out.write_bytes(data)
    except OSError as error:
        print(f"trichotrack: error: cannot write {out}: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{out}: {what}, {len(data) // 1024 + 1} KiB")
    return EXIT_OK
