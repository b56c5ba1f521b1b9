from datetime import timedelta

import pytest

from catalog.durations import format_duration, parse_duration


@pytest.mark.parametrize("text, expected", [
    ("7d", timedelta(days=7)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2)),
    ("2y", timedelta(days=730)), ("6mo", timedelta(days=180)), ("90min", timedelta(minutes=90)),
    ("1.5d", timedelta(hours=36)), ("P30D", timedelta(days=30)), ("PT12H", timedelta(hours=12)),
    ("P1Y2M", timedelta(days=425)), (3600, timedelta(hours=1)),
])
def test_durations_people_write_are_parsed(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text, fragment", [
    ("6m", "ambiguous"), ("7 days", "unknown unit 'days'"), ("soon", "expected a duration"),
    ("P", "expected a duration"), (True, "expected a duration"), ([], "expected a duration"),
])
def test_bad_durations_say_what_was_expected(text, fragment):
    with pytest.raises(ValueError) as raised:
        parse_duration(text)
    assert fragment in str(raised.value)


@pytest.mark.parametrize("text", ["7d", "12h", "2y", "14d", "90min", "45s", "400d"])
def test_format_duration_round_trips_compact_forms(text):
    assert format_duration(parse_duration(text)) == text
