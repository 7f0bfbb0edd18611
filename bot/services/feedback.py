"""Post-event feedback that is anonymous for real.

Audience answers carry no Telegram id, name, chat id or time of day. One answer per person
is kept with an HMAC of the person's id under a per-round secret; when the round closes the
secret and every hash are destroyed, so not even the database owner can join an answer back
to a person. Results show only once enough answers exist.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

import segno
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import Refuse
from bot.notify import Notifier
from bot.present import Presenter
from bot.settings import Settings
from storage.models import (
    FeedbackAnswer,
    FeedbackRound,
    Gig,
    GigStatus,
    Offer,
    OfferStatus,
    OrdererFeedback,
    User,
)
from storage.repo import Users

TOKEN_PREFIX = "fb_"
OPEN_WINDOW = timedelta(days=2)


@dataclass
class Summary:
    """What may be shown of a set of answers."""

    count: int
    shown: bool  # enough answers to show anything
    average: float | None = None
    distribution: dict[int, int] = field(default_factory=dict)
    stayed: list[str] = field(default_factory=list)
    better: list[str] = field(default_factory=list)
    days: list[str] = field(default_factory=list)


class Feedback:
    def __init__(
        self, presenter: Presenter, notifier: Notifier, clock: Clock, settings: Settings
    ) -> None:
        self.p = presenter
        self.notify = notifier
        self.clock = clock
        self.settings = settings

    @property
    def k(self) -> int:
        return max(3, self.settings.feedback_min_answers)

    # ----- opening and closing rounds -------------------------------------------------------

    async def open_due(self, s: AsyncSession, bot_username: str) -> int:
        """Open a round for every gig that has ended, and send the orderer the link."""
        now = self.clock.now()
        ended = (
            await s.scalars(
                select(Gig)
                .where(
                    Gig.status.in_(GigStatus.HAPPENING),
                    Gig.starts_at < now,
                    Gig.seats_filled > 0,
                    # Only gigs that just ended: old ones never get a late link.
                    Gig.starts_at > now - OPEN_WINDOW,
                    ~Gig.id.in_(select(FeedbackRound.gig_id)),
                )
                .order_by(Gig.starts_at)
            )
        ).all()
        opened = 0
        for gig in ended:
            if gig.starts_at + timedelta(minutes=gig.duration_min) > now:
                continue
            rnd = FeedbackRound(
                gig_id=gig.id,
                token=secrets.token_urlsafe(16),
                secret=secrets.token_hex(32),
                anonymous=True,
                opens_at=now,
                closes_at=now + timedelta(days=self.settings.feedback_days),
                closed=False,
                low_alerted=False,
            )
            s.add(rnd)
            await s.flush()
            await self._send_link(s, gig, rnd, bot_username)
            opened += 1
        return opened

    def link(self, bot_username: str, token: str) -> str:
        return f"https://t.me/{bot_username}?start={TOKEN_PREFIX}{token}"

    def qr_png(self, url: str) -> bytes:
        out = io.BytesIO()
        segno.make(url, error="m").save(out, kind="png", scale=10, border=4)
        return out.getvalue()

    async def _send_link(
        self, s: AsyncSession, gig: Gig, rnd: FeedbackRound, bot_username: str
    ) -> None:
        orderer = await Users(s).get(gig.orderer_id)
        if orderer is None:
            return
        lang = orderer.language
        url = self.link(bot_username, rnd.token)
        await self.notify.push(
            s,
            orderer,
            "feedback.link",
            title=self.p.gig_title(lang, gig),
            link=url,
            until=self.p.when(lang, rnd.closes_at),
        )
        await self.notify.push_photo(
            s,
            orderer,
            self.qr_png(url),
            filename=self.p.filename(lang, "qr", id=gig.id),
            caption=self.p.t(
                lang,
                "feedback.qr_caption",
                title=self.p.gig_title(lang, gig),
                organisation=gig.organisation,
                until=self.p.when(lang, rnd.closes_at),
            ),
        )
        await self.notify.push(
            s,
            orderer,
            "feedback.orderer_ask",
            title=self.p.gig_title(lang, gig),
            buttons=[[(f"={n}", f"ob:g{n}:{gig.id}") for n in range(1, 6)]],
        )

    async def close_due(self, s: AsyncSession) -> int:
        """Close rounds whose time is up: the secret and every hash are destroyed."""
        now = self.clock.now()
        rounds = (
            await s.scalars(
                select(FeedbackRound).where(
                    FeedbackRound.closed.is_(False), FeedbackRound.closes_at <= now
                )
            )
        ).all()
        for rnd in rounds:
            rnd.closed, rnd.secret = True, None
            await s.execute(
                update(FeedbackAnswer)
                .where(FeedbackAnswer.round_id == rnd.id)
                .values(person_hash=None)
            )
        return len(rounds)

    # ----- answering (the audience) ----------------------------------------------------------

    async def round_by_token(self, s: AsyncSession, token: str) -> FeedbackRound | None:
        if not 10 <= len(token) <= 40:
            return None
        rnd = await s.scalar(select(FeedbackRound).where(FeedbackRound.token == token))
        if rnd is None or rnd.closed or rnd.closes_at <= self.clock.now():
            return None
        return rnd

    def _hash(self, rnd: FeedbackRound, telegram_id: int) -> str:
        assert rnd.secret is not None
        return hmac.new(
            bytes.fromhex(rnd.secret), str(telegram_id).encode(), hashlib.sha256
        ).hexdigest()

    async def existing(
        self, s: AsyncSession, rnd: FeedbackRound, telegram_id: int
    ) -> FeedbackAnswer | None:
        return await s.scalar(
            select(FeedbackAnswer).where(
                FeedbackAnswer.round_id == rnd.id,
                FeedbackAnswer.person_hash == self._hash(rnd, telegram_id),
            )
        )

    async def rate(
        self, s: AsyncSession, rnd: FeedbackRound, telegram_id: int, usefulness: int, name: str
    ) -> bool:
        """Record (or replace) this person's usefulness score; true if it replaced one."""
        if not 1 <= usefulness <= 5:
            raise Refuse("err.stale")
        row = await self.existing(s, rnd, telegram_id)
        replaced = row is not None
        if row is None:
            row = FeedbackAnswer(
                round_id=rnd.id,
                person_hash=self._hash(rnd, telegram_id),
                usefulness=usefulness,
                stayed="",
                better="",
            )
            s.add(row)
        row.usefulness, row.step = usefulness, "stayed"
        row.answered_on = self.clock.now().astimezone(self.settings.tz).date()
        row.respondent = "" if rnd.anonymous else name[:100]
        await s.flush()
        return replaced

    async def in_progress(
        self, s: AsyncSession, telegram_id: int
    ) -> tuple[FeedbackRound, FeedbackAnswer] | None:
        """The open round where this person has a question still to answer, found by
        recomputing the keyed hash for each open round (nothing maps people to rounds)."""
        now = self.clock.now()
        rounds = (
            await s.scalars(
                select(FeedbackRound).where(
                    FeedbackRound.closed.is_(False),
                    FeedbackRound.closes_at > now,
                    FeedbackRound.secret.is_not(None),
                )
            )
        ).all()
        for rnd in rounds:
            row = await self.existing(s, rnd, telegram_id)
            if row is not None and row.step in ("stayed", "better"):
                return rnd, row
        return None

    async def write(self, s: AsyncSession, row: FeedbackAnswer, text: str | None) -> str:
        """Answer the current free-text question (None: skipped); returns the next step."""
        if row.step == "stayed":
            row.stayed, row.step = text or "", "better"
        elif row.step == "better":
            row.better, row.step = text or "", "done"
        return row.step

    async def set_named(self, s: AsyncSession, gig_id: int, named: bool) -> FeedbackRound:
        """Anonymity may be changed only before the first answer exists."""
        rnd = await s.scalar(select(FeedbackRound).where(FeedbackRound.gig_id == gig_id))
        if rnd is None:
            raise Refuse("feedback.no_round")
        count = await s.scalar(
            select(func.count())
            .select_from(FeedbackAnswer)
            .where(FeedbackAnswer.round_id == rnd.id)
        )
        if count:
            raise Refuse("feedback.anonymity_locked")
        rnd.anonymous = not named
        return rnd

    # ----- the orderer's own rating ------------------------------------------------------------

    async def orderer_rate(
        self,
        s: AsyncSession,
        user: User,
        gig_id: int,
        field_: str,
        value: int | None,
        text: str | None = None,
    ) -> OrdererFeedback:
        gig = await s.get(Gig, gig_id)
        if gig is None or gig.orderer_id != user.id:
            raise Refuse("err.gig_not_found")
        row = await s.scalar(select(OrdererFeedback).where(OrdererFeedback.gig_id == gig_id))
        if row is None:
            row = OrdererFeedback(
                gig_id=gig_id, orderer_id=user.id, created_at=self.clock.now(), text=""
            )
            s.add(row)
        if field_ == "gig":
            row.gig_rating = value
        elif field_ == "coop":
            row.cooperation_rating = value
        elif field_ == "text":
            row.text = text or ""
        await s.flush()
        return row

    # ----- results ------------------------------------------------------------------------

    def summarise(self, answers: list[FeedbackAnswer]) -> Summary:
        if len(answers) < self.k:
            return Summary(len(answers), False)
        dist = {n: 0 for n in range(1, 6)}
        for a in answers:
            dist[a.usefulness] += 1
        return Summary(
            count=len(answers),
            shown=True,
            average=round(sum(a.usefulness for a in answers) / len(answers), 2),
            distribution=dist,
            # Shuffled by sorting: the order of free texts must not reveal who wrote when.
            stayed=sorted(a.stayed for a in answers if a.stayed),
            better=sorted(a.better for a in answers if a.better),
            days=sorted(
                {f"{a.answered_on.day}.{a.answered_on.month}.{a.answered_on.year}" for a in answers}
            ),
        )

    async def answers_of(
        self, s: AsyncSession, gig_ids: list[int]
    ) -> dict[int, list[FeedbackAnswer]]:
        rows = (
            await s.execute(
                select(FeedbackRound.gig_id, FeedbackAnswer)
                .join(FeedbackAnswer, FeedbackAnswer.round_id == FeedbackRound.id)
                .where(FeedbackRound.gig_id.in_(gig_ids), FeedbackAnswer.step == "done")
            )
        ).all()
        out: dict[int, list[FeedbackAnswer]] = {g: [] for g in gig_ids}
        for gig_id, answer in rows:
            out[gig_id].append(answer)
        return out

    async def for_gig(self, s: AsyncSession, gig_id: int) -> Summary:
        return self.summarise((await self.answers_of(s, [gig_id]))[gig_id])

    async def for_gigs(
        self, s: AsyncSession, gig_ids: list[int]
    ) -> tuple[dict[int, Summary], Summary]:
        """Per gig where enough answers exist; the rest only pooled together."""
        by_gig = await self.answers_of(s, gig_ids)
        per = {g: self.summarise(a) for g, a in by_gig.items() if len(a) >= self.k}
        rest = [a for g, answers in by_gig.items() if g not in per for a in answers]
        return per, self.summarise(rest)

    async def expert_gig_ids(self, s: AsyncSession, user_id: int) -> list[int]:
        rows = await s.scalars(
            select(Offer.gig_id).where(
                Offer.expert_id == user_id, Offer.status == OfferStatus.ACCEPTED
            )
        )
        return list(rows.all())

    async def alert_low(self, s: AsyncSession) -> None:
        """A round with enough answers and a very low average: tell the coordinators once."""
        rounds = (
            await s.scalars(select(FeedbackRound).where(FeedbackRound.low_alerted.is_(False)))
        ).all()
        for rnd in rounds:
            summary = await self.for_gig(s, rnd.gig_id)
            if (
                summary.shown
                and summary.average is not None
                and (summary.average < self.settings.feedback_alert_below)
            ):
                rnd.low_alerted = True
                gig = await s.get(Gig, rnd.gig_id)
                await self.notify.alert(
                    s,
                    "feedback",
                    "feedback.low_alert",
                    claimable=True,
                    count=summary.count,
                    per_lang=self.p.title_args(gig, average=summary.average or 0),
                )
