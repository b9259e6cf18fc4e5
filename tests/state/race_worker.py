"""Runs in a separate process (multiprocessing, spawn): one bot replica racing on approvals.

Each process opens its own StateStore (its own engine and connections), as a second bot
replica would. Module-level so `spawn` can import it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from commands.state import store as store_mod


def race(url: str, ids: list[str], actor: str, barrier: Any, results: Any) -> None:
    store = store_mod.StateStore(url)
    try:
        for approval_id in ids:
            barrier.wait(timeout=60)  # both replicas click the same request at the same moment
            now = dt.datetime.now(dt.UTC)
            outcome = store.decide(approval_id, decision="approve", actor=actor, now=now)
            claimed = store.claim_execution(approval_id)
            results.put((approval_id, actor, outcome.status.value, claimed))
    finally:
        store.close()
