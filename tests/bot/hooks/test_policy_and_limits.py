"""The images/tags policy, the per-trigger rate limit and the hook metrics."""

from __future__ import annotations

from bot.hooks import metrics, policy, push, ratelimit
from commands.values import clock as clocks
from tests.bot.hooks.support import trigger

Push = push.Push


def test_a_push_outside_images_or_tags_is_ignored_with_the_reason() -> None:
    rule = trigger(images=("ghcr.io/acme/*",), tags=("v*", "main"))
    inside = Push("ghcr.io/acme/api", "v1.0", None)
    nested = Push("ghcr.io/acme/team/api", "main", None)
    other_owner = Push("ghcr.io/evil/api", "v1.0", None)
    other_tag = Push("ghcr.io/acme/api", "latest", None)
    verdict = policy.evaluate(rule, (inside, nested, other_owner, other_tag))
    assert verdict.accepted == (inside, nested)
    assert [(i.push, i.reason) for i in verdict.ignored] == [
        (other_owner, "ghcr.io/evil/api matches none of images"),
        (other_tag, "tag 'latest' matches none of tags"),
    ]


def test_globs_compare_with_the_normalized_repository_and_are_case_sensitive() -> None:
    nginx = Push("docker.io/library/nginx", "1.27", None)
    assert policy.evaluate(trigger(images=("docker.io/library/nginx",)), (nginx,)).accepted
    assert not policy.evaluate(trigger(images=("nginx",)), (nginx,)).accepted
    assert not policy.evaluate(trigger(images=("docker.io/library/NGINX",)), (nginx,)).accepted


def test_the_rate_limit_allows_n_runs_in_any_hour() -> None:
    clock = clocks.FakeClock()
    limiter = ratelimit.RateLimiter(clock)
    assert [limiter.try_acquire("t", 3) for _ in range(4)] == [True, True, True, False]
    assert limiter.retry_after("t", 3) == 3600
    clock.advance(1800)
    assert not limiter.try_acquire("t", 3)
    assert limiter.retry_after("t", 3) == 1800
    clock.advance(1800)  # the first three are now an hour old: the window slid past them
    assert limiter.retry_after("t", 3) == 0
    assert limiter.try_acquire("t", 3)


def test_the_rate_limit_is_per_trigger() -> None:
    limiter = ratelimit.RateLimiter(clocks.FakeClock())
    assert limiter.try_acquire("a", 1)
    assert not limiter.try_acquire("a", 1)
    assert limiter.try_acquire("b", 1)


def test_hook_metrics_count_deliveries_by_result_and_runs_by_exit_code() -> None:
    counters = metrics.HookMetrics()
    counters.delivery("ghcr-acme", "accepted")
    counters.delivery("ghcr-acme", "accepted")
    counters.delivery("ghcr-acme", "unauthorized")
    counters.run_finished("ghcr-acme", 0)
    lines = counters.render()
    assert 'myctl_bot_hook_deliveries_total{result="accepted",trigger="ghcr-acme"} 2' in lines
    assert 'myctl_bot_hook_deliveries_total{result="unauthorized",trigger="ghcr-acme"} 1' in lines
    assert 'myctl_bot_hook_runs_total{exit_code="0",trigger="ghcr-acme"} 1' in lines
    assert "# TYPE myctl_bot_hook_deliveries_total counter" in lines


def test_an_unknown_delivery_result_is_a_programming_error() -> None:
    counters = metrics.HookMetrics()
    try:
        counters.delivery("t", "maybe")
    except ValueError:
        return
    raise AssertionError("an unknown result must not become a new series")
