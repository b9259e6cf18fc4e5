"""Every piece of text the bot shows in Slack, and the Block Kit it is wrapped in.

Builders return plain data (`blocks.Rendered`), so tests check content and Block Kit limits
without Slack. All of them are built from the helpers in `blocks` (one section builder, one
date format, one size format, the limits once).

Must not: perform I/O, or import a transport, the Slack SDK or the engine's runners.
"""
