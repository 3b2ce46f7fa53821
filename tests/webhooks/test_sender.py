"""The sender: retries with back-off, gives up, disables, shares the outbox between processes."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import BOOT_APP_ID, BOOT_APP_SECRET
from tests.support.api import Api
from tests.support.pgserver import free_port
from tests.support.receiver import Receiver
from tests.webhooks.conftest import Hooks
from tidings.app import create_app
from tidings.kit import timefmt
from tidings.kit.config import Settings
from tidings.webhooks import repository
from tidings.webhooks.sender import DISABLE_AFTER_DROPS, MAX_RETRIES, pause_before_retry


def _retry_offsets() -> list[float]:
    """Seconds from now at which each retry falls due, one after the other."""
    offsets, total = [], 0.0
    for retry in range(1, MAX_RETRIES + 1):
        total += pause_before_retry(retry).total_seconds()
        offsets.append(total)
    return offsets


def test_back_off_doubles_up_to_an_hour() -> None:
    pauses = [pause_before_retry(n).total_seconds() for n in range(1, MAX_RETRIES + 1)]
    assert pauses[:4] == [15, 30, 60, 120]
    assert pauses[-1] == 3600
    assert all(a <= b for a, b in itertools.pairwise(pauses))


def test_a_failed_post_is_tried_again_after_its_pause(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    webhook_id = hooks.create(["convo.created"])
    api.conversation(api.mailbox())
    receiver.statuses = [500]
    assert hooks.send() == 1
    [delivery] = hooks.deliveries(webhook_id)
    assert (delivery["state"], delivery["attempts"], delivery["last_status"]) == ("pending", 1, 500)
    assert "500" in delivery["last_error"]
    assert hooks.send(seconds_later=10) == 0  # not yet: the first pause is 15 s
    assert hooks.send(seconds_later=16) == 1
    [delivery] = hooks.deliveries(webhook_id)
    assert (delivery["state"], delivery["attempts"], delivery["last_status"]) == ("delivered", 2, 200)
    assert receiver.received[0].body == receiver.received[1].body  # the same event, signed the same
    assert (
        receiver.received[0].headers["x-helpscout-signature"]
        == receiver.received[1].headers["x-helpscout-signature"]
    )


def test_an_unreachable_receiver_is_retried(api: Api, hooks: Hooks) -> None:
    body = {"url": f"http://127.0.0.1:{free_port()}/nobody", "events": ["convo.created"], "secret": "k"}
    webhook_id = api.created_id(api.post("/v2/webhooks", body))
    api.conversation(api.mailbox())
    hooks.send()
    [delivery] = hooks.deliveries(webhook_id)
    assert delivery["state"] == "pending" and delivery["attempts"] == 1
    assert delivery["last_status"] is None and "Connect" in delivery["last_error"]


def test_a_receiver_that_is_down_costs_one_timeout_a_turn(api: Api, hooks: Hooks) -> None:
    body = {"url": f"http://127.0.0.1:{free_port()}/nobody", "events": ["convo.created"], "secret": "k"}
    webhook_id = api.created_id(api.post("/v2/webhooks", body))
    mailbox = api.mailbox()
    for _ in range(3):
        api.conversation(mailbox)
    assert hooks.send() == 3
    first, *rest = hooks.deliveries(webhook_id)
    assert [d["attempts"] for d in (first, *rest)] == [1, 1, 1]
    assert not first["last_error"].startswith("not posted")
    assert all(d["last_error"] == f"not posted: {first['last_error']}" for d in rest)


def test_an_event_is_dropped_after_ten_retries(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    webhook_id = hooks.create(["convo.created"])
    api.conversation(api.mailbox())
    receiver.default_status = 503
    hooks.send()
    for offset in _retry_offsets():
        assert hooks.send(seconds_later=offset + 1) == 1
    [delivery] = hooks.deliveries(webhook_id)
    assert (delivery["state"], delivery["attempts"]) == ("dropped", 1 + MAX_RETRIES)
    assert len(receiver.received) == 1 + MAX_RETRIES
    assert hooks.send(seconds_later=10**6) == 0
    assert hooks.state(webhook_id) == "enabled"  # one dropped event does not disable it


def test_ten_dropped_events_in_a_row_disable_the_webhook(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    webhook_id = hooks.create(["convo.created"])
    mailbox = api.mailbox()
    receiver.default_status = 500
    for _ in range(DISABLE_AFTER_DROPS):
        api.conversation(mailbox)
    hooks.send()
    for offset in _retry_offsets():
        hooks.send(seconds_later=offset + 1)
    assert [d["state"] for d in hooks.deliveries(webhook_id)] == ["dropped"] * DISABLE_AFTER_DROPS
    assert hooks.state(webhook_id) == "disabled"
    api.conversation(mailbox)
    assert len(hooks.deliveries(webhook_id)) == DISABLE_AFTER_DROPS  # a disabled webhook hears nothing


def test_a_delivery_between_drops_resets_the_count(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    webhook_id = hooks.create(["convo.created"])
    mailbox = api.mailbox()
    receiver.default_status = 500
    for _ in range(DISABLE_AFTER_DROPS - 1):
        api.conversation(mailbox)
    hooks.send()
    for offset in _retry_offsets():
        hooks.send(seconds_later=offset + 1)
    receiver.default_status = 200
    api.conversation(mailbox)
    hooks.send(seconds_later=10**5)
    receiver.default_status = 500
    api.conversation(mailbox)
    hooks.send(seconds_later=10**5)
    for offset in _retry_offsets():
        hooks.send(seconds_later=10**5 + offset + 1)
    states = [d["state"] for d in hooks.deliveries(webhook_id)]
    assert states.count("dropped") == DISABLE_AFTER_DROPS and states.count("delivered") == 1
    assert hooks.state(webhook_id) == "enabled"


def test_410_gone_disables_at_once_and_drops_what_waits(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    webhook_id = hooks.create(["convo.created"])
    mailbox = api.mailbox()
    api.conversation(mailbox)
    receiver.statuses = [410]
    hooks.send()
    assert hooks.state(webhook_id) == "disabled"
    [gone] = hooks.deliveries(webhook_id)
    assert (gone["state"], gone["last_status"]) == ("dropped", 410)
    assert (
        api.put(
            f"/v2/webhooks/{webhook_id}", {"url": receiver.url, "events": ["convo.created"], "secret": "k"}
        ).status_code
        == 204
    )
    assert hooks.state(webhook_id) == "enabled"  # saving it again turns it back on
    api.conversation(mailbox)
    assert hooks.send() == 1
    assert hooks.deliveries(webhook_id)[-1]["state"] == "delivered"


def test_pending_deliveries_of_a_webhook_disabled_by_put_are_dropped(api: Api, hooks: Hooks) -> None:
    webhook_id = hooks.create(["convo.created"])
    api.conversation(api.mailbox())
    body = {"url": hooks.receiver.url, "events": ["convo.created"], "secret": "k", "state": "disabled"}
    assert api.put(f"/v2/webhooks/{webhook_id}", body).status_code == 204
    assert hooks.send() == 0
    assert [d["state"] for d in hooks.deliveries(webhook_id)] == ["dropped"]


def test_a_sender_that_died_lets_go_when_its_lease_ends(
    api: Api, app, hooks: Hooks, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    webhook_id = hooks.create(["convo.created"])
    api.conversation(api.mailbox())
    lease = timedelta(minutes=1)
    claimed = app.state.db.write_sync(repository.claim_due, timefmt.now(), lease, 10)
    assert len(claimed) == 1  # taken, and never answered for
    assert hooks.send() == 0
    assert hooks.send(seconds_later=lease.total_seconds() + 1) == 1
    assert hooks.deliveries(webhook_id)[0]["state"] == "delivered"
    assert len(receiver.received) == 1


def test_deliveries_outlive_the_process(
    api: Api, settings: Settings, hooks: Hooks, receiver: Receiver
) -> None:
    """Written with the change, the outbox is sent by whichever process runs next."""
    hooks.create(["convo.created"])
    cid = api.conversation(api.mailbox())
    with TestClient(create_app(settings)) as later:
        sent = later.portal.call(later.app.state.webhook_sender.send_due, None)  # type: ignore[union-attr, attr-defined]
    assert sent == 1
    assert receiver.received[0].json()["id"] == cid


def test_two_processes_send_each_delivery_once(
    api: Api, settings: Settings, hooks: Hooks, receiver: Receiver
) -> None:
    hooks.create(["convo.created", "customer.created"])
    mailbox = api.mailbox()
    for _ in range(30):
        api.conversation(mailbox)
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        clients = [first, second]
        sent: list[int] = []

        def drain(client: TestClient) -> None:
            sender = client.app.state.webhook_sender  # type: ignore[attr-defined]
            sent.append(client.portal.call(sender.send_due, None))  # type: ignore[union-attr]

        threads = [threading.Thread(target=drain, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert sum(sent) == 60  # a conversation and its new customer, 30 times
    bodies = [(r.event, r.json()["id"]) for r in receiver.received]
    assert len(bodies) == 60 and len(set(bodies)) == 60


def test_the_server_sends_on_its_own(api: Api, settings: Settings, receiver: Receiver) -> None:
    """With a poll interval (the default is 1 s) each process sends what falls due by itself."""
    with TestClient(create_app(settings.model_copy(update={"webhook_poll_seconds": 0.05}))) as client:
        own = Api.for_app(client, BOOT_APP_ID, BOOT_APP_SECRET)
        body = {"url": receiver.url, "events": ["convo.created"], "secret": "k"}
        own.created_id(own.post("/v2/webhooks", body))
        cid = own.conversation(own.mailbox())
        receiver.wait_for(1, seconds=30)
    assert [r.json()["id"] for r in receiver.received] == [cid]


def test_finished_deliveries_are_forgotten_after_thirty_days(
    api: Api, client: TestClient, hooks: Hooks, receiver: Receiver
) -> None:
    webhook_id = hooks.create(["convo.created"])
    mailbox = api.mailbox()
    api.conversation(mailbox)
    hooks.send()
    receiver.default_status = 500
    api.conversation(mailbox)
    hooks.send()
    assert [d["state"] for d in hooks.deliveries(webhook_id)] == ["delivered", "pending"]
    sender = client.app.state.webhook_sender  # type: ignore[attr-defined]
    in_29_days = timefmt.now() + timedelta(days=29)
    assert client.portal.call(sender.forget_old, in_29_days) == 0  # type: ignore[union-attr]
    assert client.portal.call(sender.forget_old, in_29_days + timedelta(days=2)) == 1  # type: ignore[union-attr]
    assert [d["state"] for d in hooks.deliveries(webhook_id)] == ["pending"]
