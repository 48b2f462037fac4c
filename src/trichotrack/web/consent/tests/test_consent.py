import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.consent import services
from trichotrack.web.consent.models import Consent, ConsentDefinition, ConsentKind
from trichotrack.web.test import BaseTestCase

TREATMENT = ConsentKind.TREATMENT


class ConsentRulesTest(BaseTestCase):
    def new_version(self, kind=TREATMENT, *, starts=None, version="2.0", elements=None):
        old = self.definitions[kind]
        starts = starts or timezone.localdate()
        old.valid_to = starts - dt.timedelta(days=1)
        old.save()
        return ConsentDefinition.objects.create(
            clinic=self.clinic,
            kind=kind,
            version=version,
            title="v2",
            text="New risks added",
            elements=elements or old.elements,
            valid_from=starts,
        )

    def test_no_consent_means_problems(self):
        assert services.consent_problems(self.patient, TREATMENT) == [
            "The patient has not given treatment consent."
        ]

    def test_a_full_consent_is_valid(self):
        self.give_treatment_consent()
        assert services.valid_consent(self.patient, TREATMENT)

    def test_each_kind_is_separate(self):
        self.give_treatment_consent()
        assert not services.valid_consent(self.patient, ConsentKind.RESEARCH)
        assert not services.valid_consent(self.patient, ConsentKind.PHOTO_PUBLICATION)

    def test_a_new_version_blocks_until_reconsent(self):
        self.give_treatment_consent()
        definition = self.new_version()
        problems = services.consent_problems(self.patient, TREATMENT)
        assert problems == ["The treatment consent is for an older version; re-consent to v2.0 is needed."]
        services.give_consent(
            self.patient,
            definition,
            user=self.alice,
            signed_name="P",
            acknowledged=[c for c, _ in definition.elements],
        )
        assert services.valid_consent(self.patient, TREATMENT)

    def test_the_old_consent_still_covers_days_before_the_new_version(self):
        self.give_treatment_consent(given_at=timezone.now() - dt.timedelta(days=10))
        self.new_version()
        assert services.valid_consent(self.patient, TREATMENT, timezone.localdate() - dt.timedelta(days=2))

    def test_a_window_with_no_form_in_force(self):
        definition = self.definitions[TREATMENT]
        definition.valid_from = timezone.localdate() + dt.timedelta(days=5)
        definition.save()
        assert (
            "No treatment consent form is in force" in services.consent_problems(self.patient, TREATMENT)[0]
        )

    def test_withdrawal_ends_validity_from_that_day(self):
        consent = self.give_treatment_consent(given_at=timezone.now() - dt.timedelta(days=10))
        services.withdraw_consent(consent, user=self.bob, reason="Changed her mind")
        assert services.consent_problems(self.patient, TREATMENT) == [
            "The patient withdrew treatment consent."
        ]
        assert services.valid_consent(self.patient, TREATMENT, timezone.localdate() - dt.timedelta(days=1))
        assert AuditEvent.objects.filter(action="consent.withdrawn", actor=self.bob).exists()

    def test_every_element_must_be_acknowledged(self):
        definition = self.definitions[TREATMENT]
        codes = [c for c, _ in definition.elements if c != "costs"]
        with pytest.raises(ValueError, match="costs"):
            services.give_consent(
                self.patient, definition, user=self.alice, signed_name="P", acknowledged=codes
            )
        assert not Consent.objects.exists()

    def test_a_treatment_form_without_the_key_isscr_elements_never_counts(self):
        definition = self.new_version(elements=[["nature_source", "Nature"]])
        services.give_consent(
            self.patient, definition, user=self.alice, signed_name="P", acknowledged=["nature_source"]
        )
        problems = services.consent_problems(self.patient, TREATMENT)
        assert problems and "alternatives" in problems[0] and "regulatory_status" in problems[0]

    def test_the_isscr_elements_are_in_the_default_treatment_form(self):
        codes = {c for c, _ in self.definitions[TREATMENT].elements}
        assert {
            "regulatory_status",
            "alternatives",
            "costs",
            "no_benefit",
            "conflicts",
            "withdrawal",
        } <= codes

    def test_a_validity_window_cannot_end_before_it_starts(self):
        definition = self.definitions[TREATMENT]
        definition.valid_to = definition.valid_from - dt.timedelta(days=1)
        with pytest.raises(IntegrityError), transaction.atomic():
            definition.save()


class ConsentViewsTest(BaseTestCase):
    def post_data(self, definition, skip=()):
        data = {f"ack_{code}": "on" for code, _ in definition.elements if code not in skip}
        return data | {"signed_name": "Patricia Doe"}

    def test_it_records_each_element_one_by_one(self):
        definition = self.definitions[TREATMENT]
        self.login(self.bob)
        url = reverse("consent:create", args=[self.patient.pk, "treatment"])
        response = self.client.get(url)
        for _, label in definition.elements:
            assert label.encode() in response.content
        response = self.client.post(url, self.post_data(definition))
        assert response.status_code == 302
        consent = Consent.objects.get()
        assert consent.acks.count() == len(definition.elements)
        assert consent.explained_by == self.bob

    def test_a_missing_tick_is_refused_with_a_message(self):
        definition = self.definitions[TREATMENT]
        self.login(self.bob)
        url = reverse("consent:create", args=[self.patient.pk, "treatment"])
        response = self.client.post(url, self.post_data(definition, skip=("regulatory_status",)))
        assert response.status_code == 200
        assert response.context["form"].errors["ack_regulatory_status"] == [
            "Each element must be acknowledged."
        ]
        assert not Consent.objects.exists()

    def test_photo_publication_consent_is_its_own_form(self):
        definition = self.definitions[ConsentKind.PHOTO_PUBLICATION]
        self.login(self.bob)
        url = reverse("consent:create", args=[self.patient.pk, "photo_publication"])
        self.client.post(url, self.post_data(definition))
        assert services.valid_consent(self.patient, ConsentKind.PHOTO_PUBLICATION)
        assert not services.valid_consent(self.patient, ConsentKind.PHOTO_CLINICAL)

    def test_an_unknown_kind_goes_back_to_the_patient(self):
        self.login(self.bob)
        response = self.client.get(reverse("consent:create", args=[self.patient.pk, "marketing"]))
        assert response.status_code == 302

    def test_withdraw_needs_a_reason(self):
        consent = self.give_treatment_consent()
        self.login(self.bob)
        url = reverse("consent:withdraw", args=[self.patient.pk, consent.pk])
        self.client.post(url, {"reason": ""})
        consent.refresh_from_db()
        assert consent.withdrawn_at is None
        self.client.post(url, {"reason": "Patient request by phone"})
        consent.refresh_from_db()
        assert consent.withdrawn_by == self.bob
        response = self.client.get(reverse("consent:detail", args=[self.patient.pk, consent.pk]))
        assert b"Withdrawn" in response.content


class ConsentSnapshotTest(BaseTestCase):
    def test_giving_consent_enqueues_the_pdf_snapshot(self):
        from django_tasks_db.models import DBTaskResult

        with self.captureOnCommitCallbacks(execute=True):
            consent = self.give_treatment_consent()
        assert DBTaskResult.objects.filter(args_kwargs__args=[consent.pk]).count() == 1

    def test_the_snapshot_is_a_pdf_made_once_with_its_hash_audited(self):
        from trichotrack.web.consent.tasks import render_snapshot

        consent = self.give_treatment_consent()
        assert render_snapshot.call(consent.pk) is True
        assert render_snapshot.call(consent.pk) is False
        consent.refresh_from_db()
        with consent.snapshot.open("rb") as f:
            assert f.read(5) == b"%PDF-"
        event = AuditEvent.objects.get(action="consent.snapshot_created")
        assert event.data["sha256"] == consent.snapshot_sha256
        assert event.patient == self.patient

    def test_the_pdf_holds_every_element_and_the_signature(self):
        from trichotrack.web.consent.snapshot import render_to_string

        consent = self.give_treatment_consent()
        html = render_to_string("consent/snapshot.html", {"consent": consent, "patient": self.patient})
        for _, label in consent.definition.elements:
            assert label in html
        assert self.patient.full_name in html

    def test_download_is_audited_as_an_export(self):
        consent = self.give_treatment_consent()
        self.login(self.bob)
        response = self.client.get(reverse("consent:pdf", args=[self.patient.pk, consent.pk]))
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"%PDF-")
        assert AuditEvent.objects.filter(action="consent.exported", actor=self.bob).exists()

    def test_a_changed_file_is_detected(self):
        from trichotrack.web.consent.snapshot import make_snapshot

        consent = self.give_treatment_consent()
        make_snapshot(consent)
        with open(consent.snapshot.path, "ab") as f:
            f.write(b"tampered")
        self.login(self.bob)
        response = self.client.get(reverse("consent:pdf", args=[self.patient.pk, consent.pk]), follow=True)
        assert b"no longer matches" in response.content
        assert AuditEvent.objects.filter(action="consent.snapshot_mismatch").exists()


class NewVersionTest(BaseTestCase):
    def test_a_clinician_publishes_a_version_that_needs_reconsent(self):
        self.give_treatment_consent(given_at=timezone.now() - dt.timedelta(days=3))
        definition = self.definitions[TREATMENT]
        self.login(self.alice)
        url = reverse("consent:new_version", args=[definition.pk])
        data = {
            "version": "2.0",
            "title": "T",
            "text": "New risk found",
            "valid_from": timezone.localdate().isoformat(),
        }
        assert self.client.post(url, data).status_code == 302
        definition.refresh_from_db()
        assert definition.valid_to == timezone.localdate() - dt.timedelta(days=1)
        assert "re-consent to v2.0" in services.consent_problems(self.patient, TREATMENT)[0]
        assert AuditEvent.objects.filter(action="consent_definition.published", actor=self.alice).exists()

    def test_it_refuses_a_duplicate_or_backdated_version(self):
        definition = self.definitions[TREATMENT]
        self.login(self.alice)
        url = reverse("consent:new_version", args=[definition.pk])
        data = {"version": "1.0", "title": "T", "text": "x", "valid_from": timezone.localdate().isoformat()}
        assert "already exists" in str(self.client.post(url, data).context["form"].non_field_errors())
        data |= {"version": "2.0", "valid_from": "2014-01-01"}
        assert "must start after" in str(self.client.post(url, data).context["form"].non_field_errors())
        assert ConsentDefinition.objects.filter(kind=TREATMENT, clinic=self.clinic).count() == 1
