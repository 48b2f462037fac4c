from django.tasks import task


@task(queue_name="images", takes_context=True)
def measure_photo(context, photo_id: int, request_no: int) -> str:
    """Measure a shed-hair photo for one measurement request (idempotent: a request is measured once).

    Arguments are primary keys; the photo row is locked while measuring, so duplicates of this task, on any
    number of workers, wait and then find the measurement already made.
    """
    from .services import run_measurement

    workers = context.task_result.worker_ids
    return run_measurement(photo_id, request_no, worker=workers[-1] if workers else "")
