import datetime as dt
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.followups.models import Visit
from trichotrack.web.procedures import regulatory
from trichotrack.web.procedures.models import Procedure, Product
from trichotrack.web.test import BaseTestCase, procedure_post_data


class ProcedureGateTest(BaseTestCase):
    def post(self, user=None, **overrides):
        self.login(user or self.alice)
        return self.client.post(
            reverse("procedures:create", args=[self.patient.pk]), procedure_post_data(**overrides)
        )

    def assert_nothing_saved(self):
        assert Procedure.objects.count() == 0
        assert Product.objects.count() == 0
        assert Visit.objects.count() == 0

    def test_it_blocks_procedure_without_consent(self):
        self.clear_screen()
        response = self.post()
        assert response.status_code == 200
        assert "The patient has not given treatment consent." in response.context["problems"]
        assert b"This procedure cannot be saved yet" in response.content
        self.assert_nothing_saved()
        assert AuditEvent.objects.filter(action="procedure.blocked", patient=self.patient).exists()

    def test_it_blocks_procedure_after_consent_was_withdrawn(self):
        from trichotrack.web.consent.services import withdraw_consent

        self.clear_screen()
        consent = self.give_treatment_consent(given_at=timezone.now() - dt.timedelta(days=3))
        withdraw_consent(consent, user=self.bob, reason="Patient request")
        # Withdrawn before the procedure's day, whatever the time of day the test runs at
        # (the form's harvest, 5 h ago, is yesterday shortly after midnight).
        consent.withdrawn_at = timezone.now() - dt.timedelta(days=2)
        consent.save(update_fields=["withdrawn_at"])
        response = self.post()
        assert "The patient withdrew treatment consent." in response.context["problems"]
        self.assert_nothing_saved()

    def test_it_blocks_procedure_with_only_a_research_consent(self):
        from trichotrack.web.consent.models import ConsentKind
        from trichotrack.web.consent.services import give_consent

        self.clear_screen()
        research = self.definitions[ConsentKind.RESEARCH]
        codes = [c for c, _ in research.elements]
        give_consent(self.patient, research, user=self.alice, signed_name="P", acknowledged=codes)
        self.post()
        self.assert_nothing_saved()

    def test_it_blocks_procedure_without_a_screen(self):
        self.give_treatment_consent()
        response = self.post()
        assert "No contraindication screen has been recorded." in response.context["problems"]
        self.assert_nothing_saved()

    def test_it_blocks_procedure_with_unacknowledged_flags(self):
        from trichotrack.web.patients import services
        from trichotrack.web.patients.models import ContraindicationScreen

        self.give_treatment_consent()
        screen = ContraindicationScreen(
            patient=self.patient,
            planned_on=timezone.localdate(),
            height_cm=160,
            weight_kg=60,
            malignancy=True,
        )
        services.save_screen(screen, user=self.bob)
        response = self.post()
        assert "must acknowledge" in response.context["problems"][0]
        self.assert_nothing_saved()

    def test_the_form_shows_the_gate_before_anything_is_typed(self):
        self.login(self.alice)
        response = self.client.get(reverse("procedures:create", args=[self.patient.pk]))
        assert "The patient has not given treatment consent." in response.context["problems"]

    def test_it_saves_a_consented_screened_procedure_with_products_and_visits(self):
        self.give_treatment_consent()
        self.clear_screen()
        response = self.post(user=self.bob)
        procedure = Procedure.objects.get()
        assert response["Location"] == procedure.get_absolute_url()
        assert procedure.clinic == self.clinic
        assert sorted(procedure.products.values_list("kind", flat=True)) == ["BL", "LA", "MIX", "PRP", "SVF"]
        assert procedure.visits.count() == 4
        assert procedure.regions == ["frontal", "vertex"]
        event = AuditEvent.objects.get(action="procedure.created")
        assert event.actor == self.bob
        assert len(event.data["products"]) == 5

    def test_nothing_is_half_saved_when_a_step_fails(self):
        self.give_treatment_consent()
        self.clear_screen()
        failing = mock.patch(
            "trichotrack.web.followups.services.schedule_visits", side_effect=RuntimeError("disk")
        )
        with failing, pytest.raises(RuntimeError):
            self.post()
        self.assert_nothing_saved()
        assert not AuditEvent.objects.filter(action="procedure.created").exists()


class ProcedureFormTest(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        inst = cls()
        inst.alice = cls.alice
        inst.give_treatment_consent()
        inst.clear_screen()

    def post(self, **overrides):
        self.login(self.bob)
        return self.client.post(
            reverse("procedures:create", args=[self.patient.pk]), procedure_post_data(**overrides)
        )

    def errors(self, **overrides):
        response = self.post(**overrides)
        assert response.status_code == 200
        assert not Procedure.objects.exists()
        return response.context["form"].errors

    def test_it_rejects_viability_above_100(self):
        assert "viability_pct" in self.errors(viability_pct="120")

    def test_it_rejects_negative_volumes(self):
        errors = self.errors(lipoaspirate_ml="-5", prp_ml="-1", blood_ml="-60")
        assert {"lipoaspirate_ml", "prp_ml", "blood_ml"} <= set(errors)

    def test_it_rejects_a_future_harvest(self):
        future = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        assert self.errors(harvest_at=future)["harvest_at"] == ["This date is in the future."]

    def test_it_rejects_injection_before_harvest(self):
        early = (timezone.localtime() - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        assert "injected_at" in self.errors(injected_at=early)

    def test_it_rejects_more_prp_in_the_mixture_than_prepared(self):
        assert "mixture_prp_ml" in self.errors(mixture_prp_ml="10")

    def test_it_rejects_garbage_with_messages_not_a_500(self):
        errors = self.errors(
            viability_pct="lots", harvest_at="yesterday", regions=["ear"], injection_points="-3"
        )
        assert {"viability_pct", "harvest_at", "regions", "injection_points"} <= set(errors)

    def test_an_svf_procedure_needs_jurisdiction_and_pathway(self):
        errors = self.errors(jurisdiction="", pathway="none", ethics_approval="")
        message = errors["__all__"][0]
        assert "jurisdiction" in message
        assert "regulatory pathway" in message
        assert "IND, IRB or ethics approval number" in message

    def test_a_prp_only_procedure_needs_no_svf_pathway(self):
        response = self.post(svf_method="", jurisdiction="", pathway="", ethics_approval="")
        assert response.status_code == 302


class ProcedureRecordTest(BaseTestCase):
    def test_the_page_shows_computed_values_and_flags(self):
        procedure = self.make_procedure(viability_pct=65.0, lidocaine_total_mg=2600.0, patient_weight_kg=65.0)
        self.login(self.rita)
        response = self.client.get(procedure.get_absolute_url())
        content = response.content.decode()
        assert "40.0 mg/kg" in content and "above the 35 mg/kg limit" in content
        assert "Viability 65%" in content
        assert "4.8×" in content  # 1200 / 250
        assert "P3-B" in content
        assert "more than minimal manipulation" in content
        assert "non-homologous" in content
        assert "1271.10(a)(3)" in content
        assert AuditEvent.objects.filter(action="procedure.viewed", actor=self.rita).exists()

    def test_regulatory_flags_for_ssp_and_payment_under_an_ind(self):
        procedure = self.make_procedure(
            same_surgical_procedure_claimed=True, payment_recorded=True, pathway="ind"
        )
        flags = " ".join(regulatory.flags(procedure))
        assert "9th Cir." in flags and "312.8" in flags
        assert "§684" in flags  # the test form's jurisdiction is California

    def test_missing_qc_is_flagged(self):
        procedure = self.make_procedure(viability_pct=None, prp_platelets=None)
        flags = " ".join(regulatory.flags(procedure))
        assert "QC missing before injection: viability, PRP platelet count" in flags

    def test_a_repeat_treatment_gets_its_own_follow_up_schedule(self):
        self.make_procedure()
        second = self.make_procedure()
        assert self.patient.visits.count() == 8
        assert second.visits.count() == 4

    def test_labels_show_every_product_id(self):
        procedure = self.make_procedure()
        self.login(self.bob)
        response = self.client.get(reverse("procedures:labels", args=[procedure.pk]))
        for product in procedure.products.all():
            assert product.product_id.encode() in response.content

    def test_chain_of_identity_links_parents(self):
        procedure = self.make_procedure()
        mix = procedure.products.get(kind="MIX")
        assert sorted(mix.parents.values_list("kind", flat=True)) == ["PRP", "SVF"]
        assert procedure.products.get(kind="SVF").parents.get().kind == "LA"
        assert procedure.products.get(kind="PRP").parents.get().kind == "BL"

    def test_product_ids_are_unique(self):
        ids = [p.product_id for _ in range(3) for p in self.make_procedure().products.all()]
        assert len(ids) == len(set(ids)) == 15


class ConfirmInjectionTest(BaseTestCase):
    def setUp(self):
        self.procedure = self.make_procedure()
        self.url = reverse("procedures:confirm_injection", args=[self.procedure.pk])
        self.login(self.bob)

    def confirm(self, product_id):
        return self.client.post(self.url, {"product_id": product_id}, follow=True)

    def test_it_confirms_this_patients_mixture(self):
        mix = self.procedure.products.get(kind="MIX")
        response = self.confirm(mix.product_id.lower() + " ")  # scanners add case and whitespace noise
        assert b"You may inject" in response.content
        self.procedure.refresh_from_db()
        assert self.procedure.injection_confirmed_by == self.bob

    def test_it_refuses_another_patients_product(self):
        from trichotrack.web.test import make_patient

        other = make_patient(self.clinic, "A-002")
        other_mix = self.make_procedure(patient=other).products.get(kind="MIX")
        response = self.confirm(other_mix.product_id)
        assert (
            f"{other_mix.product_id} belongs to another patient. Do not inject.".encode() in response.content
        )
        self.procedure.refresh_from_db()
        assert self.procedure.injection_confirmed_at is None
        assert AuditEvent.objects.filter(action="injection.refused").exists()

    def test_it_refuses_a_component_instead_of_the_mixture(self):
        prp = self.procedure.products.get(kind="PRP")
        response = self.confirm(prp.product_id)
        assert b"not the final SVF + PRP mixture" in response.content

    def test_it_refuses_an_unknown_id(self):
        response = self.confirm("MIX-NOPE")
        assert b"No product has the ID" in response.content

    def test_it_refuses_the_mixture_of_an_earlier_treatment(self):
        earlier_mix = self.procedure.products.get(kind="MIX")
        second = self.make_procedure()
        response = self.client.post(
            reverse("procedures:confirm_injection", args=[second.pk]),
            {"product_id": earlier_mix.product_id},
            follow=True,
        )
        assert b"another procedure of this patient" in response.content


class ProcedureEditTest(BaseTestCase):
    def test_two_people_editing_never_silently_overwrite_each_other(self):
        procedure = self.make_procedure()
        url = reverse("procedures:edit", args=[procedure.pk])
        data = procedure_post_data(version=procedure.version)
        self.login(self.alice)
        assert self.client.post(url, data | {"notes": "first"}).status_code == 302
        self.client.logout()
        self.login(self.bob)
        response = self.client.post(url, data | {"notes": "second"})
        assert "changed by someone else" in str(response.context["form"].non_field_errors())
        procedure.refresh_from_db()
        assert procedure.notes == "first"
        event = AuditEvent.objects.get(action="procedure.changed")
        assert event.data["changed"]["notes"] == ["", "first"]
