"""Parameters of the report family: every bad one named in one 400, viewBy range rules, 401."""

from __future__ import annotations

import pytest

from tests.reports.history import JAN, REPORTS, report
from tests.support.api import Api
from tests.support.asserts import vnd_error

ENDPOINTS = (
    "",
    "/volume-by-channel",
    "/busy-times",
    "/new",
    "/received-messages",
    "/drilldown",
    "/new-drilldown",
    "/fields-drilldown",
)
DRILL = {**JAN, "field": "tagid", "fieldid": "1"}


def errors_by_path(body: dict) -> dict[str, dict]:
    return {e["path"]: e for e in body["_embedded"]["errors"]}


class TestCommonParameters:
    def test_start_and_end_are_required_everywhere(self, api: Api) -> None:
        for path in ENDPOINTS:
            extra = {"field": "tagid", "fieldid": "1"} if path == "/fields-drilldown" else {}
            vnd_error(api.get(f"{REPORTS}{path}", params=extra), 400, "start", "end", source="query")

    def test_every_bad_parameter_in_one_response(self, api: Api) -> None:
        response = api.get(
            REPORTS,
            params={
                "start": "2015-13-01",
                "end": "yesterday",
                "mailboxes": "1,abc",
                "tags": "-3",
                "types": "email,fax",
                "folders": "1;2",
                "previousStart": "not a date",
            },
        )
        body = vnd_error(
            response,
            400,
            "start",
            "end",
            "mailboxes",
            "tags",
            "types",
            "folders",
            "previousStart",
            source="query",
        )
        by_path = errors_by_path(body)
        assert by_path["types"]["rejectedValue"] == "email,fax"
        assert "email, chat, phone" in by_path["types"]["message"]
        assert "Malformed date" in by_path["start"]["message"]

    def test_start_after_end(self, api: Api) -> None:
        response = api.get(
            f"{REPORTS}/drilldown", params={"start": "2015-02-01T00:00:00Z", "end": JAN["start"]}
        )
        body = vnd_error(response, 400, "end", source="query")
        assert "start" in body["_embedded"]["errors"][0]["message"]
        assert report(api, "/drilldown", start=JAN["start"], end=JAN["start"])["conversations"]["count"] == 0

    @pytest.mark.parametrize(
        "previous",
        [
            {"previousStart": "2014-12-01T00:00:00Z"},
            {"previousEnd": "2014-12-31T23:59:59Z"},
            {"previousStart": "2014-12-31T00:00:00Z", "previousEnd": "2014-12-01T00:00:00Z"},
        ],
    )
    def test_previous_range_comes_whole(self, api: Api, previous: dict[str, str]) -> None:
        vnd_error(api.get(REPORTS, params={**JAN, **previous}), 400, "previousEnd", source="query")

    def test_year_out_of_range(self, api: Api) -> None:
        response = api.get(REPORTS, params={"start": "1800-01-01T00:00:00Z", "end": "2015-01-01T00:00:00Z"})
        vnd_error(response, 400, "start", source="query")

    def test_without_token_is_401(self, api: Api) -> None:
        for path in ENDPOINTS:
            vnd_error(api.client.get(f"{REPORTS}{path}", params=DRILL), 401)
        response = api.client.get(f"{REPORTS}/new", params=JAN, headers={"Authorization": "Bearer nope"})
        vnd_error(response, 401)

    def test_a_bad_token_is_401_before_any_bad_parameter(self, api: Api) -> None:
        """The caller is looked up first, in the report's own transaction."""
        bad = {"start": "yesterday", "field": "nope"}
        for path in ENDPOINTS:
            vnd_error(api.client.get(f"{REPORTS}{path}", params=bad), 401)
            unknown = api.client.get(f"{REPORTS}{path}", params=bad, headers={"Authorization": "Bearer nope"})
            vnd_error(unknown, 401)
            named = errors_by_path(vnd_error(api.get(f"{REPORTS}{path}", params=bad), 400))
            assert {"start", "end"} <= set(named)


class TestViewBy:
    def test_range_rules(self, api: Api) -> None:
        sixty_days = {"start": "2015-01-01T00:00:00Z", "end": "2015-03-01T23:59:59Z"}
        one_more_second = {"start": "2015-01-01T00:00:00Z", "end": "2015-03-02T00:00:00Z"}
        leap_year = {"start": "2016-01-01T00:00:00Z", "end": "2016-12-31T23:59:59Z"}
        too_long = {"start": "2016-01-01T00:00:00Z", "end": "2017-01-01T00:00:00Z"}
        for path in ("/new", "/volume-by-channel", "/received-messages"):
            assert len(report(api, path, **sixty_days, viewBy="day")["current"]) == 60
            assert len(report(api, path, **sixty_days)["current"]) == 60  # day by default
            vnd_error(api.get(f"{REPORTS}{path}", params={**sixty_days, "viewBy": "month"}), 400, "viewBy")
            vnd_error(api.get(f"{REPORTS}{path}", params={**one_more_second, "viewBy": "day"}), 400, "viewBy")
            assert len(report(api, path, **one_more_second, viewBy="month")["current"]) == 3
            assert len(report(api, path, **leap_year, viewBy="week")["current"]) == 53  # Mondays from Dec 28
            vnd_error(api.get(f"{REPORTS}{path}", params={**too_long, "viewBy": "week"}), 400, "viewBy")
            assert len(report(api, path, **too_long)["current"]) == 13  # month by default
            body = vnd_error(api.get(f"{REPORTS}{path}", params={**JAN, "viewBy": "year"}), 400, "viewBy")
            assert errors_by_path(body)["viewBy"]["rejectedValue"] == "year"

    def test_bad_view_and_bad_dates_together(self, api: Api) -> None:
        response = api.get(
            f"{REPORTS}/new", params={"start": "nope", "end": JAN["end"], "viewBy": "fortnight"}
        )
        vnd_error(response, 400, "start", "viewBy", source="query")


class TestDrilldownParameters:
    def test_field_and_fieldid_required(self, api: Api) -> None:
        vnd_error(api.get(f"{REPORTS}/fields-drilldown", params=JAN), 400, "field", "fieldid", source="query")

    def test_unknown_field_and_bad_values(self, api: Api) -> None:
        response = api.get(
            f"{REPORTS}/fields-drilldown",
            params={**JAN, "field": "userid", "fieldid": "0", "page": "0", "rows": "51"},
        )
        body = vnd_error(response, 400, "field", "fieldid", "page", "rows", source="query")
        assert "tagid" in errors_by_path(body)["field"]["message"]
        for rows in ("0", "x"):
            vnd_error(api.get(f"{REPORTS}/drilldown", params={**JAN, "rows": rows}), 400, "rows")
        vnd_error(api.get(f"{REPORTS}/new-drilldown", params={**JAN, "page": "first"}), 400, "page")
        assert report(api, "/new-drilldown", **JAN, rows=50)["conversations"]["pages"] == 0

    def test_unknown_parameters_are_ignored(self, api: Api) -> None:
        assert report(
            api, "/busy-times", **JAN, colour="blue", previousStart=JAN["start"], previousEnd=JAN["end"]
        )
