"""myctl: roll a freshly pushed container image out across a Kubernetes cluster, safely.

Sub-packages are layers; arrows point down only (checked by import-linter, see `.importlinter`):

    cli                 the `myctl` command line (click) -- an edge
    engine              the steps check/rebuild/select/restart and orchestrate
    kube, state         adapters: the Kubernetes API (the only importer of `kubernetes`),
                        the SQL state store (the only importer of SQLAlchemy)
    values              settings, results, events, errors, image references -- no I/O

This `__init__` imports nothing so that `myctl --help` stays fast.
"""
