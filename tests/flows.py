"""Reusable user journeys, each done the way a person does it: typing and pressing buttons."""

from __future__ import annotations

from bot.sandbox.fakebot import Sent
from tests.harness import Harness, Person

COORD = 100


def coordinator(h: Harness, lang: str | None = None) -> Person:
    return h.person(COORD, "Kaisa Koordinaattori", lang or h.coord_lang)


async def invite_link(h: Harness, role: str, coord: Person | None = None) -> str:
    coord = coord or coordinator(h)
    replies = await coord.send(f"/invite {role}")
    link = next(
        line for m in replies for line in m.text.splitlines() if line.startswith("https://t.me/")
    )
    return link.rsplit("=", 1)[1]


async def register_orderer(
    h: Harness, telegram_id: int, name: str = "Nea Nurse", lang: str = "fi"
) -> Person:
    code = await invite_link(h, "orderer")
    person = h.person(telegram_id, name, lang)
    await person.send(f"/start {code}")
    return person


async def register_expert(
    h: Harness,
    telegram_id: int,
    name: str,
    *,
    lang: str = "fi",
    gig_types: tuple[str, ...] = ("talk",),
    topics: tuple[str, ...] = ("mental_health",),
    languages: tuple[str, ...] = ("fi",),
    regions: tuple[str, ...] = ("keski_suomi",),
    remote_ok: bool = True,
    audiences: tuple[str, ...] = (),
    approve: bool = True,
) -> Person:
    """Invite, consent, answer every profile question, and (by default) get approved."""
    code = await invite_link(h, "expert")
    p = h.person(telegram_id, name, lang)
    await p.send(f"/start {code}")
    await p.press(p.t("btn.consent_yes"))
    await p.send(name)
    for label_prefix, codes in (
        ("gig_type", gig_types),
        ("topic", topics),
        ("language_name", languages),
        ("region", regions),
    ):
        for code_ in codes:
            await p.press(p.t(f"{label_prefix}.{code_}"))
        await p.press(p.t("btn.done"))
    await p.press(p.t("common.yes" if remote_ok else "common.no"))
    for code_ in audiences:
        await p.press(p.t(f"audience.{code_}"))
    await p.press(p.t("btn.done"))
    await p.press(p.t("btn.skip"))
    await p.press(p.t("btn.save"))
    assert p.last.text == p.t("expert.registered"), p.last.text
    if approve:
        coord = coordinator(h)
        alert, _ = coord.find_button(coord.t("btn.approve"))
        assert f"#{await h.user_id(telegram_id)}" in alert.text
        await coord.press(coord.t("btn.approve"), alert)
        assert p.last.text == p.t("expert.approved"), p.last.text
    return p


ORDER = {
    "organisation": "Keski-Suomen hyvinvointialue, psykiatrian osasto",
    "gig_type": "talk",
    "topics": ("mental_health",),
    "starts_at": "10.12.2026 klo 13.00",
    "duration": "1,5",
    "remote": "onsite",
    "place": "Keskussairaala, Hoitajantie 3, Jyväskylä, auditorio",
    "region": "keski_suomi",
    "audience": "large",
    "audience_size": "60",
    "seats": "2",
    "language": "fi",
    "fee": "150",
    "contact": "Nea Nurse, 040 123 4567",
    "notes": "Pysäköinti P2-hallissa.",
    "order_ref": None,
    "content_themes": (),  # especially heavy themes (buttons); none: no content note
    "content_note": None,  # the free line, asked only when a theme was picked
}


async def fill_order(p: Person, *, tick: bool = True, **changes: object) -> None:
    """Answer every question of the order form, pressing buttons where the form offers them,
    and (unless `tick` is false) tick the whole checklist on the summary."""
    o = {**ORDER, **changes}
    await p.send("/neworder")
    await p.send(str(o["organisation"]))
    await p.press(p.t(f"gig_type.{o['gig_type']}"))
    for topic in o["topics"]:  # type: ignore[attr-defined]
        await p.press(p.t(f"topic.{topic}"))
    await p.press(p.t("btn.done"))
    await p.send(str(o["starts_at"]))
    await p.send(str(o["duration"]))
    await p.press(p.t(f"format.{o['remote']}"))
    await p.send(str(o["place"]))
    await p.press(p.t(f"region.{o['region']}"))
    await p.press(p.t(f"audience.{o['audience']}"))
    await p.send(str(o["audience_size"]))
    await p.send(str(o["seats"]))
    await p.press(p.t(f"language_name.{o['language']}"))
    if o["fee"] is None:
        await p.press(p.t("btn.unpaid"))
    else:
        await p.send(str(o["fee"]))
    await p.send(str(o["contact"]))
    if o["notes"] is None:
        await p.press(p.t("btn.skip"))
    else:
        await p.send(str(o["notes"]))
    if o["order_ref"] is None:
        await p.press(p.t("btn.skip"))
    else:
        await p.send(str(o["order_ref"]))
    for theme in o["content_themes"]:  # type: ignore[attr-defined]
        await p.press(p.t(f"content_theme.{theme}"))
    await p.press(p.t("btn.done"))
    if o["content_themes"]:
        if o["content_note"] is None:
            await p.press(p.t("btn.skip"))
        else:
            await p.send(str(o["content_note"]))

    if tick:
        await tick_checklist(p)


CHECKLIST_BUTTONS = ("role", "prep", "fee", "diagnoses", "debrief")


async def tick_checklist(p: Person, items: tuple[str, ...] = CHECKLIST_BUTTONS) -> None:
    """Tick items of the responsible-ordering checklist on the order's summary."""
    for item in items:
        await p.press(f"⬜ {p.t(f'btn.relay.check_{item}')}")


async def order_and_approve(h: Harness, nurse: Person, **changes: object) -> Person:
    """Submit an order and have the coordinator approve it; returns the coordinator."""
    await fill_order(nurse, **changes)
    await nurse.press(nurse.t("btn.send"))
    coord = coordinator(h)
    await coord.press(coord.t("btn.approve"))
    return coord


def offered(p: Person) -> bool:
    """Whether this person has an offer they can still accept."""
    return any(b.text == p.t("btn.accept") for m in p.inbox for b in m.flat_buttons)


CALL = {
    "title": "Psykiatrian kehittäjäryhmä",
    "involves": "Kehitämme osaston käytäntöjä yhdessä henkilökunnan kanssa.",
    "commitment": "Kokous kerran kuussa, 2 h, vuoden ajan",
    "fee": "80",
    "seats": "1",
    "deadline": "12.12.2026 klo 12.00",
    "gig_type": "workgroup",
    "topics": (),
    "regions": (),
}


async def make_call(coord: Person, **changes: object) -> list[Sent]:
    """A coordinator's call for interest, every question answered, sent from the summary;
    returns what the coordinator got for the send."""
    c = {**CALL, **changes}
    await coord.send("/call")
    for field in ("title", "involves", "commitment"):
        await coord.send(str(c[field]))
    if c["fee"] is None:
        await coord.press(coord.t("btn.unpaid"))
    else:
        await coord.send(str(c["fee"]))
    await coord.send(str(c["seats"]))
    await coord.send(str(c["deadline"]))
    await coord.press(coord.t(f"gig_type.{c['gig_type']}"))
    for prefix, name in (("topic", "topics"), ("region", "regions")):
        for code in c[name]:  # type: ignore[attr-defined]
            await coord.press(coord.t(f"{prefix}.{code}"))
        await coord.press(coord.t("btn.done"))
    return await coord.press(coord.t("btn.send"))


SESSION = {
    "kind": "supervision",
    "training": None,
    "starts_at": "15.12.2026 klo 17.00",
    "duration": "2",
    "place": "Kokemuskeskus, Kauppakatu 5, Jyväskylä",
    "capacity": "2",
}


async def announce_session(coord: Person, **changes: object) -> list[Sent]:
    """A coordinator's support session, every question answered, sent from the summary."""
    o = {**SESSION, **changes}
    await coord.send("/session")
    await coord.press(coord.t(f"session_kind.{o['kind']}"))
    if o["kind"] == "training":
        await coord.send(str(o["training"]))
    for field in ("starts_at", "duration", "place", "capacity"):
        await coord.send(str(o[field]))
    return await coord.press(coord.t("btn.send"))


async def fill_fee_form(coord: Person, fee_type: str, amount: str, travel: str) -> list[Sent]:
    """The rest of a coordinator's fee edit once its button is pressed: the fee type, the
    amount, the travel costs and no other costs; returns what the last answer brought."""
    await coord.press(coord.t(f"fee_type.{fee_type}"))
    await coord.send(amount)
    await coord.send(travel)
    return await coord.press(coord.t("btn.none"))
