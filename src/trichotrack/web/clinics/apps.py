from django.apps import AppConfig


class ClinicsConfig(AppConfig):
    name = "trichotrack.web.clinics"
    label = "clinics"
    verbose_name = "Clinics and roles"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
