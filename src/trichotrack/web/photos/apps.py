from django.apps import AppConfig


class PhotosConfig(AppConfig):
    name = "trichotrack.web.photos"
    label = "photos"
    verbose_name = "Photos and measurements"

    def ready(self):
        from . import checks  # noqa: F401  (registers the storage system check)
