"""A TCP proxy the fault tests put between the app and PostgreSQL or Redis, and cut: a real outage for the
processes behind it, and for nobody else using the same servers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.engine import make_url


class TcpProxy:
    """Listens on 127.0.0.1:<port> and pipes each connection to `target` ("host:port" or a unix socket path).
    `cut()` drops every open connection and refuses new ones; `silence()` drops them too but then accepts new
    ones and never answers (a hung server, or a middlebox that takes the connection); `restore()` puts back
    the normal pipe on the same port."""

    def __init__(self, target: str):
        self.target = target
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port: int = s.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._silent = False

    def start(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def stop(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def cut(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cut(), self._loop).result(5)

    def silence(self) -> None:
        self.cut()
        self._silent = True
        self.restore()

    def restore(self) -> None:
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(5)

    def unsilence(self) -> None:
        self.cut()  # the held connections go, as when the hung server finally dies
        self._silent = False
        self.restore()

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()  # a reset, as when a server dies, not a polite close
        self._writers.clear()

    async def _open_target(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.target.startswith("/"):
            return await asyncio.open_unix_connection(self.target)
        host, _, port = self.target.rpartition(":")
        return await asyncio.open_connection(host, int(port))

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._silent:  # hold the connection open and say nothing
            self._writers.add(client_writer)
            return
        try:
            server_reader, server_writer = await self._open_target()
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, server_writer}
        await asyncio.gather(_pipe(client_reader, server_writer), _pipe(server_reader, client_writer))
        self._writers -= {client_writer, server_writer}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.CancelledError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


def database_target(database_url: str) -> str:
    """Where a PostgreSQL URL points, as "host:port"."""
    url = make_url(database_url)
    return f"{url.host or '127.0.0.1'}:{url.port or 5432}"


def redis_target(redis_url: str) -> tuple[str, int]:
    """Where a Redis URL points ("host:port" or a unix socket path) and its database number."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        return parts.path, int(parse_qs(parts.query).get("db", ["0"])[0])
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}", int(parts.path.strip("/") or 0)


def proxied_database_url(database_url: str, port: int) -> str:
    return make_url(database_url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
