"""``python -m django photo_worker``: django-tasks-db's ``db_worker``, ready for photos.

Two differences, both for the time from upload to a visible measurement (bench/photo_latency.py):

- the queue is polled every 0.1 s when idle instead of db_worker's 1 s (``--interval`` still overrides): a
  photo waits 0.05 s on average for the worker instead of 0.5 s; a poll is one indexed query (about a
  millisecond of CPU, so about 1 % of one core while idle);
- the measurement cores (NumPy, SciPy, OpenCV, scikit-image) are imported before the first task instead of
  inside it, which took about 1 s of the first photo's measurement.

Every other option is db_worker's.
"""

import importlib

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

POLL_SECONDS = 0.1
WARM_MODULES = (
    "trichotrack.cli",
    "trichotrack.measure.photo",
    "trichotrack.measure.shedding",
    "trichotrack.measure.scalp",
    "trichotrack.measure.trichoscopy",
    "trichotrack.web.photos.tasks",
    "trichotrack.web.photos.services",
    "trichotrack.web.reports.tasks",
)


def warm_up() -> list[str]:
    """Import the measurement modules now; returns the names imported (a missing one is skipped)."""
    done = []
    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        done.append(name)
    return done


class Command(DbWorkerCommand):
    help = "Run a task worker for photos (db_worker, polling every 0.1 s, measurement cores preloaded)"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(interval=POLL_SECONDS)

    def handle(self, *args, **options):
        warm_up()
        return super().handle(*args, **options)
