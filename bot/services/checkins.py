"""Support around every gig and between gigs: preparation, the day's reminder, the debrief,
keeping in touch, and the coordinators' morning digest.

The schedule is the `checkins` table. One periodic job reads what is due, so a restart or a
day of downtime sends each due item once, in order, and drops what is no longer relevant.
Quiet hours hold pushes until the morning (the outbox keeps their order).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import calendar, vevent
from bot.callbacks import (
    AlertTag,
    Coming,
    DebriefScore,
    DebriefWith,
    KeepInTouch,
    PersonAction,
    Prep,
    pack,
)
from bot.clock import Clock
from bot.notify import HTML, Notifier
from bot.present import Presenter, gig_values
from bot.services.access import Actor
from bot.settings import Settings
from storage.models import (
    Alert,
    CheckIn,
    CheckInKind,
    CheckInStatus,
    ExpertProfile,
    ExpertStatus,
    Gig,
    GigStatus,
    Offer,
    OfferStatus,
    PrepCall,
    User,
)
from storage.repo import UserRepo

log = logging.getLogger(__name__)

# Check-ins per transaction when a backlog is sent: about 3 ms each on SQLite (bench.checkins),
# so the write lock is held for a fraction of a second, not the 1.7 s of 500 at once.
TICK_BATCH = 50
UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]
DEBRIEF_STALE = timedelta(days=7)
ANSWER_WAIT = timedelta(hours=24)
LOW_SCORE = 2


def wall_shift(moment: datetime, delta: timedelta, tz: ZoneInfo) -> datetime:
    """`moment` moved by `delta` on the local wall clock, so "48 h before a 10.00 gig" is
    10.00 two days earlier even across a daylight-saving change."""
    local = moment.astimezone(tz).replace(tzinfo=None) + delta
    return local.replace(tzinfo=tz).astimezone(moment.tzinfo)


@dataclass(frozen=True)
class _Digest:
    """What the coordinators' morning digest lists."""

    todays: Sequence[Gig]
    unanswered: Sequence[Row[CheckIn, str]]
    short: Sequence[Gig]
    contracts: Sequence[ExpertProfile]


async def _gigs_between(s: AsyncSession, start: datetime, end: datetime) -> Sequence[Gig]:
    """Gigs still happening that start in [start, end), earliest first."""
    return (
        await s.scalars(
            select(Gig)
            .where(
                Gig.starts_at >= start,
                Gig.starts_at < end,
                Gig.status.in_(GigStatus.HAPPENING),
            )
            .order_by(Gig.starts_at)
        )
    ).all()


async def _short_of_experts(s: AsyncSession, now: datetime) -> Sequence[Gig]:
    """Open gigs in the next two weeks, earliest first."""
    return (
        await s.scalars(
            select(Gig)
            .where(
                Gig.status == GigStatus.OPEN,
                Gig.starts_at > now,
                Gig.starts_at < now + timedelta(days=14),
            )
            .order_by(Gig.starts_at)
        )
    ).all()


async def _unanswered(s: AsyncSession, now: datetime) -> Sequence[Row[CheckIn, str]]:
    """Questions sent and not answered, with the expert's name, oldest first."""
    return (
        await s.execute(
            select(CheckIn, ExpertProfile.display_name)
            .join(ExpertProfile, ExpertProfile.user_id == CheckIn.expert_id)
            .where(
                CheckIn.status == CheckInStatus.SENT,
                CheckIn.kind != CheckInKind.REMINDER,
                # Only what someone can still act on: the last week's questions.
                CheckIn.sent_at >= now - timedelta(days=7),
            )
            .order_by(CheckIn.sent_at)
        )
    ).all()


async def _contracts_ending(s: AsyncSession, today: date) -> Sequence[ExpertProfile]:
    """Active experts whose contract ends within 30 days, soonest first."""
    return (
        await s.scalars(
            select(ExpertProfile)
            .join(User, User.id == ExpertProfile.user_id)
            .where(
                User.active.is_(True),
                ExpertProfile.status == ExpertStatus.APPROVED,
                ExpertProfile.contract_until.is_not(None),
                ExpertProfile.contract_until <= today + timedelta(days=30),
            )
            .order_by(ExpertProfile.contract_until)
        )
    ).all()


async def _available_experts(s: AsyncSession) -> Sequence[Row[User, ExpertProfile]]:
    """Approved, active, reachable experts who are not on a pause."""
    return (
        await s.execute(
            select(User, ExpertProfile)
            .join(ExpertProfile, ExpertProfile.user_id == User.id)
            .where(
                User.active.is_(True),
                User.telegram_id.is_not(None),
                ExpertProfile.status == ExpertStatus.APPROVED,
                ExpertProfile.paused_until.is_(None),
            )
        )
    ).all()


async def _last_gig(s: AsyncSession, expert_ids: list[int]) -> dict[int, datetime]:
    """When each expert's latest accepted gig starts (or started)."""
    rows = await s.execute(
        select(Offer.expert_id, func.max(Gig.starts_at))
        .join(Gig, Gig.id == Offer.gig_id)
        .where(Offer.expert_id.in_(expert_ids), Offer.status == OfferStatus.ACCEPTED)
        .group_by(Offer.expert_id)
    )
    return {expert_id: at for expert_id, at in rows.all()}


async def _last_kept_in_touch(s: AsyncSession, expert_ids: list[int]) -> dict[int, datetime]:
    """When each expert's latest keep-in-touch check-in was due."""
    rows = await s.execute(
        select(CheckIn.expert_id, func.max(CheckIn.due_at))
        .where(CheckIn.expert_id.in_(expert_ids), CheckIn.kind == CheckInKind.KEEP_IN_TOUCH)
        .group_by(CheckIn.expert_id)
    )
    return {expert_id: at for expert_id, at in rows.all()}


class CheckIns:
    def __init__(
        self, presenter: Presenter, notifier: Notifier, clock: Clock, settings: Settings
    ) -> None:
        self.p = presenter
        self.notify = notifier
        self.clock = clock
        self.settings = settings
        self.tz = settings.tz

    # ----- when ---------------------------------------------------------------------------

    def due_times(self, gig: Gig) -> dict[CheckInKind, datetime]:
        tz = self.tz
        prep_hours = gig.prep_hours or self.settings.prep_hours_before
        prep = wall_shift(gig.starts_at, -timedelta(hours=prep_hours), tz)
        reminder = wall_shift(
            gig.starts_at, -timedelta(hours=self.settings.reminder_hours_before), tz
        )
        local_reminder = reminder.astimezone(tz)
        morning = datetime.combine(
            local_reminder.date(), time(self.settings.quiet_hours_end), tzinfo=tz
        )
        if local_reminder < morning:
            # Not before the morning; if the gig starts before that, the evening before.
            reminder = (
                morning if morning < gig.starts_at.astimezone(tz) else morning - timedelta(hours=12)
            ).astimezone(gig.starts_at.tzinfo)
        end = gig.starts_at + timedelta(minutes=gig.duration_min)
        debrief = wall_shift(end, timedelta(hours=self.settings.debrief_hours_after), tz)
        coming = wall_shift(gig.starts_at, -timedelta(hours=self.settings.coming_hours_before), tz)
        return {
            CheckInKind.PREP: prep,
            CheckInKind.COMING: coming,
            CheckInKind.REMINDER: reminder,
            CheckInKind.DEBRIEF: debrief,
        }

    # ----- keeping the schedule in step with the gig ----------------------------------------

    async def sync_gig(self, s: AsyncSession, gig: Gig) -> None:
        """Make the gig's check-ins match it: one set per confirmed expert, at the right
        times; none for anyone else, and none at all for a cancelled gig."""
        now = self.clock.now()
        offers = (await s.scalars(select(Offer).where(Offer.gig_id == gig.id))).all()
        existing = (await s.scalars(select(CheckIn).where(CheckIn.gig_id == gig.id))).all()
        by_key = {(c.kind, c.offer_id): c for c in existing}
        live = gig.status in GigStatus.HAPPENING
        due = self.due_times(gig)
        for offer in offers:
            confirmed = live and offer.status == OfferStatus.ACCEPTED
            for kind, at in due.items():
                row = by_key.get((kind, offer.id))
                if not confirmed or self._not_needed(kind, at, row, gig, now):
                    if row is not None and row.status == CheckInStatus.SCHEDULED:
                        row.status = CheckInStatus.CANCELLED
                    continue
                if row is None:
                    s.add(
                        CheckIn(
                            kind=kind,
                            expert_id=offer.expert_id,
                            gig_id=gig.id,
                            offer_id=offer.id,
                            due_at=max(at, now),
                            status=CheckInStatus.SCHEDULED,
                            created_at=now,
                        )
                    )
                elif row.status in (CheckInStatus.SCHEDULED, CheckInStatus.CANCELLED):
                    row.status, row.due_at = CheckInStatus.SCHEDULED, max(at, now)
        await s.flush()

    def _not_needed(
        self, kind: CheckInKind, at: datetime, row: CheckIn | None, gig: Gig, now: datetime
    ) -> bool:
        """Confirmed closer to the start than PREP_MIN_LEAD_HOURS, the day's reminder is
        enough; confirmed after the time of "still coming?", nobody asks it (they have just
        said yes)."""
        if kind == CheckInKind.PREP:
            return gig.starts_at - now < timedelta(hours=self.settings.prep_min_lead_hours)
        if kind == CheckInKind.COMING:
            return row is None and at < now
        return False

    async def confirmed(self, s: AsyncSession, gig: Gig, expert: User) -> None:
        """After a confirmation: the calendar file, and the check-ins."""
        await self.send_calendar(s, gig, expert)
        await self.sync_gig(s, gig)

    async def send_calendar(
        self, s: AsyncSession, gig: Gig, expert: User, cancelled: bool = False
    ) -> None:
        filename, ics = self.calendar_file(gig, expert.language, cancelled)
        await self.notify.push_document(s, expert, filename, ics)

    def calendar_file(self, gig: Gig, lang: str, cancelled: bool = False) -> tuple[str, str]:
        """The gig's calendar entry; a cancelling one withdraws it (same UID, and a SEQUENCE
        above the last one sent, so calendar apps apply it)."""
        ics = calendar([self.calendar_event(gig, lang, cancelled)], method=_method(cancelled))
        return self.p.filename(lang, "ics", id=gig.id), ics

    def calendar_event(self, gig: Gig, lang: str, cancelled: bool = False) -> list[str]:
        """The gig's VEVENT, the same in a file and in a subscribed feed (bot/services/feeds.py)."""
        values = gig_values(gig)
        description = "\n".join(
            [
                f"{self.p.t(lang, 'label.organisation')}: {gig.organisation}",
                f"{self.p.t(lang, 'label.contact')}: {gig.contact}",
                *(
                    [f"{self.p.t(lang, 'label.companion')}: {gig.companion}"]
                    if gig.companion
                    else []
                ),
                *([f"{self.p.t(lang, 'label.notes')}: {gig.notes}"] if gig.notes else []),
            ]
        )
        url = gig.place if gig.remote and gig.place.startswith(("https://", "http://")) else None
        return vevent(
            gig_id=gig.id,
            revision=gig.revision + 1 if cancelled else gig.revision,
            starts_at=gig.starts_at,
            minutes=gig.duration_min,
            summary=self.p.gig_title(lang, gig),
            location=self.p.value(lang, "place", values["place"]),
            description=description,
            url=url,
            cancelled=cancelled,
            tz=self.tz,
            now=self.clock.now(),
        )

    # ----- sending what is due ---------------------------------------------------------------

    async def tick(self, s: AsyncSession, limit: int = TICK_BATCH) -> int:
        """Send up to `limit` check-ins that are due, drop the stale ones, and follow up
        silence, in the caller's transaction (`tick_in_batches` sends a whole backlog)."""
        now = self.clock.now()
        sent = await self._due_batch(s, now, limit, set())
        await self._follow_up(s, now)
        return sent

    async def tick_in_batches(self, unit_of_work: UnitOfWork, batch: int = TICK_BATCH) -> int:
        """Send everything due, `batch` rows per short transaction, so a backlog after
        downtime never holds SQLite's write lock for long. A batch commits its check-ins
        together with their outbox rows, so each goes out once; a failing batch is rolled
        back whole and retried one row at a time, and a row that fails alone stays due for
        the next tick while the rest go out."""
        now = self.clock.now()
        total, stuck = 0, set[int]()
        while True:
            try:
                async with unit_of_work() as s:
                    sent = await self._due_batch(s, now, batch, stuck)
            except Exception:
                log.warning("a batch of check-ins failed; trying them one by one", exc_info=True)
                alone, failed = await self._one_by_one(unit_of_work, now, batch, stuck)
                total, stuck = total + alone, stuck | failed
                continue
            total += sent
            if sent < batch:
                break
        async with unit_of_work() as s:
            await self._follow_up(s, now)
        return total

    async def _due_batch(self, s: AsyncSession, now: datetime, limit: int, skip: set[int]) -> int:
        query = (
            select(CheckIn)
            .where(CheckIn.status == CheckInStatus.SCHEDULED, CheckIn.due_at <= now)
            .order_by(CheckIn.due_at, CheckIn.id)
            .limit(limit)
        )
        if skip:
            # Only the few rows that failed alone in this run: a short list.
            query = query.where(CheckIn.id.not_in(skip))
        due = (await s.scalars(query)).all()
        for row in due:
            await self._send(s, row, now)
        return len(due)

    async def _one_by_one(
        self, unit_of_work: UnitOfWork, now: datetime, batch: int, skip: set[int]
    ) -> tuple[int, set[int]]:
        """The next batch, each row in its own transaction: (sent, ids that failed)."""
        async with unit_of_work() as s:
            query = (
                select(CheckIn.id)
                .where(CheckIn.status == CheckInStatus.SCHEDULED, CheckIn.due_at <= now)
                .order_by(CheckIn.due_at, CheckIn.id)
                .limit(batch)
            )
            ids = [i for i in (await s.scalars(query)).all() if i not in skip]
        sent, failed = 0, set()
        for cid in ids:
            try:
                async with unit_of_work() as s:
                    row = await s.get(CheckIn, cid)
                    if row is not None and row.status == CheckInStatus.SCHEDULED:
                        await self._send(s, row, now)
                        sent += 1
            except Exception:
                log.exception("check-in %d could not be sent; it stays due", cid)
                failed.add(cid)
        return sent, failed

    async def _relevant(
        self, s: AsyncSession, row: CheckIn, now: datetime
    ) -> tuple[Gig | None, User | None]:
        expert = await UserRepo(s).get(row.expert_id)
        if expert is None or expert.telegram_id is None or not expert.active:
            return None, None
        if row.kind == CheckInKind.KEEP_IN_TOUCH:
            return None, expert
        gig = await s.get(Gig, row.gig_id) if row.gig_id else None
        offer = await s.get(Offer, row.offer_id) if row.offer_id else None
        if (
            gig is None
            or offer is None
            or offer.status != OfferStatus.ACCEPTED
            or gig.status not in GigStatus.HAPPENING
        ):
            return None, None
        if row.kind in (CheckInKind.PREP, CheckInKind.REMINDER, CheckInKind.COMING) and (
            gig.starts_at <= now
        ):
            return None, None
        if row.kind == CheckInKind.DEBRIEF and now - row.due_at > DEBRIEF_STALE:
            return None, None
        return gig, expert

    async def _send(self, s: AsyncSession, row: CheckIn, now: datetime) -> None:
        gig, expert = await self._relevant(s, row, now)
        if expert is None:
            row.status = CheckInStatus.DROPPED
            return
        row.status, row.sent_at = CheckInStatus.SENT, now
        if row.kind == CheckInKind.KEEP_IN_TOUCH:
            await self._send_keep_in_touch(s, expert, row)
            return
        assert gig is not None
        if row.kind == CheckInKind.PREP:
            await self._send_prep(s, expert, gig, row.id)
        elif row.kind == CheckInKind.REMINDER:
            row.status = CheckInStatus.ANSWERED  # nothing to answer
            await self._send_reminder(s, expert, gig)
        elif row.kind == CheckInKind.DEBRIEF:
            await self._send_debrief(s, expert, gig, row.id)
        elif row.kind == CheckInKind.COMING:
            await self._send_coming(s, expert, gig, row.id)

    async def _send_keep_in_touch(self, s: AsyncSession, expert: User, row: CheckIn) -> None:
        key = {"after_pause": "checkin.keep_after_pause", "no_gig": "checkin.keep_no_gig"}.get(
            row.note, "checkin.keep"
        )
        await self.notify.push(
            s,
            expert,
            key,
            quiet=True,
            buttons=[
                [("btn.kt_still", pack(KeepInTouch("y", row.id)))],
                [("btn.kt_pause", pack(KeepInTouch("p", row.id)))],
                [("btn.kt_talk", pack(KeepInTouch("t", row.id)))],
            ],
        )

    async def _send_prep(self, s: AsyncSession, expert: User, gig: Gig, cid: int) -> None:
        """How are you feeling about it; the preparation call the orderer proposed, if any;
        and a gig with a content note also offers a talk with the coordinator about those
        themes."""
        lang = expert.language
        text = self.p.t(lang, "checkin.prep", title=self.p.gig_title(lang, gig))
        call = await s.scalar(select(PrepCall).where(PrepCall.gig_id == gig.id))
        if call is not None:
            # The preparation call the orderer proposed, where and when.
            when = self.p.when(lang, call.starts_at)
            text += "\n\n" + self.p.t(lang, "relay.prep.in_checkin", when=when, place=call.place)
        rows = [
            [("btn.prep_ready", pack(Prep("r", cid)))],
            [("btn.prep_talk", pack(Prep("t", cid)))],
        ]
        note = self.p.content(lang, gig.content_themes, gig.content_note)
        if note:
            text += "\n\n" + self.p.t(lang, "lifecycle.content_prep", note=note)
            rows.append([("btn.lifecycle.content_talk", pack(Prep("c", cid)))])
        rows.append([("btn.prep_step_back", pack(Prep("s", cid)))])
        await self.notify.push_text(
            s, expert, text, buttons=self.notify.buttons(lang, rows), quiet=True
        )

    async def _send_coming(self, s: AsyncSession, expert: User, gig: Gig, cid: int) -> None:
        """ "Still coming?": one tap either way; "I can't" is a step back, never a no-show."""
        await self.notify.push(
            s,
            expert,
            "lifecycle.coming_ask",
            quiet=True,
            title=self.p.gig_title(expert.language, gig),
            buttons=[
                [("btn.lifecycle.coming_yes", pack(Coming(True, cid)))],
                [("btn.lifecycle.coming_no", pack(Coming(False, cid)))],
            ],
        )

    async def _send_reminder(self, s: AsyncSession, expert: User, gig: Gig) -> None:
        lang = expert.language
        await self.notify.push(
            s,
            expert,
            "checkin.reminder",
            quiet=True,
            title=self.p.gig_title(lang, gig),
            place=self.p.value(lang, "place", gig.place),
            contact=gig.contact,
        )

    async def _send_debrief(self, s: AsyncSession, expert: User, gig: Gig, cid: int) -> None:
        await self.notify.push(
            s,
            expert,
            "checkin.debrief",
            quiet=True,
            title=self.p.gig_title(expert.language, gig),
            buttons=self.debrief_buttons(cid),
        )
        profile = await UserRepo(s).profile(expert.id)
        if profile is not None and profile.youth:
            # Young experts always get a debrief, with the adult who came along.
            await self._alert(
                s,
                "checkin.alert_youth_debrief",
                gig=gig,
                expert=expert,
                companion=gig.companion or "–",
            )

    def debrief_buttons(self, cid: int) -> list[list[tuple[str, str]]]:
        return [
            [(f"={n}", pack(DebriefScore(n, cid))) for n in range(1, 6)],
            [("btn.debrief_coordinator", pack(DebriefWith("dc", cid)))],
            [("btn.debrief_peer", pack(DebriefWith("dp", cid)))],
        ]

    async def _coming_silent(self, s: AsyncSession, now: datetime) -> None:
        """ "Still coming?" unanswered by COMING_ALERT_HOURS_BEFORE: the coordinators are
        alerted once, with the way to replace the person (they are told nothing: silence is
        not a record against anyone)."""
        latest = now + timedelta(hours=self.settings.coming_alert_hours_before)
        rows = (
            await s.execute(
                select(CheckIn, Gig)
                .join(Gig, Gig.id == CheckIn.gig_id)
                .where(
                    CheckIn.kind == CheckInKind.COMING,
                    CheckIn.status == CheckInStatus.SENT,
                    CheckIn.coordinator_noted.is_(False),
                    Gig.starts_at <= latest,
                    Gig.starts_at > now,
                    Gig.status.in_(GigStatus.UPCOMING),
                )
                .order_by(Gig.starts_at, CheckIn.id)
                .limit(TICK_BATCH)
            )
        ).all()
        for row, gig in rows:
            row.coordinator_noted = True
            expert = await UserRepo(s).get(row.expert_id)
            offer = await s.get(Offer, row.offer_id) if row.offer_id else None
            if expert is None or offer is None or offer.status != OfferStatus.ACCEPTED:
                continue
            await self._alert(
                s,
                "lifecycle.coming_alert",
                gig=gig,
                expert=expert,
                buttons=[[("btn.lifecycle.replace", pack(PersonAction("rp", offer.id)))]],
            )

    async def _follow_up(self, s: AsyncSession, now: datetime) -> None:
        """A debrief left unanswered: one gentle reminder after a day, then a note to the
        coordinators after another. An unanswered "still coming?" alerts them in time."""
        await self._coming_silent(s, now)
        silent = (
            await s.scalars(
                select(CheckIn).where(
                    CheckIn.kind == CheckInKind.DEBRIEF,
                    CheckIn.status == CheckInStatus.SENT,
                    CheckIn.coordinator_noted.is_(False),
                    CheckIn.sent_at <= now - ANSWER_WAIT,
                )
            )
        ).all()
        for row in silent:
            expert = await UserRepo(s).get(row.expert_id)
            gig = await s.get(Gig, row.gig_id) if row.gig_id else None
            if expert is None or gig is None or expert.telegram_id is None:
                row.status = CheckInStatus.DROPPED
                continue
            assert row.sent_at is not None
            if not row.reminded:
                row.reminded = True
                await self.notify.push(
                    s,
                    expert,
                    "checkin.debrief_reminder",
                    quiet=True,
                    title=self.p.gig_title(expert.language, gig),
                    buttons=self.debrief_buttons(row.id),
                )
            elif row.sent_at <= now - 2 * ANSWER_WAIT:
                row.coordinator_noted = True
                await self._alert(s, "checkin.alert_silent", gig=gig, expert=expert)

    async def _alert(
        self,
        s: AsyncSession,
        key: str,
        *,
        gig: Gig | None,
        expert: User,
        labels: dict[str, str] | None = None,
        content: bool = False,
        **args: Any,
    ) -> None:
        """The same alert to every coordinator in their language; `labels` are catalog keys
        rendered per coordinator; `content` adds the gig's content note as `note`."""
        profile = await UserRepo(s).profile(expert.id)
        name = profile.display_name if profile is not None else expert.name

        def per_lang(lang: str) -> dict[str, Any]:
            rendered = {k: self.p.t(lang, v) for k, v in (labels or {}).items()}
            if content and gig is not None:
                rendered["note"] = self.p.content(lang, gig.content_themes, gig.content_note)
            return {"title": self.p.gig_title(lang, gig) if gig is not None else "", **rendered}

        await self.notify.alert(
            s,
            "checkins",
            key,
            claimable=True,
            per_lang=per_lang,
            name=self.p.mention(name, expert.telegram_id),
            id=expert.id,
            about=expert.id,
            **args,
        )

    # ----- answers --------------------------------------------------------------------------

    async def own(self, s: AsyncSession, actor: Actor, checkin_id: int) -> CheckIn | None:
        row = await s.get(CheckIn, checkin_id)
        if row is None or actor.user is None or row.expert_id != actor.user.id:
            return None
        return row

    async def answer(
        self, s: AsyncSession, actor: Actor, row: CheckIn, answer: str, **extra: object
    ) -> Gig | None:
        """Record an answer; alerts for the ones a coordinator must act on."""
        now = self.clock.now()
        row.status, row.answered_at = CheckInStatus.ANSWERED, now
        row.answer = answer
        gig = await s.get(Gig, row.gig_id) if row.gig_id else None
        assert actor.user is not None
        if answer in ("talk_telegram", "talk_phone", "talk_meeting"):
            await self._alert(
                s,
                "checkin.alert_talk",
                gig=gig,
                expert=actor.user,
                labels={"way": f"contact_way.{answer}"},
            )
        elif answer in ("debrief_coordinator", "debrief_peer"):
            await self._alert(
                s,
                "checkin.alert_debrief_request",
                gig=gig,
                expert=actor.user,
                labels={"who": f"debrief_with.{answer}"},
            )
        elif answer == "keep_talk":
            await self._alert(s, "checkin.alert_keep_talk", gig=None, expert=actor.user)
        elif answer in ("coming_yes", "coming_cant"):
            await self._settle_coming_alert(s, row)
        elif answer == "content_talk" and gig is not None:
            await self._alert(
                s,
                "lifecycle.content_alert",
                gig=gig,
                expert=actor.user,
                content=True,
            )
        return gig

    async def _settle_coming_alert(self, s: AsyncSession, row: CheckIn) -> None:
        """A "still coming?" answered after the coordinators were alerted: their copies of the
        alert say what the person answered and lose "Find someone else", so nobody replaces
        someone who is coming (or a seat already offered onward)."""
        if not row.coordinator_noted or row.offer_id is None:
            return
        replace = pack(PersonAction("rp", row.offer_id))
        alerts = (
            await s.scalars(
                select(Alert).where(Alert.subject_id == row.expert_id, Alert.category == "checkins")
            )
        ).all()
        key = f"lifecycle.coming_alert_{'yes' if row.answer == 'coming_yes' else 'cant'}"
        for alert in alerts:
            if not any(data == replace for line in alert.buttons for _, data in line):
                continue
            alert.buttons = []
            for coord in await UserRepo(s).coordinators():
                lang = coord.language
                base = alert.texts.get(lang) or next(iter(alert.texts.values()), "")
                text = f"{base}\n\n{self.p.html(lang, key)}"
                await self.notify.edit_text(
                    s, coord, pack(AlertTag(alert.id)), text, parse_mode=HTML
                )

    async def gig_of(self, s: AsyncSession, row: CheckIn) -> Gig | None:
        return await s.get(Gig, row.gig_id) if row.gig_id else None

    async def score(self, s: AsyncSession, actor: Actor, row: CheckIn, value: int) -> bool:
        """Record how the gig went; true for a low score (a coordinator is alerted and will
        get in touch, so the expert is asked nothing more)."""
        row.score = value
        gig = await self.answer(s, actor, row, "score")
        if value <= LOW_SCORE:
            assert actor.user is not None
            await self._alert(s, "checkin.alert_low_score", gig=gig, expert=actor.user, score=value)
            return True
        return False

    # ----- between gigs ----------------------------------------------------------------------

    async def keep_in_touch(self, s: AsyncSession) -> int:
        """Experts with no gig and no word from us for a while get a friendly check-in."""
        now = self.clock.now()
        quiet_for = timedelta(days=self.settings.keep_in_touch_days)
        rows = await _available_experts(s)
        if not rows:
            return 0
        ids = [u.id for u, _ in rows]
        last_gig = await _last_gig(s, ids)
        last_contact = await _last_kept_in_touch(s, ids)
        created = 0
        for user, profile in rows:
            since = max(
                d
                for d in (
                    last_gig.get(user.id),
                    last_contact.get(user.id),
                    profile.decided_at,
                    user.created_at,
                )
                if d is not None
            )
            if now - since >= quiet_for:
                s.add(
                    CheckIn(
                        kind=CheckInKind.KEEP_IN_TOUCH,
                        expert_id=user.id,
                        due_at=now,
                        status=CheckInStatus.SCHEDULED,
                        # "Since your last gig" would be wrong for someone who never had one.
                        note="" if user.id in last_gig else "no_gig",
                        created_at=now,
                    )
                )
                created += 1
        await s.flush()
        return created

    async def pause_ended(self, s: AsyncSession, user: User) -> None:
        """The keep-in-touch check-in, worded for the end of a pause."""
        now = self.clock.now()
        s.add(
            CheckIn(
                kind=CheckInKind.KEEP_IN_TOUCH,
                expert_id=user.id,
                due_at=now,
                status=CheckInStatus.SCHEDULED,
                note="after_pause",
                created_at=now,
            )
        )
        await s.flush()

    # ----- the coordinators' morning ---------------------------------------------------------

    async def digest(self, s: AsyncSession) -> None:
        """One message per coordinator: today's gigs, unanswered check-ins, gigs short of
        experts, contracts about to end."""
        now = self.clock.now()
        today: date = now.astimezone(self.tz).date()
        day_start = datetime.combine(today, time(0), tzinfo=self.tz)
        facts = _Digest(
            todays=await _gigs_between(s, day_start, day_start + timedelta(days=1)),
            unanswered=await _unanswered(s, now),
            short=await _short_of_experts(s, now),
            contracts=await _contracts_ending(s, today),
        )
        for coord in await UserRepo(s).coordinators():
            await self.notify.push_text(s, coord, self._digest_text(coord.language, today, facts))

    def _digest_text(self, lang: str, today: date, facts: _Digest) -> str:
        t = self.p.t

        def gig_line(g: Gig) -> str:
            return f"• {self.p.gig_title(lang, g)} ({g.seats_filled}/{g.seats})"

        sections = [
            ("digest.today", [gig_line(g) for g in facts.todays]),
            (
                "digest.unanswered",
                [
                    f"• {name}: {t(lang, f'checkin_kind.{c.kind}')}"
                    for c, name in facts.unanswered[:20]
                ],
            ),
            ("digest.short", [gig_line(g) for g in facts.short[:20]]),
            (
                "digest.contracts",
                [
                    f"• {p.display_name} (#{p.user_id}): {p.contract_until.day}."
                    f"{p.contract_until.month}.{p.contract_until.year}"
                    for p in facts.contracts
                    if p.contract_until is not None
                ],
            ),
        ]
        parts = [t(lang, "digest.header", date=f"{today.day}.{today.month}.")]
        for key, lines in sections:
            parts.append(t(lang, key) + "\n" + ("\n".join(lines) or t(lang, "digest.none")))
        return "\n\n".join(parts)

    # ----- the debrief's optional parts ------------------------------------------------------

    def rate_gig(self, row: CheckIn, what: str, value: int) -> None:
        """How the orderer treated the expert ("orderer") or how well the gig was prepared
        ("preparation"), 1-5; 0 is the skip button and stores nothing."""
        if what == "orderer":
            row.orderer_rating = value or None
        else:
            row.preparation_rating = value or None

    async def note(self, s: AsyncSession, actor: Actor, checkin_id: int, note: str | None) -> None:
        """The expert's free line after a debrief; an empty one changes nothing."""
        row = await self.own(s, actor, checkin_id)
        if row is not None and note:
            row.note = note


def _method(cancelled: bool) -> str:
    return "CANCEL" if cancelled else "PUBLISH"
