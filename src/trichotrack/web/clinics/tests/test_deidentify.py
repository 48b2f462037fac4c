"""The researcher's view of sentences that name dates (the evidence core's caveats): day offsets instead."""

import datetime as dt

from trichotrack.web.clinics.deidentify import dates_as_day_offsets, day_offset_label

ANCHOR = dt.date(2015, 12, 1)


def test_iso_dates_become_days_from_the_first_treatment():
    text = "Minoxidil started on 2015-10-01, 9 weeks before. Surgery on 2015-12-01; follow-up on 2016-02-20."
    assert dates_as_day_offsets(text, ANCHOR) == (
        "Minoxidil started on day −61, 9 weeks before. Surgery on day 0; follow-up on day +81."
    )
    assert day_offset_label(dt.date(2016, 2, 20), ANCHOR) == "day +81"  # the same words as {% when %}


def test_the_months_of_the_patients_measurements_are_left_out_but_not_the_literatures():
    text = (
        "The baseline (January–February) and this follow-up (April) are 10 weeks apart in the calendar year. "
        "Shedding peaks around October–November."
    )
    assert dates_as_day_offsets(text, ANCHOR) == (
        "The baseline and this follow-up are 10 weeks apart in the calendar year. "
        "Shedding peaks around October–November."
    )


def test_the_season_of_the_patients_own_date_is_left_out():
    text = (
        "The baseline (March) and this follow-up (October) are 30 weeks apart in the calendar year. "
        "Compare measurements from the same time of year. "
        "Here the follow-up falls in the autumn shedding season (northern hemisphere)."
    )
    assert dates_as_day_offsets(text, ANCHOR) == (
        "The baseline and this follow-up are 30 weeks apart in the calendar year. "
        "Compare measurements from the same time of year."
    )


def test_without_a_treatment_or_with_a_date_that_is_none_the_date_is_hidden():
    assert dates_as_day_offsets("no baseline on or before 2016-01-20.", None) == (
        "no baseline on or before [date hidden]."
    )
    assert dates_as_day_offsets("ref 2016-13-45", ANCHOR) == "ref [date hidden]"
    assert dates_as_day_offsets("", ANCHOR) == "" and dates_as_day_offsets(None, ANCHOR) == ""
    assert dates_as_day_offsets("12345-01-011 and 3 hairs", ANCHOR) == "12345-01-011 and 3 hairs"
