"""Experts: when they can be offered gigs (/availability: a weekly pattern set by toggling
buttons in one message that edits itself, and dated blocks), and the open gigs they fit but
were not offered yet (/opengigs) with "I'm interested"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import (
    AvailAdd,
    AvailRemove,
    AvailToggle,
    GigInterest,
    OpenGigsPage,
    pack,
    pattern,
)
from bot.forms import AVAIL_BLOCK
from bot.i18n import Texts, fmt_day
from bot.services.availability import OpenGig, Pattern
from bot.services.dispatch import Ranked
from handlers import forms
from handlers.base import Ctx, Req, handles
from storage import vocab
from storage.models import AvailabilityBlock, ExpertProfile, Gig, Role

MAX_BLOCKS = 20  # dated blocks one expert keeps (each has a remove button; Telegram takes 100)
OPEN_PAGE = 5  # open gigs per message: well inside 4,096 characters and 100 buttons


def period(first: date, last: date) -> str:
    """'24.12.2026–6.1.2027', or one day alone."""
    return fmt_day(first) if first == last else f"{fmt_day(first)}–{fmt_day(last)}"


def block_line(req: Req, b: AvailabilityBlock) -> str:
    when = period(b.starts_on, b.ends_on)
    if b.away:
        note = req.t("avail.note_suffix", note=b.note) if b.note else ""
        return req.t("avail.block_away", period=when, note=note)
    return req.t("avail.block_note", period=when, note=b.note)


def pattern_view(req: Req, found: Pattern) -> tuple[str, InlineKeyboardMarkup]:
    """The availability message: the rule, the blocks, and the week as buttons."""
    hours = zip(vocab.SLOTS, vocab.SLOT_HOURS, strict=True)
    bounds = {name: f"{start}–{end}" for name, (start, end) in hours}
    lines = [req.t("avail.header", **bounds)]
    lines.append(req.t("avail.blocks_header") if found.blocks else req.t("avail.no_blocks"))
    lines += [block_line(req, b) for b in found.blocks]
    rows: list[list[tuple[str, str]]] = []
    for day in range(7):
        row = []
        for slot, name in enumerate(vocab.SLOTS):
            index = day * len(vocab.SLOTS) + slot
            mark = "➖" if found.unavailable & (1 << index) else "✅"
            label = f"{req.t(f'avail.day_{day}')} {req.t(f'avail.slot_{name}')} {mark}"
            row.append((label, pack(AvailToggle(index))))
        rows.append(row)
    rows.append([(req.t("btn.avail.add"), pack(AvailAdd()))])
    for b in found.blocks:
        label = req.t("btn.avail.remove", period=period(b.starts_on, b.ends_on))
        rows.append([(label, pack(AvailRemove(b.id)))])
    return "\n".join(lines), req.keyboard(rows)


def slot_names(req: Req, unavailable: int) -> str:
    """'ma aamu, ti ilta': the parts of the week marked not available."""
    return ", ".join(
        f"{req.t(f'avail.day_{index // len(vocab.SLOTS)}')} "
        f"{req.t(f'avail.slot_{vocab.SLOTS[index % len(vocab.SLOTS)]}')}"
        for index in range(vocab.WEEK_SLOTS)
        if unavailable & (1 << index)
    )


def card_lines(req: Req, profile: ExpertProfile) -> list[str]:
    """The expert's availability on the coordinator's card: the pattern, and the periods
    still to come with their notes."""
    lines = [
        req.t("avail.card_not", slots=slot_names(req, profile.unavailable_slots))
        if profile.unavailable_slots
        else req.t("avail.card_any")
    ]
    today = req.core.clock.now().astimezone(req.core.settings.tz).date()
    blocks = [block_line(req, b) for b in profile.blocks if b.ends_on >= today]
    if blocks:
        lines.append(req.t("avail.card_blocks", blocks="\n".join(blocks)))
    return lines


async def ranking_lines(req: Req, gig: Gig, ranked: Sequence[Ranked]) -> list[str]:
    """Below the coordinator's ranking: the interest rule if anyone is interested, the notes
    of eligible experts for the gig's day, and who is not available then."""
    found = await req.core.availability.for_gig(req.s, gig, {r.expert_id for r in ranked})
    lines = [req.t("ranking_avail.rule")] if any(r.interested for r in ranked) else []
    lines += [req.t("ranking_avail.note", name=name, note=note) for name, note in found.notes]
    if found.unavailable:
        names = ", ".join(f"{n} ({note})" if note else n for n, note in found.unavailable)
        lines.append(req.t("ranking_avail.unavailable", names=names))
    return lines


@handles(Role.EXPERT)
async def availability(req: Req) -> None:
    """Show the weekly pattern and the dated blocks, each changeable with a tap."""
    found = await req.core.availability.pattern(req.s, req.actor)
    if found is None:
        req.say("avail.no_profile")
        return
    req.reply(*pattern_view(req, found))


@handles(Role.EXPERT)
async def toggle(req: Req) -> None:
    """Flip one part of the week; the message edits itself."""
    found = await req.core.availability.toggle(req.s, req.actor, req.pressed(AvailToggle).index)
    if found is None:
        req.toast("err.stale")
        return
    req.edit(*pattern_view(req, found))


@handles(Role.EXPERT)
async def add(req: Req) -> None:
    """Add a dated period: a short form (days, away or a note, the note)."""
    req.pressed(AvailAdd)
    found = await req.core.availability.pattern(req.s, req.actor)
    if found is None:
        req.toast("err.stale")
    elif len(found.blocks) >= MAX_BLOCKS:
        req.toast("avail.too_many", alert=True, count=MAX_BLOCKS)
    else:
        await forms.begin(req, AVAIL_BLOCK)


@handles(Role.EXPERT)
async def remove(req: Req) -> None:
    """Remove one of one's own blocks (somebody else's is stale)."""
    removed = await req.core.availability.remove_block(
        req.s, req.actor, req.pressed(AvailRemove).block_id
    )
    found = await req.core.availability.pattern(req.s, req.actor)
    if not removed or found is None:
        req.toast("err.stale")
        return
    req.toast("avail.removed")
    req.edit(*pattern_view(req, found))


async def block_done(req: Req, values: dict[str, Any]) -> None:
    """The block form is complete: save it and show the availability with it."""
    first, last = (date.fromisoformat(d) for d in str(values["period"]).split("/"))
    away = values["away"] == "away"
    note = (values.get("note") if away else values.get("remark")) or ""
    await req.core.availability.add_block(req.s, req.actor, first, last, away, note)
    found = await req.core.availability.pattern(req.s, req.actor)
    req.say("avail.added_away" if away else "avail.added_note", period=period(first, last))
    if found is not None:
        req.reply(*pattern_view(req, found))


# ----- open gigs ----------------------------------------------------------------------------


def open_page(req: Req, found: list[OpenGig], page: int) -> tuple[str, InlineKeyboardMarkup]:
    """One page of open gigs: a short description each, and its interest button."""
    pages = max(1, -(-len(found) // OPEN_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = found[page * OPEN_PAGE : (page + 1) * OPEN_PAGE]
    p = req.core.presenter
    lines = [req.t("opengigs.header", count=len(found), page=page + 1, pages=pages)]
    rows: list[list[tuple[str, str]]] = []
    for item in shown:
        g = item.gig
        place = req.t("format.remote") if g.remote else p.label(req.lang, "region", g.region)
        mark = req.t("opengigs.interested_mark") if item.interested else ""
        lines.append(
            req.t(
                "opengigs.line",
                title=p.gig_title(req.lang, g),
                place=place,
                topics=p.labels(req.lang, "topic", g.topics),
                mark=mark,
            )
        )
        key = "btn.avail.withdraw" if item.interested else "btn.avail.interested"
        rows.append([(req.t(key, id=g.id), pack(GigInterest(not item.interested, g.id, page)))])
    nav = []
    if page > 0:
        nav.append(("◀", pack(OpenGigsPage(page - 1))))
    if page < pages - 1:
        nav.append(("▶", pack(OpenGigsPage(page + 1))))
    if nav:
        rows.append(nav)
    lines.append(req.t("opengigs.rule"))
    return "\n\n".join(lines), req.keyboard(rows)


@handles(Role.EXPERT)
async def open_gigs(req: Req) -> None:
    """Open gigs the expert fits and was not offered yet, a page at a time."""
    found = await req.core.availability.open_gigs(req.s, req.actor)
    if not found:
        req.say("opengigs.none")
        return
    req.reply(*open_page(req, found, 0))


@handles(Role.EXPERT)
async def open_gigs_page(req: Req) -> None:
    """Turn the page of open gigs."""
    found = await req.core.availability.open_gigs(req.s, req.actor)
    if not found:
        req.edit(req.t("opengigs.none"))
        return
    req.edit(*open_page(req, found, req.pressed(OpenGigsPage).page))


@handles(Role.EXPERT)
async def interest(req: Req) -> None:
    """Say or withdraw "I'm interested"; checked again at the tap (the list may be stale)."""
    button = req.pressed(GigInterest)
    ok = await req.core.availability.set_interest(req.s, req.actor, button.gig_id, button.on)
    if not ok:
        req.toast("opengigs.gone", alert=True)
    elif button.on:
        req.toast("opengigs.noted")
    else:
        req.toast("opengigs.withdrawn")
    found = await req.core.availability.open_gigs(req.s, req.actor)
    if found:
        req.edit(*open_page(req, found, button.page))
    else:
        req.edit(req.t("opengigs.none"))


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(AVAIL_BLOCK, block_done)
    return [
        CommandHandler("availability", availability),
        CommandHandler("opengigs", open_gigs),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.availability"))), availability),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.open_gigs"))), open_gigs),
        CallbackQueryHandler(toggle, pattern=pattern(AvailToggle)),
        CallbackQueryHandler(add, pattern=pattern(AvailAdd)),
        CallbackQueryHandler(remove, pattern=pattern(AvailRemove)),
        CallbackQueryHandler(open_gigs_page, pattern=pattern(OpenGigsPage)),
        CallbackQueryHandler(interest, pattern=pattern(GigInterest)),
    ]
