"""Every word, number and file name in the reader's language, and texts written for someone
who had a hard day: short, plain, naming the gig they are about."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.i18n import load_catalog
from bot.present import words
from tests import flows
from tests.harness import Harness, Person, at

LANGS = ["fi", "sv", "en"]


async def expert_and_offer(h: Harness, lang: str) -> tuple[Person, Person, Person]:
    """An orderer, an expert with an offer for gig #1 (the usual order), the coordinator."""
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    coord = await flows.order_and_approve(h, nurse, seats="1")
    return nurse, aino, coord


@pytest.mark.parametrize("lang", LANGS)
async def test_the_five_long_messages_fit_in_sixty_words(h: Harness, lang: str) -> None:
    """The consent, the expert's help, the offer, the confirmation and the re-confirmation
    after a change, filled with a real order, each ≤ 60 words; the rest is one tap away."""
    h.coord_lang = lang
    counts: dict[str, int] = {}
    code = await flows.invite_link(h, "expert")
    aino = h.person(301, "Aino", lang)
    await aino.send(f"/start {code}")
    consent = aino.last
    counts["consent"] = words(consent.text)
    await aino.press(aino.t("btn.consent_details"), consent)
    assert aino.t("expert.consent_details") in consent.text  # "What is stored?" in place
    await aino.press(aino.t("btn.consent_no"), consent)
    aino = await flows.register_expert(h, 302, "Aino", lang=lang)
    await aino.send("/help")
    counts["help"] = words(aino.last.text)
    nurse = await flows.register_orderer(h, 201, lang=lang)
    await flows.order_and_approve(h, nurse, seats="1")
    offer = next(m for m in aino.inbox if any(b.data.startswith("of:a:") for b in m.flat_buttons))
    counts["offer"] = words(offer.text)
    await aino.press(aino.t("btn.accept"), offer)
    confirmation = aino.last
    counts["confirmation"] = words(confirmation.text)
    coord = flows.coordinator(h, lang)
    await coord.send("/gig 1")
    await coord.press(coord.t("btn.change_time"))
    await coord.send(coord.t("form.change_time.starts_at").split(", ")[0][:0] + "11.12.2026 10.00")
    reconfirm = next(
        m for m in aino.inbox if any(b.data.startswith("rc:y:") for b in m.flat_buttons)
    )
    counts["reconfirm"] = words(reconfirm.text)
    assert all(n <= 60 for n in counts.values()), counts
    # What is not needed to decide is behind "All details": the notes, the audience.
    assert "P2-hallissa" not in offer.text
    await aino.press(aino.t("btn.details"), reconfirm)
    assert "P2-hallissa" in aino.last.text and "040 123 4567" in aino.last.text


async def test_what_is_stored_lists_everything_kept(h: Harness) -> None:
    code = await flows.invite_link(h, "expert")
    aino = h.person(301, "Aino", "en")
    await aino.send(f"/start {code}")
    await aino.press("What is stored?")
    text = aino.last.text
    for item in (
        "name",
        "topics",
        "languages",
        "regions",
        "audiences",
        "breaks",
        "gigs a month",
        "earnings limit",
        "benefits",
        "before and after gigs",
        "fees and expenses",
        "the offers you get",
        "ratings",
    ):
        assert item in text, item
    await aino.press(aino.t("btn.consent_yes"))
    assert aino.last.text == aino.t("form.expert.display_name")


@pytest.mark.parametrize(
    ("lang", "ics", "qr"),
    [
        ("fi", "keikka-1.ics", "palaute-qr-keikka-1.png"),
        ("sv", "uppdrag-1.ics", "respons-qr-uppdrag-1.png"),
        ("en", "gig-1.ics", "feedback-qr-gig-1.png"),
    ],
)
async def test_file_names_and_the_qr_caption_in_the_readers_language(
    h: Harness, lang: str, ics: str, qr: str
) -> None:
    nurse, aino, _ = await expert_and_offer(h, lang)
    await aino.press(aino.t("btn.accept"))
    assert aino.last_file.document is not None and aino.last_file.document[0] == ics
    h.clock.set(at("10.12.2026 14.29"))
    await h.advance(timedelta(minutes=5))  # the gig has ended: the feedback link goes out
    photo = nurse.last_file
    assert photo.document is not None and photo.document[0] == qr
    title = await h.title(lang, 1)
    # The image explains itself: what it is, which gig, until when.
    assert photo.text.startswith(
        nurse.t("feedback.qr_caption", title="", organisation="", until="")[:8]
    )
    assert title in photo.text and "Keski-Suomen hyvinvointialue" in photo.text
    assert "24.12.2026" in photo.text  # the link works for two weeks
    assert 0 < len(photo.text) <= 1024


@pytest.mark.parametrize(
    ("lang", "hours", "button"), [("fi", "0,0 h", "1,5"), ("en", "0.0 h", "1.5")]
)
async def test_numbers_are_written_the_readers_way(
    h: Harness, lang: str, hours: str, button: str
) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    await flows.register_expert(h, 301, "Aino", lang=lang)
    await nurse.send("/neworder")
    await nurse.send("Keski-Suomen hyvinvointialue")
    await nurse.press(nurse.t("gig_type.talk"))
    await nurse.press(nurse.t("topic.mental_health"))
    await nurse.press(nurse.t("btn.done"))
    await nurse.send("10.12.2026 13.00")
    prompt = nurse.last
    # The example in the question and the button agree.
    assert button in prompt.text and button in [b.text for b in prompt.flat_buttons]
    await nurse.press(button, prompt)
    assert prompt.text.endswith("1 h 30 min")
    await nurse.send("/cancel")
    await flows.fill_order(nurse, seats="1")
    await nurse.press(nurse.t("btn.send"))
    coord = flows.coordinator(h, lang)
    await coord.press(coord.t("btn.ranking"))
    assert f"{hours} / 90" in coord.last.text
    assert "1 gigs" not in coord.last.text and "1 keikkaa" not in coord.last.text


async def test_fee_lines_read_clearly(h: Harness) -> None:
    _nurse, aino, coord = await expert_and_offer(h, "en")
    await aino.press(aino.t("btn.accept"))
    h.coord_lang = "en"
    coord = flows.coordinator(h, "en")
    await coord.send("/language")
    await coord.press("English")
    await coord.send("/fees")
    title = await h.title("en", 1)
    assert coord.last.text.splitlines()[0] == f"Aino: {title}"  # whose, then which gig
    assert coord.last.text.splitlines()[1] == "Fee: 150 € + expenses 0 € · agreed (fee #1)"
    await aino.send("/myfees")
    assert all(line == line.rstrip() for line in aino.last.text.splitlines())
    assert f"{title}\nFee: 150 €" in aino.last.text
    # Giving up a fee is one tap next to "I got paid", then a plain confirmation.
    assert [b.text for b in aino.last.buttons[0]] == [
        aino.t("btn.fee_confirm_paid", id=1),
        aino.t("btn.fee_refuse", id=1),
    ]
    await aino.press(aino.t("btn.fee_refuse", id=1))
    assert "expenses are still paid" in aino.last.text and "nothing else changes" in aino.last.text
    await aino.press(aino.t("btn.fee_refuse_no"))
    assert aino.last.text == aino.t("fees.refuse_kept")
    await coord.send("/fees")
    assert "150 €" in coord.last.text  # nothing changed


async def test_the_reminder_says_the_time_once(h: Harness) -> None:
    _, aino, _ = await expert_and_offer(h, "fi")
    await aino.press(aino.t("btn.accept"))
    h.clock.set(at("10.12.2026 09.59"))
    await h.advance(timedelta(minutes=2))  # three hours before the gig
    reminder = next(t for t in aino.texts() if t.startswith("Muistutus: tänään keikka #1"))
    assert reminder.count("13.00") == 1


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_the_live_status_counts_people_from_its_first_words(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    for i in range(3):
        await flows.register_expert(h, 301 + i, f"E{i + 1}", lang=lang)
    await flows.order_and_approve(h, nurse, seats="1")
    coord = flows.coordinator(h, lang)
    first = next(
        c.params["text"]
        for c in h.tg.calls
        if c.method == "sendMessage" and c.params.get("text", "").startswith("📊")
    )
    counts = coord.t(
        "status_msg.counts", sent=3, pending=3, accepted=0, declined=0, expired=0, withdrawn=0
    )
    assert counts in first


async def test_a_no_show_tells_the_fee_and_asks_to_check_on_the_person(h: Harness) -> None:
    _, aino, coord = await expert_and_offer(h, "fi")
    await aino.press(aino.t("btn.accept"))
    h.clock.set(at("10.12.2026 15.00"))
    await coord.send("/gig 1")
    await coord.press(coord.t("btn.no_show", name="Aino"))
    text = coord.last.text
    assert text.startswith("Merkitty: Aino ei päässyt keikalle #1")
    assert coord.t("desk.no_show_fee_dropped", amount="150 €") in text
    assert "onko kaikki hyvin" in text and f"/expert {await h.user_id(301)}" in text
    await coord.send("/fees")
    assert coord.last.text == coord.t("fees.none_unpaid")


@pytest.mark.parametrize("lang", LANGS)
async def test_stepping_back_is_said_plainly(h: Harness, lang: str) -> None:
    _, aino, _coord = await expert_and_offer(h, lang)
    await aino.press(aino.t("btn.accept"))
    await aino.send("/mygigs")
    await aino.press(aino.t("btn.step_back", id=1))
    assert aino.last.text == aino.t("expert.step_back_confirm")
    await aino.press(aino.t("btn.step_back_yes"))
    assert aino.last.text == aino.t("expert.stepped_back", title=await h.title(lang, 1))
    first_words = {
        "fi": "Jos et pääsekään, voit perua osallistumisesi. Syytä ei tarvitse kertoa",
        "sv": "Om du inte kan komma ändå kan du avboka ditt deltagande.",
        "en": "If you can't make it after all, you can cancel your place.",
    }
    assert aino.t("expert.step_back_confirm").startswith(first_words[lang])
    assert any(t.startswith("↩️ Aino") for t in flows.coordinator(h).texts())


# Words the reviewers found judging, translated-sounding or wrong for Finland.
UNWANTED = {
    "fi": [
        "perääntyä",
        "Perääntym",
        "ilman selittelyä",
        "on kirjattu",
        "Kiitos, että kerroit ajoissa",
        "poisjäänti",
        "koordinaatiokeskuksen väkeä varten",
        "tulevat alle",
        "Kuulumisten aika",
        "organisaationne",
        "Kirjoittakaa",
        "toivotte",
        "teidän",
        "kieltäydy",
        "{gigs} keikkaa",
        "{count} keikkaa",
    ],
    "sv": [
        "i förväg",
        "Jag kommer ändå",
        "kamrat ",
        "Arvode (faktura)",
        "hållen",
        "hållna",
        "hållet",
        "larm",
        "idag",
        "{count} erfarenhetsexperter",
    ],
    "en": ["Fee (invoice)", "in advance –", "21.00 and 8.00", "{count} experts", "{gigs} gigs"],
}


@pytest.mark.parametrize("lang", LANGS)
async def test_the_catalogs_avoid_the_words_the_reviewers_flagged(lang: str) -> None:
    catalog = load_catalog(lang)
    found = [(k, w) for k, v in catalog.items() for w in UNWANTED[lang] if w in v]
    assert found == []


async def test_the_orderers_form_says_sina_throughout(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await flows.fill_order(nurse)
    questions = [m.text for m in nurse.inbox]
    assert any("organisaatiosi" in q for q in questions)
    for plural in ("organisaationne", "toivotte", "Kirjoittakaa", "teidän"):
        assert not any(plural in q for q in questions), plural


async def test_swedish_filters_read_i_dag_and_genomforda(h: Harness) -> None:
    h.coord_lang = "sv"
    nurse = await flows.register_orderer(h, 201)
    await flows.order_and_approve(h, nurse, starts_at="23.11.2026 klo 15.00")
    coord = flows.coordinator(h, "sv")
    await coord.send("/language")
    await coord.press("Svenska")
    await coord.send("/gigs i dag")
    assert coord.last.text.startswith(
        coord.t("desk.gigs_header", filter="i dag", count=1, page=1, pages=1)
    )
    await coord.send("/gigs genomförda")
    assert coord.last.text == coord.t("desk.no_gigs")
