"""`myctl --help` and `myctl version` wall time, and the import-time top offenders.
Target (docs/benchmarks.md): ≤ 150 ms (import heavy libraries lazily).

    .venv/bin/python -m bench.cli_startup [--runs 20]

No cluster needed. Each run is a fresh process (subprocess), so the figure includes the
interpreter's own start; `python -c pass` is printed as the floor nobody can go under.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass

from bench import common

# Third-party packages that must not load for --help/version (the cluster and Slack clients).
HEAVY = ("kubernetes", "urllib3", "requests", "slack_bolt", "slack_sdk", "apscheduler", "yaml")
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")


@dataclass(frozen=True)
class Import:
    module: str
    self_us: int
    cumulative_us: int
    depth: int


def import_times(argv: list[str]) -> list[Import]:
    """Parse `python -X importtime` output for one run of argv (a Python script and args)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        env=common.child_env(),
        check=False,
    )
    out = []
    for line in proc.stderr.splitlines():
        m = LINE.match(line)
        if m:
            out.append(Import(m[4], int(m[1]), int(m[2]), len(m[3]) // 2))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {common.machine()}", flush=True)
    env = common.child_env()
    commands = {
        "`python -c pass` (interpreter floor)": [sys.executable, "-c", "pass"],
        "`myctl --help`": [common.MYCTL, "--help"],
        "`myctl version`": [common.MYCTL, "version"],
        "`myctl restart --help`": [common.MYCTL, "restart", "--help"],
    }
    rows = []
    for label, argv in commands.items():
        common.run_timed(argv, env=env)  # warm the page cache and .pyc files
        s = common.Stats.of([common.run_timed(argv, env=env)[0] for _ in range(args.runs)])
        target = "" if "floor" in label or "restart" in label else "≤ 150 ms"
        verdict = "" if not target else ("met" if s.median <= 0.150 else "**missed**")
        rows.append([label, common.ms(s.median), common.ms(s.p90), common.ms(s.minimum), s.n,
                     target, verdict])  # fmt: skip
    common.table(
        "CLI start-up, fresh process each run",
        ["command", "median", "p90", "min", "runs", "target", ""],
        rows,
    )

    for label, argv in (
        ("version", [common.MYCTL, "version"]),
        ("--help", [common.MYCTL, "--help"]),
    ):
        imports = import_times(argv)
        total = sum(i.self_us for i in imports)
        by_root: dict[str, int] = {}
        for i in imports:
            root = i.module.split(".")[0]
            by_root[root] = by_root.get(root, 0) + i.self_us
        loaded = {i.module.split(".")[0] for i in imports}
        heavy = [name for name in HEAVY if name in loaded]
        common.table(
            f"import time of `myctl {label}`: by root package, self time summed "
            f"(all imports: {total / 1000:.0f} ms)",
            ["package", "self time"],
            [[name, common.ms(us / 1e6)] for name, us in sorted(
                by_root.items(), key=lambda kv: -kv[1])[:12]],
        )  # fmt: skip
        common.table(
            f"import time of `myctl {label}`: top modules by self time",
            ["module", "self", "cumulative"],
            [[i.module, common.ms(i.self_us / 1e6), common.ms(i.cumulative_us / 1e6)]
             for i in sorted(imports, key=lambda i: -i.self_us)[:10]],
        )  # fmt: skip
        print(f"\nheavy packages loaded by `myctl {label}`: {', '.join(heavy) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
