"""Odd input never becomes an error: every command parses its arguments totally, and every
message the bot builds stays within Telegram's limits."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from telegram.ext import Application, CommandHandler

from bot.parsing import CALLBACK_DATA_LIMIT, CAPTION_LIMIT, TEXT_LIMIT
from bot.sandbox.fakebot import FakeTelegram
from tests import flows
from tests.harness import ErrorLog, Harness, Person

HUGE = "99999999999999999999"


def registered_commands(app: Application) -> list[str]:
    """Every command the Application answers, read from its handlers: a new command cannot
    be left out of the tests below."""
    return sorted(
        {
            command
            for handlers in app.handlers.values()
            for handler in handlers
            if isinstance(handler, CommandHandler)
            for command in handler.commands
        }
    )


def limits_broken(tg: FakeTelegram, since: int = 0) -> list[str]:
    """Calls that Telegram would refuse for their size."""
    broken = []
    for call in tg.calls[since:]:
        p = call.params
        if len(str(p.get("text", ""))) > TEXT_LIMIT:
            broken.append(f"{call.method}: text of {len(str(p['text']))} characters")
        if len(str(p.get("caption", ""))) > CAPTION_LIMIT:
            broken.append(f"{call.method}: caption of {len(str(p['caption']))} characters")
        markup = p.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data", "")
                if len(data.encode()) > CALLBACK_DATA_LIMIT:
                    broken.append(f"{call.method}: callback data {data!r}")
    return broken


async def cast(h: Harness) -> dict[str, Person]:
    """One person in every role, and a gig for the numbers to point at."""
    coord = flows.coordinator(h)
    orderer = await flows.register_orderer(h, 201)
    expert = await flows.register_expert(h, 301, "Eeva Esimerkki")
    await flows.order_and_approve(h, orderer)
    return {
        "stranger": h.person(901, "Vieras"),
        "orderer": orderer,
        "expert": expert,
        "coordinator": coord,
    }


WORD = st.one_of(
    st.text(max_size=30),
    st.integers().map(str),
    st.integers(min_value=0).map(lambda n: f"#{n}"),
    st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{0,5}", fullmatch=True),
    st.sampled_from(
        [
            "²",
            "¹²",
            "٣",
            "0",
            "-1",
            "#",
            "0000",
            "9999",
            HUGE,
            str(2**31),
            str(2**63),
            "31.2.",
            "1.1.0001",
            "31.12.9999",
            "12.9999",
            "13.2026",
            "gig",
            "expert",
            "keikka",
            "asiantuntija",
            "month",
            "year",
            "active",
            "today",
            "🙂👍🎉",
            "x" * 4000,
        ]
    ),
)
ARGS = st.one_of(
    st.lists(WORD, max_size=4).map(" ".join),
    st.text(max_size=4000),
)
ROLES = ("stranger", "orderer", "expert", "coordinator")


async def test_no_command_argument_reaches_the_error_handler(h: Harness) -> None:
    people = await cast(h)
    commands = registered_commands(h.app)
    assert {"gig", "expert", "audit", "feedback", "companion", "report"} <= set(commands)
    loop = asyncio.get_running_loop()
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(role=st.sampled_from(ROLES), command=st.sampled_from(commands), args=ARGS)
    @example(role="coordinator", command="gig", args="²")
    @example(role="coordinator", command="gig", args=HUGE)
    @example(role="coordinator", command="expert", args=HUGE)
    @example(role="coordinator", command="audit", args=f"expert {HUGE}")
    @example(role="coordinator", command="feedback", args=HUGE)
    @example(role="coordinator", command="companion", args=f"{HUGE} Maija")
    @example(role="coordinator", command="report", args="0000")
    @example(role="coordinator", command="report", args="9999")
    @example(role="coordinator", command="experts", args="x" * 4085)
    @example(role="orderer", command="gig", args=HUGE)
    def check(role: str, command: str, args: str) -> None:
        errors.records.clear()
        since = len(h.tg.calls)
        text = f"/{command} {args}"[:TEXT_LIMIT]
        asyncio.run_coroutine_threadsafe(people[role].send(text), loop).result()
        assert not errors.records, [r.getMessage() for r in errors.records]
        assert not limits_broken(h.tg, since)

    try:
        await asyncio.to_thread(check)
    finally:
        logging.getLogger().removeHandler(errors)


@pytest.mark.parametrize("lang", ["fi", "en"])
@pytest.mark.parametrize(
    ("typed", "usage"),
    [
        ("/gig ²", "gig.card_usage"),
        (f"/gig {HUGE}", "gig.card_usage"),
        ("/gig", "gig.card_usage"),
        (f"/expert {HUGE}", "register.card_usage"),
        ("/expert ³", "register.card_usage"),
        (f"/audit expert {HUGE}", "audit.usage"),
        ("/audit gig 0", "audit.usage"),
        (f"/feedback {HUGE}", "feedback.usage"),
        ("/feedback kaikki", "feedback.usage"),
        (f"/companion {HUGE} Maija Mallikas", "coord.companion_usage"),
        ("/companion 1 🙂👍🎉", "coord.companion_usage"),
        ("/report 0000", "report.bad_period"),
        ("/report 9999", "report.bad_period"),
        ("/report 12.9999", "report.bad_period"),
        ("/report 1.1.0001 31.12.9999", "report.bad_period"),
    ],
)
async def test_a_bad_argument_gets_the_commands_usage(
    h: Harness, lang: str, typed: str, usage: str
) -> None:
    coord = flows.coordinator(h, lang)
    await coord.send("/help")  # the coordinator's language is set from the client
    replies = await coord.send(typed)
    assert [m.text for m in replies] == [coord.t(usage)]
    assert "/" + typed.split()[0].lstrip("/") in coord.t(usage)


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_usage_messages_show_an_example(h: Harness, lang: str) -> None:
    coord = flows.coordinator(h, lang)
    for key, example_ in [
        ("gig.card_usage", "/gig 12"),
        ("register.card_usage", "/expert 7"),
        ("audit.usage", "/audit gig 12"),
        ("feedback.usage", "/feedback 12"),
        ("coord.companion_usage", "/companion 12 "),
    ]:
        assert example_ in coord.t(key), key


async def test_a_good_number_with_a_hash_still_works(h: Harness) -> None:
    people = await cast(h)
    coord = people["coordinator"]
    replies = await coord.send("/gig #1")
    assert replies and replies[0].text.startswith(await h.title("fi", 1))
    expert_no = await h.user_id(301)
    replies = await coord.send(f"/expert {expert_no}")
    assert "Eeva Esimerkki" in replies[0].text


async def answer_order_until_contact(nurse: Person) -> None:
    o = flows.ORDER
    await nurse.send("/neworder")
    await nurse.send(str(o["organisation"]))
    await nurse.press(nurse.t("gig_type.talk"))
    await nurse.press(nurse.t("topic.mental_health"))
    await nurse.press(nurse.t("btn.done"))
    await nurse.send("10.12.2026 klo 13.00")
    await nurse.send("1,5")
    await nurse.press(nurse.t("format.onsite"))
    await nurse.send(str(o["place"]))
    await nurse.press(nurse.t("region.keski_suomi"))
    await nurse.press(nurse.t("audience.large"))
    await nurse.send("60")
    await nurse.send("2")
    await nurse.press(nurse.t("language_name.fi"))
    await nurse.send("150")
    assert nurse.last.text == nurse.t("form.order.contact")


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_contact_of_only_emoji_is_refused_and_nothing_is_lost(
    h: Harness, lang: str
) -> None:
    nurse = await flows.register_orderer(h, 201, lang=lang)
    await answer_order_until_contact(nurse)
    for typed in ("🙂👍🎉", "...", "– ! ?"):
        replies = await nurse.send(typed)
        assert [m.text for m in replies] == [
            nurse.t("err.name_letters"),
            nurse.t("form.order.contact"),
        ], typed
    await nurse.send("040 123 4567")  # a phone number alone is a way to reach someone
    assert nurse.last.text == nurse.t("form.order.notes")
    await nurse.press(nurse.t("btn.skip"))
    await nurse.press(nurse.t("btn.skip"))  # no order number
    await nurse.press(nurse.t("btn.done"))  # no especially heavy themes
    summary = nurse.last.text
    for earlier in (flows.ORDER["organisation"], flows.ORDER["place"], "040 123 4567"):
        assert str(earlier) in summary


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_an_organisation_and_a_place_need_words(h: Harness, lang: str) -> None:
    nurse = await flows.register_orderer(h, 201, lang=lang)
    await nurse.send("/neworder")
    replies = await nurse.send("🏥🏥")
    assert [m.text for m in replies] == [
        nurse.t("err.name_letters"),
        nurse.t("form.order.organisation"),
    ]
    await nurse.send("Keski-Suomen hyvinvointialue")
    assert nurse.last.text == nurse.t("form.order.gig_type")


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_an_experts_name_of_only_emoji_is_refused_kindly(h: Harness, lang: str) -> None:
    code = await flows.invite_link(h, "expert")
    eeva = h.person(301, "Eeva", lang)
    await eeva.send(f"/start {code}")
    await eeva.press(eeva.t("btn.consent_yes"))
    question = eeva.last.text
    replies = await eeva.send("🙂👍🎉")
    assert [m.text for m in replies] == [eeva.t("err.name_letters"), question]
    await eeva.send("Eeva")
    assert eeva.last.text != question


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_day_not_in_the_calendar_is_said_first(h: Harness, lang: str) -> None:
    nurse = await flows.register_orderer(h, 201, lang=lang)
    await nurse.send("/neworder")
    await nurse.send("Jyväskylän lyseo")
    await nurse.press(nurse.t("gig_type.school"))
    await nurse.press(nurse.t("topic.substance_use"))
    await nurse.press(nurse.t("btn.done"))
    for typed, day in (("31.2.", "31.2."), ("30.2.2027", "30.2."), ("31.4", "31.4.")):
        replies = await nurse.send(typed)
        assert [m.text for m in replies] == [
            nurse.t("err.date_invalid", date=day),
            nurse.t("form.order.starts_at"),
        ], typed
    # A real day without a time still asks for the time.
    replies = await nurse.send("28.2.")
    assert replies[0].text == nurse.t("err.datetime_no_time")


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_long_filter_is_echoed_shortened(h: Harness, lang: str) -> None:
    coord = flows.coordinator(h, lang)
    typed = "x" * 4085
    replies = await coord.send(f"/experts {typed}")
    assert len(replies) == 1
    text = replies[0].text
    assert len(text) <= TEXT_LIMIT
    assert text.startswith(coord.t("register.unknown_filter", words="x")[:20])
    assert "x" * 50 in text and "…" in text and typed not in text


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_long_event_log_comes_in_several_messages(h: Harness, lang: str) -> None:
    coord = flows.coordinator(h, lang)
    await coord.send("/help")
    async with h.core.db.unit_of_work() as s:
        for n in range(45):
            await h.core.audit.record(s, None, "handpick", "gig", 1, f"{n:03d} " + "y" * 400)
    replies = await coord.send("/audit gig 1")
    assert len(replies) >= 2
    assert all(len(m.text) <= TEXT_LIMIT for m in replies)
    shown = "\n".join(m.text for m in replies)
    assert all(f"{n:03d} " in shown for n in range(45))  # nothing is left out
    assert replies[0].text.startswith(coord.t("audit.header", target="gig", id=1))
    assert not limits_broken(h.tg)


async def test_the_longest_order_fits_every_message(h: Harness) -> None:
    """Every answer at its longest: the coordinator's alert, the offer, the gig card and the
    orderer's own list stay within Telegram's limits."""
    nurse = await flows.register_orderer(h, 201)
    expert = await flows.register_expert(h, 301, "Eeva Esimerkki")
    await flows.order_and_approve(
        h,
        nurse,
        organisation="Å" * 200,
        place="Ö" * 400,
        contact="Nea " + "9" * 396,
        notes="Pysäköinti. " * 125,
        seats="10",
    )
    coord = flows.coordinator(h)
    await coord.send("/gig 1")
    await coord.send("/gigs")
    await nurse.send("/myorders")
    await expert.send("/mygigs")
    assert flows.offered(expert)
    assert not limits_broken(h.tg)
    # The long notes reach the expert whole behind "All details", even if in several messages.
    await expert.press(expert.t("btn.details"))
    assert not limits_broken(h.tg)
    assert "Pysäköinti. " * 100 in "\n".join(expert.texts())
