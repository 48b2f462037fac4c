"""Upload → measurement visible, end to end, with one real task worker on a temporary SQLite database.

    .venv/bin/python bench/photo_latency.py [--runs 3] [--poll 0.5] [--out bench/results/photo_latency.md]

A 12-MP synthetic shed-hair photo (trichotrack.synth.shedding, JPEG q92) is uploaded through Django's test
client as a signed-in clinician, to the session upload view (all the upload checks, the original and the
derived copy stored). The worker is started as `trichotrack serve` starts it (`commands.WORKER_ARGS`). The
bench then polls the photo's status every `--poll` seconds, like the photo page (trichotrack/photos.js),
and once it is finished fetches the page and the overlay, as the page's reload does: that instant is
"visible". Times per run: the upload request, the queue pickup (task enqueued → started, from
django-tasks-db's row), the task in the worker (started → finished), the core's measurement alone
(Measurement.seconds), and the total. On a shared machine the numbers are upper bounds.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup(data_dir: Path) -> None:
    os.environ.update(
        {
            "TRICHOTRACK_DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": "trichotrack.web.settings",
            "SECRET_KEY": "bench-only-" + "x" * 40,
            "TRICHOTRACK_REQUIRE_MFA": "0",
            "TRICHOTRACK_SECURE_COOKIES": "0",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("TRICHOTRACK_S3_BUCKET", None)
    (data_dir / "media").mkdir(parents=True, exist_ok=True)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def _clinic():
    import datetime as dt

    from django.utils import timezone

    from trichotrack.web.clinics.models import Clinic, Role
    from trichotrack.web.consent.models import ConsentKind
    from trichotrack.web.consent.services import create_default_definitions, give_consent
    from trichotrack.web.photos import services
    from trichotrack.web.test import make_patient, make_user

    clinic = Clinic.objects.create(name="Bench clinic", country="US", region="CA")
    user = make_user("bench", clinic, Role.CLINICIAN)
    definitions = {d.kind: d for d in create_default_definitions(clinic, valid_from=dt.date(2015, 1, 1))}
    patient = make_patient(clinic, "B-001")
    definition = definitions[ConsentKind.PHOTO_CLINICAL]
    give_consent(
        patient,
        definition,
        user=user,
        signed_name=patient.full_name,
        acknowledged=[code for code, _ in definition.elements],
        given_at=timezone.now() - dt.timedelta(days=1),
    )
    session = services.new_session(patient, user=user)
    return user, session


def _photo_bytes(seed: int) -> bytes:
    from PIL import Image

    from trichotrack.synth.shedding import shed_photo

    image = shed_photo(seed, shape=(3000, 4000)).image
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _one_run(client, session, data: bytes, *, poll: float, timeout: float) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse
    from django_tasks_db.models import DBTaskResult

    from trichotrack.web.photos.models import Photo

    before = set(Photo.objects.values_list("pk", flat=True))
    started = time.perf_counter()
    response = client.post(
        reverse("photos:upload", args=[session.pk]),
        {"view": "shed", "protocol": "wash", "files": SimpleUploadedFile("shed.jpg", data, "image/jpeg")},
    )
    upload_s = time.perf_counter() - started
    if response.status_code != 302:
        raise SystemExit(f"upload answered {response.status_code}")
    (photo_id,) = set(Photo.objects.values_list("pk", flat=True)) - before
    status = {}
    while time.perf_counter() - started < timeout:
        time.sleep(poll)
        status = client.get(reverse("photos:status", args=[photo_id])).json()
        if status["finished"]:
            break
    else:
        raise SystemExit(f"photo {photo_id} not measured within {timeout} s: {status}")
    page = client.get(reverse("photos:detail", args=[photo_id]))
    overlay = client.get(reverse("photos:image", args=[photo_id, "overlay"]))
    visible_s = time.perf_counter() - started
    if page.status_code != 200 or overlay.status_code != 200 or status["status"] != "done":
        raise SystemExit(
            f"photo {photo_id}: {status}, page {page.status_code}, overlay {overlay.status_code}"
        )
    photo = Photo.objects.get(pk=photo_id)
    m = photo.current_measurement()
    task = DBTaskResult.objects.filter(task_path__endswith="measure_photo").order_by("-enqueued_at").first()
    return {
        "photo": photo_id,
        "upload_s": upload_s,
        "pickup_s": (task.started_at - task.enqueued_at).total_seconds(),
        "task_s": (task.finished_at - task.started_at).total_seconds(),
        "core_s": m.seconds,
        "visible_s": visible_s,
        "hairs": m.hair_count,
        "overlay": f"{overlay['Content-Type']}, {len(overlay.content) / 1e6:.1f} MB",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--poll", type=float, default=0.5, help="status poll interval, s (photos.js: 0.5)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=4.0, help="s to let the worker start before run 1")
    parser.add_argument("--worker-args", default="", help="instead of commands.WORKER_ARGS (space separated)")
    parser.add_argument("--out", type=Path, help="write the markdown table here")
    parser.add_argument("--note", default="", help="a line for the results file")
    args = parser.parse_args(argv)

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="photo-latency-") as tmp:
        data_dir = Path(tmp)
        _setup(data_dir)
        from django.test import Client

        from trichotrack.web import commands

        user, session = _clinic()
        data = _photo_bytes(args.seed)
        worker_args = args.worker_args.split() if args.worker_args else list(commands.WORKER_ARGS)
        worker = subprocess.Popen([sys.executable, "-m", "django", *worker_args], env=os.environ.copy())
        try:
            time.sleep(args.settle)
            client = Client()
            client.force_login(user)
            rows = [
                _one_run(client, session, data, poll=args.poll, timeout=args.timeout)
                for _ in range(args.runs)
            ]
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        cpu = f"{model}, {os.cpu_count()} cores"
    except (OSError, StopIteration):
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    load = f"{load_before} at the start, {load}"
    lines = [
        f"Machine: {cpu}; Python {platform.python_version()}; load average (1, 5, 15 min) {load} at the end.",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Worker: `python -m django {' '.join(worker_args)}`.",
        f"Photo: 12 MP synthetic shed photo (seed {args.seed}), JPEG {len(data) / 1e6:.1f} MB; status polled "
        f"every {args.poll} s.",
        "",
        "| run | upload request s | queue pickup s | task in worker s | core measurement s | visible after s "
        "| of which not the core s | hairs | overlay |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(rows, 1):
        lines.append(
            f"| {i} | {r['upload_s']:.2f} | {r['pickup_s']:.2f} | {r['task_s']:.2f} | {r['core_s']:.2f} "
            f"| **{r['visible_s']:.2f}** | {r['visible_s'] - r['core_s']:.2f} "
            f"| {r['hairs']} | {r['overlay']} |"
        )
    visible = [r["visible_s"] for r in rows]
    lines.append("")
    lines.append(
        f"Median visible after {statistics.median(visible):.2f} s, worst {max(visible):.2f} s (target 5 s)."
    )
    if args.note:
        lines += ["", args.note]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with args.out.open("a") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
