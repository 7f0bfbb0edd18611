"""Details that confused people: an offer answered on the earnings-limit warning, the month the
warning sums, keeping in touch with someone who never had a gig, and a young expert's gig
reported to the orderer as confirmed only once it is."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import flows
from tests.harness import Harness, Person, at


async def over_the_limit(h: Harness, lang: str) -> tuple[Person, Person]:
    """Aino (limit 250 €) took a 150 € gig in December and is offered another 150 € one."""
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    await aino.send("/profile")
    await aino.press(aino.t("btn.limit_earnings"))
    await aino.send("250")
    await flows.order_and_approve(h, nurse, fee="150")
    await aino.press(aino.t("btn.accept"))
    await flows.order_and_approve(h, nurse, fee="150", starts_at="17.12.2026 klo 10.00")
    await aino.press(aino.t("btn.accept"))
    return nurse, aino


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_limit_warning_names_the_gigs_month(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    _, aino = await over_the_limit(h, lang)
    month = {"fi": "joulukuussa 2026", "sv": "i december 2026", "en": "in December 2026"}[lang]
    assert month in aino.last.text
    # It is November now: the sum is December's, and the warning says so.
    assert h.clock.now() < at("1.12.2026 00.00")


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_taking_it_anyway_retires_the_offer_above(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    _, aino = await over_the_limit(h, lang)
    title = await h.title(lang, 2)
    offer, _ = aino.find_button(aino.t("btn.accept"))  # the second offer, above the warning
    await aino.press(aino.t("btn.accept_anyway"))
    assert offer.text == aino.t("offer.accepted", title=title)
    assert not offer.flat_buttons
    assert aino.last.text.startswith(aino.t("offer.confirmation", title=title, details="")[:20])
    assert not any(b.text == aino.t("btn.accept") for m in aino.inbox for b in m.flat_buttons)


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_declining_on_the_warning_retires_the_offer_above(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    _, aino = await over_the_limit(h, lang)
    title = await h.title(lang, 2)
    offer, _ = aino.find_button(aino.t("btn.accept"))
    warning = aino.last
    await aino.press(aino.t("btn.decline"), warning)
    assert warning.text == offer.text == aino.t("offer.declined", title=title)
    assert not offer.flat_buttons  # the answer's undo button is on the warning, for a while
    assert [b.text for b in warning.flat_buttons] == [aino.t("btn.lifecycle.undo", minutes=2)]


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_keep_in_touch_never_speaks_of_a_last_gig_that_never_was(
    h: Harness, lang: str
) -> None:
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    bea = await flows.register_expert(h, 302, "Bea", lang=lang, regions=("lappi",))
    await flows.order_and_approve(h, nurse, seats="1", starts_at="24.11.2026 klo 13.00")
    await aino.press(aino.t("btn.accept"))
    assert not flows.offered(bea)  # another region: Bea has had no gig
    h.clock.set(at("26.12.2026 08.04"))
    await h.advance(timedelta(minutes=1))
    await h.run_job("register:daily")
    await h.core.outbox.flush()
    assert aino.last.text == aino.t("checkin.keep")
    assert bea.last.text == bea.t("checkin.keep_no_gig")
    assert bea.t("checkin.keep_no_gig") != bea.t("checkin.keep")


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_orderer_hears_confirmed_only_once_the_young_experts_companion_is_named(
    h: Harness, lang: str
) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    nuppu = await flows.register_expert(h, 301, "Nuppu", lang=lang)
    coord = flows.coordinator(h)
    await coord.send(f"/expert {await h.user_id(301)}")
    await coord.press(coord.t("btn.toggle_youth"))
    await flows.order_and_approve(h, nurse, seats="1")
    await nuppu.press(nuppu.t("btn.accept"))
    title = await h.title(lang, 1)
    filled = nurse.t("order.filled", title=title, names="Nuppu")
    assert filled not in nurse.texts()
    await coord.press(coord.t("btn.name_companion"))
    await coord.send("Sari Saattaja, 050 765 4321")
    assert nurse.texts().count(filled) == 1
    assert "Sari Saattaja" in nuppu.last.text  # Nuppu's own confirmation came with it
