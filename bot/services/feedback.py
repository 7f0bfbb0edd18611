"""Post-event feedback that is anonymous for real.

Audience answers carry no Telegram id, name, chat id or time. One answer per person is kept
with an HMAC of the person's id under a per-round secret; when the round closes the secret and
every hash are destroyed, and the answers are rewritten under fresh random keys, so not even
the database owner can join an answer back to a person or to the order people answered in.

The release rule, so that no answer can be read by comparing two views ("differencing"):
- nothing but the number of answers is shown while a round is open;
- when a round closes, all its answers are released at once if there are at least K;
- closed rounds with fewer than K answers are pooled in the order they closed: consecutive
  small rounds form a batch as soon as together they have at least K answers, and only whole
  batches are shown. Closed answers never change and batches never regroup, so any two views
  of the same scope differ by whole rounds or whole batches, each of at least K answers.
Reports use the same rounds and the batches formed over all gigs (see `released`).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import segno
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import OrdererRating, pack
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
from storage.repo import CheckInRepo, UserRepo

TOKEN_PREFIX = "fb_"
OPEN_WINDOW = timedelta(days=2)


@dataclass
class Summary:
    """What may be shown of a set of answers."""

    count: int
    shown: bool  # released: the figures and texts below may be shown
    average: float | None = None
    distribution: dict[int, int] = field(default_factory=dict)
    stayed: list[str] = field(default_factory=list)
    better: list[str] = field(default_factory=list)
    open_until: datetime | None = None  # one round still open: nothing but the count yet
    exists: bool = True  # false: the gig has no round yet (its link has not been sent)


@dataclass
class Released:
    """What one scope (a set of gigs) may show: rounds on their own, whole pooled batches,
    and how many answers wait (in open rounds, or small closed rounds not yet a batch)."""

    per: dict[int, Summary]
    pooled: Summary
    pooled_gigs: list[int]
    waiting: int


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
                anonymous=not gig.feedback_named,
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
        orderer = await UserRepo(s).get(gig.orderer_id)
        if orderer is None:
            return
        lang = orderer.language
        url = self.link(bot_username, rnd.token)
        await self.notify.push(
            s,
            orderer,
            "feedback.link" if rnd.anonymous else "feedback.link_named",
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
            buttons=[[(f"={n}", pack(OrdererRating("g", n, gig.id))) for n in range(1, 6)]],
        )

    async def close_due(self, s: AsyncSession) -> int:
        """Close rounds whose time is up: the secret and every hash are destroyed, and the
        answers are rewritten under fresh random keys in the order of those keys."""
        now = self.clock.now()
        rounds = (
            await s.scalars(
                select(FeedbackRound)
                .where(FeedbackRound.closed.is_(False), FeedbackRound.closes_at <= now)
                .order_by(FeedbackRound.closes_at, FeedbackRound.id)
            )
        ).all()
        for rnd in rounds:
            rnd.closed, rnd.secret = True, None
            await self._reshuffle(s, rnd)
        return len(rounds)

    async def _reshuffle(self, s: AsyncSession, rnd: FeedbackRound) -> None:
        """Delete and re-insert the round's answers, hashless, under new random keys: on
        SQLite the rowid and the page layout, on PostgreSQL the tuple order and xmin, then
        follow the keys, not arrival (the old versions are wiped as docs/operations.md says)."""
        rows = (
            await s.scalars(select(FeedbackAnswer).where(FeedbackAnswer.round_id == rnd.id))
        ).all()
        kept = [(r.usefulness, r.stayed, r.better, r.step, r.respondent) for r in rows]
        for row in rows:
            s.expunge(row)
        await s.execute(delete(FeedbackAnswer).where(FeedbackAnswer.round_id == rnd.id))
        fresh = sorted((new_key(), *k) for k in kept)
        for key, usefulness, stayed, better, step, respondent in fresh:
            s.add(
                FeedbackAnswer(
                    id=key,
                    round_id=rnd.id,
                    person_hash=None,
                    usefulness=usefulness,
                    stayed=stayed,
                    better=better,
                    step=step,
                    respondent=respondent,
                )
            )
            await s.flush()  # one at a time, in key order

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
        """Record (or replace) this person's usefulness score; true if it replaced one. The
        score counts from this tap on; the optional questions only amend the same answer."""
        if not 1 <= usefulness <= 5:
            raise Refuse("err.stale")
        row = await self.existing(s, rnd, telegram_id)
        replaced = row is not None
        if row is None:
            row = FeedbackAnswer(
                id=new_key(),
                round_id=rnd.id,
                person_hash=self._hash(rnd, telegram_id),
                usefulness=usefulness,
                stayed="",
                better="",
            )
            s.add(row)
        row.usefulness, row.step = usefulness, "stayed"
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

    async def set_named(self, s: AsyncSession, gig_id: int, named: bool) -> Gig:
        """Named or anonymous can be chosen only before the link is sent (the round opens and
        the link goes out together when the gig ends): the link's words must stay true."""
        gig = await s.get(Gig, gig_id)
        if gig is None:
            raise Refuse("err.gig_not_found")
        if await self.round_of(s, gig_id) is not None:
            raise Refuse("feedback.anonymity_locked")
        gig.feedback_named = named
        return gig

    async def round_count(self, s: AsyncSession) -> int:
        return await s.scalar(select(func.count()).select_from(FeedbackRound)) or 0

    async def round_of(self, s: AsyncSession, gig_id: int) -> FeedbackRound | None:
        return await s.scalar(select(FeedbackRound).where(FeedbackRound.gig_id == gig_id))

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

    def summarise(self, answers: Sequence[FeedbackAnswer]) -> Summary:
        """The figures and texts of answers that may be released together."""
        dist = {n: 0 for n in range(1, 6)}
        for a in answers:
            dist[a.usefulness] += 1
        return Summary(
            count=len(answers),
            shown=True,
            average=round(sum(a.usefulness for a in answers) / len(answers), 2),
            distribution=dist,
            # Sorted, so the order of free texts says nothing about who wrote when.
            stayed=sorted(_said(a, a.stayed) for a in answers if a.stayed),
            better=sorted(_said(a, a.better) for a in answers if a.better),
        )

    async def _answers(
        self, s: AsyncSession, round_ids: list[int]
    ) -> dict[int, list[FeedbackAnswer]]:
        """Every answer with a score (the optional texts need not be finished), by round."""
        out: dict[int, list[FeedbackAnswer]] = {r: [] for r in round_ids}
        for chunk in _chunks(round_ids):
            rows = await s.scalars(
                select(FeedbackAnswer)
                .where(FeedbackAnswer.round_id.in_(chunk))
                .order_by(FeedbackAnswer.id)
            )
            for a in rows.all():
                out[a.round_id].append(a)
        return out

    async def _rounds(self, s: AsyncSession, gig_ids: list[int] | None) -> list[FeedbackRound]:
        """Rounds of these gigs (None: all), in the order they closed (open ones last)."""
        query = select(FeedbackRound).order_by(FeedbackRound.closes_at, FeedbackRound.id)
        if gig_ids is None:
            return list((await s.scalars(query)).all())
        out: list[FeedbackRound] = []
        for chunk in _chunks(gig_ids):
            out += (await s.scalars(query.where(FeedbackRound.gig_id.in_(chunk)))).all()
        return sorted(out, key=lambda r: (r.closes_at, r.id))

    async def for_gig(self, s: AsyncSession, gig_id: int) -> Summary:
        rnd = await self.round_of(s, gig_id)
        if rnd is None:
            return Summary(0, False, exists=False)
        answers = (await self._answers(s, [rnd.id]))[rnd.id]
        if not rnd.closed:
            return Summary(len(answers), False, open_until=rnd.closes_at)
        if len(answers) < self.k:
            return Summary(len(answers), False)
        return self.summarise(answers)

    async def released(self, s: AsyncSession, gig_ids: list[int] | None) -> Released:
        """What the scope `gig_ids` (None: every gig) may show, by the release rule above."""
        rounds = await self._rounds(s, gig_ids)
        answers = await self._answers(s, [r.id for r in rounds])
        per = {
            r.gig_id: self.summarise(answers[r.id])
            for r in rounds
            if r.closed and len(answers[r.id]) >= self.k
        }
        batches, tail = self._batches(rounds, answers)
        pooled = [a for batch, _ in batches for a in batch]
        waiting = tail + sum(len(answers[r.id]) for r in rounds if not r.closed)
        return Released(
            per,
            self.summarise(pooled) if pooled else Summary(0, False),
            [g for _, gigs in batches for g in gigs],
            waiting,
        )

    async def in_report(self, s: AsyncSession, gig_ids: list[int]) -> Released:
        """For a report over some gigs: their rounds released on their own, and the batches
        formed over *all* gigs that lie wholly among them. Batches are formed once, over
        everything, so reports over different periods differ by whole batches too."""
        rounds = await self._rounds(s, None)
        answers = await self._answers(s, [r.id for r in rounds])
        wanted = set(gig_ids)
        per = {
            r.gig_id: self.summarise(answers[r.id])
            for r in rounds
            if r.gig_id in wanted and r.closed and len(answers[r.id]) >= self.k
        }
        batches, _ = self._batches(rounds, answers)
        kept = [(batch, gigs) for batch, gigs in batches if wanted.issuperset(gigs)]
        pooled = [a for batch, _ in kept for a in batch]
        return Released(
            per,
            self.summarise(pooled) if pooled else Summary(0, False),
            [g for _, gigs in kept for g in gigs],
            0,
        )

    def _batches(
        self, rounds: list[FeedbackRound], answers: dict[int, list[FeedbackAnswer]]
    ) -> tuple[list[tuple[list[FeedbackAnswer], list[int]]], int]:
        """Closed rounds with fewer than K answers, in closing order, cut into consecutive
        batches of at least K answers; returns the whole batches and how many answers wait
        in the unfinished last one."""
        batches: list[tuple[list[FeedbackAnswer], list[int]]] = []
        batch: list[FeedbackAnswer] = []
        gigs: list[int] = []
        for rnd in rounds:
            mine = answers[rnd.id]
            if not rnd.closed or not mine or len(mine) >= self.k:
                continue
            batch, gigs = batch + mine, [*gigs, rnd.gig_id]
            if len(batch) >= self.k:
                batches.append((batch, gigs))
                batch, gigs = [], []
        return batches, len(batch)

    # ----- the orderer's own results ----------------------------------------------------------

    async def orderer_gig_ids(self, s: AsyncSession, user_id: int) -> list[int]:
        rows = await s.scalars(select(Gig.id).where(Gig.orderer_id == user_id))
        return list(rows.all())

    async def orderer_has_rounds(self, s: AsyncSession, user_id: int) -> bool:
        """Whether any of this orderer's gigs has had a feedback link (shown or not)."""
        found = await s.scalar(
            select(FeedbackRound.id)
            .join(Gig, Gig.id == FeedbackRound.gig_id)
            .where(Gig.orderer_id == user_id)
            .limit(1)
        )
        return found is not None

    async def for_orderer(self, s: AsyncSession, user_id: int) -> Released:
        """What an orderer may see: their own gigs, by the same release rule as everyone's
        (rounds of at least K on their own, whole pooled batches of their small rounds)."""
        return await self.released(s, await self.orderer_gig_ids(s, user_id))

    async def tell_orderers(self, s: AsyncSession) -> int:
        """Send each orderer the results released since they were last told: a round that
        closed with at least K answers, or a whole pooled batch of their small rounds.
        Returns how many rounds were settled."""
        rounds = (
            await s.scalars(
                select(FeedbackRound)
                .where(FeedbackRound.closed.is_(True), FeedbackRound.orderer_told.is_(False))
                .order_by(FeedbackRound.closes_at, FeedbackRound.id)
            )
        ).all()
        by_orderer: dict[int, list[FeedbackRound]] = {}
        for rnd in rounds:
            gig = await s.get(Gig, rnd.gig_id)
            if gig is not None:
                by_orderer.setdefault(gig.orderer_id, []).append(rnd)
        settled = 0
        for orderer_id, mine in by_orderer.items():
            settled += await self._tell_orderer(s, orderer_id, mine)
        return settled

    async def _tell_orderer(
        self, s: AsyncSession, orderer_id: int, rounds: list[FeedbackRound]
    ) -> int:
        released = await self.for_orderer(s, orderer_id)
        counts = {r: len(a) for r, a in (await self._answers(s, [r.id for r in rounds])).items()}
        orderer = await UserRepo(s).get(orderer_id)
        settled, pooled = 0, False
        for rnd in rounds:
            if rnd.gig_id in released.per and orderer is not None:
                gig = await s.get(Gig, rnd.gig_id)
                assert gig is not None
                lang = orderer.language
                body = self.render(lang, released.per[rnd.gig_id])
                text = self.p.t(lang, "relay.fb_released", title=self.p.gig_title(lang, gig))
                await self.notify.push_text(s, orderer, f"{text}\n\n{body}")
            pooled = pooled or rnd.gig_id in released.pooled_gigs
            # Told, or never to be shown (no answers): either way not looked at again.
            done = rnd.gig_id in released.per or rnd.gig_id in released.pooled_gigs
            if done or counts[rnd.id] == 0:
                rnd.orderer_told = True
                settled += 1
        if pooled and orderer is not None:
            lang = orderer.language
            head = self.p.t(lang, "relay.fb_pooled", gigs=len(released.pooled_gigs))
            body = self.render(lang, released.pooled)
            await self.notify.push_text(s, orderer, f"{head}\n\n{body}")
        return settled

    # ----- rendering (the same for every viewer and every path) -----------------------------

    def render(self, lang: str, summary: Summary) -> str:
        """One gig's (or a pool's) results, or why they are not shown yet."""
        t = self.p.t
        if not summary.exists:
            return t(lang, "feedback.no_round")
        if summary.open_until is not None:
            until = self.p.when(lang, summary.open_until)
            return t(lang, "feedback.open", count=summary.count, until=until)
        if not summary.shown:
            return t(lang, "feedback.too_few", count=summary.count, k=self.k)
        dist = " · ".join(f"{n}: {c}" for n, c in summary.distribution.items())
        average = self.p.num(lang, summary.average or 0)
        lines = [t(lang, "feedback.result", count=summary.count, average=average, dist=dist)]
        for header, texts in (("stayed", summary.stayed), ("better", summary.better)):
            if texts:
                listed = "\n".join(f"• {x}" for x in texts)
                lines.append(t(lang, f"feedback.{header}_header") + "\n" + listed)
        return "\n\n".join(lines)

    async def render_all(self, s: AsyncSession, lang: str, header: str, released: Released) -> str:
        """Every gig released on its own, the whole pooled batches, and what still waits."""
        parts = [header]
        for gig_id, summary in released.per.items():
            gig = await s.get(Gig, gig_id)
            if gig is not None:
                parts.append(self.p.gig_title(lang, gig) + "\n" + self.render(lang, summary))
        if released.pooled.shown:
            head = self.p.t(lang, "feedback.pooled_header", gigs=len(released.pooled_gigs))
            parts.append(head + "\n" + self.render(lang, released.pooled))
        if released.waiting or not (released.per or released.pooled.shown):
            parts.append(self.p.t(lang, "feedback.waiting", count=released.waiting, k=self.k))
        return "\n\n".join(parts)

    async def expert_gig_ids(self, s: AsyncSession, user_id: int) -> list[int]:
        rows = await s.scalars(
            select(Offer.gig_id).where(
                Offer.expert_id == user_id, Offer.status == OfferStatus.ACCEPTED
            )
        )
        return list(rows.all())

    async def alert_low(self, s: AsyncSession) -> None:
        """A round released with a very low average: tell the coordinators once."""
        rounds = (
            await s.scalars(
                select(FeedbackRound).where(
                    FeedbackRound.low_alerted.is_(False), FeedbackRound.closed.is_(True)
                )
            )
        ).all()
        for rnd in rounds:
            rnd.low_alerted = True  # looked at once, when it closed
            summary = await self.for_gig(s, rnd.gig_id)
            if (
                summary.shown
                and summary.average is not None
                and (summary.average < self.settings.feedback_alert_below)
            ):
                gig = await s.get(Gig, rnd.gig_id)
                await self.notify.alert(
                    s,
                    "feedback",
                    "feedback.low_alert",
                    claimable=True,
                    count=summary.count,
                    per_lang=self.p.title_args(gig, average=summary.average or 0),
                )

    async def gig_views(self, s: AsyncSession, gig_id: int) -> GigViews:
        """What the orderer said (named) and the experts' debrief ratings, for coordinators."""
        orderer = await s.scalar(select(OrdererFeedback).where(OrdererFeedback.gig_id == gig_id))
        debriefs = await CheckInRepo(s).debriefs_on(gig_id)
        treated = [r.orderer_rating for r in debriefs if r.orderer_rating]
        prepared = [r.preparation_rating for r in debriefs if r.preparation_rating]
        return GigViews(
            orderer,
            sum(treated) / len(treated) if treated else None,
            sum(prepared) / len(prepared) if prepared else None,
            max(len(treated), len(prepared)),
        )


@dataclass(frozen=True)
class GigViews:
    """The orderer's rating of a gig, and the average of how experts felt treated by the
    orderer and how well the gig was prepared (None: nobody rated it), over `count` experts."""

    orderer: OrdererFeedback | None
    treated: float | None
    prepared: float | None
    count: int


def new_key() -> str:
    """A random answer key: it says nothing about when the answer came."""
    return uuid.uuid4().hex


def _said(answer: FeedbackAnswer, text: str) -> str:
    """A free text, with the respondent's first name on a named round."""
    return f"{text} – {answer.respondent}" if answer.respondent else text


def _chunks(ids: list[int], size: int = 1000) -> list[list[int]]:
    """IN lists stay far below PostgreSQL's limit of bound parameters."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]
