"""One run, whoever asked for it: the audit trail, a live progress message, the engine, the
outcome (run.py), and how its messages reach the requester (delivery.py).

Slash commands, approved requests and scheduled reports all go through `run.run`; registry hooks
and canary/rollback clicks will too (docs/architecture.md).

Must not: import bot.conversation (the slash-command side), or parse text typed in Slack.
"""
