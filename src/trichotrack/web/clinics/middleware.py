import time

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import connections, router
from django.utils.cache import patch_vary_headers
from django_otp import middleware as otp_middleware
from django_otp.models import Device

from trichotrack.web import rawsql

from .models import Membership


class MembershipMiddleware:
    """Puts the signed-in user's clinic membership on ``request.membership`` (None if there is none).

    The authentication backend (clinics.backends) has usually loaded it with the user, in the same query; a
    user signed in through another backend costs one query here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        user = request.user
        if user.is_authenticated:
            if get_user_model().membership.related.is_cached(user):
                request.membership = getattr(user, "membership", None)
            else:
                request.membership = Membership.objects.select_related("clinic").filter(user=user).first()
        return self.get_response(request)


class IdleSessionMiddleware(SessionMiddleware):
    """Django's SessionMiddleware with a cheaper SESSION_SAVE_EVERY_REQUEST.

    Idle sessions expire because the expiry is pushed forward as the user works. Django does that by saving
    the session on every request: one write transaction per page view (on SQLite a synced commit, with all
    writers queueing for one lock), even for pages that only read. Here an unchanged session is saved only
    when its last save is more than SESSION_REFRESH_SECONDS old (default 60), so an idle session expires
    between SESSION_COOKIE_AGE minus that interval and SESSION_COOKIE_AGE after the last request. A changed
    session is saved at once, as before.
    """

    TOUCHED_KEY = "_trichotrack_touched"

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if session is None:
            return response
        if settings.SESSION_SAVE_EVERY_REQUEST and not session.is_empty():
            now = int(time.time())
            refresh = min(getattr(settings, "SESSION_REFRESH_SECONDS", 60), settings.SESSION_COOKIE_AGE // 10)
            touched = session.get(self.TOUCHED_KEY)
            if session.modified or not isinstance(touched, int) or now - touched >= refresh:
                session[self.TOUCHED_KEY] = now  # marks the session modified: the parent saves it
            return self._respond(request, response)
        return super().process_response(request, response)

    def _respond(self, request, response):
        """The parent's process_response, saving only a modified session."""
        session = request.session
        if not session.modified:
            if session.accessed:
                patch_vary_headers(response, ("Cookie",))
            return response
        return super().process_response(request, response)


class OTPMiddleware(otp_middleware.OTPMiddleware):
    """django-otp's middleware, loading the session's second-factor device with one hand-written SELECT.

    Every request of signed-in staff loads it (``request.user.is_verified()``); the ORM's query cost about
    400 µs of CPU, this one a tenth. django-otp still checks that the device is the user's and confirmed.
    """

    def _device_from_persistent_id(self, persistent_id: str):
        persistent_id = self._normalize_persistent_id(persistent_id)
        try:
            model_label, device_id = persistent_id.rsplit("/", 1)
            device_class, device_id = apps.get_model(model_label), int(device_id)
        except (ValueError, LookupError):
            return None
        if not issubclass(device_class, Device):
            return None
        return rawsql.get(device_class, device_id, connections[router.db_for_read(device_class)])
