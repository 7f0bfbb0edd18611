"""Step-by-step forms (an order, an expert profile) as data, and the rules for filling them.

A draft is a plain dict stored in the database after every answer, so a half-filled form
survives restarts and a wrong answer never loses the earlier ones. Each form says who may fill
it; what happens when it is complete is registered by the feature that starts it
(handlers/forms.py `on_complete`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot import vocab
from bot.parsing import (
    SERIES_MAX,
    InputError,
    clean_text,
    has_words,
    parse_date,
    parse_date_range,
    parse_dates,
    parse_datetime,
    parse_duration_minutes,
    parse_int,
    parse_money_cents,
)
from storage.models import Role

SUMMARY = "summary"


@dataclass(frozen=True)
class Field:
    """One question. `kind` decides how answers are read; labels come from `options_key`."""

    name: str
    # text | choice | multi | int | datetime | date | dates | daterange | duration | money | yesno
    kind: str
    options: tuple[str, ...] = ()
    options_key: str = ""
    max_len: int = 200
    low: int = 1
    high: int = 1000
    quick: tuple[str, ...] = ()  # typed values offered as buttons too
    skippable: bool = False  # a button that stores None; its label is `skip_label`
    skip_label: str = "btn.skip"
    min_picks: int = 1  # for multi: how many must be picked (0: none means "any")
    when: Callable[[dict[str, Any]], bool] | None = None
    # For text naming someone or something: "letters" (a name, an organisation) or "words"
    # (letters or digits: a contact may be just a phone number, a place a street address).
    wording: str = ""
    # The question's wording depends on an earlier answer: the prompt key gets "_<answer>"
    # (`prompt_by[1]` when it is not answered yet), e.g. a place asked as an address or a link.
    prompt_by: tuple[str, str] | None = None
    # For int: the message when the number is out of range (instead of the plain range one).
    range_key: str = ""

    def applies(self, values: dict[str, Any]) -> bool:
        return self.when is None or self.when(values)


@dataclass(frozen=True)
class Form:
    """A form: its questions, who may fill it (checked on every answer), and its summary."""

    name: str
    fields: tuple[Field, ...]
    roles: frozenset[str]
    confirm: bool = True  # ends with a summary (Send / Edit / Cancel)
    hidden: frozenset[str] = field(default_factory=frozenset)  # data keys that are not answers
    summary: str = "gig"  # how the summary shows the answers: "gig" or "profile"
    send_label: str = "btn.send"  # the summary's button that finishes the form
    # Questions the summary offers as buttons of their own (label key, field name), such as
    # "Repeat" on an order: not asked on the way, only when the person wants them.
    shortcuts: tuple[tuple[str, str], ...] = ()

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def index(self, name: str) -> int:
        return [f.name for f in self.fields].index(name)


REPEATS = ("once", "weekly", "biweekly", "dates")
SERIES_REPEATS = ("weekly", "biweekly", "dates")  # the answers that make an order a series


ORDER = Form(
    "order",
    (
        Field("organisation", "text", max_len=200, wording="letters"),
        Field("gig_type", "choice", vocab.GIG_TYPES, "gig_type"),
        Field("topics", "multi", vocab.TOPICS, "topic"),
        Field("starts_at", "datetime"),
        # A series: asked only from the summary's "Repeat" button (see Form.shortcuts).
        Field("repeat", "choice", REPEATS, "repeat", when=lambda v: "repeat" in v),
        Field(
            "repeat_count",
            "int",
            low=2,
            high=SERIES_MAX,
            quick=("4", "6", "8", "12"),
            when=lambda v: v.get("repeat") in ("weekly", "biweekly"),
            range_key="series.err_count",
        ),
        Field("repeat_dates", "dates", when=lambda v: v.get("repeat") == "dates"),
        Field(
            "series_take",
            "choice",
            ("whole", "single"),
            "series_take",
            when=lambda v: v.get("repeat") in SERIES_REPEATS,
        ),
        Field("duration", "duration", quick=("1", "1,5", "2", "3")),
        Field("remote", "choice", ("onsite", "remote"), "format"),
        Field("place", "text", max_len=400, wording="words", prompt_by=("remote", "onsite")),
        Field("region", "choice", vocab.REGIONS, "region"),
        Field("audience", "choice", vocab.AUDIENCES, "audience"),
        Field("audience_size", "int", low=1, high=10000, quick=("10", "25", "50", "100")),
        Field("seats", "int", low=1, high=10, quick=("1", "2", "3")),
        Field("language", "choice", vocab.LANGS, "language_name"),
        Field("fee", "money", skippable=True, skip_label="btn.unpaid"),
        Field("contact", "text", max_len=400, wording="words"),
        Field("notes", "text", max_len=1500, skippable=True),
        # The ordering organisation's own order number or reference, for its invoice.
        Field("order_ref", "text", max_len=60, wording="words", skippable=True),
        # Especially heavy themes: buttons for common ones (none picked: no note), then a free
        # line, asked only when something was picked.
        Field("content_themes", "multi", vocab.CONTENT_THEMES, "content_theme", min_picks=0),
        Field(
            "content_note",
            "text",
            max_len=300,
            skippable=True,
            when=lambda values: bool(values.get("content_themes")),
        ),
    ),
    frozenset({Role.ORDERER}),
    shortcuts=(("btn.reorder.repeat", "repeat"),),
    # The responsible-ordering checklist, ticked on the summary (handlers/orderer.py).
    hidden=frozenset({"checklist", "talk_first"}),
)

EXPERT = Form(
    "expert",
    (
        Field("display_name", "text", max_len=60, wording="letters"),
        Field("gig_types", "multi", vocab.GIG_TYPES, "gig_type"),
        Field("topics", "multi", vocab.TOPICS, "topic"),
        Field("languages", "multi", vocab.LANGS, "language_name"),
        Field("regions", "multi", vocab.REGIONS, "region"),
        Field("remote_ok", "yesno"),
        Field("audiences", "multi", vocab.AUDIENCES, "audience", min_picks=0),
        Field("coord_notes", "text", max_len=1000, skippable=True),
    ),
    frozenset({Role.EXPERT}),
    summary="profile",
    send_label="btn.save",
)


EXPERTS = frozenset({Role.EXPERT})
COORDINATORS = frozenset({Role.COORDINATOR})
ORDERERS = frozenset({Role.ORDERER})
GIG_PARTIES = frozenset({Role.ORDERER, Role.COORDINATOR})


def _one(form: str, roles: frozenset[str], field: Field, hidden: tuple[str, ...] = ()) -> Form:
    """A single question that finishes on its answer, without a summary."""
    return Form(form, (field,), roles, confirm=False, hidden=frozenset(hidden))


REJECT = _one("reject", COORDINATORS, Field("reason", "text", max_len=1000), ("gig_id",))
LIMIT_GIGS = _one(
    "limit_gigs",
    EXPERTS,
    Field(
        "max_gigs_month",
        "int",
        low=1,
        high=60,
        quick=("1", "2", "4", "8"),
        skippable=True,
        skip_label="btn.no_limit",
    ),
)
LIMIT_EARNINGS = _one(
    "limit_earnings",
    EXPERTS,
    Field("max_earnings", "money", skippable=True, skip_label="btn.no_limit"),
)
PAUSE = _one("pause", EXPERTS, Field("paused_until", "date"))
CONTRACT = _one("contract", COORDINATORS, Field("contract_until", "date"), ("expert_id",))
COMPANION = _one(
    "companion", COORDINATORS, Field("companion", "text", max_len=200, wording="words"), ("gig_id",)
)
CANCEL_ORDER = _one(
    "cancel_order",
    ORDERERS,
    Field("cancel_reason", "text", max_len=1000, skippable=True),
    ("gig_id", "scope"),
)
CANCEL_GIG = _one(
    "cancel_gig", COORDINATORS, Field("cancel_reason", "text", max_len=1000), ("gig_id", "scope")
)
CHANGE_TIME = _one("change_time", GIG_PARTIES, Field("starts_at", "datetime"), ("gig_id", "scope"))
CHANGE_PLACE = _one(
    "change_place",
    GIG_PARTIES,
    Field("place", "text", max_len=400, wording="words"),
    ("gig_id", "scope"),
)
DEBRIEF_NOTE = _one(
    "debrief_note",
    EXPERTS,
    Field("note", "text", max_len=1000, skippable=True),
    ("checkin_id", "title"),
)
ORDERER_NOTE = _one(
    "orderer_note",
    ORDERERS,
    Field("feedback_text", "text", max_len=1000, skippable=True),
    ("gig_id",),
)
AVAIL_BLOCK = Form(
    "avail_block",
    (
        Field("period", "daterange"),
        Field("away", "choice", ("away", "note"), "avail_kind"),
        # Away: the note is optional ("joululoma"); available with a note: the note is the point.
        Field("note", "text", max_len=200, skippable=True, when=lambda v: v.get("away") == "away"),
        Field("remark", "text", max_len=200, when=lambda v: v.get("away") == "note"),
    ),
    EXPERTS,
    confirm=False,
)
FEE_EDIT = Form(
    "fee_edit",
    (
        Field("fee_type", "choice", ("palkkio", "tyokorvaus", "expenses", "volunteer"), "fee_type"),
        Field("amount", "money", when=lambda v: v.get("fee_type") in ("palkkio", "tyokorvaus")),
        Field("travel", "money", skippable=True, skip_label="btn.none"),
        Field("other", "money", skippable=True, skip_label="btn.none"),
    ),
    COORDINATORS,
    confirm=False,
    # The expenses when the form began: an expense claim approved meanwhile is not overwritten.
    hidden=frozenset({"fee_id", "was_travel", "was_other"}),
)
CLAIM = Form(
    "claim",
    (
        Field("cost", "choice", ("car", "ticket", "other"), "claim_kind"),
        Field("km", "int", low=1, high=3000, when=lambda v: v.get("cost") == "car"),
        Field(
            "what", "text", max_len=200, wording="words", when=lambda v: v.get("cost") == "other"
        ),
        Field("amount", "money", when=lambda v: v.get("cost") in ("ticket", "other")),
    ),
    EXPERTS,
    confirm=False,
    hidden=frozenset({"fee_id"}),
)
CLAIM_REJECT = _one(
    "claim_reject", COORDINATORS, Field("reason", "text", max_len=500), ("claim_id",)
)
PREP_HOURS = _one(
    "prep_hours",
    COORDINATORS,
    Field("prep_hours", "int", low=1, high=336, quick=("24", "48", "72")),
    ("gig_id",),
)
GIG_MESSAGE = _one("gig_message", COORDINATORS, Field("message", "text", max_len=2000), ("gig_id",))
# The next message to a gig's relay; "name" and "role" say how the others will see the sender.
RELAY = _one(
    "relay",
    frozenset({Role.ORDERER, Role.EXPERT, Role.COORDINATOR}),
    Field("message", "text", max_len=4096),
    ("gig_id", "title", "name", "role"),
)
# The orderer's proposal of a preparation call, and an expert's other time for it.
PREP_CALL = Form(
    "prep_call",
    (
        Field("place", "text", max_len=400, wording="words"),
        Field("starts_at", "datetime"),
    ),
    ORDERERS,
    confirm=False,
    hidden=frozenset({"gig_id", "title"}),
)
PREP_SUGGEST = _one("prep_suggest", EXPERTS, Field("starts_at", "datetime"), ("call_id", "title"))
HANDPICK_REASON = _one(
    "handpick_reason",
    COORDINATORS,
    Field("override_reason", "text", max_len=500),
    ("gig_id", "picked"),
)

# A call for interest for a long-term role (bot/services/calls.py): the role, then who is asked,
# in the profile's vocabulary (no topic or region picked: any).
CALL = Form(
    "call",
    (
        Field("title", "text", max_len=200, wording="letters"),
        Field("involves", "text", max_len=1500),
        Field("commitment", "text", max_len=400),
        Field("fee", "money", skippable=True, skip_label="btn.unpaid"),
        Field("seats", "int", low=1, high=50, quick=("1", "2", "3", "5")),
        Field("deadline", "datetime"),
        Field("gig_type", "choice", vocab.GIG_TYPES, "gig_type"),
        Field("topics", "multi", vocab.TOPICS, "topic", min_picks=0),
        Field("regions", "multi", vocab.REGIONS, "region", min_picks=0),
    ),
    COORDINATORS,
    summary="call",
)
CALL_NOTE = _one(
    "call_note",
    EXPERTS,
    Field("message", "text", max_len=300, skippable=True),
    ("call_id",),
)
CALL_DEADLINE = _one(
    "call_deadline", COORDINATORS, Field("deadline", "datetime"), ("call_id", "title")
)

# A support session (bot/services/sessions.py): group supervision, a peer group or a training.
SESSION = Form(
    "session",
    (
        Field("kind", "choice", ("supervision", "peer_group", "training"), "session_kind"),
        Field(
            "training",
            "text",
            max_len=100,
            wording="letters",
            when=lambda v: v.get("kind") == "training",
        ),
        Field("starts_at", "datetime"),
        Field("duration", "duration", quick=("1", "1,5", "2", "3")),
        Field("place", "text", max_len=400, wording="words"),
        Field("capacity", "int", low=1, high=200, quick=("6", "8", "10", "15")),
    ),
    COORDINATORS,
    summary="session",
)

FORMS = {
    f.name: f
    for f in (
        SESSION,
        CALL,
        CALL_NOTE,
        CALL_DEADLINE,
        ORDER,
        EXPERT,
        REJECT,
        LIMIT_GIGS,
        LIMIT_EARNINGS,
        PAUSE,
        CONTRACT,
        COMPANION,
        CANCEL_ORDER,
        CANCEL_GIG,
        CHANGE_TIME,
        CHANGE_PLACE,
        HANDPICK_REASON,
        DEBRIEF_NOTE,
        ORDERER_NOTE,
        FEE_EDIT,
        CLAIM,
        CLAIM_REJECT,
        GIG_MESSAGE,
        PREP_HOURS,
        AVAIL_BLOCK,
        RELAY,
        PREP_CALL,
        PREP_SUGGEST,
    )
}


@dataclass
class DraftState:
    """The mutable part of a draft, as stored."""

    form: Form
    step: str
    values: dict[str, Any]
    editing: bool = False

    @property
    def current(self) -> Field | None:
        return None if self.step == SUMMARY else self.form.field(self.step)

    def answers(self) -> dict[str, Any]:
        """The values a completed form hands on: answers and hidden data, no working state."""
        return {k: v for k, v in self.values.items() if "__" not in k}

    def shown(self) -> dict[str, Any]:
        """The answers a summary shows (no hidden data, no working state, no consent time)."""
        names = {f.name: f for f in self.form.fields}
        return {
            k: v
            for k, v in self.answers().items()
            if k not in self.form.hidden
            and k != "consent_at"
            and (k not in names or names[k].applies(self.values))
        }

    def prompt_key(self, field_: Field) -> str:
        key = f"form.{self.form.name}.{field_.name}"
        if field_.prompt_by is not None:
            name, default = field_.prompt_by
            key = f"{key}_{self.values.get(name, default)}"
        return key

    def first_step(self) -> str:
        return self._next_from(0)

    def _next_from(self, start: int) -> str:
        for f in self.form.fields[start:]:
            if f.applies(self.values) and not (self.editing and f.name in self.values):
                return f.name
        return SUMMARY

    def advance(self) -> None:
        """Move to the next unanswered question, or to the summary."""
        if self.step == SUMMARY:
            return
        idx = self.form.index(self.step)
        # When editing one answer, go back to the summary unless a newly relevant
        # question (one the edit made apply) is still unanswered.
        self.step = self._next_from(idx + 1)

    def set_value(self, value: Any) -> None:
        field_ = self.current
        if field_ is None:
            raise InputError("err.stale")
        self.values[field_.name] = value
        self.advance()

    def edit(self, name: str) -> None:
        field_ = self.form.field(name)
        self.editing = True
        old = self.values.pop(name, None)
        if field_.kind == "multi":
            # Start from the earlier picks so an edit is a tweak, not a redo.
            self.values[selection_key(name)] = list(old or [])
        self.step = name

    def selection(self) -> list[str]:
        field_ = self.current
        return list(self.values.get(selection_key(field_.name), [])) if field_ else []

    def toggle(self, index: int) -> None:
        field_ = self.current
        if field_ is None or field_.kind != "multi":
            raise InputError("err.stale")
        code = read_choice(field_, index)
        picked = self.selection()
        if code in picked:
            picked.remove(code)
        else:
            picked.append(code)
        # Keep the catalog's order so summaries read the same way every time.
        self.values[selection_key(field_.name)] = [c for c in field_.options if c in picked]

    def finish_multi(self) -> None:
        field_ = self.current
        if field_ is None or field_.kind != "multi":
            raise InputError("err.stale")
        picked = self.values.pop(selection_key(field_.name), [])
        if len(picked) < field_.min_picks:
            self.values[selection_key(field_.name)] = picked
            raise InputError("err.pick_one")
        self.set_value(picked)

    def press(self, action: str, raw: str | None, now: datetime, tz: ZoneInfo) -> None:
        """A pressed button of the current question: a choice (c), done picking (d), yes/no
        (y), a quick value (q) or skip (k). Anything else is stale. Toggles go to `toggle`."""
        field_ = self.current
        if field_ is None:
            raise InputError("err.stale")
        if action == "c":
            self.set_value(read_choice(field_, _index(raw)))
        elif action == "d":
            self.finish_multi()
        elif action == "y" and field_.kind == "yesno":
            self.set_value(raw == "1")
        elif action == "q" and field_.quick:
            self.set_value(read_typed(field_, read_quick(field_, _index(raw)), now, tz))
        elif action == "k" and field_.skippable:
            self.set_value(None)
        else:
            raise InputError("err.stale")

    def is_complete(self) -> bool:
        return all(f.name in self.values for f in self.form.fields if f.applies(self.values))


def selection_key(name: str) -> str:
    return f"{name}__sel"


def read_typed(field_: Field, text: str, now: datetime, tz: ZoneInfo) -> Any:
    """Turn typed text into a stored value for this field, or raise InputError."""
    match field_.kind:
        case "text":
            cleaned = clean_text(text, field_.max_len)
            if field_.wording and not has_words(cleaned, digits=field_.wording == "words"):
                raise InputError("err.name_letters")
            return cleaned
        case "int":
            return _read_int(field_, text)
        case "dates" | "datetime" | "date" | "daterange":
            return _read_when(field_.kind, text, now, tz)
        case "duration":
            return parse_duration_minutes(text)
        case "money":
            return parse_money_cents(text)
        case "choice" | "multi" | "yesno":
            raise InputError("err.use_buttons")
    raise InputError("err.use_buttons")


def _read_when(kind: str, text: str, now: datetime, tz: ZoneInfo) -> Any:
    """A typed day, days, moment or period, stored as ISO text."""
    if kind == "dates":
        return [d.isoformat() for d in parse_dates(text, now, tz)]
    if kind == "datetime":
        return parse_datetime(text, now, tz).isoformat()
    if kind == "date":
        return parse_date(text, now, tz).isoformat()
    first, last = parse_date_range(text, now, tz)
    return f"{first.isoformat()}/{last.isoformat()}"


def _read_int(field_: Field, text: str) -> int:
    try:
        return parse_int(text, field_.low, field_.high)
    except InputError as err:
        if field_.range_key and err.key == "err.number_range":
            raise InputError(field_.range_key, err.params) from None
        raise


def read_choice(field_: Field, index: int) -> str:
    if field_.kind not in ("choice", "multi") or not 0 <= index < len(field_.options):
        raise InputError("err.stale")
    return field_.options[index]


def read_quick(field_: Field, index: int) -> str:
    if not 0 <= index < len(field_.quick):
        raise InputError("err.stale")
    return field_.quick[index]


def _index(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        raise InputError("err.stale") from None
