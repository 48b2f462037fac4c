"""The analysis-ready exports: tables, formats, codebook, de-identification and the audit trail."""

import csv
import datetime as dt
import hashlib
import math

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.consent.models import ConsentDefinition, ConsentKind
from trichotrack.web.consent.services import consent_problems, give_consent, withdraw_consent
from trichotrack.web.followups.models import Visit
from trichotrack.web.patients.models import Staging
from trichotrack.web.photos.models import Correction, Measurement, Photo, PhotoSession
from trichotrack.web.procedures.models import Procedure
from trichotrack.web.reports import exports
from trichotrack.web.reports.services import subject_id
from trichotrack.web.safety.models import AdverseEvent
from trichotrack.web.test import BaseTestCase, make_patient

DERIVED = b"derived copy bytes, upright, no EXIF"


class ExportFixture(BaseTestCase):
    """Alice's patient A-001: treated 61 days ago; two baseline comb counts (40 and 50, the second corrected
    to 46), one count at 2 months (30, interval 25–36); a grade-2 bruise. A-002: untreated, no research
    consent. Charlie's patient has a procedure too (never in Alice's exports)."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.today = timezone.localdate()

    def setUp(self):
        super().setUp()
        self.procedure = self.make_procedure()
        self.harvest = timezone.now() - dt.timedelta(days=61)
        Procedure.objects.filter(pk=self.procedure.pk).update(
            harvest_at=self.harvest, injected_at=self.harvest + dt.timedelta(hours=4)
        )
        self.treated_on = timezone.localtime(self.harvest).date()
        self.patient.onset_date = self.treated_on - dt.timedelta(days=120)
        self.patient.occupation = "Pianist"
        self.patient.hair_colour = "grey"
        self.patient.save()
        Staging.objects.create(
            patient=self.patient,
            assessed_on=self.treated_on - dt.timedelta(days=5),
            scale="ludwig",
            grade="II",
        )
        self.derived_name = default_storage.save("derived/a.jpg", ContentFile(DERIVED))
        self.measure(self.treated_on - dt.timedelta(days=10), 40, 35, 46)
        m = self.measure(self.treated_on - dt.timedelta(days=3), 50, 44, 57)
        Correction.objects.create(measurement=m, corrected_count=46, by=self.alice)
        visit = Visit.objects.get(procedure=self.procedure, kind="2m")
        self.followup = self.measure(self.today, 30, 25, 36, visit=visit)
        self.ae = AdverseEvent.objects.create(
            patient=self.patient,
            procedure=self.procedure,
            term="bruising",
            grade=2,
            onset_on=self.treated_on + dt.timedelta(days=1),
            aware_on=self.treated_on + dt.timedelta(days=2),
            resolved_on=self.treated_on + dt.timedelta(days=9),
            expected=True,
            causality_liposuction="probable",
            outcome="recovered",
            description="Bruise on the left flank, told the neighbour",
        )
        self.untreated = make_patient(self.clinic, "A-002", given_name="Quentin", occupation="Baker")
        # Charlie's records (saved directly: his clinic's consent forms are not Alice's)
        Procedure.objects.create(
            clinic=self.other_clinic, patient=self.charlies_patient, harvest_at=self.harvest
        )
        self.measure(self.today, 77, 70, 80, patient=self.charlies_patient)

    def measure(self, day, count, low, high, *, visit=None, patient=None, old=None):
        patient = patient or self.patient
        session = PhotoSession.objects.create(patient=patient, taken_on=day, visit=visit)
        photo = Photo.objects.create(
            session=session,
            patient=patient,
            view="shed",
            protocol="comb_60s",
            days_since_shampoo=2,
            original="originals/a.jpg",
            original_sha256="0" * 64,
            original_format="jpeg",
            original_bytes=10,
            derived=self.derived_name,
            width_px=10,
            height_px=10,
        )
        common = {
            "algorithm": "trichotrack.shed",
            "version": "1.1",
            "countable": True,
            "scale_source": "card",
        }
        common |= {
            "analysed_width_px": 10,
            "analysed_height_px": 10,
            "seconds": 1.0,
            "short_hair_fraction": 0.2,
        }
        if old is not None:
            Measurement.objects.create(
                photo=photo, request_no=1, hair_count=old, count_low=old, count_high=old, **common
            )
        return Measurement.objects.create(
            photo=photo, request_no=2, hair_count=count, count_low=low, count_high=high, **common
        )

    def consent_research(self, patient=None):
        definition = self.definitions[ConsentKind.RESEARCH]
        codes = [c for c, _ in definition.elements]
        return give_consent(
            patient or self.patient, definition, user=self.alice, signed_name="x", acknowledged=codes
        )

    def export(self, fmt, *, deidentified=False, user=None):
        out = self.tmp / f"{fmt}-{'de' if deidentified else 'id'}"
        return exports.write_export(self.clinic, fmt, out, deidentified=deidentified, user=user or self.alice)

    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path):
        self.tmp = tmp_path


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class LongTableTest(ExportFixture):
    def test_it_gives_one_row_per_photo_and_measure_with_the_corrected_count(self):
        result = self.export("csv")
        rows = [r for r in read_csv(result.files[1]) if r["measure"] == "shed_count"]
        assert [(r["date"], r["value"], r["corrected_value"], r["final_value"]) for r in rows] == [
            ((self.treated_on - dt.timedelta(days=10)).isoformat(), "40.0", "", "40.0"),
            ((self.treated_on - dt.timedelta(days=3)).isoformat(), "50.0", "46.0", "46.0"),
            (self.today.isoformat(), "30.0", "", "30.0"),
        ]
        assert [(r["timepoint"], r["treatment"], r["day"]) for r in rows] == [
            ("baseline", "0", "-10"),
            ("baseline", "0", "-3"),
            ("2m", "1", str((self.today - self.treated_on).days)),
        ]
        last = rows[-1]
        assert (last["low"], last["high"], last["protocol"], last["countable"]) == (
            "25.0",
            "36.0",
            "comb_60s",
            "1",
        )
        assert last["algorithm"] == "trichotrack.shed 1.1"
        assert last["photo_sha256"] == hashlib.sha256(DERIVED).hexdigest()
        assert last["patient_code"] == "A-001"

    def test_only_the_latest_measurement_of_a_photo_counts(self):
        self.measure(self.today, 20, 18, 22, old=99)
        rows = read_csv(self.export("csv").files[1])
        assert "99.0" not in [r["value"] for r in rows]
        assert "20.0" in [r["value"] for r in rows]

    def test_short_hair_share_is_its_own_measure(self):
        rows = read_csv(self.export("csv").files[1])
        assert [r["value"] for r in rows if r["measure"] == "short_hair_share"] == ["0.2"] * 3

    def test_another_clinic_is_never_exported(self):
        rows = read_csv(self.export("csv").files[0])
        assert {r["patient_code"] for r in rows} == {"A-001", "A-002"}


class WideTableTest(ExportFixture):
    def test_one_row_per_patient_with_baseline_treatment_safety_and_outcomes(self):
        rows = {r["patient_code"]: r for r in read_csv(self.export("csv").files[0])}
        a = rows["A-001"]
        assert a["comb60_baseline"] == "43.0"  # mean of 40 and the corrected 46
        assert a["comb60_2m"] == "30.0"
        assert a["comb60_6m"] == ""
        assert (a["treatments"], a["svf_method"], a["viability_pct"], a["paw"]) == (
            "1",
            "enzymatic",
            "85.0",
            "P3-B",
        )
        assert a["prp_fold_over_baseline"] == "4.8"
        assert (a["adverse_events"], a["max_ae_grade"], a["serious_aes"]) == ("1", "2", "0")
        assert (a["stage_scale"], a["stage_grade"], a["occupation"]) == ("ludwig", "II", "Pianist")
        assert a["age_years"] == str(self.patient.age_on(self.treated_on))
        assert a["months_from_onset"] == str(round(120 / 30.44, 1))
        b = rows["A-002"]
        assert (b["treatments"], b["adverse_events"], b["comb60_baseline"]) == ("0", "0", "")

    def test_procedure_and_adverse_event_tables(self):
        result = self.export("csv")
        (procedure,) = read_csv(result.files[2])
        assert (procedure["treatment"], procedure["lipoaspirate_ml"], procedure["nucleated_cells"]) == (
            "1",
            "100.0",
            "40000000.0",
        )
        assert procedure["cells_per_cm2"] == "100000.0"
        assert procedure["harvest_to_injection_min"] == "240"
        (ae,) = read_csv(result.files[3])
        assert (ae["term"], ae["grade"], ae["serious"], ae["causality_liposuction"]) == (
            "bruising",
            "2",
            "0",
            "probable",
        )
        assert (ae["onset_day"], ae["duration_days"], ae["treatment"]) == ("1", "8", "1")
        assert "neighbour" not in result.files[3].read_text()


class DeidentifiedTest(ExportFixture):
    def test_only_research_consented_patients_with_hashed_ids(self):
        self.consent_research()
        result = self.export("csv", deidentified=True)
        assert (result.n_patients, result.n_excluded) == (1, 1)
        rows = read_csv(result.files[0])
        assert [r["subject"] for r in rows] == [subject_id(self.patient)]
        assert "patient_code" not in rows[0] and "date_of_birth" not in rows[0]

    def test_no_identifier_reaches_any_file(self):
        self.consent_research()
        for fmt in ("csv", "fhir"):
            result = self.export(fmt, deidentified=True)
            for path in result.files:
                text = path.read_text(encoding="utf-8")
                for identifier in (
                    "A-001",
                    "Patricia",
                    self.patient.family_name,
                    "1975-03-14",
                    "Pianist",
                    "Quentin",
                ):
                    assert identifier not in text, (path.name, identifier)

    def test_every_date_of_a_patient_moves_by_the_same_offset(self):
        self.consent_research()
        plain, shifted = self.export("csv"), self.export("csv", deidentified=True)
        shift = exports.date_shift_days(self.patient.pk)
        assert shift != 0 and abs(shift) <= 180
        offsets = set()
        for a_path, b_path in zip(plain.files[:4], shifted.files[:4], strict=True):
            a_rows = [r for r in read_csv(a_path) if r.get("patient_code", "A-001") == "A-001"]
            for a, b in zip(a_rows, read_csv(b_path), strict=True):
                for name in ("date", "onset_date", "first_treatment_date", "aware_date", "resolved_date"):
                    if a.get(name):
                        delta = dt.date.fromisoformat(b[name]) - dt.date.fromisoformat(a[name])
                        offsets.add(delta.days)
                assert a.get("day") == b.get("day")  # intervals are kept
        assert offsets == {shift}

    def test_the_shift_is_stable_and_differs_between_patients(self):
        shifts = {exports.date_shift_days(pk) for pk in range(1, 200)}
        assert exports.date_shift_days(7) == exports.date_shift_days(7)
        assert 0 not in shifts and min(shifts) >= -180 and max(shifts) <= 180 and len(shifts) > 100

    def test_a_withdrawn_consent_removes_the_patient(self):
        withdraw_consent(self.consent_research(), user=self.bob, reason="No")
        result = self.export("csv", deidentified=True)
        assert result.n_patients == 0 and read_csv(result.files[1]) == []

    def test_ages_of_90_and_over_are_top_coded(self):
        self.consent_research()
        self.patient.date_of_birth = self.today.replace(year=self.today.year - 95) - dt.timedelta(days=400)
        self.patient.save()
        assert read_csv(self.export("csv", deidentified=True).files[0])[0]["age_years"] == "90"
        assert int(read_csv(self.export("csv").files[0])[0]["age_years"]) > 90


class ConsentRuleTest(ExportFixture):
    def test_bulk_consent_check_agrees_with_consent_problems(self):
        patients = [self.patient, self.untreated]
        for code in ("A-003", "A-004", "A-005"):
            patients.append(make_patient(self.clinic, code))
        self.consent_research(patients[0])
        withdraw_consent(self.consent_research(patients[2]), user=self.alice, reason="x")
        self.consent_research(patients[3])
        consent = self.consent_research(patients[4])
        consent.acks.filter(code="confidentiality").delete()
        expected = {p.pk for p in patients if not consent_problems(p, ConsentKind.RESEARCH, self.today)}
        assert (
            exports.research_consented_ids(self.clinic, self.today)
            == expected
            == {
                patients[0].pk,
                patients[3].pk,
            }
        )

    def test_a_consent_to_an_older_version_does_not_count(self):
        self.consent_research()
        old = self.definitions[ConsentKind.RESEARCH]
        ConsentDefinition.objects.create(
            clinic=self.clinic,
            kind=ConsentKind.RESEARCH,
            version="2.0",
            title=old.title,
            text=old.text,
            elements=old.elements,
            valid_from=self.today,
        )
        assert consent_problems(self.patient, ConsentKind.RESEARCH, self.today)
        assert exports.research_consented_ids(self.clinic, self.today) == set()
        yesterday = self.today - dt.timedelta(days=1)  # v1.0 in force, but the consent was given today
        assert consent_problems(self.patient, ConsentKind.RESEARCH, yesterday)
        assert exports.research_consented_ids(self.clinic, yesterday) == set()


class TimepointTest(ExportFixture):
    def test_visits_windows_and_a_second_treatment(self):
        info = exports.build_context(self.clinic, deidentified=False).patients[self.patient.pk]
        first = info.treatments[0]
        info.treatments.append(first + dt.timedelta(days=200))
        day = dt.timedelta(days=1)
        assert exports.timepoint(info, first - day, None) == "baseline"
        assert exports.timepoint(info, first, None) == "baseline"  # photos on the day, before the procedure
        assert exports.timepoint(info, first + 14 * day, None) == "2w"
        assert exports.timepoint(info, first + 75 * day, None) == "2m"
        assert exports.timepoint(info, first + 100 * day, None) == "other"
        assert exports.timepoint(info, first + 261 * day, None) == "2m"  # two months after the second
        assert exports.treatment_on(info, first + 261 * day) == (2, first + 200 * day)
        assert exports.timepoint(info, first + 100 * day, "6m") == "6m"  # the visit it was taken for wins


class FormatsTest(ExportFixture):
    def test_parquet_has_typed_columns_equal_to_the_csv(self):
        result = self.export("parquet")
        table = pq.read_table(result.files[1])
        assert str(table.schema.field("date").type) == "date32[day]"
        assert str(table.schema.field("final_value").type) == "double"
        assert table.schema.field("final_value").metadata[b"label"].startswith(b"Value for analysis")
        rows = table.to_pylist()
        shed = [r for r in rows if r["measure"] == "shed_count"]
        assert [r["final_value"] for r in shed] == [40.0, 46.0, 30.0]
        assert shed[0]["corrected_value"] is None and shed[0]["date"] == self.treated_on - dt.timedelta(
            days=10
        )
        wide = pq.read_table(result.files[0]).to_pylist()
        assert {r["patient_code"] for r in wide} == {"A-001", "A-002"}

    def test_spss_has_labels_value_labels_dates_and_missing_values(self):
        result = self.export("spss")
        df, meta = pyreadstat.read_sav(str(result.files[0]))
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        assert (
            labels["viability_pct"] == "First treatment: sVF viability"
            or "viability" in labels["viability_pct"]
        )
        assert meta.variable_value_labels["sex"] == {1.0: "Female", 2.0: "Male", 3.0: "Other / not stated"}
        assert meta.variable_value_labels["max_ae_grade"][2.0] == "Grade 2 (moderate)"
        row = df[df["patient_code"] == "A-001"].iloc[0]
        assert row["sex"] == 1 and row["max_ae_grade"] == 2
        assert meta.variable_value_labels["hair_colour"][5.0] == "Grey (dark and white hairs mixed)"
        assert row["hair_colour"] == 5  # grey, the fifth choice
        other_colour = df[df["patient_code"] == "A-002"].iloc[0]["hair_colour"]
        assert math.isnan(other_colour)  # not recorded: missing, not a colour
        assert row["date_of_birth"] == dt.date(1975, 3, 14)
        other = df[df["patient_code"] == "A-002"].iloc[0]
        assert math.isnan(other["max_ae_grade"]) and math.isnan(other["viability_pct"])
        long, meta = pyreadstat.read_sav(str(result.files[1]))
        assert meta.variable_value_labels["timepoint"][1.0].startswith("Baseline")
        assert sorted(long[long["measure"] == 1]["final_value"]) == [30.0, 40.0, 46.0]

    def test_stata_has_labels_value_labels_and_dates(self):
        result = self.export("stata")
        df, meta = pyreadstat.read_dta(str(result.files[3]))
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        assert labels["grade"] == "CTCAE grade"
        assert meta.variable_value_labels["term"][2.0] == "Bruising"
        assert df.iloc[0]["term"] == 2 and df.iloc[0]["onset_date"] == self.treated_on + dt.timedelta(days=1)
        assert meta.original_variable_types["onset_date"] == "%td"
        assert pd.isna(df.iloc[0]["reported_date"])

    def test_every_export_writes_a_codebook_of_its_columns(self):
        for fmt, numbered in (("csv", False), ("spss", True)):
            result = self.export(fmt)
            codebook = read_csv(result.files[-2])
            by_name = {(r["table"], r["variable"]): r for r in codebook}
            if fmt == "csv":
                with result.files[0].open() as handle:
                    assert [v for t, v in by_name if t == "patients"] == next(csv.reader(handle))
            sex = by_name[("patients", "sex")]
            expected = "1=F (Female)" if numbered else "F=Female"
            assert sex["allowed_values"].startswith(expected)
            assert by_name[("procedures", "lipoaspirate_ml")]["unit"] == "mL"
            assert (
                by_name[("procedures", "lipoaspirate_ml")]["source"] == "procedures.Procedure.lipoaspirate_ml"
            )
            text = result.files[-1].read_text()
            assert "| viability_pct |" in text and "## measurements (" in text

    def test_an_unknown_format_is_refused(self):
        with pytest.raises(ValueError, match="unknown export format 'xlsx'"):
            exports.write_export(self.clinic, "xlsx", self.tmp, deidentified=False)


class ExportAuditTest(ExportFixture):
    def test_each_export_is_audited_once_and_per_patient(self):
        self.consent_research()
        self.export("parquet", deidentified=True, user=self.rita)
        event = AuditEvent.objects.get(action="export.created")
        assert (event.actor, event.clinic) == (self.rita, self.clinic)
        assert event.data["format"] == "parquet" and event.data["kind"] == "deidentified"
        assert (event.data["patients"], event.data["excluded_patients"]) == (1, 1)
        per_patient = AuditEvent.objects.filter(action="patient.exported")
        assert [(e.actor, e.target_type, e.target_id) for e in per_patient] == [
            (self.rita, "patients.Patient", str(self.patient.pk))
        ]
        assert [(e.patient, e.data["subject"]) for e in per_patient] == [
            (self.patient, subject_id(self.patient))
        ]
