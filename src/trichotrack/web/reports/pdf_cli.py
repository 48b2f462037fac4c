"""``trichotrack report patient ID --out FILE.pdf [--clinic X]`` and
``trichotrack report cohort --out FILE.pdf [--clinic X]``: the same PDFs as the web app, written to a file,
each written to the audit trail.

Exit codes: 0 written; 2 bad input (an unknown or ambiguous clinic, an unknown patient, an --out that does not
end in .pdf or cannot be written), with one line on stderr.
"""

import sys

from .cli_common import ClinicNotFound, ProgressBar, resolve_clinic, setup, via

EXIT_OK, EXIT_BAD_INPUT = 0, 2


class ReportInputError(ValueError):
    """A patient that cannot be found; the message is the one line the user sees."""


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


def run_report(args) -> int:
    """Write the report named by the parsed arguments; the exit code."""
    out = args.out
    if out.suffix.lower() != ".pdf":
        print(f"trichotrack: error: --out must end in .pdf, got {out.name!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    setup()
    from . import pdf

    bar = ProgressBar(sys.stderr)
    try:
        clinic = resolve_clinic(args.clinic)
        if args.kind == "patient":
            patient = resolve_patient(clinic, args.patient)
            data = pdf.case_report_pdf(patient, user=None, via=via())
            what = f"case report of {patient.code}"
        else:
            data = pdf.cohort_report_pdf(clinic, user=None, via=via(), progress=bar)
            bar("done", 1.0)
            what = f"cohort report of {clinic.name}"
    except (ClinicNotFound, ReportInputError) as error:
        bar.close()
        print(f"trichotrack: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    bar.close()
    try:
        out.write_bytes(data)
    except OSError as error:
        print(f"trichotrack: error: cannot write {out}: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{out}: {what}, {len(data) // 1024 + 1} KiB")
    return EXIT_OK
