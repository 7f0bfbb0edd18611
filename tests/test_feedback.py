"""Anonymous post-event feedback, with anonymity proven: no respondent id or name anywhere."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.models import FeedbackAnswer, FeedbackRound, OrdererFeedback
from tests import flows
from tests.evidence import everything
from tests.harness import Harness, Person, at

AUDIENCE_IDS = [777000111 + i for i in range(7)]


async def gig_done(h: Harness, lang: str = "fi") -> tuple[Person, Person]:
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    h.clock.set(at("10.12.2026 14.29"))
    await h.advance(timedelta(minutes=5))  # the gig (13.00 + 1,5 h) has ended
    return nurse, aino


def link_token(nurse: Person) -> str:
    line = next(t for m in nurse.inbox for t in m.text.splitlines() if "?start=fb_" in t)
    return line.rsplit("?start=", 1)[1]


async def answer(
    h: Harness, person: Person, token: str, score: int, stayed: str | None, better: str | None
) -> None:
    await person.send(f"/start {token}")
    await person.press(str(score))
    for reply in (stayed, better):
        if reply is None:
            await person.press(person.t("btn.skip"))
        else:
            await person.send(reply)


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_the_orderer_gets_a_link_and_a_qr_code(h: Harness, lang: str) -> None:
    nurse, _ = await gig_done(h, lang)
    token = link_token(nurse)
    assert token.startswith("fb_") and len(token) >= 20
    _name, png = nurse.last_file.document  # type: ignore[misc]
    assert png.startswith(b"\x89PNG")
    assert nurse.last.text == nurse.t("feedback.orderer_ask", title=await h.title(lang, 1))
    await nurse.press("4")
    await nurse.press("5")
    await nurse.send("Hyvä puheenvuoro, kiitos!")
    async with h.core.db.unit_of_work() as s:
        row = await s.scalar(select(OrdererFeedback))
        assert row is not None and (row.gig_rating, row.cooperation_rating) == (4, 5)


async def test_audience_answers_anonymously_and_results_wait_for_enough(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    nurse, aino = await gig_done(h)
    token = link_token(nurse)
    people = [h.person(tid, f"Kuulija{i}", "fi") for i, tid in enumerate(AUDIENCE_IDS)]
    for i, p in enumerate(people[:4]):
        await answer(h, p, token, 4 + (i % 2), f"Rohkea kertomus {i}", None)
    coord = flows.coordinator(h)
    await coord.send("/feedback 1")
    assert coord.t("feedback.too_few", count=4, k=5) in coord.last.text
    assert "Rohkea kertomus" not in coord.last.text
    await answer(h, people[4], token, 1, None, "Enemmän aikaa kysymyksille")
    # Someone changes their mind before the window closes: the answer is replaced.
    await people[4].send(f"/start {token}")
    assert people[4].t("feedback.again") in people[4].last.text
    await people[4].press("2")
    await people[4].press(people[4].t("btn.skip"))
    await people[4].send("Enemmän aikaa kysymyksille")
    await coord.send("/feedback 1")
    result = coord.last.text
    assert (
        coord.t(
            "feedback.result",
            count=5,
            average="4,0",
            dist="1: 0 · 2: 1 · 3: 0 · 4: 2 · 5: 2",
            days="10.12.2026",
        )
        in result
    )
    assert "Rohkea kertomus 3" in result and "Enemmän aikaa kysymyksille" in result
    await aino.send("/myfeedback")
    assert "4,0/5" in aino.last.text
    # The window closes: the secret and every hash are destroyed.
    await h.advance(timedelta(days=15))
    async with h.core.db.unit_of_work() as s:
        rnd = await s.scalar(select(FeedbackRound))
        assert rnd is not None and rnd.closed and rnd.secret is None
        hashes = (await s.scalars(select(FeedbackAnswer.person_hash))).all()
        assert hashes == [None] * 5
    await people[5].send(f"/start {token}")
    assert people[5].last.text == people[5].t("feedback.closed")
    dump = await everything(h)
    logs = caplog.text
    for p in people:
        assert str(p.id) not in dump and p.name not in dump, p.id
        assert str(p.id) not in logs and p.name not in logs


async def test_anonymity_cannot_be_switched_off_once_answers_exist(h: Harness) -> None:
    nurse, _ = await gig_done(h)
    token = link_token(nurse)
    coord = flows.coordinator(h)
    await coord.send("/feedback 1")
    card = coord.last
    await answer(h, h.person(AUDIENCE_IDS[0], "Eka"), token, 5, None, None)
    await coord.press(coord.t("btn.feedback_named"), card)
    assert coord.last.text == coord.t("feedback.anonymity_locked")
    async with h.core.db.unit_of_work() as s:
        rnd = await s.scalar(select(FeedbackRound))
        assert rnd is not None and rnd.anonymous


async def test_low_average_alerts_coordinators(h: Harness) -> None:
    nurse, _ = await gig_done(h)
    token = link_token(nurse)
    for tid in AUDIENCE_IDS[:5]:
        await answer(h, h.person(tid, "X"), token, 1, None, None)
    await h.advance(timedelta(minutes=5))
    assert flows.coordinator(h).last.text.startswith("📉")


async def test_expert_and_orderer_cannot_read_other_feedback(h: Harness) -> None:
    nurse, aino = await gig_done(h)
    for person in (nurse, aino):
        await person.send("/feedback 1")
        assert person.last.text == person.t("common.not_allowed")
