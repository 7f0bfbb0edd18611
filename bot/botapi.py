"""The HTTP client for Telegram's Bot API: python-telegram-bot's `BaseRequest` over aiohttp.

python-telegram-bot's own `HTTPXRequest` spent most of the bot's CPU per update (issue 15,
docs/benchmarks.md): about 1 ms a call on this machine's 2 cores against a local server, 1.8 ms
with 16 calls at a time (httpcore's pool checks every pooled connection, a system call each,
twice per call, and looks for the optional `sniffio` module on disk every time). aiohttp makes
the same call for 0.1–0.2 ms. The requests are the same: form fields as python-telegram-bot
encodes them (`RequestData.json_parameters`), multipart when a file goes up, the library's
User-Agent; python-telegram-bot itself turns status codes into its errors (a 429 into
`RetryAfter`). Timeouts keep python-telegram-bot's meanings as far as aiohttp has them:

- `connect_timeout`: to open a new connection (`sock_connect`);
- `pool_timeout` + `connect_timeout`: to have a connection at all, free or new (`connect`);
- `read_timeout`: between two pieces of the answer (`sock_read`);
- `write_timeout`: aiohttp has no timeout of its own for sending, so the sum of the four
  bounds the whole call (`total`) when all four are set.

Any timeout is `TimedOut`; any other failure of aiohttp's is `NetworkError`, named as
python-telegram-bot names httpx's ("aiohttp.ClientConnectorError: …").
"""

from __future__ import annotations

import ssl

import aiohttp
import certifi
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# python-telegram-bot's defaults for the same settings (HTTPXRequest).
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0


class AiohttpRequest(BaseRequest):
    """One pool of connections to the Bot API; python-telegram-bot initialises and shuts it
    down with the bot (the getUpdates long poll gets a pool of its own, as with httpx)."""

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = READ_TIMEOUT,
        write_timeout: float | None = WRITE_TIMEOUT,
        connect_timeout: float | None = CONNECT_TIMEOUT,
        pool_timeout: float | None = POOL_TIMEOUT,
        media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # The same certificate authorities httpx trusts, not whatever the host has.
            context = ssl.create_default_context(cafile=certifi.where())
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=context),
                headers={"User-Agent": self.USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets none; keep none
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        read = self._read if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool if isinstance(pool_timeout, DefaultValue) else pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write = self._media_write if files else self._write
        else:
            write = write_timeout
        timeout = aiohttp.ClientTimeout(
            total=_sum(pool, connect, write, read),
            connect=_sum(pool, connect),
            sock_connect=connect,
            sock_read=read,
        )
        data: aiohttp.FormData | dict[str, str] | None = fields or None
        if files:
            form = aiohttp.FormData()
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            data = form
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as answer:
                return answer.status, await answer.read()
        except TimeoutError as err:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err


def _sum(*parts: float | None) -> float | None:
    """The parts' sum, or None (no limit) when any of them is None."""
    return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
