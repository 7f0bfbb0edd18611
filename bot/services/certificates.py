"""The certificate of participation: an expert asks for one for a period, a coordinator
approves it with a button, and the expert gets a PDF in their language with the centre's name,
the held gigs by type, the hours, and who approved it and when.

Nothing new is stored: the request and the approval are entries in the audit log (the approval
checks that the expert asked for exactly this period, and that nobody approved it already), and
the alert with the button names the expert, so an erasure takes it away with the rest. Only the
gig types are listed, never the topics of lived experience (health data)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CertApprove, pack
from bot.errors import Refuse
from bot.i18n import fmt_date, fmt_day
from bot.pdf import Column, Paper
from bot.services.access import Actor
from bot.services.base import Recording
from storage.models import AuditLog, ExpertProfile, Gig, GigStatus, Offer, OfferStatus
from storage.repo import UserRepo

DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
YEAR = re.compile(r"\d{4}")


def _day(text: str) -> date:
    found = DAY.fullmatch(text)
    if found is None:
        raise Refuse("certificate.usage")
    try:
        return date(int(found[3]), int(found[2]), int(found[1]))
    except ValueError:
        raise Refuse("certificate.usage") from None


def parse_period(args: list[str], today: date) -> tuple[date, date]:
    """`2026` (the year, up to today) or `1.1.2026 31.3.2026` (also with a dash between)."""
    words = " ".join(args).replace("–", " ").replace("-", " ").split()
    if len(words) == 1 and YEAR.fullmatch(words[0]):
        year = int(words[0])
        since, until = date(year, 1, 1), min(date(year, 12, 31), today)
    elif len(words) == 2 and all(w.isascii() for w in words):
        since, until = _day(words[0]), _day(words[1])
    else:
        raise Refuse("certificate.usage")
    if not date(2000, 1, 1) <= since <= until <= today:
        raise Refuse("certificate.usage")
    return since, until


def day_number(day: date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def from_number(number: int) -> date:
    try:
        return date(number // 10_000, number // 100 % 100, number % 100)
    except ValueError:
        raise Refuse("err.stale") from None


class Certificates(Recording):
    async def held(self, s: AsyncSession, expert_id: int, since: date, until: date) -> list[Gig]:
        """The gigs held in the period that the expert did (not a no-show, not stepped back)."""
        tz = self.settings.tz
        start = datetime(since.year, since.month, since.day, tzinfo=tz)
        end = datetime(until.year, until.month, until.day, tzinfo=tz) + timedelta(days=1)
        rows = await s.scalars(
            select(Gig)
            .join(Offer, Offer.gig_id == Gig.id)
            .where(
                Offer.expert_id == expert_id,
                Offer.status == OfferStatus.ACCEPTED,
                Gig.status == GigStatus.DONE,
                Gig.starts_at >= start,
                Gig.starts_at < end,
            )
            .order_by(Gig.starts_at)
        )
        return list(rows.all())

    @staticmethod
    def _period(since: date, until: date) -> str:
        return f"{day_number(since)}-{day_number(until)}"

    async def request(self, s: AsyncSession, actor: Actor, since: date, until: date) -> int:
        """Ask the coordinators to approve a certificate; how many gigs it will show."""
        gigs = await self.held(s, actor.id, since, until)
        if not gigs:
            raise Refuse("certificate.none", since=fmt_day(since), until=fmt_day(until))
        period = self._period(since, until)
        await self.audit.record(s, actor, "certificate_request", "expert", actor.id, period)
        profile = await s.get(ExpertProfile, actor.id)
        button = CertApprove(actor.id, day_number(since), day_number(until))
        await self.notify.alert(
            s,
            "register",
            "certificate.alert",
            claimable=True,
            about=actor.id,
            name=profile.display_name if profile else "–",
            id=actor.id,
            since=fmt_day(since),
            until=fmt_day(until),
            count=len(gigs),
            buttons=[[("btn.money.cert_approve", pack(button))]],
        )
        return len(gigs)

    async def _entry(
        self, s: AsyncSession, action: str, expert_id: int, period: str
    ) -> AuditLog | None:
        return await s.scalar(
            select(AuditLog)
            .where(
                AuditLog.action == action,
                AuditLog.target_type == "expert",
                AuditLog.target_id == expert_id,
                AuditLog.details == period,
            )
            .limit(1)
        )

    async def approve(self, s: AsyncSession, actor: Actor, button: CertApprove) -> str:
        """Approve one asked-for certificate and send it; returns the expert's name."""
        since, until = from_number(button.since), from_number(button.until)
        period = self._period(since, until)
        expert = await UserRepo(s).get(button.expert_id)
        profile = await s.get(ExpertProfile, button.expert_id)
        asked = await self._entry(s, "certificate_request", button.expert_id, period)
        if expert is None or profile is None or asked is None:
            raise Refuse("err.stale")
        done = await self._entry(s, "certificate_approve", button.expert_id, period)
        if done is not None:
            raise Refuse("certificate.already", by=done.actor_name or "–")
        await self.audit.record(s, actor, "certificate_approve", "expert", expert.id, period)
        gigs = await self.held(s, expert.id, since, until)
        approver = actor.user.name if actor.user else "–"
        lang = expert.language
        pdf = self.pdf(profile.display_name, gigs, (since, until), approver, lang)
        await self.notify.push_document(
            s,
            expert,
            self.p.t(lang, "certificate.file", since=day_number(since), until=day_number(until)),
            pdf,
            caption=self.p.t(lang, "certificate.sent", since=fmt_day(since), until=fmt_day(until)),
        )
        return profile.display_name

    def pdf(
        self, name: str, gigs: list[Gig], period: tuple[date, date], approver: str, lang: str
    ) -> bytes:
        t, p = self.p.t, self.p
        centre = self.settings.centre_name
        since, until = (fmt_day(d) for d in period)
        paper = Paper(t(lang, "certificate.title"), t(lang, "certificate.footer", centre=centre))
        paper.pairs(
            [
                (t(lang, "papers.l_name"), name),
                (t(lang, "papers.l_centre"), centre),
                (t(lang, "certificate.l_period"), f"{since}–{until}"),
            ]
        )
        paper.gap()
        paper.line(t(lang, "certificate.body", name=name, since=since, until=until))
        counts = Counter(g.gig_type for g in gigs)
        minutes = Counter[str]()
        for gig in gigs:
            minutes[gig.gig_type] += gig.duration_min
        rows = [
            [p.label(lang, "gig_type", kind), str(count), p.hours(lang, minutes[kind])]
            for kind, count in counts.most_common()
        ]
        rows.append([t(lang, "papers.k_all"), str(len(gigs)), p.hours(lang, sum(minutes.values()))])
        paper.heading(t(lang, "certificate.h_gigs"))
        columns = [
            Column(t(lang, "papers.c_gig"), 0.6),
            Column(t(lang, "certificate.c_count"), 0.2, "R"),
            Column(t(lang, "papers.c_hours"), 0.2, "R"),
        ]
        paper.table(columns, rows, total=True)
        paper.gap()
        when = fmt_date(self.clock.now(), self.settings.tz)
        paper.line(t(lang, "certificate.approved", by=approver, date=when), bold=True)
        return paper.bytes()
