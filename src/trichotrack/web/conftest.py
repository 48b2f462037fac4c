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
