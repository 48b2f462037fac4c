from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "trichotrack.web.portal"
    label = "portal"
    verbose_name = "Patient portal"
