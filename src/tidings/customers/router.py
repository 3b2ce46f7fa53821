"""Customers, their emails and phones.

Access: customers are account-wide, so any authenticated caller may read and change a customer
by id. Listing is narrower by decision: a `user`-role caller lists only customers who are the
primary customer of a non-deleted conversation in one of the mailboxes granted to them, so that
a restricted user cannot enumerate the whole customer base; owners and admins list everyone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from tidings.auth.caller import CurrentCaller
from tidings.customers import repository, service
from tidings.customers.query import compiled_query
from tidings.customers.schemas import (
    CustomerCreate,
    CustomerListParams,
    CustomerScalars,
    EmailIn,
    PhoneIn,
    contact_out,
    customer_out,
)
from tidings.kit import timefmt
from tidings.kit.documents import CustomerOut, CustomerPage, EmailPage, PhonePage
from tidings.kit.hal import HalResponse, created, no_content, paged, window
from tidings.kit.openapi import errors
from tidings.kit.schemas import IdPath, PageParam

router = APIRouter(tags=["customers"])
PAGE_SIZE = 50


@router.get("/v2/customers", summary="List customers", response_model=CustomerPage)
async def list_customers(
    request: Request, caller: CurrentCaller, params: Annotated[CustomerListParams, Query()]
) -> HalResponse:
    offset, limit = window(params.page, PAGE_SIZE)
    query = compiled_query(params.query, timefmt.now())

    def read(conn: Connection) -> tuple[list[dict], int]:
        rows, total = repository.list_page(
            conn,
            query=query,
            first_name=params.firstName,
            last_name=params.lastName,
            email=params.email,
            mailbox_id=params.mailbox,
            modified_since=params.modifiedSince,
            visible_mailboxes=caller.mailbox_ids,
            sort_field=params.sortField,
            descending=params.sortOrder == "desc",
            offset=offset,
            limit=limit,
        )
        ids = [r["id"] for r in rows]
        emails, phones = repository.emails_of(conn, ids), repository.phones_of(conn, ids)
        return [customer_out(request, r, emails[r["id"]], phones[r["id"]]) for r in rows], total

    # Its cost depends on the query and the page: tried on SQLite's event loop under a budget.
    key = ("customers", request.scope["query_string"])
    items, total = await request.app.state.db.read_budgeted(key, read)
    return HalResponse(paged(request, "customers", items, params.page, PAGE_SIZE, total))


@router.post("/v2/customers", status_code=201, summary="Create a customer", responses=errors(409))
async def create_customer(request: Request, caller: CurrentCaller, body: CustomerCreate) -> Response:
    customer_id = await request.app.state.db.write(service.create_customer, body, timefmt.now())
    return created(request, f"/v2/customers/{customer_id}", customer_id)


@router.get("/v2/customers/{customer_id}", summary="Get a customer", response_model=CustomerOut)
async def get_customer(request: Request, caller: CurrentCaller, customer_id: IdPath) -> HalResponse:
    def read(conn: Connection) -> dict[str, Any]:
        customer = service.existing_customer(conn, customer_id)
        emails = repository.emails_of(conn, [customer_id])[customer_id]
        phones = repository.phones_of(conn, [customer_id])[customer_id]
        return customer_out(request, customer, emails, phones)

    return HalResponse(await request.app.state.db.read_bounded(read))


@router.put("/v2/customers/{customer_id}", status_code=204, summary="Overwrite a customer's fields")
async def put_customer(
    request: Request, caller: CurrentCaller, customer_id: IdPath, body: CustomerScalars
) -> Response:
    await request.app.state.db.write(service.replace_customer, customer_id, body, timefmt.now())
    return no_content()


@router.patch("/v2/customers/{customer_id}", status_code=204, summary="Update some of a customer's fields")
async def patch_customer(
    request: Request,
    caller: CurrentCaller,
    customer_id: IdPath,
    body: Annotated[dict[str, Any] | list[dict[str, Any]], Body()],
) -> Response:
    ops = body if isinstance(body, list) else [body]
    await request.app.state.db.write(
        service.patch_customer, customer_id, ops, not isinstance(body, list), timefmt.now()
    )
    return no_content()


# -- emails and phones ----------------------------------------------------------------------


Loader = Callable[[Connection, list[int]], dict[int, list[dict]]]


async def _contacts(request: Request, customer_id: int, load: Loader, key: str, page: int) -> HalResponse:
    """A customer's emails or phones: few per customer, so paged in memory."""

    def read(conn: Connection) -> list[dict]:
        service.existing_customer(conn, customer_id)
        return [contact_out(r) for r in load(conn, [customer_id])[customer_id]]

    items = await request.app.state.db.read_bounded(read)
    offset, limit = window(page, PAGE_SIZE)
    return HalResponse(paged(request, key, items[offset : offset + limit], page, PAGE_SIZE, len(items)))


@router.get(
    "/v2/customers/{customer_id}/emails", summary="List a customer's emails", response_model=EmailPage
)
async def list_emails(
    request: Request, caller: CurrentCaller, customer_id: IdPath, page: PageParam = 1
) -> HalResponse:
    return await _contacts(request, customer_id, repository.emails_of, "emails", page)


@router.post(
    "/v2/customers/{customer_id}/emails",
    status_code=201,
    summary="Add an email to a customer",
    responses=errors(409),
)
async def create_email(
    request: Request, caller: CurrentCaller, customer_id: IdPath, body: EmailIn
) -> Response:
    email_id = await request.app.state.db.write(service.add_email, customer_id, body, timefmt.now())
    return created(request, f"/v2/customers/{customer_id}/emails/{email_id}", email_id)


@router.put(
    "/v2/customers/{customer_id}/emails/{email_id}",
    status_code=204,
    summary="Change an email",
    responses=errors(409),
)
async def put_email(
    request: Request, caller: CurrentCaller, customer_id: IdPath, email_id: IdPath, body: EmailIn
) -> Response:
    await request.app.state.db.write(service.update_email, customer_id, email_id, body, timefmt.now())
    return no_content()


@router.delete("/v2/customers/{customer_id}/emails/{email_id}", status_code=204, summary="Delete an email")
async def delete_email(
    request: Request, caller: CurrentCaller, customer_id: IdPath, email_id: IdPath
) -> Response:
    await request.app.state.db.write(service.delete_email, customer_id, email_id, timefmt.now())
    return no_content()


@router.get(
    "/v2/customers/{customer_id}/phones", summary="List a customer's phones", response_model=PhonePage
)
async def list_phones(
    request: Request, caller: CurrentCaller, customer_id: IdPath, page: PageParam = 1
) -> HalResponse:
    return await _contacts(request, customer_id, repository.phones_of, "phones", page)


@router.post("/v2/customers/{customer_id}/phones", status_code=201, summary="Add a phone to a customer")
async def create_phone(
    request: Request, caller: CurrentCaller, customer_id: IdPath, body: PhoneIn
) -> Response:
    phone_id = await request.app.state.db.write(service.add_phone, customer_id, body, timefmt.now())
    return created(request, f"/v2/customers/{customer_id}/phones/{phone_id}", phone_id)


@router.put("/v2/customers/{customer_id}/phones/{phone_id}", status_code=204, summary="Change a phone")
async def put_phone(
    request: Request, caller: CurrentCaller, customer_id: IdPath, phone_id: IdPath, body: PhoneIn
) -> Response:
    await request.app.state.db.write(service.update_phone, customer_id, phone_id, body, timefmt.now())
    return no_content()


@router.delete("/v2/customers/{customer_id}/phones/{phone_id}", status_code=204, summary="Delete a phone")
async def delete_phone(
    request: Request, caller: CurrentCaller, customer_id: IdPath, phone_id: IdPath
) -> Response:
    await request.app.state.db.write(service.delete_phone, customer_id, phone_id, timefmt.now())
    return no_content()


def _not_stored(conn: Connection, customer_ids: list[int]) -> dict[int, list[dict]]:
    """Chats, social profiles and websites are not stored: their lists are always empty."""
    return {i: [] for i in customer_ids}


def _not_stored_route(key: str) -> Callable[..., Awaitable[HalResponse]]:
    async def list_not_stored(
        request: Request, caller: CurrentCaller, customer_id: IdPath, page: PageParam = 1
    ) -> HalResponse:
        return await _contacts(request, customer_id, _not_stored, key, page)

    return list_not_stored


for _path, _key in (("chats", "chats"), ("social-profiles", "social_profiles"), ("websites", "websites")):
    router.add_api_route(
        f"/v2/customers/{{customer_id}}/{_path}",
        _not_stored_route(_key),
        methods=["GET"],
        summary=f"List a customer's {_path} (always empty)",
        response_class=HalResponse,
    )
