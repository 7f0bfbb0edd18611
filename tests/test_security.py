"""Nobody let in: every command and every button against every role. Only the allowed act;
the others get a polite refusal that names nothing, and nothing in the database changes.
Forged, stale and oversized button data never changes state either."""

from __future__ import annotations

import contextlib
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.callbacks import Button, pack, pattern
from bot.errors import Refuse
from bot.parsing import DB_INT_MAX, InputError, parse_date
from bot.services.reports import parse_period
from storage.models import Base
from tests import flows
from tests.harness import HEL, ErrorLog, Harness, Person, at
from tests.unit.test_callbacks import largest

COMMANDS: dict[str, set[str]] = {
    # command: roles that may use it (everyone may use start, help, language and cancel)
    "pending": {"coordinator"},
    "gigs": {"coordinator"},
    "gig 1": {"coordinator"},
    "experts": {"coordinator"},
    "expert 3": {"coordinator"},
    "invite expert": {"coordinator"},
    "companion 1 Sari": {"coordinator"},
    "feedback 1": {"coordinator"},
    "fees": {"coordinator"},
    "report": {"coordinator"},
    "billing 3/2027": {"coordinator"},
    "audit gig 1": {"coordinator"},
    "alerts": {"coordinator"},
    "neworder": {"orderer"},
    "myorders": {"orderer"},
    "mygigs": {"expert", "unapproved"},
    "profile": {"expert", "unapproved"},
    "pause 31.12.2026": {"expert", "unapproved"},
    "resume": {"expert", "unapproved"},
    "mydata": {"expert", "unapproved"},
    "myfees": {"expert", "unapproved"},
    "certificate 2026": {"expert", "unapproved"},
    "myfeedback": {"expert", "unapproved"},
    "forget": {"expert", "unapproved"},
}
BUTTONS: dict[str, set[str]] = {
    # one real-looking piece of data per pattern, aimed at existing rows
    "xl:0:a.-.-.-.-": {"coordinator"},
    "xc:d:3": {"coordinator"},
    "xr:y:4": {"coordinator"},
    "cp:1": {"coordinator"},
    "iv:expert": {"coordinator"},
    "ap:y:2": {"coordinator"},
    "rk:1": {"coordinator"},
    "dm:b:2": {"coordinator"},
    "hp:s:2": {"coordinator"},
    "gl:u:0": {"coordinator"},
    "rp:1": {"coordinator"},
    "ns:1": {"coordinator"},
    "gd:1": {"coordinator"},
    "gm:1": {"coordinator"},
    "fe:p:1": {"coordinator"},
    "fe:e:1": {"coordinator"},
    "al:short": {"coordinator"},
    "cl:1": {"coordinator"},
    "fn:1": {"coordinator"},
    "gc:1": {"coordinator", "orderer"},
    "ph:1": {"coordinator"},
    "oa:1": {"orderer"},
    "oc:1": {"orderer", "coordinator"},
    "ot:1": {"orderer", "coordinator"},
    "op:1": {"orderer", "coordinator"},
    "ob:g5:1": {"orderer"},
    "of:a:1": {"expert"},
    "of:d:1": {"expert"},
    "of:w:1": {"expert"},
    "of:A:1": {"expert"},
    "sb:y:1": {"expert"},
    "rc:n:1": {"expert"},
    "fe:P:1": {"expert"},
    "fe:r:1": {"expert"},
    "ck:sy:1": {"expert"},
    "ck:1:3": {"expert"},
    "kt:t:1": {"expert"},
    "pf:p": {"expert", "unapproved"},
    "fg:y": {"expert", "unapproved"},
    # the orderer's side: results, checklist, relay, preparation call
    "oR": {"orderer"},
    "oq:0": {"orderer"},
    "rw:1": {"coordinator", "orderer", "expert"},
    "rr:1": {"coordinator"},
    "pp:1": {"orderer"},
    "pa:y:1": {"expert"},
    "pc:1": {"orderer"},
}
REFUSALS = (
    "common.not_allowed",
    "common.not_registered",
    "err.stale",
    "form.expired",
    "err.gig_not_found",
)


async def world(h: Harness) -> dict[str, Person]:
    """Gig #1 filled by an approved expert, gig #2 pending, an unapproved expert, a stranger."""
    nurse = await flows.register_orderer(h, 201)
    expert = await flows.register_expert(h, 301, "Aino")
    unapproved = await flows.register_expert(h, 302, "Bertta", approve=False)
    await flows.order_and_approve(h, nurse, seats="1")
    await expert.press(expert.t("btn.accept"))
    await flows.fill_order(nurse, starts_at="12.12.2026 klo 10.00")
    await nurse.press(nurse.t("btn.send"))
    return {
        "coordinator": flows.coordinator(h),
        "orderer": nurse,
        "expert": expert,
        "unapproved": unapproved,
        "stranger": await stranger(h),
    }


async def stranger(h: Harness) -> Person:
    p = h.person(999, "Outo")
    await p.send("/start")
    return p


async def snapshot(h: Harness) -> str:
    out = []
    async with h.core.db.unit_of_work() as s:
        for table in Base.metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = await s.execute(text(f"SELECT * FROM {table.name} ORDER BY 1"))
            out.append(f"{table.name}: " + repr([tuple(r) for r in rows]))
    return "\n".join(out)


def refusal_texts(p: Person) -> set[str]:
    return {p.t(k) for k in REFUSALS}


async def test_every_command_against_every_role(h: Harness) -> None:
    people = await world(h)
    for command, allowed in COMMANDS.items():
        for role, person in people.items():
            if role in allowed:
                continue
            before = await snapshot(h)
            replies = await person.send(f"/{command}")
            assert [m.text for m in replies] in (
                [person.t("common.not_allowed")],
                [person.t("common.not_registered")],
                [person.t("start.stranger")],
            ), (command, role, [m.text for m in replies])
            assert await snapshot(h) == before, (command, role)


async def test_every_button_against_every_role(h: Harness) -> None:
    people = await world(h)
    for data, allowed in BUTTONS.items():
        for role, person in people.items():
            if role in allowed:
                continue
            before = await snapshot(h)
            count = len(person.inbox)
            # A button can only be pressed on a message in one's own chat.
            await person.press_data(data, person.inbox[-1])
            toast = person.last_toast()
            new = [m.text for m in person.inbox[count:]]
            assert toast in refusal_texts(person) or (
                toast is None and new and set(new) <= (refusal_texts(person))
            ), (data, role, toast, new)
            assert await snapshot(h) == before, (data, role)


@pytest.mark.parametrize(
    "data",
    [
        "of:a:1",
        "of:a:999999",
        "of:a:x",
        "of:a:" + "9" * 60,
        "ap:y:1",
        "xr:y:1",
        "fe:p:999",
        "cl:999",
        "hp:t:1:999999",
        "f:c:gig_type:99",
        "f:c:nonexistent:1",
        "f:e:99",
        "fa:5:" + "A" * 22,
        "x" * 64,
        "",
        "🙂" * 16,
    ],
)
async def test_forged_button_data_changes_nothing(h: Harness, data: str) -> None:
    people = await world(h)
    other_expert = people["unapproved"]
    before = await snapshot(h)
    await other_expert.press_data(data, other_expert.inbox[-1])
    await people["orderer"].press_data(data, people["orderer"].inbox[-1])
    assert await snapshot(h) == before


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_date_and_period_parsers_never_crash(value: str) -> None:
    now = at("23.11.2026 10.00")
    with contextlib.suppress(InputError):
        parse_date(value, now, HEL)
    with contextlib.suppress(Refuse):
        parse_period(value.split(), now.date())


async def test_a_forged_button_of_every_kind_is_answered_as_stale(h: Harness) -> None:
    """Every kind of button, forged: record numbers one past the database's largest integer
    (the handler's own pattern takes them, the codec reads them as stale), or data just off
    the shape (the fallback takes it). Whoever presses, the answer is the kind "this button is
    old" or the usual refusal, nothing changes and nothing is logged as an error."""
    people = await world(h)
    pressers = [people[r] for r in ("coordinator", "expert", "unapproved", "orderer")]
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    before = await snapshot(h)
    try:
        for kind in Button.KINDS:
            data = pack(largest(kind))
            forged = (
                data.replace(str(DB_INT_MAX), str(DB_INT_MAX + 1))
                if str(DB_INT_MAX) in data
                else data + "x"
            )
            # An out-of-range id still has the button's shape: its own handler reads it.
            assert (forged == data + "x") != bool(pattern(kind).match(forged)), forged
            toasts = []
            for person in pressers:
                count = len(person.inbox)
                await person.press_data(forged, person.inbox[-1])
                toasts.append(person.last_toast())
                assert person.inbox[count:] == [], (forged, person.inbox[count:])
                assert toasts[-1] in refusal_texts(person), (forged, toasts[-1])
            assert any(t == pressers[0].t("err.stale") for t in toasts), (forged, toasts)
    finally:
        logging.getLogger().removeHandler(errors)
    assert not errors.records, [r.getMessage() for r in errors.records]
    assert await snapshot(h) == before
