"""trichotrack.web.rawsql: rows read and written without the ORM's query building are the ORM's rows."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from trichotrack.web import audit, rawsql
from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.clinics.models import Clinic
from trichotrack.web.patients.models import Patient


@pytest.mark.django_db
def test_get_builds_the_instance_the_orm_builds():
    clinic = Clinic.objects.create(name="Raw clinic", country="NZ")
    patient = Patient.objects.create(
        clinic=clinic,
        code="R-1",
        given_name="Ana",
        family_name="Ng",
        date_of_birth=dt.date(1980, 2, 3),
        sex="F",
    )
    ours, theirs = rawsql.get(Patient, patient.pk, connection), Patient.objects.get(pk=patient.pk)
    for field in Patient._meta.concrete_fields:
        assert getattr(ours, field.attname) == getattr(theirs, field.attname), field.name
    assert isinstance(ours.date_of_birth, dt.date) and ours._state.adding is False
    assert rawsql.get(Patient, 10**9, connection) is None


@pytest.mark.django_db
def test_an_audit_event_is_written_as_the_orm_reads_it_back():
    clinic = Clinic.objects.create(name="Raw clinic")
    patient = Patient.objects.create(clinic=clinic, code="R-2", date_of_birth=dt.date(1980, 2, 3), sex="M")
    before = timezone.now()
    event = audit.record(None, "patient.viewed", patient, data={"why": ["a", 1, None]})
    stored = AuditEvent.objects.get(pk=event.pk)
    assert event.pk is not None and event._state.adding is False
    assert (stored.action, stored.patient_id, stored.clinic_id) == ("patient.viewed", patient.pk, clinic.pk)
    assert (stored.target_type, stored.target_id, stored.actor_id) == (
        "patients.Patient",
        str(patient.pk),
        None,
    )
    assert stored.data == {"why": ["a", 1, None]}
    assert stored.at == event.at and before <= stored.at <= timezone.now()
    second = audit.record(None, "patient.viewed", patient)
    assert second.pk > event.pk and AuditEvent.objects.get(pk=second.pk).data == {}
