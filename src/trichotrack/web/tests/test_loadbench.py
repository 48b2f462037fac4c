"""trichotrack.web.loadbench: the server CPU time it reports per request (the benchmark is not a test)."""

import os
import subprocess
import sys
import time

import pytest

from trichotrack.web.loadbench import server_cpu_seconds

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads Linux /proc")


def test_server_cpu_seconds_counts_the_process_and_its_children():
    # A parent that starts a child burning CPU for half a second, then sleeps while we read both.
    script = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import time\\nend = time.process_time() + 0.5\\nwhile time.process_time() < end: pass\\n"
        "time.sleep(30)'])\n"
        "time.sleep(30)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        before = server_cpu_seconds(parent.pid)
        time.sleep(1.5)
        after = server_cpu_seconds(parent.pid)
        assert before is not None and after is not None
        assert after - before >= 0.3  # the child's busy loop, seen through the parent
    finally:
        with open(f"/proc/{parent.pid}/task/{parent.pid}/children") as f:
            children = [int(pid) for pid in f.read().split()]
        for pid in [parent.pid, *children]:
            os.kill(pid, 9)
        parent.wait()


def test_server_cpu_seconds_of_a_process_that_is_gone_is_none():
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    assert server_cpu_seconds(done.pid) is None


@pytest.mark.django_db
def test_seed_gives_each_patient_page_something_to_show():
    from trichotrack.web.loadbench import seed
    from trichotrack.web.patients.models import Patient

    ids = seed(10, 2, "bench password 0123")
    assert len(ids) == 10
    patients = Patient.objects.filter(pk__in=ids)
    assert all(p.stagings.count() == p.labs.count() == p.medications.count() == 1 for p in patients)
    treated = [p for p in patients if p.procedures.exists()]
    assert len(treated) == 2
    assert all(p.screens.count() == 1 and p.visits.count() == 4 for p in treated)
    assert seed(10, 2, "bench password 0123") == ids  # made once: a second run reuses the clinic
