"""Test-only settings for the web tests."""


def pytest_configure(config):
    from django.conf import settings

    # Every test class makes five users; the production hasher (PBKDF2, 10⁶ rounds) would spend seconds on
    # each. Tests only need passwords to round-trip.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
