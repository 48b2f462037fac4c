"""Plain inputs of the evidence core: measurements, dated events and a patient's record.

These are frozen dataclasses of plain values (dates, floats, strings), so that the web app can build them
from its rows and tests can write them by hand. Each checks its own values when it is built and raises a
`ValueError` that names the bad value.

Typical use::

    record = PatientRecord(
        patient_id="P-0007",
        index_date=date(2026, 3, 2),  # the treatment day; the start of observation for an untreated patient
        measurements=(
            Measurement(date(2026, 2, 20), 130, unit="hairs", kind="wash_test_count", days_since_shampoo=5),
            Measurement(date(2026, 2, 27), 118, unit="hairs", kind="wash_test_count", days_since_shampoo=5),
            Measurement(date(2026, 7, 1), 70, unit="hairs", kind="wash_test_count", days_since_shampoo=5),
        ),
        events=(Event(date(2026, 3, 2), "surgery", label="liposuction for the fat harvest"),),
    )
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

__all__ = [
    "EVENT_KINDS",
    "GROUPS",
    "KINDS",
    "AdverseEvent",
    "Event",
    "KindInfo",
    "Measurement",
    "PatientRecord",
]


@dataclass(frozen=True)
class KindInfo:
    """What the evidence core needs to know about a kind of measurement.

    Attributes
    ----------
    label : str
        Plain name used in sentences, e.g. ``"wash-test count"``.
    higher_is_better : bool
        True for density or shaft width, False for shed-hair counts.
    shedding : bool
        The measure counts shed hairs: the natural course of shedding, the shampoo interval and the season
        matter most for it.
    event_count : bool
        A count of independent events (hairs shed in a wash or a combing). Such a count varies from day to
        day by at least its square root by chance alone (Poisson), which is used as a floor for the
        measurement error. False for counts of hairs present in a fixed area.
    """

    label: str
    higher_is_better: bool
    shedding: bool
    event_count: bool


#: The measurement kinds the core knows. Other kinds need a `KindInfo` from the caller.
KINDS: dict[str, KindInfo] = {
    "wash_test_count": KindInfo("wash-test count", higher_is_better=False, shedding=True, event_count=True),
    "comb_test_count": KindInfo(
        "60-second comb count", higher_is_better=False, shedding=True, event_count=True
    ),
    "daily_shed_count": KindInfo(
        "daily shed-hair count", higher_is_better=False, shedding=True, event_count=True
    ),
    "shed_photo_count": KindInfo(
        "shed-hair count from the card photo", higher_is_better=False, shedding=True, event_count=True
    ),
    "pull_test_count": KindInfo("pull-test count", higher_is_better=False, shedding=True, event_count=True),
    "density_per_cm2": KindInfo("hair density", higher_is_better=True, shedding=False, event_count=False),
    "terminal_density_per_cm2": KindInfo(
        "terminal hair density", higher_is_better=True, shedding=False, event_count=False
    ),
    "shaft_width_um": KindInfo(
        "mean hair-shaft width", higher_is_better=True, shedding=False, event_count=False
    ),
    # Global views (trichotrack.measure.scalp): the share of the view's scalp region where scalp shows, in
    # percent, one kind per view (views are not comparable with each other); the frontal hairline's recession
    # index (0 a full juvenile hairline, 1 no frontal hair); the width of the mid-line part.
    **{
        f"scalp_visible_pct_{view}": KindInfo(
            f"visible scalp ({label} view)", higher_is_better=False, shedding=False, event_count=False
        )
        for view, label in (
            ("vertex", "vertex"),
            ("frontal", "frontal"),
            ("midpart", "mid-part"),
            ("temporal_left", "left temporal"),
            ("temporal_right", "right temporal"),
        )
    },
    "hairline_recession_index": KindInfo(
        "frontal hairline recession index", higher_is_better=False, shedding=False, event_count=False
    ),
    "part_width_mm": KindInfo(
        "mid-line part width", higher_is_better=False, shedding=False, event_count=False
    ),
}

#: Kinds of dated events a record can hold.
#: ``surgery``: any operation, the liposuction of the fat harvest included (it can trigger shedding);
#: ``trigger``: another possible trigger of shedding (fever, childbirth, crash diet, a new drug);
#: ``concurrent_treatment``: another hair-loss treatment started (minoxidil, finasteride, ...);
#: ``shedding_onset``: when the present episode of shedding began.
EVENT_KINDS = ("surgery", "trigger", "concurrent_treatment", "shedding_onset")

#: ``treated`` patients received the treatment at their index date; ``untreated`` and ``waitlist`` patients
#: form the comparison group (for a wait-list patient, pass only the measurements of the waiting period).
GROUPS = ("treated", "untreated", "waitlist")


def _check_date(value, *, name: str) -> None:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(f"{name} must be a datetime.date (not a datetime), got {value!r}")


def _check_text(value, *, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def _finite(value, *, name: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


@dataclass(frozen=True)
class Measurement:
    """One measured value on one day.

    Attributes
    ----------
    date : datetime.date
        The day the measurement was taken (not a datetime).
    value : float
        The measured value, in `unit`.
    unit : str
        E.g. ``"hairs"``, ``"hairs/cm2"``, ``"um"``. One kind of one patient shares one unit.
    kind : str
        E.g. ``"wash_test_count"``, ``"comb_test_count"``, ``"density_per_cm2"`` (see `KINDS`).
    low, high : float or None
        An interval around `value` from the measurement itself, e.g. ``count_low`` and ``count_high`` of a
        shed-hair photo. Both or neither; ``low <= value <= high``.
    interval_level : float or None
        How often `low` .. `high` holds the true value, e.g. 0.80 for a shed-hair photo's count interval.
        Required with `low` and `high`: an interval of unknown coverage cannot be turned into an error.
    days_since_shampoo : int or None
        Days since the hair was last washed (counts rise with the interval; the modified wash test fixes 5).
    hair_state : str or None
        A short description of length and colouring, e.g. ``"shoulder length, natural"``. Compared between
        visits ignoring case and surrounding spaces.
    surface : str or None
        Where shed hairs were photographed when it decides which of them show, e.g. ``"card, white field"``
        or ``"card, dark field"`` (light hairs barely show on white). Compared between visits as
        `hair_state` is; None: not known.
    ref : str or None
        The caller's identifier of the row this came from; carried through untouched.
    """

    date: dt.date
    value: float
    unit: str
    kind: str
    low: float | None = None
    high: float | None = None
    interval_level: float | None = None
    days_since_shampoo: int | None = None
    hair_state: str | None = None
    surface: str | None = None
    ref: str | None = None

    def __post_init__(self):
        _check_date(self.date, name="date")
        object.__setattr__(self, "value", _finite(self.value, name="value"))
        _check_text(self.unit, name="unit")
        _check_text(self.kind, name="kind")
        if (self.low is None) != (self.high is None):
            raise ValueError(f"low and high must be given together, got low={self.low!r}, high={self.high!r}")
        if self.low is not None:
            low, high = _finite(self.low, name="low"), _finite(self.high, name="high")
            if not low <= self.value <= high:
                raise ValueError(f"need low <= value <= high, got {low} <= {self.value} <= {high}")
            if self.interval_level is None:
                raise ValueError("interval_level is required with low and high (e.g. 0.80), got None")
            level = _finite(self.interval_level, name="interval_level")
            if not 0.0 < level < 1.0:
                raise ValueError(f"interval_level must be between 0 and 1, got {level}")
            object.__setattr__(self, "low", low)
            object.__setattr__(self, "high", high)
            object.__setattr__(self, "interval_level", level)
        elif self.interval_level is not None:
            raise ValueError(f"interval_level given without low and high: {self.interval_level!r}")
        if self.days_since_shampoo is not None and (
            isinstance(self.days_since_shampoo, bool)
            or not isinstance(self.days_since_shampoo, int)
            or self.days_since_shampoo < 0
        ):
            raise ValueError(
                f"days_since_shampoo must be an int >= 0 or None, got {self.days_since_shampoo!r}"
            )
        if self.hair_state is not None and not isinstance(self.hair_state, str):
            raise ValueError(f"hair_state must be a string or None, got {self.hair_state!r}")
        if self.surface is not None and not isinstance(self.surface, str):
            raise ValueError(f"surface must be a string or None, got {self.surface!r}")


@dataclass(frozen=True)
class Event:
    """A dated event that can change the measurements without the treatment.

    Attributes
    ----------
    date : datetime.date
    kind : str
        One of `EVENT_KINDS`.
    label : str
        Plain description, e.g. ``"liposuction for the fat harvest"`` or ``"minoxidil 5 % foam"``.
    """

    date: dt.date
    kind: str
    label: str = ""

    def __post_init__(self):
        _check_date(self.date, name="date")
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"event kind must be one of {EVENT_KINDS}, got {self.kind!r}")
        if not isinstance(self.label, str):
            raise ValueError(f"label must be a string, got {self.label!r}")


@dataclass(frozen=True)
class AdverseEvent:
    """An adverse event of one patient.

    Attributes
    ----------
    date : datetime.date
    term : str
        What happened, e.g. ``"bruising at the harvest site"``. Rates are counted per term, ignoring case.
    serious : bool
    """

    date: dt.date
    term: str
    serious: bool = False

    def __post_init__(self):
        _check_date(self.date, name="date")
        _check_text(self.term, name="term")
        if not isinstance(self.serious, bool):
            raise ValueError(f"serious must be True or False, got {self.serious!r}")


@dataclass(frozen=True)
class PatientRecord:
    """Everything the evidence core reads about one patient.

    Attributes
    ----------
    patient_id : str
    index_date : datetime.date
        The treatment day for a treated patient; the start of the observation period for an untreated or
        wait-list patient. Measurements on or before it are the baseline, later ones are follow-ups.
    measurements : tuple of Measurement
        Any kinds; the analysis picks one kind. Lists are accepted and stored as tuples.
    group : str
        One of `GROUPS`.
    events : tuple of Event
    adverse_events : tuple of AdverseEvent
    """

    patient_id: str
    index_date: dt.date
    measurements: tuple[Measurement, ...] = ()
    group: str = "treated"
    events: tuple[Event, ...] = ()
    adverse_events: tuple[AdverseEvent, ...] = field(default=())

    def __post_init__(self):
        _check_text(self.patient_id, name="patient_id")
        _check_date(self.index_date, name="index_date")
        if self.group not in GROUPS:
            raise ValueError(f"group must be one of {GROUPS}, got {self.group!r}")
        for name, cls in (("measurements", Measurement), ("events", Event), ("adverse_events", AdverseEvent)):
            items = tuple(getattr(self, name))
            for item in items:
                if not isinstance(item, cls):
                    raise ValueError(f"{name} must hold {cls.__name__} objects, got {item!r}")
            object.__setattr__(self, name, items)
