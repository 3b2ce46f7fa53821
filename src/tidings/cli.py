"""The `tidings` command: serve, migrate, demo, webhooks."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tidings.kit.config import Settings

app = typer.Typer(
    help="Tidings: a self-hosted help desk with the Help Scout Mailbox API 2.0.", no_args_is_help=True
)
console = Console()

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="sqlite:///path/to/file.db or postgresql://user:password@host:port/dbname "
        "(default: TIDINGS_DATABASE_URL, else sqlite:///tidings.db)",
    ),
]


def _settings(database: str | None) -> Settings:
    if database:
        os.environ["TIDINGS_DATABASE_URL"] = database
    return Settings()


def prepare_database(settings: Settings) -> None:
    """Migrate and bootstrap once, before any worker process starts."""
    from tidings.auth.service import bootstrap
    from tidings.db import deferred_indexes
    from tidings.db.migrate import upgrade
    from tidings.kit.db import Database

    db = Database(settings.database_url, threads=1)
    try:
        upgrade(db.engine)
        with db.engine.connect() as conn:
            rebuilt = deferred_indexes.restore(conn)
        if rebuilt:
            console.print(f"Rebuilt {len(rebuilt)} indexes an interrupted bulk load had dropped")
        if db.write_sync(bootstrap, settings):
            console.print(
                f"Bootstrapped owner {settings.bootstrap_email} and app {settings.bootstrap_app_id}"
            )
    finally:
        db.dispose()


@app.command()
def migrate(database: DatabaseOption = None) -> None:
    """Apply the database migrations."""
    settings = _settings(database)
    prepare_database(settings)
    console.print("Database is up to date.")


@app.command()
def serve(
    database: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    rate_limit: Annotated[
        int | None, typer.Option("--rate-limit", help="Requests per minute for the account; 0 turns it off")
    ] = None,
    server: Annotated[str, typer.Option(help="granian (default) or uvicorn")] = "granian",
) -> None:
    """Serve the API (migrations are applied first)."""
    if rate_limit is not None:
        os.environ["TIDINGS_RATE_LIMIT_PER_MINUTE"] = str(rate_limit)
    os.environ["TIDINGS_SETTLE_HEAP"] = "1"  # read by each worker's app (kit/runtime.settle_heap)
    settings = _settings(database)
    prepare_database(settings)
    console.print(f"Serving Tidings on http://{host}:{port} with {workers} worker(s)")
    if server == "uvicorn":
        import uvicorn

        uvicorn.run(
            "tidings.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning"
        )
        return
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "tidings.app:create_app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        log_access=False,
    ).serve()


@app.command()
def demo(
    database: DatabaseOption = None,
    conversations: Annotated[int, typer.Option(min=1, help="How many conversations to generate")] = 5000,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing when conversations exist")] = False,
    seed: Annotated[int, typer.Option(help="Random seed (the same seed gives the same data)")] = 1,
) -> None:
    """Fill the database with realistic demo data: mailboxes, users, customers, tags, conversations."""
    from tidings.demo.generator import generate, is_empty
    from tidings.kit.db import create_db_engine

    settings = _settings(database)
    prepare_database(settings)
    engine = create_db_engine(settings.database_url)
    try:
        if if_empty and not is_empty(engine):
            console.print("The database already has conversations; leaving it as it is.")
            return
        with Progress(
            TextColumn("Generating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("conversations", total=conversations)
            summary = generate(
                engine, conversations=conversations, seed=seed, progress=lambda n: progress.advance(task, n)
            )
        rate = summary.conversations / summary.seconds if summary.seconds else 0
        console.print(
            f"{summary.conversations} conversations, {summary.threads} threads "
            f"in {summary.seconds:.1f} s ({rate:,.0f}/s)"
        )
    finally:
        engine.dispose()


webhooks_app = typer.Typer(help="See and send the webhook deliveries of the outbox.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("deliveries")
def webhook_deliveries(
    database: DatabaseOption = None,
    webhook: Annotated[int | None, typer.Option(help="Only this webhook's deliveries")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many of the newest to show")] = 20,
) -> None:
    """The newest deliveries: event, state, attempts, last answer and when the next try is due."""
    from rich.table import Table

    from tidings.kit.db import Database
    from tidings.kit.timefmt import fmt
    from tidings.webhooks import repository

    db = Database(_settings(database).database_url, threads=1)
    try:
        rows = db.read_sync(repository.newest_deliveries, webhook, limit)
    finally:
        db.dispose()
    table = Table("id", "webhook", "event", "state", "attempts", "last answer", "next try", "created")
    for row in rows:
        answer = str(row["last_status"] or "") if row["last_error"] is None else row["last_error"]
        due = fmt(row["next_attempt_at"]) if row["state"] == "pending" else ""
        table.add_row(
            str(row["id"]),
            str(row["webhook_id"]),
            row["event"],
            row["state"],
            str(row["attempts"]),
            answer or "",
            due or "",
            fmt(row["created_at"]) or "",
        )
    console.print(table)


@webhooks_app.command("send")
def webhook_send(database: DatabaseOption = None) -> None:
    """Post every delivery that is due now, once (servers do it themselves every second unless
    TIDINGS_WEBHOOK_POLL_SECONDS is 0)."""
    import asyncio

    from tidings.kit.db import Database
    from tidings.webhooks.sender import Sender

    settings = _settings(database)
    db = Database(settings.database_url, threads=1)

    async def send() -> int:
        sender = Sender(db, timeout_seconds=settings.webhook_timeout_seconds)
        try:
            return await sender.send_due()
        finally:
            await sender.aclose()

    try:
        console.print(f"{asyncio.run(send())} posts made")
    finally:
        db.dispose()


if __name__ == "__main__":
    app()
