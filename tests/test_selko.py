"""Plain Finnish (selkosuomi): a language chosen in /language that Telegram never sends, kept
for good once chosen, with dates written out and texts an expert can read on a hard day."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.i18n import Texts, load_catalog
from bot.parsing import parse_datetime
from bot.present import words
from tests import flows
from tests.harness import HEL, Harness, Person, at

SELKO = "selko"


def selko(h: Harness) -> Callable[..., str]:
    """A text as the plain-Finnish catalog writes it."""
    return lambda key, **kwargs: h.t(SELKO, key, **kwargs)


async def choose_selko(p: Person) -> None:
    await p.send("/language")
    await p.press(p.h.t(SELKO, "language.self"))


async def register_in_selko(h: Harness, p: Person) -> None:
    """Open the invite in a Finnish client, switch to plain Finnish at the consent, and answer
    the profile questions by pressing the plain-Finnish buttons."""
    s = selko(h)
    code = await flows.invite_link(h, "expert")
    await p.send(f"/start {code}")
    assert p.last.text == p.t("expert.consent")  # the client's language at first
    await choose_selko(p)
    assert p.inbox[-2].text == s("language.changed")
    assert p.last.text == s("expert.consent")  # the open question again, now in plain Finnish
    await p.press(s("btn.consent_yes"), p.last)
    assert p.last.text == s("form.expert.display_name")
    await p.send(p.name)
    for key in ("gig_type.talk", "topic.mental_health", "language_name.fi", "region.keski_suomi"):
        await p.press(s(key))
        await p.press(s("btn.done"))
    await p.press(s("common.yes"))
    await p.press(s("btn.done"))
    await p.press(s("btn.skip"))
    await p.press(s("btn.save"))
    assert p.last.text == s("expert.registered")
    coord = flows.coordinator(h)
    await coord.press(coord.t("btn.approve"))
    assert p.last.text == s("expert.approved")


async def test_an_expert_in_plain_finnish_from_invite_to_preparation(h: Harness) -> None:
    s = selko(h)
    aino = h.person(301, "Aino", "fi")  # a Finnish Telegram client: it never says "selko"
    await register_in_selko(h, aino)
    # The command menu of her chat is in plain Finnish (Telegram has no code for it).
    assert h.tg.commands["chat:301:"][0] == {"command": "mygigs", "description": s("cmd.mygigs")}
    await aino.send("/help")
    assert aino.last.text == s("help.expert", quiet_start=21, quiet_end=8)
    assert words(aino.last.text) <= 60 and words(s("expert.consent")) <= 60
    assert aino.last.reply_keyboard == [
        [s("menu.my_gigs"), s("menu.profile")],
        [s("menu.open_gigs"), s("menu.availability")],
        [s("menu.help")],
    ]

    nurse = await flows.register_orderer(h, 201)
    await flows.order_and_approve(h, nurse, seats="1")  # 10.12.2026 klo 13.00, 1,5 h, 150 €
    offer = aino.last
    when = "torstaina 10. joulukuuta 2026 kello 13.00"
    assert offer.text.startswith(s("offer.new", name="Aino", details="", expires="")[:20])
    for line in (f"{s('label.starts_at')}: {when}", "1 tunti 30 minuuttia", "150 euroa"):
        assert line in offer.text, line
    assert "klo" not in offer.text and "€" not in offer.text
    assert [b.text for b in offer.flat_buttons][:2] == [s("btn.accept"), s("btn.decline")]
    assert words(offer.text) <= 60  # as in the other languages; the rest is behind a button

    await aino.press(s("btn.accept"), offer)
    title = await h.title(SELKO, 1)
    assert title == f"{s('gig_type.talk')} {when} (numero 1)"
    assert s("offer.accepted", title=title) in aino.texts()
    assert aino.last.text.startswith(s("offer.confirmation", title=title, details="")[:30])
    assert words(aino.last.text) <= 60
    name, ics = aino.last_file.document  # type: ignore[misc]
    assert name == "keikka-1.ics" and "Hoitajantie 3" in ics.decode()

    h.clock.set(at("8.12.2026 12.59"))
    await h.advance(at("8.12.2026 13.00") - h.clock.now())
    prep = aino.last
    assert prep.text == s("checkin.prep", title=title)
    await aino.press(s("btn.prep_ready"), prep)
    assert prep.text == s("checkin.prep_ready")

    # The choice is stored, not taken from the client: it holds in a new update, in /mygigs.
    await aino.send(s("menu.my_gigs"))
    assert aino.last.text.startswith(s("expert.gigs_header"))
    assert when in aino.last.text


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_pause_and_the_earnings_limit_read_plainly(h: Harness, lang: str) -> None:
    """The dates and money an expert types back to her come written out in plain Finnish;
    in the other languages they stay as before."""
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    if lang == "fi":
        await choose_selko(aino)
    t = selko(h) if lang == "fi" else aino.t
    await aino.send("/pause 31.12.2026")
    day = "torstaina 31. joulukuuta 2026" if lang == "fi" else "31.12.2026"
    assert aino.last.text == t("limits.paused", date=day)
    await aino.send("/profile")
    await aino.press(t("btn.limit_earnings"))
    await aino.send("900")
    amount = "900 euroa" if lang == "fi" else "900 €"
    assert aino.last.text == t("limits.earnings_set", amount=amount)


def test_telegram_codes_map_as_before_and_selko_only_when_stored() -> None:
    texts = Texts("fi")
    assert [texts.lang(c) for c in ("fi", "fi-FI", "sv-FI", "en-GB", "de", None, "")] == [
        "fi",
        "fi",
        "sv",
        "en",
        "fi",
        "fi",
        "fi",
    ]
    assert texts.lang(SELKO) == SELKO  # a stored choice


def test_dates_and_durations_are_written_out_only_in_plain_finnish() -> None:
    texts = Texts("fi")
    moment = at("21.12.2026 9.05")
    assert texts.dt(SELKO, moment, HEL) == "maanantaina 21. joulukuuta 2026 kello 9.05"
    assert texts.dt("fi", moment, HEL) == "21.12.2026 klo 09.05"
    assert texts.dt("en", moment, HEL) == "21.12.2026 at 09.05"
    assert texts.day(SELKO, at("1.3.2027 0.00").date()) == "maanantaina 1. maaliskuuta 2027"
    assert texts.day("sv", at("1.3.2027 0.00").date()) == "1.3.2027"
    assert [texts.duration(SELKO, m) for m in (60, 90, 120, 45, 61)] == [
        "1 tunti",
        "1 tunti 30 minuuttia",
        "2 tuntia",
        "45 minuuttia",
        "1 tunti 1 minuutti",
    ]
    assert texts.duration("fi", 90) == "1 h 30 min"
    # Someone who reads "kello" writes it too.
    typed = parse_datetime("24.12.2026 kello 14.30", at("23.11.2026 10.00"), HEL)
    assert typed == at("24.12.2026 14.30")


# ----- the plain-language rules that can be checked mechanically ------------------------------

# What an expert reads. Coordinator-only texts (register, ranking, reports...) may stay close
# to standard Finnish; the audience's feedback questions are read by anyone, so they count.
EXPERT_SECTIONS = (
    "common",
    "start",
    "language",
    "err",
    "form",
    "form.expert",
    "offer",
    "expert",
    "form.limit_gigs",
    "form.limit_earnings",
    "form.pause",
    "limits",
    "data",
    "checkin",
    "form.debrief_note",
    "fees",
)
EXPERT_KEYS = (
    "help.expert",
    "help.stranger",
    "gig.cancelled_expert",
    "gig.changed_reconfirm",
    "gig.changed",
    "gig.change_time",
    "gig.change_place",
    "desk.replaced",
    "desk.message",
    "feedback.mine_header",
    "feedback.intro",
    "feedback.q_useful",
    "feedback.q_stayed",
    "feedback.q_better",
    "feedback.thanks",
)
# Messages that only coordinators get, inside the sections above.
COORDINATOR_ONLY = re.compile(
    r"^(checkin\.alert_|fees\.(reminder|edited|line|none_unpaid|status_set)$|start\.(welcome_coordinator|no_coordinator)$)"
)
ABBREVIATIONS = re.compile(r"\b(klo|esim|ks|yms|mm|jne|pv|kk|ns|huom|vrt)\.|\bklo\b", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
DATA_LINE = re.compile(r"^(•.*|X|[^.!?]{1,40}: .*)$")
# Buttons longer than this wrap on a phone.
BUTTON_CHARS = 24
# Bounds the plain catalog keeps with a little room (today: 3.7 words on average, the longest
# sentence 10 words, at most 7 sentences), and the standard one breaks (5.1 · 23 · 6).
AVERAGE_WORDS = 4.5  # per sentence, over all expert texts (labels and buttons included)
LONGEST_SENTENCE = 12  # words
MOST_SENTENCES = 7  # in one message; what needs more is behind a button
BEHIND_A_BUTTON = {"expert.consent_details", "offer.why"}  # "What is stored?", "Why me?"


def expert_texts(lang: str) -> dict[str, str]:
    cat = load_catalog(lang)
    return {
        key: text
        for key, text in cat.items()
        if (key.rpartition(".")[0] in EXPERT_SECTIONS or key in EXPERT_KEYS)
        and not COORDINATOR_ONLY.match(key)
    }


def sentences(text: str) -> list[int]:
    """Words per prose sentence; a placeholder is one word. Lines of data are not prose: a
    bullet, a placeholder on its own line (a gig's title) or "Label: value"."""
    plain = re.sub(r"\{[a-z_]+\}", "X", text)
    prose = (line for line in plain.splitlines() if not DATA_LINE.match(line.strip()))
    return [n for line in prose for part in SENTENCE_END.split(line) if (n := words(part)) > 0]


def problems(lang: str) -> list[str]:
    found: list[str] = []
    counts: list[int] = []
    for key, text in expert_texts(lang).items():
        if ABBREVIATIONS.search(text):
            found.append(f"{key}: abbreviation")
        per = sentences(text)
        counts += per
        if per and max(per) > LONGEST_SENTENCE:
            found.append(f"{key}: a sentence of {max(per)} words")
        if key not in BEHIND_A_BUTTON and len(per) > MOST_SENTENCES:
            found.append(f"{key}: {len(per)} sentences")
    for key in expert_button_keys():
        label = load_catalog(lang)[key]
        if len(label) > BUTTON_CHARS:
            found.append(f"{key}: a button of {len(label)} characters")
    average = sum(counts) / len(counts)
    if average > AVERAGE_WORDS:
        found.append(f"average sentence {average:.1f} words")
    return found


def expert_button_keys() -> set[str]:
    return {
        f"btn.{k}"
        for k in [
            "accept",
            "decline",
            "done",
            "skip",
            "unpaid",
            "save",
            "send",
            "edit",
            "cancel_form",
            "back",
            "consent_yes",
            "consent_no",
            "edit_profile",
            "no_limit",
            "accept_anyway",
            "limit_gigs",
            "limit_earnings",
            "pause",
            "resume",
            "forget_yes",
            "forget_no",
            "forget_pause",
            "why",
            "step_back_yes",
            "step_back_no",
            "still_coming",
            "cannot_come",
            "kt_still",
            "kt_pause",
            "kt_talk",
            "prep_ready",
            "prep_talk",
            "prep_step_back",
            "debrief_coordinator",
            "debrief_peer",
            "fee_refuse_yes",
            "fee_refuse_no",
            "details",
            "consent_details",
        ]
    }


def test_plain_finnish_keeps_to_the_rules_standard_finnish_does_not() -> None:
    assert problems(SELKO) == []
    # The same rules catch the standard catalog, so they would catch a text copied from it.
    standard = " | ".join(problems("fi"))
    for rule in ("abbreviation", "a sentence of", "a button of", "average sentence"):
        assert rule in standard, rule


def test_plain_finnish_catalog_has_every_key_in_the_order_of_the_finnish_one() -> None:
    fi, plain = load_catalog("fi"), load_catalog(SELKO)
    assert list(plain) == list(fi)
    same = {k for k in expert_texts(SELKO) if plain[k] == fi[k] and len(words_of(fi[k])) > 5}
    assert same == ALREADY_PLAIN  # every other longer expert text was rewritten, not copied


# Standard Finnish that already keeps to the rules, word for word.
ALREADY_PLAIN = {"checkin.keep_talk"}


def words_of(text: str) -> list[str]:
    return [w for w in text.split() if any(ch.isalpha() for ch in w)]


async def test_the_choice_holds_in_files_digests_reports_and_feedback_links(h: Harness) -> None:
    """An orderer and a coordinator who chose plain Finnish get it everywhere the bot writes
    in a language: the gig titles in the coordinator's alerts and morning digest, the
    feedback link and its QR file, and the report's files."""
    s = selko(h)
    coord = flows.coordinator(h)
    await choose_selko(coord)
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    await flows.fill_order(nurse)  # in Finnish; she switches before sending it
    summary = nurse.last
    await choose_selko(nurse)
    await nurse.press(s("btn.send"), summary)
    title = await h.title(SELKO, 1)
    assert nurse.last.text == s("order.received", title=title)
    await coord.press(s("btn.approve"))
    await aino.press(aino.t("btn.accept"))
    h.clock.set(at("10.12.2026 07.59"))
    await h.advance(timedelta(minutes=1))
    await h.run_job("digest:daily")
    await h.core.outbox.flush()
    assert coord.last.text.startswith(s("digest.header", date="10.12."))
    assert title in coord.last.text

    h.clock.set(at("10.12.2026 14.29"))
    await h.advance(timedelta(minutes=5))  # the gig (13.00 + 1,5 h) has ended
    link = next(m for m in nurse.inbox if "?start=fb_" in m.text)
    assert link.text.startswith(s("feedback.link", title=title, link="", until="")[:40])
    until = next(line for line in link.text.splitlines() if line.startswith("Linkki toimii"))
    assert re.search(r"toimii \w+na \d+\. \w+ta 2026 kello \d+\.\d\d asti", until), until
    qr = next(m for m in nurse.inbox if m.document and m.document[0].endswith(".png"))
    assert qr.document is not None and qr.document[0] == "palaute-qr-keikka-1.png"

    await coord.send("/report 12.2026")
    files = [m.document[0] for m in coord.inbox[-3:] if m.document]
    assert files == [f"raportti-20261201-20261231.{ext}" for ext in ("png", "xlsx", "csv")]
