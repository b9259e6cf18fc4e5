"""The Slack front door of myctl: `/myctl` in a channel, live progress, an outcome emoji.

Each request is turned into the same `Invocation` the CLI builds and run on the same engine,
through bot/commandline.py; the result is rendered as Slack messages (bot/rendering). The rooms
and the path of each flow through them: docs/architecture.md.

Must not: import `kubernetes` (only via commands.kube.client), hold request state that another
replica would need (approvals and audit live in the state store), block bolt's listener
threads (they must stay free to ack within 3 s), or log or echo a secret.
"""
