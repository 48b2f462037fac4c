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

    def test_the_consent_day_is_the_clinics_day_not_utcs(self):
        # 23:30 UTC on 9 March is already 10 March in Auckland: the consent covers 10 March, not 9 March.
        signed = dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.UTC)
        self.definitions[TREATMENT].valid_from = dt.date(2026, 1, 1)
        self.definitions[TREATMENT].save()
        with self.settings(TIME_ZONE="Pacific/Auckland"):
            consent = self.give_treatment_consent(given_at=signed)
            assert services.valid_consent(self.patient, TREATMENT, dt.date(2026, 3, 10))
            assert not services.valid_consent(self.patient, TREATMENT, dt.date(2026, 3, 9))
            assert str(consent).endswith("given 2026-03-10")
        with self.settings(TIME_ZONE="UTC"):
            assert services.valid_consent(self.patient, TREATMENT, dt.date(2026, 3, 9))

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


class DefinitionPagesTest(BaseTestCase):
    def publish(self, valid_from, version="2.0"):
        return services.publish_version(
            self.definitions[TREATMENT],
            user=self.alice,
            version=version,
            title="T2",
            text="New risk found",
            valid_from=valid_from,
        )

    def test_the_list_counts_the_patients_who_must_reconsent(self):
        self.give_treatment_consent(given_at=timezone.now() - dt.timedelta(days=3))
        new = self.publish(timezone.localdate())
        self.login(self.alice)
        response = self.client.get(reverse("consent:definitions"))
        rows = {d.pk: d for d in response.context["definitions"]}
        assert rows[new.pk].n_reconsent == 1
        assert rows[new.pk].in_force
        assert rows[self.definitions[TREATMENT].pk].n_reconsent is None  # ended: asks nobody
        assert b"1 patient</strong>" in response.content
        assert b"consents to older versions no longer count" in response.content

    def test_the_version_page_lists_who_must_reconsent_until_they_do(self):
        self.give_treatment_consent(given_at=timezone.now() - dt.timedelta(days=3))
        other = self.make_other_patient()
        new = self.publish(timezone.localdate())
        self.login(self.bob)
        url = reverse("consent:definition", args=[new.pk])
        response = self.client.get(url)
        assert [p.code for p in response.context["reconsent"]] == ["A-001"]
        assert b"Patricia" in response.content
        assert reverse("consent:create", args=[self.patient.pk, "treatment"]).encode() in response.content
        services.give_consent(
            self.patient, new, user=self.bob, signed_name="P", acknowledged=[c for c, _ in new.elements]
        )
        assert list(self.client.get(url).context["reconsent"]) == []
        assert other.code.encode() not in response.content

    def make_other_patient(self):
        from trichotrack.web.test import make_patient

        return make_patient(self.clinic, "A-002")  # never consented: not asked to re-consent

    def test_a_withdrawn_consent_is_not_asked_to_renew(self):
        consent = self.give_treatment_consent(given_at=timezone.now() - dt.timedelta(days=3))
        services.withdraw_consent(consent, user=self.bob, reason="No")
        new = self.publish(timezone.localdate())
        assert not services.patients_to_reconsent(new).exists()

    def test_a_future_version_already_shows_who_will_need_to_reconsent(self):
        self.give_treatment_consent(given_at=timezone.now() - dt.timedelta(days=3))
        new = self.publish(timezone.localdate() + dt.timedelta(days=10))
        assert services.valid_consent(self.patient, TREATMENT)  # still valid until the new one starts
        assert list(services.patients_to_reconsent(new)) == [self.patient]
        self.login(self.alice)
        response = self.client.get(reverse("consent:definition", args=[new.pk]))
        assert b"not yet in force" in response.content
        assert b"From the day this version comes into force" in response.content

    def test_the_researcher_sees_codes_and_no_dates(self):
        self.give_treatment_consent(given_at=timezone.now() - dt.timedelta(days=3))
        new = self.publish(timezone.localdate())
        self.login(self.rita)
        response = self.client.get(reverse("consent:definition", args=[new.pk]))
        assert b"A-001" in response.content
        assert b"Patricia" not in response.content
        assert b"record consent" not in response.content
        assert str(timezone.localdate().year).encode() not in response.content.split(b"<main", 1)[1]

    def test_new_version_starts_from_a_copy_and_says_who_is_affected(self):
        self.give_treatment_consent()
        definition = self.definitions[TREATMENT]
        self.login(self.alice)
        response = self.client.get(reverse("consent:new_version", args=[definition.pk]))
        form = response.context["form"]
        assert form["text"].value() == definition.text
        assert form["version"].value() == "2.0"
        assert response.context["n_affected"] == 1
        assert b"1 patient will then have to consent again" in response.content

    def test_new_version_with_a_window(self):
        definition = self.definitions[TREATMENT]
        self.login(self.alice)
        url = reverse("consent:new_version", args=[definition.pk])
        start = timezone.localdate()
        data = {"version": "2.0", "title": "T", "text": "x", "valid_from": start.isoformat()}
        bad = data | {"valid_to": (start - dt.timedelta(days=1)).isoformat()}
        assert "must not be before" in str(self.client.post(url, bad).context["form"].non_field_errors())
        good = data | {"valid_to": (start + dt.timedelta(days=365)).isoformat()}
        response = self.client.post(url, good)
        new = ConsentDefinition.objects.get(kind=TREATMENT, clinic=self.clinic, version="2.0")
        assert response["Location"] == reverse("consent:definition", args=[new.pk])
        assert new.valid_to == start + dt.timedelta(days=365)

    def test_an_ended_version_cannot_be_replaced(self):
        self.publish(timezone.localdate())
        with pytest.raises(ValueError, match="already ended"):
            services.publish_version(
                self.definitions[TREATMENT],
                user=self.alice,
                version="3.0",
                title="T",
                text="x",
                valid_from=timezone.localdate() + dt.timedelta(days=3),
            )

    def test_another_clinic_gets_404(self):
        self.login(self.charlie)
        url = reverse("consent:definition", args=[self.definitions[TREATMENT].pk])
        assert self.client.get(url).status_code == 404


def signature_png(*, blank=False, size=(600, 200)) -> bytes:
    """A drawn signature as the pad sends it: dark ink on white."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    if not blank:
        ImageDraw.Draw(image).line([(40, 150), (200, 40), (320, 160), (560, 60)], fill="#102a43", width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def as_data_url(png: bytes) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode()


class TestSignatureRules:
    """The pure checks of consent.signature (no database)."""

    def test_a_drawn_signature_is_accepted_byte_for_byte(self):
        from trichotrack.web.consent.signature import decode_signature

        png = signature_png()
        assert decode_signature(as_data_url(png)) == png

    @pytest.mark.parametrize(
        ("data_url", "message"),
        [
            ("", "has not signed"),
            ("data:image/jpeg;base64,AAAA", "not received as a PNG"),
            ("data:image/png;base64,!!!notbase64", "damaged"),
            ("data:image/png;base64,R0lGODlhAQABAAAAACw=", "not received as a PNG"),
            (as_data_url(b"\x89PNG\r\n\x1a\n" + b"\0" * 40), "damaged"),
            (as_data_url(signature_png(blank=True)), "box is empty"),
            ("data:image/png;base64," + "A" * 800_000, "too large"),
        ],
    )
    def test_bad_signatures_are_refused_with_a_message(self, data_url, message):
        from trichotrack.web.consent.signature import SignatureError, decode_signature

        with pytest.raises(SignatureError, match=message):
            decode_signature(data_url)

    def test_a_transparent_canvas_with_ink_counts(self):
        from PIL import Image, ImageDraw

        from trichotrack.web.consent.signature import MIN_INK_PX, ink_pixels

        image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
        assert ink_pixels(_png(image)) == 0
        ImageDraw.Draw(image).line([(10, 50), (290, 50)], fill=(0, 0, 0, 255), width=3)
        assert ink_pixels(_png(image)) >= MIN_INK_PX


def _png(image) -> bytes:
    import io

    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class SignedConsentTest(BaseTestCase):
    def post_data(self, definition, **extra):
        data = {f"ack_{code}": "on" for code, _ in definition.elements}
        return data | {"signed_name": "Patricia Doe-A-001", "in_person": "on"} | extra

    def url(self):
        return reverse("consent:create", args=[self.patient.pk, "treatment"])

    def test_the_form_has_the_pad_and_loads_its_script_from_self(self):
        self.login(self.bob)
        response = self.client.get(self.url())
        html = response.content.decode()
        assert "<canvas" in html and "data-signature-pad" in html
        assert '<script src="/static/trichotrack/signature.js" defer></script>' in html
        assert "<script>" not in html  # the CSP allows no inline script
        assert response.context["form"]["in_person"].value() is True

    def test_in_person_without_a_signature_saves_nothing(self):
        definition = self.definitions[TREATMENT]
        self.login(self.bob)
        for signature in ("", as_data_url(signature_png(blank=True))):
            response = self.client.post(self.url(), self.post_data(definition, signature=signature))
            assert response.status_code == 200
            errors = " ".join(response.context["form"].non_field_errors())
            assert "not saved without it" in errors
            assert b"not saved without it" in response.content
        assert not Consent.objects.exists()
        assert not AuditEvent.objects.filter(action="consent.given").exists()

    def test_the_typed_full_name_is_required_too(self):
        definition = self.definitions[TREATMENT]
        self.login(self.bob)
        data = self.post_data(definition, signature=as_data_url(signature_png()), signed_name="")
        response = self.client.post(self.url(), data)
        assert response.context["form"].errors["signed_name"] == ["The patient must type their full name."]
        assert not Consent.objects.exists()

    def test_a_signed_consent_stores_the_png_and_its_hash(self):
        import hashlib

        definition = self.definitions[TREATMENT]
        png = signature_png()
        self.login(self.bob)
        response = self.client.post(self.url(), self.post_data(definition, signature=as_data_url(png)))
        assert response.status_code == 302
        consent = Consent.objects.get()
        assert consent.signed_in_person
        with consent.signature.open("rb") as f:
            assert f.read() == png
        assert consent.signature_sha256 == hashlib.sha256(png).hexdigest()
        event = AuditEvent.objects.get(action="consent.given")
        assert event.data["signature_sha256"] == consent.signature_sha256
        assert event.data["in_person"] is True

    def test_signed_on_paper_needs_no_drawing(self):
        definition = self.definitions[TREATMENT]
        data = self.post_data(definition)
        del data["in_person"]
        self.login(self.bob)
        assert self.client.post(self.url(), data).status_code == 302
        consent = Consent.objects.get()
        assert not consent.signed_in_person and not consent.signature

    def test_the_service_refuses_in_person_without_a_signature(self):
        definition = self.definitions[TREATMENT]
        with pytest.raises(ValueError, match="drawn signature is missing"):
            services.give_consent(
                self.patient,
                definition,
                user=self.bob,
                signed_name="P",
                acknowledged=[c for c, _ in definition.elements],
                in_person=True,
            )
        assert not Consent.objects.exists()

    def test_the_pdf_embeds_the_signature_beside_each_element_and_its_hash_is_shown(self):
        import hashlib

        from trichotrack.web.consent.signature import data_url
        from trichotrack.web.consent.snapshot import make_snapshot, render_to_string, snapshot_context

        definition = self.definitions[TREATMENT]
        png = signature_png()
        consent = services.give_consent(
            self.patient,
            definition,
            user=self.bob,
            signed_name="Patricia Doe-A-001",
            acknowledged=[c for c, _ in definition.elements],
            in_person=True,
            signature_png=png,
        )
        html = render_to_string("consent/snapshot.html", snapshot_context(consent))
        assert html.count(f'src="{data_url(png)}"') == len(definition.elements) + 1
        assert make_snapshot(consent)
        with consent.snapshot.open("rb") as f:
            pdf = f.read()
        assert pdf.startswith(b"%PDF-")
        assert consent.snapshot_sha256 == hashlib.sha256(pdf).hexdigest()
        assert b"/Subtype /Image" in pdf or b"/Subtype/Image" in pdf  # the signature is in the PDF
        self.login(self.bob)
        response = self.client.get(reverse("consent:detail", args=[self.patient.pk, consent.pk]))
        assert consent.snapshot_sha256.encode() in response.content
        assert consent.signature_sha256.encode() in response.content


class ConsentGivenLaterTest(BaseTestCase):
    def test_a_consent_given_after_the_day_says_so(self):
        self.give_treatment_consent(given_at=timezone.now())
        day = timezone.localdate() - dt.timedelta(days=3)
        assert services.consent_problems(self.patient, TREATMENT, day) == [
            f"The patient gave treatment consent only after {day:%d %b %Y}."
        ]


class VersionChainTest(BaseTestCase):
    def test_only_the_newest_version_gets_a_successor(self):
        current = self.definitions[TREATMENT]
        later = timezone.localdate() + dt.timedelta(days=30)
        services.publish_version(
            current, user=self.alice, version="2.0", title="T", text="x", valid_from=later
        )
        with pytest.raises(ValueError, match=r"v2\.0 already follows v1\.0"):
            services.publish_version(
                current, user=self.alice, version="1.1", title="T", text="y", valid_from=timezone.localdate()
            )
        self.login(self.alice)
        response = self.client.get(reverse("consent:definitions"))
        rows = [d for d in response.context["definitions"] if d.kind == TREATMENT]
        assert [(d.version, d.is_newest) for d in rows] == [("2.0", True), ("1.0", False)]
        assert reverse("consent:new_version", args=[current.pk]).encode() not in response.content
