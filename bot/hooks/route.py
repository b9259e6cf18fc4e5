"""`POST /hooks/NAME`: the HTTP glue between a transport and `handler.handle`.

Framework-free, like the rest of bot/hooks: the transport passes the method, path, raw query,
headers and the body stream, and writes back the `Reply`. In this order:

    body read, at most 1 MiB (413 before reading when Content-Length says more)
    · 404 for a name no trigger has (no detail, not audited: there is no trigger to label it)
    · `handler.handle` · counted (bot/hooks/metrics.py) · audited (`hook.delivery`)
    · accepted → the run driver is woken (bot/hooks/runner.py)

Nothing here logs the query string: Docker Hub and Quay send the secret in it (`?token=`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bot.hooks import handler, metrics, request
from commands.values import triggers

log = logging.getLogger(__name__)

PREFIX = "/hooks/"
_TEXT = (("Content-Type", "text/plain; charset=utf-8"),)

# Records one delivery's outcome in the audit trail; must not raise (the caller logs nothing
# of the request if it does, and the answer is still given).
Audit = Callable[[triggers.Trigger, handler.Response], None]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    # The body was not read (too large): the connection must close, or its unread bytes would
    # be taken for the next request.
    close: bool = False


def is_hook(path: str) -> bool:
    """Whether the path (without its query) is a hook endpoint's."""
    return path.startswith(PREFIX)


class Hooks:
    """Every trigger's endpoint, with what a delivery needs."""

    def __init__(
        self,
        configured: Iterable[triggers.Trigger],
        secrets: Mapping[str, str],
        *,
        services: handler.Services,
        counters: metrics.HookMetrics,
        audit: Audit,
        on_accepted: Callable[[], None],
    ) -> None:
        self._triggers = {trigger.name: trigger for trigger in configured}
        missing = [name for name in self._triggers if not secrets.get(name)]
        if missing:
            raise ValueError(f"no secret for trigger(s) {', '.join(sorted(missing))}")
        self._secrets = dict(secrets)
        self.services = services
        self.metrics = counters
        self._audit = audit
        self._on_accepted = on_accepted

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._triggers)

    def trigger(self, name: str) -> triggers.Trigger | None:
        return self._triggers.get(name)

    def serve(
        self,
        *,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        body: request.Body,
    ) -> Reply:
        lowered = request.lower_headers(headers)
        trigger = self._triggers.get(path.removeprefix(PREFIX)) if is_hook(path) else None
        try:
            length = request.check_length(lowered)
        except (request.TooLarge, request.BadLength) as exc:
            status = 413 if isinstance(exc, request.TooLarge) else 400
            return self._finish(trigger, handler.Response(status, handler.Result.INVALID), True)
        raw = b""
        if method.upper() == "POST":
            try:
                raw = request.read_body(body, length)
            except request.TooLarge:
                response = handler.Response(413, handler.Result.INVALID, "body over 1 MiB")
                return self._finish(trigger, response, True)
        if trigger is None:
            return Reply(404, _TEXT, b"not found\n")
        response = handler.handle(
            trigger,
            self._secrets[trigger.name],
            method=method,
            headers=lowered,
            query=query,
            body=raw,
            services=self.services,
        )
        return self._finish(trigger, response, False)

    def _finish(
        self, trigger: triggers.Trigger | None, response: handler.Response, close: bool
    ) -> Reply:
        if trigger is None:
            # Too large for a name we do not know: refuse without saying whether it exists.
            return Reply(response.status, _TEXT, b"refused\n", close=close)
        self.metrics.delivery(trigger.name, response.result.value)
        self._audit(trigger, response)
        if response.result is handler.Result.ACCEPTED:
            self._on_accepted()
        log.info(
            "hook %s: %d %s%s",
            trigger.name,
            response.status,
            response.result.value,
            f" ({response.reason})" if response.reason else "",
        )
        return Reply(response.status, response.headers, response.body(), close=close)
