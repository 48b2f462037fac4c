"""The publication/marketing export of a case: refused without the patient's publication consent, for a pair
judged not comparable, for an altered or HEIC original, and for efficacy wording; made with the required
disclosures and the unaltered originals (metadata cut out, pixels untouched) otherwise."""

import datetime as dt
import io

import numpy as np
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.consent.models import ConsentKind
from trichotrack.web.consent.services import give_consent, withdraw_consent
from trichotrack.web.photos.models import View
from trichotrack.web.photos.tests import files
from trichotrack.web.reports import pdf

from .helpers import EvidenceTestCase
from .test_pdf_reports import pdf_text

START = dt.date(2026, 1, 5)
CAPTION = "Wash-test count 124 to 70 hairs at 24 weeks; one patient, no comparison group."


def decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def embedded_jpegs(data: bytes) -> list[bytes]:
    """The JPEG streams of the PDF's first page as stored (DCTDecode data is the JPEG file itself)."""
    page = PdfReader(io.BytesIO(data)).pages[0]
    out = []
    for ref in page["/Resources"]["/XObject"].values():
        stream = ref.get_object()
        if stream.get("/Subtype") == "/Image" and stream.get("/Filter") == "/DCTDecode":
            out.append(stream._data)
    return out


class MetadataStripTest(EvidenceTestCase):
    def test_jpeg_loses_exif_gps_and_comment_but_keeps_every_pixel(self):
        original = files.jpeg(files.asymmetric(), orientation=6, gps=True, comment=b"Jane Doe, clinic room 2")
        clean = pdf.strip_jpeg_metadata(original)
        assert b"Exif" in original and b"Exif" not in clean and b"Jane Doe" not in clean
        assert np.array_equal(decoded(clean), decoded(original))
        assert clean.endswith(original[-1000:])  # the entropy-coded data, byte for byte

    def test_png_loses_text_chunks_but_keeps_every_pixel(self):
        buffer = io.BytesIO()
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("Author", "Jane Doe")
        Image.fromarray(files.asymmetric()).save(buffer, format="PNG", pnginfo=info)
        original = buffer.getvalue()
        clean = pdf.strip_png_metadata(original)
        assert b"Jane Doe" in original and b"Jane Doe" not in clean
        assert np.array_equal(decoded(clean), decoded(original))

    def test_not_an_image_raises(self):
        for strip in (pdf.strip_jpeg_metadata, pdf.strip_png_metadata):
            try:
                strip(b"<svg></svg>")
            except ValueError:
                continue
            raise AssertionError(f"{strip.__name__} accepted markup")


class PublicationTest(EvidenceTestCase):
    def setUp(self):
        self.documented_case()
        self.original = files.jpeg(files.asymmetric(), orientation=6, gps=True)
        self.before = self.store_photo(self.patient, START, view=View.FRONTAL, data=self.original)
        after_data = files.jpeg(files.asymmetric()[:, ::-1].copy())
        self.after = self.store_photo(
            self.patient, START + dt.timedelta(days=176), view=View.FRONTAL, data=after_data
        )
        self.the_pair = self.pair(self.patient, self.before, self.after)

    def consent(self):
        definition = self.definitions[ConsentKind.PHOTO_PUBLICATION]
        return give_consent(
            self.patient,
            definition,
            user=self.alice,
            signed_name=self.patient.full_name,
            acknowledged=[code for code, _ in definition.elements],
            given_at=self.now() - dt.timedelta(days=1),
        )

    def now(self):
        from django.utils import timezone

        return timezone.now()

    def post(self, caption=CAPTION, user=None, pair=None):
        self.login(user or self.alice)
        url = reverse("reports:publication", args=[self.patient.pk])
        return self.client.post(url, {"pair": (pair or self.the_pair).pk, "caption": caption})

    def refusal(self, response) -> str:
        assert response.status_code == 422 and response["Content-Type"].startswith("text/html")
        return response.content.decode()

    def test_it_is_refused_without_publication_consent_and_the_refusal_is_audited(self):
        text = self.refusal(self.post())
        assert (
            "Publication consent: The patient has not given photos for publication or marketing consent"
            in text
        )
        event = AuditEvent.objects.get(action="report.publication_refused")
        assert event.patient == self.patient and event.data["pair"] == self.the_pair.pk

    def test_a_withdrawn_consent_refuses_it_again(self):
        consent = self.consent()
        assert self.post().status_code == 200
        withdraw_consent(consent, user=self.alice, reason="Changed her mind")
        assert "withdrew" in self.refusal(self.post())

    def test_with_consent_it_carries_the_disclosures_and_the_unaltered_originals(self):
        self.consent()
        response = self.post()
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        text = pdf_text(response.content)
        assert CAPTION in text
        assert "Results not typical." in text and "cannot show that the treatment caused any change" in text
        assert "Unproven treatment." in text and "Unaltered photos." in text
        assert self.before.original_sha256 in text and self.after.original_sha256 in text
        assert "Patricia" not in text
        images = embedded_jpegs(response.content)
        assert len(images) == 2
        assert pdf.strip_jpeg_metadata(self.original) in images  # the original's bytes, metadata cut out
        assert all(b"Exif" not in data for data in images)
        event = AuditEvent.objects.get(action="report.publication_generated")
        assert event.data["originals"] == [self.before.original_sha256, self.after.original_sha256]

    def test_efficacy_wording_is_refused_with_the_reasons(self):
        self.consent()
        text = self.refusal(self.post(caption="Our SVF treatment regrows hair and stops shedding"))
        assert "Caption refused:" in text
        assert "a single patient without a comparison cannot show that the treatment caused a change" in text
        assert "measures shedding, not regrowth" in text

    def test_a_pair_judged_not_comparable_is_refused(self):
        self.consent()
        self.the_pair.verdict = "not_comparable"
        self.the_pair.reasons = ["Different view"]
        self.the_pair.save()
        assert "is not comparable (Different view)" in self.refusal(self.post())

    def test_an_altered_original_is_refused(self):
        self.consent()
        name = self.before.original.name
        default_storage.delete(name)
        default_storage.save(name, io.BytesIO(files.jpeg(files.asymmetric() // 2)))
        assert "no longer matches its SHA-256 from upload: it was altered" in self.refusal(self.post())

    def test_a_heic_original_is_refused(self):
        self.consent()
        heic = self.store_photo(self.patient, START + dt.timedelta(days=177), view=View.FRONTAL,
                                data=files.heic(files.asymmetric()))  # fmt: skip
        pair = self.pair(self.patient, self.before, heic)
        assert "is HEIC, which a PDF cannot hold unaltered" in self.refusal(self.post(pair=pair))

    def test_the_suggested_caption_describes_the_measurement_and_passes_the_claims_check(self):
        from trichotrack.evidence import check_claim

        analysis = pdf.primary_analysis(self.patient)
        caption = pdf.suggested_caption(analysis)
        assert caption == (
            "Wash-test count 124 hairs before and 70.0 hairs 24 weeks after the procedure "
            "(change -54.0, 95 % interval -80.7 to -27.3); one patient, no comparison group."
        )
        assert check_claim(caption, analysis).allowed
        self.login(self.alice)
        page = self.client.get(reverse("reports:publication", args=[self.patient.pk])).content.decode()
        assert "one patient, no comparison group." in page

    def test_access(self):
        url = reverse("reports:publication", args=[self.patient.pk])
        self.login(self.alice)
        page = self.client.get(url)
        assert page.status_code == 200 and "Make the PDF" in page.content.decode()
        for user, status in ((self.bob, 403), (self.rita, 403), (self.pat, 403), (self.charlie, 404)):
            self.login(user)
            assert self.client.get(url).status_code == status, user
        self.consent()
        self.login(self.rita)
        assert self.client.post(url, {"pair": self.the_pair.pk, "caption": CAPTION}).status_code == 403
        self.client.logout()
        assert self.client.get(url).status_code == 302

    def test_another_patients_pair_is_not_offered(self):
        from trichotrack.web.test import make_patient

        other = make_patient(self.clinic, "A-002")
        before = self.store_photo(other, START, view=View.FRONTAL)
        theirs = self.pair(
            other, before, self.store_photo(other, START + dt.timedelta(days=1), view=View.FRONTAL)
        )
        self.consent()
        response = self.post(pair=theirs)
        assert response.status_code == 422 and "Select a valid choice" in response.content.decode()
