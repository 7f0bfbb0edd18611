"""The coordinator's side of the experts' register: approvals, the list, one expert's card."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import vocab
from bot.callbacks import CardAction, CompanionAsk, ExpertsPage, Registration, pack, pattern
from bot.errors import Refuse
from bot.forms import COMPANION, CONTRACT, read_typed
from bot.i18n import Texts
from bot.parsing import InputError, shorten
from bot.services.experts import PAGE_SIZE, Card, Filters, profile_values
from handlers import avail, forms
from handlers.base import Ctx, Req, arg_id, handles
from handlers.sessions import attendance_line
from storage.models import ExpertStatus, Role

STATUS_WORDS = {
    "active": "active",
    "aktiivinen": "active",
    "aktiiviset": "active",
    "aktiva": "active",
    "pending": "pending",
    "odottaa": "pending",
    "odottavat": "pending",
    "väntar": "pending",
    "inactive": "inactive",
    "passiivinen": "inactive",
    "passiiviset": "inactive",
    "inaktiva": "inactive",
}
# One-letter codes keep paging buttons' callback data short.
STATUS_CODES = {"active": "a", "pending": "p", "inactive": "i"}
FILTER_ATTR = {
    "topic": "topic",
    "gig_type": "gig_type",
    "region": "region",
    "language_name": "language",
}
LISTS = (
    ("topic", vocab.TOPICS),
    ("gig_type", vocab.GIG_TYPES),
    ("region", vocab.REGIONS),
    ("language_name", vocab.LANGS),
)


def _lookup(texts: Texts, phrase: str) -> tuple[str, str] | None:
    """(filter attribute, code) for a status word, a code or a label in any language."""
    if phrase in STATUS_WORDS:
        return "status", STATUS_WORDS[phrase]
    for prefix, codes in LISTS:
        for code in codes:
            if phrase == code or phrase in {
                t.lower() for t in texts.all_variants(f"{prefix}.{code}")
            }:
                return FILTER_ATTR[prefix], code
    return None


def parse_filters(texts: Texts, words: list[str]) -> tuple[Filters, list[str]]:
    """Read filters from words in any language; labels may span words ("substance use").

    Returns the filters and the words that matched nothing.
    """
    f = Filters()
    unknown = []
    lowered = [w.strip().lower() for w in words]
    i = 0
    while i < len(lowered):
        for span in range(min(4, len(lowered) - i), 0, -1):
            hit = _lookup(texts, " ".join(lowered[i : i + span]))
            if hit is not None:
                setattr(f, hit[0], hit[1])
                i += span
                break
        else:
            unknown.append(words[i])
            i += 1
    return f, unknown


def pack_filters(f: Filters) -> str:
    def idx(codes: tuple[str, ...], value: str | None) -> str:
        return str(codes.index(value)) if value is not None else "-"

    return ".".join(
        [
            STATUS_CODES.get(f.status or "", "-"),
            idx(vocab.TOPICS, f.topic),
            idx(vocab.GIG_TYPES, f.gig_type),
            idx(vocab.REGIONS, f.region),
            idx(vocab.LANGS, f.language),
        ]
    )


def unpack_filters(packed: str) -> Filters:
    parts = packed.split(".")
    if len(parts) != 5:
        raise ValueError(packed)

    def pick(codes: tuple[str, ...], raw: str) -> str | None:
        return None if raw == "-" else codes[int(raw)]

    status = {v: k for k, v in STATUS_CODES.items()}.get(parts[0])
    return Filters(
        topic=pick(vocab.TOPICS, parts[1]),
        gig_type=pick(vocab.GIG_TYPES, parts[2]),
        region=pick(vocab.REGIONS, parts[3]),
        language=pick(vocab.LANGS, parts[4]),
        status=status,
    )


def status_text(req: Req, card: Card) -> str:
    if not card.user.active:
        return req.t("register.status_inactive")
    if card.profile.status == ExpertStatus.PENDING:
        return req.t("register.status_pending")
    if card.profile.status == ExpertStatus.REJECTED:
        return req.t("register.status_rejected")
    return req.t("register.status_active")


def contract_text(req: Req, card: Card) -> str:
    until = card.profile.contract_until
    if until is None:
        return req.t("register.contract_none")
    today = req.core.clock.now().astimezone(req.core.settings.tz).date()
    key = "register.contract_valid" if until >= today else "register.contract_ended"
    return req.t(key, date=req.core.presenter.day(req.lang, until))


async def show_list(req: Req, f: Filters, page: int, *, edit: bool) -> None:
    cards, total = await req.core.experts.search(req.s, f, page)
    if total == 0:
        req.say("register.list_empty")
        return
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    lines = [req.t("register.list_header", total=total, page=page + 1, pages=pages)]
    for c in cards:
        lines.append(
            req.t(
                "register.list_item",
                id=c.user.id,
                name=c.profile.display_name,
                status=status_text(req, c),
                gigs=c.gigs_90d,
            )
        )
    lines.append(req.t("register.list_footer"))
    packed = pack_filters(f)
    nav = []
    if page > 0:
        nav.append(("◀", pack(ExpertsPage(page - 1, packed))))
    if page + 1 < pages:
        nav.append(("▶", pack(ExpertsPage(page + 1, packed))))
    markup = req.keyboard([nav]) if nav else None
    if edit:
        req.edit("\n".join(lines), markup)
    else:
        req.reply("\n".join(lines), markup)


@handles(Role.COORDINATOR)
async def experts(req: Req) -> None:
    """List experts: `/experts [active|pending|inactive] [topic] [gig type] [region] [language]`."""
    f, unknown = parse_filters(req.core.texts, req.args)
    if unknown:
        req.say("register.unknown_filter", words=shorten(", ".join(unknown), 100))
        return
    await show_list(req, f, 0, edit=False)


@handles(Role.COORDINATOR)
async def experts_page(req: Req) -> None:
    button = req.pressed(ExpertsPage)
    try:
        f = unpack_filters(button.filters)
    except (ValueError, IndexError):
        req.toast("err.stale")
        return
    await show_list(req, f, button.page, edit=True)


async def show_card(req: Req, user_id: int, *, edit: bool = False) -> None:
    card = await req.core.experts.card(req.s, user_id)
    if card is None:
        req.say("register.not_found")
        return
    p, prof = req.core.presenter, card.profile
    yes, no = req.t("common.yes"), req.t("common.no")
    none = req.t("limits.none")
    lines = [
        req.t("register.card_header", id=card.user.id, name=prof.display_name),
        req.t("register.card_status", status=status_text(req, card)),
        req.t("register.card_contract", contract=contract_text(req, card)),
        req.t(
            "register.card_training",
            basic=yes if prof.basic_training else no,
            paikko=yes if prof.paikko else no,
        ),
        req.t("register.card_youth", youth=yes if prof.youth else no),
        await attendance_line(req, user_id),
        req.t(
            "register.card_gigs",
            gigs=card.gigs_90d,
            upcoming=card.upcoming,
            days=card.days_since_last if card.days_since_last is not None else "–",
        ),
        req.t(
            "register.card_limits",
            gigs=prof.max_gigs_month if prof.max_gigs_month is not None else none,
            money=req.core.presenter.money(req.lang, prof.max_earnings_cents)
            if prof.max_earnings_cents is not None
            else none,
            paused=req.core.presenter.day(req.lang, prof.paused_until)
            if prof.paused_until
            else "–",
        ),
        *avail.card_lines(req, prof),
        "",
        p.profile(req.lang, profile_values(prof)),
    ]
    rows = card_buttons(req, card)
    if edit:
        req.edit("\n".join(lines), req.keyboard(rows))
    else:
        req.reply("\n".join(lines), req.keyboard(rows))


def card_buttons(req: Req, card: Card) -> list[list[tuple[str, str]]]:
    """Approve or reject (while pending), then the coordinator's fields on the card."""
    uid = card.user.id
    rows: list[list[tuple[str, str]]] = []
    if card.profile.status == ExpertStatus.PENDING:
        rows.append(
            [
                (req.t("btn.approve"), pack(Registration(True, uid))),
                (req.t("btn.reject"), pack(Registration(False, uid))),
            ]
        )
    rows += [
        [
            (req.t("btn.toggle_training"), pack(CardAction("t", uid))),
            (req.t("btn.toggle_paikko"), pack(CardAction("k", uid))),
        ],
        [
            (req.t("btn.set_contract"), pack(CardAction("c", uid))),
            (req.t("btn.toggle_youth"), pack(CardAction("y", uid))),
        ],
        [
            (req.t("btn.deactivate"), pack(CardAction("d", uid)))
            if card.user.active
            else (req.t("btn.reactivate"), pack(CardAction("a", uid)))
        ],
    ]
    return rows


@handles(Role.COORDINATOR)
async def expert_card(req: Req) -> None:
    """One expert's card: `/expert <number>`."""
    await show_card(req, arg_id(req, "register.card_usage"))


@handles(Role.COORDINATOR)
async def card_action(req: Req) -> None:
    """Coordinator fields on the card; every change shows the updated card."""
    button = req.pressed(CardAction)
    action, user_id = button.action, button.user_id
    if action == "c":
        req.edit_markup(None)
        await forms.begin(req, CONTRACT, {"expert_id": user_id})
        return
    field = {
        "t": ("basic_training", None),
        "k": ("paikko", None),
        "y": ("youth", None),
        "d": ("active", False),
        "a": ("active", True),
    }[action]
    await req.core.experts.set_field(req.s, req.actor, user_id, field[0], field[1])
    await show_card(req, user_id, edit=True)


@handles(Role.COORDINATOR)
async def decide_registration(req: Req) -> None:
    """Approve or reject a new expert; the expert is told either way."""
    button = req.pressed(Registration)
    approve = button.approve
    done, profile = await req.core.experts.decide(req.s, req.actor, button.user_id, approve)
    if profile is None:
        req.toast("err.stale", alert=True)
    elif not done:
        req.toast("register.already_decided", alert=True)
        req.edit_markup(None)
    else:
        req.toast("register.approved_toast" if approve else "register.rejected_toast")


@handles(Role.COORDINATOR)
async def companion(req: Req) -> None:
    """`/companion <gig> <name>` names the adult accompanying youth experts on a gig."""
    gig_id = arg_id(req, "coord.companion_usage")
    try:
        name = read_typed(
            COMPANION.fields[0], " ".join(req.args[1:]), req.core.clock.now(), req.core.settings.tz
        )
    except InputError:
        raise Refuse("coord.companion_usage") from None
    await _set_companion(req, gig_id, name)


async def _set_companion(req: Req, gig_id: int, name: str) -> None:
    gig, confirmed = await req.core.dispatch.set_companion(req.s, req.actor, gig_id, name)
    req.say(
        "coord.companion_set", title=req.core.presenter.gig_title(req.lang, gig), count=confirmed
    )


async def companion_done(req: Req, values: dict[str, Any]) -> None:
    await _set_companion(req, int(values["gig_id"]), values["companion"])


async def contract_done(req: Req, values: dict[str, Any]) -> None:
    """The contract's end date is set; the coordinator sees whose and until when."""
    until = values["contract_until"]
    profile = await req.core.experts.set_field(
        req.s, req.actor, int(values["expert_id"]), "contract_until", until
    )
    req.say(
        "register.contract_set",
        name=profile.display_name,
        date=req.core.presenter.day(req.lang, date.fromisoformat(until)),
    )


@handles(Role.COORDINATOR)
async def companion_button(req: Req) -> None:
    gig_id = req.pressed(CompanionAsk).gig_id
    req.edit_markup(None)
    await forms.begin(req, COMPANION, {"gig_id": gig_id})


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(CONTRACT, contract_done)
    forms.on_complete(COMPANION, companion_done)
    return [
        CommandHandler("experts", experts),
        CommandHandler("expert", expert_card),
        CommandHandler("companion", companion),
        CallbackQueryHandler(experts_page, pattern=pattern(ExpertsPage)),
        CallbackQueryHandler(card_action, pattern=pattern(CardAction)),
        CallbackQueryHandler(decide_registration, pattern=pattern(Registration)),
        CallbackQueryHandler(companion_button, pattern=pattern(CompanionAsk)),
    ]
