"""Form state without a database or Telegram: which question comes next, what a wrong answer
or a skip does, and editing one answer from the summary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import handlers
from bot.forms import (
    CHANGE_PLACE,
    EXPERT,
    FEE_EDIT,
    FORMS,
    LIMIT_GIGS,
    ORDER,
    SUMMARY,
    DraftState,
    Form,
    read_typed,
)
from bot.i18n import Texts
from bot.parsing import InputError
from handlers import forms as runner
from storage.models import Role

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HEL = ZoneInfo("Europe/Helsinki")

ORDER_ANSWERS: dict[str, Any] = {
    "organisation": "Jyväskylän lyseo",
    "gig_type": "talk",
    "topics": ["mental_health"],
    "starts_at": "2026-12-10T11:00:00+00:00",
    "duration": 90,
    "remote": "onsite",
    "place": "Auditorio",
    "region": "keski_suomi",
    "audience": "large",
    "audience_size": 60,
    "seats": 2,
    "language": "fi",
    "fee": 15000,
    "contact": "Nea, 040 123 4567",
    "notes": None,
    "content_themes": ["recent_death"],
    "content_note": "Osastolla kuoli potilas viime viikolla.",
    "order_ref": None,
}


def started(form: Form, values: dict[str, Any] | None = None) -> DraftState:
    state = DraftState(form, "", dict(values or {}))
    state.step = state.first_step()
    return state


def answer(state: DraftState, text: str) -> None:
    """What the runner does with typed text: read it for the current question, then store it."""
    assert state.current is not None
    state.set_value(read_typed(state.current, text, NOW, HEL))


def filled_order() -> DraftState:
    state = started(ORDER)
    # The series questions are asked only from the summary's "Repeat" button.
    for name in (f.name for f in ORDER.fields if f.applies(state.values)):
        assert state.step == name
        state.set_value(ORDER_ANSWERS[name])
    return state


def test_questions_come_in_order_and_end_at_the_summary() -> None:
    state = started(ORDER)
    assert state.step == "organisation"
    answer(state, "Jyväskylän lyseo")
    assert state.step == "gig_type"
    state = filled_order()
    assert state.step == SUMMARY and state.current is None and state.is_complete()


def test_a_wrong_answer_is_refused_and_the_question_stays_with_earlier_answers() -> None:
    state = started(ORDER)
    answer(state, "Jyväskylän lyseo")
    # Buttons only where the choices are fixed: typing a choice is explained, not stored.
    with pytest.raises(InputError, match=r"err\.use_buttons"):
        answer(state, "talk")
    assert state.step == "gig_type"
    state.press("c", "0", NOW, HEL)
    state.toggle(0)
    state.press("d", None, NOW, HEL)
    before = (state.step, dict(state.values))
    assert before[0] == "starts_at"
    for text in ("huomenna", "1.1.2020 klo 10.00", "31.2.2027 klo 10.00", "5.12.2026"):
        with pytest.raises(InputError):
            answer(state, text)
        assert (state.step, state.values) == before
    answer(state, "10.12.2026 klo 13.00")
    assert state.step == "duration"
    assert state.values["organisation"] == "Jyväskylän lyseo"


def test_buttons_outside_the_question_are_stale_and_change_nothing() -> None:
    state = started(ORDER)
    answer(state, "Jyväskylän lyseo")
    kept = dict(state.values)
    for action, raw in (("c", "999"), ("c", "x"), ("k", None), ("y", "1"), ("q", "0"), ("z", "")):
        with pytest.raises(InputError, match=r"err\.stale"):
            state.press(action, raw, NOW, HEL)
    assert state.step == "gig_type" and state.values == kept


def test_a_multiple_choice_needs_a_pick_and_keeps_the_catalogs_order() -> None:
    state = started(EXPERT)
    answer(state, "Kaisa")
    assert state.step == "gig_types"
    with pytest.raises(InputError, match=r"err\.pick_one"):
        state.press("d", None, NOW, HEL)
    state.toggle(2)
    state.toggle(0)
    state.toggle(2)
    state.toggle(1)
    assert state.selection() == [EXPERT.field("gig_types").options[i] for i in (0, 1)]
    state.press("d", None, NOW, HEL)
    assert state.values["gig_types"] == list(EXPERT.field("gig_types").options[:2])
    assert state.step == "topics"
    assert state.answers() == {"display_name": "Kaisa", "gig_types": state.values["gig_types"]}


def test_a_skip_stores_nothing_and_moves_on_and_a_question_may_not_apply() -> None:
    state = started(LIMIT_GIGS)
    state.press("k", None, NOW, HEL)
    assert state.values == {"max_gigs_month": None} and state.step == SUMMARY
    # Quick values are read like typed ones.
    state = started(LIMIT_GIGS)
    state.press("q", "2", NOW, HEL)
    assert state.values == {"max_gigs_month": 4}
    # An amount is asked only for a paid fee.
    state = started(FEE_EDIT, {"fee_id": 7})
    state.press("c", "2", NOW, HEL)  # expenses only
    assert state.values["fee_type"] == "expenses" and state.step == "travel"
    state.press("k", None, NOW, HEL)
    answer(state, "12,50")
    assert state.step == SUMMARY and state.is_complete()
    assert "amount" not in state.values and state.values["other"] == 1250


def test_editing_one_answer_from_the_summary_returns_there_and_keeps_the_rest() -> None:
    state = filled_order()
    others = {k: v for k, v in state.values.items() if k != "seats"}
    state.edit("seats")
    assert state.step == "seats" and "seats" not in state.values
    with pytest.raises(InputError):
        answer(state, "0")
    answer(state, "3")
    assert state.step == SUMMARY and state.values == {**others, "seats": 3}


def test_editing_a_multiple_choice_starts_from_the_earlier_picks() -> None:
    state = filled_order()
    state.edit("topics")
    assert state.selection() == ["mental_health"]
    state.press("d", None, NOW, HEL)
    assert state.step == SUMMARY and state.answers()["topics"] == ["mental_health"]


def test_an_edit_that_makes_a_question_apply_asks_it_before_the_summary() -> None:
    state = started(FEE_EDIT, {"fee_id": 7})
    state.press("c", "3", NOW, HEL)  # volunteer: no amount
    state.press("k", None, NOW, HEL)
    state.press("k", None, NOW, HEL)
    assert state.step == SUMMARY
    state.edit("fee_type")
    state.press("c", "0", NOW, HEL)  # a fee after all
    assert state.step == "amount"
    answer(state, "150")
    assert state.step == SUMMARY and state.values["amount"] == 15000


def test_a_question_may_be_worded_by_an_earlier_answer() -> None:
    state = started(ORDER)
    place = ORDER.field("place")
    assert state.prompt_key(place) == "form.order.place_onsite"
    state.values["remote"] = "remote"
    assert state.prompt_key(place) == "form.order.place_remote"
    assert state.prompt_key(ORDER.field("seats")) == "form.order.seats"


def test_summaries_show_answers_only() -> None:
    state = started(EXPERT, {"consent_at": NOW.isoformat(), "display_name": "Kaisa"})
    state.values["gig_types__sel"] = ["talk"]
    assert state.shown() == {"display_name": "Kaisa"}
    state = started(CHANGE_PLACE, {"gig_id": 5})
    answer(state, "Sali 2")
    assert state.shown() == {"place": "Sali 2"}
    assert state.answers() == {"gig_id": 5, "place": "Sali 2"}


def test_every_form_says_who_may_fill_it() -> None:
    assert ORDER.roles == {Role.ORDERER} and EXPERT.roles == {Role.EXPERT}
    assert CHANGE_PLACE.roles == {Role.ORDERER, Role.COORDINATOR}
    for form in FORMS.values():
        assert form.roles and form.roles <= set(Role.ALL), form.name


def test_every_form_has_a_completion_registered_by_its_feature() -> None:
    handlers.build_handlers(Texts())
    missing = [name for name in FORMS if name not in runner._COMPLETIONS]
    assert missing == []
    # A second feature cannot take over a form's completion by mistake.

    async def other(req: runner.Req, values: dict[str, Any]) -> None:
        return None

    with pytest.raises(ValueError, match="order"):
        runner.on_complete(ORDER, other)
