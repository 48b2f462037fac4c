"""Capture guidance: the "Use camera" button with the baseline ghost (session page) or the card outline
(portal), loaded CSP-compatibly, the ghost served only through the access-checked image view."""

import json
import re

from django.urls import reverse

from trichotrack.web.photos import services
from trichotrack.web.photos.models import View
from trichotrack.web.test import login_verified

from . import files
from .base import PhotoTestCase


class CameraTest(PhotoTestCase):
    def setUp(self):
        self.baseline = self.add_photo(data=files.jpeg(files.head("top").image), view=View.VERTEX)
        self.session = services.new_session(self.patient, user=self.alice)

    def test_the_session_page_offers_the_camera_with_the_baseline_of_each_view_as_its_ghost(self):
        self.login(self.alice)
        html = self.client.get(self.session.get_absolute_url()).content.decode()
        assert re.search(r'<button type="button" id="camera-open" hidden>Use camera</button>', html)
        assert 'data-input="id_files" data-view="id_view" data-ghosts="ghost-data"' in html
        assert "trichotrack/camera.js" in html and "trichotrack/camera.css" in html
        ghosts = json.loads(
            re.search(r'<script id="ghost-data" type="application/json">(.*?)</script>', html)[1]
        )
        assert ghosts == {"vertex": reverse("photos:image", args=[self.baseline.pk, "derived"])}
        assert 'id="camera-card"' in html  # the card outline for shed photos
        # The file chooser is still there for browsers without a camera or JavaScript.
        assert 'type="file" name="files"' in html

    def test_the_ghost_is_served_only_to_the_patients_clinic(self):
        url = reverse("photos:image", args=[self.baseline.pk, "derived"])
        self.login(self.alice)
        response = self.client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        self.client.logout()
        assert self.client.get(url).status_code == 302  # to the sign-in page
        login_verified(self.client, self.charlie)
        assert self.client.get(url).status_code == 404

    def test_the_portal_offers_the_camera_with_the_card_outline_for_one_photo(self):
        self.login(self.pat)
        html = self.client.get(reverse("portal:shed")).content.decode()
        assert ">Use camera</button>" in html
        assert 'data-input="id_files" data-single>' in html
        assert 'id="camera-card"' in html and "Card edges here" in html
        assert "data-ghosts" not in html  # no other photo is shown to the patient
        assert "trichotrack/camera.js" in html

    def test_no_inline_script_or_style_is_needed(self):
        self.login(self.alice)
        response = self.client.get(self.session.get_absolute_url())
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        html = response.content.decode()
        camera = html[html.index('id="camera"') : html.index('id="camera-canvas"')]
        assert "style=" not in camera and "<script" not in camera and "onclick" not in camera
