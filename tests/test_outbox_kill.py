"""A kill at each boundary of the outbox: nothing is lost, and only the message in flight at the
kill can arrive twice, harmlessly (both copies answer the same offer; each is retired)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from bot.app import build_application, post_init, presence_of
from storage.models import Offer, Outbox, OutboxStatus
from tests import flows
from tests.harness import Harness, Person


class Killed(BaseException):
    """The process dies here: nothing after this point runs, no handler catches it."""


def offers_in(p: Person) -> list[int]:
    """Message ids of the offers this person has received (with their buttons or not)."""
    return [
        m.message_id for m in p.inbox if any(b.data.startswith("of:a:") for b in m.flat_buttons)
    ]


@pytest.mark.parametrize("boundary", ["sending", "sent", "marked"])
async def test_a_kill_in_the_outbox_loses_nothing_and_repeats_only_what_was_in_flight(
    h: Harness, boundary: str
) -> None:
    nurse = await flows.register_orderer(h, 201)
    crew = [await flows.register_expert(h, 301 + i, f"E{i + 1}") for i in range(3)]
    await flows.fill_order(nurse, seats="3")
    await nurse.press(nurse.t("btn.send"))
    people = [nurse, *crew]
    before = {p.id: len(p.inbox) for p in people}
    async with h.core.db.unit_of_work() as s:
        first_row = (await s.scalar(select(Outbox.id).order_by(Outbox.id.desc()).limit(1))) or 0

    in_flight: list[int] = []
    offers_seen = 0

    def kill(at: str, row: Outbox) -> None:
        nonlocal offers_seen
        if at == "sending" and (row.tag or "").startswith("offer:"):
            offers_seen += 1
        if offers_seen == 2 and at == boundary:
            in_flight.append(row.chat_id)
            raise Killed

    h.core.outbox.checkpoint = kill
    coord = flows.coordinator(h)
    with pytest.raises(Killed):
        await coord.press(coord.t("btn.approve"))
    assert len(in_flight) == 1
    # The process is gone, and with it its database sessions (its presence lock).
    await presence_of(h.app).end()

    # A new process over the same database and the same Telegram.
    app = build_application(h.core.settings, clock=h.clock, request=h.tg.request())
    async with app:
        await post_init(app)
        h2 = Harness(app, h.tg, h.clock)
        async with h2.core.db.unit_of_work() as s:
            rows = (await s.scalars(select(Outbox).where(Outbox.id > first_row))).all()
        # 0 lost: every message the approval queued has gone out.
        assert {r.status for r in rows} <= {OutboxStatus.SENT, OutboxStatus.CANCELLED}
        queued = Counter(r.chat_id for r in rows if r.kind != "edit")
        arrived = {p.id: len(p.inbox) - before[p.id] for p in people}
        # Repeats only for the row in flight, and only if Telegram had it before the kill.
        repeated = in_flight[0] if boundary == "sent" else None
        assert arrived == {p.id: queued[p.id] + (p.id == repeated) for p in people}
        assert all(len(offers_in(p)) == 1 + (p.id == repeated) for p in crew)

        # Both copies answer the one offer; each copy is retired once pressed or closed.
        again = next((p for p in crew if p.id == repeated), crew[1])
        e = h2.person(again.id, again.name)
        copies = [m for m in e.inbox if m.message_id in offers_in(e)]
        await e.press(e.t("btn.accept"), copies[0])
        assert copies[0].text == e.t("offer.accepted", title=await h2.title("fi", 1))
        if len(copies) == 2:
            await e.press(e.t("btn.accept"), copies[1])
            assert e.last_toast() == e.t("offer.already_answered")
        live = [m for m in copies if any(b.text == e.t("btn.accept") for b in m.flat_buttons)]
        assert live == []
        async with h2.core.db.unit_of_work() as s:
            accepted = (await s.scalars(select(Offer).where(Offer.status == "accepted"))).all()
        assert len(accepted) == 1
        await presence_of(app).end()
        await h2.core.db.dispose()
