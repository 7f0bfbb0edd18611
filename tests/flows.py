"""Reusable user journeys, each done the way a person does it: typing and pressing buttons."""

from __future__ import annotations

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
}


async def fill_order(p: Person, **changes: object) -> None:
    """Answer every question of the order form, pressing buttons where the form offers them."""
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
