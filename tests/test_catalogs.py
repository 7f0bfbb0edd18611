"""Every text in every language: same keys, same placeholders, and every key the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from bot import vocab
from bot.forms import FORMS
from bot.i18n import load_catalog, placeholders
from bot.settings import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent


def test_languages_have_the_same_keys_and_placeholders() -> None:
    fi = load_catalog("fi")
    for lang in LANGUAGES:
        cat = load_catalog(lang)
        assert cat.keys() == fi.keys(), (lang, cat.keys() ^ fi.keys())
        for key, text in cat.items():
            assert placeholders(text) == placeholders(fi[key]), (lang, key)
            assert text.strip(), (lang, key)


def test_every_key_named_in_code_exists() -> None:
    fi = load_catalog("fi")
    pattern = re.compile(
        r"""["']((?:common|start|help|language|cmd|menu|btn|err|form|label|gig|"""
        r"""order|coord|invite|offer|expert|status)\.[a-z_.]+)["']"""
    )
    used: set[str] = set()
    for folder in ("bot", "handlers", "scheduler"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(pattern.findall(path.read_text()))
    missing = {k for k in used if k not in fi and not k.endswith(".")}
    assert not missing


def test_every_choice_and_question_has_a_text() -> None:
    fi = load_catalog("fi")
    for prefix, codes in (
        ("gig_type", vocab.GIG_TYPES),
        ("topic", vocab.TOPICS),
        ("region", vocab.REGIONS),
        ("audience", vocab.AUDIENCES),
        ("language_name", vocab.LANGS),
        ("format", ("onsite", "remote")),
    ):
        for code in codes:
            assert f"{prefix}.{code}" in fi
    for form in FORMS.values():
        for field in form.fields:
            if form.name == "order" and field.name == "place":
                assert {"form.order.place_onsite", "form.order.place_remote"} <= fi.keys()
            else:
                assert f"form.{form.name}.{field.name}" in fi
            assert f"label.{field.name}" in fi
    for role in ("stranger", "orderer", "expert", "coordinator"):
        assert f"help.{role}" in fi


def test_menu_labels_are_unique_across_languages() -> None:
    seen: dict[str, str] = {}
    for lang in LANGUAGES:
        for key, text in load_catalog(lang).items():
            if key.startswith("menu."):
                assert seen.setdefault(text, key) == key, (lang, key, text)
