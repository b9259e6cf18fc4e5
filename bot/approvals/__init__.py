"""Approval requests: the gate that posts a plan instead of running (request.py), the decision on
a click (decision.py), the click handler that runs an approved request in its own message
(clicks.py), and the sweep that expires requests (sweeper.py).

All state is in the state store, so any replica may take any click; the claim is atomic there.
Must not: import bot.conversation (the slash-command side reaches approvals, not the reverse).
"""
