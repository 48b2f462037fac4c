"""The watchdog for django-tasks-db's known gap: a worker killed mid-task leaves its task RUNNING for ever.

`fail_stuck_tasks` marks every task RUNNING longer than TASK_STUCK_MINUTES as FAILED (with a reason), and a
photo whose measurement was that task as failed, so the page stops waiting and offers "Measure again".
Run by `trichotrack serve` every minute, or by cron/systemd with ``python -m django fail_stuck_tasks``.
"""

from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from trichotrack.web import audit

from .services import mark_failed, stuck_before

REASON = "stopped by the watchdog: RUNNING for longer than the limit (the worker probably died)"


class StuckTask(Exception):
    """Recorded as the failure of a task the watchdog stopped."""


def fail_stuck_tasks(now=None) -> list[str]:
    """Fail the tasks stuck in RUNNING; returns their ids."""
    now = now or timezone.now()
    failed = []
    with transaction.atomic():
        stuck = (
            DBTaskResult.objects.running()
            .filter(started_at__lt=stuck_before(now))
            .select_for_update(skip_locked=True)
        )
        for result in stuck:
            result.set_failed(StuckTask(REASON))
            failed.append(str(result.id))
            if result.task_path.endswith(".measure_photo"):
                args = result.args_kwargs.get("args", [])
                if args:
                    mark_failed(int(args[0]), "The measurement stopped (its worker died); measure it again.")
            audit.record(
                None, "task.failed_stuck", None, data={"task": str(result.id), "path": result.task_path}
            )
    return failed
