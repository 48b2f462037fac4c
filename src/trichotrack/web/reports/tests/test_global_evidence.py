"""Global-view measures in the evidence: the visible-scalp fraction of each view, the frontal hairline and the
part width become per-patient analyses with the re-photography SDs, in the panel, the case PDF and the
exports."""

import csv
import datetime as dt
import tempfile
from pathlib import Path

import pytest

from trichotrack.evidence import analyze_patient
from trichotrack.evidence.intervals import Z95
from trichotrack.web.photos.models import (
    HAIRLINE_RECESSION_SD,
    SCALP_FRACTION_SD_BY_VIEW,
    Measurement,
    Photo,
    PhotoSession,
    View,
)
from trichotrack.web.reports import evidence, exports, pdf

from .helpers import EvidenceTestCase
from .test_pdf_reports import pdf_text

START = dt.date(2026, 1, 5)
VERTEX_SD = 100 * SCALP_FRACTION_SD_BY_VIEW[View.VERTEX]  # 4.7 percentage points (bench/results/scalp.md)


class GlobalEvidenceTest(EvidenceTestCase):
    def global_photo(self, day, view, fraction, *, recession=None, part_mm=None, usable=True):
        session = PhotoSession.objects.create(patient=self.patient, taken_on=day)
        photo = Photo.objects.create(
            session=session, patient=self.patient, view=view, original="missing.jpg",
            original_sha256="0" * 64, original_format="jpeg", original_bytes=1, derived="missing.jpg",
            width_px=400, height_px=300, measure_status="done",
        )  # fmt: skip
        Measurement.objects.create(
            photo=photo, request_no=1, kind="scalp", algorithm="test", version="1", countable=True,
            usable=usable, scalp_visible_fraction=fraction, hairline_recession_index=recession,
            part_width_mm=part_mm, analysed_width_px=400, analysed_height_px=300, seconds=0.1,
        )  # fmt: skip
        return photo

    def vertex_case(self):
        """Vertex 0.40 and 0.42 before the treatment; 0.45 at 8 weeks (inside the error), 0.60 at 24 weeks."""
        self.documented_case(start=START)
        self.global_photo(START, View.VERTEX, 0.40)
        self.global_photo(START + dt.timedelta(days=7), View.VERTEX, 0.42)
        self.global_photo(START + dt.timedelta(days=64), View.VERTEX, 0.45)
        self.global_photo(START + dt.timedelta(days=176), View.VERTEX, 0.60)
        self.global_photo(START + dt.timedelta(days=176), View.VERTEX, 0.10, usable=False)  # not used
        self.global_photo(START, View.FRONTAL, 0.30, recession=0.40)
        self.global_photo(START + dt.timedelta(days=176), View.FRONTAL, 0.31, recession=0.42)
        self.global_photo(START, View.MIDPART, 0.20, part_mm=4.0)

    def test_each_view_is_its_own_analysis_after_the_shed_counts(self):
        self.vertex_case()
        _, analyses = evidence.patient_analyses(self.patient)
        kinds = [a.kind for a in analyses]
        assert kinds[0] == "wash_test_count"
        assert set(kinds[1:]) == {
            "scalp_visible_pct_vertex", "scalp_visible_pct_frontal", "scalp_visible_pct_midpart",
            "hairline_recession_index", "part_width_mm",
        }  # fmt: skip
        vertex = next(a for a in analyses if a.kind == "scalp_visible_pct_vertex")
        assert vertex.unit == "% of the region" and vertex.baseline.value == 41.0
        # the re-photography SD (4.7 percentage points) is larger than the two baseline days' SD (1.41)
        assert vertex.error.source == "test_retest_sd" and vertex.error.sem == pytest.approx(VERTEX_SD)
        early, late = vertex.followups
        assert early.verdict == "no_change_beyond_error" and late.verdict == "increase_beyond_error"
        assert late.change == pytest.approx(19.0)
        assert late.high - late.low == pytest.approx(2 * Z95 * VERTEX_SD * 1.5**0.5)
        assert "an increase larger than the measurement error" in late.sentence
        assert "visible scalp (vertex view) 60.0 % of the region" in late.sentence

    def test_the_hairline_uses_its_own_sd_and_one_baseline_day_is_flagged(self):
        self.vertex_case()
        _, analyses = evidence.patient_analyses(self.patient)
        hairline = next(a for a in analyses if a.kind == "hairline_recession_index")
        assert (
            hairline.error.sem == pytest.approx(HAIRLINE_RECESSION_SD)
            and hairline.followups[0].verdict == "no_change_beyond_error"
        )
        codes = {w.code for w in hairline.warnings}
        assert {"baseline.too_few", "error.external_sd"} <= codes
        part = next(a for a in analyses if a.kind == "part_width_mm")
        assert part.error is None and not part.followups  # no benchmarked SD, no follow-up: nothing claimed

    def test_a_patient_with_only_global_views_gets_them_as_the_first_analysis(self):
        self.treat(self.patient, START + dt.timedelta(days=8))
        self.global_photo(START, View.VERTEX, 0.40)
        self.global_photo(START + dt.timedelta(days=176), View.VERTEX, 0.41)
        _, analyses = evidence.patient_analyses(self.patient)
        assert [a.kind for a in analyses] == ["scalp_visible_pct_vertex"]
        assert analyses[0].followups[0].verdict == "no_change_beyond_error"

    def test_the_panel_and_the_case_report_show_them(self):
        self.vertex_case()
        self.login(self.alice)
        page = self.client.get(self.patient.get_absolute_url()).content.decode()
        assert "Visible scalp (vertex view)" in page and "re-photographing the same head" in page
        text = pdf_text(pdf.case_report_pdf(self.patient, user=self.alice))
        assert "Visible scalp (vertex view)" in text and "Frontal hairline recession index" in text
        assert "Global views: visible scalp and hairline" in text
        assert "an increase larger than the measurement error" in text

    def test_the_cohort_default_stays_the_shed_count(self):
        self.vertex_case()
        analysis, kind, available = evidence.cohort_analysis(
            self.clinic, as_of=START + dt.timedelta(days=200)
        )
        assert kind == "wash_test_count" and "scalp_visible_pct_vertex" in available
        analysis, kind, _ = evidence.cohort_analysis(
            self.clinic, kind="scalp_visible_pct_vertex", as_of=START + dt.timedelta(days=200)
        )
        assert kind == "scalp_visible_pct_vertex" and analysis.params["test_retest_sd"] == pytest.approx(
            VERTEX_SD
        )

    def test_the_core_gives_the_same_verdict_as_the_adapter(self):
        self.vertex_case()
        record = evidence.patient_record(self.patient)
        plain = analyze_patient(record, kind="scalp_visible_pct_vertex")  # without the known SD
        assert plain.error.source == "baseline_repeats"  # only the two baseline days: df 1, a wide interval
        assert plain.followups[-1].verdict == "no_change_beyond_error"

    def test_exports_carry_the_global_measures_and_the_codebook_says_so(self):
        self.vertex_case()
        names = {m[0] for m in exports.available_measures()}
        assert {"scalp_visible_fraction", "hairline_recession_index", "part_width_mm"} <= names
        wide = {c.name for c in exports.WIDE_COLUMNS}
        assert {"scalp_top_baseline", "scalp_front_6m", "hairline_baseline", "part_baseline"} <= wide
        assert {"wash_t2_2m", "hairline_t2_12m"} <= wide

    def test_the_wide_table_has_the_global_views_and_the_second_treatments_visits(self):
        self.vertex_case()
        second = START + dt.timedelta(days=8 + 200)
        self.treat(self.patient, second)
        self.global_photo(second + dt.timedelta(days=61), View.VERTEX, 0.50)
        self.global_photo(second + dt.timedelta(days=61), View.FRONTAL, 0.33, recession=0.5)
        with tempfile.TemporaryDirectory() as folder:
            exports.write_export(self.clinic, "csv", Path(folder), deidentified=False, user=self.alice)
            with (Path(folder) / "patients.csv").open() as handle:
                row = next(r for r in csv.DictReader(handle) if r["patient_code"] == "A-001")
            codebook = (Path(folder) / "codebook.md").read_text()
            with (Path(folder) / "measurements.csv").open() as handle:
                long = [r for r in csv.DictReader(handle) if r["measure"] == "hairline_recession_index"]
        assert float(row["scalp_top_baseline"]) == pytest.approx(0.41)
        assert float(row["scalp_top_6m"]) == pytest.approx(0.60)  # day 168 after the first
        assert float(row["scalp_top_t2_2m"]) == pytest.approx(0.50)
        assert float(row["hairline_baseline"]) == pytest.approx(0.40)
        assert float(row["hairline_t2_2m"]) == pytest.approx(0.5) and row["scalp_front_t2_2m"] == "0.33"
        assert float(row["part_baseline"]) == pytest.approx(4.0) and row["part_2m"] == ""
        assert "After the second (prophylactic) treatment" in codebook
        assert f"Re-photography SD {VERTEX_SD / 100:g}" in codebook
        assert f"Re-photography SD {HAIRLINE_RECESSION_SD:g}" in codebook
        first = long[0]
        assert float(first["high"]) - float(first["value"]) == pytest.approx(1.96 * HAIRLINE_RECESSION_SD)


def info(*treatments):
    return exports.PatientInfo(
        1, "S-1", 0, "A", "", "", dt.date(1980, 1, 1), "female", "", None, treatments=list(treatments)
    )


@pytest.mark.parametrize(
    ("days", "tp", "number", "slot"),
    [
        (-3, "baseline", 0, "baseline"),
        (0, "baseline", 1, "baseline"),
        (61, "2m", 1, "2m"),
        (365 + 61, "2m", 2, "t2_2m"),
        (370, "12m", 2, "12m"),  # the first treatment's 12-month visit, taken after the second treatment
        (365 + 183, "6m", 2, "t2_6m"),
        (400, "baseline", 2, None),  # no baseline before the second treatment
        (100, "other", 1, None),
    ],
)
def test_wide_slot(days, tp, number, slot):
    d0 = dt.date(2025, 1, 1)
    assert (
        exports.wide_slot(info(d0, d0 + dt.timedelta(days=365)), d0 + dt.timedelta(days=days), tp, number)
        == slot
    )


def test_a_third_treatments_visits_are_in_the_long_table_only():
    d0 = dt.date(2025, 1, 1)
    three = info(d0, d0 + dt.timedelta(days=365), d0 + dt.timedelta(days=730))
    assert exports.wide_slot(three, d0 + dt.timedelta(days=791), "2m", 3) is None
