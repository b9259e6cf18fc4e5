"""What a parsed command means and how it runs: the edge-neutral middle of every front door.

`invocation` is a parsed command line as a value (no click), with the settings it implies;
`dispatch` runs one on the engine and returns the typed result. The terminal (`commands.cli`),
Slack (`bot/`) and registry hooks build an invocation their own way and all call `dispatch`,
so they cannot drift apart. No click, Slack or APScheduler here (`.importlinter`).
"""
