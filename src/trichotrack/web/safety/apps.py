from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "trichotrack.web.safety"
    label = "safety"
    verbose_name = "Adverse events"
