"""Posting the outbox's deliveries: signed, retried with back-off, given up on, disabled.

Every server process runs one `Sender` on its event loop. It looks for due deliveries with a read
(no write lock while nothing is due), takes a batch under a lease (`repository.claim_due`: other
processes skip it; a process that dies lets it go when the lease ends) and posts each with the
headers the service sends: `X-HelpScout-Event` and `X-HelpScout-Signature`, the base64 HMAC-SHA1
of the exact body with the webhook's secret. A 2xx answer delivers it; `410 Gone` disables the
webhook at once; anything else (another status, a refused connection, a timeout) is tried again
after a growing pause, up to `MAX_RETRIES` times, then dropped, and a webhook that drops
`DISABLE_AFTER_DROPS` events in a row is disabled.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Connection

from tidings.kit import timefmt
from tidings.kit.db import Database
from tidings.webhooks import repository
from tidings.webhooks.repository import Claimed

log = logging.getLogger(__name__)

MAX_RETRIES = 10  # after the first attempt; then the event is dropped
DISABLE_AFTER_DROPS = 10  # dropped events in a row (a delivered one resets the count)
FIRST_RETRY_SECONDS = 15
LONGEST_PAUSE_SECONDS = 3600
USER_AGENT = "Tidings-Webhooks/1.0"
KEEP_FINISHED = timedelta(days=30)  # delivered and dropped deliveries, for `tidings webhooks deliveries`
FORGET_EVERY_SECONDS = 3600.0


def signature(secret: str, body: bytes) -> str:
    """`X-HelpScout-Signature`: base64 of the HMAC-SHA1 of the raw body, keyed by the secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()


def pause_before_retry(retry: int) -> timedelta:
    """15 s, 30 s, 1 min, 2 min … doubling up to an hour: ten retries span about three hours."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** (retry - 1), LONGEST_PAUSE_SECONDS))


@dataclass(frozen=True)
class Outcome:
    delivery: Claimed
    status: int | None  # the HTTP status; None when no answer came
    error: str | None  # why it did not count as delivered


def record(conn: Connection, outcomes: list[Outcome], now: datetime) -> None:
    """Write what the posts came to, in one transaction: first locking the rows it may change
    (the deliveries posted, and the pending ones of their webhooks, which disabling drops) in
    the order every writer of deliveries takes them (`repository.lock_deliveries`)."""
    posted = [outcome.delivery for outcome in outcomes]
    repository.lock_deliveries(conn, repository.posted_or_pending(posted))
    disabled: set[int] = set()
    for outcome in outcomes:
        delivery = outcome.delivery
        if delivery.webhook_id in disabled:
            continue  # disabling dropped it already
        if outcome.error is None:
            repository.delivered(conn, delivery, outcome.status or 0, now)
        elif outcome.status == 410:
            repository.dropped(conn, delivery, 410, outcome.error, now)
            repository.disable(conn, delivery.webhook_id, "the receiver answered 410 Gone", now)
            disabled.add(delivery.webhook_id)
        elif delivery.attempts < MAX_RETRIES:
            at = now + pause_before_retry(delivery.attempts + 1)
            repository.retry_later(conn, delivery, outcome.status, outcome.error, at)
        elif repository.dropped(conn, delivery, outcome.status, outcome.error, now) >= DISABLE_AFTER_DROPS:
            reason = f"{DISABLE_AFTER_DROPS} events in a row were dropped"
            repository.disable(conn, delivery.webhook_id, reason, now)
            disabled.add(delivery.webhook_id)


class Sender:
    """The per-process loop that empties the outbox."""

    def __init__(
        self,
        db: Database,
        *,
        poll_seconds: float = 1.0,
        timeout_seconds: float = 10.0,
        batch: int = 20,
    ) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.batch = batch
        # Long enough for a batch posted one after the other to a slow receiver that answers.
        self.lease = timedelta(seconds=batch * timeout_seconds + 30)
        self._client: httpx.AsyncClient | None = None  # made on the loop that first posts
        self._task: asyncio.Task[None] | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout_seconds,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    async def send_due(self, now: datetime | None = None) -> int:
        """Post every delivery due at `now` (default: the clock), a batch at a time; how many
        posts were made."""
        sent = 0
        while True:
            at = now or timefmt.now()
            if not await self.db.read(repository.any_due, at):
                return sent
            claimed = await self.db.write(repository.claim_due, at, self.lease, self.batch)
            if not claimed:
                return sent
            by_webhook: dict[int, list[Claimed]] = {}
            for delivery in claimed:
                by_webhook.setdefault(delivery.webhook_id, []).append(delivery)
            turns = await asyncio.gather(*(self._post_in_order(d) for d in by_webhook.values()))
            outcomes = [outcome for turn in turns for outcome in turn]
            await self.db.write(record, outcomes, now or timefmt.now())
            sent += len(outcomes)

    async def _post_in_order(self, deliveries: list[Claimed]) -> list[Outcome]:
        """One webhook's deliveries in the order of their events, each after the last was
        answered. Once the receiver gave no answer (refused, timed out) or answered 410 Gone,
        the rest of the batch is not posted and counts as failed the same way: a receiver that
        is down costs one timeout a turn, not one per event."""
        outcomes: list[Outcome] = []
        stop: Outcome | None = None
        for delivery in deliveries:
            if stop is not None:
                outcomes.append(Outcome(delivery, stop.status, f"not posted: {stop.error}"))
                continue
            outcome = await self._post(delivery)
            if outcome.status is None or outcome.status == 410:
                stop = outcome
            outcomes.append(outcome)
        return outcomes

    async def _post(self, delivery: Claimed) -> Outcome:
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "X-HelpScout-Event": delivery.event,
            "X-HelpScout-Signature": signature(delivery.secret, body),
        }
        try:
            response = await self.client.post(delivery.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(delivery, None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__)
        if 200 <= response.status_code < 300:
            return Outcome(delivery, response.status_code, None)
        return Outcome(delivery, response.status_code, f"the receiver answered {response.status_code}")

    async def forget_old(self, now: datetime | None = None) -> int:
        """Delete the deliveries that finished more than `KEEP_FINISHED` ago; how many."""
        return int(await self.db.write(repository.forget_finished, (now or timefmt.now()) - KEEP_FINISHED))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        forgotten_at = loop.time()
        while True:
            try:
                await self.send_due()
                if loop.time() - forgotten_at >= FORGET_EVERY_SECONDS:
                    forgotten_at = loop.time()
                    await self.forget_old()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop outlives a database hiccup; the next turn tries again
                log.exception("webhook deliveries failed this turn")
            await asyncio.sleep(self.poll_seconds)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="tidings-webhooks")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
