"""The public HTTP port when the front process serves it (the default: MYCTL_BOT_FRONT).

This process binds the port and keeps it; the front process (bot/transport/front.py) inherits
the listening socket and answers on it. Behind it, on loopback, the bot's own server
(bot/transport/http.py) answers what the front passes through, and the frames it hands over
are dispatched here, through the same bolt app, on a few threads of their own. Should the
front process die, another is started on the same socket: Slack's retries, and the listen
backlog meanwhile, lose nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from slack_bolt.request import BoltRequest

from bot import app as app_mod
from bot import config as config_mod
from bot.transport import frames, http

log = logging.getLogger(__name__)

# As bot/transport/http.py's server: Slack delivers bursts.
BACKLOG = 128
# Threads that dispatch the frames: the listener parses and submits (about a millisecond), but
# a usage error, help or "busy" is answered through response_url, a Slack call, meanwhile.
DISPATCHERS = 4
# Seconds between restarts of a front process that keeps dying.
RESTART_PAUSE = 1.0
# Seconds the front process gets to exit after its standard input closed.
STOP_TIMEOUT = 5.0


def dispatch(bot: app_mod.Bot, frame: frames.Frame) -> None:
    """One request the front acked: the listeners know not to ack again (bot/app.py)."""
    request = BoltRequest(
        body=frame.body,
        headers=dict(frame.headers),
        context={"myctl_ack_seconds": frame.ack_seconds},
    )
    try:
        response = bot.app.dispatch(request)
    except Exception as exc:  # bolt answered the front's ack already: log, never raise
        log.warning("a request the front acked failed here: %s", type(exc).__name__)
        return
    if response.status != 200:
        log.warning("a request the front acked was refused here: HTTP %d", response.status)


class FrontDoor:
    """Serves the bot on `port` (0 = any free port; see `.port`) through a front process."""

    def __init__(
        self,
        bot: app_mod.Bot,
        port: int,
        signing_secret: str,
        host: str = "0.0.0.0",
        *,
        log_format: str = "text",
    ) -> None:
        self._bot = bot
        self._signing_secret = signing_secret
        self._log_format = log_format  # the bot's (bot/config.py:log_format)
        self._listener = socket.create_server((host, port), backlog=BACKLOG)
        self._inner = http.HttpServer(bot, 0, host="127.0.0.1")
        self._dispatchers = ThreadPoolExecutor(DISPATCHERS, thread_name_prefix="myctl-front")
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._spawning = threading.Lock()  # a replacement never starts while `stop` runs
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def pid(self) -> int | None:
        """The front process's, while one runs."""
        return self._process.pid if self._process is not None else None

    def start(self) -> FrontDoor:
        self._inner.start()
        self._spawn()
        watch = threading.Thread(target=self._supervise, name="front-watch", daemon=True)
        watch.start()
        self._threads.append(watch)
        return self

    def _spawn(self) -> None:
        # A socket pair per front process: one that died mid-frame cannot garble the next's.
        ours, theirs = socket.socketpair()
        fds = (self._listener.fileno(), theirs.fileno())
        environ = {k: v for k, v in os.environ.items() if k not in config_mod.SECRET_VARIABLES}
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.transport.front",
                *map(str, fds),
                str(self._inner.port),
                self._log_format,
            ],
            pass_fds=fds,
            stdin=subprocess.PIPE,
            env=environ,
        )
        assert self._process.stdin is not None
        self._process.stdin.write(self._signing_secret.encode("utf-8") + b"\n")
        self._process.stdin.flush()  # kept open: the front exits when it closes
        theirs.close()  # the front's now: its exit ends `ours` (EOF)
        receive = threading.Thread(
            target=self._receive, args=(ours,), name="front-frames", daemon=True
        )
        receive.start()
        self._threads.append(receive)

    def _receive(self, ours: socket.socket) -> None:
        try:
            for frame in frames.read(ours):
                self._dispatchers.submit(dispatch, self._bot, frame)
        except (OSError, ValueError, KeyError) as exc:
            if not self._stopping.is_set():
                log.error("the front's hand-over broke: %s", type(exc).__name__)
        finally:
            ours.close()

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set():
                return
            log.warning("the front process exited (%s); starting another", code)
            time.sleep(RESTART_PAUSE)
            with self._spawning:
                if self._stopping.is_set():
                    return
                assert process.stdin is not None
                process.stdin.close()
                self._spawn()

    def stop(self) -> None:
        with self._spawning:
            self._stopping.set()
            process = self._process
        if process is not None:
            assert process.stdin is not None
            process.stdin.close()  # the front exits at EOF (front.py)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._listener.close()
        for thread in self._threads:
            thread.join(STOP_TIMEOUT)  # the frames the front handed over are dispatched
        self._dispatchers.shutdown(wait=True)
        self._inner.stop()
