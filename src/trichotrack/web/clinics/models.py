from django.conf import settings
from django.db import models


class Clinic(models.Model):
    name = models.CharField(max_length=200)
    country = models.CharField(
        max_length=100, blank=True, help_text="Jurisdiction for the regulatory checklist."
    )
    region = models.CharField(max_length=100, blank=True, help_text="State or region.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    CLINICIAN = "clinician", "Clinician"
    NURSE = "nurse", "Nurse"
    LAB = "lab", "Laboratory"
    PATIENT = "patient", "Patient"
    RESEARCHER = "researcher", "Researcher (de-identified, read-only)"
    ADMIN = "admin", "Administrator"


# Who may do what. Views name one of these sets; the middleware and decorators enforce them.
STAFF_ROLES = frozenset({Role.CLINICIAN, Role.NURSE, Role.LAB, Role.ADMIN})
READ_ROLES = STAFF_ROLES | {Role.RESEARCHER}
CLINICIAN_ROLES = frozenset({Role.CLINICIAN, Role.ADMIN})


class Membership(models.Model):
    """A user's single place of work and role. Every clinical query is filtered by this clinic."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        ordering = ["clinic", "user__username"]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} at {self.clinic}"

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_clinician(self) -> bool:
        return self.role in CLINICIAN_ROLES

    @property
    def can_identify(self) -> bool:
        """Researchers see codes, never names or dates of birth."""
        return self.role in STAFF_ROLES
