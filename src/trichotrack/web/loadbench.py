"""Load benchmark on loopback (not a test): N signed-in users load the dashboard, the patient list and
patient pages of a clinic with many patients; prints p50/p95/max per page as a Markdown table.

    python -m trichotrack.web.loadbench [--patients 500] [--users 20] [--rounds 20] [--database-url URL]
                                        [--threads 8] [--processes P] [--think-ms 0]

What is measured: N users (threads of this process, one keep-alive HTTP connection each) sign in through the
login form on 127.0.0.1, load each of the three pages once untimed (each server thread's first page fills
Django's caches), wait for one another, then each loads dashboard, patient list (the first page of 100 of
the clinic's patients) and a random patient's page, --rounds times; p50/p95/max are over those timed
requests. With the default --think-ms 0 each user asks for the next page as soon as the last one arrived (a
closed loop, the hardest case): the latency is mostly time spent queueing for the CPU, not the time one
page takes, and its mean is users ÷ throughput (printed): p95 under 200 ms for 20 users needs well over
100 pages a second from the machine, load generator included. --think-ms T adds an exponential pause of
mean T ms between pages (an easier, more realistic load); report it beside the closed loop, never instead
of it. Use the default 20 rounds for numbers to keep (400 requests a page; with 3 rounds a p95 rests on
the slowest three of 60).

It also prints the server's CPU time per request (Linux: /proc of the web server process and its children;
PostgreSQL's own processes not counted): it moves less than the latencies when other work shares the
machine, which helps to compare two versions run one after the other on a busy machine.

It makes its own data folder (or database, for PostgreSQL) and a clinic of synthetic patients (each with a
staging, a lab result and a medication; a fifth treated, with a screen and follow-up visits), runs the app
with the server of ``trichotrack serve`` (trichotrack.web.server: waitress, 8 threads, one process per CPU
unless told otherwise) in a subprocess, and signs in through the login form.
"""

import argparse
import collections
import datetime as dt
import http.client
import os
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from trichotrack.web.server import web_processes

PAGES = ["dashboard", "patient list", "patient page"]


def _create_postgres_database(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(n_patients: int, n_users: int, password: str) -> list[int]:
    """The bench clinic (made once): users bench0…, the patients, a fifth of them with a procedure."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from trichotrack.web.clinics.models import Clinic, Membership, Role
    from trichotrack.web.followups.services import schedule_visits
    from trichotrack.web.patients.models import (
        ContraindicationScreen,
        LabResult,
        Medication,
        MedicationCategory,
        Patient,
        Staging,
    )
    from trichotrack.web.procedures.models import Procedure

    clinic, created = Clinic.objects.get_or_create(name="Bench clinic")
    if created:
        rng = random.Random(0)
        Patient.objects.bulk_create(
            Patient(
                clinic=clinic,
                code=f"B-{i:05d}",
                given_name=f"Given{i}",
                family_name=f"Family{i}",
                date_of_birth=dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 28),
                sex=rng.choice("FM"),
            )
            for i in range(n_patients)
        )
        patients = list(Patient.objects.filter(clinic=clinic))
        today = timezone.localdate()
        # The sections of a patient page are not empty: a staging, a lab result and a medication each.
        Staging.objects.bulk_create(
            Staging(patient=p, assessed_on=today - dt.timedelta(days=500), scale="ludwig", grade="I")
            for p in patients
        )
        LabResult.objects.bulk_create(
            LabResult(patient=p, taken_on=today - dt.timedelta(days=500), ferritin_ug_l=40, tsh_mu_l=1.8)
            for p in patients
        )
        Medication.objects.bulk_create(
            Medication(patient=p, name="Minoxidil 5%", category=MedicationCategory.HAIR_LOSS)
            for p in patients
        )
        for patient in patients[: n_patients // 5]:
            when = timezone.now() - dt.timedelta(days=rng.randint(1, 400))
            ContraindicationScreen.objects.create(
                patient=patient, planned_on=timezone.localdate(when), height_cm=168, weight_kg=64
            )
            procedure = Procedure.objects.create(
                clinic=clinic, patient=patient, harvest_at=when, svf_method="enzymatic"
            )
            schedule_visits(procedure)
    User = get_user_model()
    for i in range(n_users):
        if not User.objects.filter(username=f"bench{i}").exists():
            user = User.objects.create_user(f"bench{i}", password=password)
            Membership.objects.create(user=user, clinic=clinic, role=Role.CLINICIAN)
    return list(Patient.objects.filter(clinic=clinic).values_list("pk", flat=True))


class Client:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def login(self, username, password):
        self.request("GET", "/accounts/login/")
        body = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": self.cookies["csrftoken"]}
        )
        status, _ = self.request(
            "POST",
            "/accounts/login/",
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": "http://127.0.0.1/accounts/login/",
            },
        )
        if status != 302:
            raise RuntimeError(f"login of {username} failed: {status}")


def server_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) used so far by the server process and its live children (Linux /proc), so
    that a run can say what one page costs the server whatever else shares the machine; None elsewhere."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids = [pid, *map(int, f.read().split())]
        total = 0
        for p in pids:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


def run(args, command: str = "") -> str:
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="trichotrack-bench-")
    os.environ["TRICHOTRACK_DATA_DIR"] = data_dir
    os.environ["TRICHOTRACK_REQUIRE_MFA"] = "0"  # measure the app, not the second-factor step
    os.environ["TRICHOTRACK_SECURE_COOKIES"] = "0"
    os.environ["TRICHOTRACK_LOGIN_FAILURES"] = "1000"
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        _create_postgres_database(args.database_url)
    else:
        os.environ.pop("DATABASE_URL", None)
    from trichotrack.web.commands import _prepare

    load_before = os.getloadavg()[0]
    _prepare()
    password = "bench password 0123"
    patient_ids = seed(args.patients, args.users, password)
    if args.database_url:
        # PostgreSQL's autovacuum gathers planner statistics within a minute or so of a bulk load; the bench
        # starts at once, so do it here. Without statistics the planner guessed one row per table and the
        # dashboard's visit count joined 254 × 52 rows (4.6 ms instead of 0.3 ms).
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trichotrack.web.server",
            f"--port={args.port}",
            f"--threads={args.threads}",
            f"--processes={args.processes}",
        ],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        times: dict[str, list[float]] = {page: [] for page in PAGES}
        errors = []
        lock = threading.Lock()

        # Everyone signs in first (a password hash is slow on purpose), then the timed loop starts together.
        def start_clock():
            clock.append(time.perf_counter())
            cpu.append((server_cpu_seconds(server.pid), time.process_time()))

        started = threading.Barrier(args.users, action=start_clock)
        clock: list[float] = []
        cpu: list[tuple[float | None, float]] = []

        def user(i):
            client = Client(args.port)
            rng = random.Random(i)

            def round_paths():
                return [
                    ("dashboard", "/dashboard/"),
                    ("patient list", "/patients/"),
                    ("patient page", f"/patients/{rng.choice(patient_ids)}/"),
                ]

            try:
                client.login(f"bench{i}", password)
                for _, path in round_paths():  # untimed warm-up round
                    client.request("GET", path)
            finally:
                started.wait()
            for _ in range(args.rounds):
                for page, path in round_paths():
                    start = time.perf_counter()
                    status, body = client.request("GET", path)
                    elapsed = time.perf_counter() - start
                    with lock:
                        times[page].append(elapsed)
                        if status != 200 or not re.search(rb"</html>", body):
                            errors.append((page, status))
                    if args.think_ms:
                        time.sleep(rng.expovariate(1000 / args.think_ms))

        threads = [threading.Thread(target=user, args=(i,)) for i in range(args.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - clock[0]
        cpu.append((server_cpu_seconds(server.pid), time.process_time()))
    finally:
        server.terminate()
        server.wait(timeout=10)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    n_requests = sum(map(len, times.values()))
    (server_before, client_before), (server_after, client_after) = cpu
    server_ms = (
        f"{1000 * (server_after - server_before) / n_requests:.1f} ms"
        if server_before is not None and server_after is not None
        else "unknown"
    )
    loop = "closed loop, no think time" if not args.think_ms else f"mean think time {args.think_ms} ms"
    lines = [
        f"Command: {command}",
        f"{backend}: {args.users} signed-in users on 127.0.0.1 × {args.rounds} rounds ({loop}), "
        f"{args.patients} patients, server {args.processes} process(es) × {args.threads} threads, "
        f"{n_requests} requests in {wall:.1f} s ({n_requests / wall:.0f}/s), {len(errors)} errors",
        f"CPU per request: server {server_ms}, "
        f"load generator {1000 * (client_after - client_before) / n_requests:.1f} ms; "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after",
        # Little's law: in a closed loop the mean time per request (think time included) is fixed by the
        # throughput, so a latency target is a throughput target: the CPU per request must shrink.
        f"Little's law: {args.users} users ÷ {n_requests / wall:.0f} requests/s = "
        f"{1000 * args.users * wall / n_requests:.0f} ms per request, think time included",
        "",
        *([f"Errors (page, status): {dict(collections.Counter(errors))}", ""] if errors else []),
        "| page | n | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|",
    ]
    for page in PAGES:
        ms = sorted(t * 1000 for t in times[page])
        p95 = statistics.quantiles(ms, n=20, method="inclusive")[18]
        lines.append(f"| {page} | {len(ms)} | {statistics.median(ms):.0f} | {p95:.0f} | {ms[-1]:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trichotrack.web.loadbench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads per server process")
    parser.add_argument(
        "--processes",
        type=int,
        default=web_processes(),
        help="server processes sharing the socket (default: as trichotrack serve, one per CPU)",
    )
    parser.add_argument(
        "--think-ms",
        type=int,
        default=0,
        help="mean pause of a user between pages (exponential; default 0: a closed loop, no pause)",
    )
    parser.add_argument("--database-url", help="PostgreSQL URL of a bench database (made if missing)")
    parser.add_argument("--data-dir", help="data folder (default: a new temporary one)")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "-m", "trichotrack.web.loadbench", *argv])
    print(run(args, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
