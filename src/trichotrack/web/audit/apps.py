from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "trichotrack.web.audit"
    label = "audit"
    verbose_name = "Audit trail"
