"""Shared pytest configuration: fixtures for the real parts the tests start themselves."""

pytest_plugins = [
    "tests.support.kube_plugin",  # a real kube-apiserver + etcd + controller-manager
    "tests.support.registry_plugin",  # a real OCI registry (CNCF distribution)
    "tests.support.slack_plugin",  # a local Slack Web API + Socket Mode emulator
    "tests.support.postgres",  # a throwaway PostgreSQL for multi-replica state tests
    "tests.support.state_plugin",  # a real state store per test (SQLite and PostgreSQL)
]
