"""Browser tests of the photo pages (Playwright on Debian's chromium); screenshots in var/test-artifacts/."""

import datetime as dt
import os

import pytest

from trichotrack.web.tests.test_browser import CHROMIUM, browser, clinic, page, sign_in  # noqa: F401

from . import files
from .base import give_photo_consent, run_queued_measurements

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


@pytest.fixture
def patient(clinic):  # noqa: F811
    from trichotrack.web.clinics.models import Role
    from trichotrack.web.test import make_patient, make_user

    definitions = {d.kind: d for d in clinic.consent_definitions.all()}
    user = make_user("pat", clinic, Role.PATIENT)
    patient = make_patient(clinic, "B-010", user=user, given_name="Patricia")
    give_photo_consent(patient, definitions, user.__class__.objects.get(username="alice"))
    return patient


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def wait_for_measurement(browser_page, name):
    """Run the queued measurement as the worker would while the page polls, then wait for the result."""
    browser_page.get_by_text("Waiting for a worker").wait_for()
    browser_page.shot(f"{name}-waiting")
    assert run_queued_measurements() == ["measured"]


def test_a_patient_uploads_from_the_portal_and_sees_the_result(page, patient, media, tmp_path):  # noqa: F811
    photo_file = tmp_path / "shed.jpg"
    photo_file.write_bytes(files.jpeg(files.shed_image(seed=2, n_hairs=5).image))
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    sign_in(page, "pat")
    page.goto("/")
    page.get_by_role("link", name="Shedding photo").click()
    page.get_by_text("calibration card").first.wait_for()
    page.get_by_label("60-second comb count").check()
    page.get_by_label("Days since the last shampoo").fill("2")
    page.get_by_label("Dry").check()
    with page.expect_file_chooser() as chooser:
        page.get_by_label("Photo of the hairs on the card").click()
    chooser.value.set_files(str(photo_file))
    page.shot("portal-form")
    page.get_by_role("button", name="Send the photo").click()
    wait_for_measurement(page, "portal")
    page.locator(".result .stat").wait_for()
    page.get_by_alt_text("The hairs found, numbered").wait_for()
    page.shot("portal-result")
    page.get_by_role("link", name="My history").first.click()
    page.locator("svg.chart circle.count").first.wait_for()
    page.shot("portal-history")


def test_a_patient_with_grey_hair_gets_the_card_with_the_dark_field(page, patient, media):  # noqa: F811
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    sign_in(page, "pat")
    page.goto("/portal/shedding/")
    page.get_by_label("Your hair colour").select_option("grey")
    page.shot("hair-colour")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved your hair colour: Grey").wait_for()
    assert page.get_by_label("Your hair colour").count() == 0
    suggested = page.locator(".card-choice.suggested")
    assert "dark field, for light hair" in suggested.inner_text()
    with page.expect_download() as download:
        suggested.get_by_role("link", name="A4").click()
    assert download.value.suggested_filename == "trichotrack-card-a4-dark-field.pdf"
    with open(download.value.path(), "rb") as f:
        assert f.read(5) == b"%PDF-"
    page.shot("dark-card-suggested")
    patient.refresh_from_db()
    assert patient.hair_colour == "grey"


def test_a_clinician_corrects_a_count_by_clicking(page, patient, media, settings):  # noqa: F811
    from trichotrack.web.photos import services
    from trichotrack.web.photos.models import Correction, View

    settings.REQUIRE_MFA = False
    alice = patient.clinic.memberships.get(user__username="alice").user
    session = services.new_session(patient, user=alice)
    checked = services.check_files([files.upload("s.jpg", files.jpeg(files.shed_image(seed=4).image))])
    (photo,) = services.store_photos(session, checked, user=alice, view=View.SHED, protocol="wash")
    run_queued_measurements()
    auto = photo.current_measurement().hair_count
    sign_in(page)
    page.goto(f"/photos/{photo.pk}/")
    img = page.locator("#overlay-img")
    img.wait_for()
    page.wait_for_function("() => document.getElementById('overlay-img').naturalWidth > 0")
    box = img.bounding_box()
    page.mouse.click(box["x"] + 3, box["y"] + 3)  # a corner: no hair there, so a missed hair is added
    page.get_by_text(f"(automatic {auto}; removed 0, added 1)").wait_for()
    page.shot("correction-marked")
    page.get_by_role("button", name="Save correction").click()
    page.get_by_text(f"Count corrected to {auto + 1} (automatic: {auto}).").wait_for()
    page.shot("correction-saved")
    correction = Correction.objects.get()
    assert correction.corrected_count == auto + 1 and len(correction.added) == 1


def test_the_before_after_page_shows_a_verdict_and_a_slider(page, patient, media, settings):  # noqa: F811
    from trichotrack.web.photos import services
    from trichotrack.web.photos.models import View

    settings.REQUIRE_MFA = False
    alice = patient.clinic.memberships.get(user__username="alice").user
    image = files.shed_image(seed=7, n_hairs=12, shape=(360, 480)).image
    for day, crop in ((dt.date(2026, 1, 10), image), (dt.date(2026, 2, 20), image[8:, 10:])):
        session = services.new_session(patient, user=alice, taken_on=day, hair_state=["washed"])
        checked = services.check_files([files.upload("v.jpg", files.jpeg(crop))])
        services.store_photos(session, checked, user=alice, view=View.VERTEX)
    sign_in(page)
    page.goto(f"/patients/{patient.pk}/photos/")
    page.get_by_label("Baseline").select_option(index=1)
    page.get_by_label("Follow-up").select_option(index=2)
    page.get_by_role("button", name="Compare").click()
    page.get_by_text("Verdict: Comparable").wait_for()
    page.get_by_label("Follow-up ← → baseline").fill("20")
    page.shot("before-after")


def test_a_clinician_marks_the_trichoscopy_site_on_the_diagram(page, patient, media, settings, tmp_path):  # noqa: F811
    from trichotrack.web.photos import services
    from trichotrack.web.photos.models import TargetSite

    settings.REQUIRE_MFA = False
    alice = patient.clinic.memberships.get(user__username="alice").user
    session = services.new_session(patient, user=alice)
    image_file = tmp_path / "tricho.jpg"
    image_file.write_bytes(files.jpeg(files.trichoscopy(3).image))
    sign_in(page)
    page.goto(f"/photos/sessions/{session.pk}/")
    diagram = page.locator("#scalp-diagram")
    box = diagram.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.3)  # frontal, on the mid-line
    assert float(page.get_by_label("Site x (diagram)").input_value()) == pytest.approx(100, abs=1)
    assert page.locator("#id_view").input_value() == "trichoscopy"
    page.get_by_label("Marked site (trichoscopy)").fill("Frontal mid-line")
    page.get_by_label("Image width on the scalp, mm").fill("3.6")
    page.locator("#id_files").set_input_files(str(image_file))
    page.shot("target-site-marked")
    page.get_by_role("button", name="Upload").click()
    wait_for_measurement(page, "trichoscopy")
    page.get_by_text("hairs/cm²").first.wait_for()
    page.shot("trichoscopy-result")
    page.goto(f"/patients/{patient.pk}/photos/")
    page.locator("svg.chart.density circle.value").wait_for()
    page.shot("timeline")
    site = TargetSite.objects.get()
    assert site.x == pytest.approx(100, abs=1) and 60 < site.y < 80 and site.label == "Frontal mid-line"


def test_a_clinician_says_which_way_is_up(page, patient, media, settings):  # noqa: F811
    from trichotrack.web.photos import services
    from trichotrack.web.photos.models import View

    from .test_orientation import round_head

    settings.REQUIRE_MFA = False
    alice = patient.clinic.memberships.get(user__username="alice").user
    session = services.new_session(patient, user=alice)
    checked = services.check_files([files.upload("l.jpg", files.jpeg(round_head()))])
    (photo,) = services.store_photos(session, checked, user=alice, view=View.TEMPORAL_LEFT)
    run_queued_measurements()
    sign_in(page)
    page.goto(f"/photos/{photo.pk}/")
    page.get_by_role("heading", name="Which way is up?").wait_for()
    # The four choices are one picture turned by CSS: a quarter turn counter-clockwise is rotate(-90deg).
    turned = page.locator(".turn-1 img").evaluate("img => getComputedStyle(img).transform")
    assert turned.replace(" ", "") in ("matrix(0,-1,1,0,0,0)", "matrix(6.12323e-17,-1,1,6.12323e-17,0,0)")
    page.shot("orientation-uncertain")
    page.get_by_role("button", name="Photo as taken").click()
    page.get_by_text("Orientation set (turned 0° counter-clockwise)").wait_for()
    assert run_queued_measurements() == ["measured"]
    page.reload()
    page.get_by_text("set by alice").wait_for()
    # The overlay of the new measurement, not the browser's cached copy of the old one.
    page.locator(f'img[src$="/image/overlay/?m={photo.measure_request + 1}"]').wait_for()
    assert page.get_by_role("heading", name="Which way is up?").count() == 0
    page.shot("orientation-set")
    photo.refresh_from_db()
    assert photo.orientation_turns == 0 and photo.current_measurement().usable
