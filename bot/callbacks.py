"""Every button's callback data and every outbox tag, packed and parsed in one place.

Each kind of button is a small frozen dataclass with a template such as `of:a:{offer_id}`;
`pack(button)` writes it, `parse(data)` reads any button back (or `Stale` for data this bot
did not make or no longer understands), and `pattern(Kind)` is the anchored regex a
CallbackQueryHandler is registered with. Record numbers are read by the rules of
`bot.parsing.parse_id` (ASCII digits, 1 .. 2**31-1), so a forged huge number is stale, not an
overflow in the database. Telegram takes at most 64 bytes of callback data; the outbox's tag
column is 64 characters: packing refuses anything longer.

The strings are the ones the bot has always sent, so buttons already in people's chats keep
working after a deploy. Outbox tags (`offer:<id>` ...) work the same way with `Tag`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args, get_origin, get_type_hints

from bot.parsing import InputError, parse_id
from bot.settings import LANGUAGES
from storage.models import Role

DATA_LIMIT = 64  # bytes of callback data Telegram accepts; also the outbox tag column's width


@dataclass(frozen=True)
class Kind:
    """How one field is written: the regex the text must match whole, and its reading back.
    `load` raises ValueError (or InputError) for text that matches but means nothing."""

    regex: str
    load: Callable[[str], Any]
    dump: Callable[[Any], str] = str


def _load_id(text: str) -> int:
    return parse_id(text)


def one_of(values: Iterable[str]) -> Kind:
    """A field that is one of a fixed set of words."""
    choices = tuple(values)

    def load(text: str) -> str:
        if text not in choices:
            raise ValueError(text)
        return text

    return Kind("|".join(re.escape(v) for v in sorted(choices, key=len, reverse=True)), load)


Id = Annotated[int, Kind("[0-9]{1,10}", _load_id)]
"""A record number (offer, gig, user, fee, check-in, alert)."""
Page = Annotated[int, Kind("[0-9]{1,4}", int)]
Index = Annotated[int, Kind("[0-9]{1,3}", int)]
Token = Annotated[str, Kind("[A-Za-z0-9_-]{10,40}", str)]
Step = Annotated[str, Kind("[a-z_]{1,32}", str)]
Word = Annotated[str, Kind("[a-z]{1,12}", str)]
Stars = Annotated[int, Kind("[1-5]", int)]
StarsOrSkip = Annotated[int, Kind("[0-5]", int)]  # 0: skipped
YesNo = Annotated[bool, Kind("[yn]", lambda text: text == "y", lambda value: "y" if value else "n")]
Bit = Annotated[bool, Kind("[01]", lambda text: text == "1", lambda value: "1" if value else "0")]
Lang = Annotated[str, one_of(LANGUAGES)]
RoleName = Annotated[str, one_of(Role.ALL)]
# The register's filters: status code, then the index in each vocabulary list ("-" for none).
FilterCode = Annotated[
    str, Kind(r"[a-z\-]\.[0-9\-]{1,2}\.[0-9\-]{1,2}\.[0-9\-]{1,2}\.[0-9\-]{1,2}", str)
]


class Packed:
    """A button's callback data or an outbox tag; subclasses set TEMPLATE."""

    TEMPLATE: ClassVar[str]


class Button(Packed):
    """One kind of inline button."""

    KINDS: ClassVar[list[type[Button]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Button.KINDS.append(cls)


class Tag(Packed):
    """One kind of outbox tag: which record a sent message belongs to."""

    KINDS: ClassVar[list[type[Tag]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Tag.KINDS.append(cls)


@dataclass(frozen=True)
class Stale:
    """Data this bot did not make (forged) or no longer understands (a button from an old
    message); the handler answers with `err.stale` and changes nothing."""

    data: str | None


P = TypeVar("P", bound=Packed)


@dataclass(frozen=True)
class _Codec:
    regex: re.Pattern[str]  # with named groups, for reading
    plain: str  # the same without group names, for handler patterns
    kinds: dict[str, Kind]


def _field_kind(hint: Any) -> Kind:
    if get_origin(hint) is Annotated:
        return next(a for a in get_args(hint)[1:] if isinstance(a, Kind))
    if get_origin(hint) is Literal:
        values = get_args(hint)
        by_text = {str(v): v for v in values}

        def load(text: str) -> Any:
            return by_text[text]  # KeyError cannot happen: the regex allows only these

        words = sorted(by_text, key=len, reverse=True)
        return Kind("|".join(re.escape(w) for w in words), load)
    raise TypeError(f"no callback codec for {hint!r}")


_CODECS: dict[type[Packed], _Codec] = {}


def _codec(cls: type[Packed]) -> _Codec:
    if cls not in _CODECS:
        _CODECS[cls] = _build(cls)
    return _CODECS[cls]


def _build(cls: type[Packed]) -> _Codec:
    hints = get_type_hints(cls, include_extras=True)
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    kinds = {name: _field_kind(hints[name]) for name in names}
    named, plain, seen = "", "", []
    for literal, name, _spec, _conv in string.Formatter().parse(cls.TEMPLATE):
        named += re.escape(literal)
        plain += re.escape(literal)
        if name is not None:
            named += f"(?P<{name}>{kinds[name].regex})"
            plain += f"(?:{kinds[name].regex})"
            seen.append(name)
    if sorted(seen) != sorted(names):
        raise TypeError(f"{cls.__name__}: template {cls.TEMPLATE!r} does not name {names}")
    return _Codec(re.compile(named), plain, kinds)


def _read(cls: type[P], data: str) -> P | None:
    codec = _codec(cls)
    match = codec.regex.fullmatch(data)
    if match is None:
        return None
    try:
        values = {name: kind.load(match[name]) for name, kind in codec.kinds.items()}
    except (ValueError, InputError):
        return None
    return cls(**values)


def pack(item: Packed) -> str:
    """The callback data (or tag) for a button (or tag); refuses values that would not read
    back as the same thing or that Telegram would not take."""
    codec = _codec(type(item))
    data = type(item).TEMPLATE.format(
        **{name: kind.dump(getattr(item, name)) for name, kind in codec.kinds.items()}
    )
    if len(data.encode()) > DATA_LIMIT or _read(type(item), data) != item:
        raise ValueError(f"cannot pack {item!r}")
    return data


def parse(data: str | None) -> Button | Stale:
    """Which button was pressed, or Stale."""
    return parse_as(data, *Button.KINDS)


def parse_as(data: str | None, *kinds: type[P]) -> P | Stale:
    """The button (or tag) if `data` is one of `kinds`, else Stale."""
    if data is None or len(data.encode()) > DATA_LIMIT:
        return Stale(data)
    for kind in kinds:
        item = _read(kind, data)
        if item is not None:
            return item
    return Stale(data)


def parse_tag(tag: str | None) -> Tag | None:
    """Which record a sent message's tag names; None for no tag or one not made here."""
    item = parse_as(tag, *Tag.KINDS)
    return None if isinstance(item, Stale) else item


def pattern(*kinds: type[Packed]) -> re.Pattern[str]:
    """The anchored regex for a CallbackQueryHandler taking these kinds of button.

    The shape only: an id that matches but is out of range reaches the handler and reads as
    Stale there, which answers the same way as the fallback for data matching nothing."""
    return re.compile(r"\A(?:" + "|".join(_codec(k).plain for k in kinds) + r")\Z")


# ----- offers (experts) -----------------------------------------------------------------


@dataclass(frozen=True)
class OfferAccept(Button):
    TEMPLATE = "of:a:{offer_id}"
    offer_id: Id


@dataclass(frozen=True)
class OfferAcceptAnyway(Button):
    """Accept after the earnings-limit warning."""

    TEMPLATE = "of:A:{offer_id}"
    offer_id: Id


@dataclass(frozen=True)
class OfferDecline(Button):
    TEMPLATE = "of:d:{offer_id}"
    offer_id: Id


@dataclass(frozen=True)
class OfferDeclineAnyway(Button):
    """Decline on the earnings-limit warning: the offer message above is retired too."""

    TEMPLATE = "of:D:{offer_id}"
    offer_id: Id


@dataclass(frozen=True)
class OfferWhy(Button):
    TEMPLATE = "of:w:{offer_id}"
    offer_id: Id


@dataclass(frozen=True)
class OfferDetails(Button):
    TEMPLATE = "of:i:{offer_id}"
    offer_id: Id


@dataclass(frozen=True)
class OfferMoreTime(Button):
    """ "I need more time": once per open offer."""

    TEMPLATE = "of:m:{offer_id}"
    offer_id: Id


@dataclass(frozen=True)
class OfferUndo(Button):
    """Take back an accept or a decline, for a short while after it."""

    TEMPLATE = "of:u:{offer_id}"
    offer_id: Id


@dataclass(frozen=True)
class SwapAsk(Button):
    """From /mygigs: hand my seat to a colleague; a page of their names."""

    TEMPLATE = "sw:{offer_id}:{page}:{turn}"
    offer_id: Id
    page: Page
    turn: Bit = False  # a turn of the list's page (edits it) rather than the first look


@dataclass(frozen=True)
class SwapTo(Button):
    """The colleague chosen to be asked to take over the seat."""

    TEMPLATE = "sw:t:{offer_id}:{user_id}"
    offer_id: Id
    user_id: Id


@dataclass(frozen=True)
class StepBackAsk(Button):
    TEMPLATE = "sb:{offer_id}"
    offer_id: Id


@dataclass(frozen=True)
class StepBack(Button):
    TEMPLATE = "sb:{sure}:{offer_id}"
    sure: YesNo
    offer_id: Id


@dataclass(frozen=True)
class Reconfirm(Button):
    """After a time change: still coming, or not."""

    TEMPLATE = "rc:{coming}:{offer_id}"
    coming: YesNo
    offer_id: Id


@dataclass(frozen=True)
class ProfileAction(Button):
    """e: edit the profile, g: gigs a month, m: money a month, p: pause, r: resume."""

    TEMPLATE = "pf:{action}"
    action: Literal["e", "g", "m", "p", "r"]


@dataclass(frozen=True)
class ForgetAnswer(Button):
    TEMPLATE = "fg:{sure}"
    sure: YesNo


@dataclass(frozen=True)
class FeedAction(Button):
    """A calendar feed: n = a new link (the old one stops), x = stop the feed."""

    TEMPLATE = "fd:{action}"
    action: Literal["n", "x"]


# ----- the register (coordinators) -----------------------------------------------------


@dataclass(frozen=True)
class ExpertsPage(Button):
    TEMPLATE = "xl:{page}:{filters}"
    page: Page
    filters: FilterCode


@dataclass(frozen=True)
class CardAction(Button):
    """t: basic training, k: PAIKKO, y: youth, c: contract, d: deactivate, a: reactivate."""

    TEMPLATE = "xc:{action}:{user_id}"
    action: Literal["t", "k", "y", "c", "d", "a"]
    user_id: Id


@dataclass(frozen=True)
class Registration(Button):
    TEMPLATE = "xr:{approve}:{user_id}"
    approve: YesNo
    user_id: Id


@dataclass(frozen=True)
class CompanionAsk(Button):
    TEMPLATE = "cp:{gig_id}"
    gig_id: Id


# ----- gigs and orders ------------------------------------------------------------------


@dataclass(frozen=True)
class Approval(Button):
    TEMPLATE = "ap:{approve}:{gig_id}"
    approve: YesNo
    gig_id: Id


@dataclass(frozen=True)
class Ranking(Button):
    TEMPLATE = "rk:{gig_id}"
    gig_id: Id


@dataclass(frozen=True)
class DispatchMode(Button):
    """b: broadcast, c: cascade, h: hand-pick."""

    TEMPLATE = "dm:{mode}:{gig_id}"
    mode: Literal["b", "c", "h"]
    gig_id: Id


@dataclass(frozen=True)
class PickToggle(Button):
    TEMPLATE = "hp:t:{gig_id}:{user_id}"
    gig_id: Id
    user_id: Id


@dataclass(frozen=True)
class PickSend(Button):
    TEMPLATE = "hp:s:{gig_id}"
    gig_id: Id


@dataclass(frozen=True)
class GigChange(Button):
    """oc: cancel the order, gc: cancel the gig, ot: move it, op: new place, ph: prep hours."""

    TEMPLATE = "{what}:{gig_id}"
    what: Literal["oc", "gc", "ot", "op", "ph"]
    gig_id: Id


@dataclass(frozen=True)
class OrderActions(Button):
    TEMPLATE = "oa:{gig_id}"
    gig_id: Id


@dataclass(frozen=True)
class OrderCheck(Button):
    """On the order's summary: tick or untick an item of the checklist
    (bot.services.orders.CHECKLIST), or t: "not yet, let's talk"."""

    TEMPLATE = "oq:{item}"
    item: CheckItem


CheckItem = Literal["0", "1", "2", "3", "4", "t"]
CHECK_ITEMS: tuple[CheckItem, ...] = ("0", "1", "2", "3", "4")  # one per checklist item


@dataclass(frozen=True)
class OrderResults(Button):
    """The orderer's audience feedback on their past gigs (released by the rule)."""

    TEMPLATE = "oR"


@dataclass(frozen=True)
class RelayWrite(Button):
    """Write the next message to a gig's relay (orderer, confirmed experts, coordinators)."""

    TEMPLATE = "rw:{gig_id}"
    gig_id: Id


@dataclass(frozen=True)
class RelayRead(Button):
    """A coordinator reads a gig's relay."""

    TEMPLATE = "rr:{gig_id}"
    gig_id: Id


@dataclass(frozen=True)
class PrepPropose(Button):
    """The orderer proposes a preparation call for the gig."""

    TEMPLATE = "pp:{gig_id}"
    gig_id: Id


@dataclass(frozen=True)
class PrepAnswerButton(Button):
    """A confirmed expert: y: the proposed time suits me, s: suggest another time."""

    TEMPLATE = "pa:{answer}:{call_id}"
    answer: Literal["y", "s"]
    call_id: Id


@dataclass(frozen=True)
class PrepConfirm(Button):
    """The orderer takes the time an expert suggested."""

    TEMPLATE = "pc:{answer_id}"
    answer_id: Id


@dataclass(frozen=True)
class GigsPage(Button):
    TEMPLATE = "gl:{status}:{page}"
    status: Annotated[str, one_of("untwpofcd")]  # handlers.desk.GIG_FILTERS
    page: Page


@dataclass(frozen=True)
class PersonAction(Button):
    """On the gig card: rp replaces a confirmed expert, ns records a no-show."""

    TEMPLATE = "{what}:{offer_id}"
    what: Literal["rp", "ns"]
    offer_id: Id


@dataclass(frozen=True)
class GigAction(Button):
    """On the gig card: gd marks it held, gm writes to its experts."""

    TEMPLATE = "{what}:{gig_id}"
    what: Literal["gd", "gm"]
    gig_id: Id


@dataclass(frozen=True)
class OrderAgain(Button):
    """Start a new order pre-filled from this earlier one (the presser's own only)."""

    TEMPLATE = "oo:{gig_id}"
    gig_id: Id


@dataclass(frozen=True)
class EarlierOrders(Button):
    """The orderer's earlier orders, to pick one to order again."""

    TEMPLATE = "oo:list"


@dataclass(frozen=True)
class SeriesScope(Button):
    """A change to a date of a series: o: only this date, l: this and the later dates."""

    TEMPLATE = "ss:{what}:{scope}:{gig_id}"
    what: Literal["oc", "gc", "ot", "op"]
    scope: Literal["o", "l"]
    gig_id: Id


@dataclass(frozen=True)
class SeriesDates(Button):
    """The dates of a series, each with its own actions (from /myorders)."""

    TEMPLATE = "sd:{gig_id}"
    gig_id: Id


# ----- fees and alerts ------------------------------------------------------------------


@dataclass(frozen=True)
class FeeAction(Button):
    """A coordinator's: s: form sent, p: paid, e: edit."""

    TEMPLATE = "fe:{action}:{fee_id}"
    action: Literal["s", "p", "e"]
    fee_id: Id


@dataclass(frozen=True)
class MyFeeAction(Button):
    """An expert's: P: I got paid, r: give it up (asks), R: yes give it up, k: keep it."""

    TEMPLATE = "fe:{action}:{fee_id}"
    action: Literal["P", "r", "R", "k"]
    fee_id: Id


@dataclass(frozen=True)
class ClaimStart(Button):
    """An expert's: claim an expense for the gig of this fee."""

    TEMPLATE = "xe:{fee_id}"
    fee_id: Id


@dataclass(frozen=True)
class ClaimAction(Button):
    """A coordinator's, on an expense claim: r: show the receipt, a: approve, x: reject."""

    TEMPLATE = "xa:{action}:{claim_id}"
    action: Literal["r", "a", "x"]
    claim_id: Id


@dataclass(frozen=True)
class CertApprove(Button):
    """A coordinator's: approve the certificate an expert asked for (days as yyyymmdd)."""

    TEMPLATE = "ct:{expert_id}:{since}:{until}"
    expert_id: Id
    since: Id
    until: Id


@dataclass(frozen=True)
class AlertToggle(Button):
    TEMPLATE = "al:{category}"
    category: Word


@dataclass(frozen=True)
class Claim(Button):
    TEMPLATE = "cl:{alert_id}"
    alert_id: Id


@dataclass(frozen=True)
class Invite(Button):
    TEMPLATE = "iv:{role}"
    role: RoleName


@dataclass(frozen=True)
class Language(Button):
    TEMPLATE = "lg:{code}"
    code: Lang


# ----- check-ins ------------------------------------------------------------------------


@dataclass(frozen=True)
class Prep(Button):
    """r: ready; t: talk (then tw/tp/tm: how); s: step back (then sy/sn); c: talk with the
    coordinator about the gig's content note."""

    TEMPLATE = "ck:{action}:{checkin_id}"
    action: Literal["r", "t", "tw", "tp", "tm", "s", "sy", "sn", "c"]
    checkin_id: Id


@dataclass(frozen=True)
class Coming(Button):
    """ "Still coming?" a day before: yes, or I can't make it (a step back)."""

    TEMPLATE = "cm:{coming}:{checkin_id}"
    coming: YesNo
    checkin_id: Id


@dataclass(frozen=True)
class DebriefWith(Button):
    """A debrief with the coordinator (dc) or a peer (dp)."""

    TEMPLATE = "ck:{who}:{checkin_id}"
    who: Literal["dc", "dp"]
    checkin_id: Id


@dataclass(frozen=True)
class DebriefScore(Button):
    TEMPLATE = "ck:{score}:{checkin_id}"
    score: Stars
    checkin_id: Id


@dataclass(frozen=True)
class DebriefRating(Button):
    """How the orderer treated them (o) or how well it was prepared (p); 0 skips."""

    TEMPLATE = "ck:{about}{stars}:{checkin_id}"
    about: Literal["o", "p"]
    stars: StarsOrSkip
    checkin_id: Id


@dataclass(frozen=True)
class KeepInTouch(Button):
    """y: still interested, p: pause, t: talk."""

    TEMPLATE = "kt:{answer}:{checkin_id}"
    answer: Literal["y", "p", "t"]
    checkin_id: Id


# ----- feedback -------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackRate(Button):
    TEMPLATE = "fa:{stars}:{token}"
    stars: Stars
    token: Token


@dataclass(frozen=True)
class FeedbackSkip(Button):
    TEMPLATE = "fs:{token}"
    token: Token


@dataclass(frozen=True)
class FeedbackNamed(Button):
    TEMPLATE = "fn:{gig_id}:{named}"
    gig_id: Id
    named: Bit


@dataclass(frozen=True)
class OrdererRating(Button):
    """The orderer rates the gig (g), then the cooperation (c)."""

    TEMPLATE = "ob:{about}{stars}:{gig_id}"
    about: Literal["g", "c"]
    stars: Stars
    gig_id: Id


# ----- forms ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Consent(Button):
    """y: agree, n: not now, i: what is stored."""

    TEMPLATE = "cs:{answer}"
    answer: Literal["y", "n", "i"]


@dataclass(frozen=True)
class FormSummary(Button):
    """On the summary: s: save/send, e: choose what to edit, x: cancel, b: back."""

    TEMPLATE = "f:{action}"
    action: Literal["s", "e", "x", "b"]


@dataclass(frozen=True)
class FormEdit(Button):
    """Edit the field at this place in the form."""

    TEMPLATE = "f:e:{index}"
    index: Index


@dataclass(frozen=True)
class FormChoice(Button):
    TEMPLATE = "f:c:{step}:{index}"
    step: Step
    index: Index


@dataclass(frozen=True)
class FormToggle(Button):
    TEMPLATE = "f:t:{step}:{index}"
    step: Step
    index: Index


@dataclass(frozen=True)
class FormDone(Button):
    TEMPLATE = "f:d:{step}"
    step: Step


@dataclass(frozen=True)
class FormYesNo(Button):
    TEMPLATE = "f:y:{step}:{yes}"
    step: Step
    yes: Bit


@dataclass(frozen=True)
class FormQuick(Button):
    TEMPLATE = "f:q:{step}:{index}"
    step: Step
    index: Index


@dataclass(frozen=True)
class FormSkip(Button):
    TEMPLATE = "f:k:{step}"
    step: Step


FORM_STEP = (FormChoice, FormToggle, FormDone, FormYesNo, FormQuick, FormSkip)
"""The buttons that answer the form's current question."""


# ----- availability and open gigs (experts) ---------------------------------------------


@dataclass(frozen=True)
class AvailToggle(Button):
    """Flip one slot of the weekly pattern: weekday * 3 + slot (storage.vocab.SLOTS)."""

    TEMPLATE = "av:t:{index}"
    index: Index


@dataclass(frozen=True)
class AvailAdd(Button):
    """Add a dated period (a short form)."""

    TEMPLATE = "av:a"


@dataclass(frozen=True)
class AvailRemove(Button):
    TEMPLATE = "av:r:{block_id}"
    block_id: Id


@dataclass(frozen=True)
class OpenGigsPage(Button):
    TEMPLATE = "og:{page}"
    page: Page


@dataclass(frozen=True)
class GigInterest(Button):
    """Say (y) or withdraw (n) "I'm interested" in an open gig, from a page of /opengigs."""

    TEMPLATE = "oi:{on}:{gig_id}:{page}"
    on: YesNo
    gig_id: Id
    page: Page


# ----- calls for interest ---------------------------------------------------------------


@dataclass(frozen=True)
class CallAnswerButton(Button):
    """An invited expert: interested (y) or not this time (n)."""

    TEMPLATE = "cf:{interested}:{call_id}"
    interested: YesNo
    call_id: Id


@dataclass(frozen=True)
class CallManage(Button):
    """A coordinator: v view the interested, x close now, e extend the deadline, c confirm the
    choice (asks), s send it, b back to picking."""

    TEMPLATE = "cc:{action}:{call_id}"
    action: Literal["v", "x", "e", "c", "s", "b"]
    call_id: Id


@dataclass(frozen=True)
class CallNew(Button):
    """A coordinator starts a new call from the list of calls."""

    TEMPLATE = "cc:n"


@dataclass(frozen=True)
class CallPick(Button):
    """A coordinator ticks or unticks one interested expert."""

    TEMPLATE = "cc:t:{call_id}:{user_id}"
    call_id: Id
    user_id: Id


# ----- supervision, peer groups, training -----------------------------------------------


@dataclass(frozen=True)
class SessionAnswer(Button):
    """An invited expert: sign up (y) or cancel (n)."""

    TEMPLATE = "se:{sign_up}:{session_id}"
    sign_up: YesNo
    session_id: Id


@dataclass(frozen=True)
class SessionManage(Button):
    """A coordinator: v the participants, a record attendance, c cancel the session (asks),
    k cancel it (confirmed)."""

    TEMPLATE = "sx:{action}:{session_id}"
    action: Literal["v", "a", "c", "k"]
    session_id: Id


@dataclass(frozen=True)
class SessionMark(Button):
    """A coordinator marks one participant attended or absent."""

    TEMPLATE = "sx:m:{session_id}:{user_id}"
    session_id: Id
    user_id: Id


@dataclass(frozen=True)
class SessionNew(Button):
    """A coordinator announces a new session from the list."""

    TEMPLATE = "sx:n"


# ----- outbox tags ----------------------------------------------------------------------


@dataclass(frozen=True)
class OfferTag(Tag):
    TEMPLATE = "offer:{offer_id}"
    offer_id: Id


@dataclass(frozen=True)
class StatusTag(Tag):
    """The live status message of a gig in a coordinator's chat."""

    TEMPLATE = "status:{gig_id}"
    gig_id: Id


@dataclass(frozen=True)
class RegistrationTag(Tag):
    TEMPLATE = "register:{user_id}"
    user_id: Id


@dataclass(frozen=True)
class ApprovalTag(Tag):
    TEMPLATE = "approval:{gig_id}"
    gig_id: Id


@dataclass(frozen=True)
class AlertTag(Tag):
    TEMPLATE = "alert:{alert_id}"
    alert_id: Id


@dataclass(frozen=True)
class RelayTag(Tag):
    """One part (a long message goes in several) of a relayed message in someone's chat."""

    TEMPLATE = "relay:{message_id}:{part}"
    message_id: Id
    part: Index


for _kind in (*Button.KINDS, *Tag.KINDS):
    _codec(_kind)  # a template that does not fit its fields fails at import, not on a press
