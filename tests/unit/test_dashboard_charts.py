"""The dashboard's pure parts: which days a period covers and how they group, and the SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest

from portal.dashboard import period as p
from portal.dashboard import svg

D = date


@pytest.mark.parametrize(("start", "end", "by", "expected", "problem"), [
    (None, None, None, p.Period(D(2026, 11, 4), D(2026, 12, 3), "day"), None),
    (None, None, "week", p.Period(D(2026, 11, 4), D(2026, 12, 3), "week"), None),
    (D(2026, 1, 1), D(2026, 1, 31), "week", p.Period(D(2026, 1, 1), D(2026, 1, 31), "week"), None),
    (None, D(2026, 6, 30), "day", p.Period(D(2026, 6, 1), D(2026, 6, 30), "day"), None),
    (D(2026, 6, 1), None, "day", p.Period(D(2026, 6, 1), D(2026, 12, 3), "day"), None),
    (D(2026, 2, 1), D(2026, 1, 1), "day", p.Period(D(2026, 11, 4), D(2026, 12, 3), "day"),
     "order"),
    (D(2024, 1, 1), D(2024, 12, 31), "day", p.Period(D(2024, 1, 1), D(2024, 12, 31), "day"),
     None),  # 366 days: a leap year fits
    (D(2024, 1, 1), D(2025, 1, 1), "day", p.Period(D(2026, 11, 4), D(2026, 12, 3), "day"),
     "long"),
    (None, None, "month", p.Period(D(2026, 11, 4), D(2026, 12, 3), "day"), None),
])
def test_choose(start, end, by, expected, problem):
    assert p.choose(start, end, by, today=D(2026, 12, 3)) == (expected, problem)


@pytest.mark.parametrize(("day", "by", "bucket"), [
    (D(2026, 12, 3), "day", D(2026, 12, 3)),
    (D(2026, 12, 3), "week", D(2026, 11, 30)),  # a Thursday: its Monday
    (D(2026, 11, 30), "week", D(2026, 11, 30)),
    (D(2026, 12, 6), "week", D(2026, 11, 30)),  # a Sunday ends the week
    (D(2027, 1, 1), "week", D(2026, 12, 28)),  # across the new year
])
def test_bucket_of(day, by, bucket):
    assert p.bucket_of(day, by) == bucket


@pytest.mark.parametrize(("period", "expected"), [
    (p.Period(D(2026, 3, 1), D(2026, 3, 3), "day"), [D(2026, 3, 1), D(2026, 3, 2), D(2026, 3, 3)]),
    (p.Period(D(2026, 3, 4), D(2026, 3, 4), "day"), [D(2026, 3, 4)]),
    # Thursday to the Tuesday twelve days later: three weeks, the first and last partial.
    (p.Period(D(2026, 3, 5), D(2026, 3, 17), "week"), [D(2026, 3, 2), D(2026, 3, 9),
                                                        D(2026, 3, 16)]),
])
def test_buckets(period, expected):
    assert p.buckets(period) == expected


@pytest.mark.parametrize(("period", "zone", "start", "end"), [
    (p.Period(D(2024, 3, 4), D(2024, 3, 17)), "America/New_York",
     datetime(2024, 3, 4, 5, tzinfo=UTC), datetime(2024, 3, 18, 4, tzinfo=UTC)),  # DST between
    (p.Period(D(2026, 6, 1), D(2026, 6, 1)), "UTC",
     datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC)),
    (p.Period(D(2026, 6, 1), D(2026, 6, 1)), "Asia/Kolkata",  # half an hour off the hour
     datetime(2026, 5, 31, 18, 30, tzinfo=UTC), datetime(2026, 6, 1, 18, 30, tzinfo=UTC)),
    (p.Period(D(2026, 6, 1), D(2026, 6, 1)), "Asia/Kathmandu",  # a quarter hour off
     datetime(2026, 5, 31, 18, 15, tzinfo=UTC), datetime(2026, 6, 1, 18, 15, tzinfo=UTC)),
])
def test_utc_bounds(period, zone, start, end):
    assert p.utc_bounds(period, zone) == (start, end)


def test_fold_sums_days_into_their_weeks_per_key():
    rows = [(D(2026, 3, 2), ("a",), (1, 100)), (D(2026, 3, 8), ("a",), (2, 50)),
            (D(2026, 3, 9), ("a",), (1, 1)), (D(2026, 3, 3), ("b",), (5, 5))]
    assert p.fold(rows, "week") == {(D(2026, 3, 2), "a"): [3, 150], (D(2026, 3, 9), "a"): [1, 1],
                                    (D(2026, 3, 2), "b"): [5, 5]}
    assert p.fold(rows, "day")[(D(2026, 3, 8), "a")] == [2, 50]


@pytest.mark.parametrize(("top", "scale"), [
    (0, (4, 1)), (1, (1, 1)), (3, (3, 1)), (4, (4, 1)), (5, (6, 2)), (10, (10, 5)),
    (37, (40, 10)), (100, (100, 50)), (101, (150, 50)), (123_456, (150_000, 50_000)),
])
def test_nice_scale(top, scale):
    assert svg.nice_scale(top) == scale


@pytest.mark.parametrize(("values", "scale"), [
    ([], (0, 4, 1)), ([0, 0], (0, 4, 1)), ([3, 10], (0, 10, 5)),
    ([-2000, 15001], (-5000, 20000, 5000)),  # money given back goes below zero
    ([-7], (-8, 2, 2)),
])
def test_value_range(values, scale):
    assert svg.value_range(values) == scale


@pytest.mark.parametrize(("count", "positions"), [
    (0, []), (3, [0, 1, 2]), (12, list(range(12))), (13, [0, 2, 4, 6, 8, 10, 12]),
    (30, [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]),
])
def test_label_positions(count, positions):
    assert svg.label_positions(count) == positions


def _parse(drawing: str) -> ET.Element:
    return ET.fromstring(drawing)


NS = "{http://www.w3.org/2000/svg}"


def test_a_bar_chart_is_named_labelled_and_not_told_by_colour_alone():
    drawing = svg.bar_chart("c1", "Attempts <by> channel", "What was tried.", ["Call", "SMS"],
                            [svg.Series("Attempts", (10, 4)), svg.Series("Violations", (1, 0))],
                            "Attempts")
    root = _parse(drawing)  # well-formed, the title's "<" escaped
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{NS}title").text == "Attempts <by> channel"
    assert root.find(f"{NS}desc").text == "What was tried."
    bars = root.findall(f".//{NS}rect[{NS}title]")
    assert [b.find(f"{NS}title").text for b in bars] == [
        "Call, Attempts: 10", "SMS, Attempts: 4", "Call, Violations: 1", "SMS, Violations: 0"]
    # The second series is hatched (a pattern), not just another colour; heights follow values.
    assert bars[0].get("fill").startswith("#") and bars[2].get("fill") == "url(#c1-hatch-1)"
    assert root.find(f".//{NS}pattern[@id='c1-hatch-1']") is not None
    assert float(bars[0].get("height")) == pytest.approx(2.5 * float(bars[1].get("height")))
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert {"Call", "SMS", "Attempts", "Violations", "10", "4"} <= set(texts)


def test_a_line_chart_names_each_line_at_its_end_with_its_own_dash():
    drawing = svg.line_chart("c2", "Collected", "Per day.", ["1 Mar", "2 Mar", "3 Mar"],
                             [svg.Series("Northwind", (100, 0, 250)),
                              svg.Series("Lumen", (50, 50, 50))], "USD",
                             label=lambda v: f"${v / 100:.2f}")
    root = _parse(drawing)
    lines = root.findall(f"{NS}polyline")
    assert [line.get("stroke-dasharray") for line in lines] == ["", "6 3"]
    points = [tuple(map(float, xy.split(","))) for xy in lines[0].get("points").split()]
    assert points[1][1] > points[0][1] > points[2][1]  # 0 is lowest, 250 highest
    titles = [t.text for t in root.iter(f"{NS}title")]
    assert "3 Mar, Northwind: $2.50" in titles and "1 Mar, Lumen: $0.50" in titles
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert texts.count("Northwind") == 2 and texts.count("Lumen") == 2  # at the end and legend
    assert "$3.00" in texts  # the axis reaches 300 (round ticks of 100)


def test_a_negative_value_goes_below_the_zero_line():
    root = _parse(svg.bar_chart("c4", "Net", "Net.", ["a", "b"],
                                [svg.Series("Net", (10, -5))], "USD"))
    up, down = root.findall(f".//{NS}rect[{NS}title]")
    assert float(up.get("y")) + float(up.get("height")) == pytest.approx(float(down.get("y")))
    assert float(up.get("height")) == pytest.approx(2 * float(down.get("height")))


def test_an_empty_chart_still_draws_its_axis():
    root = _parse(svg.bar_chart("c3", "Nothing", "None.", [], [], "Count"))
    assert [t.text for t in root.iter(f"{NS}text")][:5] == ["0", "1", "2", "3", "4"]
