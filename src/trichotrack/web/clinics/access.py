"""Access rules shared by every view.

A view names the roles that may read it; researchers may read but never write (any POST is refused);
objects of another clinic are looked up with the clinic in the query, so they are 404, never 403.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from .models import CLINICIAN_ROLES, READ_ROLES, STAFF_ROLES, Role


def clinic_view(roles=READ_ROLES, write_roles=STAFF_ROLES):
    """Login required, a clinic membership with one of `roles`, and writes only by `write_roles`."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            m = request.membership
            if m is None or m.role not in roles:
                raise PermissionDenied("Your role does not give access to this page.")
            if needs_second_factor(request):
                return redirect(f"{reverse('mfa')}?{urlencode({'next': request.get_full_path()})}")
            if request.method not in ("GET", "HEAD", "OPTIONS") and m.role not in write_roles:
                raise PermissionDenied("Read-only access.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def needs_second_factor(request) -> bool:
    """Clinic staff who have not yet given a one-time code in this session."""
    m = request.membership
    return settings.REQUIRE_MFA and m is not None and m.role in STAFF_ROLES and not request.user.is_verified()


staff_view = clinic_view(STAFF_ROLES)
clinician_view = clinic_view(CLINICIAN_ROLES)


def patient_view(view):
    """For the patient's own pages: login required and the patient role."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        m = request.membership
        if m is None or m.role != Role.PATIENT:
            raise PermissionDenied("Only for patients.")
        return view(request, *args, **kwargs)

    return wrapper
