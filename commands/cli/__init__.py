"""The `myctl` command line: an edge. Parses arguments (click), builds settings and an engine,
calls one step, renders the result, and maps it to the exit code.

`parser` and `dispatch` are also used by the Slack app, so that `/myctl …` and `myctl …` accept
exactly the same arguments and run exactly the same code.
"""
