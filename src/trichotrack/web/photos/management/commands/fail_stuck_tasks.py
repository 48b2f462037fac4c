from django.core.management.base import BaseCommand

from trichotrack.web.photos.watchdog import fail_stuck_tasks


class Command(BaseCommand):
    help = "Fail background tasks stuck in RUNNING longer than TRICHOTRACK_TASK_STUCK_MINUTES."

    def handle(self, *args, **options):
        failed = fail_stuck_tasks()
        self.stdout.write(f"{len(failed)} stuck task(s) failed." if failed else "No stuck tasks.")
