from django.tasks import task

#: Someone is waiting for an uploaded photo's measurement (issue 4: visible within 5 s): a worker takes it
#: before queued tasks of the default priority (0: consent PDFs, report jobs), whenever they were queued.
UPLOAD_PRIORITY = 10
#: `remeasure --enqueue` (every photo after an algorithm change) queues below everything else, so that new
#: uploads never wait behind it.
REMEASURE_PRIORITY = -10


@task(queue_name="images", takes_context=True, priority=UPLOAD_PRIORITY)
def measure_photo(context, photo_id: int, request_no: int) -> str:
    """Measure a shed-hair photo for one measurement request (idempotent: a request is measured once).

    Arguments are primary keys; the photo row is locked while measuring, so duplicates of this task, on any
    number of workers, wait and then find the measurement already made.
    """
    from .services import run_measurement

    workers = context.task_result.worker_ids
    return run_measurement(photo_id, request_no, worker=workers[-1] if workers else "")
