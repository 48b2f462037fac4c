import dataclasses
import datetime as dt

import pytest

from trichotrack.evidence import AdverseEvent, Event, Measurement, PatientRecord

DAY = dt.date(2026, 3, 2)


def test_measurement_keeps_its_values_and_is_frozen():
    m = Measurement(DAY, 48, "hairs", "shed_photo_count", low=44, high=53, interval_level=0.8, ref="photo-17")
    assert (m.value, m.low, m.high, m.interval_level, m.ref) == (48.0, 44.0, 53.0, 0.8, "photo-17")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.value = 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"date": dt.datetime(2026, 3, 2, 9, 0)}, "date"),
        ({"date": "2026-03-02"}, "date"),
        ({"value": float("nan")}, "value"),
        ({"value": True}, "value"),
        ({"unit": ""}, "unit"),
        ({"kind": " "}, "kind"),
        ({"low": 40}, "low and high"),
        ({"low": 49, "high": 53, "interval_level": 0.8}, "low <= value <= high"),
        ({"low": 40, "high": 53}, "interval_level"),
        ({"low": 40, "high": 53, "interval_level": 80}, "interval_level"),
        ({"interval_level": 0.8}, "interval_level"),
        ({"days_since_shampoo": -1}, "days_since_shampoo"),
        ({"days_since_shampoo": 2.5}, "days_since_shampoo"),
        ({"hair_state": 3}, "hair_state"),
    ],
)
def test_measurement_rejects_bad_values_naming_them(kwargs, match):
    args = {"date": DAY, "value": 48, "unit": "hairs", "kind": "wash_test_count", **kwargs}
    with pytest.raises(ValueError, match=match):
        Measurement(**args)


def test_event_and_adverse_event_validate():
    with pytest.raises(ValueError, match="event kind"):
        Event(DAY, "holiday")
    with pytest.raises(ValueError, match="term"):
        AdverseEvent(DAY, "")
    with pytest.raises(ValueError, match="serious"):
        AdverseEvent(DAY, "bruising", serious="yes")


def test_patient_record_stores_tuples_and_leaves_the_callers_lists_alone():
    ms = [Measurement(DAY, 100, "hairs", "wash_test_count")]
    events = [Event(DAY, "surgery", "liposuction")]
    record = PatientRecord("P1", DAY, ms, events=events)
    assert isinstance(record.measurements, tuple) and isinstance(record.events, tuple)
    assert len(ms) == 1 and len(events) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"group": "placebo"}, "group"),
        ({"patient_id": ""}, "patient_id"),
        ({"measurements": [3.0]}, "measurements"),
        ({"events": [AdverseEvent(DAY, "x")]}, "events"),
    ],
)
def test_patient_record_rejects_bad_values(kwargs, match):
    args = {"patient_id": "P1", "index_date": DAY, **kwargs}
    with pytest.raises(ValueError, match=match):
        PatientRecord(**args)
