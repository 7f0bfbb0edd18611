"""`python -m bot demo`: one compressed day of a coordination centre, played through the real
Application, services and a fresh SQLite database, behind the same fake Bot API the tests use.

Nothing here is a second code path: people type and press buttons, the clock moves, and the
scheduler's jobs run, exactly as in production. The transcript shows what each person sees;
files the bot sends (.ics, QR code, report chart, Excel, CSV, and the PDFs: the orderer's
confirmation, the yearly statement and the certificate; the billing workbook) are written to
./demo-output/.
Every step checks that it produced what it should; the exit status is 0 only if all did.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.app import build_application, post_init
from bot.clock import FakeClock
from bot.sandbox.driver import TOKEN, Harness, Person, at
from bot.sandbox.fakebot import Call, FakeTelegram
from bot.services.orders import CHECKLIST
from bot.settings import load_settings

COORDINATOR = 100
ROLES = {"coordinator": "coordinator", "orderer": "orderer", "expert": "expert"}


class StepFailed(Exception):
    pass


class Transcript:
    """Prints every Bot API call as the person on the other end experiences it."""

    def __init__(self, h: Harness, lang: str, out: Path, write: Callable[[str], None]) -> None:
        self.h = h
        self.lang = lang
        self.out = out
        self.write = write
        self.names: dict[int, str] = {}
        self.roles: dict[int, str] = {}
        self.seen = 0
        self.by_role: dict[str, list[str]] = {r: [] for r in ROLES}
        self.files = 0

    def when(self) -> str:
        return self.h.core.texts.dt(self.lang, self.h.clock.now(), self.h.core.settings.tz)

    def say(self, line: str, role: str | None = None) -> None:
        self.write(line)
        if role is not None:
            self.by_role[role].append(line)

    def action(self, person: Person, what: str) -> None:
        role = self.roles.get(person.id)
        self.say(f"\n[{self.when()}] {self.names.get(person.id, person.name)} ➜ {what}", role)

    def flush(self) -> None:
        calls = self.h.tg.calls[self.seen :]
        self.seen = len(self.h.tg.calls)
        for call in calls:
            self._show(call)

    def _show(self, call: Call) -> None:
        p = call.params
        chat = int(p.get("chat_id") or 0)
        who = self.names.get(chat, str(chat))
        role = self.roles.get(chat)
        if call.method == "sendMessage":
            self.say(f"  ⬅ {who}: " + _indent(str(p["text"])) + _buttons(p), role)
        elif call.method == "editMessageText":
            self.say(f"  ✎ {who} (message edited): " + _indent(str(p["text"])) + _buttons(p), role)
        elif call.method in ("sendDocument", "sendPhoto"):
            name, content = p.get("_file") or ("file", b"")
            if call.method == "sendPhoto" and not str(name).endswith(".png"):
                name = "image.png"
            slug = (role or "audience") + f"-{chat}"
            self.files += 1
            target = self.out / f"{self.files:02d}-{slug}-{name}"
            target.write_bytes(content)
            self.say(f"  📎 {who}: {name} → {target}", role)
        elif call.method == "answerCallbackQuery" and p.get("text"):
            self.write(f"  💬 (on the button) {p['text']}")


def _indent(text: str) -> str:
    return text.replace("\n", "\n     ")


def _buttons(params: dict[str, Any]) -> str:
    markup = params.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not rows:
        return ""
    return "\n     " + "  ".join(f"[{b['text']}]" for row in rows for b in row)


class Demo:
    def __init__(self, h: Harness, lang: str, out: Path, write: Callable[[str], None]) -> None:
        self.h = h
        self.lang = lang
        self.log = Transcript(h, lang, out, write)

    def person(self, telegram_id: int, name: str, role: str) -> Person:
        self.log.names[telegram_id] = name
        self.log.roles[telegram_id] = role
        return self.h.person(telegram_id, name, self.lang)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            raise StepFailed(what)

    async def send(self, p: Person, text: str) -> None:
        self.log.action(p, text if len(text) < 80 else text[:77] + "…")
        await p.send(text)
        self.log.flush()

    async def press(self, p: Person, label: str) -> None:
        self.log.action(p, f"[{label}]")
        await p.press(label)
        self.log.flush()

    async def at(self, moment: str) -> None:
        """Let the clock run to a Helsinki time, running the jobs as the scheduler would."""
        self.h.clock.set(at(moment) - timedelta(minutes=1))
        self.log.write(f"\n⏱  {moment}")
        await self.h.advance(timedelta(minutes=1))
        self.log.flush()

    def t(self, key: str, **kwargs: object) -> str:
        return self.h.t(self.lang, key, **kwargs)

    async def invite(self, coord: Person, role: str) -> str:
        await self.send(coord, f"/invite {role}")
        link = next(line for line in coord.last.text.splitlines() if line.startswith("https://"))
        return link.rsplit("=", 1)[1]

    async def run(self) -> None:
        coord = self.person(COORDINATOR, "Kaisa", "coordinator")
        await self.send(coord, "/start")
        nurse, experts = await self.morning(coord)
        aino, bertta, cecilia, dani = experts
        await self.order(nurse)
        await self.cascade(coord, aino, bertta, cecilia, dani)
        await self.around_the_gig(coord, bertta, cecilia)
        await self.audience_feedback(coord, nurse)
        await self.fees(coord, bertta)
        await self.month_end(coord)
        await self.papers(coord, bertta)

    async def morning(self, coord: Person) -> tuple[Person, list[Person]]:
        """Invitations and registrations: the orderer, then four experts approved."""
        t = self.t
        code = await self.invite(coord, "orderer")
        nurse = self.person(201, "Nea", "orderer")
        await self.send(nurse, f"/start {code}")
        self.check(nurse.last.text == t("start.welcome_orderer"), "orderer registered")
        experts = []
        for tid, name, topic in (
            (301, "Aino", "mental_health"),
            (302, "Bertta", "mental_health"),
            (303, "Cecilia", "mental_health"),
            (304, "Dani", "mental_health"),
        ):
            experts.append(await self.register_expert(coord, tid, name, topic))
        return nurse, experts

    async def register_expert(self, coord: Person, tid: int, name: str, topic: str) -> Person:
        t = self.t
        code = await self.invite(coord, "expert")
        p = self.person(tid, name, "expert")
        await self.send(p, f"/start {code}")
        await self.press(p, t("btn.consent_yes"))
        await self.send(p, name)
        for label in (
            t("gig_type.talk"),
            t("btn.done"),
            t(f"topic.{topic}"),
            t("btn.done"),
            t("language_name.fi"),
            t("btn.done"),
            t("region.keski_suomi"),
            t("btn.done"),
            t("common.yes"),
            t("btn.done"),
            t("btn.skip"),
            t("btn.save"),
        ):
            await self.press(p, label)
        await self.press(coord, t("btn.approve"))
        self.check(p.last.text == t("expert.approved"), f"{name} approved")
        return p

    async def order(self, nurse: Person) -> None:
        """The nurse orders a talk, answering every question of the form."""
        t = self.t
        await self.send(nurse, t("menu.new_order"))
        await self.send(nurse, "Keski-Suomen hyvinvointialue, psykiatrian poliklinikka")
        await self.press(nurse, t("gig_type.talk"))
        await self.press(nurse, t("topic.mental_health"))
        await self.press(nurse, t("btn.done"))
        await self.send(nurse, "25.11.2026 klo 13.00")
        await self.press(nurse, self.h.core.presenter.decimal_text(self.lang, "1,5"))
        await self.press(nurse, t("format.onsite"))
        await self.send(nurse, "Keskussairaala, Hoitajantie 3, Jyväskylä, auditorio")
        await self.press(nurse, t("region.keski_suomi"))
        await self.press(nurse, t("audience.large"))
        await self.press(nurse, "50")
        await self.press(nurse, "2")
        await self.press(nurse, t("language_name.fi"))
        await self.send(nurse, "150")
        await self.send(nurse, "Nea Nurse, 040 123 4567")
        await self.press(nurse, t("btn.skip"))
        await self.send(nurse, "HVA-2026-118")
        await self.press(nurse, t("btn.done"))  # no especially heavy themes

        for item in CHECKLIST:  # the responsible-ordering checklist, every point ticked
            await self.press(nurse, f"⬜ {t(f'btn.relay.check_{item}')}")
        await self.press(nurse, t("btn.send"))

    async def cascade(
        self, coord: Person, aino: Person, bertta: Person, cecilia: Person, dani: Person
    ) -> None:
        """Approval and a cascade: three offers, one declined, two seats taken."""
        t = self.t
        await self.press(coord, t("btn.ranking"))
        await self.press(coord, t("mode_btn.cascade", k=3, hours=24))
        self.check(all(_offered(p, t) for p in (aino, bertta, cecilia)), "three offers out")
        await self.press(aino, t("btn.decline"))
        self.check(_offered(dani, t), "the cascade moved on to Dani")
        await self.press(bertta, t("btn.accept"))
        await self.press(cecilia, t("btn.accept"))
        self.check(
            t("offer.filled_thanks", title=await self.h.title(self.lang, 1))
            in [m.text for m in dani.inbox],
            "Dani's open offer was withdrawn",
        )

    async def around_the_gig(self, coord: Person, bertta: Person, cecilia: Person) -> None:
        """The check-ins before and after the gig."""
        t = self.t
        await self.at("23.11.2026 13.00")  # 48 h before: how are you feeling about it?
        await self.press(bertta, t("btn.prep_ready"))
        await self.press(cecilia, t("btn.prep_ready"))
        await self.at("25.11.2026 10.00")
        await self.at("25.11.2026 16.30")
        await self.press(bertta, "4")
        await self.press(bertta, "5")
        await self.press(bertta, "4")
        await self.press(bertta, t("btn.skip"))
        await self.press(cecilia, t("btn.debrief_coordinator"))
        self.check(coord.last.text.startswith("💬"), "debrief request reached the coordinator")

    async def audience_feedback(self, coord: Person, nurse: Person) -> None:
        """Feedback from the audience, through the link the orderer passed on."""
        t = self.t
        link = next(
            line for m in nurse.inbox for line in m.text.splitlines() if "?start=fb_" in line
        )
        token = link.rsplit("?start=", 1)[1]
        for i, (score, said) in enumerate(
            ((5, "Rohkea ja selkeä puheenvuoro."), (4, ""), (5, "Toivoa antava."), (3, ""), (4, ""))
        ):
            listener = self.person(9100 + i, f"Kuulija {i + 1}", "orderer")
            self.log.roles.pop(listener.id)
            await self.send(listener, f"/start {token}")
            await self.press(listener, str(score))
            if said:
                await self.send(listener, said)
            else:
                await self.press(listener, t("btn.skip"))
            await self.press(listener, t("btn.skip"))
        await self.send(coord, "/feedback 1")
        self.check("Rohkea ja selkeä puheenvuoro." not in coord.last.text, "nothing while open")

    async def fees(self, coord: Person, bertta: Person) -> None:
        t = self.t
        await self.send(coord, "/fees")
        await self.press(coord, t("btn.fee_sent"))
        await self.send(bertta, "/myfees")
        await self.press(bertta, t("btn.fee_confirm_paid", id=1))

    async def month_end(self, coord: Person) -> None:
        """The feedback link has closed: the results show, all at once; then the month's report."""
        await self.at("10.12.2026 09.00")
        await self.send(coord, "/feedback 1")
        self.check("Rohkea ja selkeä puheenvuoro." in coord.last.text, "feedback results shown")
        await self.send(coord, "/report 11.2026")
        files = [m for m in coord.inbox[-3:] if m.document is not None]
        self.check(len(files) == 3, "report chart, Excel and CSV sent")

    async def papers(self, coord: Person, bertta: Person) -> None:
        """The gig is marked held; Bertta gets her yearly statement and, once approved, a
        certificate; the coordinator bills November (the orderer's confirmation came when the
        gig filled)."""
        t = self.t
        await self.send(coord, "/gig 1")
        await self.press(coord, t("btn.mark_done"))
        await self.send(bertta, "/myfees 2026")
        self.check(bertta.last_file.document is not None, "yearly statement sent")
        await self.send(bertta, "/certificate 2026")
        await self.press(coord, t("btn.money.cert_approve"))
        self.check(
            (bertta.last_file.document or ("", b""))[1].startswith(b"%PDF"), "certificate sent"
        )
        await self.send(coord, "/billing 11.2026")
        self.check(
            (coord.last_file.document or ("", ""))[0].endswith(".xlsx"), "billing workbook sent"
        )


def _offered(p: Person, t: Callable[..., str]) -> bool:
    return any(b.text == t("btn.accept") for m in p.inbox for b in m.flat_buttons)


def clean(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if old.is_file():
            old.unlink()


async def play(lang: str, out: Path, write: Callable[[str], None]) -> Demo:
    """Play the day; `out` must exist and is where the bot's files are written."""
    with tempfile.TemporaryDirectory(prefix="kv-demo-") as tmp:
        settings = load_settings(
            bot_token=TOKEN,
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'demo.sqlite3'}",
            coordinator_ids=str(COORDINATOR),
            default_language=lang,
            _env_file=None,
        )
        clock = FakeClock(at("23.11.2026 08.30"))
        tg = FakeTelegram(clock)
        app = build_application(settings, clock=clock, request=tg.request())
        async with app:
            await post_init(app)
            demo = Demo(Harness(app, tg, clock), lang, out, write)
            try:
                await demo.run()
            finally:
                await app.bot_data["core"].db.dispose()
    return demo


def main(lang: str, out: Path, guides: Path | None = None) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    clean(out)
    try:
        demo = asyncio.run(play(lang, out, print))
    except StepFailed as exc:
        print(f"\n✗ the demo stopped: {exc}", file=sys.stderr)
        return 1
    print(f"\n✓ every step did what it should. Files are in {out}/")
    if guides is not None:
        guides.mkdir(parents=True, exist_ok=True)
        for role, lines in demo.log.by_role.items():
            path = guides / f"{role}.{lang}.md"
            path.write_text(
                f"# {role} ({lang})\n\nGenerated by `python -m bot demo --lang {lang} "
                f"--transcripts {guides}`; do not edit by hand.\n\n```text\n"
                + "\n".join(lines).strip()
                + "\n```\n"
            )
            print(f"wrote {path}")
    return 0
