import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from trichotrack.web import audit
from trichotrack.web.audit.models import AuditEvent, ImmutableError
from trichotrack.web.test import BaseTestCase


class AuditRecordTest(BaseTestCase):
    def test_it_records_who_what_and_the_patient(self):
        event = audit.record(self.alice, "patient.viewed", self.patient, data={"why": "test"})
        assert event.actor == self.alice
        assert event.actor_name == "alice"
        assert event.patient == self.patient
        assert event.clinic == self.clinic
        assert event.target_type == "patients.Patient"
        assert event.data == {"why": "test"}

    def test_it_finds_the_patient_of_a_child_object(self):
        lab = self.patient.labs.first()
        event = audit.record(self.bob, "labs.created", lab)
        assert event.patient == self.patient
        assert event.clinic == self.clinic

    def test_it_rejects_an_action_without_a_dot(self):
        with pytest.raises(ValueError, match="dotted"):
            audit.record(self.alice, "viewed", self.patient)

    def test_changes_lists_only_changed_fields(self):
        assert audit.changes({"a": 1, "b": "x"}, {"a": 2, "b": "x"}) == {"a": ["1", "2"]}


class AuditImmutabilityTest(BaseTestCase):
    def setUp(self):
        self.event = audit.record(self.alice, "patient.viewed", self.patient)

    def test_it_cannot_be_changed(self):
        self.event.action = "patient.deleted"
        with pytest.raises(ImmutableError):
            self.event.save()

    def test_it_cannot_be_deleted(self):
        with pytest.raises(ImmutableError):
            self.event.delete()

    def test_querysets_cannot_change_or_delete_it(self):
        with pytest.raises(ImmutableError):
            AuditEvent.objects.filter(pk=self.event.pk).update(action="x.y")
        with pytest.raises(ImmutableError):
            AuditEvent.objects.all().delete()

    def test_the_database_refuses_raw_updates_on_postgresql(self):
        if connection.vendor != "postgresql":
            pytest.skip("the trigger exists only on PostgreSQL")
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET action = 'x.y' WHERE id = %s", [self.event.pk])


class AuditTrailViewTest(BaseTestCase):
    def test_viewing_a_patient_is_audited_and_shown_on_the_trail(self):
        self.login(self.bob)
        self.client.get(reverse("patients:detail", args=[self.patient.pk]))
        event = AuditEvent.objects.get(action="patient.viewed")
        assert event.actor == self.bob
        assert event.patient == self.patient
        response = self.client.get(reverse("patients:audit", args=[self.patient.pk]))
        assert b"patient.viewed" in response.content
        assert b"bob" in response.content

    def test_the_trail_shows_only_this_patients_events(self):
        audit.record(self.charlie, "patient.viewed", self.charlies_patient)
        self.login(self.alice)
        response = self.client.get(reverse("patients:audit", args=[self.patient.pk]))
        assert all(e.patient_id == self.patient.pk for e in response.context["events"])
