"""Promise tests for audience feedback and the inbox: updates go through the inbox exactly as
production's durable polling takes them, and after every step every table and the log as
production writes it are searched for the respondent."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.polling import DurablePoller
from bot.sandbox.fakebot import Sent
from storage.models import FeedbackAnswer, Inbox
from storage.repo import InboxRepo
from tests import flows
from tests.evidence import everything, production_log
from tests.harness import ErrorLog, Harness
from tests.test_feedback import gig_done, intro, link_token

# Short ids on purpose: production's log filter masks runs of 9+ digits as phone numbers,
# which would hide a leak of a real (longer) Telegram id from this search.
RESPONDENT = {
    "id": 5550123,
    "is_bot": False,
    "first_name": "Ulpukka",
    "last_name": "Vastaajatar",
    "username": "ulpukka_v",
}


class Durable:
    """Feeds updates the production way: stored in the inbox, then handled from it."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.next_id = 900_000

    async def deliver(self, update: dict[str, Any]) -> int:
        self.next_id += 1
        update = {"update_id": self.next_id, **update}
        async with self.h.core.db.unit_of_work() as s:
            await InboxRepo(s).store([(self.next_id, update)])
        await DurablePoller(self.h.app).handle_stored()
        await self.h.core.outbox.idle()
        return self.next_id

    async def send(self, user: dict[str, Any], words: str, chat_type: str = "private") -> int:
        entities = (
            [{"type": "bot_command", "offset": 0, "length": len(words.split()[0])}]
            if words.startswith("/")
            else []
        )
        return await self.deliver(
            {
                "message": {
                    "message_id": self.next_id + 1,
                    "date": int(self.h.clock.now().timestamp()),
                    "chat": {"id": user["id"], "type": chat_type, "first_name": user["first_name"]},
                    "from": user,
                    "text": words,
                    "entities": entities,
                }
            }
        )

    async def press(self, user: dict[str, Any], message: Sent, data: str) -> int:
        return await self.deliver(
            {
                "callback_query": {
                    "id": str(self.next_id + 1),
                    "from": user,
                    "chat_instance": "ci",
                    "data": data,
                    "message": message.as_api(),
                }
            }
        )


def traces(user: dict[str, Any]) -> list[str]:
    return [str(user["id"]), user["first_name"], user["last_name"], user["username"]]


def moments(h: Harness) -> list[str]:
    """The present instant as storage, the log and Telegram would write it."""
    now = h.clock.now()
    local = now.astimezone(h.core.settings.tz)
    return [
        str(int(now.timestamp())),
        now.strftime("%Y-%m-%d %H:%M"),
        local.strftime("%Y-%m-%d %H:%M"),
        f"{local.hour}.{local.minute:02d}",
    ]


async def payloads(h: Harness) -> list[object]:
    async with h.core.db.unit_of_work() as s:
        return list((await s.scalars(select(Inbox.payload))).all())


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_respondent_leaves_no_trace_at_any_step(h: Harness, lang: str) -> None:
    nurse, _ = await gig_done(h, lang)
    token = link_token(nurse)
    durable = Durable(h)
    me = {**RESPONDENT, "language_code": lang}
    watcher = h.person(int(me["id"]), str(me["first_name"]), lang)
    # An odd moment, so that the instant of each answer is unique in the whole database.
    h.clock.advance(timedelta(hours=2, minutes=17, seconds=41))

    async def step(action: Any) -> None:
        with production_log() as log:
            await action()
        dump = await everything(h)
        for needle in traces(me) + moments(h):
            assert needle not in dump, (needle, [x for x in dump.splitlines() if needle in x])
            assert needle not in log.getvalue(), needle
        assert await payloads(h) == [None] * len(await payloads(h))
        h.clock.advance(timedelta(minutes=3, seconds=7))

    await step(lambda: durable.send(me, f"/start {token}"))
    assert watcher.last.text.startswith(await intro(h, watcher, "feedback.intro"))
    question = watcher.last
    await step(lambda: durable.press(me, question, question.buttons[0][3].data))
    assert watcher.last.text == watcher.t("feedback.q_stayed")
    await step(lambda: durable.send(me, "Rohkea kertomus, kiitos"))
    await step(lambda: durable.press(me, watcher.last, watcher.last.buttons[0][0].data))
    assert watcher.last.text == watcher.t("feedback.thanks")
    # Reopening the link and changing the score: still nothing, and still one answer.
    await step(lambda: durable.send(me, f"/start {token}"))
    assert watcher.t("feedback.again") in watcher.last.text
    await step(lambda: durable.press(me, watcher.last, watcher.last.buttons[0][1].data))
    async with h.core.db.unit_of_work() as s:
        scores = (await s.scalars(select(FeedbackAnswer.usefulness))).all()
    assert scores == [2]
    # The round closes: the hash goes too; the answer stays, with nothing but what was said.
    await step(lambda: h.advance(timedelta(days=15)))
    async with h.core.db.unit_of_work() as s:
        row = await s.scalar(select(FeedbackAnswer))
    assert row is not None and row.person_hash is None and row.stayed == "Rohkea kertomus, kiitos"


async def test_every_update_loses_its_payload_when_handled(h: Harness) -> None:
    """Handled, matched by no handler, refused, and failed updates alike."""
    nurse, _ = await gig_done(h)
    token = link_token(nurse)
    durable = Durable(h)
    stranger = {**RESPONDENT, "language_code": "fi"}
    blocked = {  # the person blocks the bot: no handler takes this kind of update
        "update_id": 1,
        "my_chat_member": {
            "chat": {"id": stranger["id"], "type": "private", "first_name": "Ulpukka"},
            "from": stranger,
            "date": int(h.clock.now().timestamp()),
            "old_chat_member": {
                "status": "member",
                "user": {"id": 999000, "is_bot": True, "first_name": "Bot"},
            },
            "new_chat_member": {
                "status": "kicked",
                "until_date": 0,
                "user": {"id": 999000, "is_bot": True, "first_name": "Bot"},
            },
        },
    }
    async with h.core.db.unit_of_work() as s:
        await InboxRepo(s).store([(1, blocked)])
    # Before it is handled the payload is there: the searches below can fail.
    assert await payloads(h) == [blocked]
    assert "ulpukka_v" in await everything(h)
    await DurablePoller(h.app).handle_stored()  # no handler takes this one
    await durable.send(stranger, f"/start {token}")  # handled
    await durable.send(stranger, "hello", chat_type="group")  # ignored: not a private chat
    card = (await flows.coordinator(h).send("/feedback 1"))[-1]
    await durable.press(stranger, card, "fn:1:1")  # refused: not a coordinator
    assert h.tg.callback_answers[-1]["text"] == h.t("fi", "common.not_registered")
    # A failure inside the transaction (the database refuses the answer): the person is
    # told, the update is done (not retried) and its payload is gone all the same.
    await _refuse_answers(h)
    question = h.person(int(stranger["id"])).last
    errors = next(x for x in logging.getLogger().handlers if isinstance(x, ErrorLog))
    await durable.press(stranger, question, question.buttons[0][4].data)
    assert h.person(int(stranger["id"])).last.text == h.t("fi", "common.error")
    assert errors.records and "refused in test" in errors.records[-1].getMessage()
    errors.records.clear()
    assert await payloads(h) == [None] * len(await payloads(h))
    dump = await everything(h)
    for needle in traces(stranger):
        assert needle not in dump, needle
    # Pruning keeps only the newest handled id: the offset after a restart.
    async with h.core.db.unit_of_work() as s:
        await InboxRepo(s).prune()
    async with h.core.db.unit_of_work() as s:
        rows = (await s.scalars(select(Inbox))).all()
    assert [(r.update_id, r.done, r.payload) for r in rows] == [(durable.next_id, True, None)]


async def _refuse_answers(h: Harness) -> None:
    """A fault in the database itself: inserting an answer fails."""
    async with h.core.db.unit_of_work() as s:
        if s.bind.dialect.name == "sqlite":
            await s.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON feedback_answers "
                    "BEGIN SELECT RAISE(ABORT, 'refused in test'); END"
                )
            )
        else:
            await s.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'refused in test'; END $$ LANGUAGE plpgsql"
                )
            )
            await s.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON feedback_answers "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )


async def test_answers_are_stored_under_random_keys_rewritten_at_close(h: Harness) -> None:
    nurse, _ = await gig_done(h)
    token = link_token(nurse)
    people = [h.person(6000 + i, f"P{i}") for i in range(8)]
    for i, p in enumerate(people):
        await p.send(f"/start {token}")
        await p.press(str(1 + i % 5))
    async with h.core.db.unit_of_work() as s:
        before = list((await s.scalars(select(FeedbackAnswer.id))).all())
    assert all(len(k) == 32 and int(k, 16) >= 0 for k in before)
    await h.advance(timedelta(days=15))
    async with h.core.db.unit_of_work() as s:
        after = list((await s.scalars(select(FeedbackAnswer.id))).all())
        if s.bind.dialect.name == "sqlite":
            physical = [r[0] for r in await s.execute(text("SELECT id FROM feedback_answers"))]
            by_rowid = [
                r[0]
                for r in await s.execute(text("SELECT id FROM feedback_answers ORDER BY rowid"))
            ]
        else:
            physical = by_rowid = [
                r[0] for r in await s.execute(text("SELECT id FROM feedback_answers ORDER BY ctid"))
            ]
    assert len(after) == 8 and not set(after) & set(before)  # every key is new
    # Storage order follows the new random keys, not the order people answered in.
    assert by_rowid == sorted(after) and sorted(physical) == sorted(after)


def test_an_answer_has_no_time_column_at_all() -> None:
    """Not even the day: nothing on an answer says when it came."""
    kinds = {c.name: c.type.python_type for c in FeedbackAnswer.__table__.columns}
    assert not [name for name, kind in kinds.items() if kind in (datetime, date)], kinds
