"""Hypothesis strategies for hostile Slack text, shared by the property tests in tests/attacks.

Generated texts mix what users really type (subcommands, flags in any position, image refs) with
what Slack does to it (curly quotes, long dashes, `<…|…>` link and `<@U…>` mention markup,
HTML escapes) and with plain noise (any unicode, unbalanced quotes, very long input).
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st

# A fixed, derandomized profile: the same examples on every run, and the whole property suite
# well under 30 s on the shared CI machine (docs/reliability.md).
FEW = settings(max_examples=40, deadline=None, derandomize=True)
MID = settings(max_examples=120, deadline=None, derandomize=True)
MANY = settings(max_examples=400, deadline=None, derandomize=True)

WORDS = (
    "orchestrate", "check", "rebuild", "select", "restart", "rollback", "version", "completion",
    "help", "history", "report", "schedules", "bash", "deployment/api", "statefulset/db",
    "--image", "--dry-run", "--output", "json", "text", "-o", "-n", "shop", "--namespace",
    "-A", "--all-namespaces", "-l", "app=x", "--match", "repository", "--wait", "--timeout",
    "5m", "--canary", "2", "--max-targets", "0", "--concurrency", "-1", "--force", "--run",
    "--pin-digest", "--expect-digest", "sha256:" + "a" * 64, "--allow-stale-pull",
    "--kubeconfig", "/etc/passwd", "--context=x", "--config", "--cache-namespace",
    "--cache-name", "--progress", "-h", "--help", "--", "-", "nginx", "nginx:1.27",
    "registry.example.com:5000/team/api:1.4.2@sha256:" + "b" * 64, "UPPER/Case:tag",
    "ghcr.io/acme/api", "a" * 300,
)  # fmt: skip
QUIRKS = (
    "“", "”", "„", "‘", "’", "—", "–", "\u00a0", '"', "'", "\\", "&amp;", "&lt;", "&gt;",
    "<@U123|alice>", "<@W9>", "<#C42|ops>", "<!subteam^S77|@oncall>", "<!here>",
    "<http://x|x>", "<https://registry.example.com/a:1|registry.example.com/a:1>", "<mailto:a@b>",
    "<>", "<|>", "<http://", "=", "\n", "\t", "\x00", "\u202e", "🙂",
)  # fmt: skip

token = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(QUIRKS),
    st.builds(lambda q, w: q + w, st.sampled_from(QUIRKS), st.sampled_from(WORDS)),
    st.builds(lambda w, q: w + q, st.sampled_from(WORDS), st.sampled_from(QUIRKS)),
    st.text(max_size=12),
)
separator = st.sampled_from((" ", " ", "  ", "\n", "\t", "", "\u00a0"))


@st.composite
def slack_texts(draw: st.DrawFn) -> str:
    """One `/myctl` text: tokens in any order with Slack's quirks, or unicode noise."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.text(max_size=200))
    if kind == 1:  # very long: thousands of tokens, or one huge one
        word = draw(st.sampled_from(WORDS))
        return " ".join([word] * draw(st.integers(500, 3000)))
    parts = draw(st.lists(token, max_size=14))
    seps = draw(st.lists(separator, min_size=len(parts), max_size=len(parts)))
    return "".join(p + s for p, s in zip(parts, seps, strict=True))
