"""Registry webhooks (`POST /hooks/NAME`, docs/triggers.md): a push becomes a verified rollout.

The building blocks between an HTTP request and a run, each pure and framework-free so that
either transport can call them: authentication per registry (`auth`), payload parsers written
from each registry's documentation (`sources`), the `images`/`tags` policy (`policy`), burst
coalescing with one follow-up per image (`coalesce`), a per-trigger rate limit (`ratelimit`),
and `handler.handle`, which turns one request into one response decision. See docs/triggers.md.

Must not: import Slack (slack_bolt, slack_sdk), click, APScheduler or Kubernetes; do I/O of its
own (the caller passes the body, the clock, the de-duplication claim and the runner's state);
parse anything of a request before it is authenticated; or put a secret, or any part of one,
into a response, a log line, a metric or an error.
"""
