"""The Conversations report family (reference §7, behaviour §8): plain JSON, read-only.

Every report counts the same bucket of conversations, seen through the caller's mailboxes; days
and hours are those of the company time zone (`settings.timezone`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from tidings.auth.caller import Caller, bearer_token, caller_and_stamp, known_caller_and_stamp
from tidings.kit import timefmt
from tidings.kit.documents import BusySlot, ChannelSeries, DrilldownOut, OverallReport, PeriodSeries
from tidings.kit.hal import REPORT_JSON, ReportResponse, json_bytes
from tidings.kit.query_model import openapi_parameters, read_query_model
from tidings.kit.reuse import ResponseReuse
from tidings.reports import service
from tidings.reports.queries import Scope
from tidings.reports.schemas import (
    ComparedParams,
    DrilldownParams,
    FieldsDrilldownParams,
    ReportFilters,
    ViewByParams,
)

router = APIRouter(tags=["reports"], default_response_class=ReportResponse)
BASE = "/v2/reports/conversations"


def company_zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.timezone)


def _asked(
    conn: Connection, request: Request, token: str, model: type[ReportFilters], stamp_read: Hashable | None
) -> tuple[Caller, Scope, Any, Hashable | None]:
    """Caller, then parameters (a bad token is a 401 before any 400), and the data stamp a
    kept answer is checked against (kit/reuse.py): the one the event loop read (`stamp_read`),
    or read here, before the report's own transaction."""
    caller, stamp = caller_and_stamp(conn, token, request.app.state.reuse, stamp_read)
    return (caller, *_scoped(request, caller, model), stamp)


def _scoped(request: Request, caller: Caller, model: type[ReportFilters]) -> tuple[Scope, Any]:
    """The parameters (one 400 for all that are wrong) and the mailboxes the caller's report covers."""
    params = read_query_model(model, request)
    return service.scope_for(caller.mailbox_ids, params), params


def _report(
    path: str,
    model: type[ReportFilters],
    build: Callable[..., Any],
    *,
    summary: str,
    response_model: Any,
    zoned: bool = True,
    name: str | None = None,
) -> None:
    """A report route that takes only the request: FastAPI has no dependency or query model to
    solve for it. `zoned`: the report counts days and hours of the company time zone.

    Identical reports asked for at once are computed once (`kit.coalesce`, which shares the
    computation under way too while the data stamp has not moved), and one asked for
    again while the data is unchanged is sent again (`kit.reuse`; a report reads no clock): the
    key is what the answer depends on, the caller's mailboxes rather than the caller, so agents
    who see the same mailboxes share a wallboard's report."""

    async def route(request: Request) -> Response:
        token = await bearer_token(request)
        db = request.app.state.db
        reuse: ResponseReuse | None = request.app.state.reuse
        zone = (company_zone(request),) if zoned else ()

        def kept_as(caller: Caller) -> Hashable:
            """A kept answer's key: the request as sent and the mailboxes its caller sees. Only a
            valid request's answer is kept, so one found needs no parameter parsed."""
            return (path, caller.mailbox_ids, request.scope["query_string"], *zone)

        caller, stamp = await known_caller_and_stamp(request, token)
        asked: tuple[Scope, Any] | None = None
        if caller is None:  # not known under this stamp: looked up, parameters read, in a thread
            caller, scope, params, stamp = await db.read(_asked, request, token, model, stamp)
            asked = (scope, params)
        body = reuse.get(kept_as(caller), stamp) if reuse is not None else None
        if body is not None:
            return Response(body, media_type=REPORT_JSON)
        scope, params = asked if asked is not None else _scoped(request, caller, model)
        if stamp is None:  # read now, before any computation this request may start or join
            stamp = await request.app.state.stamps.read_on_loop(db)

        def compute() -> Awaitable[Any]:
            return db.read_report(build, scope, params, *zone)

        # Shared by identical reports: the same parameters, however written.
        key = (path, scope, params.model_dump_json(), *zone)
        body = json_bytes(await request.app.state.report_flights.run(key, compute, stamp))
        if reuse is not None:
            reuse.put(kept_as(caller), stamp, timefmt.now(), None, body)
        return Response(body, media_type=REPORT_JSON)

    route.__name__ = name or build.__name__  # the OpenAPI operation's id
    router.add_api_route(
        path,
        route,
        methods=["GET"],
        summary=summary,
        response_model=response_model,
        openapi_extra={"parameters": openapi_parameters(model)},
    )


_report(
    BASE,
    ComparedParams,
    service.overall,
    summary="Conversations report (overall)",
    response_model=OverallReport,
    name="conversations_overall",
)
_report(
    f"{BASE}/volume-by-channel",
    ViewByParams,
    service.volume_by_channel,
    summary="New conversations per period, by channel",
    response_model=ChannelSeries,
)
_report(
    f"{BASE}/busy-times",
    ComparedParams,
    service.busy_times,
    summary="New conversations per weekday and hour",
    response_model=list[BusySlot],
)
_report(
    f"{BASE}/new",
    ViewByParams,
    service.new_conversations,
    summary="New conversations per period",
    response_model=PeriodSeries,
)
_report(
    f"{BASE}/received-messages",
    ViewByParams,
    service.received_messages,
    summary="Messages received from customers per period",
    response_model=PeriodSeries,
)
_report(
    f"{BASE}/drilldown",
    DrilldownParams,
    service.drilldown,
    summary="The conversations of the Conversations report",
    response_model=DrilldownOut,
    zoned=False,
)
_report(
    f"{BASE}/new-drilldown",
    DrilldownParams,
    service.new_drilldown,
    summary="The conversations created in the interval",
    response_model=DrilldownOut,
    zoned=False,
)
_report(
    f"{BASE}/fields-drilldown",
    FieldsDrilldownParams,
    service.fields_drilldown,
    summary="The conversations behind a tag, saved reply, workflow or customer",
    response_model=DrilldownOut,
    zoned=False,
)
