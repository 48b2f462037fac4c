import importlib.util

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_photo_storage(app_configs, **kwargs):
    """trichotrack.E020: S3 storage configured but django-storages (with boto3) is not installed."""
    if getattr(settings, "S3_BUCKET", "") and not (
        importlib.util.find_spec("storages") and importlib.util.find_spec("boto3")
    ):
        return [
            Error(
                "TRICHOTRACK_S3_BUCKET is set but django-storages is not installed.",
                hint='pip install "django-storages[s3]", or unset TRICHOTRACK_S3_BUCKET to keep files in the '
                "data folder.",
                id="trichotrack.E020",
            )
        ]
    return []
