"""Settings read from the environment (TIDINGS_*) and the command line."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIDINGS_", extra="ignore")

    database_url: str = "sqlite:///tidings.db"
    rate_limit_per_minute: int = 400
    max_body_bytes: int = 10 * 1024 * 1024
    token_ttl_seconds: int = 172800
    refresh_token_ttl_seconds: int = 60 * 60 * 24 * 60
    timezone: str = "UTC"
    trust_proxy: bool = False
    bootstrap_app_id: str | None = None
    bootstrap_app_secret: str | None = None
    bootstrap_email: str = "owner@localhost"
    web_base_url: str | None = None  # base of `web` links; default: this server
    # Threads (and pooled connections) per process for database work. More did not serve more:
    # they took turns holding the GIL (list page 1 at 1M conversations, 2 workers, heap settled:
    # 4 threads 790-850 req/s with p99 52-54 ms, 2 threads 900-1,360 with p99 29-43 ms).
    db_threads: int = 2
    # SQLite: a list read nobody bounds (a search, a deep page) is tried on the event loop for
    # this long before it is interrupted and read through a database thread (kit.db
    # `read_budgeted`); 0: such reads always take a thread.
    loop_read_budget_ms: float = Field(default=3.0, ge=0, le=1000)
    # Set by `tidings serve` for its workers: freeze the start-up heap (see kit/runtime.py).
    settle_heap: bool = False
    pg_prepare_threshold: int = Field(default=5, ge=0)  # see kit.db.create_db_engine
    # PostgreSQL: a statement of an API request that runs longer is stopped and the request
    # answered 503 (kit.errors), so that no request holds a backend for long; 0: no limit.
    statement_timeout_seconds: float = Field(default=30.0, ge=0)
    # A text search matching more than 10,000 conversations reports an estimated total (within a
    # few percent; see conversations.listing.ESTIMATE_STRATA); off, it is counted exactly.
    estimate_large_totals: bool = True
    # List and report answers kept per process and sent again while the data they were read
    # from is unchanged (kit/reuse.py); 0 computes every request.
    reuse_entries: int = Field(default=256, ge=0)
    # Deep pages of a plain list begin after the last row of a page served before, while the
    # data is unchanged (kit/anchors.py), rather than at an OFFSET; off, every page is an OFFSET.
    page_anchors: bool = True
    # How often each process looks for webhook deliveries that are due (webhooks/sender.py); 0:
    # this process sends none (another one, or `tidings webhooks send`, must).
    webhook_poll_seconds: float = Field(default=1.0, ge=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; expected an IANA name such as Europe/Berlin"
            ) from None
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
