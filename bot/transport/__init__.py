"""How requests reach the bot: our HTTP server (Slack events, health, metrics; registry hooks
once they land) and the Socket Mode websocket.

A transport turns its input into a bolt request and its answer back, nothing more.
"""
