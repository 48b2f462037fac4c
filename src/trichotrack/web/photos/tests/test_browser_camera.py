"""The "Use camera" capture in chromium with a fake camera (--use-fake-device-for-media-stream): the live
picture with the card outline or the baseline ghost, the frame added to the file input and uploaded through
the normal upload. Screenshots in var/test-artifacts/browser/."""

import datetime as dt
import os

import pytest

from trichotrack.web.tests.test_browser import CHROMIUM, chromium, clinic, page, sign_in  # noqa: F401

from . import files
from .base import give_photo_consent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


@pytest.fixture(scope="module")
def browser():
    """Chromium with a fake camera that answers getUserMedia without asking."""
    with chromium("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream") as launched:
        yield launched


@pytest.fixture
def patient(clinic):  # noqa: F811
    from trichotrack.web.clinics.models import Role
    from trichotrack.web.test import make_patient, make_user

    definitions = {d.kind: d for d in clinic.consent_definitions.all()}
    user = make_user("pat", clinic, Role.PATIENT)
    patient = make_patient(clinic, "B-020", user=user, given_name="Patricia")
    give_photo_consent(patient, definitions, user.__class__.objects.get(username="alice"))
    return patient


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_a_patient_takes_the_shed_photo_with_the_camera_and_the_card_outline(page, patient, media):  # noqa: F811
    from trichotrack.web.photos.models import Photo

    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "pat")
    page.goto("/portal/shedding/")
    page.get_by_role("button", name="Use camera").click()
    page.locator("#camera[data-state=live]").wait_for()
    assert page.locator("#camera-card").is_visible()  # the card outline over the live picture
    assert not page.locator("#camera-ghost").is_visible()
    page.shot("portal-camera-live")
    page.get_by_role("button", name="Take photo").click()
    page.get_by_text("Photo taken").wait_for()
    chosen = page.evaluate("Array.from(document.getElementById('id_files').files, f => [f.name, f.type])")
    assert len(chosen) == 1 and chosen[0][1] == "image/jpeg"
    assert not page.locator("#camera-stage").is_visible()  # the camera is closed again
    page.get_by_label("60-second comb count").check()
    page.get_by_label("Days since the last shampoo").fill("2")
    page.get_by_label("Dry").check()
    page.shot("portal-camera-taken")
    page.get_by_role("button", name="Send the photo").click()
    page.wait_for_load_state()
    page.shot("portal-camera-after-send")
    page.wait_for_url("**/portal/photos/*/")
    photo = Photo.objects.get(patient=patient)
    assert photo.original_format == "jpeg" and photo.width_px > 0 and photo.derived_sha256
    page.shot("portal-camera-sent")


def test_the_clinic_sees_the_baseline_as_a_ghost_over_the_live_picture(page, patient, media, settings):  # noqa: F811
    from trichotrack.web.photos import services
    from trichotrack.web.photos.models import View

    settings.REQUIRE_MFA = False
    alice = patient.clinic.memberships.get(user__username="alice").user
    first = services.new_session(patient, user=alice, taken_on=dt.date.today() - dt.timedelta(days=60))
    checked = services.check_files([files.upload("v.jpg", files.jpeg(files.head("top").image))])
    (baseline,) = services.store_photos(first, checked, user=alice, view=View.VERTEX)
    session = services.new_session(patient, user=alice)
    sign_in(page)
    page.goto(f"/photos/sessions/{session.pk}/")
    page.get_by_label("View").select_option("vertex")
    page.get_by_role("button", name="Use camera").click()
    page.locator("#camera[data-state=live]").wait_for()
    ghost = page.locator("#camera-ghost")
    ghost.wait_for()
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.getElementById('camera-ghost').naturalWidth") > 0  # loaded
    assert ghost.is_visible() and ghost.get_attribute("src") == f"/photos/{baseline.pk}/image/derived/"
    assert not page.locator("#camera-card").is_visible()
    page.get_by_label("View").select_option("shed")  # switching the view switches the guide
    assert page.locator("#camera-card").is_visible() and not ghost.is_visible()
    page.get_by_label("View").select_option("vertex")
    page.shot("session-camera-ghost")
    page.get_by_role("button", name="Take photo").click()
    page.get_by_text("Photo taken").wait_for()
    chosen = page.evaluate("Array.from(document.getElementById('id_files').files, f => f.type)")
    assert chosen == ["image/jpeg"]
    page.locator("#ghost-check").wait_for()  # photos.js's framing check saw the new file
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("1 photo(s) stored.").wait_for()
    page.shot("session-camera-uploaded")


@pytest.mark.parametrize(
    ("init_script", "sentence"),
    [
        (
            "navigator.mediaDevices.getUserMedia = () =>"
            " Promise.reject(new DOMException('no', 'NotAllowedError'));",
            "Camera access was refused",
        ),
        (
            "Object.defineProperty(Navigator.prototype, 'mediaDevices', {get: () => undefined});",
            "secure (https)",
        ),
    ],
    ids=["refused", "no-https"],
)
def test_without_a_camera_a_sentence_says_why_and_the_file_chooser_stays(
    page,  # noqa: F811
    patient,
    init_script,
    sentence,
):
    page.add_init_script(init_script)  # runs before the page's scripts, outside its CSP
    sign_in(page, "pat")
    page.goto("/portal/shedding/")
    button = page.get_by_role("button", name="Use camera")
    if button.is_enabled():
        button.click()
    page.get_by_text(sentence).wait_for()
    assert not page.locator("#camera-stage").is_visible()
    assert page.get_by_label("Photo of the hairs on the card").is_visible()
