"""Upload → measurement visible, end to end, with one real task worker on a temporary SQLite database.

    .venv/bin/python bench/photo_latency.py [--runs 3] [--poll 0.4] [--kinds shed,card,trichoscopy,global]
        [--out bench/results/photo_latency.md]

Photos (synthetic, JPEG q92): ``shed`` a 12-MP shed-hair photo on a random surface (seed 3: the photo of
the earlier runs), ``card`` the same on the calibration card, ``trichoscopy`` a 3-MP trichoscopy image
(with the device's field width), ``global`` a 12-MP vertex view. Each is uploaded through Django's test
client as a signed-in clinician, to the session upload view (all the upload checks, the original and the
derived copy stored). The worker is started as `trichotrack serve` starts it (`commands.WORKER_ARGS`). The
bench then polls the photo's status every `--poll` seconds, like the photo page (trichotrack/photos.js),
and once the numbers are stored fetches the page, as the page's reload does: that instant is "numbers
visible" (the target's measure); it then polls on until the overlay, drawn after the numbers, is stored
and fetches it: "overlay visible". Times per run: the upload request, the queue pickup (task enqueued →
started, from django-tasks-db's row), the worker's time to the numbers (started → measurement row
created), the core's measurement alone (Measurement.seconds), the overlay (numbers → task finished:
drawing, encoding, storing), and the two totals. On a shared machine the numbers are upper bounds.
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


KINDS = ("shed", "card", "trichoscopy", "global")
TRICHOSCOPY_MM_PER_PX = 0.0028  # a 70× device: 2048 px ≈ 5.7 mm


def _jpeg(image) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _photo_bytes(kind: str, seed: int) -> bytes:
    if kind in ("shed", "card"):
        from trichotrack.synth.shedding import shed_photo

        background = "card" if kind == "card" else None
        return _jpeg(shed_photo(seed, shape=(3000, 4000), background=background).image)
    if kind == "trichoscopy":
        from trichotrack.synth.trichoscopy import trichoscopy_image

        return _jpeg(trichoscopy_image(seed, shape=(1536, 2048), mm_per_px=TRICHOSCOPY_MM_PER_PX).image)
    import cv2

    from trichotrack.synth.scalp import render_head

    head = render_head(seed, view="top", shape=(480, 480), norwood_stage=4, jpeg_quality=None).image
    return _jpeg(cv2.resize(head, (4032, 3024), interpolation=cv2.INTER_CUBIC))


def _form(kind: str) -> dict:
    if kind in ("shed", "card"):
        return {"view": "shed", "protocol": "wash"}
    if kind == "trichoscopy":
        return {
            "view": "trichoscopy",
            "site": "vertex",
            "site_x": 100,
            "site_y": 120,
            "field_width_mm": round(2048 * TRICHOSCOPY_MM_PER_PX, 3),
        }
    return {"view": "vertex"}


def _one_run(client, session, kind: str, data: bytes, *, poll: float, timeout: float) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse
    from django_tasks_db.models import DBTaskResult

    from trichotrack.web.photos.models import Photo

    before = set(Photo.objects.values_list("pk", flat=True))
    started = time.perf_counter()
    response = client.post(
        reverse("photos:upload", args=[session.pk]),
        {**_form(kind), "files": SimpleUploadedFile("photo.jpg", data, "image/jpeg")},
    )
    upload_s = time.perf_counter() - started
    if response.status_code != 302:
        raise SystemExit(f"upload answered {response.status_code}")
    new = set(Photo.objects.values_list("pk", flat=True)) - before
    if len(new) != 1:
        raise SystemExit(f"upload of a {kind} photo stored {len(new)} photos: {response.cookies}")
    (photo_id,) = new
    status_url = reverse("photos:status", args=[photo_id])

    def wait(done, what):
        while time.perf_counter() - started < timeout:
            time.sleep(poll)
            status = client.get(status_url).json()
            if done(status):
                return status
        raise SystemExit(f"photo {photo_id}: {what} not within {timeout} s")

    status = wait(lambda s: s["finished"], "numbers")
    page = client.get(reverse("photos:detail", args=[photo_id]))
    numbers_s = time.perf_counter() - started
    if page.status_code != 200 or status["status"] != "done":
        raise SystemExit(f"photo {photo_id}: {status}, page {page.status_code}")
    if status["overlay"] == "drawing":
        status = wait(lambda s: s["overlay"] != "drawing", "overlay")
    overlay = client.get(reverse("photos:image", args=[photo_id, "overlay"]))
    overlay_s = time.perf_counter() - started
    if overlay.status_code != 200:
        raise SystemExit(f"photo {photo_id}: overlay {overlay.status_code}, {status}")
    photo = Photo.objects.get(pk=photo_id)
    m = photo.current_measurement()
    task = DBTaskResult.objects.filter(task_path__endswith="measure_photo").order_by("-enqueued_at").first()
    return {
        "photo": photo_id,
        "upload_s": upload_s,
        "pickup_s": (task.started_at - task.enqueued_at).total_seconds(),
        "to_numbers_s": (m.created_at - task.started_at).total_seconds(),
        "core_s": m.seconds,
        "overlay_task_s": (task.finished_at - m.created_at).total_seconds(),
        "numbers_s": numbers_s,
        "overlay_s": overlay_s,
        "result": m.hair_count if m.hair_count is not None else f"{m.scalp_visible_fraction:.0%} scalp",
        "overlay": f"{len(overlay.content) / 1e6:.1f} MB",
    }


def _steps(kind: str, data: bytes, *, repeat: int) -> dict[str, float]:
    """Each step of the upload request and of the worker, timed here in-process (best of `repeat`, s)."""
    import hashlib

    from trichotrack.measure.io import read_image
    from trichotrack.web.photos import analysis

    times: dict[str, list[float]] = {}

    def timed(name, fn, *a, **k):
        started = time.perf_counter()
        value = fn(*a, **k)
        times.setdefault(name, []).append(time.perf_counter() - started)
        return value

    for _ in range(repeat):
        checked = timed(
            "upload: checks and decoding",
            analysis.check_upload,
            "photo",
            data,
            max_bytes=80 << 20,
            max_pixels=64_000_000,
        )
        derived = timed("upload: derived copy (metadata stripped)", analysis.derived_copy, checked)
        timed("upload: derived copy if re-encoded", analysis.derived_jpeg, checked.image)
        timed("upload: SHA-256 of both", lambda d=derived: (hashlib.sha256(data), hashlib.sha256(d)))
        timed("upload: quality measures", analysis.quality_measures, checked.image)
        timed("worker: decode (full size)", read_image, data)
        if kind in ("shed", "card"):
            from trichotrack.measure import card

            image = read_image(data)
            found = timed("worker: card detection", card.detect_card, image)
            if found.found:
                timed("worker: card rectification", card.rectify, image, found)
            result = timed(
                "worker: measurement (decode, card, analysis, report)", analysis.measure_shed_photo, data
            )
        elif kind == "trichoscopy":
            result = timed(
                "worker: measurement (decode, analysis, report)",
                analysis.measure_trichoscopy_photo,
                data,
                mm_per_px=TRICHOSCOPY_MM_PER_PX,
            )
        else:
            result = timed(
                "worker: measurement (reduced decode, analysis, report)",
                analysis.measure_global_photo,
                data,
                view="top",
            )
        picture = timed("worker: overlay drawing", result.draw)
        timed("worker: overlay JPEG encoding", analysis.overlay_jpeg, picture)
    return {name: min(values) for name, values in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="uploads per kind")
    parser.add_argument("--poll", type=float, default=0.4, help="status poll interval, s (photos.js: 0.4)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--kinds", default="shed", help=f"comma separated, of {', '.join(KINDS)}")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=4.0, help="s to let the worker start before run 1")
    parser.add_argument("--worker-args", default="", help="instead of commands.WORKER_ARGS (space separated)")
    parser.add_argument("--out", type=Path, help="append the markdown table here")
    parser.add_argument("--note", default="", help="a line for the results file")
    parser.add_argument(
        "--steps", type=int, default=0, metavar="N", help="instead: time each step in-process, best of N"
    )
    parser.add_argument("--heic", action="store_true", help="with --steps: the photos as HEIC too")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or set(kinds) - set(KINDS):
        parser.error(f"--kinds: choose from {', '.join(KINDS)}")

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.steps:
        return _print_steps(args, kinds, load_before)
    with tempfile.TemporaryDirectory(prefix="photo-latency-") as tmp:
        data_dir = Path(tmp)
        _setup(data_dir)
        from django.test import Client

        from trichotrack.web import commands

        user, session = _clinic()
        photos = {kind: _photo_bytes(kind, args.seed) for kind in kinds}
        worker_args = args.worker_args.split() if args.worker_args else list(commands.WORKER_ARGS)
        worker = subprocess.Popen([sys.executable, "-m", "django", *worker_args], env=os.environ.copy())
        try:
            time.sleep(args.settle)
            client = Client()
            client.force_login(user)
            rows = [
                (kind, _one_run(client, session, kind, photos[kind], poll=args.poll, timeout=args.timeout))
                for kind in kinds
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
    sizes = ", ".join(f"{kind} {len(photos[kind]) / 1e6:.1f} MB" for kind in kinds)
    lines = [
        f"Machine: {cpu}; Python {platform.python_version()}; load average (1, 5, 15 min) {load_before} "
        f"at the start, {load} at the end.",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Worker: `python -m django {' '.join(worker_args)}`.",
        f"Photos (seed {args.seed}, JPEG q92): {sizes}; status polled every {args.poll} s.",
        "",
        "| kind | run | upload request s | queue pickup s | worker to numbers s | core s "
        "| **numbers visible s** | overlay drawn+stored s | overlay visible s | result | overlay |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, (kind, r) in enumerate(rows, 1):
        lines.append(
            f"| {kind} | {i} | {r['upload_s']:.2f} | {r['pickup_s']:.2f} | {r['to_numbers_s']:.2f} "
            f"| {r['core_s']:.2f} | **{r['numbers_s']:.2f}** | {r['overlay_task_s']:.2f} "
            f"| {r['overlay_s']:.2f} | {r['result']} | {r['overlay']} |"
        )
    lines.append("")
    for kind in kinds:
        numbers = [r["numbers_s"] for k, r in rows if k == kind]
        overlays = [r["overlay_s"] for k, r in rows if k == kind]
        lines.append(
            f"{kind}: numbers visible after median {statistics.median(numbers):.2f} s, "
            f"worst {max(numbers):.2f} s (target 5 s); "
            f"overlay after median {statistics.median(overlays):.2f} s."
        )
    if args.note:
        lines += ["", args.note]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with args.out.open("a") as f:
            f.write("\n" + text)
    return 0


def _heic(data: bytes) -> bytes:
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buffer, format="HEIF", quality=80)
    return buffer.getvalue()


def _print_steps(args, kinds, load_before: str) -> int:
    with tempfile.TemporaryDirectory(prefix="photo-latency-") as tmp:
        _setup(Path(tmp))
        photos = [(kind, _photo_bytes(kind, args.seed)) for kind in kinds]
        if args.heic:
            photos += [(kind, _heic(data)) for kind, data in list(photos)]
        columns = [(kind, _steps(kind, data, repeat=args.steps)) for kind, data in photos]
    names = list(dict.fromkeys(name for _, times in columns for name in times))
    heads = [f"{kind} {'HEIC' if i >= len(kinds) else 'JPEG'}" for i, (kind, _) in enumerate(columns)]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"Steps in-process, best of {args.steps}, s ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average "
        f"{load_before} at the start, {load} at the end):",
        "",
        "| step | " + " | ".join(heads) + " |",
        "|---|" + "---|" * len(heads),
    ]
    for name in names:
        cells = [f"{times[name]:.3f}" if name in times else "" for _, times in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with args.out.open("a") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
