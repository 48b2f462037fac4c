"""Second factor for clinic staff: TOTP enrolment at first sign-in, then a code at every sign-in."""

import segno
from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from trichotrack.web import audit


class TokenForm(forms.Form):
    token = forms.CharField(
        label="6-digit code from your authenticator app",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
    )


def _next_url(request):
    url = request.POST.get("next") or request.GET.get("next") or "/"
    return url if url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}) else "/"


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
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                audit.record(
                    request.user, "account.mfa_enrolled", clinic=getattr(request.membership, "clinic", None)
                )
            otp_login(request, device)
            return redirect(_next_url(request))
        form.add_error("token", "That code is not valid. Check the time on your phone and try again.")
        audit.record(request.user, "account.mfa_failed", clinic=getattr(request.membership, "clinic", None))
    context = {"form": form, "enrolling": enrolling, "next": _next_url(request)}
    if enrolling:
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_data_uri(scale=4)
        context["secret"] = device.config_url.split("secret=")[1].split("&")[0]
    return render(request, "registration/mfa.html", context)
