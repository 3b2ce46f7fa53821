"""`tidings webhooks send` and `tidings webhooks deliveries` against the test's database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.support.api import Api
from tests.support.receiver import Receiver
from tests.webhooks.conftest import Hooks
from tidings import cli as cli_module
from tidings.cli import app as cli


def test_send_posts_what_is_due_and_deliveries_shows_it(
    api: Api, hooks: Hooks, receiver: Receiver, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDINGS_DATABASE_URL", db_url)
    monkeypatch.setattr(cli_module.console, "width", 200)  # a terminal wide enough for the table
    webhook_id = hooks.create(["convo.created"])
    cid = api.conversation(api.mailbox())
    runner = CliRunner()
    shown = runner.invoke(cli, ["webhooks", "deliveries"])
    assert shown.exit_code == 0, shown.output
    assert "convo.created" in shown.output and "pending" in shown.output

    sent = runner.invoke(cli, ["webhooks", "send"])
    assert sent.exit_code == 0, sent.output
    assert "1 posts made" in sent.output
    assert [r.json()["id"] for r in receiver.received] == [cid]

    shown = runner.invoke(cli, ["webhooks", "deliveries", "--webhook", str(webhook_id)])
    assert "delivered" in shown.output and "pending" not in shown.output
    assert runner.invoke(cli, ["webhooks", "send"]).output.strip() == "0 posts made"
    other = runner.invoke(cli, ["webhooks", "deliveries", "--webhook", str(webhook_id + 1)])
    assert "convo.created" not in other.output
