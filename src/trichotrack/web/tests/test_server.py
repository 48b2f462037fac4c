"""trichotrack.web.server: the server of `trichotrack serve` and of the load benchmark."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time

from trichotrack.web import server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def children_of(pid) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def test_two_processes_share_the_port_and_stop_together(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "TRICHOTRACK_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "s" * 60,
        "DJANGO_SETTINGS_MODULE": "trichotrack.web.settings",
    }
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "trichotrack.web.server", f"--port={port}", "--processes=2", "--threads=2"],
        env=env,
    )
    try:
        for _ in range(100):
            try:
                status, body = get(port, "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        assert (status, body) == (200, b"ok")
        assert len(children_of(server.pid)) == 1  # the second process
        child = children_of(server.pid)[0]
        assert all(get(port, "/healthz")[0] == 200 for _ in range(10))
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
    assert not os.path.exists(f"/proc/{child}")  # stopped and reaped by the first process


def test_serve_runs_one_process_per_cpu_unless_told(monkeypatch):
    monkeypatch.delenv("TRICHOTRACK_WEB_PROCESSES", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert server.cpu_count() == 3
    assert server.web_processes() == 3
    monkeypatch.setenv("TRICHOTRACK_WEB_PROCESSES", "1")
    assert server.web_processes() == 1
    monkeypatch.setenv("TRICHOTRACK_WEB_PROCESSES", "")
    assert server.web_processes() == 3
