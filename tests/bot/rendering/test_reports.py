"""Block Kit rendering of reports, tested as data against Slack's limits."""

from __future__ import annotations

import datetime as dt

from bot.rendering import blocks
from bot.rendering import reports as rendering
from commands.engine import reports, rollout
from commands.values import config, results, workloads
from tests.support import slack_blocks

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
Kind = workloads.Kind


def _ref(i: int) -> workloads.WorkloadRef:
    return workloads.WorkloadRef(Kind.DEPLOYMENT, f"ns{i % 7}", f"app-{i:04d}")


def _big_report() -> reports.Report:
    images = tuple(
        reports.ImageUse(
            f"registry.example.com/team/service-{i:04d}:v{i}", tuple(_ref(j) for j in range(i % 9))
        )
        for i in range(400)
    )
    problems = tuple(
        reports.RolloutProblem(_ref(i), rollout.State.IN_PROGRESS, "0 of 3 updated replicas", 3)
        for i in range(300)
    )
    failures = tuple(
        reports.RunLine("restart", "U1", "slack", NOW, 1, "finished", "x" * 400) for _ in range(80)
    )
    return reports.Report(
        name="morning",
        generated_at=NOW,
        scope="all namespaces except kube-system; kinds Deployment",
        kinds=config.REPORT_KINDS,
        cache=reports.CacheHealth(
            True, "", results.CacheStats("2026-01-05T08:55:00Z", 300, 400, 2000, 90_000, True)
        ),
        images=reports.Images(images, 2000),
        rollouts=reports.Rollouts(2000, problems),
        activity=reports.Activity(NOW, 80, (reports.CommandCount("restart", 1, 80),), failures),
    )  # fmt: skip


def test_first_line_carries_the_overall_emoji() -> None:
    healthy = reports.Report("m", NOW, "scope", ("rollouts",), rollouts=reports.Rollouts(3, ()))
    rendered = rendering.render(healthy)
    first = rendered.blocks[0]["text"]["text"]
    assert first.startswith(":large_green_circle:")
    assert rendered.text.startswith(":large_green_circle: myctl report m: all healthy")
    attention = rendering.render(_big_report())
    assert attention.blocks[0]["text"]["text"].startswith(":large_yellow_circle:")
    broken = reports.Report(
        "m", NOW, "s", ("images",), errors=(reports.SectionError("images", "API down"),)
    )
    error = rendering.render(broken)
    assert error.blocks[0]["text"]["text"].startswith(":red_circle:")
    assert (
        slack_blocks.of_type(error.blocks, "section")[-1]
        == "*Could not gather*\n• images: API down"
    )


def test_large_report_stays_within_slack_limits_and_attaches_the_full_list() -> None:
    rendered = rendering.render(_big_report())
    assert slack_blocks.validate_blocks(rendered.blocks) == []
    assert len(rendered.blocks) <= blocks.MAX_BLOCKS
    for block in rendered.blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= blocks.MAX_SECTION_TEXT
    rollouts = [t for t in slack_blocks.of_type(rendered.blocks, "section") if "*Rollouts*" in t]
    assert rollouts[0].endswith("…and 285 more")  # rollouts beyond the top 15
    assert rendered.attachment is not None
    assert rendered.attachment.content.count("registry.example.com/team/service-") == 400
    assert "    ns1/deployment/app-0001" in rendered.attachment.content
    assert rendered.attachment.filename == "myctl-morning-images-20260105T090000Z.txt"


def test_top_images_are_shown_with_where_they_run() -> None:
    uses = (
        reports.ImageUse("docker.io/library/nginx:1.27", (_ref(1), _ref(2))),
        reports.ImageUse("docker.io/library/redis:7", (_ref(3),)),
    )
    report = reports.Report("m", NOW, "s", ("images",), images=reports.Images(uses, 3))
    rendered = rendering.render(report)
    section = rendered.blocks[2]["text"]["text"]
    assert "`docker.io/library/nginx:1.27` ×2: ns1/app-0001, ns2/app-0002" in section
    assert rendered.attachment is None  # everything fits: no file


def test_stuck_rollout_and_failures_read_plainly() -> None:
    ref = workloads.WorkloadRef(Kind.DEPLOYMENT, "shop", "api")
    problem = reports.RolloutProblem(ref, rollout.State.FAILED, "exceeded its progress deadline", 2)
    failure = reports.RunLine("restart", "U42", "slack", NOW, 3, "finished", "<!channel> oops")
    report = reports.Report(
        "m", NOW, "s", ("rollouts", "activity"),
        rollouts=reports.Rollouts(5, (problem,)),
        activity=reports.Activity(NOW, 1, (reports.CommandCount("restart", 3, 1),), (failure,)),
    )  # fmt: skip
    shown = rendering.render(report).blocks
    assert [block["type"] for block in shown] == [
        "section", "divider", "section", "divider", "section", "context"
    ]  # fmt: skip
    rollouts, activity = shown[2]["text"]["text"], shown[4]["text"]["text"]
    assert rollouts.splitlines()[1] == (
        ":red_circle: `shop/deployment/api`: exceeded its progress deadline, 2 unavailable"
    )
    assert "• `restart`: 1× exit 3" in activity.splitlines()
    failure_line = activity.splitlines()[-1]
    assert "by <@U42>" in failure_line
    assert "<!channel>" not in failure_line  # a run summary cannot ping a channel
    assert "&lt;!channel&gt; oops" in failure_line
