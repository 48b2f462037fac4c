"""The FHIR R5 bundle: every resource validates with fhir.resources; products, observations, photos, AEs."""

import json
from collections import Counter

from fhir.resources import get_fhir_model_class
from fhir.resources.bundle import Bundle

from trichotrack.web.reports import fhir
from trichotrack.web.reports.services import subject_id

from .test_exports import ExportFixture


class FhirBundleTest(ExportFixture):
    def bundle(self, *, deidentified=False):
        result = self.export("fhir", deidentified=deidentified)
        text = result.files[0].read_text(encoding="utf-8")
        return result, json.loads(text), text

    def resources(self, data, kind):
        return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind]

    def test_every_resource_validates_with_fhir_resources(self):
        result, data, text = self.bundle()
        Bundle.model_validate_json(text)  # the bundle and every resource in it, as typed models
        for entry in data["entry"]:
            resource = entry["resource"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
        kinds = Counter(e["resource"]["resourceType"] for e in data["entry"])
        assert kinds == Counter(result.rows)
        assert kinds["Patient"] == 2 and kinds["Procedure"] == 1 and kinds["BiologicallyDerivedProduct"] == 3
        assert kinds["DocumentReference"] == 3 and kinds["Observation"] == 6 and kinds["AdverseEvent"] == 1
        assert kinds["Consent"] == 1 and kinds["CodeSystem"] == 1

    def test_every_reference_resolves_inside_the_bundle(self):
        _, data, _ = self.bundle()
        urls = {e["fullUrl"] for e in data["entry"]}
        references = set()

        def walk(node):
            if isinstance(node, dict):
                if "reference" in node and isinstance(node["reference"], str):
                    references.add(node["reference"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(data)
        assert references and references <= urls
        assert len(urls) == len(data["entry"])  # every resource has its own id

    def test_the_mixture_names_its_svf_and_prp_parents_with_their_values(self):
        _, data, _ = self.bundle()
        products = {p["productCode"]["text"]: p for p in self.resources(data, "BiologicallyDerivedProduct")}
        svf, prp = products["Stromal vascular fraction (enzymatic)"], products["Platelet-rich plasma"]
        mixture = products["SVF + PRP mixture"]
        assert [p["reference"] for p in mixture["parent"]] == [
            f"urn:uuid:{svf['id']}",
            f"urn:uuid:{prp['id']}",
        ]
        svf_values = {p["type"]["coding"][0]["code"]: p.get("valueQuantity") for p in svf["property"]}
        assert svf_values["nucleated-cells"]["value"] == 40_000_000
        assert svf_values["viability"] == {"value": 85.0, "unit": "%", "system": fhir.UCUM, "code": "%"}
        prp_values = {p["type"]["coding"][0]["code"]: p for p in prp["property"]}
        assert prp_values["platelets"]["valueQuantity"]["value"] == 1200
        assert prp_values["platelet-fold"]["valueQuantity"]["value"] == 4.8
        assert prp_values["paw"]["valueCodeableConcept"]["text"] == "P3-B"
        (procedure,) = self.resources(data, "Procedure")
        assert procedure["used"][0]["reference"]["reference"] == f"urn:uuid:{mixture['id']}"
        assert procedure["bodySite"][0]["coding"][0]["code"] == "41695006"

    def test_observations_use_local_codes_with_the_interval_and_the_correction(self):
        _, data, _ = self.bundle()
        counts = [
            o for o in self.resources(data, "Observation") if o["code"]["coding"][0]["code"] == "shed_count"
        ]
        assert all(o["code"]["coding"][0]["system"] == fhir.MEASURE_SYSTEM for o in counts)
        assert sorted(o["valueQuantity"]["value"] for o in counts) == [30, 40, 46]
        corrected = next(o for o in counts if o["valueQuantity"]["value"] == 46)
        parts = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in corrected["component"]}
        assert parts == {"interval-low": 44, "interval-high": 57, "automatic-value": 50}
        assert corrected["valueQuantity"]["code"] == "{hairs}"
        (code_system,) = self.resources(data, "CodeSystem")
        assert "shed_count" in {c["code"] for c in code_system["concept"]}
        document_ids = {d["id"] for d in self.resources(data, "DocumentReference")}
        assert {o["derivedFrom"][0]["reference"].removeprefix("urn:uuid:") for o in counts} == document_ids

    def test_an_uncountable_photo_is_noted_and_still_valid(self):
        self.followup.countable = False
        self.followup.save()
        _, data, text = self.bundle()
        notes = [
            o.get("note") for o in self.resources(data, "Observation") if o["valueQuantity"]["value"] == 30
        ]
        assert notes == [[{"text": "Not reliably countable (see the photo's problems)."}]]
        Bundle.model_validate_json(text)

    def test_photos_are_only_the_derived_copy_hash(self):
        _, data, text = self.bundle(deidentified=False)
        for document in self.resources(data, "DocumentReference"):
            assert document["identifier"][0]["system"] == "urn:trichotrack:derived-sha256"
            assert "url" not in document["content"][0]["attachment"]
        assert "originals/" not in text

    def test_adverse_event_has_seriousness_grade_and_causality_per_step(self):
        _, data, _ = self.bundle()
        (ae,) = self.resources(data, "AdverseEvent")
        assert ae["seriousness"]["coding"][0]["code"] == "non-serious"
        assert ae["extension"] == [{"url": fhir.GRADE_EXTENSION, "valueInteger": 2}]
        assert ae["code"]["coding"][0]["code"] == "bruising" and ae["status"] == "completed"
        steps = {s["instanceCodeableConcept"]["text"]: s for s in ae["suspectEntity"] if "causality" in s}
        assert steps["Liposuction"]["causality"]["entityRelatedness"]["coding"][0]["code"] == "probable"
        assert "neighbour" not in json.dumps(ae)

    def test_identified_bundle_names_the_patient_and_deidentified_does_not(self):
        _, data, _ = self.bundle()
        patient = next(
            p
            for p in self.resources(data, "Patient")
            if p["identifier"][0]["value"] == subject_id(self.patient)
        )
        assert patient["name"] == [{"family": self.patient.family_name, "given": ["Patricia"]}]
        assert patient["birthDate"] == "1975-03-14" and patient["gender"] == "female"
        self.consent_research()
        _, data, text = self.bundle(deidentified=True)
        (patient,) = self.resources(data, "Patient")
        assert "name" not in patient and "birthDate" not in patient
        assert patient["identifier"] == [{"system": fhir.SUBJECT_SYSTEM, "value": subject_id(self.patient)}]
        assert str(self.patient.pk) not in {e["resource"]["id"] for e in data["entry"]}
        Bundle.model_validate_json(text)

    def test_the_fhir_codebook_lists_the_local_codes(self):
        result, _, _ = self.bundle()
        codebook, markdown = result.files[1], result.files[2]
        text = codebook.read_text()
        assert (
            "Observation.code,shed_count,Shed hairs counted on the photo (hairs),valueQuantity,{hairs}"
            in text
        )
        assert "BiologicallyDerivedProduct.property.type,viability,Viability,valueQuantity,%" in text
        page = markdown.read_text()
        assert "FHIR R5 Bundle" in page and "Observation 6" in page and "## AdverseEvent.code" in page
