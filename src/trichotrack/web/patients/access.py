from django.shortcuts import get_object_or_404

from .models import Patient


def get_patient_for_user(request, pk) -> Patient:
    """The patient `pk` of the user's own clinic; any other clinic's patient is a 404."""
    return get_object_or_404(
        Patient.objects.select_related("clinic"), pk=pk, clinic=request.membership.clinic
    )
