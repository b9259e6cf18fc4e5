"""The slash-command side: `/myctl` text parsed (parse.py), acked and handed to the job runner
(slash.py), then authorized and sent to the approval gate or a run (route.py); the bot-only
commands (botcommands.py).

Must not: run anything on bolt's listener thread beyond parsing and acking; approvals and runs
never import this package (they are reached from here, not the other way round).
"""
