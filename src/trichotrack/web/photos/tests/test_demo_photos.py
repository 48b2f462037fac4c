import pytest

from trichotrack.web import demo
from trichotrack.web.patients.models import Patient
from trichotrack.web.photos import services
from trichotrack.web.photos.models import MeasurementKind, MeasureStatus, Photo, View


@pytest.mark.django_db
def test_the_demo_has_measured_trichoscopy_and_global_views_for_the_timeline(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    demo.load()
    case = Patient.objects.get(code="TT-0001")
    tricho = services.trichoscopy_series(case)
    assert len(tricho) == 3
    assert all(row["density"] is not None and row["density"] > 0 for row in tricho)
    assert len({row["measurement"].photo.target_site_id for row in tricho}) == 1  # one site, reused
    scalp = services.scalp_series(case)
    assert set(scalp) == {View.VERTEX, View.FRONTAL}
    assert len(scalp[View.VERTEX]) == 2
    pair = case.photo_pairs.get()
    change = services.pair_change(pair)
    assert change is not None and change["sentence"]
    stages = services.stage_series(case)
    assert [s.scale for s in stages] == ["ludwig", "ludwig"]
    man = Patient.objects.filter(sex="M", stage_estimates__isnull=False).distinct().get()
    assert {s.scale for s in services.stage_series(man)} == {"norwood"}
    global_photos = Photo.objects.exclude(view=View.SHED)
    assert all(p.measure_status == MeasureStatus.DONE for p in global_photos)
    assert {p.current_measurement().kind for p in global_photos} == {
        MeasurementKind.SCALP,
        MeasurementKind.TRICHOSCOPY,
    }
