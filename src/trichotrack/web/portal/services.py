"""Portal invitations: a signed token (TimestampSigner) naming the invitation; used once; revocable."""

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.utils import timezone

from trichotrack.web import audit
from trichotrack.web.clinics.models import Membership, Role

from .models import Invitation

SALT = "trichotrack.portal.invitation"


class InvitationInvalid(ValueError):
    """The link cannot be used; the message says why."""


def invite(patient, *, user) -> tuple[Invitation, str]:
    """A new invitation for `patient` and its token (shown once; only its signature is checked later)."""
    invitation = Invitation.objects.create(
        patient=patient, created_by=user, expires_at=timezone.now() + dt.timedelta(days=settings.INVITE_DAYS)
    )
    audit.record(user, "portal.invited", invitation, data={"expires_at": invitation.expires_at.isoformat()})
    return invitation, token_for(invitation)


def token_for(invitation: Invitation) -> str:
    return signing.TimestampSigner(salt=SALT).sign(f"{invitation.pk}.{invitation.patient_id}")


def invitation_for_token(token: str) -> Invitation:
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(
            token, max_age=dt.timedelta(days=settings.INVITE_DAYS)
        )
    except signing.SignatureExpired:
        raise InvitationInvalid("This invitation link has expired; ask the clinic for a new one.") from None
    except signing.BadSignature:
        raise InvitationInvalid("This invitation link is not valid.") from None
    pk, patient_id = (int(v) for v in value.split("."))
    invitation = (
        Invitation.objects.select_related("patient__clinic").filter(pk=pk, patient_id=patient_id).first()
    )
    if invitation is None:
        raise InvitationInvalid("This invitation link is not valid.")
    state = invitation.state(timezone.now())
    if state != "open":
        raise InvitationInvalid(
            {
                "revoked": "This invitation was withdrawn by the clinic.",
                "accepted": "This invitation has already been used; sign in instead.",
                "expired": "This invitation link has expired; ask the clinic for a new one.",
            }[state]
        )
    return invitation


@transaction.atomic
def accept(invitation: Invitation, *, username: str, password: str):
    """Create the patient's login (or reactivate it) and mark the invitation used. Returns the user."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.state(timezone.now()) != "open":
        raise InvitationInvalid("This invitation can no longer be used.")
    patient = invitation.patient
    User = get_user_model()
    user = patient.user
    if user is None:
        user = User.objects.create_user(username, "", password)
        Membership.objects.create(user=user, clinic=patient.clinic, role=Role.PATIENT)
        patient.user = user
        patient.save(update_fields=["user"])
    else:
        user.set_password(password)
        user.is_active = True
        user.save()
    invitation.accepted_at = timezone.now()
    invitation.user = user
    invitation.save(update_fields=["accepted_at", "user"])
    audit.record(user, "portal.joined", invitation)
    return user


@transaction.atomic
def revoke(invitation: Invitation, *, user) -> None:
    """Withdraw the invitation; if it was used, the patient's login is deactivated (sessions end with it)."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.revoked_at:
        return
    invitation.revoked_at = timezone.now()
    invitation.revoked_by = user
    invitation.save(update_fields=["revoked_at", "revoked_by"])
    if invitation.user_id:
        get_user_model().objects.filter(pk=invitation.user_id).update(is_active=False)
    audit.record(user, "portal.revoked", invitation, data={"login_deactivated": bool(invitation.user_id)})
