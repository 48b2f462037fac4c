from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "trichotrack.web.reports"
    label = "reports"
    verbose_name = "Reports and exports"
