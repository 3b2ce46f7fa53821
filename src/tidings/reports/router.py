"""The Conversations report family (reference §7, behaviour §8): plain JSON, read-only.

Every report counts the same bucket of conversations, seen through the caller's mailboxes; days
and hours are those of the company time zone (`settings.timezone`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request

from tidings.auth.caller import CurrentCaller
from tidings.kit.documents import BusySlot, ChannelSeries, DrilldownOut, OverallReport, PeriodSeries
from tidings.kit.hal import ReportResponse
from tidings.reports import service
from tidings.reports.schemas import (
    ComparedParams,
    DrilldownParams,
    FieldsDrilldownParams,
    ReportFilters,
    ViewByParams,
)

router = APIRouter(tags=["reports"], default_response_class=ReportResponse)
BASE = "/v2/reports/conversations"
P = TypeVar("P", bound=ReportFilters)


def company_zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.timezone)


async def _run(
    request: Request, caller: CurrentCaller, params: P, build: Callable[..., Any], *zoned: ZoneInfo
) -> ReportResponse:
    scope = service.scope_for(caller.mailbox_ids, params)
    return ReportResponse(await request.app.state.db.read_report(build, scope, params, *zoned))


@router.get(BASE, summary="Conversations report (overall)", response_model=OverallReport)
async def conversations_overall(
    request: Request, caller: CurrentCaller, params: Annotated[ComparedParams, Query()]
) -> ReportResponse:
    return await _run(request, caller, params, service.overall, company_zone(request))


@router.get(
    f"{BASE}/volume-by-channel",
    summary="New conversations per period, by channel",
    response_model=ChannelSeries,
)
async def volume_by_channel(
    request: Request, caller: CurrentCaller, params: Annotated[ViewByParams, Query()]
) -> ReportResponse:
    return await _run(request, caller, params, service.volume_by_channel, company_zone(request))


@router.get(
    f"{BASE}/busy-times", summary="New conversations per weekday and hour", response_model=list[BusySlot]
)
async def busy_times(
    request: Request, caller: CurrentCaller, params: Annotated[ComparedParams, Query()]
) -> ReportResponse:
    return await _run(request, caller, params, service.busy_times, company_zone(request))


@router.get(f"{BASE}/new", summary="New conversations per period", response_model=PeriodSeries)
async def new_conversations(
    request: Request, caller: CurrentCaller, params: Annotated[ViewByParams, Query()]
) -> ReportResponse:
    return await _run(request, caller, params, service.new_conversations, company_zone(request))


@router.get(
    f"{BASE}/received-messages",
    summary="Messages received from customers per period",
    response_model=PeriodSeries,
)
async def received_messages(
    request: Request, caller: CurrentCaller, params: Annotated[ViewByParams, Query()]
) -> ReportResponse:
    return await _run(request, caller, params, service.received_messages, company_zone(request))


@router.get(
    f"{BASE}/drilldown", summary="The conversations of the Conversations report", response_model=DrilldownOut
)
async def drilldown(
    request: Request, caller: CurrentCaller, params: Annotated[DrilldownParams, Query()]
) -> ReportResponse:
    return await _run(request, caller, params, service.drilldown)


@router.get(
    f"{BASE}/new-drilldown", summary="The conversations created in the interval", response_model=DrilldownOut
)
async def new_drilldown(
    request: Request, caller: CurrentCaller, params: Annotated[DrilldownParams, Query()]
) -> ReportResponse:
    return await _run(request, caller, params, service.new_drilldown)


@router.get(
    f"{BASE}/fields-drilldown",
    summary="The conversations behind a tag, saved reply, workflow or customer",
    response_model=DrilldownOut,
)
async def fields_drilldown(
    request: Request, caller: CurrentCaller, params: Annotated[FieldsDrilldownParams, Query()]
) -> ReportResponse:
    return await _run(request, caller, params, service.fields_drilldown)
