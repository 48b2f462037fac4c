"""Entry points for the CLI: ``trichotrack serve [--port N]``, ``trichotrack demo-data`` and
``trichotrack remeasure [--all] [--enqueue]``.

Only these functions set up Django, so that importing trichotrack.web.commands is cheap and the core CLI
never needs Django.
"""

import io
import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

SETTINGS = "trichotrack.web.settings"


def _data_dir() -> Path:
    return Path(os.environ.get("TRICHOTRACK_DATA_DIR", "var")).resolve()


def _secret_key(data_dir: Path) -> str:
    """A random key kept in the data folder, made on first start, so a fresh machine needs no set-up."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _prepare() -> Path:
    """Create the data folder, configure the environment, set up Django and migrate."""
    import django
    from django.core.management import call_command

    data_dir = _data_dir()
    (data_dir / "media").mkdir(parents=True, exist_ok=True)
    os.environ["TRICHOTRACK_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    if not os.environ.get("SECRET_KEY"):
        os.environ["SECRET_KEY"] = _secret_key(data_dir)
    django.setup()
    call_command("check", stdout=io.StringIO())  # raises SystemCheckError on errors
    call_command("migrate", interactive=False, verbosity=0)
    return data_dir


def _print_logins(out=None) -> None:
    from trichotrack.web import demo

    out = out or sys.stdout
    names = ", ".join(f"{u} ({r.label.split(' ')[0].lower()})" for u, r, _ in demo.ACCOUNTS)
    print(f"Demo logins: {names}", file=out)
    if demo.demo_password() == demo.DEFAULT_PASSWORD:
        print(f"Password: {demo.DEFAULT_PASSWORD} (set TRICHOTRACK_DEMO_PASSWORD to choose one)", file=out)
    else:
        print("Password: the value of TRICHOTRACK_DEMO_PASSWORD", file=out)
    from django.conf import settings

    if settings.REQUIRE_MFA:
        print(
            "Clinic staff add an authenticator app (TOTP) at first sign-in. For a quick look, sign in as "
            "researcher (read-only), or start with TRICHOTRACK_REQUIRE_MFA=0.",
            file=out,
        )


def demo_data() -> int:
    """Load the demo clinic (the documented case and synthetic patients) unless it is there. Exit code."""
    _prepare()
    from trichotrack.web import demo

    if demo.is_loaded():
        print("The demo data is already loaded.")
    else:
        demo.load()
        print("Demo data loaded.")
    _print_logins()
    return 0


def remeasure(*, all_photos: bool = False, enqueue: bool = False) -> int:
    """Measure the clinic's shed-hair photos again (after an algorithm change), with a progress bar."""
    _prepare()
    from django.core.management import call_command

    call_command("remeasure", all=all_photos, enqueue=enqueue)
    return 0


WATCHDOG_SECONDS = 60
# The worker `serve` starts (after `python -m django`): every queue, polled every 0.1 s, measurement cores
# preloaded (photos' photo_worker command; bench/photo_latency.py starts the same).
WORKER_ARGS = ("photo_worker", "--queue-name", "*")


def _watchdog_loop(stop: threading.Event, interval: float = WATCHDOG_SECONDS) -> None:
    """Fail tasks stuck in RUNNING (django-tasks-db leaves a killed worker's task RUNNING for ever)."""
    from django.db import connection

    from trichotrack.web.photos.watchdog import fail_stuck_tasks

    while not stop.wait(interval):
        try:
            fail_stuck_tasks()
        except Exception as error:
            print(f"trichotrack: watchdog: {type(error).__name__}: {error}", file=sys.stderr)
        finally:
            connection.close()


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def serve(*, port: int = 8000) -> int:
    """Migrate, load the demo data into an empty database, run a task worker and the web server until
    interrupted. Returns the exit code."""
    if not 0 < port < 65536:
        raise ValueError(f"port must be 1-65535, got {port}")
    host = os.environ.get("TRICHOTRACK_HOST", "127.0.0.1")
    # Plain http on loopback: Secure cookies would never come back from the browser.
    if host in ("127.0.0.1", "localhost", "::1"):
        os.environ.setdefault("TRICHOTRACK_SECURE_COOKIES", "0")
    data_dir = _prepare()
    from trichotrack.web import demo, server
    from trichotrack.web.clinics.models import Clinic
    from trichotrack.web.wsgi import application

    if not Clinic.objects.exists():
        demo.load()
        print("Empty database: demo data loaded.")
    worker = subprocess.Popen([sys.executable, "-m", "django", *WORKER_ARGS], env=os.environ.copy())
    stop_watchdog = threading.Event()
    threading.Thread(target=_watchdog_loop, args=(stop_watchdog,), name="watchdog", daemon=True).start()
    # `kill` and service managers send SIGTERM: stop the same way as Ctrl-C, so the worker is stopped too.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    print(f"trichotrack is running at http://{host}:{port}/ (data in {data_dir}); Ctrl-C stops it.")
    _print_logins()
    sys.stdout.flush()
    try:
        server.run(
            application,
            host=host,
            port=port,
            threads=server.web_threads(),
            processes=server.web_processes(),
        )
    except KeyboardInterrupt:
        pass
    finally:
        stop_watchdog.set()
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    return 0
