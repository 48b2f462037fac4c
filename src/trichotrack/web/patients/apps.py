from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "trichotrack.web.patients"
    label = "patients"
    verbose_name = "Patients"
