"""The Kubernetes adapter: the port the engine uses, the real client, and an in-memory cluster.

`client` and `kubeconfig` are the only modules in myctl that import `kubernetes`; every
`ApiException` and connection error is turned into our own error tree there, once. `convert`
maps API objects to our values. `memory` implements the same port in memory for fast tests of
the engine. Nothing here decides policy (what to restart, when a cache is valid): that is the
engine's job.
"""
