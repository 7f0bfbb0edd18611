"""The bot's HTTP side (tornado, which python-telegram-bot's webhook extra brings):

- `POST /<WEBHOOK_PATH>`: Telegram's webhook. Each update is stored in the inbox before
  Telegram gets its 200, then handled from the store by the same chat lanes as durable
  polling (bot/polling.py), so a crash after the 200 loses nothing: the next start (or another
  instance) handles what is stored and not done. A retry of an update already stored is
  recognised by its `update_id` and only answered 200. The secret Telegram sends in
  `X-Telegram-Bot-Api-Secret-Token` is required (403 without it).
- `GET /healthz`: 200 when the database answers, 503 when it does not (for a load balancer);
  says whether this instance leads, how many share the send budget, and whether it sends yet.
- `GET /metrics`: Prometheus figures (bot/metrics.py).
- `GET /calendar/<secret>.ics`: a person's calendar feed (bot/services/feeds.py); 404 for an
  unknown or replaced secret, the same answer whether it never existed or was revoked.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from sqlalchemy import text
from telegram import Update
from tornado.httpserver import HTTPServer
from tornado.web import Application as TornadoApp
from tornado.web import RequestHandler

from bot.core import Core
from bot.metrics import CONTENT_TYPE, Metrics
from bot.polling import DurablePoller
from handlers.base import AnyApplication
from storage.repo import InboxRepo

log = logging.getLogger(__name__)

# Handled updates remembered by id (no payload) after the newest, so a webhook retry of an
# update handled long ago is still recognised (Telegram retries for minutes, not for 100,000
# updates).
WEBHOOK_REMEMBER = 100_000


class _Base(RequestHandler):
    def initialize(self, web: WebServer) -> None:
        self.web = web

    def compute_etag(self) -> None:
        return None


class Health(_Base):
    async def get(self) -> None:
        try:
            async with self.web.core.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            log.warning("health check: the database does not answer", exc_info=True)
            self.set_status(503)
            self.finish({"status": "database unavailable"})
            return
        budget = self.web.metrics.budget
        self.finish(
            {
                "status": "ok",
                "leader": self.web.metrics.leader.leading,
                "instances": budget.instances,
                # A newcomer waits for the others to lower their parts (bot/share.py).
                "sending": not budget.paused,
            }
        )


class MetricsPage(_Base):
    async def get(self) -> None:
        async with self.web.core.db.unit_of_work() as s:
            body = await self.web.metrics.render(s)
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(body)


class CalendarFeed(_Base):
    async def get(self, token: str) -> None:
        async with self.web.core.db.unit_of_work() as s:
            feed = await self.web.core.feeds.render(s, token)
        if feed is None:
            self.set_status(404)
            self.finish("not found")
            return
        self.set_header("Content-Type", "text/calendar; charset=utf-8")
        self.set_header("Cache-Control", "private, max-age=300")
        self.finish(feed.encode())


class Webhook(_Base):
    async def post(self) -> None:
        secret = self.web.secret
        given = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if secret is not None and not hmac.compare_digest(given.encode(), secret.encode()):
            self.set_status(403)
            self.finish()
            return
        payload = _update_payload(self.request.body)
        if payload is None:
            self.set_status(400)
            self.finish()
            return
        update_id = int(payload["update_id"])
        async with self.web.core.db.unit_of_work() as s:
            inbox = InboxRepo(s)
            new = await inbox.store([(update_id, payload)])
            await inbox.prune_now_and_then([update_id], keep=WEBHOOK_REMEMBER)
        self.finish()  # Telegram gets its 200 only now: the update is stored
        if new:
            self.web.poller.lanes.submit(Update.de_json(payload, self.web.app.bot))


def _update_payload(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        return None
    return data


class WebServer:
    """The HTTP side of one bot instance."""

    def __init__(self, app: AnyApplication, *, webhook_path: str | None = None) -> None:
        self.app = app
        self.core: Core = app.bot_data["core"]
        self.metrics: Metrics = app.bot_data["metrics"]
        self.poller = DurablePoller(app, shared=webhook_path is not None)
        settings = self.core.settings
        self.secret = (
            settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        )
        routes: list[Any] = [
            (r"/healthz", Health, {"web": self}),
            (r"/metrics", MetricsPage, {"web": self}),
            (r"/calendar/([A-Za-z0-9_-]{1,64})\.ics", CalendarFeed, {"web": self}),
        ]
        if webhook_path is not None:
            routes.append((f"/{webhook_path.strip('/')}", Webhook, {"web": self}))
        self._tornado = TornadoApp(routes, log_function=_quiet)
        self._server: HTTPServer | None = None
        self.port = 0
        # Updates still waiting at the last sweep (see `sweep`); the job finds the server here.
        self._waiting: set[int] = set()
        if webhook_path is not None:
            app.bot_data["webhook"] = self

    async def start(self, listen: str, port: int) -> int:
        """Listen (port 0: any free port); the port listened on. Updates stored but not
        handled before a crash are handled first."""
        self._server = HTTPServer(self._tornado, xheaders=True)
        self._server.listen(port, address=listen)
        self.port = port or _bound_port(self._server)
        return self.port

    async def recover(self) -> int:
        """Handle what was stored and not handled (after a crash); how many."""
        return await self.poller.handle_stored()

    async def sweep(self, limit: int = 500) -> int:
        """Handle the updates another instance stored and did not handle (it died between its
        200 and the handling): those waiting at the previous sweep and still waiting now, in
        each chat's order. A live instance's update that is merely queued may be picked too;
        it is handled once whoever gets there first (its handler claims its inbox row).
        Returns how many were handed to the lanes."""
        async with self.core.db.unit_of_work() as s:
            waiting = {r.update_id: r.payload for r in await InboxRepo(s).pending(limit)}
        stale = sorted(uid for uid in waiting if uid in self._waiting)
        self._waiting = set(waiting) - set(stale)
        for update_id in stale:
            payload = waiting[update_id]
            if payload is not None:
                self.poller.lanes.submit(Update.de_json(payload, self.app.bot))
        if stale:
            log.warning("%d stored update(s) left by another instance; handling them", len(stale))
        return len(stale)

    async def idle(self) -> None:
        """Wait until every update taken so far has been handled."""
        await self.poller.lanes.idle()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
        await self.poller.lanes.idle()


def _bound_port(server: HTTPServer) -> int:
    for sock in server._sockets.values():
        port: int = sock.getsockname()[1]
        return port
    return 0


def _quiet(handler: RequestHandler) -> None:
    """Access log without paths: a calendar path carries a person's secret."""
    status = handler.get_status()
    if status >= 500:
        log.warning("HTTP %d %s", status, handler.request.method)
