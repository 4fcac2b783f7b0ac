from __future__ import annotations

from decimal import Decimal

import pytest

from dashboard.forms import IntervalForm, TimePointsForm
from dashboard.zego.types import Mode, Vendor


def tencent_points(**overrides):
    data = {"vendor": "Tencent", "file_id": "1397757897438985100", "definition": "10", "time_points": "1, 2.5, 10"}
    return TimePointsForm(data | overrides)


def huawei_interval(**overrides):
    data = {"vendor": "Huawei", "file_id": "/record/room/2024-11-13.mp4", "interval": "5"}
    return IntervalForm(data | overrides)


def test_it_turns_a_tencent_time_point_form_into_the_api_request():
    form = tencent_points(time_points="1\n2.50\n10")
    assert form.is_valid(), form.errors
    request = form.to_request()
    assert request.vendor is Vendor.TENCENT and request.mode is Mode.TIME_POINTS
    assert request.time_points == (Decimal("1"), Decimal("2.5"), Decimal("10"))
    assert request.definition == 10 and request.interval is None


def test_it_drops_definition_for_huawei_and_keeps_whole_seconds():
    form = TimePointsForm({"vendor": "Huawei", "file_id": "/a/b.mp4", "definition": "10", "time_points": "3 7"})
    assert form.is_valid(), form.errors
    assert form.to_request().definition is None
    assert form.cleaned_data["time_points"] == ["3", "7"]


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"file_id": ""}, "file_id", "required"),
        ({"file_id": "   "}, "file_id", "required"),
        ({"file_id": "12ab"}, "file_id", "digits only"),
        ({"file_id": "1" * 41}, "file_id", "at most 40"),
        ({"file_id": "123\x00"}, "file_id", "Null characters"),
        ({"file_id": "123\t4"}, "file_id", "control character"),
        ({"definition": ""}, "definition", "needs a Definition"),
        ({"definition": "0"}, "definition", "1 or more"),
        ({"definition": "2.5"}, "definition", "whole number"),
        ({"time_points": ""}, "time_points", "required"),
        ({"time_points": "-1"}, "time_points", "negative"),
        ({"time_points": "abc"}, "time_points", "not a number"),
        ({"time_points": "inf"}, "time_points", "finite"),
        ({"time_points": "NaN"}, "time_points", "finite"),
        ({"time_points": "2, 2.0"}, "time_points", "repeated"),
        ({"time_points": "1.0001"}, "time_points", "three decimal places"),
        ({"time_points": ", ".join(str(i) for i in range(101))}, "time_points", "at most 100"),
    ],
)
def test_it_refuses_bad_tencent_time_point_input(overrides, field, fragment):
    form = tencent_points(**overrides)
    assert not form.is_valid()
    assert fragment in " ".join(form.errors[field])


@pytest.mark.parametrize(
    ("points", "fragment"),
    [("1.5", "whole seconds"), (", ".join(str(i) for i in range(11)), "at most 10")],
)
def test_it_applies_huaweis_time_point_limits(points, fragment):
    form = TimePointsForm({"vendor": "Huawei", "file_id": "/a.mp4", "time_points": points})
    assert not form.is_valid()
    assert fragment in " ".join(form.errors["time_points"])


def test_it_lists_every_bad_time_point_at_once():
    form = tencent_points(time_points="-1, x, 3, 3")
    assert not form.is_valid()
    assert len(form.errors["time_points"]) == 3


@pytest.mark.parametrize(
    ("interval", "fragment"), [("", "needs an Interval"), ("0", "at least 1"), ("101", "at most 100"), ("2.5", "whole")]
)
def test_it_refuses_a_bad_huawei_interval(interval, fragment):
    form = huawei_interval(interval=interval)
    assert not form.is_valid()
    assert fragment in " ".join(form.errors["interval"])


def test_it_accepts_a_huawei_interval_and_ignores_definition():
    form = huawei_interval(definition="10")
    assert form.is_valid(), form.errors
    request = form.to_request()
    assert (request.mode, request.interval, request.definition) == (Mode.INTERVAL, 5, None)


def test_it_ignores_interval_for_tencent_which_samples_by_template():
    form = IntervalForm({"vendor": "Tencent", "file_id": "123", "definition": "10", "interval": "999"})
    assert form.is_valid(), form.errors
    assert form.to_request().interval is None


def test_it_refuses_an_unknown_vendor():
    form = tencent_points(vendor="Akamai")
    assert not form.is_valid()
    assert "vendor" in form.errors


def test_it_gives_every_rendered_form_a_fresh_one_time_token():
    assert TimePointsForm().initial["submission_token"] != TimePointsForm().initial["submission_token"]
