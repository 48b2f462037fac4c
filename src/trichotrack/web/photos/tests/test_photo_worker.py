"""The photo worker that `trichotrack serve` starts: db_worker polling every 0.1 s, cores preloaded."""

import sys

from trichotrack.web import commands
from trichotrack.web.photos import analysis
from trichotrack.web.photos.management.commands import photo_worker


def test_serve_starts_the_photo_worker_on_every_queue():
    assert commands.WORKER_ARGS[0] == "photo_worker"
    assert commands.WORKER_ARGS[1:] == ("--queue-name", "*")


def test_it_polls_every_tenth_of_a_second_unless_told_otherwise():
    parser = photo_worker.Command().create_parser("django", "photo_worker")
    assert parser.parse_args([]).interval == 0.1
    assert parser.parse_args(["--interval", "2"]).interval == 2
    assert parser.parse_args(["--queue-name", "images"]).queue_name == "images"  # db_worker's options kept


def test_warm_up_imports_the_measurement_cores():
    assert set(photo_worker.warm_up()) == set(photo_worker.WARM_MODULES)
    assert "trichotrack.measure.shedding" in sys.modules


def test_overlays_are_jpeg_and_derived_copies_are_plain_jpeg():
    import numpy as np

    image = np.full((40, 60, 3), 200, np.uint8)
    assert analysis.overlay_jpeg(image).startswith(b"\xff\xd8\xff")
    assert analysis.derived_jpeg(image).startswith(b"\xff\xd8\xff")
