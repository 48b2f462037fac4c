"""Test-only settings for the web tests."""

import os

import pytest


def pytest_configure(config):
    from django.conf import settings

    # Every test class makes five users; the production hasher (PBKDF2, 10⁶ rounds) would spend seconds on
    # each. Tests only need passwords to round-trip.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    config.addinivalue_line(
        "markers",
        "postgresql: needs DATABASE_URL to be PostgreSQL (the Makefile's second run of the web tests)",
    )
    _serial_live_server_on_in_memory_sqlite()


def _serial_live_server_on_in_memory_sqlite():
    """Browser tests' live server answers one request at a time when the test database is SQLite in memory.

    That database is one connection, shared by the test and the server's threads. Django's threaded live
    server lets a page's parallel requests (a photo page loads its overlay and previews at once) use it
    together, and SQLite then returns wrong rows ("get() returned more than one Photo") or "bad parameter or
    other API misuse". A served app has a connection per thread and is not affected.
    """
    from django.core.servers.basehttp import WSGIServer
    from django.db import connection
    from django.test.testcases import LiveServerThread

    if connection.vendor != "sqlite":
        return

    class SerialWSGIServer(WSGIServer):
        def __init__(self, *args, connections_override=None, **kwargs):
            super().__init__(*args, **kwargs)

    LiveServerThread.server_class = SerialWSGIServer


def pytest_collection_modifyitems(config, items):
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return
    skip = pytest.mark.skip(reason="needs DATABASE_URL=postgres://… (SKIP LOCKED, several processes)")
    for item in items:
        if "postgresql" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(request, tmp_path_factory):
    """Plain pytest tests store uploaded and generated files (demo photos, PDFs) in a temporary folder, not
    in ./var/media. BaseTestCase classes have their own folder for the class."""
    if request.instance is not None:
        yield
        return
    from django.test import override_settings

    with override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media"))):
        yield
