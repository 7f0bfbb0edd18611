"""A kill at each boundary of an outbox batch (the rows one commit marks `sending`): nothing is
lost, only the rows in flight at the kill can arrive twice (harmlessly: both copies of an offer
answer the same offer; each is retired), and each chat's messages keep their order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from bot.app import build_application, post_init, presence_of
from bot.outbox import OutboxSender
from storage.models import Offer, Outbox, OutboxStatus, Role, User
from tests import flows
from tests.harness import Harness, Person

BOUNDARIES = ["marked", "some sent", "all sent", "recorded"]


class Killed(BaseException):
    """The process dies here: nothing after this point runs, no handler catches it."""


class Killer:
    """Kills the outbox at one boundary of the first batch that `wanted` picks, and from then
    on lets nothing reach Telegram (the process is gone)."""

    def __init__(self, h: Harness, boundary: str, wanted: str = "") -> None:
        self.boundary = boundary
        self.wanted = wanted  # a batch with a row whose tag starts so ("": the first batch)
        self.batch: set[int] = set()  # its rows
        self.sent: set[int] = set()  # its rows whose call Telegram answered
        self.recorded: set[int] = set()  # its rows whose outcome was committed
        self.answered: set[int] = set()  # every row whose call reached Telegram
        self.dead = False
        serve = h.tg.handle

        def handle(method: str, params: dict[str, object]) -> tuple[int, dict[str, object]]:
            if self.dead:
                raise Killed
            return serve(method, params)

        h.tg.handle = handle  # type: ignore[method-assign]
        h.core.outbox.checkpoint = self

    def __call__(self, at: str, rows: Sequence[Outbox]) -> None:
        if self.dead:
            raise Killed
        ids = {r.id for r in rows}
        if at == "sent":
            self.answered |= ids
        first = at == "marked" and not self.batch
        if first and any((r.tag or "").startswith(self.wanted) for r in rows):
            self.batch = ids
        self.sent |= ids & self.batch if at == "sent" else set()
        self.recorded |= ids & self.batch if at == "recorded" else set()
        if self.batch and self._now(at):
            self.dead = True
            raise Killed

    def _now(self, at: str) -> bool:
        match self.boundary:
            case "marked":
                return at == "marked"
            case "some sent":
                return at == "sent" and len(self.sent) == 1
            case "all sent":
                return at == "sent" and self.sent == self.batch
            case _:
                return at == "recorded" and self.recorded == self.batch


async def in_flight(h: Harness) -> list[Outbox]:
    async with h.core.db.unit_of_work() as s:
        rows = await s.scalars(select(Outbox).where(Outbox.status == OutboxStatus.SENDING))
        return list(rows.all())


def repeats_expected(killer: Killer, flying: list[Outbox]) -> list[Outbox]:
    """The rows that arrive twice: in flight at the kill, and Telegram had them before it."""
    return [r for r in flying if r.id in killer.answered and r.kind != "edit"]


def check_batch(killer: Killer, flying: list[Outbox]) -> None:
    """What the boundary means for the batch: which of its rows Telegram had, which are still
    in flight."""
    batch, had = killer.batch, killer.answered & killer.batch
    marked = {r.id for r in flying}
    assert len(batch) >= 2
    if killer.boundary == "marked":
        assert marked >= batch and not had
    elif killer.boundary == "some sent":
        assert marked >= batch and len(had) == 1
    elif killer.boundary == "all sent":
        assert had == batch and marked >= batch - killer.recorded
    else:
        assert had == batch and not marked & batch


@pytest.mark.parametrize("boundary", BOUNDARIES)
async def test_a_kill_in_a_batch_loses_nothing_repeats_only_rows_in_flight_and_keeps_order(
    h: Harness, boundary: str
) -> None:
    """40 chats, 3 messages each (the first one later edited), queued in turns: each batch
    takes one row per chat, at most 30."""
    chats = [70_000 + i for i in range(40)]
    async with h.core.db.unit_of_work() as s:
        people = {c: User(telegram_id=c, role=Role.EXPERT, language="fi") for c in chats}
        for k in range(3):
            for c in chats:
                await h.core.notifier.push_text(s, people[c], f"{c}-{k}", tag=f"t:{c}-{k}")
        for c in chats[::4]:
            await h.core.notifier.edit_text(s, people[c], f"t:{c}-0", f"{c}-0 (edited)")
    killer = Killer(h, boundary)
    with pytest.raises(Killed):
        await h.core.outbox.flush()
    flying = await in_flight(h)
    check_batch(killer, flying)
    assert len(flying) <= 30 and len({r.chat_id for r in flying}) == len(flying)
    repeated = Counter(r.text for r in repeats_expected(killer, flying))

    # The process is gone, and with it its database sessions (its presence lock, on
    # PostgreSQL: its rows in flight may be taken over). A new process over the same
    # database and the same Telegram.
    await presence_of(h.app).end()
    killer.dead = False
    h.core.outbox.checkpoint = None
    again = OutboxSender(h.core.db, h.core.transport, h.clock, h.core.outbox.limiter)
    await again.flush()
    async with h.core.db.unit_of_work() as s:
        statuses = Counter((await s.scalars(select(Outbox.status))).all())
    assert statuses == {OutboxStatus.SENT: 3 * 40 + 10}  # 0 lost, nothing left behind
    for c in chats:
        texts = [m.text for m in h.tg.chat(c)]
        once = list(dict.fromkeys(t.removesuffix(" (edited)") for t in texts))
        assert once == [f"{c}-{k}" for k in range(3)]  # in order
        extra = Counter(t.removesuffix(" (edited)") for t in texts) - Counter(once)
        assert extra == Counter({t: n for t, n in repeated.items() if t.startswith(f"{c}-")})
        if c in chats[::4]:  # the edit reached the copy whose id was recorded
            assert f"{c}-0 (edited)" in texts
    assert h.tg.refused == []


def offers_in(p: Person) -> list[int]:
    """Message ids of the offers this person has received (with their buttons or not)."""
    return [
        m.message_id for m in p.inbox if any(b.data.startswith("of:a:") for b in m.flat_buttons)
    ]


@pytest.mark.parametrize("boundary", BOUNDARIES)
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

    killer = Killer(h, boundary, wanted="offer:")  # the batch with the offers
    coord = flows.coordinator(h)
    with pytest.raises(Killed):
        await coord.press(coord.t("btn.approve"))
    flying = await in_flight(h)
    check_batch(killer, flying)
    repeated = Counter(r.chat_id for r in repeats_expected(killer, flying))
    # The process is gone, and with it its database sessions (its presence lock).
    await presence_of(h.app).end()
    killer.dead = False

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
        # Repeats only for rows in flight, and only if Telegram had them before the kill.
        assert arrived == {p.id: queued[p.id] + repeated[p.id] for p in people}
        assert all(len(offers_in(p)) == 1 + repeated[p.id] for p in crew)

        # Both copies answer the one offer; each copy is retired once pressed or closed.
        again = next((p for p in crew if repeated[p.id]), crew[1])
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
