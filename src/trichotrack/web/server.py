"""The web server of ``trichotrack serve`` and of the load benchmark, so that both measure the same thing:
waitress with THREADS threads, in one process or in several processes that share one listening socket
(the kernel hands each new connection to one of them).

    python -m trichotrack.web.server [--host H] [--port N] [--threads T] [--processes P]

One process runs Python on one core at a time (the GIL); each further process lets the web app use one more
core. ``trichotrack serve`` reads TRICHOTRACK_WEB_PROCESSES (default: one per CPU this process may run on)
and TRICHOTRACK_WEB_THREADS (default 8).
"""

import argparse
import contextlib
import os
import signal
import socket
import sys

THREADS = 8


def web_threads() -> int:
    return max(1, int(os.environ.get("TRICHOTRACK_WEB_THREADS", THREADS)))


def cpu_count() -> int:
    """The CPUs this process may run on (a container's or taskset's limit, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def web_processes() -> int:
    return max(1, int(os.environ.get("TRICHOTRACK_WEB_PROCESSES") or cpu_count()))


def run(application, *, host: str, port: int, threads: int = THREADS, processes: int = 1) -> None:
    """Serve `application` until interrupted (KeyboardInterrupt in the calling process)."""
    import waitress

    if processes <= 1:
        waitress.serve(application, host=host, port=port, threads=threads, ident="trichotrack")
        return
    from django.db import connections

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    connections.close_all()  # never share a database connection across fork()
    children = []
    for _ in range(processes - 1):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the group: the parent stops us
            try:
                waitress.serve(application, sockets=[sock], threads=threads, ident="trichotrack")
            finally:
                os._exit(0)
        children.append(pid)
    try:
        waitress.serve(application, sockets=[sock], threads=threads, ident="trichotrack")
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except OSError:
                pass


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trichotrack.web.server", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=web_threads())
    parser.add_argument("--processes", type=int, default=web_processes())
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trichotrack.web.settings")
    from trichotrack.web.wsgi import application

    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        run(application, host=args.host, port=args.port, threads=args.threads, processes=args.processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
