"""Block Kit for scheduled reports: one message, within Slack's limits, plus an optional file.

Tested as data (tests/bot/rendering/test_reports.py). The first line carries the overall state's
emoji; long lists are cut to a readable top N, and the full image list goes into a text file
that the caller uploads with `files_upload_v2` next to the message.
"""

from __future__ import annotations

import datetime as dt

from bot.rendering import blocks
from bot.rendering.blocks import Attachment, Block, Rendered
from commands.engine import reports, rollout
from commands.values import durations

# Ten images and ten problems fit a phone screen; the rest is one click away in the file.
TOP_IMAGES = 10
TOP_PROBLEMS = 15
TOP_FAILURES = 10
# Where each image runs: the first few workloads, then "+N more" (the file has all of them).
WHERE_SHOWN = 3

# The overall state's emoji and words, first in the report's first line.
OVERALL = {
    reports.Overall.HEALTHY: (":large_green_circle:", "all healthy"),
    reports.Overall.ATTENTION: (":large_yellow_circle:", "needs attention"),
    reports.Overall.ERROR: (":red_circle:", "error"),
}


def render(
    report: reports.Report, *, top_images: int = TOP_IMAGES, tick: dt.datetime | None = None
) -> Rendered:
    overall = report.overall
    mark, words = OVERALL[overall]
    headline = f"{mark} myctl report *{report.name}*: {words}"
    shown: list[Block] = [blocks.section(headline)]
    file: Attachment | None = None
    for kind in report.kinds:
        shown.append(blocks.divider())
        if kind == "cache" and report.cache is not None:
            shown.append(blocks.section(_cache(report.cache)))
        elif kind == "images" and report.images is not None:
            text, truncated = _images(report.images, top_images)
            shown.append(blocks.section(text))
            if truncated:
                file = _image_file(report)
        elif kind == "rollouts" and report.rollouts is not None:
            shown.append(blocks.section(_rollouts(report.rollouts)))
        elif kind == "activity" and report.activity is not None:
            shown.append(blocks.section(_activity(report.activity)))
        else:
            shown.pop()  # the section failed; its error is listed below
    if report.errors:
        shown.append(blocks.divider())
        lines = [f"• {e.kind}: {e.message}" for e in report.errors]
        shown.append(blocks.section("*Could not gather*\n" + "\n".join(lines)))
    context = f"Scope: {report.scope} · generated {blocks.date(report.generated_at)}"
    if tick is not None:
        context += f" · tick {blocks.date(tick)}"
    shown.append(blocks.context(context))
    # Fixed sections make this at most ~12 blocks; the guard keeps it true if kinds grow.
    return Rendered(headline.replace("*", ""), blocks.within_limit(shown), file)


# ---------------------------------------------------------------- sections
def _cache(cache: reports.CacheHealth) -> str:
    stats = cache.stats
    if cache.unknown:
        return f"*Cache* :red_circle: cannot tell: {cache.reason}"
    state = "valid" if cache.valid else f"needs rebuild: {cache.reason}"
    lines = [f"*Cache* {':white_check_mark:' if cache.valid else ':warning:'} {state}"]
    if stats.built_at:
        age = durations.format_seconds(stats.age_seconds) if stats.age_seconds is not None else "?"
        gzip = " (gzip)" if stats.compressed else ""
        lines.append(
            f"built {stats.built_at} ({age} ago) · {blocks.size(stats.size_bytes)}{gzip} · "
            f"{stats.images} images · {stats.workloads} workloads indexed"
        )
    return "\n".join(lines)


def _images(images: reports.Images, top: int) -> tuple[str, bool]:
    shown = images.top(top)
    lines = [f"*Images* {len(images.images)} images in {images.workloads} workloads"]
    for use in shown:
        where = ", ".join(f"{r.namespace}/{r.name}" for r in use.workloads[:WHERE_SHOWN])
        more = len(use.workloads) - WHERE_SHOWN
        if more > 0:
            where += f" +{more} more"
        lines.append(f"• `{use.image}` ×{len(use.workloads)}: {where}")
    truncated = len(images.images) > len(shown) or any(
        len(use.workloads) > WHERE_SHOWN for use in shown
    )
    if truncated:
        lines.append("_The full list is in the attached file._")
    return blocks.fit_lines(lines), truncated


def _rollouts(rollouts: reports.Rollouts) -> str:
    if not rollouts.problems:
        return f"*Rollouts* :white_check_mark: all {rollouts.checked} workloads rolled out"
    lines = [f"*Rollouts* {len(rollouts.problems)} of {rollouts.checked} workloads need a look"]
    for problem in rollouts.problems[:TOP_PROBLEMS]:
        mark = ":red_circle:" if problem.state is rollout.State.FAILED else ":hourglass:"
        unavailable = f", {problem.unavailable} unavailable" if problem.unavailable else ""
        lines.append(f"{mark} `{problem.ref.slug}`: {problem.message}{unavailable}")
    if len(rollouts.problems) > TOP_PROBLEMS:
        lines.append(f"…and {len(rollouts.problems) - TOP_PROBLEMS} more")
    return blocks.fit_lines(lines)


def _activity(activity: reports.Activity) -> str:
    head = f"*Activity* since {blocks.date(activity.since)}: "
    if not activity.total:
        return head + "no runs"
    by_command: dict[str, list[str]] = {}
    for count in activity.counts:
        code = "running" if count.exit_code is None else f"exit {count.exit_code}"
        by_command.setdefault(count.command, []).append(f"{count.count}× {code}")
    lines = [head + f"{activity.total} runs"]
    lines += [f"• `{command}`: {', '.join(parts)}" for command, parts in by_command.items()]
    if activity.failures:
        lines.append(f"*Failures* ({len(activity.failures)})")
        for run in activity.failures[:TOP_FAILURES]:
            code = run.state if run.exit_code is None else f"exit {run.exit_code}"
            who = f" by <@{run.user}>" if run.user.startswith(("U", "W")) else ""
            when = blocks.date(run.started_at)
            lines.append(f":x: {when} `{run.command}` {code}{who}: {_plain(run.summary)}")
        if len(activity.failures) > TOP_FAILURES:
            lines.append(f"…and {len(activity.failures) - TOP_FAILURES} more")
    return blocks.fit_lines(lines)


def _image_file(report: reports.Report) -> Attachment:
    assert report.images is not None
    lines = [f"# myctl report {report.name}: images ({blocks.utc(report.generated_at)})", ""]
    for use in report.images.images:
        lines.append(f"{use.image}  ({len(use.workloads)})")
        lines += [f"    {ref.slug}" for ref in use.workloads]
    stamp = report.generated_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Attachment(
        filename=f"myctl-{report.name}-images-{stamp}.txt",
        title=f"Images in scope ({len(report.images.images)})",
        content="\n".join(lines) + "\n",
    )


# ---------------------------------------------------------------- helpers
def _plain(text: str) -> str:
    """Run summaries are user input echoed back: no mentions or links may be triggered."""
    return blocks.clip(blocks.escape(text), 300)
