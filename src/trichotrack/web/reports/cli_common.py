"""What ``trichotrack report`` and ``trichotrack export`` share: setting Django up, finding the clinic, naming
the operating-system user for the audit trail, and a progress bar on stderr."""

import getpass
import sys
import time


class ClinicNotFound(ValueError):
    """The --clinic value names no clinic, or several, or none was given where several exist."""


def setup() -> None:
    """Set Django up like `trichotrack serve` does, unless the caller (a test, a shell) already has."""
    from django.apps import apps

    if not apps.ready:
        from trichotrack.web.commands import _prepare

        _prepare()


def resolve_clinic(name_or_id: str | None):
    """The clinic with this id or exact name (case-insensitive), or the only clinic when none is named."""
    from trichotrack.web.clinics.models import Clinic

    clinics = Clinic.objects.order_by("pk")
    if name_or_id is None:
        found = list(clinics[:2])
        if len(found) == 1:
            return found[0]
        if not found:
            raise ClinicNotFound("the database holds no clinic (load one with `trichotrack demo-data`)")
        names = ", ".join(f"{c.pk} ({c.name})" for c in clinics)
        raise ClinicNotFound(f"the database holds several clinics; choose one with --clinic: {names}")
    text = name_or_id.strip()
    if text.isdigit():
        clinic = clinics.filter(pk=int(text)).first()
        if clinic is not None:
            return clinic
    matches = list(clinics.filter(name__iexact=text)[:2])
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ClinicNotFound(f"several clinics are named {text!r}; give the id instead")
    raise ClinicNotFound(f"no clinic with id or name {text!r}")


def via() -> str:
    """The audit trail's note of who ran the command: the operating-system user (there is no app user)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


class ProgressBar:
    """``progress(step, fraction)`` drawn on one line of `stream` — only when it is a terminal, so that
    pipes, logs and tests see nothing; stdout is never touched. Call `close` at the end."""

    WIDTH = 24

    def __init__(self, stream=None, *, seconds: float = 0.1):
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.seconds, self.last, self.drawn = seconds, 0.0, 0

    def __call__(self, step: str, fraction: float) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < self.seconds and fraction < 1.0:
            return
        self.last = now
        fraction = min(max(float(fraction), 0.0), 1.0)
        filled = round(self.WIDTH * fraction)
        line = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction:4.0%} {step}"[:100]
        self.stream.write("\r" + line.ljust(self.drawn))
        self.stream.flush()
        self.drawn = len(line)

    def close(self) -> None:
        """End the bar's line (nothing when nothing was drawn)."""
        if self.enabled and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = 0
