from django.shortcuts import get_object_or_404

from .models import Patient


def get_patient_for_user(request, pk) -> Patient:
    """The patient `pk` of the user's own clinic; any other clinic's patient is a 404."""
    clinic = request.membership.clinic
    patient = get_object_or_404(Patient, pk=pk, clinic=clinic)
    Patient.clinic.field.set_cached_value(patient, clinic)  # the clinic already loaded, not a join
    return patient
