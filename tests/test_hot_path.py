"""The cost of the commonest update, counted where it is spent: SQL statements. A /mygigs from
a registered expert (issue 15: the bot is CPU-bound in SQLAlchemy, per statement) runs a fixed,
small number of statements in one write transaction. A change that adds a statement to this
path fails here; raise the bound only knowing what it costs (docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from telegram import Update

from storage.repo import InboxRepo
from tests import flows
from tests.harness import Harness, Person

# Who is asking, the inbox claim, the expert's gigs and offers (one SELECT for both lists).
MYGIGS_STATEMENTS = 3


@contextmanager
def statements(h: Harness) -> Iterator[list[str]]:
    """What the bot sends to the database meanwhile: each statement's first word, and
    "begin"/"commit" for each transaction (SQLite's BEGIN IMMEDIATE is a statement of ours,
    asyncpg's BEGIN is not: both are counted as the transaction's begin)."""
    seen: list[str] = []
    engine = h.core.db.engine.sync_engine

    def on_statement(*args: Any) -> None:
        word = str(args[2]).split(None, 1)[0].upper()
        if word != "BEGIN":
            seen.append(word)

    def on_begin(_conn: Any) -> None:
        seen.append("begin")

    def on_commit(_conn: Any) -> None:
        seen.append("commit")

    listeners = (
        ("before_cursor_execute", on_statement),
        ("begin", on_begin),
        ("commit", on_commit),
    )
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)


async def stored(h: Harness, person: Person, text: str, update_id: int) -> Update:
    """A command as long polling hands it over: already stored in the inbox."""
    data = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": h.tg.now,
            "chat": {"id": person.id, "type": "private", "first_name": person.name},
            "from": person.user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }
    async with h.core.db.unit_of_work() as s:
        await InboxRepo(s).store([(update_id, data)])
    return Update.de_json(data, h.app.bot)


async def handle(h: Harness, update: Update) -> None:
    await h.app.process_update(update)
    await h.core.outbox.idle()


async def test_mygigs_from_a_registered_expert_is_a_few_statements_in_one_transaction(
    h: Harness,
) -> None:
    nurse = await flows.register_orderer(h, 500)
    aino = await flows.register_expert(h, 301, "Aino")
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    await flows.order_and_approve(h, nurse, seats="1", starts_at="17.12.2026 klo 13.00")
    assert flows.offered(aino)

    update = await stored(h, aino, "/mygigs", 7_000_001)
    with statements(h) as seen:
        await handle(h, update)
    # She sees both lists: the confirmed gig (with its buttons: step back, hand the place to a
    # colleague, write to the orderer) and the open offer.
    assert aino.t("expert.gigs_header") in aino.last.text
    assert aino.t("expert.offers_header") in aino.last.text
    assert [b.text for b in aino.last.flat_buttons] == [
        aino.t("btn.step_back", id=1),
        aino.t("btn.lifecycle.swap", id=1),
        aino.t("btn.relay.to_orderer", id=1),
    ]
    assert seen.count("begin") == 1 and seen.count("commit") == 1, seen
    assert sum(s in ("INSERT", "UPDATE", "DELETE") for s in seen) == 1, seen  # the claim
    assert len(seen) - 2 <= MYGIGS_STATEMENTS, seen

    # A redelivery of the same update is recognised by the claim and changes nothing.
    before = len(aino.inbox)
    with statements(h) as again:
        await handle(h, update)
    assert len(aino.inbox) == before
    assert again.count("begin") == 1 and len(again) - 2 <= MYGIGS_STATEMENTS, again
