"""Time and peak memory of each export format on a synthetic clinic: 10,000 patients × 20 photo measurements.

    .venv/bin/python bench/exports.py [--patients 10000] [--per-patient 20] [--out bench/results/exports.md]

The clinic is written with bulk_create into a temporary SQLite database (one treatment, four follow-up
visits, a research consent, 20 photo sessions with one measured photo each — 12 shed-hair photos, 4
trichoscopy, 4 vertex views — a correction on 1 % and an adverse event for 10 % of patients). Each export
then runs in a fresh process, so that its peak resident memory (getrusage ru_maxrss, Django included) is its
own. Photo files are not created: the derived-copy hash is attempted and not found for every photo, so the
time to read real photo files is not included (see the results file).
"""

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = [(fmt, False) for fmt in ("csv", "parquet", "spss", "stata", "fhir")]
RUNS += [(fmt, True) for fmt in ("csv", "parquet", "spss", "stata", "fhir")]


def _django(data_dir: Path) -> None:
    os.environ["TRICHOTRACK_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "trichotrack.web.settings"
    os.environ["SECRET_KEY"] = "bench-" + "k" * 50
    import django

    django.setup()


def build(data_dir: Path, *, patients: int, per_patient: int) -> float:
    """Create the synthetic clinic; returns the seconds it took."""
    started = time.perf_counter()
    _django(data_dir)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from trichotrack.web.clinics.models import Clinic
    from trichotrack.web.consent.models import Consent, ConsentElementAck, ConsentKind
    from trichotrack.web.consent.services import create_default_definitions
    from trichotrack.web.followups.models import SCHEDULE, Visit
    from trichotrack.web.patients.models import Patient
    from trichotrack.web.photos.models import Correction, Measurement, Photo, PhotoSession
    from trichotrack.web.procedures.models import Procedure
    from trichotrack.web.safety.models import AdverseEvent

    call_command("migrate", interactive=False, verbosity=0)
    fields = {f.name for f in Measurement._meta.concrete_fields}
    now = timezone.now()
    batch = 5000
    with transaction.atomic():
        clinic = Clinic.objects.create(name="Bench clinic")
        user = get_user_model().objects.create_user("bench")
        definitions = {d.kind: d for d in create_default_definitions(clinic, valid_from=dt.date(2015, 1, 1))}
        research = definitions[ConsentKind.RESEARCH]
        Patient.objects.bulk_create(
            (
                Patient(
                    pk=i,
                    clinic=clinic,
                    code=f"B-{i:05d}",
                    given_name="Given",
                    family_name=f"Family{i}",
                    date_of_birth=dt.date(1950 + i % 50, 1 + i % 12, 1 + i % 28),
                    sex="FMX"[i % 3],
                    onset_date=dt.date(2024, 1 + i % 12, 1),
                )
                for i in range(1, patients + 1)
            ),
            batch_size=batch,
        )
        harvest = {i: now - dt.timedelta(days=400 - i % 30) for i in range(1, patients + 1)}
        Procedure.objects.bulk_create(
            (
                Procedure(
                    pk=i,
                    clinic=clinic,
                    patient_id=i,
                    harvest_at=harvest[i],
                    injected_at=harvest[i] + dt.timedelta(hours=4),
                    lipoaspirate_ml=100 + i % 50,
                    svf_method="enzymatic" if i % 2 else "mechanical",
                    nucleated_cells=3e7 + i * 1000,
                    viability_pct=70 + i % 25,
                    cd34_pct=20 + i % 10,
                    cd45_pct=30 + i % 20,
                    blood_ml=60,
                    prp_ml=6,
                    baseline_platelets=250,
                    prp_platelets=900 + i % 500,
                    baseline_wbc=6,
                    prp_wbc=1,
                    mixture_prp_ml=6,
                    mixture_ml=8,
                    area_cm2=400,
                )
                for i in range(1, patients + 1)
            ),
            batch_size=batch,
        )
        Visit.objects.bulk_create(
            (
                Visit(
                    patient_id=i,
                    procedure_id=i,
                    kind=kind,
                    due_on=(harvest[i] + dt.timedelta(days=days)).date(),
                    window_start=(harvest[i] + dt.timedelta(days=days - half)).date(),
                    window_end=(harvest[i] + dt.timedelta(days=days + half)).date(),
                    status="done",
                    done_on=(harvest[i] + dt.timedelta(days=days)).date(),
                )
                for i in range(1, patients + 1)
                for kind, days, half in SCHEDULE
            ),
            batch_size=batch,
        )
        Consent.objects.bulk_create(
            (
                Consent(
                    pk=i,
                    patient_id=i,
                    definition=research,
                    given_at=now - dt.timedelta(days=500),
                    signed_name="x",
                    explained_by=user,
                )
                for i in range(1, patients + 1)
            ),
            batch_size=batch,
        )
        ConsentElementAck.objects.bulk_create(
            (
                ConsentElementAck(consent_id=i, code=code, label=label, acknowledged_at=now)
                for i in range(1, patients + 1)
                for code, label in research.elements
            ),
            batch_size=batch,
        )
        # 20 sessions per patient: 4 before the treatment, then every ~3 weeks
        offsets = [-30, -20, -10, -3] + [14 + 21 * k for k in range(per_patient - 4)]
        views = ["shed"] * 12 + ["trichoscopy"] * 4 + ["vertex"] * 4
        PhotoSession.objects.bulk_create(
            (
                PhotoSession(
                    pk=(i - 1) * per_patient + k + 1,
                    patient_id=i,
                    taken_on=(harvest[i] + dt.timedelta(days=offsets[k])).date(),
                )
                for i in range(1, patients + 1)
                for k in range(per_patient)
            ),
            batch_size=batch,
        )
        Photo.objects.bulk_create(
            (
                Photo(
                    pk=(i - 1) * per_patient + k + 1,
                    session_id=(i - 1) * per_patient + k + 1,
                    patient_id=i,
                    view=views[k % len(views)],
                    protocol="comb_60s" if views[k % len(views)] == "shed" else "",
                    original=f"originals/{i}-{k}.jpg",
                    original_sha256="0" * 64,
                    original_format="jpeg",
                    original_bytes=1,
                    derived=f"derived/{i}-{k}.jpg",
                    width_px=4000,
                    height_px=3000,
                )
                for i in range(1, patients + 1)
                for k in range(per_patient)
            ),
            batch_size=batch,
        )

        def measurement(pk, k):
            view = views[k % len(views)]
            values = {
                "pk": pk,
                "photo_id": pk,
                "request_no": 1,
                "algorithm": "bench",
                "version": "1",
                "analysed_width_px": 2000,
                "analysed_height_px": 1500,
                "seconds": 1.0,
                "hair_count": 40 + pk % 60,
                "count_low": 35 + pk % 60,
                "count_high": 46 + pk % 60,
                "countable": True,
                "scale_source": "card",
                "short_hair_fraction": 0.2,
            }
            extra = {
                "kind": {"shed": "shed", "trichoscopy": "trichoscopy"}.get(view, "scalp"),
                "density_per_cm2": 150.0 + pk % 40 if view == "trichoscopy" else None,
                "thin_hair_fraction": 0.2 if view == "trichoscopy" else None,
                "vellus_fraction": 0.05 if view == "trichoscopy" else None,
                "scalp_visible_fraction": 0.3 if view == "vertex" else None,
                "report": {"field_mm2": 20.0} if view == "trichoscopy" else {},
            }
            if view == "vertex":
                values |= {"hair_count": None, "count_low": None, "count_high": None, "countable": None}
            values |= {k: v for k, v in extra.items() if k in fields}
            return Measurement(**values)

        Measurement.objects.bulk_create(
            (
                measurement((i - 1) * per_patient + k + 1, k)
                for i in range(1, patients + 1)
                for k in range(per_patient)
            ),
            batch_size=batch,
        )
        Correction.objects.bulk_create(
            (
                Correction(measurement_id=(i - 1) * per_patient + 5, corrected_count=50, by=user)
                for i in range(1, patients + 1, 100)
            ),
            batch_size=batch,
        )
        AdverseEvent.objects.bulk_create(
            (
                AdverseEvent(
                    patient_id=i,
                    procedure_id=i,
                    term="bruising",
                    grade=1 + i % 3,
                    onset_on=harvest[i].date() + dt.timedelta(days=1),
                    aware_on=harvest[i].date() + dt.timedelta(days=2),
                    expected=True,
                )
                for i in range(1, patients + 1, 10)
            ),
            batch_size=batch,
        )
    return time.perf_counter() - started


_startup_peak_mib = 0.0


def run_one(data_dir: Path, fmt: str, deidentified: bool, out_dir: Path) -> dict:
    """In this (fresh) process: one export; its seconds, peak memory and row counts."""
    global _startup_peak_mib
    _django(data_dir)
    import pandas  # noqa: F401 -- imported by the SPSS/Stata writers; counted in the startup memory
    import pyarrow  # noqa: F401

    _startup_peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    from trichotrack.web.clinics.models import Clinic
    from trichotrack.web.reports import exports

    clinic = Clinic.objects.get(name="Bench clinic")
    calls = []
    started, cpu_started = time.perf_counter(), time.process_time()
    # with a progress callback, as the background job and the CLI run it (the job's row update not included)
    result = exports.write_export(
        clinic, fmt, out_dir, deidentified=deidentified, via="bench", progress=lambda s, f: calls.append(f)
    )
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    baseline_mib = _startup_peak_mib
    size_mib = sum(p.stat().st_size for p in result.files) / 2**20
    return {
        "format": fmt,
        "deidentified": deidentified,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu_seconds, 1),
        "peak_mib": round(peak_mib),
        "startup_mib": round(baseline_mib),
        "size_mib": round(size_mib, 1),
        "patients": result.n_patients,
        "rows": result.rows,
        "progress_calls": len(calls),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--per-patient", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    parser.add_argument("--run", nargs=3, metavar=("DATA_DIR", "FORMAT", "KIND"), help=argparse.SUPPRESS)
    parser.add_argument("--build", nargs=3, metavar=("DATA_DIR", "PATIENTS", "PER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        data_dir, patients, per_patient = args.build
        print(build(Path(data_dir), patients=int(patients), per_patient=int(per_patient)))
        return 0
    if args.run:
        data_dir, fmt, kind = args.run
        with tempfile.TemporaryDirectory() as out:
            print(json.dumps(run_one(Path(data_dir), fmt, kind == "deidentified", Path(out))))
        return 0
    if args.per_patient < 4:
        parser.error("--per-patient must be at least 4")
    with tempfile.TemporaryDirectory(prefix="trichotrack-bench-") as tmp:
        data_dir = Path(tmp)
        (data_dir / "media").mkdir()
        # built in a child process too: on Linux a child inherits its parent's peak RSS (ru_maxrss)
        built = subprocess.run(
            [sys.executable, __file__, "--build", str(data_dir), str(args.patients), str(args.per_patient)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        build_seconds = float(built.stdout.strip().splitlines()[-1])
        print(f"built {args.patients} patients × {args.per_patient} measurements in {build_seconds:.0f} s")
        results = []
        for fmt, deidentified in RUNS:
            kind = "deidentified" if deidentified else "identified"
            done = subprocess.run(
                [sys.executable, __file__, "--run", str(data_dir), fmt, kind],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(result)
            print(
                f"{fmt:8} {kind:13} {result['seconds']:6.1f} s {result['peak_mib']:6d} MiB {result['rows']}"
            )
    table = markdown(results, args)
    if args.out:
        args.out.write_text(table, encoding="utf-8")
    print(table)
    return 0


def markdown(results: list[dict], args) -> str:
    lines = [
        "| format | kind | wall s | CPU s | peak memory (MiB) | start-up (MiB) | files (MiB) | rows |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        kind = "de-identified" if r["deidentified"] else "identified"
        rows = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items())
        lines.append(
            f"| {r['format']} | {kind} | {r['seconds']} | {r.get('cpu_seconds', '')} | {r['peak_mib']} "
            f"| {r['startup_mib']} "
            f"| {r['size_mib']} | {rows} |"
        )
    head = (
        f"{args.patients:,} synthetic patients × {args.per_patient} photo measurements, SQLite; "
        f"{platform.node()} ({os.cpu_count()} CPUs), Python {platform.python_version()}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )
    return head + "\n\n" + "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
