"""All configuration, read once from the environment and `.env`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# The languages a person can choose in /language. "selko" is plain Finnish (selkosuomi): Telegram
# never sends it as a client language, so it is only ever a stored choice; the others are
# also Telegram language codes (TELEGRAM_LANGUAGES: the ones a command list can be set for).
LANGUAGES = ("fi", "sv", "en", "selko")
TELEGRAM_LANGUAGES = ("fi", "sv", "en")

# BotFather tokens look like "123456789:AA...". Checking the shape catches a pasted
# chat id or a truncated token before the first network call does.
_TOKEN_RE = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")


DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
_URL_EXAMPLES = (
    "sqlite+aiosqlite:///./data/kokemusvalitys.sqlite3 or "
    "postgresql+asyncpg://user:password@host:5432/database"
)


class Settings(BaseSettings):
    """Every setting of the bot; `.env.example` documents each field."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    bot_token: SecretStr
    database_url: str = "sqlite+aiosqlite:///./data/kokemusvalitys.sqlite3"
    telegram_base_url: str | None = None
    telegram_base_file_url: str | None = None
    coordinator_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    timezone: str = "Europe/Helsinki"
    default_language: str = "fi"
    invite_valid_days: int = Field(default=7, ge=1, le=365)
    quiet_hours_start: int = Field(default=21, ge=0, le=23)
    quiet_hours_end: int = Field(default=8, ge=0, le=23)
    outbox_interval_seconds: int = Field(default=20, ge=1, le=3600)
    dispatch_mode: str = Field(default="broadcast", pattern="^(broadcast|cascade|handpick)$")
    cascade_size: int = Field(default=3, ge=1, le=100)
    cascade_wait_hours: int = Field(default=24, ge=1, le=336)
    # Cascade waves by lead time: more than WAVE_FAR_DAYS ahead, WAVE_FAR_SIZE at a time with
    # WAVE_FAR_HOURS to answer; within WAVE_NEAR_HOURS, everyone eligible at once; between,
    # CASCADE_SIZE and CASCADE_WAIT_HOURS.
    wave_far_days: int = Field(default=14, ge=1, le=365)
    wave_far_size: int = Field(default=1, ge=1, le=100)
    wave_far_hours: int = Field(default=72, ge=1, le=336)
    wave_near_hours: int = Field(default=48, ge=1, le=720)
    offer_valid_hours: int = Field(default=48, ge=1, le=720)
    fill_deadline_hours: int = Field(default=48, ge=0, le=720)
    # An offer never stays open past the gig's start minus this (also after "more time").
    offer_min_lead_hours: int = Field(default=1, ge=0, le=72)
    offer_more_time_hours: int = Field(default=24, ge=1, le=336)
    undo_minutes: int = Field(default=2, ge=0, le=60)
    swap_wait_hours: int = Field(default=24, ge=1, le=336)
    coming_hours_before: int = Field(default=24, ge=2, le=336)
    coming_alert_hours_before: int = Field(default=6, ge=1, le=335)
    prep_hours_before: int = Field(default=48, ge=1, le=336)
    prep_min_lead_hours: int = Field(default=4, ge=0, le=72)
    reminder_hours_before: int = Field(default=3, ge=1, le=24)
    debrief_hours_after: int = Field(default=2, ge=0, le=72)
    keep_in_touch_days: int = Field(default=30, ge=7, le=365)
    digest_hour: int = Field(default=8, ge=0, le=23)
    feedback_days: int = Field(default=14, ge=1, le=90)
    feedback_min_answers: int = Field(default=5, ge=3, le=100)
    feedback_alert_below: float = Field(default=2.5, ge=1, le=5)
    fee_reminder_days: int = Field(default=30, ge=1, le=365)
    # The centre's name on the papers the bot makes (statements, certificates, confirmations).
    centre_name: str = Field(default="Kokemustoimintakeskus", min_length=1, max_length=120)
    # The orderer's confirmation states the cancellation terms: free of charge until this many
    # days before the gig, later the agreed fees are charged.
    cancellation_free_days: int = Field(default=7, ge=0, le=90)
    # Kilometres by one's own car are reimbursed at this many cents a kilometre: by default
    # the Finnish Tax Administration's tax-free maximum for 2026 (0,55 €/km; docs/operations.md).
    km_allowance_cents: int = Field(default=55, ge=1, le=500)
    # Telegram's limit is 30/s. The budget keeps its margin in time, not in rate: a call holds
    # its place in the second until one second after Telegram's answer (bot/budget.py), so 30
    # draws no 429 however the network jitters (bench/dispatch.py). More than 30 would.
    send_rate_per_second: float = Field(default=30.0, gt=0, le=30)
    log_level: str = "INFO"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_path: str = "telegram"
    # Several instances on one PostgreSQL: how often a standby tries to take over the
    # periodic jobs (storage/leader.py).
    leader_poll_seconds: int = Field(default=5, ge=1, le=300)
    # The bot's own HTTP side (bot/web.py): /healthz, /metrics and calendar feeds, and the
    # webhook in webhook mode. HTTP_PORT 0 = no HTTP side when polling. PUBLIC_URL is how
    # people reach it (https://bot.example.fi), used in calendar feed links.
    http_listen: str = "127.0.0.1"
    http_port: int = Field(default=0, ge=0, le=65535)
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError("does not look like a token from @BotFather (digits:letters)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("coordinator_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
            try:
                return [int(p) for p in parts]
            except ValueError as exc:
                raise ValueError("must be Telegram user ids (numbers) separated by commas") from exc
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # The URL may hold a password: the messages name the driver at most, never the URL.
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"is not a database URL; write for example {_URL_EXAMPLES}") from None
        if url.drivername not in DATABASE_DRIVERS:
            raise ValueError(
                f"unknown database driver {url.drivername!r}; use {_URL_EXAMPLES}"
            ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @model_validator(mode="after")
    def _coming_alert_after_question(self) -> Settings:
        if self.coming_alert_hours_before >= self.coming_hours_before:
            raise ValueError(
                "COMING_ALERT_HOURS_BEFORE must be below COMING_HOURS_BEFORE (the alert comes "
                "after the question)"
            )
        return self

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError(
                "WEBHOOK_SECRET must be set when WEBHOOK_URL is (1-256 of A-Z a-z 0-9 _ -)"
            )
        if self.webhook_secret and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", self.webhook_secret.get_secret_value()
        ):
            raise ValueError("WEBHOOK_SECRET may contain only A-Z a-z 0-9 _ - (1-256 characters)")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def sqlite_path(self) -> Path | None:
        """The file of a SQLite database URL, or None for other databases."""
        if not self.database_url.startswith("sqlite"):
            return None
        _, _, rest = self.database_url.partition(":///")
        return Path(rest) if rest and rest != ":memory:" else None


class SettingsError(Exception):
    """Configuration is missing or wrong; the message names the variable."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one plain message per variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            if not err["loc"]:  # a rule across settings; its message names the variables
                lines.append(str(err["msg"]).removeprefix("Value error, ") + ".")
                continue
            name = str(err["loc"][0]).upper()
            if err["type"] == "missing":
                lines.append(f"{name} is not set. Put it in the environment or in .env.")
            else:
                # Never echo the input: for BOT_TOKEN that would print the secret.
                msg = str(err["msg"]).removeprefix("Value error, ")
                lines.append(f"{name}: {msg}.")
        raise SettingsError("\n".join(lines)) from None
