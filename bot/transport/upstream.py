"""The front process's way to the bot's own HTTP server on loopback: a small pool of kept-alive
connections, and one request passed through as it came (docs/architecture.md, "the front
process"). Framework-free: the front imports nothing heavy.
"""

from __future__ import annotations

import http.client
import queue
from collections.abc import Iterable
from dataclasses import dataclass

# Hop-by-hop headers describe one connection, not the message: never passed on. The
# length is set again for the body actually sent; `Expect: 100-continue` was answered by the
# front's own server already.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "expect",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
# Seconds the bot's server may take to answer a passed-on request: registry hooks and /readyz
# answer within a few seconds; more means the bot's process is stuck, and 502 says so.
TIMEOUT = 30.0


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]  # without the hop-by-hop ones
    body: bytes
    close: bool  # the bot's server closes the connection: so does the front


class Upstream:
    def __init__(self, port: int, idle: int = 8) -> None:
        self._port = port
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue(idle)

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """A connection, and whether it was kept from an earlier request."""
        try:
            return self._idle.get_nowait(), True
        except queue.Empty:
            return http.client.HTTPConnection("127.0.0.1", self._port, timeout=TIMEOUT), False

    def _keep(self, connection: http.client.HTTPConnection) -> None:
        try:
            self._idle.put_nowait(connection)
        except queue.Full:
            connection.close()

    def pass_on(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | None,
        *,
        declared_length: str | None = None,
    ) -> Answer:
        """`body` None: the request's body was not read (its Content-Length, passed on as
        `declared_length`, is refused by the bot's server before it reads anything)."""
        while True:
            connection, kept = self._connection()
            try:
                return self._exchange(connection, method, target, headers, body, declared_length)
            except TimeoutError:
                connection.close()
                raise  # the request may have been taken: never sent twice
            except (http.client.HTTPException, OSError):
                connection.close()
                # A kept-alive connection the server has closed since fails at once, before
                # the request is taken: try again on a fresh one (were it taken after all, a
                # hook's delivery is de-duplicated: bot/hooks/delivery.py). A fresh one
                # failing is final.
                if not kept:
                    raise

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | None,
        declared_length: str | None,
    ) -> Answer:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                connection.putheader(name, value)
        length = str(len(body)) if body is not None else declared_length
        if length is not None:
            connection.putheader("Content-Length", length)
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        close = response.will_close or body is None
        if close:
            connection.close()
        else:
            self._keep(connection)
        kept = tuple((k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP)
        return Answer(response.status, kept, data, close)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
