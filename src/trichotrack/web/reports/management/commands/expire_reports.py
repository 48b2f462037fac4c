"""``python -m django expire_reports``: delete exports and cohort reports past their expiry (24 h).

Every background job already does this before it starts; run this from cron where jobs are rare."""

from django.core.management.base import BaseCommand

from trichotrack.web.reports.jobs import expire_jobs


class Command(BaseCommand):
    help = "Delete the files of finished exports and reports older than their expiry"

    def handle(self, *args, **options):
        n = expire_jobs()
        self.stdout.write(f"{n} expired file{'s' if n != 1 else ''} deleted")
