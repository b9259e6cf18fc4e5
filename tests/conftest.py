"""Shared pytest configuration: the control plane and Slack emulator fixtures live in tests/support."""

pytest_plugins = ["tests.support.kube_plugin"]
