from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=False)
def check_secret_key(app_configs, **kwargs):
    """trichotrack.E001: the development key is never acceptable with DEBUG off."""
    dev_key = getattr(settings, "DEV_SECRET_KEY", None)
    if not settings.DEBUG and settings.SECRET_KEY in ("", None, dev_key):
        return [
            Error(
                "SECRET_KEY is not set.",
                hint="Set the SECRET_KEY environment variable (50+ random characters), or DEBUG=1.",
                id="trichotrack.E001",
            )
        ]
    return []


@register(Tags.security)
def check_demo_password(app_configs, **kwargs):
    """trichotrack.W002: a short demo password on a production setup."""
    pw = getattr(settings, "DEMO_PASSWORD", "")
    if pw and len(pw) < 10 and not settings.DEBUG:
        return [Warning("TRICHOTRACK_DEMO_PASSWORD is shorter than 10 characters.", id="trichotrack.W002")]
    return []
