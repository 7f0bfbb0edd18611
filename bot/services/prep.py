"""A preparation call: the orderer proposes a short meeting before the gig (time, place or
link); each confirmed expert says it suits them or suggests another time; the orderer sees
the suggestions and can confirm one. The call has its own calendar entry (a stable UID per gig,
SEQUENCE = the call's revision) and shows in the expert's preparation check-in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import calendar, vevent
from bot.callbacks import PrepAnswerButton, PrepConfirm, PrepPropose, pack
from bot.errors import Refuse
from bot.services.access import Actor
from bot.services.base import Messaging
from storage.models import ExpertProfile, Gig, GigStatus, PrepAnswer, PrepCall, User
from storage.repo import OfferRepo, UserRepo

MINUTES = 30  # how long the calendar entry is: a short meeting


def prep_uid(gig_id: int) -> str:
    return f"prep-{gig_id}@kokemusvalitys"


class PrepCalls(Messaging):
    # ----- who may do what ----------------------------------------------------------------

    async def own_gig(self, s: AsyncSession, actor: Actor, gig_id: int) -> Gig:
        """The orderer's own upcoming gig with confirmed experts."""
        gig = await s.get(Gig, gig_id)
        if gig is None or gig.orderer_id != actor.id:
            raise Refuse("err.gig_not_found")
        if not await self.can_propose(s, gig):
            raise Refuse("relay.prep.not_now")
        return gig

    async def can_propose(self, s: AsyncSession, gig: Gig) -> bool:
        return (
            gig.status in (GigStatus.OPEN, GigStatus.FILLED)
            and gig.starts_at > self.clock.now()
            and bool(await OfferRepo(s).accepted(gig.id))
        )

    def check_time(self, gig: Gig, starts_at: datetime) -> None:
        """A preparation is before the gig (the form has already refused a past time)."""
        if starts_at >= gig.starts_at:
            raise Refuse("relay.prep.after_gig")

    async def _experts(self, s: AsyncSession, gig_id: int) -> list[User]:
        users = [await UserRepo(s).get(o.expert_id) for o in await OfferRepo(s).accepted(gig_id)]
        return [u for u in users if u is not None]

    async def call_for_expert(
        self, s: AsyncSession, actor: Actor, call_id: int
    ) -> tuple[PrepCall, Gig]:
        call = await s.get(PrepCall, call_id)
        gig = await s.get(Gig, call.gig_id) if call is not None else None
        if (
            call is None
            or gig is None
            or actor.id not in {u.id for u in await self._experts(s, gig.id)}
        ):
            raise Refuse("err.gig_not_found")
        if gig.starts_at <= self.clock.now() or gig.status not in (
            GigStatus.OPEN,
            GigStatus.FILLED,
        ):
            raise Refuse("relay.prep.not_now")
        return call, gig

    @staticmethod
    def parse_time(stored: str) -> datetime:
        """A time as a form stores it (ISO 8601, aware)."""
        return datetime.fromisoformat(stored)

    async def for_gig(self, s: AsyncSession, gig_id: int) -> PrepCall | None:
        return await s.scalar(select(PrepCall).where(PrepCall.gig_id == gig_id))

    # ----- the orderer ----------------------------------------------------------------------

    async def propose(
        self, s: AsyncSession, actor: Actor, gig_id: int, starts_at: datetime, place: str
    ) -> int:
        """Propose (or propose anew) the call; every confirmed expert is asked. Returns how
        many were asked."""
        gig = await self.own_gig(s, actor, gig_id)
        self.check_time(gig, starts_at)
        call = await self.for_gig(s, gig.id)
        if call is None:
            call = PrepCall(gig_id=gig.id, revision=0, created_at=self.clock.now())
            s.add(call)
        else:
            call.revision += 1
            await s.execute(delete(PrepAnswer).where(PrepAnswer.call_id == call.id))
        call.starts_at, call.place = starts_at, place
        await s.flush()
        experts = await self._experts(s, gig.id)
        for expert in experts:
            await self._ask(s, expert, gig, call, "relay.prep.proposed")
        assert actor.user is not None
        await self._send_ics(s, actor.user, gig, call)
        return len(experts)

    async def _ask(self, s: AsyncSession, expert: User, gig: Gig, call: PrepCall, key: str) -> None:
        lang = expert.language
        await self.notify.push(
            s,
            expert,
            key,
            quiet=True,
            buttons=[
                [("btn.relay.prep_yes", pack(PrepAnswerButton("y", call.id)))],
                [("btn.relay.prep_other", pack(PrepAnswerButton("s", call.id)))],
            ],
            organisation=gig.organisation,
            title=self.p.gig_title(lang, gig),
            when=self.p.when(lang, call.starts_at),
            place=call.place,
        )

    async def confirm(self, s: AsyncSession, actor: Actor, answer_id: int) -> tuple[Gig, PrepCall]:
        """The orderer takes an expert's suggested time: the call moves there; the expert who
        suggested it has it, the others are asked again."""
        answer = await s.get(PrepAnswer, answer_id)
        call = await s.get(PrepCall, answer.call_id) if answer is not None else None
        if answer is None or call is None or answer.suggested_at is None:
            raise Refuse("err.stale")
        gig = await self.own_gig(s, actor, call.gig_id)
        self.check_time(gig, answer.suggested_at)
        if answer.suggested_at <= self.clock.now():
            raise Refuse("err.datetime_past")
        suggester = answer.expert_id
        call.starts_at, call.revision = answer.suggested_at, call.revision + 1
        await s.execute(delete(PrepAnswer).where(PrepAnswer.call_id == call.id))
        s.add(
            PrepAnswer(
                call_id=call.id, expert_id=suggester, accepted=True, answered_at=self.clock.now()
            )
        )
        await s.flush()
        for expert in await self._experts(s, gig.id):
            if expert.id == suggester:
                await self.notify.push(
                    s,
                    expert,
                    "relay.prep.taken",
                    title=self.p.gig_title(expert.language, gig),
                    when=self.p.when(expert.language, call.starts_at),
                    place=call.place,
                )
                await self._send_ics(s, expert, gig, call)
            else:
                await self._ask(s, expert, gig, call, "relay.prep.moved")
        assert actor.user is not None
        await self._send_ics(s, actor.user, gig, call)
        return gig, call

    # ----- the experts ----------------------------------------------------------------------

    async def accept(self, s: AsyncSession, actor: Actor, call_id: int) -> tuple[Gig, PrepCall]:
        call, gig = await self.call_for_expert(s, actor, call_id)
        await self._answer(s, actor, call, accepted=True, suggested_at=None)
        orderer = await UserRepo(s).get(gig.orderer_id)
        if orderer is not None:
            lang = orderer.language
            await self.notify.push(
                s,
                orderer,
                "relay.prep.accepted",
                name=await self._name(s, actor.id),
                title=self.p.gig_title(lang, gig),
                when=self.p.when(lang, call.starts_at),
            )
        assert actor.user is not None
        await self._send_ics(s, actor.user, gig, call)
        return gig, call

    async def suggest(
        self, s: AsyncSession, actor: Actor, call_id: int, starts_at: datetime
    ) -> Gig:
        call, gig = await self.call_for_expert(s, actor, call_id)
        self.check_time(gig, starts_at)
        answer = await self._answer(s, actor, call, accepted=False, suggested_at=starts_at)
        orderer = await UserRepo(s).get(gig.orderer_id)
        if orderer is not None:
            lang = orderer.language
            await self.notify.push(
                s,
                orderer,
                "relay.prep.suggested",
                buttons=[[("btn.relay.prep_confirm", pack(PrepConfirm(answer.id)))]],
                name=await self._name(s, actor.id),
                title=self.p.gig_title(lang, gig),
                when=self.p.when(lang, starts_at),
                was=self.p.when(lang, call.starts_at),
            )
        return gig

    async def _answer(
        self,
        s: AsyncSession,
        actor: Actor,
        call: PrepCall,
        *,
        accepted: bool,
        suggested_at: datetime | None,
    ) -> PrepAnswer:
        row = await s.scalar(
            select(PrepAnswer).where(
                PrepAnswer.call_id == call.id, PrepAnswer.expert_id == actor.id
            )
        )
        if row is None:
            row = PrepAnswer(call_id=call.id, expert_id=actor.id)
            s.add(row)
        row.accepted, row.suggested_at, row.answered_at = accepted, suggested_at, self.clock.now()
        await s.flush()
        return row

    async def _name(self, s: AsyncSession, expert_id: int) -> str:
        profile = await s.get(ExpertProfile, expert_id)
        return profile.display_name if profile is not None else "–"

    # ----- the calendar, the check-in, data rights ------------------------------------------

    async def _send_ics(self, s: AsyncSession, user: User, gig: Gig, call: PrepCall) -> None:
        filename, ics = self.calendar_file(gig, call, user.language)
        await self.notify.push_document(s, user, filename, ics)

    async def withdraw_cancelled(self, s: AsyncSession) -> int:
        """The preparation calls that can no longer happen: their gig was cancelled, or moved
        so that the call is no longer before it. A cancelling calendar entry goes to the
        orderer and to each expert who had the entry, then the call goes; for a moved gig the
        orderer is offered a new time and the experts asked about it are told. Returns how
        many."""
        calls = (
            await s.execute(
                select(PrepCall, Gig)
                .join(Gig, Gig.id == PrepCall.gig_id)
                .where(
                    or_(
                        Gig.status == GigStatus.CANCELLED,
                        and_(
                            Gig.status.in_(GigStatus.UPCOMING),
                            PrepCall.starts_at >= Gig.starts_at,
                        ),
                    )
                )
            )
        ).all()
        for call, gig in calls:
            had = (
                await s.scalars(
                    select(PrepAnswer.expert_id).where(
                        PrepAnswer.call_id == call.id, PrepAnswer.accepted.is_(True)
                    )
                )
            ).all()
            for user_id in [gig.orderer_id, *had]:
                user = await UserRepo(s).get(user_id)
                if user is not None:
                    name, ics = self.calendar_file(gig, call, user.language, cancelled=True)
                    await self.notify.push_document(s, user, name, ics)
            if gig.status != GigStatus.CANCELLED:
                await self._tell_moved(s, gig, call)
            await s.delete(call)
        await s.flush()
        return len(calls)

    async def _tell_moved(self, s: AsyncSession, gig: Gig, call: PrepCall) -> None:
        """The gig moved to before its preparation call: the orderer may propose a new time,
        and the confirmed experts (who were asked about the old one) hear it is off."""
        orderer = await UserRepo(s).get(gig.orderer_id)
        if orderer is not None:
            lang = orderer.language
            label = self.p.t(lang, "btn.relay.prep_propose", id=gig.id)
            await self.notify.push(
                s,
                orderer,
                "relay.prep.withdrawn_moved",
                buttons=[[(f"={label}", pack(PrepPropose(gig.id)))]],
                title=self.p.gig_title(lang, gig),
                when=self.p.when(lang, call.starts_at),
            )
        for expert in await self._experts(s, gig.id):
            lang = expert.language
            await self.notify.push(
                s,
                expert,
                "relay.prep.withdrawn_moved_expert",
                quiet=True,
                title=self.p.gig_title(lang, gig),
                when=self.p.when(lang, call.starts_at),
            )

    def calendar_file(
        self, gig: Gig, call: PrepCall, lang: str, cancelled: bool = False
    ) -> tuple[str, str]:
        title = self.p.gig_title(lang, gig)
        url = call.place if call.place.startswith(("https://", "http://")) else None
        event = vevent(
            gig_id=gig.id,
            revision=call.revision + 1 if cancelled else call.revision,
            starts_at=call.starts_at,
            minutes=MINUTES,
            summary=self.p.t(lang, "relay.prep.ics_summary", title=title),
            location=call.place,
            description=self.p.t(
                lang, "relay.prep.ics_description", title=title, organisation=gig.organisation
            ),
            url=url,
            cancelled=cancelled,
            tz=self.p.tz,
            now=self.clock.now(),
            uid=prep_uid(gig.id),
        )
        ics = calendar([event], method="CANCEL" if cancelled else "PUBLISH")
        return self.p.t(lang, "relay.prep.ics_file", id=gig.id), ics

    async def line_for_checkin(self, s: AsyncSession, gig: Gig, lang: str) -> str:
        """The preparation call, for the expert's preparation check-in ("" when none)."""
        call = await self.for_gig(s, gig.id)
        if call is None:
            return ""
        return self.p.t(
            lang, "relay.prep.in_checkin", when=self.p.when(lang, call.starts_at), place=call.place
        )
