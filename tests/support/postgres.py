"""A throwaway PostgreSQL server for tests, from Debian's `postgresql` package.

Register with ``-p tests.support.postgres`` (or ``pytest_plugins``). The session fixture
``postgres_url`` runs ``initdb`` in a temporary directory, starts the server on 127.0.0.1 on a
free port with its unix socket inside that directory, waits until it accepts connections,
creates a database and yields its SQLAlchemy URL. The server is stopped (``pg_ctl stop -m
immediate``) and the directory removed at the end of the session, also when tests fail.
``fresh_postgres_url`` gives each test its own empty database on that server.

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` system user
(created by the Debian package) via ``runuser``, and the temporary directory belongs to it.
Authentication is ``trust`` on loopback only: nothing but this machine can reach it, and no
password exists that could leak into a log.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin. "
    "Install Debian's package: `apt-get install -y postgresql` (.ci/run does this)."
)
# Seconds to wait for the server to accept connections; a cold start takes about one.
START_DEADLINE = 60.0
SUPERUSER = "postgres"


def find_bindir() -> Path | None:
    """The newest installed server's bin directory (or $MYCTL_PG_BINDIR)."""
    override = os.environ.get("MYCTL_PG_BINDIR")
    candidates = [override] if override else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="myctl-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port = 0
        self._as_root = os.geteuid() == 0
        self.sockets.mkdir()
        if self._as_root:
            try:
                owner = pwd.getpwnam(SUPERUSER)
            except KeyError:
                pytest.fail(f"running as root but there is no {SUPERUSER!r} user. {INSTALL_HINT}")
            for path in (self.root, self.sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n"
                f"{self._log_tail()}"
            )
        return result

    def _log_tail(self) -> str:
        try:
            return "server log:\n" + self.log.read_text()[-4000:]
        except OSError:
            return ""

    def start(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
            "--no-sync", "--locale=C",
        )  # fmt: skip
        # A free port can be taken between probing and binding; try a few.
        for _attempt in range(5):
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} "
                "-c fsync=off -c full_page_writes=off -c max_connections=200"
            )
            started = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "start",
                check=False,
            )  # fmt: skip
            if started.returncode == 0 and self._wait_ready():
                return
            self.stop()
        raise RuntimeError(f"PostgreSQL did not start.\n{self._log_tail()}")

    def _wait_ready(self) -> bool:
        import psycopg

        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)  # polling interval while the server starts, not a fixed wait
        return False

    def dsn(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def restart(self) -> None:
        """Start again after `stop()`, on the same port and data (tests of an outage)."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "start")
        if not self._wait_ready():
            raise RuntimeError(f"PostgreSQL did not start again.\n{self._log_tail()}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "stop", "-m", "immediate", check=False)

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(INSTALL_HINT)
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL of a database on the session's throwaway server."""
    return postgres_server.create_database("myctl_test")


@pytest.fixture
def fresh_postgres_url(postgres_server: PostgresServer) -> str:
    """A new empty database per test, so tests never see each other's rows."""
    return postgres_server.create_database(f"myctl_{uuid.uuid4().hex[:12]}")
