"""Second factor for clinic staff: TOTP enrolment at first sign-in, then a code at every sign-in.

Recovery codes (django-otp's static device) stand in for a lost phone: ten are made at enrolment and shown
once, each works once, the account page shows how many are left and makes a new set (the old set then stops
working).
"""

import re

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from trichotrack.web import audit

RECOVERY_DEVICE_NAME = "recovery"
N_RECOVERY_CODES = 10
FEW_RECOVERY_CODES = 3
# Recovery codes are shown once, to the session that made them, and removed from it when shown.
SESSION_CODES_KEY = "_trichotrack_recovery_codes"
SESSION_NEXT_KEY = "_trichotrack_recovery_next"
_TOTP_RE = re.compile(r"^\d{6}$")


class TokenForm(forms.Form):
    token = forms.CharField(
        label="6-digit code from your authenticator app",
        max_length=20,
        min_length=6,
        help_text="Lost your phone? Enter one of your recovery codes instead.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "autocapitalize": "off"}
        ),
    )


def _clinic(request):
    return getattr(request.membership, "clinic", None)


def _next_url(request):
    url = request.POST.get("next") or request.GET.get("next") or "/"
    return url if url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}) else "/"


def normalize_recovery_code(code: str) -> str:
    """'ABCD-EFGH', 'abcd efgh' → 'abcdefgh': codes are shown in two groups and typed however."""
    return re.sub(r"[\s-]", "", code).lower()


def format_recovery_code(token: str) -> str:
    return f"{token[:4]}-{token[4:]}"


@transaction.atomic
def new_recovery_codes(user) -> list[str]:
    """A fresh set of recovery codes for `user`; every earlier code stops working. Returns them formatted,
    the only time they are available in clear to show."""
    StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    tokens = set()
    while len(tokens) < N_RECOVERY_CODES:
        tokens.add(StaticToken.random_token())
    StaticToken.objects.bulk_create(StaticToken(device=device, token=t) for t in sorted(tokens))
    return [format_recovery_code(t) for t in sorted(tokens)]


def remaining_recovery_codes(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_DEVICE_NAME).count()


def use_recovery_code(user, code: str) -> StaticDevice | None:
    """The recovery device if `code` is one of `user`'s unused codes, which is then used up; None otherwise.

    The code is deleted with one DELETE whose row count decides: two sign-ins racing with the same code cannot
    both succeed. Wrong guesses are throttled by django-otp (growing delays).
    """
    device = StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True).first()
    if device is None:
        return None
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return None
    token = normalize_recovery_code(code)
    deleted, _ = StaticToken.objects.filter(device=device, token=token).delete() if token else (0, {})
    if not deleted:
        device.throttle_increment()
        return None
    device.throttle_reset(commit=False)
    device.set_last_used_timestamp(commit=False)
    device.save()
    return device


def _show_codes_once(request, codes, next_url):
    request.session[SESSION_CODES_KEY] = codes
    request.session[SESSION_NEXT_KEY] = next_url
    return redirect("mfa_recovery_codes")


@login_required
def mfa(request):
    if request.user.is_verified():
        return redirect(_next_url(request))
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    enrolling = device is None
    if enrolling:
        # One pending device per user, kept until confirmed, so a reload shows the same QR code.
        device, _ = TOTPDevice.objects.get_or_create(
            user=request.user, confirmed=False, defaults={"name": "app"}
        )
    form = TokenForm(request.POST or None)
    if enrolling:
        form.fields["token"].help_text = ""  # no recovery codes before the authenticator is set up
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"].strip()
        if _TOTP_RE.match(token) and device.verify_token(token):
            otp_login(request, device)
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                audit.record(request.user, "account.mfa_enrolled", clinic=_clinic(request))
                codes = new_recovery_codes(request.user)
                audit.record(request.user, "account.recovery_codes_made", clinic=_clinic(request))
                return _show_codes_once(request, codes, _next_url(request))
            return redirect(_next_url(request))
        recovery = None if enrolling or _TOTP_RE.match(token) else use_recovery_code(request.user, token)
        if recovery is not None:
            otp_login(request, recovery)
            left = remaining_recovery_codes(request.user)
            clinic = _clinic(request)
            audit.record(request.user, "account.recovery_code_used", clinic=clinic, data={"left": left})
            level = messages.WARNING if left <= FEW_RECOVERY_CODES else messages.INFO
            messages.add_message(
                request,
                level,
                f"Signed in with a recovery code; {left} left. Make a new set on your account page.",
            )
            return redirect(_next_url(request))
        form.add_error("token", "That code is not valid. Check the time on your phone and try again.")
        audit.record(request.user, "account.mfa_failed", clinic=_clinic(request))
    context = {"form": form, "enrolling": enrolling, "next": _next_url(request)}
    if enrolling:
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_data_uri(scale=4)
        context["secret"] = device.config_url.split("secret=")[1].split("&")[0]
    return render(request, "registration/mfa.html", context)


@login_required
def recovery_codes(request):
    """The codes just made, shown once: they are taken out of the session as this page is rendered."""
    codes = request.session.pop(SESSION_CODES_KEY, None)
    next_url = request.session.pop(SESSION_NEXT_KEY, None) or "/"
    response = render(request, "registration/recovery_codes.html", {"codes": codes, "next": next_url})
    response["Cache-Control"] = "no-store"
    return response


@login_required
def account_security(request):
    """The signed-in user's second factor: authenticator enrolled or not, recovery codes left, a new set."""
    has_totp = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
    if request.method == "POST":
        return _regenerate(request, has_totp)
    context = {"has_totp": has_totp, "n_codes": remaining_recovery_codes(request.user)}
    return render(request, "registration/security.html", context)


def _regenerate(request, has_totp):
    if not has_totp:
        messages.error(request, "Set up an authenticator app first; recovery codes go with it.")
        return redirect("account_security")
    if not request.user.is_verified():
        # A new set is a change to the second factor: it needs the second factor given in this session.
        return redirect(f"{reverse('mfa')}?{urlencode({'next': request.path})}")
    codes = new_recovery_codes(request.user)
    audit.record(request.user, "account.recovery_codes_made", clinic=_clinic(request))
    return _show_codes_once(request, codes, reverse("account_security"))
