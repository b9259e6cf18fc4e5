"""Processes of the local test infrastructure: free loopback ports, liveness, memory, and
stopping by pid.

Shared by the control plane (tests/support/controlplane.py), scripts/kube-local and bench/.
Everything here acts on pids it is given; nothing looks processes up by name.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import time
from collections.abc import Iterable
from pathlib import Path


def free_port() -> int:
    """A free loopback port, by binding port 0 (never a fixed port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kill_pids(pids: Iterable[int], grace: float = 5.0) -> None:
    """SIGTERM each pid, then SIGKILL the ones still alive after `grace` seconds."""
    alive = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
            alive.append(pid)
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _pid_alive(p)]
        if alive:
            time.sleep(0.05)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _pid_alive(pid: int) -> bool:
    # Reap our own children so they do not linger as zombies that look alive.
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # An orphan that exited but is not reaped yet (a zombie) has ended too.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def die_with_parent() -> None:
    """Linux PR_SET_PDEATHSIG: if the test process is SIGKILLed (CI timeout), atexit never
    runs; the kernel then kills the control plane instead of leaving it orphaned."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid still exists."""
    return _pid_alive(pid)


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (0 when gone), read from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
