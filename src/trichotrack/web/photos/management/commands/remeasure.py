import sys

from django.core.management.base import BaseCommand

from trichotrack.web.photos import analysis
from trichotrack.web.photos.models import Photo
from trichotrack.web.photos.services import request_measurement, run_measurement
from trichotrack.web.photos.tasks import REMEASURE_PRIORITY


def progress_bar(done: int, total: int, width: int = 30) -> str:
    filled = width * done // total if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


class Command(BaseCommand):
    help = (
        "Measure photos again after an algorithm change (shed hairs, trichoscopy, global views, each by its "
        "own algorithm): those measured by another version (or never), or --all. Runs here with a progress "
        "bar, or --enqueue for the workers. Stages are estimated again from the new global-view measurements."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="every photo, even if up to date")
        parser.add_argument("--enqueue", action="store_true", help="queue the work for the task workers")

    def handle(self, *args, all=False, enqueue=False, **options):
        installed = analysis.installed_algorithms()
        names = ", ".join(f"{name} {version}" for name, version in installed.values())
        photos = Photo.objects.order_by("pk")
        todo = [p for p in photos if all or _outdated(p, *installed[p.measurement_kind])]
        total = len(todo)
        if not total:
            self.stdout.write(f"All photos are measured by the installed algorithms ({names}).")
            return
        tty = getattr(self.stderr, "isatty", lambda: False)() or sys.stderr.isatty()
        counts = {}
        for done, photo in enumerate(todo, start=1):
            request_no = request_measurement(photo, enqueue=enqueue, priority=REMEASURE_PRIORITY)
            if not enqueue:
                outcome = run_measurement(photo.pk, request_no, worker="remeasure")
                counts[outcome] = counts.get(outcome, 0) + 1
            line = progress_bar(done, total)
            self.stderr.write(f"\r{line}" if tty else line, ending="" if tty else "\n")
        if tty:
            self.stderr.write("")
        if enqueue:
            self.stdout.write(f"{total} photo(s) queued ({names}).")
        else:
            summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            self.stdout.write(f"{total} photo(s) remeasured ({names}): {summary}.")


def _outdated(photo, name, version) -> bool:
    current = photo.current_measurement()
    return current is None or (current.algorithm, current.version) != (name, version)
