from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "trichotrack.web.consent"
    label = "consent"
    verbose_name = "Consent"
