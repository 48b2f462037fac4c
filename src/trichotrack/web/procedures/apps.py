from django.apps import AppConfig


class ProceduresConfig(AppConfig):
    name = "trichotrack.web.procedures"
    label = "procedures"
    verbose_name = "Procedures"
