"""The step engine: check, rebuild, select, restart, and orchestrate, which chains them.

Every front door (CLI, Slack, scheduled reports) builds an `Engine`, calls a step and renders the
typed result. The engine talks to Kubernetes only through `kube.port.Cluster`, reports progress
only through a `Reporter`, and never imports click, slack_bolt or apscheduler.
"""
