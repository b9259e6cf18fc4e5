"""A replica that is stopping (graceful stop, bot/jobs.py) answers registry hooks 503 with
Retry-After, so the registry retries and another replica takes the delivery; the delivery is
counted as `busy` on /metrics."""

from __future__ import annotations

from tests.bot.hooks import hookbots
from tests.bot.hooks.test_hook_runs import cluster_running, distribution_push


def test_a_draining_replica_answers_hooks_503_with_retry_after(
    hook_bots: hookbots.HookBots,
) -> None:
    cluster, _refs = cluster_running()
    bot = hook_bots.start(hookbots.config_with(hookbots.trigger_yaml()), cluster=cluster)

    bot.bot.services.runner.drain()
    answer = bot.post_distribution("reg", distribution_push("drain-1"))

    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) >= 1
    text = bot.metrics()
    assert 'myctl_bot_hook_deliveries_total{result="busy",trigger="reg"} 1' in text.splitlines()
    assert cluster.calls.patches == []
