import datetime as dt

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from trichotrack.web.consent.models import ConsentKind
from trichotrack.web.consent.services import give_consent
from trichotrack.web.photos import services
from trichotrack.web.photos.models import Protocol, View
from trichotrack.web.test import BaseTestCase

from . import files


def give_photo_consent(patient, definitions, user):
    definition = definitions[ConsentKind.PHOTO_CLINICAL]
    return give_consent(
        patient,
        definition,
        user=user,
        signed_name=patient.full_name,
        acknowledged=[code for code, _ in definition.elements],
        given_at=timezone.now() - dt.timedelta(days=1),
    )


def run_queued_measurements() -> list[str]:
    """Run the queued measurement tasks here, as a worker would (TestCase: no second process)."""
    outcomes = []
    for row in DBTaskResult.objects.filter(status="READY", task_path__endswith="measure_photo").order_by(
        "enqueued_at"
    ):
        outcomes.append(services.run_measurement(*row.args_kwargs["args"], worker="test"))
        DBTaskResult.objects.filter(pk=row.pk).update(status="SUCCESSFUL")
    return outcomes


class PhotoTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        give_photo_consent(cls.patient, cls.definitions, cls.alice)

    def add_photo(
        self, image=None, *, view=View.SHED, taken_on=None, hair_state=(), data=None, session=None, **options
    ):
        """Store a photo through the service (as the upload view does) and return it. `options`: more
        arguments of `store_photos` (target_site, field_width_mm, mm_per_px)."""
        if data is None:
            image = files.shed_image().image if image is None else image
            data = files.jpeg(image)
        session = session or services.new_session(
            self.patient, user=self.alice, taken_on=taken_on or timezone.localdate(), hair_state=hair_state
        )
        checked = services.check_files([files.upload("photo.jpg", data)])
        with self.captureOnCommitCallbacks(execute=True):
            (photo,) = services.store_photos(
                session,
                checked,
                user=self.alice,
                view=view,
                protocol=Protocol.WASH if view == View.SHED else "",
                days_since_shampoo=5 if view == View.SHED else None,
                **options,
            )
        return photo

    def measured_photo(self, **kwargs):
        photo = self.add_photo(**kwargs)
        run_queued_measurements()
        photo.refresh_from_db()
        return photo
