"""Shared set-up of the evidence and PDF tests: shed-hair photos stored through the photo service, with their
measurements written directly (known counts, no measuring), procedures dated as wanted."""

import datetime as dt

from django.utils import timezone

from trichotrack.web.consent.models import ConsentKind
from trichotrack.web.photos import services as photo_services
from trichotrack.web.photos.models import Correction, Measurement, Pair, Protocol, View
from trichotrack.web.photos.tests import files
from trichotrack.web.photos.tests.base import give_photo_consent
from trichotrack.web.test import BaseTestCase

TODAY = dt.date(2026, 11, 26)


class EvidenceTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        give_photo_consent(cls.patient, cls.definitions, cls.alice)

    def store_photo(self, patient, day, *, view=View.SHED, data=None, days_since_shampoo=5, hair_state=()):
        """A photo stored as the upload view stores it (original with SHA-256, derived copy)."""
        session = photo_services.new_session(patient, user=self.alice, taken_on=day, hair_state=hair_state)
        data = data or files.jpeg(files.shed_image().image)
        checked = photo_services.check_files([files.upload("photo.jpg", data)])
        (photo,) = photo_services.store_photos(
            session,
            checked,
            user=self.alice,
            view=view,
            protocol=Protocol.WASH if view == View.SHED else "",
            days_since_shampoo=days_since_shampoo if view == View.SHED else None,
        )
        return photo

    def quick_shed(self, patient, day, count):
        """A measured wash-test photo row without a stored file (for cohorts of many patients)."""
        from trichotrack.web.photos.models import Photo, PhotoSession

        session = PhotoSession.objects.create(patient=patient, taken_on=day)
        photo = Photo.objects.create(
            session=session, patient=patient, view=View.SHED, protocol=Protocol.WASH, days_since_shampoo=5,
            original="missing.jpg", original_sha256="0" * 64, original_format="jpeg", original_bytes=1,
            derived="missing.jpg", width_px=400, height_px=300,
        )  # fmt: skip
        Measurement.objects.create(
            photo=photo, request_no=1, algorithm="test", version="1", hair_count=count, count_low=count,
            count_high=count, countable=True, scale_source="card", analysed_width_px=400,
            analysed_height_px=300, seconds=0.1,
        )  # fmt: skip
        return photo

    def shed(
        self,
        patient,
        day,
        count,
        *,
        low=None,
        high=None,
        countable=True,
        corrected=None,
        field=None,
        **kwargs,
    ):
        """A measured wash-test photo of `count` hairs (interval low–high), optionally corrected; `field`: the
        card's field it was measured on, as the report says."""
        photo = self.store_photo(patient, day, **kwargs)
        m = Measurement.objects.create(
            photo=photo,
            request_no=1,
            algorithm="test",
            version="1",
            hair_count=count,
            count_low=count - 2 if low is None else low,
            count_high=count + 2 if high is None else high,
            countable=countable,
            scale_source="card",
            report={"card": {"field": field}} if field else {},
            analysed_width_px=400,
            analysed_height_px=300,
            seconds=0.1,
        )
        if corrected is not None:
            Correction.objects.create(measurement=m, corrected_count=corrected, by=self.alice)
        return photo

    def treat(self, patient, day):
        """A procedure whose harvest was on `day`."""
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)))
        if patient.clinic_id != self.clinic.pk:  # another clinic's consent forms: record it directly
            from trichotrack.web.procedures.models import Procedure

            return Procedure.objects.create(clinic=patient.clinic, patient=patient, harvest_at=moment)
        if not patient.consents.filter(definition__kind=ConsentKind.TREATMENT).exists():
            self.give_treatment_consent(patient)
        procedure = self.make_procedure(patient)
        procedure.harvest_at = moment
        procedure.save(update_fields=["harvest_at"])
        return procedure

    def pair(self, patient, before, after, verdict="comparable", reasons=()):
        return Pair.objects.create(
            patient=patient, baseline=before, followup=after, verdict=verdict, reasons=list(reasons)
        )

    def documented_case(self, patient=None, *, start=dt.date(2026, 1, 5)):
        """Two baseline days (130, 118), treatment a week later, follow-ups at 8 and 24 weeks (100, 70)."""
        patient = patient or self.patient
        self.shed(patient, start, 130)
        self.shed(patient, start + dt.timedelta(days=7), 118)
        self.treat(patient, start + dt.timedelta(days=8))
        self.shed(patient, start + dt.timedelta(days=8 + 56), 100)
        self.shed(patient, start + dt.timedelta(days=8 + 168), 70)
        return patient
