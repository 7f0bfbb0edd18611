"""The orderer sees the audience feedback of their own gigs: pushed once released, and behind
a button in /myorders; by the same release rule as everyone (never fewer than K answers)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests import flows
from tests.harness import Harness, Person, at

AUDIENCE = iter(range(7_100_000, 7_200_000))


def counts(p: Person, text: str) -> list[int]:
    """The answer counts of every result shown in a text."""
    template = p.t("feedback.result", count="COUNT", average="AVG", dist="DIST")
    pattern = re.escape(template).replace("COUNT", r"(\d+)").replace("AVG", ".+?")
    return [int(n) for n in re.findall(pattern.replace("DIST", ".+"), text)]


async def gigs_done(h: Harness, nurse: Person, days: list[int]) -> list[str]:
    """Order gigs on these December days, have Aino take them, let each end; the links."""
    aino = await flows.register_expert(h, 301, "Aino", lang=nurse.lang)
    for day in days:
        await flows.order_and_approve(h, nurse, seats="1", starts_at=f"{day}.12.2026 klo 13.00")
        await aino.press(aino.t("btn.accept"))
    tokens = []
    for day in days:
        h.clock.set(at(f"{day}.12.2026 14.35"))
        await h.advance(timedelta(minutes=5))
        newest = [t for m in nurse.inbox for t in m.text.split() if "?start=fb_" in t][-1]
        tokens.append(newest.rsplit("?start=", 1)[1])
    return tokens


async def answer(h: Harness, token: str, score: int, text: str | None) -> None:
    p = h.person(next(AUDIENCE), "X")
    await p.send(f"/start {token}")
    await p.press(str(score))
    if text is not None:
        await p.send(text)


async def results_view(nurse: Person) -> str:
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.relay.results"))
    return nurse.last.text


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_the_orderer_gets_the_results_when_the_round_closes(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    (token,) = await gigs_done(h, nurse, [10])
    for n in range(5):
        await answer(h, token, 3 + n % 3, f"Rohkea tarina {n}" if n < 2 else None)
    seen = len(nurse.inbox)
    # While the link is open the orderer sees only that answers are coming.
    view = await results_view(nurse)
    assert counts(nurse, view) == [] and "Rohkea tarina" not in view
    await h.advance(timedelta(days=15))
    pushed = "\n".join(m.text for m in nurse.inbox[seen:])
    title = await h.title(lang, 1)
    assert nurse.t("relay.fb_released", title=title) in pushed
    average = h.core.presenter.num(lang, 3.8)
    dist = "1: 0 · 2: 0 · 3: 2 · 4: 2 · 5: 1"
    assert nurse.t("feedback.result", count=5, average=average, dist=dist) in pushed
    assert "Rohkea tarina 0" in pushed and "Rohkea tarina 1" in pushed
    # Told once: later ticks send nothing more.
    before = len(nurse.inbox)
    await h.advance(timedelta(days=1))
    assert len(nurse.inbox) == before
    view = await results_view(nurse)
    assert counts(nurse, view) == [5] and title in view


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_an_orderer_never_sees_fewer_than_k_answers_by_any_path(
    h: Harness, lang: str
) -> None:
    """Small rounds wait and pool (within the orderer's own gigs); every text the orderer
    ever receives, and every look at /myorders, shows results of at least K answers, and two
    consecutive looks differ by nothing or by at least K answers."""
    k = h.core.feedback.k
    nurse = await flows.register_orderer(h, 201, lang=lang)
    tokens = await gigs_done(h, nurse, [10, 11, 12])
    plan = {1: k - 1, 2: 0, 3: 1}
    looks: list[int] = []

    async def look() -> None:
        shown = sum(counts(nurse, await results_view(nurse)))
        if looks:
            assert shown == looks[-1] or shown - looks[-1] >= k, (looks, shown)
        looks.append(shown)
        for m in nurse.inbox:
            assert all(c >= k for c in counts(nurse, m.text)), m.text

    for gig, many in plan.items():
        for n in range(many):
            await answer(h, tokens[gig - 1], 1 + n % 5, f"Keikka {gig} vastaus {n}")
            await look()
    for _ in plan:  # the rounds close a day apart
        await h.advance(timedelta(days=1))
        await look()
    await h.advance(timedelta(days=14))
    await look()
    everything = "\n".join(m.text for m in nurse.inbox)
    # Gig 1 alone had K - 1: never shown on its own, only pooled with gig 3 (K together).
    assert looks[-1] == k and set(counts(nurse, everything)) == {k}
    assert nurse.t("relay.fb_pooled", gigs=2) in everything
    assert f"Keikka 1 vastaus {k - 2}" in everything
    assert looks[0] == 0
    # The other paths to feedback are not the orderer's.
    for command in ("/feedback", "/feedback 1", "/myfeedback"):
        await nurse.send(command)
        assert counts(nurse, nurse.last.text) == []
