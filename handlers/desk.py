"""The coordinator's desk: the gig list, fees, the audit log, alert choices and claims,
reports; and the expert's own fees."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import (
    AlertToggle,
    Claim,
    ClaimStart,
    FeeAction,
    GigAction,
    GigsPage,
    MyFeeAction,
    PersonAction,
    pack,
    pattern,
)
from bot.forms import FEE_EDIT, GIG_MESSAGE
from bot.i18n import Texts
from bot.services.alerts import CATEGORIES
from bot.services.billing import NotAMonth, parse_month
from bot.services.reports import parse_period
from handlers import forms
from handlers.base import Ctx, Req, arg_id, handles
from handlers.claims import claim_cards
from handlers.gigs import authorised_gig
from storage.models import ExpenseClaim, Fee, FeeStatus, FeeType, Gig, GigStatus, Role
from storage.repo import GigRepo, GigView, UserRepo

PAGE = 10
GIG_FILTERS = {
    "u": "upcoming",
    "n": "needs",
    "t": "today",
    "w": "week",
    "p": "pending",
    "o": "open",
    "f": "filled",
    "c": "cancelled",
    "d": "done",
}
FILTER_WORDS = {
    "upcoming": "u",
    "tulevat": "u",
    "kommande": "u",
    "needs": "n",
    "vajaat": "n",
    "saknar": "n",
    "today": "t",
    "tänään": "t",
    "idag": "t",
    "week": "w",
    "viikko": "w",
    "vecka": "w",
    "pending": "p",
    "odottavat": "p",
    "väntar": "p",
    "open": "o",
    "avoimet": "o",
    "öppna": "o",
    "filled": "f",
    "täydet": "f",
    "fulla": "f",
    "cancelled": "c",
    "perutut": "c",
    "inställda": "c",
    "done": "d",
    "pidetyt": "d",
    "hållna": "d",
    "genomförda": "d",
}


@handles(Role.COORDINATOR)
async def gigs_list(req: Req) -> None:
    """`/gigs [upcoming|needs|today|week|pending|open|filled|cancelled|done] [organisation]`."""
    code, org = "u", ""
    # Swedish writes "i dag" in two words; it is one filter.
    args = " ".join(req.args).replace("i dag", "idag").replace("I dag", "idag").split()
    for word in args:
        if word.lower() in FILTER_WORDS:
            code = FILTER_WORDS[word.lower()]
        else:
            org = f"{org} {word}".strip()
    await show_gigs(req, code, org, 0, edit=False)


async def show_gigs(req: Req, code: str, org: str, page: int, *, edit: bool) -> None:
    now = req.core.clock.now()
    tz = req.core.settings.tz
    today = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)
    view = GigView(GIG_FILTERS.get(code, "upcoming"), now, today)
    total, gigs = await GigRepo(req.s).listing(view, org, page * PAGE, PAGE)
    pages = (total + PAGE - 1) // PAGE
    if total and not gigs:  # a page button from before the list got shorter: the last page
        page = pages - 1
        total, gigs = await GigRepo(req.s).listing(view, org, page * PAGE, PAGE)
    if not gigs:
        req.say("desk.no_gigs")
        return
    p = req.core.presenter
    lines = [
        req.t(
            "desk.gigs_header",
            filter=req.t(f"desk.filter_{GIG_FILTERS[code]}"),
            count=total,
            page=page + 1,
            pages=pages,
        )
    ]
    for g in gigs:
        lines.append(
            req.t(
                "desk.gig_line",
                title=p.gig_title(req.lang, g),
                status=req.t(f"status.{g.status}"),
                filled=g.seats_filled,
                seats=g.seats,
                org=g.organisation,
            )
        )
    lines.append(req.t("desk.gigs_footer"))
    nav = []
    if not org:  # paging keeps the filter in the button; an organisation search is one page
        if page > 0:
            nav.append(("◀", pack(GigsPage(code, page - 1))))
        if page + 1 < pages:
            nav.append(("▶", pack(GigsPage(code, page + 1))))
    markup = req.keyboard([nav]) if nav else None
    if edit:
        req.edit("\n".join(lines), markup)
    else:
        req.reply("\n".join(lines), markup)


@handles(Role.COORDINATOR)
async def gigs_page(req: Req) -> None:
    button = req.pressed(GigsPage)
    await show_gigs(req, button.status, "", button.page, edit=True)


@handles(Role.COORDINATOR)
async def person_action(req: Req) -> None:
    """On the gig card: replace a confirmed expert, or record a no-show."""
    button = req.pressed(PersonAction)
    core = req.core
    if button.what == "rp":
        gig = await core.dispatch.replace(req.s, req.actor, button.offer_id)
        req.say("desk.replaced_done", title=core.presenter.gig_title(req.lang, gig))
    else:
        result = await core.dispatch.no_show(req.s, req.actor, button.offer_id)
        p = core.presenter
        if not result.fee_amount:
            fee = ""  # an unpaid gig: no fee to speak of
        elif result.fee_dropped:
            fee = req.t("desk.no_show_fee_dropped", amount=p.money(req.lang, result.fee_amount))
        else:
            fee = req.t("desk.no_show_fee_kept", status=req.t(f"fee_status.{result.fee_status}"))
        text = req.t(
            "desk.no_show_done",
            name=result.name,
            title=p.gig_title(req.lang, result.gig),
            id=result.offer.expert_id,
            fee=fee,
        )
        req.reply(text.replace(" \n", "\n"))


@handles(Role.COORDINATOR)
async def gig_action(req: Req) -> None:
    """On the gig card: mark it held, or write to its confirmed experts."""
    button = req.pressed(GigAction)
    gig = await authorised_gig(req, button.gig_id)
    if button.what == "gd":
        await req.core.dispatch.mark_done(req.s, req.actor, gig.id)
        req.say("desk.done", title=req.core.presenter.gig_title(req.lang, gig))
    else:
        await forms.begin(req, GIG_MESSAGE, {"gig_id": gig.id})


async def gig_message_done(req: Req, values: dict[str, Any]) -> None:
    count = await req.core.dispatch.message_confirmed(
        req.s, req.actor, int(values["gig_id"]), values["message"]
    )
    req.say("desk.message_sent", count=count)


def fee_line(req: Req, fee: Fee, gig: Gig, name: str | None = None) -> str:
    """A fee on two lines: whose (for coordinators) and which gig, then the amounts."""
    extra = fee.travel_cents + fee.other_cents
    return req.t(
        "fees.line" if name is not None else "fees.line_mine",
        id=fee.id,
        title=req.core.presenter.gig_title(req.lang, gig),
        name=name,
        type=req.t(f"fee_type.{fee.fee_type}"),
        amount=req.core.presenter.money(req.lang, fee.amount_cents),
        expenses=req.core.presenter.money(req.lang, extra),
        status=req.t(f"fee_status.{fee.status}"),
    )


@handles(Role.COORDINATOR)
async def fees_list(req: Req) -> None:
    """Unpaid fees, oldest gig first, each with its next step; then the expense claims waiting
    for a decision."""
    rows = await req.core.fees.unpaid(req.s)
    if not rows and not await req.core.claims.pending(req.s):
        req.say("fees.none_unpaid")
        return
    for fee, gig in rows[:20]:
        profile = await UserRepo(req.s).profile(fee.expert_id)
        buttons = [
            [
                (req.t("btn.fee_sent"), pack(FeeAction("s", fee.id))),
                (req.t("btn.fee_paid"), pack(FeeAction("p", fee.id))),
            ],
            [(req.t("btn.fee_edit"), pack(FeeAction("e", fee.id)))],
        ]
        req.reply(
            fee_line(req, fee, gig, profile.display_name if profile else "–"), req.keyboard(buttons)
        )
    await claim_cards(req)


@handles(Role.COORDINATOR)
async def fee_action(req: Req) -> None:
    button = req.pressed(FeeAction)
    if button.action == "e":
        req.edit_markup(None)
        fee = await req.core.fees.get(req.s, button.fee_id)
        was = {"was_travel": fee.travel_cents, "was_other": fee.other_cents}
        await forms.begin(req, FEE_EDIT, {"fee_id": button.fee_id, **was})
        return
    status = FeeStatus.FORM_SENT if button.action == "s" else FeeStatus.PAID
    fee = await req.core.fees.set_status(req.s, req.actor, button.fee_id, status)
    req.edit(req.t("fees.status_set", id=fee.id, status=req.t(f"fee_status.{fee.status}")))


async def fee_edit_done(req: Req, values: dict[str, Any]) -> None:
    """The fee's type and amounts as corrected; a skipped or unasked amount is zero. If the
    expenses changed while the form was open (an expense claim approved), nothing is written
    and the coordinator sees both the new figures and their own."""
    travel, other = values.get("travel") or 0, values.get("other") or 0
    was = (values.get("was_travel"), values.get("was_other"))
    fee = await req.core.fees.get(req.s, int(values["fee_id"]))
    if None not in was and was != (fee.travel_cents, fee.other_cents):
        money = req.core.presenter.money
        req.say(
            "fees.changed_meanwhile",
            id=fee.id,
            travel=money(req.lang, fee.travel_cents),
            other=money(req.lang, fee.other_cents),
            typed_travel=money(req.lang, travel),
            typed_other=money(req.lang, other),
        )
        return
    fee = await req.core.fees.edit(
        req.s,
        req.actor,
        fee.id,
        values["fee_type"],
        values.get("amount") or 0,
        travel,
        other,
    )
    req.say("fees.edited", id=fee.id)


@handles(Role.EXPERT)
async def my_fees(req: Req) -> None:
    """The expert's fees with their status, this year's total, and the month against the
    expert's own earnings limit; `/myfees <year>` sends the year's statement as a PDF."""
    if req.args:
        await my_statement(req)
        return
    core = req.core
    rows = await core.fees.of_expert(req.s, req.actor.id)
    tz = core.settings.tz
    now = core.clock.now().astimezone(tz)
    year_start = datetime(now.year, 1, 1, tzinfo=tz)
    month_start = datetime(now.year, now.month, 1, tzinfo=tz)
    next_month = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=tz)
    ytd = await core.fees.earned(
        req.s, req.actor.id, year_start, datetime(now.year + 1, 1, 1, tzinfo=tz)
    )
    month = await core.fees.earned(req.s, req.actor.id, month_start, next_month)
    profile = await core.experts.profile(req.s, req.actor)
    lines = [
        req.t(
            "fees.mine_header",
            ytd=req.core.presenter.money(req.lang, ytd),
            month=req.core.presenter.money(req.lang, month),
        )
    ]
    if profile is not None and profile.max_earnings_cents is not None:
        key = "fees.limit_over" if month > profile.max_earnings_cents else "fees.limit_ok"
        lines.append(
            req.t(key, limit=req.core.presenter.money(req.lang, profile.max_earnings_cents))
        )
    if not rows:
        lines.append(req.t("fees.none_mine"))
    claims = await core.claims.of_fees(req.s, [fee.id for fee, _ in rows])
    lines += [my_fee_text(req, fee, gig, claims) for fee, gig in rows]
    buttons = [row for fee, gig in rows for row in my_fee_buttons(req, fee, gig)]
    req.reply("\n\n".join(lines), req.keyboard(buttons) if buttons else None)


def my_fee_text(req: Req, fee: Fee, gig: Gig, claims: list[ExpenseClaim]) -> str:
    """A fee as the expert sees it, with the expense claims made for its gig."""
    lines = [fee_line(req, fee, gig)]
    for claim in claims:
        if claim.fee_id == fee.id:
            state = req.t(f"claim_status.{claim.status}")
            reason = f" – {claim.reason}" if claim.reason else ""
            lines.append(f"🧾 {req.core.claims.describe(req.lang, claim)} · {state}{reason}")
    return "\n".join(lines)


def my_fee_buttons(req: Req, fee: Fee, gig: Gig) -> list[list[tuple[str, str]]]:
    """I got paid, give the fee up, and (after the gig, before payment) claim an expense."""
    row = []
    if fee.status != FeeStatus.PAID and fee.fee_type != FeeType.VOLUNTEER:
        row.append((req.t("btn.fee_confirm_paid", id=fee.id), pack(MyFeeAction("P", fee.id))))
    if fee.status == FeeStatus.AGREED and fee.fee_type in (FeeType.PALKKIO, FeeType.TYOKORVAUS):
        row.append((req.t("btn.fee_refuse", id=fee.id), pack(MyFeeAction("r", fee.id))))
    rows = [row] if row else []
    begun = gig.starts_at <= req.core.clock.now() and gig.status != GigStatus.CANCELLED
    if begun and fee.status != FeeStatus.PAID:
        rows.append([(req.t("btn.money.claim", id=fee.id), pack(ClaimStart(fee.id)))])
    return rows


async def my_statement(req: Req) -> None:
    """`/myfees 2026`: the yearly statement; anything but a year is answered with how to ask."""
    core = req.core
    this_year = core.clock.now().astimezone(core.settings.tz).year
    word = req.args[0].strip()
    year = (
        int(word)
        if len(req.args) == 1 and word.isascii() and word.isdigit() and len(word) == 4
        else 0
    )
    if not 2000 <= year <= this_year:
        req.say("papers.year_usage", year=this_year)
        return
    if not await core.papers.statement_rows(req.s, req.actor.id, year):
        req.say("papers.year_empty", year=year)
        return
    pdf = await core.papers.statement(req.s, req.actor.id, year, req.lang)
    req.say("papers.statement_sent", year=year)
    req.file(req.t("papers.statement_file", year=year), pdf)


@handles(Role.EXPERT)
async def my_fee_action(req: Req) -> None:
    """I got paid (one tap); giving up a fee asks once more, saying what stays the same."""
    button = req.pressed(MyFeeAction)
    action = button.action
    fees, p = req.core.fees, req.core.presenter
    if action == "P":
        await fees.set_status(req.s, req.actor, button.fee_id, FeeStatus.PAID)
        req.say("fees.confirmed_paid")
        return
    if action == "k":
        req.edit(req.t("fees.refuse_kept"))
        return
    fee, gig = await fees.own_refusable(req.s, req.actor, button.fee_id)
    title = p.gig_title(req.lang, gig)
    if action == "r":
        req.say(
            "fees.refuse_confirm",
            req.keyboard(
                [
                    [(req.t("btn.fee_refuse_yes"), pack(MyFeeAction("R", fee.id)))],
                    [(req.t("btn.fee_refuse_no"), pack(MyFeeAction("k", fee.id)))],
                ]
            ),
            title=title,
            amount=p.money(req.lang, fee.amount_cents),
        )
        return
    await fees.refuse(req.s, req.actor, fee.id)
    req.edit(req.t("fees.refused", title=title))


@handles(Role.COORDINATOR)
async def billing(req: Req) -> None:
    """`/billing 3/2027`: the month's held gigs per ordering organisation, as a workbook."""
    core = req.core
    today = core.clock.now().astimezone(core.settings.tz).date()
    example, example_dot = f"{today.month}/{today.year}", f"{today.month}.{today.year}"
    try:
        first = parse_month(" ".join(req.args))
    except NotAMonth:
        req.say("billing.usage", example=example, example_dot=example_dot)
        return
    orgs = await core.billing.held(req.s, first)
    month = f"{first.month}/{first.year}"
    if not orgs:
        req.say("billing.empty", month=month)
        return
    p = core.presenter
    req.say(
        "billing.summary",
        month=month,
        gigs=sum(len(o.gigs) for o in orgs),
        orgs=len(orgs),
        fees=p.money(req.lang, sum(o.fees for o in orgs)),
        expenses=p.money(req.lang, sum(o.expenses for o in orgs)),
    )
    name = req.t("billing.file", year=first.year, month=f"{first.month:02d}")
    req.file(name, core.billing.xlsx(orgs, first, req.lang))


@handles(Role.COORDINATOR)
async def audit(req: Req) -> None:
    """`/audit gig <n>` or `/audit expert <n>`: who did what and when."""
    if len(req.args) != 2 or req.args[0] not in ("gig", "expert", "keikka", "asiantuntija"):
        req.say("audit.usage")
        return
    record = arg_id(req, "audit.usage", 1)
    target = "gig" if req.args[0] in ("gig", "keikka") else "expert"
    rows = await req.core.audit.of(req.s, target, record)
    if not rows:
        req.say("audit.empty")
        return
    p = req.core.presenter
    lines = [req.t("audit.header", target=req.args[0], id=record)]
    lines += [
        req.t(
            "audit.line",
            when=p.when(req.lang, r.at),
            who=r.actor_name or "–",
            action=r.action,
            details=r.details or "",
        )
        for r in rows
    ]
    req.reply("\n".join(lines))


def alerts_markup(req: Req, muted: list[str]) -> list[list[tuple[str, str]]]:
    return [
        [(("🔕 " if c in muted else "🔔 ") + req.t(f"alerts.cat_{c}"), pack(AlertToggle(c)))]
        for c in CATEGORIES
    ]


@handles(Role.COORDINATOR)
async def alerts(req: Req) -> None:
    """Choose which alerts to get; errors always come."""
    muted = (req.actor.user.alert_mutes if req.actor.user else []) or []
    req.say("alerts.choose", req.keyboard(alerts_markup(req, muted)))


@handles(Role.COORDINATOR)
async def alerts_toggle(req: Req) -> None:
    category = req.pressed(AlertToggle).category
    muted = await req.core.alerts.toggle(req.s, req.actor, category)
    req.edit_markup(req.keyboard(alerts_markup(req, muted)))


@handles(Role.COORDINATOR)
async def claim(req: Req) -> None:
    """'I'll take it': the first coordinator gets the alert; the others see who."""
    alert_id = req.pressed(Claim).alert_id
    won, name = await req.core.alerts.claim(req.s, req.actor, alert_id)
    req.toast("alerts.claimed_toast" if won else "alerts.already_claimed", alert=not won, by=name)


@handles(Role.COORDINATOR)
async def report(req: Req) -> None:
    """`/report [month|quarter|year|11.2026|2026|1.1.2026 31.3.2026]`: figures, a chart, an
    Excel workbook and a CSV file."""
    core = req.core
    period = parse_period(req.args, core.clock.now().astimezone(core.settings.tz).date())
    figures = await core.reports.figures(req.s, period, core.clock.now())
    lang = req.lang
    rows = core.reports.text_rows(figures, lang)
    summary_section = req.t("report.s_summary")
    lines = [req.t("report.title", period=period.label())]
    lines += [f"{item}: {value}" for section, item, value in rows if section == summary_section]
    req.reply("\n".join(lines))
    chart = core.reports.chart_png(figures, lang)
    xlsx = core.reports.xlsx_bytes(figures, lang)
    csv_data = core.reports.csv_bytes(figures, lang)
    name = core.reports.file_name(period, lang)
    req.file(f"{name}.png", chart, photo=True)
    req.file(f"{name}.xlsx", xlsx)
    req.file(f"{name}.csv", csv_data)


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(GIG_MESSAGE, gig_message_done)
    forms.on_complete(FEE_EDIT, fee_edit_done)
    return [
        CommandHandler("gigs", gigs_list),
        CommandHandler("fees", fees_list),
        CommandHandler("myfees", my_fees),
        CommandHandler("audit", audit),
        CommandHandler("alerts", alerts),
        CommandHandler("report", report),
        CommandHandler("billing", billing),
        CallbackQueryHandler(gigs_page, pattern=pattern(GigsPage)),
        CallbackQueryHandler(person_action, pattern=pattern(PersonAction)),
        CallbackQueryHandler(gig_action, pattern=pattern(GigAction)),
        CallbackQueryHandler(fee_action, pattern=pattern(FeeAction)),
        CallbackQueryHandler(my_fee_action, pattern=pattern(MyFeeAction)),
        CallbackQueryHandler(alerts_toggle, pattern=pattern(AlertToggle)),
        CallbackQueryHandler(claim, pattern=pattern(Claim)),
    ]
