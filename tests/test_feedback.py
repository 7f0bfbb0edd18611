"""Anonymous post-event feedback, with anonymity proven: no respondent id or name anywhere."""

from __future__ import annotations

import logging
import re
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


async def test_audience_answers_anonymously_and_results_wait_for_the_close(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    nurse, aino = await gig_done(h)
    token = link_token(nurse)
    people = [h.person(tid, f"Kuulija{i}", "fi") for i, tid in enumerate(AUDIENCE_IDS)]
    for i, p in enumerate(people[:5]):
        await answer(h, p, token, 4 + (i % 2), f"Rohkea kertomus {i}", None)
    coord = flows.coordinator(h)
    await coord.send("/feedback 1")
    # Enough answers, but the link is open: only the count, nothing that could be differenced.
    async with h.core.db.unit_of_work() as s:
        rnd = await s.scalar(select(FeedbackRound))
        assert rnd is not None
    until = h.core.presenter.when("fi", rnd.closes_at)
    assert coord.t("feedback.open", count=5, until=until) in coord.last.text
    assert "Rohkea kertomus" not in coord.last.text
    await answer(h, people[5], token, 1, None, "Enemmän aikaa kysymyksille")
    # Someone changes their mind before the window closes: the answer is replaced.
    await people[5].send(f"/start {token}")
    assert people[5].t("feedback.again") in people[5].last.text
    await people[5].press("2")
    await people[5].press(people[5].t("btn.skip"))
    await people[5].send("Enemmän aikaa kysymyksille")
    await aino.send("/myfeedback")
    assert aino.t("feedback.waiting", count=6, k=5) in aino.last.text
    # The window closes: the secret and every hash are destroyed, and results show at once.
    await h.advance(timedelta(days=15))
    await coord.send("/feedback 1")
    result = coord.last.text
    assert (
        coord.t(
            "feedback.result",
            count=6,
            average="4,0",
            dist="1: 0 · 2: 1 · 3: 0 · 4: 3 · 5: 2",
        )
        in result
    )
    assert "Rohkea kertomus 4" in result and "Enemmän aikaa kysymyksille" in result
    await aino.send("/myfeedback")
    assert "4,0/5" in aino.last.text
    async with h.core.db.unit_of_work() as s:
        rnd = await s.scalar(select(FeedbackRound))
        assert rnd is not None and rnd.closed and rnd.secret is None
        hashes = (await s.scalars(select(FeedbackAnswer.person_hash))).all()
        assert hashes == [None] * 6
    await people[6].send(f"/start {token}")
    assert people[6].last.text == people[6].t("feedback.closed")
    dump = await everything(h)
    logs = caplog.text
    for p in people:
        assert str(p.id) not in dump and p.name not in dump, p.id
        assert str(p.id) not in logs and p.name not in logs


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_score_counts_without_the_optional_questions(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse, _ = await gig_done(h, lang)
    token = link_token(nurse)
    people = [h.person(tid, "X", lang) for tid in AUDIENCE_IDS[:5]]
    for p in people:  # each taps a score and leaves
        await p.send(f"/start {token}")
        await p.press("3")
    # One reopens the link and leaves without tapping: the earlier score still counts.
    await people[0].send(f"/start {token}")
    assert people[0].t("feedback.again") in people[0].last.text
    # Another reopens and taps a new score, then leaves: it replaces theirs, still one answer.
    await people[1].send(f"/start {token}")
    await people[1].press("5")
    await h.advance(timedelta(days=15))
    coord = flows.coordinator(h)
    await coord.send("/feedback 1")
    average = h.core.presenter.num(lang, 3.4)
    dist = "1: 0 · 2: 0 · 3: 4 · 4: 0 · 5: 1"
    assert coord.t("feedback.result", count=5, average=average, dist=dist) in coord.last.text


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_named_is_chosen_before_the_link_and_every_text_says_so(
    h: Harness, lang: str
) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    coord = flows.coordinator(h)
    await coord.send("/feedback 1")
    card = coord.last
    assert coord.t("feedback.mode_anonymous") in card.text
    assert coord.t("feedback.no_round") in card.text
    await coord.press(coord.t("btn.feedback_named"), card)
    assert coord.last.text == coord.t("feedback.named_set")
    await coord.send("/feedback 1")
    assert coord.t("feedback.mode_named") in coord.last.text
    h.clock.set(at("10.12.2026 14.29"))
    await h.advance(timedelta(minutes=5))  # the gig has ended: the link goes out
    link = next(m.text for m in nurse.inbox if "?start=fb_" in m.text)
    title = await h.title(lang, 1)
    assert link.startswith(nurse.t("feedback.link_named", title=title, link="", until="")[:40])
    token = link_token(nurse)
    # Too late to switch now: the link has told the audience.
    await coord.press(coord.t("btn.feedback_anonymous"), coord.last)
    assert coord.last.text == coord.t("feedback.anonymity_locked")
    await coord.send("/feedback 1")
    assert not coord.last.flat_buttons
    people = [h.person(tid, f"Nimi{i}", lang) for i, tid in enumerate(AUDIENCE_IDS[:5])]
    for i, p in enumerate(people):
        await p.send(f"/start {token}")
        if i == 0:
            assert p.last.text.startswith(await intro(h, p, "feedback.intro_named"))
        await p.press("4")
        await p.send(f"Hyvä {i}")
        await p.press(p.t("btn.skip"))
        assert p.last.text == p.t("feedback.thanks_named")
    await h.advance(timedelta(days=15))
    await coord.send("/feedback 1")
    assert "• Hyvä 0 – Nimi0" in coord.last.text


async def intro(h: Harness, p: Person, key: str) -> str:
    async with h.core.db.unit_of_work() as s:
        rnd = await s.scalar(select(FeedbackRound))
        assert rnd is not None
    return p.t(
        key,
        type=h.core.presenter.label(p.lang, "gig_type", flows.ORDER["gig_type"]),
        organisation=flows.ORDER["organisation"],
        until=h.core.presenter.when(p.lang, rnd.closes_at),
    )


async def test_anonymity_cannot_be_switched_once_the_link_is_sent(h: Harness) -> None:
    nurse, _ = await gig_done(h)
    token = link_token(nurse)
    assert "fb_" in token
    coord = flows.coordinator(h)
    async with h.core.db.unit_of_work() as s:
        rnd = await s.scalar(select(FeedbackRound))
        assert rnd is not None and rnd.anonymous
    await coord.press_data("fn:1:1", coord.last)
    assert coord.last.text == coord.t("feedback.anonymity_locked")
    async with h.core.db.unit_of_work() as s:
        rnd = await s.scalar(select(FeedbackRound))
        assert rnd is not None and rnd.anonymous


async def test_low_average_alerts_coordinators_when_the_round_closes(h: Harness) -> None:
    nurse, _ = await gig_done(h)
    token = link_token(nurse)
    for tid in AUDIENCE_IDS[:5]:
        await answer(h, h.person(tid, "X"), token, 1, None, None)
    await h.advance(timedelta(minutes=5))
    assert not flows.coordinator(h).last.text.startswith("📉")  # still open: nothing shown
    await h.advance(timedelta(days=15))
    assert flows.coordinator(h).last.text.startswith("📉")


async def test_expert_and_orderer_cannot_read_other_feedback(h: Harness) -> None:
    nurse, aino = await gig_done(h)
    for person in (nurse, aino):
        await person.send("/feedback 1")
        assert person.last.text == person.t("common.not_allowed")


def released(p: Person, view: str) -> tuple[int, list[str]]:
    """How many answers a view shows results for, and every result line and free text."""
    template = p.t("feedback.result", count="COUNT", average="AVG", dist="DIST")
    pattern = re.escape(template).replace("COUNT", r"(\d+)").replace("AVG", ".+?")
    pattern = pattern.replace("DIST", ".+")
    counts = [int(n) for n in re.findall(pattern, view)]
    shown = [line for line in view.splitlines() if line.startswith("• ") or "/5" in line]
    return sum(counts), sorted(shown)


async def test_two_views_never_differ_by_one_answer(h: Harness) -> None:
    """Answers come one by one into four gigs; rounds close one by one. After every answer and
    every close, the coordinator's views and the expert's are taken: two consecutive views of
    the same kind show the same results, or results that differ by at least K answers."""
    k = h.core.feedback.k
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    days = (10, 11, 12, 13)
    for day in days:
        await flows.order_and_approve(h, nurse, seats="1", starts_at=f"{day}.12.2026 klo 13.00")
        await aino.press(aino.t("btn.accept"))
    coord = flows.coordinator(h)
    history: dict[str, list[tuple[int, list[str]]]] = {}

    async def look() -> None:
        views = {"all": (coord, "/feedback"), "mine": (aino, "/myfeedback")}
        views |= {f"gig{g}": (coord, f"/feedback {g}") for g in range(1, len(days) + 1)}
        for name, (person, command) in views.items():
            await person.send(command)
            seen = released(person, person.last.text)
            past = history.setdefault(name, [])
            if past:
                step = seen[0] - past[-1][0]
                assert step == 0 or step >= k, (name, past[-1], seen)
                if step == 0:
                    assert seen == past[-1], (name, past[-1], seen)
            past.append(seen)

    # Answers per gig: one round with more than K, three small ones that only pool together.
    plan = {1: 7, 2: 2, 3: 2, 4: 1}
    tokens = []
    for day in days:
        h.clock.set(at(f"{day}.12.2026 14.35"))
        await h.advance(timedelta(minutes=5))
        newest = [t for m in nurse.inbox for t in m.text.split() if "?start=fb_" in t][-1]
        tokens.append(newest.rsplit("?start=", 1)[1])
    audience = iter(range(7_000_000, 7_000_100))
    for gig, count in plan.items():
        for n in range(count):
            p = h.person(next(audience), "X")
            await p.send(f"/start {tokens[gig - 1]}")
            await p.press(str(1 + (gig + n) % 5))
            if n % 2:
                await p.send(f"Gig {gig} answer {n}")  # some also write; others just leave
            await look()
    for _ in days:  # the rounds close a day apart
        await h.advance(timedelta(days=1))
        await look()
    await h.advance(timedelta(days=14))
    await look()
    # The rule released everything in the end (else the test above would prove nothing).
    assert history["all"][-1][0] == sum(plan.values())
    assert history["gig1"][-1][0] == 7 and history["gig2"][-1][0] == 0
    assert history["all"][0][0] == 0
