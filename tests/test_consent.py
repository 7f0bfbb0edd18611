"""The consent text names everything stored about an expert. Every column of the expert's own
tables, and every table that points at a user, must be placed here: either under the words of
the consent that cover it, or in the short list of what is not about the expert. A new column
or table fails this test until someone has decided what the consent says about it."""

from __future__ import annotations

import pytest

from storage.models import Base
from tests.harness import Harness

# (table, column or "*") -> the words of the consent (fi, en) that cover it.
COVERED: dict[tuple[str, str], tuple[str, str]] = {
    ("users", "telegram_id"): (
        "Telegram-tilisi (numero ja nimi)",
        "Telegram account (number and name)",
    ),
    ("users", "name"): ("Telegram-tilisi (numero ja nimi)", "Telegram account (number and name)"),
    ("users", "language"): ("kielesi", "your language"),
    ("invites", "*"): ("kutsu, jolla liityit", "the invite you joined with"),
    ("expert_profiles", "display_name"): ("nimi, jolla näyt tilaajille", "the name orderers see"),
    ("expert_profiles", "gig_types"): ("tehtävät", "your tasks"),
    ("expert_profiles", "remote_ok"): ("etätyö", "work remotely"),
    ("expert_profiles", "languages"): ("kielet", "languages"),
    ("expert_profiles", "regions"): ("alueet", "regions"),
    ("expert_profiles", "audiences"): ("kohderyhmät", "audiences"),
    ("expert_profiles", "topics"): ("kokemuksen aiheet", "experience topics"),
    # The same five lists again, as bit masks ranking filters on (storage.vocab).
    ("expert_profiles", "gig_types_mask"): ("tehtävät", "your tasks"),
    ("expert_profiles", "languages_mask"): ("kielet", "languages"),
    ("expert_profiles", "regions_mask"): ("alueet", "regions"),
    ("expert_profiles", "audiences_mask"): ("kohderyhmät", "audiences"),
    ("expert_profiles", "topics_mask"): ("kokemuksen aiheet", "experience topics"),
    ("expert_profiles", "notes"): ("kirjoitat koordinaattorille", "write to the coordinator"),
    ("expert_profiles", "max_gigs_month"): ("keikkoja kuukaudessa", "gigs a month"),
    ("expert_profiles", "max_earnings_cents"): ("ansioraja", "earnings limit"),
    ("expert_profiles", "paused_until"): ("tauot", "breaks"),
    ("expert_profiles", "unavailable_slots"): (
        "milloin olet käytettävissä",
        "when you are available",
    ),
    ("availability_blocks", "*"): (
        "päivätyt jaksot huomautuksineen",
        "dated periods with their notes",
    ),
    ("interests", "*"): (
        "kiinnostuksesi avoimiin keikkoihin",
        "the open gigs you say you're interested in",
    ),
    ("expert_profiles", "status"): ("hyväksyntä", "approval"),
    ("expert_profiles", "decided_at"): ("hyväksyntä", "approval"),
    ("expert_profiles", "decided_by"): ("hyväksyntä", "approval"),
    ("expert_profiles", "basic_training"): ("koulutus", "training"),
    ("expert_profiles", "paikko"): ("koulutus", "training"),
    ("expert_profiles", "contract_until"): ("sopimus", "contract"),
    ("expert_profiles", "contract_reminded_for"): ("sopimus", "contract"),
    ("expert_profiles", "youth"): ("nuori kokemusasiantuntija", "young expert"),
    ("offers", "*"): ("saamasi tarjoukset ja vastauksesi", "the offers you get and your answers"),
    # The fair rotation's figures per expert: a running summary of the offers they accepted.
    ("expert_rotation", "*"): (
        "saamasi tarjoukset ja vastauksesi",
        "the offers you get and your answers",
    ),
    ("checkins", "*"): ("vastauksesi ennen ja jälkeen keikan", "your answers before and after"),
    ("fees", "*"): ("palkkiot ja kulukorvaukset", "the fees and expenses"),
    ("expense_claims", "*"): (
        "kulukorvaukset (kuitteineen)",
        "expenses (with their receipts)",
    ),
    ("audit_log", "*"): ("loki", "a log of what they do about you"),
    ("call_answers", "*"): (
        "saamasi haut ja vastauksesi",
        "the calls for interest you get and your answers",
    ),
    ("session_seats", "*"): ("ilmoittautumisesi ja läsnäolosi", "your sign-ups and attendance"),
    ("calendar_feeds", "*"): ("kalenterilinkkisi", "your calendar link"),
    ("prep_answers", "*"): (
        "Vastauksesi valmistelupuhelun ehdotuksiin",
        "Your answers to preparation call proposals",
    ),
    ("relay_messages", "*"): (
        "Viestit, joita kirjoitat keikan keskusteluun",
        "Messages you write in a gig's conversation",
    ),
}
# Kept about an expert, but said in the message that follows consent, or how the bot works.
ELSEWHERE = {
    ("expert_profiles", "consent_at"): "expert.consent_given says it is recorded",
    ("users", "consent_refused_at"): "expert.consent_declined",
    ("users", "erase_when_paid"): "set only by /forget while fees are owed (data.forgotten_owed)",
    ("users", "id"): "a number inside the register",
    ("users", "role"): "that the person is an expert at all",
    ("users", "active"): "whether the person is still in the register",
    ("users", "reachable"): "whether Telegram delivers messages to them",
    ("users", "created_at"): "when they joined",
    ("users", "alert_mutes"): "coordinators only",
    ("expert_profiles", "user_id"): "a number inside the register",
    ("expert_profiles", "updated_at"): "when the profile last changed",
}
# Tables that point at users but hold nothing about an expert.
NOT_ABOUT_EXPERTS = {
    "gigs": "the orderer and the deciding coordinator",
    "gig_series": "the orderer who ordered a series (experts are linked to its dates' gigs)",
    "orderer_feedback": "the orderer's own rating",
    "alerts": "which coordinator took an alert",
    "calls": "the coordinator who made a call for interest",
    "support_sessions": "the coordinator who announced a session",
}


def test_every_column_about_an_expert_is_placed() -> None:
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    pointing = {
        t.name for t in tables.values() for fk in t.foreign_keys if fk.column.table.name == "users"
    }
    placed_tables = {table for table, _ in COVERED} | {table for table, _ in ELSEWHERE}
    unplaced = pointing - placed_tables - set(NOT_ABOUT_EXPERTS) - {"expert_profiles"}
    assert not unplaced, f"say in the consent (or here) what these keep: {unplaced}"
    for name in ("users", "expert_profiles"):
        for column in tables[name].columns:
            key = (name, column.name)
            assert key in COVERED or key in ELSEWHERE, f"the consent does not cover {key}"


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_the_consent_names_all_of_it(h: Harness, lang: str) -> None:
    # The consent is short; "What is stored?" opens the full list in the same message, next to
    # the yes and no buttons (handlers/forms.py), so the two together are what is agreed to.
    consent = f"{h.t(lang, 'expert.consent')}\n\n{h.t(lang, 'expert.consent_details')}"
    for key, words in COVERED.items():
        phrase = words[0 if lang == "fi" else 1]
        assert phrase in consent, (key, phrase)
    # And what it does not keep, it says plainly.
    assert "diagno" in h.t(lang, "expert.consent").lower()
    assert "diagno" in h.t(lang, "expert.consent_details").lower()
