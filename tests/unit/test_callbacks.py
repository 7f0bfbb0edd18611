"""The callback codec on its own: every kind of button and tag packs and reads back, fits
Telegram's 64 bytes at the largest ids, reads forged or garbage data as Stale, and registers
with a pattern anchored at both ends that no other kind's data matches."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Literal, get_args, get_origin, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.ext import CallbackQueryHandler

from bot import callbacks as cb
from bot.callbacks import Button, Packed, Stale, Tag, pack, parse, parse_tag, pattern
from bot.i18n import Texts
from bot.parsing import DB_INT_MAX
from bot.settings import LANGUAGES
from handlers import build_handlers
from storage.models import Role

KINDS: list[type[Packed]] = [*Button.KINDS, *Tag.KINDS]

# What each field type may hold, written out here rather than taken from the codec's regexes.
VALUES: dict[Any, st.SearchStrategy[Any]] = {
    cb.Id: st.integers(1, DB_INT_MAX),
    cb.Page: st.integers(0, 9999),
    cb.Index: st.integers(0, 999),
    cb.Token: st.from_regex(r"[A-Za-z0-9_-]{10,40}", fullmatch=True),
    cb.Step: st.from_regex(r"[a-z_]{1,32}", fullmatch=True),
    cb.Word: st.from_regex(r"[a-z]{1,12}", fullmatch=True),
    cb.YesNo: st.booleans(),
    cb.Bit: st.booleans(),
    cb.Stars: st.integers(1, 5),
    cb.StarsOrSkip: st.integers(0, 5),
    cb.Lang: st.sampled_from(LANGUAGES),
    cb.RoleName: st.sampled_from(Role.ALL),
    cb.FilterCode: st.from_regex(
        r"[api\-]\.(-|[0-9]{1,2})\.(-|[0-9]{1,2})\.(-|[0-9]{1,2})\.(-|[0-9]{1,2})", fullmatch=True
    ),
}
LARGEST: dict[Any, Any] = {
    cb.Id: DB_INT_MAX,
    cb.Page: 9999,
    cb.Index: 999,
    cb.Token: "A" * 40,
    cb.Step: "s" * 32,
    cb.Word: "w" * 12,
    cb.YesNo: True,
    cb.Bit: True,
    cb.Stars: 5,
    cb.StarsOrSkip: 5,
    cb.Lang: max(LANGUAGES, key=len),
    cb.RoleName: max(Role.ALL, key=len),
    cb.FilterCode: "a.99.99.99.99",
}


def hints(kind: type[Packed]) -> dict[str, Any]:
    every = get_type_hints(kind, include_extras=True)
    return {f.name: every[f.name] for f in fields(kind)}  # type: ignore[arg-type]


def field_values(kind: type[Packed], name: str, hint: Any) -> st.SearchStrategy[Any]:
    if get_origin(hint) is Literal:
        return st.sampled_from(get_args(hint))
    if kind is cb.GigsPage and name == "status":
        return st.sampled_from("untwpofcd")
    return VALUES[hint]


def largest(kind: type[Packed]) -> Packed:
    def biggest(name: str, hint: Any) -> Any:
        if get_origin(hint) is Literal:
            return max(get_args(hint), key=lambda v: len(str(v)))
        if kind is cb.GigsPage and name == "status":
            return "u"
        return LARGEST[hint]

    return kind(**{name: biggest(name, hint) for name, hint in hints(kind).items()})


def instances(kind: type[Packed]) -> st.SearchStrategy[Packed]:
    return st.builds(
        kind, **{name: field_values(kind, name, hint) for name, hint in hints(kind).items()}
    )


def read(data: str, kind: type[Packed]) -> object:
    return parse_tag(data) if issubclass(kind, Tag) else parse(data)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(KINDS).flatmap(instances))
def test_every_kind_reads_back_as_itself(item: Packed) -> None:
    data = pack(item)
    assert read(data, type(item)) == item
    assert pattern(type(item)).match(data)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_largest_values_fit_in_64_bytes(kind: type[Packed]) -> None:
    item = largest(kind)
    data = pack(item)
    assert len(data.encode()) <= 64, data
    assert read(data, kind) == item


def test_every_field_type_is_covered() -> None:
    """A new field type needs strategies here too (otherwise the tests above would skip it)."""
    for kind in KINDS:
        for name, hint in hints(kind).items():
            field_values(kind, name, hint)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # The strings the bot has always sent: buttons already in chats keep working.
        ("of:a:12", cb.OfferAccept(12)),
        ("of:A:12", cb.OfferAcceptAnyway(12)),
        ("of:D:12", cb.OfferDeclineAnyway(12)),
        ("sb:12", cb.StepBackAsk(12)),
        ("sb:n:12", cb.StepBack(False, 12)),
        ("rc:y:7", cb.Reconfirm(True, 7)),
        ("pf:r", cb.ProfileAction("r")),
        ("fg:y", cb.ForgetAnswer(True)),
        ("xl:3:a.-.12.-.0", cb.ExpertsPage(3, "a.-.12.-.0")),
        ("xc:k:4", cb.CardAction("k", 4)),
        ("xr:n:4", cb.Registration(False, 4)),
        ("hp:t:2:9", cb.PickToggle(2, 9)),
        ("ph:2", cb.GigChange("ph", 2)),
        ("ns:8", cb.PersonAction("ns", 8)),
        ("gl:w:1", cb.GigsPage("w", 1)),
        ("fe:R:5", cb.MyFeeAction("R", 5)),
        ("fe:e:5", cb.FeeAction("e", 5)),
        ("al:checkins", cb.AlertToggle("checkins")),
        ("iv:coordinator", cb.Invite("coordinator")),
        ("lg:sv", cb.Language("sv")),
        ("ck:tw:3", cb.Prep("tw", 3)),
        ("ck:dp:3", cb.DebriefWith("dp", 3)),
        ("ck:4:3", cb.DebriefScore(4, 3)),
        ("ck:p0:3", cb.DebriefRating("p", 0, 3)),
        ("kt:t:3", cb.KeepInTouch("t", 3)),
        ("fa:5:" + "Ab-_9" * 4, cb.FeedbackRate(5, "Ab-_9" * 4)),
        ("fn:6:0", cb.FeedbackNamed(6, False)),
        ("ob:c2:6", cb.OrdererRating("c", 2, 6)),
        ("cs:i", cb.Consent("i")),
        ("f:b", cb.FormSummary("b")),
        ("f:e:10", cb.FormEdit(10)),
        ("f:c:gig_type:0", cb.FormChoice("gig_type", 0)),
        ("f:y:remote:1", cb.FormYesNo("remote", True)),
        ("f:k:fee", cb.FormSkip("fee")),
    ],
)
def test_the_strings_already_sent_still_read(data: str, expected: Button) -> None:
    assert parse(data) == expected
    assert pack(expected) == data


def test_tags_read_back_and_unknown_tags_are_none() -> None:
    assert parse_tag("offer:5") == cb.OfferTag(5)
    assert parse_tag("status:5") == cb.StatusTag(5)
    assert parse_tag("register:5") == cb.RegistrationTag(5)
    assert parse_tag("approval:5") == cb.ApprovalTag(5)
    assert parse_tag("alert:5") == cb.AlertTag(5)
    for tag in (None, "", "offer:", "offer:0", "offer:2147483648", "offer:x", "of:a:5"):
        assert parse_tag(tag) is None, tag
    assert isinstance(parse("offer:5"), Stale)  # a tag is no button


FORGED = [
    "",
    "of:a:0",
    "of:a:-1",
    "of:a:+1",
    "of:a:1.0",
    "of:a:2147483648",  # one past the database's largest integer
    "of:a:9999999999",
    "of:a:" + "9" * 60,
    "of:a:١٢",  # Arabic-Indic digits: int() reads them, the codec does not
    "of:a:12\n",
    " of:a:12",
    "of:a:12 ",
    "of:x:12",
    "of:a",
    "hp:t:1",
    "hp:t:1:2:3",
    "ck:6:3",
    "ck:o6:3",
    "ob:g0:3",
    "fa:6:" + "A" * 22,
    "fa:5:short",
    "fa:5:" + "A" * 41,
    "lg:de",
    "iv:admin",
    "gl:z:0",
    "xl:0:a.-.-.-",
    "xl:10000:a.-.-.-.-",
    "f:c:Gig_Type:0",
    "f:c:gig_type:1000",
    "f:z",
    "x" * 64,
    "🙂" * 16,
    "offer:5",
]


@pytest.mark.parametrize("data", FORGED)
def test_forged_or_garbage_data_is_stale(data: str) -> None:
    assert parse(data) == Stale(data)


def test_nothing_is_not_a_button() -> None:
    assert parse(None) == Stale(None)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"[a-zA-Z]{1,2}:[a-zA-Z0-9:]{0,20}", fullmatch=True))
def test_parse_never_raises_and_reads_only_what_it_would_write(data: str) -> None:
    result = parse(data)
    if not isinstance(result, Stale):
        # Leading zeros are the one harmless slack: "of:a:012" reads as offer 12.
        assert parse(pack(result)) == result
        assert pattern(type(result)).match(data)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_patterns_are_anchored_and_claim_only_their_own_kind(kind: type[Packed]) -> None:
    regex = pattern(kind)
    assert regex.pattern.startswith(r"\A") and regex.pattern.endswith(r"\Z")
    data = pack(largest(kind))
    assert regex.match(data)
    for wrapped in ("x" + data, data + "x", data + "\n", data + ":1", " " + data):
        assert not regex.match(wrapped), wrapped
    others = [k for k in KINDS if k is not kind and pattern(k).match(data)]
    assert not others, others


def test_packing_refuses_what_would_not_read_back() -> None:
    for bad in (
        cb.OfferAccept(0),
        cb.OfferAccept(DB_INT_MAX + 1),
        cb.FeedbackSkip("short"),
        cb.FeedbackSkip("A" * 41),
        cb.FormDone("a:b"),
        cb.FormDone("x" * 33),
        cb.GigsPage("u", 10000),
        cb.Language("de"),
        cb.OfferTag(-5),
    ):
        with pytest.raises(ValueError):
            pack(bad)


def test_every_button_has_a_handler() -> None:
    """Each kind's data reaches a handler of its own, not the 'old button' fallback."""
    handlers = [
        h
        for _, h in build_handlers(Texts())
        if isinstance(h, CallbackQueryHandler) and h.pattern is not None
    ]
    for kind in Button.KINDS:
        data = pack(largest(kind))
        assert any(h.pattern.match(data) for h in handlers), kind.__name__  # type: ignore[union-attr]
