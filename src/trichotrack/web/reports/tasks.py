from django.tasks import task

#: The queue of exports and cohort reports: the default one, read by `trichotrack serve`'s worker (every
#: queue) and by a plain ``db_worker``; tests check that it is one of settings.TASKS' queues.
QUEUE = "default"


@task(queue_name=QUEUE)
def build_report_job(job_id: int) -> str:
    """Make the file of a `ReportJob` (idempotent: a job that is not queued any more is left alone)."""
    from .jobs import run_job

    return run_job(job_id)
